"""The offline environment handed to the Pulumi CLI and the Automation API."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackfox_provider.engine import DEFAULT_PASSPHRASE, LocalEngine
from stackfox_provider.toolchain import Toolchain, ToolchainError

TOOLCHAIN = Toolchain(Path("/opt/toolchain/bin"), "cache")


def engine(tmp_path: Path, **kwargs: object) -> LocalEngine:
    return LocalEngine(TOOLCHAIN, tmp_path / "state", Path("/venv/bin/python"), **kwargs)  # type: ignore[arg-type]


def test_the_engine_is_pinned_offline_with_a_file_backend(tmp_path: Path) -> None:
    variables = engine(tmp_path).env_vars({"PATH": "/usr/bin"})

    assert variables == {
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_HOME": str(tmp_path / "state" / "home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": "/venv/bin/python",
        "PATH": "/opt/toolchain/bin:/usr/bin",
        "PULUMI_CONFIG_PASSPHRASE": DEFAULT_PASSPHRASE,
    }


@pytest.mark.parametrize("variable", ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"])
def test_a_passphrase_the_user_set_is_left_alone(tmp_path: Path, variable: str) -> None:
    variables = engine(tmp_path).env_vars({"PATH": "/usr/bin", variable: "theirs"})

    assert "PULUMI_CONFIG_PASSPHRASE" not in variables


def test_an_explicit_passphrase_wins(tmp_path: Path) -> None:
    variables = engine(tmp_path, passphrase="s3cret").env_vars({"PULUMI_CONFIG_PASSPHRASE": "theirs"})

    assert variables["PULUMI_CONFIG_PASSPHRASE"] == "s3cret"


def test_state_lives_where_the_file_backend_puts_it(tmp_path: Path) -> None:
    assert engine(tmp_path).state_file("proj", "dev") == tmp_path / "state" / ".pulumi" / "stacks" / "proj" / "dev.json"


def test_project_state_defaults_to_the_project_and_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STACKFOX_STATE_DIR", raising=False)
    assert LocalEngine.for_project(tmp_path, toolchain=TOOLCHAIN).state_dir == tmp_path / ".stackfox"

    monkeypatch.setenv("STACKFOX_STATE_DIR", str(tmp_path / "elsewhere"))
    assert LocalEngine.for_project(tmp_path, toolchain=TOOLCHAIN).state_dir == tmp_path / "elsewhere"


def test_without_a_toolchain_it_says_how_to_install_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stackfox_provider.engine.find_toolchain", lambda: None)

    with pytest.raises(ToolchainError, match="stackfox toolchain install"):
        LocalEngine.for_project(tmp_path)
