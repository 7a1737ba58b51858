"""The ``stackfox`` command line."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from stackfox_provider.engine import LocalEngine, add_project_arguments
from stackfox_provider.toolchain import ToolchainError, find_toolchain, install_toolchain


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and not argv[0].startswith("-") else None  # the only top-level option is --help
    parser = _parser(only=command)
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.handler(args)
    except ToolchainError as error:
        print(f"stackfox: {error}", file=sys.stderr)
        return 1
    return code


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``stackfox`` parser. Given ``only``, the command about to run, the commands that need more than the
    standard library to describe (pydantic, the review package, the sandbox) are registered by name alone, so
    that ``stackfox pulumi`` loads none of them before it runs ``pulumi``."""
    parser = argparse.ArgumentParser(prog="stackfox", description="Incident-response configuration as code.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    toolchain = commands.add_parser("toolchain", help="install or locate the Pulumi toolchain")
    toolchain_commands = toolchain.add_subparsers(title="toolchain commands", metavar="ACTION", required=True)
    install = toolchain_commands.add_parser(
        "install", help="find the Pulumi CLI and language host, or build them from Go modules"
    )
    install.add_argument("--force-build", action="store_true", help="build again even if a toolchain is found")
    install.set_defaults(handler=_toolchain_install)
    path = toolchain_commands.add_parser("path", help="print the directory holding pulumi and its helpers")
    path.set_defaults(handler=_toolchain_path)

    pulumi = commands.add_parser(
        "pulumi",
        help="run the pinned pulumi CLI on your backend (else a local file backend)",
        description="Runs `pulumi ARGS...` with the toolchain, no update checks and no plugin downloads. State "
        "goes to the backend you chose with `pulumi login`, PULUMI_BACKEND_URL or Pulumi.yaml; with --state-dir "
        "(or $STACKFOX_STATE_DIR), or when none is chosen, to stackfox's file backend (default CWD/.stackfox) "
        "with passphrase secrets. The first line on stderr says which.",
    )
    add_project_arguments(pulumi)
    pulumi.add_argument("pulumi_args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments for pulumi")
    pulumi.set_defaults(handler=_pulumi)

    for names, register in _LOADED_ON_DEMAND:
        if only is None or only in names:
            register(commands)
        else:
            for name in names:
                commands.add_parser(name)
    return parser


def _register_use_sandbox(commands: Any) -> None:
    use_sandbox = commands.add_parser(
        "use-sandbox",
        help="point a stack's stackfox:* config at a running local sandbox",
        description="Selects (or creates) the stack, in the backend `stackfox pulumi` uses, and sets the "
        "stackfox:* connection settings from the sandbox's sandbox.json; tokens and passwords are stored as secrets.",
    )
    add_project_arguments(use_sandbox)
    from stackfox_sandbox.settings import DEFAULT_STATE_DIR  # pydantic only: no sandbox extra needed

    use_sandbox.add_argument("--sandbox-dir", type=Path, default=DEFAULT_STATE_DIR, help="the sandbox's state")
    use_sandbox.add_argument("--stack", default="dev", help="the stack to configure (default: dev)")
    use_sandbox.set_defaults(handler=_use_sandbox)


def _register_review(commands: Any) -> None:
    from stackfox_provider.review.cli import register

    register(commands)  # stackfox drift, stackfox plan


def _register_import(commands: Any) -> None:
    from stackfox_provider.importing.cli import register

    register(commands)  # stackfox import


def _register_sandbox(commands: Any) -> None:
    # An optional extra: the provider never depends on the web framework, so check that it is installed.
    if all(importlib.util.find_spec(module) for module in SANDBOX_EXTRA_MODULES):
        importlib.import_module("stackfox_sandbox.cli").register(commands)
    else:
        missing = commands.add_parser("sandbox", help="the local sandbox (install stackfox-provider[sandbox])")
        missing.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        missing.set_defaults(handler=_sandbox_missing)


#: The commands ``_parser`` describes only when they may run, each group with the function that registers it.
_LOADED_ON_DEMAND: tuple[tuple[tuple[str, ...], Callable[[Any], None]], ...] = (
    (("use-sandbox",), _register_use_sandbox),
    (("drift", "plan"), _register_review),
    (("import",), _register_import),
    (("sandbox",), _register_sandbox),
)


def _toolchain_install(args: argparse.Namespace) -> int:
    started = time.monotonic()
    toolchain = install_toolchain(force_build=args.force_build)
    print(f"Pulumi toolchain ({toolchain.source}) ready in {time.monotonic() - started:.1f}s: {toolchain.bin_dir}")
    return 0


def _toolchain_path(args: argparse.Namespace) -> int:
    toolchain = find_toolchain()
    if toolchain is None:
        print(
            "stackfox: the Pulumi toolchain is not installed; run `stackfox toolchain install`",
            file=sys.stderr,
        )
        return 1
    print(toolchain.bin_dir)
    return 0


def _pulumi(args: argparse.Namespace) -> int:
    pulumi_args = list(args.pulumi_args)
    if pulumi_args[:1] == ["--"]:
        pulumi_args = pulumi_args[1:]
    engine = _engine(args.cwd.resolve(), args.state_dir)
    return engine.run_cli(pulumi_args, cwd=args.cwd.resolve()).returncode


def _engine(project_dir: Path, state_dir: Path | None) -> LocalEngine:
    """The engine for the project, after one line on stderr that says where its state goes."""
    engine = LocalEngine.for_project(project_dir, state_dir)
    print(engine.backend.describe(), file=sys.stderr, flush=True)
    return engine


def _use_sandbox(args: argparse.Namespace) -> int:
    from stackfox_sandbox.info import SandboxInfo  # pydantic only: no sandbox extra needed
    from stackfox_sandbox.settings import INFO_FILE

    info_file = args.sandbox_dir / INFO_FILE
    try:
        info = SandboxInfo.read(info_file)
    except (OSError, ValueError) as error:
        print(f"stackfox: cannot read {info_file} ({error}); start it with `stackfox sandbox start`", file=sys.stderr)
        return 1
    cwd = args.cwd.resolve()
    engine = _engine(cwd, args.state_dir)
    selected = engine.run_cli(["stack", "select", "--create", args.stack], cwd=cwd)
    if selected.returncode != 0:
        return selected.returncode
    plain, secret = info.stack_config()
    pairs = [arg for key, value in plain.items() for arg in ("--plaintext", f"{key}={value}")]
    pairs += [arg for key, value in secret.items() for arg in ("--secret", f"{key}={value}")]
    configured = engine.run_cli(["config", "set-all", "--stack", args.stack, *pairs], cwd=cwd)
    if configured.returncode == 0:
        print(f"stack {args.stack} now uses the sandbox in {args.sandbox_dir}")
    return configured.returncode


#: What the sandbox extra installs (imported only in the sandbox's own process).
SANDBOX_EXTRA_MODULES = ("fastapi", "uvicorn", "moto")


def _sandbox_missing(args: argparse.Namespace) -> int:
    print("stackfox: the sandbox is not installed; pip install 'stackfox-provider[sandbox]'", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
