"""Start, stop and inspect a sandbox running in the background."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import ValidationError

from stackfox_sandbox.cli import SETTINGS_JSON
from stackfox_sandbox.info import SandboxInfo
from stackfox_sandbox.settings import INFO_FILE, LOG_FILE, SandboxSettings


class SandboxError(Exception):
    """Starting or stopping failed."""


@dataclass
class Started:
    """A sandbox this process started."""

    info: SandboxInfo
    process: subprocess.Popen[bytes]
    seconds: float


def serve_command(settings: SandboxSettings) -> list[str]:
    """The command that runs ``sandbox serve`` with exactly ``settings``, handed over whole as one JSON document
    (the state directory made absolute)."""
    resolved = settings.model_copy(update={"state_dir": settings.state_dir.resolve()})
    document = resolved.model_dump_json()
    return [sys.executable, "-m", "stackfox_sandbox", "sandbox", "serve", SETTINGS_JSON, document]


def info_path(state_dir: Path) -> Path:
    """Where a sandbox describes itself."""
    return state_dir / INFO_FILE


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs a sandbox (zombies and unrelated processes do not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True  # not Linux: trust kill(0)
    with contextlib.suppress(OSError):
        if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
        arguments = proc.joinpath("cmdline").read_bytes().split(b"\0")
        return b"sandbox" in arguments and b"serve" in arguments
    return False


def running(state_dir: Path) -> SandboxInfo | None:
    """The description of the sandbox running for ``state_dir``, if any."""
    path = info_path(state_dir)
    try:
        info = SandboxInfo.read(path)
    except (OSError, ValueError, ValidationError):
        return None
    return info if pid_alive(info.pid) else None


def healthy(info: SandboxInfo, timeout: float = 2.0) -> bool:
    """Whether the sandbox answers its health check."""
    try:
        response = httpx.get(f"{info.stackflow_base_url}/health", timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def start(settings: SandboxSettings, timeout: float = 60.0) -> Started:
    """Run ``sandbox serve`` detached and wait until it answers."""
    state_dir = settings.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    existing = running(state_dir)
    if existing is not None:
        raise SandboxError(f"a sandbox is already running for {state_dir} (pid {existing.pid})")
    info_path(state_dir).unlink(missing_ok=True)
    command = serve_command(settings)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost"}
    began = time.monotonic()
    with open(state_dir / LOG_FILE, "ab") as log_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    info = _wait_ready(process, state_dir, timeout)
    return Started(info=info, process=process, seconds=time.monotonic() - began)


def _wait_ready(process: subprocess.Popen[bytes], state_dir: Path, timeout: float) -> SandboxInfo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(f"the sandbox exited with {process.returncode}:\n{log_tail(state_dir)}")
        with contextlib.suppress(OSError, ValueError, ValidationError):
            info = SandboxInfo.read(info_path(state_dir))
            if info.pid == process.pid and healthy(info):
                return info
        time.sleep(0.05)
    _terminate(process.pid, 5.0, process)
    raise SandboxError(f"the sandbox did not answer within {timeout:g}s:\n{log_tail(state_dir)}")


def log_tail(state_dir: Path, lines: int = 30) -> str:
    """The end of the sandbox log."""
    try:
        return "\n".join((state_dir / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(state_dir: Path, timeout: float = 15.0, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Stop the sandbox of ``state_dir``; False if none was running."""
    info = running(state_dir)
    if info is None:
        info_path(state_dir).unlink(missing_ok=True)
        if process is not None and process.poll() is None:
            _terminate(process.pid, timeout, process)
        return False
    _terminate(info.pid, timeout, process if process is not None and process.pid == info.pid else None)
    info_path(state_dir).unlink(missing_ok=True)
    return True


def _terminate(pid: int, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; reaps ``process`` when it is our child."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_exit(pid, timeout, process):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_exit(pid, 5.0, process)


def _wait_exit(pid: int, timeout: float, process: subprocess.Popen[bytes] | None) -> bool:
    if process is not None:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False
