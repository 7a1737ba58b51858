"""Per-token sliding-window rate limits with ``X-RateLimit-*`` headers."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

LimitClass = Literal["read", "write"]
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def limit_class(method: str) -> LimitClass:
    """Reads are GET, HEAD and OPTIONS; everything else is a write."""
    return "read" if method.upper() in READ_METHODS else "write"


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one request against its window."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``X-RateLimit-*`` headers, plus ``Retry-After`` when the request was refused."""
        headers = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        return headers


@dataclass
class SlidingWindowLimiter:
    """A sliding-window log per (key, class): a request is admitted if fewer than ``limit`` admitted
    requests fall inside the last ``window`` seconds. Refused requests do not count."""

    clock: Callable[[], float] = time.time
    _windows: dict[tuple[str, LimitClass], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str, kind: LimitClass, limit: int, window: float) -> RateDecision:
        """Count one request for ``key`` if the window has room, and describe the outcome."""
        now = self.clock()
        with self._lock:
            log = self._windows.setdefault((key, kind), deque())
            while log and log[0] <= now - window:
                log.popleft()
            if len(log) >= limit:
                frees_at = log[len(log) - limit] + window
                return RateDecision(
                    allowed=False,
                    limit=limit,
                    remaining=0,
                    reset=math.ceil(frees_at),
                    retry_after=max(1, math.ceil(frees_at - now)),
                )
            log.append(now)
            return RateDecision(
                allowed=True,
                limit=limit,
                remaining=limit - len(log),
                reset=math.ceil(log[0] + window),
                retry_after=0,
            )

    def forced(self, key: str, kind: LimitClass, limit: int, retry_after: int) -> RateDecision:
        """A refusal that does not come from the window (fault injection)."""
        now = self.clock()
        return RateDecision(
            allowed=False, limit=limit, remaining=0, reset=math.ceil(now + retry_after), retry_after=retry_after
        )

    def reset(self) -> None:
        """Forget every window."""
        with self._lock:
            self._windows.clear()
