"""Team and TeamToken against an in-memory organisation behind httpx.MockTransport (the admin API)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from stackfox_provider import process
from stackfox_provider.clients.http import AmbiguousWriteError, RetryPolicy
from stackfox_provider.clients.incidentfox.admin import IncidentFoxAdminClient, use_admin_client
from stackfox_provider.errors import RefusedError
from stackfox_provider.resources._claims import claims
from stackfox_provider.resources._common import is_unknown
from stackfox_provider.resources.team import TeamProvider
from stackfox_provider.resources.team_config import TeamConfigProvider
from stackfox_provider.resources.team_token import TeamTokenProvider

URL, ORG, ADMIN_TOKEN = "http://fox.test/api/v1", "org1", "adm1.secret"


@dataclass
class FakeOrg:
    """An organisation's nodes and team tokens, as the open-source service's admin routes answer them."""

    nodes: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {ORG: {"node_id": ORG, "parent_id": None, "node_type": "org", "name": "Org"}}
    )
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    lose_next_mint: bool = False
    keeps_labels: bool = True
    lose_next_create: bool = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(f"/api/v1/admin/orgs/{ORG}")
        self.calls.append((request.method, path))
        body = json.loads(request.content) if request.content else {}
        parts = path.strip("/").split("/")
        if request.method == "GET" and parts == ["nodes"]:
            return httpx.Response(200, json=list(self.nodes.values()))
        if request.method == "POST" and parts == ["nodes"]:
            if body["parent_id"] not in self.nodes:
                return httpx.Response(400, json={"detail": f"parent {body['parent_id']!r} not found"})
            self.nodes[body["node_id"]] = {**body}
            if self.lose_next_create:
                self.lose_next_create = False
                raise httpx.ReadTimeout("lost", request=request)
            return httpx.Response(201, json=self.nodes[body["node_id"]])
        if parts[0] == "nodes" and len(parts) == 2:
            node = self.nodes.get(parts[1])
            if node is None:
                return httpx.Response(404, json={"detail": "Not Found"})
            if request.method == "PATCH":
                node.update(body)
            return httpx.Response(200, json=node)
        if parts[0] == "teams" and parts[2] == "tokens":
            team = parts[1]
            if request.method == "GET":
                return httpx.Response(200, json=[t for t in self.tokens.values() if t["team"] == team])
            if len(parts) == 5 and parts[4] == "revoke":
                if parts[3] in self.tokens:
                    self.tokens[parts[3]]["revoked_at"] = "2026-11-28T00:00:00Z"
                return httpx.Response(200, json={"status": "ok"})
            token_id = f"{len(self.tokens):032x}"
            label = body.get("label") if self.keeps_labels else None
            self.tokens[token_id] = {"token_id": token_id, "team": team, "label": label,
                                     "revoked_at": None, "expires_at": None}  # fmt: skip
            if self.lose_next_mint:
                self.lose_next_mint = False
                raise httpx.ReadTimeout("lost", request=request)
            return httpx.Response(201, json={"token": f"{token_id}.s3cret-{token_id}", "issued_at": "now"})
        return httpx.Response(404, json={"detail": "Not Found"})


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOrg]:
    fake = FakeOrg()
    process.reset()
    client = IncidentFoxAdminClient(
        URL, ADMIN_TOKEN, ORG, transport=httpx.MockTransport(fake.handle), retry=RetryPolicy(), sleep=lambda _: None
    )
    use_admin_client(client)
    monkeypatch.setenv("INCIDENTFOX_URL", URL)
    monkeypatch.setenv("INCIDENTFOX_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("INCIDENTFOX_ORG", ORG)
    yield fake
    process.reset()


def checked(provider: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def test_a_team_is_created_under_the_org_renamed_and_reparented_in_place(org: FakeOrg) -> None:
    teams = TeamProvider("payments")
    created = teams.create(checked(teams, {"node_id": "payments", "name": "Payments"}))
    assert created.id == "payments" and created.outs["team_id"] == "payments"
    assert org.nodes["payments"]["parent_id"] == ORG
    TeamProvider("group").create(checked(TeamProvider("group"), {"node_id": "group", "name": "Group"}))

    news = checked(teams, {"node_id": "payments", "name": "Payments team", "parent_id": "group"})
    diff = teams.diff("payments", created.outs, news)
    assert diff.changes and diff.replaces == []
    teams.update("payments", created.outs, news)
    assert org.nodes["payments"]["name"] == "Payments team" and org.nodes["payments"]["parent_id"] == "group"

    back = checked(teams, {"node_id": "payments", "name": "Payments team"})
    teams.update("payments", news, back)
    assert org.nodes["payments"]["parent_id"] == ORG, "no parent_id: the organisation's root"
    assert teams.diff("payments", back, checked(teams, {"node_id": "other", "name": "x"})).replaces == ["node_id"]


def test_an_existing_team_is_adopted_when_it_matches_and_refused_naming_the_fields_otherwise(org: FakeOrg) -> None:
    org.nodes["search"] = {"node_id": "search", "parent_id": ORG, "node_type": "team", "name": "Search"}
    teams = TeamProvider("search")

    teams.create(checked(teams, {"node_id": "search", "name": "Search"}))
    assert ("POST", "/nodes") not in org.calls

    with pytest.raises(RefusedError) as refused:
        teams.create(checked(teams, {"node_id": "search", "name": "Search & Rescue"}))
    assert "name: IncidentFox has 'Search', the program 'Search & Rescue'" in str(refused.value)
    assert org.nodes["search"]["name"] == "Search"


def test_a_team_is_never_deleted_and_the_warning_says_so(org: FakeOrg, capsys: pytest.CaptureFixture[str]) -> None:
    teams = TeamProvider("payments")
    created = teams.create(checked(teams, {"node_id": "payments", "name": "Payments"}))
    calls = len(org.calls)

    teams.delete(created.id, created.outs)

    assert len(org.calls) == calls and "payments" in org.nodes
    assert "IncidentFox cannot delete a team node, so team 'payments' stays" in capsys.readouterr().err


def test_a_refresh_of_many_teams_costs_one_list_call(org: FakeOrg) -> None:
    teams = TeamProvider("t")
    created = [teams.create(checked(teams, {"node_id": f"t{i}", "name": f"T{i}"})) for i in range(5)]
    org.nodes["t3"]["name"] = "Renamed by hand"
    org.calls.clear()

    reads = [teams.read(c.id, c.outs) for c in created]

    assert org.calls == [("GET", "/nodes")]
    assert reads[3].outs["name"] == "Renamed by hand" and reads[0].outs["name"] == "T0"
    del org.nodes["t4"]
    process.reset()  # a new run: the list is read again
    use_admin_client(IncidentFoxAdminClient(URL, ADMIN_TOKEN, ORG, transport=httpx.MockTransport(org.handle)))
    assert teams.read("t4", created[4].outs).id is None, "gone from the organisation"


def test_a_token_is_minted_kept_secret_replaced_on_triggers_and_revoked_on_delete(
    org: FakeOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    org.nodes["payments"] = {"node_id": "payments", "parent_id": ORG, "node_type": "team", "name": "Payments"}
    tokens = TeamTokenProvider("payments-token")
    assert "token" in tokens.secret_outputs
    props = checked(tokens, {"team_id": "payments", "triggers": ["2026-11"]})
    created = tokens.create(props)
    token_id = created.id
    assert created.outs["token"] == f"{token_id}.s3cret-{token_id}" and created.outs["token_id"] == token_id
    assert org.tokens[token_id]["label"].startswith("stackfox ")

    assert not tokens.diff(token_id, created.outs, props).changes
    rotated = checked(tokens, {"team_id": "payments", "triggers": ["2026-12"]})
    diff = tokens.diff(token_id, created.outs, rotated)
    assert diff.replaces == ["triggers"] and diff.delete_before_replace is False

    assert tokens.read(token_id, created.outs).id == token_id
    tokens.delete(token_id, created.outs)
    assert org.tokens[token_id]["revoked_at"] is not None
    assert tokens.read(token_id, created.outs).id is None, "revoked: gone"
    assert tokens.diff(token_id, created.outs, props).replaces == ["token"], "up replaces a revoked token"
    calls = len(org.calls)
    monkeypatch.setenv("STACKFOX_SKIP_CREDENTIALS_CHECK", "true")  # as `stackfox plan` sets it: call no service
    assert not tokens.diff(token_id, created.outs, props).changes
    assert len(org.calls) == calls


def test_a_mint_whose_answer_is_lost_leaves_no_token_nobody_holds(org: FakeOrg) -> None:
    org.nodes["payments"] = {"node_id": "payments", "parent_id": ORG, "node_type": "team", "name": "Payments"}
    org.lose_next_mint = True
    tokens = TeamTokenProvider("payments-token")

    created = tokens.create(checked(tokens, {"team_id": "payments"}))

    valid = [t for t in org.tokens.values() if t["revoked_at"] is None]
    assert [t["token_id"] for t in valid] == [created.id]
    assert len(org.tokens) == 2, "the lost one was found by its label and revoked"


def test_a_mint_lost_twice_is_an_error_and_leaves_no_valid_token(org: FakeOrg) -> None:
    org.nodes["payments"] = {"node_id": "payments", "parent_id": ORG, "node_type": "team", "name": "Payments"}
    real = org.handle

    def always_lost(request: httpx.Request) -> httpx.Response:
        org.lose_next_mint = True
        return real(request)

    client = IncidentFoxAdminClient(URL, ADMIN_TOKEN, ORG, transport=httpx.MockTransport(always_lost))
    with pytest.raises(AmbiguousWriteError):
        client.mint_token("payments", "label")
    assert len(org.tokens) == 2 and all(token["revoked_at"] for token in org.tokens.values())


def test_an_output_of_another_resource_not_known_yet_is_unknown() -> None:
    assert is_unknown(Unknown()) and is_unknown({"token": Unknown()})
    tokens = TeamTokenProvider("t")
    result = tokens.check({}, {"team_id": Unknown(), "triggers": [Unknown(), "1"]})
    assert result.failures == []
    assert result.inputs == {"team_id": UNKNOWN, "triggers": [UNKNOWN, "1"]}, "what the SDK can send back"


def test_teams_at_one_url_differ_by_token_so_their_resources_never_clash() -> None:
    claims.clear()
    flags = {"feature_flags": {"beta": True}}

    def failures(name: str, token: Any) -> list[str]:
        provider = TeamConfigProvider(name)
        connection = {"url": "https://fox.example.com/api/v1", "token": token}
        return [f.reason for f in provider.check({}, {**flags, "connection": connection}).failures]

    assert failures("payments", "t1.payments") == []
    assert failures("search", "t2.search") == []
    assert failures("not-yet-minted", Unknown()) == []  # its team cannot be known in preview
    assert "is also declared by TeamConfig 'payments'" in failures("again", "t1.payments")[0]
    claims.clear()


def test_a_refresh_of_a_teams_tokens_costs_one_list_call(org: FakeOrg) -> None:
    org.nodes["payments"] = {"node_id": "payments", "parent_id": ORG, "node_type": "team", "name": "Payments"}
    tokens = TeamTokenProvider("t")
    created = [tokens.create(checked(tokens, {"team_id": "payments", "label": f"t{i}"})) for i in range(4)]
    org.calls.clear()

    reads = [tokens.read(c.id, c.outs) for c in created]

    assert [r.id for r in reads] == [c.id for c in created]
    assert org.calls == [("GET", "/teams/payments/tokens")]
    tokens.delete(created[0].id, created[0].outs)  # this process's revoke: the next read lists again
    assert tokens.read(created[0].id, created[0].outs).id is None


def test_a_lost_mint_on_a_service_that_keeps_no_label_names_the_tokens_that_appeared(org: FakeOrg) -> None:
    org.nodes["payments"] = {"node_id": "payments", "parent_id": ORG, "node_type": "team", "name": "Payments"}
    org.keeps_labels, org.lose_next_mint = False, True
    client = IncidentFoxAdminClient(URL, ADMIN_TOKEN, ORG, transport=httpx.MockTransport(org.handle))

    with pytest.raises(AmbiguousWriteError) as lost:
        client.mint_token("payments", "label")

    (minted,) = org.tokens
    assert f"token(s) {minted} appeared meanwhile" in str(lost.value)
    assert org.tokens[minted]["revoked_at"] is None, "never revoked on a guess: it may be someone else's"
    assert len(org.tokens) == 1, "and no second token minted"


def test_a_team_create_whose_answer_is_lost_is_read_back_never_posted_twice(org: FakeOrg) -> None:
    org.lose_next_create = True
    teams = TeamProvider("payments")

    created = teams.create(checked(teams, {"node_id": "payments", "name": "Payments"}))

    assert created.id == "payments" and org.nodes["payments"]["name"] == "Payments"
    assert org.calls.count(("POST", "/nodes")) == 1
