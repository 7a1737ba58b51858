"""Every layout Pulumi's installers make works for the CLI and for the Automation API's ``PulumiCommand(root=...)``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pulumi import automation as auto

from stackfox_provider import toolchain
from stackfox_provider.backend import Backend
from stackfox_provider.engine import LocalEngine
from stackfox_provider.toolchain import PULUMI_VERSION, Toolchain, find_toolchain
from tests.unit.toolchain.test_install import fake_official_install


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty toolchain home (no cached toolchain) and a PATH with nothing Pulumi on it."""
    monkeypatch.setenv(toolchain.TOOLCHAIN_HOME_ENV, str(tmp_path / "toolchain-home"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")


def on_path(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Toolchain:
    """The toolchain found with ``bin_dir`` first on PATH."""
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    found = find_toolchain()
    assert found is not None and found.source == "path"
    return found


def runs(root: Path) -> Path:
    """The ``pulumi`` the Automation API runs for ``root`` (it checks its version on the way)."""
    command = auto.PulumiCommand(root=str(root))
    assert str(command.version) == PULUMI_VERSION
    return Path(command.command)


def test_an_install_with_a_bin_directory_is_its_own_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = on_path(fake_official_install(tmp_path / ".pulumi" / "bin", f"v{PULUMI_VERSION}"), monkeypatch)

    assert found.command_root() == tmp_path / ".pulumi"
    assert runs(found.command_root()) == tmp_path / ".pulumi" / "bin" / "pulumi"
    assert not (tmp_path / "toolchain-home").exists(), "nothing to link"


def test_the_flat_release_archive_gets_a_root_that_links_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flat = fake_official_install(tmp_path / "pulumi", f"v{PULUMI_VERSION}")  # pulumi-v3.x-linux-x64.tar.gz
    found = on_path(flat, monkeypatch)

    root = found.command_root()

    assert found.bin_dir == flat
    assert root.parent == tmp_path / "toolchain-home" / toolchain.ROOTS_DIR
    assert runs(root).resolve() == flat / "pulumi"
    assert found.command_root() == root, "made once, then reused"


def test_a_package_manager_s_links_are_followed_to_the_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install = fake_official_install(tmp_path / "opt" / "pulumi", f"v{PULUMI_VERSION}")
    bin_dir = tmp_path / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    for executable in install.iterdir():
        (bin_dir / executable.name).symlink_to(executable)

    found = on_path(bin_dir, monkeypatch)

    assert found.bin_dir == install
    assert runs(found.command_root()).resolve() == install / "pulumi"


def test_two_installs_get_two_roots(tmp_path: Path) -> None:
    first = Toolchain(fake_official_install(tmp_path / "a" / "pulumi", f"v{PULUMI_VERSION}"), "path")
    second = Toolchain(fake_official_install(tmp_path / "b" / "pulumi", f"v{PULUMI_VERSION}"), "path")

    assert first.command_root() != second.command_root()
    assert (second.command_root() / "bin").resolve() == second.bin_dir


def test_the_automation_api_runs_the_flat_layout_and_leaves_a_user_s_home_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = on_path(fake_official_install(tmp_path / "pulumi", f"v{PULUMI_VERSION}"), monkeypatch)
    engine = LocalEngine(found, Backend("file:///theirs", "PULUMI_BACKEND_URL"))

    options = engine.workspace_options(work_dir=str(tmp_path))

    assert Path(options.pulumi_command.command).resolve() == tmp_path / "pulumi" / "pulumi"
    assert options.pulumi_home is None
    assert options.env_vars["PATH"].split(os.pathsep)[0] == str(tmp_path / "pulumi")
