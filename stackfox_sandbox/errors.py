"""Error and success bodies in each service's own format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, PlainTextResponse, Response

from stackfox_sandbox.context import Service
from stackfox_sandbox.settings import Dialect

DEFAULT_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}

DEFAULT_MESSAGES: dict[int, str] = {
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Rate limit exceeded",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

DELIBERATE_HEADER = "x-sandbox-deliberate-error"


class ApiError(Exception):
    """An error a handler wants to answer with.

    ``code`` and ``message`` fill ``{"error": {...}}`` bodies; ``detail`` overrides what the ``oss`` dialect
    puts in ``{"detail": ...}`` (default: the message).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        detail: Any = None,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or DEFAULT_CODES.get(status, "error")
        self.message = message
        self.detail = detail
        self.headers = headers or {}
        self.field = field


class OssCrash(Exception):
    """The open-source service's known crash: answered as a 500 like the real one."""

    def __init__(self, text: str, *, plain: bool = False) -> None:
        super().__init__(text)
        self.plain = plain


def timestamp() -> str:
    """Now, ISO 8601 UTC."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def uses_detail(service: Service, dialect: Dialect) -> bool:
    """Whether errors are ``{"detail": ...}`` (oss IncidentFox) rather than ``{"error": {...}}``."""
    return service is Service.INCIDENTFOX and dialect == "oss"


def error_body(service: Service, dialect: Dialect, error: ApiError, request_id: str) -> dict[str, Any]:
    """The JSON body of an error in the service's format."""
    if uses_detail(service, dialect):
        return {"detail": error.detail if error.detail is not None else error.message}
    body: dict[str, Any] = {"code": error.code, "message": error.message, "request_id": request_id}
    if error.field is not None and service is Service.INCIDENTFOX:
        body["field"] = error.field
    return {"error": body}


def error_response(service: Service, dialect: Dialect, error: ApiError, request_id: str) -> Response:
    """A complete error response."""
    return JSONResponse(
        error_body(service, dialect, error, request_id), status_code=error.status, headers=error.headers
    )


def crash_response(error: OssCrash) -> Response:
    """What the open-source service answers when its validation code crashes."""
    headers = {DELIBERATE_HEADER: "oss-crash"}
    if error.plain:
        return PlainTextResponse("Internal Server Error", status_code=500, headers=headers)
    return JSONResponse({"detail": str(error)}, status_code=500, headers=headers)


def simple_error(status: int, message: str | None = None) -> ApiError:
    """An :class:`ApiError` with the default code and message for a status."""
    return ApiError(status, message or DEFAULT_MESSAGES.get(status, "Error"))
