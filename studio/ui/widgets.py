"""Widgets and page scaffolding that several pages share.

The pages list objects, open one by name (and version) through the query parameters, so a URL is a deep
link, and show it; they edit tags as ``key=value`` lines and call the services in a session, showing a
``StudioError`` as a message on the page. Each of those is written here once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from backend.services import open_session
from studio.ui import shell

TAGS_LABEL = "Tags (one key=value per line)"
DATETIME_FORMAT = "YYYY-MM-DD HH:mm"
OBJECT_PARAMS = ("name", "version")  # the query parameters that name the object a page shows


# ------------------------------------------------------------------------------------------- services


def _in_session(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    with open_session() as s:
        return fn(session=s, **kwargs)


def load(fn: Callable[..., Any], /, *, success: str | None = None, **kwargs: Any) -> Any:
    """Call a service function in a session of its own; a StudioError is shown on the page and gives None."""
    return shell.attempt(lambda: _in_session(fn, kwargs), success=success)


def done(fn: Callable[..., Any], /, *, success: str | None = None, **kwargs: Any) -> bool:
    """Call a service function for what it does; True when it went through (a StudioError is shown)."""
    return shell.attempt(lambda: _in_session(fn, kwargs) or True, success=success) is not None


def load_together(*calls: Callable[[Any], Any]) -> tuple | None:
    """Several service calls, each given the session, in one session: their results, or None (an error shown)."""

    def _all():
        with open_session() as s:
            return tuple(call(s) for call in calls)

    return shell.attempt(_all)


FLASH = "studio_flash"  # a message kept for the next time a page draws


def flash(kind: str, message: str) -> None:
    st.session_state[FLASH] = (kind, message)


def show_flash() -> None:
    """The message a widget callback kept: an error on the page, or a toast."""
    kind, message = st.session_state.pop(FLASH, (None, None))
    if kind == "error":
        st.error(message, icon="⚠️")
    elif kind == "success":
        st.toast(message, icon="✅")


def flashed(action: Callable[[], Any], success: str | Callable[[Any], str]) -> Any:
    """Run a service call from a widget callback (before the page draws): its outcome is shown once the page
    draws, as an error or a toast. Returns what it returned, or None when it failed."""
    from backend.errors import StudioError

    try:
        result = action()
    except StudioError as exc:
        flash("error", str(exc))
        return None
    flash("success", success(result) if callable(success) else success)
    return result


def rerun_if(ok: Any) -> None:
    """Draw the page again after an action that went through."""
    if ok:
        st.rerun()


# ----------------------------------------------------------------------------------------------- tags


def parse_tags(text: str | None) -> dict[str, str]:
    """``key=value`` lines (blank lines skipped, spaces trimmed) as a dict."""
    tags = {}
    for line in (text or "").splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            tags[key.strip()] = value.strip()
    return tags


def tags_text(tags: dict[str, str]) -> str:
    """A dict of tags as ``key=value`` lines, what ``parse_tags`` reads back."""
    return "\n".join(f"{k}={v}" for k, v in tags.items())


def tags_input(key: str, tags: dict[str, str] | None = None, *, height: int | None = None, where=st) -> dict:
    """A text area of ``key=value`` lines, prefilled with ``tags``; returns what it holds as a dict."""
    return parse_tags(where.text_area(TAGS_LABEL, tags_text(tags or {}), key=key, height=height))


def tags_caption(tags: dict[str, str]) -> None:
    """The tags on one line, under an object's header."""
    if tags:
        st.caption(" · ".join(f"{k}={v}" for k, v in tags.items()))


def details_form(
    obj: Any,
    *,
    form: str,
    prefix: str,
    update: Callable[..., Any],
    model: type | None = None,
    rerun: bool = False,
    one_line: bool = False,
    tags_height: int | None = None,
) -> None:
    """A form that edits ``obj``'s description and tags (keys ``{prefix}_description``, ``{prefix}_tags``).

    Save calls the service function ``update`` (its other arguments bound, e.g. with ``functools.partial``)
    with ``description=`` and ``tags=``, or with ``data=model(description=, tags=)``; with ``rerun`` the page
    is drawn again once it went through."""
    with st.form(form):
        field = st.text_input if one_line else st.text_area
        edited = {
            "description": field("Description", obj.description, key=f"{prefix}_description"),
            "tags": tags_input(f"{prefix}_tags", obj.tags, height=tags_height),
        }
        if st.form_submit_button("Save"):
            ok = done(update, **({"data": model(**edited)} if model else edited), success="Saved")
            if rerun:
                rerun_if(ok)


