"""Wall time and API calls of `stackfox drift` over a stack of 200 StackFlow categories plus a team's config.

    python benchmarks/drift_200_categories.py [--categories 200] [--runs 3] [--read-limit 100] [--output FILE]

Starts its own sandbox (StackFlow's default read limit: 100 per minute per token), creates the categories
through the API (the stack then adopts them on `pulumi up` without writing), and times `stackfox drift`
runs. For each run it counts, from the sandbox's request log, the category list calls, any per-category
reads, IncidentFox reads, writes (there must be none) and 429 answers. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import init_stack, pulumi, running_sandbox, tally, write_project

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle

PROGRAM = """\
    import pulumi
    from stackfox_provider.incidentfox import TeamConfig, Webhook
    from stackfox_provider.stackflow import IncidentCategory

    config = pulumi.Config()
    TeamConfig("team", feature_flags={"auto_investigate": True}, agents={"planner": {"max_turns": 12}})
    Webhook("done", event="investigation_complete", url="https://hooks.example.com/done")
    for index in range(config.require_int("categories")):
        name = f"bench-{index:03d}"
        IncidentCategory(name, name=name, label=f"Bench {index}", default_priority="P3")
"""
SEED_WRITE_LIMIT = 100_000


def seed(sandbox: SandboxHandle, count: int) -> None:
    with sandbox.stackflow() as http:
        for index in range(count):
            body = {"name": f"bench-{index:03d}", "label": f"Bench {index}", "default_priority": "P3"}
            http.post("/categories", json=body).raise_for_status()


def project(root: Path, sandbox: SandboxHandle, count: int) -> tuple[LocalEngine, Path]:
    directory = write_project(root / "project", "bench", PROGRAM)
    engine = LocalEngine.for_project(directory, root / "state")
    plain, secret = sandbox.info.stack_config()
    init_stack(engine, directory, "bench", {**plain, "categories": str(count)}, secret)
    return engine, directory


def drift_once(sandbox: SandboxHandle, engine: LocalEngine, directory: Path) -> dict[str, Any]:
    sandbox.reset_log()
    command = [sys.executable, "-m", "stackfox_provider.cli", "drift", "--cwd", str(directory), "--stack", "bench",
               "--state-dir", str(engine.state_dir), "--format", "json"]  # fmt: skip
    began = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - began
    if done.returncode not in (0, 2):
        raise SystemExit(f"stackfox drift failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout)
    calls = tally(sandbox.requests_log())
    return {
        "exit_code": done.returncode,
        "wall_seconds": round(seconds, 2),
        "engine_seconds": report["duration_seconds"],
        "resources_read": report["summary"]["resources_read"],
        **{key: calls[key] for key in ("stackflow_list_calls", "stackflow_per_category_reads", "incidentfox_reads")},
        "writes": calls["writes"],
        "http_429": calls["http_429"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--categories", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--read-limit", type=int, default=100, help="the sandbox's reads per minute per token")
    parser.add_argument("--output", type=Path, help="also write the JSON summary here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="stackfox-drift-bench-") as tmp:
        root = Path(tmp)
        limits = {"read_limit": args.read_limit, "write_limit": SEED_WRITE_LIMIT}
        with running_sandbox(root / "sandbox", **limits) as sandbox:
            seed(sandbox, args.categories)
            engine, directory = project(root, sandbox, args.categories)
            began = time.monotonic()
            pulumi(engine, directory, "up", "--yes", "--skip-preview", "--stack", "bench")
            up_seconds = time.monotonic() - began
            runs = [drift_once(sandbox, engine, directory) for _ in range(args.runs)]

    summary = {
        "categories": args.categories,
        "read_limit_per_minute": args.read_limit,
        "up_adopting_seconds": round(up_seconds, 2),
        "drift_wall_seconds_median": statistics.median(run["wall_seconds"] for run in runs),
        "runs": runs,
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
