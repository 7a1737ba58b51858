"""``IncidentCategory``: a standing StackFlow incident category, kept in line with the incidents API."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

import pulumi
import pydantic
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from stackfox_provider import settings
from stackfox_provider.clients.stackflow.auth import StackFlowAuthError
from stackfox_provider.errors import RefusedError, SettingsError
from stackfox_provider.normalize import same
from stackfox_provider.resources._claims import claims, label
from stackfox_provider.resources._common import (
    Bool,
    Invalid,
    StackfoxProvider,
    StackfoxResource,
    StrictModel,
    check_url,
    is_unknown,
    nonblank,
    validate,
)

# The client (with httpx and its models) loads in the operations that call StackFlow: a program that only
# declares categories, and a provider process that only checks them, never import it.
if TYPE_CHECKING:
    from stackfox_provider.clients.stackflow import Category, StackFlowClient

NAME_PATTERN = r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$"
#: Fields written to StackFlow; everything else is stackfox's own setting.
MANAGED_FIELDS = ("label", "description", "subcategories", "default_priority", "default_assignment_group", "active")
SERVER_FIELDS = ("created_at", "updated_at")
UPDATE_ATTEMPTS = 3


#: StackFlow's limits (its Slug, Label, Group and description).
MAX_NAME = 63
Label = Annotated[str, nonblank(200)]
Group = Annotated[str, nonblank(100)]
#: A setting of the connection: one token, no whitespace.
Setting = Annotated[str, pydantic.StringConstraints(strict=True, min_length=1, max_length=256, pattern=r"^\S+$")]
#: A category's default priority.
Priority = Literal["P1", "P2", "P3", "P4"]
#: What deleting a category resource does.
DeletionPolicy = Literal["deactivate", "delete", "retain"]


def _slug(name: str) -> str:
    if not re.fullmatch(NAME_PATTERN, name) or len(name) > MAX_NAME:
        raise Invalid(
            "is not a valid category name",
            f"a lower-case slug of at most {MAX_NAME} characters: letters, digits, '-' or '_', starting with a "
            "letter (e.g. 'network' or 'data-center')",
        )
    return name


def _connection_url(url: str) -> str:
    return check_url(url, example="https://stackflow.example.com/prod/api")


Slug = Annotated[str, pydantic.Strict(), pydantic.AfterValidator(_slug)]
Url = Annotated[str, pydantic.Strict(), pydantic.AfterValidator(_connection_url)]


class SubcategoryInput(StrictModel):
    """One subcategory of a category."""

    name: Slug = pydantic.Field(description="the subcategory's name (lower case, unique within the category)")
    label: Label = pydantic.Field(description="the name people see")


class SubcategoryArgs(TypedDict):
    """One subcategory, as a program writes it (``SubcategoryInput`` validates it)."""

    name: pulumi.Input[str]
    """the subcategory's name (lower case, unique within the category)"""
    label: pulumi.Input[str]
    """the name people see"""


class StackFlowConnection(StrictModel):
    """Where StackFlow and its Cognito pool are, e.g. from pulumi-aws outputs; secrets stay in stack config."""

    url: Url | None = pydantic.Field(default=None, description="the StackFlow API base URL, ending in /prod/api")
    user_pool_id: Setting | None = pydantic.Field(default=None, description="the Cognito user pool id")
    client_id: Setting | None = pydantic.Field(default=None, description="the Cognito app client id")
    region: Setting | None = pydantic.Field(
        default=None, description="the pool's AWS region (read from the pool id when not set)"
    )
    token_url: Url | None = pydantic.Field(default=None, description="the OAuth token endpoint (client credentials)")
    scope: Annotated[str, nonblank(1024)] | None = pydantic.Field(
        default=None, description="the OAuth scopes to ask for (client credentials)"
    )
    cognito_endpoint: Url | None = pydantic.Field(
        default=None, description="a Cognito endpoint override (the sandbox's moto)"
    )


class StackFlowConnectionArgs(TypedDict, total=False):
    """``connection=`` of a category, as a program writes it (``StackFlowConnection`` validates it)."""

    url: pulumi.Input[str | None]
    """the StackFlow API base URL, ending in /prod/api"""
    user_pool_id: pulumi.Input[str | None]
    """the Cognito user pool id"""
    client_id: pulumi.Input[str | None]
    """the Cognito app client id"""
    region: pulumi.Input[str | None]
    """the pool's AWS region (read from the pool id when not set)"""
    token_url: pulumi.Input[str | None]
    """the OAuth token endpoint (client credentials)"""
    scope: pulumi.Input[str | None]
    """the OAuth scopes to ask for (client credentials)"""
    cognito_endpoint: pulumi.Input[str | None]
    """a Cognito endpoint override (the sandbox's moto)"""


