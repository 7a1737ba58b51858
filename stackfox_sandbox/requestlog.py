"""The request log tests read through the control endpoint."""

from __future__ import annotations

import itertools
import threading
from collections import deque

from pydantic import BaseModel

MAX_ENTRIES = 20000


class LogEntry(BaseModel):
    """One request as the sandbox saw it."""

    seq: int
    timestamp: float
    service: str
    method: str
    path: str
    query: str
    status: int | None
    identity: str | None
    auth_error: str | None
    request_id: str
    fault: str | None
    dropped: bool
    duration_ms: float


class RequestLog:
    """A bounded, thread-safe log of the most recent requests."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=max_entries)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def append(self, **fields: object) -> None:
        """Record a request."""
        with self._lock:
            self._entries.append(LogEntry(seq=next(self._seq), **fields))  # type: ignore[arg-type]

    def entries(self, service: str | None = None, since: int = 0, limit: int | None = None) -> list[LogEntry]:
        """Entries after sequence number ``since``, optionally for one service, oldest first."""
        with self._lock:
            selected = [e for e in self._entries if e.seq > since and (service is None or e.service == service)]
        return selected[-limit:] if limit else selected

    def clear(self) -> None:
        """Forget every entry (sequence numbers keep increasing)."""
        with self._lock:
            self._entries.clear()
