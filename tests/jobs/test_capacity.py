"""Jobs wait for capacity: a stopped instance, a full cluster; clusters scale up and down by themselves."""

import pytest

from backend.agent import capacity
from backend.db.models import Compute
from backend.services import compute, open_session
from backend.specs.compute import ComputeSpec
from tests.job_fixtures import submit, wait

pytestmark = pytest.mark.usefixtures("agent")
QUICK = "command: sleep {s}\nenvironment: azureml:AzureML-x@latest\ncompute: azureml:{c}\n"


def _create(**fields):
    with open_session() as s:
        return compute.create_compute(session=s, workspace="default", spec=ComputeSpec(**fields))


def test_a_stopped_instance_keeps_jobs_queued_until_it_starts(tmp_path):
    _create(name="box", type="computeinstance", size="Standard_DS3_v2")
    with open_session() as s:
        compute.stop_compute(session=s, workspace="default", name="box")
    job = submit(tmp_path, QUICK.format(s=0, c="box"))
    import time

    time.sleep(2.5)
    assert wait(job.name, until=lambda j: True).status == "Queued"
    with open_session() as s:
        compute.start_compute(session=s, workspace="default", name="box")
    assert wait(job.name).status == "Completed"


def test_a_cluster_scales_up_to_its_maximum_then_back_down_when_idle(tmp_path):
    _create(
        name="cpu-cluster",
        type="amlcompute",
        size="Standard_DS3_v2",
        min_instances=0,
        max_instances=2,
        idle_time_before_scale_down=1,
    )
    names = [submit(tmp_path / str(i), QUICK.format(s=2, c="cpu-cluster")).name for i in range(3)]
    done = [wait(n) for n in names]
    assert [j.status for j in done] == ["Completed"] * 3
    first, second, third = done
    # Two nodes: the first two ran side by side, the third after one of them ended.
    assert first.start_time < second.end_time and second.start_time < first.end_time
    assert third.start_time >= min(first.end_time, second.end_time)
    import time

    time.sleep(3)
    with open_session() as s:
        row = s.exec(__import__("sqlmodel").select(Compute).where(Compute.name == "cpu-cluster")).one()
        capacity.scale_clusters(s)
        history = capacity.node_history(s, row.id)
    nodes = [n for _, n, _ in history]
    assert max(nodes) == 2 and nodes[-1] == 0
    assert max(b for _, _, b in history) == 2
