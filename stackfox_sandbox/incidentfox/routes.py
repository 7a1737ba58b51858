"""The IncidentFox config API, under ``/api/v1``, in the ``hosted`` or the ``oss`` dialect."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from stackfox_sandbox.context import Principal, context_of
from stackfox_sandbox.errors import ApiError, timestamp
from stackfox_sandbox.incidentfox.defaults import ORG_ID, SYSTEM_DEFAULTS, TEAM_ID
from stackfox_sandbox.incidentfox.merge import leaf_paths
from stackfox_sandbox.incidentfox.models import (
    AdminConfig,
    AdminConfigPut,
    Audit,
    AuthMe,
    ConfigObject,
    ConfigPatch,
    EffectiveConfig,
    Envelope,
    HistoryRow,
    HostedError,
    HostedUpdate,
    NodeConfig,
    NodeCreate,
    NodeInfo,
    NodeUpdate,
    OssError,
    RawConfig,
    RevokeRequest,
    Status,
    TokenInfo,
    TokenIssued,
    TokenRequest,
)
from stackfox_sandbox.incidentfox.store import Node, Validator
from stackfox_sandbox.incidentfox.validation import check_immutable, validate_effective
from stackfox_sandbox.openapi_helpers import responses
from stackfox_sandbox.runtime import Runtime, runtime_of
from stackfox_sandbox.settings import Dialect

OrgId = Annotated[str, Path(max_length=100, examples=[ORG_ID])]
NodeIdPath = Annotated[str, Path(max_length=100, examples=[TEAM_ID])]
TokenIdPath = Annotated[str, Path(max_length=100, examples=["0123456789abcdef0123456789abcdef"])]
Rt = Annotated[Runtime, Depends(runtime_of)]


def _principal(request: Request) -> Principal:
    principal = context_of(request).principal
    if principal is None:
        raise ApiError(401, "Authentication required: missing bearer token", code="unauthorized")
    return principal


async def team_caller(request: Request) -> Principal:
    """A team token; anything else is 403."""
    principal = _principal(request)
    if principal.kind != "team_token" or principal.team_node_id is None:
        raise ApiError(403, "Access denied: a team token is required", code="forbidden")
    return principal


async def admin_caller(request: Request, org_id: OrgId) -> Principal:
    """An org-admin token of ``org_id``; anything else is 403."""
    principal = _principal(request)
    if principal.kind != "admin_token" or principal.org_id != org_id:
        raise ApiError(403, "Access denied: an org-admin token for this org is required", code="forbidden")
    return principal


Team = Annotated[Principal, Depends(team_caller)]
Admin = Annotated[Principal, Depends(admin_caller)]


class Presenter:
    """Wraps bodies and documents models the way the dialect does."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    def model(self, model: Any) -> Any:
        """The documented model of a success body."""
        return Envelope[model] if self.dialect == "hosted" else model

    def docs(self, model: Any, status: int = 200) -> dict[int | str, dict[str, Any]]:
        """``responses=`` for a route returning ``model``."""
        return responses(self.model(model), status, rate_limited=self.dialect == "hosted")

    def ok(self, request: Request, data: Any, status: int = 200) -> JSONResponse:
        """A success response."""
        if self.dialect == "hosted":
            meta = {"request_id": context_of(request).request_id, "timestamp": timestamp()}
            return JSONResponse({"data": data, "meta": meta}, status_code=status)
        return JSONResponse(data, status_code=status)


def auth_me(principal: Principal) -> dict[str, Any]:
    """The ``/auth/me`` body for a caller."""
    admin = principal.kind == "admin_token"
    return {
        "role": "admin" if admin else "team",
        "auth_kind": principal.kind,
        "org_id": principal.org_id,
        "team_node_id": principal.team_node_id,
        "subject": principal.subject,
        "email": None,
        "can_write": True,
        "permissions": sorted(principal.scopes),
        "visitor_id": None,
    }


def raw_config(runtime: Runtime, node_id: str) -> dict[str, Any]:
    """``{"lineage", "configs"}`` for a node."""
    chain = runtime.config.lineage(node_id)
    return {"lineage": [node.node_id for node in chain], "configs": {node.node_id: node.config for node in chain}}


async def team_write(
    runtime: Runtime, node_id: str, patch: dict[str, Any], reason: str | None, validate: Validator
) -> tuple[Node, dict[str, Any]]:
    """A team-token config write: atomic, unless the live ``unlocked_write_window`` is set.

    With the window set, the write reads the node, waits that long holding no lock (other requests, writes
    included, are served meanwhile), then commits its merge of the stale read with the stale version plus one,
    so overlapping writes lose each other's keys like on a multi-worker open-source deployment.
    """
    window = runtime.live.unlocked_write_window
    if window is None:
        return runtime.config.write(node_id, patch, "team", reason, validate)
    stale = runtime.config.snapshot(node_id)
    await asyncio.sleep(window)
    return runtime.config.write(node_id, patch, "team", reason, validate, stale=stale)


