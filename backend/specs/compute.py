"""The cloud's compute YAML (``amlCompute.schema.json``, ``computeInstance.schema.json``).

::

    $schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json
    name: cpu-cluster
    type: amlcompute
    size: Standard_DS3_v2
    min_instances: 0
    max_instances: 4
    idle_time_before_scale_down: 120

Fields that only mean something in the cloud (networking, identity, SSH, schedules, ...) are accepted, so
a file written for the cloud loads unchanged, and ignored; any other field is an error.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from backend.specs import SpecModel
from backend.specs.bounds import MAX_IDLE_S, MAX_INSTANCES
from backend.specs.job import tag_values, whole_number

SUPPORTED_TYPES = ("amlcompute", "computeinstance")
LATER_TYPES = ("kubernetes", "ray", "virtualmachine", "synapsespark")

# Cloud-only fields the cloud's schemas allow: accepted so the file loads, then ignored.
CLOUD_ONLY_FIELDS: tuple[str, ...] = (
    "location",
    "resource_id",
    "tier",
    "identity",
    "ssh_public_access_enabled",
    "ssh_settings",
    "admin_username",
    "admin_password",
    "ssh_key_value",
    "network_settings",
    "enable_node_public_ip",
    "create_on_behalf_of",
    "schedules",
    "idle_time_before_shutdown",
    "idle_time_before_shutdown_minutes",
    "custom_applications",
    "setup_scripts",
    "enable_sso",
    "enable_root_access",
    "enable_os_patching",
    "release_quota_on_stop",
)
CLUSTER_ONLY_FIELDS = ("min_instances", "max_instances", "idle_time_before_scale_down")


class ComputeSpec(SpecModel):
    READ_ONLY_FIELDS = (
        "id",
        "created_on",
        "provisioning_state",
        "provisioning_errors",
        "state",
        "last_operation",
        "os_image_metadata",
        "services",
    )

    name: str
    type: str
    size: str | None = None
    min_instances: Annotated[int | None, whole_number(0, MAX_INSTANCES)] = None
    max_instances: Annotated[int | None, whole_number(1, MAX_INSTANCES)] = None
    idle_time_before_scale_down: Annotated[int | None, whole_number(0, MAX_IDLE_S, unit="seconds")] = None
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    # Accepted and ignored (see CLOUD_ONLY_FIELDS).
    location: str | None = None
    resource_id: str | None = None
    tier: str | None = None
    identity: dict[str, Any] | None = None
    ssh_public_access_enabled: bool | None = None
    ssh_settings: dict[str, Any] | None = None
    admin_username: str | None = None
    admin_password: str | None = Field(default=None, repr=False)
    ssh_key_value: str | None = Field(default=None, repr=False)
    network_settings: dict[str, Any] | None = None
    enable_node_public_ip: bool | None = None
    create_on_behalf_of: dict[str, Any] | None = None
    schedules: dict[str, Any] | None = None
    idle_time_before_shutdown: str | None = None
    idle_time_before_shutdown_minutes: int | None = None
    custom_applications: list[Any] | None = None
    setup_scripts: dict[str, Any] | None = None
    enable_sso: bool | None = None
    enable_root_access: bool | None = None
    enable_os_patching: bool | None = None
    release_quota_on_stop: bool | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        kind = value.strip().lower()
        if kind in LATER_TYPES:
            raise ValueError(
                f"compute type {value!r} is not supported yet; use 'amlcompute' (a cluster) or "
                "'computeinstance' (or no compute at all: jobs then run on serverless)"
            )
        if kind not in SUPPORTED_TYPES:
            raise ValueError("must be one of 'amlcompute', 'computeinstance'")
        return kind

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_values_text(cls, value: Any) -> Any:
        return tag_values(value)

    @field_validator("tier", mode="before")
    @classmethod
    def _tier_text(cls, value: Any) -> Any:
        return value.lower().replace("_", "") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _fields_fit_the_type(self) -> ComputeSpec:
        if self.type == "computeinstance":
            for field in CLUSTER_ONLY_FIELDS:
                if getattr(self, field) is not None:
                    raise ValueError(
                        f"field {field!r} applies to clusters (type: amlcompute), not to a compute instance"
                    )
        if self.tier is not None and self.tier not in ("dedicated", "lowpriority"):
            raise ValueError(f"field 'tier' must be 'dedicated' or 'low_priority' (got {self.tier!r})")
        lo, hi = self.min_instances, self.max_instances
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_instances ({lo}) must not exceed max_instances ({hi})")
        return self
