"""``python -m backend.agent.envbuild <spec-hash>``: build one environment venv, detached from its caller.

``backend.services.environments.request_build`` starts this process and returns at once; the build's
state and log live in the database row and in ``STUDIO_HOME/envs/<hash>/build.log``.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m backend.agent.envbuild <spec-hash>", file=sys.stderr)
        return 2
    from backend.errors import StudioError
    from backend.services.environment_builds import build_environment
    from backend.statuses import BuildStatus

    try:
        # wait=False: when another process already builds this hash, leave it to that one.
        build = build_environment(args[0], wait=False)
    except StudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0 if build.status == BuildStatus.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
