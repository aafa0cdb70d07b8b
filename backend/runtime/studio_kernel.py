"""The kernel of a notebook on a compute instance: ``python -m studio_kernel -f <connection file>``.

It is IPython's kernel (``ipykernel``) with the workspace around it: the JupyterLab server gives it the
workspace's MLflow tracking URI and name, and here, unless the notebook or its environment names an
experiment, MLflow's experiment is named after the notebook (JupyterLab says which notebook in
``JPY_SESSION_NAME``), so ``mlflow.log_metric`` in ``train.ipynb`` lands in the experiment ``train``.
The server's token is not the kernel's business: it is removed from the kernel's environment.

A custom environment without ``ipykernel`` of its own borrows the curated environment's (same Python
version): ``STUDIO_KERNEL_FALLBACK_SITE`` names its site-packages, searched after the environment's own.
"""

from __future__ import annotations

import os
import sys


def experiment_name(environ: dict[str, str]) -> str | None:
    """The experiment a notebook's runs go to when nothing else names one: the notebook's stem."""
    if environ.get("MLFLOW_EXPERIMENT_NAME") or environ.get("MLFLOW_EXPERIMENT_ID"):
        return None
    session = environ.get("JPY_SESSION_NAME") or ""
    stem = os.path.splitext(os.path.basename(session.rstrip("/")))[0]
    return stem or None


def main() -> None:
    os.environ.pop("JUPYTER_TOKEN", None)
    name = experiment_name(dict(os.environ))
    if name:
        os.environ["MLFLOW_EXPERIMENT_NAME"] = name
    fallback = os.environ.pop("STUDIO_KERNEL_FALLBACK_SITE", "")
    try:
        import ipykernel  # noqa: F401
    except ImportError:
        if fallback:
            sys.path.append(fallback)
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
