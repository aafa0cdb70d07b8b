"""``studio datastore create|list|show|update|delete|set-default|upload|download|ls|rm|preview``.

Credentials can come from the environment instead of the command line, so that they stay out of the
shell history: ``STUDIO_DATASTORE_ACCOUNT_KEY``, ``STUDIO_DATASTORE_SAS_TOKEN``,
``STUDIO_DATASTORE_CLIENT_SECRET``. No command ever prints a credential.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from studio.commands import _common as common

app = typer.Typer(
    help="Register datastores (local folders, Azure Blob, Data Lake Gen2) and work with their files.",
    no_args_is_help=True,
)

ENV_SECRETS = {
    "account_key": "STUDIO_DATASTORE_ACCOUNT_KEY",
    "sas_token": "STUDIO_DATASTORE_SAS_TOKEN",
    "client_secret": "STUDIO_DATASTORE_CLIENT_SECRET",
}
LIST_COLUMNS = ["name", "type", "default", "built_in", "location", "credential", "description"]

NameOpt = Annotated[str, common.name_option("Datastore name.", show_default=False)]
AccountKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--account-key",
        help=f"Storage account key (or set {ENV_SECRETS['account_key']}).",
        show_default=False,
    ),
]
SasTokenOpt = Annotated[
    str | None,
    typer.Option("--sas-token", help=f"SAS token (or set {ENV_SECRETS['sas_token']}).", show_default=False),
]
TenantOpt = Annotated[str | None, typer.Option("--tenant-id", help="Service principal tenant.")]
ClientOpt = Annotated[str | None, typer.Option("--client-id", help="Service principal client (app) id.")]
ClientSecretOpt = Annotated[
    str | None,
    typer.Option(
        "--client-secret",
        help=f"Service principal secret (or set {ENV_SECRETS['client_secret']}).",
        show_default=False,
    ),
]
AnonymousOpt = Annotated[
    bool, typer.Option("--anonymous", help="No credential: anonymous access to a public container.")
]
# The credential flags, given to a command as one dict ``credential``.
CREDENTIAL_OPTIONS = {
    "credential": {
        "account_key": AccountKeyOpt,
        "sas_token": SasTokenOpt,
        "tenant_id": TenantOpt,
        "client_id": ClientOpt,
        "client_secret": ClientSecretOpt,
    }
}


def _credentials_from_flags(credential: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in credential.items() if v}


def _credentials_from_env(with_principal: dict[str, str]) -> dict[str, str]:
    """The credential in STUDIO_DATASTORE_* variables (a client secret only with --tenant-id/--client-id)."""
    if with_principal.get("tenant_id") or with_principal.get("client_id"):
        secret = os.environ.get(ENV_SECRETS["client_secret"])
        return {**with_principal, "client_secret": secret} if secret else with_principal
    for field in ("account_key", "sas_token"):
        value = os.environ.get(ENV_SECRETS[field])
        if value:
            return {field: value}
    return {}


def _row(store) -> dict[str, Any]:
    location = store.config.get("path") or store.config.get("url") or ""
    credential = store.credential_type + (" (set)" if store.secret_set else "")
    return {
        "name": store.name,
        "type": store.type,
        "default": store.is_default,
        "built_in": store.built_in,
        "location": location,
        "credential": credential,
        "description": store.description,
    }


@common.command(app, groups={"base": common.create_base("Datastore"), **CREDENTIAL_OPTIONS})
def create(
    *,
    base: dict[str, Any],
    type_: Annotated[str | None, common.type_option("local, azure_blob or azure_data_lake_gen2.")] = None,
    description: common.DescriptionOption = None,
    tags: common.TagsOption = None,
    path: Annotated[str | None, typer.Option("--path", help="Folder of a local datastore.")] = None,
    account_name: Annotated[str | None, typer.Option("--account-name", help="Storage account.")] = None,
    container_name: Annotated[
        str | None, typer.Option("--container-name", help="Blob container (Gen2: file system).")
    ] = None,
    filesystem: Annotated[
        str | None, typer.Option("--filesystem", help="Data Lake Gen2 file system.")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="core.windows.net (default) or host:port of an emulator.")
    ] = None,
    protocol: Annotated[str | None, typer.Option("--protocol", help="https (default) or http.")] = None,
    credential: dict[str, str | None],
    anonymous: AnonymousOpt = False,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Register a datastore from a YAML file and/or flags; its connection is checked first."""
    from backend.services import datastores
    from backend.specs import apply_overrides, read_yaml

    file, set_, name = base["file"], base["set_"], base["name"]

    source = str(file) if file else "command line"
    data: dict[str, Any] = read_yaml(file) if file else {}
    data.update(
        common.given(
            name=name,
            type=type_,
            description=description,
            path=path,
            account_name=account_name,
            endpoint=endpoint,
            protocol=protocol,
        )
    )
    kind = data.get("type")
    if container_name is not None or filesystem is not None:
        if kind == "azure_data_lake_gen2":
            data["filesystem"] = filesystem or container_name
        else:
            data["container_name"] = container_name or filesystem
    if tags is not None:
        data["tags"] = {**(data.get("tags") or {}), **(common.parse_tags(tags) or {})}
    data = apply_overrides(data, set_, source=source)
    kind = data.get("type")
    creds = _credentials_from_flags(credential)
    if anonymous and creds:
        common.fail("--anonymous cannot be combined with a credential")
    if anonymous:
        data["credentials"] = {}
    elif creds and {"tenant_id", "client_id"} & creds.keys() and "client_secret" not in creds:
        data["credentials"] = _credentials_from_env(creds)
    elif creds:
        data["credentials"] = creds
    elif kind in datastores.AZURE_TYPES and not data.get("credentials"):
        data["credentials"] = _credentials_from_env({})
    spec = datastores.parse_datastore(data, source=source, base_dir=file.resolve().parent if file else None)
    common.emit(common.in_workspace(workspace, datastores.create_datastore, spec=spec), output)


