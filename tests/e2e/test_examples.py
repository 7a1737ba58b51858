"""The examples/github-actions project, run against the sandbox the way its README and its workflows say.

The project is copied as the root of a repository, its two workflows into ``.github/workflows/`` (as its
README says), and its stack set up with the README's commands: ``stackfox use-sandbox``, the secrets with
``pulumi config set --secret``, ``pulumi up``. Then the workflows' own ``stackfox plan`` and ``stackfox drift``
steps run: their shell scripts, read from the YAML files, under ``bash -e`` with the workflow's ``env`` block
(the bucket backend replaced by a file backend, the passphrase secret by a test value) and a ``GITHUB_OUTPUT``
file, as a GitHub Actions runner would run them after the install steps.

The project's ``venv`` (its ``runtime.options.virtualenv``, where the install steps put stackfox) is a link to
this checkout's own virtualenv, with stackfox installed editable, for speed: ``tests/e2e/test_wheel_project.py``
already proves that the engine makes a fresh project's virtualenv from a ``requirements.txt`` naming the built
wheel. The stack runs on a sandbox of its own, so the example keeps its fixed names (``network``,
``investigation_complete``, ...) without meeting what other tests' stacks left in the shared sandbox.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackfox_provider.toolchain import Toolchain
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import StackState, raw_overrides, write_by_hand
from tests.e2e.test_drift import categories_by_name

CHECKOUT = Path(__file__).resolve().parents[2]
EXAMPLE = CHECKOUT / "examples" / "github-actions"
PLAN_WORKFLOW, DRIFT_WORKFLOW = "stackfox-plan.yml", "stackfox-drift.yml"
PROJECT = "payments-incident-response"

PASSPHRASE = "example-passphrase"
WEBHOOK_URL = "https://hooks.example.com/ifx/s3cret-webhook-path"
GITHUB_TOKEN = "ghp_example0123456789s3cret"
URL_SET_BY_HAND = "https://hooks.example.com/ifx/set-by-hand-s3cret"
SECRETS = (PASSPHRASE, WEBHOOK_URL, GITHUB_TOKEN, URL_SET_BY_HAND)

#: Settings of the shell running the tests that would choose another backend or other services.
FOREIGN_SETTINGS = re.compile(r"^(PULUMI_|INCIDENTFOX_|STACKFLOW_|COGNITO_|STACKFOX_STATE_DIR$|STACKFOX_SKIP_)")
#: A GitHub Actions expression, ``${{ ... }}``.
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
TIMEOUT = 600


@dataclass
class Repository:
    """The example copied as a repository's root, with what a runner of its workflows has around it."""

    root: Path
    backend: Path  # a file backend standing in for the workflows' bucket
    pulumi_home: Path

    def workflow(self, name: str) -> dict[str, Any]:
        """A workflow of the repository, as GitHub reads it."""
        document: dict[str, Any] = yaml.safe_load((self.root / ".github" / "workflows" / name).read_text())
        return document

    def env(self, name: str) -> dict[str, str]:
        """What a step of workflow ``name`` runs with: the runner's environment and the workflow's ``env``."""
        context = {
            "github.workspace": str(self.root),
            "secrets.PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        }
        declared = {key: evaluate(str(value), context) for key, value in self.workflow(name)["env"].items()}
        assert declared["PULUMI_BACKEND_URL"].startswith("s3://"), "the workflows name the bucket as an example"
        declared["PULUMI_BACKEND_URL"] = f"file://{self.backend}"
        project_dir = self.root / declared["PROJECT_DIR"]
        runner = {key: value for key, value in os.environ.items() if not FOREIGN_SETTINGS.match(key)}
        return {
            **runner,
            "GITHUB_WORKSPACE": str(self.root),
            "PULUMI_HOME": str(self.pulumi_home),  # the runner's ~/.pulumi
            # What the "Install stackfox" step adds to GITHUB_PATH.
            "PATH": f"{project_dir / 'venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
            **declared,
        }

    @property
    def project_dir(self) -> Path:
        """``$PROJECT_DIR`` of the workflows: the directory holding Pulumi.yaml."""
        return self.root / self.env(PLAN_WORKFLOW)["PROJECT_DIR"]

    def stackfox(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A README command, in the project directory, with the workflows' backend and passphrase."""
        completed = subprocess.run(
            ["stackfox", *args], cwd=self.project_dir, env=self.env(PLAN_WORKFLOW),
            capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        assert completed.returncode == 0, f"stackfox {' '.join(args)}:\n{completed.stdout}\n{completed.stderr}"
        return completed

    def run_step(self, name: str, step_name: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
        """Run the step named ``step_name`` of workflow ``name`` as a runner would: its outcome and its outputs."""
        [step] = [step for job in self.workflow(name)["jobs"].values() for step in job["steps"]
                  if step.get("name") == step_name]  # fmt: skip
        outputs = self.root.parent / f"github-output-{step_name.replace(' ', '-')}"
        outputs.write_text("")
        completed = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=self.root, env={**self.env(name), "GITHUB_OUTPUT": str(outputs)},
            capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        return completed, dict(line.split("=", 1) for line in outputs.read_text().splitlines() if line)

    def state(self, stack: str) -> StackState:
        """The stack's latest checkpoint in the backend."""
        return StackState.load(self.backend / ".pulumi" / "stacks" / PROJECT / f"{stack}.json")


def evaluate(value: str, context: Mapping[str, str]) -> str:
    """``value`` with its ``${{ ... }}`` expressions replaced from ``context`` (the test knows no others)."""

    def one(match: re.Match[str]) -> str:
        assert match.group(1) in context, f"the test cannot evaluate {match.group(0)}"
        return context[match.group(1)]

    return EXPRESSION.sub(one, value)


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    """The example as the root of a fresh repository, its workflows moved to ``.github/workflows/``."""
    root = tmp_path / "repository"
    ignored = shutil.ignore_patterns("venv", ".stackfox", "__pycache__", "Pulumi.*.yaml", "plan.md", "drift.md")
    shutil.copytree(EXAMPLE, root, ignore=ignored)
    (root / ".github" / "workflows").mkdir(parents=True)
    for workflow in (PLAN_WORKFLOW, DRIFT_WORKFLOW):
        (root / workflow).rename(root / ".github" / "workflows" / workflow)
    repository = Repository(root, tmp_path / "backend", tmp_path / "pulumi-home")
    repository.backend.mkdir()
    # The install steps' virtualenv: this checkout's, with stackfox editable (see the module docstring).
    (repository.project_dir / "venv").symlink_to(sys.prefix, target_is_directory=True)
    return repository


def test_the_github_actions_example_goes_up_and_its_workflows_show_no_changes_then_the_drift_made_by_hand(
    toolchain: Toolchain, repository: Repository, sandbox_factory: Callable[..., SandboxHandle]
) -> None:
    sandbox = sandbox_factory()
    stack = repository.env(PLAN_WORKFLOW)["STACK"]
    assert repository.env(DRIFT_WORKFLOW)["STACK"] == stack

    used = repository.stackfox("use-sandbox", "--stack", stack, "--sandbox-dir", str(sandbox.state_dir))
    assert f"stack state in file://{repository.backend} (PULUMI_BACKEND_URL)" in used.stderr, used.stderr
    repository.stackfox("pulumi", "--", "config", "set", "--secret", "webhookUrl", WEBHOOK_URL, "--stack", stack)
    repository.stackfox("pulumi", "--", "config", "set", "--secret", "githubToken", GITHUB_TOKEN, "--stack", stack)
    up = repository.stackfox("pulumi", "--", "up", "--yes", "--stack", stack)

    assert "+ 6 created" in up.stdout, up.stdout  # five resources and the stack
    raw = raw_overrides(sandbox)
    assert raw["webhooks"]["investigation_complete"] == WEBHOOK_URL
    assert raw["mcp_servers"]["github"]["env"] == {"GITHUB_PERSONAL_ACCESS_TOKEN": GITHUB_TOKEN}
    assert raw["routing"]["services"] == ["payments-api", "ledger"]
    categories = categories_by_name(sandbox)
    assert {name: categories[name]["default_priority"] for name in ("network", "database")} == {
        "network": "P2",
        "database": "P1",
    }

    planned, _ = repository.run_step(PLAN_WORKFLOW, "stackfox plan")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    plan = (repository.root / "plan.md").read_text()
    assert plan.splitlines()[0] == f"<!-- stackfox:plan project={PROJECT} stack={stack} -->", plan
    assert "**0 to create, 0 to update, 0 to replace, 0 to delete, 5 unchanged.**" in plan, plan

    checked, outputs = repository.run_step(DRIFT_WORKFLOW, "stackfox drift")
    assert (checked.returncode, outputs) == (0, {"exit_code": "0"}), checked.stdout + checked.stderr
    assert "**No drift: the 5 resources of stack prod" in (repository.root / "drift.md").read_text()

    write_by_hand(
        sandbox, {"feature_flags": {"auto_investigate": False}, "webhooks": {"investigation_complete": URL_SET_BY_HAND}}
    )
    with sandbox.stackflow() as http:
        http.patch(f"/categories/{categories['network']['id']}", json={"default_priority": "P1"}).raise_for_status()

    checked, outputs = repository.run_step(DRIFT_WORKFLOW, "stackfox drift")

    assert (checked.returncode, outputs) == (0, {"exit_code": "2"}), checked.stdout + checked.stderr
    drift = (repository.root / "drift.md").read_text()  # the body of the issue the next step opens
    assert drift.splitlines()[0] == f"<!-- stackfox:drift project={PROJECT} stack={stack} -->", drift
    assert sorted(line for line in drift.splitlines() if line.startswith("| ") and "changed" in line) == [
        "| IncidentFox | TeamConfig `payments` | `feature_flags.auto_investigate` | changed by hand "
        "| `true` | `false` |",
        "| IncidentFox | Webhook `investigation-complete` | `url` | changed by hand | `[secret]` | `[secret]` |",
        '| StackFlow | IncidentCategory `category-network` | `default_priority` | changed by hand | `"P2"` | `"P1"` |',
    ], drift
    for secret in SECRETS:
        assert secret not in plan + drift + planned.stdout + planned.stderr + checked.stdout + checked.stderr

    repository.stackfox("pulumi", "--", "destroy", "--yes", "--stack", stack)

    assert repository.state(stack).resources == []
    raw = raw_overrides(sandbox)
    assert "investigation_complete" not in (raw.get("webhooks") or {})
    assert raw["mcp_servers"]["github"]["enabled"] is False, "a server the stack created stays, disabled"
    assert GITHUB_TOKEN not in str(raw)
    live = categories_by_name(sandbox)
    assert {name: category["active"] for name, category in live.items()} == {"network": False, "database": False}
