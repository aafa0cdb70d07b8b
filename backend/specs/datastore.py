"""Datastore YAML (the cloud's ``azureBlob`` / ``azureDataLakeGen2`` schemas, plus ``type: local``).

```yaml
$schema: https://azuremlschemas.azureedge.net/latest/azureBlob.schema.json
name: blob_example
type: azure_blob
description: Datastore pointing to a blob container.
account_name: mytestblobstore
container_name: data-container
endpoint: core.windows.net      # or 127.0.0.1:10000 for the Azurite emulator (then protocol: http)
protocol: https
credentials:
  account_key: XXXxxxXXXxXXXXxxXXXXXxXXXXXX   # or sas_token: ..., or tenant_id/client_id/client_secret
```

Credentials are ``SecretStr``: their value never shows in a repr, a dump or an error message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from backend.errors import ValidationError
from backend.specs import SpecModel, apply_overrides, parse_spec, parse_yaml_text, read_yaml
from backend.specs.job import tag_values

DATASTORE_TYPES = ("local", "azure_blob", "azure_data_lake_gen2")
AZURE_TYPES = ("azure_blob", "azure_data_lake_gen2")
UNSUPPORTED_TYPES = {
    "azure_file": "Azure Files shares have no fsspec backend here; use an azure_blob container instead",
    "azure_data_lake_gen1": "Data Lake Gen1 is retired by Azure; use azure_data_lake_gen2",
}
DEFAULT_ENDPOINT = "core.windows.net"
# Protocol names the cloud accepts, and the transport each one means.
PROTOCOLS = {
    "https": "https",
    "wasbs": "https",
    "abfss": "https",
    "http": "http",
    "wasb": "http",
    "abfs": "http",
}
CREDENTIAL_KINDS = ("account_key", "sas", "service_principal", "none")

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{0,254}$")
NAME_RULE = "1 to 255 characters: letters, digits and '_', starting with a letter or digit"
ACCOUNT_PATTERN = re.compile(r"^[a-z0-9]{3,24}$")
ACCOUNT_RULE = "3 to 24 lowercase letters and digits"
CONTAINER_PATTERN = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$|^\$root$|^\$web$")
CONTAINER_RULE = (
    "3 to 63 lowercase letters, digits and single '-', starting and ending with a letter or digit"
)
ENDPOINT_PATTERN = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:]+\](:\d{1,5})?$")
ENDPOINT_RULE = (
    "a host suffix such as core.windows.net, or host:port such as 127.0.0.1:10000, without a scheme "
    "(the scheme is 'protocol')"
)


def name_problem(name: str) -> str | None:
    return (
        None if NAME_PATTERN.match(name or "") else f"datastore name {name!r} is not valid: use {NAME_RULE}"
    )


def account_problem(value: str) -> str | None:
    return None if ACCOUNT_PATTERN.match(value or "") else f"account name must be {ACCOUNT_RULE}"


def container_problem(value: str) -> str | None:
    return None if CONTAINER_PATTERN.match(value or "") else f"container name must be {CONTAINER_RULE}"


def endpoint_problem(value: str) -> str | None:
    return None if ENDPOINT_PATTERN.match(value or "") else f"endpoint must be {ENDPOINT_RULE}"


def _checked(pattern: re.Pattern[str], rule: str):
    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.match(value):
            raise ValueError(rule)
        return value

    return check


def _as_text(value: Any) -> Any:
    """YAML turns some keys and tokens into numbers; every credential is text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Secret = Annotated[SecretStr | None, BeforeValidator(_as_text)]


class DatastoreCredentials(BaseModel):
    """One kind of credential: an account key, a SAS token, a service principal, or none (anonymous)."""

    model_config = ConfigDict(extra="forbid")

    account_key: Secret = None
    sas_token: Secret = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: Secret = None
    # Accepted because the cloud's YAML has them; Studio reaches the public Azure cloud only.
    authority_url: str | None = None
    resource_url: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> DatastoreCredentials:
        principal = [self.tenant_id, self.client_id, self.client_secret]
        kinds = [k for k, v in (("account_key", self.account_key), ("sas_token", self.sas_token)) if v]
        if any(principal):
            kinds.append("service principal")
            if not all(principal):
                raise ValueError("a service principal needs tenant_id, client_id and client_secret")
        if len(kinds) > 1:
            raise ValueError(f"give one kind of credential, not {' and '.join(kinds)}")
        return self

    @property
    def kind(self) -> str:
        if self.account_key:
            return "account_key"
        if self.sas_token:
            return "sas"
        if self.client_secret:
            return "service_principal"
        return "none"

    def plain(self) -> dict[str, str]:
        """The credential fields as plain text (only for encryption; never show or log this)."""
        out: dict[str, str] = {}
        for field in ("account_key", "sas_token", "tenant_id", "client_id", "client_secret"):
            value = getattr(self, field)
            if value:
                out[field] = value.get_secret_value() if isinstance(value, SecretStr) else value
        return out


