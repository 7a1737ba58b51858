"""Issue 13's table: stackfox against a naive baseline at the services' API limits, side by side in one run.

    python benchmarks/apply_at_api_limits.py [--rounds 3] [--rows webhooks,categories,refresh,preview]
        [--webhooks 30] [--categories 10,50,200] [--stack-size 200] [--quick] [--output FILE]

Each row gets a fresh sandbox (hosted dialect, its default limits: 100 reads and 20 writes a minute per token)
and a Pulumi project on a file backend in a temporary directory. In each round, stackfox and its baseline run
one after the other, the order alternating between rounds; every measured command starts with an empty request
log and fresh rate-limit windows, and its API calls are counted from the sandbox's request log (reads and writes
are the calls the service admitted; 429 answers are counted apart). The baselines are in ``baseline.py``.

* ``webhooks``: ``pulumi up --yes --skip-preview`` of N Webhooks on one team (a new stack on fresh data each
  time), default limits. Baseline: one ``PUT`` per resource, waiting out 429s.
* ``categories``: ``pulumi up --yes`` of N IncidentCategory resources (a new stack on fresh data each time) with
  the limits raised on the sandbox and in stackfox's client budget; then of ``--stack-size`` categories with the
  read limit at its default (writes still raised). Baseline: one list call by name, then a ``POST``, per resource.
* ``refresh``: reads of ``pulumi refresh --yes``, ``pulumi up --refresh --yes`` and ``pulumi refresh --yes
  --skip-preview`` on a stack of ``--stack-size`` categories and 3 Webhooks, limits raised (the row counts
  reads; at the default read limit the baseline would spend minutes waiting). Baseline: one ``GET`` per resource.
  The goal is one read of each service per engine pass (README, "What each command costs the APIs"): the
  category list pages and one read of the team's config; without ``--skip-preview`` the engine runs two passes.
* ``preview``: a no-op ``pulumi preview --expect-no-changes`` of ``--stack-size`` stackfox resources
  (categories and 3 Webhooks) against as many do-nothing dynamic resources, default limits; and
  ``stackfox pulumi --state-dir DIR -- version`` against bare ``pulumi version`` (several runs a round).

Goals (issue 13): counts must hold in every round; time ratios compare medians, the wrapper's overhead the
fastest runs. Prints the table, then writes everything as JSON to ``--output`` (or prints it). Exits 1 when a
row failed to run (the others still run); goals not met do not change the exit status.
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import baseline
from _common import NO_LIMITS, init_stack, machine, pulumi, running_sandbox, spread, tally, write_project

import stackfox_provider
from stackfox_provider.engine import LocalEngine
from stackfox_provider.toolchain import Toolchain, ToolchainError, find_toolchain
from stackfox_sandbox.settings import RuntimeSettings
from stackfox_sandbox.testing import SandboxHandle

ROWS = ("webhooks", "categories", "refresh", "preview")
SIDES = ("stackfox", "baseline")
DEFAULT_LIMITS = RuntimeSettings()  # the sandbox's: 100 reads, 20 writes a minute
RAISED = NO_LIMITS["read_limit"]
#: stackfox's client-side budget, raised with the sandbox's limits (stack config; the baseline ignores it).
RAISED_READ_BUDGET = {
    "stackfox:stackflowReadsPerMinute": str(RAISED),
    "stackfox:incidentfoxReadsPerMinute": str(RAISED),
}
RAISED_WRITE_BUDGET = {
    "stackfox:stackflowWritesPerMinute": str(RAISED),
    "stackfox:incidentfoxWritesPerMinute": str(RAISED),
}
REFRESH_WEBHOOKS = 3
REFRESH_COMMANDS = (("refresh", "--yes"), ("up", "--refresh", "--yes"), ("refresh", "--yes", "--skip-preview"))
SLOWDOWN_GOAL = 1.25  # "never slowed by reads": at the default read limit, at most this much slower, and no 429
FULL = {"webhooks": 30, "categories": [10, 50, 200], "stack_size": 200, "version_runs": 5}
QUICK = {"webhooks": 4, "categories": [5, 20], "stack_size": 20, "version_runs": 2}

PROGRAM = """\
    import pulumi

    config = pulumi.Config()
    if config.require("side") == "stackfox":
        from stackfox_provider.incidentfox import Webhook
        from stackfox_provider.stackflow import IncidentCategory
    else:  # benchmarks/baseline.py, on PYTHONPATH for the program and the provider process
        from baseline import NaiveCategory as IncidentCategory, NaiveWebhook as Webhook, Noop

    prefix = config.require("prefix")
    for index in range(config.get_int("webhooks") or 0):
        url = f"https://hooks.example.com/{prefix}/{index}"
        Webhook(f"hook-{index:03d}", event=f"{prefix}_{index:03d}", url=url)
    for index in range(config.get_int("categories") or 0):
        name = f"{prefix}-{index:03d}"
        IncidentCategory(name, name=name, label=f"Bench {index}", default_priority="P3")
    for index in range(config.get_int("noop") or 0):
        Noop(f"noop-{index:03d}", index=index)
