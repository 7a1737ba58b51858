"""Client-side rate limiting: stay under an API's documented budget instead of discovering it by 429s.

One ``RateBudget`` exists per (API, credential) in the process, shared by every resource and every
worker thread of the dynamic-provider server, so thirty resources applied four at a time still make
at most 20 writes a minute together.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from stackfox_provider import process
from stackfox_provider.process import Registry

Kind = Literal["read", "write"]
# The server counts a minute from when it *received* each request; a second of margin keeps network
# jitter from pushing the 21st write into the same server-side minute as the first.
WINDOW_SECONDS = 61.0


@dataclass(frozen=True)
class RateLimits:
    """Requests allowed per minute; the defaults are what IncidentFox and StackFlow document."""

    reads_per_minute: int = 100
    writes_per_minute: int = 20

    def for_kind(self, kind: Kind) -> int:
        return self.reads_per_minute if kind == "read" else self.writes_per_minute


class RateBudget:
    """A sliding-window budget of reads and writes, plus a pause the server can impose (429, reset headers)."""

    def __init__(
        self,
        limits: RateLimits,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: dict[Kind, deque[float]] = {"read": deque(), "write": deque()}
        self._paused_until = 0.0

    def acquire(self, kind: Kind) -> float:
        """Block until one more request of ``kind`` fits in the budget; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                delay = self._delay(kind)
                if delay <= 0:
                    self._sent[kind].append(self._clock())
                    return waited
            self._sleep(delay)
            waited += delay

    def pause_for(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (the server asked us to wait)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    def _delay(self, kind: Kind) -> float:
        now = self._clock()
        sent = self._sent[kind]
        while sent and now - sent[0] >= WINDOW_SECONDS:
            sent.popleft()
        window_delay = sent[0] + WINDOW_SECONDS - now if len(sent) >= self.limits.for_kind(kind) else 0.0
        return max(window_delay, self._paused_until - now)


_budgets: Registry[tuple[str, str], RateBudget] = process.registry("rate budgets")


def budget_for(api: str, credential: str, limits: RateLimits) -> RateBudget:
    """The process-wide budget for one credential of one API (keyed by a hash, never the secret itself)."""
    key = (api, hashlib.sha256(credential.encode()).hexdigest())
    return _budgets.get(key, lambda: RateBudget(limits), keep=lambda budget: budget.limits == limits)
