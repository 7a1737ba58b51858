"""Property values as the engine's JSON events carry them: secrets, unknowns and field paths.

The engine never hands out a secret's value in its events: a secret arrives as
``{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "[secret]"}``
(or as the bare string ``"[secret]"`` in the one-document preview format). :func:`decode` turns both
into :data:`SECRET`, and a value known only after apply into :data:`UNKNOWN`, so nothing downstream
can mistake a mask for a value or print more than ``[secret]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pulumi.runtime.rpc import UNKNOWN as UNKNOWN_SENTINEL

from stackfox_provider.keypaths import KeyPath, dotted, get_path, leaves
from stackfox_provider.normalize import same

#: How Pulumi marks a secret in serialized property values.
SECRET_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE: Final = "1b47061264138c4ac30d75fd1eb44270"
#: What a report shows instead of a secret value.
MASK: Final = "[secret]"
#: What a report shows for a value the engine knows only after apply.
UNKNOWN_TEXT: Final = "[unknown]"
__all__ = [
    "MASK",
    "SECRET",
    "UNKNOWN",
    "UNKNOWN_TEXT",
    "Difference",
    "KeyPath",
    "Marker",
    "changed_fields",
    "contains",
    "decode",
    "dotted",
    "field_leaves",
    "get_path",
    "to_json",
]


class Marker:
    """A stand-in for a value the engine did not disclose (a secret) or does not know yet (preview)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<{self._name}>"


SECRET: Final = Marker("secret")
UNKNOWN: Final = Marker("unknown")


def decode(value: Any) -> Any:
    """An engine JSON value with secrets as :data:`SECRET` and unknowns as :data:`UNKNOWN`."""
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return SECRET
        return {str(key): decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    if value == MASK:
        return SECRET
    if value == UNKNOWN_SENTINEL:
        return UNKNOWN
    return value


def contains(value: Any, marker: Marker) -> bool:
    """Whether ``value`` is, or holds somewhere inside it, ``marker``."""
    if value is marker:
        return True
    if isinstance(value, Mapping):
        return any(contains(item, marker) for item in value.values())
    if isinstance(value, list):
        return any(contains(item, marker) for item in value)
    return False


def to_json(value: Any) -> Any:
    """A decoded value as plain JSON for a report: secrets become ``"[secret]"``, unknowns ``"[unknown]"``."""
    if value is SECRET:
        return MASK
    if value is UNKNOWN:
        return UNKNOWN_TEXT
    if isinstance(value, Mapping):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value


def field_leaves(properties: Mapping[str, Any], ignored: frozenset[str]) -> dict[KeyPath, Any]:
    """Every leaf of a resource's properties by path, without the ``ignored`` top-level keys (for a
    stackfox resource: :func:`~stackfox_provider.resources.catalog.ignored_properties`).

    Objects are walked into; scalars, lists, empty objects and masked values are leaves. A
    property set to null is left out: it declares nothing.
    """
    kept = {key: value for key, value in properties.items() if key not in ignored and value is not None}
    return {path: value for path, value in leaves(kept).items() if value is not None}


@dataclass(frozen=True)
class Difference:
    """A field whose value differs between two documents (``None``: not set on that side)."""

    path: KeyPath
    old: Any
    new: Any

    @property
    def secret(self) -> bool:
        return contains(self.old, SECRET) or contains(self.new, SECRET)

    @property
    def unknown(self) -> bool:
        return contains(self.new, UNKNOWN)


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any], paths: Iterable[KeyPath]) -> list[Difference]:
    """The fields at ``paths`` that differ between ``old`` and ``new``, for a step the engine says changes.

    Masked values cannot be compared: a secret set on both sides counts as changed only when no
    visible field differs, since then the change the engine found can only be in a secret.
    """
    visible: list[Difference] = []
    masked: list[Difference] = []
    for path in dict.fromkeys(paths):
        before, after = get_path(old, path), get_path(new, path)
        difference = Difference(path, before, after)
        if before is not None and after is not None and difference.secret:
            masked.append(difference)
        elif not same(before, after):
            visible.append(difference)
    return visible or masked
