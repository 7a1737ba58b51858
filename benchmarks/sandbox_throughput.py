"""Sandbox start-up time and requests per second, on loopback.

    python benchmarks/sandbox_throughput.py [--starts 3] [--requests 1500] [--concurrency 4] [--max-seconds 20]

Every loop is bounded by a request count and a wall-clock budget. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from _common import NO_LIMITS, running_sandbox

from stackfox_sandbox import manager
from stackfox_sandbox.testing import sandbox_settings


def measure_startup(root: Path, starts: int) -> dict[str, float]:
    """Cold start (fresh state directory) and warm restarts (existing state)."""
    cold: list[float] = []
    warm: list[float] = []
    for index in range(starts):
        settings = sandbox_settings(root / f"startup-{index}", **NO_LIMITS)
        started = manager.start(settings)
        cold.append(started.seconds)
        manager.stop(settings.state_dir.resolve(), process=started.process)
        restarted = manager.start(settings)
        warm.append(restarted.seconds)
        manager.stop(settings.state_dir.resolve(), process=restarted.process)
    return {
        "cold_median_s": round(statistics.median(cold), 3),
        "warm_median_s": round(statistics.median(warm), 3),
        "cold_max_s": round(max(cold), 3),
    }


def run_load(
    call: Callable[[httpx.Client, int], httpx.Response],
    make_client: Callable[[], httpx.Client],
    requests: int,
    concurrency: int,
    max_seconds: float,
) -> dict[str, Any]:
    """``requests`` calls split over ``concurrency`` threads, stopping early after ``max_seconds``."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    per_thread = requests // concurrency

    def worker(offset: int) -> None:
        nonlocal failures
        local: list[float] = []
        bad = 0
        with make_client() as client:
            for index in range(per_thread):
                if time.monotonic() > deadline:
                    break
                began = time.perf_counter()
                response = call(client, offset * per_thread + index)
                local.append(time.perf_counter() - began)
                bad += response.status_code >= 400
        with lock:
            latencies.extend(local)
            failures += bad

    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": failures,
        "seconds": round(elapsed, 2),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 2),
    }


def measure_throughput(root: Path, requests: int, concurrency: int, max_seconds: float) -> dict[str, Any]:
    """req/s for a StackFlow read (JWT verification), an IncidentFox read and an IncidentFox write."""
    with running_sandbox(root / "throughput", testing=False, **NO_LIMITS) as handle:
        token = handle.id_token()
        with handle.stackflow(token) as client:
            client.post("/categories", json={"name": "bench", "label": "Bench"})
        sf_client = lambda: handle.stackflow(token)  # noqa: E731
        if_client = handle.incidentfox
        return {
            "stackflow GET /categories/CAT0000001": run_load(
                lambda c, _: c.get("/categories/CAT0000001"), sf_client, requests, concurrency, max_seconds
            ),
            "incidentfox GET /config/me": run_load(
                lambda c, _: c.get("/config/me"), if_client, requests, concurrency, max_seconds
            ),
            "incidentfox PUT /config/me": run_load(
                lambda c, i: c.put("/config/me", json={"bench": {f"k{i % 50}": i}}),
                if_client,
                requests // 2,
                concurrency,
                max_seconds,
            ),
            "stackflow GET /health (no auth)": run_load(
                lambda c, _: c.get("/health"), sf_client, requests, concurrency, max_seconds
            ),
        }


def main() -> None:
    """Measure and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as directory:
        root = Path(directory)
        summary = {
            "startup": measure_startup(root, max(1, min(args.starts, 10))),
            "throughput": measure_throughput(
                root, max(10, min(args.requests, 100_000)), max(1, min(args.concurrency, 32)), args.max_seconds
            ),
        }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
