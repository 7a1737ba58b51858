"""What each kind of process imports, checked in fresh interpreters: a program that declares resources, the
dynamic-provider process that unpickles and runs their providers, and ``stackfox pulumi``.

Module sets, never seconds: each test names what a process must not load, and also shows what it did load, so
that a probe that ran nothing cannot pass. ``pulumi.automation`` is refused only to ``stackfox pulumi``, which needs
no Pulumi SDK: the SDK's own ``__init__`` imports it, so every process that imports ``pulumi`` has it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from stackfox_provider import toolchain
from stackfox_provider.clients import incidentfox, stackflow
from stackfox_provider.resources.catalog import RESOURCES

#: Loaded only by the operations that need them: Cognito logins, `stackfox drift`/`plan`, the sandbox command.
NEVER_FOR_RESOURCES = {"boto3", "botocore", "stackfox_provider.review", "stackfox_sandbox"}
#: What `stackfox pulumi` does without: it only finds the toolchain and the backend, then runs `pulumi`.
NEVER_FOR_THE_WRAPPER = NEVER_FOR_RESOURCES | {
    "pulumi", "pulumi.automation", "pydantic", "httpx", "stackfox_provider.resources", "stackfox_provider.settings",
}  # fmt: skip
#: What a program does without: the clients (and httpx) load in the provider process, on its first API call.
NEVER_FOR_PROGRAMS = {
    "httpx", "stackfox_provider.clients.http", "stackfox_provider.clients.incidentfox.client",
    "stackfox_provider.clients.stackflow.client",
}  # fmt: skip
PROVIDER_MODULES = {resource.provider_class.__module__ for resource in RESOURCES}


def modules_after(code: str, *, stdin: str = "", env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds once ``code`` has run (the test fails if it fails)."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], input=stdin, capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_a_program_declaring_every_resource_loads_no_http_aws_review_or_sandbox_code() -> None:
    loaded = modules_after("import pulumi, stackfox_provider.incidentfox, stackfox_provider.stackflow")

    assert loaded & (NEVER_FOR_RESOURCES | NEVER_FOR_PROGRAMS) == set()
    assert loaded >= PROVIDER_MODULES | {"stackfox_provider.settings", "pydantic"}


UNPICKLE = """\
import base64, json, sys
import dill, pulumi.dynamic  # what the SDK's provider process (python -m pulumi.dynamic) has loaded

providers = [dill.loads(base64.b64decode(blob)) for blob in json.loads(sys.stdin.read())]
"""


def pickled(*names: str) -> str:
    """The providers of the named resource classes, as the engine hands them to the provider process."""
    chosen = [resource for resource in RESOURCES if resource.__name__ in names]
    assert len(chosen) == len(names)
    return json.dumps([serialize_provider(resource.provider_class(f"a-{resource.__name__}")) for resource in chosen])


def test_the_provider_process_unpickles_every_provider_without_aws_review_or_sandbox_code() -> None:
    loaded = modules_after(UNPICKLE, stdin=pickled(*(resource.__name__ for resource in RESOURCES)))

    assert loaded & NEVER_FOR_RESOURCES == set()
    assert loaded >= PROVIDER_MODULES


def test_a_provider_process_that_only_checks_categories_loads_no_http_client() -> None:
    check = f"{UNPICKLE}assert not providers[0].check({{}}, {{'name': 'network', 'label': 'Network'}}).failures"

    loaded = modules_after(check, stdin=pickled("IncidentCategory"))

    assert loaded & (NEVER_FOR_RESOURCES | {"httpx", "stackfox_provider.clients.stackflow.client"}) == set()
    assert "stackfox_provider.resources.incident_category" in loaded


CONFIGURE = f"""\
{UNPICKLE}
import socket, threading
from pulumi.dynamic import Config, ConfigureRequest

connections = []
socket.socket.connect = lambda self, address: connections.append(address)  # the warm-up must not call out
providers[0].configure(ConfigureRequest(Config(raw_config={{}}, project_name="ops")))
for thread in threading.enumerate():
    if thread.name == "stackfox-warm-up":
        thread.join(30)
