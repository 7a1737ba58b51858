"""The reserved ``stackfox`` key of a team's config: which stack manages which paths, and what they held before.

IncidentFox keeps no record of who set a key, and any number of stacks may hold one team's token.
Like Kubernetes server-side apply's field managers, stackfox keeps that record in the config itself,
written in the same request as the values it describes, so the two can never disagree::

    "stackfox": {"managers": {
        "/webhooks/investigation_complete": {
            "stack": "acme/incident-config/prod",   # the Pulumi stack that manages the path
            "resource": "Webhook 'done'",           # the resource of that stack
            "before": "{\\"own\\": true, ...}"      # what the path held before that stack, as JSON text
        }
    }}

Paths are JSON Pointers (RFC 6901). ``before`` is JSON text because the service merges objects key
by key, which would mix an old recorded value into a new one. Releasing a path writes null at its
pointer: IncidentFox cannot delete keys. The record lets a stack refuse a path another stack manages,
lets drift name that stack, and lets the first ``up`` after a create that was interrupted once its
write had landed find what the path held before the stack, rather than the stack's own value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackfox_provider.keypaths import KeyPath

#: The top-level key of a team's config that stackfox reserves.
RESERVED_KEY = "stackfox"
MANAGERS = "managers"


def pointer(path: KeyPath) -> str:
    """``path`` as a JSON Pointer (RFC 6901): ``("webhooks", "done")`` is ``/webhooks/done``."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in path)


def record_path(path: KeyPath) -> KeyPath:
    """Where the record of ``path`` lives in the team's config."""
    return (RESERVED_KEY, MANAGERS, pointer(path))


@dataclass(frozen=True)
class Manager:
    """Which stack (``org/project/stack``) and resource manage a path, and what it held before them."""

    stack: str
    resource: str
    before: str | None = None

    def record(self) -> dict[str, Any]:
        """The record as written: every field, so a merge replaces each of the old ones."""
        return {"stack": self.stack, "resource": self.resource, "before": self.before}


def manager_of(overrides: Mapping[str, Any], path: KeyPath) -> Manager | None:
    """The manager recorded for ``path`` in the team's own overrides; None when none is (or it was released)."""
    reserved = overrides.get(RESERVED_KEY)
    managers = reserved.get(MANAGERS) if isinstance(reserved, Mapping) else None
    record = managers.get(pointer(path)) if isinstance(managers, Mapping) else None
    if not isinstance(record, Mapping) or not isinstance(record.get("stack"), str):
        return None  # released (null), or not a record stackfox wrote
    before = record.get("before")
    resource = str(record.get("resource") or "?")
    return Manager(str(record["stack"]), resource, before if isinstance(before, str) else None)
