"""IncidentFox merge rules: objects merge key by key; lists, scalars and null replace; nothing is deleted."""

from __future__ import annotations

import copy
from typing import Any

JSON = Any


def deep_merge(base: JSON, patch: JSON) -> JSON:
    """Merge ``patch`` into ``base`` without mutating either.

    Two objects merge recursively and keys absent from the patch are kept. Anything else (a scalar, a list,
    ``null``, or a change of type) replaces the old value whole.
    """
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(patch)


def merge_all(layers: list[JSON]) -> JSON:
    """Merge layers from the first (lowest priority) to the last."""
    result: JSON = {}
    for layer in layers:
        result = deep_merge(result, layer)
    return result


def leaf_paths(patch: JSON, prefix: str = "") -> list[str]:
    """Dotted paths of the leaves a patch writes (an empty object counts as a leaf)."""
    if not isinstance(patch, dict) or (not patch and prefix):
        return [prefix] if prefix else []
    paths: list[str] = []
    for key, value in patch.items():
        paths.extend(leaf_paths(value, f"{prefix}.{key}" if prefix else str(key)))
    return paths


def diff(old: JSON, new: JSON) -> dict[str, dict[str, Any]]:
    """``{"added": {path: v}, "removed": {path: v}, "changed": {path: {"old", "new"}}}`` between two configs."""
    result: dict[str, dict[str, Any]] = {"added": {}, "removed": {}, "changed": {}}
    _diff_into(old, new, "", result)
    return result


def _diff_into(old: JSON, new: JSON, prefix: str, result: dict[str, dict[str, Any]]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old.keys() | new.keys():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in new:
                result["removed"][path] = old[key]
            elif key not in old:
                result["added"][path] = new[key]
            else:
                _diff_into(old[key], new[key], path, result)
    elif old != new or type(old) is not type(new):
        result["changed"][prefix] = {"old": old, "new": new}
