"""stackfox's Python language host: interpreter choice and the runner's command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import language_pb2

from stackfox_provider.toolchain.language_host import (
    ProgramSetupError,
    PythonLanguageHost,
    choose_python,
    runner_command,
)


def program_info(root: Path, **options: str) -> language_pb2.ProgramInfo:
    struct = struct_pb2.Struct()
    struct.update(options)
    return language_pb2.ProgramInfo(
        root_directory=str(root), program_directory=str(root), entry_point=".", options=struct
    )


def test_the_projects_virtualenv_wins_and_goes_first_on_path(tmp_path: Path) -> None:
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.touch()

    chosen, env = choose_python(
        program_info(tmp_path, virtualenv="venv", toolchain="pip"),
        {"PATH": "/usr/bin", "PULUMI_PYTHON_CMD": "/other/python", "PYTHONHOME": "/x"},
    )

    assert chosen == str(python)
    assert env["PATH"].split(":")[0] == str(python.parent)
    assert env["VIRTUAL_ENV"] == str(python.parent.parent)
    assert "PYTHONHOME" not in env


def test_a_missing_virtualenv_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProgramSetupError, match=r"python3 -m venv .*missing"):
        choose_python(program_info(tmp_path, virtualenv="missing"), {"PATH": "/usr/bin"})


def test_without_a_virtualenv_pulumi_python_cmd_is_used(tmp_path: Path) -> None:
    chosen, _ = choose_python(program_info(tmp_path), {"PATH": "/usr/bin", "PULUMI_PYTHON_CMD": "/opt/py"})

    assert chosen == "/opt/py"


def test_the_runner_gets_only_non_empty_flags_then_the_program_and_its_args(tmp_path: Path) -> None:
    request = language_pb2.RunRequest(
        project="proj",
        stack="dev",
        pwd=str(tmp_path),
        program=".",
        args=["--extra"],
        dryRun=True,
        parallel=8,
        monitor_address="127.0.0.1:1",
        info=program_info(tmp_path),
    )

    command = runner_command("/py", Path("/bin/exec"), request, "127.0.0.1:2")

    assert command == [
        "/py", "/bin/exec",
        "--monitor", "127.0.0.1:1", "--engine", "127.0.0.1:2", "--project", "proj",
        "--root_directory", str(tmp_path), "--stack", "dev", "--pwd", str(tmp_path),
        "--dry_run", "true", "--parallel", "8",
        str(tmp_path / "."), "--extra",
    ]  # fmt: skip


def test_run_reports_a_failing_program_and_bails_on_an_already_reported_error(tmp_path: Path) -> None:
    runner = tmp_path / "runner.py"
    runner.write_text("import sys, os\nsys.exit(int(os.environ['PULUMI_CONFIG'] == '{}') * 3 or 32)\n")
    host = PythonLanguageHost("127.0.0.1:2", runner)
    info = program_info(tmp_path)

    failed = host.Run(language_pb2.RunRequest(pwd=str(tmp_path), info=info), context=None)  # type: ignore[arg-type]
    bailed = host.Run(
        language_pb2.RunRequest(pwd=str(tmp_path), info=info, config={"p:k": "v"}),
        context=None,  # type: ignore[arg-type]
    )

    assert failed.error == "Program exited with non-zero exit code: 3"
    assert bailed.bail and not bailed.error
