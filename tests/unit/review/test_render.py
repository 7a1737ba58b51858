"""Text, Markdown and JSON renderings; the JSON schemas; secrets never shown."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from stackfox_provider.review.drift import drift_report
from stackfox_provider.review.model import DriftReport, PlanReport
from stackfox_provider.review.plan import plan_report
from stackfox_provider.review.render import FORMATS, Format, render_drift, render_plan, show
from stackfox_provider.review.schema import SCHEMAS, schema_text
from tests.unit.review.events import WEBHOOK, recorded, refresh, run_of, secret, state, step, summary

SCHEMA_DIR = Path(__file__).parents[3] / "docs" / "schemas"


def drift() -> DriftReport:
    return drift_report(recorded("drift"), project="p", stack="s")


def plan() -> PlanReport:
    return plan_report(recorded("plan"), project="p", stack="s", refreshed=False)


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every table of a Markdown document as rows of cells (unescaped pipes split cells)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
        elif current:
            tables.append(current)
            current = []
    return tables


def test_drift_text_is_a_table_with_both_values() -> None:
    text = render_drift(drift(), "text")

    lines = text.splitlines()
    assert lines[0] == "Drift in stack dev (project scratch): 3 of 4 resources differ from the code."
    assert lines[1] == "2 fields changed by hand, 1 key reset to its inherited value, 1 resource deleted by hand."
    header = lines[3].split()
    assert header == ["SERVICE", "RESOURCE", "FIELD", "DRIFT", "CODE", "SAYS", "SERVICE", "HAS"]
    rows = [re.split(r"\s{2,}", line) for line in lines[4:8]]
    assert rows == [
        ["IncidentFox", "TeamConfig 'team'", "feature_flags.auto", "reset to inherited", "true", "(inherited)"],
        ["IncidentFox", "TeamConfig 'team'", "feature_flags.beta", "changed by hand", "true", "false"],
        ["IncidentFox", "Webhook 'done'", "url", "changed by hand", "[secret]", "[secret]"],
        ["IncidentFox", "Webhook 'gone'", "-", "deleted by hand", "(declared)", "(deleted)"],
    ]
    assert "pulumi up" in lines[-1]


def test_drift_markdown_is_one_table_ready_for_an_issue() -> None:
    text = render_drift(drift(), "markdown")

    [table] = markdown_tables(text)
    assert table[0] == ["Service", "Resource", "Field", "Drift", "Code says", "Service has"]
    assert set(table[1]) == {"---"}
    assert table[2:] == [
        ["IncidentFox", "TeamConfig `team`", "`feature_flags.auto`", "reset to inherited", "`true`", "(inherited)"],
        ["IncidentFox", "TeamConfig `team`", "`feature_flags.beta`", "changed by hand", "`true`", "`false`"],
        ["IncidentFox", "Webhook `done`", "`url`", "changed by hand", "`[secret]`", "`[secret]`"],
        ["IncidentFox", "Webhook `gone`", "-", "deleted by hand", "(declared)", "(deleted)"],
    ]
    assert text.startswith("<!-- stackfox:drift project=scratch stack=dev -->\n### stackfox drift")


def test_no_drift_is_one_sentence() -> None:
    applied = state({"url": "https://a"})
    report = drift_report(
        run_of(
            refresh(WEBHOOK, "w", applied, applied), step("same", WEBHOOK, "w", old=applied, new=applied), summary()
        ),
        project="p",
        stack="s",
    )

    assert render_drift(report, "text") == "No drift: the 1 resource of stack dev (project ops) matches the code.\n"
    assert markdown_tables(render_drift(report, "markdown")) == []


def test_plan_text_and_markdown_start_with_the_totals_and_group_by_service() -> None:
    text = render_plan(plan(), "text")
    assert text.splitlines()[0] == (
        "Plan for stack dev (project scratch): 1 to create, 1 to update, 1 to replace, 1 to delete, 1 unchanged."
    )
    assert "  ~  update   TeamConfig 'team'" in text
    assert re.search(r"agents\.planner\.max_turns\s+8\s+→\s+9", text)
    assert re.search(r'event\s+"postmortem_ready"\s+→\s+"postmortem_ready2" \(forces replacement\)', text)

    markdown = render_plan(plan(), "markdown")
    assert "**1 to create, 1 to update, 1 to replace, 1 to delete, 1 unchanged.**" in markdown
    assert "#### IncidentFox" in markdown
    [table] = markdown_tables(markdown)
    assert ["~ update", "TeamConfig `team`", "`agents.planner.max_turns`", "`8`", "`9`"] in table
    assert all(len(row) == 5 for row in table)


def test_pipes_and_backticks_in_values_cannot_break_a_markdown_table() -> None:
    old = state({"description": "a | b"})
    new = state({"description": "uses `code` | pipes"})
    report = plan_report(run_of(step("update", WEBHOOK, "w", old=old, new=new), summary()),
                         project="p", stack="s", refreshed=False)  # fmt: skip

    [table] = markdown_tables(render_plan(report, "markdown"))
    assert table[2][3:] == ['`"a \\| b"`', '`` "uses `code` \\| pipes" ``']


@pytest.mark.parametrize("fmt", FORMATS)
def test_secret_values_never_appear_in_any_format(fmt: Format) -> None:
    applied = state({"url": secret("https://hooks.example.com/old-s3cret")})
    live = state({"url": secret("https://evil.example.com/live-s3cret")})
    code = state({"url": secret("https://hooks.example.com/code-s3cret")})
    run = run_of(refresh(WEBHOOK, "w", applied, live), step("update", WEBHOOK, "w", old=live, new=code), summary())

    outputs = render_drift(drift_report(run, project="p", stack="s"), fmt) + render_plan(
        plan_report(run, project="p", stack="s", refreshed=True), fmt
    )

    assert "s3cret" not in outputs
    assert "[secret]" in outputs


def test_values_are_shown_as_json() -> None:
    assert [show(None), show("x"), show(3), show(True), show(["a", "b"]), show({"k": 1})] == [
        "(not set)", '"x"', "3", "true", '["a", "b"]', '{"k": 1}'
    ]  # fmt: skip
    assert show("[secret]", secret=True) == "[secret]"
    assert show("[unknown]") == "(known after apply)"


@pytest.mark.parametrize(("filename", "report"), [("drift.schema.json", drift), ("plan.schema.json", plan)])
def test_json_output_validates_against_the_committed_schema(filename: str, report: Any) -> None:
    schema = json.loads((SCHEMA_DIR / filename).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    rendered = render_drift(report(), "json") if filename.startswith("drift") else render_plan(report(), "json")

    jsonschema.validate(json.loads(rendered), schema, cls=jsonschema.Draft202012Validator)


def test_error_reports_validate_too() -> None:
    schema = json.loads((SCHEMA_DIR / "plan.schema.json").read_text())
    report = plan_report(recorded("check"), project="p", stack="s", refreshed=False)

    document = json.loads(render_plan(report, "json"))

    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert document["status"] == "error" and document["errors"][0]["resource"] == "TeamConfig 'team'"


def test_the_schema_rejects_what_the_report_never_contains() -> None:
    schema = json.loads((SCHEMA_DIR / "drift.schema.json").read_text())
    document = json.loads(render_drift(drift(), "json"))
    document["resources"][0]["fields"][0]["kind"] = "mystery"

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("filename", sorted(SCHEMAS))
def test_the_committed_schemas_are_generated_from_the_models(filename: str) -> None:
    committed = (SCHEMA_DIR / filename).read_text()

    assert committed == schema_text(SCHEMAS[filename]), (
        "regenerate with: python -m stackfox_provider.review.schema docs/schemas"
    )
