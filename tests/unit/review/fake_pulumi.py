"""A stand-in for ``pulumi`` as the Automation API drives it: ``version``, ``stack --show-name`` and ``preview``.

``main(directory)`` records each call's arguments in ``calls.txt``, and a preview's in ``args.txt`` and its
environment in ``env.txt``. A preview sends the lines of ``events.jsonl`` to the event log server named by
``--event-log tcp://…`` (as the real engine streams its events), prints ``stderr.txt`` on stderr and exits with the
code in ``exit_code.txt``. With ``wait_for_interrupt`` present it writes ``started``, waits for a SIGINT, counts the
SIGINTs of the next second in ``sigints.txt`` and exits 8, as a cancelled ``pulumi`` does.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

VERSION = "v3.259.0"
NO_STACK_SELECTED = "error: no stack selected; please use `pulumi stack select` or `pulumi stack init` to choose one"


def main(directory: str) -> None:
    here = Path(directory)
    args = sys.argv[1:]
    with (here / "calls.txt").open("a") as calls:
        calls.write(" ".join(args) + "\n")
    sys.exit(answer(here, args))


def answer(here: Path, args: list[str]) -> int:
    if args == ["version"]:
        print(VERSION)
        return 0
    if "--show-name" in args:
        selected = here / "selected.txt"
        if not selected.exists():
            print(NO_STACK_SELECTED, file=sys.stderr)
            return 1
        print(selected.read_text().strip())
        return 0
    if "preview" in args:
        return preview(here, args)
    print(f"error: the fake pulumi does not do {args}", file=sys.stderr)
    return 2


def preview(here: Path, args: list[str]) -> int:
    (here / "args.txt").write_text(" ".join(args))
    (here / "env.txt").write_text("".join(f"{key}={value}\n" for key, value in os.environ.items()))
    if (here / "wait_for_interrupt").exists():
        return wait_for_interrupt(here)
    stream(args[args.index("--event-log") + 1], (here / "events.jsonl").read_text().splitlines())
    sys.stderr.write((here / "stderr.txt").read_text())
    return int((here / "exit_code.txt").read_text())


def stream(event_log: str, lines: list[str]) -> None:
    import grpc
    from pulumi.runtime.proto import events_pb2, events_pb2_grpc

    with grpc.insecure_channel(event_log.removeprefix("tcp://")) as channel:
        events_pb2_grpc.EventsStub(channel).StreamEvents(events_pb2.EventRequest(event=line) for line in lines)


def wait_for_interrupt(here: Path) -> int:
    received: list[int] = []

    def interrupted(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, interrupted)
    (here / "started").touch()
    deadline = time.monotonic() + 60
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)
    (here / "sigints.txt").write_text(str(len(received)))
    print("error: update canceled", file=sys.stderr)
    return 8
