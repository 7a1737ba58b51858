"""The IncidentFox config API in both dialects: envelopes, merge rules, hierarchy, tokens and crash cases."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from stackfox_sandbox.incidentfox.defaults import SYSTEM_DEFAULTS
from stackfox_sandbox.incidentfox.merge import deep_merge
from stackfox_sandbox.testing import SandboxHandle


@dataclass
class Team:
    """A fresh team with its own token, so tests never share config."""

    sandbox: SandboxHandle
    node_id: str
    token: str

    def client(self) -> httpx.Client:
        return self.sandbox.incidentfox(self.token)

    def admin(self) -> httpx.Client:
        return self.sandbox.incidentfox(self.sandbox.info.incidentfox_org_admin_token)


def _data(response: httpx.Response, dialect: str) -> Any:
    body = response.json()
    if dialect == "hosted":
        assert set(body) == {"data", "meta"}, body
        assert body["meta"]["request_id"] == response.headers["x-request-id"]
        assert body["meta"]["timestamp"].endswith("Z")
        return body["data"]
    return body


def make_team(sandbox: SandboxHandle, parent_id: str | None = None) -> Team:
    dialect = sandbox.info.dialect
    org = sandbox.info.incidentfox_org_id
    node_id = f"team-{uuid.uuid4().hex[:8]}"
    with sandbox.incidentfox(sandbox.info.incidentfox_org_admin_token) as admin:
        body: dict[str, Any] = {"node_id": node_id, "name": node_id.title()}
        if parent_id:
            body["parent_id"] = parent_id
        created = admin.post(f"/admin/orgs/{org}/nodes", json=body)
        assert created.status_code == 201, created.text
        minted = admin.post(f"/admin/orgs/{org}/teams/{node_id}/tokens")
        assert minted.status_code == 201, minted.text
    return Team(sandbox, node_id, _data(minted, dialect)["token"])


@pytest.fixture
def hosted_team(sandbox: SandboxHandle) -> Team:
    sandbox.update_settings(write_limit=1000, read_limit=1000)
    return make_team(sandbox)


@pytest.fixture
def oss_team(sandbox_oss: SandboxHandle) -> Team:
    return make_team(sandbox_oss)


# hosted dialect ------------------------------------------------------------------------------------------------


def test_hosted_auth_me_and_bootstrap_team(sandbox: SandboxHandle) -> None:
    with sandbox.incidentfox() as client:
        me = _data(client.get("/auth/me"), "hosted")
    assert me["role"] == "team" and me["auth_kind"] == "team_token"
    assert me["org_id"] == sandbox.info.incidentfox_org_id
    assert me["team_node_id"] == sandbox.info.incidentfox_team_id
    assert me["subject"] == sandbox.info.incidentfox_team_token.split(".")[0]
    with sandbox.incidentfox(sandbox.info.incidentfox_org_admin_token) as admin:
        admin_me = _data(admin.get("/auth/me"), "hosted")
    assert admin_me["role"] == "admin" and admin_me["permissions"] == ["admin:*"]


def test_token_format(sandbox: SandboxHandle, hosted_team: Team) -> None:
    for token in (sandbox.info.incidentfox_team_token, sandbox.info.incidentfox_org_admin_token, hosted_team.token):
        token_id, secret = token.split(".")
        assert len(token_id) == 32 and int(token_id, 16) >= 0
        assert len(secret) == 43


def test_hosted_effective_config_hierarchy(hosted_team: Team) -> None:
    with hosted_team.client() as client:
        effective = _data(client.get("/config/me/effective"), "hosted")
        assert _data(client.get("/config/me"), "hosted") == effective
        raw = _data(client.get("/config/me/raw"), "hosted")
    # defaults: planner entrance agent; the org turns auto_investigate on and restyles the output.
    assert effective["entrance_agent"] == "planner"
    assert set(effective["agents"]) >= {"planner", "investigation", "coding", "writeup"}
    assert effective["feature_flags"] == {
        "auto_investigate": True,
        "postmortem_drafts": True,
        "slack_thread_replies": True,
    }
    assert effective["output_config"]["formatting"] == {"style": "detailed", "include_timeline": True}
    # The org also tunes the planner: 15 turns instead of 20, temperature 0.3 instead of 0.2.
    planner = effective["agents"]["planner"]
    assert (planner["max_turns"], planner["model"]["temperature"], planner["model"]["name"]) == (15, 0.3, "gpt-4o")
    assert raw["lineage"] == [hosted_team.sandbox.info.incidentfox_org_id, hosted_team.node_id]
    assert raw["configs"][hosted_team.node_id] == {}


def test_hosted_merge_rules(hosted_team: Team) -> None:
    with hosted_team.client() as client:

        def put(body: dict[str, Any]) -> dict[str, Any]:
            response = client.put("/config/me", json=body)
            assert response.status_code == 200, response.text
            return dict(_data(response, "hosted"))

        first = put({"routing": {"services": ["api", "web"], "github_repos": ["org/api"]}, "custom": {"a": 1, "b": 2}})
        assert first["message"] and sorted(first["changed_fields"]) == [
            "custom.a",
            "custom.b",
            "routing.github_repos",
            "routing.services",
        ]
        # Objects merge key by key; lists replace whole; other keys are kept.
        second = put({"routing": {"services": ["worker"]}, "custom": {"b": 3}})
        effective = second["effective_config"]
        assert effective["routing"]["services"] == ["worker"]
        assert effective["routing"]["github_repos"] == ["org/api"]
        assert effective["custom"] == {"a": 1, "b": 3}
        assert second["version"] == first["version"] + 1
        # null is stored, masks the inherited value, and deletes nothing.
        third = put({"feature_flags": {"auto_investigate": None}, "custom": None})
        assert third["effective_config"]["feature_flags"]["auto_investigate"] is None
        assert third["effective_config"]["custom"] is None
        raw = _data(client.get("/config/me/raw"), "hosted")["configs"][hosted_team.node_id]
        assert raw["feature_flags"] == {"auto_investigate": None} and "custom" in raw
        # A scalar replaces an object and the reverse; an empty object is a no-op that still bumps the version.
        put({"custom": {"again": True}})
        fourth = put({})
        assert fourth["version"] == third["version"] + 2
        assert fourth["effective_config"]["custom"] == {"again": True}
        # "__INHERIT__" is just a string.
        assert put({"entrance_agent": "planner", "webhooks": {"x": "__INHERIT__"}})["effective_config"]["webhooks"] == {
            "x": "__INHERIT__"
        }
        audit = _data(client.get("/config/me/audit", params={"limit": 3, "include_full": "true"}), "hosted")
    versions = [row["version"] for row in audit["history"]]
    assert versions == sorted(versions, reverse=True) and len(versions) == 3
    assert audit["history"][0]["full_config"]["webhooks"] == {"x": "__INHERIT__"}
    assert audit["history"][0]["diff"]["added"] == {"entrance_agent": "planner", "webhooks": {"x": "__INHERIT__"}}


def test_hosted_wrapper_body_is_merged_literally(hosted_team: Team) -> None:
    with hosted_team.client() as client:
        response = client.put("/config/me", json={"config": {"k": 1}, "reason": "r"})
        raw = _data(client.get("/config/me/raw"), "hosted")["configs"][hosted_team.node_id]
    assert response.status_code == 200
    assert raw == {"config": {"k": 1}, "reason": "r"}


def test_hosted_errors(sandbox: SandboxHandle, hosted_team: Team) -> None:
    with hosted_team.client() as client:
        assert client.put("/config/me", json={"team_name": hosted_team.node_id.title()}).status_code == 200
        immutable = client.put("/config/me", json={"team_name": "Renamed"})
        assert immutable.status_code == 400
        assert (
            immutable.json()["error"]["code"] == "invalid_field" and immutable.json()["error"]["field"] == "team_name"
        )
        invalid = client.put("/config/me", json=["not", "an", "object"])
        assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "validation_error"
        dependency = client.put("/config/me", json={"agents": {"planner": {"enabled": False}}})
        assert dependency.status_code == 400 and "entrance_agent" in dependency.json()["error"]["message"]
        patch = client.patch("/config/me", json={"config": {}})
        assert patch.status_code == 405 and patch.headers["allow"] == "GET, PUT"
        assert client.get("/admin/teams").status_code == 403
        missing = client.get("/no/such/route")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    unauthenticated = httpx.get(f"{sandbox.info.incidentfox_base_url}/config/me")
    assert unauthenticated.status_code == 401
    assert set(unauthenticated.json()["error"]) == {"code", "message", "request_id"}
    with sandbox.incidentfox(f"{uuid.uuid4().hex}.wrong-secret") as client:
        assert client.get("/config/me").json()["error"]["code"] == "unauthorized"
    with sandbox.incidentfox(sandbox.info.incidentfox_org_admin_token) as admin:
        assert admin.get("/config/me").status_code == 403


def test_hosted_refuses_a_null_entrance_agent(hosted_team: Team) -> None:
    with hosted_team.client() as client:
        refused = client.put("/config/me", json={"entrance_agent": None})
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "validation_error"
        assert "entrance_agent None" in refused.json()["error"]["message"]
        raw = _data(client.get("/config/me/raw"), "hosted")["configs"][hosted_team.node_id]
        # Other nulls are stored as in the open-source service.
        accepted = client.put("/config/me", json={"agents": {"planner": {"max_turns": None}}})
    assert raw == {}
    assert accepted.status_code == 200
    assert _data(accepted, "hosted")["effective_config"]["agents"]["planner"]["max_turns"] is None


def test_hosted_mcp_servers_as_list_of_names(hosted_team: Team) -> None:
    with hosted_team.client() as client:
        response = client.put("/config/me", json={"mcp_servers": ["github", "grafana"]})
        assert response.status_code == 200
        referenced = client.put("/config/me", json={"agents": {"investigation": {"mcps": {"grafana": True}}}})
        assert referenced.status_code == 200
        unknown = client.put("/config/me", json={"agents": {"investigation": {"mcps": {"nope": True}}}})
    assert unknown.status_code == 400 and "nope" in unknown.json()["error"]["message"]


def test_hosted_admin_teams_tokens_and_revocation(sandbox: SandboxHandle, hosted_team: Team) -> None:
    org = sandbox.info.incidentfox_org_id
    with hosted_team.admin() as admin:
        teams = _data(admin.get("/admin/teams"), "hosted")
        assert hosted_team.node_id in {team["node_id"] for team in teams}
        assert (
            admin.post(f"/admin/orgs/{org}/nodes", json={"node_id": hosted_team.node_id, "name": "x"}).status_code
            == 409
        )
        second = _data(
            admin.post(f"/admin/orgs/{org}/teams/{hosted_team.node_id}/tokens", json={"label": "ci"}), "hosted"
        )
        tokens = _data(admin.get(f"/admin/orgs/{org}/teams/{hosted_team.node_id}/tokens"), "hosted")
        assert len(tokens) == 2 and {row["label"] for row in tokens} == {None, "ci"}
        assert all(set(row) >= {"token_id", "issued_at", "revoked_at", "last_used_at"} for row in tokens)
        assert all(second["token"] not in str(row) and second["token"].split(".")[1] not in str(row) for row in tokens)
        with sandbox.incidentfox(second["token"]) as client:
            assert client.get("/auth/me").status_code == 200
        revoked = admin.post("/admin/tokens/revoke", json={"token_id": second["token"].split(".")[0]})
        assert _data(revoked, "hosted") == {"status": "ok"}
        with sandbox.incidentfox(second["token"]) as client:
            assert client.get("/auth/me").status_code == 401
        # Idempotent, and an unknown id is fine too.
        again = admin.post(f"/admin/orgs/{org}/teams/{hosted_team.node_id}/tokens/{uuid.uuid4().hex}/revoke")
        assert again.status_code == 200
        assert admin.get("/admin/orgs/other-org/nodes").status_code == 403
    with hosted_team.client() as client:
        assert client.get("/auth/me").status_code == 200  # the first token still works


def test_expired_team_token(sandbox: SandboxHandle, hosted_team: Team, wait_until: Callable[..., bool]) -> None:
    org = sandbox.info.incidentfox_org_id
    with hosted_team.admin() as admin:
        short = _data(
            admin.post(f"/admin/orgs/{org}/teams/{hosted_team.node_id}/tokens", json={"expires_in_seconds": 1}),
            "hosted",
        )["token"]
    with sandbox.incidentfox(short) as client:
        assert wait_until(lambda: client.get("/auth/me").status_code == 401, timeout=15)
        assert client.get("/auth/me").json()["error"]["code"] == "token_expired"


def test_nested_teams_inherit(sandbox: SandboxHandle, hosted_team: Team) -> None:
    with hosted_team.client() as client:
        parent = client.put(
            "/config/me", json={"routing": {"services": ["parent-svc"]}, "feature_flags": {"postmortem_drafts": False}}
        )
        assert parent.status_code == 200
        # Disabling a tool an agent still uses is refused.
        assert client.put("/config/me", json={"tools": {"query_logs": False}}).status_code == 400
    child = make_team(sandbox, parent_id=hosted_team.node_id)
    with child.client() as client:
        raw = _data(client.get("/config/me/raw"), "hosted")
        effective = _data(client.get("/config/me"), "hosted")
    assert raw["lineage"] == [sandbox.info.incidentfox_org_id, hosted_team.node_id, child.node_id]
    assert effective["routing"]["services"] == ["parent-svc"]
    assert effective["feature_flags"]["postmortem_drafts"] is False


def test_concurrent_writes_never_lose_keys(hosted_team: Team) -> None:
    count = 30

    def write(index: int) -> int:
        with hosted_team.client() as client:
            response = client.put("/config/me", json={"parallel": {f"key{index}": index}})
            assert response.status_code == 200, response.text
            return int(_data(response, "hosted")["version"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(write, range(count)))
    assert len(set(versions)) == count
    with hosted_team.client() as client:
        raw = _data(client.get("/config/me/raw"), "hosted")["configs"][hosted_team.node_id]
    assert raw["parallel"] == {f"key{index}": index for index in range(count)}


# oss dialect ---------------------------------------------------------------------------------------------------


def test_oss_shapes(sandbox_oss: SandboxHandle, oss_team: Team) -> None:
    with oss_team.client() as client:
        me = client.get("/config/me").json()
        assert set(me) == {"node_id", "effective_config", "computed_at", "hierarchy"}
        assert me["computed_at"] is None and me["hierarchy"][-1] == oss_team.node_id
        assert client.get("/config/me/effective").json() == me
        patched = client.patch("/config/me", json={"config": {"routing": {"services": ["a"]}}, "reason": "test"})
        assert patched.status_code == 200
        body = patched.json()
        assert set(body) == {"node_id", "node_type", "config", "version", "updated_at", "updated_by"}
        assert body["config"] == {"routing": {"services": ["a"]}} and body["updated_by"] == "team"
        again = client.patch("/config/me", json={"config": {}, "reason": None}).json()
        assert again["version"] == body["version"] + 1
        raw = client.get("/config/me/raw").json()
        assert raw["configs"][raw["lineage"][-1]] == {"routing": {"services": ["a"]}}
        auth_me = client.get("/auth/me").json()
        assert auth_me["team_node_id"] == oss_team.node_id
        for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            assert header not in patched.headers


def test_oss_errors(sandbox_oss: SandboxHandle, oss_team: Team) -> None:
    with oss_team.client() as client:
        raw_body = client.patch("/config/me", json={"routing": {"services": ["a"]}})
        assert raw_body.status_code == 422
        detail = raw_body.json()["detail"]
        assert isinstance(detail, list) and detail[0]["loc"] == ["body", "config"]
        put = client.put("/config/me", json={"a": 1})
        assert put.status_code == 405 and put.headers["allow"] == "GET"
        assert put.json() == {"detail": "Method Not Allowed"}
        echoed = client.get("/config/me", headers={"x-request-id": "caller-123"})
        assert echoed.headers["x-request-id"] == "caller-123"
        assert client.get("/nope").json() == {"detail": "Not Found"}
        # Documented-only routes do not exist here.
        assert client.get("/config/me/audit").status_code == 404
        dependency = client.patch("/config/me", json={"config": {"entrance_agent": "ghost"}})
        assert dependency.status_code == 400
        assert dependency.json()["detail"]["error"] == "dependency_validation_failed"
    unauthenticated = httpx.get(f"{sandbox_oss.info.incidentfox_base_url}/config/me")
    assert unauthenticated.status_code == 401 and unauthenticated.json()["detail"].startswith("Authentication required")
    with sandbox_oss.incidentfox(f"{uuid.uuid4().hex}.nope") as client:
        assert client.get("/config/me").json() == {"detail": "Invalid token"}
    defaults = httpx.get(f"{sandbox_oss.info.incidentfox_base_url}/config/defaults")
    assert defaults.status_code == 200 and defaults.json()["entrance_agent"] == "planner"


OSS_NULLS: list[dict[str, Any]] = [
    {"entrance_agent": None},
    {"agents": {"planner": {"max_turns": None}}},
    {"agents": {"planner": {"model": {"temperature": None}}}},
    {"agents": {"planner": {"model": None, "prompt": None, "tools": None, "sub_agents": None, "mcps": None}}},
    {"agents": {"planner": {"tools": {"think": None}}}},
    {"feature_flags": {"x": None}},
    {"feature_flags": None},
    {"routing": None},
    {"routing": {"services": None}},
    {"tools": None},
    {"tools": {"think": None}},
    {"integrations": None},
    {"output_config": {"formatting": None}},
    {"webhooks": {"investigation_complete": None}},
    {"alerts": None},
    {"team_name": None},
    {"custom": None},
    {"mcp_servers": {"gh": {"args": None, "type": None, "env": None, "name": None, "command": None}}},
    {"mcp_servers": {"gh": {"env": {"GITHUB_TOKEN": None}}}},
]


def _leaves(config: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(config, dict) and config:
        return [path for key, value in config.items() for path in _leaves(value, (*prefix, key))]
    return [prefix]


def _at(config: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        config = config[key]
    return config


@pytest.mark.parametrize("config", OSS_NULLS, ids=lambda config: ".".join(_leaves(config)[0]))
def test_oss_accepts_and_stores_null(oss_team: Team, config: dict[str, Any]) -> None:
    mcp = {"name": "GitHub", "command": "npx", "args": ["-y", "gh"], "env": {"GITHUB_TOKEN": "t"}, "type": "stdio"}
    with oss_team.client() as client:
        if "mcp_servers" in config:
            assert client.patch("/config/me", json={"config": {"mcp_servers": {"gh": mcp}}}).status_code == 200
        before = client.get("/config/me/raw").json()["configs"][oss_team.node_id]
        response = client.patch("/config/me", json={"config": config, "reason": "null"})
        assert response.status_code == 200, response.text
        effective = client.get("/config/me/effective").json()["effective_config"]
        raw = client.get("/config/me/raw").json()["configs"][oss_team.node_id]
    assert response.json()["config"] == raw == deep_merge(before, config)
    for path in _leaves(config):
        assert _at(raw, path) is None and _at(effective, path) is None, path


def test_oss_null_entrance_agent_then_a_bad_one(oss_team: Team) -> None:
    with oss_team.client() as client:
        nulled = client.patch("/config/me", json={"config": {"entrance_agent": None}})
        assert nulled.status_code == 200 and nulled.json()["config"] == {"entrance_agent": None}
        assert client.get("/config/me").json()["effective_config"]["entrance_agent"] is None
        # Naming a missing or disabled agent is still refused.
        disabled = {"entrance_agent": "writeup", "agents": {"writeup": {"enabled": False}}}
        for config in ({"entrance_agent": "ghost"}, disabled):
            refused = client.patch("/config/me", json={"config": config})
            assert refused.status_code == 400, config
            assert refused.json()["detail"]["error"] == "dependency_validation_failed"
        assert client.patch("/config/me", json={"config": {"entrance_agent": "planner"}}).status_code == 200


def test_oss_null_masks_the_org_value(sandbox_oss: SandboxHandle, oss_team: Team) -> None:
    org = sandbox_oss.info.incidentfox_org_id

    def planner(client: httpx.Client) -> dict[str, Any]:
        return dict(client.get("/config/me/effective").json()["effective_config"]["agents"]["planner"])

    with oss_team.client() as client:
        inherited = planner(client)
        org_raw = client.get("/config/me/raw").json()["configs"][org]
        assert org_raw["agents"] == {"planner": {"max_turns": 15, "model": {"temperature": 0.3}}}
        assert inherited["max_turns"] == 15 and type(inherited["max_turns"]) is int
        assert inherited["model"] == {"name": "gpt-4o", "temperature": 0.3, "max_tokens": 4096}
        masked = client.patch("/config/me", json={"config": {"agents": {"planner": {"max_turns": None}}}})
        assert masked.status_code == 200, masked.text
        after = planner(client)
        assert after["max_turns"] is None
        assert after["model"]["temperature"] == 0.3 and after["enabled"] is True  # siblings still inherited
        # Nulling the whole planner would leave the entrance agent missing.
        version = masked.json()["version"]
        refused = client.patch("/config/me", json={"config": {"agents": {"planner": None}}})
        assert refused.status_code == 400
        assert refused.json()["detail"]["error"] == "dependency_validation_failed"
        assert "entrance_agent 'planner'" in refused.json()["detail"]["message"]
        raw = client.get("/config/me/raw").json()["configs"][oss_team.node_id]
    assert raw == {"agents": {"planner": {"max_turns": None}}}
    with oss_team.admin() as admin:
        assert admin.get(f"/config/orgs/{org}/nodes/{oss_team.node_id}/raw").json()["version"] == version


def test_oss_two_write_reset_of_a_subtree(oss_team: Team) -> None:
    with oss_team.client() as client:

        def patch(config: dict[str, Any]) -> dict[str, Any]:
            response = client.patch("/config/me", json={"config": config})
            assert response.status_code == 200, response.text
            return dict(response.json()["config"])

        patch({"routing": {"services": ["old"], "github_repos": ["org/old"], "slack_channel_ids": ["C1"]}})
        assert patch({"routing": None}) == {"routing": None}
        assert client.get("/config/me").json()["effective_config"]["routing"] is None
        assert patch({"routing": {"services": ["a"]}}) == {"routing": {"services": ["a"]}}
        raw = client.get("/config/me/raw").json()["configs"][oss_team.node_id]
        effective = client.get("/config/me").json()["effective_config"]
    assert raw["routing"] == {"services": ["a"]}
    assert effective["routing"] == {**SYSTEM_DEFAULTS["routing"], "services": ["a"]}
    assert effective["routing"]["github_repos"] == [] and effective["routing"]["slack_channel_ids"] == []


@pytest.mark.parametrize(
    ("config", "plain"),
    [
        ({"mcp_servers": ["github"]}, False),
        ({"mcp_servers": None}, False),
        ({"mcp_servers": {"github": None}}, False),
        ({"agents": ["planner"]}, True),
    ],
)
def test_oss_crash_cases_answer_500_and_write_nothing(oss_team: Team, config: dict[str, Any], plain: bool) -> None:
    with oss_team.client() as client:
        before = (
            oss_team.admin()
            .get(f"/config/orgs/{oss_team.sandbox.info.incidentfox_org_id}/nodes/{oss_team.node_id}/raw")
            .json()
        )
        response = client.patch("/config/me", json={"config": config})
        assert response.status_code == 500
        assert response.headers["x-sandbox-deliberate-error"] == "oss-crash"
        if plain:
            assert response.text == "Internal Server Error"
        else:
            assert "object has no attribute" in response.json()["detail"]
        after = (
            oss_team.admin()
            .get(f"/config/orgs/{oss_team.sandbox.info.incidentfox_org_id}/nodes/{oss_team.node_id}/raw")
            .json()
        )
    assert after["version"] == before["version"] and after["config"] == before["config"]


def test_oss_admin_put_lockout(sandbox_oss: SandboxHandle, oss_team: Team) -> None:
    org = sandbox_oss.info.incidentfox_org_id
    with oss_team.admin() as admin, oss_team.client() as client:
        ok = client.patch(
            "/config/me", json={"config": {"mcp_servers": {"github": {"name": "GitHub", "enabled": True}}}}
        )
        assert ok.status_code == 200
        put = admin.put(
            f"/admin/orgs/{org}/nodes/{oss_team.node_id}/config", json={"patch": {"mcp_servers": {"github": None}}}
        )
        assert put.status_code == 200 and put.json() == {"config": {"mcp_servers": {"github": None}}}
        locked = client.patch("/config/me", json={"config": {"unrelated": 1}})
        assert locked.status_code == 500
        fixed = admin.put(
            f"/admin/orgs/{org}/nodes/{oss_team.node_id}/config",
            json={"patch": {"mcp_servers": {"github": {"enabled": False}}}},
        )
        assert fixed.status_code == 200
        assert client.patch("/config/me", json={"config": {"unrelated": 1}}).status_code == 200


def test_oss_admin_node_routes_and_history(sandbox_oss: SandboxHandle, oss_team: Team) -> None:
    org = sandbox_oss.info.incidentfox_org_id
    base = f"/config/orgs/{org}/nodes/{oss_team.node_id}"
    with oss_team.admin() as admin:
        raw = admin.get(f"{base}/raw").json()
        patched = admin.patch(
            base,
            json={"config": {"alerts": {"disabled": ["cpu"]}}, "reason": "quiet"},
            headers={"x_admin_actor": "alice"},
        )
        assert patched.status_code == 200 and patched.json()["version"] == raw["version"] + 1
        assert patched.json()["updated_by"] == "alice"
        patched2 = admin.patch(
            base, json={"config": {"alerts": {"disabled": ["mem"]}}}, headers={"X-Admin-Actor": "bob"}
        )
        assert patched2.json()["updated_by"] == "admin"  # only the literal x_admin_actor header is read
        history = admin.get(f"{base}/history", params={"limit": 2}).json()
        assert [row["version"] for row in history] == [raw["version"] + 2, raw["version"] + 1]
        assert history[0]["change_diff"]["changed"] == {"alerts.disabled": {"old": ["cpu"], "new": ["mem"]}}
        assert history[1]["change_reason"] == "quiet" and history[1]["changed_by"] == "alice"
        nodes = admin.get(f"/admin/orgs/{org}/nodes").json()
        assert {node["node_id"] for node in nodes} >= {org, oss_team.node_id}
        assert admin.get(f"/admin/orgs/{org}/nodes/{oss_team.node_id}").json()["node_type"] == "team"
        assert admin.get("/admin/teams").status_code == 404  # documented, not in the open-source service
        assert admin.get(f"{base.replace(oss_team.node_id, 'ghost')}/raw").status_code == 404
    with oss_team.client() as client:
        assert client.get(f"{base}/raw").status_code == 403


def test_oss_has_no_rate_limits(sandbox_oss: SandboxHandle, oss_team: Team) -> None:
    sandbox_oss.update_settings(read_limit=2, write_limit=1)
    with oss_team.client() as client:
        statuses = [client.get("/config/me/raw").status_code for _ in range(6)]
        writes = [client.patch("/config/me", json={"config": {}}).status_code for _ in range(3)]
    assert statuses == [200] * 6 and writes == [200] * 3


def test_revoked_and_expired_in_oss(sandbox_oss: SandboxHandle, oss_team: Team) -> None:
    org = sandbox_oss.info.incidentfox_org_id
    token_id = oss_team.token.split(".")[0]
    with oss_team.admin() as admin:
        revoked = admin.post(f"/admin/orgs/{org}/teams/{oss_team.node_id}/tokens/{token_id}/revoke")
        assert revoked.json() == {"status": "ok"}
        tokens = admin.get(f"/admin/orgs/{org}/teams/{oss_team.node_id}/tokens").json()
    assert tokens[0]["revoked_at"] is not None
    started = time.monotonic()
    with oss_team.client() as client:
        response = client.get("/config/me")
    assert response.status_code == 401 and response.json() == {"detail": "Token revoked"}
    assert time.monotonic() - started < 30


# unlocked read-modify-write (multi-worker open-source deployment) ---------------------------------------------


def _write(team: Team, key: str) -> tuple[int, int]:
    """One team write of ``{key: True}`` in the team's dialect: (status, version)."""
    with team.client() as client:
        if team.sandbox.info.dialect == "oss":
            response = client.patch("/config/me", json={"config": {key: True}, "reason": key})
            return response.status_code, int(response.json()["version"])
        response = client.put("/config/me", json={key: True})
        return response.status_code, int(_data(response, "hosted")["version"])


