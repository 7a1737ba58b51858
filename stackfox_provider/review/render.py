"""Drift and plan reports as a terminal table (``text``), GitHub Markdown (``markdown``) or ``json``.

Secrets are masked long before this module (see :mod:`stackfox_provider.review.values`); it only
ever sees ``"[secret]"``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from pydantic import JsonValue

from stackfox_provider.review.model import (
    DriftReport,
    FieldChange,
    FieldDrift,
    PlanReport,
    ResourceChange,
    ResourceDrift,
    ResourceInfo,
)
from stackfox_provider.review.values import MASK, UNKNOWN_TEXT

Format = Literal["text", "markdown", "json"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "json")
#: Longest value a table cell shows (JSON output always has the whole value).
MAX_CELL = 100

DRIFT_LABELS = {
    "changed": "changed by hand",
    "reset_to_inherited": "reset to inherited",
    "unapplied": "not applied yet",
    "deleted": "deleted by hand",
}
#: (code says, service has) for entries about a whole resource.
RESOURCE_VALUES = {
    ("deleted", "create"): ("(declared)", "(deleted)"),
    ("unapplied", "create"): ("(declared)", "(not created yet)"),
    ("unapplied", "delete"): ("(not declared)", "(in the stack)"),
}
OP_SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
DRIFT_HEADER = ("Service", "Resource", "Field", "Drift", "Code says", "Service has")
PLAN_HEADER = ("Action", "Resource", "Field", "Before", "After")


def render_drift(report: DriftReport, fmt: Format) -> str:
    """The drift report in ``fmt``, ending with a newline."""
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    markdown = fmt == "markdown"
    rows = [row for resource in report.resources for row in _drift_rows(resource, markdown=markdown)]
    notes = _notes(report.resources)
    if markdown:
        counts = f" {drift_counts(report)}" if report.resources else ""
        lines = [
            f"<!-- stackfox:drift project={report.project} stack={report.stack} -->",
            f"### stackfox drift: stack `{report.stack}` (project `{report.project}`)",
            "",
            f"**{drift_headline(report)}**{counts}",
        ]
        if rows:
            lines += ["", *markdown_table(DRIFT_HEADER, rows), *_markdown_notes(notes), "", _repair_hint(report)]
        lines += ["", f"<sub>Checked {report.checked_at} in {report.duration_seconds:.1f}s.</sub>"]
        return "\n".join(lines) + "\n"
    lines = [drift_headline(report)]
    if rows:
        lines += [drift_counts(report), "", *text_table(DRIFT_HEADER, rows), *_text_notes(notes)]
        lines += ["", _repair_hint(report)]
    return "\n".join(lines) + "\n"


def render_plan(report: PlanReport, fmt: Format) -> str:
    """The plan report in ``fmt``, ending with a newline."""
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    notes = _notes([resource for group in report.services for resource in group.resources])
    if fmt == "markdown":
        lines = [
            f"<!-- stackfox:plan project={report.project} stack={report.stack} -->",
            f"### stackfox plan: stack `{report.stack}` (project `{report.project}`)",
            "",
            f"**{plan_totals(report)}**",
        ]
        for group in report.services:
            rows = [row for resource in group.resources for row in _plan_rows(resource)]
            lines += ["", f"#### {group.service}", "", *markdown_table(PLAN_HEADER, rows)]
        lines += _markdown_notes(notes)
        lines += ["", f"<sub>Previewed {report.generated_at} in {report.duration_seconds:.1f}s.</sub>"]
        return "\n".join(lines) + "\n"
    lines = [f"Plan for stack {report.stack} (project {report.project}): {plan_totals(report)}"]
    for group in report.services:
        lines += ["", group.service]
        for resource in group.resources:
            lines.append(f"  {OP_SYMBOLS[resource.op]:<2} {resource.op:<8} {_resource(resource)}")
            lines += [
                f"      {line}" for line in text_table(None, [_text_change(resource, item) for item in resource.fields])
            ]
    lines += _text_notes(notes)
    return "\n".join(lines) + "\n"


# -- sentences ---------------------------------------------------------------------------------------


def drift_headline(report: DriftReport) -> str:
    """One sentence: does the stack match the code?"""
    checked = report.summary.resources_checked
    where = f"stack {report.stack} (project {report.project})"
    if not report.resources:
        verb = "matches" if checked == 1 else "match"
        return f"No drift: the {_plural(checked, 'resource')} of {where} {verb} the code."
    return f"Drift in {where}: {report.summary.resources_differing} of {checked} resources differ from the code."


def drift_counts(report: DriftReport) -> str:
    """What kinds of drift were found, as one sentence."""
    summary = report.summary
    parts = [
        (summary.changed, "field", "changed by hand"),
        (summary.reset_to_inherited, "key", "reset to its inherited value"),
        (summary.deleted, "resource", "deleted by hand"),
        (summary.unapplied, "code change", "not applied yet"),
    ]
    sentence = ", ".join(f"{_plural(count, noun)} {what}" for count, noun, what in parts if count)
    return sentence[:1].upper() + sentence[1:] + "."


def plan_totals(report: PlanReport) -> str:
    """The one-line totals: ``1 to create, 2 to update, 0 to replace, 0 to delete, 5 unchanged.``"""
    totals = report.totals
    return (
        f"{totals.create} to create, {totals.update} to update, {totals.replace} to replace, "
        f"{totals.delete} to delete, {totals.same} unchanged."
    )


def _repair_hint(report: DriftReport) -> str:
    if all(resource.status == "unapplied" for resource in report.resources):
        return "Run `pulumi up` to apply the code."
    return (
        "Run `pulumi up --refresh` to put the services back to what the code says, "
        "or change the code to keep their values."
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# -- rows ---------------------------------------------------------------------------------------------


def _resource(resource: ResourceInfo, *, markdown: bool = False) -> str:
    return f"{resource.kind} `{resource.name}`" if markdown else f"{resource.kind} '{resource.name}'"


def _code(text: str, markdown: bool) -> str:
    """``text`` as inline code in Markdown; placeholders such as ``(not set)`` stay plain."""
    if not markdown or not text or text.startswith("(") or text == "-":
        return text
    text = _cell(text)
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _drift_rows(resource: ResourceDrift, *, markdown: bool) -> list[tuple[str, ...]]:
    head = (resource.service, _resource(resource, markdown=markdown))
    if not resource.fields:
        kind = resource.status if resource.status != "drifted" else "changed"
        code, service = RESOURCE_VALUES.get((resource.status, resource.change), ("(see note)", "(see note)"))
        return [(*head, "-", DRIFT_LABELS[kind], code, service)]
    rows: list[tuple[str, ...]] = []
    for item in resource.fields:
        live = "(inherited)" if item.kind == "reset_to_inherited" else show(item.service, item.secret)
        if item.kind == "changed" and item.service is None and resource.service == "IncidentFox":
            live = "null"  # a key gone from the team reads as reset_to_inherited: this one holds a null
        code = show(item.code, item.secret)
        path = _code(item.path, markdown)
        rows.append((*head, path, _drift_label(item), _code(code, markdown), _code(live, markdown)))
    return rows


def _drift_label(item: FieldDrift) -> str:
    if item.kind == "changed" and item.managed_by:
        return f"changed by stack {item.managed_by}"
    return f"{DRIFT_LABELS[item.kind]} ({item.note})" if item.note else DRIFT_LABELS[item.kind]


def _plan_rows(resource: ResourceChange) -> list[tuple[str, ...]]:
    """Markdown rows: the action and resource on the first row of each resource only."""
    action = f"{OP_SYMBOLS[resource.op]} {resource.op}"
    name = _resource(resource, markdown=True)
    if not resource.fields:
        return [(action, name, "-", "", "")]
    rows: list[tuple[str, ...]] = [
        ("", "", _code(item.path, True), *_change_text(resource, item, markdown=True)) for item in resource.fields
    ]
    rows[0] = (action, name, *rows[0][2:])
    return rows


def _text_change(resource: ResourceChange, item: FieldChange) -> tuple[str, ...]:
    old, new = _change_text(resource, item, markdown=False)
    if resource.op == "create":
        return item.path, new
    if resource.op == "delete":
        return item.path, old
    return item.path, old, "→", new


def _change_text(resource: ResourceChange, item: FieldChange, *, markdown: bool) -> tuple[str, str]:
    """(before, after) cells; a field the code stops declaring shows as removed."""
    old = _code(show(item.old, item.secret), markdown) if item.old is not None else "-"
    if item.new is not None:
        new = _code(show(item.new, item.secret), markdown)
    else:
        new = "-" if resource.op == "delete" else "(removed)"
    if item.forces_replacement:
        new += " (forces replacement)"
    return old, new


def _notes(resources: Sequence[ResourceDrift | ResourceChange]) -> list[str]:
    return [f"{_resource(resource)}: {resource.note}" for resource in resources if resource.note]


def _text_notes(notes: list[str]) -> list[str]:
    return ["", *[f"Note: {note}" for note in notes]] if notes else []


def _markdown_notes(notes: list[str]) -> list[str]:
    return ["", *[f"- {note}" for note in notes]] if notes else []


def show(value: JsonValue, secret: bool = False) -> str:
    """A value for a table cell: JSON (strings quoted), ``[secret]`` bare, ``(not set)`` for null."""
    if value is None:
        return "(not set)"
    if value == MASK and secret:
        return MASK
    if value == UNKNOWN_TEXT:
        return "(known after apply)"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


# -- tables -------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def text_table(header: Sequence[str] | None, rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns separated by two spaces; ``header`` (upper-cased) first when given."""
    table = [[_cell(cell) for cell in row] for row in rows]
    if header is not None:
        table.insert(0, [name.upper() for name in header])
    if not table:
        return []
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GitHub Markdown table; pipes and line breaks in cells are escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(" ".join(cell.split()).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines
