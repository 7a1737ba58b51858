"""Writes to one team that arrive together go out as one merge.

The engine calls a provider with up to four operations at once, and IncidentFox allows about 20 writes a
minute. Each operation plans its write while it holds the team (``IncidentFoxClient.exclusive``) and
*submits* it here; the operations that submit within a short gathering window share one request, and each
gets back the outcome of its own part. Writes leave in the order they were submitted, so a batch means
exactly what its parts would have meant one after the other:

- parts are deep-merged in order, the way the service merges a write into the team's config;
- a part that would not merge to the same result (an object under a path an earlier part set to null)
  starts the next batch instead;
- two owners setting the same leaf is a conflict, reported naming both, never a silent last writer wins;
- a batch the service refuses (a 4xx) is sent again one part at a time, so each owner gets its own error.

Knows nothing of HTTP: the client hands in the function that sends one merge write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from stackfox_provider.errors import RefusedError
from stackfox_provider.keypaths import KeyPath, dotted, leaves

log = logging.getLogger("stackfox.incidentfox")

ResultT = TypeVar("ResultT")

#: The engine calls a dynamic provider at most this many times at once (the Python SDK's provider server has
#: four workers): a batch holding that many parts, with nobody else planning, has all it can get.
ENGINE_CALLS_AT_ONCE = 4
#: How long an open batch waits for more parts otherwise: the engine's next calls reach the provider tens of
#: milliseconds apart, more on a busy machine.
GATHER_SECONDS = 0.25
#: The longest a batch waits for operations that are still planning before it leaves anyway.
MAX_GATHER_SECONDS = 1.0
#: Parts in one request at most (keeps the body, and what one refusal holds up, small).
MAX_PARTS = 25


class OverlappingWriteError(RefusedError):
    """Two resources of one run set the same config path in one write; neither part was sent."""


@dataclass(eq=False)
class Part(Generic[ResultT]):
    """One operation's write in a batch, and, once the batch has gone, what became of it."""

    partial: dict[str, Any]
    reason: str
    owner: str
    batch: Batch[ResultT]
    result: ResultT | None = None
    error: BaseException | None = None


@dataclass(eq=False)
class Batch(Generic[ResultT]):
    """Parts that leave as one write. ``taken`` once a thread has started sending it; nothing joins then."""

    seq: int
    opened_at: float
    parts: list[Part[ResultT]] = field(default_factory=list)
    merged: dict[str, Any] = field(default_factory=dict)
    owners: dict[KeyPath, str] = field(default_factory=dict)
    joinable: bool = True
    taken: bool = False
    done: bool = False


