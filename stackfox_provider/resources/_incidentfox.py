"""The behaviour shared by IncidentFox resources: each owns some key paths of one team's config.

A resource declares values at *owned paths*; it reads, diffs and writes those paths only, so keys
set in the UI or by another stack survive. ``create`` records what each owned path held before and
``delete`` puts it back (``on_delete="restore"``), nulls it (``"clear"``) or leaves it (``"retain"``).
Every resource of a team shares one client per process: one GET serves a whole refresh, and writes
to the team never interleave.
"""

from __future__ import annotations

import ipaddress
import sys
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import pulumi
import pydantic
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from stackfox_provider import settings
from stackfox_provider.clients.http import ApiError
from stackfox_provider.clients.incidentfox import IncidentFoxClient, incidentfox_client_for
from stackfox_provider.clients.incidentfox.paths import KeyPath, dotted, get_path, leaves, nest
from stackfox_provider.normalize import same
from stackfox_provider.resources._common import StackfoxProvider, StrictModel, is_unknown, validate, without_provider

OnDelete = Literal["restore", "clear", "retain"]
#: Outputs stackfox computes; never compared with the program's inputs.
COMPUTED = ("team_id", "owned_paths", "previous")


class Connection(StrictModel):
    """Which IncidentFox team to manage, when it is not the stack's default (``stackfox:incidentfox*``)."""

    url: str
    token: str = pydantic.Field(min_length=1)

    @pydantic.field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be the API's base URL, like https://api.incidentfox.ai/api/v1 (got {url!r})")
        return url.rstrip("/")


