"""stackfox's Python language host answers as Pulumi's own host does (pip toolchain), asked through its gRPC servicer.

The expected answers are upstream's behaviour (``sdk/python/cmd/pulumi-language-python/main.go`` and
``sdk/python/toolchain/pip.go``): a missing virtualenv is created and ``requirements.txt`` installed into
it; every installed ``pulumi-*`` / ``pulumi_*`` distribution, or one shipping ``pulumi-plugin.json``, is a
required package unless it says ``"resource": false``; messages are upstream's words. Interpreters are
stand-ins (``FAKE_PYTHON``) that log how they were called, so nothing here needs the network.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import engine_pb2_grpc, language_pb2

from stackfox_provider.toolchain import language_host
from stackfox_provider.toolchain.language_host import PythonLanguageHost, plugin_version, runner_arguments, watch_engine

FAKE_PYTHON = f"""#!{sys.executable}
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"python": sys.argv[0], "args": args, "cwd": os.getcwd(),
                          "venv": os.environ.get("VIRTUAL_ENV")}}) + "\\n")
if args[:2] == ["-m", "venv"]:
    os.makedirs(os.path.join(args[2], "bin"), exist_ok=True)
    shutil.copy(sys.argv[0], os.path.join(args[2], "bin", "python"))
elif args[:3] == ["-m", "pip", "list"]:
    print(open(os.environ["FAKE_PACKAGES"]).read())
elif args[:3] == ["-m", "pip", "install"]:
    print("pip says hello")
    sys.exit(int(os.environ.get("FAKE_PIP_EXIT", "0")))
elif args == ["--version"]:
    print("Python 3.11.7")
"""


class Aborted(Exception):
    """What ``context.abort`` raises in these tests."""


class Context:
    """A stand-in ``grpc.ServicerContext``: abort raises with the code and the message."""

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)


class RecordingEngine(engine_pb2_grpc.EngineServicer):
    """The engine's ``Log`` service, keeping every message."""

    def __init__(self) -> None:
        self.logs: list[Any] = []

    def Log(self, request: Any, context: Any) -> Any:
        self.logs.append(request)
        return empty_pb2.Empty()


@pytest.fixture
def engine() -> Iterator[tuple[str, RecordingEngine]]:
    recorder = RecordingEngine()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    engine_pb2_grpc.add_EngineServicer_to_server(recorder, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", recorder
    server.stop(grace=None)


def fake_python(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FAKE_PYTHON)
    path.chmod(0o755)
    return path


def environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "FAKE_LOG": str(tmp_path / "calls.jsonl"),
            "FAKE_PACKAGES": str(tmp_path / "packages.json"), **extra}  # fmt: skip


def calls(tmp_path: Path) -> list[dict[str, Any]]:
    log = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def program_info(root: Path, **options: str) -> language_pb2.ProgramInfo:
    struct = struct_pb2.Struct()
    struct.update(options)
    return language_pb2.ProgramInfo(
        root_directory=str(root), program_directory=str(root), entry_point=".", options=struct
    )


def install_package(site: Path, name: str, plugin: dict[str, Any] | None) -> None:
    module = site / name.replace("-", "_")
    module.mkdir(parents=True)
    if plugin is not None:
        (module / "pulumi-plugin.json").write_text(json.dumps(plugin))


# The fixed project's environment: (distribution, version, pulumi-plugin.json or None).
INSTALLED = [
    ("pulumi", "3.259.0", None),
    ("pulumi_aws", "7.51.1", {"resource": True, "name": "aws", "version": "7.51.1"}),
    ("pulumi-random", "4.16.3", None),
    ("pulumi_tls", "5.0.0", None),
    ("pulumi-policy", "1.13.0", None),
    ("pulumi_esc_sdk", "0.12.0", None),
    ("pulumi-command", "1.0.0rc2", None),
    ("pulumi-nightly", "3.31.0a1605189729", None),
    ("pulumi-epoch", "2!1.0", None),
    ("pulumi_nolib", "1.0.0", {"resource": False}),
    ("pulumi-unsaid", "2.0.0", {"name": "unsaid"}),
    ("acme-provider", "0.3", {"resource": True, "name": "acme", "server": "https://plugins.example.com/acme"}),
    ("netbox-sdk", "1.2.0", {"resource": True, "name": "terraform-provider", "version": "0.8.0",
                             "parameterization": {"name": "netbox", "version": "1.2.0",
                                                  "value": base64.b64encode(b"{}").decode()}}),
    ("stackfox-provider", "0.1.0", None),
    ("httpx", "0.28.1", None),
]  # fmt: skip

