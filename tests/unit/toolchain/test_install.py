"""Resolution order of `install_toolchain`: PATH, then cache, then a Go build, else a clear error."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from stackfox_provider import toolchain
from stackfox_provider.toolchain import (
    EXECUTABLES,
    LANGUAGE_HOST_SCRIPT,
    PULUMI_VERSION,
    ToolchainError,
    gobuild,
    install_toolchain,
    is_compatible,
)


def fake_pulumi(path: Path, version: str = f"v{PULUMI_VERSION}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\n[ "$1" = version ] && echo {version}\n')
    path.chmod(0o755)
    return path


def fake_official_install(bin_dir: Path, version: str, helpers: tuple[str, ...] = EXECUTABLES[1:]) -> Path:
    fake_pulumi(bin_dir / "pulumi", version)
    for name in helpers:
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / name).chmod(0o755)
    return bin_dir


def fake_cache(version: str = PULUMI_VERSION) -> Path:
    target = toolchain.cached_toolchain_dir()
    fake_pulumi(target / "bin" / "pulumi")
    (target / toolchain.STAMP_FILE).write_text(json.dumps({"pulumi": version}))
    return target / "bin"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A toolchain home of our own and a PATH with nothing Pulumi on it."""
    monkeypatch.setenv(toolchain.TOOLCHAIN_HOME_ENV, str(tmp_path / "home"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return tmp_path


def test_a_compatible_pulumi_on_path_with_the_python_host_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cache()
    bin_dir = fake_official_install(tmp_path / "official", "v3.259.4")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")

    found = install_toolchain()

    assert (found.source, found.bin_dir) == ("path", bin_dir)


@pytest.mark.parametrize(
    ("version", "helpers"),
    [("v3.100.0", EXECUTABLES[1:]), (f"v{PULUMI_VERSION}", ("pulumi-resource-pulumi-python",))],
    ids=["other-release", "no-language-host"],
)
def test_an_unusable_pulumi_on_path_is_passed_over_for_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, helpers: tuple[str, ...]
) -> None:
    cached_bin = fake_cache()
    bin_dir = fake_official_install(tmp_path / "official", version, helpers)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")

    found = install_toolchain()

    assert (found.source, found.bin_dir) == ("cache", cached_bin)


def test_a_cached_install_is_a_fast_no_op_that_refreshes_the_helpers() -> None:
    cached_bin = fake_cache()

    started = time.monotonic()
    found = install_toolchain()
    elapsed = time.monotonic() - started

    assert (found.source, found.bin_dir) == ("cache", cached_bin)
    assert elapsed < 1.0
    for name in (*EXECUTABLES, LANGUAGE_HOST_SCRIPT):
        assert os.access(cached_bin / name, os.X_OK), name
    launcher = (cached_bin / "pulumi-language-python").read_text()
    assert "@INSTALL_PYTHON@" not in launcher


def test_a_stale_cache_of_another_version_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_cache(version="3.1.0")
    monkeypatch.setattr(gobuild, "find_go", lambda: None)

    with pytest.raises(ToolchainError):
        install_toolchain()


def test_without_pulumi_or_go_the_error_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gobuild, "find_go", lambda: None)

    with pytest.raises(ToolchainError) as raised:
        install_toolchain()

    message = str(raised.value)
    assert f"Pulumi v{PULUMI_VERSION}" in message
    assert "https://www.pulumi.com/docs/install/" in message
    assert "Go >= 1.25.11" in message


def test_with_go_it_builds_once_then_serves_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[Path] = []

    def build(go: Path, output: Path, workspace: Path, version: str, log: object) -> None:
        builds.append(output)
        fake_pulumi(output)

    monkeypatch.setattr(gobuild, "find_go", lambda: tmp_path / "go")
    monkeypatch.setattr(gobuild, "build_pulumi_cli", build)

    first = install_toolchain(log=lambda _: None)
    second = install_toolchain(log=lambda _: None)

    assert first.source == "built"
    assert second.source == "cache"
    assert first.bin_dir == second.bin_dir == toolchain.cached_toolchain_dir() / "bin"
    assert len(builds) == 1
    assert sorted(p.name for p in first.bin_dir.iterdir()) == sorted([*EXECUTABLES, LANGUAGE_HOST_SCRIPT])
    assert not first.bin_dir.parent.with_name(first.bin_dir.parent.name + ".partial").exists()


def test_a_build_reporting_the_wrong_version_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gobuild, "find_go", lambda: tmp_path / "go")
    monkeypatch.setattr(gobuild, "build_pulumi_cli", lambda go, output, *_: fake_pulumi(output, "v0.0.0-dev"))

    with pytest.raises(ToolchainError, match=r"v0\.0\.0-dev"):
        install_toolchain(log=lambda _: None)
    assert toolchain.find_toolchain() is None


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("v3.259.0", True),
        ("v3.259.12", True),
        ("3.259.1", True),
        ("v3.258.0", False),
        ("v3.259.0-dev", False),
        (None, False),
    ],
)
def test_compatible_means_the_same_minor_release(version: str | None, expected: bool) -> None:
    assert is_compatible(version) is expected


def fake_go(path: Path, version: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    go = path / "go"
    go.write_text(f"#!/bin/sh\necho go version go{version} linux/amd64\n")
    go.chmod(0o755)
    return go


def test_go_older_than_the_modules_need_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_go = fake_go(tmp_path / "old", "1.24.3")
    monkeypatch.setenv("PATH", f"{old_go.parent}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setattr(gobuild, "FALLBACK_GO", tmp_path / "missing" / "go")

    assert gobuild.find_go() is None


def test_a_recent_enough_go_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    new_go = fake_go(tmp_path / "new", "1.25.11")
    monkeypatch.setenv("PATH", f"{new_go.parent}{os.pathsep}/usr/bin:/bin")

    assert gobuild.find_go() == new_go
