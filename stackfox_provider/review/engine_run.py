"""Run ``pulumi preview`` through the Automation API and collect, from its engine events, what a review needs.

``Stack.preview(on_event=...)`` hands each engine event to stackfox, typed (:class:`~pulumi.automation.EngineEvent`),
as the engine emits it, which gives both live progress and, per resource:

* with ``refresh``, a ``refresh`` step whose *outputs* event holds the state as last applied
  (``old``) and as the service holds it now (``new``, or none when the resource is gone);
* the step the program leads to (``same``, ``create``, ``update``, ``replace``, ``delete``) with the
  state it starts from (``old``: refreshed, with ``refresh``) and the program's inputs (``new``).

``run_program`` (``--run-program``) makes the refresh use the stack's *current* configuration (credentials included),
not the provider configuration recorded at the last ``pulumi up``. A preview never writes state, and
stackfox's providers only read during refresh; they never call the services from ``check``, and from
``diff`` only to check once that the credentials are accepted, which a preview without refresh skips.

:func:`replay` feeds recorded event streams (one JSON event a line, as the engine serializes them) to the same
collector, as typed events too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from pulumi import automation as auto
from pulumi.automation.events import EngineEvent, OpType, StepEventMetadata, StepEventStateMetadata

from stackfox_provider.engine import LocalEngine
from stackfox_provider.resources.catalog import resource_type
from stackfox_provider.review.model import SERVICE_ORDER, ReviewError, Service
from stackfox_provider.review.values import decode
from stackfox_provider.settings import SKIP_CREDENTIALS_CHECK_ENV

#: The steps a review reports; ``create-replacement``/``delete-replaced`` are folded into ``replace``.
REVIEWED_OPS = frozenset({"same", "create", "update", "replace", "delete"})
#: How a preview ended (:attr:`PreviewRun.result`).
SUCCEEDED, FAILED = "succeeded", "failed"

_CHECK_FAILURE = re.compile(
    r"^(?P<type>\S+) resource '(?P<name>[^']*)': property \S+ value .*? has a problem: (?P<msg>.*)$"
)
_NOISE_PREFIXES = ("Preview failed: ", "Exception calling application: ")


@dataclass(frozen=True)
class ResourceRef:
    """Which resource an event is about, from its URN and type token."""

    urn: str
    type: str

    @property
    def name(self) -> str:
        """The resource's name in the program."""
        return self.urn.rsplit("::", 1)[-1]

    @property
    def kind(self) -> str:
        """The short type name, e.g. ``Webhook``."""
        return self.type.rsplit(":", 1)[-1]

    @property
    def service(self) -> Service:
        """``IncidentFox``, ``StackFlow`` (as the resource type says), or ``other``."""
        found = resource_type(self.type)
        return next((service for service in SERVICE_ORDER if found and service == found.service), "other")

    def info(self) -> dict[str, Any]:
        """The fields of :class:`~stackfox_provider.review.model.ResourceInfo`."""
        return {"urn": self.urn, "name": self.name, "type": self.type, "kind": self.kind, "service": self.service}

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}'"

    @property
    def managed(self) -> bool:
        """False for the stack itself and for providers: they hold no settings of a service."""
        return self.type != "pulumi:pulumi:Stack" and not self.type.startswith("pulumi:providers:")


@dataclass(frozen=True)
class ResourceState:
    """A resource's inputs and outputs as an event carries them (secrets and unknowns decoded)."""

    id: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]

    @classmethod
    def from_event(cls, state: StepEventStateMetadata | None) -> ResourceState | None:
        if state is None:
            return None
        return cls(state.id or None, decode(state.inputs or {}), decode(state.outputs or {}))

    @property
    def properties(self) -> dict[str, Any]:
        """What the resource holds: its outputs, or its inputs when it has no outputs (a planned state)."""
        return self.outputs or self.inputs


@dataclass(frozen=True)
class Step:
    """One step of the preview: what ``pulumi up`` would do to one resource."""

    op: str
    resource: ResourceRef
    old: ResourceState | None
    new: ResourceState | None
    #: The input keys that force a replacement.
    replace_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refresh:
    """What a refresh read for one resource: the state as last applied, and as the service holds it now."""

    resource: ResourceRef
    before: ResourceState | None
    after: ResourceState | None

    @property
    def gone(self) -> bool:
        """The service no longer has the resource (the provider's read found nothing)."""
        return self.after is None


@dataclass(frozen=True)
class Diagnostic:
    """A message from the engine, the program or a provider."""

    severity: str
    message: str
    urn: str | None = None