assert connections == [], connections
"""
COGNITO_LOGIN = {
    "STACKFLOW_URL": "https://flow.example.com/prod/api", "STACKFLOW_USERNAME": "svc", "STACKFLOW_PASSWORD": "pw",
    "STACKFLOW_CLIENT_ID": "client", "STACKFLOW_REGION": "eu-west-1",
}  # fmt: skip
COGNITO_ADMIN_LOGIN = {
    **COGNITO_LOGIN, "STACKFLOW_AUTH_FLOW": "admin_user_password", "STACKFLOW_USER_POOL_ID": "eu-west-1_pool",
}  # fmt: skip
IF_CLIENT, SF_CLIENT = "stackfox_provider.clients.incidentfox.client", "stackfox_provider.clients.stackflow.client"
CLIENTS = {"httpx", IF_CLIENT, SF_CLIENT}
AWS = {"boto3", "botocore"}


@pytest.mark.parametrize(
    ("settings", "loaded_then", "never"),
    [
        ({}, set(), CLIENTS | AWS),
        ({"INCIDENTFOX_URL": "https://api.example.com/api/v1"}, {"httpx", IF_CLIENT}, AWS | {SF_CLIENT}),
        ({"STACKFLOW_URL": "https://flow.example.com/prod/api", "STACKFLOW_TOKEN": "t"}, {"httpx", SF_CLIENT}, AWS),
        (COGNITO_LOGIN, {"httpx", SF_CLIENT}, AWS),  # the default login is one httpx call
        (COGNITO_ADMIN_LOGIN, {SF_CLIENT, "boto3"}, set()),  # its client is made at login: it looks up AWS keys
    ],
    ids=["no-settings", "incidentfox", "stackflow-token", "cognito-login", "cognito-admin-login"],
)
def test_configure_loads_in_the_background_only_the_clients_the_settings_name_and_calls_nothing(
    settings: dict[str, str], loaded_then: set[str], never: set[str]
) -> None:
    unset = [name for name in os.environ if name.startswith(("INCIDENTFOX_", "STACKFLOW_", "COGNITO_"))]
    env = {**{k: v for k, v in os.environ.items() if k not in unset}, **settings}

    loaded = modules_after(CONFIGURE, stdin=pickled("Webhook"), env=env)

    assert loaded >= loaded_then
    assert loaded & (NEVER_FOR_RESOURCES - AWS | never) == set()


@pytest.fixture
def fake_toolchain(tmp_path: Path) -> dict[str, str]:
    """An environment whose only toolchain is a cached one whose `pulumi` prints its version."""
    bin_dir = tmp_path / "toolchains" / f"pulumi-v{toolchain.PULUMI_VERSION}" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "pulumi").write_text(f"#!/bin/sh\necho v{toolchain.PULUMI_VERSION}\n")
    (bin_dir / "pulumi").chmod(0o755)
    (bin_dir.parent / toolchain.STAMP_FILE).write_text(json.dumps({"pulumi": toolchain.PULUMI_VERSION}))
    return {**os.environ, toolchain.TOOLCHAIN_HOME_ENV: str(tmp_path / "toolchains"), "PATH": "/usr/bin:/bin"}


@pytest.mark.parametrize(
    ("arguments", "also_never"),
    [
        (["--state-dir", "{tmp}/state"], {"yaml"}),  # stackfox's backend: no Pulumi.yaml to read
        ([], set()),  # the project's Pulumi.yaml is read for its backend.url
    ],
    ids=["state-dir", "project-backend"],
)
def test_stackfox_pulumi_runs_pulumi_without_loading_the_sdk_the_provider_or_reviews(
    tmp_path: Path, fake_toolchain: dict[str, str], arguments: list[str], also_never: set[str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: ops\nruntime: python\n")
    argv = ["pulumi", "--cwd", str(project), *(arg.format(tmp=tmp_path) for arg in arguments), "--", "version"]
    run = f"from stackfox_provider import cli\nassert cli.main({argv!r}) == 0"

    loaded = modules_after(run, env=fake_toolchain)

    assert loaded & (NEVER_FOR_THE_WRAPPER | also_never) == set()
    assert loaded >= {"stackfox_provider.engine", "stackfox_provider.backend"}


@pytest.mark.parametrize("package", [incidentfox, stackflow], ids=lambda package: package.__name__)
def test_every_name_a_client_package_exports_loads_from_its_module(package: ModuleType) -> None:
    for name in package.__all__:
        value = getattr(package, name)  # loads its module
        homes = [module for loaded, module in sys.modules.items() if loaded.startswith(f"{package.__name__}.")]
        assert any(getattr(home, name, None) is value for home in homes), name
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        package.Nope  # noqa: B018
