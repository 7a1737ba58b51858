"""The OpenAPI documents in docs/api: in sync with the code, and fuzzed against a sandbox with schemathesis.

Each document is fuzzed against a dedicated sandbox (fuzzing writes junk that would disturb other tests), with
rate limits raised out of the way. No 5xx is allowed, except the oss dialect's deliberate crash cases.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stackfox_sandbox.openapi import DOC_FILES, build_openapi
from stackfox_sandbox.testing import SandboxHandle, sandbox_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api"
stackflow_schema = schemathesis.openapi.from_path(DOCS / "stackflow.openapi.json")
hosted_schema = schemathesis.openapi.from_path(DOCS / "incidentfox.openapi.json")
oss_schema = schemathesis.openapi.from_path(DOCS / "incidentfox-oss.openapi.json")
FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
CONFORMANCE = [
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]
NO_LIMITS = {"read_limit": 1_000_000, "write_limit": 1_000_000}


@schemathesis.check
def only_deliberate_server_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """oss dialect: a 5xx must be one of the known crash cases of a validated config write."""
    if response.status_code < 500:
        return None
    marker = response.headers.get("x-sandbox-deliberate-error")
    marker = marker[0] if isinstance(marker, list) else marker
    assert marker == "oss-crash", f"undeliberate {response.status_code} on {case.method} {case.path}"
    assert case.method == "PATCH" and "config" in case.path, f"crash outside a config write: {case.path}"
    return None


@pytest.fixture(scope="module")
def fuzz_hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = SandboxHandle(sandbox_settings(tmp_path_factory.mktemp("fuzz-hosted"), **NO_LIMITS)).start()
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def fuzz_oss(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = SandboxHandle(sandbox_settings(tmp_path_factory.mktemp("fuzz-oss"), dialect="oss", **NO_LIMITS)).start()
    yield handle
    handle.stop()


def _incidentfox_headers(handle: SandboxHandle, path: str) -> dict[str, str]:
    admin = path.startswith(("/admin/", "/config/orgs/"))
    token = handle.info.incidentfox_org_admin_token if admin else handle.info.incidentfox_team_token
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("name", sorted(DOC_FILES))
def test_documents_match_the_code(name: str) -> None:
    service, dialect = DOC_FILES[name]
    committed = json.loads((DOCS / name).read_text())
    assert committed == json.loads(json.dumps(build_openapi(service, dialect))), (
        f"docs/api/{name} is stale: run `python -m stackfox_sandbox.openapi docs/api`"
    )


def test_documents_are_served(fuzz_hosted: SandboxHandle) -> None:
    served = httpx.get(f"{fuzz_hosted.info.stackflow_base_url}/openapi.json").json()
    assert served["servers"] == [{"url": fuzz_hosted.info.stackflow_base_url}]
    assert set(served["paths"]) == set(json.loads((DOCS / "stackflow.openapi.json").read_text())["paths"])


@stackflow_schema.parametrize()
@FUZZ
def test_stackflow_fuzz(case: Any, fuzz_hosted: SandboxHandle) -> None:
    case.call_and_validate(
        base_url=fuzz_hosted.info.stackflow_base_url,
        headers={"Authorization": f"Bearer {fuzz_hosted.id_token()}"},
        checks=[not_a_server_error, *CONFORMANCE],
    )


@hosted_schema.parametrize()
@FUZZ
def test_incidentfox_hosted_fuzz(case: Any, fuzz_hosted: SandboxHandle) -> None:
    case.call_and_validate(
        base_url=fuzz_hosted.info.incidentfox_base_url,
        headers=_incidentfox_headers(fuzz_hosted, case.path),
        checks=[not_a_server_error, *CONFORMANCE],
    )


@oss_schema.parametrize()
@FUZZ
def test_incidentfox_oss_fuzz(case: Any, fuzz_oss: SandboxHandle) -> None:
    case.call_and_validate(
        base_url=fuzz_oss.info.incidentfox_base_url,
        headers=_incidentfox_headers(fuzz_oss, case.path),
        checks=[only_deliberate_server_errors, *CONFORMANCE],
    )