"""

Measurement = dict[str, Any]
Results = dict[str, list[Measurement]]  # side -> one measurement per round


@dataclass
class Line:
    """One line of the table."""

    row: str
    what: str
    stackfox: dict[str, float]
    baseline: dict[str, float] | None
    baseline_is: str
    ratio: str
    goal: str
    met: bool | None

    def cells(self) -> list[str]:
        def pair(values: dict[str, float] | None) -> str:
            return "-" if values is None else f"{_number(values['min'])} / {_number(values['median'])}"

        met = {True: "yes", False: "NO", None: "-"}[self.met]
        values = [pair(self.stackfox), pair(self.baseline), self.baseline_is, self.ratio, self.goal, met]
        return [self.row, self.what, *values]


@dataclass
class Bench:
    """One row's sandbox and Pulumi project; makes stacks and times commands on them."""

    engine: LocalEngine
    sandbox: SandboxHandle
    directory: Path
    stacks: int = 0

    def stack(self, side: str, settings: Mapping[str, object]) -> str:
        """A new stack of ``side``'s resources, pointed at the sandbox (what ``stackfox use-sandbox`` sets)."""
        self.stacks += 1
        name = f"{side}-{self.stacks}"
        plain, secret = self.sandbox.info.stack_config()
        config = {**plain, "side": side, "prefix": "sf" if side == "stackfox" else "base"}
        init_stack(self.engine, self.directory, name, {**config, **{k: str(v) for k, v in settings.items()}}, secret)
        return name

    def run(self, side: str, stack: str, *args: str, wipe: bool = False) -> Measurement:
        """Time ``pulumi ARGS`` on ``stack`` from an empty request log and fresh rate windows (``wipe``: and
        the sandbox's data back to its seed); its seconds and API calls."""
        if side == "baseline":
            self.hand_over_credentials()
        self.sandbox.reset(log=True, faults=False, rate_limits=True, settings=False, data=wipe)
        began = time.monotonic()
        pulumi(self.engine, self.directory, *args, "--stack", stack)
        seconds = time.monotonic() - began
        measured = {"seconds": round(seconds, 2), **tally(self.sandbox.requests_log())}
        calls = f"reads {measured['reads']:4}  writes {measured['writes']:4}  429s {measured['http_429']}"
        print(f"  {side:8} {' '.join(args):36} {seconds:7.1f} s  {calls}", file=sys.stderr, flush=True)
        return measured

    def hand_over_credentials(self) -> None:
        """The naive providers' URLs and tokens, through the environment the engine passes on."""
        info = self.sandbox.info
        os.environ[baseline.INCIDENTFOX_URL] = info.incidentfox_base_url
        os.environ[baseline.INCIDENTFOX_TOKEN] = info.incidentfox_team_token
        os.environ[baseline.STACKFLOW_URL] = info.stackflow_base_url
        os.environ[baseline.STACKFLOW_TOKEN] = self.sandbox.id_token()  # a fresh one when < 5 minutes are left


def sides(round_: int) -> tuple[str, ...]:
    """Who goes first alternates between rounds."""
    return SIDES if round_ % 2 == 0 else SIDES[::-1]


def per_round(results: Results, side: str, key: str) -> list[float]:
    return [measurement[key] for measurement in results[side]]


def count_line(row: str, what: str, results: Results, key: str, at_most: int | None = None, goal: str = "") -> Line:
    """A count: stackfox against the naive baseline; ``at_most`` must hold in every round."""
    ours, theirs = per_round(results, "stackfox", key), per_round(results, "baseline", key)
    met = None if at_most is None else max(ours) <= at_most
    goal = goal or (f"≤ {at_most}" if at_most is not None else "-")
    return Line(row, what, spread(ours), spread(theirs), "naive", _ratio(ours, theirs), goal, met)


def time_line(
    row: str,
    what: str,
    ours: list[float],
    theirs: list[float],
    baseline_is: str,
    at_most: float | None = None,
    goal: str = "",
) -> Line:
    """Seconds: stackfox's median over the baseline's; ``at_most`` bounds that ratio."""
    ratio = statistics.median(ours) / statistics.median(theirs)
    met = None if at_most is None else ratio <= at_most
    goal = goal or (f"≤ {at_most:g}x" if at_most is not None else "-")
    return Line(row, f"{what}, s", spread(ours), spread(theirs), baseline_is, f"{ratio:.2f}x", goal, met)


