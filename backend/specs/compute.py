"""The cloud's compute YAML (``amlCompute.schema.json``, ``computeInstance.schema.json``).

::

    $schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json
    name: cpu-cluster
    type: amlcompute
    size: Standard_DS3_v2
    min_instances: 0
    max_instances: 4
    idle_time_before_scale_down: 120

A Ray cluster is attached as ``type: ray`` with its ``address``: the Ray Jobs dashboard URL
(``http://head:8265``) or a Ray Client address (``ray://head:10001``); jobs on it go through the Ray Jobs
API (``backend.agent.ray_runner``).

Fields that only mean something in the cloud (networking, identity, SSH, schedules, ...) are accepted, so
a file written for the cloud loads unchanged, and ignored; any other field is an error.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from backend.specs import SpecModel
from backend.specs.bounds import MAX_IDLE_S, MAX_INSTANCES
from backend.specs.job import tag_values, whole_number

SUPPORTED_TYPES = ("amlcompute", "computeinstance", "ray")
LATER_TYPES = ("kubernetes", "virtualmachine", "synapsespark")
IDLE_SHUTDOWN_MINUTES = (15, 20160)  # the cloud's bounds: 15 minutes to 14 days
ISO_MINUTES = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$", re.IGNORECASE)
RAY_ADDRESS = re.compile(r"^(https?|ray)://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?/?$")

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
    address: str | None = None  # type: ray, or an amlcompute whose nodes run on that Ray cluster
    # A compute instance that is idle this long (no kernel or JupyterLab activity) stops itself; the older
    # ISO 8601 form ``idle_time_before_shutdown: PT30M`` says the same.
    idle_time_before_shutdown_minutes: Annotated[
        int | None, whole_number(IDLE_SHUTDOWN_MINUTES[0], IDLE_SHUTDOWN_MINUTES[1], unit="minutes")
    ] = None
    idle_time_before_shutdown: str | None = None

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
                f"compute type {value!r} is not supported yet; use 'amlcompute' (a cluster), "
                "'computeinstance' or 'ray' (an attached Ray cluster), or no compute at all: jobs then run "
                "on serverless"
            )
        if kind not in SUPPORTED_TYPES:
            raise ValueError("must be one of 'amlcompute', 'computeinstance', 'ray'")
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
    def _idle_shutdown_in_minutes(self) -> ComputeSpec:
        text = self.idle_time_before_shutdown
        if text is None:
            return self
        found = ISO_MINUTES.match(text.strip()) if isinstance(text, str) else None
        if found is None or not any(found.groups()):
            raise ValueError(
                f"field 'idle_time_before_shutdown' must be an ISO 8601 duration like PT30M or PT1H30M "
                f"(got {text!r}); or give idle_time_before_shutdown_minutes"
            )
        minutes = int(found.group(1) or 0) * 60 + int(found.group(2) or 0)
        low, high = IDLE_SHUTDOWN_MINUTES
        if not low <= minutes <= high:
            raise ValueError(
                f"field 'idle_time_before_shutdown' must be from {low} to {high} minutes (got {text})"
            )
        if self.idle_time_before_shutdown_minutes not in (None, minutes):
            raise ValueError(
                "fields 'idle_time_before_shutdown' and 'idle_time_before_shutdown_minutes' disagree: give one"
            )
        self.idle_time_before_shutdown_minutes = minutes
        return self

    @model_validator(mode="after")
    def _fields_fit_the_type(self) -> ComputeSpec:
        if self.type == "ray":
            if not self.address:
                raise ValueError(
                    "field 'address' is required for a Ray compute: the Ray Jobs dashboard URL "
                    "(http://head:8265) or a Ray Client address (ray://head:10001)"
                )
            for field in (*CLUSTER_ONLY_FIELDS, "size"):
                if getattr(self, field) is not None:
                    raise ValueError(
                        f"field {field!r} does not apply to a Ray compute: its nodes are the Ray cluster's"
                    )
        elif self.address is not None and self.type != "amlcompute":
            raise ValueError(
                "field 'address' applies to Ray computes (type: ray) and to clusters (type: amlcompute) "
                "that run their nodes on a Ray cluster, not to a compute instance"
            )
        if self.address is not None and not RAY_ADDRESS.match(self.address.strip()):
            raise ValueError(
                f"field 'address' must be http(s)://host:port (the Ray Jobs dashboard) or "
                f"ray://host:port (got {self.address!r})"
            )
        if self.type != "computeinstance" and self.idle_time_before_shutdown_minutes is not None:
            raise ValueError(
                "field 'idle_time_before_shutdown_minutes' applies to compute instances; a cluster scales "
                "down with idle_time_before_scale_down"
            )
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
