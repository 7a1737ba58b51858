"""The team's reserved ``stackfox`` key: one stack per path, and a record that outlives an interrupted create."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from unittest.mock import ANY

import pytest

from stackfox_provider.clients.incidentfox.managers import RESERVED_KEY, Manager, manager_of, pointer
from stackfox_provider.resources._claims import claims
from stackfox_provider.resources._incidentfox import ManagedElsewhereError
from stackfox_provider.resources.mcp_server import McpServerProvider
from stackfox_provider.resources.team_config import TeamConfigProvider
from stackfox_provider.resources.webhook import WebhookProvider
from tests.unit.resources.fake_incidentfox import FakeTeam

PROD = "acme/incident-config/prod"
OTHER = "acme/platform/prod"


@pytest.fixture
def team(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTeam]:
    fake = FakeTeam(
        overrides={
            "feature_flags": {"beta": False},
            "agents": {"planner": {"max_turns": 5}},
            "webhooks": {"done": "https://old.test/done"},
            "mcp_servers": {"gh": {"name": "GitHub", "command": "old-gh", "enabled": False}},
        },
        inherited={"feature_flags": {"new": False}, "agents": {"planner": {"max_turns": 15}}},
    )
    fake.install()
    claims.clear()
    monkeypatch.setenv("INCIDENTFOX_URL", "http://fox.test/api/v1")
    monkeypatch.setenv("INCIDENTFOX_TOKEN", "tok.secret")
    yield fake
    claims.clear()


def provider(cls: Any, name: str, stack: str = PROD) -> Any:
    made = cls(name)
    made.stack_name = stack
    return made


def checked(made: Any, props: dict[str, Any]) -> dict[str, Any]:
    claims.clear()  # each stack runs in its own engine run (and provider process)
    result = made.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def settings(team: FakeTeam) -> dict[str, Any]:
    return {key: value for key, value in team.overrides.items() if key != RESERVED_KEY}


def test_pointers_are_rfc_6901() -> None:
    assert pointer(("webhooks", "done")) == "/webhooks/done"
    assert pointer(("custom", "a/b", "c~d")) == "/custom/a~1b/c~0d"


def test_a_record_that_is_not_stackfox_s_reads_as_no_manager() -> None:
    assert manager_of({RESERVED_KEY: "hand-made"}, ("a",)) is None
    assert manager_of({RESERVED_KEY: {"managers": {"/a": None}}}, ("a",)) is None
    assert manager_of({RESERVED_KEY: {"managers": {"/a": {"stack": PROD}}}}, ("a",)) == Manager(PROD, "?")


def test_a_create_whose_result_was_lost_is_recorded_from_the_team_s_record(team: FakeTeam) -> None:
    """The engine never saw the first create: the second finds the stack's own values, and the record."""
    before = json.loads(json.dumps(team.overrides))
    config = provider(TeamConfigProvider, "settings")
    props = {"feature_flags": {"beta": True, "new": True}, "agents": {"planner": {"max_turns": 12}}}
    config.create(checked(config, props))  # its result is lost: nothing reaches state
    mcp = provider(McpServerProvider, "gh")
    mcp_props = {"server_id": "gh", "command": "new-gh", "env": {"TOKEN": "s3cret"}}
    mcp.create(checked(mcp, mcp_props))  # the same
    effective_before_retry = team.effective()

    again = config.create(checked(config, props))
    mcp_again = mcp.create(checked(mcp, mcp_props))
    assert team.effective() == effective_before_retry, "the retried creates change nothing"
    config.delete(again.id, again.outs)
    mcp.delete(mcp_again.id, mcp_again.outs)

    after = settings(team)
    gh = after["mcp_servers"].pop("gh")
    before["mcp_servers"].pop("gh")
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)
    # The entry that existed is back as it was (enabled included), less keys IncidentFox cannot delete.
    assert (gh["name"], gh["command"], gh["enabled"], gh["env"]) == ("GitHub", "old-gh", False, {})
    assert all(record is None for record in team.overrides[RESERVED_KEY]["managers"].values())


def test_a_path_another_stack_manages_is_refused_before_any_write(team: FakeTeam) -> None:
    theirs = provider(WebhookProvider, "theirs", OTHER)
    theirs_created = theirs.create(checked(theirs, {"event": "done", "url": "https://theirs.test/done"}))
    writes = len(team.writes())
    ours = provider(WebhookProvider, "ours")

    with pytest.raises(ManagedElsewhereError) as refused:
        ours.create(checked(ours, {"event": "done", "url": "https://ours.test/done"}))

    message = str(refused.value)
    assert f"webhooks.done by {OTHER} (Webhook 'theirs')" in message
    assert f'take_over_from="{OTHER}"' in message
    assert len(team.writes()) == writes
    assert team.overrides["webhooks"]["done"] == "https://theirs.test/done"

    # Named, it is taken over; the other stack then sees it managed elsewhere and leaves it on delete.
    taken = ours.create(checked(ours, {"event": "done", "url": "https://ours.test/done", "take_over_from": OTHER}))
    assert manager_of(team.overrides, ("webhooks", "done")) == Manager(PROD, "Webhook 'ours'", ANY)
    read = theirs.read(theirs_created.id, theirs_created.outs)
    assert read.outs["managed_elsewhere"] == {"url": f"{PROD} (Webhook 'ours')"}
    with pytest.raises(ManagedElsewhereError, match=PROD):
        theirs.update(
            theirs_created.id, theirs_created.outs, checked(theirs, {"event": "done", "url": "https://x.test"})
        )
    theirs.delete(theirs_created.id, theirs_created.outs)
    assert team.overrides["webhooks"]["done"] == "https://ours.test/done"

    claims.clear()
    ours.delete(taken.id, taken.outs)
    assert team.overrides["webhooks"]["done"] == "https://theirs.test/done", "what was there before this stack"
    assert manager_of(team.overrides, ("webhooks", "done")) is None


