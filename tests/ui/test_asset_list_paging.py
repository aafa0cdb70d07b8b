"""The Data page's list pages through every asset with the true total, and searches through the service."""

from __future__ import annotations

from sqlalchemy import insert

from backend.db import ensure_schema
from backend.db.models import DataAsset
from backend.services import open_session
from backend.services.lookup import get_workspace_row


def test_the_data_list_pages_and_searches(app):
    ensure_schema()
    with open_session() as s:
        ws = get_workspace_row(session=s, name="default")
        s.execute(
            insert(DataAsset),
            [
                {
                    "workspace_id": ws.id,
                    "name": f"set-{i:03d}",
                    "version": "1",
                    "type": "uri_file",
                    "path": f"azureml://datastores/workspaceblobstore/paths/{i}.csv",
                    "source": "",
                    "description": "",
                    "tags": {},
                    "archived": False,
                }
                for i in range(73)
            ],
        )
    at = app("data.py")
    captions = "\n".join(c.value for c in at.caption)
    assert "73 data assets · rows 1-50 of 73" in captions
    assert list(at.dataframe[0].value["name"])[:2] == ["set-000", "set-001"]
    at.button(key="data_table_next").click().run()
    assert "rows 51-73 of 73" in "\n".join(c.value for c in at.caption)
    assert list(at.dataframe[0].value["name"])[-1] == "set-072"
    at.text_input(key="data_table_search").input("set-07").run()
    assert "3 data assets · rows 1-3 of 3" in "\n".join(c.value for c in at.caption)
