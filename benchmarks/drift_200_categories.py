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
import textwrap
import time
from pathlib import Path
from typing import Any

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle, sandbox_settings

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
    directory = root / "project"
    directory.mkdir()
    runtime = f"runtime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
    (directory / "Pulumi.yaml").write_text(f"name: bench\n{runtime}")
    (directory / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    engine = LocalEngine.for_project(directory, root / "state")
    plain, secret = sandbox.info.stack_config()
    pairs = ["--plaintext", f"categories={count}"]
    pairs += [arg for key, value in plain.items() for arg in ("--plaintext", f"{key}={value}")]
    pairs += [arg for key, value in secret.items() for arg in ("--secret", f"{key}={value}")]
    engine.run_cli(["stack", "init", "bench"], cwd=directory, capture=True, check=True)
    engine.run_cli(["config", "set-all", "--stack", "bench", *pairs], cwd=directory, capture=True, check=True)
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
    log = [entry for entry in sandbox.requests_log() if entry["service"] in ("stackflow", "incidentfox")]
    flow = [entry for entry in log if entry["service"] == "stackflow"]
    return {
        "exit_code": done.returncode,
        "wall_seconds": round(seconds, 2),
        "engine_seconds": report["duration_seconds"],
        "resources_read": report["summary"]["resources_read"],
        "stackflow_list_calls": sum(entry["path"].endswith("/categories") for entry in flow),
        "stackflow_per_category_reads": sum("/categories/" in entry["path"] for entry in flow),
        "incidentfox_reads": sum(entry["service"] == "incidentfox" for entry in log),
        "writes": sum(entry["method"] not in ("GET", "HEAD", "OPTIONS") for entry in log),
        "http_429": sum(entry["status"] == 429 for entry in log),
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
        sandbox = SandboxHandle(sandbox_settings(root / "sandbox", read_limit=args.read_limit,
                                                 write_limit=SEED_WRITE_LIMIT)).start()  # fmt: skip
        try:
            seed(sandbox, args.categories)
            engine, directory = project(root, sandbox, args.categories)
            began = time.monotonic()
            engine.run_cli(
                ["up", "--yes", "--skip-preview", "--stack", "bench"], cwd=directory, capture=True, check=True
            )
            up_seconds = time.monotonic() - began
            runs = [drift_once(sandbox, engine, directory) for _ in range(args.runs)]
        finally:
            sandbox.stop()

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
