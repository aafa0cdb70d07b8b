"""The cloud's online endpoint and deployment YAML (SPEC section 12; ``managedOnlineEndpoint``,
``kubernetesOnlineEndpoint``, ``managedOnlineDeployment`` and ``kubernetesOnlineDeployment`` schemas).

An endpoint::

    $schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json
    name: my-endpoint
    auth_mode: key              # or aml_token; any case
    traffic: {blue: 90, green: 10}
    mirror_traffic: {green: 10}
    compute: azureml:k8s-compute   # a Kubernetes endpoint (absent: a managed one)

A deployment::

    name: blue
    endpoint_name: my-endpoint
    model: azureml:sklearn-model:1        # or an inline {path: ./model/}
    code_configuration: {code: ./onlinescoring/, scoring_script: score.py}
    environment: {conda_file: ./conda.yaml, image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04}
    instance_type: Standard_DS3_v2       # recorded
    instance_count: 1
    request_settings: {request_timeout_ms: 5000, max_concurrent_requests_per_instance: 1}

Fields that only mean something in the cloud (identity, networking, probes, scale settings, Application
Insights, data collection) are accepted so a cloud file loads unchanged, and recorded. What one file cannot
know (a traffic entry naming a deployment that does not exist) is checked by ``backend.services.endpoints``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from backend.specs import FieldProblem, SpecModel, validate_part
from backend.specs.bounds import MAX_INSTANCES
from backend.specs.environment import EnvironmentSpec
from backend.specs.job import EnvironmentVariables, Tags, whole_number

# The cloud's rule for endpoint names (``EndpointConfigurations.NAME_REGEX_PATTERN``, 3 to 32 characters);
# deployments follow the same one (the cloud's quota page). Both end up in URLs and Kubernetes names.
NAME_PATTERN = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
MIN_NAME_LENGTH, MAX_NAME_LENGTH = 3, 32
NAME_RULE = (
    f"{MIN_NAME_LENGTH} to {MAX_NAME_LENGTH} characters: letters, digits and '-', starting with a letter "
    "and not ending with '-'"
)
AUTH_MODES = ("key", "aml_token")
ENDPOINT_KINDS = ("managed", "kubernetes")
MAX_MIRROR_PERCENT = 50  # the cloud's limit: at most half of the requests are copied

# The cloud's defaults for ``request_settings`` (reference-yaml-deployment-managed-online).
REQUEST_TIMEOUT_MS_DEFAULT = 5_000
MAX_CONCURRENT_REQUESTS_DEFAULT = 1
MAX_QUEUE_WAIT_MS_DEFAULT = 500
MAX_REQUEST_TIMEOUT_MS = 180_000  # the cloud's maximum for managed endpoints (3 minutes)
MAX_CONCURRENT_REQUESTS = 1_000  # Studio's choice: more than one machine's process can take at once
MAX_QUEUE_WAIT_MS = 600_000  # Studio's choice: ten minutes

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def name_problem(name: Any, what: str = "endpoint") -> str | None:
    """Why ``name`` is not a valid endpoint (or deployment) name, or None."""
    if not isinstance(name, str) or not name:
        return f"a {what} needs a name ({NAME_RULE})"
    if not (MIN_NAME_LENGTH <= len(name) <= MAX_NAME_LENGTH) or not NAME_PATTERN.match(name):
        return f"{what} name {name!r} is not valid: use {NAME_RULE}"
    return None


def _name(what: str):
    def check(value: Any) -> Any:
        if isinstance(value, str) and name_problem(value, what):
            raise FieldProblem("", f"must be {NAME_RULE}", value)
        return value

    return BeforeValidator(check)


def _snake(value: Any) -> Any:
    """``AMLToken``, ``amlToken``, ``AML_TOKEN`` -> ``aml_token`` (the cloud reads these case-insensitively)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("amltoken", "aml_token"):
        return "aml_token"
    return _CAMEL.sub("_", text).lower() if not text.isupper() else text.lower()


