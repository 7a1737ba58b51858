"""``check()`` is as strict as the services: a table of bad inputs, each refused naming its property."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stackfox_provider.resources._common import StackfoxProvider
from stackfox_provider.resources.incident_category import IncidentCategoryProvider
from stackfox_provider.resources.mcp_server import McpServerProvider
from stackfox_provider.resources.team_config import TeamConfigProvider
from stackfox_provider.resources.webhook import WebhookProvider

PROVIDERS: dict[str, type[StackfoxProvider]] = {
    "TeamConfig": TeamConfigProvider,
    "Webhook": WebhookProvider,
    "McpServer": McpServerProvider,
    "IncidentCategory": IncidentCategoryProvider,
}

BASELINES: dict[str, dict[str, Any]] = {
    "TeamConfig": {
        "entrance_agent": "planner",
        "agents": {
            "planner": {
                "enabled": True,
                "max_turns": 8.0,
                "model": {"name": "gpt-4o", "temperature": 0.2, "max_tokens": 1000.0},
                "prompt": {"system": "be brief"},
                "tools": {"shell": False},
                "extra": {"memory_window": 5},
            },
        },
        "feature_flags": {"beta": True},
        "tools": {"shell": True},
        "routing": {"services": ["payments-api"]},
        "output_config": {"trigger_overrides": {"slack": "thread"}, "extra": {"digest": True}},
        "knowledge_source": {"kind": "confluence"},
        "alerts": {"disabled": ["noisy"]},
        "custom": {"ui": {"theme": "dark"}},
        "connection": {"url": "https://api.incidentfox.ai/api/v1", "token": "tok"},
    },
    "Webhook": {"event": "investigation_complete", "url": "https://hooks.example.com/x"},
    "McpServer": {"server_id": "github", "command": "npx", "args": ["-y"], "env": {"GITHUB_TOKEN": "x"}},
    "IncidentCategory": {
        "name": "network",
        "label": "Network",
        "subcategories": [{"name": "wan", "label": "WAN"}],
        "connection": {"url": "https://stackflow.example.com/prod/api"},
    },
}
HTTP_MCP = {"server_id": "docs", "type": "http", "url": "https://mcp.example.com/mcp"}
DELETE = object()

# (resource, path to change, bad value, the property the failure must name)
CASES: list[tuple[str, tuple[str, ...], Any, str]] = [
    # TeamConfig: booleans are booleans
    ("TeamConfig", ("agents", "planner", "enabled"), "yes", "agents.planner.enabled"),
    ("TeamConfig", ("agents", "planner", "enabled"), "off", "agents.planner.enabled"),
    ("TeamConfig", ("agents", "planner", "enabled"), 1, "agents.planner.enabled"),
    ("TeamConfig", ("agents", "planner", "enabled"), 0.0, "agents.planner.enabled"),
    ("TeamConfig", ("feature_flags", "beta"), "true", "feature_flags.beta"),
    ("TeamConfig", ("feature_flags", "beta"), 1, "feature_flags.beta"),
    ("TeamConfig", ("tools", "shell"), "no", "tools.shell"),
    ("TeamConfig", ("agents", "planner", "tools", "shell"), 1, "agents.planner.tools.shell"),
    ("TeamConfig", ("agents", "planner", "sub_agents"), {"writeup": "yes"}, "agents.planner.sub_agents.writeup"),
    ("TeamConfig", ("agents", "planner", "mcps"), {"github": 0}, "agents.planner.mcps.github"),
    # TeamConfig: typos inside agents are not stored
    ("TeamConfig", ("agents", "planner", "maxturns"), 5, "agents.planner.maxturns"),
    ("TeamConfig", ("agents", "planner", "max_turn"), 5, "agents.planner.max_turn"),
    ("TeamConfig", ("agents", "planner", "modle"), {}, "agents.planner.modle"),
    ("TeamConfig", ("agents", "planner", "model", "temprature"), 0.5, "agents.planner.model.temprature"),
    ("TeamConfig", ("agents", "planner", "prompt"), {"sytem": "x"}, "agents.planner.prompt.sytem"),
    # TeamConfig: numbers
    ("TeamConfig", ("agents", "planner", "max_turns"), 12.5, "agents.planner.max_turns"),
    ("TeamConfig", ("agents", "planner", "max_turns"), "12", "agents.planner.max_turns"),
    ("TeamConfig", ("agents", "planner", "max_turns"), True, "agents.planner.max_turns"),
    ("TeamConfig", ("agents", "planner", "max_turns"), 0, "agents.planner.max_turns"),
    ("TeamConfig", ("agents", "planner", "max_turns"), -3.0, "agents.planner.max_turns"),
    ("TeamConfig", ("agents", "planner", "model", "max_tokens"), "1000", "agents.planner.model.max_tokens"),
    ("TeamConfig", ("agents", "planner", "model", "max_tokens"), 10.5, "agents.planner.model.max_tokens"),
    ("TeamConfig", ("agents", "planner", "model", "temperature"), "hot", "agents.planner.model.temperature"),
    ("TeamConfig", ("agents", "planner", "model", "temperature"), 2.5, "agents.planner.model.temperature"),
    ("TeamConfig", ("agents", "planner", "model", "temperature"), True, "agents.planner.model.temperature"),
    ("TeamConfig", ("agents", "planner", "model", "temperature"), float("nan"), "agents.planner.model.temperature"),
    # TeamConfig: strings are strings
    ("TeamConfig", ("agents", "planner", "name"), 12, "agents.planner.name"),
    ("TeamConfig", ("agents", "planner", "name"), "", "agents.planner.name"),
    ("TeamConfig", ("agents", "planner", "description"), 5, "agents.planner.description"),
    ("TeamConfig", ("agents", "planner", "prompt"), 5, "agents.planner.prompt"),
    ("TeamConfig", ("entrance_agent",), "", "entrance_agent"),
    ("TeamConfig", ("entrance_agent",), 5, "entrance_agent"),
    ("TeamConfig", ("agents", "planner"), "yes", "agents.planner"),
    # TeamConfig: the escape hatch takes extension keys only
    ("TeamConfig", ("agents", "planner", "extra"), {"max_turns": 3}, "agents.planner.extra.max_turns"),
    ("TeamConfig", ("agents", "planner", "extra"), {"extra": 1}, "agents.planner.extra.extra"),
    ("TeamConfig", ("agents", "planner", "extra"), {"": 1}, "agents.planner.extra"),
    ("TeamConfig", ("agents", "planner", "extra"), {"a.b": 1}, "agents.planner.extra"),
    ("TeamConfig", ("output_config", "extra"), {"formatting": {}}, "output_config.extra.formatting"),
    # TeamConfig: keys
    ("TeamConfig", ("agents",), {"": {}}, "agents"),
    ("TeamConfig", ("agents",), {"plan.ner": {}}, "agents"),
    ("TeamConfig", ("feature_flags",), {"": True}, "feature_flags"),
    ("TeamConfig", ("feature_flags",), {"beta.v2": True}, "feature_flags"),
    ("TeamConfig", ("tools",), {"": True}, "tools"),
    ("TeamConfig", ("tools",), {"a.b": True}, "tools"),
    ("TeamConfig", ("custom",), {"": 1}, "custom"),
    ("TeamConfig", ("custom",), {"a.b": 1}, "custom"),
    ("TeamConfig", ("custom",), {"x": {"": 1}}, "custom.x"),
    ("TeamConfig", ("custom",), {"x": {"a.b": 1}}, "custom.x"),
    ("TeamConfig", ("knowledge_source",), {"": "x"}, "knowledge_source"),
    ("TeamConfig", ("alerts",), {"disabled.x": []}, "alerts"),
    # TeamConfig: other resources' keys and unknown properties
    ("TeamConfig", ("custom",), {"webhooks": {"e": "https://x.test"}}, "custom.webhooks"),
    ("TeamConfig", ("custom",), {"mcp_servers": {}}, "custom.mcp_servers"),
    ("TeamConfig", ("custom",), {"feature_flags": {}}, "custom.feature_flags"),
    ("TeamConfig", ("webhooks",), {"e": "https://x.test"}, "webhooks"),
    ("TeamConfig", ("mcp_servers",), {"x": {}}, "mcp_servers"),
    ("TeamConfig", ("feature_flag",), {"typo": True}, "feature_flag"),
    # TeamConfig: routing and output_config
    ("TeamConfig", ("routing", "services"), ["a", "a"], "routing.services"),
    ("TeamConfig", ("routing", "services"), [""], "routing.services.0"),
    ("TeamConfig", ("routing", "services"), [5], "routing.services.0"),
    ("TeamConfig", ("routing", "service"), ["a"], "routing.service"),
    ("TeamConfig", ("routing", "github_repos"), "org/repo", "routing.github_repos"),
    ("TeamConfig", ("output_config", "formating"), {}, "output_config.formating"),
    ("TeamConfig", ("output_config", "trigger_overrides"), {"slack": 1}, "output_config.trigger_overrides.slack"),
    ("TeamConfig", ("output_config", "default_destinations"), "slack", "output_config.default_destinations"),
    # TeamConfig: connection and on_delete
    ("TeamConfig", ("connection", "url"), "http://api.incidentfox.ai/api/v1", "connection.url"),
    ("TeamConfig", ("connection", "url"), "https://admin:hunter2@api.incidentfox.ai/api/v1", "connection.url"),
    ("TeamConfig", ("connection", "url"), "https://api.incidentfox.ai\r\n/api/v1", "connection.url"),
    ("TeamConfig", ("connection", "url"), "https://api.incidentfox.ai:0/api/v1", "connection.url"),
    ("TeamConfig", ("connection", "token"), "", "connection.token"),
    ("TeamConfig", ("connection", "token"), 123, "connection.token"),
    ("TeamConfig", ("connection", "tokn"), "x", "connection.tokn"),
    ("TeamConfig", ("on_delete",), "forget", "on_delete"),
    # Webhook
    ("Webhook", ("url",), "http://hooks.example.com/x", "url"),
    ("Webhook", ("url",), "https://hooks.example.com/x\r\nX-Injected: 1", "url"),
    ("Webhook", ("url",), "https://hooks.example.com/x\n", "url"),
    ("Webhook", ("url",), "https://hooks example.com/x", "url"),
    ("Webhook", ("url",), "https://hooks.example.com:99999/x", "url"),
    ("Webhook", ("url",), "https://hooks.example.com:0/x", "url"),
    ("Webhook", ("url",), "https://hooks.example.com:abc/x", "url"),
    ("Webhook", ("url",), "https://hooks.example.com:/x", "url"),
    ("Webhook", ("url",), "https://hooks.example.com/" + "a" * 200_000, "url"),
    ("Webhook", ("url",), "https://hooks.example.com/" + "a" * 2030, "url"),
    ("Webhook", ("url",), "https://hooks.example.com/\x00", "url"),
    ("Webhook", ("url",), "https://hooks.example.com/\tx", "url"),
    ("Webhook", ("url",), "https://user:s3cret@hooks.example.com/x", "url"),
    ("Webhook", ("url",), "https://token@hooks.example.com/x", "url"),
    ("Webhook", ("url",), "ftp://hooks.example.com/x", "url"),
    ("Webhook", ("url",), "hooks.example.com/x", "url"),
    ("Webhook", ("url",), "https://-bad-.example.com/x", "url"),
    ("Webhook", ("url",), "https:///x", "url"),
    ("Webhook", ("url",), "http://127.0.0.1:9/x", "url"),
    ("Webhook", ("url",), 5, "url"),
    ("Webhook", ("url",), "", "url"),
    ("Webhook", ("url",), DELETE, "url"),
    ("Webhook", ("event",), "", "event"),
    ("Webhook", ("event",), "bad.event", "event"),
    ("Webhook", ("event",), "a" * 129, "event"),
    ("Webhook", ("event",), 5, "event"),
    ("Webhook", ("allow_loopback_http",), "yes", "allow_loopback_http"),
    ("Webhook", ("allow_loopback_http",), 1, "allow_loopback_http"),
    ("Webhook", ("connection",), {"url": "https://api.incidentfox.ai:70000/x", "token": "t"}, "connection.url"),
    ("Webhook", ("urll",), "https://hooks.example.com/x", "urll"),
    # McpServer
    ("McpServer", ("server_id",), "", "server_id"),
    ("McpServer", ("server_id",), "git.hub", "server_id"),
    ("McpServer", ("enabled",), "off", "enabled"),
    ("McpServer", ("enabled",), 0, "enabled"),
    ("McpServer", ("type",), "grpc", "type"),
    ("McpServer", ("command",), 5, "command"),
    ("McpServer", ("command",), "", "command"),
    ("McpServer", ("command",), DELETE, "command"),
    ("McpServer", ("args",), "-y", "args"),
    ("McpServer", ("args",), [1], "args.0"),
    ("McpServer", ("env",), {"": "x"}, "env"),
    ("McpServer", ("env",), {"GITHUB.TOKEN": "x"}, "env"),
    ("McpServer", ("env",), {"TOKEN": 5}, "env.TOKEN"),
    ("McpServer", ("enabled_tools",), [""], "enabled_tools.0"),
    ("McpServer", ("enabled_tools",), "read", "enabled_tools"),
    ("McpServer", ("url",), "https://mcp.example.com/mcp", "url"),
    ("McpServer", ("name",), "", "name"),
    ("McpServer", ("envv",), {}, "envv"),
    ("McpServer:http", ("url",), "https://mcp.example.com:99999/mcp", "url"),
    ("McpServer:http", ("url",), "https://u:p4ss@mcp.example.com/mcp", "url"),
    ("McpServer:http", ("url",), "https://mcp.example.com/mcp\r\n", "url"),
    ("McpServer:http", ("url",), DELETE, "url"),
    ("McpServer:http", ("command",), "npx", "command"),
    ("McpServer:http", ("headers",), {"": "x"}, "headers"),
    ("McpServer:http", ("headers",), {"X Bad": "1"}, "headers"),
    ("McpServer:http", ("headers",), {"Authorization": 5}, "headers.Authorization"),
    # IncidentCategory
    ("IncidentCategory", ("name",), "a" * 64, "name"),
    ("IncidentCategory", ("name",), "Bad Name", "name"),
    ("IncidentCategory", ("name",), "", "name"),
    ("IncidentCategory", ("name",), 5, "name"),
    ("IncidentCategory", ("label",), "", "label"),
    ("IncidentCategory", ("label",), "   ", "label"),
    ("IncidentCategory", ("label",), "x" * 201, "label"),
    ("IncidentCategory", ("label",), 5, "label"),
    ("IncidentCategory", ("description",), "x" * 2001, "description"),
    ("IncidentCategory", ("description",), 5, "description"),
    ("IncidentCategory", ("subcategories",), [{"name": f"s{i}", "label": "S"} for i in range(101)], "subcategories"),
    (
        "IncidentCategory",
        ("subcategories",),
        [{"name": "a", "label": "A"}, {"name": "a", "label": "B"}],
        "subcategories",
    ),
    ("IncidentCategory", ("subcategories",), [{"name": "Bad", "label": "x"}], "subcategories.0.name"),
    ("IncidentCategory", ("subcategories",), [{"name": "a" * 64, "label": "A"}], "subcategories.0.name"),
    ("IncidentCategory", ("subcategories",), [{"name": "a", "label": "x" * 201}], "subcategories.0.label"),
    ("IncidentCategory", ("subcategories",), [{"name": "a", "label": ""}], "subcategories.0.label"),
    ("IncidentCategory", ("subcategories",), [{"name": "a", "label": "A", "lable": "x"}], "subcategories.0.lable"),
    ("IncidentCategory", ("subcategories",), "network", "subcategories"),
    ("IncidentCategory", ("default_priority",), "P5", "default_priority"),
    ("IncidentCategory", ("default_assignment_group",), "", "default_assignment_group"),
    ("IncidentCategory", ("default_assignment_group",), "x" * 101, "default_assignment_group"),
    ("IncidentCategory", ("active",), "yes", "active"),
    ("IncidentCategory", ("active",), 1, "active"),
    ("IncidentCategory", ("force_delete",), "true", "force_delete"),
    ("IncidentCategory", ("adopt",), 0, "adopt"),
    ("IncidentCategory", ("deletion_policy",), "archive", "deletion_policy"),
    ("IncidentCategory", ("connection", "url"), "http://stackflow.example.com/api", "connection.url"),
    ("IncidentCategory", ("connection", "url"), "https://stackflow.example.com:99999/api", "connection.url"),
    ("IncidentCategory", ("connection", "url"), "https://svc:pw@stackflow.example.com/api", "connection.url"),
    ("IncidentCategory", ("connection", "url"), "not a url", "connection.url"),
    ("IncidentCategory", ("connection", "url"), 5, "connection.url"),
    ("IncidentCategory", ("connection", "token_url"), "http://auth.example.com/oauth2/token", "connection.token_url"),
    ("IncidentCategory", ("connection", "region"), "eu west 1", "connection.region"),
    ("IncidentCategory", ("connection", "user_pool_id"), "", "connection.user_pool_id"),
    ("IncidentCategory", ("connection", "password"), "x", "connection.password"),
    ("IncidentCategory", ("lable",), "Network", "lable"),
]
SECRETS = ("hunter2", "s3cret", "p4ss", ":pw@", "token@", "admin")


def props_for(resource: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    props = copy.deepcopy(HTTP_MCP if resource == "McpServer:http" else BASELINES[resource])
    node = props
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return props


def case_id(case: tuple[str, tuple[str, ...], Any, str]) -> str:
    resource, path, value, _ = case
    shown = "<missing>" if value is DELETE else repr(value)
    shown = shown if len(shown) <= 40 else f"{shown[:30]}...({len(shown)} chars)"
    return f"{resource}:{'.'.join(path)}={shown}"


def test_the_table_holds_at_least_100_distinct_bad_inputs() -> None:
    assert len({case_id(case) for case in CASES}) == len(CASES) >= 100
    assert {case[0].split(":")[0] for case in CASES} == set(PROVIDERS)


@pytest.mark.parametrize("resource", [*BASELINES, "McpServer:http"])
def test_the_valid_baselines_pass(resource: str) -> None:
    provider = PROVIDERS[resource.split(":")[0]]()
    props = HTTP_MCP if resource == "McpServer:http" else BASELINES[resource]

    result = provider.check({}, copy.deepcopy(props))

    assert result.failures == [], [(f.property, f.reason) for f in result.failures]


def test_whole_floats_are_ints_and_loopback_http_is_allowed_for_connections() -> None:
    team = TeamConfigProvider().check({}, props_for("TeamConfig", ("connection", "url"), "http://127.0.0.1:8080/api"))
    assert team.failures == []
    assert team.inputs["agents"]["planner"]["max_turns"] == 8
    assert type(team.inputs["agents"]["planner"]["max_turns"]) is int
    assert type(team.inputs["agents"]["planner"]["model"]["max_tokens"]) is int
    category = props_for("IncidentCategory", ("connection", "url"), "http://localhost:4566/prod/api")
    assert IncidentCategoryProvider().check({}, category).failures == []


def test_agent_extension_keys_map_to_the_agents_config() -> None:
    provider = TeamConfigProvider()
    inputs = provider.inputs_of(provider.check({}, copy.deepcopy(BASELINES["TeamConfig"])).inputs)

    desired = provider.desired(inputs)

    assert desired[("agents", "planner", "memory_window")] == 5
    assert desired[("output_config", "digest")] is True
    assert provider.input_path(inputs, ("agents", "planner", "memory_window")) == (
        "agents", "planner", "extra", "memory_window",
    )  # fmt: skip
    assert provider.input_path(inputs, ("agents", "planner", "max_turns")) == ("agents", "planner", "max_turns")
    assert provider.input_path(inputs, ("output_config", "digest")) == ("output_config", "extra", "digest")


@pytest.mark.parametrize(("resource", "path", "value", "expected"), CASES, ids=[case_id(case) for case in CASES])
def test_a_bad_input_is_refused_naming_its_property(
    resource: str, path: tuple[str, ...], value: Any, expected: str
) -> None:
    provider = PROVIDERS[resource.split(":")[0]]()

    result = provider.check({}, props_for(resource, path, value))

    found = [(failure.property, failure.reason) for failure in result.failures]
    assert [prop for prop, _ in found] == [expected], found
    reason = found[0][1]
    assert reason.startswith(f"{expected}: "), reason
    assert "(inputs)" not in reason
    assert len(reason) < 600, reason
    assert not any(secret in reason for secret in SECRETS), reason
