"""Wrong credentials through the real engine: a no-op `up` says so, and `destroy` works once they are fixed."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, raw_overrides, sandbox_config, write_by_hand, write_project

PROGRAM = """\
    import pulumi
    from stackfox_provider.incidentfox import Webhook
    from stackfox_provider.stackflow import IncidentCategory

    config = pulumi.Config()
    Webhook("done", event="credentials_done", url="https://new.example.com/done")
    IncidentCategory("category", name=config.require("category"), label="Credentials", default_priority="P3")
"""
#: Per service: the secret setting to get wrong, a wrong value, and what the failure must name.
WRONG = {
    "incidentfox": ("stackfox:incidentfoxToken", "0123456789abcdef0123456789abcdef.not-the-secret", "401"),
    "stackflow": ("stackfox:stackflowPassword", "not-the-password-1!", "stackfox:stackflowPassword"),
}


@pytest.mark.parametrize("service", sorted(WRONG))
def test_a_no_op_up_with_wrong_credentials_fails_and_destroy_works_once_they_are_fixed(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle, service: str
) -> None:
    key, wrong, named = WRONG[service]
    write_by_hand(sandbox, {"webhooks": {"credentials_done": "https://old.example.com/done"}})
    plain, secrets = sandbox_config(sandbox)
    cli = PulumiCli(engine, write_project(tmp_path / "credentials", "credentials", PROGRAM), "credentials", service)
    cli.init({**plain, "category": f"credentials-{uuid.uuid4().hex[:8]}"}, secrets)
    cli("up", "--yes", "--skip-preview")

    cli.configure({}, {key: wrong})
    sent = len(service_writes(sandbox, service))
    up = cli("up", "--yes", "--skip-preview", check=False)
    said = up.stdout + up.stderr
    assert up.returncode != 0, said
    assert key in said and named in said, said
    assert wrong.split(".")[-1] not in said, "the wrong secret is never shown"
    assert len(service_writes(sandbox, service)) == sent

    # Pulumi recorded the wrong value with the provider all the same: a destroy that does not run the
    # program uses it, and the message says how to use the one in the config.
    cli.configure({}, {key: secrets[key]})
    destroy = cli("destroy", "--yes", check=False)
    assert destroy.returncode != 0 and "--run-program" in destroy.stdout + destroy.stderr
    assert len(service_writes(sandbox, service)) == sent
    cli("destroy", "--yes", "--run-program")
    assert raw_overrides(sandbox)["webhooks"]["credentials_done"] == "https://old.example.com/done"


def service_writes(sandbox: SandboxHandle, service: str) -> list[dict[str, object]]:
    return [r for r in sandbox.requests_log(service) if r["method"] not in ("GET", "HEAD")]
