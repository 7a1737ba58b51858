"""IncidentFox data: the org → team hierarchy with raw configs and versions, history, and team tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from stackfox_sandbox.context import Principal, PrincipalKind
from stackfox_sandbox.errors import ApiError
from stackfox_sandbox.identity import Identity, new_token
from stackfox_sandbox.incidentfox.defaults import (
    ORG_ID,
    ORG_NAME,
    ORG_SEED,
    SYSTEM_DEFAULTS,
    TEAM_ID,
    TEAM_NAME,
    TEAM_SEED,
)
from stackfox_sandbox.incidentfox.merge import deep_merge, diff, merge_all
from stackfox_sandbox.store import Store, dumps, isoformat, parse_time, utcnow

TOKEN_ID_RE = re.compile(r"^[0-9a-f]{32}$")
DEFAULT_PERMISSIONS = ["config:read", "config:write", "agent:invoke"]
ADMIN_PERMISSIONS = ["admin:*"]
LAST_USED_RESOLUTION = 60.0

Validator = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Node:
    """One node of the hierarchy with its raw overrides."""

    node_id: str
    org_id: str
    parent_id: str | None
    node_type: str
    name: str
    config: dict[str, Any]
    version: int
    created_at: str
    updated_at: str
    updated_by: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Node:
        """Decode a ``nodes`` row."""
        return cls(**{**dict(row), "config": json.loads(row["config"])})

    def raw_view(self) -> dict[str, Any]:
        """The shape of the PATCH response and of the admin raw read."""
        return {
            "node_id": self.node_id,
            "node_type": self.node_type,
            "config": self.config,
            "version": self.version,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }

    def info(self) -> dict[str, Any]:
        """Node metadata for the admin listing."""
        return {
            "node_id": self.node_id,
            "org_id": self.org_id,
            "parent_id": self.parent_id,
            "node_type": self.node_type,
            "name": self.name,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class AuthFailure(Exception):
    """A token was refused; ``expired`` distinguishes ``token_expired`` from ``unauthorized``."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class ConfigRepo:
    """Nodes, config history and tokens in the sandbox database."""

    def __init__(self, store: Store, pepper: str) -> None:
        self.store = store
        self._pepper = pepper
        self._last_used: dict[str, float] = {}

    # hierarchy ----------------------------------------------------------------------------------------------

    def seed(self, identity: Identity) -> None:
        """Create the bootstrap org, team and tokens unless they exist."""
        now = isoformat(utcnow())
        with self.store.transaction() as conn:
            self._insert_node(conn, ORG_ID, ORG_ID, None, "org", ORG_NAME, ORG_SEED, now)
            self._insert_node(conn, TEAM_ID, ORG_ID, ORG_ID, "team", TEAM_NAME, TEAM_SEED, now)
            self._insert_token(conn, identity.team_token, "team", TEAM_ID, "bootstrap", None, now)
            self._insert_token(conn, identity.org_admin_token, "admin", None, "bootstrap admin", None, now)

    @staticmethod
    def _insert_node(
        conn: sqlite3.Connection,
        node_id: str,
        org_id: str,
        parent_id: str | None,
        node_type: str,
        name: str,
        config: dict[str, Any],
        now: str,
    ) -> bool:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO nodes (node_id, org_id, parent_id, node_type, name, config, version, created_at,"
            " updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, 'system')",
            (node_id, org_id, parent_id, node_type, name, dumps(config), now, now),
        )
        return cursor.rowcount == 1

    def node(self, node_id: str, org_id: str | None = None) -> Node:
        """One node; 404 if absent (or in another org)."""
        row = self.store.query_one("SELECT * FROM nodes WHERE node_id = ?", (node_id,))
        if row is None or (org_id is not None and row["org_id"] != org_id):
            raise ApiError(404, f"node {node_id!r} not found", detail="Node not found")
        return Node.from_row(row)

    def nodes(self, org_id: str, node_type: str | None = None) -> list[Node]:
        """Every node of an org, in creation order."""
        rows = self.store.query("SELECT * FROM nodes WHERE org_id = ? ORDER BY rowid", (org_id,))
        return [Node.from_row(row) for row in rows if node_type is None or row["node_type"] == node_type]

    @staticmethod
    def _lineage(conn: sqlite3.Connection, node_id: str) -> list[Node]:
        chain: list[Node] = []
        current: str | None = node_id
        while current is not None and len(chain) < 64:
            row = conn.execute("SELECT * FROM nodes WHERE node_id = ?", (current,)).fetchone()
            if row is None:
                break
            chain.append(Node.from_row(row))
            current = row["parent_id"]
        return list(reversed(chain))

    def lineage(self, node_id: str) -> list[Node]:
        """Root → leaf."""
        with self.store.connection() as conn:
            return self._lineage(conn, node_id)

    def effective(self, node_id: str) -> dict[str, Any]:
        """System defaults, then each node's raw config from the root down."""
        return effective_of(self.lineage(node_id))

    def create_node(self, org_id: str, node_id: str, parent_id: str | None, name: str) -> Node:
        """Add a team under ``parent_id`` (default: the org root)."""
        now = isoformat(utcnow())
        parent = parent_id or org_id
        with self.store.transaction() as conn:
            parent_row = conn.execute("SELECT org_id FROM nodes WHERE node_id = ?", (parent,)).fetchone()
            if parent_row is None or parent_row["org_id"] != org_id:
                raise ApiError(400, f"parent {parent!r} not found", code="invalid_field", field="parent_id")
            if not self._insert_node(conn, node_id, org_id, parent, "team", name, {}, now):
                raise ApiError(409, f"node {node_id!r} already exists", detail="Node already exists")
        return self.node(node_id)

    def update_node(self, org_id: str, node_id: str, name: str | None, parent_id: str | None) -> Node:
        """Rename and/or re-parent a node (``None``: unchanged); its config and version are untouched.

        404 for a node absent from the org; 400 (``parent_id``) for a parent that is unknown, in another org,
        the node itself or one of its descendants, or for any new parent of the org root.
        """
        with self.store.transaction() as conn:
            row = conn.execute("SELECT * FROM nodes WHERE node_id = ?", (node_id,)).fetchone()
            if row is None or row["org_id"] != org_id:
                raise ApiError(404, f"node {node_id!r} not found", detail="Node not found")
            node = Node.from_row(row)
            if parent_id is not None and parent_id != node.parent_id:
                if node.parent_id is None:
                    raise ApiError(400, "the org root cannot be re-parented", code="invalid_field", field="parent_id")
                parent_row = conn.execute("SELECT org_id FROM nodes WHERE node_id = ?", (parent_id,)).fetchone()
                if parent_row is None or parent_row["org_id"] != org_id:
                    raise ApiError(400, f"parent {parent_id!r} not found", code="invalid_field", field="parent_id")
                if node_id in {ancestor.node_id for ancestor in self._lineage(conn, parent_id)}:
                    raise ApiError(
                        400,
                        f"parent {parent_id!r} is {node_id!r} or one of its descendants",
                        code="invalid_field",
                        field="parent_id",
                    )
            if name is None and parent_id is None:
                return node
            updated = replace(
                node,
                name=node.name if name is None else name,
                parent_id=node.parent_id if parent_id is None else parent_id,
                updated_at=isoformat(utcnow()),
            )
            conn.execute(
                "UPDATE nodes SET name = ?, parent_id = ?, updated_at = ? WHERE node_id = ?",
                (updated.name, updated.parent_id, updated.updated_at, node_id),
            )
        return updated

    def snapshot(self, node_id: str) -> list[Node]:
        """The node's lineage (root → leaf) as read now, for a later :meth:`write` with ``stale=``; 404 if
        the node is absent."""
        chain = self.lineage(node_id)
        _check_leaf(chain, node_id)
        return chain

    def write(
        self,
        node_id: str,
        patch: dict[str, Any],
        actor: str,
        reason: str | None,
        validate: Validator | None = None,
        stale: list[Node] | None = None,
    ) -> tuple[Node, dict[str, Any]]:
        """Deep-merge ``patch`` into a node's raw config atomically and bump its version.

        ``validate`` sees the node's effective config after the merge and may raise to refuse the write.
        With ``stale`` (a :meth:`snapshot` taken earlier) the merge starts from that old read instead of the
        current row and the version becomes the old one plus one, overwriting whatever was committed in
        between: the unlocked read-modify-write of a multi-worker open-source deployment.
        Returns the updated node and the effective config.
        """
        now = isoformat(utcnow())
        with self.store.transaction() as conn:
            chain = stale if stale is not None else self._lineage(conn, node_id)
            _check_leaf(chain, node_id)
            node = chain[-1]
            merged = deep_merge(node.config, patch)
            effective = merge_all([SYSTEM_DEFAULTS, *(n.config for n in chain[:-1]), merged])
            if validate is not None:
                validate(effective)
            version = node.version + 1
            conn.execute(
                "UPDATE nodes SET config = ?, version = ?, updated_at = ?, updated_by = ? WHERE node_id = ?",
                (dumps(merged), version, now, actor, node_id),
            )
            conn.execute(
                "INSERT INTO node_history (node_id, version, changed_at, changed_by, change_reason, change_diff,"
                " full_config) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (node_id, version, now, actor, reason, dumps(diff(node.config, merged)), dumps(merged)),
            )
        updated = replace(node, config=merged, version=version, updated_at=now, updated_by=actor)
        return updated, effective

    def history(self, node_id: str, limit: int) -> list[dict[str, Any]]:
        """Most recent changes first."""
        rows = self.store.query(
            "SELECT * FROM node_history WHERE node_id = ? ORDER BY version DESC, rowid DESC LIMIT ?",
            (node_id, limit),
        )
        return [
            {
                "version": row["version"],
                "changed_at": row["changed_at"],
                "changed_by": row["changed_by"],
                "change_reason": row["change_reason"],
                "change_diff": json.loads(row["change_diff"]),
                "full_config": json.loads(row["full_config"]),
            }
            for row in rows
        ]

    # tokens -------------------------------------------------------------------------------------------------

    def _hash(self, secret: str) -> str:
        return hashlib.sha256((secret + self._pepper).encode()).hexdigest()

    def _insert_token(
        self,
        conn: sqlite3.Connection,
        token: str,
        kind: str,
        team_node_id: str | None,
        label: str | None,
        expires_at: str | None,
        now: str,
    ) -> None:
        token_id, secret = token.split(".", 1)
        permissions = ADMIN_PERMISSIONS if kind == "admin" else DEFAULT_PERMISSIONS
        conn.execute(
            "INSERT OR IGNORE INTO tokens (token_id, kind, org_id, team_node_id, secret_hash, label, permissions,"
            " issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (token_id, kind, ORG_ID, team_node_id, self._hash(secret), label, dumps(permissions), now, expires_at),
        )

    def mint(self, team_node_id: str, label: str | None, expires_in: float | None) -> tuple[str, str]:
        """A new team token, returned once: ``(token, issued_at)``. Only its hash is stored."""
        now = utcnow()
        expires_at = isoformat(now + timedelta(seconds=expires_in)) if expires_in else None
        token = new_token()[0]
        with self.store.transaction() as conn:
            self._insert_token(conn, token, "team", team_node_id, label, expires_at, isoformat(now))
        return token, isoformat(now)

    def tokens(self, team_node_id: str) -> list[dict[str, Any]]:
        """Token metadata for a team (never the secret)."""
        rows = self.store.query("SELECT * FROM tokens WHERE team_node_id = ? ORDER BY rowid", (team_node_id,))
        return [
            {
                "token_id": row["token_id"],
                "team_node_id": row["team_node_id"],
                "label": row["label"],
                "permissions": json.loads(row["permissions"]),
                "issued_at": row["issued_at"],
                "expires_at": row["expires_at"],
                "revoked_at": row["revoked_at"],
                "last_used_at": row["last_used_at"],
            }
            for row in rows
        ]

    def revoke(self, token_id: str, team_node_id: str | None = None) -> None:
        """Revoke a team token; idempotent, and an unknown id is not an error."""
        sql = "UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND kind = 'team' AND revoked_at IS NULL"
        params: tuple[Any, ...] = (isoformat(utcnow()), token_id)
        if team_node_id is not None:
            sql += " AND team_node_id = ?"
            params += (team_node_id,)
        with self.store.transaction() as conn:
            conn.execute(sql, params)

    def authenticate(self, token: str) -> Principal:
        """The caller behind an opaque ``<id>.<secret>`` token; raises :class:`AuthFailure`."""
        if token.count(".") == 2:
            raise AuthFailure("Invalid token")  # a JWT: the sandbox issues no IncidentFox JWTs
        token_id, _, secret = token.partition(".")
        if not TOKEN_ID_RE.match(token_id) or not secret:
            raise AuthFailure("Invalid token")
        row = self.store.query_one("SELECT * FROM tokens WHERE token_id = ?", (token_id,))
        if row is None or not hmac.compare_digest(row["secret_hash"], self._hash(secret)):
            raise AuthFailure("Invalid token")
        if row["revoked_at"] is not None:
            raise AuthFailure("Token revoked")
        if row["expires_at"] is not None and parse_time(row["expires_at"]) <= utcnow():
            raise AuthFailure("Token expired", expired=True)
        self._touch(token_id)
        kind: PrincipalKind = "admin_token" if row["kind"] == "admin" else "team_token"
        return Principal(
            kind=kind,
            identity=f"{'admin' if kind == 'admin_token' else 'team'}-token:{token_id}",
            subject=token_id,
            scopes=frozenset(json.loads(row["permissions"])),
            org_id=row["org_id"],
            team_node_id=row["team_node_id"],
            token_id=token_id,
        )

    def _touch(self, token_id: str) -> None:
        # last_used_at is informational; writing it once a minute keeps reads cheap.
        now = time.monotonic()
        if now - self._last_used.get(token_id, -LAST_USED_RESOLUTION) < LAST_USED_RESOLUTION:
            return
        self._last_used[token_id] = now
        with self.store.transaction() as conn:
            conn.execute("UPDATE tokens SET last_used_at = ? WHERE token_id = ?", (isoformat(utcnow()), token_id))

    def wipe(self, identity: Identity) -> None:
        """Back to the seed: bootstrap nodes with seed configs, bootstrap tokens only."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM nodes")
            conn.execute("DELETE FROM node_history")
            conn.execute("DELETE FROM tokens")
        self._last_used.clear()
        self.seed(identity)


def _check_leaf(chain: list[Node], node_id: str) -> None:
    """404 unless ``chain`` ends at ``node_id``."""
    if not chain or chain[-1].node_id != node_id:
        raise ApiError(404, f"node {node_id!r} not found", detail="Node not found")


def effective_of(chain: list[Node]) -> dict[str, Any]:
    """The effective config of the last node of a root → leaf chain."""
    merged: dict[str, Any] = merge_all([SYSTEM_DEFAULTS, *(node.config for node in chain)])
    return merged
