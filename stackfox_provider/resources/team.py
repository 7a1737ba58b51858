"""``Team``: a team node of an IncidentFox organisation, through the admin API (an org-admin token)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import pulumi
import pydantic
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from stackfox_provider.errors import RefusedError
from stackfox_provider.resources._admin import (
    ADMIN_DESCRIPTION,
    AdminConnection,
    AdminConnectionArgs,
    AdminProvider,
    NodeId,
    admin_key,
    admin_url,
)
from stackfox_provider.resources._claims import claims, label
from stackfox_provider.resources._common import StackfoxResource, StrictModel, is_unknown, nonblank, validate

if TYPE_CHECKING:
    from stackfox_provider.clients.incidentfox.admin import IncidentFoxAdminClient, Node

#: The node's fields the resource manages.
NODE_FIELDS = ("name", "parent_id")


class TeamInputs(StrictModel):
    node_id: NodeId = pydantic.Field(
        description="the team's id in the organisation (1-128 letters, digits, _ and -); changing it replaces the team"
    )
    name: Annotated[str, nonblank(200)] = pydantic.Field(description="the team's display name")
    parent_id: NodeId | None = pydantic.Field(
        default=None, description="the team it belongs to (a group), or none for the organisation's root"
    )
    admin: AdminConnection | None = pydantic.Field(default=None, description=ADMIN_DESCRIPTION)


class TeamProvider(AdminProvider):
    """Creates or adopts a team node, renames and re-parents it; IncidentFox cannot delete one, so delete leaves it."""

    inputs_model = TeamInputs
    kind = "Team"
    computed_outputs = ("team_id",)
    secret_inputs = ("admin",)
    replace_inputs = ("node_id", "admin")  # admin: when its URL or organisation changes

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        result = validate(self.inputs_model, news)
        if result.failures or self.name is None:
            return result
        inputs: TeamInputs = self.inputs_of(result.inputs)
        if is_unknown(inputs.node_id):
            return result
        for other in claims.claim(label(self.kind, self.name), [_team_key(inputs)]).values():
            result.failures.append(
                CheckFailure(
                    "node_id",
                    f"node_id: the IncidentFox team {inputs.node_id!r} is also declared by {other}; declare each "
                    "team in one resource only",
                )
            )
        return result

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = self.inputs_of(olds), self.inputs_of(news)
        self.verify_credentials(new.admin)
        changed = self.changed_inputs(old, new)
        replaces = ["node_id"] if "node_id" in changed else []
        if admin_url(old.admin) != admin_url(new.admin):
            replaces.append("admin")
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        from stackfox_provider.clients.http import AmbiguousWriteError, ApiError

        inputs: TeamInputs = self.inputs_of(props)
        client = self.admin_client(inputs.admin)
        node = client.node(inputs.node_id)
        if node is None:
            try:
                node = client.create_team(inputs.node_id, inputs.name, inputs.parent_id)
            except ApiError as error:
                if not isinstance(error, AmbiguousWriteError) and error.status != 409:
                    raise
                node = client.node(inputs.node_id)  # landed, or made by someone else meanwhile: never post twice
                if node is None:
                    raise
        self._adopt(client, inputs, node)
        return CreateResult(inputs.node_id, self._outputs(inputs))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        recorded: TeamInputs = self.inputs_of(props)
        client = self.admin_client(recorded.admin)
        node = client.nodes().get(id_)
        if node is None:
            return ReadResult(None, {})  # gone from the organisation (an admin removed it)
        live = recorded.model_copy(update=_fields(client, node))
        inputs = self.props_of(live)
        return ReadResult(id_, self._outputs(live), inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs: TeamInputs = self.inputs_of(news)
        client = self.admin_client(inputs.admin)
        node = client.node(id_)
        if node is None:
            raise RefusedError(
                f"IncidentFox team {id_!r} no longer exists; run `pulumi refresh` so the stack forgets it, then "
                "`pulumi up` to create it again."
            )
        live, desired = _fields(client, node), _desired(inputs)
        changes = {field: desired[field] for field in NODE_FIELDS if live[field] != desired[field]}
        if changes:
            client.update_team(id_, {k: v if v is not None else client.org for k, v in changes.items()})
        return UpdateResult(self._outputs(inputs))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        print(
            f"warning: {label(self.kind, self.name)}: IncidentFox cannot delete a team node, so team {id_!r} stays in "
            "the organisation, with its config and tokens (TeamToken resources revoke theirs). An org admin can "
            "remove it in IncidentFox's UI.",
            file=sys.stderr,
        )

    # -- helpers ------------------------------------------------------------------------------------

    def _adopt(self, client: IncidentFoxAdminClient, inputs: TeamInputs, node: Node) -> None:
        """Take a node that already has this id as it is, when it matches; else refuse, naming the fields."""
        live, desired = _fields(client, node), _desired(inputs)
        differing = [field for field in NODE_FIELDS if live[field] != desired[field]]
        if node.node_type != "team":
            raise RefusedError(f"IncidentFox node {inputs.node_id!r} is the organisation's root, not a team")
        if differing:
            detail = "; ".join(f"{field}: IncidentFox has {live[field]!r}, the program {desired[field]!r}"
                               for field in differing)  # fmt: skip
            raise RefusedError(
                f"IncidentFox already has a team {inputs.node_id!r} that differs: {detail}. stackfox changed "
                "nothing. Declare it as it is to adopt it (then change it in the program), or choose another node_id."
            )

    def _outputs(self, inputs: TeamInputs) -> dict[str, Any]:
        return {**self.props_of(inputs), "team_id": inputs.node_id}


def _fields(client: IncidentFoxAdminClient, node: Node) -> dict[str, Any]:
    """A node's managed fields, its parent None when it is the organisation's root."""
    return {"name": node.name, "parent_id": None if node.parent_id in (None, client.org) else node.parent_id}


def _desired(inputs: TeamInputs) -> dict[str, Any]:
    return {"name": inputs.name, "parent_id": inputs.parent_id}


def _team_key(inputs: TeamInputs) -> tuple[str, str, str]:
    return ("team", admin_key(inputs.admin), str(inputs.node_id))


class Team(StackfoxResource, module="incidentfox", name="Team"):
    """A team of an IncidentFox organisation: a node under the organisation or under another team (a group).

    An existing node with the same ``node_id`` is adopted when its name and parent match, and refused
    otherwise, naming the fields. ``name`` and ``parent_id`` change in place (``parent_id`` re-parents
    the team, which then inherits from its new parent). IncidentFox's API cannot delete a node: deleting
    the resource leaves the team, and says so. Needs an org-admin token (``admin`` or the stack's
    ``stackfox:incidentfoxAdminToken`` and ``stackfox:incidentfoxOrg``).
    """

    provider_class = TeamProvider

    node_id: pulumi.Output[str]
    name: pulumi.Output[str]
    team_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        node_id: pulumi.Input[str],
        name: pulumi.Input[str],
        parent_id: pulumi.Input[str] | None = None,
        admin: pulumi.Input[AdminConnectionArgs] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare a team of the IncidentFox organisation.

        :param resource_name: the resource's name, unique in the stack among resources of its type
        :param node_id: the team's id in the organisation (1-128 letters, digits, _ and -); changing it replaces the
            team
        :param name: the team's display name
        :param parent_id: the team it belongs to (a group), or none for the organisation's root
        :param admin: the IncidentFox organisation when not the stack's (stackfox:incidentfoxUrl,
            stackfox:incidentfoxAdminToken, stackfox:incidentfoxOrg): {url, token, org}; the token is kept encrypted
            in state
        :param opts: Pulumi's options of the resource (depends_on, aliases, protect, ...)
        """
        # Every keyword argument is a field of the inputs model (tests/unit/resources/test_reference.py).
        self._register(resource_name, locals(), opts)
