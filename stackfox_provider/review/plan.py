"""``stackfox plan``: what ``pulumi up`` would change, per service, resource and field, for a pull request."""

from __future__ import annotations

from typing import Any, get_args

from stackfox_provider.resources.catalog import ignored_properties
from stackfox_provider.review.engine_run import PreviewRun, Step
from stackfox_provider.review.model import (
    SERVICE_ORDER,
    Change,
    FieldChange,
    PlanReport,
    PlanTotals,
    ResourceChange,
    ServiceChanges,
    timestamp,
)
from stackfox_provider.review.values import Difference, changed_fields, dotted, field_leaves, to_json

CHANGES: dict[str, Change] = {op: op for op in get_args(Change)}
UNATTRIBUTED = "the provider reports a change in no field stackfox can show; run `pulumi preview --diff`"


def plan_report(run: PreviewRun, *, project: str, stack: str, refreshed: bool) -> PlanReport:
    """The plan report of a preview run (``project``/``stack`` when no URN names them)."""
    common: dict[str, Any] = {
        "project": run.project or project,
        "stack": run.stack or stack,
        "generated_at": timestamp(),
        "duration_seconds": round(run.duration_seconds, 2),
        "refreshed": refreshed,
    }
    if run.failed:
        return PlanReport(**common, status="error", totals=PlanTotals(), errors=run.review_errors())
    steps = sorted(run.steps, key=lambda step: (step.resource.kind, step.resource.name))
    changes = [resource_change(step) for step in steps if step.op != "same"]
    totals = PlanTotals(
        create=sum(c.op == "create" for c in changes),
        update=sum(c.op == "update" for c in changes),
        replace=sum(c.op == "replace" for c in changes),
        delete=sum(c.op == "delete" for c in changes),
        same=sum(step.op == "same" for step in run.steps),
    )
    services = [
        ServiceChanges(service=service, resources=[c for c in changes if c.service == service])
        for service in SERVICE_ORDER
        if any(c.service == service for c in changes)
    ]
    return PlanReport(**common, status="changes" if changes else "no_changes", totals=totals, services=services)


def resource_change(step: Step) -> ResourceChange:
    """One step as a resource change with its fields: all of them for a create or delete, else those that change."""
    old = step.old.inputs if step.old else {}
    new = step.new.inputs if step.new else {}
    ignored = ignored_properties(step.resource.type)
    paths = [*field_leaves(old, ignored), *field_leaves(new, ignored)]
    differences = changed_fields(old, new, paths)
    fields = [_field(difference, step.replace_keys) for difference in differences]
    op = CHANGES[step.op]
    note = UNATTRIBUTED if op in ("update", "replace") and not fields else None
    return ResourceChange(**step.resource.info(), op=op, fields=fields, note=note)


def _field(difference: Difference, replace_keys: tuple[str, ...]) -> FieldChange:
    return FieldChange(
        path=dotted(difference.path),
        old=to_json(difference.old),
        new=to_json(difference.new),
        secret=difference.secret,
        forces_replacement=difference.path[0] in replace_keys,
    )
