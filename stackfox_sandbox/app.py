"""Assembly of the ASGI application: routes, error handlers and the gateway."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from stackfox_sandbox import control
from stackfox_sandbox.context import RequestContext, Service, classify, new_request_id
from stackfox_sandbox.errors import ApiError, OssCrash, crash_response, error_response, uses_detail
from stackfox_sandbox.gateway import Gateway
from stackfox_sandbox.incidentfox import routes as incidentfox
from stackfox_sandbox.openapi import build_openapi
from stackfox_sandbox.runtime import Runtime
from stackfox_sandbox.settings import CONTROL_PREFIX, INCIDENTFOX_PREFIX, STACKFLOW_PREFIX
from stackfox_sandbox.stackflow import oauth
from stackfox_sandbox.stackflow import routes as stackflow


def _context(request: Request) -> RequestContext:
    ctx = request.scope.get("state", {}).get("ctx")
    if isinstance(ctx, RequestContext):
        return ctx
    path = request.url.path
    return RequestContext(classify(path), new_request_id(), request.method, path)


def _render(request: Request, error: ApiError) -> Response:
    ctx = _context(request)
    dialect = request.app.state.runtime.settings.dialect
    if ctx.service in (Service.CONTROL, Service.OTHER, Service.COGNITO):
        return JSONResponse({"detail": error.message}, status_code=error.status, headers=error.headers)
    return error_response(ctx.service, dialect, error, ctx.request_id)


def _summary(errors: list[Any]) -> str:
    parts = []
    for error in errors[:5]:
        location = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves in the format of the service it belongs to."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        return _render(request, error)

    @app.exception_handler(OssCrash)
    async def oss_crash(request: Request, error: OssCrash) -> Response:
        return crash_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        ctx = _context(request)
        dialect = request.app.state.runtime.settings.dialect
        if uses_detail(ctx.service, dialect) or ctx.service in (Service.CONTROL, Service.OTHER):
            return JSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)
        # The hosted IncidentFox documents no 422: its validation errors are 400.
        status = 422 if ctx.service is Service.STACKFLOW else 400
        return _render(request, ApiError(status, _summary(list(error.errors())), code="validation_error"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = str(error.detail) if error.detail else "error"
        return _render(request, ApiError(error.status_code, message, headers=dict(error.headers or {})))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        # Starlette re-raises after answering; the gateway logs the traceback.
        return _render(request, ApiError(500, "Internal Server Error"))


def _add_document_routes(app: FastAPI, runtime: Runtime, origin: str) -> None:
    # Built on first use: generating them costs ~0.4 s that start-up does not need to pay.
    documents: dict[str, dict[str, Any]] = {}

    def document(service: Literal["stackflow", "incidentfox"]) -> dict[str, Any]:
        if service not in documents:
            dialect = runtime.settings.dialect if service == "incidentfox" else "hosted"
            documents[service] = build_openapi(service, dialect, origin)
        return documents[service]

    @app.get(f"{STACKFLOW_PREFIX}/openapi.json", include_in_schema=False)
    async def stackflow_openapi() -> JSONResponse:
        return JSONResponse(document("stackflow"))

    @app.get(f"{INCIDENTFOX_PREFIX}/openapi.json", include_in_schema=False)
    async def incidentfox_openapi() -> JSONResponse:
        return JSONResponse(document("incidentfox"))


def create_app(runtime: Runtime, origin: str) -> ASGIApp:
    """The complete sandbox application for one runtime, served at ``origin``."""
    app = FastAPI(title="stackfox sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    _add_document_routes(app, runtime, origin)
    app.include_router(stackflow.router, prefix=STACKFLOW_PREFIX)
    app.include_router(incidentfox.build_router(runtime.settings.dialect), prefix=INCIDENTFOX_PREFIX)
    app.include_router(oauth.router)
    if runtime.settings.testing:
        app.include_router(control.router, prefix=CONTROL_PREFIX)
    install_error_handlers(app)
    return Gateway(app, runtime)
