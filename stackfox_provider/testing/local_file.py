"""``LocalFile``: the smallest real dynamic resource, a text file on this machine.

It exercises every provider method against something that can drift (edit or delete the file by
hand), so tests of the engine itself do not depend on any service.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)


def _outputs(path: str, content: str) -> dict[str, Any]:
    return {"path": path, "content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()}


class LocalFileProvider(ResourceProvider):
    """Creates, reads, rewrites and removes one text file; its id is the file's absolute path."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        path = news.get("path")
        if not isinstance(path, str) or not Path(path).is_absolute():
            failures.append(CheckFailure("path", f"path must be an absolute file path, got {path!r}"))
        if not isinstance(news.get("content"), str):
            failures.append(CheckFailure("content", "content must be a string"))
        return CheckResult(news, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["path"] if olds.get("path") != news.get("path") else []
        changed = replaces or olds.get("content") != news.get("content")
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        path = Path(props["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(props["content"])
        return CreateResult(str(path), _outputs(str(path), props["content"]))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = Path(id_)
        if not path.exists():
            return ReadResult(None, {})  # deleted by hand: the engine drops it from state
        content = path.read_text()
        return ReadResult(id_, _outputs(id_, content), {"path": id_, "content": content})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        Path(id_).write_text(news["content"])
        return UpdateResult(_outputs(id_, news["content"]))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        Path(id_).unlink(missing_ok=True)


class LocalFile(Resource, module="testing", name="LocalFile"):
    """A text file with the given content, kept in line by ``pulumi up`` and checked by refresh."""

    path: pulumi.Output[str]
    content: pulumi.Output[str]
    sha256: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        path: pulumi.Input[str],
        content: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"path": path, "content": content, "sha256": None}
        super().__init__(LocalFileProvider(), resource_name, props, opts)