class IncidentFoxInputs(StrictModel):
    """Inputs every IncidentFox resource takes."""

    connection: Connection | None = None
    on_delete: OnDelete = "restore"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class OwnedPathsProvider(StackfoxProvider):
    """A provider whose resource owns the config paths ``desired()`` names, and nothing else."""

    inputs_model: ClassVar[type[IncidentFoxInputs]]
    #: Input properties that name *which* paths are owned: changing one replaces the resource.
    identity_properties: ClassVar[tuple[str, ...]] = ()
    #: Input properties whose values are written to the team's config.
    value_properties: ClassVar[tuple[str, ...]]
    kind: ClassVar[str]

    # -- what a subclass defines --------------------------------------------------------------------

    @abstractmethod
    def config_path(self, inputs: Mapping[str, Any], input_path: KeyPath) -> KeyPath:
        """Where the value at ``input_path`` of the inputs lives in the team's config."""

    @abstractmethod
    def input_path(self, inputs: Mapping[str, Any], config_path: KeyPath) -> KeyPath:
        """The inverse of ``config_path``."""

    @abstractmethod
    def resource_id(self, inputs: Mapping[str, Any], team_id: str) -> str: ...

    def retirement(self, outputs: Mapping[str, Any], on_delete: OnDelete) -> dict[KeyPath, Any]:
        """What ``delete`` writes: the recorded previous values (``restore``) or nulls (``clear``)."""
        previous = dict(_path_pairs(outputs.get("previous")))
        return {path: previous.get(path) if on_delete == "restore" else None for path in _owned_paths(outputs)}

    # -- the provider protocol ----------------------------------------------------------------------

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return validate(self.inputs_model, news)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in self.identity_properties if not same(olds.get(key), news.get(key))]
        if _connection_url(olds) != _connection_url(news):
            replaces.append("connection")
        changed = bool(replaces) or any(
            not same(olds.get(key), news.get(key))
            for key in (*self.value_properties, "on_delete", "connection")
            if key in olds or key in news
        )
        return DiffResult(changes=changed, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = without_provider(props)
        client = self._client(inputs)
        desired = self.desired(inputs)
        with client.exclusive():
            current = client.team_overrides().overrides
            previous = {path: get_path(current, path) for path in desired}
            self._write(client, inputs, {p: v for p, v in desired.items() if not same(v, previous[p])})
        team_id = client.identity().team_id or "team"
        outputs = self._outputs(inputs, team_id, desired, previous)
        return CreateResult(self.resource_id(inputs, team_id), outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        outputs = without_provider(props)
        client = self._client(outputs)
        current = client.team_overrides().overrides
        owned = _owned_paths(outputs)
        live = {path: get_path(current, path) for path in owned}
        if all(value is None for value in live.values()):
            return ReadResult(None, {})  # every owned path is gone: so is the resource
        inputs = {key: value for key, value in outputs.items() if key not in (*COMPUTED, *self.value_properties)}
        inputs.update(
            nest({self.input_path(outputs, path): value for path, value in live.items() if value is not None})
        )
        return ReadResult(id_, {**inputs, **{key: outputs.get(key) for key in COMPUTED}}, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = without_provider(news)
        client = self._client(inputs)
        self._same_team(client, olds)
        desired = self.desired(inputs)
        previous = dict(_path_pairs(olds.get("previous")))
        owned_before = _owned_paths(olds)
        with client.exclusive():
            current = client.team_overrides().overrides
            # Paths no longer declared go back to what they held before stackfox owned them.
            released = {path: previous.get(path) for path in owned_before if path not in desired}
            previous.update({path: get_path(current, path) for path in desired if path not in owned_before})
            changes = {p: v for p, v in {**released, **desired}.items() if not same(v, get_path(current, p))}
            self._write(client, inputs, changes)
        return UpdateResult(self._outputs(inputs, str(olds.get("team_id")), desired, previous))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        outputs = without_provider(props)
        on_delete: OnDelete = outputs.get("on_delete", "restore")
        if on_delete == "retain":
            return
        client = self._client(outputs)
        with client.exclusive():
            current = client.team_overrides().overrides
            retirement = self.retirement(outputs, on_delete)
            changes = {p: v for p, v in retirement.items() if not same(v, get_path(current, p))}
            try:
                self._write(client, outputs, changes)
            except ApiError as error:
                if error.status not in (400, 422) or all(value is not None for value in changes.values()):
                    raise
                self._clear_what_the_service_allows(client, outputs, changes)

    def _clear_what_the_service_allows(
        self, client: IncidentFoxClient, outputs: Mapping[str, Any], changes: Mapping[KeyPath, Any]
    ) -> None:
        """The service refused a null (``entrance_agent`` is required): clear what it accepts, keep the rest.

        IncidentFox's API has no "revert to inherited", so a path it will not null keeps its current
        value, and stackfox says so.
        """
        self._write(client, outputs, {path: value for path, value in changes.items() if value is not None})
        for path in [path for path, value in changes.items() if value is None]:
            try:
                self._write(client, outputs, {path: None})
            except ApiError as refused:
                if refused.status not in (400, 422):
                    raise
                print(
                    f"warning: IncidentFox refused to clear {dotted(path)} ({refused.message}); it keeps its "
                    "current value, which stackfox no longer manages.",
                    file=sys.stderr,
                )

    # -- helpers ------------------------------------------------------------------------------------

    def _same_team(self, client: IncidentFoxClient, olds: Mapping[str, Any]) -> None:
        """A new token may belong to another team at the same URL: never move a resource silently."""
        team_id = client.identity().team_id
        if olds.get("team_id") and team_id and team_id != olds["team_id"]:
            raise RuntimeError(
                f"this {self.kind} manages IncidentFox team {olds['team_id']!r}, but its token now belongs to team "
                f"{team_id!r}. To move it, remove it from the program (or `pulumi state delete` it) and add it again."
            )

    def desired(self, inputs: Mapping[str, Any]) -> dict[KeyPath, Any]:
        """The owned config paths and the values the inputs declare for them."""
        declared = {key: inputs[key] for key in self.value_properties if inputs.get(key) is not None}
        return {
            self.config_path(inputs, path): value
            for path, value in leaves(declared).items()
            if value != {}  # declaring an empty object owns nothing (merging {} changes nothing)
        }

    def _outputs(
        self, inputs: Mapping[str, Any], team_id: str, desired: Mapping[KeyPath, Any], previous: Mapping[KeyPath, Any]
    ) -> dict[str, Any]:
        return {
            **inputs,
            "team_id": team_id,
            "owned_paths": [list(path) for path in desired],
            "previous": [
                [list(path), value] for path, value in previous.items() if path in desired and value is not None
            ],
        }

    def _write(self, client: IncidentFoxClient, inputs: Mapping[str, Any], changes: Mapping[KeyPath, Any]) -> None:
        if changes:
            client.write(nest(changes), reason=f"stackfox {self.kind} {self.describe(inputs)}")

    def describe(self, inputs: Mapping[str, Any]) -> str:
        return " ".join(str(inputs.get(key)) for key in self.identity_properties)

    def _client(self, inputs: Mapping[str, Any]) -> IncidentFoxClient:
        limits = settings.rate_limits("incidentfox")
        connection = inputs.get("connection")
        if isinstance(connection, Mapping) and not is_unknown(connection):
            return incidentfox_client_for(str(connection["url"]), str(connection["token"]), limits)
        url = settings.require("incidentfoxUrl", f"IncidentFox {self.kind}")
        token = settings.require("incidentfoxToken", f"IncidentFox {self.kind}")
        return incidentfox_client_for(url, token, limits)


def secret_outputs(opts: pulumi.ResourceOptions | None, *extra: str) -> pulumi.ResourceOptions:
    """Options that keep recorded previous values and connection tokens encrypted in state."""
    secrets = ["previous", "connection", *extra]
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=secrets))


def _connection_url(props: Mapping[str, Any]) -> Any:
    connection = props.get("connection")
    return connection.get("url") if isinstance(connection, Mapping) else None


def _owned_paths(outputs: Mapping[str, Any]) -> list[KeyPath]:
    return [tuple(path) for path in outputs.get("owned_paths") or []]


def _path_pairs(pairs: Any) -> list[tuple[KeyPath, Any]]:
    return [(tuple(path), value) for path, value in pairs or []]
