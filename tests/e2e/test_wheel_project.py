"""The built wheel in a fresh project, as a user would have it: nothing from this checkout but the wheel.

The wheel and sdist are built with ``python -m build`` (sdist first, the wheel from it). A project
directory outside the checkout holds only ``Pulumi.yaml`` (``virtualenv: venv``), ``__main__.py`` and a
``requirements.txt`` naming the wheel by path. The engine's language host creates the virtualenv from it
on the first ``pulumi up`` (pip may use the network or this machine's pip cache), and the stack goes
``up → preview --expect-no-changes → destroy`` against the sandbox. ``PULUMI_PYTHON_CMD`` names a bare
interpreter (no pulumi, no stackfox), so neither the program nor the dynamic provider can borrow
anything from the test environment: all they have is the wheel and its declared dependencies.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import time
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest

from stackfox_provider.engine import LocalEngine
from stackfox_sandbox.testing import SandboxHandle
from tests.e2e.support import PulumiCli, raw_overrides, sandbox_config

CHECKOUT = Path(__file__).resolve().parents[2]
PROJECT = "wheel-project"
EVENT = "wheel_project_done"
CATEGORY = "wheel-project"
SANDBOX_EXTRA = ("fastapi", "uvicorn", "moto", "pyjwt")

PULUMI_YAML = """\
    name: wheel-project
    description: stackfox from its built wheel, in a project of its own
    runtime:
      name: python
      options:
        virtualenv: venv
"""

PROGRAM = f"""\
    import pulumi
    import stackfox_provider.incidentfox
    from stackfox_provider.incidentfox import Webhook
    from stackfox_provider.stackflow import IncidentCategory

    Webhook("done", event="{EVENT}", url="https://hooks.example.com/wheel")
    IncidentCategory(
        "wheel",
        name="{CATEGORY}",
        label="Wheel project",
        default_priority="P3",
        subcategories=[{{"name": "dns", "label": "DNS"}}],
    )
    pulumi.export("stackfox_file", stackfox_provider.incidentfox.__file__)
"""


@dataclass(frozen=True)
class Dists:
    """The built distributions, and how long the build took."""

    wheel: Path
    sdist: Path
    seconds: float


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """The wheel and sdist of this checkout, built once with the standard front end."""
    out = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(CHECKOUT)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [wheel], [sdist] = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    return Dists(wheel, sdist, time.monotonic() - started)


@pytest.fixture(scope="module")
def project(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new project outside the checkout: Pulumi.yaml, __main__.py and a requirements.txt naming the wheel."""
    directory = tmp_path_factory.mktemp("fresh-project")
    assert not directory.is_relative_to(CHECKOUT)
    (directory / "Pulumi.yaml").write_text(textwrap.dedent(PULUMI_YAML))
    (directory / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    (directory / "requirements.txt").write_text(f"{dists.wheel}\n")
    return directory


def bare_python() -> Path:
    """An interpreter with neither pulumi nor stackfox: the one this test environment was made from."""
    python = Path(sys.base_prefix) / "bin" / "python3"
    probe = "import importlib.util as u, sys; sys.exit(bool(u.find_spec('pulumi') or u.find_spec('grpc')))"
    assert subprocess.run([str(python), "-I", "-c", probe], check=False).returncode == 0, python
    return python


def installed(venv: Path) -> dict[str, dict[str, str]]:
    """What ``pip list`` reports in ``venv``: name (lower case) → its row."""
    completed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "-v", "--format", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {row["name"].lower().replace("_", "-"): row for row in json.loads(completed.stdout)}


def test_the_wheel_and_sdist_carry_the_package_and_programs_need_no_extra(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as wheel:
        names = set(wheel.namelist())
        [metadata_name] = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    for shipped in ("stackfox_provider/py.typed", "stackfox_provider/toolchain/language_host.py",
                    "stackfox_provider/toolchain/shims/pulumi-language-python-exec",
                    "stackfox_provider/toolchain/gomod/go.mod", "stackfox_provider/incidentfox.py"):  # fmt: skip
        assert shipped in names
    always = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert not [r for r in always if r.lower().startswith(SANDBOX_EXTRA)], always
    assert "pulumi-aws" not in " ".join(metadata.get_all("Requires-Dist") or [])
    assert dists.sdist.name.startswith("stackfox_provider-")
    print(f"wheel and sdist built in {dists.seconds:.1f}s")


def test_a_fresh_project_goes_up_preview_destroy_on_the_venv_the_engine_made(
    engine: LocalEngine, project: Path, sandbox: SandboxHandle
) -> None:
    engine = dataclasses.replace(engine, python=bare_python())
    venv = project / "venv"
    assert not venv.exists(), "nothing is prepared by hand"
    cli = PulumiCli(engine, project, PROJECT, "e2e")
    cli.init(*sandbox_config(sandbox))

    started = time.monotonic()
    up = cli("up", "--yes")
    print(f"first `pulumi up` (venv creation included) took {time.monotonic() - started:.1f}s")

    assert "+ 3 created" in up.stdout, up.stdout
    assert (venv / "bin" / "python").is_file(), "the language host created the virtualenv"
    stackfox_file = cli("stack", "output", "stackfox_file").stdout.strip()
    assert Path(stackfox_file).is_relative_to(venv), stackfox_file
    packages = installed(venv)
    assert packages["stackfox-provider"].get("editable_project_location") is None
    assert not [name for name in SANDBOX_EXTRA if name in packages], sorted(packages)
    assert raw_overrides(sandbox)["webhooks"][EVENT] == "https://hooks.example.com/wheel"

    assert "3 unchanged" in cli("preview", "--expect-no-changes").stdout

    cli("destroy", "--yes")
    assert EVENT not in (raw_overrides(sandbox).get("webhooks") or {})
    assert cli.state().resources == []


def test_pulumi_install_installs_requirements_and_asks_for_no_plugin(engine: LocalEngine, project: Path) -> None:
    """``pulumi install`` runs the host's InstallDependencies (making the venv if the test above did not)."""
    engine = dataclasses.replace(engine, python=bare_python())

    completed = engine.run_cli(["install"], cwd=project, capture=True)

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "Finished installing dependencies" in output
    assert "Downloading plugin" not in output, output
    assert "stackfox-provider" in installed(project / "venv")
