"""OpenAPI documents of both services, generated from the routes and committed under ``docs/api/``.

``python -m stackfox_sandbox.openapi docs/api`` rewrites them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI

from stackfox_sandbox.settings import INCIDENTFOX_PREFIX, STACKFLOW_PREFIX, Dialect

DOC_FILES: dict[str, tuple[Literal["stackflow", "incidentfox"], Dialect]] = {
    "stackflow.openapi.json": ("stackflow", "hosted"),
    "incidentfox.openapi.json": ("incidentfox", "hosted"),
    "incidentfox-oss.openapi.json": ("incidentfox", "oss"),
}
DEFAULT_ORIGIN = "http://127.0.0.1:8765"
PUBLIC_OPERATIONS = {("/health", "get"), ("/config/defaults", "get")}

STACKFLOW_DESCRIPTION = """\
StackFlow incidents API as served by the stackfox sandbox.

Authentication: `Authorization: Bearer <Cognito ID token>` (RS256, `iss` = the pool's issuer, `aud` = an allowed
app client, `token_use` = `id`), or a client-credentials access token (`token_use` = `access`, allowed
`client_id`; scope `stackflow/read` to read, `stackflow/write` to write). Failures answer 401 with
`WWW-Authenticate: Bearer error="invalid_token"`.

Lists are `{"data", "total", "page", "limit", "has_more"}`; created objects are returned flat. Errors are
`{"error": {"code", "message", "request_id"}}`. Category and incident responses carry an `ETag`; `PATCH` and
`DELETE` honour `If-Match` (412 when stale). Rate limits per caller: reads 100/min, writes 20/min by default, with
`X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` on every response and `Retry-After` on 429.
"""

INCIDENTFOX_DESCRIPTIONS: dict[Dialect, str] = {
    "hosted": """\
IncidentFox config API, **hosted dialect** (the documented contract), as served by the stackfox sandbox.

Authentication: `Authorization: Bearer <token_id>.<secret>` (team token or org-admin token). Success bodies are
`{"data", "meta": {"request_id", "timestamp"}}`; errors are `{"error": {"code", "message", "request_id"}}`.
`PUT /config/me` deep-merges a raw partial config: objects merge key by key, lists and scalars replace, `null` is
stored, no key can be deleted. Rate limits per token: reads 100/min, writes 20/min by default, with `X-RateLimit-*`
headers on every response and `Retry-After` on 429. The `/admin/orgs/...` routes are also served in this dialect
so that tests can create teams and tokens.
""",
    "oss": """\
IncidentFox config API, **open-source dialect** (what the open-source config service really does), as served by the
stackfox sandbox.

Bodies are bare objects; errors are `{"detail": ...}` with the request id in the `x-request-id` header (the
caller's id is echoed). `PATCH /config/me` takes `{"config": partial, "reason": str}`; `PUT /config/me` answers
405. Known crash cases answer 500 like the real service: a list or null at `mcp_servers`, a non-object entry in
`mcp_servers`, a non-object `agents` (these carry the header `x-sandbox-deliberate-error: oss-crash`). There is
no rate limiting.
""",
}


def build_openapi(
    service: Literal["stackflow", "incidentfox"], dialect: Dialect = "hosted", origin: str = DEFAULT_ORIGIN
) -> dict[str, Any]:
    """The OpenAPI document of one service (paths relative to its base URL)."""
    from stackfox_sandbox.incidentfox import routes as incidentfox
    from stackfox_sandbox.stackflow import routes as stackflow

    if service == "stackflow":
        app = FastAPI(title="StackFlow API (stackfox sandbox)", version="1.0.0", description=STACKFLOW_DESCRIPTION)
        app.include_router(stackflow.router)
        server = origin + STACKFLOW_PREFIX
        scheme = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    else:
        title = f"IncidentFox config API, {dialect} dialect (stackfox sandbox)"
        app = FastAPI(title=title, version="1.0.0", description=INCIDENTFOX_DESCRIPTIONS[dialect])
        app.include_router(incidentfox.build_router(dialect))
        server = origin + INCIDENTFOX_PREFIX
        scheme = {"type": "http", "scheme": "bearer", "bearerFormat": "<token_id>.<secret>"}
    document = app.openapi()
    document["servers"] = [{"url": server}]
    document.setdefault("components", {})["securitySchemes"] = {"bearerAuth": scheme}
    document["security"] = [{"bearerAuth": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (path, method) in PUBLIC_OPERATIONS:
                operation["security"] = []
    return document


def write_documents(directory: Path) -> list[Path]:
    """(Re)write every document into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (service, dialect) in DOC_FILES.items():
        path = directory / name
        path.write_text(json.dumps(build_openapi(service, dialect), indent=2, sort_keys=False) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_documents(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/api")):
        print(written_path)
