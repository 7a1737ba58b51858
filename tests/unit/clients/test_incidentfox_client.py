"""The IncidentFox client: dialect fallback, settling lost writes by read-back, interference checks."""

from __future__ import annotations

import json

import httpx
import pytest

from stackfox_provider.clients.http import ApiError
from stackfox_provider.clients.incidentfox import ConcurrentWriteError, IncidentFoxClient, PendingApprovalError
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
