"""A Python SDK shaped like the cloud's ``azure.ai.ml``, running jobs on this studio.

Port code by changing the imports::

    from studio.ml import MLClient, command, Input, Output, load_job, load_component
    from studio.ml.dsl import pipeline
    from studio.ml.entities import Data
    from studio.ml.sweep import Choice, Uniform, BanditPolicy

Importing this package is cheap: the service layer is imported when a call needs it.
"""

from studio.ml.builders import command, load_component, load_job
from studio.ml.client import MLClient
from studio.ml.entities import (
    CodeConfiguration,
    Input,
    KubernetesOnlineDeployment,
    KubernetesOnlineEndpoint,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
    Output,
)

__all__ = [
    "CodeConfiguration",
    "Input",
    "KubernetesOnlineDeployment",
    "KubernetesOnlineEndpoint",
    "MLClient",
    "ManagedOnlineDeployment",
    "ManagedOnlineEndpoint",
    "Model",
    "OnlineRequestSettings",
    "Output",
    "command",
    "load_component",
    "load_job",
]
