"""IncidentCategory's provider against an in-memory StackFlow: ETags, 412 triage, adoption, validation."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from stackfox_provider.clients.ratelimit import RateLimits
from stackfox_provider.clients.stackflow.auth import StaticToken
from stackfox_provider.clients.stackflow.client import StackFlowClient, stackflow_client_for, use_client
from stackfox_provider.errors import RefusedError
from stackfox_provider.resources.incident_category import IncidentCategoryProvider

URL = "http://flow.test/prod/api"


@dataclass
class FakeStackFlow:
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    before_patch: Callable[[str], None] | None = None
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, **fields: Any) -> str:
        category_id = f"CAT{next(self.ids):07d}"
        self.categories[category_id] = {"id": category_id, "description": "", "subcategories": [],
                                        "default_priority": "P3", "active": True, **fields}  # fmt: skip
        self.versions[category_id] = 1
        return category_id

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        path = request.url.path.removeprefix("/prod/api")
        if path == "/categories" and request.method == "GET":
            page, limit = int(request.url.params.get("page", 1)), int(request.url.params.get("limit", 20))
            every = list(self.categories.values())
            data = every[(page - 1) * limit : page * limit]
            return httpx.Response(200, json={"data": data, "total": len(every), "page": page, "limit": limit,
                                             "has_more": page * limit < len(every)})  # fmt: skip
        if path == "/categories" and request.method == "POST":
            category_id = self.add(**json.loads(request.content))
            return self._one(category_id, 201)
        category_id = path.rsplit("/", 1)[-1]
        if category_id not in self.categories:
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "no such category"}})
        if request.method == "PATCH":
            if self.before_patch:
                self.before_patch(category_id)
            if request.headers.get("if-match") not in (None, self._etag(category_id)):
                return httpx.Response(412, json={"error": {"code": "precondition_failed", "message": "stale"}})
            self.categories[category_id].update(json.loads(request.content))
            self.versions[category_id] += 1
        if request.method == "DELETE":
            del self.categories[category_id]
            return httpx.Response(204)
        return self._one(category_id)

    def by_hand(self, category_id: str, **changes: Any) -> None:
        self.categories[category_id].update(changes)
        self.versions[category_id] += 1

    def _etag(self, category_id: str) -> str:
        return f'"{category_id}-{self.versions[category_id]}"'

    def _one(self, category_id: str, status: int = 200) -> httpx.Response:
        return httpx.Response(status, json=self.categories[category_id], headers={"ETag": self._etag(category_id)})


@pytest.fixture
def flow(monkeypatch: pytest.MonkeyPatch) -> FakeStackFlow:
    fake = FakeStackFlow()
    credential = StaticToken("static")
    client = StackFlowClient(URL, credential, transport=httpx.MockTransport(fake.handle),
                             limits=RateLimits(10**6, 10**6))  # fmt: skip
    use_client(client)  # tests/unit/conftest.py resets the process after each test
    monkeypatch.setenv("STACKFLOW_URL", URL)
    monkeypatch.setenv("STACKFLOW_TOKEN", "static")
    return fake


def inputs(**fields: Any) -> dict[str, Any]:
    result = IncidentCategoryProvider().check({}, {"name": "network", "label": "Network", **fields})
    assert result.failures == []
    return dict(result.inputs)


def test_an_update_applies_on_top_of_changes_to_other_fields(flow: FakeStackFlow) -> None:
    category_id = flow.add(name="network", label="Network")
    flow.before_patch = lambda cid: (flow.by_hand(cid, description="edited meanwhile"), setattr(flow, "before_patch",
                                                                                                 None))  # fmt: skip
    state = {**inputs(), "created_at": None, "updated_at": None}

    updated = IncidentCategoryProvider().update(category_id, state, inputs(default_priority="P1"))

    assert flow.categories[category_id]["default_priority"] == "P1"
    assert flow.categories[category_id]["description"] == "", "our description is put back in the same update"
    assert updated.outs is not None and updated.outs["default_priority"] == "P1"


@pytest.mark.parametrize("lost", [httpx.ReadTimeout("slow"), httpx.Response(502)], ids=["timeout", "502"])
def test_an_update_whose_response_is_lost_is_settled_by_reading_back(
    flow: FakeStackFlow, monkeypatch: pytest.MonkeyPatch, lost: Any
) -> None:
    category_id = flow.add(name="network", label="Network")
    original = flow.handle
    lose = [True]

    def apply_then_lose(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if request.method == "PATCH" and lose:
            lose.pop()
            if isinstance(lost, Exception):
                raise lost
            return lost
        return response

    client = stackflow_client_for(URL, StaticToken("static"))
    monkeypatch.setattr(client.api._http, "_transport", httpx.MockTransport(apply_then_lose))

    updated = IncidentCategoryProvider().update(category_id, inputs(), inputs(default_priority="P1"))

    assert flow.categories[category_id]["default_priority"] == "P1"
    assert updated.outs is not None and updated.outs["default_priority"] == "P1"
    assert [call for call in flow.calls if call[0] == "PATCH"] == [("PATCH", f"/prod/api/categories/{category_id}")]


def test_an_update_racing_a_change_to_the_same_field_names_it(flow: FakeStackFlow) -> None:
    category_id = flow.add(name="network", label="Network")
    flow.before_patch = lambda cid: flow.by_hand(cid, default_priority="P2")

    with pytest.raises(RefusedError, match=r"someone else changed StackFlow category 'network'.*default_priority"):
        IncidentCategoryProvider().update(category_id, inputs(), inputs(default_priority="P1"))


def test_a_matching_category_is_adopted_without_a_write(flow: FakeStackFlow) -> None:
    category_id = flow.add(name="network", label="Network")

    created = IncidentCategoryProvider().create(inputs())

    assert created.id == category_id
    assert [call for call in flow.calls if call[0] != "GET"] == []


def test_the_subcategory_order_is_not_a_change() -> None:
    provider = IncidentCategoryProvider()
    subs = [{"name": "vpn", "label": "VPN"}, {"name": "dns", "label": "DNS"}]
    state = inputs(subcategories=list(reversed(subs)))

    assert not provider.diff("CAT1", state, inputs(subcategories=subs)).changes
    assert provider.diff("CAT1", state, inputs(name="other")).replaces == ["name"]


def test_dropping_the_assignment_group_clears_it(flow: FakeStackFlow) -> None:
    category_id = flow.add(name="network", label="Network", default_assignment_group="netops")

    IncidentCategoryProvider().update(category_id, inputs(default_assignment_group="netops"), inputs())

    assert flow.categories[category_id]["default_assignment_group"] is None


def test_check_names_each_bad_property_and_what_is_allowed() -> None:
    result = IncidentCategoryProvider().check(
        {},
        {
            "name": "Bad Name",
            "label": "",
            "default_priority": "P5",
            "subcategories": [{"name": "a", "label": "A"}, {"name": "a", "label": "B"}],
            "deletion_policy": "archive",
        },
    )
    found = {failure.property: failure.reason for failure in result.failures}

    assert set(found) == {"name", "label", "default_priority", "subcategories", "deletion_policy"}
    assert "lower-case slug" in found["name"]
    assert "'P1', 'P2', 'P3' or 'P4'" in found["default_priority"]
    assert "repeated: a" in found["subcategories"]
    assert "'deactivate', 'delete' or 'retain'" in found["deletion_policy"]


def test_a_deactivated_matching_category_is_reactivated_without_adopt(flow: FakeStackFlow) -> None:
    category_id = flow.add(name="network", label="Network", active=False)

    created = IncidentCategoryProvider().create(inputs())

    assert created.id == category_id
    assert [call for call in flow.calls if call[0] != "GET"] == [("PATCH", f"/prod/api/categories/{category_id}")]
    assert flow.categories[category_id]["active"] is True
    assert created.outs is not None and created.outs["active"] is True


def test_a_deactivated_category_declared_inactive_is_adopted_without_a_write(flow: FakeStackFlow) -> None:
    category_id = flow.add(name="network", label="Network", active=False)

    created = IncidentCategoryProvider().create(inputs(active=False))

    assert created.id == category_id
    assert [call for call in flow.calls if call[0] != "GET"] == []
    assert flow.categories[category_id]["active"] is False


def test_a_deactivated_category_differing_in_another_field_still_needs_adopt(flow: FakeStackFlow) -> None:
    category_id = flow.add(name="network", label="Network", default_priority="P4", active=False)

    with pytest.raises(RefusedError, match="already has a category named 'network'") as raised:
        IncidentCategoryProvider().create(inputs())

    assert "default_priority: StackFlow has 'P4', the program 'P3'" in str(raised.value)
    assert "Set adopt=True" in str(raised.value)
    assert [call for call in flow.calls if call[0] != "GET"] == []
    assert flow.categories[category_id]["active"] is False


def test_deactivating_an_active_category_still_needs_adopt(flow: FakeStackFlow) -> None:
    category_id = flow.add(name="network", label="Network")

    with pytest.raises(RefusedError, match=r"active: StackFlow has True, the program False.*Set adopt=True"):
        IncidentCategoryProvider().create(inputs(active=False))

    assert [call for call in flow.calls if call[0] != "GET"] == []
    assert flow.categories[category_id]["active"] is True


def test_state_recorded_without_a_deletion_policy_deactivates_as_the_model_defaults(flow: FakeStackFlow) -> None:
    provider = IncidentCategoryProvider()
    created = provider.create(inputs())
    assert created.outs is not None
    state = {key: value for key, value in created.outs.items() if key != "deletion_policy"}  # an earlier version's

    assert not provider.diff(created.id, state, inputs()).changes, "a missing field compares as its default"
    provider.delete(created.id, state)

    assert flow.categories[created.id]["active"] is False
    assert [call[0] for call in flow.calls if call[0] != "GET"] == ["POST", "PATCH"]


def test_state_that_no_longer_validates_still_reads_and_deletes(flow: FakeStackFlow) -> None:
    category_id = flow.add(name="Data Center", label="DC")  # a name today's rules refuse
    state = {"name": "Data Center", "label": "DC", "subcategories": [{"name": "rack", "label": ""}],
             "deletion_policy": "delete", "force_delete": True, "__provider": "x", "created_at": None}  # fmt: skip
    provider = IncidentCategoryProvider()

    read = provider.read(category_id, state)
    provider.delete(category_id, state)

    assert read.outs is not None and read.outs["name"] == "Data Center" and read.outs["deletion_policy"] == "delete"
    assert "__provider" not in read.outs
    assert ("DELETE", f"/prod/api/categories/{category_id}") in flow.calls


@pytest.mark.parametrize("count", [10, 50, 200, 500])
def test_an_up_of_n_categories_lists_them_at_most_once_per_hundred(flow: FakeStackFlow, count: int) -> None:
    provider = IncidentCategoryProvider()
    for number in range(0, count, 2):  # every other one exists already and matches: adopted without a write
        flow.add(name=f"cat-{number}", label=f"Cat {number}")
    declared = [inputs(name=f"cat-{number}", label=f"Cat {number}") for number in range(count)]

    created = [provider.create(props) for props in declared]
    lists_after_creates = flow.calls.count(("GET", "/prod/api/categories"))
    pairs = list(zip(created, declared, strict=True))
    updated = [provider.update(made.id, props, {**props, "label": "Changed"}) for made, props in pairs]
    for made, props in pairs[::3]:
        provider.delete(made.id, {**props, "deletion_policy": "delete", "force_delete": True})
    read = [provider.read(made.id, {**props, "label": "Changed"}) for made, props in pairs]

    assert lists_after_creates <= -(-count // 100) + 2
    assert flow.calls.count(("GET", "/prod/api/categories")) == lists_after_creates, "writes keep the snapshot"
    assert [call[0] for call in flow.calls].count("POST") == count // 2
    assert all(result.outs is not None and result.outs["label"] == "Changed" for result in updated)
    assert [result.id for result in read] == [made.id if made.id in flow.categories else None for made in created]
    assert all(result.outs == {} or result.outs["label"] == "Changed" for result in read), "read from the snapshot"


def test_the_diffs_of_a_run_verify_the_credential_once_and_make_no_client_after_that(
    flow: FakeStackFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    make_client = IncidentCategoryProvider._client
    monkeypatch.setattr(
        IncidentCategoryProvider, "_client", lambda self, conn: made.append(conn) or make_client(self, conn)
    )
    declared = [inputs(name=f"cat-{number}", label=f"Cat {number}") for number in range(200)]

    # One provider object per resource, as the engine unpickles them.
    results = [IncidentCategoryProvider(f"c{n}").diff(f"CAT{n}", props, props) for n, props in enumerate(declared)]

    assert [result.changes for result in results] == [False] * 200
    assert flow.calls == [("GET", "/prod/api/categories")], "one call verified the credential"
    assert made == [None], "the later diffs make no client from the settings"