class IncidentCategoryInputs(StrictModel):
    name: Slug = pydantic.Field(
        description="the category's name, its natural key in StackFlow (lower case, 63 characters at most); "
        "changing it replaces the category"
    )
    label: Label = pydantic.Field(description="the name people see")
    description: Annotated[str, pydantic.StringConstraints(strict=True, max_length=2000)] = pydantic.Field(
        default="", description="what the category is for"
    )
    subcategories: list[SubcategoryInput] = pydantic.Field(
        default_factory=list,
        max_length=100,
        description="the subcategories, each {name, label}; their order is ignored",
    )
    default_priority: Priority = pydantic.Field(
        default="P3", description="the priority new incidents of the category get: P1 to P4"
    )
    default_assignment_group: Group | None = pydantic.Field(
        default=None, description="the group new incidents are assigned to"
    )
    active: Bool = pydantic.Field(default=True, description="whether new incidents can use the category")
    deletion_policy: DeletionPolicy = pydantic.Field(
        default="deactivate",
        description="what deleting the resource does: deactivate (active: false), delete (refused while open "
        "incidents use it, unless force_delete) or retain",
    )
    force_delete: Bool = pydantic.Field(
        default=False, description="with deletion_policy delete: delete even while open incidents use the category"
    )
    adopt: Bool = pydantic.Field(
        default=False,
        description="take over an existing category of that name that differs from the declaration (it is refused "
        "otherwise)",
    )
    connection: StackFlowConnection | None = pydantic.Field(
        default=None,
        description="the StackFlow API and Cognito pool when not the stack's: non-secret references {url, "
        "user_pool_id, client_id, region, token_url}, e.g. pulumi-aws outputs",
    )

    @pydantic.field_validator("subcategories")
    @classmethod
    def _unique_names(cls, subcategories: list[SubcategoryInput]) -> list[SubcategoryInput]:
        names = [sub.name for sub in subcategories]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise Invalid(
                "repeats a subcategory name",
                f"subcategory names must be unique within the category; repeated: {', '.join(repeated)}",
                value=repeated,
            )
        # Order carries no meaning in StackFlow: a canonical order keeps diffs quiet.
        return sorted(subcategories, key=lambda sub: sub.name)


def server_fields(category: Category) -> dict[str, Any]:
    """The managed fields as the API holds them, in the inputs' canonical form."""
    values = category.model_dump(mode="json", include=set(MANAGED_FIELDS))
    values["subcategories"] = sorted(values["subcategories"], key=lambda sub: sub["name"])
    if values.get("default_assignment_group") is None:
        values.pop("default_assignment_group", None)
    return values