def build_router(dialect: Dialect) -> APIRouter:
    """All IncidentFox routes of one dialect."""
    error_model = HostedError if dialect == "hosted" else OssError
    router = APIRouter(responses={"default": {"model": error_model, "description": "an error"}})
    present = Presenter(dialect)
    _add_identity_routes(router, present)
    _add_team_routes(router, present)
    if dialect == "hosted":
        _add_hosted_routes(router, present)
    else:
        _add_oss_routes(router, present)
    _add_admin_routes(router, present)
    return router


def _add_identity_routes(router: APIRouter, present: Presenter) -> None:
    @router.get("/auth/me", responses=present.docs(AuthMe), tags=["auth"])
    async def get_auth_me(request: Request) -> JSONResponse:
        """Who the token belongs to: role, org and team."""
        return present.ok(request, auth_me(_principal(request)))


def _add_team_routes(router: APIRouter, present: Presenter) -> None:
    effective_model: Any = EffectiveConfig if present.dialect == "oss" else ConfigObject

    def effective_body(runtime: Runtime, team: Principal) -> Any:
        assert team.team_node_id is not None
        chain = runtime.config.lineage(team.team_node_id)
        effective = runtime.config.effective(team.team_node_id)
        if present.dialect == "hosted":
            return effective
        hierarchy = [node.node_id for node in chain]
        return {
            "node_id": team.team_node_id,
            "effective_config": effective,
            "computed_at": None,
            "hierarchy": hierarchy,
        }

    @router.get("/config/me", responses=present.docs(effective_model), tags=["team config"])
    async def get_config(request: Request, runtime: Rt, team: Team) -> JSONResponse:
        """The team's effective config (defaults ← org ← team)."""
        return present.ok(request, effective_body(runtime, team))

    @router.get("/config/me/effective", responses=present.docs(effective_model), tags=["team config"])
    async def get_effective(request: Request, runtime: Rt, team: Team) -> JSONResponse:
        """Alias of ``GET /config/me``."""
        return present.ok(request, effective_body(runtime, team))

    @router.get("/config/me/raw", responses=present.docs(RawConfig), tags=["team config"])
    async def get_raw(request: Request, runtime: Rt, team: Team) -> JSONResponse:
        """The lineage and each node's raw overrides; the team's own are ``configs[lineage[-1]]``."""
        assert team.team_node_id is not None
        return present.ok(request, raw_config(runtime, team.team_node_id))


def _add_hosted_routes(router: APIRouter, present: Presenter) -> None:
    @router.put("/config/me", responses=present.docs(HostedUpdate), tags=["team config"])
    async def put_config(
        request: Request,
        runtime: Rt,
        team: Team,
        patch: Annotated[ConfigObject, Body(description="a partial config, deep-merged")],
    ) -> JSONResponse:
        """Deep-merge a partial config into the team's overrides."""
        assert team.team_node_id is not None and team.org_id is not None
        effective = runtime.config.effective(team.team_node_id)
        current = {
            "team_name": effective.get("team_name", runtime.config.node(team.team_node_id).name),
            "org_id": team.org_id,
            "team_node_id": team.team_node_id,
        }
        check_immutable(patch, current)
        node, effective = await team_write(
            runtime, team.team_node_id, patch, None, lambda eff: validate_effective(eff, "hosted")
        )
        body = {
            "message": "Configuration updated",
            "version": node.version,
            "changed_fields": leaf_paths(patch),
            "effective_config": effective,
        }
        return present.ok(request, body)

    @router.patch("/config/me", include_in_schema=False)
    async def patch_not_allowed() -> None:
        raise ApiError(405, "Method Not Allowed", headers={"allow": "GET, PUT"})

    @router.get("/config/me/audit", responses=present.docs(Audit), tags=["team config"])
    async def get_audit(
        request: Request,
        runtime: Rt,
        team: Team,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        include_full: bool = False,
    ) -> JSONResponse:
        """The team's config history, most recent first."""
        assert team.team_node_id is not None
        rows = runtime.config.history(team.team_node_id, limit)
        history = [
            {
                "version": row["version"],
                "changed_at": row["changed_at"],
                "changed_by": row["changed_by"],
                "diff": row["change_diff"],
                "full_config": row["full_config"] if include_full else None,
            }
            for row in rows
        ]
        return present.ok(request, {"history": history})

    @router.get("/admin/teams", responses=present.docs(list[NodeInfo]), tags=["admin"])
    async def list_teams(request: Request, runtime: Rt) -> JSONResponse:
        """The org's teams."""
        principal = _principal(request)
        if principal.kind != "admin_token" or principal.org_id is None:
            raise ApiError(403, "Access denied: an org-admin token is required", code="forbidden")
        return present.ok(request, [node.info() for node in runtime.config.nodes(principal.org_id, "team")])

    @router.post("/admin/tokens/revoke", responses=present.docs(Status), tags=["admin"])
    async def revoke_token(request: Request, runtime: Rt, body: RevokeRequest) -> JSONResponse:
        """Revoke a team token by id (idempotent)."""
        principal = _principal(request)
        if principal.kind != "admin_token":
            raise ApiError(403, "Access denied: an org-admin token is required", code="forbidden")
        runtime.config.revoke(body.token_id)
        return present.ok(request, {"status": "ok"})


