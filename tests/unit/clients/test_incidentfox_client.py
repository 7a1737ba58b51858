"""The IncidentFox client: the dialect's write method, settling lost writes by read-back, interference checks."""

from __future__ import annotations

import json
from typing import Literal

import httpx
import pytest

from stackfox_provider.clients.http import ApiError
from stackfox_provider.clients.incidentfox import ConcurrentWriteError, IncidentFoxClient, PendingApprovalError
from stackfox_provider.clients.incidentfox.client import dialect_write_mode
from tests.unit.resources.fake_incidentfox import FakeTeam


def test_effective_config_is_the_fallback_when_raw_is_missing() -> None:
    team = FakeTeam(overrides={"entrance_agent": "planner"})
    client = team.install()
    original = team.handle

    def no_raw(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/raw"):
            return httpx.Response(404, json={"detail": "Not Found"})
        if request.url.path.endswith("/effective"):
            return httpx.Response(200, json={"node_id": "team1", "effective_config": {"entrance_agent": "x"}})
        return original(request)

    team.handle = no_raw  # type: ignore[method-assign]
    client._api._http._transport = httpx.MockTransport(no_raw)

    snapshot = client.team_overrides()

    assert (snapshot.source, snapshot.overrides) == ("effective", {"entrance_agent": "x"})


@pytest.mark.parametrize(
    "lost",
    [httpx.ReadTimeout("slow"), httpx.Response(502), httpx.Response(500, text="Internal Server Error")],
    ids=["timeout", "502", "500"],
)
def test_a_write_that_landed_but_lost_its_response_is_not_sent_again(lost: httpx.Response | Exception) -> None:
    team = FakeTeam()
    client = team.install()

    def apply_then_lose(request: httpx.Request) -> httpx.Response:
        response = team.handle(request)
        if request.method == "PATCH":
            if isinstance(lost, Exception):
                raise lost
            return lost
        return response

    client._api._http._transport = httpx.MockTransport(apply_then_lose)

    client.write({"feature_flags": {"x": True}}, "test")

    assert team.overrides == {"feature_flags": {"x": True}}
    assert len(team.writes()) == 1


def test_a_write_that_did_not_land_is_sent_again() -> None:
    team = FakeTeam()
    client = team.install()
    failures = [httpx.Response(500, text="boom")]

    def fail_once(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH" and failures:
            team.calls.append((request.method, request.url.path))
            return failures.pop()
        return team.handle(request)

    client._api._http._transport = httpx.MockTransport(fail_once)

    client.write({"feature_flags": {"x": True}}, "test")

    assert team.overrides == {"feature_flags": {"x": True}}
    assert len(team.writes()) == 2


def test_a_persistent_server_error_is_reported_with_its_message() -> None:
    team = FakeTeam()
    client = team.install()
    client._api._http._transport = httpx.MockTransport(
        lambda r: (
            httpx.Response(500, json={"detail": "'NoneType' object has no attribute 'get'"})
            if r.method == "PATCH"
            else team.handle(r)
        )
    )

    with pytest.raises(ApiError, match="HTTP 500: 'NoneType' object has no attribute 'get'"):
        client.write({"mcp_servers": {"x": {"enabled": False}}}, "test")


def test_interference_between_two_of_our_writes_is_detected() -> None:
    team = FakeTeam()
    client = team.install()
    client.write({"feature_flags": {"x": True}}, "first")
    team.version += 1  # someone else wrote, elsewhere in the document
    team.overrides["other"] = "theirs"

    client.write({"feature_flags": {"y": True}}, "second")  # version jumped, but our path holds what we wrote

    def overwrite_after(request: httpx.Request) -> httpx.Response:
        response = team.handle(request)
        if request.method == "PATCH":  # a concurrent writer lands right after us, over our key
            team.version += 1
            team.overrides["feature_flags"]["z"] = "theirs"
        return response

    client._api._http._transport = httpx.MockTransport(overwrite_after)
    team.version += 1
    with pytest.raises(ConcurrentWriteError, match=r"version 4 -> 6.*feature_flags\.z.*pulumi refresh"):
        client.write({"feature_flags": {"z": True}}, "third")


def test_a_change_waiting_for_approval_is_not_taken_as_applied() -> None:
    team = FakeTeam(dialect="hosted")
    client = team.install()
    client._api._http._transport = httpx.MockTransport(
        lambda r: (
            httpx.Response(405)
            if r.method == "PATCH"
            else httpx.Response(202, json={"status": "pending_approval", "change_request_id": "cr-7"})
        )
    )

    with pytest.raises(PendingApprovalError, match="cr-7"):
        client.write({"entrance_agent": "x"}, "test")


def test_oss_writes_carry_the_reason() -> None:
    team = FakeTeam()
    client = team.install()
    bodies: list[dict[str, object]] = []

    def record(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            bodies.append(json.loads(request.content))
        return team.handle(request)

    client._api._http._transport = httpx.MockTransport(record)
    client.write({"entrance_agent": "planner"}, "stackfox TeamConfig")

    assert bodies == [{"config": {"entrance_agent": "planner"}, "reason": "stackfox TeamConfig"}]


def test_a_refused_token_adds_the_callers_hint_on_where_the_token_comes_from() -> None:
    refuse = httpx.MockTransport(lambda r: httpx.Response(401, json={"detail": "Invalid token"}))
    client = IncidentFoxClient(
        "http://fox.test/api/v1", "tok.secret", transport=refuse, unauthorized_hint="check the token in vault"
    )

    with pytest.raises(ApiError, match=r"HTTP 401: Invalid token; check the token in vault$"):
        client.team_overrides()


# --- the write method comes from what the reads showed, never from a probe write ---

DialectTeam = tuple[FakeTeam, IncidentFoxClient, str]


@pytest.fixture(params=[("hosted", "PUT"), ("oss", "PATCH")], ids=["hosted", "oss"])
def dialect_team(request: pytest.FixtureRequest) -> DialectTeam:
    """A fake team of each dialect, a client routed to it, and the write method the dialect takes."""
    dialect, method = request.param
    team = FakeTeam(dialect=dialect)
    return team, team.install(), method


def recording(team: FakeTeam, client: IncidentFoxClient) -> list[tuple[str, int]]:
    """Route the client to ``team`` and record each call's method and status."""
    answered: list[tuple[str, int]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        response = team.handle(request)
        answered.append((request.method, response.status_code))
        return response

    client._api._http._transport = httpx.MockTransport(handle)
    return answered


def test_a_read_decides_the_write_method_so_no_write_is_answered_405(dialect_team: DialectTeam) -> None:
    team, client, method = dialect_team
    answered = recording(team, client)

    client.team_overrides()
    client.write({"feature_flags": {"x": True}}, "first")
    client.write({"feature_flags": {"y": True}}, "second")

    assert answered == [("GET", 200), (method, 200), (method, 200)]
    assert team.overrides == {"feature_flags": {"x": True, "y": True}}


def test_a_write_before_any_read_reads_who_the_token_is_rather_than_probing(dialect_team: DialectTeam) -> None:
    team, client, method = dialect_team

    client.write({"entrance_agent": "planner"}, "test")

    assert team.calls == [("GET", "/api/v1/auth/me"), (method, "/api/v1/config/me")]
    assert client.identity().team_id == "team1" and len(team.calls) == 2, "that read serves identity() too"


@pytest.mark.parametrize(
    ("response", "method"),
    [
        (httpx.Response(200, json={"data": {"lineage": ["o", "t"]}, "meta": {"request_id": "r"}}), "put"),
        (httpx.Response(200, json={"lineage": ["o", "t"]}, headers={"X-RateLimit-Limit": "100"}), "put"),
        (httpx.Response(429, headers={"X-RateLimit-Limit": "100", "Retry-After": "1"}), "put"),
        (httpx.Response(200, json={"lineage": ["o", "t"], "configs": {}}), "patch"),
        (httpx.Response(200, json={"role": "team", "data": 1}), "patch"),
        (httpx.Response(404, json={"detail": "Not Found"}), None),
        (httpx.Response(200, text="ok"), None),
        (httpx.Response(200, json=["a"]), None),
    ],
    ids=["envelope", "rate-headers", "429-rate-headers", "bare", "bare-with-data-key", "error", "text", "list"],
)
def test_the_dialect_shows_in_envelopes_and_rate_limit_headers(response: httpx.Response, method: str | None) -> None:
    assert dialect_write_mode(response) == method


@pytest.mark.parametrize(("dialect", "tried", "then"), [("hosted", "PATCH", "PUT"), ("oss", "PUT", "PATCH")])
def test_a_405_against_what_the_reads_showed_switches_method_once_and_says_so(
    dialect: Literal["hosted", "oss"], tried: str, then: str, caplog: pytest.LogCaptureFixture
) -> None:
    team = FakeTeam(dialect=dialect)
    client = team.install()
    answered = recording(team, client)
    misleading: Literal["hosted", "oss"] = "oss" if dialect == "hosted" else "hosted"
    team.dialect = misleading  # the reads look like the other dialect ...
    client.team_overrides()
    team.dialect = dialect  # ... the writes do not

    client.write({"feature_flags": {"x": True}}, "first")
    client.write({"feature_flags": {"y": True}}, "second")

    assert answered == [("GET", 200), (tried, 405), (then, 200), (then, 200)]
    assert f"answered {tried} /config/me with 405" in caplog.text and f"writing with {then} from now on" in caplog.text
    assert team.overrides == {"feature_flags": {"x": True, "y": True}}


def test_a_write_mode_override_is_used_as_is_and_a_405_is_reported() -> None:
    team = FakeTeam(dialect="hosted")
    client = team.install()
    client.write_mode = "patch"

    with pytest.raises(ApiError, match="PATCH /config/me failed with HTTP 405"):
        client.write({"feature_flags": {"x": True}}, "test")
    assert team.writes() == [("PATCH", "/api/v1/config/me")]
