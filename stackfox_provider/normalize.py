"""Canonical forms for comparing what a program declares with what an API returns.

The number-one bug class of providers in this field is the permanent diff from server
normalization; every comparison stackfox makes goes through ``same``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def normalize(value: Any) -> Any:
    """A canonical form for comparison: integral floats become ints (Pulumi sends 3 as 3.0)."""
    if isinstance(value, bool):
        return _Bool(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(item) for item in value]
    return value


class _Bool:
    """A boolean that, unlike Python's, is not equal to 1 or 0: JSON's true is not 1."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Bool) and other.value == self.value

    def __hash__(self) -> int:
        return hash((_Bool, self.value))


def same(left: Any, right: Any) -> bool:
    """Equal after normalization; a missing value and a stored null are the same."""
    return bool(normalize(left) == normalize(right))


def integral(value: Any) -> Any:
    """``value`` with every whole float as an int, for writing.

    Pulumi hands a provider every number as a float (``12`` arrives as ``12.0``); the services
    store what they are sent, so a whole number must go out as a JSON integer.
    """
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: integral(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [integral(item) for item in value]
    return value