def _add_oss_routes(router: APIRouter, present: Presenter) -> None:
    @router.patch("/config/me", responses=present.docs(NodeConfig), tags=["team config"])
    async def patch_config(request: Request, runtime: Rt, team: Team, body: ConfigPatch) -> JSONResponse:
        """Deep-merge ``config`` into the team's overrides and return them with the new version."""
        assert team.team_node_id is not None
        node, _ = await team_write(
            runtime, team.team_node_id, body.config, body.reason, lambda eff: validate_effective(eff, "oss")
        )
        return present.ok(request, node.raw_view())

    @router.put("/config/me", include_in_schema=False)
    async def put_not_allowed() -> None:
        raise ApiError(405, "Method Not Allowed", headers={"allow": "GET"})

    @router.get("/config/defaults", responses=present.docs(ConfigObject), tags=["public"])
    async def get_defaults(request: Request) -> JSONResponse:
        """The system defaults (no authentication)."""
        return present.ok(request, SYSTEM_DEFAULTS)


def _add_admin_routes(router: APIRouter, present: Presenter) -> None:
    def admin_actor(request: Request) -> str:
        # The open-source service reads the actor only under this literal (underscored) header name.
        actor = request.headers.get("x_admin_actor") if present.dialect == "oss" else None
        return actor[:100] if actor else "admin"

    def team_node(runtime: Runtime, org_id: str, node_id: str) -> Node:
        node = runtime.config.node(node_id, org_id)
        if node.node_type != "team":
            raise ApiError(400, f"{node_id!r} is not a team", code="invalid_field", field="team")
        return node

    @router.get("/admin/orgs/{org_id}/nodes", responses=present.docs(list[NodeInfo]), tags=["admin"])
    async def list_nodes(request: Request, runtime: Rt, org_id: OrgId, _: Admin) -> JSONResponse:
        """Every node of the org."""
        return present.ok(request, [node.info() for node in runtime.config.nodes(org_id)])

    @router.post("/admin/orgs/{org_id}/nodes", status_code=201, responses=present.docs(NodeInfo, 201), tags=["admin"])
    async def create_node(request: Request, runtime: Rt, org_id: OrgId, _: Admin, body: NodeCreate) -> JSONResponse:
        """Create a team (under the org root unless ``parent_id`` is given)."""
        node = runtime.config.create_node(org_id, body.node_id, body.parent_id, body.name)
        return present.ok(request, {**node.info(), "template_applied": None}, 201)

    @router.get("/admin/orgs/{org_id}/nodes/{node_id}", responses=present.docs(NodeInfo), tags=["admin"])
    async def get_node(request: Request, runtime: Rt, org_id: OrgId, node_id: NodeIdPath, _: Admin) -> JSONResponse:
        """One node's metadata."""
        return present.ok(request, runtime.config.node(node_id, org_id).info())

    @router.patch("/admin/orgs/{org_id}/nodes/{node_id}", responses=present.docs(NodeInfo), tags=["admin"])
    async def update_node(
        request: Request, runtime: Rt, org_id: OrgId, node_id: NodeIdPath, _: Admin, body: NodeUpdate
    ) -> JSONResponse:
        """Rename a node and/or move it under another parent of the org (no cycles; the org root stays the root).
        Its config and version are unchanged; its teams' effective configs follow the new lineage."""
        node = runtime.config.update_node(org_id, node_id, body.name, body.parent_id)
        return present.ok(request, node.info())

    @router.delete("/admin/orgs/{org_id}/nodes/{node_id}", include_in_schema=False)
    async def delete_node_not_allowed() -> None:
        # The open-source service has no node delete.
        raise ApiError(405, "Method Not Allowed", headers={"allow": "GET, PATCH"})

    @router.get("/config/orgs/{org_id}/nodes/{node_id}/raw", responses=present.docs(NodeConfig), tags=["admin"])
    async def get_node_raw(request: Request, runtime: Rt, org_id: OrgId, node_id: NodeIdPath, _: Admin) -> JSONResponse:
        """A node's raw overrides with its version: the best read for drift."""
        return present.ok(request, runtime.config.node(node_id, org_id).raw_view())

    @router.patch("/config/orgs/{org_id}/nodes/{node_id}", responses=present.docs(NodeConfig), tags=["admin"])
    async def patch_node(
        request: Request, runtime: Rt, org_id: OrgId, node_id: NodeIdPath, _: Admin, body: ConfigPatch
    ) -> JSONResponse:
        """Deep-merge into a node's overrides, with validation."""
        runtime.config.node(node_id, org_id)
        node, _eff = runtime.config.write(
            node_id,
            body.config,
            admin_actor(request),
            body.reason,
            lambda eff: validate_effective(eff, present.dialect),
        )
        return present.ok(request, node.raw_view())

    @router.get(
        "/config/orgs/{org_id}/nodes/{node_id}/history", responses=present.docs(list[HistoryRow]), tags=["admin"]
    )
    async def get_history(
        request: Request,
        runtime: Rt,
        org_id: OrgId,
        node_id: NodeIdPath,
        _: Admin,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> JSONResponse:
        """A node's config changes, most recent first."""
        runtime.config.node(node_id, org_id)
        rows = [{k: v for k, v in row.items() if k != "full_config"} for row in runtime.config.history(node_id, limit)]
        return present.ok(request, rows)

    @router.get("/admin/orgs/{org_id}/nodes/{node_id}/config", responses=present.docs(AdminConfig), tags=["admin"])
    async def get_node_config(
        request: Request, runtime: Rt, org_id: OrgId, node_id: NodeIdPath, _: Admin
    ) -> JSONResponse:
        """A node's raw overrides."""
        return present.ok(request, {"config": runtime.config.node(node_id, org_id).config})

    @router.put("/admin/orgs/{org_id}/nodes/{node_id}/config", responses=present.docs(AdminConfig), tags=["admin"])
    async def put_node_config(
        request: Request, runtime: Rt, org_id: OrgId, node_id: NodeIdPath, _: Admin, body: AdminConfigPut
    ) -> JSONResponse:
        """Deep-merge into a node's overrides without validation (no version in the answer)."""
        runtime.config.node(node_id, org_id)
        node, _eff = runtime.config.write(node_id, body.patch, admin_actor(request), None)
        return present.ok(request, {"config": node.config})

    @router.post(
        "/admin/orgs/{org_id}/teams/{team_id}/tokens",
        status_code=201,
        responses=present.docs(TokenIssued, 201),
        tags=["admin"],
    )
    async def mint_token(
        request: Request,
        runtime: Rt,
        org_id: OrgId,
        team_id: NodeIdPath,
        _: Admin,
        body: Annotated[TokenRequest | None, Body()] = None,
    ) -> JSONResponse:
        """A new team token, shown once (only its hash is stored)."""
        team_node(runtime, org_id, team_id)
        options = body or TokenRequest()
        token, issued_at = runtime.config.mint(team_id, options.label, options.expires_in_seconds)
        return present.ok(request, {"token": token, "issued_at": issued_at}, 201)

    @router.get("/admin/orgs/{org_id}/teams/{team_id}/tokens", responses=present.docs(list[TokenInfo]), tags=["admin"])
    async def list_tokens(request: Request, runtime: Rt, org_id: OrgId, team_id: NodeIdPath, _: Admin) -> JSONResponse:
        """A team's tokens (metadata only)."""
        team_node(runtime, org_id, team_id)
        return present.ok(request, runtime.config.tokens(team_id))

    @router.post(
        "/admin/orgs/{org_id}/teams/{team_id}/tokens/{token_id}/revoke",
        responses=present.docs(Status),
        tags=["admin"],
    )
    async def revoke_team_token(
        request: Request, runtime: Rt, org_id: OrgId, team_id: NodeIdPath, token_id: TokenIdPath, _: Admin
    ) -> JSONResponse:
        """Revoke a team token; idempotent, an unknown id also answers ok."""
        team_node(runtime, org_id, team_id)
        runtime.config.revoke(token_id, team_id)
        return present.ok(request, {"status": "ok"})
