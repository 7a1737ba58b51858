"""Starting, stopping, persistence across restarts, start-up options and the request log."""

from __future__ import annotations

import argparse
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest

from stackfox_sandbox import manager
from stackfox_sandbox.cli import register, settings_from_args
from stackfox_sandbox.settings import SandboxSettings
from stackfox_sandbox.testing import SandboxHandle, sandbox_settings

Factory = Callable[..., SandboxHandle]
Forge = Callable[..., str]
CLI = [sys.executable, "-m", "stackfox_sandbox", "sandbox"]


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False)


def _listening_addresses(port: int) -> set[str]:
    addresses = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if int(port_hex, 16) == port and state == "0A":  # LISTEN
            addresses.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return addresses


def test_register_adds_the_sandbox_commands() -> None:
    parser = argparse.ArgumentParser(prog="stackfox")
    register(parser.add_subparsers())
    args = parser.parse_args(["sandbox", "start", "--state-dir", "x", "--incidentfox-dialect", "oss", "--testing"])
    assert args.dialect == "oss" and args.testing and callable(args.handler)
    for action in ("stop", "status", "serve"):
        assert callable(parser.parse_args(["sandbox", action]).handler)


def test_cli_start_status_stop(tmp_path: Path) -> None:
    state_dir = tmp_path / "cli"
    started = _cli("start", "--state-dir", str(state_dir), "--incidentfox-dialect", "oss")
    try:
        assert started.returncode == 0, started.stderr
        assert "sandbox running" in started.stdout
        info_file = state_dir / "sandbox.json"
        assert stat.S_IMODE(info_file.stat().st_mode) == 0o600
        info = json.loads(info_file.read_text())
        assert info["dialect"] == "oss" and info["control_url"] is None and info["testing"] is False
        for key in (
            "stackflow_base_url",
            "incidentfox_base_url",
            "cognito_endpoint_url",
            "client_credentials_token_url",
        ):
            assert info[key].startswith("http://127.0.0.1:")
        assert _listening_addresses(info["port"]) == {"127.0.0.1"}
        assert _listening_addresses(info["moto_port"]) == {"127.0.0.1"}
        status = _cli("status", "--state-dir", str(state_dir), "--json")
        assert status.returncode == 0 and json.loads(status.stdout)["pid"] == info["pid"]
        again = _cli("start", "--state-dir", str(state_dir))
        assert again.returncode == 1 and "already running" in again.stderr
        # Without --testing the control endpoint does not exist.
        assert httpx.get(f"{info['base_url']}/_sandbox/requests").status_code == 404
    finally:
        stopped = _cli("stop", "--state-dir", str(state_dir))
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not (state_dir / "sandbox.json").exists()
    assert _cli("status", "--state-dir", str(state_dir)).returncode == 3
    assert _cli("stop", "--state-dir", str(state_dir)).stdout.strip() == "no sandbox was running"


