"""A Pulumi language host for Python programs, written for stackfox.

Pulumi's own host (``pulumi-language-python``, a Go program) is not served by the Go module proxy
these machines reach, so stackfox installs this one under that name. It serves the engine's
``LanguageRuntime`` gRPC service and runs each program through ``pulumi-language-python-exec``,
the program runner that sits beside it.

It answers as Pulumi's host does for the pip toolchain (``sdk/python/cmd/pulumi-language-python`` and
``sdk/python/toolchain/pip.go`` upstream), messages included: it creates a missing
``runtime.options.virtualenv`` and installs ``requirements.txt`` into it, reports every installed
Pulumi package as a required package, and runs the program the same way. What it still lacks is
listed in docs/toolchain.md.

It only needs the standard library, ``grpcio`` and the ``pulumi`` SDK's generated protobuf
modules, because the toolchain installer copies this file out of the package and runs it on its
own; it must not import anything from stackfox.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, language_pb2, language_pb2_grpc, plugin_pb2

HOST_VERSION = "3.259.0"
EXECUTOR_NAME = "pulumi-language-python-exec"
# The runner's exit code for "the error has already been reported to the engine".
EXIT_ERROR_ALREADY_REPORTED = 32
# Pulumi packages known to have no provider plugin (upstream's packagesWithoutPlugins).
PACKAGES_WITHOUT_PLUGINS = frozenset({"pulumi-policy", "pulumi_policy", "pulumi-esc-sdk", "pulumi_esc_sdk"})
PLUGIN_JSON = "pulumi-plugin.json"
# PEP 440 versions that have a plugin version (upstream's determinePluginVersion accepts the same subset).
_PLUGIN_VERSION = re.compile(
    r"(?P<release>\d+(?:\.\d+)*)?(?:(?P<pre>a|b|rc)(?P<pre_n>\d*))?(?:\.post(?P<post>\d*))?(?:\.dev(?P<dev>\d*))?"
)
_PRE_RELEASE = {"a": "alpha", "b": "beta", "rc": "rc"}

Write = Callable[[str], None]


class HostError(Exception):
    """A request the host cannot serve; the message is what the engine shows (in Pulumi's own words)."""


@dataclass(frozen=True)
class Output:
    """Where the output of a long step goes: the engine's log, or an ``InstallDependencies`` stream."""

    info: Write
    error: Write


@dataclass(frozen=True)
class PythonOptions:
    """The project's ``runtime.options``, as upstream's ``parseOptions`` reads them."""

    root: Path
    program_dir: Path
    virtualenv: str = ""
    toolchain: str = "pip"
    typechecker: str = ""

    @property
    def virtualenv_path(self) -> Path | None:
        """The virtualenv, relative to the project root; None when the program uses the ambient Python."""
        return self.root / self.virtualenv if self.virtualenv else None


@dataclass(frozen=True)
class PythonPackage:
    """One row of ``pip list -v --format json``."""

    name: str
    version: str
    location: str = ""


def _string_option(options: Mapping[str, Any], key: str, allowed: Sequence[str] | None = None) -> str:
    value = options.get(key, "")
    if not isinstance(value, str):
        raise HostError(f"{key} option must be a string")
    if value and allowed is not None and value not in allowed:
        raise HostError(f"unsupported {key} option: {value}")
    return value


def parse_options(info: language_pb2.ProgramInfo) -> PythonOptions:
    """``runtime.options`` of Pulumi.yaml, checked as upstream checks them."""
    raw = dict(json_format.MessageToDict(info.options)) if info.HasField("options") else {}
    return PythonOptions(
        root=Path(info.root_directory),
        program_dir=Path(info.program_directory),
        virtualenv=_string_option(raw, "virtualenv"),
        toolchain=_string_option(raw, "toolchain", ("pip", "poetry", "uv")) or "pip",
        typechecker=_string_option(raw, "typechecker", ("mypy", "pyright")),
    )


def require_pip(options: PythonOptions) -> None:
    """Refuse what this host cannot do yet rather than do it differently from Pulumi's host."""
    if options.toolchain != "pip":
        raise HostError(
            f"the {options.toolchain} toolchain is not supported by stackfox's Python language host (pip only); "
            "install Pulumi's own pulumi-language-python, or set runtime.options.toolchain: pip"
        )


def base_python(environ: Mapping[str, str]) -> str:
    """The interpreter outside any virtualenv: ``$PULUMI_PYTHON_CMD``, else ``python3``, else ``python`` (on PATH)."""
    names = [environ["PULUMI_PYTHON_CMD"]] if environ.get("PULUMI_PYTHON_CMD") else ["python3", "python"]
    for name in names:
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            return found
    listed = " ".join(f'"{name}"' for name in names)
    raise HostError(f"failed to locate any of [{listed}] on your PATH. Have you installed Python 3.6 or greater?")


def activate(environ: Mapping[str, str], venv: Path) -> dict[str, str]:
    """``environ`` with ``venv`` activated: its ``bin`` first on PATH, ``VIRTUAL_ENV`` set, ``PYTHONHOME`` unset."""
    env = {key: value for key, value in environ.items() if key not in ("PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), environ["PATH"]]) if "PATH" in environ else str(venv / "bin")
    env["VIRTUAL_ENV"] = str(venv)
    return env


def python_command(options: PythonOptions, environ: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The program's interpreter and its environment: the virtualenv's, else the ambient Python."""
    venv = options.virtualenv_path
    if venv is None:
        return base_python(environ), dict(environ)
    return str(venv / "bin" / "python"), activate(environ, venv)


def is_virtualenv(path: Path) -> bool:
    """A directory with ``bin/python`` in it, as upstream's ``IsVirtualEnv`` decides."""
    return (path / "bin" / "python").is_file()


def virtualenv_error(option: str, path: Path) -> HostError:
    """Upstream's ``NewVirtualEnvError``: what is wrong, and the three commands that fix it."""
    state = "doesn't exist" if not path.exists() else "doesn't appear to be a virtual environment"
    python = path / "bin" / "python"
    commands = (
        f"    1. python3 -m venv {path}\n"
        f"    2. {python} -m pip install --upgrade pip setuptools wheel\n"
        f"    3. {python} -m pip install -r requirements.txt\n"
    )
    return HostError(
        f"The 'virtualenv' option in Pulumi.yaml is set to {json.dumps(option)}, but {json.dumps(str(path))} "
        f"{state}; run the following commands to create the virtual environment and install dependencies into "
        f"it:\n\n{commands}\n\n"
        "For more information see: https://www.pulumi.com/docs/intro/languages/python/#virtual-environments"
    )


def validate_venv(options: PythonOptions) -> None:
    """Fail as upstream's ``ValidateVenv`` does when the configured virtualenv is not one."""
    venv = options.virtualenv_path
    if venv is not None and not is_virtualenv(venv):
        raise virtualenv_error(options.virtualenv, venv)


def _pump(stream: IO[str], write: Write) -> None:
    for line in stream:
        write(line)


def run_streamed(command: Sequence[str], env: Mapping[str, str], cwd: Path | None, output: Output) -> int:
    """Run ``command``, passing its stdout and stderr line by line to ``output``; its exit code."""
    with subprocess.Popen(
        list(command), env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, errors="replace",
    ) as process:  # fmt: skip
        assert process.stdout is not None and process.stderr is not None
        pumps = [
            threading.Thread(target=_pump, args=(process.stdout, output.info), daemon=True),
            threading.Thread(target=_pump, args=(process.stderr, output.error), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        for pump in pumps:
            pump.join()
        return process.wait()


def _create_venv(venv: Path, environ: Mapping[str, str], output: Output) -> None:
    if not venv.is_absolute():
        raise HostError(f"virtual environment path must be absolute: {venv}")
    output.info("Creating virtual environment...\n")
    completed = subprocess.run(
        [base_python(environ), "-m", "venv", str(venv)],
        env=dict(environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        if completed.stdout:
            output.error(completed.stdout + "\n")
        raise HostError(f"creating virtual environment at '{venv}': exit status {completed.returncode}")
    output.info("Finished creating virtual environment\n")


def _pip_install(
    what: str, args: Sequence[str], cwd: Path, venv: Path | None, environ: Mapping[str, str], output: Output
) -> None:
    python = str(venv / "bin" / "python") if venv is not None else base_python(environ)
    command = [python, "-m", "pip", "install", *args]
    env = activate(environ, venv) if venv is not None else environ
    returncode = run_streamed(command, env, cwd, output)
    if returncode != 0:
        raise HostError(f"{what} via '{' '.join(command)}': exit status {returncode}")


def install_dependencies(cwd: Path, venv: Path | None, environ: Mapping[str, str], output: Output) -> None:
    """Upstream's pip ``InstallDependencies``: (re)create the virtualenv, update pip, install requirements.txt."""
    if venv is not None:
        _create_venv(venv, environ, output)
    output.info("Updating pip, setuptools, and wheel in virtual environment...\n")
    _pip_install("updating pip, setuptools, and wheel", ["--upgrade", "pip", "setuptools", "wheel"],
                 cwd, venv, environ, output)  # fmt: skip
    output.info("Finished updating\n")
    if not (cwd / "requirements.txt").exists():
        return
    output.info("Installing dependencies in virtual environment...\n")
    _pip_install("installing dependencies", ["-r", "requirements.txt"], cwd, venv, environ, output)
    output.info("Finished installing dependencies\n")


def ensure_venv(options: PythonOptions, cwd: Path, environ: Mapping[str, str], output: Output) -> None:
    """Create and install the virtualenv when Pulumi.yaml names one that is missing or empty (``EnsureVenv``)."""
    venv = options.virtualenv_path
    if venv is None or is_virtualenv(venv):
        return
    if venv.exists():
        if not venv.is_dir():
            raise HostError(
                f"the 'virtualenv' option in Pulumi.yaml is set to {json.dumps(str(venv))} but it is not a directory"
            )
        if any(venv.iterdir()):
            return  # not a virtualenv and not empty: left alone, and Run says what is wrong
    install_dependencies(cwd, venv, environ, output)


def list_packages(
    options: PythonOptions, environ: Mapping[str, str], *, transitive: bool = True
) -> list[PythonPackage]:
    """The distributions installed in the program's environment, from ``python -m pip list -v --format json``."""
    python, env = python_command(options, environ)
    command = [python, "-m", "pip", "list", "-v", "--format", "json", *([] if transitive else ["--not-required"])]
    try:
        completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as error:
        raise HostError(f"calling `python {' '.join(command)}`: {error}") from error
    if completed.returncode != 0:
        raise HostError(
            f"calling `python {' '.join(command)}`: exit status {completed.returncode}\n{completed.stderr.strip()}"
        )
    try:
        rows = json.loads(completed.stdout)
    except ValueError as error:
        raise HostError(f"parsing `python {' '.join(command)}` output: {error}") from error
    return [PythonPackage(str(row["name"]), str(row["version"]), str(row.get("location") or "")) for row in rows]


@dataclass(frozen=True)
class PluginJson:
    """A package's ``pulumi-plugin.json`` (``PulumiPluginJSON`` upstream; absent keys read as Go zero values)."""

    resource: bool
    name: str = ""
    version: str = ""
    server: str = ""
    parameterization: plugin_pb2.PackageParameterization | None = None

    @classmethod
    def parse(cls, path: Path, data: Any) -> PluginJson:
        if not isinstance(data, dict):
            raise HostError(f"{path}: json: cannot unmarshal {type(data).__name__} into PulumiPluginJSON")
        # A missing key or a JSON null reads as the zero value, as Go's json.Unmarshal leaves it.
        resource = False if data.get("resource") is None else data["resource"]
        texts = {key: "" if data.get(key) is None else data[key] for key in ("name", "version", "server")}
        if not isinstance(resource, bool) or not all(isinstance(text, str) for text in texts.values()):
            raise HostError(f"{path}: json: resource must be a boolean and name, version and server strings")
        return cls(resource, parameterization=_parameterization(path, data.get("parameterization")), **texts)


def _parameterization(path: Path, data: Any) -> plugin_pb2.PackageParameterization | None:
    if data is None:
        return None
    try:
        value = base64.b64decode(data.get("value") or "", validate=True)  # Go's []byte travels as base64
        return plugin_pb2.PackageParameterization(
            name=data.get("name") or "", version=data.get("version") or "", value=value
        )
    except (AttributeError, TypeError, ValueError) as error:
        raise HostError(f"{path}: json: invalid parameterization: {error}") from error


def read_plugin_json(package: PythonPackage) -> PluginJson | None:
    """``<location>/<module>/pulumi-plugin.json`` of a package (module: the name with ``-`` as ``_``), if any."""
    path = Path(package.location, package.name.replace("-", "_"), PLUGIN_JSON)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise HostError(f"reading {path}: {error}") from error
    try:
        return PluginJson.parse(path, json.loads(text))
    except ValueError as error:
        raise HostError(f"{path}: {error}") from error


def is_pulumi_package(package: PythonPackage) -> bool:
    """A package with a readable ``pulumi-plugin.json``, or one named ``pulumi-*`` / ``pulumi_*``."""
    with contextlib.suppress(HostError):
        if read_plugin_json(package) is not None:
            return True
    return package.name.startswith(("pulumi_", "pulumi-"))


def plugin_version(version: str) -> str | None:
    """The plugin version of a package version (``1.2.3a4`` → ``1.2.3-alpha.4``), or None when there is none."""
    match = _PLUGIN_VERSION.fullmatch(version) if version and version.isascii() else None
    if match is None:
        return None
    segments = match["release"].split(".") if match["release"] else []
    result = ".".join(segments + ["0"] * (3 - len(segments)))
    if match["pre"]:
        result += f"-{_PRE_RELEASE[match['pre']]}.{match['pre_n']}"
    if match["post"] is not None:
        result += f"+post{match['post']}"
    if match["dev"] is not None:
        result += ("" if match["post"] is not None else "+") + f"dev{match['dev']}"
    return result


def package_dependency(package: PythonPackage) -> plugin_pb2.PackageDependency | None:
    """The provider plugin a Pulumi package needs (``determinePackageDependency`` upstream), if it needs one."""
    plugin = read_plugin_json(package) or PluginJson(resource=True)
    if not plugin.resource:
        return None
    version = plugin.version or plugin_version(package.version)
    if not version:
        return None  # a pre-release whose plugin version cannot be told from the package version
    return plugin_pb2.PackageDependency(
        name=plugin.name or package.name.removeprefix("pulumi-"),
        version=version if version.startswith("v") else f"v{version}",
        kind="resource",
        server=plugin.server,
        parameterization=plugin.parameterization,
    )


def required_packages(packages: Sequence[PythonPackage]) -> list[plugin_pb2.PackageDependency]:
    """Every provider plugin the installed Pulumi packages need, in ``pip list`` order."""
    pulumi_packages = [p for p in packages if is_pulumi_package(p) and p.name not in PACKAGES_WITHOUT_PLUGINS]
    return [dependency for p in pulumi_packages if (dependency := package_dependency(p)) is not None]


def runner_arguments(request: language_pb2.RunRequest, engine_address: str) -> list[str]:
    """The runner's arguments for one run request: non-empty flags, the entry point, the program's arguments."""
    flags = {
        "--monitor": request.monitor_address,
        "--engine": engine_address,
        "--project": request.project,
        "--root_directory": request.info.root_directory,
        "--stack": request.stack,
        "--pwd": request.pwd,
        "--dry_run": "true" if request.dryRun else "false",
        "--parallel": str(request.parallel),
        "--organization": request.organization,
    }
    arguments = [item for flag, value in flags.items() if value for item in (flag, value)]
    # The engine names the entry point relative to the program directory, which is the run's pwd.
    return [*arguments, request.info.entry_point or request.program or ".", *request.args]


def run_response(returncode: int) -> language_pb2.RunResponse:
    """What the engine is told about a finished runner, in upstream's words."""
    if returncode == 0:
        return language_pb2.RunResponse()
    if returncode == EXIT_ERROR_ALREADY_REPORTED:
        return language_pb2.RunResponse(bail=True)
    # Go reports -1 as the exit status of a process ended by a signal.
    return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {max(returncode, -1)}")


@contextlib.contextmanager
def engine_output(engine_address: str) -> Iterator[Output]:
    """Output sent to the engine as ephemeral log messages of one stream, as upstream's host sends it."""
    channel = grpc.insecure_channel(engine_address)
    engine = engine_pb2_grpc.EngineStub(channel)
    stream_id = random.randrange(2**31)

    def writer(severity: engine_pb2.LogSeverity.ValueType) -> Write:
        def write(text: str) -> None:
            engine.Log(engine_pb2.LogRequest(severity=severity, message=text, ephemeral=True, streamId=stream_id))

        return write

    try:
        yield Output(writer(engine_pb2.INFO), writer(engine_pb2.ERROR))
    finally:
        channel.close()


def _abort(context: grpc.ServicerContext, error: Exception) -> NoReturn:
    context.abort(grpc.StatusCode.UNKNOWN, str(error))
    raise error  # abort() raises already; this is for type checkers and for tests' stand-in contexts


def _streamed(work: Callable[[Output], None]) -> Iterator[language_pb2.InstallDependenciesResponse]:
    """Run ``work`` in a thread and yield its output as ``InstallDependencies`` responses while it runs."""
    messages: queue.Queue[language_pb2.InstallDependenciesResponse | None] = queue.Queue()
    failures: list[Exception] = []
    output = Output(
        info=lambda text: messages.put(language_pb2.InstallDependenciesResponse(stdout=text.encode())),
        error=lambda text: messages.put(language_pb2.InstallDependenciesResponse(stderr=text.encode())),
    )

    def run() -> None:
        try:
            work(output)
        except Exception as error:  # reported to the engine after the output
            failures.append(error)
        finally:
            messages.put(None)

    threading.Thread(target=run, daemon=True).start()
    while (message := messages.get()) is not None:
        yield message
    if failures:
        raise failures[0]


class PythonLanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """The ``LanguageRuntime`` service for Python programs with the pip toolchain."""

    def __init__(self, engine_address: str, executor: Path, environ: Mapping[str, str] | None = None) -> None:
        self._engine_address = engine_address
        self._executor = executor
        self._environ = dict(os.environ if environ is None else environ)

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=HOST_VERSION)

    def GetRequiredPlugins(
        self, request: language_pb2.GetRequiredPluginsRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetRequiredPluginsResponse:
        # Upstream's host answers only GetRequiredPackages; the engine falls back to this for older hosts.
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "method GetRequiredPlugins not implemented")
        raise NotImplementedError

    def GetRequiredPackages(
        self, request: language_pb2.GetRequiredPackagesRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetRequiredPackagesResponse:
        """Create the virtualenv if it is missing, then report the plugin of every installed Pulumi package."""
        try:
            options = parse_options(request.info)
            require_pip(options)
            with engine_output(self._engine_address) as output:
                ensure_venv(options, Path(request.info.program_directory), self._environ, output)
            packages = required_packages(list_packages(options, self._environ))
        except HostError as error:
            _abort(context, error)
        return language_pb2.GetRequiredPackagesResponse(packages=packages)

    def GetProgramDependencies(
        self, request: language_pb2.GetProgramDependenciesRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetProgramDependenciesResponse:
        try:
            options = parse_options(request.info)
            require_pip(options)
            packages = list_packages(options, self._environ, transitive=request.transitiveDependencies)
        except HostError as error:
            _abort(context, HostError(f"failed to get python dependencies: {error}"))
        dependencies = [language_pb2.DependencyInfo(name=p.name, version=p.version) for p in packages]
        return language_pb2.GetProgramDependenciesResponse(dependencies=dependencies)

    def RuntimeOptionsPrompts(
        self, request: language_pb2.RuntimeOptionsRequest, context: grpc.ServicerContext
    ) -> language_pb2.RuntimeOptionsResponse:
        return language_pb2.RuntimeOptionsResponse()

    def InstallDependencies(
        self, request: language_pb2.InstallDependenciesRequest, context: grpc.ServicerContext
    ) -> Iterator[language_pb2.InstallDependenciesResponse]:
        """``pulumi install``: always (re)create the virtualenv and install requirements.txt, streaming the output."""
        try:
            options = parse_options(request.info)
            require_pip(options)
        except HostError as error:
            _abort(context, error)
        venv = options.virtualenv_path
        if request.is_plugin and venv is None:
            venv = options.root / "venv"  # plugins never run on the ambient Python

        def work(output: Output) -> None:
            output.info("Installing dependencies...\n\n")
            install_dependencies(Path(request.info.program_directory), venv, self._environ, output)
            output.info("Finished installing dependencies\n\n")

        try:
            yield from _streamed(work)
        except HostError as error:
            _abort(context, error)

    def About(self, request: language_pb2.AboutRequest, context: grpc.ServicerContext) -> language_pb2.AboutResponse:
        try:
            options = parse_options(request.info) if request.HasField("info") else PythonOptions(Path(), Path())
            python, env = python_command(options, self._environ)
        except HostError as error:
            _abort(context, error)
        try:
            completed = subprocess.run([python, "--version"], env=env, capture_output=True, text=True, check=False)
        except OSError as error:
            _abort(context, HostError(f"failed to get version: {error}"))
        if completed.returncode != 0:
            _abort(context, HostError(f"failed to get version: exit status {completed.returncode}"))
        return language_pb2.AboutResponse(executable=python, version=completed.stdout.strip().removeprefix("Python "))

    def Run(self, request: language_pb2.RunRequest, context: grpc.ServicerContext) -> language_pb2.RunResponse:
        """Run the program through the runner in the project's interpreter and say how it ended."""
        try:
            options = parse_options(request.info)
            require_pip(options)
            if options.typechecker:
                raise HostError(f"runtime.options.typechecker ({options.typechecker}) is not supported by "
                                "stackfox's Python language host; run it yourself before `pulumi up`")  # fmt: skip
            validate_venv(options)
            python, env = python_command(options, self._environ)
        except HostError as error:
            _abort(context, error)
        env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        command = [python, str(self._executor), *runner_arguments(request, self._engine_address)]
        try:
            completed = subprocess.run(command, env=env, cwd=request.pwd or None, check=False)
        except OSError as error:
            return language_pb2.RunResponse(
                error=f"problem executing program (could not run language executor): {error}"
            )
        return run_response(completed.returncode)


#: How often the host asks whether the engine is still there, as upstream's hosts do (``rpcutil.Healthcheck``).
ENGINE_HEALTH_INTERVAL_SECONDS = 300.0
_HEALTH_CHECK = "/grpc.health.v1.Health/Check"


def watch_engine(engine_address: str, interval: float, on_gone: Callable[[], None]) -> threading.Event:
    """Every ``interval`` seconds, ask the engine's gRPC health service whether it is alive; call ``on_gone`` once
    when it does not answer (an engine killed with SIGKILL never interrupts its plugins). Returns the event that
    stops the watch.

    As upstream: UNIMPLEMENTED counts as alive (only a live engine can answer it), any other error as gone.
    """
    stopped = threading.Event()
    channel = grpc.insecure_channel(engine_address)
    # An empty HealthCheckRequest is zero bytes; the answer is not read, so no grpc-health package is needed.
    check = channel.unary_unary(_HEALTH_CHECK, request_serializer=lambda _: b"", response_deserializer=lambda _: None)

    def watch() -> None:
        while not stopped.wait(interval):
            try:
                check(None, timeout=interval)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                    on_gone()
                    break
        channel.close()

    threading.Thread(target=watch, name="engine-health", daemon=True).start()
    return stopped


def serve(engine_address: str, health_interval: float = ENGINE_HEALTH_INTERVAL_SECONDS) -> None:
    """Serve the host on a free loopback port and announce the port on stdout, as the engine expects; stop when
    the engine interrupts the host or stops answering its health checks."""
    executor = Path(__file__).resolve().parent / EXECUTOR_NAME
    if not executor.exists():
        raise SystemExit(f"pulumi-language-python: missing executor {executor}")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(PythonLanguageHost(engine_address, executor), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    gone = threading.Event()

    def engine_gone() -> None:
        gone.set()
        server.stop(grace=None)

    watch = watch_engine(engine_address, health_interval, engine_gone)
    print(port, flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:  # the engine interrupts its plugins when it is done with them
        server.stop(grace=None)
    finally:
        watch.set()
    if gone.is_set():
        # As upstream's host, whose main returns whatever its handlers are doing: a program still running for
        # the dead engine (its Run handler waits on it) must not keep the host alive, as Python's exit would.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


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
