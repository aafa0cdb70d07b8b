"""Notebook files on the workspace's share: tree, new notebook and folder, upload, rename, delete, download and
read; paths that leave the root refused; team mode's per-user roots and roles."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from backend.errors import ConflictError, NotFoundError, StudioError, ValidationError
from backend.identity import PermissionDenied, User, acting_as
from backend.services import datastores, notebooks, open_session

WS = "default"


def _call(fn, **kwargs):
    with open_session() as s:
        return fn(session=s, workspace=WS, **kwargs)


def _share() -> Path:
    _call(notebooks.notebook_root)  # (the default workspace, and its folders, exist from the first session)
    return datastores.builtin_folder(WS, "workspaceworkingdirectory")


def _snapshot(*folders: Path) -> dict[str, str]:
    """Every file and folder under ``folders`` (links not followed) with a digest of each file."""
    found = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_symlink():
                found[str(p)] = f"link:{os.readlink(p)}"
            elif p.is_dir():
                found[str(p)] = "dir"
            else:
                found[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


def _refused(error: type[Exception], match: str, fn, **kwargs) -> str:
    with pytest.raises(error, match=match) as caught:
        _call(fn, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and isinstance(caught.value, StudioError)
    return message


# ------------------------------------------------------------------------------------------- operations


def test_a_new_notebook_is_a_valid_nbformat_4_notebook_on_the_curated_kernel():
    made = _call(notebooks.new_notebook, path="analysis")
    assert (made.name, made.path, made.kind, made.depth) == (
        "analysis.ipynb",
        "analysis.ipynb",
        "notebook",
        0,
    )
    on_disk = json.loads((_share() / "analysis.ipynb").read_text())
    assert made.size == (_share() / "analysis.ipynb").stat().st_size
    nb = _call(notebooks.read_notebook, path="analysis.ipynb")
    assert nb == on_disk
    assert (nb["nbformat"], nb["nbformat_minor"]) == (4, 5)
    assert nb["metadata"]["kernelspec"] == {
        "name": "python3",
        "display_name": "Python 3 (curated)",
        "language": "python",
    }
    [cell] = nb["cells"]
    assert cell["cell_type"] == "code" and cell["source"] == [] and cell["outputs"] == []
    assert cell["execution_count"] is None and cell["metadata"] == {} and cell["id"]
    try:
        import nbformat
    except ImportError:  # (not in Studio's own interpreter: the curated environment has it)
        return
    nbformat.validate(nbformat.reads(json.dumps(nb), as_version=4))


def test_the_tree_lists_folders_first_with_sizes_and_times_and_leaves_hidden_files_out():
    share = _share()
    (share / "b-project" / "data").mkdir(parents=True)
    (share / "b-project" / "data" / "iris.csv").write_text("a,b\n1,2\n")
    (share / "b-project" / "train.ipynb").write_text("{}")
    (share / "b-project" / ".ipynb_checkpoints").mkdir()
    (share / "b-project" / ".ipynb_checkpoints" / "train-checkpoint.ipynb").write_text("{}")
    (share / ".hidden").write_text("x")
    (share / "A.txt").write_text("hello")
    (share / "a-folder").mkdir()

    tree = _call(notebooks.list_tree)
    assert [(e.path, e.kind, e.depth) for e in tree.entries] == [
        ("a-folder", "folder", 0),
        ("b-project", "folder", 0),
        ("b-project/data", "folder", 1),
        ("b-project/data/iris.csv", "file", 2),
        ("b-project/train.ipynb", "notebook", 1),
        ("A.txt", "file", 0),
    ]
    by_path = {e.path: e for e in tree.entries}
    assert by_path["A.txt"].size == 5 and by_path["a-folder"].size is None
    assert by_path["A.txt"].modified.timestamp() == pytest.approx((share / "A.txt").stat().st_mtime)
    assert tree.total == 6 and not tree.truncated and tree.root.prefix == "" and tree.root.whole_share

    capped = _call(notebooks.list_tree, limit=2)
    assert [e.path for e in capped.entries] == ["a-folder", "b-project"]
    assert capped.total == 6 and capped.truncated


def test_new_folder_upload_rename_download_and_delete():
    _call(notebooks.new_folder, path="project")
    _call(notebooks.new_folder, path="project/data")
    up = _call(notebooks.upload, path="project/data/iris.csv", data=b"a,b\n1,2\n")
    assert (up.path, up.kind, up.size, up.depth) == ("project/data/iris.csv", "file", 8, 2)
    assert _call(notebooks.read_bytes, path="project/data/iris.csv") == b"a,b\n1,2\n"

    _refused(ConflictError, r"^project/data/iris.csv already exists$", notebooks.upload,
             path="project/data/iris.csv", data=b"new")  # fmt: skip
    again = _call(notebooks.upload, path="project/data/iris.csv", data=b"new", overwrite=True)
    assert again.size == 3 and _call(notebooks.read_bytes, path="project/data/iris.csv") == b"new"
    assert not [p for p in _share().rglob("*") if p.name.endswith(".upload")]

    _call(notebooks.new_notebook, path="project/train.ipynb")
    renamed = _call(notebooks.rename, path="project/train.ipynb", new_name="fit.ipynb")
    assert (renamed.path, renamed.kind) == ("project/fit.ipynb", "notebook")
    moved = _call(notebooks.rename, path="project", new_name="iris-project")
    assert moved.path == "iris-project" and moved.kind == "folder"
    assert _call(notebooks.read_notebook, path="iris-project/fit.ipynb")["nbformat"] == 4
    assert [e.path for e in _call(notebooks.list_tree).entries] == [
        "iris-project",
        "iris-project/data",
        "iris-project/data/iris.csv",
        "iris-project/fit.ipynb",
    ]

    _call(notebooks.delete, path="iris-project/fit.ipynb")
    assert not (_share() / "iris-project" / "fit.ipynb").exists()
    _call(notebooks.delete, path="iris-project")  # a folder goes with everything in it
    assert _call(notebooks.list_tree).entries == [] and _share().is_dir()


def test_several_files_upload_together_or_not_at_all():
    _call(notebooks.new_folder, path="data")
    _call(notebooks.upload, path="data/b.csv", data=b"old")
    before = _snapshot(_share())
    for kwargs, error, match in (
        ({"files": {"a.csv": b"1", "b.csv": b"2"}}, ConflictError, r"^data/b.csv already exists$"),
        ({"files": {"a.csv": b"1", "x/y.csv": b"2"}}, ValidationError, r"^name 'x/y.csv' holds '/'"),
        ({"files": {}}, ValidationError, r"^choose files to upload$"),
    ):
        _refused(error, match, notebooks.upload_files, folder="data", **kwargs)
    assert _snapshot(_share()) == before
    done = _call(notebooks.upload_files, folder="data", files={"a.csv": b"1", "b.csv": b"2"}, overwrite=True)
    assert [f.path for f in done] == ["data/a.csv", "data/b.csv"]
    assert _call(notebooks.read_bytes, path="data/b.csv") == b"2"


# ------------------------------------------------------------------------------------------- refusals


def test_paths_that_leave_the_root_are_refused_and_change_nothing(tmp_path):
    share = _share()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not touch")
    (outside / "nb.ipynb").write_text(json.dumps(notebooks.new_notebook_json()))
    (share / "mine.ipynb").write_text(json.dumps(notebooks.new_notebook_json()))
    (share / "escape").symlink_to(outside, target_is_directory=True)
    (share / "secret-link.txt").symlink_to(outside / "secret.txt")
    before = _snapshot(share, outside)

    leaving = ["../x.ipynb", "a/../../x.ipynb", "/etc/passwd", "/tmp/x.ipynb", "escape/nb.ipynb"]
    for path in leaving:
        for fn, kwargs in (
            (notebooks.new_notebook, {"path": path}),
            (notebooks.new_folder, {"path": path.removesuffix(".ipynb") + "-dir"}),
            (notebooks.upload, {"path": path, "data": b"x"}),
            (notebooks.upload, {"path": path, "data": b"x", "overwrite": True}),
            (notebooks.read_bytes, {"path": path}),
            (notebooks.read_notebook, {"path": path}),
            (notebooks.rename, {"path": path, "new_name": "other.ipynb"}),
            (notebooks.delete, {"path": path}),
        ):
            _refused(ValidationError, r"leaves your notebooks folder|is absolute|leads out of", fn, **kwargs)
    for fn, kwargs in (
        (notebooks.read_bytes, {"path": "secret-link.txt"}),
        (notebooks.delete, {"path": "secret-link.txt"}),
        (notebooks.delete, {"path": "escape"}),
        (notebooks.upload, {"path": "secret-link.txt", "data": b"x", "overwrite": True}),
        (notebooks.rename, {"path": "secret-link.txt", "new_name": "s.txt"}),
        (notebooks.new_notebook, {"path": "escape/new.ipynb"}),
    ):
        message = _refused(ValidationError, r"leads out of your notebooks folder", fn, **kwargs)
        assert "do not touch" not in message
    assert _snapshot(share, outside) == before
    # The links out are not listed, and what is inside the share still is.
    assert [e.path for e in _call(notebooks.list_tree).entries] == ["mine.ipynb"]


def test_bad_names_existing_targets_missing_files_and_non_notebooks_are_one_line_each():
    share = _share()
    _call(notebooks.new_notebook, path="a.ipynb")
    _call(notebooks.new_folder, path="docs")
    _call(notebooks.upload, path="notes.txt", data=b"hi")
    (share / "broken.ipynb").write_text("{not json")
    (share / "old.ipynb").write_text(json.dumps({"nbformat": 3, "worksheets": []}))
    before = _snapshot(share)
    for error, match, fn, kwargs in (
        (ValidationError, r"^name 'b/c.ipynb' holds '/'", notebooks.rename, {"path": "a.ipynb", "new_name": "b/c.ipynb"}),
        (ValidationError, r"^give a name$", notebooks.rename, {"path": "a.ipynb", "new_name": " "}),
        (ValidationError, r"starts with '.'", notebooks.rename, {"path": "a.ipynb", "new_name": ".secret"}),
        (ValidationError, r"^give a name$", notebooks.new_folder, {"path": ""}),
        (ValidationError, r"starts with '.'", notebooks.new_folder, {"path": ".config"}),
        (ValidationError, r"cannot be deleted", notebooks.delete, {"path": ""}),
        (ValidationError, r"cannot be renamed", notebooks.rename, {"path": "", "new_name": "x"}),
        (ConflictError, r"^a.ipynb already exists$", notebooks.new_notebook, {"path": "a"}),
        (ConflictError, r"^docs already exists$", notebooks.new_folder, {"path": "docs"}),
        (ConflictError, r"^notes.txt already exists$", notebooks.rename, {"path": "a.ipynb", "new_name": "notes.txt"}),
        (ConflictError, r"^docs is a folder$", notebooks.upload, {"path": "docs", "data": b"x", "overwrite": True}),
        (NotFoundError, r"^file or folder gone.ipynb does not exist", notebooks.delete, {"path": "gone.ipynb"}),
        (NotFoundError, r"^file gone.txt does not exist", notebooks.read_bytes, {"path": "gone.txt"}),
        (NotFoundError, r"^notebook gone.ipynb does not exist", notebooks.read_notebook, {"path": "gone.ipynb"}),
        (NotFoundError, r"^folder missing does not exist", notebooks.new_notebook, {"path": "missing/x"}),
        (NotFoundError, r"^folder missing does not exist", notebooks.upload, {"path": "missing/x.csv", "data": b""}),
        (ValidationError, r"^notes.txt is not a notebook: notebooks end in .ipynb$", notebooks.read_notebook, {"path": "notes.txt"}),
        (ValidationError, r"^broken.ipynb is not a valid notebook: not JSON", notebooks.read_notebook, {"path": "broken.ipynb"}),
        (ValidationError, r"^old.ipynb is a version 3 notebook", notebooks.read_notebook, {"path": "old.ipynb"}),
        (ValidationError, r"^docs is a folder: download", notebooks.read_bytes, {"path": "docs"}),
    ):  # fmt: skip
        _refused(error, match, fn, **kwargs)
    assert _snapshot(share) == before
    big = _refused(ValidationError, r"more than the 0 MB a page downloads", notebooks.read_bytes,
                   path="notes.txt", max_bytes=1)  # fmt: skip
    assert "studio datastore download --name workspaceworkingdirectory --src notes.txt" in big


def test_a_workspace_that_does_not_exist_is_one_line():
    with open_session() as s, pytest.raises(NotFoundError, match=r"^workspace 'nope' does not exist"):
        notebooks.list_tree(session=s, workspace="nope")


# ------------------------------------------------------------------------------------------- team mode


def test_in_team_mode_each_user_works_in_their_own_folder_and_an_owner_may_see_the_whole_share(team):
    share = _share()
    with acting_as(team["dana"]):
        root = _call(notebooks.notebook_root)
        assert (root.prefix, root.whole_share) == ("Users/dana", False)
        assert _call(notebooks.list_tree).entries == []  # (her folder is made on her first change)
        _call(notebooks.new_notebook, path="fit")
        assert (share / "Users" / "dana" / "fit.ipynb").is_file()
        assert [e.path for e in _call(notebooks.list_tree).entries] == ["fit.ipynb"]
        # Another user's folder is out of reach: '..' is refused, and the whole share is an Owner's.
        _refused(ValidationError, "leaves your notebooks folder", notebooks.read_notebook,
                 path="../olivia/x.ipynb")  # fmt: skip
        _refused(PermissionDenied, r"^dana \(Data Scientist\) may not browse the whole notebook share",
                 notebooks.list_tree, whole_share=True)  # fmt: skip
    with acting_as(team["olivia"]):
        _call(notebooks.new_notebook, path="mine")
        assert [e.path for e in _call(notebooks.list_tree).entries] == ["mine.ipynb"]
        whole = _call(notebooks.list_tree, whole_share=True)
        assert whole.root.whole_share and whole.root.prefix == ""
        assert [e.path for e in whole.entries] == [
            "Users",
            "Users/dana",
            "Users/dana/fit.ipynb",
            "Users/olivia",
            "Users/olivia/mine.ipynb",
        ]
        assert _call(notebooks.read_notebook, path="Users/dana/fit.ipynb", whole_share=True)["nbformat"] == 4


def test_a_reader_reads_and_changes_nothing(team):
    share = _share()
    (share / "Users" / "rick").mkdir(parents=True)
    (share / "Users" / "rick" / "shared.ipynb").write_text(json.dumps(notebooks.new_notebook_json()))
    before = _snapshot(share)
    with acting_as(team["rick"]):
        assert [e.path for e in _call(notebooks.list_tree).entries] == ["shared.ipynb"]
        assert _call(notebooks.read_notebook, path="shared.ipynb")["nbformat"] == 4
        assert _call(notebooks.read_bytes, path="shared.ipynb")
        for fn, kwargs in (
            (notebooks.new_notebook, {"path": "x"}),
            (notebooks.new_folder, {"path": "x"}),
            (notebooks.upload, {"path": "x.csv", "data": b"x"}),
            (notebooks.upload, {"path": "shared.ipynb", "data": b"x", "overwrite": True}),
            (notebooks.upload_files, {"folder": "", "files": {"y.csv": b"y"}}),
            (notebooks.rename, {"path": "shared.ipynb", "new_name": "y.ipynb"}),
            (notebooks.delete, {"path": "shared.ipynb"}),
        ):
            _refused(PermissionDenied, r"^rick \(Reader\) may not change notebooks: Readers only read$",
                     fn, **kwargs)  # fmt: skip
    assert _snapshot(share) == before


def test_in_team_mode_the_agent_acting_as_nobody_sees_the_whole_share(team):
    with acting_as(None):  # the agent acts as nobody
        assert _call(notebooks.notebook_root).prefix == ""
    with acting_as(User("ghost", "Owner")):
        assert _call(notebooks.notebook_root).prefix == "Users/ghost"


def test_a_users_folder_that_is_a_link_out_of_the_share_is_refused(team, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (_share() / "Users").mkdir()
    (_share() / "Users" / "dana").symlink_to(outside, target_is_directory=True)
    with acting_as(team["dana"]):
        for fn, kwargs in ((notebooks.list_tree, {}), (notebooks.new_notebook, {"path": "x"})):
            _refused(ValidationError, r"^Users/dana/ leads out of datastore 'workspaceworkingdirectory'", fn,
                     **kwargs)  # fmt: skip
    assert list(outside.iterdir()) == []
