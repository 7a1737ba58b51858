"""The GitHub Actions recipes in examples/github-actions run only `stackfox` commands and flags that exist."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackfox_provider.cli import _parser

WORKFLOWS = Path(__file__).parents[3] / "examples" / "github-actions"
#: Tokens after which a shell word starts a new command.
COMMAND_STARTS = {"&&", "||", ";", "|", "(", "{", "!", "if", "elif", "then", "else", "while", "until", "do"}


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def run_scripts(document: dict[str, Any]) -> list[str]:
    return [step["run"] for job in document["jobs"].values() for step in job["steps"] if "run" in step]


def stackfox_commands(script: str) -> list[list[str]]:
    """Every `stackfox ...` command line of a shell script, as its arguments (without `stackfox`)."""
    commands: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        for index, token in enumerate(tokens):
            if token == "stackfox" and (index == 0 or tokens[index - 1] in COMMAND_STARTS):
                args = []
                for arg in tokens[index + 1 :]:
                    if arg and set(arg) <= set("&|;<>()"):
                        break
                    args.append(arg)
                commands.append(args)
    return commands


def parse(args: list[str]) -> argparse.Namespace:
    try:
        return _parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"`stackfox {' '.join(args)}` is not a valid stackfox command line")


@pytest.mark.parametrize("name", sorted(path.name for path in WORKFLOWS.glob("*.yml")))
def test_every_stackfox_command_of_a_workflow_exists_with_its_flags(name: str) -> None:
    commands = [command for script in run_scripts(workflow(name)) for command in stackfox_commands(script)]

    assert commands, f"{name} runs no stackfox command"
    for command in commands:
        assert hasattr(parse(command), "handler"), command


def test_the_plan_workflow_posts_a_markdown_plan_on_pull_requests() -> None:
    document = workflow("stackfox-plan.yml")
    commands = [parse(c) for script in run_scripts(document) for c in stackfox_commands(script)]

    assert "pull_request" in document[True], "`on:` loads as True in YAML 1.1"
    plans = [c for c in commands if c.handler.__name__ == "plan_command"]
    assert [(c.format, str(c.output)) for c in plans] == [("markdown", "plan.md")]
    assert any("--body-file plan.md" in script or "body=@plan.md" in script for script in run_scripts(document))


def test_the_drift_workflow_runs_nightly_and_files_an_issue_on_exit_2() -> None:
    document = workflow("stackfox-drift.yml")
    steps = [step for job in document["jobs"].values() for step in job["steps"]]

    assert document[True]["schedule"][0]["cron"]
    drifts = [parse(c) for script in run_scripts(document) for c in stackfox_commands(script)]
    assert [(c.handler.__name__, c.format) for c in drifts if c.handler.__name__ == "drift_command"] == [
        ("drift_command", "markdown")
    ]
    issue_step = next(step for step in steps if "gh issue create" in step.get("run", ""))
    assert issue_step["if"] == "steps.drift.outputs.exit_code == '2'"
    assert "gh issue edit" in issue_step["run"], "an open drift issue is updated, not duplicated"


def test_the_scanner_finds_commands_after_shell_operators() -> None:
    script = 'x=1 && stackfox drift --stack "$STACK" || status=$?\nif stackfox plan; then :; fi  # stackfox nope'

    assert stackfox_commands(script) == [["drift", "--stack", "$STACK"], ["plan"]]