@dataclass
class PreviewRun:
    """Everything one preview reported, in event order."""

    steps: list[Step] = field(default_factory=list)
    refreshes: dict[str, Refresh] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    change_counts: dict[str, int] = field(default_factory=dict)
    #: :data:`SUCCEEDED` or :data:`FAILED` once the preview has ended.
    result: str | None = None
    stderr: str = ""
    duration_seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.result == FAILED

    @property
    def stack(self) -> str | None:
        """The stack's name, from the first URN seen (``urn:pulumi:<stack>::<project>::...``)."""
        urn = self._first_urn()
        return urn.split("::")[0].split(":", 2)[-1] if urn else None

    @property
    def project(self) -> str | None:
        urn = self._first_urn()
        return urn.split("::")[1] if urn else None

    def _first_urn(self) -> str | None:
        resources = [step.resource for step in self.steps] + [refresh.resource for refresh in self.refreshes.values()]
        return resources[0].urn if resources else None

    def review_errors(self) -> list[ReviewError]:
        """:meth:`errors` for a report."""
        return [ReviewError(resource=label, message=message) for label, message in self.errors()]

    def errors(self) -> list[tuple[str | None, str]]:
        """Why the preview failed, as (resource label, message) pairs without repeats or engine noise."""
        found: list[tuple[str | None, str]] = []
        for diagnostic in self.diagnostics:
            if diagnostic.severity != "error":
                continue
            item = _explain(diagnostic)
            if item not in found:
                found.append(item)
        specific = [item for item in found if item[1] not in ("preview failed", "update failed")]
        if specific:
            return specific
        lines = [line.removeprefix("error: ").strip() for line in self.stderr.splitlines()]
        reasons: list[tuple[str | None, str]] = [(None, line) for line in lines if line]
        if reasons:
            return reasons
        if self.failed:
            return found or [(None, "pulumi preview failed without saying why")]
        return []


class EventCollector:
    """Turns engine events into a :class:`PreviewRun`, calling ``on_refresh``/``on_step`` as they arrive."""

    def __init__(
        self,
        on_refresh: Callable[[Refresh], None] | None = None,
        on_step: Callable[[Step], None] | None = None,
    ) -> None:
        self.run = PreviewRun()
        self._on_refresh = on_refresh
        self._on_step = on_step

    def feed(self, event: EngineEvent) -> None:
        if event.resource_pre_event is not None:
            self._step(event.resource_pre_event.metadata)
        elif event.res_outputs_event is not None:
            self._refreshed(event.res_outputs_event.metadata)
        elif event.diagnostic_event is not None:
            diagnostic = event.diagnostic_event
            if diagnostic.severity != "debug":
                self.run.diagnostics.append(Diagnostic(diagnostic.severity, diagnostic.message, diagnostic.urn))
        elif event.summary_event is not None:
            changes = event.summary_event.resource_changes
            self.run.change_counts = {_op(op): int(count) for op, count in changes.items()}

    def _step(self, metadata: StepEventMetadata) -> None:
        op = _op(metadata.op)
        resource = _ref(metadata)
        if op not in REVIEWED_OPS or resource is None or not resource.managed:
            return
        step = Step(
            op=op,
            resource=resource,
            old=ResourceState.from_event(metadata.old),
            new=ResourceState.from_event(metadata.new),
            replace_keys=tuple(metadata.keys or ()) if op == "replace" else (),
        )
        self.run.steps.append(step)
        if self._on_step:
            self._on_step(step)

    def _refreshed(self, metadata: StepEventMetadata) -> None:
        resource = _ref(metadata)
        if _op(metadata.op) != "refresh" or resource is None or not resource.managed:
            return
        refresh = Refresh(resource, ResourceState.from_event(metadata.old), ResourceState.from_event(metadata.new))
        self.run.refreshes[resource.urn] = refresh
        if self._on_refresh:
            self._on_refresh(refresh)


def replay(lines: Iterable[str]) -> PreviewRun:
    """A :class:`PreviewRun` from a recorded event stream, one JSON engine event a line (no engine runs).

    Each line becomes an :class:`~pulumi.automation.EngineEvent` for the collector a live run feeds. How the
    preview ended is the summary's ``result``, which the typed ``SummaryEvent`` leaves out (a live run learns it
    from whether ``pulumi preview`` succeeded).
    """
    collector = EventCollector()
    for line in lines:
        if not line.strip():
            continue
        data = json.loads(line)
        collector.feed(EngineEvent.from_json(data))
        if "summaryEvent" in data:
            collector.run.result = data["summaryEvent"].get("result")
    return collector.run


