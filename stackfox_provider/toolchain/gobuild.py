"""Building the Pulumi CLI from its Go modules, the only way to get it on machines without its installer.

The build list is pinned by the ``gomod/go.mod`` and ``go.sum`` shipped in this package (our own
wrapper module, generated with ``go get -tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v3.259.0``),
so a build needs nothing but the Go module proxy. The flags are upstream's release flags.

Pulumi's Go language host (``github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3``)
is not built: the module proxy refuses it here ("403 This module version is not available"), so
the toolchain uses stackfox's own host instead (``language_host.py``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from stackfox_provider.errors import StackfoxError

MIN_GO_VERSION = (1, 25, 11)
CLI_PACKAGE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
VERSION_SYMBOL = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
# Where Go's official tarball installs, for shells whose PATH lacks it.
FALLBACK_GO = Path("/usr/local/go/bin/go")


def find_go() -> Path | None:
    """``go`` from PATH (or /usr/local/go) when it is recent enough to build Pulumi v3.259."""
    on_path = shutil.which("go")
    for candidate in ([Path(on_path)] if on_path else []) + [FALLBACK_GO]:
        if os.access(candidate, os.X_OK) and _go_version(candidate) >= MIN_GO_VERSION:
            return candidate
    return None


class GoBuildError(StackfoxError):
    """``go build`` failed."""


def build_pulumi_cli(go: Path, output: Path, workspace: Path, version: str, log: Callable[[str], None]) -> None:
    """Build ``pulumi`` ``version`` into ``output``; the module and build caches make a rebuild take seconds."""
    workspace.mkdir(parents=True, exist_ok=True)
    package = resources.files("stackfox_provider.toolchain").joinpath("gomod")
    for name in ("go.mod", "go.sum"):
        (workspace / name).write_text(package.joinpath(name).read_text())
    env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    ldflags = f"-s -w -X {VERSION_SYMBOL}=v{version}"
    command = [
        str(go), "build", "-trimpath", "-tags", "osusergo,grpcnotrace", "-ldflags", ldflags,
        "-o", str(output), CLI_PACKAGE,
    ]  # fmt: skip
    log(
        f"stackfox: building the Pulumi CLI v{version} from Go modules in {workspace} "
        "(the first build downloads about 1.4 GB of modules; docs/toolchain.md gives the time it takes)"
    )
    started = time.monotonic()
    completed = subprocess.run(command, cwd=workspace, env=env, check=False)
    if completed.returncode != 0:
        raise GoBuildError(
            f"Building the Pulumi CLI failed (exit {completed.returncode}): `{' '.join(command)}` in {workspace}. "
            "If the error says 'verifying module', the checksum database is unreachable: retry with "
            "GONOSUMDB='github.com/pulumi/*'."
        )
    log(f"stackfox: Pulumi CLI built in {time.monotonic() - started:.0f}s")


def _go_version(go: Path) -> tuple[int, ...]:
    try:
        output = subprocess.run([str(go), "version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    match = re.search(r"go(\d+)\.(\d+)(?:\.(\d+))?", output)
    return tuple(int(part or 0) for part in match.groups()) if match else ()
