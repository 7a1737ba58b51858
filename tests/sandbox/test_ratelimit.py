"""Per-token sliding-window rate limits and their headers."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import httpx

from stackfox_sandbox.ratelimit import SlidingWindowLimiter, limit_class
from stackfox_sandbox.testing import SandboxHandle

Unique = Callable[[str], str]


def _limit_headers(response: httpx.Response) -> tuple[int, int, int]:
    return (
        int(response.headers["x-ratelimit-limit"]),
        int(response.headers["x-ratelimit-remaining"]),
        int(response.headers["x-ratelimit-reset"]),
    )


def test_sliding_window_unit() -> None:
    now = [1000.0]
    limiter = SlidingWindowLimiter(clock=lambda: now[0])
    results = []
    for offset in (0.0, 10.0, 20.0):
        now[0] = 1000.0 + offset
        results.append(limiter.hit("k", "write", 3, 60.0))
    assert [r.remaining for r in results] == [2, 1, 0]
    assert results[0].reset == 1060
    now[0] = 1030.0
    refused = limiter.hit("k", "write", 3, 60.0)
    assert not refused.allowed and refused.retry_after == 30 and refused.reset == 1060
    # The window slides: at t=1060 the first request leaves it, and only one slot frees up.
    now[0] = 1060.0
    assert limiter.hit("k", "write", 3, 60.0).allowed
    assert not limiter.hit("k", "write", 3, 60.0).allowed
    # Other keys and classes have their own windows.
    assert limiter.hit("other", "write", 3, 60.0).allowed
    assert limiter.hit("k", "read", 3, 60.0).allowed
    assert limit_class("GET") == "read" and limit_class("HEAD") == "read" and limit_class("PATCH") == "write"


def test_default_limits_and_headers_on_every_response(sandbox: SandboxHandle) -> None:
    with sandbox.stackflow() as client:
        ok = client.get("/categories")
        missing = client.get("/categories/CAT9999999")
        invalid = client.post("/categories", json={})
    unauthenticated = httpx.get(f"{sandbox.info.stackflow_base_url}/categories")
    with sandbox.incidentfox() as client:
        config = client.get("/config/me")
    now = time.time()
    for response in (ok, missing, invalid, unauthenticated, config):
        limit, remaining, reset = _limit_headers(response)
        assert 0 <= remaining < limit
        assert now - 1 <= reset <= now + 62
    assert _limit_headers(ok)[0] == 100 and _limit_headers(missing)[1] == 98
    assert _limit_headers(invalid)[0] == 20
    assert _limit_headers(config)[0] == 100


def test_write_limit_refuses_with_429_and_retry_after(sandbox: SandboxHandle, unique: Unique) -> None:
    sandbox.update_settings(write_limit=3)
    names = [unique("limited") for _ in range(4)]
    with sandbox.stackflow() as client:
        responses = [client.post("/categories", json={"name": name, "label": "x"}) for name in names]
        assert [r.status_code for r in responses] == [201, 201, 201, 429]
        refused = responses[-1]
        assert refused.json()["error"]["code"] == "rate_limited"
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 61
        limit, remaining, reset = _limit_headers(refused)
        assert (limit, remaining) == (3, 0)
        assert math.isclose(reset, time.time() + retry_after, abs_tol=3)
        # The refused write was not applied, and reads have their own window.
        assert client.get("/categories", params={"name": names[-1]}).json()["total"] == 0
    log = sandbox.requests_log("stackflow")
    assert [entry["status"] for entry in log if entry["method"] == "POST"] == [201, 201, 201, 429]


def test_limits_are_per_token(sandbox: SandboxHandle) -> None:
    sandbox.update_settings(read_limit=2)
    with sandbox.stackflow() as user:
        assert [user.get("/categories").status_code for _ in range(3)] == [200, 200, 429]
    with sandbox.stackflow(sandbox.client_credentials_token()) as machine:
        assert machine.get("/categories").status_code == 200
    with sandbox.incidentfox() as team:
        assert [team.get("/config/me").status_code for _ in range(3)] == [200, 200, 429]
    with sandbox.incidentfox(sandbox.info.incidentfox_org_admin_token) as admin:
        assert admin.get("/auth/me").status_code == 200


def test_time_scale_makes_the_window_slide_fast(sandbox: SandboxHandle, wait_until: Callable[..., bool]) -> None:
    # time_scale=60: a "minute" lasts one second.
    sandbox.update_settings(read_limit=2, time_scale=60)
    with sandbox.incidentfox() as client:
        assert [client.get("/auth/me").status_code for _ in range(2)] == [200, 200]
        refused = client.get("/auth/me")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "rate_limited"
        assert wait_until(lambda: client.get("/auth/me").status_code == 200, timeout=10, interval=0.25)


def test_control_endpoint_is_not_limited_or_logged(sandbox: SandboxHandle) -> None:
    sandbox.update_settings(read_limit=1)
    for _ in range(5):
        response = httpx.get(f"{sandbox.info.control_url}/state")
        assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers
    with sandbox.stackflow() as client:
        assert client.get("/categories").status_code == 200
    assert [entry["path"] for entry in sandbox.requests_log()] == ["/prod/api/categories"]


def test_failed_authentication_counts_against_an_anonymous_window(sandbox: SandboxHandle) -> None:
    sandbox.update_settings(read_limit=2)
    url = f"{sandbox.info.stackflow_base_url}/categories"
    statuses = [httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    with sandbox.stackflow() as client:
        assert client.get("/categories").status_code == 200