def _overlapping_writes(team: Team) -> tuple[list[tuple[int, int]], dict[str, Any]]:
    """Two writes of distinct keys, the second started 0.1 s after the first; their results and the raw config."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(_write, team, "first_key")
        time.sleep(0.1)
        second = pool.submit(_write, team, "second_key")
        results = [first.result(), second.result()]
    with team.client() as client:
        raw = _data(client.get("/config/me/raw"), team.sandbox.info.dialect)["configs"][team.node_id]
    return results, dict(raw)


@pytest.mark.parametrize("dialect", ["oss", "hosted"])
def test_unlocked_write_window_loses_updates(request: pytest.FixtureRequest, dialect: str) -> None:
    team: Team = request.getfixturevalue("oss_team" if dialect == "oss" else "hosted_team")
    settings = team.sandbox.update_settings(unlocked_write_window=0.5)
    assert settings["unlocked_write_window"] == 0.5
    results, raw = _overlapping_writes(team)
    (first_status, first_version), (second_status, second_version) = results
    assert first_status == second_status == 200
    assert first_version == second_version  # both wrote "stale version + 1"
    assert raw == {"second_key": True}  # the later commit dropped the first write's key
    with team.admin() as admin:
        org = team.sandbox.info.incidentfox_org_id
        raw_view = _data(admin.get(f"/config/orgs/{org}/nodes/{team.node_id}/raw"), dialect)
        history = _data(admin.get(f"/config/orgs/{org}/nodes/{team.node_id}/history"), dialect)
    assert raw_view["version"] == first_version
    assert [row["version"] for row in history].count(first_version) == 2  # duplicate version numbers


def test_without_the_window_overlapping_writes_keep_both_keys(oss_team: Team) -> None:
    assert oss_team.sandbox.state()["settings"]["unlocked_write_window"] is None
    results, raw = _overlapping_writes(oss_team)
    assert [status for status, _ in results] == [200, 200]
    assert results[0][1] != results[1][1]
    assert raw == {"first_key": True, "second_key": True}


def test_reads_are_served_during_the_unlocked_write_window(oss_team: Team) -> None:
    oss_team.sandbox.update_settings(unlocked_write_window=1.0)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool, oss_team.client() as client:
        client.get("/auth/me")  # connect first, so only the request itself is timed
        pending = pool.submit(_write, oss_team, "slow_key")
        time.sleep(0.1)
        started = time.monotonic()
        during = client.get("/config/me/raw")
        elapsed = time.monotonic() - started
        assert pending.result()[0] == 200
    assert during.status_code == 200 and elapsed < 0.4, elapsed
    assert during.json()["configs"][oss_team.node_id] == {}  # the pending write is not visible yet


def test_unlocked_write_window_setting_is_validated_and_reset(sandbox_oss: SandboxHandle) -> None:
    with pytest.raises(httpx.HTTPStatusError) as too_long:
        sandbox_oss.update_settings(unlocked_write_window=10.5)
    assert too_long.value.response.status_code == 422
    with pytest.raises(httpx.HTTPStatusError):
        sandbox_oss.update_settings(unlocked_write_window=-1)
    assert sandbox_oss.update_settings(unlocked_write_window=0)["unlocked_write_window"] == 0
    assert sandbox_oss.update_settings(unlocked_write_window=None)["unlocked_write_window"] is None
    sandbox_oss.update_settings(unlocked_write_window=2)
    sandbox_oss.reset()
    assert sandbox_oss.state()["settings"]["unlocked_write_window"] is None


# admin node PATCH (rename, re-parent) and the missing node delete -------------------------------------------------


@pytest.fixture(params=["hosted", "oss"])
def any_sandbox(request: pytest.FixtureRequest) -> SandboxHandle:
    """Either dialect's sandbox (the admin routes are served in both), with rate limits out of the way."""
    handle: SandboxHandle = request.getfixturevalue("sandbox_oss" if request.param == "oss" else "sandbox")
    if request.param == "hosted":
        handle.update_settings(write_limit=1000, read_limit=1000)
    return handle


