"""The StackFlow API: categories, incidents, ETags, conflicts, pagination and validation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from stackfox_sandbox.testing import SandboxHandle

Unique = Callable[[str], str]


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with sandbox.stackflow() as client:
        yield client


def _category(api: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "label": name.title(), **fields}
    response = api.post("/categories", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "request_id"}
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    return dict(error)


def test_health_needs_no_auth(sandbox: SandboxHandle) -> None:
    response = httpx.get(f"{sandbox.info.stackflow_base_url}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_create_and_read_category(api: httpx.Client, unique: Unique) -> None:
    name = unique("network")
    created = _category(
        api,
        name,
        description="network trouble",
        subcategories=[{"name": "dns", "label": "DNS"}, {"name": "lb", "label": "Load balancer"}],
        default_priority="P2",
        default_assignment_group="netops",
    )
    assert created["id"].startswith("CAT") and len(created["id"]) == 10
    assert created["active"] is True and created["created_at"] == created["updated_at"]
    fetched = api.get(f"/categories/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == created
    assert fetched.headers["etag"].startswith('"')


def test_category_defaults(api: httpx.Client, unique: Unique) -> None:
    created = _category(api, unique("defaults"))
    assert created["default_priority"] == "P3"
    assert created["subcategories"] == [] and created["description"] == ""
    assert created["default_assignment_group"] is None


def test_duplicate_name_is_409(api: httpx.Client, unique: Unique) -> None:
    name = unique("dup")
    _category(api, name)
    _assert_error(api.post("/categories", json={"name": name, "label": "again"}), 409, "conflict")


@pytest.mark.parametrize(
    "body",
    [
        {"label": "no name"},
        {"name": "Bad Name", "label": "x"},
        {"name": "ok-name", "label": ""},
        {"name": "ok-name", "label": "x", "default_priority": "P9"},
        {"name": "ok-name", "label": "x", "subcategories": [{"name": "a", "label": "A"}, {"name": "a", "label": "B"}]},
        {"name": "ok-name", "label": "x", "unknown_field": 1},
        {"name": "ok-name", "label": "x", "active": "yes"},
    ],
)
def test_invalid_category_is_422(api: httpx.Client, body: dict[str, Any]) -> None:
    _assert_error(api.post("/categories", json=body), 422, "validation_error")


def test_malformed_json_is_422(api: httpx.Client) -> None:
    response = api.post("/categories", content=b"{not json", headers={"content-type": "application/json"})
    _assert_error(response, 422, "validation_error")


def test_patch_with_etags(api: httpx.Client, unique: Unique) -> None:
    created = api.post("/categories", json={"name": unique("etag"), "label": "Before"})
    tag = created.headers["etag"]
    category_id = created.json()["id"]
    updated = api.patch(f"/categories/{category_id}", json={"label": "After"}, headers={"If-Match": tag})
    assert updated.status_code == 200
    assert updated.json()["label"] == "After"
    assert updated.json()["updated_at"] >= created.json()["updated_at"]
    new_tag = updated.headers["etag"]
    assert new_tag != tag
    assert api.get(f"/categories/{category_id}").headers["etag"] == new_tag
    # A stale tag is refused and changes nothing.
    stale = api.patch(f"/categories/{category_id}", json={"label": "Lost"}, headers={"If-Match": tag})
    _assert_error(stale, 412, "precondition_failed")
    assert api.get(f"/categories/{category_id}").json()["label"] == "After"
    # "*", a list containing the current tag, and no If-Match all pass.
    assert api.patch(f"/categories/{category_id}", json={"label": "Star"}, headers={"If-Match": "*"}).status_code == 200
    current = api.get(f"/categories/{category_id}").headers["etag"]
    listed = api.patch(f"/categories/{category_id}", json={"label": "L"}, headers={"If-Match": f'"x", {current}'})
    assert listed.status_code == 200
    assert api.patch(f"/categories/{category_id}", json={"active": False}).json()["active"] is False
    # Weak tags never match (strong comparison).
    weak = f"W/{api.get(f'/categories/{category_id}').headers['etag']}"
    _assert_error(
        api.patch(f"/categories/{category_id}", json={"label": "W"}, headers={"If-Match": weak}),
        412,
        "precondition_failed",
    )


def test_patch_semantics(api: httpx.Client, unique: Unique) -> None:
    name = unique("patch")
    created = _category(api, name, default_assignment_group="ops", subcategories=[{"name": "a", "label": "A"}])
    path = f"/categories/{created['id']}"
    # Only the fields sent change; null clears the nullable group; subcategories replace whole.
    response = api.patch(path, json={"default_assignment_group": None, "subcategories": [{"name": "b", "label": "B"}]})
    body = response.json()
    assert body["default_assignment_group"] is None
    assert body["subcategories"] == [{"name": "b", "label": "B"}]
    assert body["label"] == created["label"]
    # The name is immutable, but sending the same value is fine.
    _assert_error(api.patch(path, json={"name": unique("renamed")}), 400, "invalid_field")
    assert api.patch(path, json={"name": name}).status_code == 200
    _assert_error(api.patch(path, json={"label": None}), 422, "validation_error")
    _assert_error(api.patch("/categories/CAT9999999", json={"label": "x"}), 404, "not_found")


def test_delete_category(api: httpx.Client, unique: Unique) -> None:
    created = _category(api, unique("gone"))
    response = api.delete(f"/categories/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    _assert_error(api.get(f"/categories/{created['id']}"), 404, "not_found")
    _assert_error(api.delete(f"/categories/{created['id']}"), 404, "not_found")


def test_delete_with_open_incidents_is_409_unless_forced(api: httpx.Client, unique: Unique) -> None:
    category = _category(api, unique("busy"))
    incident = api.post("/incidents", json={"short_description": "x", "category": category["name"]}).json()
    _assert_error(api.delete(f"/categories/{category['id']}"), 409, "conflict")
    # Resolving the incident frees the category...
    assert api.patch(f"/incidents/{incident['id']}", json={"state": "resolved"}).status_code == 200
    assert api.delete(f"/categories/{category['id']}", headers={"If-Match": '"stale"'}).status_code == 412
    assert api.delete(f"/categories/{category['id']}").status_code == 204
    # ... and force deletes despite open incidents.
    other = _category(api, unique("forced"))
    api.post("/incidents", json={"short_description": "y", "category": other["name"]})
    assert api.delete(f"/categories/{other['id']}", params={"force": "true"}).status_code == 204


def test_pagination(sandbox: SandboxHandle, api: httpx.Client, unique: Unique) -> None:
    sandbox.update_settings(write_limit=1000)
    prefix = unique("page")
    names = [f"{prefix}-{index}" for index in range(5)]
    for name in names:
        _category(api, name, default_assignment_group=prefix)
    total = api.get("/categories", params={"limit": 1}).json()["total"]
    assert total >= 5
    seen: list[str] = []
    page = 1
    while page <= total:  # bounded by the total
        body = api.get("/categories", params={"page": page, "limit": 2}).json()
        assert body["page"] == page and body["limit"] == 2 and body["total"] == total
        assert len(body["data"]) <= 2
        seen.extend(item["name"] for item in body["data"])
        if not body["has_more"]:
            break
        page += 1
    assert len(seen) == total and len(set(seen)) == total
    assert [name for name in seen if name.startswith(prefix)] == names  # oldest first
    beyond = api.get("/categories", params={"page": page + 5, "limit": 2}).json()
    assert beyond["data"] == [] and beyond["has_more"] is False
    assert api.get("/categories", params={"name": names[2]}).json()["data"][0]["name"] == names[2]
    _assert_error(api.get("/categories", params={"limit": 101}), 422, "validation_error")
    _assert_error(api.get("/categories", params={"page": 0}), 422, "validation_error")


def test_create_incident_uses_category_defaults(api: httpx.Client, unique: Unique) -> None:
    category = _category(
        api,
        unique("db"),
        default_priority="P1",
        default_assignment_group="dba",
        subcategories=[{"name": "replication", "label": "Replication"}],
    )
    response = api.post(
        "/incidents",
        json={"short_description": "replica lag", "category": category["name"], "subcategory": "replication"},
    )
    assert response.status_code == 201
    incident = response.json()
    assert incident["number"].startswith("INC") and incident["state"] == "new"
    assert incident["priority"] == "P1" and incident["assignment_group"] == "dba"
    created = datetime.fromisoformat(incident["created_at"].replace("Z", "+00:00"))
    breach = datetime.fromisoformat(incident["sla_breach_at"].replace("Z", "+00:00"))
    assert breach - created == timedelta(hours=1)
    assert incident["opened_by"].startswith("user:")
    assert api.get(f"/incidents/{incident['number']}").json()["id"] == incident["id"]


def test_incident_validation_against_categories(api: httpx.Client, unique: Unique) -> None:
    category = _category(api, unique("valid"), subcategories=[{"name": "known", "label": "Known"}])
    cases = [
        {"short_description": "x", "category": unique("missing")},
        {"short_description": "x", "category": category["name"], "subcategory": "unknown"},
        {"short_description": "", "category": category["name"]},
        {"short_description": "x", "category": category["name"], "priority": "urgent"},
        {"category": category["name"]},
    ]
    for body in cases:
        _assert_error(api.post("/incidents", json=body), 422, "validation_error")
    api.patch(f"/categories/{category['id']}", json={"active": False})
    _assert_error(
        api.post("/incidents", json={"short_description": "x", "category": category["name"]}), 422, "validation_error"
    )


def test_incident_updates(api: httpx.Client, unique: Unique) -> None:
    first = _category(api, unique("first"), subcategories=[{"name": "a", "label": "A"}])
    second = _category(api, unique("second"))
    created = api.post("/incidents", json={"short_description": "x", "category": first["name"], "subcategory": "a"})
    path = f"/incidents/{created.json()['id']}"
    tag = created.headers["etag"]
    updated = api.patch(path, json={"priority": "P4", "state": "in_progress"}, headers={"If-Match": tag})
    assert updated.status_code == 200
    body = updated.json()
    breach = datetime.fromisoformat(body["sla_breach_at"].replace("Z", "+00:00"))
    opened = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert breach - opened == timedelta(days=3)
    _assert_error(api.patch(path, json={"state": "closed"}, headers={"If-Match": tag}), 412, "precondition_failed")
    # Moving to a category without that subcategory is refused; with the subcategory cleared it works.
    _assert_error(api.patch(path, json={"category": second["name"]}), 422, "validation_error")
    assert api.patch(path, json={"category": second["name"], "subcategory": None}).status_code == 200
    resolved = api.patch(path, json={"state": "resolved", "resolution_notes": "fixed"}).json()
    assert resolved["resolved_at"] is not None
    closed = api.patch(path, json={"state": "closed"}).json()
    assert closed["state"] == "closed"
    _assert_error(api.patch(path, json={"state": "new"}), 409, "conflict")
    _assert_error(api.get("/incidents/does-not-exist"), 404, "not_found")


def test_incident_filters(sandbox: SandboxHandle, api: httpx.Client, unique: Unique) -> None:
    sandbox.update_settings(write_limit=1000)
    category = _category(api, unique("filter"))
    group = unique("group")
    for priority in ("P1", "P2", "P2"):
        api.post(
            "/incidents",
            json={
                "short_description": priority,
                "category": category["name"],
                "priority": priority,
                "assignment_group": group,
            },
        )
    by_category = api.get("/incidents", params={"category": category["name"]}).json()
    assert by_category["total"] == 3
    by_priority = api.get("/incidents", params={"assignment_group": group, "priority": "P2"}).json()
    assert by_priority["total"] == 2 and all(i["priority"] == "P2" for i in by_priority["data"])
    new = api.get("/incidents", params={"assignment_group": group, "state": "new"}).json()
    assert new["total"] == 3
    _assert_error(api.get("/incidents", params={"state": "bogus"}), 422, "validation_error")


def test_unknown_route_and_method(api: httpx.Client) -> None:
    _assert_error(api.get("/nothing-here"), 404, "not_found")
    not_allowed = api.put("/categories/CAT0000001", json={})
    _assert_error(not_allowed, 405, "method_not_allowed")
    assert not_allowed.headers["allow"]
