import os

import pytest

from backend.services import ConflictError, NotFoundError, ValidationError, compute, open_session, workspaces
from backend.services.compute import ComputeForm
from backend.specs.compute import CLOUD_ONLY_FIELDS

pytestmark = pytest.mark.usefixtures("database")

CLUSTER_YAML = """\
$schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json
name: cpu-cluster
type: amlcompute
size: STANDARD_DS3_V2
min_instances: 0
max_instances: 4
idle_time_before_scale_down: 300
description: training nodes
tags:
  team: ml
location: westeurope
tier: low_priority
identity:
  type: system_assigned
ssh_public_access_enabled: false
admin_username: azureuser
network_settings:
  vnet_name: my-vnet
  subnet: default
"""


def _from_yaml(tmp_path, text: str, name: str = "c.yml", overrides=None) -> compute.ComputePublic:
    path = tmp_path / name
    path.write_text(text)
    with open_session() as s:
        return compute.create_compute_from_file(
            session=s, workspace="default", path=path, overrides=overrides
        )


def _form(**fields) -> compute.ComputePublic:
    with open_session() as s:
        return compute.create_compute_from_form(session=s, workspace="default", form=ComputeForm(**fields))


def _names(workspace: str = "default") -> list[str]:
    with open_session() as s:
        return [c.name for c in compute.list_computes(session=s, workspace=workspace)]


def test_serverless_is_always_there_first_with_one_slot_per_core():
    assert _names() == ["serverless"]
    with open_session() as s:
        serverless = compute.get_compute(session=s, workspace="default", name="serverless")
        capacity = compute.compute_capacity(session=s, workspace="default", name="serverless")
        assert compute.resolve_compute(session=s, workspace="default", reference=None).name == "serverless"
    assert serverless.implicit and serverless.state == "Running"
    assert capacity.slots == os.cpu_count()
    assert capacity.machine_cores == os.cpu_count() and capacity.machine_memory_gb > 0


def test_a_cluster_yaml_from_the_cloud_loads_unchanged_and_cloud_only_fields_are_ignored(tmp_path):
    cluster = _from_yaml(tmp_path, CLUSTER_YAML)
    assert (cluster.name, cluster.type, cluster.size) == ("cpu-cluster", "amlcompute", "Standard_DS3_v2")
    assert (cluster.cores, cluster.memory_gb) == (4, 14)
    assert (cluster.min_instances, cluster.max_instances, cluster.idle_time_before_scale_down) == (0, 4, 300)
    assert (cluster.state, cluster.current_nodes) == ("Succeeded", 0)
    assert cluster.tags == {"team": "ml"} and cluster.description == "training nodes"
    assert _names() == ["serverless", "cpu-cluster"]
    assert {"location", "tier", "identity", "admin_username"} <= set(CLOUD_ONLY_FIELDS)