class _DatastoreSpec(SpecModel):
    READ_ONLY_FIELDS = ("id",)

    name: Annotated[str, BeforeValidator(_checked(NAME_PATTERN, f"use {NAME_RULE}"))]
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_values_as_text(cls, value: Any) -> Any:
        return tag_values(value)

    @field_validator("description", mode="before")
    @classmethod
    def _no_null_description(cls, value: Any) -> Any:
        return "" if value is None else value


class LocalDatastoreSpec(_DatastoreSpec):
    type: Literal["local"]
    path: str

    @field_validator("path")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a folder")
        return value


class _AzureSpec(_DatastoreSpec):
    account_name: Annotated[str, BeforeValidator(_checked(ACCOUNT_PATTERN, f"must be {ACCOUNT_RULE}"))]
    endpoint: str = DEFAULT_ENDPOINT
    protocol: str = "https"
    credentials: DatastoreCredentials | None = None

    @field_validator("endpoint", mode="before")
    @classmethod
    def _endpoint(cls, value: Any) -> Any:
        if value is None:
            return DEFAULT_ENDPOINT
        if isinstance(value, str):
            value = value.strip().rstrip("/")
            if problem := endpoint_problem(value):
                raise ValueError(problem.removeprefix("endpoint "))
        return value

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol(cls, value: Any) -> Any:
        if value is None:
            return "https"
        if isinstance(value, str):
            if value.lower() not in PROTOCOLS:
                raise ValueError(f"must be one of {', '.join(map(repr, PROTOCOLS))}")
            return PROTOCOLS[value.lower()]
        return value

    @model_validator(mode="after")
    def _principal_over_https(self):
        if self.credentials and self.credentials.kind == "service_principal" and self.protocol != "https":
            raise ValueError("service principal credentials need protocol https")
        return self

    @property
    def credential_kind(self) -> str:
        return self.credentials.kind if self.credentials else "none"


class AzureBlobDatastoreSpec(_AzureSpec):
    type: Literal["azure_blob"]
    container_name: Annotated[str, BeforeValidator(_checked(CONTAINER_PATTERN, f"must be {CONTAINER_RULE}"))]

    @property
    def container(self) -> str:
        return self.container_name


class AzureDataLakeGen2DatastoreSpec(_AzureSpec):
    type: Literal["azure_data_lake_gen2"]
    filesystem: Annotated[str, BeforeValidator(_checked(CONTAINER_PATTERN, f"must be {CONTAINER_RULE}"))]

    @property
    def container(self) -> str:
        return self.filesystem


DatastoreSpec = LocalDatastoreSpec | AzureBlobDatastoreSpec | AzureDataLakeGen2DatastoreSpec
AzureDatastoreSpec = AzureBlobDatastoreSpec | AzureDataLakeGen2DatastoreSpec
_MODELS: dict[str, type[_DatastoreSpec]] = {
    "local": LocalDatastoreSpec,
    "azure_blob": AzureBlobDatastoreSpec,
    "azure_data_lake_gen2": AzureDataLakeGen2DatastoreSpec,
}


def _secret_texts(data: dict[str, Any]) -> list[str]:
    creds = data.get("credentials")
    if not isinstance(creds, dict):
        return []
    return [str(v) for k, v in creds.items() if k in ("account_key", "sas_token", "client_secret") and v]


def parse_datastore(data: dict[str, Any], *, source: str, base_dir: Path | None = None) -> DatastoreSpec:
    """Validate a datastore mapping; a relative local ``path`` is taken from ``base_dir`` (or the cwd)."""
    from backend.storage.secrets import redact

    kind = data.get("type")
    allowed = ", ".join(map(repr, DATASTORE_TYPES))
    if kind is None:
        raise ValidationError(f"{source}: field 'type' is required (one of {allowed})")
    if kind in UNSUPPORTED_TYPES:
        raise ValidationError(f"{source}: field 'type': {kind!r} is not supported: {UNSUPPORTED_TYPES[kind]}")
    if kind not in _MODELS:
        raise ValidationError(f"{source}: field 'type': must be one of {allowed} (got {kind!r})")
    try:
        spec = parse_spec(_MODELS[kind], data, source=source)
    except ValidationError as exc:
        raise ValidationError(redact(str(exc), _secret_texts(data))) from None
    if isinstance(spec, LocalDatastoreSpec):
        folder = Path(spec.path).expanduser()
        if not folder.is_absolute():
            folder = (base_dir or Path.cwd()) / folder
        spec.path = str(folder.resolve())
    return spec  # type: ignore[return-value]


def parse_datastore_text(text: str, *, source: str, overrides: list[str] | None = None) -> DatastoreSpec:
    """A datastore from YAML text (an uploaded file)."""
    data = apply_overrides(parse_yaml_text(text, source=source), overrides, source=source)
    return parse_datastore(data, source=source)


def load_datastore(path: str | Path, overrides: list[str] | None = None) -> DatastoreSpec:
    """A datastore from a YAML file, with ``--set field=value`` overrides applied."""
    path = Path(path)
    data = apply_overrides(read_yaml(path), overrides, source=str(path))
    return parse_datastore(data, source=str(path), base_dir=path.resolve().parent)
