"""Team mode: the studio's users, their roles, their passwords and their personal tokens.

Users live in a small TOML file (``STUDIO_USERS_FILE``, default ``STUDIO_HOME/users.toml``), written by
``studio user add|set-role|remove`` and by an Owner on the Profile page::

    [users.alice]
    role = "Owner"
    password = "scrypt$16384$8$1$<salt>$<hash>"
    email = "alice@example.com"

Passwords are kept as scrypt hashes (standard library), compared in constant time. With no users in the
file (or no file), Studio is single-user as before: nobody signs in and nothing is checked.

Where the UI signs people in with an identity provider (OpenID Connect, ``st.login``; ``studio/ui/auth.py``),
a user is the entry whose ``email`` is the one the provider vouches for; such a user may have no password
(single sign-on only). The provider proves who someone is; the users file says whether they are a member
and with which role.

The CLI and the SDK authenticate with a personal token (``STUDIO_TOKEN``) that a user creates on their
Profile page: only its SHA-256 digest is stored (``api_token``), and the token itself is shown once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import tomllib
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel
from sqlmodel import Session, col, select

from backend.db.models import ApiToken, utcnow
from backend.errors import NotFoundError, ValidationError
from backend.identity import ROLES, PermissionDenied, User, require

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
EMAIL = re.compile(r"^[^@\s\"]{1,64}@[^@\s\"]{1,255}$")
SCRYPT = (16384, 8, 1)  # n, r, p
TOKEN_PREFIX = "stu_"
SIGN_IN_REFUSED = "wrong user name or password"


class TokenPublic(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


def users_file() -> Path:
    from backend.settings import get_settings

    given = os.environ.get("STUDIO_USERS_FILE")
    return Path(given).expanduser() if given else get_settings().home / "users.toml"


def _read() -> dict[str, dict[str, str]]:
    path = users_file()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"{path}: not a readable users file ({exc})") from None
    return {str(k): dict(v) for k, v in (data.get("users") or {}).items()}


def _write(users: dict[str, dict[str, str]]) -> None:
    path = users_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Studio's users: studio user add | set-role | remove. Passwords are scrypt hashes.", ""]
    for name, entry in sorted(users.items()):
        lines += [f'[users."{name}"]', f'role = "{entry["role"]}"']
        lines += [f'{key} = "{entry[key]}"' for key in ("password", "email") if entry.get(key)]
        lines.append("")
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines))
    tmp.replace(path)


def team_mode() -> bool:
    """Whether the studio has users (then every UI session, CLI command and SDK client signs in)."""
    return bool(_read())


def list_users() -> list[User]:
    return [User(name, entry["role"]) for name, entry in sorted(_read().items())]


def members() -> list[dict[str, str]]:
    """Each user with their role, email and how they sign in (never a password hash)."""
    found = []
    for name, entry in sorted(_read().items()):
        ways = [w for w, key in (("password", "password"), ("single sign-on", "email")) if entry.get(key)]
        found.append(
            {
                "name": name,
                "role": entry["role"],
                "email": entry.get("email", ""),
                "sign-in": " + ".join(ways),
            }
        )
    return found


def get_user(name: str) -> User:
    entry = _read().get(name)
    if entry is None:
        raise NotFoundError(f"user {name!r} does not exist")
    return User(name, entry["role"])


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"role {role!r} is not a role (use: {', '.join(map(repr, ROLES))})")
    return role


def _hash(password: str) -> str:
    n, r, p = SCRYPT
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    enc = base64.b64encode
    return f"scrypt${n}${r}${p}${enc(salt).decode()}${enc(digest).decode()}"


def _matches(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        found = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, base64.b64decode(digest))


def user_for_email(email: str) -> User | None:
    """The member an identity provider signed in (matched on ``email``, without case), or None."""
    wanted = (email or "").strip().lower()
    for name, entry in sorted(_read().items()):
        if wanted and entry.get("email", "").lower() == wanted:
            return User(name, entry["role"])
    return None


def add_user(name: str, role: str, password: str | None, email: str | None = None) -> User:
    """A new user (an Owner's change, except the very first user, who must be an Owner). ``password``
    None: the user signs in with the identity provider only (then ``email`` is required)."""
    users = _read()
    if users:
        require("members", "manage")
    elif role != "Owner":
        raise ValidationError("the first user must be an Owner (they add the others)")
    if not NAME.match(name or ""):
        raise ValidationError(
            f"user name {name!r} is not valid: 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )
    if name in users:
        raise ValidationError(f"user {name!r} already exists")
    if email is not None:
        email = email.strip()
        if not EMAIL.match(email):
            raise ValidationError(f"email {email!r} is not an email address (name@domain)")
        taken = next((n for n, e in users.items() if e.get("email", "").lower() == email.lower()), None)
        if taken:
            raise ValidationError(f"email {email!r} is user {taken!r}'s already")
    if password is None:
        if email is None:
            raise ValidationError(
                "a user without a password signs in with single sign-on: give their --email"
            )
    elif len(password) < 8:
        raise ValidationError("the password must have at least 8 characters")
    users[name] = {"role": _check_role(role)}
    if password is not None:
        users[name]["password"] = _hash(password)
    if email is not None:
        users[name]["email"] = email
    _write(users)
    _record("created", name, f"role {role}")
    return User(name, role)


def set_role(name: str, role: str) -> User:
    require("members", "manage")
    users = _read()
    if name not in users:
        raise NotFoundError(f"user {name!r} does not exist")
    users[name]["role"] = _check_role(role)
    if not any(u["role"] == "Owner" for u in users.values()):
        raise ValidationError("the studio must keep at least one Owner")
    _write(users)
    _record("changed", name, f"role {role}")
    return User(name, role)


def remove_user(name: str) -> None:
    require("members", "manage")
    users = _read()
    if name not in users:
        raise NotFoundError(f"user {name!r} does not exist")
    del users[name]
    if users and not any(u["role"] == "Owner" for u in users.values()):
        raise ValidationError("the studio must keep at least one Owner")
    _write(users)
    _record("deleted", name, "")


def _record(action: str, name: str, detail: str) -> None:
    """Members live in the users file, not the database: the audit log records their changes here."""
    from backend.db import record_change
    from backend.services import open_session

    with open_session() as s:
        record_change(s, action=action, kind="members", name=name, workspace_id=None, detail=detail)


def sign_in(name: str, password: str) -> User:
    """The user, when the password is theirs; one refusal for a wrong name or a wrong password alike."""
    entry = _read().get(name)
    if entry is None:
        _matches(password, _hash("not a user"))  # the same time for an unknown name
        raise PermissionDenied(SIGN_IN_REFUSED)
    if not entry.get("password") or not _matches(password, entry["password"]):
        raise PermissionDenied(SIGN_IN_REFUSED)
    return User(name, entry["role"])


# --- personal tokens ------------------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, session: Session, user: User, name: str) -> str:
    """A new token for ``user`` (returned once; only its digest is kept)."""
    if not name.strip():
        raise ValidationError("give the token a name (where it is used: laptop, CI, ...)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user.name, name=name.strip()[:255], digest=_digest(token)))
    session.flush()
    return token


def list_tokens(*, session: Session, user: User) -> list[TokenPublic]:
    rows = session.exec(
        select(ApiToken).where(ApiToken.user == user.name).order_by(col(ApiToken.created_at).desc())
    ).all()
    return [TokenPublic(**r.model_dump(exclude={"digest", "user"})) for r in rows]


def revoke_token(*, session: Session, user: User, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user != user.name:
        raise NotFoundError(f"token {token_id} does not exist for {user.name}")
    row.revoked = True
    session.add(row)


def resolve_token(*, session: Session, token: str) -> User:
    """The user a personal token belongs to (refused when unknown, revoked, or its user was removed)."""
    refused = PermissionDenied(
        "STUDIO_TOKEN is not a valid token of this studio (create one on your Profile page)"
    )
    if not token.startswith(TOKEN_PREFIX):
        raise refused
    row = session.exec(select(ApiToken).where(ApiToken.digest == _digest(token))).first()
    if row is None or row.revoked:
        raise refused
    entry = _read().get(row.user)
    if entry is None:
        raise refused
    row.last_used_at = utcnow()
    session.add(row)
    return User(row.user, entry["role"])


def user_from_environment() -> User:
    """The CLI's and the SDK's user in team mode: the owner of ``STUDIO_TOKEN``."""
    from backend.services import open_session

    token = os.environ.get("STUDIO_TOKEN", "").strip()
    if not token:
        raise PermissionDenied(
            "this studio has users: create a personal token on your Profile page and set STUDIO_TOKEN"
        )
    with open_session() as s:
        return resolve_token(session=s, token=token)