@common.command(app, "list")
def list_(*, output: common.OutputFormat, workspace: str) -> None:
    """List the workspace's datastores (the default one is marked)."""
    from backend.services import datastores

    stores = common.in_workspace(workspace, datastores.list_datastores)
    common.emit(stores, output, columns=LIST_COLUMNS, table=[_row(d) for d in stores])


@common.command(app)
def show(name: NameOpt, *, output: common.OutputFormat, workspace: str) -> None:
    """Show a datastore: its settings and whether a credential is set (never the credential)."""
    from backend.services import datastores

    common.emit(common.in_workspace(workspace, datastores.get_datastore, name=name), output)


@common.command(app, groups=CREDENTIAL_OPTIONS)
def update(
    name: NameOpt,
    description: common.DescriptionOption = None,
    tags: common.TagsOption = None,
    *,
    credential: dict[str, str | None],
    anonymous: AnonymousOpt = False,
    credential_from_env: Annotated[
        bool,
        typer.Option(
            "--credential-from-env",
            help="Replace the credential with the one in STUDIO_DATASTORE_ACCOUNT_KEY / _SAS_TOKEN / _CLIENT_SECRET.",
        ),
    ] = False,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Change a datastore's description or tags, or replace its credential (checked first)."""
    from backend.services import datastores

    creds = _credentials_from_flags(credential)
    if credential_from_env:
        creds = _credentials_from_env(creds) if "client_secret" not in creds else creds
        if not creds:
            common.fail(f"--credential-from-env: none of {', '.join(ENV_SECRETS.values())} is set")
    if anonymous and creds:
        common.fail("--anonymous cannot be combined with a credential")
    credentials = None
    if creds or anonymous:
        credentials = datastores.parse_credentials(creds, source="command line")
    change = datastores.DatastoreUpdate(
        description=description, tags=common.parse_tags(tags), credentials=credentials
    )
    common.emit(common.in_workspace(workspace, datastores.update_datastore, name=name, data=change), output)


@common.command(app)
def delete(name: NameOpt, yes: common.YesOption = False, *, workspace: str) -> None:
    """Unregister a datastore (its files stay). Refused for built-ins, the default, and stores in use."""
    from backend.errors import ConflictError
    from backend.services import datastores

    reason = common.in_workspace(workspace, datastores.delete_refusal, name=name)
    if reason:
        raise ConflictError(reason)
    common.confirm(yes, f"Unregister datastore {name!r}? (its files are not deleted)")
    common.in_workspace(workspace, datastores.delete_datastore, name=name)
    typer.echo(f"deleted datastore {name}")


@common.command(app, "set-default")
def set_default(name: NameOpt, *, workspace: str) -> None:
    """Make a datastore the workspace's default (uploads, data assets and job outputs go there)."""
    from backend.services import datastores

    common.in_workspace(workspace, datastores.set_default_datastore, name=name)
    typer.echo(f"{name} is now the default datastore")


@common.command(app)
def upload(
    name: NameOpt,
    src: Annotated[Path, typer.Option("--src", help="Local file or folder.", show_default=False)],
    dest: Annotated[str, typer.Option("--dest", help="Path on the datastore (a folder ends with '/').")] = "",
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Copy a local file or folder to a datastore."""
    from backend.services import datastores
    from backend.storage.uris import DatastorePath

    written = common.in_workspace(workspace, datastores.upload, name=name, src=src, dest=dest)
    if output == common.OutputFormat.json:
        common.emit([DatastorePath(name, p).uri for p in written], output)
    else:
        where = DatastorePath(name, dest if src.is_dir() else written[0]).uri
        typer.echo(f"uploaded {len(written)} file{'s' if len(written) != 1 else ''} to {where}")


@common.command(app)
def download(
    name: NameOpt,
    src: Annotated[str, typer.Option("--src", help="Path on the datastore.", show_default=False)],
    dest: Annotated[Path, typer.Option("--dest", help="Local file or folder.")] = Path("."),
    *,
    workspace: str,
) -> None:
    """Copy a file or folder from a datastore to this machine."""
    from backend.services import datastores

    local = common.in_workspace(workspace, datastores.download, name=name, src=src, dest=dest)
    typer.echo(f"downloaded {src} to {local}")


@common.command(app)
def ls(
    name: NameOpt,
    path: Annotated[str, typer.Option("--path", "-p", help="Folder on the datastore.")] = "",
    limit: Annotated[int, typer.Option("--limit", help="List at most this many entries.")] = 1000,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """List a folder of a datastore."""
    from backend.services import datastores

    listing = common.in_workspace(workspace, datastores.list_files, name=name, path=path, limit=limit)
    common.emit(listing.entries, output, columns=["name", "is_dir", "size", "modified"])
    if listing.truncated:
        typer.echo(f"showing {len(listing.entries)} of {listing.total} entries (use --limit)", err=True)


@common.command(app)
def rm(
    name: NameOpt,
    path: Annotated[
        str, typer.Option("--path", "-p", help="File or folder on the datastore.", show_default=False)
    ],
    yes: common.YesOption = False,
    *,
    workspace: str,
) -> None:
    """Delete a file or folder on a datastore."""
    from backend.services import datastores

    common.confirm(yes, f"Delete {path} (and everything under it) on datastore {name!r}?")
    common.in_workspace(workspace, datastores.delete_file, name=name, path=path)
    typer.echo(f"deleted {path}")


@common.command(app)
def preview(
    name: NameOpt,
    path: Annotated[
        str, typer.Option("--path", "-p", help="csv, tsv, parquet or jsonl file.", show_default=False)
    ],
    rows: Annotated[int, typer.Option("--rows", help="How many rows.")] = 20,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Show the first rows of a tabular file on a datastore."""
    import json

    from backend.services import datastores

    frame = common.in_workspace(workspace, datastores.preview_file, name=name, path=path, rows=rows)
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    common.emit(records, output, columns=[str(c) for c in frame.columns])
