"""Steps, refreshes and errors from the engine's preview events: live through the Automation API, or recorded."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from stackfox_provider.review.engine_run import FAILED, ResourceRef, replay, run_preview
from stackfox_provider.review.values import SECRET
from stackfox_provider.settings import SKIP_CREDENTIALS_CHECK_ENV
from tests.unit.review.events import (
    FIXTURES,
    TEAM,
    calls,
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
    run = run_of()
    run.result, run.stderr = FAILED, "error: no stack named 'nosuch' found\n"

    assert run.errors() == [(None, "no stack named 'nosuch' found")]
    run.stderr = ""
    assert run.errors() == [(None, "pulumi preview failed without saying why")]


def test_a_recording_is_engine_events_only() -> None:
    with pytest.raises(ValueError):
        replay(["not json"])


def test_drift_refreshes_with_the_current_config_and_plan_does_not_refresh(tmp_path: Path) -> None:
    drift, plan = tmp_path / "drift", tmp_path / "plan"

    run_preview(fake_pulumi(drift, lines(summary())), drift, stack="prod", refresh=True)
    run_preview(fake_pulumi(plan, lines(summary())), plan, stack="dev", refresh=False)

    drift_args, plan_args = ((directory / "args.txt").read_text().split() for directory in (drift, plan))
    assert drift_args[:4] == ["--non-interactive", "preview", "--refresh", "--run-program=true"]
    assert drift_args[-2:] == ["--stack", "prod"]
    assert plan_args[:3] == ["--non-interactive", "preview", "--exec-kind"]
    assert not [arg for arg in plan_args if arg.startswith(("--refresh", "--run-program"))]
    assert plan_args[-2:] == ["--stack", "dev"]
    skip_check = f"{SKIP_CREDENTIALS_CHECK_ENV}=true"
    assert skip_check in (plan / "env.txt").read_text().splitlines(), "plan calls no service"
    assert skip_check not in (drift / "env.txt").read_text().splitlines()


def test_run_preview_streams_events_through_the_automation_api(tmp_path: Path) -> None:
    events = (FIXTURES / "drift-events.jsonl").read_text().splitlines()
    engine = fake_pulumi(tmp_path, events, stderr="warning: something\n")
    seen: list[str] = []

    run = run_preview(engine, tmp_path, stack="dev", refresh=True, on_refresh=lambda r: seen.append(r.resource.name))

    assert sorted(seen) == ["done", "gone", "pm", "team"]
    assert (run.failed, run.result, run.stderr) == (False, "succeeded", "warning: something\n")
    recording = recorded("drift")
    same_collector = (run.steps, run.refreshes, run.change_counts, run.diagnostics)
    assert same_collector == (recording.steps, recording.refreshes, recording.change_counts, recording.diagnostics)
    assert "--event-log" in (tmp_path / "args.txt").read_text().split()
    environment = (tmp_path / "env.txt").read_text()
    assert f"PULUMI_BACKEND_URL=file://{tmp_path / 'state'}" in environment
    assert f"PULUMI_HOME={tmp_path / 'state' / 'home'}" in environment


def test_a_failing_process_is_a_failed_run(tmp_path: Path) -> None:
    engine = fake_pulumi(tmp_path, lines(summary("failed")), exit_code=255, stderr="error: boom\n")

    run = run_preview(engine, tmp_path, stack=None, refresh=False)

    assert run.failed and run.errors() == [(None, "boom")]


def test_the_selected_stack_is_previewed_by_name_and_stays_selected(tmp_path: Path) -> None:
    engine = fake_pulumi(tmp_path, lines(summary()), selected="staging")

    run = run_preview(engine, tmp_path, stack=None, refresh=False)

    assert not run.failed
    assert calls(tmp_path)[1:] == [
        "--non-interactive stack --show-name", (tmp_path / "args.txt").read_text()
    ]  # fmt: skip
    assert (tmp_path / "args.txt").read_text().endswith(" --stack staging")


def test_without_a_selected_stack_the_reason_is_pulumis(tmp_path: Path) -> None:
    engine = fake_pulumi(tmp_path, lines(summary()), selected=None)

    run = run_preview(engine, tmp_path, stack=None, refresh=True)

    assert run.failed
    assert run.errors() == [
        (None, "no stack selected; please use `pulumi stack select` or `pulumi stack init` to choose one")
    ]
    assert not (tmp_path / "args.txt").exists(), "nothing was previewed"


def test_a_sigterm_reaches_the_engine_once_as_a_sigint_and_stackfox_waits(tmp_path: Path) -> None:
    engine = fake_pulumi(tmp_path, [], wait_for_interrupt=True)
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))

    def terminate_when_started() -> None:
        for _ in range(600):
            if (tmp_path / "started").exists():
                os.kill(os.getpid(), signal.SIGTERM)
                return
            threading.Event().wait(0.05)

    sender = threading.Thread(target=terminate_when_started, daemon=True)
    sender.start()
    run = run_preview(engine, tmp_path, stack="dev", refresh=True)
    sender.join()

    assert (tmp_path / "sigints.txt").read_text() == "1", "pulumi cancels on one SIGINT (a second stops it at once)"
    assert run.failed and run.errors() == [(None, "update canceled")]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
