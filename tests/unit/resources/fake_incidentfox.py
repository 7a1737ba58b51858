"""An in-memory IncidentFox team behind httpx.MockTransport, in either dialect."""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from stackfox_provider import settings
from stackfox_provider.clients.http import RetryPolicy
from stackfox_provider.clients.incidentfox.client import IncidentFoxClient, use_client
from stackfox_provider.clients.ratelimit import RateLimits


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


@dataclass
class FakeTeam:
    """One team under an org whose ``inherited`` values show through where the team sets nothing.

    Like the open-source service, a stored null masks the inherited value; ``refuse_null`` lists
    dotted paths the service's validation will not let be null (400).
    """

    dialect: Literal["hosted", "oss"] = "oss"
    overrides: dict[str, Any] = field(default_factory=dict)
    inherited: dict[str, Any] = field(default_factory=dict)
    team_id: str = "team1"
    refuse_null: set[str] = field(default_factory=set)
    version: int = 1
    calls: list[tuple[str, str]] = field(default_factory=list)
    patches: list[dict[str, Any]] = field(default_factory=list)
    client: IncidentFoxClient | None = None
    #: Answer every call with this status instead (401: a rejected token, 503: the service is down).
    failing: int | None = None
    #: One request at a time, as the service's store answers them (clients read and write from many threads).
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            return self._handle(request)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        if self.failing is not None:
            return httpx.Response(self.failing, json={"detail": "Invalid token" if self.failing == 401 else "down"})
        route = (request.method, request.url.path.removeprefix("/api/v1"))
        if route == ("GET", "/auth/me"):
            return self._ok({"org_id": "org1", "team_node_id": self.team_id, "role": "team", "can_write": True})
        if route == ("GET", "/config/me/raw"):
            configs = {"org1": self.inherited, self.team_id: self.overrides}
            return self._ok({"lineage": ["org1", self.team_id], "configs": configs})
        if route == ("GET", "/config/me/effective"):
            return self._ok({"node_id": self.team_id, "effective_config": self.effective()})
        if route == ("PATCH", "/config/me") and self.dialect == "oss":
            return self._write(json.loads(request.content)["config"])
        if route == ("PUT", "/config/me") and self.dialect == "hosted":
            return self._write(json.loads(request.content))
        return httpx.Response(405, json={"detail": "Method Not Allowed"})

    def effective(self) -> dict[str, Any]:
        effective = copy.deepcopy(self.inherited)
        merge(effective, self.overrides)
        return effective

    def _write(self, patch: dict[str, Any]) -> httpx.Response:
        refused = sorted(path for path in self.refuse_null if _is_null_at(patch, path.split(".")))
        if refused:
            return httpx.Response(
                400, json={"detail": {"error": "dependency_validation_failed", "message": refused[0]}}
            )
        self.patches.append(copy.deepcopy(patch))
        merge(self.overrides, patch)
        return self._written()

    def client_forget(self) -> None:
        """Make the next read go to the team (a later run would not share this one's snapshot)."""
        assert self.client is not None
        self.client.forget_snapshot()

    def writes(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] != "GET"]

    def _written(self) -> httpx.Response:
        self.version += 1
        return self._ok({"config": copy.deepcopy(self.overrides), "version": self.version})

    def _ok(self, body: dict[str, Any]) -> httpx.Response:
        if self.dialect == "hosted":
            body = {"data": body, "meta": {"request_id": "req_1", "timestamp": "2026-01-01T00:00:00Z"}}
        return httpx.Response(200, json=body)

    def install(self, url: str = "http://fox.test/api/v1", token: str = "tok.secret") -> IncidentFoxClient:
        """Make the providers' client registry hand out a client talking to this fake."""
        client = IncidentFoxClient(
            url,
            token,
            transport=httpx.MockTransport(self.handle),
            retry=RetryPolicy(backoff_seconds=0.001),
            limits=RateLimits(reads_per_minute=10**6, writes_per_minute=10**6),
            settle_seconds=0.0,
            unauthorized_hint=settings.INCIDENTFOX_UNAUTHORIZED_HINT,  # as incidentfox_client_for is given it
        )
        use_client(client)
        self.client = client
        return client


def _is_null_at(patch: Any, path: list[str]) -> bool:
    for key in path:
        if not isinstance(patch, dict) or key not in patch:
            return False
        patch = patch[key]
    return patch is None
