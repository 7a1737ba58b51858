"""The Pulumi toolchain stackfox runs on: the CLI, the Python language host and the two helper programs.

``install_toolchain()`` resolves, in this order:

1. a compatible ``pulumi`` already on PATH that has the Python language host and its helpers beside it, in
   whatever layout its installer made (``~/.pulumi/bin``, a package manager's ``bin``, Pulumi's flat release
   archive ``pulumi/``);
2. the toolchain stackfox built before, cached in ``toolchain_home()``;
3. a fresh build of the CLI from the Go module proxy, when ``go`` is available;

and otherwise fails with a message that says how to install Pulumi.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from stackfox_provider.errors import StackfoxError
from stackfox_provider.toolchain import gobuild

PULUMI_VERSION = "3.259.0"
TOOLCHAIN_HOME_ENV = "STACKFOX_TOOLCHAIN_HOME"
EXECUTABLES = (
    "pulumi",
    "pulumi-language-python",
    "pulumi-language-python-exec",
    "pulumi-resource-pulumi-python",
)
# Our Python language host, copied next to its launcher (see language_host.py).
LANGUAGE_HOST_SCRIPT = "pulumi-language-python-host.py"
STAMP_FILE = "toolchain.json"
#: Under toolchain_home(): directories whose ``bin`` links to a toolchain kept in another layout.
ROOTS_DIR = "roots"

Source = Literal["path", "cache", "built"]
Log = Callable[[str], None]


class ToolchainError(StackfoxError):
    """The Pulumi toolchain is missing and cannot be installed here."""


@dataclass(frozen=True)
class Toolchain:
    """A directory holding ``pulumi`` and everything it needs to run Python programs."""

    bin_dir: Path
    source: Source

    @property
    def pulumi(self) -> Path:
        return self.bin_dir / "pulumi"

    def command_root(self) -> Path:
        """A directory ``R`` whose ``R/bin/pulumi`` is this ``pulumi``: what ``PulumiCommand(root=R)`` runs.

        Installs that keep their executables in a ``bin`` directory (``~/.pulumi/bin``, a package manager's
        ``bin``, stackfox's cache) have one: the parent. For any other layout, such as Pulumi's flat release
        archive (``pulumi/pulumi``), it is a directory under ``toolchain_home()`` holding one symlink, ``bin``,
        to ``bin_dir``.
        """
        if self.bin_dir.name == "bin":
            return self.bin_dir.parent
        return _linked_root(self.bin_dir)


def toolchain_home() -> Path:
    """Where stackfox keeps its toolchains: ``$STACKFOX_TOOLCHAIN_HOME`` or ``~/.cache/stackfox/toolchains``."""
    if os.environ.get(TOOLCHAIN_HOME_ENV):
        return Path(os.environ[TOOLCHAIN_HOME_ENV]).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "stackfox" / "toolchains").resolve()


def cached_toolchain_dir(version: str = PULUMI_VERSION) -> Path:
    return toolchain_home() / f"pulumi-v{version}"


def find_toolchain() -> Toolchain | None:
    """The toolchain stackfox would use now, without building anything."""
    return _toolchain_on_path() or _cached_toolchain()


def install_toolchain(*, force_build: bool = False, log: Log | None = None) -> Toolchain:
    """Find or build the toolchain; a second call is a no-op that returns at once."""
    say = log or (lambda message: print(message, file=sys.stderr))
    if not force_build:
        found = find_toolchain()
        if found is not None:
            if found.source == "cache":
                _write_shims(found.bin_dir)  # cheap, and keeps the shims in step with this package
            return found
    go = gobuild.find_go()
    if go is None:
        min_go = ".".join(map(str, gobuild.MIN_GO_VERSION))
        raise ToolchainError(
            f"Pulumi CLI v{PULUMI_VERSION} was not found and cannot be built: no `go` >= {min_go} on PATH. "
            f"Either install Pulumi v{PULUMI_VERSION} so that `pulumi` and `pulumi-language-python` are on "
            f"PATH (https://www.pulumi.com/docs/install/), or install Go >= {min_go} and run "
            "`stackfox toolchain install` again to build it."
        )
    with _install_lock():
        if not force_build and (cached := _cached_toolchain()) is not None:
            return cached  # another process finished the build while we waited
        return _build(go, say)


def _build(go: Path, say: Log) -> Toolchain:
    target = cached_toolchain_dir()
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "bin").mkdir(parents=True)
    workspace = toolchain_home() / "build" / f"pulumi-v{PULUMI_VERSION}"
    try:
        gobuild.build_pulumi_cli(go, staging / "bin" / "pulumi", workspace, PULUMI_VERSION, say)
    except gobuild.GoBuildError as error:
        raise ToolchainError(str(error)) from error
    _write_shims(staging / "bin")
    _check_version(staging / "bin" / "pulumi")
    (staging / STAMP_FILE).write_text(
        json.dumps({"pulumi": PULUMI_VERSION, "language_host": "stackfox-python"}, indent=2) + "\n"
    )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    say(f"stackfox: Pulumi v{PULUMI_VERSION} toolchain installed in {target / 'bin'}")
    return Toolchain(target / "bin", "built")


def pulumi_version(pulumi: Path) -> str | None:
    """What ``pulumi version`` prints (``v3.259.0``), or None when it cannot run."""
    try:
        completed = subprocess.run(
            [str(pulumi), "version"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def is_compatible(version: str | None) -> bool:
    """A CLI of the same minor release as the pinned SDK (3.259.x)."""
    major_minor = ".".join(PULUMI_VERSION.split(".")[:2])
    return bool(version and re.fullmatch(rf"v?{re.escape(major_minor)}\.\d+", version))


def _toolchain_on_path() -> Toolchain | None:
    found = shutil.which("pulumi")
    if found is None:
        return None
    bin_dir = Path(found).resolve().parent
    if not all(_is_executable(bin_dir / name) for name in EXECUTABLES):
        return None
    if not is_compatible(pulumi_version(bin_dir / "pulumi")):
        return None
    return Toolchain(bin_dir, "path")


def _cached_toolchain() -> Toolchain | None:
    target = cached_toolchain_dir()
    try:
        stamp = json.loads((target / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return None
    if stamp.get("pulumi") != PULUMI_VERSION or not _is_executable(target / "bin" / "pulumi"):
        return None
    return Toolchain(target / "bin", "cache")


def _linked_root(bin_dir: Path) -> Path:
    """``<toolchain home>/roots/<digest of bin_dir>``, whose ``bin`` links to ``bin_dir`` (made once, atomically)."""
    target = bin_dir.absolute()
    root = toolchain_home() / ROOTS_DIR / hashlib.sha256(str(target).encode()).hexdigest()[:16]
    link = root / "bin"
    if link.is_symlink() and os.readlink(link) == str(target):
        return root
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".bin.{os.getpid()}.{threading.get_ident()}"
    staging.unlink(missing_ok=True)
    staging.symlink_to(target, target_is_directory=True)
    staging.replace(link)  # a rename: concurrent callers never see a missing or half-made link
    return root


@contextmanager
def _install_lock() -> Iterator[None]:
    """One build at a time, even across processes (parallel test runs, two terminals)."""
    toolchain_home().mkdir(parents=True, exist_ok=True)
    with open(toolchain_home() / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_shims(bin_dir: Path) -> None:
    """Install the language host, the program runner and the dynamic-provider plugin into ``bin_dir``."""
    package = resources.files("stackfox_provider.toolchain")
    files = {
        name: package.joinpath("shims", name).read_text()
        for name in ("pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python")
    }
    files["pulumi-language-python"] = files["pulumi-language-python"].replace("@INSTALL_PYTHON@", sys.executable)
    files[LANGUAGE_HOST_SCRIPT] = package.joinpath("language_host.py").read_text()
    for name, text in files.items():
        path = bin_dir / name
        if not path.exists() or path.read_text() != text:
            # Atomically: interpreters of other virtualenvs (tests/sdk_range.py) rewrite the launcher while
            # engines of the dev venv may be starting it.
            staging = path.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}")
            staging.write_text(text)
            staging.chmod(0o755)
            staging.replace(path)
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _check_version(pulumi: Path) -> None:
    version = pulumi_version(pulumi)
    if version != f"v{PULUMI_VERSION}":
        raise ToolchainError(f"The Pulumi CLI built at {pulumi} reports version {version!r}, not v{PULUMI_VERSION}.")


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
