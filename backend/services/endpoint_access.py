"""Who may call an online endpoint: its keys (the one call that returns them), regenerating them,
short-lived ``aml_token`` tokens (one format, signed here and checked by the router), and the serving plan
the agent's router is built from (keys included, kept in the agent's memory only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, select

from backend.db.models import OnlineEndpoint, utcnow
from backend.errors import ValidationError
from backend.identity import require
from backend.services.endpoints import (
    KEY_TYPES,
    TOKEN_TTL_S,
    DeploymentPublic,
    EndpointPublic,
    deployment_public,
    deployment_rows,
    endpoint_public,
    endpoint_row,
    new_key,
    workspace_names,
)
from backend.storage import secrets as secret_store

log = logging.getLogger(__name__)


class EndpointKeys(BaseModel):
    """The two keys, named as the cloud's CLI prints them. Never logged (``repr`` hides them)."""

    model_config = ConfigDict(populate_by_name=True)

    primaryKey: str = Field(repr=False)  # the cloud CLI's name
    secondaryKey: str = Field(repr=False)


class EndpointToken(BaseModel):
    """An ``aml_token`` endpoint's credential, named as the cloud's CLI prints it."""

    accessToken: str = Field(repr=False)
    tokenType: str = "Bearer"
    expiryTimeUtc: int  # seconds since the epoch
    refreshAfterTimeUtc: int


# --- keys and tokens ---------------------------------------------------------------------------------------


def get_keys(*, session: Session, workspace: str, name: str) -> EndpointKeys:
    """The endpoint's primary and secondary keys: the one call that returns them."""
    require("endpoint_keys", "see")  # (Owners and Contributors; the agent, acting as nobody, always)
    _, row = endpoint_row(session, workspace, name)
    what = f"a key of online endpoint {name!r}"
    return EndpointKeys(
        primaryKey=secret_store.decrypt(row.primary_key, what=what),
        secondaryKey=secret_store.decrypt(row.secondary_key, what=what),
    )


def regenerate_keys(*, session: Session, workspace: str, name: str, key_type: str) -> None:
    """Replace the primary or the secondary key; the other keeps working (rotate one at a time)."""
    require("endpoint_keys")
    kind = (key_type or "").strip().lower()
    if kind not in KEY_TYPES:
        raise ValidationError(f"key type {key_type!r} is not one of 'primary', 'secondary'")
    _, row = endpoint_row(session, workspace, name)
    setattr(row, f"{kind}_key", secret_store.encrypt(new_key()))
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    log.info(
        "online endpoint key regenerated", extra={"action": "endpoint_keys", "endpoint": name, "key": kind}
    )


def token_secret(row: OnlineEndpoint) -> bytes:
    """What an endpoint's tokens are signed with: derived from its primary key, so regenerating the key
    revokes every token issued before."""
    key = secret_store.decrypt(row.primary_key, what=f"a key of online endpoint {row.name!r}")
    return hashlib.sha256(b"studio-aml-token\0" + key.encode()).digest()


def sign_token(endpoint: str, secret: bytes, expires: float) -> str:
    """``<payload>.<signature>``: the endpoint's name and expiry, HMAC-SHA256 signed (the one token format,
    issued here and checked by the router)."""
    payload = base64.urlsafe_b64encode(json.dumps({"e": endpoint, "x": expires}).encode()).decode()
    return f"{payload}.{hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()}"


def token_valid(credential: str, endpoint: str, secret: bytes, now: float | None = None) -> bool:
    payload, _, signature = credential.partition(".")
    expected = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
        return claims["e"] == endpoint and float(claims["x"]) > (now if now is not None else time.time())
    except (ValueError, KeyError, TypeError):
        return False


def get_token(*, session: Session, workspace: str, name: str, now: float | None = None) -> EndpointToken:
    """A short-lived token for an ``aml_token`` endpoint (valid TOKEN_TTL_S seconds)."""
    _, row = endpoint_row(session, workspace, name)
    if row.auth_mode != "aml_token":
        raise ValidationError(
            f"online endpoint {name!r} uses auth_mode {row.auth_mode!r}: use its keys, not a token"
        )
    issued = int(now if now is not None else time.time())
    return EndpointToken(
        accessToken=sign_token(row.name, token_secret(row), issued + TOKEN_TTL_S),
        expiryTimeUtc=issued + TOKEN_TTL_S,
        refreshAfterTimeUtc=issued + TOKEN_TTL_S // 2,
    )


def verify_key(*, session: Session, name: str, credential: str, now: float | None = None) -> bool:
    """Whether ``credential`` (the Bearer value) opens endpoint ``name``: one of its keys for ``key``
    endpoints, an unexpired token for ``aml_token`` ones. Constant-time comparisons."""
    row = session.exec(select(OnlineEndpoint).where(OnlineEndpoint.name == name)).first()
    if row is None or not credential:
        return False
    if row.auth_mode == "aml_token":
        return token_valid(credential, row.name, token_secret(row), now)
    what = f"a key of online endpoint {name!r}"
    given = credential.encode()
    matches = [
        hmac.compare_digest(given, secret_store.decrypt(token, what=what).encode())
        for token in (row.primary_key, row.secondary_key)
    ]
    return any(matches)


class ServedEndpoint(BaseModel):
    """What the endpoint supervisor and router need of one endpoint: its settings, its deployments, and
    (in the agent's memory only) its keys and token secret."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    endpoint: EndpointPublic
    deployments: list[DeploymentPublic]
    primary_key: str = Field(repr=False)
    secondary_key: str = Field(repr=False)
    token_secret: bytes = Field(repr=False)


def serving_plan(*, session: Session) -> list[ServedEndpoint]:
    """Every managed endpoint of the studio with its deployments: what the agent keeps serving."""
    names = workspace_names(session)
    plan = []
    for row in session.exec(select(OnlineEndpoint).order_by(OnlineEndpoint.id)).all():
        if row.kind != "managed":
            continue
        workspace = names.get(row.workspace_id, "?")
        what = f"a key of online endpoint {row.name!r}"
        plan.append(
            ServedEndpoint(
                endpoint=endpoint_public(row, workspace),
                deployments=[deployment_public(d, row, workspace) for d in deployment_rows(session, row)],
                primary_key=secret_store.decrypt(row.primary_key, what=what),
                secondary_key=secret_store.decrypt(row.secondary_key, what=what),
                token_secret=token_secret(row),
            )
        )
    return plan
