"""What IncidentFox resources guarantee on a service that behaves like the real open-source one.

Through the real engine against the sandbox: one team only (the token's team is checked before any
read or write), whole numbers stay JSON integers, destroy gives back the team's *effective* config,
retired MCP servers keep no secret, paths nulled by hand are repaired without losing their history,
and concurrent writers never leave an `up` that exits 0 with a lost path.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stackfox_provider.clients.incidentfox import unwrap
from stackfox_provider.clients.incidentfox.managers import RESERVED_KEY
from stackfox_provider.engine import LocalEngine
from stackfox_provider.keypaths import dotted, leaves
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, effective_config, raw_overrides, write_by_hand, write_project, writes

MCP_TOKEN = "ghp_guarantees_not_for_state"
HOOK_URL = "https://hooks.example.com/ifx/guarantees"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


def stack(engine: LocalEngine, directory: Path, sandbox: SandboxHandle, program: str, **config: str) -> PulumiCli:
    name = directory.name
    cli = PulumiCli(engine, write_project(directory, name, program), name, "e2e")
    cli.init(
        {"stackfox:incidentfoxUrl": sandbox.info.incidentfox_base_url, **config},
        secrets={"stackfox:incidentfoxToken": sandbox.info.incidentfox_team_token, "mcpToken": MCP_TOKEN},
    )
    return cli


def as_json(value: Any) -> str:
    """JSON text with types kept: 12 and 12.0 differ, as they do on the wire."""
    return json.dumps(value, sort_keys=True)


def output_of(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def differing_paths(before: dict[str, Any], after: dict[str, Any]) -> set[tuple[str, ...]]:
    """Leaves whose JSON differs, types included; a null differs from no key at all.

    The reserved ``stackfox`` key is not compared: it stays once used (no key can be deleted), and
    ``released`` checks that each of its records was released.
    """
    old, new = leaves(without_records(before)), leaves(without_records(after))
    missing = "<no key>"
    return {
        path for path in old.keys() | new.keys() if as_json(old.get(path, missing)) != as_json(new.get(path, missing))
    }


def without_records(config: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if key != RESERVED_KEY}


def released(config: dict[str, Any]) -> bool:
    """Whether every record of the reserved key is released (null)."""
    records = (config.get(RESERVED_KEY) or {}).get("managers") or {}
    return bool(records) and all(record is None for record in records.values())


def named_in(path: tuple[str, ...], told: str) -> bool:
    """Whether the warnings name the path or an object above it."""
    return any(dotted(path[:depth]) in told for depth in range(1, len(path) + 1))


@pytest.fixture(params=["hosted", "oss"])
def shared_team(request: pytest.FixtureRequest) -> SandboxHandle:
    """The session's sandbox of each dialect (its data is shared: tests use names of their own)."""
    return request.getfixturevalue("sandbox" if request.param == "hosted" else "sandbox_oss")  # type: ignore[no-any-return]


@pytest.fixture(params=["hosted", "oss"])
def fresh_team(request: pytest.FixtureRequest, sandbox_factory: Callable[..., SandboxHandle]) -> SandboxHandle:
    """A new sandbox: the whole effective config before the stack is known exactly."""
    return sandbox_factory(dialect=request.param)


# -- 2, 3, 4: integers, the effective config, MCP retirement -------------------------------------------

TEAM_PROGRAM = """\
    import pulumi
    from stackfox_provider.incidentfox import McpServer, TeamConfig, Webhook

    config = pulumi.Config()
    McpServer("new-mcp", server_id="github", command="npx", args=["-y", "server-github"],
              env={"GITHUB_TOKEN": config.require_secret("mcpToken")})
    McpServer("known-mcp", server_id="pagerduty", command="pd-mcp", type="stdio",
              env={"PD_TOKEN": config.require_secret("mcpToken")})
    TeamConfig(
        "team",
        entrance_agent="planner",
        agents={
            "planner": {"max_turns": 12, "model": {"temperature": 0.2, "max_tokens": 8192}},
            "investigation": {"max_turns": 9},
        },
        feature_flags={"beta": True, "auto_investigate": False},
        routing={"services": ["payments-api"]},
        custom={"escalation": {"minutes": 30}},
    )
    Webhook("done", event="investigation_complete", url="https://hooks.example.com/ifx/guarantees")
"""


