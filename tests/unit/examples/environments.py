"""An example project's own virtualenv, made from its requirements.txt once and kept between test runs.

Examples may need packages the root environment must not hold (pulumi-aws: Pulumi's language host
reports every installed ``pulumi-*`` package as a required plugin, so it would make the root project
ask for the aws plugin). Each example gets a virtualenv in ``$XDG_CACHE_HOME/stackfox/example-venvs``
(``~/.cache`` by default) with stackfox installed editable from this checkout and the example's
``requirements.txt`` on top. Its name carries a hash of what went into it, so a change to the
requirements, to stackfox's dependencies, to the checkout's place or to the interpreter makes a new one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[3]
COMPLETE = ".stackfox-complete"


def cache_root() -> Path:
    """Where example virtualenvs are kept."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "stackfox" / "example-venvs"


def environment_key(example: Path) -> str:
    """A short hash of everything the example's virtualenv is made from."""
    dependencies = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]["dependencies"]
    parts = [(example / "requirements.txt").read_text(), "\n".join(dependencies), str(CHECKOUT), sys.version]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def example_python(example: Path) -> Path:
    """The interpreter of ``example``'s own virtualenv, made on first use (one maker at a time)."""
    venv = cache_root() / f"{example.name}-{environment_key(example)}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_name(venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / COMPLETE).exists():
            _make(venv, example)
    return venv / "bin" / "python"


def _make(venv: Path, example: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    # The editable checkout is the `stackfox-provider` the example's requirements.txt names.
    install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
               "-e", str(CHECKOUT), "-r", "requirements.txt"]  # fmt: skip
    completed = subprocess.run(install, cwd=example, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(install)} failed:\n{completed.stdout}\n{completed.stderr}")
    (venv / COMPLETE).touch()
