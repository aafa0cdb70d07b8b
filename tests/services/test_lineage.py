"""Data lineage: the job that wrote a data asset version, and the jobs that read it."""

import pytest

from backend.errors import NotFoundError
from backend.services import data_assets, lineage, open_session
from tests.job_fixtures import submit, wait

pytestmark = pytest.mark.usefixtures("database")


def test_lineage_names_the_writer_and_the_readers_of_one_version(agent, tmp_path):
    writer = submit(
        tmp_path / "writer",
        """
        command: python -c "open('${{outputs.table}}/rows.csv', 'w').write('a,b\\n1,2\\n')"
        environment: azureml:AzureML-sklearn-1.5@latest
        outputs:
          table:
            type: uri_folder
            name: made-here
            version: "1"
        """,
    )
    assert wait(writer.name).status == "Completed"
    reader = submit(
        tmp_path / "reader",
        """
        command: ls ${{inputs.rows}} && echo ${{inputs.note}}
        environment: azureml:AzureML-sklearn-1.5@latest
        inputs:
          rows:
            type: uri_folder
            path: azureml:made-here:1
          note: hello
        """,
    )
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.csv").write_text("x\n1\n")
    with open_session() as s:
        data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(
                name="made-here", version="2", type="uri_folder", path=str(other)
            ),
        )
    with open_session() as s:
        first = lineage.data_lineage(session=s, workspace="default", name="made-here", version="1")
        second = lineage.data_lineage(session=s, workspace="default", name="made-here", version="2")
    assert [(e["job"], e["relation"], e["port"]) for e in first] == [
        (reader.name, "read", "rows"),
        (writer.name, "wrote", "table"),
    ]
    assert first[1]["status"] == "Completed" and first[1]["experiment"] == "Default"
    assert second == []  # registered by hand, read by nobody
    wait(reader.name)
    with open_session() as s, pytest.raises(NotFoundError):
        lineage.data_lineage(session=s, workspace="default", name="made-here", version="9")
