"""Key paths in a JSON document (a resource's properties, a team's config), and comparisons on them.

Service-neutral: the IncidentFox resources use them for the config paths they own, the review code
for the fields of any resource. A *leaf path* is ``("feature_flags", "beta")``: objects are walked
into, everything else (scalars, lists, empty objects) is a leaf, as IncidentFox merges (objects key
by key, everything else replaced whole).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stackfox_provider.normalize import same

KeyPath = tuple[str, ...]


def leaves(document: Mapping[str, Any], prefix: KeyPath = ()) -> dict[KeyPath, Any]:
    """Every leaf of ``document`` by path; empty objects are leaves too."""
    found: dict[KeyPath, Any] = {}
    for key, value in document.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and value:
            found.update(leaves(value, path))
        else:
            found[path] = value
    return found


def get_path(document: Any, path: KeyPath) -> Any:
    """The value at ``path``, or None when any part of it is missing (a stored null reads as None too)."""
    for key in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(key)
    return document


def nest(values: Mapping[KeyPath, Any]) -> dict[str, Any]:
    """The partial document that sets each path to its value (the body of a merge write)."""
    document: dict[str, Any] = {}
    for path, value in values.items():
        node = document
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return document


def dotted(path: KeyPath) -> str:
    return ".".join(path)


def differing(desired: Mapping[KeyPath, Any], document: Any, paths: Iterable[KeyPath] | None = None) -> list[KeyPath]:
    """The paths whose value in ``document`` is not the desired one."""
    return [path for path in (paths or desired) if not same(desired.get(path), get_path(document, path))]
