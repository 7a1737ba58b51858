"""Coalesced team writes: what arrives together leaves as one merge, in order, each part with its own outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from stackfox_provider.clients.incidentfox.batch import OverlappingWriteError, WriteBatcher, merge_all


class Refused(Exception):
    """A 4xx that may be one part's fault."""


class Recorder:
    """The send function: records each merge write; refuses any holding a value in ``refuse``."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.sent: list[tuple[dict[str, Any], str]] = []
        self.refuse = refuse
        self.lock = threading.Lock()

    def __call__(self, partial: Mapping[str, Any], reason: str) -> int:
        with self.lock:
            self.sent.append((dict(partial), reason))
            if any(isinstance(value, str) and value in self.refuse for value in _values(partial)):
                raise Refused(f"refused {sorted(set(_values(partial)) & self.refuse)}")
            return len(self.sent)


def _values(document: Any) -> list[Any]:
    if isinstance(document, Mapping):
        return [leaf for value in document.values() for leaf in _values(value)]
    return [document]


def batcher(send: Callable[[Mapping[str, Any], str], int], **options: float) -> WriteBatcher[int]:
    return WriteBatcher(send, divisible=lambda error: isinstance(error, Refused), **options)  # type: ignore[arg-type]


def plan_and_write(writes: WriteBatcher[int], partial: dict[str, Any], owner: str) -> int:
    """What one provider operation does: plan (holding the team), submit, then wait for its part."""
    with writes.planning():
        part = writes.submit(partial, f"stackfox {owner}", owner)
    return writes.complete(part)


def test_writes_that_arrive_together_leave_as_one_merge_and_each_gets_the_result() -> None:
    send = Recorder()
    writes = batcher(send, gather_seconds=0.2, max_gather_seconds=2.0)

    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda i: plan_and_write(writes, {"webhooks": {f"e{i}": f"u{i}"}}, f"hook {i}"), range(4))
        )

    assert [partial for partial, _ in send.sent] == [{"webhooks": {"e0": "u0", "e1": "u1", "e2": "u2", "e3": "u3"}}]
    assert results == [1, 1, 1, 1]
    assert send.sent[0][1].count("stackfox hook") == 4, "the write's reason names every part"
    assert writes.pending() == []


def test_a_write_that_would_not_merge_to_the_same_result_leaves_next_in_order() -> None:
    send = Recorder()
    writes = batcher(send, gather_seconds=0.01, max_gather_seconds=0.01)
    with writes.planning():
        first = writes.submit({"agents": None}, "reset", "TeamConfig 'a'")
        second = writes.submit({"agents": {"planner": {"max_turns": 3}}}, "set", "TeamConfig 'b'")
        assert writes.pending() == [{"agents": None}, {"agents": {"planner": {"max_turns": 3}}}]

    assert writes.complete(second) == 2
    assert writes.complete(first) == 1
    assert [partial for partial, _ in send.sent] == [{"agents": None}, {"agents": {"planner": {"max_turns": 3}}}]


@pytest.mark.parametrize("earlier", [None, "scalar", ["a", "list"]])
def test_only_an_object_under_an_earlier_object_merges_into_one_write(earlier: Any) -> None:
    send = Recorder()
    writes = batcher(send, gather_seconds=0, max_gather_seconds=0)
    with writes.planning():
        parts = [writes.submit({"x": earlier}, "1", "a"), writes.submit({"x": {"y": 1}}, "2", "b")]
    for part in parts:
        writes.complete(part)

    assert len(send.sent) == 2


def test_two_owners_writing_one_path_is_a_conflict_naming_both_and_the_second_is_not_sent() -> None:
    send = Recorder()
    writes = batcher(send, gather_seconds=0.01, max_gather_seconds=0.01)
    with writes.planning():
        first = writes.submit({"feature_flags": {"beta": True}}, "1", "TeamConfig 'main'")
        with pytest.raises(
            OverlappingWriteError, match=r"Webhook 'x'.*feature_flags\.beta \(also set by TeamConfig 'main'\)"
        ):
            writes.submit({"feature_flags": {"beta": False}}, "2", "Webhook 'x'")

    writes.complete(first)
    assert send.sent == [({"feature_flags": {"beta": True}}, "1")]


def test_a_refused_merge_is_sent_again_part_by_part_so_each_owner_gets_its_own_error() -> None:
    send = Recorder(refuse=frozenset({"bad"}))
    writes = batcher(send, gather_seconds=0.01, max_gather_seconds=0.01)
    with writes.planning():
        parts = [
            writes.submit({"webhooks": {f"e{i}": value}}, str(i), f"hook {i}")
            for i, value in enumerate(["ok", "bad", "fine"])
        ]

    outcomes: list[Any] = []
    for part in parts:
        try:
            outcomes.append(writes.complete(part))
        except Refused as error:
            outcomes.append(str(error))

    assert outcomes == [2, "refused ['bad']", 4]
    assert [partial for partial, _ in send.sent][1:] == [
        {"webhooks": {"e0": "ok"}},
        {"webhooks": {"e1": "bad"}},
        {"webhooks": {"e2": "fine"}},
    ]


def test_an_error_that_is_nobody_in_particulars_fault_is_every_parts_and_costs_one_write() -> None:
    def down(partial: Mapping[str, Any], reason: str) -> int:
        calls.append(partial)
        raise ConnectionError("the service is down")

    calls: list[Mapping[str, Any]] = []
    writes = batcher(down, gather_seconds=0.01, max_gather_seconds=0.01)
    with writes.planning():
        parts = [writes.submit({"k": {str(i): i}}, str(i), f"r{i}") for i in range(3)]

    for part in parts:
        with pytest.raises(ConnectionError):
            writes.complete(part)
    assert len(calls) == 1


def test_a_write_sent_now_leaves_after_what_was_submitted_before_it() -> None:
    send = Recorder()
    writes = batcher(send, gather_seconds=0.01, max_gather_seconds=0.01)
    with writes.planning():
        submitted = writes.submit({"webhooks": {"a": "1"}}, "soon", "hook a")
        assert writes.send_now({"webhooks": None}, "now", "stackfox") == 2

    assert writes.complete(submitted) == 1
    assert [reason for _, reason in send.sent] == ["soon", "now"]


def test_a_batch_waits_for_operations_still_planning_then_leaves_without_waiting_out_its_window() -> None:
    send = Recorder()
    writes = batcher(send, gather_seconds=0.01, max_gather_seconds=30)
    planned = threading.Event()
    results: list[int] = []

    def slow_planner() -> None:
        with writes.planning():
            planned.wait(5)
            part = writes.submit({"b": 2}, "b", "b")
        results.append(writes.complete(part))

    thread = threading.Thread(target=slow_planner)
    with writes.planning():
        first = writes.submit({"a": 1}, "a", "a")
        thread.start()
    threading.Timer(0.1, planned.set).start()
    results.append(writes.complete(first))
    thread.join(5)

    assert [partial for partial, _ in send.sent] == [{"a": 1, "b": 2}], "the batch waited for the planner"
    assert results == [1, 1]


def test_planning_sees_the_team_as_it_will_be_once_pending_writes_land() -> None:
    team = {"webhooks": {"old": "u"}, "agents": {"planner": {"max_turns": 3}}}
    pending: list[dict[str, Any]] = [{"webhooks": {"new": "v"}}, {"agents": None}]

    assert merge_all(team, pending) == {"webhooks": {"old": "u", "new": "v"}, "agents": None}
    assert team == {"webhooks": {"old": "u"}, "agents": {"planner": {"max_turns": 3}}}, "the snapshot is not changed"


def test_a_batch_with_as_many_parts_as_the_engine_calls_at_once_leaves_without_waiting_out_its_window() -> None:
    send = Recorder()
    writes = batcher(send, gather_seconds=30, max_gather_seconds=30)
    started = time.monotonic()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: plan_and_write(writes, {"webhooks": {f"e{i}": f"u{i}"}}, f"hook {i}"), range(4)))

    assert len(send.sent) == 1
    assert time.monotonic() - started < 10, "four parts are all the engine can send at once"