def run_preview(
    engine: LocalEngine,
    project_dir: Path,
    *,
    stack: str | None,
    refresh: bool,
    on_refresh: Callable[[Refresh], None] | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> PreviewRun:
    """Preview ``stack`` (default: the selected one) of ``project_dir``, collecting its events as they arrive."""
    collector = EventCollector(on_refresh, on_step)
    run = collector.run
    stderr: list[str] = []
    failures: list[Exception] = []

    def on_event(event: EngineEvent) -> None:  # the Automation API would only warn about an exception
        try:
            collector.feed(event)
        except Exception as error:
            failures.append(error)

    # Without refresh, compare with state only: not even the once-per-run check of the credentials.
    env_vars = {} if refresh else {SKIP_CREDENTIALS_CHECK_ENV: "true"}
    options = engine.workspace_options(work_dir=str(project_dir), env_vars=env_vars)
    started = time.monotonic()
    workspace = auto.LocalWorkspace(**vars(options))
    try:
        with _interrupts_cancel(workspace.pulumi_command.command):
            name = stack or _selected_stack(workspace, on_error=stderr.append)
            _NamedStack(name, workspace).preview(  # with refresh: --refresh --run-program=true
                refresh=refresh or None, run_program=refresh or None, on_event=on_event, on_error=stderr.append
            )
        run.result = SUCCEEDED
    except auto.CommandError:
        run.result = FAILED
    if failures:
        raise failures[0]
    run.stderr = "".join(f"{line}\n" for line in stderr)
    run.duration_seconds = time.monotonic() - started
    return run


class _NamedStack(auto.Stack):
    """A stack that each command names (``--stack``), used without ``pulumi stack select``.

    ``Stack.select`` would make it the workspace's selected stack, the one later ``pulumi`` commands without
    ``--stack`` apply to: a review must not change that.
    """

    def __init__(self, name: str, workspace: auto.Workspace) -> None:  # what Stack.__init__ sets, selecting nothing
        self.name = name
        self.workspace = workspace

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _selected_stack(workspace: auto.LocalWorkspace, on_error: Callable[[str], Any]) -> str:
    """The workspace's selected stack, or :class:`~pulumi.automation.CommandError` with pulumi's reason on stderr.

    ``pulumi stack --show-name``: ``LocalWorkspace.stack()`` lists every stack and loses the reason for a failure.
    """
    command = workspace.pulumi_command
    return command.run(["stack", "--show-name"], workspace.work_dir, workspace.env_vars, None, on_error).stdout.strip()


@contextlib.contextmanager
def _interrupts_cancel(command: str) -> Iterator[None]:
    """While the Automation API runs ``command`` (``pulumi``), each SIGINT or SIGTERM stackfox receives reaches it once.

    As :func:`~stackfox_provider.engine.interrupts_cancel` does for a ``pulumi`` stackfox starts itself: ``pulumi``
    cancels gracefully on its first SIGINT and stops at once on the second, and stackfox waits for it to exit. The
    Automation API starts ``pulumi`` in stackfox's process group and does not hand the process out, so it is found
    among this process's children, and a Ctrl-C typed in the terminal, which reaches the whole group, is not passed
    on again. While no ``pulumi`` runs, a signal does what it did before. Outside the main thread: no change.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    terminal = _terminal_interrupts_this_group()

    def forward(signum: int, frame: FrameType | None) -> None:
        running = _children_running(command)
        if not running:
            signal.signal(signum, previous[signal.Signals(signum)])
            signal.raise_signal(signum)
        elif signum != signal.SIGINT or not terminal:
            for pid in running:
                os.kill(pid, signal.SIGINT)

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, forward)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _children_running(command: str) -> list[int]:
    """The live processes this one started that run ``command`` (as ``argv[0]``, or ``argv[1]`` for a script)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")[:2]
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and os.fsencode(command) in argv:
            found.append(int(entry.name))
    return found


def _terminal_interrupts_this_group() -> bool:
    """Whether a Ctrl-C typed in stackfox's terminal reaches its process group (and so ``pulumi``, which is in it)."""
    try:
        terminal = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(terminal) == os.getpgrp()
    finally:
        os.close(terminal)


def _op(op: OpType | str) -> str:
    """An op as the engine spells it (``OpType`` in step events; ``resource_changes`` keys stay plain strings)."""
    return op.value if isinstance(op, OpType) else op


def _ref(metadata: StepEventMetadata) -> ResourceRef | None:
    return ResourceRef(metadata.urn, metadata.type) if metadata.urn and metadata.type else None


def _explain(diagnostic: Diagnostic) -> tuple[str | None, str]:
    """A diagnostic as (resource label, message): ``check()`` failures and provider errors without engine noise."""
    message = diagnostic.message.strip()
    for prefix in _NOISE_PREFIXES:
        message = message.removeprefix(prefix)
    resource = (
        ResourceRef(diagnostic.urn, diagnostic.urn.split("::")[-2].rsplit("$", 1)[-1]) if diagnostic.urn else None
    )
    label = resource.label if resource else None
    check = _CHECK_FAILURE.match(message)
    if check:
        return label, check.group("msg")
    if message.startswith("Program failed with an unhandled exception:"):
        return label, _program_error(message)
    return label, message


def _program_error(traceback: str) -> str:
    """The program's exception and where it was raised, from a Python traceback."""
    lines = [line for line in traceback.splitlines() if line.strip()]
    locations = [line.strip() for line in lines if line.strip().startswith("File ")]
    where = f" ({locations[-1]})" if locations else ""
    return f"the program failed: {lines[-1].strip()}{where}"
