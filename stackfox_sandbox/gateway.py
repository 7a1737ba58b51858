"""The ASGI layer in front of the routes: request ids, faults, authentication, rate limits and the log.

It is the outermost app handed to uvicorn, so it sees every request first and every response last.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stackfox_sandbox.context import Principal, RequestContext, Service, classify, new_request_id
from stackfox_sandbox.errors import ApiError, error_response, simple_error
from stackfox_sandbox.faults import Fault
from stackfox_sandbox.incidentfox.store import AuthFailure
from stackfox_sandbox.ratelimit import RateDecision, limit_class
from stackfox_sandbox.runtime import Runtime
from stackfox_sandbox.settings import INCIDENTFOX_PREFIX, STACKFLOW_PREFIX
from stackfox_sandbox.stackflow.tokens import TokenError

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset(
    {
        f"{STACKFLOW_PREFIX}/health",
        f"{STACKFLOW_PREFIX}/openapi.json",
        f"{INCIDENTFOX_PREFIX}/config/defaults",
        f"{INCIDENTFOX_PREFIX}/openapi.json",
    }
)
CALLER_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
Headers = list[tuple[bytes, bytes]]


class DroppedConnection(Exception):
    """Raised to make uvicorn close a connection when the transport cannot be reached directly."""


class _Recorder:
    """Wraps ``send``: adds headers to the response start and remembers the status."""

    def __init__(self, send: Send | None, extra: Headers) -> None:
        self._send = send
        self.extra = extra
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            message = {**message, "headers": [*message.get("headers", []), *self.extra]}
        if self._send is not None:
            await self._send(message)


class Gateway:
    """Cross-cutting behaviour of both services; control and unknown paths pass straight through."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        service = classify(scope["path"])
        ctx = RequestContext(service, self._request_id(service, scope), scope["method"], scope["path"])
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["ctx"] = ctx
        if service in (Service.CONTROL, Service.OTHER):
            await self.app(scope, receive, send)
            return
        recorder = _Recorder(send, [(b"x-request-id", ctx.request_id.encode())])
        dropped = False
        try:
            dropped = await self._serve(ctx, scope, receive, send, recorder)
        except Exception:  # the response (if any) is already out; keep the traceback, and the log entry
            log.exception("error while serving %s %s", ctx.method, ctx.path)
            if recorder.status is None:
                recorder.status = 500
        finally:
            self._log(ctx, scope, recorder.status, dropped)

    def _request_id(self, service: Service, scope: Scope) -> str:
        if service is Service.INCIDENTFOX and self.runtime.dialect == "oss":
            # The open-source service echoes the caller's id.
            for name, value in scope["headers"]:
                if name == b"x-request-id":
                    text = bytes(value).decode("latin-1")
                    if CALLER_REQUEST_ID.match(text):
                        return text
        return new_request_id()

    async def _serve(
        self, ctx: RequestContext, scope: Scope, receive: Receive, send: Send, recorder: _Recorder
    ) -> bool:
        """Serve one request; True if the response was dropped."""
        decision = self.runtime.faults.decide(ctx.service.value, ctx.method, ctx.path)
        if decision.latency > 0:
            ctx.fault = "latency"
            await asyncio.sleep(decision.latency)
        action = decision.action
        if action is not None:
            ctx.fault = action.kind
        if action is not None and action.kind == "error" and action.when == "before":
            await self._reply(ctx, simple_error(decision.status or 500), scope, receive, recorder)
            return False
        rate_limited = self._rate_limited(ctx.service)
        if action is not None and action.kind == "rate_limit":
            forced = self._forced_limit(ctx, action)
            recorder.extra += forced.headers()
            await self._reply(ctx, _too_many(forced), scope, receive, recorder)
            return False
        auth_error = await self._authenticate(ctx, scope)
        if rate_limited:
            verdict = self._count(ctx, scope)
            recorder.extra += verdict.headers()
            if not verdict.allowed:
                await self._reply(ctx, _too_many(verdict), scope, receive, recorder)
                return False
        if auth_error is not None:
            await self._reply(ctx, auth_error, scope, receive, recorder)
            return False
        if action is not None and action.kind == "drop":
            await self.app(scope, receive, _Recorder(None, []))
            recorder.status = None
            await self._drop(action, send, receive)
            return True
        if action is not None and action.kind == "error":  # when == "after": process, then fail
            await self.app(scope, receive, _Recorder(None, []))
            await self._reply(ctx, simple_error(decision.status or 500), scope, receive, recorder)
            return False
        await self.app(scope, receive, recorder)
        return False

    def _rate_limited(self, service: Service) -> bool:
        # The open-source IncidentFox has no rate limiting at all, so the oss dialect has none either.
        return service is Service.STACKFLOW or (service is Service.INCIDENTFOX and self.runtime.dialect == "hosted")

    def _limit_for(self, method: str) -> int:
        live = self.runtime.live
        return live.read_limit if limit_class(method) == "read" else live.write_limit

    def _count(self, ctx: RequestContext, scope: Scope) -> RateDecision:
        key = ctx.principal.rate_key if ctx.principal else f"anon:{_client_host(scope)}"
        return self.runtime.limiter.hit(
            f"{ctx.service.value}:{key}",
            limit_class(ctx.method),
            self._limit_for(ctx.method),
            self.runtime.live.window_seconds,
        )

    def _forced_limit(self, ctx: RequestContext, action: Fault) -> RateDecision:
        return self.runtime.limiter.forced(
            ctx.service.value, limit_class(ctx.method), self._limit_for(ctx.method), action.retry_after
        )

    async def _authenticate(self, ctx: RequestContext, scope: Scope) -> ApiError | None:
        """Resolve the caller into ``ctx.principal``; the error to answer with, if the path needs auth."""
        if ctx.service is Service.COGNITO:
            return None
        token = _bearer(scope)
        public = ctx.path in PUBLIC_PATHS
        if token is None:
            if public:
                return None
            ctx.auth_error = "missing bearer token"
            return self._missing_token(ctx.service)
        try:
            ctx.principal = await self._verify(ctx.service, token)
        except (TokenError, AuthFailure) as error:
            ctx.auth_error = str(error)
            return None if public else self._bad_token(ctx.service, error)
        return None

    async def _verify(self, service: Service, token: str) -> Principal:
        if service is Service.STACKFLOW:
            return await self.runtime.verifier.verify(token)
        return self.runtime.config.authenticate(token)

    @staticmethod
    def _missing_token(service: Service) -> ApiError:
        if service is Service.STACKFLOW:
            return ApiError(401, "missing bearer token", headers={"WWW-Authenticate": 'Bearer realm="stackflow"'})
        return ApiError(401, "Authentication required: missing bearer token")

    @staticmethod
    def _bad_token(service: Service, error: Exception) -> ApiError:
        if service is Service.STACKFLOW:
            description = str(error).replace('"', "'")
            challenge = f'Bearer realm="stackflow", error="invalid_token", error_description="{description}"'
            return ApiError(
                401, f"invalid token: {error}", code="invalid_token", headers={"WWW-Authenticate": challenge}
            )
        expired = isinstance(error, AuthFailure) and error.expired
        return ApiError(401, str(error), code="token_expired" if expired else "unauthorized")

    async def _reply(
        self, ctx: RequestContext, error: ApiError, scope: Scope, receive: Receive, recorder: _Recorder
    ) -> None:
        response = error_response(ctx.service, self.runtime.settings.dialect, error, ctx.request_id)
        await response(scope, receive, recorder)

    async def _drop(self, action: Fault, send: Send, receive: Receive) -> None:
        """Close the connection without a response (after ``action.seconds``)."""
        if action.seconds > 0:
            await asyncio.sleep(action.seconds)
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None:
            # Not uvicorn's h11 cycle: start a response that never completes; the server then aborts it.
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
            raise DroppedConnection
        transport.close()
        deadline = time.monotonic() + 2.0
        # Let uvicorn notice the disconnect, so it does not try to answer 500 on the closed transport.
        while not getattr(cycle, "disconnected", True) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    def _log(self, ctx: RequestContext, scope: Scope, status: int | None, dropped: bool) -> None:
        self.runtime.log.append(
            timestamp=time.time(),
            service=ctx.service.value,
            method=ctx.method,
            path=ctx.path,
            query=scope.get("query_string", b"").decode("latin-1"),
            status=status,
            identity=ctx.principal.identity if ctx.principal else None,
            auth_error=ctx.auth_error,
            request_id=ctx.request_id,
            fault=ctx.fault,
            dropped=dropped,
            duration_ms=round((time.monotonic() - ctx.started) * 1000, 3),
        )


def _too_many(decision: RateDecision) -> ApiError:
    return ApiError(429, f"Rate limit exceeded; retry in {decision.retry_after} s", detail="Too Many Requests")


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
