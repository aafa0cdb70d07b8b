"""Gunicorn configuration of Studio's MLflow tracking server (``-c python:studio.tracking_gunicorn``).

Loaded by the gunicorn master that ``mlflow server --gunicorn-opts`` starts; the hook below runs in
each worker before it loads MLflow's app, so the master stays light and the workers share nothing.
"""

from __future__ import annotations


def post_fork(_server, _worker) -> None:
    from studio.tracking_store import install

    install()


def post_worker_init(worker) -> None:
    """MLflow's app is loaded: add Studio's metric-history routes to it, and the log-metric fast path in
    front of it."""
    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "add_url_rule"):
        from studio.tracking_store import FastLogMetric, add_routes

        add_routes(app)
        worker.wsgi = FastLogMetric(app)  # gunicorn calls worker.wsgi for every request
