"""The StackFlow API client, against an in-memory StackFlow behind httpx.MockTransport."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from stackfox_provider.clients.http import AmbiguousWriteError, ApiError, RetryPolicy
from stackfox_provider.clients.ratelimit import RateLimits
from stackfox_provider.clients.stackflow import (
    Category,
    CategorySnapshot,
    ConflictError,
    Incident,
    NotFoundError,
    PreconditionFailed,
    StackFlowClient,
    Subcategory,
    reset_stackflow_clients,
    stackflow_client_for,
)
from stackfox_provider.clients.stackflow.auth import StaticToken
from stackfox_provider.clients.stackflow.client import PAGE_LIMIT

BASE = "http://stackflow.test/prod/api"


def error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message, "request_id": f"req-{status}"}})


@dataclass
class FakeStackFlow:
    """Just enough of the StackFlow contract: pages, flat creates, ETags, If-Match, 409s, open incidents."""

    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    list_delay: float = 0.0
    listing_started: threading.Event = field(default_factory=threading.Event)
    hold_listings: threading.Event | None = None  # set it to let held listings answer (as they were when held)
    ignore_name_filter: bool = False
    lose_next_write_response: bool = False
    next_write_status: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, **fields: Any) -> dict[str, Any]:
        category = {
            "id": f"CAT{len(self.categories) + 1:07d}",
            "name": name,
            "label": name.title(),
            "description": "",
            "subcategories": [],
            "default_priority": "P3",
            "default_assignment_group": None,
            "active": True,
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            **fields,
        }
        self.categories[category["id"]] = category
        return category

    def calls(self, method: str, path: str = "/prod/api/categories") -> list[httpx.Request]:
        return [request for request in self.requests if request.method == method and request.url.path == path]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
        path = request.url.path.removeprefix("/prod/api")
        if request.method == "GET" and path in ("/categories", "/incidents"):
            listed = self._list(request, path)
            self.listing_started.set()
            if self.hold_listings is not None:
                assert self.hold_listings.wait(5)
            time.sleep(self.list_delay)
            return listed
        if request.method != "GET" and self.next_write_status is not None:
            status, self.next_write_status = self.next_write_status, None
            return error(status, "unavailable", "try later")
        with self.lock:
            response = self._one(request, path)
        if self.lose_next_write_response and request.method != "GET":
            self.lose_next_write_response = False
            raise httpx.ReadTimeout("response lost", request=request)
        return response

    def _list(self, request: httpx.Request, path: str) -> httpx.Response:
        query = request.url.params
        items = list(self.categories.values()) if path == "/categories" else self.incidents
        if path == "/categories" and "name" in query and not self.ignore_name_filter:
            items = [item for item in items if item["name"] == query["name"]]
        if path == "/incidents" and "category" in query:
            items = [item for item in items if item["category"] == query["category"]]
        page, limit = int(query.get("page", 1)), int(query.get("limit", 20))
        assert limit <= 100
        data = items[(page - 1) * limit : page * limit]
        body = {"data": data, "total": len(items), "page": page, "limit": limit, "has_more": page * limit < len(items)}
        return httpx.Response(200, json=body, headers={"ETag": '"list"'})

    def _one(self, request: httpx.Request, path: str) -> httpx.Response:
        if request.method == "POST" and path == "/categories":
            body = json.loads(request.content)
            if any(category["name"] == body["name"] for category in self.categories.values()):
                return error(409, "conflict", f"a category named {body['name']} exists")
            return self._category(self.add(**body), 201)
        category = self.categories.get(path.removeprefix("/categories/"))
        if category is None:
            return error(404, "not_found", "no such category")
        if request.method == "GET":
            return self._category(category)
        if request.method == "PATCH":
            if request.headers.get("if-match") not in (None, etag(category)):
                return error(412, "precondition_failed", "the category changed")
            category.update(json.loads(request.content), updated_at="2024-02-02T00:00:00Z")
            return self._category(category)
        open_ones = [i for i in self.incidents if i["category"] == category["name"] and i["state"] != "closed"]
        if open_ones and request.url.params.get("force") != "true":
            return error(409, "category_in_use", f"{len(open_ones)} open incidents use it")
        del self.categories[category["id"]]
        return httpx.Response(204)

    @staticmethod
    def _category(category: dict[str, Any], status: int = 200) -> httpx.Response:
        return httpx.Response(status, json=category, headers={"ETag": etag(category)})


def etag(category: dict[str, Any]) -> str:
    return '"' + hashlib.sha256(json.dumps(category, sort_keys=True).encode()).hexdigest()[:16] + '"'


@pytest.fixture
def server() -> FakeStackFlow:
    return FakeStackFlow()


@pytest.fixture
def client(server: FakeStackFlow) -> Iterator[StackFlowClient]:
    created = StackFlowClient(
        BASE,
        StaticToken("test-token"),
        transport=httpx.MockTransport(server),
        limits=RateLimits(10_000, 10_000),
        retry=RetryPolicy(backoff_seconds=0.001, max_backoff_seconds=0.002),
    )
    yield created
    created.close()


def clocked_client(server: FakeStackFlow, now: list[float]) -> StackFlowClient:
    """A client of ``server`` whose clock reads ``now[0]``."""
    return StackFlowClient(
        BASE, StaticToken("t"), transport=httpx.MockTransport(server), limits=RateLimits(10**6, 10**6),
        clock=lambda: now[0],
    )  # fmt: skip


def incident(number: int, category: str, state: str) -> dict[str, Any]:
    return {"id": f"i{number}", "number": f"INC{number:07d}", "category": category, "state": state, "priority": "P2"}


# --- reads ---


def test_listing_walks_every_page_100_at_a_time(server: FakeStackFlow, client: StackFlowClient) -> None:
    for number in range(250):
        server.add(f"cat-{number}")

    categories = client.list_categories()

    assert [category.name for category in categories] == [f"cat-{number}" for number in range(250)]
    pages = [dict(request.url.params) for request in server.calls("GET")]
    assert pages == [{"page": str(page), "limit": "100"} for page in (1, 2, 3)]
    assert all(request.headers["authorization"] == "Bearer test-token" for request in server.requests)


def test_get_category_returns_the_model_and_its_etag_or_none(server: FakeStackFlow, client: StackFlowClient) -> None:
    stored = server.add("network", subcategories=[{"name": "dns", "label": "DNS", "extra": 1}], owner="someone")

    found = client.get_category(stored["id"])

    assert found is not None
    category, tag = found
    assert category.name == "network" and category.subcategories == (Subcategory(name="dns", label="DNS"),)
    assert tag == etag(stored)
    assert client.get_category("CAT9999999") is None


def test_find_by_name_uses_the_filter_and_checks_names_itself(server: FakeStackFlow, client: StackFlowClient) -> None:
    for number in range(150):
        server.add(f"cat-{number}")

    found = client.find_category_by_name("cat-120")
    assert found is not None and found.name == "cat-120"
    assert dict(server.calls("GET")[-1].url.params) == {"name": "cat-120", "page": "1", "limit": "100"}

    server.ignore_name_filter = True
    assert client.find_category_by_name("cat-149") == Category.model_validate(server.categories["CAT0000150"])
    assert client.find_category_by_name("missing") is None


def test_open_incidents_are_those_neither_resolved_nor_closed(server: FakeStackFlow, client: StackFlowClient) -> None:
    states = ["new", "in_progress", "on_hold", "resolved", "closed"]
    server.incidents = [incident(number, "network", states[number % 5]) for number in range(150)]
    server.incidents.append(incident(999, "database", "new"))

    found = client.open_incidents("network")

    assert len(found) == 90 and all(isinstance(item, Incident) and item.is_open for item in found)
    assert {item.state for item in found} == {"new", "in_progress", "on_hold"}
    assert len(server.calls("GET", "/prod/api/incidents")) == 2


# --- writes ---


def test_create_returns_the_flat_object_and_a_duplicate_is_a_conflict(
    server: FakeStackFlow, client: StackFlowClient
) -> None:
    category, tag = client.create_category({"name": "network", "label": "Network", "default_priority": "P2"})

    assert category.id == "CAT0000001" and category.default_priority == "P2"
    assert tag == etag(server.categories["CAT0000001"])
    with pytest.raises(ConflictError) as caught:
        client.create_category({"name": "network", "label": "Again"})
    assert caught.value.status == 409 and caught.value.request_id == "req-409"
    assert "a category named network exists" in str(caught.value)


def test_whole_numbers_from_pulumi_go_out_as_json_integers(server: FakeStackFlow, client: StackFlowClient) -> None:
    category, tag = client.create_category({"name": "n", "label": "N", "sla_minutes": 30.0, "weight": 0.5})
    client.update_category(category.id, {"sla_minutes": 45.0}, tag)

    bodies = [request.content for request in server.requests if request.method in ("POST", "PATCH")]
    assert b'"sla_minutes": 30,' in bodies[0] or b'"sla_minutes":30,' in bodies[0]
    assert b"0.5" in bodies[0] and b"45.0" not in bodies[1] and b"45" in bodies[1]


def test_a_create_whose_response_is_lost_is_ambiguous_and_not_retried(
    server: FakeStackFlow, client: StackFlowClient
) -> None:
    server.lose_next_write_response = True

    with pytest.raises(AmbiguousWriteError):
        client.create_category({"name": "network", "label": "Network"})

    assert len(server.calls("POST")) == 1
    found = client.find_category_by_name("network")  # what the caller does next: look it up by name
    assert found is not None and len(server.categories) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_gateway_error_on_create_is_ambiguous_too(
    server: FakeStackFlow, client: StackFlowClient, status: int
) -> None:
    server.next_write_status = status

    with pytest.raises(AmbiguousWriteError) as caught:
        client.create_category({"name": "network", "label": "Network"})

    assert caught.value.status == status
    assert len(server.calls("POST")) == 1


def test_update_sends_if_match_and_a_stale_etag_is_precondition_failed(
    server: FakeStackFlow, client: StackFlowClient
) -> None:
    stored = server.add("network")
    old_tag = etag(stored)

    category, new_tag = client.update_category(stored["id"], {"label": "Networking"}, old_tag)

    assert category.label == "Networking" and new_tag == etag(stored) != old_tag
    assert server.calls("PATCH", f"/prod/api/categories/{stored['id']}")[0].headers["if-match"] == old_tag
    with pytest.raises(PreconditionFailed) as caught:
        client.update_category(stored["id"], {"label": "Mine"}, old_tag)
    assert isinstance(caught.value, ApiError) and caught.value.status == 412
    assert server.categories[stored["id"]]["label"] == "Networking"
    with pytest.raises(NotFoundError):
        client.update_category("CAT9999999", {"label": "x"}, None)


def test_delete_tolerates_a_missing_category_and_needs_force_while_incidents_are_open(
    server: FakeStackFlow, client: StackFlowClient
) -> None:
    stored = server.add("network")
    server.incidents = [incident(1, "network", "new")]

    with pytest.raises(ConflictError, match="1 open incidents use it"):
        client.delete_category(stored["id"])
    assert client.delete_category(stored["id"], force=True) is True
    assert server.calls("DELETE", f"/prod/api/categories/{stored['id']}")[-1].url.params["force"] == "true"
    assert client.delete_category(stored["id"]) is False


def test_a_delete_whose_response_is_lost_is_retried_and_finds_it_gone(
    server: FakeStackFlow, client: StackFlowClient
) -> None:
    stored = server.add("network")
    server.lose_next_write_response = True

    assert client.delete_category(stored["id"]) is False
    assert len(server.calls("DELETE", f"/prod/api/categories/{stored['id']}")) == 2
    assert server.categories == {}


# --- the snapshot ---


def test_a_snapshot_of_200_categories_costs_two_list_calls_however_many_lookups(
    server: FakeStackFlow, client: StackFlowClient
) -> None:
    for number in range(200):
        server.add(f"cat-{number}")

    for number in range(200):
        snapshot = client.category_snapshot()
        by_id = snapshot.by_id(f"CAT{number + 1:07d}")
        assert by_id is not None and by_id.name == f"cat-{number}"
        assert snapshot.by_name(f"cat-{number}") == by_id

    assert len(snapshot) == 200 and snapshot.by_name("missing") is None
    assert len(server.calls("GET")) == 2


def test_threads_asking_at_once_share_one_listing(server: FakeStackFlow, client: StackFlowClient) -> None:
    for number in range(150):
        server.add(f"cat-{number}")
    server.list_delay = 0.02
    start = threading.Barrier(8)
    sizes: list[int] = []

    def read() -> None:
        start.wait()
        sizes.append(len(client.category_snapshot()))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sizes == [150] * 8
    assert len(server.calls("GET")) == 2


def listed_as_on_server(server: FakeStackFlow, snapshot: CategorySnapshot) -> None:
    """The snapshot holds exactly what the server does, in its order."""
    assert list(snapshot.categories) == [Category.model_validate(c) for c in server.categories.values()]
    assert all(snapshot.by_name(c["name"]) == snapshot.by_id(c["id"]) is not None for c in server.categories.values())


@pytest.mark.parametrize("write", ["create", "update", "delete", "delete of a missing one"])
def test_a_write_applies_its_answer_to_the_snapshot_instead_of_dropping_it(
    server: FakeStackFlow, client: StackFlowClient, write: str
) -> None:
    stored = server.add("network")
    server.add("storage")
    before = client.category_snapshot()

    if write == "create":
        client.create_category({"name": "database", "label": "Database"})
    elif write == "update":
        client.update_category(stored["id"], {"label": "Networking"}, etag(stored))
    elif write == "delete":
        client.delete_category(stored["id"])
    else:
        del server.categories[stored["id"]]  # someone else deleted it: the DELETE finds it gone
        assert client.delete_category(stored["id"]) is False

    after = client.category_snapshot()
    assert len(server.calls("GET")) == 1, "no second listing"
    listed_as_on_server(server, after)
    assert [c.label for c in before.categories] == ["Network", "Storage"], "a snapshot a thread holds never changes"


@pytest.mark.parametrize("write", ["conflict", "stale etag", "gone", "lost response", "gateway error", "in use"])
def test_a_refused_write_or_one_of_unknown_outcome_drops_the_snapshot(
    server: FakeStackFlow, client: StackFlowClient, write: str
) -> None:
    stored = server.add("network")
    client.category_snapshot()
    server.add("storage")  # made after the listing: only a new listing shows it
    calls = {
        "conflict": lambda: client.create_category({"name": "network", "label": "Again"}),
        "stale etag": lambda: client.update_category(stored["id"], {"label": "Mine"}, '"stale"'),
        "gone": lambda: client.update_category("CAT9999999", {"label": "x"}, None),
        "lost response": lambda: client.create_category({"name": "database", "label": "Database"}),
        "gateway error": lambda: client.update_category(stored["id"], {"label": "Mine"}, None),
        "in use": lambda: client.delete_category(stored["id"]),
    }
    server.lose_next_write_response = write == "lost response"
    server.next_write_status = 502 if write == "gateway error" else None
    server.incidents = [incident(1, "network", "new")] if write == "in use" else []

    with pytest.raises(ApiError):
        calls[write]()

    listed_as_on_server(server, client.category_snapshot())
    assert len(server.calls("GET")) == 2


def test_an_update_of_a_category_the_snapshot_lacks_drops_it(server: FakeStackFlow, client: StackFlowClient) -> None:
    client.category_snapshot()
    theirs = server.add("network")  # created by someone else after the listing

    client.update_category(theirs["id"], {"label": "Networking"}, None)

    listed_as_on_server(server, client.category_snapshot())
    assert len(server.calls("GET")) == 2, "what else does it lack? it lists again"


@pytest.mark.parametrize("count", [10, 50, 200, 500])
def test_creating_updating_and_deleting_n_categories_lists_them_once(server: FakeStackFlow, count: int) -> None:
    now = [100.0]
    client = clocked_client(server, now)
    for number in range(count // 2):  # half of them exist already
        server.add(f"cat-{number}")
    names = [f"cat-{number}" for number in range(count)]

    for name in names:  # what IncidentCategory's create does, however long the run takes
        now[0] += 1.0
        if client.category_named(name) is None:
            client.create_category({"name": name, "label": name.title()})
    for name in names:
        found = client.category_named(name)
        assert found is not None
        client.update_category(found.id, {"label": f"{name} (updated)"}, None)
    for name in names[::2]:
        found = client.category_named(name)
        assert found is not None and client.delete_category(found.id)

    pages = max(1, -(-(count // 2) // PAGE_LIMIT))
    assert len(server.calls("GET")) == pages, "one listing, of what existed before"
    listed_as_on_server(server, client.category_snapshot(max_age=math.inf))  # what the writes made of the listing
    assert len(server.calls("GET")) == pages


def test_an_empty_listing_serves_creates_like_any_other(server: FakeStackFlow) -> None:
    now = [100.0]
    client = clocked_client(server, now)

    assert client.category_named("network") is None
    now[0] += 60
    assert client.category_named("storage") is None

    assert len(server.calls("GET")) == 1


def test_a_name_found_in_a_snapshot_older_than_max_age_is_read_again_by_id(server: FakeStackFlow) -> None:
    now = [100.0]
    client = clocked_client(server, now)
    network, storage = server.add("network"), server.add("storage")
    assert client.category_named("network") is not None
    server.categories[network["id"]]["label"] = "Changed by hand"
    del server.categories[storage["id"]]
    now[0] += 31

    found = client.category_named("network")
    assert found is not None and found.label == "Changed by hand"
    assert client.category_named("missing") is None, "a miss needs no call: a POST of a taken name answers 409"
    assert client.category_named("storage") is None, "deleted since"
    paths = ["/prod/api/categories", f"/prod/api/categories/{network['id']}", f"/prod/api/categories/{storage['id']}"]
    assert [request.url.path for request in server.requests] == paths
    assert client.category_named("storage") is None and len(server.calls("GET")) == 2, "that miss dropped it"


def test_a_snapshot_expires_after_max_age(server: FakeStackFlow) -> None:
    now = [100.0]
    client = clocked_client(server, now)
    server.add("network")

    client.category_snapshot(max_age=30)
    now[0] += 30
    client.category_snapshot(max_age=30)
    assert len(server.calls("GET")) == 1
    now[0] += 0.1
    client.category_snapshot(max_age=30)
    assert len(server.calls("GET")) == 2


@pytest.mark.parametrize("lost", [False, True], ids=["answered", "lost response"])
def test_a_listing_that_overlaps_a_write_is_kept_with_its_answer_applied(
    server: FakeStackFlow, client: StackFlowClient, lost: bool
) -> None:
    network = server.add("network")
    server.hold_listings = threading.Event()
    reader = threading.Thread(target=client.category_snapshot)
    reader.start()
    assert server.listing_started.wait(5)  # listed already, the answer not yet received
    client.update_category(network["id"], {"label": "Networking"}, None)
    server.lose_next_write_response = lost
    with contextlib.suppress(AmbiguousWriteError):
        client.create_category({"name": "database", "label": "Database"})
    server.hold_listings.set()
    reader.join()

    listed_as_on_server(server, client.category_snapshot())
    assert len(server.calls("GET")) == (2 if lost else 1), "a write of unknown outcome spoils the listing"


# --- models and the registry ---


def test_models_ignore_unknown_fields_and_fill_optional_ones() -> None:
    category = Category.model_validate({"id": "CAT1", "name": "n", "label": "N", "color": "red"})
    assert category.active is True and category.subcategories == () and category.default_priority == "P3"
    assert "color" not in category.model_dump()
    closed = Incident.model_validate({"id": "i", "number": "INC1", "category": "n", "state": "closed", "x": 1})
    assert not closed.is_open


def test_one_client_per_base_url_and_credential_identity() -> None:
    reset_stackflow_clients()
    try:
        first = stackflow_client_for(BASE, StaticToken("a"))
        assert stackflow_client_for(BASE + "/", StaticToken("a")) is first
        assert stackflow_client_for(BASE, StaticToken("b")) is not first
        assert stackflow_client_for("http://other.test/prod/api", StaticToken("a")) is not first
    finally:
        reset_stackflow_clients()
