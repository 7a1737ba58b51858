"""What the benchmarks share: a sandbox for one run, Pulumi projects on a file backend, request counts, figures."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypedDict

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle, sandbox_settings


class Limits(TypedDict):
    """A sandbox's rate limits, a minute per token."""

    read_limit: int
    write_limit: int


#: Sandbox limits no benchmark reaches.
NO_LIMITS: Limits = {"read_limit": 10_000_000, "write_limit": 10_000_000}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BenchmarkError(Exception):
    """A step of a benchmark failed; the message says which, with the command's output."""


@contextlib.contextmanager
def running_sandbox(state_dir: Path, **options: Any) -> Iterator[SandboxHandle]:
    """A fresh sandbox (:func:`~stackfox_sandbox.testing.sandbox_settings` options), stopped on the way out."""
    handle = SandboxHandle(sandbox_settings(state_dir, **options)).start()
    try:
        yield handle
    finally:
        handle.stop()


def write_project(directory: Path, name: str, program: str) -> Path:
    """A Pulumi project whose program runs in this interpreter's environment."""
    directory.mkdir(parents=True, exist_ok=True)
    runtime = f"runtime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
    (directory / "Pulumi.yaml").write_text(f"name: {name}\n{runtime}")
    (directory / "__main__.py").write_text(textwrap.dedent(program))
    return directory


def pulumi(engine: LocalEngine, directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pulumi ARGS`` in ``directory``; a failure raises :class:`BenchmarkError` with the end of its output."""
    done = engine.run_cli(list(args), cwd=directory, capture=True)
    if done.returncode != 0:
        tail = "\n".join(f"{done.stdout}\n{done.stderr}".strip().splitlines()[-40:])
        raise BenchmarkError(f"`pulumi {' '.join(args)}` in {directory} exited {done.returncode}:\n{tail}")
    return done


def init_stack(
    engine: LocalEngine, directory: Path, stack: str, plain: Mapping[str, str], secret: Mapping[str, str]
) -> None:
    """Create ``stack`` and set its plain and secret config in one ``pulumi config set-all``."""
    pairs = [arg for key, value in plain.items() for arg in ("--plaintext", f"{key}={value}")]
    pairs += [arg for key, value in secret.items() for arg in ("--secret", f"{key}={value}")]
    pulumi(engine, directory, "stack", "init", stack)
    pulumi(engine, directory, "config", "set-all", "--stack", stack, *pairs)


def tally(log: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Counts of the services' calls in a sandbox request log (Cognito's own calls left out).

    Reads and writes are the calls the service admitted, which count against its limits: a call refused
    with 429 counts only in ``http_429``.
    """
    calls = [entry for entry in log if entry["service"] in ("stackflow", "incidentfox")]
    admitted = [entry for entry in calls if entry["status"] != 429]

    def count(service: str | None = None, *, read: bool, path: Callable[[str], bool] = lambda path: True) -> int:
        return sum(
            (service is None or entry["service"] == service)
            and (entry["method"] in READ_METHODS) == read
            and path(entry["path"])
            for entry in admitted
        )

    return {
        "reads": count(read=True),
        "writes": count(read=False),
        "incidentfox_reads": count("incidentfox", read=True),
        "incidentfox_writes": count("incidentfox", read=False),
        "stackflow_reads": count("stackflow", read=True),
        "stackflow_list_calls": count("stackflow", read=True, path=lambda path: path.endswith("/categories")),
        "stackflow_per_category_reads": count("stackflow", read=True, path=lambda path: "/categories/" in path),
        "stackflow_writes": count("stackflow", read=False),
        "http_405": sum(entry["status"] == 405 for entry in calls),
        "http_429": sum(entry["status"] == 429 for entry in calls),
    }


def spread(values: Iterable[float]) -> dict[str, float]:
    """``min`` and ``median`` of a benchmark's rounds."""
    listed = list(values)
    return {"min": round(min(listed), 3), "median": round(statistics.median(listed), 3)}


def machine() -> dict[str, Any]:
    """Where and when figures were measured: date, CPU count and model, OS, Python."""
    model = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo().splitlines() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