def test_an_instance_yaml_creates_a_running_instance(tmp_path):
    text = (
        "$schema: https://azuremlschemas.azureedge.net/latest/computeInstance.schema.json\n"
        "name: my-ci\ntype: computeinstance\nsize: Standard_DS11_v2\n"
        "idle_time_before_shutdown_minutes: 30\nenable_sso: true\n"
    )
    instance = _from_yaml(tmp_path, text)
    assert (instance.type, instance.state, instance.cores, instance.memory_gb) == (
        "computeinstance",
        "Running",
        2,
        14,
    )
    assert (instance.min_instances, instance.max_instances, instance.current_nodes) == (1, 1, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: c1\ntype: amlcompute\nfoo: 1\n", "c.yml: field 'foo' is not allowed here"),
        ("name: c1\ntype: kubernetes\n", "compute type 'kubernetes' is not supported yet"),
        ("name: c1\ntype: ray\n", "field 'address' is required for a Ray compute"),
        (
            "name: c1\ntype: computeinstance\naddress: http://h:8265\n",
            "field 'address' applies to Ray computes",
        ),
        ("name: c1\ntype: amlcompute\naddress: h:8265\n", "field 'address' must be http(s)://host:port"),
        ("name: c1\ntype: vm\n", "field 'type': must be one of 'amlcompute', 'computeinstance'"),
        ("name: c1\n", "c.yml: field 'type' is required"),
        (
            "name: c1\ntype: amlcompute\nmax_instances: many\n",
            "field 'max_instances': must be a whole number from 1 to 1000 (got 'many')",
        ),
        (
            "name: c1\ntype: amlcompute\nmin_instances: 3\nmax_instances: 2\n",
            "min_instances (3) must not exceed",
        ),
        (
            "name: c1\ntype: amlcompute\nsize: Standard_Huge_v9\n",
            "VM size 'Standard_Huge_v9' is not known here",
        ),
        ("name: c1\ntype: computeinstance\nmax_instances: 2\n", "field 'max_instances' applies to clusters"),
        ("name: 1bad\ntype: amlcompute\n", "compute name '1bad' is not valid"),
        ("name: serverless\ntype: amlcompute\n", "'serverless' is reserved"),
        ("name: c1\ntype: amlcompute\ntier: premium\n", "field 'tier' must be 'dedicated' or 'low_priority'"),
        (
            "name: c1\ntype: amlcompute\nmax_instances: 100000\n",
            "c.yml: field 'max_instances': must be a whole number from 1 to 1000 (got 100000)",
        ),
        (
            "name: c1\ntype: amlcompute\nmin_instances: 5000\nmax_instances: 10\n",
            "c.yml: field 'min_instances': must be a whole number from 0 to 1000 (got 5000)",
        ),
        (
            "name: c1\ntype: amlcompute\nmin_instances: -1\n",
            "c.yml: field 'min_instances': must be a whole number from 0 to 1000 (got -1)",
        ),
        (
            "name: c1\ntype: amlcompute\nidle_time_before_scale_down: 99999999999999\n",
            "c.yml: field 'idle_time_before_scale_down': must be a whole number of seconds from 0 to 31536000 "
            "(got 99999999999999)",
        ),
    ],
)
def test_a_bad_compute_file_is_one_clear_message_and_nothing_is_created(tmp_path, text, message):
    with pytest.raises(ValidationError) as caught:
        _from_yaml(tmp_path, text)
    assert message in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1
    assert _names() == ["serverless"]


def test_an_unknown_size_lists_some_known_ones(tmp_path):
    with pytest.raises(ValidationError, match=r"for example Standard_DS1_v2, Standard_DS3_v2.*list-sizes"):
        _form(name="c1", type="amlcompute", size="Standard_Nope")


def test_duplicate_names_conflict_without_regard_to_case():
    _form(name="gpu-box", type="computeinstance")
    with pytest.raises(ConflictError, match="compute 'GPU-box' already exists"):
        _form(name="GPU-box", type="amlcompute")
    with open_session() as s:
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="other-ws"))
    with open_session() as s:  # names are per workspace
        compute.create_compute_from_form(
            session=s, workspace="other-ws", form=ComputeForm(name="gpu-box", type="computeinstance")
        )


def test_an_instance_stops_and_starts_and_a_stopped_one_still_accepts_jobs():
    _form(name="my-ci", type="computeinstance", size="Standard_DS1_v2")
    with open_session() as s:
        stopped = compute.stop_compute(session=s, workspace="default", name="my-ci")
        capacity = compute.compute_capacity(session=s, workspace="default", name="my-ci")
    assert (stopped.state, stopped.current_nodes) == ("Stopped", 0)
    assert capacity.accepts_jobs and not capacity.runs_jobs
    with open_session() as s:
        assert compute.stop_compute(session=s, workspace="default", name="my-ci").state == "Stopped"
        started = compute.start_compute(session=s, workspace="default", name="my-ci")
    assert (started.state, started.current_nodes) == ("Running", 1)


def test_a_cluster_says_it_scales_itself_when_asked_to_stop():
    _form(name="cl", type="amlcompute", min_instances=1, max_instances=3)
    with (
        open_session() as s,
        pytest.raises(ValidationError, match="is a cluster: it scales itself between 1 and 3"),
    ):
        compute.stop_compute(session=s, workspace="default", name="cl")
    with open_session() as s, pytest.raises(ValidationError, match="serverless compute is always available"):
        compute.start_compute(session=s, workspace="default", name="serverless")


