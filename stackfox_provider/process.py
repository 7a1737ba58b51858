"""What stackfox keeps for the life of one provider process, in one place.

Why module state at all: the engine pickles a provider object into each resource's state and, in the
provider process, unpickles one per resource and runs up to four calls at once. Those objects must hold
no client, lock or credential (they end up in state), yet the resources of one run must share them: one
HTTP client per (URL, credential), so that one GET serves a whole refresh and writes to one team never
interleave; one rate budget per credential; cached tokens; the stack config ``configure()`` received.
So that state lives in modules, each piece in a :class:`Registry` made here (or registered with
:func:`on_reset`), and :func:`reset` forgets all of it: tests, or a process whose credentials changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Registry(Generic[K, V]):
    """A process-wide map, safe to share between threads; ``close`` runs on each value ``clear()`` drops."""

    def __init__(self, name: str, close: Callable[[V], None] | None = None) -> None:
        self.name = name
        self._close = close
        self._values: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V], keep: Callable[[V], bool] = lambda _: True) -> V:
        """The value for ``key``, made (under the lock, so once) when there is none or ``keep`` rejects it."""
        with self._lock:
            value = self._values.get(key)
            if value is None or not keep(value):
                value = self._values[key] = make()
            return value

    def find(self, key: K) -> V | None:
        with self._lock:
            return self._values.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._values[key] = value

    def pop(self, key: K) -> V | None:
        with self._lock:
            return self._values.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            dropped, self._values = list(self._values.values()), {}
        close = self._close
        if close is not None:
            for value in dropped:
                close(value)


_registries: list[Registry[Any, Any]] = []
_resets: list[Callable[[], None]] = []


def registry(name: str, close: Callable[[V], None] | None = None) -> Registry[K, V]:
    """A new process-wide registry that :func:`reset` clears."""
    made: Registry[K, V] = Registry(name, close)
    _registries.append(made)
    return made


def on_reset(forget: Callable[[], None]) -> None:
    """Run ``forget`` on :func:`reset`, for process state that is not a registry (a token cache, the config)."""
    _resets.append(forget)


def reset() -> None:
    """Forget everything the process keeps: clients (closed), budgets, tokens, stack config, claims."""
    for made in _registries:
        made.clear()
    for forget in _resets:
        forget()