def _admin(sandbox: SandboxHandle) -> httpx.Client:
    return sandbox.incidentfox(sandbox.info.incidentfox_org_admin_token)


def _assert_parent_refused(response: httpx.Response, dialect: str) -> None:
    assert response.status_code == 400, response.text
    if dialect == "hosted":
        error = response.json()["error"]
        assert error["code"] == "invalid_field" and error["field"] == "parent_id"
    else:
        assert isinstance(response.json()["detail"], str)


def _effective(team: Team) -> dict[str, Any]:
    with team.client() as client:
        body = _data(client.get("/config/me"), team.sandbox.info.dialect)
    return dict(body if team.sandbox.info.dialect == "hosted" else body["effective_config"])


def test_admin_node_rename(any_sandbox: SandboxHandle) -> None:
    dialect, org = any_sandbox.info.dialect, any_sandbox.info.incidentfox_org_id
    team = make_team(any_sandbox)
    with _admin(any_sandbox) as admin:
        before = _data(admin.get(f"/admin/orgs/{org}/nodes/{team.node_id}"), dialect)
        renamed = admin.patch(f"/admin/orgs/{org}/nodes/{team.node_id}", json={"name": "Renamed Team"})
        assert renamed.status_code == 200, renamed.text
        after = _data(admin.get(f"/admin/orgs/{org}/nodes/{team.node_id}"), dialect)
        listed = {node["node_id"]: node for node in _data(admin.get(f"/admin/orgs/{org}/nodes"), dialect)}
    assert _data(renamed, dialect) == after
    assert after["name"] == "Renamed Team" and listed[team.node_id]["name"] == "Renamed Team"
    assert after["parent_id"] == before["parent_id"] == org
    assert after["version"] == before["version"]  # metadata only: the config version is untouched


