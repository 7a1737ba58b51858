"""The StackFlow incidents API, under ``/prod/api``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from stackfox_sandbox.context import Principal, context_of
from stackfox_sandbox.errors import ApiError
from stackfox_sandbox.openapi_helpers import RATE_LIMIT_HEADERS, responses
from stackfox_sandbox.runtime import Runtime, runtime_of
from stackfox_sandbox.stackflow.models import (
    Category,
    CategoryCreate,
    CategoryList,
    CategoryPatch,
    ErrorEnvelope,
    Group,
    Health,
    Incident,
    IncidentCreate,
    IncidentList,
    IncidentPatch,
    IncidentState,
    Priority,
    Slug,
)
from stackfox_sandbox.stackflow.store import body_etag
from stackfox_sandbox.store import isoformat, utcnow

READ_SCOPES = frozenset({"stackflow/read", "stackflow/write"})
WRITE_SCOPES = frozenset({"stackflow/write"})
ETAG_HEADER = {
    "ETag": {"description": "strong entity tag for If-Match", "required": True, "schema": {"type": "string"}}
}

Page = Annotated[int, Query(ge=1, le=100000, description="1-based page number")]
Limit = Annotated[int, Query(ge=1, le=100, description="page size, at most 100")]
CategoryId = Annotated[str, Path(max_length=100, examples=["CAT0000001"])]
IncidentId = Annotated[str, Path(max_length=100, description="id or number", examples=["INC0000001"])]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="ETag from a previous read")]


async def caller(request: Request) -> Principal:
    """The authenticated caller; machine clients need ``stackflow/read`` to read and ``stackflow/write`` to
    change anything."""
    principal = context_of(request).principal
    if principal is None:  # the gateway authenticates every non-public path
        raise ApiError(401, "authentication required", code="unauthorized")
    if principal.kind == "client":
        needed = READ_SCOPES if request.method in ("GET", "HEAD") else WRITE_SCOPES
        if not principal.scopes & needed:
            scope = "stackflow/write" if needed is WRITE_SCOPES else "stackflow/read"
            raise ApiError(
                403,
                f"the token lacks the {scope} scope",
                code="forbidden",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
    return principal


Caller = Annotated[Principal, Depends(caller)]
Repo = Annotated[Runtime, Depends(runtime_of)]


def _json(body: Any, status: int = 200, tag: str | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"ETag": tag} if tag else None)


def _listing(items: list[Any], total: int, page: int, limit: int) -> dict[str, Any]:
    return {"data": items, "total": total, "page": page, "limit": limit, "has_more": page * limit < total}


router = APIRouter(responses={"default": {"model": ErrorEnvelope, "description": "an error"}})


@router.get("/health", responses=responses(Health), tags=["health"], summary="Liveness, without auth")
async def health() -> JSONResponse:
    """Answers without authentication."""
    return _json({"status": "ok", "service": "stackflow", "time": isoformat(utcnow())})


@router.get("/categories", responses=responses(CategoryList, headers=ETAG_HEADER), tags=["categories"])
async def list_categories(
    runtime: Repo,
    _: Caller,
    page: Page = 1,
    limit: Limit = 20,
    active: Annotated[bool | None, Query(description="only active (or inactive) categories")] = None,
    name: Annotated[Slug | None, Query(description="exact name")] = None,
) -> JSONResponse:
    """List the standing incident categories."""
    items, total = runtime.stackflow.list_categories(page, limit, active, name)
    body = _listing(items, total, page, limit)
    return _json(body, tag=body_etag(body))


@router.post(
    "/categories", status_code=201, responses=responses(Category, 201, headers=ETAG_HEADER), tags=["categories"]
)
async def create_category(runtime: Repo, _: Caller, body: CategoryCreate) -> JSONResponse:
    """Create a category; 409 if the name exists."""
    doc, tag = runtime.stackflow.create_category(body.model_dump(mode="json"))
    return _json(doc, 201, tag)


@router.get("/categories/{category_id}", responses=responses(Category, headers=ETAG_HEADER), tags=["categories"])
async def get_category(runtime: Repo, _: Caller, category_id: CategoryId) -> JSONResponse:
    """Read one category."""
    doc, tag = runtime.stackflow.get_category(category_id)
    return _json(doc, tag=tag)


@router.patch("/categories/{category_id}", responses=responses(Category, headers=ETAG_HEADER), tags=["categories"])
async def update_category(
    runtime: Repo, _: Caller, category_id: CategoryId, body: CategoryPatch, if_match: IfMatch = None
) -> JSONResponse:
    """Change a category; 412 if ``If-Match`` is stale, 400 if ``name`` would change."""
    doc, tag = runtime.stackflow.update_category(category_id, body.changes(), if_match)
    return _json(doc, tag=tag)


@router.delete(
    "/categories/{category_id}",
    status_code=204,
    responses={204: {"description": "deleted", "headers": RATE_LIMIT_HEADERS}},
    tags=["categories"],
)
async def delete_category(
    runtime: Repo,
    _: Caller,
    category_id: CategoryId,
    force: Annotated[bool, Query(description="delete even while open incidents use it")] = False,
    if_match: IfMatch = None,
) -> Response:
    """Delete a category; 409 while open incidents use it unless ``force=true``."""
    runtime.stackflow.delete_category(category_id, force, if_match)
    return Response(status_code=204)


@router.get("/incidents", responses=responses(IncidentList), tags=["incidents"])
async def list_incidents(
    runtime: Repo,
    _: Caller,
    page: Page = 1,
    limit: Limit = 20,
    state: IncidentState | None = None,
    priority: Priority | None = None,
    category: Slug | None = None,
    assignment_group: Group | None = None,
) -> JSONResponse:
    """List incidents, oldest first."""
    filters = {"state": state, "priority": priority, "category": category, "assignment_group": assignment_group}
    items, total = runtime.stackflow.list_incidents(page, limit, filters)
    return _json(_listing(items, total, page, limit))


@router.post("/incidents", status_code=201, responses=responses(Incident, 201, headers=ETAG_HEADER), tags=["incidents"])
async def create_incident(runtime: Repo, principal: Caller, body: IncidentCreate) -> JSONResponse:
    """Open an incident; 422 unless category (active) and subcategory exist."""
    doc, tag = runtime.stackflow.create_incident(body.model_dump(mode="json"), principal.identity)
    return _json(doc, 201, tag)


@router.get("/incidents/{incident_id}", responses=responses(Incident, headers=ETAG_HEADER), tags=["incidents"])
async def get_incident(runtime: Repo, _: Caller, incident_id: IncidentId) -> JSONResponse:
    """Read one incident, by id or by number (``INC…``)."""
    doc, tag = runtime.stackflow.get_incident(incident_id)
    return _json(doc, tag=tag)


@router.patch("/incidents/{incident_id}", responses=responses(Incident, headers=ETAG_HEADER), tags=["incidents"])
async def update_incident(
    runtime: Repo, _: Caller, incident_id: IncidentId, body: IncidentPatch, if_match: IfMatch = None
) -> JSONResponse:
    """Change an incident; closed incidents are read-only (409)."""
    doc, tag = runtime.stackflow.update_incident(incident_id, body.changes(), if_match)
    return _json(doc, tag=tag)
