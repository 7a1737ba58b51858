"""``Webhook``: the URL IncidentFox calls for one event, at ``webhooks.<event>`` of a team's config."""

from __future__ import annotations

from urllib.parse import urlsplit

import pulumi
import pydantic

from stackfox_provider.keypaths import KeyPath
from stackfox_provider.resources._common import Bool, StackfoxResource, Str, check_url, is_loopback
from stackfox_provider.resources._incidentfox import ConnectionArgs, IncidentFoxInputs, OnDelete, OwnedPathsProvider

EVENT_PATTERN = r"^[A-Za-z0-9_\-]{1,128}$"


class WebhookInputs(IncidentFoxInputs):
    event: str = pydantic.Field(
        pattern=EVENT_PATTERN,
        description="the event name, e.g. investigation_complete (1-128 letters, digits, _ and -)",
    )
    allow_loopback_http: Bool = pydantic.Field(
        default=False, description="allow a plain http URL to a loopback host (local testing)"
    )
    url: Str = pydantic.Field(
        description="the URL IncidentFox calls (https); pass it as a secret when it embeds a credential"
    )

    @pydantic.field_validator("url")
    @classmethod
    def _https_only(cls, url: str, info: pydantic.ValidationInfo) -> str:
        # allow_loopback_http is validated first; when it is itself invalid, the http rule waits for it.
        allow = info.data.get("allow_loopback_http")
        if allow is None:
            return check_url(url)
        hint = (
            "plain http is allowed only for loopback hosts with allow_loopback_http=True"
            if is_loopback(urlsplit(url).hostname or "")
            else "plain http would send incident data unencrypted"
        )
        return check_url(url, http="loopback" if allow else hint)


class WebhookProvider(OwnedPathsProvider[WebhookInputs]):
    """Owns ``webhooks.<event>``. Deleting it restores the previous URL, or writes null (the API cannot delete keys)."""

    inputs_model = WebhookInputs
    identity_properties = ("event",)
    value_properties = ("url",)
    kind = "Webhook"

    def config_path(self, inputs: WebhookInputs, input_path: KeyPath) -> KeyPath:
        return ("webhooks", inputs.event)

    def input_path(self, inputs: WebhookInputs, config_path: KeyPath) -> KeyPath:
        return ("url",)

    def resource_id(self, inputs: WebhookInputs, team_id: str) -> str:
        return f"{team_id}/webhooks/{inputs.event}"


class Webhook(StackfoxResource, module="incidentfox", name="Webhook"):
    """The URL IncidentFox notifies on one event, e.g. ``investigation_complete``.

    Pass the URL as a secret (``pulumi.Output.secret(url)`` or ``config.require_secret``) when it
    embeds a credential; it then stays encrypted in state and masked in outputs.
    """

    provider_class = WebhookProvider

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
        connection: pulumi.Input[ConnectionArgs] | None = None,
        on_delete: pulumi.Input[OnDelete] | None = None,
        take_over_from: pulumi.Input[str] | None = None,
        adopted: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the URL IncidentFox calls on ``event``.

        :param resource_name: the resource's name, unique in the stack among resources of its type
        :param event: the event name, e.g. investigation_complete (1-128 letters, digits, _ and -)
        :param url: the URL IncidentFox calls (https); pass it as a secret when it embeds a credential
        :param allow_loopback_http: allow a plain http URL to a loopback host (local testing)
        :param connection: the IncidentFox team to manage when not the stack's (stackfox:incidentfoxUrl,
            stackfox:incidentfoxToken): {url, token}; the token is kept encrypted in state
        :param on_delete: what deleting the resource does: restore (give back the team's earlier effective config),
            clear (null the paths) or retain (leave them)
        :param take_over_from: the stack (org/project/stack) that manages these paths now, from which this resource may
            take them; without it stackfox refuses paths another stack manages
        :param adopted: set by `stackfox import`: a create that finds every declared value in place writes nothing,
            not even the stack's ownership record, which its first change writes (until then another stack is not
            refused these paths)
        :param opts: Pulumi's options of the resource (depends_on, aliases, protect, ...)
        """
        # Every keyword argument is a field of the inputs model (tests/unit/resources/test_reference.py).
        self._register(resource_name, locals(), opts)
