"""``Webhook``: the URL IncidentFox calls for one event, at ``webhooks.<event>`` of a team's config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pydantic
from pulumi.dynamic import Resource

from stackfox_provider.clients.incidentfox.paths import KeyPath
from stackfox_provider.resources._incidentfox import IncidentFoxInputs, OwnedPathsProvider, is_loopback, secret_outputs

EVENT_PATTERN = r"^[A-Za-z0-9_\-]+$"


class WebhookInputs(IncidentFoxInputs):
    event: str = pydantic.Field(
        pattern=EVENT_PATTERN, description="the event name, e.g. investigation_complete (letters, digits, _ and -)"
    )
    url: str
    allow_loopback_http: bool = False

    @pydantic.model_validator(mode="after")
    def _https_only(self) -> WebhookInputs:
        parts = urlsplit(self.url)
        if not parts.hostname or parts.scheme not in ("http", "https"):
            raise ValueError(f"url must be an absolute https:// URL (got {self.url!r})")
        if parts.scheme == "http" and not (self.allow_loopback_http and is_loopback(parts.hostname)):
            hint = (
                "plain http is allowed only for loopback hosts with allow_loopback_http=True"
                if is_loopback(parts.hostname)
                else "plain http would send incident data unencrypted"
            )
            raise ValueError(f"url must use https ({hint}); got {self.url!r}")
        return self


class WebhookProvider(OwnedPathsProvider):
    """Owns ``webhooks.<event>``. Deleting it restores the previous URL, or writes null (the API cannot delete keys)."""

    inputs_model = WebhookInputs
    identity_properties = ("event",)
    value_properties = ("url",)
    kind = "Webhook"

    def config_path(self, inputs: Mapping[str, Any], input_path: KeyPath) -> KeyPath:
        return ("webhooks", str(inputs["event"]))

    def input_path(self, inputs: Mapping[str, Any], config_path: KeyPath) -> KeyPath:
        return ("url",)

    def resource_id(self, inputs: Mapping[str, Any], team_id: str) -> str:
        return f"{team_id}/webhooks/{inputs['event']}"


class Webhook(Resource, module="incidentfox", name="Webhook"):
    """The URL IncidentFox notifies on one event, e.g. ``investigation_complete``.

    Pass the URL as a secret (``pulumi.Output.secret(url)`` or ``config.require_secret``) when it
    embeds a credential; it then stays encrypted in state and masked in outputs.
    """

    event: pulumi.Output[str]
    url: pulumi.Output[str]
    team_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        event: pulumi.Input[str],
        url: pulumi.Input[str],
        allow_loopback_http: pulumi.Input[bool] | None = None,
        connection: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        on_delete: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "event": event,
            "url": url,
            "allow_loopback_http": allow_loopback_http,
            "connection": pulumi.Output.secret(connection) if connection is not None else None,
            "on_delete": on_delete,
            "team_id": None,
            "owned_paths": None,
            "previous": None,
        }
        super().__init__(WebhookProvider(resource_name), resource_name, props, secret_outputs(opts))
