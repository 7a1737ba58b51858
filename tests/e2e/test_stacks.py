"""The team's ``stackfox`` record through the real engine: a create killed after its write; two stacks, one key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from stackfox_provider.clients.incidentfox.managers import RESERVED_KEY
from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, effective_config, raw_overrides, write_by_hand, write_project, writes
from tests.e2e.test_drift import ReviewedStack

#: Every path is named with a marker of its own: the sandbox's team is shared with other tests' stacks.
SETTINGS = """\
    import pulumi
    from stackfox_provider.incidentfox import TeamConfig, Webhook

    m = pulumi.Config().require("marker")
    TeamConfig(
        "settings",
        feature_flags={f"{m}_beta": True, f"{m}_new": True},
        custom={f"{m}_region": "us", f"{m}_limits": {"rps": 40}, f"{m}_retries": 12},
    )
    Webhook("done", event=f"{m}_done", url="https://new.example.com/done")
"""


def earlier(m: str) -> dict[str, Any]:
    """What the team held before any stack: its own values (an int, a null, an object) and inherited ones."""
    return {
        "feature_flags": {f"{m}_beta": False},
        "webhooks": {f"{m}_done": "https://old.example.com/done"},
        f"{m}_region": "eu",
        f"{m}_limits": None,
        f"{m}_retries": 5,
    }


def records_of(config: dict[str, Any], marker: str) -> list[str]:
    """The pointers of this stack's paths (named with ``marker``) that the team's record holds now."""
    records = (config.get(RESERVED_KEY) or {}).get("managers") or {}
    return [pointer for pointer, record in records.items() if marker in pointer and record is not None]


def without_reserved(config: dict[str, Any]) -> str:
    """The config as exact JSON text (types included), less stackfox's own record."""
    return json.dumps({key: value for key, value in config.items() if key != RESERVED_KEY}, sort_keys=True)


