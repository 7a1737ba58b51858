"""The `stackfox` command line's own commands (toolchain, use-sandbox); drift and plan have their own tests."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

from stackfox_provider import cli, toolchain
from stackfox_provider.backend import Backend
from stackfox_provider.settings import SETTINGS
from stackfox_sandbox.info import STACK_CONFIG, SandboxInfo


def test_toolchain_path_prints_the_directory_with_the_executables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(toolchain.TOOLCHAIN_HOME_ENV, str(tmp_path))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert cli.main(["toolchain", "path"]) == 1
    assert "stackfox toolchain install" in capsys.readouterr().err

    bin_dir = toolchain.cached_toolchain_dir() / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "pulumi").write_text("#!/bin/sh\n")
    (bin_dir / "pulumi").chmod(0o755)
    (bin_dir.parent / toolchain.STAMP_FILE).write_text(json.dumps({"pulumi": toolchain.PULUMI_VERSION}))

    assert cli.main(["toolchain", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(bin_dir)


def test_use_sandbox_says_how_to_start_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["use-sandbox", "--sandbox-dir", str(tmp_path / "none")]) == 1
    assert "stackfox sandbox start" in capsys.readouterr().err


def test_every_sandbox_credential_becomes_a_setting_and_secrets_stay_secret() -> None:
    secrets = {key for key, (_, secret) in STACK_CONFIG.items() if secret}

    assert secrets == {"stackfox:incidentfoxToken", "stackfox:incidentfoxAdminToken", "stackfox:stackflowPassword"}
    assert secrets == {spec.config_key for spec in SETTINGS if spec.secret and spec.config_key in STACK_CONFIG}
    assert set(STACK_CONFIG) <= {spec.config_key for spec in SETTINGS}
    assert {field for field, _ in STACK_CONFIG.values()} <= set(SandboxInfo.model_fields), "named as sandbox.json does"


def test_without_the_sandbox_extra_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))

    assert cli.main(["sandbox", "start"]) == 1
    assert "pip install 'stackfox-provider[sandbox]'" in capsys.readouterr().err


def test_without_a_command_it_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "toolchain" in capsys.readouterr().err


def test_use_sandbox_sets_the_sandbox_s_settings_with_secrets_as_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fields = {name: f"<{name}>" for name, field in SandboxInfo.model_fields.items() if field.annotation is str}
    info = SandboxInfo.model_validate(
        {**fields, "pid": 1, "dialect": "oss", "testing": False, "port": 1, "moto_port": 2,
         "client_credentials_scopes": [], "control_url": None, "settings": {}}
    )  # fmt: skip
    info.write(tmp_path / "sandbox.json")
    calls: list[list[str]] = []

    class Engine:
        backend = Backend("file:///theirs", "`pulumi login`")

        def run_cli(self, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
            calls.append(args)
            return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(cli.LocalEngine, "for_project", lambda *args, **kwargs: Engine())

    assert cli.main(["use-sandbox", "--sandbox-dir", str(tmp_path), "--stack", "dev"]) == 0

    assert calls[0] == ["stack", "select", "--create", "dev"]
    flags = {value.split("=", 1)[0]: flag for flag, value in zip(calls[1][4::2], calls[1][5::2], strict=True)}
    assert flags == {key: "--secret" if secret else "--plaintext" for key, (_, secret) in STACK_CONFIG.items()}
    assert "stackfox:stackflowPassword=<password>" in calls[1]
    assert capsys.readouterr().err == "stackfox: stack state in file:///theirs (`pulumi login`)\n", "says where"


def test_help_describes_every_command_though_a_run_loads_only_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    described = capsys.readouterr().out

    listed = [line.split()[0] for line in described.splitlines() if line.startswith("    ") and line[4] != " "]
    assert listed == ["toolchain", "pulumi", "use-sandbox", "drift", "plan", "import", "sandbox"]
    assert "report what differs" in described, "each with its help"
    assert "declare what the services already hold" in described
