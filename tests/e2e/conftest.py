"""Fixtures for tests that drive the real Pulumi engine (CLI and Automation API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackfox_provider.engine import LocalEngine
from stackfox_provider.toolchain import Toolchain, install_toolchain


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    """The real toolchain: found, or built from Go modules on a first run (never skipped)."""
    return install_toolchain()


@pytest.fixture
def engine(toolchain: Toolchain, tmp_path: Path) -> LocalEngine:
    """An engine whose file backend and PULUMI_HOME live in this test's temporary directory."""
    return LocalEngine.in_state_dir(toolchain, tmp_path / "state")
