"""SQLite persistence: one file under the state directory, one connection, serialized access."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS categories (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, number TEXT NOT NULL UNIQUE, category TEXT NOT NULL,
    state TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_category ON incidents (category, state);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, parent_id TEXT, node_type TEXT NOT NULL,
    name TEXT NOT NULL, config TEXT NOT NULL, version INTEGER NOT NULL, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS node_history (
    node_id TEXT NOT NULL, version INTEGER NOT NULL, changed_at TEXT NOT NULL, changed_by TEXT NOT NULL,
    change_reason TEXT, change_diff TEXT NOT NULL, full_config TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS node_history_node ON node_history (node_id, version);
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY, kind TEXT NOT NULL, org_id TEXT NOT NULL, team_node_id TEXT,
    secret_hash TEXT NOT NULL, label TEXT, permissions TEXT NOT NULL, issued_at TEXT NOT NULL,
    expires_at TEXT, revoked_at TEXT, last_used_at TEXT
);
"""


def utcnow() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC with millisecond precision and a ``Z`` suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Inverse of :func:`isoformat`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def dumps(value: Any) -> str:
    """Compact JSON for storage."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Store:
    """The sandbox database. Every access holds one lock, and writes run in ``BEGIN IMMEDIATE``
    transactions, so a read-modify-write inside :meth:`transaction` is atomic."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; commits on success, rolls back on any exception."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, for several reads in a row (no transaction)."""
        with self._lock:
            yield self._conn

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Run a read-only statement."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        """Run a read-only statement expected to yield at most one row."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def get_meta(self, key: str) -> Any:
        """A JSON value from the meta table, or None."""
        row = self.query_one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else json.loads(row["value"])

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON value in the meta table."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, dumps(value)))

    @staticmethod
    def next_value(conn: sqlite3.Connection, counter: str) -> int:
        """Increment and return a named counter (inside a transaction)."""
        conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
            (counter,),
        )
        row = conn.execute("SELECT value FROM counters WHERE name = ?", (counter,)).fetchone()
        return int(row[0])
