"""Driving a Pulumi project through the real CLI and reading its state file back."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackfox_provider.clients.incidentfox import unwrap
from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle


def write_project(directory: Path, name: str, program: str) -> Path:
    """A Pulumi.yaml project running ``program`` in the interpreter running the tests."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: {name}
            runtime:
              name: python
              options:
                toolchain: pip
                virtualenv: {Path(sys.prefix)}
            """
        )
    )
    (directory / "__main__.py").write_text(textwrap.dedent(program))
    return directory


@dataclass
class StackState:
    """The latest checkpoint of a stack in the file backend."""

    raw: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> StackState:
        return cls(json.loads(path.read_text()))

    @property
    def resources(self) -> list[dict[str, Any]]:
        return list(self.raw["checkpoint"].get("latest", {}).get("resources") or [])

    def resource(self, name: str) -> dict[str, Any]:
        matches = [r for r in self.resources if r["urn"].endswith(f"::{name}")]
        assert len(matches) == 1, f"expected one resource named {name!r} in state, found {len(matches)}"
        return matches[0]

    def names(self, type_: str) -> list[str]:
        return sorted(r["urn"].rsplit("::", 1)[1] for r in self.resources if r["type"] == type_)


@dataclass
class PulumiCli:
    """``pulumi`` from the toolchain, run in one project directory against one stack."""

    engine: LocalEngine
    project_dir: Path
    project: str
    stack: str

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        completed = self.engine.run_cli([*args, "--stack", self.stack], cwd=self.project_dir, capture=True)
        if check and completed.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} exited {completed.returncode}\n{completed.stdout}\n{completed.stderr}"
            )
        return completed

    def init(self, config: dict[str, str], secrets: dict[str, str] | None = None) -> None:
        self.engine.run_cli(["stack", "init", self.stack], cwd=self.project_dir, capture=True, check=True)
        self.configure(config, secrets)

    def configure(self, config: dict[str, str], secrets: dict[str, str] | None = None) -> None:
        """Set plain and secret config in one `pulumi config set-all`."""
        pairs = [arg for key, value in config.items() for arg in ("--plaintext", f"{key}={value}")]
        pairs += [arg for key, value in (secrets or {}).items() for arg in ("--secret", f"{key}={value}")]
        if pairs:
            self("config", "set-all", *pairs)

    def state_text(self) -> str:
        return self.engine.state_file(self.project, self.stack).read_text()

    def state(self) -> StackState:
        return StackState.load(self.engine.state_file(self.project, self.stack))


def raw_overrides(sandbox: SandboxHandle, token: str | None = None) -> dict[str, Any]:
    """The team's own overrides, exactly as the service holds them (JSON types included)."""
    with sandbox.incidentfox(token) as http:
        raw = unwrap(http.get("/config/me/raw").raise_for_status().json())
    return dict(raw["configs"][raw["lineage"][-1]])


def effective_config(sandbox: SandboxHandle, token: str | None = None) -> dict[str, Any]:
    """What the team's agents really run with: defaults, then the org, then the team."""
    with sandbox.incidentfox(token) as http:
        body = unwrap(http.get("/config/me/effective").raise_for_status().json())
    return dict(body.get("effective_config", body))


def write_by_hand(sandbox: SandboxHandle, partial: dict[str, Any]) -> None:
    """A change made outside the stack, as the UI would, in the sandbox's dialect."""
    with sandbox.incidentfox() as http:
        if sandbox.info.dialect == "oss":
            http.patch("/config/me", json={"config": partial, "reason": "UI"}).raise_for_status()
        else:
            http.put("/config/me", json=partial).raise_for_status()


def writes(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests_log("incidentfox") if r["method"] not in ("GET", "HEAD")]


def sandbox_config(sandbox: SandboxHandle) -> tuple[dict[str, str], dict[str, str]]:
    """The stack config `stackfox use-sandbox` would set: (plain, secret)."""
    return sandbox.info.stack_config()


def run_stackfox(cli: PulumiCli, *args: str) -> subprocess.CompletedProcess[str]:
    """``stackfox <args>`` on the project and stack of ``cli``, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "stackfox_provider.cli", *args, "--cwd", str(cli.project_dir), "--stack", cli.stack,
         "--state-dir", str(cli.engine.state_dir)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
