"""The reports of ``stackfox drift`` and ``stackfox plan``: their ``--format json`` output, and its schema.

``docs/schemas/drift.schema.json`` and ``docs/schemas/plan.schema.json`` are generated from these models
(``python -m stackfox_provider.review.schema docs/schemas``). Version 1 only ever gains optional
properties; anything else raises ``schema_version``.

Values are JSON as the program or the service has them, with three conventions: a secret is the
string ``"[secret]"`` (and ``secret`` is true), a value known only after ``pulumi up`` is
``"[unknown]"``, and null means *not set*.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, JsonValue

SCHEMA_VERSION: Literal[1] = 1

Service = Literal["IncidentFox", "StackFlow", "other"]
SERVICE_ORDER: tuple[Service, ...] = get_args(Service)
Change = Literal["create", "update", "replace", "delete"]
DriftKind = Literal["changed", "reset_to_inherited", "unapplied"]
DriftStatus = Literal["drifted", "deleted", "unapplied"]


def timestamp() -> str:
    """Now, as the reports give times: ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class ReportModel(BaseModel):
    """Base of every report model: no unknown properties, stable field order."""

    model_config = ConfigDict(extra="forbid")


class ResourceInfo(ReportModel):
    """Which resource of the stack an entry is about."""

    urn: str = Field(description="the resource's Pulumi URN")
    name: str = Field(description="the resource's name in the program")
    type: str = Field(description="the Pulumi type token, e.g. pulumi-python:dynamic/incidentfox:Webhook")
    kind: str = Field(description="the short type name, e.g. Webhook")
    service: Service = Field(description="the service the resource configures")


class ReviewError(ReportModel):
    """Why a review could not be completed."""

    resource: str | None = Field(default=None, description="the resource concerned, e.g. \"Webhook 'done'\"")
    message: str


class FieldDrift(ReportModel):
    """One field whose value in the service is not what the code says."""

    path: str = Field(description="dotted path of the field in the resource's inputs, e.g. feature_flags.beta")
    kind: DriftKind = Field(
        description="changed: changed outside the stack (by hand); reset_to_inherited: an IncidentFox key the "
        "resource owns is no longer set on the team, so the team inherits its value again; unapplied: the code "
        "changed since the last `pulumi up` and the service still holds what was applied then"
    )
    code: JsonValue = Field(description="what the code says")
    service: JsonValue = Field(description="what the service holds now (null: not set)")
    secret: bool = Field(default=False, description="the value is a secret: both sides are masked")
    managed_by: str | None = Field(
        default=None,
        description="IncidentFox: the stack (org/project/stack, and its resource) that manages this field now, "
        "by the team's stackfox record; the change is that stack's, not a hand edit",
    )
    note: str | None = Field(default=None, description="more about this field, e.g. a value of an unexpected shape")


class ResourceDrift(ResourceInfo):
    """A resource whose state in the service differs from the code."""

    status: DriftStatus = Field(
        description="drifted: fields differ (see fields); deleted: deleted outside the stack; unapplied: the "
        "code changed since the last `pulumi up` (see change)"
    )
    change: Change = Field(description="what `pulumi up` would do to bring the service back to the code")
    fields: list[FieldDrift] = Field(default_factory=list)
    note: str | None = Field(default=None, description="more about this entry, when fields cannot tell it all")


class DriftSummary(ReportModel):
    """Counts of what the drift check found."""

    resources_checked: int = Field(description="resources of the stack and the code compared")
    resources_read: int = Field(description="resources read from the services")
    resources_differing: int
    changed: int = Field(description="fields changed outside the stack")
    reset_to_inherited: int = Field(description="IncidentFox keys no longer set on the team")
    deleted: int = Field(description="resources deleted outside the stack")
    unapplied: int = Field(description="fields and resources the code changed since the last `pulumi up`")


class DriftReport(ReportModel):
    """``stackfox drift --format json``: how the services differ from the code."""

    model_config = ConfigDict(title="stackfox drift report", extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    command: Literal["drift"] = "drift"
    project: str
    stack: str
    status: Literal["in_sync", "drift", "error"] = Field(
        description="in_sync: exit 0; drift: exit 2; error: exit 1, it could not tell (see errors)"
    )
    checked_at: str = Field(description="when the check finished, ISO 8601 UTC")
    duration_seconds: float
    summary: DriftSummary
    resources: list[ResourceDrift] = Field(default_factory=list, description="only the resources that differ")
    errors: list[ReviewError] = Field(default_factory=list)


class FieldChange(ReportModel):
    """One field a step changes."""

    path: str = Field(description="dotted path of the field in the resource's inputs")
    old: JsonValue = Field(description="the value now (null: not set)")
    new: JsonValue = Field(description="the value after `pulumi up` (null: not set)")
    secret: bool = Field(default=False, description="the value is a secret: both sides are masked")
    forces_replacement: bool = Field(default=False, description="changing this field replaces the resource")


class ResourceChange(ResourceInfo):
    """What `pulumi up` would do to one resource."""

    op: Change
    fields: list[FieldChange] = Field(default_factory=list)
    note: str | None = None


class ServiceChanges(ReportModel):
    """The changes to one service's resources."""

    service: Service
    resources: list[ResourceChange]


class PlanTotals(ReportModel):
    """How many resources each kind of step touches."""

    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0
    same: int = 0


class PlanReport(ReportModel):
    """``stackfox plan --format json``: what `pulumi up` would change, grouped by service."""

    model_config = ConfigDict(title="stackfox plan report", extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    command: Literal["plan"] = "plan"
    project: str
    stack: str
    status: Literal["changes", "no_changes", "error"] = Field(
        description="changes or no_changes: exit 0; error: exit 1 (see errors)"
    )
    generated_at: str = Field(description="when the plan finished, ISO 8601 UTC")
    duration_seconds: float
    refreshed: bool = Field(description="the plan started from a refreshed state")
    totals: PlanTotals
    services: list[ServiceChanges] = Field(default_factory=list)
    errors: list[ReviewError] = Field(default_factory=list)
