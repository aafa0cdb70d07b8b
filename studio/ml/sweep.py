"""Hyperparameter sweeps shaped like ``azure.ai.ml.sweep``: search-space distributions, early-termination
policies, sampling algorithms, and the ``SweepJob`` that ``Command.sweep(...)`` builds.

Put distributions where a command takes input values and sweep it::

    job = command(..., inputs={"lr": 0.1, "kernel": "rbf"})
    sweep_job = job(lr=Uniform(0.01, 0.1), kernel=Choice(["linear", "rbf"])).sweep(
        sampling_algorithm="random", primary_metric="accuracy", goal="Maximize"
    )
    sweep_job.set_limits(max_total_trials=20, max_concurrent_trials=4)
    sweep_job.early_termination = BanditPolicy(slack_factor=0.1, evaluation_interval=1)
    ml_client.jobs.create_or_update(sweep_job)

The rendered sweep YAML runs here: each swept input becomes a ``search_space`` entry, and a command
trial's ``${{inputs.<name>}}`` for it reads ``${{search_space.<name>}}``. The classes live in
``studio.ml.entities._job.sweep``.
"""

from studio.ml.entities._job.sweep.early_termination_policy import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    TruncationSelectionPolicy,
)
from studio.ml.entities._job.sweep.sampling_algorithm import (
    BayesianSamplingAlgorithm,
    GridSamplingAlgorithm,
    RandomSamplingAlgorithm,
    SamplingAlgorithm,
)
from studio.ml.entities._job.sweep.search_space import (
    Choice,
    LogNormal,
    LogUniform,
    Normal,
    QLogNormal,
    QLogUniform,
    QNormal,
    QUniform,
    Randint,
    SweepDistribution,
    Uniform,
)
from studio.ml.entities._job.sweep.sweep_job import FIELD_ORDER as FIELD_ORDER
from studio.ml.entities._job.sweep.sweep_job import TRIAL_FIELDS as TRIAL_FIELDS
from studio.ml.entities._job.sweep.sweep_job import Objective, SweepJob, SweepJobLimits
from studio.ml.entities._job.sweep.sweep_job import make_sweep as make_sweep
from studio.ml.entities._job.sweep.sweep_job import swept_command as swept_command

__all__ = [
    "BanditPolicy",
    "BayesianSamplingAlgorithm",
    "Choice",
    "EarlyTerminationPolicy",
    "GridSamplingAlgorithm",
    "LogNormal",
    "LogUniform",
    "MedianStoppingPolicy",
    "Normal",
    "Objective",
    "QLogNormal",
    "QLogUniform",
    "QNormal",
    "QUniform",
    "Randint",
    "RandomSamplingAlgorithm",
    "SamplingAlgorithm",
    "SweepDistribution",
    "SweepJob",
    "SweepJobLimits",
    "TruncationSelectionPolicy",
    "Uniform",
]
