"""IncidentFox request and response models (pydantic v2); they also drive the OpenAPI documents."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")
NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
ConfigObject = dict[str, Any]


class Meta(BaseModel):
    """Hosted dialect: the ``meta`` of every success body."""

    request_id: str
    timestamp: str


class Envelope(BaseModel, Generic[T]):
    """Hosted dialect: ``{"data": ..., "meta": ...}``."""

    data: T
    meta: Meta


class HostedErrorBody(BaseModel):
    """Hosted dialect: the inside of an error."""

    code: str
    message: str
    request_id: str
    field: str | None = None


class HostedError(BaseModel):
    """Hosted dialect: every error."""

    error: HostedErrorBody


class OssError(BaseModel):
    """Open-source dialect: every error (``detail`` is a string, an object or a list)."""

    detail: Any


class AuthMe(BaseModel):
    """``GET /auth/me``."""

    role: Literal["team", "admin"]
    auth_kind: Literal["team_token", "admin_token"]
    org_id: str
    team_node_id: str | None
    subject: str
    email: str | None
    can_write: bool
    permissions: list[str]
    visitor_id: str | None


class EffectiveConfig(BaseModel):
    """Open-source dialect: ``GET /config/me`` and ``/config/me/effective``."""

    node_id: str
    effective_config: ConfigObject
    computed_at: None
    hierarchy: list[str]


class RawConfig(BaseModel):
    """``GET /config/me/raw``: the lineage root → leaf and each node's raw overrides."""

    lineage: list[str]
    configs: dict[str, ConfigObject]


class NodeConfig(BaseModel):
    """A node's raw overrides with its version (PATCH response, admin raw read)."""

    node_id: str
    node_type: Literal["org", "team"]
    config: ConfigObject
    version: int
    updated_at: str
    updated_by: str


class ConfigPatch(BaseModel):
    """Open-source dialect: body of ``PATCH /config/me`` and of the admin node PATCH."""

    config: ConfigObject
    reason: Annotated[str, StringConstraints(max_length=1000)] | None = None


class HostedUpdate(BaseModel):
    """Hosted dialect: result of ``PUT /config/me``."""

    message: str
    version: int
    changed_fields: list[str]
    effective_config: ConfigObject


class HistoryRow(BaseModel):
    """One change of a node's config."""

    version: int
    changed_at: str
    changed_by: str
    change_reason: str | None
    change_diff: dict[str, Any]


class AuditRow(BaseModel):
    """Hosted dialect: one row of ``GET /config/me/audit``."""

    version: int
    changed_at: str
    changed_by: str
    diff: dict[str, Any]
    full_config: ConfigObject | None


class Audit(BaseModel):
    """Hosted dialect: ``GET /config/me/audit``."""

    history: list[AuditRow]


class NodeCreate(BaseModel):
    """Body of ``POST /admin/orgs/{org}/nodes`` (the sandbox holds one org, so only teams are created)."""

    model_config = ConfigDict(extra="forbid")

    node_id: NodeId
    parent_id: NodeId | None = None
    node_type: Literal["team"] = "team"
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]


class NodeUpdate(BaseModel):
    """Body of ``PATCH /admin/orgs/{org}/nodes/{node}``: a new name and/or parent (absent or null: unchanged)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")] | None = None
    parent_id: NodeId | None = None


class NodeInfo(BaseModel):
    """A node's metadata."""

    node_id: str
    org_id: str
    parent_id: str | None
    node_type: Literal["org", "team"]
    name: str
    version: int
    created_at: str
    updated_at: str
    template_applied: None = None


class AdminConfigPut(BaseModel):
    """Body of ``PUT /admin/orgs/{org}/nodes/{node}/config``: merged without validation."""

    patch: ConfigObject


class AdminConfig(BaseModel):
    """Result of the admin config read and write."""

    config: ConfigObject


class TokenRequest(BaseModel):
    """Optional body when minting a team token (sandbox extension: ``label`` and a short lifetime)."""

    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, StringConstraints(max_length=200)] | None = None
    expires_in_seconds: float | None = Field(default=None, gt=0, le=10 * 365 * 86400)


class TokenIssued(BaseModel):
    """A new team token, shown once."""

    token: str
    issued_at: str


class TokenInfo(BaseModel):
    """Team token metadata (never the secret)."""

    token_id: str
    team_node_id: str | None
    label: str | None
    permissions: list[str]
    issued_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class RevokeRequest(BaseModel):
    """Hosted dialect: body of ``POST /admin/tokens/revoke``."""

    token_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class Status(BaseModel):
    """``{"status": "ok"}``."""

    status: Literal["ok"]
