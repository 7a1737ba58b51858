"""stackfox in a user's own Pulumi setup, through the real `stackfox` command: Pulumi's official release layout
first on PATH, and the backend and passphrase the user chose with `pulumi login`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pulumi import automation as auto

from stackfox_provider.engine import LocalEngine
from stackfox_provider.testing import LocalFile
from stackfox_provider.toolchain import TOOLCHAIN_HOME_ENV, Toolchain
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import StackState, write_project

#: What Pulumi's release archive (pulumi-v3.x-linux-x64.tar.gz, unpacked to ``pulumi/``) holds of what stackfox runs.
RELEASE_FILES = ("pulumi", "pulumi-language-python*", "pulumi-resource-pulumi-python")
#: Settings of the developer's own Pulumi that must not leak into these tests.
CHOICES = ("STACKFOX_STATE_DIR", "PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CREDENTIALS_PATH")

LOCAL_FILE_PROGRAM = """\
    from stackfox_provider.testing import LocalFile

    LocalFile("greeting", path={path!r}, content="hello")
"""
CATEGORY_PROGRAM = """\
    from stackfox_provider.stackflow import IncidentCategory

    IncidentCategory("category", name={name!r}, label="User setup", default_priority="P3")
"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def official_layout(toolchain: Toolchain, directory: Path) -> Path:
    """``directory/pulumi/``, flat as Pulumi's release archive, made of the toolchain's files (`pulumi` hard-linked)."""
    flat = directory / "pulumi"
    flat.mkdir(parents=True)
    for pattern in RELEASE_FILES:
        for source in toolchain.bin_dir.glob(pattern):
            if source.name != "pulumi" or not _hard_link(source, flat / source.name):
                shutil.copy2(source, flat)  # the helpers are small: copies never change with the cache
    return flat


def _hard_link(source: Path, target: Path) -> bool:
    """A hard link (not a symlink: stackfox would follow it back to the cache); False across file systems."""
    try:
        os.link(source, target)
    except OSError:
        return False
    return True


def user_environment(tmp_path: Path, first_on_path: Path) -> dict[str, str]:
    """A user's shell: ``first_on_path`` first, their own PULUMI_HOME, no cached stackfox toolchain, nothing chosen."""
    env = {name: value for name, value in os.environ.items() if name not in CHOICES}
    env["PATH"] = os.pathsep.join([str(first_on_path), env.get("PATH", os.defpath)])
    env["PULUMI_HOME"] = str(tmp_path / "pulumi-home")
    env[TOOLCHAIN_HOME_ENV] = str(tmp_path / "no-toolchains")
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    return env


def run(command: list[str], env: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def stackfox(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "stackfox_provider.cli", *args], env, check=check)


def test_the_official_release_layout_runs_the_cli_and_the_automation_api(
    toolchain: Toolchain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flat = official_layout(toolchain, tmp_path / "release")
    env = user_environment(tmp_path, first_on_path=flat)
    assert stackfox(env, "toolchain", "path").stdout.strip() == str(flat)

    project_dir = write_project(tmp_path / "cli", "layout", LOCAL_FILE_PROGRAM.format(path=str(tmp_path / "cli.txt")))
    where = ["--cwd", str(project_dir), "--state-dir", str(tmp_path / "state")]
    stackfox(env, "pulumi", *where, "--", "stack", "init", "e2e")
    preview = stackfox(env, "pulumi", *where, "--", "preview", "--stack", "e2e")
    assert "+ 2 to create" in preview.stdout

    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.setenv(TOOLCHAIN_HOME_ENV, env[TOOLCHAIN_HOME_ENV])
    engine = LocalEngine.for_project(tmp_path / "automation", tmp_path / "automation-state")
    assert (engine.toolchain.source, engine.toolchain.bin_dir) == ("path", flat)

    def program() -> None:
        LocalFile("greeting", path=str(tmp_path / "automation.txt"), content="hello")

    settings = auto.ProjectSettings(
        name="layout", runtime=auto.ProjectRuntimeInfo(name="python", options={"toolchain": "pip"})
    )
    stack = auto.create_or_select_stack(
        "e2e", project_name="layout", program=program, opts=engine.workspace_options(project_settings=settings)
    )
    assert Path(stack.workspace.pulumi_command.command).resolve() == flat / "pulumi"
    assert stack.preview().change_summary == {"create": 2}


def test_after_pulumi_login_use_sandbox_and_pulumi_use_that_backend(
    toolchain: Toolchain, tmp_path: Path, sandbox: SandboxHandle
) -> None:
    backend = tmp_path / "backend"
    backend.mkdir()
    env = {**user_environment(tmp_path, first_on_path=toolchain.bin_dir), "PULUMI_CONFIG_PASSPHRASE": "theirs"}
    run([str(toolchain.pulumi), "login", f"file://{backend}"], env)
    project = unique("user-setup")
    project_dir = write_project(tmp_path / "project", project, CATEGORY_PROGRAM.format(name=project))
    where = ["--cwd", str(project_dir)]
    says = f"stackfox: stack state in file://{backend} (`pulumi login`, recorded in {tmp_path / 'pulumi-home'}"
    state_file = backend / ".pulumi" / "stacks" / project / "dev.json"

    used = stackfox(env, "use-sandbox", *where, "--sandbox-dir", str(sandbox.state_dir), "--stack", "dev")
    assert used.stderr.startswith(says), used.stderr

    up = stackfox(env, "pulumi", *where, "--", "up", "--yes", "--stack", "dev")
    assert up.stderr.startswith(says), up.stderr
    assert StackState.load(state_file).resource("category")["outputs"]["name"] == project
    stackfox(env, "pulumi", *where, "--", "preview", "--expect-no-changes", "--stack", "dev")
    stackfox(env, "pulumi", *where, "--", "destroy", "--yes", "--stack", "dev")
    assert StackState.load(state_file).resources == []
    assert not (project_dir / ".stackfox").exists(), "no second stack in stackfox's own backend"

    del env["PULUMI_CONFIG_PASSPHRASE"]  # a user backend gets no default passphrase: pulumi says what it needs
    refused = stackfox(env, "use-sandbox", *where, "--sandbox-dir", str(sandbox.state_dir), check=False)
    assert refused.returncode != 0
    assert "passphrase must be set with PULUMI_CONFIG_PASSPHRASE" in refused.stderr
