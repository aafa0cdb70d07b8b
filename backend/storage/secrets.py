"""Secrets at rest: Fernet encryption with the studio's key.

The key comes from ``STUDIO_SECRET_KEY`` (any text; a Fernet key is derived from it) or else from the
key file ``STUDIO_HOME/secret.key`` (mode 0600), created on first use. A plain secret is never logged,
printed or put in an exception message; only this module and ``backend.storage`` see it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from backend.errors import StudioError
from backend.settings import get_settings

KEY_FILE = "secret.key"


class SecretKeyError(StudioError):
    """A stored secret cannot be decrypted (the key changed) or the key file is unusable."""


def key_file() -> Path:
    return get_settings().home / KEY_FILE


def _key_from_text(text: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("utf-8")).digest())


def _read_or_create_key_file(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        key = b""
    except OSError as exc:
        raise SecretKeyError(f"cannot read the secret key file {path}: {exc.strerror}") from None
    if key:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    new_key = Fernet.generate_key()
    # Written to a private temporary file, then linked into place: a process that starts at the same
    # moment either wins the link or reads the winner's complete file, never a half-written one.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".secret-key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, new_key + b"\n")
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            return path.read_bytes().strip()
    finally:
        Path(temp).unlink(missing_ok=True)
    return new_key


def _fernet() -> Fernet:
    settings = get_settings()
    if settings.secret_key:
        return Fernet(_key_from_text(settings.secret_key))
    path = key_file()
    try:
        return Fernet(_read_or_create_key_file(path))
    except ValueError:
        raise SecretKeyError(
            f"the secret key file {path} does not hold a valid key; restore it, or set STUDIO_SECRET_KEY"
        ) from None


def key_source() -> str:
    """Where the key comes from, as a person would look for it."""
    return "STUDIO_SECRET_KEY" if get_settings().secret_key else str(key_file())


def encrypt(text: str) -> str:
    """The Fernet token (URL-safe text) of ``text``."""
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, what: str = "a stored secret") -> str:
    """The plain text of a token made by ``encrypt``; a wrong key is a SecretKeyError."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError):
        raise SecretKeyError(
            f"{what} cannot be decrypted with the current key ({key_source()}); set the key it was "
            "stored with, or enter the credential again"
        ) from None


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """``text`` with every secret (also URL-quoted) replaced by ``***``: for messages from libraries."""
    from urllib.parse import quote, quote_plus

    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}:
            text = text.replace(form, "***")
    return text
