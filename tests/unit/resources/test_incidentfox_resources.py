"""IncidentFox providers against an in-memory team: ownership, drift, restore, validation."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal
from unittest.mock import ANY

import httpx
import pytest
from pulumi.runtime.rpc import UNKNOWN

from stackfox_provider import settings
from stackfox_provider.clients.http import ApiError
from stackfox_provider.clients.incidentfox import ConcurrentWriteError
from stackfox_provider.clients.incidentfox.client import TeamLockedError, TeamMismatchError
from stackfox_provider.clients.incidentfox.managers import RESERVED_KEY
from stackfox_provider.errors import RefusedError
from stackfox_provider.normalize import same
from stackfox_provider.resources._incidentfox import Connection, History
from stackfox_provider.resources.mcp_server import McpServerProvider
from stackfox_provider.resources.team_config import TeamConfigProvider
from stackfox_provider.resources.webhook import WebhookProvider
from tests.unit.resources.fake_incidentfox import FakeTeam

INHERITED = {
    "entrance_agent": "planner",
    "agents": {"planner": {"max_turns": 15, "model": {"temperature": 0.3}}},
    "feature_flags": {"new": False},
}


@pytest.fixture
def team(monkeypatch: pytest.MonkeyPatch) -> FakeTeam:
    fake = FakeTeam(
        overrides={"feature_flags": {"ui_flag": True, "beta": False}, "team_name": "payments"},
        inherited=json.loads(json.dumps(INHERITED)),
    )
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


def test_team_config_owns_only_what_it_declares_and_restores_the_effective_config(
    team: FakeTeam, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = TeamConfigProvider()
    effective_before = team.effective()
    inputs = checked(provider, {"feature_flags": {"beta": True, "new": True}, "entrance_agent": "triage"})

    created = provider.create(inputs)

    assert created.id == "team1/config"
    records = team.overrides.pop(RESERVED_KEY)["managers"]
    assert team.overrides == {
        "feature_flags": {"ui_flag": True, "beta": True, "new": True},
        "team_name": "payments",
        "entrance_agent": "triage",
    }
    # Written in the same request as the values: which stack manages each path, and what it held before.
    assert sorted(records) == ["/entrance_agent", "/feature_flags/beta", "/feature_flags/new"]
    assert {record["stack"] for record in records.values()} == {provider.stack}
    assert json.loads(records["/feature_flags/beta"]["before"])["value"] is False
    team.overrides[RESERVED_KEY] = {"managers": records}
    assert created.outs is not None
    history = History.from_state(created.outs["previous"])
    assert history.prior(("feature_flags", "beta")).value is False
    assert history.prior(("feature_flags", "new")).inherited is False

    provider.delete(created.id, created.outs)

    # feature_flags.new went back to inherited by the two-write reset; entrance_agent, a top-level
    # key no write can take out, holds the inherited value again, with a warning. The records are
    # released (null: IncidentFox cannot delete a key).
    assert team.overrides.pop(RESERVED_KEY) == {"managers": dict.fromkeys(records)}
    assert team.overrides == {
        "feature_flags": {"ui_flag": True, "beta": False},
        "team_name": "payments",
        "entrance_agent": "planner",
    }
    assert team.effective() == effective_before
    warning = capsys.readouterr().err
    assert "cannot remove entrance_agent" in warning and '"planner"' in warning


def test_restore_gives_back_exact_json_values_and_types(team: FakeTeam) -> None:
    team.overrides["agents"] = {"planner": {"max_turns": 5, "model": {"temperature": 1.0}}}
    team.overrides["custom_null"] = None
    provider = TeamConfigProvider()
    props = {"agents": {"planner": {"max_turns": 12.0, "model": {"temperature": 0.5, "max_tokens": 8192.0}}},
             "custom": {"custom_null": "set"}}  # fmt: skip
    created = provider.create(checked(provider, props))
    assert created.outs is not None
    planner = team.overrides["agents"]["planner"]
    assert type(planner["max_turns"]) is int and type(planner["model"]["max_tokens"]) is int

    provider.delete(created.id, created.outs)

    assert json.dumps(team.overrides["agents"]) == json.dumps(
        {"planner": {"max_turns": 5, "model": {"temperature": 1.0}}}
    )
    assert "custom_null" in team.overrides and team.overrides["custom_null"] is None


def test_a_reset_the_service_refuses_pins_the_inherited_value(
    team: FakeTeam, capsys: pytest.CaptureFixture[str]
) -> None:
    team.refuse_null = {"agents.planner"}  # the entrance agent cannot be nulled, even for a moment
    provider = TeamConfigProvider()
    props = {"agents": {"planner": {"max_turns": 12, "model": {"temperature": 0.9}}}}
    created = provider.create(checked(provider, props))
    assert created.outs is not None

    provider.delete(created.id, created.outs)

    # max_turns sits right under the refused object: pinned. The model object can be reset: inherited again.
    assert team.overrides["agents"] == {"planner": {"max_turns": 15, "model": {}}}
    assert team.effective()["agents"] == INHERITED["agents"]
    warnings = capsys.readouterr().err
    assert "cannot remove agents.planner.max_turns" in warnings and "temperature" not in warnings


def test_create_adopts_values_that_are_already_right_writing_only_its_record(team: FakeTeam) -> None:
    provider = TeamConfigProvider()

    provider.create(checked(provider, {"feature_flags": {"ui_flag": True}}))

    assert team.patches == [{RESERVED_KEY: {"managers": {"/feature_flags/ui_flag": ANY}}}]


def test_refresh_shows_drift_field_by_field_and_update_writes_only_the_change(team: FakeTeam) -> None:
    provider = TeamConfigProvider()
    inputs = checked(provider, {"feature_flags": {"beta": True}, "agents": {"planner": {"max_turns": 8}}})
    created = provider.create(inputs)
    assert created.outs is not None
    team.overrides["feature_flags"]["beta"] = False  # edited in the UI
    team.overrides["feature_flags"]["ui_only"] = True
    provider._client(None).forget_snapshot()

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
    assert updated.outs is not None and History.from_state(updated.outs["previous"]) == History.from_state(
        created.outs["previous"]
    )
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
    third = checked(provider, {"feature_flags": {"beta": True}})
    assert updated.outs is not None
    updated = provider.update(created.id, updated.outs, third)
    assert team.overrides["feature_flags"] == {"ui_flag": True, "beta": True}, "new is inherited again"
    assert updated.outs is not None and updated.outs["owned_paths"] == [["feature_flags", "beta"]]


def test_a_refresh_of_many_resources_costs_one_read(team: FakeTeam) -> None:
    provider = TeamConfigProvider()
    states = [provider.create(checked(provider, {"custom": {f"key{i}": i}})) for i in range(10)]
    provider._client(None).forget_snapshot()
    reads_before = sum(1 for method, _ in team.calls if method == "GET")

    for state in states:
        assert state.outs is not None
        provider.read(state.id, state.outs)

    assert sum(1 for method, _ in team.calls if method == "GET") == reads_before + 1


def test_paths_nulled_by_hand_are_drift_to_repair_and_keep_their_history(team: FakeTeam) -> None:
    team.overrides["webhooks"] = {"investigation_complete": "https://old.test/x"}
    provider = WebhookProvider()
    inputs = checked(provider, {"event": "investigation_complete", "url": "https://hooks.test/a"})
    created = provider.create(inputs)
    assert created.outs is not None
    team.overrides["webhooks"]["investigation_complete"] = None  # nulled in the UI
    provider._client(None).forget_snapshot()

    read = provider.read(created.id, created.outs)

    assert read.id == created.id and read.outs is not None
    assert "url" not in (read.inputs or {}) and read.outs["inherited_fields"] == []
    assert provider.diff(created.id, read.outs, inputs).changes
    updated = provider.update(created.id, read.outs, inputs)
    assert team.overrides["webhooks"]["investigation_complete"] == "https://hooks.test/a"
    assert updated.outs is not None
    provider.delete(created.id, updated.outs)
    assert team.overrides["webhooks"]["investigation_complete"] == "https://old.test/x"


def test_a_path_no_longer_on_the_team_reads_as_inherited(team: FakeTeam) -> None:
    provider = TeamConfigProvider()
    created = provider.create(checked(provider, {"feature_flags": {"beta": True}, "custom": {"region": "eu"}}))
    assert created.outs is not None
    del team.overrides["region"]
    provider._client(None).forget_snapshot()

    read = provider.read(created.id, created.outs)

    assert read.outs is not None and read.outs["inherited_fields"] == ["custom.region"]


@pytest.mark.parametrize("operation", ["read", "update", "delete"])
def test_a_token_of_another_team_stops_every_operation_before_any_write(team: FakeTeam, operation: str) -> None:
    provider = WebhookProvider()
    inputs = checked(provider, {"event": "e", "url": "https://hooks.test/a"})
    created = provider.create(inputs)
    assert created.outs is not None
    team.team_id = "other-team"  # the stack's token now reaches another team
    provider._client(None).forget_snapshot()
    writes_before = len(team.writes())

    with pytest.raises(TeamMismatchError, match=r"manages IncidentFox team 'team1'.*belongs to team 'other-team'"):
        if operation == "read":
            provider.read(created.id, created.outs)
        elif operation == "update":
            provider.update(created.id, created.outs, {**inputs, "url": "https://hooks.test/b"})
        else:
            provider.delete(created.id, created.outs)
    assert len(team.writes()) == writes_before


def test_create_learns_the_team_before_it_writes(team: FakeTeam) -> None:
    provider = WebhookProvider()

    created = provider.create(checked(provider, {"event": "e", "url": "https://hooks.test/a"}))

    assert created.id == "team1/webhooks/e"
    assert ("GET", "/api/v1/auth/me") not in team.calls, "the raw read's lineage names the team"


def test_a_write_another_writer_lost_is_applied_again(team: FakeTeam) -> None:
    provider = WebhookProvider()
    client = provider._client(None)
    lost = [True]
    original = team.handle

    def lose_first_write(request: Any) -> Any:
        response = original(request)
        if request.method == "PATCH" and lost:  # a concurrent writer's stale merge lands right after ours
            lost.pop()
            team.overrides["webhooks"].pop("e")
        return response

    client._api._http._transport = __import__("httpx").MockTransport(lose_first_write)

    provider.create(checked(provider, {"event": "e", "url": "https://hooks.test/a"}))

    assert team.overrides["webhooks"] == {"e": "https://hooks.test/a"}
    assert len(team.writes()) == 2


def test_a_write_lost_again_and_again_fails_naming_the_paths(team: FakeTeam) -> None:
    provider = WebhookProvider()
    client = provider._client(None)
    original = team.handle

    def always_lose(request: Any) -> Any:
        response = original(request)
        if request.method == "PATCH":
            team.overrides["webhooks"].pop("e", None)
        return response

    client._api._http._transport = __import__("httpx").MockTransport(always_lose)

    with pytest.raises(ConcurrentWriteError, match=r"webhooks\.e no longer hold.*concurrency group"):
        provider.create(checked(provider, {"event": "e", "url": "https://hooks.test/a"}))


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


@pytest.mark.parametrize(("dialect", "method"), [("hosted", "PUT"), ("oss", "PATCH")])
def test_each_dialect_gets_its_write_method_from_the_first_write_without_a_probe(
    team: FakeTeam, dialect: Literal["hosted", "oss"], method: str
) -> None:
    team.dialect = dialect
    provider = WebhookProvider()

    provider.create(checked(provider, {"event": "a", "url": "https://hooks.test/a"}))
    provider.create(checked(provider, {"event": "b", "url": "https://hooks.test/b"}))

    assert team.writes() == [(method, "/api/v1/config/me")] * 2, "the reads before them showed the dialect"
    assert team.overrides["webhooks"] == {"a": "https://hooks.test/a", "b": "https://hooks.test/b"}


def test_creates_the_engine_runs_four_at_a_time_cost_one_write_per_four(team: FakeTeam) -> None:
    provider = WebhookProvider()
    inputs = [checked(provider, {"event": f"e{i}", "url": f"https://hooks.test/{i}"}) for i in range(30)]

    with ThreadPoolExecutor(4) as engine:  # the provider process serves four engine calls at once
        created = list(engine.map(provider.create, inputs))

    assert len(team.writes()) <= 9, team.writes()
    assert team.overrides["webhooks"] == {f"e{i}": f"https://hooks.test/{i}" for i in range(30)}
    assert [result.outs["url"] for result in created] == [f"https://hooks.test/{i}" for i in range(30)]


def test_in_a_coalesced_write_the_service_refuses_only_the_bad_webhook_fails(team: FakeTeam) -> None:
    handle = team.handle

    def refuse_bad_urls(request: httpx.Request) -> httpx.Response:
        if request.method != "GET" and b"hooks.test/bad" in request.content:
            return httpx.Response(422, json={"detail": "webhook URL does not resolve"})
        return handle(request)

    assert team.client is not None
    team.client._api._http._transport = httpx.MockTransport(refuse_bad_urls)
    provider = WebhookProvider()
    urls = [f"https://hooks.test/{'bad' if i == 2 else i}" for i in range(4)]
    inputs = [checked(provider, {"event": f"e{i}", "url": url}) for i, url in enumerate(urls)]

    def create(props: dict[str, Any]) -> str:
        try:
            return str(provider.create(props).outs["url"])
        except ApiError as error:
            return f"HTTP {error.status}"

    with ThreadPoolExecutor(4) as engine:
        outcomes = list(engine.map(create, inputs))

    assert outcomes == ["https://hooks.test/0", "https://hooks.test/1", "HTTP 422", "https://hooks.test/3"]
    assert team.overrides["webhooks"] == {f"e{i}": f"https://hooks.test/{i}" for i in (0, 1, 3)}


@pytest.mark.parametrize("policy", ["restore", "clear"])
def test_a_retired_mcp_server_keeps_nothing_stackfox_wrote(team: FakeTeam, policy: str) -> None:
    provider = McpServerProvider()
    props = {"server_id": "gh", "command": "npx", "args": ["gh-mcp"], "env": {"TOKEN": "s3cret"}, "on_delete": policy}
    created = provider.create(checked(provider, props))
    assert created.outs is not None
    assert team.overrides["mcp_servers"]["gh"]["env"] == {"TOKEN": "s3cret"}

    provider.delete(created.id, created.outs)

    entry = team.overrides["mcp_servers"]["gh"]
    assert entry["enabled"] is False
    assert entry["command"] is None and entry["args"] is None and entry["type"] is None
    assert "s3cret" not in json.dumps(team.overrides)
    assert ("PATCH", "/api/v1/config/me") in team.writes()
    assert team.overrides["mcp_servers"]["gh"] is not None


def test_mcp_server_restores_an_entry_that_existed_before_exactly(team: FakeTeam) -> None:
    team.overrides["mcp_servers"] = {"gh": {"name": "GitHub", "command": "old", "env": {"THEIRS": "x"}}}
    provider = McpServerProvider()
    props = {"server_id": "gh", "command": "new", "args": ["-y"], "env": {"TOKEN": "s3cret"}}
    created = provider.create(checked(provider, props))
    assert created.outs is not None
    assert team.overrides["mcp_servers"]["gh"]["enabled"] is True

    provider.delete(created.id, created.outs)

    assert team.overrides["mcp_servers"]["gh"] == {
        "name": "GitHub", "command": "old", "env": {"THEIRS": "x"}, "args": None, "type": None, "enabled": True,
    }  # fmt: skip


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
        "custom.webhooks",
        "agents.planner.model.temperature",
        "agents.planner.max_turns",
        "routing.services",
        "feature_flag",
    }
    assert "use stackfox_provider.incidentfox.Webhook" in found["custom.webhooks"]
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


def test_a_null_above_an_owned_path_masks_it_rather_than_resetting_it(team: FakeTeam) -> None:
    provider = TeamConfigProvider()
    created = provider.create(checked(provider, {"feature_flags": {"beta": True}}))
    assert created.outs is not None
    team.overrides["feature_flags"] = None  # nulled as a whole in the UI: nothing is inherited now
    provider._client(None).forget_snapshot()

    read = provider.read(created.id, created.outs)

    assert read.outs is not None and read.outs["inherited_fields"] == []


def test_a_null_mcp_entry_in_the_lineage_stops_writes_before_any_is_sent(team: FakeTeam) -> None:
    team.inherited["mcp_servers"] = {"broken": None}  # an admin's PUT on the org: every team write would be a 500
    provider = WebhookProvider()

    with pytest.raises(TeamLockedError, match=r"mcp_servers\.broken \(in the config of node 'org1'\).*org admin"):
        provider.create(checked(provider, {"event": "e", "url": "https://hooks.test/a"}))
    assert team.writes() == []


def test_a_value_of_another_shape_above_an_owned_path_is_never_replaced(team: FakeTeam) -> None:
    team.overrides["mcp_servers"] = ["github", "pagerduty"]  # the documented list of names, made by hand
    provider = McpServerProvider()

    with pytest.raises(RefusedError, match=r'mcp_servers is not an object but \["github", "pagerduty"\]'):
        provider.create(checked(provider, {"server_id": "gh", "command": "npx"}))
    assert team.writes() == [] and team.overrides["mcp_servers"] == ["github", "pagerduty"]


def test_a_refresh_explains_a_value_of_another_shape_rather_than_calling_it_inherited(team: FakeTeam) -> None:
    provider = McpServerProvider()
    created = provider.create(checked(provider, {"server_id": "gh", "command": "npx"}))
    assert created.outs is not None
    team.overrides["mcp_servers"] = ["github", "pagerduty"]  # replaced by hand with the documented list
    team.client_forget()

    read = provider.read(created.id, created.outs)

    assert read.outs["inherited_fields"] == []
    assert read.outs["shape_mismatches"]["command"].startswith("mcp_servers holds a list now, not an object")


def test_an_mcp_server_inside_the_cluster_may_use_plain_http() -> None:
    props = {"server_id": "docs", "type": "http", "url": "http://docs-mcp.tools.svc:8080/mcp"}

    assert failures(McpServerProvider(), props) == {}


def test_a_refusal_never_shows_a_webhook_url(team: FakeTeam) -> None:
    team.overrides["webhooks"] = "https://hooks.test/s3cret-token"  # not an object: writing under it is refused
    provider = WebhookProvider()

    with pytest.raises(RefusedError, match=r"webhooks is not an object but \(secret\)") as refused:
        provider.create(checked(provider, {"event": "e", "url": "https://hooks.test/a"}))
    assert "s3cret" not in str(refused.value)


def test_a_run_whose_token_incidentfox_rejects_stops_at_diff_naming_the_setting(team: FakeTeam) -> None:
    provider = WebhookProvider()
    created = provider.create(checked(provider, {"event": "e", "url": "https://hooks.test/a"}))
    assert created.outs is not None
    team.failing = 401
    team.install()  # a later run: a new provider process, whose client has not used the token yet

    with pytest.raises(ApiError) as rejected:
        provider.diff(created.id, created.outs, checked(provider, {"event": "e", "url": "https://hooks.test/a"}))

    assert rejected.value.status == 401
    assert "stackfox:incidentfoxToken" in str(rejected.value) and "--run-program" in str(rejected.value)
    assert team.writes() == [("PATCH", "/api/v1/config/me")], "only the create wrote"


def test_a_service_that_cannot_be_reached_does_not_stop_a_diff(team: FakeTeam) -> None:
    provider = WebhookProvider()
    created = provider.create(checked(provider, {"event": "e", "url": "https://hooks.test/a"}))
    assert created.outs is not None
    team.failing = 503
    team.install()

    result = provider.diff(created.id, created.outs, checked(provider, {"event": "e", "url": "https://hooks.test/a"}))

    assert result.changes is False
    calls = len(team.calls)
    provider.diff(created.id, created.outs, checked(provider, {"event": "e", "url": "https://hooks.test/a"}))
    assert len(team.calls) == calls, "the token is checked once per client"


def test_the_providers_client_names_the_settings_that_hold_a_refused_token() -> None:
    provider = WebhookProvider()
    client = provider._client(Connection(url="https://fox.test/api/v1", token="tok.other"))

    assert client._api.unauthorized_hint == settings.INCIDENTFOX_UNAUTHORIZED_HINT
    assert "stackfox:incidentfoxToken" in settings.INCIDENTFOX_UNAUTHORIZED_HINT


def as_pulumi_sends(value: Any) -> Any:
    """``value`` as it reaches a provider from the engine: every number a float."""
    if isinstance(value, dict):
        return {key: as_pulumi_sends(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_pulumi_sends(item) for item in value]
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def state_without_on_delete(team: FakeTeam) -> tuple[WebhookProvider, dict[str, Any], dict[str, Any]]:
    """A Webhook created over the team's https://old.test/x: its provider, inputs, and state as recorded before
    on_delete existed."""
    team.overrides["webhooks"] = {"e": "https://old.test/x"}
    provider = WebhookProvider()
    inputs = checked(provider, {"event": "e", "url": "https://hooks.test/a"})
    created = provider.create(inputs)
    assert created.outs is not None
    return provider, inputs, {key: value for key, value in created.outs.items() if key != "on_delete"}


def test_state_recorded_without_on_delete_restores_as_the_model_defaults(team: FakeTeam) -> None:
    provider, inputs, state = state_without_on_delete(team)

    assert not provider.diff("team1/webhooks/e", state, inputs).changes, "a missing field compares as its default"
    provider.delete("team1/webhooks/e", state)

    assert team.overrides["webhooks"]["e"] == "https://old.test/x"


def test_state_that_no_longer_validates_still_reads_and_deletes(team: FakeTeam) -> None:
    provider, _, state = state_without_on_delete(team)
    # What a looser earlier version accepted: plain http to hosts that are not loopback.
    state.update(url="http://hooks.test/a", connection={"url": "http://fox.test/api/v1", "token": "tok.secret"})
    inputs = {key: value for key, value in state.items() if key in provider.inputs_model.model_fields}
    assert set(failures(provider, inputs)) == {"url", "connection.url"}, "today's check refuses them"
    team.overrides["webhooks"]["e"] = "https://hooks.test/b"  # drift
    team.client_forget()

    read = provider.read("team1/webhooks/e", state)
    provider.delete("team1/webhooks/e", state)

    assert read.inputs is not None and read.inputs["url"] == "https://hooks.test/b"
    assert read.inputs["connection"] == {"url": "http://fox.test/api/v1", "token": "tok.secret"}
    assert read.inputs["on_delete"] == "restore"
    assert team.overrides["webhooks"]["e"] == "https://old.test/x"


def test_numbers_pulumi_sends_as_floats_are_written_and_recorded_as_ints(team: FakeTeam) -> None:
    provider = TeamConfigProvider()
    first = checked(provider, {"agents": {"planner": {"max_turns": 12}}, "custom": {"limits": {"retries": 3}}})
    created = provider.create(as_pulumi_sends(first))
    assert created.outs is not None
    second = checked(provider, {"agents": {"planner": {"max_turns": 14}}, "custom": {"limits": {"retries": 4}}})

    updated = provider.update(created.id, as_pulumi_sends(created.outs), as_pulumi_sends(second))

    assert updated.outs is not None
    written = json.dumps([team.overrides["agents"], team.overrides["limits"]])
    assert written == json.dumps([{"planner": {"max_turns": 14}}, {"retries": 4}])
    for outs, expected in ((created.outs, [12, 3]), (updated.outs, [14, 4])):
        recorded = [outs["agents"]["planner"]["max_turns"], outs["custom"]["limits"]["retries"]]
        assert json.dumps(recorded) == json.dumps(expected), "12, not 12.0"


def test_state_that_no_longer_validates_is_taken_as_given_with_whole_numbers_as_ints() -> None:
    provider = TeamConfigProvider()
    state = {"agents": {"planner": {"max_turns": 12.0, "memory": 2.0}}, "custom": {"a.b": 1.0},
             "team_id": "team1", "__provider": "pickled"}  # fmt: skip

    inputs = provider.inputs_of(state)

    assert inputs.agents is not None and inputs.agents["planner"].max_turns == 12
    assert inputs.on_delete == "restore"
    assert json.dumps(provider.props_of(inputs), sort_keys=True) == json.dumps(
        {"agents": {"planner": {"max_turns": 12}}, "custom": {"a.b": 1}, "on_delete": "restore"}, sort_keys=True
    ), "an unknown key is left out (it is no input), a whole number is an int"