@pytest.mark.parametrize("interruption", ["kill -9", "read-back fails"])
def test_a_create_cut_off_after_its_write_landed_still_restores_every_earlier_value(
    engine: LocalEngine, tmp_path: Path, sandbox_oss: SandboxHandle, interruption: str
) -> None:
    sandbox = sandbox_oss
    marker = f"killed_{uuid.uuid4().hex[:6]}"
    write_by_hand(sandbox, earlier(marker))
    raw_before, effective_before = raw_overrides(sandbox), effective_config(sandbox)
    project_dir = write_project(tmp_path / "killed", marker, SETTINGS)
    cli = PulumiCli(engine, project_dir, marker, "e2e")
    cli.init({"stackfox:incidentfoxUrl": sandbox.info.incidentfox_base_url, "marker": marker},
             {"stackfox:incidentfoxToken": sandbox.info.incidentfox_team_token})  # fmt: skip
    # Each write is applied, then its response is held and lost: the create settles it by reading back.
    sandbox.set_faults({"kind": "drop", "service": "incidentfox", "methods": ["write"], "seconds": 5})
    up = subprocess.Popen(
        [str(engine.toolchain.pulumi), "up", "--yes", "--skip-preview", "--stack", "e2e"],
        cwd=project_dir, env=engine.process_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        process_group=0,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not records_of(raw_overrides(sandbox), marker):  # the first create's write has landed
        assert up.poll() is None and time.monotonic() < deadline, "the write never landed"
        time.sleep(0.2)
    if interruption == "kill -9":  # the engine, the language host and the provider, at once
        os.killpg(up.pid, signal.SIGKILL)
        up.wait(timeout=30)
    else:  # every read after the write fails, so the create fails once its write has landed
        sandbox.set_faults({"kind": "error", "service": "incidentfox", "methods": ["read"], "status": 503})
        assert up.wait(timeout=120) != 0
    sandbox.clear_faults()
    assert without_reserved(raw_overrides(sandbox)) != without_reserved(raw_before), "a create's write landed"
    recorded = [r["urn"] for r in cli.state().resources if r["type"].startswith("pulumi-python:dynamic/")]
    assert recorded == [], "and the engine never heard of it"

    # The recovery the README gives after `kill -9` (the first two change nothing after a plain failure).
    cli("cancel", "--yes", check=False)
    cli("refresh", "--yes", "--clear-pending-creates")
    cli("up", "--yes", "--refresh")
    assert raw_overrides(sandbox)["feature_flags"][f"{marker}_beta"] is True
    cli("destroy", "--yes")

    # Everything the team had before the stack is back, exactly: values, JSON types, nulls and inheritance.
    assert without_reserved(raw_overrides(sandbox)) == without_reserved(raw_before)
    assert without_reserved(effective_config(sandbox)) == without_reserved(effective_before)
    assert records_of(raw_overrides(sandbox), marker) == [], "every record is released"


HOOK = """\
    import pulumi
    from stackfox_provider.incidentfox import Webhook

    config = pulumi.Config()
    Webhook("alerts", event=config.require("event"), url=config.require("url"), take_over_from=config.get("takeOver"))
"""


def stack_of(engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle, project: str, event: str) -> ReviewedStack:
    cli = PulumiCli(engine, write_project(tmp_path / project, project, HOOK), project, "prod")
    url = f"https://{project}.example.com/a"
    cli.init({"stackfox:incidentfoxUrl": sandbox.info.incidentfox_base_url, "url": url, "event": event},
             {"stackfox:incidentfoxToken": sandbox.info.incidentfox_team_token})  # fmt: skip
    return ReviewedStack(cli)


def test_two_stacks_on_one_key_the_second_refuses_and_drift_names_the_other(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    run = uuid.uuid4().hex[:6]
    event, platform, payments = f"shared_{run}", f"platform-{run}", f"payments-{run}"
    write_by_hand(sandbox, {"webhooks": {event: "https://before.example.com/a"}})
    first = stack_of(engine, tmp_path, sandbox, platform, event)
    second = stack_of(engine, tmp_path, sandbox, payments, event)
    first.pulumi("up", "--yes", "--skip-preview")

    sent = len(writes(sandbox))
    refused = second.pulumi("up", "--yes", "--skip-preview", check=False)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert f"webhooks.{event} by organization/{platform}/prod (Webhook 'alerts')" in said, said
    assert f'take_over_from="organization/{platform}/prod"' in said
    assert len(writes(sandbox)) == sent, "the second stack wrote nothing"
    assert raw_overrides(sandbox)["webhooks"][event] == f"https://{platform}.example.com/a"

    # Taken over on purpose: the first stack's drift check names the second, and its `up` no longer flips it back.
    second.pulumi.configure({"takeOver": f"organization/{platform}/prod"})
    second.pulumi("up", "--yes", "--skip-preview")
    code, report = first.drift()
    assert code == 2, report
    [field] = report["resources"][0]["fields"]
    assert field["managed_by"] == f"organization/{payments}/prod (Webhook 'alerts')", field
    sent = len(writes(sandbox))
    again = first.pulumi("up", "--yes", "--skip-preview", "--refresh", check=False)
    assert again.returncode != 0 and f"organization/{payments}/prod" in again.stdout + again.stderr
    assert len(writes(sandbox)) == sent
    assert raw_overrides(sandbox)["webhooks"][event] == f"https://{payments}.example.com/a"

    # Each destroy gives back what was there before its stack, and never what another stack manages now.
    first.pulumi("destroy", "--yes")
    assert raw_overrides(sandbox)["webhooks"][event] == f"https://{payments}.example.com/a"
    second.pulumi("destroy", "--yes")
    assert raw_overrides(sandbox)["webhooks"][event] == f"https://{platform}.example.com/a"
    assert raw_overrides(sandbox)[RESERVED_KEY]["managers"][f"/webhooks/{event}"] is None
