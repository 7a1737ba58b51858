"""``TeamToken``: a team token of an IncidentFox team, minted through the admin API and kept only encrypted."""

from __future__ import annotations

import datetime
import sys
from typing import Annotated, Any

import pulumi
import pydantic
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult

from stackfox_provider import settings
from stackfox_provider.resources._admin import (
    ADMIN_DESCRIPTION,
    AdminConnection,
    AdminConnectionArgs,
    AdminProvider,
    NodeId,
    admin_url,
)
from stackfox_provider.resources._claims import label
from stackfox_provider.resources._common import (
    StackfoxResource,
    StrictModel,
    is_unknown,
    nonblank,
    validate,
    without_provider,
)

#: What the provider computes: the token (secret, shown once by IncidentFox), its id and when it was issued.
COMPUTED = ("token", "token_id", "issued_at")


class TeamTokenInputs(StrictModel):
    team_id: NodeId = pydantic.Field(description="the team the token is for, e.g. a Team's team_id")
    label: Annotated[str, nonblank(100)] | None = pydantic.Field(
        default=None, description="what the token is for, as IncidentFox lists it (default: the stack and resource)"
    )
    triggers: list[Any] | None = pydantic.Field(
        default=None,
        description="any values; when one changes, a new token replaces this one (created first, so the team's "
        "resources move to it, then this one is revoked): e.g. [rotation_date]",
    )
    admin: AdminConnection | None = pydantic.Field(default=None, description=ADMIN_DESCRIPTION)


class TeamTokenProvider(AdminProvider):
    """Mints a token on create, revokes it on delete; any change of the inputs replaces it (create first)."""

    inputs_model = TeamTokenInputs
    kind = "TeamToken"
    computed_outputs = COMPUTED
    secret_inputs = ("admin",)
    secret_outputs = ("token",)
    replace_inputs = ("team_id", "label", "triggers", "admin")

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return validate(self.inputs_model, news)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = self.inputs_of(olds), self.inputs_of(news)
        self.verify_credentials(new.admin)
        changed = [name for name in self.changed_inputs(old, new) if name != "admin"]
        if admin_url(old.admin) != admin_url(new.admin):
            changed.append("admin")
        # Only a new admin token (same organisation) changes in place: it is how the token is managed, not what.
        in_place = not changed and self.props_of(old) != self.props_of(new)
        # A token revoked by hand is replaced by the next `up` (one list call; none from `stackfox plan`).
        if not changed and settings.check_credentials() and not self._valid(old, id_):
            print(
                f"warning: {label(self.kind, self.name)}: token {id_} was revoked (or expired) outside the stack; "
                "a new token replaces it, and the resources that use it move to the new one",
                file=sys.stderr,
            )
            changed = ["token"]
        return DiffResult(changes=bool(changed) or in_place, replaces=changed, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs: TeamTokenInputs = self.inputs_of(props)
        client = self.admin_client(inputs.admin)
        issued = client.mint_token(inputs.team_id, inputs.label or f"stackfox {self.stack} {self.name}")
        outputs = {**self.props_of(inputs), "token": issued.token, "token_id": issued.token_id}
        return CreateResult(issued.token_id, {**outputs, "issued_at": issued.issued_at})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        recorded: TeamTokenInputs = self.inputs_of(props)
        if not self._valid(recorded, id_):
            return ReadResult(None, {})  # revoked (or expired) outside the stack: `up` mints a new one
        return ReadResult(id_, without_provider(props), self.props_of(recorded))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        from pulumi.dynamic import UpdateResult

        kept = {name: olds[name] for name in COMPUTED if name in olds}
        return UpdateResult({**self.props_of(self.inputs_of(news)), **kept})

    def _valid(self, recorded: TeamTokenInputs, token_id: str) -> bool:
        """Whether the team's token ``token_id`` still works: listed, not revoked, not expired (one list call per
        team, shared by the team's tokens)."""
        if is_unknown(recorded.team_id):
            return True
        tokens = {token.token_id: token for token in self.admin_client(recorded.admin).tokens(recorded.team_id)}
        found = tokens.get(token_id)
        return found is not None and found.revoked_at is None and not _expired(found.expires_at)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        from stackfox_provider.clients.http import ApiError

        recorded: TeamTokenInputs = self.inputs_of(props)
        try:
            self.admin_client(recorded.admin).revoke_token(recorded.team_id, id_)
        except ApiError as error:
            if error.status != 404:  # the team is gone, and its tokens with it
                raise


def _expired(expires_at: str | None) -> bool:
    if not expires_at:
        return False
    moment = datetime.datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment <= datetime.datetime.now(datetime.UTC)


class TeamToken(StackfoxResource, module="incidentfox", name="TeamToken"):
    """A team token of an IncidentFox team, for its TeamConfig, Webhook and McpServer resources' ``connection``.

    IncidentFox shows a token once, when it is minted: ``token`` is a secret output, kept only encrypted in
    state. Deleting the resource revokes the token. A change of ``triggers`` (or ``label``, ``team_id``)
    replaces it: the new token is minted first, the resources that use it move to it, and the old one is
    revoked last, so they never go without a working token. A token revoked by hand shows as deleted in
    ``stackfox drift`` and ``pulumi refresh``; the next ``up`` mints a new one.
    """

    provider_class = TeamTokenProvider

    team_id: pulumi.Output[str]
    token: pulumi.Output[str]
    token_id: pulumi.Output[str]
    issued_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        team_id: pulumi.Input[str],
        label: pulumi.Input[str] | None = None,
        triggers: pulumi.Input[list[Any]] | None = None,
        admin: pulumi.Input[AdminConnectionArgs] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare a token of an IncidentFox team.

        :param resource_name: the resource's name, unique in the stack among resources of its type
        :param team_id: the team the token is for, e.g. a Team's team_id
        :param label: what the token is for, as IncidentFox lists it (default: the stack and resource)
        :param triggers: any values; when one changes, a new token replaces this one (created first, so the team's
            resources move to it, then this one is revoked): e.g. [rotation_date]
        :param admin: the IncidentFox organisation when not the stack's (stackfox:incidentfoxUrl,
            stackfox:incidentfoxAdminToken, stackfox:incidentfoxOrg): {url, token, org}; the token is kept encrypted
            in state
        :param opts: Pulumi's options of the resource (depends_on, aliases, protect, ...)
        """
        # Every keyword argument is a field of the inputs model (tests/unit/resources/test_reference.py).
        self._register(resource_name, locals(), opts)
