"""Which fields drifted, and how: computed from refreshed state, program inputs and the last applied state."""

from __future__ import annotations

from typing import Any

from stackfox_provider.resources.catalog import RESOURCES, ResourceType
from stackfox_provider.review.drift import UNATTRIBUTED, drift_report
from stackfox_provider.review.model import DriftReport
from stackfox_provider.review.render import render_drift
from tests.unit.review.events import (
    CATEGORY,
    TEAM,
    UNKNOWN_SENTINEL,
    WEBHOOK,
    diagnostic,
    recorded,
    refresh,
    run_of,
    secret,
    state,
    step,
    summary,
)


def report_of(*events: dict[str, Any]) -> DriftReport:
    return drift_report(run_of(*events, summary()), project="fallback", stack="fallback")


def items(report: DriftReport) -> list[tuple[Any, ...]]:
    """Per field (name, status, change, path, kind, code, service); (name, status, change) for whole resources."""
    found: list[tuple[Any, ...]] = []
    for r in report.resources:
        fields = [(r.name, r.status, r.change, f.path, f.kind, f.code, f.service) for f in r.fields]
        found += fields or [(r.name, r.status, r.change)]
    return found


def test_the_recorded_drift_names_each_change_with_both_values() -> None:
    report = drift_report(recorded("drift"), project="p", stack="s")

    assert (report.project, report.stack, report.status) == ("scratch", "dev", "drift")
    assert items(report) == [
        ("team", "drifted", "update", "feature_flags.auto", "reset_to_inherited", True, None),
        ("team", "drifted", "update", "feature_flags.beta", "changed", True, False),
        ("done", "drifted", "update", "url", "changed", "[secret]", "[secret]"),
        ("gone", "deleted", "create"),
    ]
    assert report.resources[1].fields[0].secret
    summary_ = report.summary
    assert (summary_.resources_checked, summary_.resources_read, summary_.resources_differing) == (4, 4, 3)
    assert (summary_.changed, summary_.reset_to_inherited, summary_.deleted, summary_.unapplied) == (2, 1, 1, 0)


def test_a_code_change_nobody_applied_is_told_apart_from_a_change_by_hand() -> None:
    applied = state({"name": "net", "default_priority": "P3", "label": "Net"})
    by_hand = state({"name": "net", "default_priority": "P3", "label": "Network!"})
    code = state({"name": "net", "default_priority": "P1", "label": "Net"})

    report = report_of(
        refresh(CATEGORY, "net", applied, by_hand),
        step("update", CATEGORY, "net", old=by_hand, new=code),
    )

    assert items(report) == [
        ("net", "drifted", "update", "default_priority", "unapplied", "P1", "P3"),
        ("net", "drifted", "update", "label", "changed", "Net", "Network!"),
    ]
    assert (report.summary.changed, report.summary.unapplied) == (1, 1)


def test_only_code_changes_make_an_unapplied_resource() -> None:
    applied = state({"name": "net", "default_priority": "P3"})
    report = report_of(
        refresh(CATEGORY, "net", applied, applied),
        step("update", CATEGORY, "net", old=applied, new=state({"name": "net", "default_priority": "P2"})),
        step("create", CATEGORY, "new", new=state({"name": "new"})),
        step("delete", CATEGORY, "old", old=applied),
    )

    assert [(r.name, r.status, r.change) for r in report.resources] == [
        ("net", "unapplied", "update"), ("new", "unapplied", "create"), ("old", "unapplied", "delete")
    ]  # fmt: skip
    assert report.summary.unapplied == 3


def test_only_a_key_gone_from_the_team_is_reset_to_inherited_a_stored_null_is_changed() -> None:
    applied = state({"feature_flags": {"beta": True, "gamma": True}, "label": "L"})
    # beta is gone from the team's overrides; gamma was nulled by hand (a null masks what is inherited)
    live = state({"label": "L"}, {"label": "L", "inherited_fields": ["feature_flags.beta"]})
    code = applied
    report = report_of(
        refresh(TEAM, "team", applied, live),
        step("update", TEAM, "team", old=live, new=code),
        refresh(CATEGORY, "cat", applied, live),
        step("update", CATEGORY, "cat", old=live, new=code),
    )

    kinds = {(r.name, f.path): f.kind for r in report.resources for f in r.fields}
    assert kinds == {
        ("team", "feature_flags.beta"): "reset_to_inherited",
        ("team", "feature_flags.gamma"): "changed",
        ("cat", "feature_flags.beta"): "changed",
        ("cat", "feature_flags.gamma"): "changed",
    }


