"""Entities shaped like ``azure.ai.ml.entities``: Input, Output, Command (a job), Data, Environment, Compute.

Entities hold what the user wrote and render it as the cloud's YAML mapping (``to_yaml_dict()``), which
the service layer validates and submits exactly like a YAML file. A job's fields live in one dict keyed
by YAML name, so other job types (sweeps, pipelines) and search-space values can reuse the rendering.
Entities returned by the client also carry what the studio knows (status, links, times).

Laid out by family, as the cloud's package is: ``_inputs_outputs``, ``_job`` (command, sweep and
pipeline jobs), ``_component``, ``_assets`` (data, environments), ``_model``, ``_compute``, ``_endpoint``
and ``_connection``.
"""

from studio.ml.entities._assets import Data, Environment
from studio.ml.entities._assets import data_from_record as data_from_record
from studio.ml.entities._assets import data_from_summary as data_from_summary
from studio.ml.entities._assets import environment_from_record as environment_from_record
from studio.ml.entities._base import AttrDict, CreationContext
from studio.ml.entities._component import CommandComponent
from studio.ml.entities._component import component_from_record as component_from_record
from studio.ml.entities._component import component_from_summary as component_from_summary
from studio.ml.entities._compute import Compute
from studio.ml.entities._compute import compute_from_record as compute_from_record
from studio.ml.entities._connection import WorkspaceConnection
from studio.ml.entities._connection import connection_from_record as connection_from_record
from studio.ml.entities._endpoint import (
    CodeConfiguration,
    EndpointAuthKeys,
    EndpointAuthToken,
    KubernetesOnlineDeployment,
    KubernetesOnlineEndpoint,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    OnlineDeployment,
    OnlineEndpoint,
    OnlineRequestSettings,
)
from studio.ml.entities._endpoint import deployment_from_record as deployment_from_record
from studio.ml.entities._endpoint import endpoint_from_record as endpoint_from_record
from studio.ml.entities._inputs_outputs import DATA_TYPES as DATA_TYPES
from studio.ml.entities._inputs_outputs import Input, Output
from studio.ml.entities._job._pipeline_builder import PipelineInput
from studio.ml.entities._job.command_job import Command
from studio.ml.entities._job.job import Job, JobService
from studio.ml.entities._job.job_record import job_from_record as job_from_record
from studio.ml.entities._job.pipeline_job import PipelineJob
from studio.ml.entities._model import Model
from studio.ml.entities._model import model_from_record as model_from_record
from studio.ml.entities._model import model_from_summary as model_from_summary

__all__ = [
    "AttrDict",
    "CodeConfiguration",
    "Command",
    "CommandComponent",
    "Compute",
    "CreationContext",
    "Data",
    "EndpointAuthKeys",
    "EndpointAuthToken",
    "Environment",
    "Input",
    "Job",
    "JobService",
    "KubernetesOnlineDeployment",
    "KubernetesOnlineEndpoint",
    "ManagedOnlineDeployment",
    "ManagedOnlineEndpoint",
    "Model",
    "OnlineDeployment",
    "OnlineEndpoint",
    "OnlineRequestSettings",
    "Output",
    "PipelineInput",
    "PipelineJob",
    "WorkspaceConnection",
]