# Upstream's answer for that environment, in pip list order: (name, version, server, parameterization).
OFFICIAL_PACKAGES = [
    ("aws", "v7.51.1", "", None),
    ("random", "v4.16.3", "", None),
    ("pulumi_tls", "v5.0.0", "", None),  # upstream trims only a "pulumi-" prefix
    ("command", "v1.0.0-rc.2", "", None),
    ("nightly", "v3.31.0-alpha.1605189729", "", None),
    ("acme", "v0.3.0", "https://plugins.example.com/acme", None),
    ("terraform-provider", "v0.8.0", "", ("netbox", "1.2.0", b"{}")),
]


@pytest.fixture
def fixed_project(tmp_path: Path) -> Path:
    """A project whose virtualenv exists and holds ``INSTALLED``."""
    project = tmp_path / "project"
    site = tmp_path / "site-packages"
    fake_python(project / "venv" / "bin" / "python")
    for name, _, plugin in INSTALLED:
        install_package(site, name, plugin)
    rows = [{"name": name, "version": version, "location": str(site), "installer": "pip"}
            for name, version, _ in INSTALLED]  # fmt: skip
    (tmp_path / "packages.json").write_text(json.dumps(rows))
    return project


def test_required_packages_for_a_fixed_project_are_upstreams(fixed_project: Path, tmp_path: Path) -> None:
    host = PythonLanguageHost("127.0.0.1:1", Path("/unused"), environ(tmp_path))
    info = program_info(fixed_project, virtualenv="venv", toolchain="pip")

    answer = host.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest(info=info), Context())

    found = [
        (p.name, p.version, p.server,
         (p.parameterization.name, p.parameterization.version, p.parameterization.value)
         if p.HasField("parameterization") else None)
        for p in answer.packages
    ]  # fmt: skip
    assert found == OFFICIAL_PACKAGES
    assert {p.kind for p in answer.packages} == {"resource"}
    [listing] = calls(tmp_path)
    assert listing["python"] == str(fixed_project / "venv" / "bin" / "python")
    assert listing["args"] == ["-m", "pip", "list", "-v", "--format", "json"]
    assert listing["venv"] == str(fixed_project / "venv")


def test_get_required_plugins_is_unimplemented_as_upstream(tmp_path: Path) -> None:
    host = PythonLanguageHost("127.0.0.1:1", Path("/unused"), environ(tmp_path))

    with pytest.raises(Aborted) as aborted:
        host.GetRequiredPlugins(language_pb2.GetRequiredPluginsRequest(), Context())

    assert aborted.value.args == (grpc.StatusCode.UNIMPLEMENTED, "method GetRequiredPlugins not implemented")


def test_program_dependencies_and_about_come_from_the_virtualenv(fixed_project: Path, tmp_path: Path) -> None:
    host = PythonLanguageHost("127.0.0.1:1", Path("/unused"), environ(tmp_path))
    info = program_info(fixed_project, virtualenv="venv")

    dependencies = host.GetProgramDependencies(
        language_pb2.GetProgramDependenciesRequest(info=info, transitiveDependencies=True), Context()
    )
    about = host.About(language_pb2.AboutRequest(info=info), Context())

    assert [(d.name, d.version) for d in dependencies.dependencies] == [(n, v) for n, v, _ in INSTALLED]
    assert (about.executable, about.version) == (str(fixed_project / "venv" / "bin" / "python"), "3.11.7")