def test_bookkeeping_connection_and_unknown_values_are_never_drift() -> None:
    live = state({"url": "https://a", "connection": secret(), "team_id": "t"}, {"previous": secret(), "id": "x"})
    live["outputs"] = {}
    code = state({"url": "https://b", "connection": secret(), "event": UNKNOWN_SENTINEL})

    report = report_of(step("update", WEBHOOK, "w", old=live, new=code))

    assert [(f.path, f.code, f.service) for f in report.resources[0].fields] == [("url", "https://b", "https://a")]


def test_a_change_no_field_explains_is_still_reported() -> None:
    same_state = state({"url": "https://a", "connection": secret()})

    report = report_of(step("update", WEBHOOK, "w", old=same_state, new=same_state))

    assert report.status == "drift"
    assert (report.resources[0].status, report.resources[0].fields, report.resources[0].note) == (
        "drifted", [], UNATTRIBUTED)  # fmt: skip
    assert report.summary.changed == 1


def test_same_steps_mean_no_drift() -> None:
    applied = state({"url": "https://a"})

    report = report_of(refresh(WEBHOOK, "w", applied, applied), step("same", WEBHOOK, "w", old=applied, new=applied))

    assert (report.status, report.resources, report.summary.resources_read) == ("in_sync", [], 1)
    assert (report.project, report.stack) == ("ops", "dev"), "named by the URNs"


def test_a_failed_refresh_is_an_error_not_a_verdict() -> None:
    run = run_of(
        diagnostic("Exception calling application: IncidentFox GET /config/me/raw failed: cannot connect", name="w"),
        summary("failed"),
    )

    report = drift_report(run, project="p", stack="s")

    assert (report.status, report.resources, report.project, report.stack) == ("error", [], "p", "s")
    assert [(e.resource, e.message) for e in report.errors] == [
        ("Webhook 'w'", "IncidentFox GET /config/me/raw failed: cannot connect")
    ]


def test_a_failed_refresh_still_reports_what_it_found_deleted() -> None:
    applied = state({"url": "https://a"})
    run = run_of(
        refresh(WEBHOOK, "gone", applied, None),
        refresh(WEBHOOK, "kept", applied, applied),
        diagnostic("Exception calling application: IncidentFox GET /config/me/raw failed with HTTP 401", name="w"),
        summary("failed"),
    )

    report = drift_report(run, project="p", stack="s")

    assert report.status == "error" and report.summary.deleted == 1
    assert items(report) == [("gone", "deleted", "create")]
    assert [e.resource for e in report.errors] == ["Webhook 'w'"]


def test_a_field_another_stack_took_over_names_that_stack_and_a_shape_made_by_hand_is_explained() -> None:
    applied = state({"url": "https://ours.example.com/a"})
    theirs = state(
        {"url": "https://theirs.example.com/a"},
        {"url": "https://theirs.example.com/a", "managed_elsewhere": {"url": "acme/payments/prod (Webhook 'a')"}},
    )
    agents = state({"agents": {"planner": {"max_turns": 12}}})
    reshaped = state({}, {"shape_mismatches": {"agents.planner.max_turns": "agents holds a list now, not an object"}})
    report = report_of(
        refresh(WEBHOOK, "hook", applied, theirs),
        step("update", WEBHOOK, "hook", old=theirs, new=applied),
        refresh(TEAM, "team", agents, reshaped),
        step("update", TEAM, "team", old=reshaped, new=agents),
    )

    fields = {(r.name, f.path): f for r in report.resources for f in r.fields}
    hook = fields[("hook", "url")]
    assert (hook.kind, hook.managed_by, hook.note) == ("changed", "acme/payments/prod (Webhook 'a')", None)
    turns = fields[("team", "agents.planner.max_turns")]
    assert (turns.kind, turns.managed_by) == ("changed", None)
    assert turns.note == "agents holds a list now, not an object"
    text = render_drift(report, "text")
    assert "changed by stack acme/payments/prod (Webhook 'a')" in text
    assert "changed by hand (agents holds a list now, not an object)" in text


def test_each_resource_type_is_attributed_to_its_service() -> None:
    assert {ResourceType.of(resource).service for resource in RESOURCES} == {"IncidentFox", "StackFlow"}
    assert report_of(step("create", WEBHOOK, "hook", new=state({"url": "u"}))).resources[0].service == "IncidentFox"
    assert report_of(step("create", CATEGORY, "c", new=state({"name": "c"}))).resources[0].service == "StackFlow"
