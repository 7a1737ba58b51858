"""The e2e lifecycle on both ends of the Pulumi SDK range stackfox supports (`make test-sdk-range`).

pyproject.toml declares ``pulumi>=LOWEST,<4``. For LOWEST and NEWEST this builds this checkout's wheel, installs
it with that SDK into a virtualenv of its own as a user's project would (``pip install stackfox-provider
pulumi==X``: it must resolve, and ``pip check`` must pass), and runs the lifecycle tests there with pytest. The
test process (and so the Automation API), the programs, the language host, the dynamic providers and
``stackfox drift`` then all run that SDK, on the toolchain's CLI; the test process and the engine's processes
import stackfox from the wheel (``--import-mode=importlib`` keeps the checkout off ``sys.path``).

The virtualenvs live in ``$STACKFOX_SDK_VENVS`` or ``~/.cache/stackfox/sdk-venvs/pulumi-<version>`` and are
reused: a later run only reinstalls the wheel. A lock per virtualenv keeps two runs from sharing one.

Usage: ``python tests/sdk_range.py [VERSION ...]`` (default: LOWEST and NEWEST).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The lowest SDK stackfox supports: the first with ``ReadResult(id_, outs, inputs)``, which every resource's
#: ``read`` returns so that a refresh records what the service holds (3.215.0's ``ReadResult`` takes no inputs).
LOWEST = "3.216.0"
#: The newest SDK on PyPI when last bumped (a run says when PyPI serves a newer one).
NEWEST = "3.272.0"
TESTED = (LOWEST, NEWEST)

#: The engine's lifecycle through the CLI and the Automation API, and one real-resource lifecycle: both
#: services' resources up, changed by hand, found by ``stackfox drift`` and repaired by ``up --refresh``.
TESTS = (
    "tests/e2e/test_engine_lifecycle.py",
    "tests/e2e/test_drift.py::test_drift_names_changes_made_by_hand_and_up_repairs_them",
)
#: What the tests import besides the wheel and its sandbox extra (versions: pyproject's dev extra).
TEST_REQUIREMENTS = ("pytest", "jsonschema")


def venvs_home() -> Path:
    if os.environ.get("STACKFOX_SDK_VENVS"):
        return Path(os.environ["STACKFOX_SDK_VENVS"]).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "stackfox" / "sdk-venvs").resolve()


def say(message: str) -> None:
    print(f"sdk-range: {message}", flush=True)


def run(command: Sequence[str | Path]) -> None:
    subprocess.run([str(part) for part in command], check=True)


def requirements_of_the_tests() -> list[str]:
    """pyproject's dev-extra specifiers of the packages the tests import (one place for their versions)."""
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    return [next(spec for spec in dev if re.match(rf"{name}\b(?!-)", spec)) for name in TEST_REQUIREMENTS]


def build_wheel(workdir: Path) -> Path:
    """This checkout's wheel, built from a copy of its files (tracked and untracked, not ignored).

    Building in the tree would leave ``build/`` there, and setuptools packs whatever an old ``build/lib`` holds.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    source = workdir / "src"
    for name in filter(None, (os.fsdecode(entry) for entry in listed.split(b"\0"))):
        if (ROOT / name).is_file():  # a tracked file deleted in the tree is not listed as a file
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", workdir / "dist", source])
    (wheel,) = (workdir / "dist").glob("stackfox_provider-*.whl")
    return wheel


@contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def prepare(venv: Path, version: str, wheel: Path) -> None:
    """The SDK's virtualenv (created once), with this wheel installed."""
    python = venv / "bin" / "python"
    if not (python.exists() and subprocess.run([python, "-c", ""], capture_output=True, check=False).returncode == 0):
        shutil.rmtree(venv, ignore_errors=True)
        say(f"creating {venv}")
        run([sys.executable, "-m", "venv", venv])
    pip: list[str | Path] = [python, "-m", "pip", "--disable-pip-version-check"]
    # What a user's project does: stackfox next to this SDK must resolve.
    run([*pip, "install", "--quiet", f"{wheel}[sandbox]", f"pulumi=={version}", *requirements_of_the_tests()])
    # The same version number as the last run's wheel: reinstall so that this checkout's code is what runs.
    run([*pip, "install", "--quiet", "--no-deps", "--force-reinstall", wheel])
    run([*pip, "check"])
    installed = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('pulumi'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if installed != version:
        raise SystemExit(f"sdk-range: {venv} holds pulumi {installed}, not {version}")


def run_tests(venv: Path) -> int:
    """The lifecycle tests, run by the virtualenv's pytest as if it were activated."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PULUMI_PYTHON_CMD")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", os.defpath)])
    command = [str(venv / "bin" / "pytest"), "--import-mode=importlib", "-p", "no:cacheprovider", *TESTS]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def newer_on_pypi() -> str | None:
    """The newest pulumi on PyPI when it is newer than NEWEST (None offline or when NEWEST is the newest)."""
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "--disable-pip-version-check", "index", "versions", "pulumi"],
            capture_output=True, text=True, timeout=60, check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.match(r"pulumi \((\d+)\.(\d+)\.(\d+)\)", listed)
    if found is None:
        return None
    newest = tuple(map(int, found.groups()))
    return ".".join(map(str, newest)) if newest > tuple(map(int, NEWEST.split("."))) else None


def main(versions: Sequence[str]) -> int:
    home = venvs_home()
    results: list[str] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="stackfox-sdk-range-") as workdir:
        started = time.monotonic()
        wheel = build_wheel(Path(workdir))
        say(f"built {wheel.name} in {time.monotonic() - started:.0f} s")
        for version in versions:
            venv = home / f"pulumi-{version}"
            started = time.monotonic()
            with locked(home / f"pulumi-{version}.lock"):
                prepare(venv, version, wheel)
                say(f"pulumi {version}: {venv} ready in {time.monotonic() - started:.0f} s; running {' '.join(TESTS)}")
                code = run_tests(venv)
            failed = failed or code != 0
            outcome = "passed" if code == 0 else "FAILED"
            results.append(f"pulumi {version} {outcome} ({time.monotonic() - started:.0f} s)")
    newer = newer_on_pypi()
    if newer:
        say(f"note: PyPI serves pulumi {newer}, newer than {NEWEST}: raise NEWEST in tests/sdk_range.py and the README")
    say("; ".join(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or TESTED))
