"""One owner per thing within a run: which resource declares each config path or category name.

The engine runs one provider process per `pulumi up`, and calls ``check()`` for every resource of the
program before it creates or deletes anything. ``check()`` claims what a resource declares here, so a
second resource declaring the same webhook event, flag, MCP server or category fails at preview,
naming both; and ``delete()`` of a resource that left the program (a rename without ``aliases``)
leaves alone what a live resource of the run now declares.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable

from stackfox_provider import process


class Claims:
    """Which resource of this run claimed each thing."""

    def __init__(self) -> None:
        self._owners: dict[Hashable, str] = {}
        self._claimed_by: dict[str, list[Hashable]] = {}  # so that a claim never scans every owner's things
        self._lock = threading.Lock()

    def claim(self, owner: str, things: Iterable[Hashable]) -> dict[Hashable, str]:
        """Claim ``things`` for ``owner`` (replacing its earlier claims); returns those another owner holds."""
        wanted = list(things)
        with self._lock:
            for thing in self._claimed_by.pop(owner, []):
                del self._owners[thing]
            taken = {thing: self._owners[thing] for thing in wanted if thing in self._owners}
            mine = [thing for thing in dict.fromkeys(wanted) if thing not in taken]
            self._owners.update(dict.fromkeys(mine, owner))
            self._claimed_by[owner] = mine
        return taken

    def owner(self, thing: Hashable) -> str | None:
        with self._lock:
            return self._owners.get(thing)

    def clear(self) -> None:
        with self._lock:
            self._owners.clear()
            self._claimed_by.clear()


#: The claims of this provider process (one engine run).
claims = Claims()
process.on_reset(claims.clear)


def label(kind: str, resource_name: str | None) -> str:
    return f"{kind} {resource_name!r}" if resource_name else kind