# --- the rows -----------------------------------------------------------------------------------------------------


def webhooks_row(bench: Bench, options: argparse.Namespace) -> tuple[list[Line], dict[str, Any]]:
    count = options.webhooks
    results: Results = {side: [] for side in SIDES}
    for round_ in range(options.rounds):
        for side in sides(round_):
            stack = bench.stack(side, {"webhooks": count})
            results[side].append(bench.run(side, stack, "up", "--yes", "--skip-preview", wipe=True))
    what = f"up of {count} Webhooks"
    seconds = per_round(results, "stackfox", "seconds"), per_round(results, "baseline", "seconds")
    lines = [
        count_line("webhooks", f"{what}: writes", results, "incidentfox_writes", at_most=math.ceil(count / 4) + 1),
        count_line("webhooks", f"{what}: reads", results, "incidentfox_reads"),
        count_line("webhooks", f"{what}: 405 answers", results, "http_405"),
        count_line("webhooks", f"{what}: 429 answers", results, "http_429"),
        time_line("webhooks", what, *seconds, "naive", at_most=0.25, goal="≤ 0.25x (4x less)"),
    ]
    return lines, {"webhooks": count, "results": results}


def categories_row(bench: Bench, options: argparse.Namespace) -> tuple[list[Line], dict[str, Any]]:
    sizes = sorted({*options.categories, options.stack_size})
    raised: dict[int, Results] = {size: {side: [] for side in SIDES} for size in sizes}
    default_read: Results = {side: [] for side in SIDES}
    for round_ in range(options.rounds):
        for size in sizes:
            bench.sandbox.update_settings(**NO_LIMITS)
            for side in sides(round_):
                stack = bench.stack(side, {"categories": size, **RAISED_READ_BUDGET, **RAISED_WRITE_BUDGET})
                raised[size][side].append(bench.run(side, stack, "up", "--yes", wipe=True))
        bench.sandbox.update_settings(read_limit=DEFAULT_LIMITS.read_limit, write_limit=RAISED)
        for side in sides(round_):
            stack = bench.stack(side, {"categories": options.stack_size, **RAISED_WRITE_BUDGET})
            default_read[side].append(bench.run(side, stack, "up", "--yes", wipe=True))
    lines: list[Line] = []
    for size in options.categories:
        what, measured, at_most = f"up of {size} categories, limits raised", raised[size], math.ceil(size / 100) + 2
        seconds = per_round(measured, "stackfox", "seconds"), per_round(measured, "baseline", "seconds")
        lines += [
            count_line("categories", f"{what}: list calls", measured, "stackflow_list_calls", at_most),
            count_line("categories", f"{what}: GETs by id", measured, "stackflow_per_category_reads"),
            time_line("categories", what, *seconds, "naive"),
        ]
    size = options.stack_size
    what = f"up of {size} categories, default read limit"
    ours = per_round(default_read, "stackfox", "seconds")
    lines += [
        count_line("categories", f"{what}: 429 answers", default_read, "http_429", at_most=0),
        time_line("categories", what, ours, per_round(default_read, "baseline", "seconds"), "naive"),
    ]
    when_raised = per_round(raised[size], "stackfox", "seconds")
    lines.append(time_line("categories", f"{what} vs raised", ours, when_raised, "stackfox, raised", SLOWDOWN_GOAL))
    raw = {"sizes": sizes, "limits_raised": raised, "default_read_limit": {"categories": size, **default_read}}
    return lines, raw


def refresh_row(bench: Bench, options: argparse.Namespace) -> tuple[list[Line], dict[str, Any]]:
    size = options.stack_size
    bench.sandbox.update_settings(**NO_LIMITS)
    settings = {"categories": size, "webhooks": REFRESH_WEBHOOKS, **RAISED_READ_BUDGET, **RAISED_WRITE_BUDGET}
    stacks = {side: bench.stack(side, settings) for side in SIDES}
    setup = {side: bench.run(side, stacks[side], "up", "--yes", "--skip-preview") for side in SIDES}
    results: dict[str, Results] = {" ".join(command): {side: [] for side in SIDES} for command in REFRESH_COMMANDS}
    for round_ in range(options.rounds):
        for command in REFRESH_COMMANDS:
            for side in sides(round_):
                results[" ".join(command)][side].append(bench.run(side, stacks[side], *command))
    # Both sides' categories live in the one sandbox, and a listing pages through all it holds.
    held = size * len(SIDES)
    one_pass = math.ceil(held / 100) + 1  # the list pages, and one read of the team's config
    what = f"of {size} categories + {REFRESH_WEBHOOKS} Webhooks: reads"
    lines = []
    for name, measured in results.items():
        passes = 1 if "--skip-preview" in name else 2  # a preview pass, then the real one (README)
        goal = f"≤ {passes * one_pass} ({passes} pass{'es' if passes > 1 else ''}, {held} categories held)"
        lines.append(count_line("refresh", f"`pulumi {name}` {what}", measured, "reads", passes * one_pass, goal))
    return lines, {"categories": size, "webhooks": REFRESH_WEBHOOKS, "setup": setup, "results": results}