def test_retain_leaves_the_values_and_releases_the_record(team: FakeTeam) -> None:
    hook = provider(WebhookProvider, "hook")
    created = hook.create(checked(hook, {"event": "kept", "url": "https://hooks.test/kept", "on_delete": "retain"}))

    hook.delete(created.id, created.outs)

    assert team.overrides["webhooks"]["kept"] == "https://hooks.test/kept"
    assert manager_of(team.overrides, ("webhooks", "kept")) is None
    other = provider(WebhookProvider, "other", OTHER)
    other.create(checked(other, {"event": "kept", "url": "https://hooks.test/other"}))  # free to take


def test_an_update_records_paths_managed_before_stackfox_kept_records(team: FakeTeam) -> None:
    config = provider(TeamConfigProvider, "settings")
    created = config.create(checked(config, {"feature_flags": {"beta": True}}))
    team.overrides.pop(RESERVED_KEY)  # as if created by a stackfox that kept no records
    team.client_forget()

    config.update(created.id, created.outs, checked(config, {"feature_flags": {"beta": True, "new": True}}))

    beta = manager_of(team.overrides, ("feature_flags", "beta"))
    assert beta is not None and beta.stack == PROD and json.loads(beta.before or "")["value"] is False


def test_an_adopted_resource_writes_nothing_until_its_first_change_which_records_it(team: FakeTeam) -> None:
    config = provider(TeamConfigProvider, "settings")
    server = provider(McpServerProvider, "gh")
    adopted = {"adopted": True}
    config_created = config.create(checked(config, {"feature_flags": {"beta": False}, **adopted}))
    claims.clear()
    gh = {"server_id": "gh", "name": "GitHub", "command": "old-gh", "enabled": False}
    server_created = server.create(checked(server, {**gh, **adopted}))
    assert team.writes() == []
    assert RESERVED_KEY not in team.overrides
    assert json.loads(config_created.outs["previous"])["priors"] == [
        {"path": ["feature_flags", "beta"], "own": True, "value": False}
    ]
    server_read = server.read(server_created.id, server_created.outs)
    assert server_read.outs["type"] == "stdio" and server_read.outs["inherited_fields"] == []
    claims.clear()
    server.delete(server_created.id, server_created.outs)  # restore: what it found is what is there
    assert team.writes() == []
    # Dropping `adopted` is a change: the record comes, and the defaults it found implied are written out.
    claims.clear()
    assert server.diff(server_created.id, server_created.outs, checked(server, gh)).changes
    server.update(server_created.id, server_created.outs, checked(server, gh))
    assert team.overrides["mcp_servers"]["gh"]["type"] == "stdio"
    assert manager_of(team.overrides, ("mcp_servers", "gh", "type")) is not None

    # A value that differs is written, with the record, as without `adopted`.
    claims.clear()
    config.update(config_created.id, config_created.outs, checked(config, {"feature_flags": {"beta": True}, **adopted}))
    beta = manager_of(team.overrides, ("feature_flags", "beta"))
    assert beta is not None and beta.stack == PROD and json.loads(beta.before or "")["value"] is False
    claims.clear()
    hook = provider(WebhookProvider, "hook")
    hook.create(checked(hook, {"event": "done", "url": "https://new.test/done", **adopted}))
    assert team.overrides["webhooks"]["done"] == "https://new.test/done"
    assert manager_of(team.overrides, ("webhooks", "done")) is not None


def test_the_reserved_key_cannot_be_declared() -> None:
    config = TeamConfigProvider("settings")
    failures = {f.property: f.reason for f in config.check({}, {"custom": {RESERVED_KEY: {"x": 1}}}).failures}
    assert "reserved" in failures[f"custom.{RESERVED_KEY}"]


def test_a_record_edited_by_hand_is_not_trusted_for_what_was_there_before(team: FakeTeam) -> None:
    team.overrides[RESERVED_KEY] = {"managers": {"/webhooks/done": {"stack": PROD, "resource": "x", "before": "{"}}}
    hook = provider(WebhookProvider, "done")

    created = hook.create(checked(hook, {"event": "done", "url": "https://new.test/done"}))
    hook.delete(created.id, created.outs)

    assert team.overrides["webhooks"]["done"] == "https://old.test/done"
