"""Collecting steps, refreshes and errors from the engine's streaming preview events."""

from __future__ import annotations

from pathlib import Path

from stackfox_provider.review.engine_run import ResourceRef, collect, preview_args, run_preview
from stackfox_provider.review.values import SECRET
from tests.unit.review.events import (
    FIXTURES,
    TEAM,
    diagnostic,
    fake_pulumi,
    lines,
    recorded,
    run_of,
    summary,
)


def test_a_recorded_refresh_preview_gives_refreshed_and_program_states_per_resource() -> None:
    run = recorded("drift")

    assert (run.project, run.stack, run.result, run.failed) == ("scratch", "dev", "succeeded", False)
    assert sorted(r.resource.name for r in run.refreshes.values()) == ["done", "gone", "pm", "team"]
    gone = next(r for r in run.refreshes.values() if r.resource.name == "gone")
    assert gone.gone and gone.before is not None and gone.before.inputs["url"] == "https://hooks.example.com/gone"
    ops = {step.resource.name: step.op for step in run.steps}
    assert ops == {"done": "update", "gone": "create", "pm": "same", "team": "update"}
    team = next(step for step in run.steps if step.resource.name == "team")
    assert team.old is not None and team.new is not None
    assert team.old.outputs["feature_flags"] == {"beta": False}, "old is the refreshed state"
    assert team.new.inputs["feature_flags"] == {"auto": True, "beta": True}, "new is what the program says"
    done = next(step for step in run.steps if step.resource.name == "done")
    assert done.new is not None and done.new.inputs["url"] is SECRET
    assert run.change_counts == {"create": 1, "same": 2, "update": 2}


def test_replacements_are_one_step_with_the_keys_that_force_them() -> None:
    run = recorded("plan")

    replaced = [step for step in run.steps if step.resource.name == "pm"]
    assert [(step.op, step.replace_keys) for step in replaced] == [("replace", ("event",))]
    assert all(step.resource.managed for step in run.steps), "the stack and providers are left out"


def test_resource_refs_know_their_service_and_kind() -> None:
    ref = ResourceRef("urn:pulumi:dev::ops::pulumi-python:dynamic/stackflow:IncidentCategory::network",
                      "pulumi-python:dynamic/stackflow:IncidentCategory")  # fmt: skip

    assert (ref.name, ref.kind, ref.service, ref.label) == ("network", "IncidentCategory", "StackFlow",
                                                            "IncidentCategory 'network'")  # fmt: skip
    assert ResourceRef("urn:pulumi:dev::ops::aws:s3/bucket:Bucket::b", "aws:s3/bucket:Bucket").service == "other"


def test_a_check_failure_is_reported_with_the_message_from_check() -> None:
    run = recorded("check")

    assert run.failed
    assert run.errors() == [
        ("TeamConfig 'team'",
         "agents.planner.max_turns: Input should be a valid integer, unable to parse string as an integer")
    ]  # fmt: skip


def test_provider_errors_lose_engine_noise_and_repeats() -> None:
    message = "IncidentFox GET /config/me/raw failed with HTTP 401 (unauthorized): Invalid token"
    run = run_of(
        diagnostic(f"Exception calling application: {message}\n", name="a", type_=TEAM),
        diagnostic(f"Preview failed: Exception calling application: {message}\n", name="a", type_=TEAM),
        diagnostic("a warning\n", severity="warning"),
        diagnostic("preview failed\n"),
        summary("failed"),
    )

    assert run.errors() == [("TeamConfig 'a'", message)]


def test_a_program_exception_is_summarised() -> None:
    traceback = (
        "Program failed with an unhandled exception:\nTraceback (most recent call last):\n"
        '  File "/project/__main__.py", line 4, in <module>\n    raise RuntimeError("boom")\nRuntimeError: boom\n'
    )
    run = run_of(diagnostic(traceback), summary("failed"))

    assert run.errors() == [
        (None, 'the program failed: RuntimeError: boom (File "/project/__main__.py", line 4, in <module>)')
    ]


def test_without_events_the_reason_comes_from_stderr() -> None:
    run = collect(["not json"])
    run.returncode, run.stderr = 6, "error: no stack named 'nosuch' found\n"

    assert run.errors() == [(None, "no stack named 'nosuch' found"), (None, "not json")]


def test_drift_refreshes_with_the_current_config_and_plan_does_not_refresh() -> None:
    assert preview_args(stack="prod", refresh=True) == [
        "preview", "--json", "--non-interactive", "--refresh", "--run-program", "--stack", "prod"
    ]  # fmt: skip
    assert preview_args(stack=None, refresh=False) == ["preview", "--json", "--non-interactive"]


def test_run_preview_streams_events_from_the_process(tmp_path: Path) -> None:
    events = (FIXTURES / "drift-events.jsonl").read_text().splitlines()
    engine = fake_pulumi(tmp_path, events, stderr="warning: something\n")
    seen: list[str] = []

    run = run_preview(engine, tmp_path, stack="dev", refresh=True, on_refresh=lambda r: seen.append(r.resource.name))

    assert sorted(seen) == ["done", "gone", "pm", "team"]
    assert (run.returncode, run.stderr) == (0, "warning: something\n")
    assert (tmp_path / "args.txt").read_text().split() == preview_args(stack="dev", refresh=True)
    environment = (tmp_path / "env.txt").read_text()
    assert "PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true" in environment
    assert f"PULUMI_BACKEND_URL=file://{tmp_path / 'state'}" in environment


def test_a_failing_process_is_a_failed_run(tmp_path: Path) -> None:
    engine = fake_pulumi(tmp_path, lines(summary("failed")), exit_code=255, stderr="error: boom\n")

    run = run_preview(engine, tmp_path, stack=None, refresh=False)

    assert run.failed and run.errors() == [(None, "boom")]
