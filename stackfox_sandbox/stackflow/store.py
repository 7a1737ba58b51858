"""StackFlow data: categories and incidents, with versions for ETags."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from datetime import timedelta
from typing import Any

from stackfox_sandbox.errors import ApiError
from stackfox_sandbox.stackflow.models import OPEN_STATES
from stackfox_sandbox.store import Store, dumps, isoformat, parse_time, utcnow

SLA_BY_PRIORITY = {"P1": timedelta(hours=1), "P2": timedelta(hours=4), "P3": timedelta(days=1), "P4": timedelta(days=3)}
CLOSED_STATES = ("resolved", "closed")


def etag(kind: str, object_id: str, version: int) -> str:
    """A strong ETag that changes with every write."""
    return '"' + hashlib.sha256(f"{kind}:{object_id}:{version}".encode()).hexdigest()[:24] + '"'


def body_etag(body: Any) -> str:
    """A strong ETag for a computed body (lists)."""
    return '"' + hashlib.sha256(dumps(body).encode()).hexdigest()[:24] + '"'


def check_if_match(if_match: str | None, current: str) -> None:
    """Raise 412 unless ``If-Match`` is absent, ``*``, or lists the current tag (strong comparison)."""
    if if_match is None:
        return
    candidates = [part.strip() for part in if_match.split(",")]
    if "*" in candidates or current in candidates:
        return
    raise ApiError(412, "If-Match does not match the current ETag", code="precondition_failed")


def _page(sql_from: str, params: tuple[Any, ...], page: int, limit: int, store: Store) -> tuple[list[Any], int]:
    total = int(store.query(f"SELECT COUNT(*) FROM {sql_from}", params)[0][0])
    rows = store.query(
        f"SELECT doc FROM {sql_from} ORDER BY seq LIMIT ? OFFSET ?", (*params, limit, (page - 1) * limit)
    )
    return [json.loads(row["doc"]) for row in rows], total


class StackFlowRepo:
    """Categories and incidents in the sandbox database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # categories ---------------------------------------------------------------------------------------------

    def create_category(self, fields: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Insert a category; 409 if the name is taken."""
        now = isoformat(utcnow())
        with self.store.transaction() as conn:
            if conn.execute("SELECT 1 FROM categories WHERE name = ?", (fields["name"],)).fetchone():
                raise ApiError(409, f"a category named {fields['name']!r} already exists", code="conflict")
            seq = Store.next_value(conn, "category")
            doc = {"id": f"CAT{seq:07d}", **fields, "created_at": now, "updated_at": now}
            conn.execute(
                "INSERT INTO categories (id, seq, name, version, doc) VALUES (?, ?, ?, 1, ?)",
                (doc["id"], seq, doc["name"], dumps(doc)),
            )
        return doc, etag("category", doc["id"], 1)

    def get_category(self, category_id: str) -> tuple[dict[str, Any], str]:
        """One category and its ETag; 404 if absent."""
        row = self.store.query_one("SELECT doc, version FROM categories WHERE id = ?", (category_id,))
        if row is None:
            raise ApiError(404, f"category {category_id} not found")
        return json.loads(row["doc"]), etag("category", category_id, row["version"])

    def list_categories(
        self, page: int, limit: int, active: bool | None, name: str | None
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of categories, oldest first."""
        clauses: list[str] = ["1 = 1"]
        params: list[Any] = []
        if active is not None:
            clauses.append("json_extract(doc, '$.active') = ?")
            params.append(1 if active else 0)
        if name is not None:
            clauses.append("name = ?")
            params.append(name)
        return _page("categories WHERE " + " AND ".join(clauses), tuple(params), page, limit, self.store)

    def update_category(
        self, category_id: str, changes: dict[str, Any], if_match: str | None
    ) -> tuple[dict[str, Any], str]:
        """Apply a partial update under ``If-Match``; ``name`` cannot change (400)."""
        with self.store.transaction() as conn:
            row = conn.execute("SELECT doc, version FROM categories WHERE id = ?", (category_id,)).fetchone()
            if row is None:
                raise ApiError(404, f"category {category_id} not found")
            check_if_match(if_match, etag("category", category_id, row["version"]))
            doc = json.loads(row["doc"])
            if "name" in changes and changes["name"] != doc["name"]:
                raise ApiError(400, "name is immutable", code="invalid_field")
            doc.update(changes)
            doc["updated_at"] = isoformat(utcnow())
            version = row["version"] + 1
            conn.execute("UPDATE categories SET doc = ?, version = ? WHERE id = ?", (dumps(doc), version, category_id))
        return doc, etag("category", category_id, version)

    def delete_category(self, category_id: str, force: bool, if_match: str | None) -> None:
        """Delete; 409 while open incidents use it, unless ``force``."""
        with self.store.transaction() as conn:
            row = conn.execute("SELECT name, version FROM categories WHERE id = ?", (category_id,)).fetchone()
            if row is None:
                raise ApiError(404, f"category {category_id} not found")
            check_if_match(if_match, etag("category", category_id, row["version"]))
            open_count = self._open_incidents(conn, row["name"])
            if open_count and not force:
                raise ApiError(
                    409,
                    f"{open_count} open incident(s) use category {row['name']!r}; resolve them or use ?force=true",
                    code="conflict",
                )
            conn.execute("DELETE FROM categories WHERE id = ?", (category_id,))

    @staticmethod
    def _open_incidents(conn: sqlite3.Connection, category: str) -> int:
        marks = ",".join("?" * len(OPEN_STATES))
        row = conn.execute(
            f"SELECT COUNT(*) FROM incidents WHERE category = ? AND state IN ({marks})", (category, *OPEN_STATES)
        ).fetchone()
        return int(row[0])

    # incidents ----------------------------------------------------------------------------------------------

    @staticmethod
    def _category_for(conn: sqlite3.Connection, name: str, subcategory: str | None) -> dict[str, Any]:
        row = conn.execute("SELECT doc FROM categories WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise ApiError(422, f"unknown category {name!r}", code="validation_error")
        category: dict[str, Any] = json.loads(row["doc"])
        if not category["active"]:
            raise ApiError(422, f"category {name!r} is inactive", code="validation_error")
        if subcategory is not None and subcategory not in {sub["name"] for sub in category["subcategories"]}:
            raise ApiError(422, f"unknown subcategory {subcategory!r} for category {name!r}", code="validation_error")
        return category

    def create_incident(self, fields: dict[str, Any], opened_by: str) -> tuple[dict[str, Any], str]:
        """Insert an incident after validating its category; fills number, state, SLA and defaults."""
        now = utcnow()
        with self.store.transaction() as conn:
            category = self._category_for(conn, fields["category"], fields.get("subcategory"))
            seq = Store.next_value(conn, "incident")
            priority = fields.get("priority") or category["default_priority"]
            doc = {
                "id": uuid.uuid4().hex,
                "number": f"INC{seq:07d}",
                "short_description": fields["short_description"],
                "description": fields.get("description", ""),
                "category": category["name"],
                "subcategory": fields.get("subcategory"),
                "priority": priority,
                "state": "new",
                "assignment_group": fields.get("assignment_group") or category["default_assignment_group"],
                "caller": fields.get("caller"),
                "opened_by": opened_by,
                "resolution_notes": None,
                "sla_breach_at": isoformat(now + SLA_BY_PRIORITY[priority]),
                "created_at": isoformat(now),
                "updated_at": isoformat(now),
                "resolved_at": None,
            }
            conn.execute(
                "INSERT INTO incidents (id, seq, number, category, state, version, doc) VALUES (?, ?, ?, ?, ?, 1, ?)",
                (doc["id"], seq, doc["number"], doc["category"], doc["state"], dumps(doc)),
            )
        return doc, etag("incident", doc["id"], 1)

    def _incident_row(self, conn: sqlite3.Connection, key: str) -> sqlite3.Row:
        column = "number" if key.startswith("INC") else "id"
        row: sqlite3.Row | None = conn.execute(
            f"SELECT id, doc, version FROM incidents WHERE {column} = ?", (key,)
        ).fetchone()
        if row is None:
            raise ApiError(404, f"incident {key} not found")
        return row

    def get_incident(self, key: str) -> tuple[dict[str, Any], str]:
        """One incident by id or number."""
        with self.store.connection() as conn:
            row = self._incident_row(conn, key)
        return json.loads(row["doc"]), etag("incident", row["id"], row["version"])

    def list_incidents(self, page: int, limit: int, filters: dict[str, str | None]) -> tuple[list[Any], int]:
        """A page of incidents, oldest first, filtered by state, priority, category and assignment group."""
        clauses: list[str] = ["1 = 1"]
        params: list[Any] = []
        for name, value in filters.items():
            if value is not None:
                clauses.append(f"json_extract(doc, '$.{name}') = ?")
                params.append(value)
        return _page("incidents WHERE " + " AND ".join(clauses), tuple(params), page, limit, self.store)

    def update_incident(self, key: str, changes: dict[str, Any], if_match: str | None) -> tuple[dict[str, Any], str]:
        """Apply a partial update; revalidates category/subcategory and recomputes the SLA."""
        now = utcnow()
        with self.store.transaction() as conn:
            row = self._incident_row(conn, key)
            check_if_match(if_match, etag("incident", row["id"], row["version"]))
            doc = json.loads(row["doc"])
            if doc["state"] == "closed":
                raise ApiError(409, f"incident {doc['number']} is closed", code="conflict")
            if "category" in changes or "subcategory" in changes:
                merged = {**doc, **changes}
                self._category_for(conn, merged["category"], merged["subcategory"])
            previous_state = doc["state"]
            doc.update(changes)
            if "priority" in changes:
                doc["sla_breach_at"] = isoformat(parse_time(doc["created_at"]) + SLA_BY_PRIORITY[doc["priority"]])
            if doc["state"] in CLOSED_STATES and previous_state not in CLOSED_STATES:
                doc["resolved_at"] = isoformat(now)
            elif doc["state"] not in CLOSED_STATES:
                doc["resolved_at"] = None
            doc["updated_at"] = isoformat(now)
            version = row["version"] + 1
            conn.execute(
                "UPDATE incidents SET doc = ?, version = ?, category = ?, state = ? WHERE id = ?",
                (dumps(doc), version, doc["category"], doc["state"], row["id"]),
            )
        return doc, etag("incident", row["id"], version)

    def wipe(self) -> None:
        """Delete every category and incident and restart the numbering."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM incidents")
            conn.execute("DELETE FROM categories")
            conn.execute("DELETE FROM counters WHERE name IN ('incident', 'category')")
