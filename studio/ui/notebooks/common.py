"""What the Notebooks views share: the deep-link parameters, the whole-share switch, messages kept across a
rerun, and service calls from widget callbacks."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

import streamlit as st

from backend.services import open_session
from studio.ui import shell, widgets
from studio.ui.widgets import flash, show_flash  # noqa: F401  (the views call them from here)

PATH, COMPUTE, SHARE = "path", "compute", "share"  # ?path=<file>&compute=<instance>&share=1
SHARE_KEY = "nb_whole_share"
DIALOG = "nb_dialog"  # the open dialog, (kind, target): kept across reruns until done or dismissed


def workspace() -> str:
    return shell.current_workspace()


def chosen_path() -> str:
    """The file or folder ``?path=`` names, as given (the services check it)."""
    return (st.query_params.get(PATH) or "").strip()


def parent(path: str) -> str:
    return posixpath.dirname(path.rstrip("/"))


def go(**params: str | None) -> None:
    """Change the deep-link parameters (None removes one) and draw the page again."""
    set_params(**params)
    st.rerun()


def set_params(**params: str | None) -> None:
    """Change the deep-link parameters (from a callback: the page draws again anyway)."""
    for key, value in params.items():
        if value is None:
            st.query_params.pop(key, None)
        else:
            st.query_params[key] = value


# ---------------------------------------------------------------------------------------- whole share


def _share_changed() -> None:
    set_params(**{SHARE: "1" if st.session_state.get(SHARE_KEY) else None, PATH: None})


def whole_share(may_see_share: bool) -> bool:
    """An Owner in team mode may switch between their folder and the whole share (``?share=1``)."""
    if not may_see_share:
        st.query_params.pop(SHARE, None)
        return False
    st.session_state[SHARE_KEY] = st.query_params.get(SHARE) == "1"
    return st.toggle(
        "Whole share",
        key=SHARE_KEY,
        on_change=_share_changed,
        help="Every user's folder (Users/<name>/), as an Owner sees them; off: your own folder",
    )


def share_requested() -> bool:
    """What the URL asks for; the service refuses it to anyone but an Owner."""
    return st.query_params.get(SHARE) == "1"


# ------------------------------------------------------------------------------------------ messages


def call(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """A notebooks service call in a session of its own, on the root the page shows."""
    with open_session() as s:
        return fn(session=s, workspace=workspace(), whole_share=share_requested(), **kwargs)


def flashed(
    fn: Callable[..., Any], /, *, success: str | Callable[[Any], str], then=None, **kwargs: Any
) -> Any:
    """From a widget callback (it runs before the page draws): call ``fn`` and keep its outcome, an error
    or a toast, for the page to show; ``then(result)`` runs when it went through."""
    result = widgets.flashed(lambda: call(fn, **kwargs), success)
    if result is not None and then is not None:
        then(result)
    return result


# ------------------------------------------------------------------------------------------- dialogs


def open_dialog(kind: str, target: str) -> None:
    st.session_state[DIALOG] = (kind, target)


def close_dialog() -> None:
    st.session_state.pop(DIALOG, None)


def dialog_open(kind: str, target: str) -> bool:
    return st.session_state.get(DIALOG) == (kind, target)
