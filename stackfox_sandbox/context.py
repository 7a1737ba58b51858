"""Per-request context shared by the gateway and the routers."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from starlette.requests import Request

from stackfox_sandbox.settings import CONTROL_PREFIX, INCIDENTFOX_PREFIX, STACKFLOW_PREFIX


class Service(StrEnum):
    """Which part of the sandbox a path belongs to."""

    STACKFLOW = "stackflow"
    INCIDENTFOX = "incidentfox"
    COGNITO = "cognito"
    CONTROL = "control"
    OTHER = "other"


def classify(path: str) -> Service:
    """Map a request path to its service by prefix."""
    if path == STACKFLOW_PREFIX or path.startswith(STACKFLOW_PREFIX + "/"):
        return Service.STACKFLOW
    if path == INCIDENTFOX_PREFIX or path.startswith(INCIDENTFOX_PREFIX + "/"):
        return Service.INCIDENTFOX
    if path.startswith(CONTROL_PREFIX + "/"):
        return Service.CONTROL
    if path.startswith("/oauth2/") or path.startswith("/.well-known/"):
        return Service.COGNITO
    return Service.OTHER


PrincipalKind = Literal["user", "client", "team_token", "admin_token"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``identity`` is what the request log shows (``user:<name>``, ``client:<id>``, ``team-token:<id>``,
    ``admin-token:<id>``); ``rate_key`` is the key of its rate-limit window.
    """

    kind: PrincipalKind
    identity: str
    subject: str
    scopes: frozenset[str] = frozenset()
    org_id: str | None = None
    team_node_id: str | None = None
    token_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def rate_key(self) -> str:
        """Rate limits are per token: per Cognito subject, or per IncidentFox token id."""
        return self.identity


def new_request_id() -> str:
    """A fresh request id, ``req_`` plus 24 hex digits."""
    return "req_" + secrets.token_hex(12)


@dataclass
class RequestContext:
    """What the gateway learned about a request; handlers read it through :func:`context_of`."""

    service: Service
    request_id: str
    method: str
    path: str
    started: float = field(default_factory=time.monotonic)
    principal: Principal | None = None
    auth_error: str | None = None
    fault: str | None = None


def context_of(request: Request) -> RequestContext:
    """The gateway's context for this request."""
    ctx: RequestContext = request.scope["state"]["ctx"]
    return ctx