def test_admin_node_reparent_changes_the_effective_config(any_sandbox: SandboxHandle) -> None:
    dialect, org = any_sandbox.info.dialect, any_sandbox.info.incidentfox_org_id
    old_parent, new_parent = make_team(any_sandbox), make_team(any_sandbox)
    child = make_team(any_sandbox, parent_id=old_parent.node_id)
    with _admin(any_sandbox) as admin:
        for parent, key in ((old_parent, "from_old_parent"), (new_parent, "from_new_parent")):
            put = admin.put(f"/admin/orgs/{org}/nodes/{parent.node_id}/config", json={"patch": {key: True}})
            assert put.status_code == 200, put.text
        inherited = _effective(child)
        assert inherited.get("from_old_parent") is True and "from_new_parent" not in inherited
        moved = admin.patch(f"/admin/orgs/{org}/nodes/{child.node_id}", json={"parent_id": new_parent.node_id})
        assert moved.status_code == 200, moved.text
        assert _data(moved, dialect)["parent_id"] == new_parent.node_id
    effective = _effective(child)
    assert effective.get("from_new_parent") is True and "from_old_parent" not in effective
    with child.client() as client:
        raw = _data(client.get("/config/me/raw"), dialect)
    assert raw["lineage"] == [org, new_parent.node_id, child.node_id]


