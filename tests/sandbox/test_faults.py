"""Fault injection: errors before and after processing, latency, forced 429s, dropped responses."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from stackfox_sandbox.faults import FaultInjector, FaultSpec
from stackfox_sandbox.testing import SandboxHandle

Unique = Callable[[str], str]


def _exists(sandbox: SandboxHandle, name: str) -> bool:
    with sandbox.stackflow() as client:
        return bool(client.get("/categories", params={"name": name}).json()["total"] == 1)


def test_error_before_processing_is_not_applied(sandbox: SandboxHandle, unique: Unique) -> None:
    sandbox.add_fault(kind="error", status=503, service="stackflow", methods=["write"], count=1)
    name = unique("fault")
    with sandbox.stackflow() as client:
        assert client.get("/categories").status_code == 200  # reads are not targeted
        failed = client.post("/categories", json={"name": name, "label": "x"})
        assert failed.status_code == 503
        assert failed.json()["error"]["code"] == "service_unavailable"
        assert not _exists(sandbox, name)
        assert client.post("/categories", json={"name": name, "label": "x"}).status_code == 201  # count=1: spent
    assert sandbox.faults() == []
    entries = [entry for entry in sandbox.requests_log("stackflow") if entry["method"] == "POST"]
    assert [(entry["status"], entry["fault"]) for entry in entries] == [(503, "error"), (201, None)]


def test_error_after_processing_is_applied(sandbox: SandboxHandle, unique: Unique) -> None:
    sandbox.add_fault(kind="error", status=502, when="after", path=r"/categories$", count=1)
    name = unique("after")
    with sandbox.stackflow() as client:
        response = client.post("/categories", json={"name": name, "label": "x"})
    assert response.status_code == 502 and response.json()["error"]["code"] == "bad_gateway"
    assert _exists(sandbox, name)


def test_random_server_errors_use_500_502_503(sandbox: SandboxHandle) -> None:
    sandbox.add_fault(kind="error", service="incidentfox", count=20)
    with sandbox.incidentfox() as client:
        statuses = {client.get("/auth/me").status_code for _ in range(20)}
        assert client.get("/auth/me").status_code == 200
    assert statuses <= {500, 502, 503} and statuses


def test_rate_zero_never_fires_and_targeting_by_service(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(
        {"kind": "error", "status": 500, "rate": 0.0},
        {"kind": "error", "status": 500, "service": "incidentfox"},
    )
    with sandbox.stackflow() as client:
        assert all(client.get("/categories").status_code == 200 for _ in range(5))
    with sandbox.incidentfox() as client:
        assert client.get("/auth/me").status_code == 500
    fired = {fault["service"]: fault["fired"] for fault in sandbox.faults()}
    assert fired == {None: 0, "incidentfox": 1}


def test_latency(sandbox: SandboxHandle) -> None:
    sandbox.add_fault(kind="latency", seconds=0.6, methods=["GET"], service="stackflow", count=1)
    with sandbox.stackflow() as client:
        started = time.monotonic()
        assert client.get("/categories").status_code == 200
        slow = time.monotonic() - started
    assert slow >= 0.55
    assert sandbox.requests_log("stackflow")[-1]["fault"] == "latency"


def test_forced_rate_limit(sandbox: SandboxHandle, unique: Unique) -> None:
    sandbox.add_fault(kind="rate_limit", retry_after=7, service="stackflow", count=2)
    name = unique("forced")
    with sandbox.stackflow() as client:
        for _ in range(2):
            response = client.post("/categories", json={"name": name, "label": "x"})
            assert response.status_code == 429
            assert response.headers["retry-after"] == "7"
            assert response.headers["x-ratelimit-remaining"] == "0"
            assert response.json()["error"]["code"] == "rate_limited"
        assert not _exists(sandbox, name)
        assert client.post("/categories", json={"name": name, "label": "x"}).status_code == 201


def test_drop_applies_the_write_and_closes_the_connection(sandbox: SandboxHandle, unique: Unique) -> None:
    sandbox.add_fault(kind="drop", service="stackflow", methods=["POST"], count=1)
    name = unique("dropped")
    with sandbox.stackflow() as client, pytest.raises(httpx.RemoteProtocolError):
        client.post("/categories", json={"name": name, "label": "x"})
    assert _exists(sandbox, name)
    entry = [e for e in sandbox.requests_log("stackflow") if e["method"] == "POST"][-1]
    assert entry["dropped"] is True and entry["fault"] == "drop" and entry["status"] is None


def test_drop_after_a_delay_makes_the_client_time_out(
    sandbox: SandboxHandle, unique: Unique, wait_until: Callable[..., bool]
) -> None:
    sandbox.add_fault(kind="drop", seconds=3, service="incidentfox", methods=["write"], count=1)
    with sandbox.incidentfox(timeout=0.8) as client, pytest.raises(httpx.ReadTimeout):
        client.put("/config/me", json={"dropped_write": {"applied": True}})
    with sandbox.incidentfox() as client:
        assert wait_until(
            lambda: client.get("/config/me").json()["data"].get("dropped_write") == {"applied": True}, timeout=15
        )


def test_cognito_token_endpoint_faults(sandbox: SandboxHandle) -> None:
    sandbox.add_fault(kind="error", status=503, service="cognito", count=1)
    with pytest.raises(httpx.HTTPStatusError) as failure:
        sandbox.client_credentials_token()
    assert failure.value.response.status_code == 503
    assert sandbox.client_credentials_token()


def test_oss_fault_bodies_use_detail(sandbox_oss: SandboxHandle) -> None:
    sandbox_oss.add_fault(kind="error", status=500, service="incidentfox", count=1)
    with sandbox_oss.incidentfox() as client:
        response = client.get("/config/me")
    assert response.status_code == 500 and response.json() == {"detail": "Internal Server Error"}


def test_fault_control_api_validation(sandbox: SandboxHandle) -> None:
    control = sandbox.info.control_url
    assert httpx.post(f"{control}/faults", json={"kind": "explode"}).status_code == 422
    assert httpx.post(f"{control}/faults", json={"kind": "latency"}).status_code == 422
    assert httpx.post(f"{control}/faults", json={"kind": "error", "methods": ["FETCH"]}).status_code == 422
    fault = sandbox.add_fault(kind="error", status=500, path="/never")
    assert httpx.delete(f"{control}/faults/{fault['id']}").status_code == 204
    assert httpx.delete(f"{control}/faults/{fault['id']}").status_code == 404


def test_injector_unit() -> None:
    injector = FaultInjector(seed=7)
    injector.replace(
        [
            FaultSpec(kind="latency", seconds=0.1, service="stackflow"),
            FaultSpec(kind="latency", seconds=0.2),
            FaultSpec(kind="error", methods=["write"], count=2),
            FaultSpec(kind="drop"),
        ]
    )
    write = injector.decide("stackflow", "PATCH", "/prod/api/x")
    assert write.latency == pytest.approx(0.3) and write.action is not None and write.action.kind == "error"
    assert write.status in (500, 502, 503)
    read = injector.decide("incidentfox", "GET", "/api/v1/x")
    assert read.latency == pytest.approx(0.2) and read.action is not None and read.action.kind == "drop"
    injector.decide("stackflow", "POST", "/")
    assert [fault.kind for fault in injector.installed()] == ["latency", "latency", "drop"]  # the error is spent
