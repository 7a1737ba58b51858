"""A Pulumi language host for Python programs, written for stackfox.

Pulumi's own host (``pulumi-language-python``, a Go program) is not served by the Go module proxy
these machines reach, so stackfox installs this one under that name. It serves the engine's
``LanguageRuntime`` gRPC service and runs each program through ``pulumi-language-python-exec``,
the program runner that sits beside it.

It only needs the standard library, ``grpcio`` and the ``pulumi`` SDK's generated protobuf
modules, because the toolchain installer copies this file out of the package and runs it on its
own; it must not import anything from stackfox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

HOST_VERSION = "3.259.0"
EXECUTOR_NAME = "pulumi-language-python-exec"
# The runner's exit code for "the error has already been reported to the engine".
EXIT_ERROR_ALREADY_REPORTED = 32


class ProgramSetupError(Exception):
    """The program cannot be started (missing virtualenv, no interpreter...)."""


def runtime_options(info: language_pb2.ProgramInfo) -> dict[str, Any]:
    """The ``runtime.options`` of Pulumi.yaml, as plain Python values."""
    if not info.HasField("options"):
        return {}
    return dict(json_format.MessageToDict(info.options))


def choose_python(info: language_pb2.ProgramInfo, environ: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Pick the interpreter for the program the way Pulumi's own host does, with its environment.

    ``runtime.options.virtualenv`` (relative to the project root) wins, then ``PULUMI_PYTHON_CMD``,
    then ``python3`` / ``python`` from PATH.
    """
    env = dict(environ)
    virtualenv = runtime_options(info).get("virtualenv")
    if virtualenv:
        venv = Path(info.root_directory or ".", str(virtualenv)).resolve()
        python = venv / "bin" / "python"
        if not python.exists():
            raise ProgramSetupError(
                f"The virtualenv {venv} named by runtime.options.virtualenv in Pulumi.yaml does not exist. "
                f"Create it (python3 -m venv {venv}) and install the program's requirements into it."
            )
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
        env.pop("PYTHONHOME", None)
        return str(python), env
    if env.get("PULUMI_PYTHON_CMD"):
        return env["PULUMI_PYTHON_CMD"], env
    for name in ("python3", "python"):
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found, env
    raise ProgramSetupError("No Python interpreter found: set PULUMI_PYTHON_CMD or put python3 on PATH.")


def runner_command(python: str, executor: Path, request: language_pb2.RunRequest, engine_address: str) -> list[str]:
    """The command line of ``pulumi-language-python-exec`` for one run request."""
    flags = {
        "--monitor": request.monitor_address,
        "--engine": engine_address,
        "--project": request.project,
        "--root_directory": request.info.root_directory,
        "--stack": request.stack,
        "--pwd": request.pwd,
        "--dry_run": "true" if request.dryRun else "false",
        "--parallel": str(request.parallel) if request.parallel else "",
        "--organization": request.organization,
    }
    command = [python, str(executor)]
    for flag, value in flags.items():
        if value:
            command += [flag, value]
    program = request.program or "."
    if request.info.program_directory:
        program = str(Path(request.info.program_directory, request.info.entry_point or "."))
    return [*command, program, *request.args]


class PythonLanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """The ``LanguageRuntime`` service for Python programs (pip toolchain, no plugin discovery)."""

    def __init__(self, engine_address: str, executor: Path) -> None:
        self._engine_address = engine_address
        self._executor = executor

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=HOST_VERSION)

    def GetRequiredPlugins(
        self, request: language_pb2.GetRequiredPluginsRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetRequiredPluginsResponse:
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(
        self, request: language_pb2.GetRequiredPackagesRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetRequiredPackagesResponse:
        # Dynamic providers are served by the bundled pulumi-python plugin; stackfox programs need
        # no other provider plugin, and looking for one could only end in a download attempt.
        return language_pb2.GetRequiredPackagesResponse()

    def GetProgramDependencies(
        self, request: language_pb2.GetProgramDependenciesRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetProgramDependenciesResponse:
        return language_pb2.GetProgramDependenciesResponse()

    def RuntimeOptionsPrompts(
        self, request: language_pb2.RuntimeOptionsRequest, context: grpc.ServicerContext
    ) -> language_pb2.RuntimeOptionsResponse:
        return language_pb2.RuntimeOptionsResponse()

    def InstallDependencies(
        self, request: language_pb2.InstallDependenciesRequest, context: grpc.ServicerContext
    ) -> Iterator[language_pb2.InstallDependenciesResponse]:
        # Dependencies are installed by `make up` / pip, never by the engine (that would need the network).
        yield from ()

    def About(self, request: language_pb2.AboutRequest, context: grpc.ServicerContext) -> language_pb2.AboutResponse:
        try:
            python, _ = choose_python(request.info, dict(os.environ))
        except ProgramSetupError:
            python = sys.executable
        return language_pb2.AboutResponse(executable=python, version=sys.version.split()[0])

    def Run(self, request: language_pb2.RunRequest, context: grpc.ServicerContext) -> language_pb2.RunResponse:
        try:
            python, env = choose_python(request.info, dict(os.environ))
        except ProgramSetupError as error:
            return language_pb2.RunResponse(error=str(error))
        env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        command = runner_command(python, self._executor, request, self._engine_address)
        completed = subprocess.run(command, env=env, cwd=request.pwd or None, check=False)
        if completed.returncode == 0:
            return language_pb2.RunResponse()
        if completed.returncode == EXIT_ERROR_ALREADY_REPORTED:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(error=f"Program exited with non-zero exit code: {completed.returncode}")


def serve(engine_address: str) -> None:
    """Serve the host on a free loopback port and announce the port on stdout, as the engine expects."""
    executor = Path(__file__).resolve().parent / EXECUTOR_NAME
    if not executor.exists():
        raise SystemExit(f"pulumi-language-python: missing executor {executor}")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(PythonLanguageHost(engine_address, executor), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:  # the engine interrupts its plugins when it is done with them
        server.stop(grace=None)


def main(argv: list[str]) -> int:
    # The engine passes flags such as -tracing first and its own address as the last argument.
    positional = [arg for arg in argv if not arg.startswith("-")]
    if not positional:
        print("usage: pulumi-language-python [flags] ENGINE_ADDRESS", file=sys.stderr)
        return 2
    serve(positional[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