def test_busy_port_fails_cleanly(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(manager.SandboxError, match="cannot listen"):
            manager.start(sandbox_settings(tmp_path / "busy", port=port), timeout=60)


def test_persistence_across_restart(sandbox_factory: Factory) -> None:
    handle = sandbox_factory()
    before = handle.info
    old_token = handle.id_token()
    refresh_token = handle.login()["RefreshToken"]
    with handle.stackflow() as client:
        category = client.post("/categories", json={"name": "persisted", "label": "Persisted"}).json()
        incident = client.post("/incidents", json={"short_description": "kept", "category": "persisted"}).json()
    with handle.incidentfox() as client:
        version = client.put("/config/me", json={"routing": {"services": ["kept"]}}).json()["data"]["version"]
    org, team = before.incidentfox_org_id, before.incidentfox_team_id
    with handle.incidentfox(before.incidentfox_org_admin_token) as admin:
        minted = admin.post(f"/admin/orgs/{org}/teams/{team}/tokens").json()["data"]["token"]

    handle.restart()
    after = handle.info
    assert after.pid != before.pid
    same = (
        "port",
        "moto_port",
        "user_pool_id",
        "issuer",
        "app_client_id",
        "client_credentials_client_id",
        "client_credentials_client_secret",
        "password",
        "incidentfox_team_token",
        "incidentfox_org_admin_token",
    )
    assert {key: getattr(after, key) for key in same} == {key: getattr(before, key) for key in same}
    # A token issued before the restart is still valid, and a new login has the same subject.
    with handle.stackflow(old_token) as client:
        assert client.get(f"/categories/{category['id']}").json() == category
        assert client.get(f"/incidents/{incident['id']}").json()["number"] == incident["number"]
        next_category = client.post("/categories", json={"name": "after-restart", "label": "x"}).json()
    assert int(next_category["id"][3:]) == int(category["id"][3:]) + 1
    # moto forgets refresh tokens: clients see NotAuthorized and fall back to a password login.
    cognito = handle.cognito()
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.initiate_auth(
            ClientId=after.app_client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    old_sub = jwt.decode(old_token, options={"verify_signature": False})["sub"]
    assert jwt.decode(handle.login()["IdToken"], options={"verify_signature": False})["sub"] == old_sub
    with handle.stackflow(handle.client_credentials_token()) as client:
        assert client.get("/incidents").json()["total"] == 1
    with handle.incidentfox() as client:
        effective = client.get("/config/me").json()["data"]
        assert effective["routing"]["services"] == ["kept"]
        assert client.put("/config/me", json={}).json()["data"]["version"] == version + 1
    with handle.incidentfox(minted) as client:
        assert client.get("/auth/me").status_code == 200


def test_start_options(sandbox_factory: Factory, forge: Forge) -> None:
    fault = {"kind": "error", "status": 500, "service": "stackflow", "path": "/categories$", "count": 1}
    handle = sandbox_factory(read_limit=3, write_limit=2, max_token_age=30, faults=[fault], dialect="oss")
    assert handle.info.settings["read_limit"] == 3
    assert handle.state()["settings"]["max_token_age"] == 30
    assert handle.state()["settings"] == handle.settings.runtime.model_dump()
    assert handle.state()["dialect"] == "oss"
    with handle.stackflow() as client:
        first = client.get("/categories")
        assert first.status_code == 500 and first.json()["error"]["code"] == "internal_error"
        second = client.get("/categories")
        assert second.status_code == 200 and second.headers["x-ratelimit-limit"] == "3"
        now = int(time.time())
        with handle.stackflow(forge(handle.id_token(), iat=now - 45, exp=now + 3000)) as old:
            assert old.get("/categories").status_code == 401
    with handle.incidentfox() as client:
        assert client.patch("/config/me", json={"config": {}}).status_code == 200


def test_request_log(sandbox: SandboxHandle) -> None:
    with sandbox.stackflow() as client:
        client.get("/categories", params={"page": 2})
    with sandbox.incidentfox() as client:
        client.get("/config/me")
    httpx.get(f"{sandbox.info.incidentfox_base_url}/auth/me")
    entries = sandbox.requests_log()
    assert [(e["service"], e["method"], e["path"], e["status"]) for e in entries] == [
        ("stackflow", "GET", "/prod/api/categories", 200),
        ("incidentfox", "GET", "/api/v1/config/me", 200),
        ("incidentfox", "GET", "/api/v1/auth/me", 401),
    ]
    assert entries[0]["query"] == "page=2" and entries[0]["identity"] == f"user:{sandbox.info.username}"
    token_id = sandbox.info.incidentfox_team_token.split(".")[0]
    assert entries[1]["identity"] == f"team-token:{token_id}" and entries[2]["identity"] is None
    assert entries[1]["auth_error"] is None and entries[2]["auth_error"] == "missing bearer token"
    assert all(abs(e["timestamp"] - time.time()) < 60 and e["request_id"] for e in entries)
    assert [e["path"] for e in sandbox.requests_log("incidentfox")] == ["/api/v1/config/me", "/api/v1/auth/me"]
    assert len(sandbox.requests_log(since=entries[0]["seq"])) == 2
    sandbox.reset_log()
    assert sandbox.requests_log() == []


def test_reset_data(sandbox_oss: SandboxHandle) -> None:
    info = sandbox_oss.info
    with sandbox_oss.stackflow() as client:
        client.post("/categories", json={"name": "wiped", "label": "x"})
    with sandbox_oss.incidentfox(info.incidentfox_org_admin_token) as admin:
        admin.post(f"/admin/orgs/{info.incidentfox_org_id}/nodes", json={"node_id": "wiped-team", "name": "W"})
        minted = admin.post(f"/admin/orgs/{info.incidentfox_org_id}/teams/wiped-team/tokens").json()["token"]
    with sandbox_oss.incidentfox() as client:
        client.patch("/config/me", json={"config": {"wiped": True}})
    assert "data" in sandbox_oss.reset(data=True)
    with sandbox_oss.stackflow() as client:
        assert client.get("/categories").json()["total"] == 0
    with sandbox_oss.incidentfox() as client:
        raw = client.get("/config/me/raw").json()
        assert raw["configs"][info.incidentfox_team_id] == {"team_name": "Sandbox Team"}
    with sandbox_oss.incidentfox(minted) as client:
        assert client.get("/auth/me").status_code == 401


def test_startup_time_is_reasonable(sandbox_session: SandboxHandle) -> None:
    assert sandbox_session.startup_seconds is not None
    # Generous: the machine may be busy; typical is 2-3 s.
    assert sandbox_session.startup_seconds < 30


def test_stop_is_idempotent_and_handles_stale_files(tmp_path: Path) -> None:
    state_dir = tmp_path / "stale"
    state_dir.mkdir()
    (state_dir / "sandbox.json").write_text(json.dumps({"pid": os.getpid()}))
    assert manager.running(state_dir) is None
    assert manager.stop(state_dir) is False
    assert not (state_dir / "sandbox.json").exists()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser


def test_the_child_gets_exactly_the_parents_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sandbox_settings(
        tmp_path,
        dialect="oss",
        read_limit=7,
        write_limit=3,
        time_scale=60,
        max_token_age=12.5,
        unlocked_write_window=0.25,
        faults=[{"kind": "drop", "service": "incidentfox", "methods": ["write"], "count": 2}],
        port=40123,
        moto_port=40124,
        token_validity=120,
        jwks_refetch_interval=0.1,
        seed=4,
    )
    command = manager.serve_command(settings)
    assert command[:5] == [sys.executable, "-m", "stackfox_sandbox", "sandbox", "serve"]
    parsed = settings_from_args(_parser().parse_args(command[3:]))
    assert parsed == settings.model_copy(update={"state_dir": tmp_path.resolve()})
    assert parsed.model_dump() == settings.model_copy(update={"state_dir": tmp_path.resolve()}).model_dump()
    # A relative state directory reaches the child made absolute, whatever directory the child runs in.
    monkeypatch.chdir(tmp_path)
    relative = settings_from_args(_parser().parse_args(manager.serve_command(sandbox_settings(Path("rel")))[3:]))
    assert relative.state_dir == tmp_path.resolve() / "rel"
    # The document replaces the options; both at once are refused rather than one silently ignored.
    both = _parser().parse_args([*command[3:], "--read-limit", "5"])
    with pytest.raises(ValueError, match="--settings-json"):
        settings_from_args(both)
    shorthand = _parser().parse_args(["sandbox", "start", "--error-rate", "0.1", "--latency", "0.2"])
    faults = settings_from_args(shorthand).faults
    assert [(f.kind, f.rate, f.seconds) for f in faults] == [("error", 0.1, 0.0), ("latency", 1.0, 0.2)]


def test_cli_defaults_are_the_model_defaults(tmp_path: Path) -> None:
    for action in ("start", "serve"):
        assert settings_from_args(_parser().parse_args(["sandbox", action])) == SandboxSettings()
    assert sandbox_settings(tmp_path) == SandboxSettings(state_dir=tmp_path, testing=True)