def _percent_map(*, most: int = 100):
    def check(value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise FieldProblem(
                "",
                "must be a mapping of deployment name to a whole percent, e.g. {blue: 90, green: 10}",
                value,
            )
        out: dict[str, int] = {}
        for key, percent in value.items():
            name = str(key)
            if name_problem(name, "deployment"):
                raise FieldProblem(name, f"is not a deployment name ({NAME_RULE})")
            try:
                out[name] = whole_number(0, most).func(percent)
            except FieldProblem:
                raise FieldProblem(name, f"must be a whole percent from 0 to {most}", percent) from None
        return out

    return BeforeValidator(check)


Traffic = Annotated[dict[str, int], _percent_map()]
MirrorTraffic = Annotated[dict[str, int], _percent_map(most=MAX_MIRROR_PERCENT)]


def traffic_problem(traffic: dict[str, int]) -> str | None:
    """Why a traffic split is not allowed, or None: the percents sum to 100 (or to 0: no traffic)."""
    total = sum(traffic.values())
    if total not in (0, 100):
        shown = ", ".join(f"{k}={v}" for k, v in traffic.items())
        return f"the percents must sum to 100 (or to 0 for no traffic); {shown} sums to {total}"
    return None


def mirror_problem(mirror: dict[str, int], traffic: dict[str, int]) -> str | None:
    """Why a mirror split is not allowed, or None: one deployment, at most 50%, none of the live traffic."""
    given = {k: v for k, v in mirror.items() if v}
    if len(given) > 1:
        return f"copies go to one deployment only (got {', '.join(given)})"
    for name in given:
        if traffic.get(name):
            return (
                f"deployment {name!r} gets {traffic[name]}% of the live traffic; a deployment receives "
                "either live or mirrored traffic, not both"
            )
    return None


class _Part(BaseModel):
    """A nested mapping: unknown keys are errors, as in the cloud's schemas."""

    model_config = ConfigDict(extra="forbid")


# --- endpoints ---------------------------------------------------------------------------------------------


class OnlineEndpointSpec(SpecModel):
    """A managed (or, with ``compute``, Kubernetes) online endpoint."""

    READ_ONLY_FIELDS = ("id", "provisioning_state", "scoring_uri", "openapi_uri", "kind")

    name: Annotated[str, _name("endpoint")]
    description: str | None = None
    tags: Tags = Field(default_factory=dict)
    properties: Tags = Field(default_factory=dict)
    auth_mode: Annotated[str, BeforeValidator(_snake)] = "key"
    traffic: Traffic = Field(default_factory=dict)
    mirror_traffic: MirrorTraffic = Field(default_factory=dict)
    compute: str | None = None  # Kubernetes endpoints: the attached cluster (recorded)
    # Recorded: they only mean something in the cloud.
    identity: dict[str, Any] | None = None
    public_network_access: Annotated[Literal["enabled", "disabled"] | None, BeforeValidator(_snake)] = None
    location: str | None = None

    @field_validator("auth_mode")
    @classmethod
    def _auth_mode(cls, value: str) -> str:
        if value == "aad_token":
            raise FieldProblem(
                "", "'aad_token' is for batch endpoints; an online endpoint takes 'key' or 'aml_token'"
            )
        if value not in AUTH_MODES:
            raise FieldProblem("", "must be 'key' or 'aml_token'", value)
        return value

    @field_validator("compute")
    @classmethod
    def _compute(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().removeprefix("azureml:"):
            raise FieldProblem(
                "", "must name the attached Kubernetes compute, e.g. azureml:k8s-compute", value
            )
        return value

    @model_validator(mode="after")
    def _splits(self) -> OnlineEndpointSpec:
        problem = traffic_problem(self.traffic)
        if problem:
            raise FieldProblem("traffic", problem)
        problem = mirror_problem(self.mirror_traffic, self.traffic)
        if problem:
            raise FieldProblem("mirror_traffic", problem)
        return self

    @property
    def kind(self) -> str:
        return "kubernetes" if self.compute else "managed"


# --- deployments -------------------------------------------------------------------------------------------


class CodeConfigurationSpec(_Part):
    code: str | None = None
    scoring_script: str

    @field_validator("scoring_script")
    @classmethod
    def _script(cls, value: str) -> str:
        if not value.strip():
            raise FieldProblem("", "must name the scoring script (e.g. score.py) inside 'code'", value)
        return value


class InlineModelSpec(_Part):
    """A model written into the deployment (the cloud's anonymous model): a local or remote ``path``."""

    name: str | None = None
    version: Annotated[str | None, BeforeValidator(lambda v: None if v is None else str(v))] = None
    type: Annotated[
        Literal["custom_model", "mlflow_model", "triton_model"] | None,
        BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
    ] = None
    path: str
    description: str | None = None
    tags: Tags = Field(default_factory=dict)
    properties: Tags = Field(default_factory=dict)
    stage: str | None = None
    flavors: dict[str, Any] | None = None
    datastore: str | None = None


_MODEL_REF = re.compile(
    r"^(?:azureml:)?(?P<name>[A-Za-z0-9][\w.-]*)(?::(?P<version>[\w.-]+)|@(?P<label>[\w.-]+))?$"
)
_MODEL_REGISTRY_REF = re.compile(r"^azureml://registries/[^/]+/models/[^/]+(?:/(?:versions|labels)/[^/]+)?$")


def model_reference(value: Any) -> Any:
    """``azureml:name:version``, ``azureml:name@latest`` (prefix optional) or a registry model URI."""
    if not isinstance(value, str):
        return value
    ref = value.strip()
    if _MODEL_REGISTRY_REF.match(ref) or ref.startswith("azureml:/subscriptions/"):
        return ref
    if not _MODEL_REF.match(ref):
        raise FieldProblem(
            "",
            "must be a registered model (azureml:<name>:<version> or azureml:<name>@latest) or an inline "
            "mapping with a path",
            value,
        )
    return ref


class ProbeSpec(_Part):
    """A liveness or readiness probe (recorded; exported to Kubernetes)."""

    period: Annotated[int | None, whole_number(1, 3600, unit="seconds")] = None
    initial_delay: Annotated[int | None, whole_number(0, 3600, unit="seconds")] = None
    timeout: Annotated[int | None, whole_number(1, 3600, unit="seconds")] = None
    success_threshold: Annotated[int | None, whole_number(1, 100)] = None
    failure_threshold: Annotated[int | None, whole_number(1, 100)] = None


class RequestSettingsSpec(_Part):
    request_timeout_ms: Annotated[int | None, whole_number(1, MAX_REQUEST_TIMEOUT_MS)] = None
    max_concurrent_requests_per_instance: Annotated[int | None, whole_number(1, MAX_CONCURRENT_REQUESTS)] = (
        None
    )
    max_queue_wait_ms: Annotated[int | None, whole_number(0, MAX_QUEUE_WAIT_MS)] = None

    def effective(self) -> dict[str, int]:
        """The settings the router applies: the given ones, the cloud's defaults for the rest."""
        return {
            "request_timeout_ms": self.request_timeout_ms or REQUEST_TIMEOUT_MS_DEFAULT,
            "max_concurrent_requests_per_instance": self.max_concurrent_requests_per_instance
            or MAX_CONCURRENT_REQUESTS_DEFAULT,
            "max_queue_wait_ms": MAX_QUEUE_WAIT_MS_DEFAULT
            if self.max_queue_wait_ms is None
            else self.max_queue_wait_ms,
        }


class ScaleSettingsSpec(_Part):
    """Recorded: instances here are ``instance_count`` processes."""

    type: Annotated[Literal["default", "target_utilization"], BeforeValidator(_snake)]
    polling_interval: Annotated[int | None, whole_number(1, 3600, unit="seconds")] = None
    target_utilization_percentage: Annotated[int | None, whole_number(1, 100)] = None
    min_instances: Annotated[int | None, whole_number(0, MAX_INSTANCES)] = None
    max_instances: Annotated[int | None, whole_number(1, MAX_INSTANCES)] = None


class ResourceSettingsSpec(_Part):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    cpu: Annotated[str | None, BeforeValidator(lambda v: None if v is None else str(v))] = None
    memory: str | None = None
    gpu: Annotated[str | None, BeforeValidator(lambda v: None if v is None else str(v))] = Field(
        default=None, alias="nvidia.com/gpu"
    )


class ResourcesSpec(_Part):
    """A Kubernetes deployment's container requests and limits (exported to the manifests)."""

    requests: ResourceSettingsSpec | None = None
    limits: ResourceSettingsSpec | None = None


class OnlineDeploymentSpec(SpecModel):
    """A managed or Kubernetes (``type: kubernetes``) online deployment."""

    READ_ONLY_FIELDS = ("id", "provisioning_state", "creation_context")

    name: Annotated[str, _name("deployment")]
    endpoint_name: Annotated[str, _name("endpoint")]
    type: Annotated[Literal["managed", "kubernetes"] | None, BeforeValidator(_snake)] = None
    description: str | None = None
    tags: Tags = Field(default_factory=dict)
    properties: Tags = Field(default_factory=dict)
    model: str | InlineModelSpec | None = None
    code_configuration: CodeConfigurationSpec | None = None
    environment: str | EnvironmentSpec | None = None
    instance_type: str | None = None  # recorded: a process here has no VM size
    instance_count: Annotated[int, whole_number(1, MAX_INSTANCES)] = 1
    request_settings: RequestSettingsSpec = Field(default_factory=RequestSettingsSpec)
    environment_variables: EnvironmentVariables = Field(default_factory=dict)
    model_mount_path: str | None = None
    # Recorded (exported to Kubernetes where it has a meaning there).
    liveness_probe: ProbeSpec | None = None
    readiness_probe: ProbeSpec | None = None
    app_insights_enabled: bool | None = None
    scale_settings: ScaleSettingsSpec | None = None
    resources: ResourcesSpec | None = None
    data_collector: dict[str, Any] | None = None
    egress_public_network_access: Annotated[
        Literal["enabled", "disabled"] | None, BeforeValidator(_snake)
    ] = None
    private_network_connection: bool | None = None

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict):
            return validate_part(InlineModelSpec, value, info)
        if value is not None and not isinstance(value, str):
            raise FieldProblem("", "must be a model reference (azureml:<name>:<version>) or a mapping", value)
        return model_reference(value)

    @field_validator("environment", mode="before")
    @classmethod
    def _environment(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict):
            return validate_part(EnvironmentSpec, value, info)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is not None:
            raise FieldProblem(
                "",
                "must name an environment (azureml:<name>:<version>) or be a mapping with image and conda_file",
                value,
            )
        return value

    @model_validator(mode="after")
    def _fits(self) -> OnlineDeploymentSpec:
        if self.resources is not None and self.type != "kubernetes":
            raise FieldProblem("resources", "applies to Kubernetes deployments (type: kubernetes)")
        if self.code_configuration is not None and self.environment is None:
            raise FieldProblem(
                "environment",
                "is required with a scoring script: name a registered environment or give an image and "
                "conda_file (an mlflow_model needs neither)",
            )
        return self

    @property
    def kind(self) -> str:
        return self.type or "managed"
