"""`stackfox import` through the real engine: a StackFlow filled by hand becomes code that adopts it with no write."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, write_project
from tests.e2e.test_stackflow import user_password_settings

CATEGORIES = 150
INACTIVE = {f"imported-{index:03d}" for index in range(0, CATEGORIES, 30)}
RAISED = {"read_limit": 100_000, "write_limit": 100_000}


def hand_made(index: int) -> dict[str, Any]:
    """A category as someone made it in the UI: unicode, quotes, subcategories, optional fields."""
    name = f"imported-{index:03d}"
    body: dict[str, Any] = {
        "name": name,
        "label": f"Imported «{index}» Störung ✓",
        "default_priority": f"P{index % 4 + 1}",
    }
    if index % 2:
        body["description"] = f'What "category {index}" is for; it\'s hand-made'
    if index % 3:
        body["subcategories"] = [{"name": f"sub-{n}", "label": f"Sub {n} ✓"} for n in range(index % 5 + 1)]
    if index % 7 == 0:
        body["default_assignment_group"] = f"team-{index}"
    return body


def all_categories(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    """Every category StackFlow holds, as it answers (every field, JSON types included)."""
    found: list[dict[str, Any]] = []
    with sandbox.stackflow() as http:
        for page in range(1, 100):
            answer = http.get("/categories", params={"limit": 100, "page": page}).raise_for_status().json()
            found += answer["data"]
            if not answer["has_more"]:
                break
    return sorted(found, key=lambda item: item["name"])


@pytest.fixture
def filled(sandbox_factory: Callable[..., SandboxHandle]) -> SandboxHandle:
    """A fresh sandbox holding 150 hand-made categories (5 of them inactive), limits back to their defaults."""
    sandbox = sandbox_factory()
    sandbox.update_settings(**RAISED)
    with sandbox.stackflow() as http:
        for index in range(CATEGORIES):
            created = http.post("/categories", json=hand_made(index)).raise_for_status().json()
            if created["name"] in INACTIVE:
                http.patch(f"/categories/{created['id']}", json={"active": False}).raise_for_status()
    sandbox.reset()
    return sandbox


def stackfox(cli: PulumiCli, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stackfox_provider.cli", *args, "--cwd", str(cli.project_dir), "--stack", cli.stack,
         "--state-dir", str(cli.engine.state_dir)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def stackflow_calls(sandbox: SandboxHandle) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(reads, writes) StackFlow answered since the log was last reset."""
    log = sandbox.requests_log("stackflow")
    return [r for r in log if r["method"] == "GET"], [r for r in log if r["method"] != "GET"]


def test_an_imported_stackflow_is_adopted_with_no_write_and_left_as_it_was(
    engine: LocalEngine, tmp_path: Path, filled: SandboxHandle
) -> None:
    sandbox = filled
    before = all_categories(sandbox)
    assert len(before) >= CATEGORIES
    cli = PulumiCli(
        engine, write_project(tmp_path / "project", "adopted", "import stackfox_imported\n"), "adopted", "e2e"
    )
    plain, secret = user_password_settings(sandbox)
    cli.init(plain, secret)
    module = cli.project_dir / "stackfox_imported.py"
    sandbox.reset_log()

    imported = stackfox(cli, "import")

    assert imported.returncode == 0, imported.stderr
    reads, writes = stackflow_calls(sandbox)
    assert writes == []
    assert len(reads) <= -(-len(before) // 100) + 1  # the list pages, and at most one more read
    text = module.read_text()
    assert text.count(": IncidentCategory(\n") == len(before)
    assert text.count("active=False") == len(INACTIVE)
    assert secret["stackfox:stackflowPassword"] not in text + imported.stdout + imported.stderr
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--line-length", "120", str(module)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr

    sandbox.reset_log()
    cli("up", "--yes")
    assert stackflow_calls(sandbox)[1] == []  # adopted: not one write
    assert all_categories(sandbox) == before
    cli("preview", "--expect-no-changes")
    drift = stackfox(cli, "drift")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert secret["stackfox:stackflowPassword"] not in cli.state_text()

    again = stackfox(cli, "import", "--force")
    assert again.returncode == 0, again.stderr
    assert module.read_text() == text  # byte for byte: nothing changed in StackFlow

    sandbox.reset_log()
    cli("destroy", "--yes")
    assert stackflow_calls(sandbox)[1] == []
    assert all_categories(sandbox) == before  # deletion_policy="retain": StackFlow is as it was read


def test_import_never_replaces_a_module_that_differs_without_force(
    engine: LocalEngine, tmp_path: Path, filled: SandboxHandle
) -> None:
    cli = PulumiCli(
        engine, write_project(tmp_path / "project", "adopted", "import stackfox_imported\n"), "adopted", "e2e"
    )
    plain, secret = user_password_settings(filled)
    cli.init(plain, secret)
    module = cli.project_dir / "stackfox_imported.py"
    module.write_text("# mine\n")

    refused = stackfox(cli, "import")

    assert refused.returncode == 1
    assert "exists and differs from what was read; pass --force to replace it" in refused.stderr
    assert module.read_text() == "# mine\n"
    unsupported = stackfox(cli, "import", "--service", "incidentfox")
    assert unsupported.returncode == 1
    assert "only StackFlow categories can be imported so far" in unsupported.stderr
