"""The environment the Pulumi engine needs to run here, offline, for both the CLI and the Automation API.

State goes to the backend the user chose for ``pulumi`` (``pulumi login``, ``PULUMI_BACKEND_URL``, ``backend.url``
in ``Pulumi.yaml``), else to stackfox's own file backend (``--state-dir``, ``$STACKFOX_STATE_DIR`` or
``<project>/.stackfox``): see :mod:`stackfox_provider.backend`. Only stackfox's own backend gets its
``PULUMI_BACKEND_URL``, ``PULUMI_HOME`` and a default passphrase. Always: no update check, no plugin download,
and the toolchain's ``bin`` first on PATH, so the engine finds our language host and dynamic-provider plugin
whatever ``PULUMI_HOME`` holds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from stackfox_provider.backend import Backend, choose_backend
from stackfox_provider.errors import StackfoxError
from stackfox_provider.toolchain import Toolchain, ToolchainError, find_toolchain

#: Used for stackfox's own file backend when neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE
#: is set. It protects nothing against someone who can read this file; set your own for state you keep.
DEFAULT_PASSPHRASE = "stackfox-local"
PASSPHRASE_ENV = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


@dataclass(frozen=True)
class LocalEngine:
    """How to run the pinned Pulumi engine against a backend (see :class:`~stackfox_provider.backend.Backend`).

    ``python`` is the interpreter programs and dynamic providers run in; ``passphrase``, when given, is
    used whatever the backend and the environment say.
    """

    toolchain: Toolchain
    backend: Backend
    python: Path = field(default_factory=lambda: Path(sys.executable))
    passphrase: str | None = None

    @classmethod
    def for_project(
        cls,
        project_dir: Path,
        state_dir: Path | None = None,
        *,
        toolchain: Toolchain | None = None,
        python: Path | None = None,
    ) -> LocalEngine:
        """The engine for a project: state in ``state_dir``, ``$STACKFOX_STATE_DIR``, the user's backend or
        ``<project>/.stackfox`` (:func:`~stackfox_provider.backend.choose_backend`)."""
        toolchain = toolchain or find_toolchain()
        if toolchain is None:
            raise ToolchainError("The Pulumi toolchain is not installed: run `stackfox toolchain install` first.")
        return cls(toolchain, choose_backend(project_dir, state_dir), python or Path(sys.executable))

    @classmethod
    def in_state_dir(cls, toolchain: Toolchain, state_dir: Path, python: Path | None = None) -> LocalEngine:
        """An engine on stackfox's file backend in ``state_dir`` (which also holds its ``PULUMI_HOME``)."""
        return cls(toolchain, Backend.local(state_dir), python or Path(sys.executable))

    @property
    def state_dir(self) -> Path:
        """The directory of stackfox's file backend; an error for a backend the user chose."""
        if self.backend.state_dir is None:
            raise StackfoxError(f"stack state is in {self.backend.url}, not in a stackfox state directory")
        return self.backend.state_dir

    def state_file(self, project: str, stack: str) -> Path:
        """The JSON checkpoint of one stack in stackfox's file backend."""
        return self.state_dir / ".pulumi" / "stacks" / project / f"{stack}.json"

    def env_vars(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The variables stackfox sets for the engine (the Automation API's ``env_vars``)."""
        environ = os.environ if environ is None else environ
        return {
            **self._backend_vars(environ),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_PYTHON_CMD": str(self.python),
            "PATH": os.pathsep.join([str(self.toolchain.bin_dir), environ.get("PATH", os.defpath)]),
        }

    def _backend_vars(self, environ: Mapping[str, str]) -> dict[str, str]:
        """Backend, ``PULUMI_HOME`` and passphrase: set for stackfox's own backend, the user's left alone."""
        variables: dict[str, str] = {}
        if self.backend.is_stackfox_local:
            variables["PULUMI_BACKEND_URL"] = self.backend.url
            if not any(environ.get(name) for name in PASSPHRASE_ENV):
                variables["PULUMI_CONFIG_PASSPHRASE"] = DEFAULT_PASSPHRASE
        if self.backend.pulumi_home is not None:
            variables["PULUMI_HOME"] = str(self.backend.pulumi_home)
        if self.passphrase is not None:
            variables["PULUMI_CONFIG_PASSPHRASE"] = self.passphrase
        return variables

    def _make_home(self) -> None:
        if self.backend.pulumi_home is not None:
            self.backend.pulumi_home.mkdir(parents=True, exist_ok=True)

    def process_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """A complete environment for a ``pulumi`` subprocess."""
        environ = os.environ if environ is None else environ
        return {**environ, **self.env_vars(environ)}

    def run_cli(
        self, args: Sequence[str], cwd: Path, *, capture: bool = False, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run ``pulumi <args>`` from the toolchain in ``cwd``; an interrupt cancels it as Ctrl-C does."""
        self._make_home()
        command = [str(self.toolchain.pulumi), *args]
        output = subprocess.PIPE if capture else None
        interactive = not capture and sys.stdin is not None and sys.stdin.isatty()
        with (
            subprocess.Popen(
                command, cwd=cwd, env=self.process_env(), stdout=output, stderr=output, text=True,
                process_group=None if interactive else 0,
            ) as process,
            interrupts_cancel(process, delivered_by_terminal=interactive),
        ):  # fmt: skip
            stdout, stderr = process.communicate()
        completed = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        if check:
            completed.check_returncode()
        return completed

    def workspace_options(self, **options: Any) -> Any:
        """``LocalWorkspaceOptions`` wired to this engine (extra keyword arguments pass through)."""
        from pulumi import automation as auto

        self._make_home()
        home = self.backend.pulumi_home
        return auto.LocalWorkspaceOptions(
            pulumi_home=None if home is None else str(home),
            env_vars={**self.env_vars(), **options.pop("env_vars", {})},
            pulumi_command=auto.PulumiCommand(root=str(self.toolchain.command_root())),
            **options,
        )


@contextlib.contextmanager
def interrupts_cancel(process: subprocess.Popen[str], *, delivered_by_terminal: bool) -> Iterator[None]:
    """While ``process`` (a ``pulumi`` command) runs, pass interrupts on the way ``pulumi`` expects them.

    ``pulumi`` cancels gracefully on its first SIGINT (it lets operations in flight finish, records
    them and releases the stack's lock) and stops at once on the second. So each SIGINT or SIGTERM
    stackfox receives becomes one SIGINT for ``pulumi``, and stackfox waits for it to exit instead of
    killing it (as ``subprocess.run`` would, 0.25 s after a Ctrl-C, leaving a locked stack and plugin
    processes behind). A Ctrl-C typed in a terminal already reaches ``pulumi`` (same process group),
    so then only SIGTERM is passed on. Outside the main thread signals cannot be handled: no change.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, frame: FrameType | None) -> None:
        if process.poll() is None and (signum != signal.SIGINT or not delivered_by_terminal):
            process.send_signal(signal.SIGINT)

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cwd`` and ``--state-dir`` for commands that run the engine on a project."""
    parser.add_argument("--cwd", type=Path, default=Path.cwd(), help="the Pulumi project directory")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="keep state in a file backend here (with PULUMI_HOME) instead of the backend chosen with "
        "`pulumi login`, PULUMI_BACKEND_URL or Pulumi.yaml; with none chosen, CWD/.stackfox",
    )