def problem_shown(value: str, check: Callable[[str], str | None]) -> str | None:
    """Show what ``check`` finds wrong with a typed value (a message, or None when fine); return it."""
    problem = check(value) if value else None
    if problem:
        st.error(problem)
    return problem


def raised_problem(validate: Callable[[str], Any], error: type[Exception]) -> Callable[[str], str | None]:
    """A check for ``problem_shown`` out of a validator that raises ``error``."""

    def check(value: str) -> str | None:
        try:
            validate(value)
        except error as exc:
            return str(exc)
        return None

    return check


# ------------------------------------------------------------------------------ open by name and version


def open_object(name: str, version: str | None = None, *, clear: Iterable[str] = ()) -> None:
    """Show the object ``name`` (at ``version``, else its default one): the deep link ``?name=&version=``."""
    params = {"name": name} | ({"version": version} if version else {})
    shell.go((*OBJECT_PARAMS, *clear), **params)


def close_object(*, clear: Iterable[str] = ()) -> None:
    """Back to the list: drop the object's query parameters (and ``clear``)."""
    shell.go((*OBJECT_PARAMS, *clear))


def back_button(label: str, *, key: str, clear: Iterable[str] = ()) -> None:
    """A button back to the list."""
    if st.button(label, key=key):
        close_object(clear=clear)


def version_select(versions: Sequence[Any], current: str, *, key: str, where=st, mark_archived=True) -> str:
    """A selectbox over the ``.version`` of each version, at ``current``; archived ones say so."""
    labels = [v.version for v in versions]
    archived = {v.version for v in versions if mark_archived and v.archived}
    return where.selectbox(
        "Version",
        labels,
        index=labels.index(current),
        key=key,
        format_func=lambda v: v + (" (archived)" if v in archived else ""),
    )


def version_picker(name: str, versions: Sequence[Any], current: str, **select: Any) -> str:
    """``version_select``; choosing another version opens it (``?name=&version=``)."""
    picked = version_select(versions, current, **select)
    if picked != current:
        open_object(name, picked)
    return picked


def list_or_detail(title: str, listing: Callable[[], None], detail: Callable[..., None], *, versioned=False):
    """The page: ``?name=`` shows ``detail(name)`` (``detail(name, version)`` when ``versioned``), else the
    ``listing``."""
    st.title(title)
    selected = st.query_params.get("name")
    if not selected:
        listing()
    elif versioned:
        detail(selected, st.query_params.get("version"))
    else:
        detail(selected)


# -------------------------------------------------------------------------------------------- tables


def datetime_columns(*columns: str) -> dict[str, Any]:
    """Column configs that show each of ``columns`` as a date and time."""
    return {c: st.column_config.DatetimeColumn(c, format=DATETIME_FORMAT) for c in columns}


def frame_of(rows: Iterable[Any], columns: dict[str, str | Callable[[Any], Any]]) -> pd.DataFrame:
    """A table with a row an object: each column is an attribute's name, or a function of the object."""
    return pd.DataFrame(
        [{c: getattr(r, a) if isinstance(a, str) else a(r) for c, a in columns.items()} for r in rows]
    )


SUMMARY_COLUMNS = {
    "name": "name",
    "latest version": "latest_version",
    "type": "type",
    "versions": "versions",
    "updated": "updated_at",
    "archived": "archived",
    "description": "description",
}


def asset_listing(
    list_: Callable[..., Any],
    *,
    keys: tuple[str, str],
    register: Callable[[], None],
    empty: str,
    extra: dict[str, str | Callable[[Any], Any]] | None = None,
) -> None:
    """A versioned asset kind's list page: a Show archived toggle (``keys[0]``), the ``register`` form, and
    the latest version of each name (the service ``list_``, ``extra`` columns added) in a table (``keys[1]``)
    whose selected row opens it; ``empty`` says what to do when there is none."""
    show_archived = st.toggle("Show archived", key=keys[0])
    rows = load(list_, workspace=shell.current_workspace(), include_archived=show_archived) or []
    register()
    if not rows:
        st.info(empty)
        return
    pick_and_open(frame_of(rows, SUMMARY_COLUMNS | (extra or {})), key=keys[1], dates=["updated"])


def picked_row(
    frame: pd.DataFrame,
    *,
    key: str,
    dates: Sequence[str] = (),
    column_config: dict | None = None,
    **table: Any,
) -> dict | None:
    """A filterable table where one row can be selected; returns that row, or None."""
    event, shown = shell.filtered_table(
        frame,
        key=key,
        on_select="rerun",
        selection_mode="single-row",
        column_config=datetime_columns(*dates) | (column_config or {}),
        **table,
    )
    return shell.selected_row(event, shown)


