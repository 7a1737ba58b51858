"""`stackfox drift` through the real engine against the sandbox: what it finds, that it only reads, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, raw_overrides, sandbox_config, write_by_hand, write_project

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "schemas" / "drift.schema.json").read_text())

#: A team's config, webhooks and StackFlow categories, all described by the `spec` config value.
PROGRAM = """\
    import json

    import pulumi
    from stackfox_provider.incidentfox import TeamConfig, Webhook
    from stackfox_provider.stackflow import IncidentCategory

    config = pulumi.Config()
    spec = json.loads(config.require("spec"))
    TeamConfig("team", feature_flags=spec["flags"], agents={"planner": {"max_turns": spec["turns"]}})
    for name, hook in spec["webhooks"].items():
        Webhook(name, event=hook["event"], url=hook["url"])
    if spec.get("secret_hook"):
        Webhook("secret-hook", event=spec["secret_hook"], url=config.require_secret("hookUrl"))
    for category in spec["categories"]:
        IncidentCategory(category["name"], **category)
"""
SECRET_URL = "https://hooks.example.com/ifx/s3cret-token-path"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def category(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "label": name.title(), "default_priority": "P3", **fields}


@dataclass
class ReviewedStack:
    """A project and stack driven through `pulumi` and through `stackfox drift`/`stackfox plan` as a user would."""

    pulumi: PulumiCli

    def stackfox(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        cli = self.pulumi
        return subprocess.run(
            [sys.executable, "-m", "stackfox_provider.cli", command, "--cwd", str(cli.project_dir),
             "--stack", cli.stack, "--state-dir", str(cli.engine.state_dir), *args],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    def drift(self, *args: str) -> tuple[int, dict[str, Any]]:
        """`stackfox drift --format json`: the exit code and the report (validated against the schema)."""
        done = self.stackfox("drift", "--format", "json", *args)
        assert done.stdout, f"no report (exit {done.returncode}): {done.stderr}"
        report: dict[str, Any] = json.loads(done.stdout)
        jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
        return done.returncode, report

    def set_spec(self, spec: dict[str, Any]) -> None:
        self.pulumi.configure({"spec": json.dumps(spec)})


def reviewed_stack(engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle, spec: dict[str, Any]) -> ReviewedStack:
    plain, secrets = sandbox_config(sandbox)
    cli = PulumiCli(engine, write_project(tmp_path / "project", "review", PROGRAM), "review", "e2e")
    cli.init({**plain, "spec": json.dumps(spec)}, {**secrets, "hookUrl": SECRET_URL})
    return ReviewedStack(cli)


def drift_items(report: dict[str, Any]) -> set[tuple[Any, ...]]:
    """(resource, status, field path, kind, code, service) for each field, (resource, status) for whole resources."""
    found: set[tuple[Any, ...]] = set()
    for resource in report["resources"]:
        for field in resource["fields"]:
            item = (resource["name"], resource["status"], field["path"], field["kind"], field["code"], field["service"])
            found.add(item)
        if not resource["fields"]:
            found.add((resource["name"], resource["status"]))
    return found


def service_requests(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    """Logged requests to IncidentFox and StackFlow (not to Cognito for tokens)."""
    return [entry for entry in sandbox.requests_log() if entry["service"] in ("incidentfox", "stackflow")]


def writes(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    return [entry for entry in service_requests(sandbox) if entry["method"] not in ("GET", "HEAD", "OPTIONS")]


def categories_by_name(sandbox: SandboxHandle) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with sandbox.stackflow() as http:
        for page in range(1, 100):
            body = http.get("/categories", params={"page": page, "limit": 100}).raise_for_status().json()
            found.update({item["name"]: item for item in body["data"]})
            if len(body["data"]) < 100:
                return found
    return found


def test_drift_names_changes_made_by_hand_and_up_repairs_them(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    flag, other_flag, event = unique("beta").replace("-", "_"), unique("auto").replace("-", "_"), unique("done")
    network, database = unique("network"), unique("database")
    spec = {
        "flags": {flag: True, other_flag: True},
        "turns": 8,
        "webhooks": {"done": {"event": event, "url": "https://hooks.example.com/done"}},
        "categories": [category(network), category(database)],
    }
    stack = reviewed_stack(engine, tmp_path, sandbox, spec)
    stack.pulumi("up", "--yes")

    code, report = stack.drift()
    assert (code, report["status"], report["resources"]) == (0, "in_sync", []), report
    assert report["summary"]["resources_read"] == 4

    write_by_hand(sandbox, {"webhooks": {event: "https://evil.example.com/x"}, "feature_flags": {flag: False}})
    live = categories_by_name(sandbox)
    with sandbox.stackflow() as http:
        http.patch(f"/categories/{live[network]['id']}", json={"default_priority": "P1"}).raise_for_status()
        http.delete(f"/categories/{live[database]['id']}").raise_for_status()
    state_before = stack.pulumi.state_text()
    sandbox.reset_log()

    code, report = stack.drift()

    assert code == 2, report
    assert drift_items(report) == {
        ("done", "drifted", "url", "changed", "https://hooks.example.com/done", "https://evil.example.com/x"),
        ("team", "drifted", f"feature_flags.{flag}", "changed", True, False),
        (network, "drifted", "default_priority", "changed", "P3", "P1"),
        (database, "deleted"),
    }
    assert report["summary"] == {
        "resources_checked": 4, "resources_read": 4, "resources_differing": 4,
        "changed": 3, "reset_to_inherited": 0, "deleted": 1, "unapplied": 0,
    }  # fmt: skip
    assert writes(sandbox) == [], "drift only reads"
    assert stack.pulumi.state_text() == state_before, "drift leaves the state alone"

    stack.pulumi("up", "--refresh", "--yes")
    assert categories_by_name(sandbox)[network]["default_priority"] == "P3"
    code, report = stack.drift()
    assert (code, report["status"]) == (0, "in_sync"), report


def test_drift_reads_only_works_with_read_only_credentials_and_masks_secrets(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    flag, hook, security = unique("beta").replace("-", "_"), unique("secret_hook"), unique("security")
    spec = {
        "flags": {flag: True},
        "turns": 8,
        "webhooks": {},
        "secret_hook": hook,
        "categories": [category(security)],
    }
    stack = reviewed_stack(engine, tmp_path, sandbox, spec)
    stack.pulumi("up", "--yes")
    live_url = "https://evil.example.com/live-s3cret-path"
    write_by_hand(sandbox, {"webhooks": {hook: live_url}, "feature_flags": {flag: None}})
    with sandbox.stackflow() as http:
        category_id = categories_by_name(sandbox)[security]["id"]
        http.patch(f"/categories/{category_id}", json={"label": "Renamed in the UI"}).raise_for_status()

    # A read-only view: StackFlow through a client-credentials token with only the read scope, and an
    # IncidentFox that refuses every write.
    info = sandbox.info
    read_only_token = sandbox.client_credentials_token("stackflow/read")
    with sandbox.stackflow(token=read_only_token) as http:
        assert http.post("/categories", json=category(unique("probe"))).status_code == 403
    stack.pulumi("config", "rm", "stackfox:stackflowUsername")
    stack.pulumi("config", "rm", "stackfox:stackflowPassword")
    stack.pulumi.configure(
        {"stackfox:stackflowClientId": info.client_credentials_client_id,
         "stackfox:stackflowTokenUrl": info.client_credentials_token_url,
         "stackfox:stackflowScope": "stackflow/read"},
        {"stackfox:stackflowClientSecret": info.client_credentials_client_secret},
    )  # fmt: skip
    sandbox.set_faults({"kind": "error", "service": "incidentfox", "methods": ["write"], "status": 503})
    state_before = stack.pulumi.state_text()
    sandbox.reset_log()

    done = stack.stackfox("drift", "--format", "markdown")

    assert done.returncode == 2, done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert table[:2] == [
        "| Service | Resource | Field | Drift | Code says | Service has |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    assert sorted(table[2:]) == sorted([
        f"| IncidentFox | TeamConfig `team` | `feature_flags.{flag}` | changed by hand | `true` | `null` |",
        "| IncidentFox | Webhook `secret-hook` | `url` | changed by hand | `[secret]` | `[secret]` |",
        f'| StackFlow | IncidentCategory `{security}` | `label` | changed by hand | `"{security.title()}"` '
        '| `"Renamed in the UI"` |',
    ])  # fmt: skip
    for secret in (SECRET_URL, live_url, info.incidentfox_team_token, info.client_credentials_client_secret):
        assert secret not in done.stdout + done.stderr
    assert "[3] " in done.stderr and "read" in done.stderr, "progress names each resource read"
    requests = service_requests(sandbox)
    assert requests and all(entry["method"] == "GET" for entry in requests), requests
    assert {entry["service"] for entry in requests} == {"incidentfox", "stackflow"}
    assert all(fault["fired"] == 0 for fault in sandbox.faults())
    assert stack.pulumi.state_text() == state_before

    stack.pulumi.configure({}, {"stackfox:incidentfoxToken": "0000.not-a-token"})
    failed = stack.stackfox("drift")
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert "could not tell whether the stack drifted" in failed.stderr
    assert "HTTP 401" in failed.stderr and "Invalid token" in failed.stderr
    assert "0000.not-a-token" not in failed.stderr


CATEGORY_COUNT = 30


def test_drift_over_many_categories_lists_them_in_a_few_calls(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    prefix = unique("bulk")
    categories = [category(f"{prefix}-{index:03d}") for index in range(CATEGORY_COUNT)]
    sandbox.update_settings(write_limit=1000)  # the fixture puts the live settings back afterwards
    with sandbox.stackflow() as http:  # made by hand first: the stack adopts them without writing
        for item in categories:
            http.post("/categories", json=item).raise_for_status()
    spec = {"flags": {"bulk": True}, "turns": 8, "webhooks": {}, "categories": categories}
    stack = reviewed_stack(engine, tmp_path, sandbox, spec)
    stack.pulumi("up", "--yes", "--skip-preview")
    sandbox.reset_log()

    code, report = stack.drift()

    assert (code, report["summary"]["resources_read"]) == (0, CATEGORY_COUNT + 1), report
    requests = service_requests(sandbox)
    lists = [entry for entry in requests if entry["service"] == "stackflow" and entry["path"].endswith("/categories")]
    assert 1 <= len(lists) <= 3, f"{len(lists)} list calls for {CATEGORY_COUNT} categories"
    assert [entry for entry in requests if "/categories/" in entry["path"]] == [], "no per-category GET"
    assert len([entry for entry in requests if entry["service"] == "incidentfox"]) == 1
    assert 429 not in {entry["status"] for entry in requests}


def test_drift_in_the_open_source_dialect(engine: LocalEngine, tmp_path: Path, sandbox_oss: SandboxHandle) -> None:
    changed, nulled, reset, event = (unique(p).replace("-", "_") for p in ("changed", "nulled", "reset", "done"))
    spec = {
        "flags": {changed: True, nulled: True, reset: True},
        "turns": 8,
        "webhooks": {"done": {"event": event, "url": "https://hooks.example.com/done"}},
        "categories": [],
    }
    stack = reviewed_stack(engine, tmp_path, sandbox_oss, spec)
    stack.pulumi("up", "--yes")
    # The UI's reset of one flag is the service's only way to take a key out: null the object, write it back.
    flags = {key: value for key, value in raw_overrides(sandbox_oss)["feature_flags"].items() if key != reset}
    write_by_hand(sandbox_oss, {"feature_flags": None})
    write_by_hand(sandbox_oss, {"feature_flags": {**flags, changed: False, nulled: None}})
    write_by_hand(sandbox_oss, {"webhooks": {event: "https://x.test"}})
    sandbox_oss.reset_log()

    code, report = stack.drift()

    assert code == 2, report
    assert drift_items(report) == {
        ("team", "drifted", f"feature_flags.{changed}", "changed", True, False),
        ("team", "drifted", f"feature_flags.{nulled}", "changed", True, None),  # a stored null masks, not resets
        ("team", "drifted", f"feature_flags.{reset}", "reset_to_inherited", True, None),
        ("done", "drifted", "url", "changed", "https://hooks.example.com/done", "https://x.test"),
    }
    assert writes(sandbox_oss) == []
