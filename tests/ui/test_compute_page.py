import os

from backend.services import compute, open_session
from backend.services.compute import ComputeForm


def _create(**fields) -> compute.ComputePublic:
    with open_session() as s:
        return compute.create_compute_from_form(session=s, workspace="default", form=ComputeForm(**fields))


def _get(name: str) -> compute.ComputePublic:
    with open_session() as s:
        return compute.get_compute(session=s, workspace="default", name=name)


def _names() -> list[str]:
    with open_session() as s:
        return [c.name for c in compute.list_computes(session=s, workspace="default")]


def _detail(app, name: str):
    at = app("compute.py")
    at.query_params["name"] = name
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_page_shows_this_machine_and_the_computes_by_kind(app):
    _create(name="my-ci", type="computeinstance", size="Standard_DS1_v2")
    _create(name="cpu-cluster", type="amlcompute", max_instances=3)
    at = app("compute.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["This machine's cores"] == str(os.cpu_count())
    instances = at.dataframe(key="ci_table").value
    clusters = at.dataframe(key="cc_table").value
    assert list(instances["name"]) == ["my-ci"] and list(instances["state"]) == ["Running"]
    assert list(clusters["name"]) == ["cpu-cluster"] and list(clusters["max"]) == [3]


def test_the_page_says_how_jobs_are_isolated(app):
    from backend import sandbox

    sandbox.status.cache_clear()
    at = app("compute.py")
    captions = " ".join(c.value for c in at.caption)
    if sandbox.status().available:
        assert "Jobs run isolated: sandboxed with bubblewrap" in captions
    else:
        assert "unsandboxed" in " ".join(w.value for w in at.warning)


def test_create_a_cluster_from_the_form(app):
    at = app("compute.py")
    at.selectbox(key="new_compute_type").set_value("amlcompute").run()
    at.text_input(key="new_compute_name").input("1-bad").run()
    assert "is not valid" in at.error[0].value and at.button(key="new_compute_create").disabled
    at.text_input(key="new_compute_name").input("train-cluster").run()
    at.selectbox(key="new_compute_size").set_value("Standard_D4s_v3").run()
    at.number_input(key="new_compute_min").set_value(1).run()
    at.number_input(key="new_compute_max").set_value(4).run()
    at.button(key="new_compute_create").click().run()
    assert not at.exception, at.exception
    created = _get("train-cluster")
    assert (created.type, created.size, created.min_instances, created.max_instances) == (
        "amlcompute",
        "Standard_D4s_v3",
        1,
        4,
    )
    assert at.query_params["name"] == "train-cluster"
    assert at.header[0].value == "train-cluster"
    assert {m.label: m.value for m in at.metric}["Nodes (current / min / max)"] == "1 / 1 / 4"


def test_an_instance_form_has_no_scale_settings_and_duplicates_are_one_message(app):
    _create(name="taken", type="computeinstance")
    at = app("compute.py")
    at.selectbox(key="new_compute_type").set_value("computeinstance").run()
    assert not [n for n in at.number_input if n.key == "new_compute_max"]
    at.text_input(key="new_compute_name").input("taken").run()
    at.button(key="new_compute_create").click().run()
    assert [e.value for e in at.error] == ["compute 'taken' already exists in workspace 'default'"]
    assert _names() == ["serverless", "taken"]


def test_stop_and_start_an_instance_from_its_page(app):
    _create(name="my-ci", type="computeinstance", size="Standard_DS1_v2")
    at = _detail(app, "my-ci")
    assert at.button(key="compute_start").disabled
    at.button(key="compute_stop").click().run()
    assert _get("my-ci").state == "Stopped"
    assert {m.label: m.value for m in at.metric}["State"] == "Stopped"
    at.button(key="compute_start").click().run()
    assert _get("my-ci").state == "Running"


def test_a_cluster_page_shows_capacity_against_this_machine_and_can_be_deleted(app):
    _create(name="big", type="amlcompute", size="Standard_DS14_v2", max_instances=2)
    at = _detail(app, "big")
    assert "share them" in at.warning[0].value  # 32 cores claimed on a smaller machine
    assert not [b for b in at.button if b.key == "compute_stop"]  # clusters scale themselves
    assert "type: amlcompute" in at.code[0].value
    at.button(key="compute_delete").click().run()
    at.button(key="compute_delete_do").click().run()
    assert not at.exception, at.exception
    assert _names() == ["serverless"]
    assert "name" not in at.query_params


def test_serverless_has_a_page_of_its_own(app):
    at = _detail(app, "serverless")
    assert at.header[0].value == "serverless"
    assert f"{os.cpu_count()} at once" in at.info[0].value
    assert not [b for b in at.button if b.key == "compute_delete"]


def test_a_ray_cluster_is_attached_from_the_form_and_its_page_says_when_it_does_not_answer(app):
    """(No Ray head here: tests/jobs/test_ray_compute.py runs jobs on a real one.) A closed port answers
    nothing: the page says so and gives the capacity as 0; a bad address is one message."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    at = app("compute.py")
    at.selectbox(key="new_compute_type").set_value("ray").run()
    assert not [s for s in at.selectbox if s.key == "new_compute_size"]
    at.text_input(key="new_compute_name").input("rayc").run()
    at.text_input(key="new_compute_address").input("ftp://head").run()
    at.button(key="new_compute_create").click().run()
    assert "field 'address' must be http(s)://host:port" in at.error[0].value and _names() == ["serverless"]
    at.text_input(key="new_compute_address").input(f"http://127.0.0.1:{closed}").run()
    at.button(key="new_compute_create").click().run()
    assert not at.exception, at.exception
    created = _get("rayc")
    assert (created.type, created.address, created.state) == ("ray", f"http://127.0.0.1:{closed}", "Attached")
    assert "does not answer" in at.info[0].value
    assert {m.label: m.value for m in at.metric}["Jobs at once"] == "0"
    assert "type: ray" in at.code[0].value and f"address: http://127.0.0.1:{closed}" in at.code[0].value
    listing = app("compute.py")
    assert list(listing.dataframe(key="cr_table").value["address"]) == [f"http://127.0.0.1:{closed}"]
