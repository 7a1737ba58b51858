"""Names a client package re-exports, each loaded from its module on first use (PEP 562).

A package's ``__init__`` runs whenever any of its modules is imported: with eager re-exports, importing
``clients.stackflow.auth`` (as the settings do) or ``clients.incidentfox.reset`` (as the resources' inputs do)
would load the client, and httpx with it, in every process that only declares or checks resources.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, homes: Mapping[str, tuple[str, ...]]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: each name of ``homes[module]`` comes from ``package.module``."""
    home_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> object:
        module = home_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