def test_install_dependencies_creates_the_venv_and_installs_requirements(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("stackfox-provider\n")
    base = fake_python(tmp_path / "base" / "python3")
    host = PythonLanguageHost("127.0.0.1:1", Path("/unused"), environ(tmp_path, PULUMI_PYTHON_CMD=str(base)))
    request = language_pb2.InstallDependenciesRequest(info=program_info(project, virtualenv="venv"))

    responses = list(host.InstallDependencies(request, Context()))

    venv_python = str(project / "venv" / "bin" / "python")
    assert [(c["python"], c["args"]) for c in calls(tmp_path)] == [
        (str(base), ["-m", "venv", str(project / "venv")]),
        (venv_python, ["-m", "pip", "install", "--upgrade", "pip", "setuptools", "wheel"]),
        (venv_python, ["-m", "pip", "install", "-r", "requirements.txt"]),
    ]
    assert {c["cwd"] for c in calls(tmp_path)[1:]} == {str(project)}
    assert b"".join(r.stdout for r in responses).decode() == (
        "Installing dependencies...\n\n"
        "Creating virtual environment...\nFinished creating virtual environment\n"
        "Updating pip, setuptools, and wheel in virtual environment...\npip says hello\nFinished updating\n"
        "Installing dependencies in virtual environment...\npip says hello\nFinished installing dependencies\n"
        "Finished installing dependencies\n\n"
    )


def test_a_failed_install_says_which_command_failed(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    base = fake_python(tmp_path / "base" / "python3")
    host = PythonLanguageHost(
        "127.0.0.1:1", Path("/unused"), environ(tmp_path, PULUMI_PYTHON_CMD=str(base), FAKE_PIP_EXIT="1")
    )
    request = language_pb2.InstallDependenciesRequest(info=program_info(project, virtualenv="venv"))

    with pytest.raises(Aborted) as aborted:
        list(host.InstallDependencies(request, Context()))

    python = project / "venv" / "bin" / "python"
    assert aborted.value.args[1] == (
        f"updating pip, setuptools, and wheel via '{python} -m pip install --upgrade pip setuptools wheel': "
        "exit status 1"
    )


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_required_packages_first_create_a_missing_or_empty_venv_logging_to_the_engine(
    tmp_path: Path, engine: tuple[str, RecordingEngine], state: str
) -> None:
    address, recorder = engine
    project = tmp_path / "project"
    (project / "venv" if state == "empty" else project).mkdir(parents=True)
    (tmp_path / "packages.json").write_text("[]")
    base = fake_python(tmp_path / "base" / "python3")
    host = PythonLanguageHost(address, Path("/unused"), environ(tmp_path, PULUMI_PYTHON_CMD=str(base)))
    request = language_pb2.GetRequiredPackagesRequest(info=program_info(project, virtualenv="venv"))

    answer = host.GetRequiredPackages(request, Context())

    assert list(answer.packages) == []
    assert [c["args"][:3] for c in calls(tmp_path)] == [
        ["-m", "venv", str(project / "venv")], ["-m", "pip", "install"], ["-m", "pip", "list"]
    ]  # fmt: skip
    assert "".join(log.message for log in recorder.logs).startswith("Creating virtual environment...\n")
    assert {(log.ephemeral, log.streamId) for log in recorder.logs} == {(True, recorder.logs[0].streamId)}


def test_a_venv_directory_that_is_not_a_venv_is_left_alone_and_run_says_how_to_fix_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "venv" / "lib").mkdir(parents=True)
    (tmp_path / "packages.json").write_text("[]")
    host = PythonLanguageHost("127.0.0.1:1", Path("/unused"), environ(tmp_path))
    info = program_info(project, virtualenv="venv")

    with pytest.raises(Aborted):
        host.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest(info=info), Context())
    with pytest.raises(Aborted) as aborted:
        host.Run(language_pb2.RunRequest(pwd=str(project), info=info), Context())

    assert calls(tmp_path) == [], "nothing is created in a directory that holds something"
    venv = project / "venv"
    assert aborted.value.args[1].startswith(
        f"The 'virtualenv' option in Pulumi.yaml is set to \"venv\", but \"{venv}\" doesn't appear to be a "
        "virtual environment; run the following commands to create the virtual environment and install "
        f"dependencies into it:\n\n    1. python3 -m venv {venv}\n"
    )


def test_the_runner_gets_upstreams_flags_then_the_entry_point_and_its_args(tmp_path: Path) -> None:
    info = language_pb2.ProgramInfo(root_directory=str(tmp_path), program_directory=str(tmp_path), entry_point="app.py")
    request = language_pb2.RunRequest(project="proj", stack="dev", pwd=str(tmp_path), args=["--extra"],
                                      monitor_address="127.0.0.1:1", info=info)  # fmt: skip

    assert runner_arguments(request, "127.0.0.1:2") == [
        "--monitor", "127.0.0.1:1", "--engine", "127.0.0.1:2", "--project", "proj",
        "--root_directory", str(tmp_path), "--stack", "dev", "--pwd", str(tmp_path),
        "--dry_run", "false", "--parallel", "0", "app.py", "--extra",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("exit_code", "error", "bail"),
    [(0, "", False), (3, "program exited with non-zero exit code: 3", False), (32, "", True),
     (-2, "program exited with non-zero exit code: -1", False)],
)  # fmt: skip
def test_run_reports_how_the_runner_ended_in_upstreams_words(
    tmp_path: Path, exit_code: int, error: str, bail: bool
) -> None:
    runner = tmp_path / "runner.py"
    runner.write_text(f"import os, signal, sys\ncode = {exit_code}\n"
                      "os.kill(os.getpid(), -code) if code < 0 else sys.exit(code)\n")  # fmt: skip
    host = PythonLanguageHost("127.0.0.1:2", runner, {"PATH": os.environ["PATH"], "PULUMI_PYTHON_CMD": sys.executable})

    answer = host.Run(language_pb2.RunRequest(pwd=str(tmp_path), info=program_info(tmp_path)), Context())

    assert (answer.error, answer.bail) == (error, bail)


