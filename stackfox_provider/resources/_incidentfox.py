"""The behaviour shared by IncidentFox resources: each owns some key paths of one team's config.

A resource declares values at *owned paths*; it reads, diffs and writes those paths only, so keys
set in the UI or by another stack survive. ``create`` records what each owned path held before (the
team's own value, exactly, or what the team inherited there) and ``delete`` gives the effective
configuration back (``on_delete="restore"``), nulls the paths (``"clear"``) or leaves them
(``"retain"``). Every operation first checks that the token still reaches the team the resource
manages. Each write also records, under the team's reserved ``stackfox`` key, which stack manages each
path and what it held before (see ``clients/incidentfox/managers.py``): a path another stack manages
is refused unless ``take_over_from`` names that stack, and the record outlives an interrupted create.
Every resource of a team shares one client per process: one GET serves a whole refresh, writes to the
team never interleave, and a read-back once they settle catches lost updates.
"""

from __future__ import annotations

import hashlib
import json
import sys
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypedDict, TypeVar

import pulumi
import pydantic
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from stackfox_provider import settings
from stackfox_provider.clients.incidentfox.managers import Manager, manager_of, record_path
from stackfox_provider.clients.incidentfox.reset import (
    has_path,
    is_unset,
    nulls_to_restore,
    parents_to_rebuild,
    plan_reset,
)
from stackfox_provider.errors import RefusedError
from stackfox_provider.keypaths import KeyPath, dotted, get_path, leaves, nest
from stackfox_provider.normalize import integral, same
from stackfox_provider.resources._claims import claims, label
from stackfox_provider.resources._common import (
    Bool,
    StackfoxProvider,
    StrictModel,
    check_url,
    is_unknown,
    nonblank,
    validate,
)

if TYPE_CHECKING:  # the client (and httpx) load on a provider's first call: a program never needs them
    from stackfox_provider.clients.incidentfox import IncidentFoxClient

OnDelete = Literal["restore", "clear", "retain"]
#: Statuses with which IncidentFox refuses a write it will not apply (validation, locked fields).
REFUSED = frozenset({400, 403, 422})


API_EXAMPLE = "https://api.incidentfox.ai/api/v1"
#: IncidentFox's API base URL: https (http only for loopback hosts), no credentials in it, no trailing '/'.
ApiBaseUrl = Annotated[
    str, pydantic.Strict(), pydantic.AfterValidator(lambda url: check_url(url, example=API_EXAMPLE).rstrip("/"))
]


class Connection(StrictModel):
    """Which IncidentFox team to manage, when it is not the stack's default (``stackfox:incidentfox*``).

    ``url``: the API's https base URL (http only for loopback hosts), without credentials in it.
    """

    url: ApiBaseUrl = pydantic.Field(
        description="the team's API base URL, e.g. https://api.incidentfox.ai/api/v1 (https; http only for loopback "
        "hosts)"
    )
    token: Annotated[str, nonblank(4096)] = pydantic.Field(description="a team token of that team (<id>.<secret>)")


class ConnectionArgs(TypedDict):
    """``connection=`` of an IncidentFox resource, as a program writes it (``Connection`` validates it)."""

    url: pulumi.Input[str]
    """the team's API base URL, e.g. https://api.incidentfox.ai/api/v1 (https; http only for loopback hosts)"""
    token: pulumi.Input[str]
    """a team token of that team (<id>.<secret>)"""


#: A Pulumi stack, fully qualified: ``org/project/stack``.
STACK_PATTERN = r"^[^/\s]{1,100}/[^/\s]{1,100}/[^/\s]{1,100}$"


def _config_key(key: str) -> str:
    return settings.BY_KEY[key].config_key


class IncidentFoxInputs(StrictModel):
    """Inputs every IncidentFox resource takes."""

    connection: Connection | None = pydantic.Field(
        default=None,
        description=f"the IncidentFox team to manage when not the stack's ({_config_key('incidentfoxUrl')}, "
        f"{_config_key('incidentfoxToken')}): {{url, token}}; the token is kept encrypted in state",
    )
    on_delete: OnDelete = pydantic.Field(
        default="restore",
        description="what deleting the resource does: restore (give back the team's earlier effective config), clear "
        "(null the paths) or retain (leave them)",
    )
    take_over_from: Annotated[str, pydantic.StringConstraints(strict=True, pattern=STACK_PATTERN)] | None = (
        pydantic.Field(
            default=None,
            description="the stack (org/project/stack) that manages these paths now, from which this resource "
            "may take them; without it stackfox refuses paths another stack manages",
        )
    )
    adopted: Bool | None = pydantic.Field(
        default=None,
        description="set by `stackfox import`: a create that finds every declared value in place writes nothing, "
        "not even the stack's ownership record, which its first change writes (until then another stack is not "
        "refused these paths)",
    )


