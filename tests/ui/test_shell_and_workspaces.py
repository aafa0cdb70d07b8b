from backend.services import open_session, workspaces


def _names() -> list[str]:
    with open_session() as s:
        return [w.name for w in workspaces.list_workspaces(session=s)]


def test_home_shows_the_workspace_overview(app):
    at = app()
    assert at.title[0].value == "Workspace · default"
    assert {m.label: m.value for m in at.metric}["Datastores"] == "4"
    assert at.selectbox(key="workspace").value == "default"


def test_the_workspace_picker_follows_the_link(app):
    with open_session() as s:
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="team-x"))
    at = app(ws="team-x")
    assert at.selectbox(key="workspace").value == "team-x"
    assert at.title[0].value == "Workspace · team-x"
    at = app(ws="ghost")
    assert at.selectbox(key="workspace").value == "default"
    assert "does not exist" in at.sidebar.warning[0].value


def test_create_a_workspace_from_the_page(app):
    at = app("workspaces.py")
    at.text_input(key="new_ws_name").input("bad name").run()
    assert "is not valid" in at.error[0].value
    assert at.button(key="new_ws_create").disabled
    at.text_input(key="new_ws_name").input("team-ui").run()
    at.text_area(key="new_ws_tags").input("owner=ana").run()
    at.button(key="new_ws_create").click().run()
    assert not at.exception
    assert "team-ui" in _names()
    assert at.query_params["name"] == "team-ui"
    assert at.header[0].value == "team-ui"
    assert sorted(at.dataframe[0].value["name"]) == [
        "workspaceartifactstore",
        "workspaceblobstore",
        "workspacefilestore",
        "workspaceworkingdirectory",
    ]


def test_a_duplicate_workspace_is_one_message_and_nothing_changes(app):
    at = app("workspaces.py")
    at.text_input(key="new_ws_name").input("default").run()
    at.button(key="new_ws_create").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["workspace 'default' already exists"]
    assert _names() == ["default"]


def test_update_a_workspace_from_its_detail_view(app):
    with open_session() as s:
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="team-y"))
    at = app("workspaces.py")
    at.query_params["name"] = "team-y"
    at.run()
    at.text_area(key="ws_description").input("new words")
    next(b for b in at.button if b.label == "Save").click().run()
    with open_session() as s:
        assert workspaces.get_workspace(session=s, name="team-y").description == "new words"
