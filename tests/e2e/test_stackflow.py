"""IncidentCategory through the real engine against the sandbox (real Cognito tokens from moto)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, write_project

PROGRAM = """\
    import json
    import pulumi
    from stackfox_provider.stackflow import IncidentCategory

    config = pulumi.Config()
    for spec in json.loads(config.require("categories")):
        IncidentCategory(spec.pop("resource"), **spec)
"""


def category(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "resource": name,
        "name": name,
        "label": name.title(),
        "subcategories": [{"name": "dns", "label": "DNS"}, {"name": "vpn", "label": "VPN"}],
        "default_priority": "P3",
        "default_assignment_group": "network-ops",
        **fields,
    }


def user_password_settings(sandbox: SandboxHandle) -> tuple[dict[str, str], dict[str, str]]:
    info = sandbox.info
    plain = {
        "stackfox:stackflowUrl": info.stackflow_base_url,
        "stackfox:stackflowUsername": info.username,
        "stackfox:stackflowClientId": info.app_client_id,
        "stackfox:stackflowUserPoolId": info.user_pool_id,
        "stackfox:stackflowRegion": info.region,
        "stackfox:cognitoEndpoint": info.cognito_endpoint_url,
    }
    return plain, {"stackfox:stackflowPassword": info.password}


def project(
    engine: LocalEngine,
    tmp_path: Path,
    sandbox: SandboxHandle,
    categories: list[dict[str, Any]],
    settings: tuple[dict[str, str], dict[str, str]] | None = None,
) -> PulumiCli:
    cli = PulumiCli(engine, write_project(tmp_path / "project", "flow", PROGRAM), "flow", "e2e")
    plain, secret = settings or user_password_settings(sandbox)
    cli.init({**plain, "categories": json.dumps(categories)}, secret)
    return cli


def set_categories(cli: PulumiCli, categories: list[dict[str, Any]]) -> None:
    cli.configure({"categories": json.dumps(categories)})


def live(sandbox: SandboxHandle, name: str) -> list[dict[str, Any]]:
    with sandbox.stackflow() as http:
        found = http.get("/categories", params={"name": name, "limit": 100}).raise_for_status().json()["data"]
    return [item for item in found if item["name"] == name]


def only(sandbox: SandboxHandle, name: str) -> dict[str, Any]:
    found = live(sandbox, name)
    assert len(found) == 1, found
    return found[0]


def writes(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests_log("stackflow") if r["method"] not in ("GET", "HEAD")]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_lifecycle_update_drift_repair_and_deactivate(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    name = unique("network")
    cli = project(engine, tmp_path, sandbox, [category(name)])

    cli("up", "--yes")
    created = only(sandbox, name)
    assert (created["default_priority"], created["default_assignment_group"], created["active"]) == (
        "P3", "network-ops", True)  # fmt: skip
    assert sorted(sub["name"] for sub in created["subcategories"]) == ["dns", "vpn"]
    assert cli.state().resource(name)["id"] == created["id"]

    sandbox.reset_log()
    assert "2 unchanged" in cli("preview", "--expect-no-changes").stdout
    assert writes(sandbox) == []

    set_categories(
        cli,
        [
            category(
                name,
                default_priority="P1",
                subcategories=[{"name": "vpn", "label": "VPN"}, {"name": "dns", "label": "DNS"}],
            )
        ],
    )
    preview = cli("preview", "--diff", "--expect-no-changes", check=False)
    assert preview.returncode == 7
    assert '~ default_priority        : "P3" => "P1"' in preview.stdout
    assert "~ subcategories" not in preview.stdout, "the order of subcategories carries no meaning"
    cli("up", "--yes")
    assert only(sandbox, name)["default_priority"] == "P1"

    with sandbox.stackflow() as http:
        http.patch(f"/categories/{created['id']}", json={"label": "Edited by hand"}).raise_for_status()
    sandbox.reset_log()
    cli("refresh", "--yes", "--skip-preview")
    assert cli.state().resource(name)["outputs"]["label"] == "Edited by hand"
    assert writes(sandbox) == []
    assert cli("preview", "--expect-no-changes", check=False).returncode == 7

    cli("up", "--yes")
    assert only(sandbox, name)["label"] == name.title()

    cli("destroy", "--yes")
    retired = only(sandbox, name)
    assert retired["active"] is False, "the default deletion policy deactivates"


def test_up_after_destroy_reactivates_the_deactivated_categories(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    names = [unique("network"), unique("storage")]
    cli = project(engine, tmp_path, sandbox, [category(name) for name in names])
    cli("up", "--yes")
    ids = {name: only(sandbox, name)["id"] for name in names}

    cli("destroy", "--yes")
    assert {name: only(sandbox, name)["active"] for name in names} == {name: False for name in names}

    sandbox.reset_log()
    again = cli("up", "--yes", check=False)

    assert again.returncode == 0, again.stdout + again.stderr
    revived = {name: only(sandbox, name) for name in names}  # still exactly one category per name
    assert {name: item["id"] for name, item in revived.items()} == ids
    assert {name: item["active"] for name, item in revived.items()} == {name: True for name in names}
    for name, item in revived.items():
        assert (item["label"], item["default_priority"], item["default_assignment_group"]) == (
            name.title(), "P3", "network-ops")  # fmt: skip
        assert sorted(sub["name"] for sub in item["subcategories"]) == ["dns", "vpn"]
    log = writes(sandbox)
    assert [r for r in log if r["method"] == "POST"] == [], "nothing is created again"
    assert sorted(r["path"].rsplit("/", 1)[-1] for r in log if r["method"] == "PATCH") == sorted(ids.values())
    assert {r["status"] for r in log} == {200}
    state = cli.state()
    assert {name: state.resource(name)["outputs"]["active"] for name in names} == {name: True for name in names}


def test_delete_policies_and_refusal_while_incidents_are_open(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    doomed, kept = unique("database"), unique("server")
    specs = [category(doomed, deletion_policy="delete"), category(kept, deletion_policy="retain")]
    cli = project(engine, tmp_path, sandbox, specs)
    cli("up", "--yes")
    with sandbox.stackflow() as http:
        incident = (
            http.post("/incidents", json={"short_description": "replica lag", "category": doomed, "subcategory": "dns"})
            .raise_for_status()
            .json()
        )

    refused = cli("destroy", "--yes", check=False)
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert f"still used by 1 open incident(s): {incident['number']}" in output
    assert "force_delete=True" in output
    assert len(live(sandbox, doomed)) == 1

    set_categories(cli, [category(doomed, deletion_policy="delete", force_delete=True), specs[1]])
    cli("up", "--yes")
    cli("destroy", "--yes")
    assert live(sandbox, doomed) == []
    assert only(sandbox, kept)["active"] is True, "retain leaves the category as it is"


def test_a_differing_category_is_adopted_only_when_asked(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    name = unique("security")
    with sandbox.stackflow() as http:
        http.post(
            "/categories", json={"name": name, "label": "Made by hand", "default_priority": "P4"}
        ).raise_for_status()
    cli = project(engine, tmp_path, sandbox, [category(name)])

    refused = cli("up", "--yes", check=False)
    assert refused.returncode != 0
    assert "default_priority: StackFlow has 'P4', the program 'P3'" in refused.stdout
    assert "Set adopt=True" in refused.stdout

    set_categories(cli, [category(name, adopt=True)])
    cli("up", "--yes")
    adopted = only(sandbox, name)
    assert (adopted["label"], adopted["default_priority"]) == (name.title(), "P3")


def test_a_lost_create_response_leaves_exactly_one_category(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    name = unique("edge")
    sandbox.set_faults(
        {"kind": "drop", "service": "stackflow", "methods": ["POST"], "path": "/categories$", "count": 1}
    )
    cli = project(engine, tmp_path, sandbox, [category(name)])

    cli("up", "--yes")

    posts = [r for r in sandbox.requests_log("stackflow") if r["method"] == "POST"]
    assert [post["dropped"] for post in posts] == [True], "the lost create is found by name, never posted again"
    assert len(live(sandbox, name)) == 1


def auth_settings(sandbox: SandboxHandle, mode: str) -> tuple[dict[str, str], dict[str, str]]:
    info = sandbox.info
    plain, secret = user_password_settings(sandbox)
    if mode == "admin_user_password":
        return {**plain, "stackfox:stackflowAuthFlow": "admin_user_password"}, secret
    if mode == "static_token":
        return {"stackfox:stackflowUrl": info.stackflow_base_url}, {"stackfox:stackflowToken": sandbox.id_token()}
    if mode == "client_credentials":
        return (
            {
                "stackfox:stackflowUrl": info.stackflow_base_url,
                "stackfox:stackflowClientId": info.client_credentials_client_id,
                "stackfox:stackflowTokenUrl": info.client_credentials_token_url,
            },
            {"stackfox:stackflowClientSecret": info.client_credentials_client_secret},
        )
    return plain, secret


@pytest.mark.parametrize("mode", ["static_token", "user_password", "admin_user_password", "client_credentials"])
def test_each_auth_mode_works_and_keeps_secrets_out_of_state(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", sandbox.info.aws_access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", sandbox.info.aws_secret_access_key)
    name = unique(mode.replace("_", "-"))
    settings = auth_settings(sandbox, mode)
    cli = project(engine, tmp_path, sandbox, [category(name)], settings)

    cli("up", "--yes")

    assert len(live(sandbox, name)) == 1
    identities = {r["identity"] for r in writes(sandbox)}
    assert len(identities) == 1 and None not in identities
    state = cli.state_text()
    for secret in settings[1].values():
        assert secret not in state
    assert sandbox.info.password not in state


def test_a_wrong_password_fails_clearly_without_writing(
    engine: LocalEngine, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    plain, _ = user_password_settings(sandbox)
    cli = project(engine, tmp_path, sandbox, [category(unique("x")), category(unique("y"))],
                  (plain, {"stackfox:stackflowPassword": "not-the-password"}))  # fmt: skip

    failed = cli("up", "--yes", check=False)

    assert failed.returncode != 0
    assert "Incorrect username or password" in failed.stdout
    assert "stackfox:stackflowPassword" in failed.stdout
    assert "not-the-password" not in failed.stdout + failed.stderr
    assert writes(sandbox) == []


def test_a_disabled_user_fails_clearly_without_writing(
    engine: LocalEngine, tmp_path: Path, sandbox_factory: Callable[..., SandboxHandle]
) -> None:
    sandbox = sandbox_factory()
    sandbox.cognito().admin_disable_user(UserPoolId=sandbox.info.user_pool_id, Username=sandbox.info.username)
    cli = project(engine, tmp_path, sandbox, [category(unique("x"))])

    failed = cli("up", "--yes", check=False)

    assert failed.returncode != 0
    assert "User is disabled" in failed.stdout
    assert writes(sandbox) == []


def test_a_long_up_outlives_its_token(
    engine: LocalEngine, tmp_path: Path, sandbox_factory: Callable[..., SandboxHandle]
) -> None:
    sandbox = sandbox_factory(max_token_age=4)
    sandbox.set_faults({"kind": "latency", "service": "stackflow", "methods": ["write"], "seconds": 1.5})
    names = [unique(f"slow{i}") for i in range(6)]
    cli = project(engine, tmp_path, sandbox, [category(name) for name in names])

    cli("up", "--yes", "--skip-preview", "--parallel", "1")

    assert all(len(live(sandbox, name)) == 1 for name in names)
    statuses = [r["status"] for r in sandbox.requests_log("stackflow")]
    assert 401 in statuses, "the token expired during the run and was renewed"


def test_refreshing_two_hundred_categories_takes_a_few_list_calls(
    engine: LocalEngine, tmp_path: Path, sandbox_factory: Callable[..., SandboxHandle]
) -> None:
    sandbox = sandbox_factory(write_limit=1000, read_limit=1000)
    specs = [category(f"cat-{i:03d}") for i in range(200)]
    with sandbox.stackflow() as http:
        for spec in specs:
            body = {key: value for key, value in spec.items() if key != "resource"}
            http.post("/categories", json=body).raise_for_status()
    sandbox.reset_log()
    cli = project(engine, tmp_path, sandbox, specs)
    cli("up", "--yes", "--skip-preview")  # adopts the 200 matching categories without writing
    assert writes(sandbox) == []

    sandbox.reset_log()
    cli("refresh", "--yes", "--skip-preview")

    calls = sandbox.requests_log("stackflow")
    assert all(call["method"] == "GET" and call["path"].endswith("/categories") for call in calls), calls
    assert len(calls) <= 3


def test_an_up_of_two_hundred_categories_lists_them_a_few_times(
    engine: LocalEngine, tmp_path: Path, sandbox_factory: Callable[..., SandboxHandle]
) -> None:
    sandbox = sandbox_factory(write_limit=1000, read_limit=1000)
    specs = [category(f"many-{i:03d}") for i in range(200)]
    with sandbox.stackflow() as http:  # every other one exists already, and matches: adopted without a write
        for spec in specs[::2]:
            body = {key: value for key, value in spec.items() if key != "resource"}
            http.post("/categories", json=body).raise_for_status()
    cli = project(engine, tmp_path, sandbox, specs)
    sandbox.reset_log()

    cli("up", "--yes")  # a preview pass, then the update pass: each checks the credential with one list call

    lists = [r for r in sandbox.requests_log("stackflow") if r["method"] == "GET" and r["path"].endswith("/categories")]
    assert len(lists) <= 4, "each create's answer keeps the category snapshot right: no listing again"
    assert len([r for r in writes(sandbox) if r["method"] == "POST"]) == 100
    with sandbox.stackflow() as http:
        assert http.get("/categories", params={"limit": 1}).raise_for_status().json()["total"] == 200