class WriteBatcher(Generic[ResultT]):
    """Coalesces one team's writes; ``send(partial, reason)`` makes one merge write and settles it."""

    def __init__(
        self,
        send: Callable[[Mapping[str, Any], str], ResultT],
        *,
        divisible: Callable[[BaseException], bool],
        gather_seconds: float = GATHER_SECONDS,
        max_gather_seconds: float = MAX_GATHER_SECONDS,
        max_parts: int = MAX_PARTS,
        enough_parts: int = ENGINE_CALLS_AT_ONCE,
    ) -> None:
        self._send = send
        self._divisible = divisible
        self.gather_seconds = gather_seconds
        self.max_gather_seconds = max(max_gather_seconds, gather_seconds)
        self.max_parts = max_parts
        self.enough_parts = enough_parts
        self._changed = threading.Condition()
        self._batches: list[Batch[ResultT]] = []  # not yet done, in submission order
        self._next_seq = 0
        self._planning = 0

    @contextmanager
    def planning(self) -> Iterator[None]:
        """Held while an operation plans a write: an open batch waits for it (up to the longest window)."""
        with self._changed:
            self._planning += 1
        try:
            yield
        finally:
            with self._changed:
                self._planning -= 1
                self._changed.notify_all()

    def pending(self) -> list[dict[str, Any]]:
        """What submitted writes set that has not landed yet, in order (planning reads the team through it)."""
        with self._changed:
            return [part.partial for batch in self._batches for part in batch.parts]

    def submit(self, partial: Mapping[str, Any], reason: str, owner: str) -> Part[ResultT]:
        """Add a write to the open batch (or open one); ``complete()`` sends it and gives its outcome."""
        with self._changed:
            batch = self._open_batch()
            if batch is not None:
                self._refuse_overlaps(batch, partial, owner)
                if not _merges_in_order(batch.merged, partial) or len(batch.parts) >= self.max_parts:
                    batch.joinable = False
                    batch = None
            if batch is None:
                batch = self._new_batch()
            part = self._add(batch, partial, reason, owner)
            self._changed.notify_all()
            return part

    def complete(self, part: Part[ResultT]) -> ResultT:
        """Wait for ``part``'s batch to go (sending it when its window closes) and return or raise its outcome."""
        batch = part.batch
        if self._take_when_ready(batch):
            self._send_in_turn(batch)
        with self._changed:
            while not batch.done:
                self._changed.wait()
        return _outcome(part)

    def send_now(self, partial: Mapping[str, Any], reason: str, owner: str) -> ResultT:
        """Write now, after every write submitted before: the open batch leaves first, this one alone."""
        with self._changed:
            earlier = [batch for batch in self._batches if not batch.taken]
            for batch in earlier:
                batch.joinable, batch.taken = False, True
            batch = self._new_batch()
            batch.joinable, batch.taken = False, True
            part = self._add(batch, partial, reason, owner)
        for batch_before in earlier:
            self._send_in_turn(batch_before)
        self._send_in_turn(batch)
        return _outcome(part)

    # -- internals (``_changed`` guards every batch's fields) ---------------------------------------------------

    def _open_batch(self) -> Batch[ResultT] | None:
        last = self._batches[-1] if self._batches else None
        return last if last is not None and last.joinable and not last.taken else None

    def _new_batch(self) -> Batch[ResultT]:
        batch: Batch[ResultT] = Batch(self._next_seq, time.monotonic())
        self._next_seq += 1
        self._batches.append(batch)
        return batch

    @staticmethod
    def _add(batch: Batch[ResultT], partial: Mapping[str, Any], reason: str, owner: str) -> Part[ResultT]:
        part = Part(dict(partial), reason, owner, batch)
        batch.parts.append(part)
        batch.merged = _merge(batch.merged, part.partial)
        batch.owners.update(dict.fromkeys(leaves(part.partial), owner))
        return part

    def _refuse_overlaps(self, batch: Batch[ResultT], partial: Mapping[str, Any], owner: str) -> None:
        clashes = {
            path: other for path in leaves(partial) if (other := batch.owners.get(path)) is not None and other != owner
        }
        if clashes:
            listed = "; ".join(f"{dotted(path)} (also set by {other})" for path, other in clashes.items())
            raise OverlappingWriteError(
                f"{owner} and another resource of this run write the same IncidentFox config paths: {listed}. "
                f"Declare each path in one resource only; stackfox did not send {owner}'s write."
            )

    def _take_when_ready(self, batch: Batch[ResultT]) -> bool:
        """Wait until ``batch`` should leave; True if this thread is the one to send it."""
        with self._changed:
            while not batch.taken:
                age = time.monotonic() - batch.opened_at
                full = len(batch.parts) >= self.max_parts or not batch.joinable
                idle = self._planning == 0
                settled = idle and (age >= self.gather_seconds or len(batch.parts) >= self.enough_parts)
                if full or settled or age >= self.max_gather_seconds:
                    batch.taken = True
                    batch.joinable = False
                    return True
                wait = (self.gather_seconds if self._planning == 0 else self.max_gather_seconds) - age
                self._changed.wait(max(wait, 0.001))
            return False

    def _send_in_turn(self, batch: Batch[ResultT]) -> None:
        """Send ``batch`` once every batch submitted before it is done; mark it done whatever happens.

        An earlier batch nobody has taken yet is closed to new parts (only the last one is open), so it is
        sent from here rather than waited for.
        """
        while True:
            with self._changed:
                head = self._batches[0]
                if head is batch:
                    break
                earlier = not head.taken
                if earlier:
                    head.taken, head.joinable = True, False
                else:
                    self._changed.wait()
            if earlier:
                self._send_in_turn(head)
        try:
            self._send_batch(batch)
        finally:
            with self._changed:
                batch.done = True
                self._batches.remove(batch)
                self._changed.notify_all()

    def _send_batch(self, batch: Batch[ResultT]) -> None:
        parts = batch.parts
        reason = parts[0].reason if len(parts) == 1 else "; ".join(part.reason for part in parts)
        try:
            result = self._send(batch.merged, reason)
        except BaseException as error:  # each part gets the outcome, whatever it is
            if len(parts) == 1 or not self._divisible(error):
                for part in parts:
                    part.error = error
                return
            log.info("IncidentFox refused a write of %d parts (%s); sending each alone", len(parts), error)
            for part in parts:
                self._send_alone(part)
            return
        if len(parts) > 1:
            log.info("IncidentFox: %d writes to the team went out as one", len(parts))
        for part in parts:
            part.result = result

    def _send_alone(self, part: Part[ResultT]) -> None:
        try:
            part.result = self._send(part.partial, part.reason)
        except BaseException as error:
            part.error = error


def _outcome(part: Part[ResultT]) -> ResultT:
    if part.error is not None:
        raise part.error
    return cast(ResultT, part.result)


def _merge(base: Any, patch: Any) -> Any:
    """IncidentFox's merge: objects key by key, anything else replaces whole."""
    if isinstance(base, Mapping) and isinstance(patch, Mapping):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return patch


def merge_all(base: Mapping[str, Any], partials: list[dict[str, Any]]) -> dict[str, Any]:
    """``base`` with each partial merged in turn, as the service would hold it once they have landed."""
    merged: Any = dict(base)
    for partial in partials:
        merged = _merge(merged, partial)
    return dict(merged)


def _merges_in_order(merged: Mapping[str, Any], partial: Mapping[str, Any]) -> bool:
    """Whether one write of ``merged`` then ``partial`` merged means what two writes in turn would.

    It does unless ``partial`` puts an object where ``merged`` sets null or a scalar: in turn, the object
    replaces that value; merged into one write, it would merge into what the team held before.
    """
    for key, value in partial.items():
        if key not in merged or not isinstance(value, Mapping):
            continue
        earlier = merged[key]
        if not isinstance(earlier, Mapping) or not _merges_in_order(earlier, value):
            return False
    return True
