"""The `stackfox` command line's own commands (toolchain, use-sandbox); drift and plan have their own tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackfox_provider import cli, toolchain
from stackfox_provider.settings import KNOWN_SETTINGS


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
    secrets = {key for key, secret in cli.SANDBOX_SETTINGS.values() if secret}

    assert secrets == {"stackfox:incidentfoxToken", "stackfox:stackflowPassword"}
    assert {key for key, _ in cli.SANDBOX_SETTINGS.values()} <= {f"stackfox:{key}" for key in KNOWN_SETTINGS}


def test_without_a_command_it_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "toolchain" in capsys.readouterr().err
