"""An interrupted `stackfox pulumi -- up` is cancelled the way `pulumi` cancels on Ctrl-C: no lock, no process left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, raw_overrides, write_project

PROGRAM = """\
    from stackfox_provider.incidentfox import Webhook

    for i in range(6):
        Webhook(f"hook-{i}", event=f"interrupted_{i}", url=f"https://hooks.example.com/{i}")
"""


def processes_in(directory: Path) -> list[int]:
    """Processes whose working directory is ``directory`` (the language host, the program, provider plugins)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == directory:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_an_interrupted_up_finishes_what_is_in_flight_and_leaves_no_lock_or_process(
    engine: LocalEngine, tmp_path: Path, sandbox_factory: Callable[..., SandboxHandle]
) -> None:
    sandbox = sandbox_factory(dialect="oss")
    project_dir = write_project(tmp_path / "interrupted", "interrupted", PROGRAM)
    cli = PulumiCli(engine, project_dir, "interrupted", "e2e")
    cli.init({"stackfox:incidentfoxUrl": sandbox.info.incidentfox_base_url},
             {"stackfox:incidentfoxToken": sandbox.info.incidentfox_team_token})  # fmt: skip
    sandbox.set_faults({"kind": "latency", "service": "incidentfox", "methods": ["write"], "seconds": 1.5})
    up = subprocess.Popen(
        [sys.executable, "-m", "stackfox_provider.cli", "pulumi", "--cwd", str(project_dir),
         "--state-dir", str(engine.state_dir), "--", "up", "--yes", "--skip-preview", "--stack", "e2e"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    creating = threading.Event()

    def read() -> None:
        assert up.stdout is not None
        for line in up.stdout:
            output.append(line)
            if "creating" in line and "Webhook" in line:
                creating.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert creating.wait(120), "".join(output)
    time.sleep(0.5)

    up.send_signal(signal.SIGINT)  # to stackfox only, as a CI runner or `kill -INT` would
    returncode = up.wait(timeout=180)
    reader.join(10)

    text = "".join(output)
    assert returncode != 0, text
    assert not list((engine.state_dir / ".pulumi" / "locks").rglob("*.json")), "the stack is not left locked"
    checkpoint = cli.state().raw["checkpoint"]["latest"]
    assert not checkpoint.get("pending_operations"), checkpoint.get("pending_operations")
    time.sleep(2)
    assert processes_in(project_dir) == [], "no language host, program or provider process is left behind"
    recorded = len(cli.state().names("pulumi-python:dynamic/incidentfox:Webhook"))
    written = sum(1 for key in raw_overrides(sandbox).get("webhooks", {}) if key.startswith("interrupted_"))
    assert recorded == written, "every write that landed is recorded in state"

    sandbox.clear_faults()
    cli("up", "--yes", "--skip-preview")  # no `pulumi cancel` needed
    assert len(cli.state().names("pulumi-python:dynamic/incidentfox:Webhook")) == 6
