"""Sane bounds for counts and durations: the cloud's own where it publishes them, else what one machine
can honour. A value outside them is refused with one line before anything is created.

| bound | value | where it comes from |
|---|---|---|
| sweep ``limits.max_total_trials`` | 1 to 1000 | the cloud's docs (how-to-tune-hyperparameters): "an integer between 1 and 1000" |
| sweep ``limits.max_concurrent_trials`` | 1 to 100 | the cloud's docs: "must be an integer between 1 and 100" |
| ``truncation_percentage`` | 1 to 99 | the cloud's docs: "an integer value between 1 and 99" |
| job ``limits.timeout``, sweep ``timeout`` / ``trial_timeout`` | 1 s to 60 days | Studio's choice: 60 days (5,184,000 s) is the cloud's default sweep ``timeout`` (reference-yaml-job-sweep); the cloud publishes no maximum |
| compute ``max_instances`` (and ``min_instances``, ``resources.instance_count``) | 1 to 1000 | Studio's choice: a node is a slot on this machine; the cloud publishes no maximum |
| compute ``idle_time_before_scale_down`` | 0 to 365 days | Studio's choice; the cloud publishes no maximum |

A job's ``resources.instance_count`` must also fit its compute: a cluster's ``max_instances``, 1 for a
compute instance, this machine's CPU cores for serverless (``backend.services.jobs.check_compute``).
"""

from __future__ import annotations

MAX_TOTAL_TRIALS = 1000
MAX_CONCURRENT_TRIALS = 100
MIN_TRUNCATION_PERCENTAGE, MAX_TRUNCATION_PERCENTAGE = 1, 99
MAX_TIMEOUT_S = 60 * 24 * 3600  # 5,184,000 s
MAX_INSTANCES = 1000
MAX_IDLE_S = 365 * 24 * 3600
