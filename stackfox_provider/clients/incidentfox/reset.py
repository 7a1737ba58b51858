"""Taking keys out of a team's overrides, which IncidentFox's API cannot do directly.

No write deletes a key: ``null`` is stored and masks what the team inherits, and ``"__INHERIT__"`` is
stored literally. The one reset the service allows is two writes: set the key's parent object to
``null``, then write that object again without the key. This module plans those writes; it knows
which parents can be nulled (never the whole document, ``agents``, ``mcp_servers`` or an MCP
server entry: the open-source service fails every later write, or the write itself, on those).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stackfox_provider.keypaths import KeyPath, get_path, leaves

#: Parents a reset must never null (beside the document itself).
UNNULLABLE = (("agents",), ("mcp_servers",))


def has_path(document: Any, path: KeyPath) -> bool:
    """Whether ``path`` is set in ``document`` (to any value, ``null`` included)."""
    for key in path:
        if not isinstance(document, Mapping) or key not in document:
            return False
        document = document[key]
    return True


def is_unset(document: Any, path: KeyPath) -> bool:
    """Whether the team has no key at ``path`` and no ``null`` above it: the value there is inherited."""
    for key in path:
        if document is None:
            return False  # a stored null above the path masks what would be inherited
        if not isinstance(document, Mapping) or key not in document:
            return True
        document = document[key]
    return False


def nullable_parent(path: KeyPath) -> KeyPath | None:
    """The object a reset of ``path`` rebuilds, or None when that object must not be nulled."""
    parent = path[:-1]
    if not parent or parent in UNNULLABLE or (len(parent) == 2 and parent[0] == "mcp_servers"):
        return None
    return parent


def _within(path: KeyPath, parent: KeyPath) -> bool:
    return path[: len(parent)] == parent


@dataclass
class ResetPlan:
    """Two writes that set ``values`` and take ``removals`` out of a team's overrides.

    ``nulls`` (the first write) nulls each parent to rebuild; ``rebuild`` (the second) writes each
    of them back without the removed keys and with the new values, plus every other value.
    """

    nulls: dict[KeyPath, None] = field(default_factory=dict)
    rebuild: dict[KeyPath, Any] = field(default_factory=dict)

    def expected(self) -> dict[KeyPath, Any]:
        """Every leaf that must hold once both writes landed."""
        found: dict[KeyPath, Any] = {}
        for path, value in self.rebuild.items():
            if isinstance(value, Mapping) and value:
                found.update({(*path, *sub): leaf for sub, leaf in leaves(value).items()})
            else:
                found[path] = value
        return found


def parents_to_rebuild(removals: Iterable[KeyPath]) -> dict[KeyPath, list[KeyPath]]:
    """The outermost nullable parents of ``removals``, each with the removals under it."""
    parents = sorted({parent for path in removals if (parent := nullable_parent(path)) is not None}, key=len)
    outermost: list[KeyPath] = []
    for parent in parents:
        if not any(_within(parent, outer) for outer in outermost):
            outermost.append(parent)
    return {parent: [path for path in removals if _within(path, parent)] for parent in outermost}


def plan_reset(
    current: Mapping[str, Any], values: Mapping[KeyPath, Any], parents: Iterable[KeyPath], removals: Iterable[KeyPath]
) -> ResetPlan:
    """The writes that rebuild ``parents`` of ``current`` without ``removals`` and set ``values``."""
    plan = ResetPlan()
    parents = list(parents)
    removed = list(removals)
    for parent in parents:
        rebuilt = copy.deepcopy(get_path(current, parent))
        rebuilt = rebuilt if isinstance(rebuilt, dict) else {}
        for path in removed:
            if _within(path, parent):
                _remove(rebuilt, path[len(parent) :])
        for path, value in values.items():
            if _within(path, parent):
                _put(rebuilt, path[len(parent) :], value)
        plan.nulls[parent] = None
        plan.rebuild[parent] = rebuilt
    for path, value in values.items():
        if not any(_within(path, parent) for parent in parents):
            plan.rebuild[path] = value
    return plan


def _remove(document: dict[str, Any], path: KeyPath) -> None:
    node: Any = document
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _put(document: dict[str, Any], path: KeyPath, value: Any) -> None:
    node = document
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = copy.deepcopy(value)


def nulls_to_restore(current: Mapping[str, Any], removals: Mapping[KeyPath, KeyPath]) -> dict[KeyPath, None]:
    """Objects to null again: ``removals`` maps each path to take out to the object above it that the
    team held as null before the path was set. Where that object now holds nothing but such paths, a
    null there gives back exactly what was (a reset would leave an empty object, which masks nothing)."""
    under: dict[KeyPath, list[KeyPath]] = {}
    for path, above in removals.items():
        if above and nullable_parent((*above, "-")) is not None:  # ``above`` may be nulled
            under.setdefault(above, []).append(path)
    nulls: dict[KeyPath, None] = {}
    for above, paths in under.items():
        held = copy.deepcopy(get_path(current, above))
        for path in paths:
            if isinstance(held, dict):
                _remove(held, path[len(above) :])
        if isinstance(held, dict) and not any(not _empty(leaf) for leaf in leaves(held).values()):
            nulls[above] = None
    return nulls


def _empty(value: Any) -> bool:
    return isinstance(value, Mapping) and not value
