"""Shared helpers for the sandbox tests; the fixtures come from ``stackfox_sandbox.testing``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from moto.utilities.utils import load_resource

# The sandbox fixtures are loaded by tests/conftest.py (pytest_plugins must live in the top conftest).

Forge = Callable[..., str]


@pytest.fixture(scope="session")
def moto_private_key() -> Any:
    """moto's signing key: it ships inside the wheel, which is why only ``iss`` separates pools."""
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(load_resource("cognitoidp/resources/jwks-private.json")))


@pytest.fixture
def forge(moto_private_key: Any) -> Forge:
    """``forge(base_token, key=..., kid=..., drop=[...], **claims)``: re-sign a token's claims with changes."""

    def make(base: str, *, key: Any = None, kid: str = "dummy", drop: tuple[str, ...] = (), **claims: Any) -> str:
        payload = jwt.decode(base, options={"verify_signature": False})
        payload.update(claims)
        for name in drop:
            payload.pop(name, None)
        return jwt.encode(payload, key or moto_private_key, algorithm="RS256", headers={"kid": kid})

    return make


@pytest.fixture
def unique() -> Callable[[str], str]:
    """``unique(prefix)``: a name no other test uses (slug-safe)."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def wait_until() -> Callable[..., bool]:
    """``wait_until(predicate, timeout=10)``: poll until true, bounded by the timeout."""

    def poll(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return predicate()

    return poll
