"""Secrets, unknowns and field comparisons."""

from __future__ import annotations

from stackfox_provider.resources.catalog import ignored_properties
from stackfox_provider.review.values import (
    MASK,
    SECRET,
    UNKNOWN,
    changed_fields,
    contains,
    decode,
    field_leaves,
    to_json,
)
from tests.unit.review.events import UNKNOWN_SENTINEL, secret


def test_secrets_in_both_engine_formats_and_unknowns_are_decoded_to_markers() -> None:
    decoded = decode({"a": secret("hunter2"), "b": [MASK, 1], "c": UNKNOWN_SENTINEL, "d": {"e": 3.0}})

    assert decoded == {"a": SECRET, "b": [SECRET, 1], "c": UNKNOWN, "d": {"e": 3.0}}
    assert to_json(decoded) == {"a": "[secret]", "b": ["[secret]", 1], "c": "[unknown]", "d": {"e": 3.0}}
    assert "hunter2" not in repr(decoded)
    assert contains(decoded["b"], SECRET) and not contains(decoded["d"], SECRET)


def test_leaves_walk_objects_but_not_lists_and_skip_bookkeeping_and_nulls() -> None:
    properties = {
        "__provider": "gASV",
        "team_id": "t",
        "feature_flags": {"a": True, "b": None},
        "routing": {"services": ["x", "y"]},
        "custom": {},
        "url": SECRET,
    }

    assert field_leaves(properties, ignored_properties("pulumi-python:dynamic/incidentfox:TeamConfig")) == {
        ("feature_flags", "a"): True,
        ("routing", "services"): ["x", "y"],
        ("custom",): {},
        ("url",): SECRET,
    }


def test_changed_fields_compare_normalized_values_and_treat_null_as_not_set() -> None:
    old = {"max_turns": 8.0, "flags": {"a": True}, "gone": "x"}
    new = {"max_turns": 8, "flags": {"a": False}}

    changed = changed_fields(old, new, [("max_turns",), ("flags", "a"), ("gone",)])

    assert [(d.path, d.old, d.new) for d in changed] == [(("flags", "a"), True, False), (("gone",), "x", None)]


def test_a_secret_counts_as_changed_only_when_no_visible_field_explains_the_change() -> None:
    old = {"url": SECRET, "event": "e"}
    paths = [("url",), ("event",)]

    assert [d.path for d in changed_fields(old, {"url": SECRET, "event": "e"}, paths)] == [("url",)]
    assert [d.path for d in changed_fields(old, {"url": SECRET, "event": "f"}, paths)] == [("event",)]
    unset = changed_fields({"url": None}, {"url": SECRET}, [("url",)])
    assert [(d.old, d.new, d.secret) for d in unset] == [(None, SECRET, True)], "a secret that is gone is visible"
