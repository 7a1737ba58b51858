"""What `pulumi up` would do, per service, resource and field."""

from __future__ import annotations

import pytest

from stackfox_provider.resources.webhook import WebhookProvider
from stackfox_provider.review.plan import UNATTRIBUTED, plan_report
from tests.unit.review.events import CATEGORY, TEAM, WEBHOOK, recorded, run_of, secret, state, step, summary


def test_the_recorded_plan_lists_each_change_with_its_fields() -> None:
    report = plan_report(recorded("plan"), project="p", stack="s", refreshed=False)

    assert (report.status, report.project, report.stack, report.refreshed) == ("changes", "scratch", "dev", False)
    assert report.totals.model_dump() == {"create": 1, "update": 1, "replace": 1, "delete": 1, "same": 1}
    [incidentfox] = report.services
    assert incidentfox.service == "IncidentFox"
    changes = {r.name: (r.op, [(f.path, f.old, f.new) for f in r.fields]) for r in incidentfox.resources}
    assert changes["team"] == ("update", [("agents.planner.max_turns", 8, 9), ("feature_flags.new", None, False)])
    assert changes["pm"] == ("replace", [("event", "postmortem_ready", "postmortem_ready2")])
    assert changes["m"][0] == "create"
    assert ("env", None, "[secret]") in changes["m"][1]
    assert changes["gone"][0] == "delete"
    assert ("url", "https://hooks.example.com/gone", None) in changes["gone"][1]
    replaced = next(r for r in incidentfox.resources if r.name == "pm")
    assert replaced.fields[0].forces_replacement


def test_changes_are_grouped_by_service_in_a_fixed_order() -> None:
    report = plan_report(
        run_of(
            step("create", CATEGORY, "net", new=state({"name": "net"})),
            step("create", "aws:s3/bucket:Bucket", "b", new=state({"bucket": "b"})),
            step("create", WEBHOOK, "w", new=state({"event": "e"})),
            step("same", TEAM, "t", old=state({}), new=state({})),
            summary(),
        ),
        project="p",
        stack="s",
        refreshed=True,
    )

    assert [(group.service, [r.name for r in group.resources]) for group in report.services] == [
        ("IncidentFox", ["w"]), ("StackFlow", ["net"]), ("other", ["b"])
    ]  # fmt: skip
    assert (report.totals.create, report.totals.same) == (3, 1)


def test_a_secret_change_shows_masked_and_no_changes_is_a_status() -> None:
    old, new = state({"url": secret("a")}), state({"url": secret("b")})

    changed = plan_report(run_of(step("update", WEBHOOK, "w", old=old, new=new), summary()),
                          project="p", stack="s", refreshed=False)  # fmt: skip
    [field] = changed.services[0].resources[0].fields
    assert (field.path, field.old, field.new, field.secret) == ("url", "[secret]", "[secret]", True)

    unchanged = plan_report(run_of(step("same", WEBHOOK, "w", old=old, new=old), summary()),
                            project="p", stack="s", refreshed=False)  # fmt: skip
    assert (unchanged.status, unchanged.services, unchanged.totals.same) == ("no_changes", [], 1)


def test_an_update_without_visible_fields_says_so() -> None:
    same_inputs = state({"event": "e"})

    report = plan_report(run_of(step("update", WEBHOOK, "w", old=same_inputs, new=same_inputs), summary()),
                         project="p", stack="s", refreshed=False)  # fmt: skip

    assert report.services[0].resources[0].note == UNATTRIBUTED


def test_invalid_input_is_an_error_with_the_check_message() -> None:
    report = plan_report(recorded("check"), project="p", stack="s", refreshed=False)

    assert report.status == "error"
    assert [(e.resource, e.message) for e in report.errors] == [
        ("TeamConfig 'team'",
         "agents.planner.max_turns: Input should be a valid integer, unable to parse string as an integer")
    ]  # fmt: skip


def test_a_computed_output_a_resource_declares_is_never_a_planned_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """The review code takes computed outputs from the resources themselves (``computed_outputs``)."""
    old = state({"event": "e", "url": "https://hooks.example.com/a", "delivery_stats": {"sent": 3}})
    new = state({"event": "e", "url": "https://hooks.example.com/b"})

    def planned() -> list[str]:
        run = run_of(step("update", WEBHOOK, "hook", old=old, new=new), summary())
        report = plan_report(run, project="p", stack="s", refreshed=False)
        return [field.path for field in report.services[0].resources[0].fields]

    assert sorted(planned()) == ["delivery_stats.sent", "url"], "an output no resource declares is a field"
    monkeypatch.setattr(WebhookProvider, "computed_outputs", (*WebhookProvider.computed_outputs, "delivery_stats"))
    assert planned() == ["url"]
