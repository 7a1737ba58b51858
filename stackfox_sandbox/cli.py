"""``stackfox sandbox start|stop|status|serve``.

``register(commands)`` adds the ``sandbox`` command to the ``stackfox`` parser; ``python -m stackfox_sandbox``
builds a parser of its own with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from stackfox_sandbox.faults import FaultSpec
from stackfox_sandbox.settings import DEFAULT_STATE_DIR, Dialect, RuntimeSettings, SandboxSettings

EXIT_NOT_RUNNING = 3
SETTINGS_JSON = "--settings-json"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``sandbox`` and its subcommands to a ``stackfox`` subparsers object."""
    sandbox = commands.add_parser(
        "sandbox",
        help="a local stand-in for StackFlow, IncidentFox and Cognito",
        description="Run a local, persistent stand-in for the StackFlow and IncidentFox APIs with real "
        "(moto) Cognito tokens. Everything listens on 127.0.0.1.",
    )
    actions = sandbox.add_subparsers(title="sandbox commands", metavar="ACTION", required=True)

    start = actions.add_parser("start", help="start in the background and write STATE_DIR/sandbox.json")
    _add_server_options(start)
    start.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for it to answer")
    start.add_argument("--json", action="store_true", help="print sandbox.json instead of a summary")
    start.set_defaults(handler=_start)

    serve = actions.add_parser("serve", help="run in the foreground until interrupted")
    _add_server_options(serve)
    serve.add_argument(
        SETTINGS_JSON,
        metavar="JSON",
        help="every setting as one SandboxSettings document, instead of the options above (how `start` hands "
        "them to the sandbox it runs)",
    )
    serve.set_defaults(handler=_serve)

    stop = actions.add_parser("stop", help="stop the background sandbox")
    _add_state_dir(stop)
    stop.add_argument("--timeout", type=float, default=15.0, help="seconds before SIGKILL")
    stop.set_defaults(handler=_stop)

    status = actions.add_parser("status", help=f"show whether it runs (exit {EXIT_NOT_RUNNING} if not)")
    _add_state_dir(status)
    status.add_argument("--json", action="store_true", help="print sandbox.json")
    status.set_defaults(handler=_status)


def _add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"data and sandbox.json (default: {DEFAULT_STATE_DIR})",
    )


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``start`` and ``serve``. Each sets the settings field its ``dest`` names and has that field's
    default; ``--fault``, ``--error-rate`` and ``--latency`` make fault rules."""
    defaults = SandboxSettings()

    def field(flag: str, name: str, **kwargs: Any) -> None:
        model = defaults.runtime if name in RuntimeSettings.model_fields else defaults
        parser.add_argument(flag, dest=name, default=getattr(model, name), **kwargs)

    _add_state_dir(parser)
    field("--port", "port", type=int, help="API port (default: the last one if free, else any)")
    field("--moto-port", "moto_port", type=int, help="Cognito (moto) port (default: as --port)")
    field("--incidentfox-dialect", "dialect", choices=get_args(Dialect))
    field("--region", "region")
    field("--max-token-age", "max_token_age", type=float, metavar="SECONDS", help="reject older StackFlow tokens")
    field(
        "--unlocked-write-window",
        "unlocked_write_window",
        type=float,
        metavar="SECONDS",
        help="IncidentFox team writes wait this long between read and write without a lock (lost updates)",
    )
    field("--read-limit", "read_limit", type=int, help="reads per token per minute")
    field("--write-limit", "write_limit", type=int, help="writes per token per minute")
    field("--time-scale", "time_scale", type=float, help="60 makes a rate-limit minute last 1 s")
    field("--token-validity", "token_validity", type=int, help="client-credentials token life (s)")
    field("--jwks-refetch-interval", "jwks_refetch_interval", type=float, help="min seconds between reloads")
    field("--testing", "testing", action="store_true", help="enable the /_sandbox control endpoint")
    parser.add_argument("--fault", action="append", default=[], metavar="JSON", help="a fault rule (repeatable)")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 500/502/503")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="added to every request")
    field("--seed", "seed", type=int, help="seed for probabilistic faults")


def settings_from_args(args: argparse.Namespace) -> SandboxSettings:
    """Validated settings from parsed options, or, when ``serve`` got ``--settings-json``, from that document."""
    settings = _settings_from_options(args)
    document: str | None = getattr(args, "settings_json", None)
    if document is None:
        return settings
    if settings != SandboxSettings():
        raise ValueError(f"{SETTINGS_JSON} replaces the other options: give one or the other")
    return SandboxSettings.model_validate_json(document)


def _settings_from_options(args: argparse.Namespace) -> SandboxSettings:
    given = vars(args)
    faults = [FaultSpec.model_validate_json(text) for text in args.fault]
    if args.error_rate > 0:
        faults.append(FaultSpec(kind="error", rate=args.error_rate))
    if args.latency > 0:
        faults.append(FaultSpec(kind="latency", seconds=args.latency))
    return SandboxSettings(
        **{name: given[name] for name in SandboxSettings.model_fields if name in given},
        runtime=RuntimeSettings(**{name: given[name] for name in RuntimeSettings.model_fields}),
        faults=faults,
    )


def _settings_or_exit(args: argparse.Namespace) -> SandboxSettings | None:
    try:
        return settings_from_args(args)
    except (ValidationError, ValueError) as error:
        print(f"stackfox sandbox: invalid options: {error}", file=sys.stderr)
        return None


def _start(args: argparse.Namespace) -> int:
    from stackfox_sandbox import manager

    settings = _settings_or_exit(args)
    if settings is None:
        return 2
    try:
        started = manager.start(settings, timeout=args.timeout)
    except manager.SandboxError as error:
        print(f"stackfox sandbox: {error}", file=sys.stderr)
        return 1
    info = started.info
    if args.json:
        print(json.dumps(info.model_dump(), indent=2))
        return 0
    print(f"sandbox running (pid {info.pid}, ready in {started.seconds:.1f}s)")
    print(f"  StackFlow:    {info.stackflow_base_url}")
    print(f"  IncidentFox:  {info.incidentfox_base_url} ({info.dialect})")
    print(f"  Cognito:      {info.cognito_endpoint_url} (pool {info.user_pool_id})")
    print(f"  credentials:  {manager.info_path(settings.state_dir.resolve())}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from stackfox_sandbox.server import serve

    settings = _settings_or_exit(args)
    return 2 if settings is None else serve(settings)


def _stop(args: argparse.Namespace) -> int:
    from stackfox_sandbox import manager

    if manager.stop(args.state_dir.resolve(), timeout=args.timeout):
        print("sandbox stopped")
    else:
        print("no sandbox was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from stackfox_sandbox import manager

    info = manager.running(args.state_dir.resolve())
    if info is None:
        print("sandbox not running", file=sys.stderr)
        return EXIT_NOT_RUNNING
    if args.json:
        print(json.dumps(info.model_dump(), indent=2))
    else:
        state = "running" if manager.healthy(info) else "running (not answering)"
        print(f"sandbox {state}: pid {info.pid}, {info.base_url}, {info.dialect} dialect, started {info.started_at}")
    return 0