def test_run_passes_the_config_and_its_secret_keys(tmp_path: Path) -> None:
    runner = tmp_path / "runner.py"
    runner.write_text("import os, sys\nsys.exit(3 if os.environ['PULUMI_CONFIG'] == '{\"p:k\": \"v\"}' "
                      "and os.environ['PULUMI_CONFIG_SECRET_KEYS'] == '[\"p:k\"]' else 4)\n")  # fmt: skip
    host = PythonLanguageHost("127.0.0.1:2", runner, {"PATH": os.environ["PATH"], "PULUMI_PYTHON_CMD": sys.executable})
    request = language_pb2.RunRequest(pwd=str(tmp_path), info=program_info(tmp_path), config={"p:k": "v"},
                                      configSecretKeys=["p:k"])  # fmt: skip

    assert host.Run(request, Context()).error.endswith("exit code: 3")


def test_a_missing_virtualenv_stops_the_run_with_upstreams_advice(tmp_path: Path) -> None:
    host = PythonLanguageHost("127.0.0.1:2", Path("/unused"), {"PATH": os.environ["PATH"]})

    with pytest.raises(Aborted) as aborted:
        host.Run(language_pb2.RunRequest(info=program_info(tmp_path, virtualenv="missing")), Context())

    assert f'"{tmp_path / "missing"}" doesn\'t exist; run the following commands' in aborted.value.args[1]


def test_other_toolchains_are_refused_rather_than_run_differently(tmp_path: Path) -> None:
    host = PythonLanguageHost("127.0.0.1:2", Path("/unused"), {"PATH": os.environ["PATH"]})

    with pytest.raises(Aborted, match="the uv toolchain is not supported"):
        host.Run(language_pb2.RunRequest(info=program_info(tmp_path, toolchain="uv")), Context())


@pytest.mark.parametrize(
    ("package", "plugin"),
    [("1.2.3", "1.2.3"), ("1.0", "1.0.0"), ("1.2.3.4", "1.2.3.4"), ("1.2.3a4", "1.2.3-alpha.4"),
     ("1.2.3b1", "1.2.3-beta.1"), ("1.2.3rc4", "1.2.3-rc.4"), ("1.2.3.post4", "1.2.3+post4"),
     ("1.2.3.dev5", "1.2.3+dev5"), ("1.2.3.post4.dev5", "1.2.3+post4dev5"), ("2!1.0", None), ("1.", None),
     ("", None), ("1.0+local", None), ("1.0é", None)],
)  # fmt: skip
def test_plugin_versions_follow_upstreams_pep440_subset(package: str, plugin: str | None) -> None:
    assert plugin_version(package) == plugin



def test_the_watch_calls_an_engine_that_answers_unimplemented_alive(engine: tuple[str, RecordingEngine]) -> None:
    """The test engine serves no health service, as Pulumi's does not always: UNIMPLEMENTED means alive."""
    address, _ = engine
    gone = threading.Event()
    stop = watch_engine(address, 0.05, gone.set)
    try:
        assert not gone.wait(0.5)
    finally:
        stop.set()


def test_the_watch_reports_an_engine_that_went_away_once(tmp_path: Path) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    server.stop(grace=None).wait()  # the port had an engine and no longer has one
    calls: list[float] = []
    stop = watch_engine(f"127.0.0.1:{port}", 0.05, lambda: calls.append(time.monotonic()))
    time.sleep(1.0)
    stop.set()
    assert len(calls) == 1


def test_the_host_process_exits_when_its_engine_is_gone(tmp_path: Path) -> None:
    """What SIGKILL of `pulumi` leaves behind: a host whose engine no longer answers, maybe still waiting on a
    program. It must exit (here with the check every 0.05 s instead of every 5 minutes), after announcing its
    port as the engine expects."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    server.stop(grace=None).wait()
    shutil.copy(language_host.__file__, tmp_path / "language_host.py")  # installed as a file of its own
    (tmp_path / language_host.EXECUTOR_NAME).write_text("")
    # A handler still waiting on a program run for the dead engine (a thread that would keep Python alive).
    script = (
        "import threading, time, language_host; threading.Thread(target=time.sleep, args=(120,)).start(); "
        f"language_host.serve('127.0.0.1:{port}', health_interval=0.05)"
    )
    host = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False
    )
    assert host.returncode == 0, host.stderr
    assert host.stdout.strip().isdigit()