def test_admin_node_patch_refusals(any_sandbox: SandboxHandle) -> None:
    dialect, org = any_sandbox.info.dialect, any_sandbox.info.incidentfox_org_id
    parent = make_team(any_sandbox)
    child = make_team(any_sandbox, parent_id=parent.node_id)
    with _admin(any_sandbox) as admin:
        path = f"/admin/orgs/{org}/nodes/{parent.node_id}"
        before = _data(admin.get(path), dialect)
        unknown = admin.patch(path, json={"name": "Not Applied", "parent_id": "no-such-node"})
        _assert_parent_refused(unknown, dialect)
        for cycle in (parent.node_id, child.node_id):  # itself, then its own descendant
            _assert_parent_refused(admin.patch(path, json={"parent_id": cycle}), dialect)
        _assert_parent_refused(
            admin.patch(f"/admin/orgs/{org}/nodes/{org}", json={"parent_id": parent.node_id}), dialect
        )
        assert _data(admin.get(path), dialect) == before  # nothing changed, not even the name
        assert admin.patch(f"/admin/orgs/{org}/nodes/ghost", json={"name": "x"}).status_code == 404
        invalid = 400 if dialect == "hosted" else 422  # how each dialect answers a body that fails validation
        assert admin.patch(path, json={"node_type": "org"}).status_code == invalid
        assert admin.patch(path, json={"name": ""}).status_code == invalid
    with child.client() as client:
        assert _data(client.get("/config/me/raw"), dialect)["lineage"] == [org, parent.node_id, child.node_id]