def preview_row(bench: Bench, options: argparse.Namespace) -> tuple[list[Line], dict[str, Any]]:
    size = options.stack_size
    bench.sandbox.update_settings(**NO_LIMITS)
    ours = {"categories": size - REFRESH_WEBHOOKS, "webhooks": REFRESH_WEBHOOKS, **RAISED_WRITE_BUDGET}
    stacks = {"stackfox": bench.stack("stackfox", ours), "baseline": bench.stack("baseline", {"noop": size})}
    setup = {side: bench.run(side, stacks[side], "up", "--yes", "--skip-preview") for side in SIDES}
    bench.sandbox.update_settings(**DEFAULT_LIMITS.model_dump(include={"read_limit", "write_limit"}))
    results: Results = {side: [] for side in SIDES}
    wrapper: dict[str, list[float]] = {"stackfox": [], "bare": []}
    for round_ in range(options.rounds):
        for side in sides(round_):
            results[side].append(bench.run(side, stacks[side], "preview", "--expect-no-changes"))
        for run in range(options.version_runs):
            for command, took in time_version(bench, stackfox_first=(round_ + run) % 2 == 0).items():
                wrapper[command].append(took)
    what = f"no-op preview of {size} resources"
    overhead = min(wrapper["stackfox"]) - min(wrapper["bare"])
    seconds = per_round(results, "stackfox", "seconds"), per_round(results, "baseline", "seconds")
    lines = [
        time_line("preview", what, *seconds, "do-nothing dynamic", at_most=1.15),
        Line(
            "preview",
            "`stackfox pulumi -- version`, s",
            spread(wrapper["stackfox"]),
            spread(wrapper["bare"]),
            "bare `pulumi version`",
            f"{overhead:+.2f} s",
            "≤ +0.15 s (fastest runs)",
            overhead <= 0.15,
        ),
    ]
    return lines, {"resources": size, "setup": setup, "results": results, "version_seconds": wrapper}


def time_version(bench: Bench, *, stackfox_first: bool) -> dict[str, float]:
    """One run each of ``stackfox pulumi --state-dir DIR -- version`` and bare ``pulumi version``."""
    script = Path(sys.executable).with_name("stackfox")
    wrapper = [str(script)] if script.exists() else [sys.executable, "-m", "stackfox_provider.cli"]
    commands = {
        "stackfox": ([*wrapper, "pulumi", "--state-dir", str(bench.engine.state_dir), "--", "version"], None),
        "bare": ([str(bench.engine.toolchain.pulumi), "version"], bench.engine.process_env()),
    }
    seconds: dict[str, float] = {}
    for name in list(commands) if stackfox_first else list(commands)[::-1]:
        command, env = commands[name]
        began = time.perf_counter()
        subprocess.run(command, cwd=bench.directory, env=env, capture_output=True, check=True, timeout=120)
        seconds[name] = round(time.perf_counter() - began, 3)
    return seconds


ROW_FUNCTIONS: dict[str, Callable[[Bench, argparse.Namespace], tuple[list[Line], dict[str, Any]]]] = {
    "webhooks": webhooks_row,
    "categories": categories_row,
    "refresh": refresh_row,
    "preview": preview_row,
}


# --- running and reporting ----------------------------------------------------------------------------------------


def run_row(name: str, toolchain: Toolchain, root: Path, options: argparse.Namespace) -> tuple[list[Line], Any]:
    """One row on a fresh sandbox and project; its lines and raw measurements, or the error that stopped it."""
    print(f"{name}:", file=sys.stderr, flush=True)
    began = time.monotonic()
    directory = root / name
    try:
        with running_sandbox(directory / "sandbox", dialect="hosted") as sandbox:
            project = write_project(directory / "project", "bench", PROGRAM)
            bench = Bench(LocalEngine.in_state_dir(toolchain, directory / "state"), sandbox, project)
            lines, raw = ROW_FUNCTIONS[name](bench, options)
    except Exception as error:  # a row that cannot run is reported; the other rows still run
        traceback.print_exc()
        return [], {"error": f"{type(error).__name__}: {error}", "seconds": round(time.monotonic() - began, 1)}
    return lines, {**raw, "seconds": round(time.monotonic() - began, 1)}


