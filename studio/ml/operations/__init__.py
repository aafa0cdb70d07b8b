"""``ml_client.jobs``, ``.data``, ``.environments``, ``.compute``: entities in, service calls, entities out.

Every call is one unit of work (``backend.services.open_session``) in the client's workspace; the
services do all validation and raise ``backend.errors`` exceptions with one actionable line.
"""

from studio.ml.entities import Command
from studio.ml.operations._asset_operations import ComponentOperations, DataOperations, EnvironmentOperations
from studio.ml.operations._benchmark_operations import BenchmarkOperations
from studio.ml.operations._compute_operations import ComputeOperations
from studio.ml.operations._connection_operations import ConnectionOperations
from studio.ml.operations._endpoint_operations import (
    DonePoller,
    OnlineDeploymentOperations,
    OnlineEndpointOperations,
)
from studio.ml.operations._job_operations import STREAM_POLL_S as STREAM_POLL_S
from studio.ml.operations._job_operations import SUBMITTABLE as SUBMITTABLE
from studio.ml.operations._job_operations import CancelPoller, JobOperations
from studio.ml.operations._job_operations import studio_url as studio_url
from studio.ml.operations._model_operations import ModelOperations
from studio.ml.operations._rai_operations import ResponsibleAIOperations

__all__ = [
    "BenchmarkOperations",
    "CancelPoller",
    "Command",
    "ComponentOperations",
    "ComputeOperations",
    "ConnectionOperations",
    "DataOperations",
    "DonePoller",
    "EnvironmentOperations",
    "JobOperations",
    "ModelOperations",
    "OnlineDeploymentOperations",
    "OnlineEndpointOperations",
    "ResponsibleAIOperations",
]
