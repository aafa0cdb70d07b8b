"""``studio agent --name --computes`` checks its options; ``studio agents`` lists the agents that serve the
database, from their heartbeats."""

from __future__ import annotations

import json

import pytest

from studio.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["agent", "--name", "no way"], "error: --name: 'no way' is not an agent name"),
        (["agent", "--computes", "c1,,c2"], "error: --computes: 'c1,,c2' has an empty compute name"),
    ],
)
def test_bad_agent_options_are_one_line_and_start_nothing(capsys, studio_home, argv, message):
    code, _out, err = run(capsys, *argv)
    assert code != 0 and err.startswith(message) and len(err.strip().splitlines()) == 1
    assert not (studio_home / "run").exists() or not list((studio_home / "run").glob("agent*.sock"))


@pytest.mark.usefixtures("database")
def test_agents_lists_the_live_agents_with_their_computes_and_a_stopped_one_with_all(capsys):
    from backend.agent.loop import Agent
    from backend.db import ensure_schema
    from backend.services import agents, open_session

    ensure_schema()
    assert run(capsys, "agents")[1].strip() == "no agent is running"
    worker = Agent(name="gpu-box", computes=["c1", "c2"])
    worker.run_once()  # registers it (a pass with nothing to do)
    try:
        code, out, _ = run(capsys, "agents", "--output", "json")
        assert code == 0
        (shown,) = json.loads(out)
        assert (shown["name"], shown["computes"], shown["alive"]) == ("gpu-box", ["c1", "c2"], True)
        assert shown["id"] == worker.id
        assert "gpu-box" in run(capsys, "agents")[1] and "c1,c2" in run(capsys, "agents")[1]
        with open_session() as s:
            agents.stop(s, worker.id)
        assert run(capsys, "agents")[1].strip() == "no agent is running"
        assert "stopped" in run(capsys, "agents", "--all")[1]
    finally:
        worker.pool.shutdown(wait=True)
