"""Rules of the package's structure: what the clients may import, and one root for stackfox's errors."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from stackfox_provider.clients.http import ApiError
from stackfox_provider.clients.incidentfox.client import TeamLockedError, TeamMismatchError
from stackfox_provider.clients.stackflow.auth import StackFlowAuthError, StackFlowSettingsError
from stackfox_provider.errors import RefusedError, StackfoxError
from stackfox_provider.resources._incidentfox import ManagedElsewhereError
from stackfox_provider.settings import SETTINGS, SettingsError
from stackfox_provider.toolchain import ToolchainError

PACKAGE = Path(__file__).parents[2] / "stackfox_provider"
#: What the service clients must not know of: Pulumi, stackfox's resources, settings and review commands.
FORBIDDEN_IN_CLIENTS = ("pulumi", *(f"stackfox_provider.{name}" for name in ("resources", "settings", "review")))


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("module", sorted(PACKAGE.glob("clients/**/*.py")), ids=lambda path: path.name)
def test_the_clients_know_nothing_of_pulumi_resources_settings_or_reviews(module: Path) -> None:
    bad = {name for name in imports(module) if any(name == p or name.startswith(f"{p}.") for p in FORBIDDEN_IN_CLIENTS)}
    assert bad == set()


def string_constants(path: Path) -> list[str]:
    """Every string literal of a module except docstrings (f-string parts included)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize(
    "module",
    [path for path in sorted(PACKAGE.rglob("*.py")) if path.name != "settings.py"],
    ids=lambda path: str(path.relative_to(PACKAGE)),
)
def test_only_the_settings_module_names_a_setting(module: Path) -> None:
    names = {spec.config_key for spec in SETTINGS} | {name for spec in SETTINGS for name in spec.env_vars}
    named = {name for text in string_constants(module) for name in names if name in text}
    assert named == set(), "name settings through stackfox_provider.settings (hint(), BY_KEY)"


@pytest.mark.parametrize(
    "error",
    [ApiError, SettingsError, StackFlowAuthError, StackFlowSettingsError, ToolchainError, RefusedError,
     TeamMismatchError, TeamLockedError, ManagedElsewhereError],
)  # fmt: skip
def test_every_error_stackfox_raises_on_purpose_has_one_root(error: type[Exception]) -> None:
    assert issubclass(error, StackfoxError)


def test_a_program_that_uses_only_incidentfox_never_imports_boto3() -> None:
    check = "import sys, stackfox_provider.incidentfox; print([m for m in ('boto3', 'botocore') if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