def test_destroy_gives_back_the_effective_config_with_json_types_and_retires_mcp_servers(
    engine: LocalEngine, tmp_path: Path, fresh_team: SandboxHandle
) -> None:
    sandbox = fresh_team
    # What the team had before the stack: its own max_turns 5 (an int) and a disabled PagerDuty server.
    pagerduty = {"name": "PagerDuty", "command": "old", "enabled": False}
    write_by_hand(sandbox, {"agents": {"investigation": {"max_turns": 5}}, "mcp_servers": {"pagerduty": pagerduty}})
    raw_before, effective_before = raw_overrides(sandbox), effective_config(sandbox)
    cli = stack(engine, tmp_path / "team", sandbox, TEAM_PROGRAM)

    cli("up", "--yes")

    raw = raw_overrides(sandbox)
    assert as_json(raw["agents"]["planner"]) == as_json(
        {"max_turns": 12, "model": {"temperature": 0.2, "max_tokens": 8192}}
    ), "whole numbers reach the service as JSON integers"
    assert type(raw["agents"]["investigation"]["max_turns"]) is int
    assert as_json(raw["escalation"]) == '{"minutes": 30}'
    assert raw["mcp_servers"]["pagerduty"]["enabled"] is True
    assert MCP_TOKEN not in cli.state_text()

    destroyed = cli("destroy", "--yes")

    raw_after, effective_after = raw_overrides(sandbox), effective_config(sandbox)
    assert MCP_TOKEN not in json.dumps(raw_after), "no secret stackfox wrote stays on the service"
    assert raw_after["mcp_servers"]["pagerduty"] == {
        "name": "PagerDuty", "command": "old", "enabled": False, "type": None, "env": {},
    }, "an entry that existed is given back as it was, enabled included"  # fmt: skip
    github = raw_after["mcp_servers"]["github"]
    assert github["enabled"] is False and (github["command"], github["args"], github["env"]) == (None, None, {})
    assert as_json(raw_after["agents"]["investigation"]["max_turns"]) == "5", "restored as the int it was"
    # Every effective value is what it was, except where IncidentFox cannot go back and stackfox says so.
    told = output_of(destroyed)
    differing = differing_paths(effective_before, effective_after)
    assert {path for path in differing if not named_in(path, told)} == set(), told
    assert {path for path in differing if path[0] != "mcp_servers"} == {("escalation",)}
    assert released(raw_after), raw_after.get(RESERVED_KEY)
    assert "mcp_servers.github stays, disabled" in told
    assert "cannot remove escalation" in told and "empty object" in told
    assert "except type, which it did not have before" in told  # pagerduty's entry
    assert "cannot remove entrance_agent" in told and '"planner"' in told  # pinned: same effective value
    assert "null" not in json.dumps(raw_after.get("feature_flags")), "no null masks an inherited flag"
    assert raw_after.get("feature_flags", {}).keys() == raw_before.get("feature_flags", {}).keys()
    assert raw_after.get("routing", {}) == raw_before.get("routing", {})


def test_restore_on_the_root_project_leaves_the_effective_config_as_it_was(
    engine: LocalEngine, tmp_path: Path, sandbox_factory: Callable[..., SandboxHandle]
) -> None:
    """`make up` then `pulumi destroy` of the root project's IncidentFox resources on a fresh oss sandbox."""
    sandbox = sandbox_factory(dialect="oss")
    root = Path(__file__).parents[2] / "__main__.py"
    program = "\n".join(line for line in root.read_text().splitlines() if "IncidentCategory(" not in line)
    program = program.split("# name: (label")[0] + '\npulumi.export("incidentfox_team", team.team_id)\n'
    effective_before = effective_config(sandbox)
    cli = stack(engine, tmp_path / "root", sandbox, program)

    cli("up", "--yes")
    destroyed = cli("destroy", "--yes")

    assert released(raw_overrides(sandbox))
    differing = differing_paths(effective_before, effective_config(sandbox))
    # Only the retired GitHub server remains (`mcp_servers` was an empty object before: a leaf of its own).
    assert differing and all(path[:2] in {("mcp_servers",), ("mcp_servers", "github")} for path in differing)
    told = output_of(destroyed)
    assert all(named_in(path, told) for path in differing if len(path) > 1), told


# -- 1: another team's token -------------------------------------------------------------------------

GUARD_PROGRAM = """\
    import pulumi
    from stackfox_provider.incidentfox import McpServer, TeamConfig, Webhook

    config = pulumi.Config()
    TeamConfig("team", feature_flags={"guarded": True})
    Webhook("done", event="guarded_event", url="https://hooks.example.com/ifx/guarded")
    McpServer("mcp", server_id="guarded", command="npx", env={"TOKEN": config.require_secret("mcpToken")})
"""