def differences(desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """The fields of ``desired`` whose value ``actual`` does not hold (a missing value and None are the same)."""
    return [field for field in desired if not same(desired.get(field), actual.get(field))]


def desired_fields(inputs: IncidentCategoryInputs) -> dict[str, Any]:
    """Every managed field as the program wants it; an omitted assignment group means none."""
    return inputs.model_dump(mode="json", include=set(MANAGED_FIELDS), warnings=False)


class IncidentCategoryProvider(StackfoxProvider[IncidentCategoryInputs]):
    """Creates, adopts, reads (in bulk), patches under ``If-Match`` and retires StackFlow categories."""

    service = "StackFlow"
    inputs_model = IncidentCategoryInputs
    computed_outputs = SERVER_FIELDS
    replace_inputs = ("name", "connection")  # connection: when its URL changes

    def _verify_credentials_now(self, connection: StackFlowConnection | None) -> None:
        try:
            client = self._client(connection)
        except SettingsError:
            return  # said by the operation that needs the credentials
        try:
            client.verify_credentials()
        except StackFlowAuthError as error:
            if error.code != "Unreachable":
                raise

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        result = validate(self.inputs_model, news)
        if result.failures or self.name is None:
            return result
        inputs = self.inputs_of(result.inputs)
        if is_unknown(inputs.name):
            return result
        for other in claims.claim(label("IncidentCategory", self.name), [_category_key(inputs)]).values():
            result.failures.append(
                CheckFailure(
                    "name",
                    f"name: the StackFlow category {inputs.name!r} is also declared by {other}; in one stack each "
                    "category has one owner, so declare it in one resource only",
                )
            )
        return result

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = self.inputs_of(olds), self.inputs_of(news)
        self.verify_credentials(new.connection)
        changed = self.changed_inputs(old, new)
        replaces = ["name"] if "name" in changed else []
        if _url(old) != _url(new):
            replaces.append("connection")
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self.inputs_of(props)
        client = self._client(inputs.connection)
        existing = client.category_named(inputs.name)
        category = self._adopt(client, inputs, existing) if existing else self._create(client, inputs)
        return CreateResult(category.id, self._outputs(self.props_of(inputs), category))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        recorded = self.inputs_of(props)
        category = self._client(recorded.connection).category_snapshot().by_id(id_)
        if category is None:
            return ReadResult(None, {})  # deleted outside the stack
        inputs = {**self.props_of(recorded, exclude=MANAGED_FIELDS), **server_fields(category)}
        return ReadResult(id_, self._outputs(inputs, category), inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = self.inputs_of(news)
        category = self._patch(self._client(inputs.connection), id_, inputs.name, desired_fields(inputs))
        return UpdateResult(self._outputs(self.props_of(inputs), category))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        inputs = self.inputs_of(props)
        if inputs.deletion_policy == "retain" or self._declared_elsewhere(inputs):
            return
        client = self._client(inputs.connection)
        if inputs.deletion_policy == "deactivate":
            if client.get_category(id_) is not None:
                self._patch(client, id_, inputs.name, {"active": False})
            return
        if not inputs.force_delete:
            incidents = client.open_incidents(inputs.name)
            if incidents:
                numbers = ", ".join(incident.number for incident in incidents[:20])
                raise RefusedError(
                    f"StackFlow category {inputs.name!r} is still used by {len(incidents)} open incident(s): "
                    f"{numbers}. Resolve them, set force_delete=True to delete it anyway, or use "
                    "deletion_policy='deactivate'."
                )
        client.delete_category(id_, force=inputs.force_delete)

    # -- helpers ------------------------------------------------------------------------------------

    def _declared_elsewhere(self, inputs: IncidentCategoryInputs) -> bool:
        """Whether another resource of this run now declares this category (a rename without ``aliases``)."""
        me = label("IncidentCategory", self.name)
        owner = claims.owner(_category_key(inputs))
        if owner is None or owner == me:
            return False
        print(
            f"warning: {me}: the StackFlow category {inputs.name!r} is now declared by {owner}, so it is left "
            "as it is. Give the new resource `aliases` of the old name to rename it without a delete.",
            file=sys.stderr,
        )
        return True

    def _create(self, client: StackFlowClient, inputs: IncidentCategoryInputs) -> Category:
        from stackfox_provider.clients.http import AmbiguousWriteError
        from stackfox_provider.clients.stackflow import ConflictError

        fields = {"name": inputs.name, **{k: v for k, v in desired_fields(inputs).items() if v is not None}}
        try:
            category, _ = client.create_category(fields)
            return category
        except (AmbiguousWriteError, ConflictError):
            # The create may have landed (lost response) or someone created it meanwhile: never post twice.
            found = client.find_category_by_name(inputs.name)
            if found is None:
                category, _ = client.create_category(fields)
                return category
            return self._adopt(client, inputs, found)

    def _adopt(self, client: StackFlowClient, inputs: IncidentCategoryInputs, existing: Category) -> Category:
        """Take over a category that already has this name: as is when it matches, else only with ``adopt``.

        A category that matches except for being inactive while the program wants it active is what
        ``deletion_policy='deactivate'`` leaves behind: it is reactivated without ``adopt``.
        """
        desired = desired_fields(inputs)
        differing = differences(desired, server_fields(existing))
        if not differing:
            return existing
        if differing == ["active"] and inputs.active is True and existing.active is False:
            return self._patch(client, existing.id, inputs.name, {"active": True})
        if not inputs.adopt:
            live = server_fields(existing)
            detail = "; ".join(f"{field}: StackFlow has {live.get(field)!r}, the program {desired[field]!r}"
                               for field in differing)  # fmt: skip
            raise RefusedError(
                f"StackFlow already has a category named {inputs.name!r} ({existing.id}) that differs: {detail}. "
                "Set adopt=True to take it over and update it, or change the name."
            )
        return self._patch(client, existing.id, inputs.name, desired)

    def _patch(self, client: StackFlowClient, id_: str, name: str, desired: Mapping[str, Any]) -> Category:
        """PATCH the fields that differ from the live category, under ``If-Match``.

        On 412 it re-reads: when someone else changed only fields this update does not touch, it
        applies on top of their version; otherwise it stops and names the fields they changed.
        """
        from stackfox_provider.clients.http import AmbiguousWriteError
        from stackfox_provider.clients.stackflow import PreconditionFailed

        unsettled: AmbiguousWriteError | None = None
        for _ in range(UPDATE_ATTEMPTS):
            found = client.get_category(id_)
            if found is None:
                raise RefusedError(
                    f"StackFlow category {name!r} ({id_}) no longer exists; run `pulumi refresh` "
                    "so the stack forgets it, then `pulumi up` to create it again."
                )
            category, etag = found
            live = server_fields(category)
            changing = differences(desired, live)
            if not changing:
                return category
            try:
                updated, _ = client.update_category(id_, {field: desired[field] for field in changing}, etag)
                return updated
            except AmbiguousWriteError as error:
                unsettled = error  # it may have landed: the next pass re-reads, and stops if it did
                continue
            except PreconditionFailed:
                fresh = client.get_category(id_)
                theirs = differences(server_fields(fresh[0]), live) if fresh else []
                clash = [field for field in theirs if field in changing]
                if clash:
                    raise RefusedError(
                        f"someone else changed StackFlow category {name!r} while stackfox was updating "
                        f"it: {', '.join(clash)}. Run `pulumi refresh` to see their values, then `pulumi up` again."
                    ) from None
        if unsettled is not None:
            raise unsettled
        raise RefusedError(f"StackFlow category {name!r} kept changing under stackfox; try again.")

    def _outputs(self, inputs: Mapping[str, Any], category: Category) -> dict[str, Any]:
        return {
            **inputs,
            **server_fields(category),
            "created_at": category.created_at,
            "updated_at": category.updated_at,
        }

    def _client(self, connection: StackFlowConnection | None) -> StackFlowClient:
        """A client of the StackFlow the stack's settings name, with what ``connection`` sets in their place."""
        from stackfox_provider.clients.stackflow import stackflow_client_for

        auth = settings.StackFlowAuthSettings.current()
        overrides = {key: value for key, value in dict(connection or {}).items() if value}
        if overrides:
            auth = auth.model_copy(update=overrides)
        limits = settings.rate_limits("stackflow")
        return stackflow_client_for(auth.require_url(), auth.credential(), limits)


def _category_key(inputs: IncidentCategoryInputs) -> tuple[str, str]:
    url = _url(inputs)
    return (str(url) if url and not is_unknown(url) else "stack", str(inputs.name))


def _url(inputs: IncidentCategoryInputs) -> str | None:
    connection = inputs.connection  # in preview, possibly still unknown as a whole (not a StackFlowConnection)
    return connection.url if isinstance(connection, StackFlowConnection) else None


class IncidentCategory(StackfoxResource, module="stackflow", name="IncidentCategory"):
    """A standing StackFlow incident category: what every incident must be filed under.

    ``name`` is the natural key (changing it replaces the category). An existing category with the
    same name is adopted when it matches (and reactivated when it matches but is inactive, as a
    ``deactivate`` delete leaves it); when it differs otherwise, ``adopt=True`` takes it over. On delete,
    ``deletion_policy`` decides: ``deactivate`` (default), ``delete`` (refused while open incidents
    use it unless ``force_delete``) or ``retain``.
    """

    provider_class = IncidentCategoryProvider

    name: pulumi.Output[str]
    label: pulumi.Output[str]
    default_priority: pulumi.Output[str]
    created_at: pulumi.Output[str]
    updated_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        label: pulumi.Input[str],
        description: pulumi.Input[str] | None = None,
        # Items are SubcategoryArgs alone (not pulumi.Input[...]): mypy then checks each dict literal key by key.
        subcategories: pulumi.Input[Sequence[SubcategoryArgs]] | None = None,
        default_priority: pulumi.Input[Priority] | None = None,
        default_assignment_group: pulumi.Input[str] | None = None,
        active: pulumi.Input[bool] | None = None,
        deletion_policy: pulumi.Input[DeletionPolicy] | None = None,
        force_delete: pulumi.Input[bool] | None = None,
        adopt: pulumi.Input[bool] | None = None,
        connection: pulumi.Input[StackFlowConnectionArgs] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare a StackFlow incident category, found by its ``name``.

        :param resource_name: the resource's name, unique in the stack among resources of its type
        :param name: the category's name, its natural key in StackFlow (lower case, 63 characters at most); changing it
            replaces the category
        :param label: the name people see
        :param description: what the category is for
        :param subcategories: the subcategories, each {name, label}; their order is ignored
        :param default_priority: the priority new incidents of the category get: P1 to P4
        :param default_assignment_group: the group new incidents are assigned to
        :param active: whether new incidents can use the category
        :param deletion_policy: what deleting the resource does: deactivate (active: false), delete (refused while open
            incidents use it, unless force_delete) or retain
        :param force_delete: with deletion_policy delete: delete even while open incidents use the category
        :param adopt: take over an existing category of that name that differs from the declaration (it is refused
            otherwise)
        :param connection: the StackFlow API and Cognito pool when not the stack's: non-secret references {url,
            user_pool_id, client_id, region, token_url}, e.g. pulumi-aws outputs
        :param opts: Pulumi's options of the resource (depends_on, aliases, protect, ...)
        """
        # Every keyword argument is a field of the inputs model (tests/unit/resources/test_reference.py).
        self._register(resource_name, locals(), opts)
