"""`stackfox drift` and `stackfox plan` end to end over a fake `pulumi`: exit codes, stdout, stderr, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackfox_provider import cli
from stackfox_provider.engine import LocalEngine
from stackfox_provider.review.cli import project_name
from tests.unit.review.events import FIXTURES, WEBHOOK, diagnostic, fake_pulumi, lines, refresh, state, step, summary


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "Pulumi.yaml").write_text("name: payments # the team's stack\nruntime: python\n")
    return directory


def use(monkeypatch: pytest.MonkeyPatch, engine: LocalEngine) -> None:
    monkeypatch.setattr("stackfox_provider.engine.find_toolchain", lambda: engine.toolchain)


def recorded_lines(name: str) -> list[str]:
    return (FIXTURES / f"{name}-events.jsonl").read_text().splitlines()


def test_drift_exits_2_with_a_table_on_stdout_and_progress_on_stderr(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, fake_pulumi(tmp_path, recorded_lines("drift")))

    code = cli.main(["drift", "--cwd", str(project), "--stack", "dev"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out.startswith("Drift in stack dev (project scratch): 3 of 4 resources differ from the code.")
    assert "IncidentFox Webhook 'gone': not found (deleted?)" in err
    assert "IncidentFox TeamConfig 'team': read" in err
    assert "Drift" not in err
    preview = (tmp_path / "args.txt").read_text()
    assert "preview --refresh --run-program=true" in preview and preview.endswith("--stack dev")


def test_drift_exits_0_when_everything_matches(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    applied = state({"url": "https://a"})
    events = lines(refresh(WEBHOOK, "w", applied, applied), step("same", WEBHOOK, "w", applied, applied), summary())
    use(monkeypatch, fake_pulumi(tmp_path, events, selected="dev"))

    assert cli.main(["drift", "--cwd", str(project)]) == 0
    assert capsys.readouterr().out == "No drift: the 1 resource of stack dev (project ops) matches the code.\n"
    assert (tmp_path / "args.txt").read_text().endswith("--stack dev"), "the selected stack"


def test_drift_exits_1_when_it_cannot_tell_with_the_reason_on_stderr(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = "Exception calling application: IncidentFox GET /config/me/raw failed with HTTP 401: Invalid token\n"
    use(monkeypatch, fake_pulumi(tmp_path, lines(diagnostic(error, name="w"), summary("failed")), exit_code=255))

    assert cli.main(["drift", "--cwd", str(project), "--stack", "prod"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "stackfox: could not tell whether the stack drifted:" in err
    assert "Webhook 'w': IncidentFox GET /config/me/raw failed with HTTP 401: Invalid token" in err

    assert cli.main(["drift", "--cwd", str(project), "--stack", "prod", "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert (document["status"], document["project"], document["stack"]) == ("error", "payments", "prod")


def test_a_stack_that_does_not_exist_is_a_clear_error(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, fake_pulumi(tmp_path, [], exit_code=6, stderr="error: no stack named 'nosuch' found\n"))

    assert cli.main(["drift", "--cwd", str(project), "--stack", "nosuch"]) == 1
    assert "no stack named 'nosuch' found" in capsys.readouterr().err


def test_output_goes_to_a_file_when_asked(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, fake_pulumi(tmp_path, recorded_lines("drift")))
    target = tmp_path / "out" / "drift.md"

    assert cli.main(["drift", "--cwd", str(project), "--format", "markdown", "--output", str(target)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert f"wrote {target}" in err
    assert "| Service | Resource | Field | Drift | Code says | Service has |" in target.read_text()


def test_plan_prints_the_summary_and_exits_0(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, fake_pulumi(tmp_path, recorded_lines("plan")))

    assert cli.main(["plan", "--cwd", str(project), "--stack", "dev", "--format", "json"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert document["totals"] == {"create": 1, "update": 1, "replace": 1, "delete": 1, "same": 1}
    assert "--refresh" not in (tmp_path / "args.txt").read_text()


def test_plan_exits_1_with_the_check_message(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, fake_pulumi(tmp_path, recorded_lines("check"), exit_code=255))

    assert cli.main(["plan", "--cwd", str(project), "--format", "markdown"]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert "stackfox: the preview failed:" in err
    assert "TeamConfig 'team': agents.planner.max_turns: Input should be a valid integer" in err


def test_reports_name_the_project_of_pulumi_yaml(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text('runtime:\n  name: python\nname: "team ops" # quoted\n')
    assert project_name(tmp_path) == "team ops"

    (tmp_path / "Pulumi.yaml").write_text("name: [not closed\n")
    assert project_name(tmp_path) == tmp_path.name, "no valid Pulumi.yaml: the directory's name"


def test_both_commands_are_registered_with_their_flags() -> None:
    parser = cli._parser()

    drift = parser.parse_args(["drift", "--cwd", "x", "--stack", "s", "--format", "markdown", "--output", "f"])
    plan = parser.parse_args(["plan", "--cwd", "x", "--stack", "s", "--format", "json", "--refresh"])

    assert (drift.format, drift.output, drift.stack, drift.handler.__name__) == ("markdown", Path("f"), "s",
                                                                                 "drift_command")  # fmt: skip
    assert (plan.format, plan.refresh, plan.handler.__name__) == ("json", True, "plan_command")
    with pytest.raises(SystemExit):
        parser.parse_args(["drift", "--format", "html"])