def test_capacity_compares_the_nodes_with_this_machine():
    _form(name="big", type="amlcompute", size="Standard_DS14_v2", max_instances=4)
    _form(name="small", type="computeinstance", size="Standard_DS1_v2")
    with open_session() as s:
        big = compute.compute_capacity(session=s, workspace="default", name="big")
        small = compute.compute_capacity(session=s, workspace="default", name="small")
    assert (big.slots, big.total_cores, big.total_memory_gb) == (4, 64, 448)
    assert big.oversubscribed and "share them" in big.note
    assert (big.nodes_current, big.nodes_min, big.nodes_max) == (0, 0, 4)
    assert small.slots == 1 and (small.nodes_current, small.nodes_max) == (1, 1)
    assert not small.oversubscribed and "fit in this machine" in small.note


def test_a_cluster_scale_settings_can_change_within_bounds():
    _form(name="cl", type="amlcompute", max_instances=2)
    with open_session() as s:
        updated = compute.update_compute(
            session=s, workspace="default", name="cl", min_instances=1, max_instances=5
        )
        assert (updated.min_instances, updated.max_instances, updated.current_nodes) == (1, 5, 1)
        with pytest.raises(ValidationError, match=r"min_instances \(6\) must be 0 or more and at most"):
            compute.update_compute(session=s, workspace="default", name="cl", min_instances=6)


def test_a_cluster_cannot_be_scaled_beyond_the_bounds_one_machine_honours():
    _form(name="cl", type="amlcompute", max_instances=2)
    with open_session() as s:
        with pytest.raises(ValidationError) as caught:
            compute.update_compute(session=s, workspace="default", name="cl", max_instances=10**13)
        assert (
            str(caught.value) == "max_instances: must be a whole number from 1 to 1000 (got 10000000000000)"
        )
        with pytest.raises(
            ValidationError, match="idle_time_before_scale_down: must be a whole number of seconds"
        ):
            compute.update_compute(
                session=s, workspace="default", name="cl", idle_time_before_scale_down=10**15
            )
        shown = compute.get_compute(session=s, workspace="default", name="cl")
        assert (shown.max_instances, shown.idle_time_before_scale_down) == (2, 120)


def test_delete_removes_it_and_an_unknown_name_lists_the_computes():
    _form(name="tmp-ci", type="computeinstance")
    with open_session() as s:
        compute.delete_compute(session=s, workspace="default", name="tmp-ci")
    assert _names() == ["serverless"]
    _form(name="keep", type="amlcompute")
    with (
        open_session() as s,
        pytest.raises(NotFoundError, match=r"'tmp-ci' does not exist.*\(computes: serverless, keep\)"),
    ):
        compute.get_compute(session=s, workspace="default", name="tmp-ci")
    with (
        open_session() as s,
        pytest.raises(ValidationError, match=r"field 'compute': compute 'ghost' does not exist"),
    ):
        compute.resolve_compute(session=s, workspace="default", reference="azureml:ghost")
    with open_session() as s:
        assert (
            compute.resolve_compute(session=s, workspace="default", reference="azureml:keep").type
            == "amlcompute"
        )
    with open_session() as s, pytest.raises(ValidationError, match="cannot be deleted"):
        compute.delete_compute(session=s, workspace="default", name="serverless")


def test_the_exported_yaml_creates_the_same_compute(tmp_path):
    original = _from_yaml(tmp_path, CLUSTER_YAML)
    text = compute.compute_spec_yaml(original)
    copy = _from_yaml(tmp_path, text, name="copy.yml", overrides=["name=cpu-cluster2"])
    assert (copy.size, copy.min_instances, copy.max_instances, copy.idle_time_before_scale_down) == (
        original.size,
        original.min_instances,
        original.max_instances,
        original.idle_time_before_scale_down,
    )
