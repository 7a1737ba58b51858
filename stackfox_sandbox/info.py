"""``sandbox.json``: everything a client needs to talk to a running sandbox."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from stackfox_sandbox.settings import Dialect

SCHEMA_VERSION = 1
#: The stack config that points a stack at this sandbox: config key -> (field of sandbox.json, secret?).
STACK_CONFIG: dict[str, tuple[str, bool]] = {
    "stackfox:incidentfoxUrl": ("incidentfox_base_url", False),
    "stackfox:incidentfoxToken": ("incidentfox_team_token", True),
    "stackfox:incidentfoxAdminToken": ("incidentfox_org_admin_token", True),
    "stackfox:incidentfoxOrg": ("incidentfox_org_id", False),
    "stackfox:stackflowUrl": ("stackflow_base_url", False),
    "stackfox:stackflowUsername": ("username", False),
    "stackfox:stackflowPassword": ("password", True),
    "stackfox:stackflowClientId": ("app_client_id", False),
    "stackfox:stackflowUserPoolId": ("user_pool_id", False),
    "stackfox:stackflowRegion": ("region", False),
    "stackfox:cognitoEndpoint": ("cognito_endpoint_url", False),
}


class SandboxInfo(BaseModel):
    """The contents of ``<state dir>/sandbox.json`` (written with mode 0600: it holds credentials)."""

    schema_version: int = SCHEMA_VERSION
    pid: int
    started_at: str
    state_dir: str
    dialect: Dialect
    testing: bool
    base_url: str
    port: int
    moto_port: int
    # StackFlow
    stackflow_base_url: str
    # Cognito (moto) and the sandbox's client-credentials endpoint
    cognito_endpoint_url: str
    region: str
    user_pool_id: str
    issuer: str
    jwks_url: str
    app_client_id: str
    username: str
    password: str
    client_credentials_client_id: str
    client_credentials_client_secret: str
    client_credentials_token_url: str
    client_credentials_scopes: list[str]
    sandbox_jwks_url: str
    aws_access_key_id: str = "testing"
    aws_secret_access_key: str = "testing"
    # IncidentFox
    incidentfox_base_url: str
    incidentfox_org_id: str
    incidentfox_team_id: str
    incidentfox_team_token: str
    incidentfox_org_admin_token: str
    # testing
    control_url: str | None
    settings: dict[str, Any]

    def write(self, path: Path) -> None:
        """Write atomically, readable by the owner only."""
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.model_dump(), handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)

    def stack_config(self) -> tuple[dict[str, str], dict[str, str]]:
        """The ``stackfox:*`` settings that point a stack at this sandbox: (plain, secret)."""
        plain: dict[str, str] = {}
        secret: dict[str, str] = {}
        for key, (field, is_secret) in STACK_CONFIG.items():
            (secret if is_secret else plain)[key] = str(getattr(self, field))
        return plain, secret

    @classmethod
    def read(cls, path: Path) -> SandboxInfo:
        """Parse a ``sandbox.json``."""
        return cls.model_validate_json(path.read_text())