class ManagedElsewhereError(RefusedError):
    """A path the resource declares is managed by another stack, which ``take_over_from`` does not name."""


class Prior(pydantic.BaseModel):
    """What one owned path held before the stack took it."""

    path: list[str]
    own: bool = pydantic.Field(description="the team had a value of its own there (null included)")
    value: Any = pydantic.Field(default=None, description="that value, exactly as the service held it")
    inherited: Any = pydantic.Field(default=None, description="otherwise: the effective value the team inherited")
    parent_existed: bool | None = pydantic.Field(
        default=None, description="otherwise: whether the object holding the path was in the effective config"
    )
    null_above: list[str] | None = pydantic.Field(
        default=None, description="otherwise: the object above the path that the team held as null"
    )
    entry_existed: bool | None = pydantic.Field(
        default=None, description="in the service's record only: the resource's entry existed (History)"
    )


class History(pydantic.BaseModel):
    """The ``previous`` output: what the owned paths held before the stack, kept as JSON text in state.

    JSON text, because Pulumi turns every number into a float and drops the difference between a
    stored ``null`` and no key at all; a restore must give back exactly what was there.
    """

    priors: list[Prior] = []
    entry_existed: bool | None = pydantic.Field(default=None, description="McpServer: the server's entry existed")

    @classmethod
    def from_state(cls, value: Any) -> History:
        if isinstance(value, str):
            return cls.model_validate_json(value)
        # Recorded before 0.2: [[path, value], ...] of the values that were not null, numbers as floats.
        return cls(priors=[Prior(path=list(path), own=True, value=integral(item)) for path, item in value or []])

    def to_state(self) -> str:
        return self.model_dump_json(exclude_none=True)

    def prior(self, path: KeyPath) -> Prior:
        for prior in self.priors:
            if tuple(prior.path) == path:
                return prior
        return Prior(path=list(path), own=False)

    def with_priors(self, priors: Iterable[Prior]) -> History:
        new = {tuple(prior.path): prior for prior in priors}
        kept = [prior for prior in self.priors if tuple(prior.path) not in new]
        return self.model_copy(update={"priors": [*kept, *new.values()]})

    def only(self, paths: Iterable[KeyPath]) -> History:
        wanted = set(paths)
        return self.model_copy(update={"priors": [prior for prior in self.priors if tuple(prior.path) in wanted]})


class ComputedOutputs(pydantic.BaseModel):
    """The outputs stackfox computes beside the inputs, as a resource's state holds them (any version's)."""

    team_id: str | None = pydantic.Field(default=None, description="the team the resource manages")
    owned_paths: list[list[str]] = pydantic.Field(default_factory=list, description="the config paths it owns")
    previous: str | list[Any] | None = pydantic.Field(
        default=None, description="what they held before the stack: History as JSON text (a list before 0.2)"
    )
    inherited_fields: list[str] = pydantic.Field(
        default_factory=list, description="refresh: the owned inputs the team inherits (unset there)"
    )
    managed_elsewhere: dict[str, str] = pydantic.Field(
        default_factory=dict, description="refresh: the owned inputs another stack manages now, and which"
    )
    shape_mismatches: dict[str, str] = pydantic.Field(
        default_factory=dict, description="refresh: the owned inputs under a value of another shape, and why"
    )

    @classmethod
    def of(cls, outputs: Mapping[str, Any]) -> ComputedOutputs:
        """The computed outputs in ``outputs`` (a resource's state); the inputs there are left out, a null is unset."""
        return cls.model_validate({name: outputs[name] for name in cls.model_fields if outputs.get(name) is not None})

    @property
    def paths(self) -> list[KeyPath]:
        return [tuple(path) for path in self.owned_paths]

    @property
    def history(self) -> History:
        return History.from_state(self.previous)


