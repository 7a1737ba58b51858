"""``stackfox drift`` and ``stackfox plan``: registered on the ``stackfox`` command line by :func:`register`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

import yaml

from stackfox_provider.engine import LocalEngine, add_project_arguments
from stackfox_provider.review.drift import drift_report
from stackfox_provider.review.engine_run import PreviewRun, Refresh, run_preview
from stackfox_provider.review.model import DriftReport, PlanReport
from stackfox_provider.review.plan import plan_report
from stackfox_provider.review.render import FORMATS, Format, render_drift, render_plan

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2
#: The stack name reports use when no --stack was given and no resource names it.
SELECTED = "(selected)"

Report = TypeVar("Report", DriftReport, PlanReport)

DRIFT_DESCRIPTION = """\
Refreshes the stack in memory (pulumi preview --refresh; nothing is written to the services or to
the state) and reports, per resource and field, what the code says and what the service holds now.
Exit status: 0 no drift, 2 drift found, 1 it could not tell (the reason is on stderr)."""
PLAN_DESCRIPTION = """\
Runs pulumi preview and summarises what `pulumi up` would create, update, replace and delete, grouped
by service, with field-level old -> new values (secrets masked). Exit status: 0 ok (changes or not),
1 on an error in the program or invalid input."""


def register(commands: Any) -> None:
    """Add ``drift`` and ``plan`` to the ``stackfox`` subcommands (an ``add_subparsers()`` object)."""
    drift = commands.add_parser(
        "drift", help="report what differs between the services and the code (exit 2 on drift)",
        description=DRIFT_DESCRIPTION,
    )  # fmt: skip
    _common_arguments(drift)
    drift.set_defaults(handler=drift_command)

    plan = commands.add_parser(
        "plan", help="summarise what `pulumi up` would change, for a pull request", description=PLAN_DESCRIPTION
    )
    _common_arguments(plan)
    plan.add_argument(
        "--refresh", action="store_true", help="refresh first, as `pulumi up --refresh` would (reads the services)"
    )
    plan.set_defaults(handler=plan_command)


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    add_project_arguments(parser)
    parser.add_argument("--stack", help="the stack (default: the selected stack)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--output", type=Path, help="write the report to this file instead of stdout")


def drift_command(args: argparse.Namespace) -> int:
    """``stackfox drift``: 0 no drift, 2 drift, 1 could not tell."""
    run = _preview(args, refresh=True, doing="Checking {stack} of {cwd} for drift (a read-only refresh)")
    project, stack = project_name(args.cwd.resolve()), args.stack or SELECTED
    report = drift_report(run, project=project, stack=stack)
    if _publish(args, report, render_drift, "could not tell whether the stack drifted"):
        return EXIT_ERROR
    return EXIT_DRIFT if report.status == "drift" else EXIT_OK


def plan_command(args: argparse.Namespace) -> int:
    """``stackfox plan``: 0 on success, 1 on a program error or invalid input."""
    run = _preview(args, refresh=args.refresh, doing="Previewing {stack} of {cwd}")
    project, stack = project_name(args.cwd.resolve()), args.stack or SELECTED
    report = plan_report(run, project=project, stack=stack, refreshed=args.refresh)
    return EXIT_ERROR if _publish(args, report, render_plan, "the preview failed") else EXIT_OK


class Progress:
    """Progress lines on stderr while the engine works."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.count = 0

    def say(self, message: str) -> None:
        print(message, file=self.stream, flush=True)

    def read(self, refresh: Refresh) -> None:
        """One resource has been read from its service."""
        self.count += 1
        resource = refresh.resource
        found = "not found (deleted?)" if refresh.gone else "read"
        self.say(f"  [{self.count}] {resource.service} {resource.label}: {found}")


def project_name(project_dir: Path) -> str:
    """The ``name:`` of the project's Pulumi.yaml (for reports of runs that name no resource)."""
    for candidate in ("Pulumi.yaml", "Pulumi.yml"):
        try:
            project = yaml.safe_load((project_dir / candidate).read_text())
        except (OSError, yaml.YAMLError):
            continue
        name = project.get("name") if isinstance(project, dict) else None
        if isinstance(name, str) and name:
            return name
    return project_dir.name


def _preview(args: argparse.Namespace, *, refresh: bool, doing: str) -> PreviewRun:
    """Run the review's preview, saying on stderr what it does and which resources it has read."""
    cwd = args.cwd.resolve()
    progress = Progress(sys.stderr)
    progress.say(doing.format(stack=f"stack {args.stack}" if args.stack else "the selected stack", cwd=cwd) + "...")
    engine = LocalEngine.for_project(cwd, args.state_dir)
    progress.say(engine.backend.describe())
    run = run_preview(engine, cwd, stack=args.stack, refresh=refresh, on_refresh=progress.read)
    progress.say(f"Done in {run.duration_seconds:.1f}s ({progress.count} resources read).")
    return run


def _publish(args: argparse.Namespace, report: Report, render: Callable[[Report, Format], str], failure: str) -> bool:
    """Write the report where asked; on an error, explain it on stderr (JSON still gets the report). True on error."""
    failed = report.status == "error"
    if failed:
        print(f"stackfox: {failure}:", file=sys.stderr)
        for error in report.errors:
            where = f"{error.resource}: " if error.resource else ""
            print(f"  - {where}{error.message}", file=sys.stderr)
    if not failed or args.format == "json":
        _emit(render(report, args.format), args.output)
    return failed


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(f"wrote {output}", file=sys.stderr)
