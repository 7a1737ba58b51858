"""The LocalFile test resource's provider, called directly."""

from __future__ import annotations

from pathlib import Path

from stackfox_provider.testing import LocalFileProvider


def test_lifecycle_and_drift(tmp_path: Path) -> None:
    provider = LocalFileProvider()
    target = tmp_path / "dir" / "f.txt"

    created = provider.create({"path": str(target), "content": "one"})
    assert created.id == str(target)
    assert target.read_text() == "one"

    target.write_text("edited by hand")
    read = provider.read(created.id, created.outs or {})
    assert read.outs is not None and read.outs["content"] == "edited by hand"
    assert read.inputs == {"path": str(target), "content": "edited by hand"}
    assert provider.diff(created.id, read.outs, {"path": str(target), "content": "one"}).changes

    updated = provider.update(created.id, read.outs, {"path": str(target), "content": "two"})
    assert updated.outs is not None and updated.outs["content"] == "two"
    assert not provider.diff(created.id, updated.outs, {"path": str(target), "content": "two"}).changes

    provider.delete(created.id, updated.outs)
    assert not target.exists()
    assert provider.read(created.id, {}).id is None


def test_check_rejects_each_bad_property() -> None:
    failures = LocalFileProvider().check({}, {"path": "relative.txt", "content": 3}).failures

    assert [failure.property for failure in failures] == ["path", "content"]


def test_a_new_path_replaces() -> None:
    diff = LocalFileProvider().diff("/a", {"path": "/a", "content": "x"}, {"path": "/b", "content": "x"})

    assert diff.changes and diff.replaces == ["path"]