#: Outputs stackfox computes; never compared with the program's inputs.
COMPUTED = tuple(ComputedOutputs.model_fields)
#: The inputs model of an IncidentFox provider.
FoxInputsT = TypeVar("FoxInputsT", bound=IncidentFoxInputs)


@dataclass
class Retirement:
    """What giving paths back writes: ``values`` as they are, ``removals`` taken out (to inherited)."""

    values: dict[KeyPath, Any] = field(default_factory=dict)
    removals: list[KeyPath] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class OwnedPathsProvider(StackfoxProvider[FoxInputsT]):
    """A provider whose resource owns the config paths ``desired()`` names, and nothing else."""

    service = "IncidentFox"
    computed_outputs = COMPUTED
    secret_inputs: ClassVar[tuple[str, ...]] = ("connection",)
    secret_outputs: ClassVar[tuple[str, ...]] = ("previous",)
    #: Input properties that name *which* paths are owned: changing one replaces the resource.
    identity_properties: ClassVar[tuple[str, ...]] = ()
    #: Input properties whose values are written to the team's config.
    value_properties: ClassVar[tuple[str, ...]]
    #: What IncidentFox takes where a key is absent, by input path: an adopted resource finds these in place.
    implied_values: ClassVar[Mapping[KeyPath, Any]] = {}
    kind: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.replace_inputs = (*cls.identity_properties, "connection")  # connection: when its URL changes

    # -- what a subclass defines --------------------------------------------------------------------

    @abstractmethod
    def config_path(self, inputs: FoxInputsT, input_path: KeyPath) -> KeyPath:
        """Where the value at ``input_path`` of the inputs lives in the team's config."""

    @abstractmethod
    def input_path(self, inputs: FoxInputsT, config_path: KeyPath) -> KeyPath:
        """The inverse of ``config_path``."""

    @abstractmethod
    def resource_id(self, inputs: FoxInputsT, team_id: str) -> str: ...

    def entry(self, inputs: FoxInputsT) -> KeyPath | None:
        """The object the resource's paths belong to, when its existence matters on delete."""
        return None

    def retirement(self, paths: list[KeyPath], history: History, on_delete: OnDelete) -> Retirement:
        """How ``paths`` are given back: their own earlier values, else inherited (restore), or null (clear)."""
        retirement = Retirement()
        for path in paths:
            prior = history.prior(path)
            if on_delete == "clear":
                retirement.values[path] = None
            elif prior.own:
                retirement.values[path] = prior.value
            else:
                retirement.removals.append(path)
        return retirement

    # -- the provider protocol ----------------------------------------------------------------------

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        result = validate(self.inputs_model, news)
        if result.failures or self.name is None:
            return result
        inputs = self.inputs_of(result.inputs)
        things = {(_team_key(inputs, self._label()), path): path for path in self.desired(inputs)}
        for thing, other in claims.claim(self._label(), things).items():
            path = things[thing]  # type: ignore[index]
            prop = self.identity_properties[0] if self.identity_properties else self.input_path(inputs, path)[0]
            result.failures.append(
                CheckFailure(
                    prop,
                    f"{prop}: {dotted(path)} is also declared by {other}; in one stack each IncidentFox config "
                    "path has one owner, so declare it in one resource only",
                )
            )
        return result

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = self.inputs_of(olds), self.inputs_of(news)
        self.verify_credentials(new.connection)
        changed = self.changed_inputs(old, new)
        replaces = [key for key in self.identity_properties if key in changed]
        if _connection_url(old) != _connection_url(new):
            replaces.append("connection")
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self.inputs_of(props)
        client = self._client(inputs.connection)
        desired = self.desired(inputs)
        with client.exclusive():
            snapshot = client.planning_snapshot()
            snapshot.ensure_writable()
            current = snapshot.overrides
            self._never_replace_whole(current, desired)
            team_id = client.team_id() or "team"  # known before anything is written
            managers = self._managers(current, desired)
            self._refuse_managed_elsewhere(inputs, team_id, managers)
            history = self._take(client, inputs, current, list(desired), History(), managers)
            implied = self._implied_in_place(inputs, current, desired, history) if inputs.adopted else {}
            changes = {p: v for p, v in desired.items() if p not in implied and not same(v, get_path(current, p))}
            # Adopting what the team already holds is free; the record then comes with the first change.
            records = {} if inputs.adopted and not changes else self._records(current, desired, history)
            self._never_replace_whole(current, records)
            # One request carries the values and the record of what they replaced: if the result never
            # reaches the engine (a crash, a lost connection), the next create finds that record.
            self._write(client, inputs, {**changes, **records})
        held = {path: value for path, value in desired.items() if path not in implied}
        client.confirm({**held, **records}, self._reason(inputs))
        return CreateResult(self.resource_id(inputs, team_id), self._outputs(inputs, team_id, desired, history))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        recorded, computed = self.inputs_of(props), ComputedOutputs.of(props)
        client = self._client(recorded.connection)
        self._same_team(client, computed.team_id)
        snapshot = client.team_overrides()
        snapshot.ensure_writable()  # a refresh or drift run says so too, rather than "no drift"
        current = snapshot.overrides
        owned = computed.paths
        # A key cannot be deleted from IncidentFox: an owned path that is null or unset is drift
        # to repair (an update), never a deleted resource, and its recorded history stays.
        live = {path: get_path(current, path) for path in owned}
        if recorded.adopted:
            live.update(self._implied_in_place(recorded, current, dict.fromkeys(owned)))
        inputs = self.props_of(recorded, exclude=self.value_properties)
        inputs.update(
            nest({self.input_path(recorded, path): value for path, value in live.items() if value is not None})
        )
        mismatches = {
            dotted(self.input_path(recorded, path)): problem
            for path in owned
            if (problem := _shape_mismatch(current, path)) is not None
        }
        inherited = [
            field
            for path in owned
            if is_unset(current, path)
            and live[path] is None
            and (field := dotted(self.input_path(recorded, path))) not in mismatches
        ]
        elsewhere = {
            dotted(self.input_path(recorded, path)): f"{manager.stack} ({manager.resource})"
            for path, manager in self._managers(current, owned).items()
            if not self._mine(manager)
        }
        refreshed = computed.model_copy(
            update={"inherited_fields": inherited, "managed_elsewhere": elsewhere, "shape_mismatches": mismatches}
        )
        return ReadResult(id_, {**inputs, **refreshed.model_dump()}, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs, computed = self.inputs_of(news), ComputedOutputs.of(olds)
        team_id = str(computed.team_id)
        client = self._client(inputs.connection)
        desired = self.desired(inputs)
        history = computed.history
        owned_before = computed.paths
        with client.exclusive():
            self._same_team(client, computed.team_id)
            snapshot = client.planning_snapshot()
            snapshot.ensure_writable()
            current = snapshot.overrides
            self._never_replace_whole(current, desired)
            managers = self._managers(current, desired)
            self._refuse_managed_elsewhere(inputs, team_id, managers)
            taken = [path for path in desired if path not in owned_before]
            history = self._take(client, inputs, current, taken, history, managers)
            # Paths no longer declared go back as on delete; the declared ones take their values.
            dropped = [path for path in owned_before if path not in desired]
            released = self._still_ours(current, self._not_declared_elsewhere(inputs, dropped))
            on_delete = inputs.on_delete
            retirement = Retirement() if on_delete == "retain" else self.retirement(released, history, on_delete)
            retirement.values.update({p: v for p, v in desired.items() if not same(v, get_path(current, p))})
            records = {**self._records(current, desired, history), **self._releases(current, released)}
            self._never_replace_whole(current, records)
            expected = self._give_back(client, inputs, current, retirement, history, records)
        client.confirm({**expected, **desired, **records}, self._reason(inputs))
        outputs = self._outputs(inputs, team_id, desired, history.only(desired))
        return UpdateResult(outputs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        inputs, computed = self.inputs_of(props), ComputedOutputs.of(props)
        on_delete = inputs.on_delete
        client = self._client(inputs.connection)
        history = computed.history
        paths = self._not_declared_elsewhere(inputs, computed.paths)
        with client.exclusive():
            self._same_team(client, computed.team_id)
            snapshot = client.planning_snapshot()
            snapshot.ensure_writable()
            current = snapshot.overrides
            paths = self._still_ours(current, paths)
            releases = self._releases(current, paths)
            if on_delete == "retain":  # the values stay; only this stack's record of them goes
                self._write(client, inputs, releases)
                expected = releases
            else:
                if on_delete == "restore":  # a key absent before that is still absent is given back already
                    paths = [path for path in paths if has_path(current, path) or history.prior(path).own]
                retirement = self.retirement(paths, history, on_delete)
                expected = self._give_back(client, inputs, current, retirement, history, releases)
        client.confirm(expected, self._reason(inputs))

    def _implied_in_place(
        self,
        inputs: FoxInputsT,
        current: Mapping[str, Any],
        desired: Mapping[KeyPath, Any],
        history: History | None = None,
    ) -> dict[KeyPath, Any]:
        """The paths of ``desired`` absent from the team whose value is what IncidentFox implies there (the
        service's default; ``history``: when nothing is inherited there either), with that value. ``desired``
        values of None stand for any value."""
        implied = {}
        for path, value in desired.items():
            default = self.implied_values.get(self.input_path(inputs, path), None)
            if default is None or has_path(current, path) or not (value is None or same(value, default)):
                continue
            if history is None or history.prior(path).inherited is None:
                implied[path] = default
        return implied

    # -- which stack manages what (the team's reserved ``stackfox`` key) --------------------------------

    def _mine(self, manager: Manager) -> bool:
        return manager.stack == self.stack

    @staticmethod
    def _managers(current: Mapping[str, Any], paths: Iterable[KeyPath]) -> dict[KeyPath, Manager]:
        return {path: manager for path in paths if (manager := manager_of(current, path)) is not None}

    def _refuse_managed_elsewhere(self, inputs: FoxInputsT, team_id: str, managers: Mapping[KeyPath, Manager]) -> None:
        """Stop before any write when another stack manages a declared path (unless it is taken over)."""
        allowed = inputs.take_over_from
        others = {path: m for path, m in managers.items() if not self._mine(m) and m.stack != allowed}
        if not others:
            return
        stacks = sorted({manager.stack for manager in others.values()})
        listed = "; ".join(f"{dotted(path)} by {m.stack} ({m.resource})" for path, m in others.items())
        raise ManagedElsewhereError(
            f"{self._label()}: another stack manages what this resource declares in IncidentFox team {team_id!r}: "
            f"{listed}. stackfox wrote nothing. Declare each path in one stack only; or, to move it to this "
            f'stack, set take_over_from="{stacks[0]}" on this resource (that stack\'s next `up` then refuses it '
            "instead of overwriting it, and its drift check names this stack)."
        )

    def _take(
        self,
        client: IncidentFoxClient,
        inputs: FoxInputsT,
        current: Mapping[str, Any],
        paths: list[KeyPath],
        history: History,
        managers: Mapping[KeyPath, Manager],
    ) -> History:
        """``history`` plus what ``paths`` held before this stack.

        Where the team's record says this stack already manages a path (a create whose result never
        reached the engine, or a resource renamed without ``aliases``), the recorded value is what was
        there before; the value there now is the stack's own.
        """
        recovered = [
            prior
            for path, manager in managers.items()
            if path in paths and self._mine(manager) and (prior := _recorded_prior(manager, path)) is not None
        ]
        entry = next((prior.entry_existed for prior in recovered if prior.entry_existed is not None), None)
        if entry is not None and history.entry_existed is None:
            history = history.model_copy(update={"entry_existed": entry})
        history = history.with_priors(prior.model_copy(update={"entry_existed": None}) for prior in recovered)
        known = {tuple(prior.path) for prior in recovered}
        return self._record(client, inputs, current, [path for path in paths if path not in known], history)

    def _records(
        self, current: Mapping[str, Any], desired: Mapping[KeyPath, Any], history: History
    ) -> dict[KeyPath, Any]:
        """The records saying this stack manages ``desired``, where the team's config does not hold them yet."""
        if self.stack is None:
            return {}
        records = {}
        for path in desired:
            before = history.prior(path).model_copy(update={"entry_existed": history.entry_existed})
            record = Manager(self.stack, self._label(), before.model_dump_json(exclude_none=True)).record()
            if not same(record, get_path(current, record_path(path))):
                records[record_path(path)] = record
        return records

    def _releases(self, current: Mapping[str, Any], paths: Iterable[KeyPath]) -> dict[KeyPath, Any]:
        """Nulls that release this stack's records of ``paths`` (IncidentFox cannot delete a key)."""
        managers = self._managers(current, paths)
        return {record_path(path): None for path, manager in managers.items() if self._mine(manager)}

    def _still_ours(self, current: Mapping[str, Any], paths: list[KeyPath]) -> list[KeyPath]:
        """``paths`` less those another stack has taken over since: what they hold now is that stack's."""
        taken = {path: m for path, m in self._managers(current, paths).items() if not self._mine(m)}
        for path, manager in taken.items():
            print(
                f"warning: {self._label()}: {dotted(path)} is managed by stack {manager.stack} ({manager.resource}) "
                "now, so it is left as it is",
                file=sys.stderr,
            )
        return [path for path in paths if path not in taken]

    # -- giving paths back ---------------------------------------------------------------------------

    def _never_replace_whole(self, current: Mapping[str, Any], desired: Mapping[KeyPath, Any]) -> None:
        """Refuse to write under a value that is not an object: the merge would replace it, and what it holds."""
        for path in desired:
            for depth in range(1, len(path)):
                above = get_path(current, path[:depth])
                if above is not None and not isinstance(above, Mapping):
                    shown = "(secret)" if _is_secret(path) else json.dumps(above)[:200]
                    raise RefusedError(
                        f"the team's {dotted(path[:depth])} is not an object but {shown}; writing "
                        f"{dotted(path)} would replace it whole and lose what it holds. Change it to an object "
                        "(for mcp_servers: keyed by server id) in IncidentFox first, or manage it by hand."
                    )

    def _not_declared_elsewhere(self, inputs: FoxInputsT, paths: list[KeyPath]) -> list[KeyPath]:
        """``paths`` less those another resource of this run declares now (a rename without ``aliases``)."""
        team, me = _team_key(inputs, self._label()), self._label()
        kept = []
        for path in paths:
            owner = claims.owner((team, path))
            if owner is None or owner == me:
                kept.append(path)
            else:
                print(
                    f"warning: {me}: {dotted(path)} is now declared by {owner}, so it is left as it is. To rename a "
                    "resource without losing what it recorded as the team's earlier values, give the new one "
                    "`aliases` of the old name.",
                    file=sys.stderr,
                )
        return kept

    def _verify_credentials_now(self, connection: Connection | None) -> None:
        try:
            client = self._client(connection)
        except settings.SettingsError:
            return  # said by the operation that needs the token
        client.verify_token()

    def _label(self) -> str:
        return label(self.kind, self.name)

    def _record(
        self,
        client: IncidentFoxClient,
        inputs: FoxInputsT,
        current: Mapping[str, Any],
        paths: list[KeyPath],
        history: History,
    ) -> History:
        """``history`` plus what ``paths`` hold now: the team's own values, else what it inherits."""
        inherited = client.effective() if any(not has_path(current, path) for path in paths) else {}
        priors = [
            Prior(path=list(path), own=True, value=get_path(current, path))
            if has_path(current, path)
            else Prior(
                path=list(path),
                own=False,
                inherited=get_path(inherited, path),
                parent_existed=isinstance(get_path(inherited, path[:-1]), Mapping) if path[:-1] else True,
                null_above=_null_above(current, path),
            )
            for path in paths
        ]
        entry = self.entry(inputs)
        if entry is not None and history.entry_existed is None:
            existed = has_path(current, entry) or get_path(inherited, entry) is not None
            history = history.model_copy(update={"entry_existed": existed})
        return history.with_priors(priors)

    def _give_back(
        self,
        client: IncidentFoxClient,
        inputs: FoxInputsT,
        current: Mapping[str, Any],
        retirement: Retirement,
        history: History,
        records: Mapping[KeyPath, Any],
    ) -> dict[KeyPath, Any]:
        """Apply ``retirement`` and ``records`` (in the last write); returns what the paths must hold afterwards.

        A removal is the service's two-write reset of its parent object (null it, write it back
        without the key). Where that cannot be done (a top-level key, ``agents``, an MCP server
        entry) or the service refuses the intermediate null, the path gets the value the team
        inherited there before, written explicitly, and stackfox says so.
        """
        values = dict(retirement.values)
        notes = list(retirement.notes)
        nulled: list[KeyPath] = []
        removed: list[KeyPath] = []
        pending = [path for path in retirement.removals if has_path(current, path)]
        renulled = nulls_to_restore(current, {path: tuple(history.prior(path).null_above or ()) for path in pending})
        values.update(renulled)
        pending = [path for path in pending if not any(path[: len(above)] == above for above in renulled)]
        while pending:  # outermost parents first; under a parent the service refuses, try deeper ones
            groups = parents_to_rebuild(pending)
            accepted = self._null_parents(client, inputs, list(groups))
            nulled += accepted
            removed += [path for parent in accepted for path in groups[parent]]
            grouped = {path for paths in groups.values() for path in paths}
            refused = [path for parent in groups if parent not in accepted for path in groups[parent]]
            # Paths whose own parent cannot be nulled get their inherited value written explicitly.
            stuck = [path for path in pending if path not in grouped] + [p for p in refused if p[:-1] in groups]
            for path in stuck:
                values[path], note = _inherited_fallback(path, history.prior(path))
                notes.append(note)
            pending = [path for path in refused if path[:-1] not in groups]
        plan = plan_reset(current, values, nulled, removed)
        notes += self._empty_parents(plan.rebuild, nulled, removed, history)
        writes = {
            path: value
            for path, value in plan.rebuild.items()
            if path in plan.nulls or not (has_path(current, path) and _identical(get_path(current, path), value))
        }
        self._write(client, inputs, {**writes, **records})
        for note in notes:
            print(f"warning: {self.kind} {self.describe(inputs)}: {note}", file=sys.stderr)
        # Only what the resource owns is checked later: the rest of a rebuilt object is others' to change.
        return {**values, **records}

    @staticmethod
    def _empty_parents(
        rebuilt: Mapping[KeyPath, Any], parents: list[KeyPath], removed: list[KeyPath], history: History
    ) -> list[str]:
        """Notes for rebuilt objects left empty where there was none before: no write can remove them."""
        notes = []
        for parent in parents:
            direct = [history.prior(path) for path in removed if path[:-1] == parent]
            if rebuilt[parent] == {} and direct and all(prior.parent_existed is False for prior in direct):
                notes.append(
                    f"IncidentFox cannot remove {dotted(parent)} from the team's config; it had no value before "
                    "and is now an empty object"
                )
        return notes

    def _null_parents(self, client: IncidentFoxClient, inputs: FoxInputsT, parents: list[KeyPath]) -> list[KeyPath]:
        """Null each parent the reset rebuilds; the ones the service refuses to null are left out."""
        from stackfox_provider.clients.http import ApiError

        if not parents:
            return []
        try:  # each null must land before its object is written back: these writes leave now
            client.write(nest(dict.fromkeys(parents)), reason=self._reason(inputs))
            return parents
        except ApiError as refused:
            if refused.status not in REFUSED:
                raise
        if len(parents) == 1:
            return []
        nulled = []
        for parent in parents:
            try:
                client.write(nest({parent: None}), reason=self._reason(inputs))
                nulled.append(parent)
            except ApiError as refused:
                if refused.status not in REFUSED:
                    raise
        return nulled

    # -- helpers ------------------------------------------------------------------------------------

    def _same_team(self, client: IncidentFoxClient, expected: str | None) -> None:
        """A new token may belong to another team at the same URL (``expected``, the one the state records):
        never read, write or move it silently."""
        from stackfox_provider.clients.incidentfox.client import TeamMismatchError

        team_id = client.team_id()
        if expected and expected != "team" and team_id and team_id != expected:
            raise TeamMismatchError(
                f"this {self.kind} manages IncidentFox team {expected!r}, but its token now belongs to team "
                f"{team_id!r}; stackfox stopped before reading or writing that team. Set the token of team "
                f"{expected!r} ({_config_key('incidentfoxToken')} or connection.token) and run `pulumi up`, or, to "
                "move the resource, remove it from the program (or `pulumi state delete` it) and add it again."
            )

    def desired(self, inputs: FoxInputsT) -> dict[KeyPath, Any]:
        """The owned config paths and the values the inputs declare for them (whole numbers as ints)."""
        declared = self.props_of(inputs, include=self.value_properties)
        return {
            self.config_path(inputs, path): value
            for path, value in leaves(declared).items()
            if value != {}  # declaring an empty object owns nothing (merging {} changes nothing)
        }

    def _outputs(
        self, inputs: FoxInputsT, team_id: str, desired: Mapping[KeyPath, Any], history: History
    ) -> dict[str, Any]:
        computed = ComputedOutputs(
            team_id=team_id, owned_paths=[list(path) for path in desired], previous=history.to_state()
        )
        return {**self.props_of(inputs), **computed.model_dump()}

    def _write(self, client: IncidentFoxClient, inputs: FoxInputsT, changes: Mapping[KeyPath, Any]) -> None:
        """Submit the operation's write: it leaves with those of other operations on the team when the
        ``exclusive()`` block ends, which returns once it has landed."""
        if changes:
            client.write_soon(nest(changes), reason=self._reason(inputs), owner=self._label())

    def _reason(self, inputs: FoxInputsT) -> str:
        return f"stackfox {self.kind} {self.describe(inputs)}"

    def describe(self, inputs: FoxInputsT) -> str:
        return " ".join(str(getattr(inputs, key, None)) for key in self.identity_properties)

    def _client(self, connection: Connection | None) -> IncidentFoxClient:
        """A client of the team ``connection`` names, else of the stack's settings."""
        from stackfox_provider.clients.incidentfox import incidentfox_client_for

        limits = settings.rate_limits("incidentfox")
        if connection is not None:
            url, token = connection.url, connection.token
        else:
            url = settings.require("incidentfoxUrl", f"IncidentFox {self.kind}")
            token = settings.require("incidentfoxToken", f"IncidentFox {self.kind}")
        return incidentfox_client_for(url, token, limits, unauthorized_hint=settings.INCIDENTFOX_UNAUTHORIZED_HINT)


def _recorded_prior(manager: Manager, path: KeyPath) -> Prior | None:
    """What the team's record says ``path`` held before its stack; None when it says nothing usable."""
    try:
        prior = Prior.model_validate_json(manager.before or "")
    except pydantic.ValidationError:
        return None  # edited by hand: what the path holds now is recorded instead
    return prior if tuple(prior.path) == path else None


def _null_above(current: Mapping[str, Any], path: KeyPath) -> list[str] | None:
    """The object above ``path`` that the team holds as null, if any (nothing is inherited below it)."""
    for depth in range(1, len(path)):
        if has_path(current, path[:depth]) and get_path(current, path[:depth]) is None:
            return list(path[:depth])
    return None


def _shape_mismatch(current: Mapping[str, Any], path: KeyPath) -> str | None:
    """Why ``path`` cannot be read at all: an object above it holds another kind of value (made by hand)."""
    for depth in range(1, len(path)):
        above = get_path(current, path[:depth])
        if above is not None and not isinstance(above, Mapping):
            kind = {list: "a list", str: "a string", bool: "a boolean"}.get(type(above), "a number")
            return f"{dotted(path[:depth])} holds {kind} now, not an object; `pulumi up` refuses to replace it"
    return None


def _identical(left: Any, right: Any) -> bool:
    """Equal as JSON, types included (``12`` is not ``12.0``)."""
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def _inherited_fallback(path: KeyPath, prior: Prior) -> tuple[Any, str]:
    """What a path that cannot be taken out gets instead, and the warning that says so."""
    cannot = f"IncidentFox cannot remove {dotted(path)} from the team's config"
    if prior.inherited is not None:
        shown = "(secret)" if _is_secret(path) else json.dumps(prior.inherited)
        return prior.inherited, (
            f"{cannot}, so stackfox wrote the value the team inherited there before, {shown}: the effective "
            "config is as before, but this key no longer follows changes made above the team"
        )
    return None, f"{cannot}; it had no value before and is now null"


def _is_secret(path: KeyPath) -> bool:
    """Paths whose values a warning never shows: MCP env/headers, and webhook URLs (they may embed a token)."""
    return path[:1] == ("webhooks",) or (len(path) > 3 and path[0] == "mcp_servers" and path[2] in ("env", "headers"))


def _team_key(inputs: IncidentFoxInputs, resource: str) -> str:
    """Which team a resource's paths belong to, as far as this run can tell: the stack's, or its connection's
    URL and token (teams at one URL differ by token). A connection not known yet (preview, a token minted in
    the same run) is told apart from every other: its team cannot be known."""
    connection = inputs.connection
    if connection is None:
        return "stack"
    if isinstance(connection, Connection) and not is_unknown(connection.url) and not is_unknown(connection.token):
        return f"{connection.url}#{hashlib.sha256(connection.token.encode()).hexdigest()[:16]}"
    return f"unknown connection of {resource}"


def _connection_url(inputs: IncidentFoxInputs) -> str | None:
    connection = inputs.connection  # in preview, possibly still unknown as a whole (not a Connection)
    return connection.url if isinstance(connection, Connection) else None
