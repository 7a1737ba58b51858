"""Engine events in the streaming-preview format (as pulumi 3.259 serializes them), built for tests."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

from stackfox_provider.engine import LocalEngine
from stackfox_provider.review.engine_run import PreviewRun, replay
from stackfox_provider.review.values import SECRET_SIG_KEY, SECRET_SIG_VALUE
from stackfox_provider.toolchain import Toolchain

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parents[3]
STACK, PROJECT = "dev", "ops"
WEBHOOK = "pulumi-python:dynamic/incidentfox:Webhook"
TEAM = "pulumi-python:dynamic/incidentfox:TeamConfig"
CATEGORY = "pulumi-python:dynamic/stackflow:IncidentCategory"
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def secret(plaintext: Any = None) -> dict[str, Any]:
    """A secret as the engine serializes it (with a plaintext, as `--show-secrets` would, to prove it never shows)."""
    value: dict[str, Any] = {SECRET_SIG_KEY: SECRET_SIG_VALUE, "ciphertext": "[secret]"}
    if plaintext is not None:
        value["plaintext"] = json.dumps(plaintext)
    return value


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def state(inputs: dict[str, Any], outputs: dict[str, Any] | None = None, id_: str = "") -> dict[str, Any]:
    return {"id": id_, "inputs": {"__provider": "gASV", **inputs}, "outputs": outputs or {}}


def step(
    op: str,
    type_: str,
    name: str,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    keys: list[str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"op": op, "urn": urn(type_, name), "type": type_, "old": old, "new": new}
    if keys:
        metadata["keys"] = keys
    return {"sequence": 1, "timestamp": 0, "resourcePreEvent": {"metadata": metadata}}


def refresh(type_: str, name: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    metadata = {"op": "refresh", "urn": urn(type_, name), "type": type_, "old": before, "new": after}
    return {"sequence": 1, "timestamp": 0, "resOutputsEvent": {"metadata": metadata}}


def diagnostic(message: str, severity: str = "error", name: str | None = None, type_: str = WEBHOOK) -> dict[str, Any]:
    event: dict[str, Any] = {"prefix": f"{severity}: ", "message": message, "severity": severity}
    if name:
        event["urn"] = urn(type_, name)
    return {"sequence": 1, "timestamp": 0, "diagnosticEvent": event}


def summary(result: str = "succeeded", **changes: int) -> dict[str, Any]:
    return {"sequence": 1, "timestamp": 0, "summaryEvent": {"resourceChanges": changes, "result": result}}


def lines(*events: dict[str, Any]) -> list[str]:
    return [json.dumps(event) for event in events]


def run_of(*events: dict[str, Any]) -> PreviewRun:
    return replay(lines(*events))


def recorded(name: str) -> PreviewRun:
    """A preview recorded from the real engine against the sandbox (see fixtures/README.md)."""
    return replay((FIXTURES / f"{name}-events.jsonl").read_text().splitlines())


def fake_pulumi(
    tmp_path: Path,
    events: list[str],
    *,
    exit_code: int = 0,
    stderr: str = "",
    selected: str | None = "dev",
    wait_for_interrupt: bool = False,
) -> LocalEngine:
    """An engine whose `pulumi` (tests/unit/review/fake_pulumi.py) streams ``events`` to the Automation API and exits.

    ``selected`` is the stack ``pulumi stack --show-name`` names (None: no stack is selected). Each call's arguments
    are in ``calls.txt``, the preview's in ``args.txt`` and its environment in ``env.txt``.
    """
    bin_dir = tmp_path / "toolchain" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (tmp_path / "events.jsonl").write_text("".join(f"{line}\n" for line in events))
    (tmp_path / "stderr.txt").write_text(stderr)
    (tmp_path / "exit_code.txt").write_text(str(exit_code))
    if selected is not None:
        (tmp_path / "selected.txt").write_text(selected)
    if wait_for_interrupt:
        (tmp_path / "wait_for_interrupt").touch()
    script = bin_dir / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n"
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        f"from tests.unit.review.fake_pulumi import main\nmain({str(tmp_path)!r})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return LocalEngine.in_state_dir(Toolchain(bin_dir, "cache"), tmp_path / "state")


def calls(tmp_path: Path) -> list[str]:
    """The arguments of each call of the fake `pulumi`, in order."""
    return (tmp_path / "calls.txt").read_text().splitlines()
