"""Faults of the storage a job writes to: a full disk, and a datastore that stops answering mid-job.

Each gives the job one clear failure (what, where, why), registers no output of the failed job, and
leaves the agent, the database and the other jobs as they were.
"""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from tests.azurite import start_azurite
from tests.conftest import skip_or_fail
from tests.job_fixtures import log_of, submit, wait

ENV = "environment: azureml:AzureML-sklearn-1.5@latest"


def _data_assets() -> list[str]:
    from backend.services import data_assets, open_session

    with open_session() as s:
        return sorted(a.name for a in data_assets.list_data_assets(session=s, workspace="default"))


def _create_datastore(**fields: str) -> None:
    from backend.services import datastores, open_session
    from backend.specs.datastore import parse_datastore

    with open_session() as s:
        datastores.create_datastore(
            session=s, workspace="default", spec=parse_datastore(fields, source="test")
        )


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MiB tmpfs (root can mount one; elsewhere the test is skipped, or fails where it is required)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        skip_or_fail("tmpfs", f"cannot mount a small tmpfs: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_job_that_fills_its_output_disk_fails_clearly(tmp_path, tiny_disk, agent, report):
    _create_datastore(name="tiny", type="local", path=str(tiny_disk))
    before = _data_assets()
    fill = "head -c 3000000 /dev/zero > ${{outputs.big}}/big.bin"
    in_place = submit(  # rw_mount on a local datastore: the job itself writes to the full disk
        tmp_path / "a",
        f"""
        command: {fill}
        {ENV}
        outputs:
          big: {{type: uri_folder, path: azureml://datastores/tiny/paths/a/, name: in-place-{uuid.uuid4().hex[:6]}}}
        """,
    )
    uploaded = submit(  # upload mode: the job writes locally, the agent's upload meets the full disk
        tmp_path / "b",
        f"""
        command: {fill}
        {ENV}
        outputs:
          fine: {{type: uri_folder, name: fine-output}}
          big: {{type: uri_folder, mode: upload, path: azureml://datastores/tiny/paths/b/, name: uploaded}}
        """,
    )
    other = submit(tmp_path / "c", f"command: echo still fine\n{ENV}\n")
    a, b, c = (wait(j.name, timeout_s=240) for j in (in_place, uploaded, other))

    assert a.status == "Failed" and "No space left on device" in log_of(a.name), (a, log_of(a.name))
    assert b.status == "Failed", (b, log_of(b.name))
    assert "output 'big': cannot write to datastore 'tiny': No space left on device" in b.failure_reason
    assert c.status == "Completed", log_of(c.name)
    assert _data_assets() == before  # no output of a failed job is registered, not even the one that fit
    assert agent.proc.poll() is None
    report(
        f"full output disk: in-place job Failed ('No space left on device' in its log), upload-mode job "
        f"Failed ({b.failure_reason.splitlines()[0][:110]}), 0 outputs registered, the other job "
        f"{c.status}, agent alive"
    )


def test_a_datastore_that_becomes_unreachable_during_a_job(tmp_path, agent, report):
    emulator = start_azurite(tmp_path / "azurite")  # its own: this test stops it
    if emulator is None:
        skip_or_fail("azurite", "the Azurite emulator is not installed")
    try:
        container = emulator.new_container("faults")
        _create_datastore(
            name="blobds",
            type="azure_blob",
            account_name=emulator.account,
            container_name=container,
            endpoint=emulator.endpoint,
            protocol="http",
            credentials={"account_key": emulator.account_key},
        )
        (tmp_path / "in.csv").write_text("a,b\n1,2\n")
        from backend.services import datastores, open_session

        with open_session() as s:
            datastores.upload(
                session=s, workspace="default", name="blobds", src=tmp_path / "in.csv", dest="in/"
            )
        before = _data_assets()
        job = submit(
            tmp_path / "job",
            f"""
            command: sleep 3 && cp ${{{{inputs.table}}}} ${{{{outputs.local}}}}/ && cp ${{{{inputs.table}}}} ${{{{outputs.copy}}}}/
            {ENV}
            inputs:
              table: {{type: uri_file, path: azureml://datastores/blobds/paths/in/in.csv}}
            outputs:
              local: {{type: uri_folder, name: local-copy}}
              copy: {{type: uri_folder, path: azureml://datastores/blobds/paths/out/, name: blob-copy}}
            """,
        )
        wait(job.name, timeout_s=240, until=lambda j: j.status in ("Running", "Failed", "Completed"))
        emulator.stop()  # the datastore is gone before the agent uploads the output
        other = submit(tmp_path / "other", f"command: echo unaffected\n{ENV}\n")
        started = time.monotonic()
        done = wait(job.name, timeout_s=300)
        settle_s = time.monotonic() - started
        other_done = wait(other.name, timeout_s=240)
    finally:
        emulator.stop()

    assert done.status == "Failed", (done, log_of(job.name), agent.log()[-2000:])
    assert "output 'copy': datastore 'blobds' unreachable: uploading to out failed" in done.failure_reason
    assert emulator.account_key not in done.failure_reason
    assert done.end_time is not None
    assert other_done.status == "Completed"
    assert _data_assets() == before  # neither output registered: no half-registered job
    assert agent.proc.poll() is None
    report(
        f"unreachable datastore: the job Failed {settle_s:.1f} s after Azurite stopped "
        f"({done.failure_reason.splitlines()[0][:120]}), 0 outputs registered, the other job "
        f"{other_done.status}, agent alive"
    )