def table(lines: Sequence[Line]) -> str:
    header = ["row", "what", "stackfox min / median", "baseline min / median", "baseline", "ratio", "goal", "met?"]
    rows = [header, *(line.cells() for line in lines)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    text = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    text.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(text)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _ratio(ours: list[float], theirs: list[float]) -> str:
    mine, other = statistics.median(ours), statistics.median(theirs)
    return f"{mine / other:.2f}x" if other else "-"


def _sizes(text: str) -> list[int]:
    sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("give sizes as whole numbers ≥ 1, separated by commas")
    return sizes


def _rows(text: str) -> list[str]:
    rows = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown or not rows:
        named = ", ".join(unknown) or "(none)"
        raise argparse.ArgumentTypeError(f"unknown row(s) {named}; pick from {', '.join(ROWS)}")
    return [row for row in ROWS if row in rows]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every measurement (default 3)")
    parser.add_argument("--rows", type=_rows, default=list(ROWS), help=f"rows to run (default {','.join(ROWS)})")
    parser.add_argument("--quick", action="store_true", help=f"small sizes to smoke-test: {QUICK}")
    parser.add_argument("--webhooks", type=int, help=f"Webhooks in the webhooks row (default {FULL['webhooks']})")
    parser.add_argument("--categories", type=_sizes, help="category counts of the categories row (default 10,50,200)")
    parser.add_argument(
        "--stack-size",
        type=int,
        help="resources of the refresh and preview rows' stacks, and categories of the up at the default read limit"
        f" (default {FULL['stack_size']})",
    )
    parser.add_argument("--version-runs", type=int, help=f"wrapper timings a round (default {FULL['version_runs']})")
    parser.add_argument("--output", type=Path, help="write the JSON here (default: print it after the table)")
    options = parser.parse_args(argv)
    for key, value in (QUICK if options.quick else FULL).items():
        if getattr(options, key) is None:
            setattr(options, key, value)
    if options.rounds < 1 or options.webhooks < 1 or options.stack_size <= REFRESH_WEBHOOKS or options.version_runs < 1:
        parser.error(f"--rounds, --webhooks and --version-runs must be ≥ 1, --stack-size > {REFRESH_WEBHOOKS}")
    return options


def source(checkout: Path) -> dict[str, Any]:
    """The commit measured, and whether the working tree had changes on top of it (read only: no index refresh)."""

    def git(*args: str) -> str | None:
        command = ["git", "--no-optional-locks", "-C", str(checkout), *args]
        done = subprocess.run(command, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    changed = None if status is None else bool(status)
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_changes": changed}


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    toolchain = find_toolchain()
    if toolchain is None:
        raise ToolchainError("The Pulumi toolchain is not installed: run `stackfox toolchain install` first.")
    # The program and the naive providers' process import benchmarks/baseline.py.
    here = str(Path(__file__).resolve().parent)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    # Bytecode for both sides, as `pip install` compiles it: with PYTHONDONTWRITEBYTECODE set (as on the build
    # machines), every process would otherwise compile a checkout's sources again (~0.07 s a process for stackfox).
    for package in (Path(stackfox_provider.__file__).parent, Path(here)):
        compileall.compile_dir(package, quiet=1)
    version = subprocess.run([str(toolchain.pulumi), "version"], capture_output=True, text=True, check=True)
    where = {**machine(), "pulumi": version.stdout.strip(), **source(Path(here).parent)}
    began = time.monotonic()
    lines: list[Line] = []
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="stackfox-api-limits-bench-") as tmp:
        for name in options.rows:
            row_lines, rows[name] = run_row(name, toolchain, Path(tmp), options)
            lines += row_lines
    failed = [name for name, raw in rows.items() if "error" in raw]
    report = {
        "machine": where,
        "options": {key: value for key, value in vars(options).items() if key != "output"},
        "seconds": round(time.monotonic() - began, 1),
        "table": [asdict(line) for line in lines],
        "failed_rows": failed,
        "rows": rows,
    }
    print(table(lines))
    for name in failed:
        print(f"row {name} failed: {rows[name]['error']}")
    text = json.dumps(report, indent=2, default=str)
    if options.output:
        options.output.write_text(text + "\n")
        print(f"JSON written to {options.output}")
    else:
        print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
