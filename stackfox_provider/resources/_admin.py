"""What the IncidentFox admin resources (``Team``, ``TeamToken``) share: the org-admin connection.

The org-admin token comes from the stack's settings (``stackfox:incidentfoxAdminToken``, secret, or
``INCIDENTFOX_ADMIN_TOKEN``; the organisation from ``stackfox:incidentfoxOrg``) or from a resource's
``admin`` input, kept encrypted in state; never from the provider object, which is pickled into state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import pulumi
import pydantic

from stackfox_provider import settings
from stackfox_provider.resources._common import StackfoxProvider, StrictModel, is_unknown, nonblank
from stackfox_provider.resources._incidentfox import ApiBaseUrl

if TYPE_CHECKING:
    from stackfox_provider.clients.incidentfox.admin import IncidentFoxAdminClient

#: Ids of team nodes: what IncidentFox takes in a path segment.
NODE_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,128}$"
NodeId = Annotated[str, pydantic.StringConstraints(strict=True, pattern=NODE_ID_PATTERN)]


class AdminConnection(StrictModel):
    """The IncidentFox organisation to manage, when not the stack's (``stackfox:incidentfoxAdminToken``...)."""

    url: ApiBaseUrl = pydantic.Field(
        description="the API base URL, e.g. https://api.incidentfox.ai/api/v1 (https; http only for loopback hosts)"
    )
    token: Annotated[str, nonblank(4096)] = pydantic.Field(description="an org-admin token of the organisation")
    org: NodeId = pydantic.Field(description="the organisation's id (its root node)")


class AdminConnectionArgs(TypedDict):
    """``admin=`` of an IncidentFox admin resource, as a program writes it (``AdminConnection`` validates it)."""

    url: pulumi.Input[str]
    """the API base URL, e.g. https://api.incidentfox.ai/api/v1 (https; http only for loopback hosts)"""
    token: pulumi.Input[str]
    """an org-admin token of the organisation"""
    org: pulumi.Input[str]
    """the organisation's id (its root node)"""


ADMIN_DESCRIPTION = (
    f"the IncidentFox organisation when not the stack's ({settings.BY_KEY['incidentfoxUrl'].config_key}, "
    f"{settings.BY_KEY['incidentfoxAdminToken'].config_key}, {settings.BY_KEY['incidentfoxOrg'].config_key}): "
    "{url, token, org}; the token is kept encrypted in state"
)


class AdminProvider(StackfoxProvider[Any]):
    """A provider that calls IncidentFox's admin API."""

    service = "IncidentFox"
    kind: str

    def admin_client(self, admin: AdminConnection | None) -> IncidentFoxAdminClient:
        """A client of the organisation ``admin`` names, else of the stack's settings."""
        from stackfox_provider.clients.incidentfox.admin import admin_client_for

        limits = settings.rate_limits("incidentfox")
        if admin is not None:
            url, token, org = admin.url, admin.token, admin.org
        else:
            purpose = f"IncidentFox {self.kind}"
            url = settings.require("incidentfoxUrl", purpose)
            token = settings.require("incidentfoxAdminToken", purpose)
            org = settings.require("incidentfoxOrg", purpose)
        return admin_client_for(url, token, org, limits, unauthorized_hint=settings.INCIDENTFOX_ADMIN_UNAUTHORIZED_HINT)

    def _verify_credentials_now(self, connection: AdminConnection | None) -> None:
        from stackfox_provider.clients.http import ApiError

        try:
            client = self.admin_client(connection)
        except settings.SettingsError:
            return  # said by the operation that needs the token
        try:
            client.nodes()
        except ApiError as error:
            if error.status in (401, 403):
                raise


def admin_key(admin: Any) -> str:
    """Which organisation a resource's things belong to, as far as this run can tell."""
    if isinstance(admin, AdminConnection) and not is_unknown(admin.url) and not is_unknown(admin.org):
        return f"{admin.url}#{admin.org}"
    return "stack"


def admin_url(admin: Any) -> tuple[str, str] | None:
    """The URL and organisation of ``admin`` (None: the stack's): when they change, the resource is replaced."""
    return (admin.url, admin.org) if isinstance(admin, AdminConnection) else None
