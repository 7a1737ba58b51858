"""Fault injection: errors, latency, forced 429s and dropped responses."""

from __future__ import annotations

import random
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FaultKind = Literal["error", "latency", "rate_limit", "drop"]
FaultService = Literal["stackflow", "incidentfox", "cognito"]
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_ERROR_STATUSES = (500, 502, 503)


class FaultSpec(BaseModel):
    """One fault rule.

    A rule matches a request by service, method and path; when it matches it fires with probability
    ``rate``, at most ``count`` times (``None``: without limit).

    * ``error``: answer ``status`` (or a random one of 500/502/503) in the service's error format. With
      ``when="before"`` the request is not processed; with ``when="after"`` it is processed first (a write is
      applied) and the error replaces the real answer.
    * ``latency``: wait ``seconds`` before processing. Latency rules add up and combine with other faults.
    * ``rate_limit``: answer 429 with ``Retry-After: retry_after``; the request is not processed.
    * ``drop``: process the request (a write is applied), wait ``seconds``, then close the connection
      without any response.
    """

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    service: FaultService | None = None
    methods: list[str] | None = Field(
        default=None, description='HTTP methods, or "read"/"write" for GET/HEAD/OPTIONS and the others'
    )
    path: str | None = Field(default=None, description="regular expression searched in the request path")
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    count: int | None = Field(default=None, ge=1, description="fire at most this many times")
    status: int | None = Field(default=None, ge=500, le=599)
    when: Literal["before", "after"] = "before"
    seconds: float = Field(default=0.0, ge=0.0, le=300.0)
    retry_after: int = Field(default=1, ge=0, le=3600)

    @field_validator("methods")
    @classmethod
    def _expand_methods(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        expanded: set[str] = set()
        for method in value:
            upper = method.upper()
            if upper == "READ":
                expanded |= READ_METHODS
            elif upper == "WRITE":
                expanded |= WRITE_METHODS
            elif upper in READ_METHODS | WRITE_METHODS:
                expanded.add(upper)
            else:
                raise ValueError(f"unknown method {method!r}")
        return sorted(expanded)

    @field_validator("path")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    @model_validator(mode="after")
    def _kind_options(self) -> FaultSpec:
        if self.kind == "latency" and self.seconds <= 0:
            raise ValueError("a latency fault needs seconds > 0")
        return self

    def matches(self, service: str, method: str, path: str) -> bool:
        """Whether this rule applies to a request (ignoring rate and count)."""
        if self.service is not None and self.service != service:
            return False
        if self.methods is not None and method.upper() not in self.methods:
            return False
        return self.path is None or re.search(self.path, path) is not None


class Fault(FaultSpec):
    """A fault rule as installed: with an id and how often it has fired."""

    id: str
    fired: int = 0
    remaining: int | None = None


@dataclass
class FaultDecision:
    """What the gateway must do to one request."""

    latency: float = 0.0
    action: Fault | None = None
    status: int | None = None


@dataclass
class FaultInjector:
    """Holds the installed faults and decides, per request, which fire."""

    seed: int | None = None
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def installed(self) -> list[Fault]:
        """The installed faults, in evaluation order."""
        with self._lock:
            return [fault.model_copy() for fault in self._faults]

    def add(self, spec: FaultSpec) -> Fault:
        """Install one more fault after the existing ones."""
        fault = Fault(**spec.model_dump(), id=uuid.uuid4().hex[:12], remaining=spec.count)
        with self._lock:
            self._faults.append(fault)
        return fault.model_copy()

    def replace(self, specs: list[FaultSpec]) -> list[Fault]:
        """Install exactly these faults."""
        self.clear()
        return [self.add(spec) for spec in specs]

    def remove(self, fault_id: str) -> bool:
        """Remove one fault; False if there was none with that id."""
        with self._lock:
            before = len(self._faults)
            self._faults = [fault for fault in self._faults if fault.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults = []

    def decide(self, service: str, method: str, path: str) -> FaultDecision:
        """Roll the dice for one request. Latency adds up; the first other fault that fires wins."""
        decision = FaultDecision()
        with self._lock:
            for fault in self._faults:
                if decision.action is not None and fault.kind != "latency":
                    continue
                if not fault.matches(service, method, path) or not self._fires(fault):
                    continue
                if fault.kind == "latency":
                    decision.latency += fault.seconds
                else:
                    decision.action = fault.model_copy()
                    if fault.kind == "error":
                        decision.status = fault.status or self._random.choice(DEFAULT_ERROR_STATUSES)
            self._faults = [fault for fault in self._faults if fault.remaining != 0]
        return decision

    def _fires(self, fault: Fault) -> bool:
        if fault.remaining == 0:
            return False
        if fault.rate < 1.0 and self._random.random() >= fault.rate:
            return False
        fault.fired += 1
        if fault.remaining is not None:
            fault.remaining -= 1
        return True
