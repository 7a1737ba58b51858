"""Unit tests share one process: each starts from a process that has kept nothing (clients, tokens, claims)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stackfox_provider import process


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    process.reset()
    yield
    process.reset()
