"""IncidentFox merge rules and validation, as pure functions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stackfox_sandbox.errors import ApiError, OssCrash
from stackfox_sandbox.incidentfox.defaults import SYSTEM_DEFAULTS
from stackfox_sandbox.incidentfox.merge import deep_merge, diff, leaf_paths, merge_all
from stackfox_sandbox.incidentfox.validation import check_immutable, dependency_errors, validate_effective


def test_objects_merge_key_by_key_and_keep_absent_keys() -> None:
    base = {"a": {"x": 1, "y": {"deep": True}}, "b": 2}
    assert deep_merge(base, {"a": {"y": {"more": 1}}}) == {"a": {"x": 1, "y": {"deep": True, "more": 1}}, "b": 2}


@pytest.mark.parametrize(
    ("base", "patch", "expected"),
    [
        ({"l": [1, 2, 3]}, {"l": [4]}, {"l": [4]}),  # lists replace whole, never union
        ({"s": "a"}, {"s": {"now": "object"}}, {"s": {"now": "object"}}),  # type change replaces
        ({"o": {"k": 1}}, {"o": "scalar"}, {"o": "scalar"}),
        ({"o": {"k": 1}}, {"o": None}, {"o": None}),  # null is stored, not a delete
        ({"o": None}, {"o": {"k": 2}}, {"o": {"k": 2}}),
        ({"o": {"k": 1}}, {"o": {}}, {"o": {"k": 1}}),  # {} is a no-op
        ({}, {"new": [1]}, {"new": [1]}),
        ({"i": "__INHERIT__"}, {}, {"i": "__INHERIT__"}),
    ],
)
def test_everything_else_replaces(base: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    assert deep_merge(base, patch) == expected


def test_merge_never_mutates_or_aliases() -> None:
    base = {"a": {"l": [1]}}
    patch = {"a": {"m": [2]}, "b": {"c": 1}}
    frozen_base, frozen_patch = copy.deepcopy(base), copy.deepcopy(patch)
    merged = deep_merge(base, patch)
    merged["a"]["m"].append(3)
    merged["b"]["c"] = 9
    assert base == frozen_base and patch == frozen_patch


def test_null_masks_inherited_values_in_the_effective_config() -> None:
    effective = merge_all([SYSTEM_DEFAULTS, {"feature_flags": {"auto_investigate": True}}, {"feature_flags": None}])
    assert effective["feature_flags"] is None
    assert merge_all([{"a": 1}, {"b": 2}, {"a": 3}]) == {"a": 3, "b": 2}


def test_diff_and_changed_fields() -> None:
    old = {"a": 1, "b": {"c": [1], "d": 2}, "gone": True}
    new = {"a": 1, "b": {"c": [2], "e": None}, "added": {"x": 1}}
    assert diff(old, new) == {
        "added": {"b.e": None, "added": {"x": 1}},
        "removed": {"gone": True, "b.d": 2},
        "changed": {"b.c": {"old": [1], "new": [2]}},
    }
    assert sorted(leaf_paths({"a": {"b": 1, "c": {}}, "d": [1], "e": None})) == ["a.b", "a.c", "d", "e"]
    assert leaf_paths({}) == []


def test_defaults_are_valid() -> None:
    assert dependency_errors(SYSTEM_DEFAULTS) == []
    validate_effective(copy.deepcopy(SYSTEM_DEFAULTS), "oss")
    validate_effective(copy.deepcopy(SYSTEM_DEFAULTS), "hosted")


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ({"entrance_agent": "ghost"}, "entrance_agent 'ghost'"),
        ({"agents": {"planner": {"enabled": False}}}, "missing or disabled"),
        ({"agents": {"investigation": {"enabled": False}}}, "sub-agent 'investigation' is disabled"),
        ({"agents": {"planner": {"sub_agents": {"nobody": True}}}}, "unknown sub-agent 'nobody'"),
        ({"agents": {"coding": {"mcps": {"github": True}}}}, "unknown MCP server 'github'"),
        (
            {"mcp_servers": {"github": {"enabled": False}}, "agents": {"coding": {"mcps": {"github": True}}}},
            "MCP server 'github' is disabled",
        ),
        ({"tools": {"github_search": False}}, "tool 'github_search' is disabled"),
    ],
)
def test_dependency_errors(patch: dict[str, Any], fragment: str) -> None:
    errors = dependency_errors(deep_merge(SYSTEM_DEFAULTS, patch))
    assert any(fragment in error for error in errors), errors
    with pytest.raises(ApiError) as raised:
        validate_effective(deep_merge(SYSTEM_DEFAULTS, patch), "oss")
    assert raised.value.status == 400 and raised.value.detail["error"] == "dependency_validation_failed"


def test_null_entrance_agent_is_valid_only_in_oss() -> None:
    nulled = deep_merge(SYSTEM_DEFAULTS, {"entrance_agent": None})
    assert dependency_errors(nulled, "oss") == []
    validate_effective(nulled, "oss")
    assert dependency_errors(nulled, "hosted") == ["entrance_agent None is missing or disabled"]
    with pytest.raises(ApiError) as raised:
        validate_effective(nulled, "hosted")
    assert raised.value.status == 400 and raised.value.code == "validation_error"
    missing = deep_merge(SYSTEM_DEFAULTS, {"agents": {"planner": None}})
    assert dependency_errors(missing, "oss") == ["entrance_agent 'planner' is missing or disabled"]


def test_retiring_an_mcp_server_is_valid() -> None:
    config = deep_merge(SYSTEM_DEFAULTS, {"mcp_servers": {"github": {"name": "GitHub", "enabled": True}}})
    config = deep_merge(config, {"agents": {"coding": {"mcps": {"github": True}}}})
    assert dependency_errors(config) == []
    retired = deep_merge(
        config, {"agents": {"coding": {"mcps": {"github": False}}}, "mcp_servers": {"github": {"enabled": False}}}
    )
    assert dependency_errors(retired) == []


@pytest.mark.parametrize(
    ("patch", "plain"),
    [
        ({"mcp_servers": ["a"]}, False),
        ({"mcp_servers": None}, False),
        ({"mcp_servers": {"a": None}}, False),
        ({"mcp_servers": {"a": "text"}}, False),
        ({"agents": "planner"}, True),
    ],
)
def test_oss_crash_cases(patch: dict[str, Any], plain: bool) -> None:
    with pytest.raises(OssCrash) as crash:
        validate_effective(deep_merge(SYSTEM_DEFAULTS, patch), "oss")
    assert crash.value.plain is plain


def test_hosted_shapes_are_400_not_500() -> None:
    validate_effective(deep_merge(SYSTEM_DEFAULTS, {"mcp_servers": ["github"]}), "hosted")
    validate_effective(deep_merge(SYSTEM_DEFAULTS, {"mcp_servers": {"a": None}}), "hosted")
    for patch in ({"mcp_servers": 5}, {"agents": "planner"}):
        with pytest.raises(ApiError) as raised:
            validate_effective(deep_merge(SYSTEM_DEFAULTS, patch), "hosted")
        assert raised.value.status == 400 and raised.value.code == "validation_error"


def test_immutable_fields() -> None:
    current = {"team_name": "A", "org_id": "o", "team_node_id": "t"}
    check_immutable({"team_name": "A", "other": 1}, current)
    for name in current:
        with pytest.raises(ApiError) as raised:
            check_immutable({name: "changed"}, current)
        assert raised.value.code == "invalid_field" and raised.value.field == name
