"""A dynamic resource through the real engine: up, preview, update, refresh, destroy.

Both ways users drive Pulumi: the CLI on a Pulumi.yaml project (which runs stackfox's language host,
program runner and dynamic-provider plugin) and the Automation API with an inline program.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
from pulumi import automation as auto

from stackfox_provider.engine import LocalEngine
from stackfox_provider.testing import LocalFile
from tests.e2e.support import PulumiCli, StackState, write_project

LOCAL_FILE = "pulumi-python:dynamic/testing:LocalFile"

PROGRAM = """\
    import pulumi
    from stackfox_provider.testing import LocalFile

    config = pulumi.Config()
    greeting = LocalFile("greeting", path=config.require("path"), content=config.require("content"))
    pulumi.export("sha256", greeting.sha256)
"""


def test_cli_lifecycle_on_a_pulumi_yaml_project(engine: LocalEngine, tmp_path: Path) -> None:
    target = tmp_path / "greeting.txt"
    cli = PulumiCli(engine, write_project(tmp_path / "project", "lifecycle", PROGRAM), "lifecycle", "e2e")
    cli.init({"path": str(target), "content": "v1"})

    up = cli("up", "--yes")
    assert "+ 2 created" in up.stdout
    assert target.read_text() == "v1"
    created = cli.state().resource("greeting")
    assert created["type"] == LOCAL_FILE
    assert (created["id"], created["inputs"]["content"], created["outputs"]["content"]) == (
        str(target),
        "v1",
        "v1",
    )

    unchanged = cli("preview", "--expect-no-changes")
    assert "2 unchanged" in unchanged.stdout

    cli("config", "set", "content", "v2")
    preview = cli("preview", "--diff", "--expect-no-changes", check=False)
    assert preview.returncode == 7, preview.stdout + preview.stderr
    assert '~ content: "v1" => "v2"' in preview.stdout
    assert target.read_text() == "v1", "a preview must not touch the resource"

    updated = cli("up", "--yes")
    assert "~ 1 updated" in updated.stdout
    assert target.read_text() == "v2"
    after_update = cli.state().resource("greeting")
    assert (after_update["id"], after_update["outputs"]["content"]) == (str(target), "v2")

    target.write_text("edited by hand")
    cli("refresh", "--yes")
    assert cli.state().resource("greeting")["outputs"]["content"] == "edited by hand"
    assert cli("preview", "--expect-no-changes", check=False).returncode == 7

    cli("destroy", "--yes")
    assert not target.exists()
    assert cli.state().names(LOCAL_FILE) == []


def test_a_program_error_fails_the_update_with_its_message(engine: LocalEngine, tmp_path: Path) -> None:
    program = "raise ValueError('the program is broken on purpose')\n"
    cli = PulumiCli(engine, write_project(tmp_path / "broken", "broken", program), "broken", "e2e")
    cli.init({})

    preview = cli("preview", check=False)

    assert preview.returncode != 0
    assert "the program is broken on purpose" in preview.stdout + preview.stderr


def test_automation_api_lifecycle_with_an_inline_program(engine: LocalEngine, tmp_path: Path) -> None:
    target = tmp_path / "greeting.txt"

    def program() -> None:
        greeting = LocalFile("greeting", path=str(target), content=pulumi.Config().require("content"))
        pulumi.export("sha256", greeting.sha256)

    settings = auto.ProjectSettings(
        name="automation", runtime=auto.ProjectRuntimeInfo(name="python", options={"toolchain": "pip"})
    )
    stack = auto.create_stack(
        "e2e",
        project_name="automation",
        program=program,
        opts=engine.workspace_options(project_settings=settings),
    )

    def state() -> StackState:
        return StackState.load(engine.state_file("automation", "e2e"))

    stack.set_config("content", auto.ConfigValue("v1"))
    assert stack.up().summary.resource_changes == {"create": 2}
    assert target.read_text() == "v1"
    assert state().resource("greeting")["outputs"]["content"] == "v1"

    assert stack.preview().change_summary == {"same": 2}

    stack.set_config("content", auto.ConfigValue("v2"))
    assert stack.up().summary.resource_changes == {"update": 1, "same": 1}
    assert target.read_text() == "v2"
    assert state().resource("greeting")["outputs"]["content"] == "v2"

    target.write_text("edited by hand")
    assert stack.refresh().summary.resource_changes == {"update": 1, "same": 1}
    assert state().resource("greeting")["outputs"]["content"] == "edited by hand"

    assert stack.destroy().summary.resource_changes == {"delete": 2}
    assert not target.exists()
    assert state().names(LOCAL_FILE) == []
