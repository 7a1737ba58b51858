"""IncidentFox providers against an in-memory team: ownership, drift, restore, validation."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime.rpc import UNKNOWN

from stackfox_provider.normalize import same
from stackfox_provider.resources.mcp_server import McpServerProvider
from stackfox_provider.resources.team_config import TeamConfigProvider
from stackfox_provider.resources.webhook import WebhookProvider
from tests.unit.resources.fake_incidentfox import FakeTeam


@pytest.fixture
def team(monkeypatch: pytest.MonkeyPatch) -> FakeTeam:
    fake = FakeTeam(overrides={"feature_flags": {"ui_flag": True, "beta": False}, "team_name": "payments"})
    fake.install()
    monkeypatch.setenv("INCIDENTFOX_URL", "http://fox.test/api/v1")
    monkeypatch.setenv("INCIDENTFOX_TOKEN", "tok.secret")
    return fake


def checked(provider: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def failures(provider: Any, props: dict[str, Any]) -> dict[str, str]:
    return {failure.property: failure.reason for failure in provider.check({}, props).failures}


def test_team_config_owns_only_what_it_declares_and_restores_it(team: FakeTeam) -> None:
    provider = TeamConfigProvider()
    inputs = checked(provider, {"feature_flags": {"beta": True, "new": True}, "entrance_agent": "planner"})

    created = provider.create(inputs)

    assert created.id == "team1/config"
    assert team.overrides == {
        "feature_flags": {"ui_flag": True, "beta": True, "new": True},
        "team_name": "payments",
        "entrance_agent": "planner",
    }
    assert created.outs is not None and created.outs["previous"] == [[["feature_flags", "beta"], False]]

    provider.delete(created.id, created.outs)

    assert team.overrides == {
        "feature_flags": {"ui_flag": True, "beta": False, "new": None},
        "team_name": "payments",
        "entrance_agent": None,
    }


def test_create_adopts_values_that_are_already_right_without_writing(team: FakeTeam) -> None:
    provider = TeamConfigProvider()

    provider.create(checked(provider, {"feature_flags": {"ui_flag": True}}))

    assert team.writes() == []


def test_refresh_shows_drift_field_by_field_and_update_writes_only_the_change(team: FakeTeam) -> None:
    provider = TeamConfigProvider()
    inputs = checked(provider, {"feature_flags": {"beta": True}, "agents": {"planner": {"max_turns": 8}}})
    created = provider.create(inputs)
    assert created.outs is not None
    team.overrides["feature_flags"]["beta"] = False  # edited in the UI
    team.overrides["feature_flags"]["ui_only"] = True
    provider._client(inputs).forget_snapshot()

    read = provider.read(created.id, created.outs)

    assert read.inputs is not None and read.outs is not None
    assert read.inputs["feature_flags"] == {"beta": False}
    assert read.inputs["agents"] == {"planner": {"max_turns": 8}}
    assert "ui_only" not in str(read.outs)
    assert provider.diff(created.id, read.outs, inputs).changes

    writes_before = len(team.writes())
    updated = provider.update(created.id, read.outs, inputs)

    assert team.overrides["feature_flags"] == {"ui_flag": True, "beta": True, "ui_only": True}
    assert len(team.writes()) == writes_before + 1
    assert updated.outs is not None and updated.outs["previous"] == created.outs["previous"]
    assert not provider.diff(created.id, updated.outs, inputs).changes


def test_numbers_from_pulumi_compare_equal_after_the_api_round_trip(team: FakeTeam) -> None:
    provider = TeamConfigProvider()
    inputs = checked(provider, {"agents": {"planner": {"max_turns": 8.0, "model": {"temperature": 0.2}}}})
    created = provider.create(inputs)
    assert created.outs is not None

    assert team.overrides["agents"]["planner"]["max_turns"] == 8
    assert isinstance(team.overrides["agents"]["planner"]["max_turns"], int)
    assert not provider.diff(created.id, created.outs, {**inputs, "agents": {"planner": {
        "max_turns": 8.0, "model": {"temperature": 0.2}}}}).changes  # fmt: skip


def test_a_key_dropped_from_the_program_goes_back_to_its_previous_value(team: FakeTeam) -> None:
    provider = TeamConfigProvider()
    first = checked(provider, {"feature_flags": {"beta": True, "new": True}})
    created = provider.create(first)
    assert created.outs is not None

    second = checked(provider, {"feature_flags": {"new": True}})
    updated = provider.update(created.id, created.outs, second)

    assert team.overrides["feature_flags"] == {"ui_flag": True, "beta": False, "new": True}
    assert updated.outs is not None and updated.outs["owned_paths"] == [["feature_flags", "new"]]


def test_a_refresh_of_many_resources_costs_one_read(team: FakeTeam) -> None:
    provider = TeamConfigProvider()
    states = [provider.create(checked(provider, {"custom": {f"key{i}": i}})) for i in range(10)]
    provider._client({}).forget_snapshot()
    reads_before = sum(1 for method, _ in team.calls if method == "GET")

    for state in states:
        assert state.outs is not None
        provider.read(state.id, state.outs)

    assert sum(1 for method, _ in team.calls if method == "GET") == reads_before + 1


def test_a_resource_whose_paths_are_all_gone_is_gone(team: FakeTeam) -> None:
    provider = WebhookProvider()
    created = provider.create(checked(provider, {"event": "investigation_complete", "url": "https://hooks.test/a"}))
    assert created.outs is not None
    team.overrides["webhooks"]["investigation_complete"] = None
    provider._client({}).forget_snapshot()

    assert provider.read(created.id, created.outs).id is None


@pytest.mark.parametrize(
    ("on_delete", "expected"),
    [("restore", "https://old.test/x"), ("clear", None), ("retain", "https://hooks.test/new")],
)
def test_webhook_delete_policies(team: FakeTeam, on_delete: str, expected: str | None) -> None:
    team.overrides["webhooks"] = {"investigation_complete": "https://old.test/x"}
    provider = WebhookProvider()
    props = {"event": "investigation_complete", "url": "https://hooks.test/new", "on_delete": on_delete}
    created = provider.create(checked(provider, props))
    assert created.outs is not None
    assert team.overrides["webhooks"]["investigation_complete"] == "https://hooks.test/new"

    provider.delete(created.id, created.outs)

    assert team.overrides["webhooks"]["investigation_complete"] == expected


def test_hosted_dialect_writes_fall_back_to_put_and_remember_it(team: FakeTeam) -> None:
    team.dialect = "hosted"
    provider = WebhookProvider()

    provider.create(checked(provider, {"event": "a", "url": "https://hooks.test/a"}))
    provider.create(checked(provider, {"event": "b", "url": "https://hooks.test/b"}))

    assert team.writes() == [("PATCH", "/api/v1/config/me"), ("PUT", "/api/v1/config/me"), ("PUT", "/api/v1/config/me")]
    assert team.overrides["webhooks"] == {"a": "https://hooks.test/a", "b": "https://hooks.test/b"}


def test_mcp_server_is_retired_never_nulled(team: FakeTeam) -> None:
    provider = McpServerProvider()
    props = {"server_id": "gh", "command": "npx", "args": ["gh-mcp"], "env": {"TOKEN": "s3cret"}}
    created = provider.create(checked(provider, props))
    assert created.outs is not None
    assert team.overrides["mcp_servers"]["gh"]["env"] == {"TOKEN": "s3cret"}

    for policy in ("restore", "clear"):
        provider.delete(created.id, {**created.outs, "on_delete": policy})
        assert team.overrides["mcp_servers"]["gh"]["enabled"] is False
        assert team.overrides["mcp_servers"]["gh"] is not None


def test_mcp_server_restores_an_entry_that_existed_before(team: FakeTeam) -> None:
    team.overrides["mcp_servers"] = {"gh": {"command": "old", "enabled": True}}
    provider = McpServerProvider()
    created = provider.create(checked(provider, {"server_id": "gh", "command": "new"}))
    assert created.outs is not None

    provider.delete(created.id, created.outs)

    assert team.overrides["mcp_servers"]["gh"] == {"command": "old", "enabled": True, "type": "stdio"}


def test_check_reports_one_failure_per_bad_property_and_names_the_fix() -> None:
    found = failures(
        TeamConfigProvider(),
        {
            "custom": {"webhooks": {"x": "y"}},
            "agents": {"planner": {"model": {"temperature": "hot"}, "max_turns": 0}},
            "routing": {"services": ["a", "a"]},
            "feature_flag": {"typo": True},
        },
    )

    assert set(found) == {
        "custom",
        "agents.planner.model.temperature",
        "agents.planner.max_turns",
        "routing.services",
        "feature_flag",
    }
    assert "use stackfox_provider.incidentfox.Webhook" in found["custom"]
    assert "valid number" in found["agents.planner.model.temperature"]
    assert "repeated: a" in found["routing.services"]
    assert "not a known property" in found["feature_flag"]


def test_mcp_servers_at_the_top_of_team_config_name_their_resource() -> None:
    found = failures(TeamConfigProvider(), {"mcp_servers": {"x": {}}})

    assert any("McpServer" in reason for reason in found.values())


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"url": "http://hooks.test/x"}, "must use https"),
        ({"url": "http://127.0.0.1:9/x"}, "allow_loopback_http=True"),
        ({"url": "ftp://hooks.test/x"}, "absolute https:// URL"),
        ({"event": "bad.event", "url": "https://hooks.test"}, "should match pattern"),
    ],
)
def test_webhook_urls_must_be_https(props: dict[str, Any], message: str) -> None:
    found = failures(WebhookProvider(), {"event": "investigation_complete", **props})

    assert len(found) == 1
    assert message in next(iter(found.values()))


def test_loopback_http_is_allowed_when_asked_for() -> None:
    props = {"event": "e", "url": "http://localhost:8080/hook", "allow_loopback_http": True}

    assert failures(WebhookProvider(), props) == {}


def test_mcp_server_type_and_transport_fields_are_checked() -> None:
    assert "'stdio', 'http' or 'sse'" in failures(McpServerProvider(), {"server_id": "x", "type": "grpc"})["type"]
    assert "needs command" in next(iter(failures(McpServerProvider(), {"server_id": "x"}).values()))
    assert "needs url" in next(iter(failures(McpServerProvider(), {"server_id": "x", "type": "http"}).values()))


def test_unknown_values_during_preview_pass_check_and_show_as_changes() -> None:
    provider = WebhookProvider()
    result = provider.check({}, {"event": "e", "url": UNKNOWN})
    assert result.failures == []

    diff = provider.diff("id", {"event": "e", "url": "https://a.test"}, {"event": "e", "url": UNKNOWN})
    assert diff.changes and diff.replaces == []

    diff = provider.diff("id", {"event": "e", "url": "https://a.test"}, {"event": UNKNOWN, "url": "https://a.test"})
    assert diff.replaces == ["event"]


def test_without_a_connection_the_error_names_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCIDENTFOX_URL", raising=False)
    provider = WebhookProvider()

    with pytest.raises(Exception, match=r"stackfox:incidentfoxUrl.*INCIDENTFOX_URL"):
        provider.create(checked(provider, {"event": "e", "url": "https://a.test"}))


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [(3, 3.0, True), ({"a": [1.0]}, {"a": [1]}, True), (True, 1, False), ({"x": False}, {"x": 0}, False),
     (None, None, True), (0.5, 0.5, True)],
)  # fmt: skip
def test_values_compare_as_json_does(left: Any, right: Any, expected: bool) -> None:
    assert same(left, right) is expected