def second_team(sandbox: SandboxHandle) -> tuple[str, str]:
    """A new team of the sandbox's org and a team token for it: (team id, token)."""
    team_id = unique("other-team")
    org = sandbox.info.incidentfox_org_id
    with sandbox.incidentfox(sandbox.info.incidentfox_org_admin_token) as admin:
        admin.post(f"/admin/orgs/{org}/nodes",
                   json={"node_id": team_id, "parent_id": org, "node_type": "team", "name": team_id},
                   ).raise_for_status()  # fmt: skip
        token = unwrap(admin.post(f"/admin/orgs/{org}/teams/{team_id}/tokens").raise_for_status().json())["token"]
    return team_id, str(token)


def test_a_token_of_another_team_stops_every_operation_before_any_write(
    engine: LocalEngine, tmp_path: Path, shared_team: SandboxHandle
) -> None:
    sandbox = shared_team
    cli = stack(engine, tmp_path / "guard", sandbox, GUARD_PROGRAM)
    cli("up", "--yes")
    other_id, other_token = second_team(sandbox)
    other_before = raw_overrides(sandbox, other_token)
    ours_before = raw_overrides(sandbox)
    state_before = cli.state()
    cli.configure({}, {"stackfox:incidentfoxToken": other_token})  # a copied or rotated token of another team
    sandbox.reset_log()
    expected = f"manages IncidentFox team 'sandbox-team', but its token now belongs to team '{other_id}'"

    # An `up` with nothing to change calls no provider operation; it records the new token with the
    # provider's configuration, which refresh, preview --refresh and destroy then use.
    assert "4 unchanged" in cli("up", "--yes").stdout
    for command in (["refresh", "--yes"], ["preview", "--refresh"], ["up", "--yes", "--refresh"], ["destroy", "--yes"]):
        done = cli(*command, check=False)
        assert done.returncode != 0, f"pulumi {' '.join(command)} must stop"
        assert expected in output_of(done), output_of(done)
        assert "deleted" not in done.stdout.replace("to delete", ""), done.stdout

    drift = subprocess.run(
        [sys.executable, "-m", "stackfox_provider.cli", "drift", "--cwd", str(cli.project_dir), "--stack", cli.stack,
         "--state-dir", str(engine.state_dir)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert expected in drift.stderr and "deleted by hand" not in drift.stdout
    assert writes(sandbox) == [], "nothing was written to either team"
    assert as_json(raw_overrides(sandbox, other_token)) == as_json(other_before)
    assert as_json(raw_overrides(sandbox)) == as_json(ours_before)
    assert sorted(r["urn"] for r in cli.state().resources) == sorted(r["urn"] for r in state_before.resources)

    # destroy uses the provider configuration recorded by the last `up`: record the right token first.
    cli.configure({}, {"stackfox:incidentfoxToken": sandbox.info.incidentfox_team_token})
    cli("up", "--yes")
    cli("destroy", "--yes")
    assert MCP_TOKEN not in json.dumps(raw_overrides(sandbox))


# -- 5: paths nulled by hand ---------------------------------------------------------------------------

NULLED_PROGRAM = """\
    from stackfox_provider.incidentfox import TeamConfig, Webhook

    TeamConfig("team", feature_flags={"FLAG": True})
    Webhook("done", event="EVENT", url="https://hooks.example.com/ifx/declared")
"""


def test_paths_nulled_by_hand_are_repaired_in_place_and_keep_their_history(
    engine: LocalEngine, tmp_path: Path, shared_team: SandboxHandle
) -> None:
    sandbox = shared_team
    flag, event = unique("nulled_flag"), unique("nulled_event")
    write_by_hand(sandbox, {"feature_flags": {flag: False}, "webhooks": {event: "https://hooks.example.com/before"}})
    cli = stack(engine, tmp_path / "nulled", sandbox, NULLED_PROGRAM.replace("FLAG", flag).replace("EVENT", event))
    cli("up", "--yes")
    write_by_hand(sandbox, {"feature_flags": {flag: None}, "webhooks": {event: None}})  # every owned path nulled

    repaired = cli("up", "--yes", "--refresh")

    assert "~ 2 updated" in repaired.stdout and "created" not in repaired.stdout, repaired.stdout
    raw = raw_overrides(sandbox)
    assert (raw["feature_flags"][flag], raw["webhooks"][event]) == (True, "https://hooks.example.com/ifx/declared")
    cli("destroy", "--yes")
    raw = raw_overrides(sandbox)
    assert (raw["feature_flags"][flag], raw["webhooks"][event]) == (False, "https://hooks.example.com/before")


# -- 6: concurrent writers -------------------------------------------------------------------------------

RACE_PROGRAM = """\
    import pulumi
    from stackfox_provider.incidentfox import TeamConfig, Webhook

    config = pulumi.Config()
    n = config.require_int("round")
    TeamConfig("team", feature_flags={f"PREFIX_{i}": (n + i) % 2 == 0 for i in range(3)})
    Webhook("hook", event="PREFIX_event", url=f"https://hooks.example.com/PREFIX/{n}")
"""
ROUNDS = 10


def declared(prefix: str, round_: int) -> dict[tuple[str, ...], Any]:
    flags = {("feature_flags", f"{prefix}_{i}"): (round_ + i) % 2 == 0 for i in range(3)}
    return {**flags, ("webhooks", f"{prefix}_event"): f"https://hooks.example.com/{prefix}/{round_}"}


def test_concurrent_ups_on_one_team_never_exit_0_with_a_lost_path(
    engine: LocalEngine, tmp_path: Path, sandbox_oss: SandboxHandle
) -> None:
    sandbox = sandbox_oss
    prefixes = [unique("race_a"), unique("race_b")]
    stacks = [
        stack(engine, tmp_path / name, sandbox, RACE_PROGRAM.replace("PREFIX", prefix), round="0")
        for name, prefix in zip(("a", "b"), prefixes, strict=True)
    ]
    for cli in stacks:
        cli("up", "--yes", "--skip-preview")
    sandbox.update_settings(unlocked_write_window=0.4)  # two workers: overlapping writes lose keys
    figures = {"ok": 0, "failed_naming_paths": 0, "writes": 0, "minimal_writes": 0}

    for round_ in range(1, ROUNDS + 1):
        for cli in stacks:
            cli.configure({"round": str(round_)})
        sandbox.reset_log()
        runs = [
            subprocess.Popen(
                [str(cli.engine.toolchain.pulumi), "up", "--yes", "--skip-preview", "--stack", cli.stack],
                cwd=cli.project_dir,
                env=cli.engine.process_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for cli in stacks
        ]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
        raw = raw_overrides(sandbox)
        for prefix, run, output in zip(prefixes, runs, outputs, strict=True):
            lost = [path for path, value in declared(prefix, round_).items() if _get(raw, path) != value]
            if run.returncode == 0:
                assert lost == [], f"round {round_}: `up` exited 0 but {lost} were lost\n{output}"
                figures["ok"] += 1
            else:
                assert "no longer hold" in output and f"{prefix}_" in output, output
                figures["failed_naming_paths"] += 1
        figures["writes"] += len(writes(sandbox))
        figures["minimal_writes"] += 2 * 2  # each stack: one flags write, one webhook write
    print(f"concurrent rounds: {figures}")
    assert figures["ok"] + figures["failed_naming_paths"] == 2 * ROUNDS


def _get(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


# -- the open-source service's lockout -----------------------------------------------------------------

LOCKOUT_PROGRAM = """\
    import pulumi
    from stackfox_provider.incidentfox import Webhook

    Webhook("done", event="lockout_event", url=f"https://hooks.example.com/{pulumi.Config().require('n')}")
"""


def test_a_null_mcp_entry_written_by_an_admin_stops_stackfox_before_any_write(
    engine: LocalEngine, tmp_path: Path, sandbox_factory: Callable[..., SandboxHandle]
) -> None:
    sandbox = sandbox_factory(dialect="oss")
    cli = stack(engine, tmp_path / "lockout", sandbox, LOCKOUT_PROGRAM, n="1")
    cli("up", "--yes")
    info = sandbox.info
    node_config = f"/admin/orgs/{info.incidentfox_org_id}/nodes/sandbox-team/config"
    with sandbox.incidentfox(info.incidentfox_org_admin_token) as admin:  # the admin route does not validate
        admin.put(node_config, json={"patch": {"mcp_servers": {"broken": None}}}).raise_for_status()
    with sandbox.incidentfox() as http:
        assert http.patch("/config/me", json={"config": {"x": 1}, "reason": "probe"}).status_code == 500
    cli.configure({"n": "2"})
    sandbox.reset_log()

    failed = cli("up", "--yes", check=False)

    assert failed.returncode != 0
    assert "mcp_servers.broken (in the config of node 'sandbox-team')" in output_of(failed)
    assert "org admin" in output_of(failed) and "NoneType" not in output_of(failed)
    assert writes(sandbox) == [], "no blind write"
    drift = subprocess.run(
        [sys.executable, "-m", "stackfox_provider.cli", "drift", "--cwd", str(cli.project_dir), "--stack", cli.stack,
         "--state-dir", str(engine.state_dir)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert drift.returncode == 1 and "mcp_servers.broken" in drift.stderr, drift.stdout + drift.stderr

    with sandbox.incidentfox(info.incidentfox_org_admin_token) as admin:
        admin.put(node_config, json={"patch": {"mcp_servers": {"broken": {"enabled": False}}}}).raise_for_status()
    cli("up", "--yes")
    assert raw_overrides(sandbox)["webhooks"]["lockout_event"] == "https://hooks.example.com/2"