def test_admin_node_delete_is_not_allowed(any_sandbox: SandboxHandle) -> None:
    dialect, org = any_sandbox.info.dialect, any_sandbox.info.incidentfox_org_id
    team = make_team(any_sandbox)
    with _admin(any_sandbox) as admin:
        deleted = admin.delete(f"/admin/orgs/{org}/nodes/{team.node_id}")
        assert deleted.status_code == 405 and deleted.headers["allow"] == "GET, PATCH"
        if dialect == "hosted":
            assert deleted.json()["error"]["code"] == "method_not_allowed"
        else:
            assert deleted.json() == {"detail": "Method Not Allowed"}
        assert admin.get(f"/admin/orgs/{org}/nodes/{team.node_id}").status_code == 200
    with team.client() as client:
        assert client.get("/config/me").status_code == 200


def test_team_token_cannot_patch_nodes(any_sandbox: SandboxHandle) -> None:
    dialect, org = any_sandbox.info.dialect, any_sandbox.info.incidentfox_org_id
    team = make_team(any_sandbox)
    with team.client() as client:
        refused = client.patch(f"/admin/orgs/{org}/nodes/{team.node_id}", json={"name": "Mine Now"})
    assert refused.status_code == 403
    with _admin(any_sandbox) as admin:
        assert _data(admin.get(f"/admin/orgs/{org}/nodes/{team.node_id}"), dialect)["name"] == team.node_id.title()
        assert admin.patch(f"/admin/orgs/other-org/nodes/{team.node_id}", json={"name": "x"}).status_code == 403
