"""The shared HTTP policy, against httpx.MockTransport."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from stackfox_provider.clients.http import (
    AmbiguousWriteError,
    ApiClient,
    ApiError,
    Credential,
    RetryPolicy,
    rate_limit_wait,
)
from stackfox_provider.clients.ratelimit import RateBudget, RateLimits

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeCredential:
    tokens: list[str] = field(default_factory=lambda: ["t1"])
    renewals: int = 0

    def authorization(self) -> str:
        return f"Bearer {self.tokens[0]}"

    def renew(self) -> bool:
        self.renewals += 1
        if len(self.tokens) > 1:
            self.tokens.pop(0)
            return True
        return False

    @property
    def fingerprint(self) -> str:
        return f"fake-{id(self)}"


def scripted(*steps: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering each request with the next step; it records what it received."""
    seen: list[httpx.Request] = []
    queue = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = queue.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return handler, seen


def client(handler: Handler, credential: Credential | None = None, **retry: float) -> ApiClient:
    return ApiClient(
        "TestAPI",
        "http://api.test/v1",
        credential or FakeCredential(),
        retry=RetryPolicy(backoff_seconds=0.001, max_backoff_seconds=0.002, **retry),  # type: ignore[arg-type]
        transport=httpx.MockTransport(handler),
        sleep=lambda _: None,
    )


def test_reads_are_retried_on_5xx_and_connection_errors() -> None:
    handler, seen = scripted(
        httpx.ConnectError("refused"),
        httpx.Response(502),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json={"ok": True}),
    )

    response = client(handler).request("GET", "/things")

    assert response.json() == {"ok": True}
    assert len(seen) == 4
    assert all(r.headers["Authorization"] == "Bearer t1" for r in seen)


def test_reads_give_up_after_the_attempts_with_the_api_message() -> None:
    handler, seen = scripted(
        *[httpx.Response(503, json={"error": {"code": "unavailable", "message": "down", "request_id": "r1"}})] * 3
    )

    with pytest.raises(ApiError) as raised:
        client(handler, attempts=3).request("GET", "/things")

    assert len(seen) == 3
    assert str(raised.value) == "TestAPI GET /things failed with HTTP 503 (unavailable): down [request id r1]"


def test_a_write_is_not_retried_on_500() -> None:
    handler, seen = scripted(httpx.Response(500, text="Internal Server Error"), httpx.Response(200))

    with pytest.raises(ApiError, match="HTTP 500"):
        client(handler).request("POST", "/things", json={})

    assert len(seen) == 1


@pytest.mark.parametrize("first", [httpx.Response(503), httpx.ConnectError("refused")], ids=["503", "refused"])
def test_a_write_is_retried_when_the_server_cannot_have_applied_it(first: httpx.Response | Exception) -> None:
    handler, seen = scripted(first, httpx.Response(201, json={"id": "x"}))

    assert client(handler).request("POST", "/things", json={}).status_code == 201
    assert len(seen) == 2


@pytest.mark.parametrize(
    "lost", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")], ids=["timeout", "dropped"]
)
def test_a_write_whose_response_is_lost_is_ambiguous_not_retried(lost: Exception) -> None:
    handler, seen = scripted(lost, httpx.Response(201))

    with pytest.raises(AmbiguousWriteError, match="may or may not have been applied"):
        client(handler).request("POST", "/things", json={})

    assert len(seen) == 1


def test_a_write_declared_idempotent_is_retried_like_a_read() -> None:
    handler, seen = scripted(httpx.ReadTimeout("slow"), httpx.Response(200))

    assert client(handler).request("PATCH", "/config", json={}, idempotent=True).status_code == 200
    assert len(seen) == 2


def test_429_waits_as_told_and_holds_back_the_credentials_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    paused: list[float] = []
    monkeypatch.setattr(RateBudget, "pause_for", lambda self, seconds: paused.append(seconds))
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(201))

    assert client(handler).request("POST", "/things", json={}).status_code == 201
    assert paused == [7.0]
    assert len(seen) == 2


def test_a_429_asking_for_too_long_a_wait_is_reported() -> None:
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "3600"}, json={"detail": "slow down"}))

    with pytest.raises(ApiError, match="HTTP 429: slow down"):
        client(handler).request("GET", "/things")


def test_a_401_renews_the_credential_once() -> None:
    credential = FakeCredential(tokens=["old", "new"])
    handler, seen = scripted(httpx.Response(401), httpx.Response(200))

    assert client(handler, credential).request("GET", "/things").status_code == 200
    assert [r.headers["Authorization"] for r in seen] == ["Bearer old", "Bearer new"]


def test_a_second_401_is_reported() -> None:
    credential = FakeCredential(tokens=["old", "new"])
    handler, seen = scripted(httpx.Response(401), httpx.Response(401, json={"detail": "Invalid token"}))

    with pytest.raises(ApiError, match="HTTP 401: Invalid token"):
        client(handler, credential).request("GET", "/things")
    assert credential.renewals == 1
    assert len(seen) == 2


