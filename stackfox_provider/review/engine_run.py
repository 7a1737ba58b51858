"""Run ``pulumi preview`` and collect, from its streaming JSON events, what a review needs.

``pulumi preview --json`` with ``PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true`` prints one engine event
per line while it works, which gives both live progress and, per resource:

* with ``--refresh``, a ``refresh`` step whose *outputs* event holds the state as last applied
  (``old``) and as the service holds it now (``new``, or null when the resource is gone);
* the step the program leads to (``same``, ``create``, ``update``, ``replace``, ``delete``) with the
  state it starts from (``old``: refreshed, with ``--refresh``) and the program's inputs (``new``).

``--run-program`` makes the refresh use the stack's *current* configuration (credentials included),
not the provider configuration recorded at the last ``pulumi up``. A preview never writes state, and
stackfox's providers only read during refresh; they never call the services from ``check``, and from
``diff`` only to check once that the credentials are accepted, which a preview without refresh skips.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackfox_provider.engine import LocalEngine, interrupts_cancel
from stackfox_provider.resources.catalog import resource_type
from stackfox_provider.review.model import SERVICE_ORDER, ReviewError, Service
from stackfox_provider.review.values import decode
from stackfox_provider.settings import SKIP_CREDENTIALS_CHECK_ENV

STREAMING_PREVIEW_ENV = "PULUMI_ENABLE_STREAMING_JSON_PREVIEW"
#: The steps a review reports; ``create-replacement``/``delete-replaced`` are folded into ``replace``.
REVIEWED_OPS = frozenset({"same", "create", "update", "replace", "delete"})

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
    def from_event(cls, raw: Mapping[str, Any] | None) -> ResourceState | None:
        if not raw:
            return None
        return cls(raw.get("id") or None, decode(raw.get("inputs") or {}), decode(raw.get("outputs") or {}))

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
    result: str | None = None
    returncode: int = 0
    stderr: str = ""
    duration_seconds: float = 0.0
    #: Output lines that were not engine events (kept for error messages).
    other_output: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.returncode != 0 or self.result == "failed"

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
        lines += [line.strip() for line in self.other_output]
        reasons: list[tuple[str | None, str]] = [(None, line) for line in lines if line]
        if reasons:
            return reasons
        if self.failed:
            return found or [(None, f"pulumi preview failed (exit code {self.returncode}) without saying why")]
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

    def feed_line(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        try:
            event = json.loads(text)
        except ValueError:
            self.run.other_output.append(text)
            return
        if isinstance(event, dict):
            self.feed(event)

    def feed(self, event: Mapping[str, Any]) -> None:
        if "resourcePreEvent" in event:
            self._step(event["resourcePreEvent"].get("metadata") or {})
        elif "resOutputsEvent" in event:
            self._refreshed(event["resOutputsEvent"].get("metadata") or {})
        elif "diagnosticEvent" in event:
            diagnostic = event["diagnosticEvent"]
            if diagnostic.get("severity") != "debug":
                self.run.diagnostics.append(
                    Diagnostic(
                        str(diagnostic.get("severity")), str(diagnostic.get("message", "")), diagnostic.get("urn")
                    )
                )
        elif "summaryEvent" in event:
            summary = event["summaryEvent"]
            self.run.change_counts = {
                str(op): int(count) for op, count in (summary.get("resourceChanges") or {}).items()
            }
            self.run.result = summary.get("result")

    def _step(self, metadata: Mapping[str, Any]) -> None:
        op = metadata.get("op")
        resource = _ref(metadata)
        if op not in REVIEWED_OPS or resource is None or not resource.managed:
            return
        step = Step(
            op=str(op),
            resource=resource,
            old=ResourceState.from_event(metadata.get("old")),
            new=ResourceState.from_event(metadata.get("new")),
            replace_keys=tuple(metadata.get("keys") or ()) if op == "replace" else (),
        )
        self.run.steps.append(step)
        if self._on_step:
            self._on_step(step)

    def _refreshed(self, metadata: Mapping[str, Any]) -> None:
        resource = _ref(metadata)
        if metadata.get("op") != "refresh" or resource is None or not resource.managed:
            return
        refresh = Refresh(
            resource, ResourceState.from_event(metadata.get("old")), ResourceState.from_event(metadata.get("new"))
        )
        self.run.refreshes[resource.urn] = refresh
        if self._on_refresh:
            self._on_refresh(refresh)


def collect(lines: Iterable[str]) -> PreviewRun:
    """A :class:`PreviewRun` from recorded event lines (no process)."""
    collector = EventCollector()
    for line in lines:
        collector.feed_line(line)
    return collector.run


def preview_args(*, stack: str | None, refresh: bool) -> list[str]:
    """The ``pulumi`` arguments of a review preview."""
    args = ["preview", "--json", "--non-interactive"]
    if refresh:
        args += ["--refresh", "--run-program"]
    if stack:
        args += ["--stack", stack]
    return args


def run_preview(
    engine: LocalEngine,
    project_dir: Path,
    *,
    stack: str | None,
    refresh: bool,
    on_refresh: Callable[[Refresh], None] | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> PreviewRun:
    """Run the preview in ``project_dir`` and collect its events as they stream in."""
    collector = EventCollector(on_refresh, on_step)
    env = {**engine.process_env(), STREAMING_PREVIEW_ENV: "true"}
    if not refresh:  # compare with state only: not even the once-per-run check of the credentials
        env[SKIP_CREDENTIALS_CHECK_ENV] = "true"
    engine.pulumi_home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (
        subprocess.Popen(
            [str(engine.toolchain.pulumi), *preview_args(stack=stack, refresh=refresh)],
            cwd=project_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            process_group=0,
        ) as process,
        interrupts_cancel(process, delivered_by_terminal=False),
    ):
        assert process.stdout is not None and process.stderr is not None
        stderr_lines: list[str] = []
        drain = threading.Thread(target=lambda: stderr_lines.extend(process.stderr or ()), daemon=True)
        drain.start()
        for line in process.stdout:
            collector.feed_line(line)
        returncode = process.wait()
        drain.join()
    run = collector.run
    run.returncode = returncode
    run.stderr = "".join(stderr_lines)
    run.duration_seconds = time.monotonic() - started
    return run


def _ref(metadata: Mapping[str, Any]) -> ResourceRef | None:
    urn, type_ = metadata.get("urn"), metadata.get("type")
    return ResourceRef(str(urn), str(type_)) if urn and type_ else None


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
