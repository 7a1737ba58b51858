"""The GitHub Actions workflows of examples/github-actions: only `stackfox` commands, flags and exit codes that
exist, run on the project beside them.

Every `stackfox ...` command line of every `run:` script is parsed with stackfox's real command line parser, so
a renamed command or flag breaks this test rather than a user's CI. tests/e2e/test_examples.py runs the plan and
drift steps themselves against the sandbox.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackfox_provider.cli import _parser
from stackfox_provider.review.cli import EXIT_DRIFT, EXIT_ERROR, EXIT_OK
from tests.unit.examples.environments import CHECKOUT

EXAMPLE = CHECKOUT / "examples" / "github-actions"
WORKFLOWS = sorted(path.name for path in EXAMPLE.glob("*.yml"))
#: Tokens after which a shell word starts a new command.
COMMAND_STARTS = {"&&", "||", ";", "|", "(", "{", "!", "if", "elif", "then", "else", "while", "until", "do"}
#: What both workflows must agree on: the stack, the project and where its state and secrets are.
SHARED_ENV = ("STACK", "PROJECT_DIR", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE")


def workflow(name: str) -> dict[Any, Any]:
    """A workflow file as GitHub reads it (YAML 1.1: the key `on` loads as True)."""
    loaded: dict[Any, Any] = yaml.safe_load((EXAMPLE / name).read_text())
    return loaded


def steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job["steps"]]


def run_scripts(document: dict[str, Any]) -> list[str]:
    return [step["run"] for step in steps(document) if "run" in step]


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


def parsed_commands(document: dict[str, Any]) -> list[argparse.Namespace]:
    return [parse(command) for script in run_scripts(document) for command in stackfox_commands(script)]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_stackfox_command_of_a_workflow_exists_with_its_flags(name: str) -> None:
    commands = [command for script in run_scripts(workflow(name)) for command in stackfox_commands(script)]

    assert commands, f"{name} runs no stackfox command"
    for command in commands:
        assert hasattr(parse(command), "handler"), command


@pytest.mark.parametrize("name", WORKFLOWS)
def test_a_workflow_runs_on_this_project_with_the_variables_it_sets(name: str) -> None:
    document = workflow(name)
    env = document["env"]
    project = EXAMPLE / env["PROJECT_DIR"]
    runtime = yaml.safe_load((project / "Pulumi.yaml").read_text())["runtime"]

    assert project.resolve() == EXAMPLE, "PROJECT_DIR is this project, from the repository's root"
    assert (project / "requirements.txt").is_file()
    install = "\n".join(step["run"] for step in steps(document) if step.get("name") == "Install stackfox")
    assert f'"$PROJECT_DIR/{runtime["options"]["virtualenv"]}"' in install, "stackfox goes into the project's venv"
    reviews = [c for c in parsed_commands(document) if c.handler.__name__ in ("plan_command", "drift_command")]
    assert reviews
    for command in reviews:
        assert (command.cwd, command.stack) == (Path("$PROJECT_DIR"), "$STACK"), command
    for step in steps(document):
        for variable in re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", step.get("run", "")):
            known = variable in env or variable in step.get("env", {}) or variable.startswith("GITHUB_")
            assert known, f"{name}: step {step.get('name')!r} uses ${variable}, which is never set"


def test_both_workflows_check_the_same_stack_in_the_same_backend() -> None:
    plan, drift = workflow("stackfox-plan.yml")["env"], workflow("stackfox-drift.yml")["env"]

    assert {key: plan[key] for key in SHARED_ENV} == {key: drift[key] for key in SHARED_ENV}


def test_the_plan_workflow_posts_a_markdown_plan_on_pull_requests() -> None:
    document = workflow("stackfox-plan.yml")
    plans = [c for c in parsed_commands(document) if c.handler.__name__ == "plan_command"]

    assert "pull_request" in document[True], "`on:` loads as True in YAML 1.1"
    assert [(c.format, str(c.output)) for c in plans] == [("markdown", "plan.md")]
    assert any("--body-file plan.md" in script or "body=@plan.md" in script for script in run_scripts(document))


def test_the_drift_workflow_runs_nightly_and_acts_on_each_exit_code_of_stackfox_drift() -> None:
    document = workflow("stackfox-drift.yml")
    drifts = [c for c in parsed_commands(document) if c.handler.__name__ == "drift_command"]
    by_condition = {step.get("if"): step for step in steps(document)}

    assert document[True]["schedule"][0]["cron"]
    assert [(c.format, str(c.output)) for c in drifts] == [("markdown", "drift.md")]
    check = next(step for step in steps(document) if step.get("id") == "drift")
    assert f'if [ "$status" -eq {EXIT_ERROR} ]; then exit 1; fi' in check["run"], "could not tell: the job fails"
    opened = by_condition[f"steps.drift.outputs.exit_code == '{EXIT_DRIFT}'"]["run"]
    assert "gh issue create" in opened and "--body-file drift.md" in opened
    assert "gh issue edit" in opened, "an open drift issue is updated, not duplicated"
    assert "gh issue close" in by_condition[f"steps.drift.outputs.exit_code == '{EXIT_OK}'"]["run"]


def test_the_scanner_finds_commands_after_shell_operators() -> None:
    script = 'x=1 && stackfox drift --stack "$STACK" || status=$?\nif stackfox plan; then :; fi  # stackfox nope'

    assert stackfox_commands(script) == [["drift", "--stack", "$STACK"], ["plan"]]