def test_accepted_statuses_come_back_instead_of_raising() -> None:
    handler, _ = scripted(httpx.Response(404))

    assert client(handler).request("GET", "/gone", accept=frozenset({404})).status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"detail": "Not Found"}, "Not Found"),
        ({"detail": [{"loc": ["body", "config"], "msg": "Field required"}]}, "body.config: Field required"),
        ({"detail": {"error": "dependency_validation_failed", "message": "mcp x unknown"}}, "mcp x unknown"),
        ({"error": {"code": "invalid_field", "message": "immutable", "field": "team_name"}}, "team_name: immutable"),
    ],
)
def test_error_bodies_of_both_dialects_are_understood(body: object, message: str) -> None:
    handler, _ = scripted(httpx.Response(400, json=body, headers={"x-request-id": "req-9"}))

    with pytest.raises(ApiError) as raised:
        client(handler).request("GET", "/x")

    assert raised.value.message == message
    assert raised.value.request_id == "req-9"


def test_rate_limit_wait_reads_seconds_dates_and_reset_epochs() -> None:
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)

    assert rate_limit_wait({"retry-after": "3"}) == 3.0
    assert 8 <= (rate_limit_wait({"retry-after": in_ten}) or 0) <= 10
    assert 18 <= (rate_limit_wait({"x-ratelimit-reset": str(int(time.time()) + 20)}) or 0) <= 20
    assert rate_limit_wait({}) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_budget_keeps_writes_under_the_limit_in_any_minute() -> None:
    clock = FakeClock()
    budget = RateBudget(RateLimits(reads_per_minute=100, writes_per_minute=20), clock=clock, sleep=clock.sleep)

    sent = []
    for _ in range(45):
        budget.acquire("write")
        sent.append(clock.now)

    assert sent[19] == 1000.0 and sent[20] == 1061.0 and sent[40] == 1122.0
    for i in range(len(sent) - 20):
        assert sent[i + 20] - sent[i] >= 60.0


def test_reads_and_writes_have_separate_budgets_and_a_pause_holds_both() -> None:
    clock = FakeClock()
    budget = RateBudget(RateLimits(reads_per_minute=2, writes_per_minute=1), clock=clock, sleep=clock.sleep)

    budget.acquire("write")
    budget.acquire("read")
    budget.acquire("read")
    assert clock.now == 1000.0

    budget.pause_for(5)
    assert budget.acquire("read") == 61.0  # the window, which is longer than the pause
    clock.now = 2000.0
    budget.pause_for(5)
    assert budget.acquire("write") == 5.0


class LoginRefused(Exception):
    pass


@dataclass
class SlowLogin:
    """A credential whose first ``authorization()`` is a login taking ``seconds`` on the fake clock, or failing."""

    clock: FakeClock
    seconds: float = 5.0
    refusals: int = 0
    logged_in: bool = False

    def authorization(self) -> str:
        if not self.logged_in:
            self.clock.now += self.seconds
            if self.refusals:
                self.refusals -= 1
                raise LoginRefused("wrong password")
            self.logged_in = True
        return "Bearer fresh"

    def renew(self) -> bool:
        return False

    @property
    def fingerprint(self) -> str:
        return f"slow-{id(self)}"


def budgeted_client(credential: SlowLogin, sent: list[float], reads_per_minute: int) -> ApiClient:
    """A client whose budget runs on the credential's fake clock; ``sent`` gets the clock at each request."""

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(credential.clock.now)
        return httpx.Response(200)

    api = client(handler, credential)
    limits = RateLimits(reads_per_minute=reads_per_minute, writes_per_minute=1)
    api.budget = RateBudget(limits, clock=credential.clock, sleep=credential.clock.sleep)
    return api


def test_the_budget_slot_is_taken_once_the_login_returned() -> None:
    credential = SlowLogin(FakeClock(), seconds=5.0)
    sent: list[float] = []
    api = budgeted_client(credential, sent, reads_per_minute=1)

    api.request("GET", "/things")  # logs in for 5 s first
    api.request("GET", "/things")

    # The window counts from when the first request left (1005), as the server counts from its arrival: a slot
    # taken before the login (1000) would have let the second go at 1061, inside the server's minute.
    assert sent == [1005.0, 1066.0]


def test_a_refused_login_spends_no_budget_slot() -> None:
    credential = SlowLogin(FakeClock(), seconds=1.0, refusals=1)
    sent: list[float] = []
    api = budgeted_client(credential, sent, reads_per_minute=1)

    with pytest.raises(LoginRefused):
        api.request("GET", "/things")
    api.request("GET", "/things")  # the one slot of the minute is still there: no wait

    assert sent == [1002.0]