def pick_and_open(frame: pd.DataFrame, *, key: str, version: str | None = None, **table: Any) -> None:
    """``picked_row``; the selected row opens its object (by its ``name``, and ``version`` column if given)."""
    picked = picked_row(frame, key=key, **table)
    if picked:
        open_object(picked["name"], picked[version] if version else None)


@dataclasses.dataclass(frozen=True)
class RegisterInputs:
    """What a register form asked for (see ``register_inputs``), besides the files or the path."""

    prefix: str
    name: str
    version: str
    type: str
    source: str
    description: str
    tags: dict[str, str]

    def register_button(
        self, *, check: Callable[[str], Any], error: type[Exception], uploads: Any, path: str
    ):
        """The form's Register button (key ``{prefix}_register``): enabled once the name is given and passes
        ``check`` (what it raises, ``error``, is shown) and there are ``uploads`` (from "Upload") or a
        ``path``; True when pressed."""
        problem = problem_shown(self.name, raised_problem(check, error))
        ready = bool(self.name) and not problem and (bool(uploads) if self.source == "Upload" else bool(path))
        return st.button("Register", type="primary", key=f"{self.prefix}_register", disabled=not ready)

    def fields(self, path: str) -> dict[str, Any]:
        """The fields of the version to create: no version means the next number, no path an upload."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("prefix", "source")}
        return {**fields, "version": self.version.strip() or None, "path": path or "upload"}


def register_inputs(
    prefix: str,
    *,
    name_rule: str,
    version_help: str | None = None,
    types: list[str],
    type_help: str,
    sources: list[str],
) -> RegisterInputs:
    """A register form's name and version, type and source (where the files come from), description and
    tags (keys ``{prefix}_name``, ``{prefix}_version``, ``{prefix}_type``, ``{prefix}_source``, ...)."""
    left, right = st.columns(2)
    name = left.text_input("Name", key=f"{prefix}_name", help=name_rule)
    version = right.text_input("Version (empty: next number)", key=f"{prefix}_version", help=version_help)
    kind = left.selectbox("Type", types, key=f"{prefix}_type", help=type_help)
    source = right.radio("From", sources, key=f"{prefix}_source", horizontal=True)
    description = st.text_input("Description", key=f"{prefix}_description")
    tags = tags_input(f"{prefix}_tags", height=68)
    return RegisterInputs(prefix, name, version, kind, source, description, tags)


def open_created(created: Any) -> None:
    """Open the version just created (nothing when creating it failed)."""
    if created:
        open_object(created.name, created.version)


# ------------------------------------------------------------------------------------------- actions


def archive_toggle(
    archived: bool,
    *,
    archive: Callable[[], Any],
    restore: Callable[[], Any],
    keys: tuple[str, str],
    labels: tuple[str, str] = ("Archive", "Restore"),
    success: tuple[str, str] = ("Archived", "Restored"),
    icons: tuple[str | None, str | None] = (None, None),
    where=st,
) -> None:
    """Archive a version, or restore it when it is archived (each pair: archive first, restore second);
    the page is drawn again after either."""
    i = 1 if archived else 0
    if where.button(labels[i], key=keys[i], icon=icons[i]):
        rerun_if(shell.attempt(restore if archived else archive, success=success[i]))


# ------------------------------------------------------------------------------------------ values


def port_label(where, name: str, port: dict) -> None:
    """A component input's name, type and whether it is optional; its description as the help."""
    optional = " · optional" if port.get("optional") else ""
    where.markdown(f"`{name}` · {port.get('type')}{optional}", help=port.get("description") or None)


def literal_widget(label: str, port: dict, key: str, where=st):
    """A typed value widget for a component input: number/integer/boolean/string (an enum as a select)."""
    kind, default = port.get("type"), port.get("default")
    low, high = port.get("min"), port.get("max")
    if kind == "integer":
        start = int(default) if default is not None else int(low) if low is not None else 0
        return where.number_input(
            label,
            value=start,
            step=1,
            key=key,
            min_value=int(low) if low is not None else None,
            max_value=int(high) if high is not None else None,
        )
    if kind == "number":
        start = float(default) if default is not None else float(low) if low is not None else 0.0
        return where.number_input(
            label,
            value=start,
            key=key,
            format="%g",
            min_value=float(low) if low is not None else None,
            max_value=float(high) if high is not None else None,
        )
    if kind == "boolean":
        return where.selectbox(
            label, [True, False], index=0 if default in (True, "true", None) else 1, key=key
        )
    if port.get("enum"):
        options = list(port["enum"])
        return where.selectbox(
            label, options, index=options.index(default) if default in options else 0, key=key
        )
    return where.text_input(label, value="" if default is None else str(default), key=key)
