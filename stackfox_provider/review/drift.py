"""``stackfox drift``: compare what the services hold now with what the code says, per resource and field.

The engine decides *whether* a resource drifted (its refreshed state leads to an ``update``,
``replace`` or ``create`` step); stackfox works out *which fields*, because dynamic providers cannot
report per-property diffs. For each field the program declares it compares three values: the code's
(the step's new inputs), the service's now (the refreshed state) and the one last applied (the state
before the refresh). That tells a change made by hand from a code change nobody has applied yet.
"""

from __future__ import annotations

from typing import Any

from stackfox_provider.keypaths import KeyPath
from stackfox_provider.normalize import same
from stackfox_provider.resources.catalog import ignored_properties
from stackfox_provider.review.engine_run import PreviewRun, Refresh, Step
from stackfox_provider.review.model import (
    SERVICE_ORDER,
    Change,
    DriftKind,
    DriftReport,
    DriftStatus,
    DriftSummary,
    FieldDrift,
    ResourceDrift,
    timestamp,
)
from stackfox_provider.review.values import (
    Difference,
    changed_fields,
    dotted,
    field_leaves,
    get_path,
    to_json,
)

#: Inputs that say how to reach a service, not what it holds.
NOT_SERVICE_SETTINGS = frozenset({"connection"})
UNATTRIBUTED = "the provider reports a difference in no field stackfox can show; run `pulumi preview --refresh --diff`"


def drift_report(run: PreviewRun, *, project: str, stack: str) -> DriftReport:
    """The drift report of a ``preview --refresh`` run (``project``/``stack`` when no URN names them)."""
    project, stack = run.project or project, run.stack or stack
    checked_at = timestamp()
    if run.failed:
        # What the refresh did find is still said: e.g. a token revoked by hand, whose resources then fail.
        gone = [
            ResourceDrift(**refresh.resource.info(), status="deleted", change="create")
            for refresh in run.refreshes.values()
            if refresh.gone
        ]
        return DriftReport(
            project=project,
            stack=stack,
            status="error",
            checked_at=checked_at,
            duration_seconds=round(run.duration_seconds, 2),
            summary=_summary(run, gone),
            resources=sorted(gone, key=lambda r: (SERVICE_ORDER.index(r.service), r.kind, r.name)),
            errors=run.review_errors(),
        )
    found = [drift for step in run.steps if (drift := resource_drift(step, run.refreshes.get(step.resource.urn)))]
    resources = sorted(found, key=lambda r: (SERVICE_ORDER.index(r.service), r.kind, r.name))
    return DriftReport(
        project=project,
        stack=stack,
        status="drift" if resources else "in_sync",
        checked_at=checked_at,
        duration_seconds=round(run.duration_seconds, 2),
        summary=_summary(run, resources),
        resources=resources,
    )


def resource_drift(step: Step, refresh: Refresh | None) -> ResourceDrift | None:
    """How one resource differs from the code, or None when it matches."""
    base = step.resource.info()
    if step.op == "create":
        if refresh is not None and refresh.gone:
            return ResourceDrift(**base, status="deleted", change="create")
        return ResourceDrift(**base, status="unapplied", change="create")  # new in the code
    if step.op == "delete":
        return ResourceDrift(**base, status="unapplied", change="delete")  # removed from the code
    if step.op not in ("update", "replace") or step.old is None or step.new is None:
        return None
    change: Change = "replace" if step.op == "replace" else "update"
    fields = field_drift(step, refresh)
    if not fields:
        return ResourceDrift(**base, status="drifted", change=change, note=UNATTRIBUTED)
    status: DriftStatus = "unapplied" if all(item.kind == "unapplied" for item in fields) else "drifted"
    return ResourceDrift(**base, status=status, change=change, fields=fields)


def field_drift(step: Step, refresh: Refresh | None) -> list[FieldDrift]:
    """The declared fields whose value in the service is not the code's, each with its kind of drift."""
    assert step.old is not None and step.new is not None
    code = step.new.inputs
    live = step.old.properties
    last_applied = refresh.before.properties if refresh is not None and refresh.before is not None else None
    ignored = ignored_properties(step.resource.type) | NOT_SERVICE_SETTINGS
    return [
        FieldDrift(
            path=dotted(difference.path),
            kind=_kind(difference, last_applied, step.resource.service, live),
            code=to_json(difference.new),
            service=to_json(difference.old),
            secret=difference.secret,
            managed_by=_about(difference.path, live.get("managed_elsewhere")),
            note=_about(difference.path, live.get("shape_mismatches")),
        )
        for difference in changed_fields(live, code, field_leaves(code, ignored))
        if not difference.unknown
    ]


def _about(path: KeyPath, by_field: Any) -> str | None:
    """What the provider's read said about this field, or about a field it is part of or that is part of it."""
    field = dotted(path)
    for other, text in (by_field or {}).items() if isinstance(by_field, dict) else ():
        if other == field or other.startswith(f"{field}.") or field.startswith(f"{other}."):
            return str(text)
    return None


def _kind(difference: Difference, last_applied: dict[str, Any] | None, service: str, live: dict[str, Any]) -> DriftKind:
    if last_applied is not None and not difference.secret:
        applied = get_path(last_applied, difference.path)
        if same(applied, difference.old) and not same(applied, difference.new):
            return "unapplied"  # the service still holds what was applied: the code moved on
    if service == "IncidentFox" and _unset_on_the_team(difference.path, live):
        return "reset_to_inherited"  # the key is gone from the team's overrides (a stored null is "changed")
    return "changed"


def _unset_on_the_team(path: KeyPath, live: dict[str, Any]) -> bool:
    """Whether the provider's read found no key at all (not even a null) at this field or under it."""
    field = dotted(path)
    return any(unset == field or unset.startswith(f"{field}.") for unset in live.get("inherited_fields") or [])


def _summary(run: PreviewRun, resources: list[ResourceDrift]) -> DriftSummary:
    fields = [item for resource in resources for item in resource.fields]
    unapplied_resources = [r for r in resources if r.status == "unapplied" and not r.fields]
    return DriftSummary(
        resources_checked=len({step.resource.urn for step in run.steps} | set(run.refreshes)),
        resources_read=len(run.refreshes),
        resources_differing=len(resources),
        changed=sum(item.kind == "changed" for item in fields)
        + sum(r.status == "drifted" and not r.fields for r in resources),
        reset_to_inherited=sum(item.kind == "reset_to_inherited" for item in fields),
        deleted=sum(r.status == "deleted" for r in resources),
        unapplied=sum(item.kind == "unapplied" for item in fields) + len(unapplied_resources),
    )
