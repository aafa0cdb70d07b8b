"""Data lineage: which jobs read a data asset version, and which job wrote it."""

from __future__ import annotations

from sqlmodel import Session

READ, WROTE = "read", "wrote"


def data_lineage(*, session: Session, workspace: str, name: str, version: str) -> list[dict]:
    """Jobs that read ``name:version`` (an input resolved to it) or wrote it (a registered output), newest first.

    Each entry: ``{"job", "display_name", "relation" ("read" | "wrote"), "port" (the input or output
    name), "status", "experiment", "created_at"}``.
    """
    from backend.services import data_assets, jobs

    asset = data_assets.get_data_asset(session=session, workspace=workspace, name=name, version=version)
    reference = f"{asset.name}:{asset.version}"
    found: list[dict] = []

    def _entry(job: jobs.JobPublic, relation: str, port: str) -> dict:
        return {
            "job": job.name,
            "display_name": job.display_name,
            "relation": relation,
            "port": port,
            "status": job.status,
            "experiment": job.experiment_name,
            "created_at": job.created_at,
        }

    writer = asset.tags.get("studio.job")
    for job in jobs.list_jobs(
        session=session, workspace=workspace, include_children=True, include_archived=True, limit=100_000
    ):
        for port, value in (job.inputs or {}).items():
            if isinstance(value, dict) and value.get("kind") == "data" and value.get("asset") == reference:
                found.append(_entry(job, READ, port))
        if job.name == writer:
            for port, out in (job.outputs or {}).items():
                if isinstance(out, dict) and out.get("asset_name") == asset.name:
                    found.append(_entry(job, WROTE, port))
    found.sort(key=lambda e: e["created_at"], reverse=True)
    return found


__all__ = ["READ", "WROTE", "data_lineage"]
