"""A client for IncidentFox's team config API that works with both what the docs promise and what the
open-source config service does (see ``docs/incidentfox.md``).

- Reads use ``GET /config/me/raw`` (the team's own overrides), falling back to ``/config/me/effective``.
- Writes use the method of the dialect the reads' answers showed (see ``dialect_write_mode``): ``PUT`` with
  the bare partial body for the documented API, ``PATCH`` with ``{"config", "reason"}`` for the open-source
  service; so no write, of the 20 a minute, is spent on a 405. Only when an answer contradicts that (405/404)
  does the write switch to the other method, saying so; the method is remembered per base URL.
- Responses are unwrapped from ``{"data", "meta"}`` envelopes when present.
- Writes to one team are planned one at a time in the process; the writes of operations that run at the
  same time leave as one merge (``batch``), and a write whose outcome is unknown (lost response,
  500/502/504) is settled by re-reading, never by blindly sending it again.
- The open-source service's write is an unlocked read-modify-write: two writers at once can lose
  each other's keys with both answered 200. ``confirm()`` reads back once the process's writes to a
  team have settled, re-applies what another writer lost (a few times), then fails naming the paths.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx

from stackfox_provider import process
from stackfox_provider.clients.http import AmbiguousWriteError, ApiClient, ApiError, RetryPolicy
from stackfox_provider.clients.incidentfox.batch import Part, WriteBatcher, merge_all
from stackfox_provider.clients.ratelimit import RateLimits
from stackfox_provider.errors import RefusedError
from stackfox_provider.keypaths import KeyPath, differing, dotted, leaves, nest
from stackfox_provider.process import Registry

log = logging.getLogger("stackfox.incidentfox")

API = "IncidentFox"
WriteMode = Literal["auto", "patch", "put"]
WriteMethod = Literal["patch", "put"]
UNSETTLED_WRITE_STATUSES = frozenset({500, 502, 504})
#: Refusals of a merged write that may be one part's fault: its parts are then sent one at a time.
DIVISIBLE_REFUSALS = frozenset({400, 409, 413, 422})
WRITE_ATTEMPTS = 6
SNAPSHOT_MAX_AGE_SECONDS = 30.0
#: How long the team must be quiet (no write of this process) before ``confirm()`` reads back. It must
#: outlast the service's read-modify-write, so that a concurrent writer's lost update has landed.
SETTLE_SECONDS = 1.0
#: How often ``confirm()`` re-applies paths another writer overwrote before it gives up.
REAPPLY_ATTEMPTS = 3


class TeamToken:
    """An IncidentFox team token (``<id>.<secret>``) as a credential for the HTTP layer."""

    def __init__(self, token: str) -> None:
        self._token = token

    def authorization(self) -> str:
        return f"Bearer {self._token}"

    def renew(self) -> bool:
        return False  # a static token cannot be renewed

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self._token.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"TeamToken(fingerprint={self.fingerprint})"


class PendingApprovalError(ApiError):
    """The service queued the change for approval (202) instead of applying it."""


class ConcurrentWriteError(ApiError):
    """Someone else changed paths stackfox owns while stackfox was writing them."""


class TeamMismatchError(RefusedError):
    """The token reaches another IncidentFox team than the one a resource manages."""


class TeamLockedError(RefusedError):
    """A null MCP server entry in the team's lineage makes the open-source service fail every team write."""


@dataclass(frozen=True)
class Identity:
    """Who a token belongs to (``GET /auth/me``)."""

    org_id: str | None
    team_id: str | None
    role: str | None
    can_write: bool


@dataclass(frozen=True)
class TeamSnapshot:
    """The team's own config overrides as read at ``read_at``; ``source`` says which route served them.

    ``team_id`` is the team the token reached, when the answer names it (the raw read's lineage).
    """

    overrides: dict[str, Any]
    source: Literal["raw", "effective"]
    read_at: float
    team_id: str | None = None
    #: ``(node id, dotted path)`` of each null at ``mcp_servers`` or an MCP server entry in the lineage.
    null_mcp_entries: tuple[tuple[str, str], ...] = ()

    def ensure_writable(self) -> None:
        """Stop before writing when the service would answer every team write with 500."""
        if not self.null_mcp_entries:
            return
        where = ", ".join(f"{path} (in the config of node {node!r})" for node, path in self.null_mcp_entries)
        raise TeamLockedError(
            f"IncidentFox cannot take any write to team {self.team_id!r}: {where} is null, and the open-source "
            "config service fails every team write (HTTP 500) while an MCP server entry is null. Only an org "
            "admin can repair it, by replacing the null with an object, e.g. PUT "
            "/api/v1/admin/orgs/<org>/nodes/<node>/config with "
            '{"patch": {"mcp_servers": {"<id>": {"enabled": false}}}}. stackfox wrote nothing.'
        )


@dataclass(frozen=True)
class WriteResult:
    version: int | None
    overrides: dict[str, Any] | None


def is_envelope(body: Any) -> bool:
    """Whether ``body`` is the documented API's ``{"data": ..., "meta": ...}`` envelope."""
    return isinstance(body, dict) and "data" in body and set(body) <= {"data", "meta"}


def unwrap(body: Any) -> Any:
    """The payload of a ``{"data": ..., "meta": ...}`` envelope, or the body itself."""
    return body["data"] if is_envelope(body) else body


def dialect_write_mode(response: httpx.Response) -> WriteMethod | None:
    """The write method of the dialect a read's answer shows, or None when it shows none (an error, no object).

    The documented (hosted) API wraps bodies in envelopes and rate-limits (``X-RateLimit-*`` headers): it takes
    ``PUT``. The open-source service answers bare objects and never rate-limits: it takes ``PATCH``.
    """
    if "x-ratelimit-limit" in response.headers:
        return "put"
    if not 200 <= response.status_code < 300:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    return "put" if is_envelope(body) else "patch"


#: The write method per base URL: what the first read's answer showed, or what a 405 taught (the dialect does
#: not change while the process runs).
_write_modes: Registry[str, WriteMethod] = process.registry("IncidentFox write modes")


class IncidentFoxClient:
    """One team's config, through one team token. Safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        write_mode: WriteMode = "auto",
        limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        settle_seconds: float = SETTLE_SECONDS,
        unauthorized_hint: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.write_mode = write_mode
        self.settle_seconds = settle_seconds
        self._api = ApiClient(
            API, self.base_url, TeamToken(token), limits=limits, retry=retry, transport=transport,
            unauthorized_hint=unauthorized_hint,
        )  # fmt: skip
        self._sleep = sleep
        self._read_lock = threading.Lock()
        self._plan_lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._batcher: WriteBatcher[WriteResult] = WriteBatcher(self._write_settled, divisible=_divisible)
        self._submitted = threading.local()  # per thread: the parts of each open ``exclusive()`` block
        self._snapshot: TeamSnapshot | None = None
        self._effective: tuple[dict[str, Any], float] | None = None
        self._identity: Identity | None = None
        self._token_verified = False
        self._last_version: int | None = None
        # Writes on their way to the service now, and when the last one ended.
        self._quiet = threading.Condition()
        self._sending = 0
        self._last_write_at = float("-inf")

    @property
    def fingerprint(self) -> str:
        """Which token the client uses, as a hash (never the token)."""
        return self._api.credential.fingerprint

    # -- reads ---------------------------------------------------------------------------------

    def identity(self) -> Identity:
        """``GET /auth/me``, once per client: validates the token and names the team."""
        if self._identity is None:
            self._identity = self._read_identity()
        return self._identity

    def verify_token(self) -> None:
        """Fail now, once per client, if the service rejects the token (401/403); other failures are left
        to the operations that need the service (a no-op preview still works offline)."""
        if self._token_verified:
            return
        self._token_verified = True
        try:
            self.identity()
        except ApiError as error:
            if error.status in (401, 403):
                raise
            log.info("could not verify the IncidentFox token now: %s", error)

    def team_overrides(
        self, max_age: float = SNAPSHOT_MAX_AGE_SECONDS, fresh_after: float | None = None
    ) -> TeamSnapshot:
        """The team's own overrides; concurrent callers within ``max_age`` share one GET.

        ``fresh_after`` (a ``time.monotonic()`` instant) asks for a read started after it.
        """
        with self._read_lock:
            snapshot = self._snapshot
            stale = snapshot is None or time.monotonic() - snapshot.read_at > max_age
            if stale or (fresh_after is not None and snapshot is not None and snapshot.read_at < fresh_after):
                snapshot = self._snapshot = self._read_overrides()
            assert snapshot is not None
            return snapshot

    def team_id(self) -> str | None:
        """The team the token reaches: from the raw read when it names it, else ``GET /auth/me``."""
        snapshot = self.team_overrides()
        return snapshot.team_id or self.identity().team_id

    def effective(self, max_age: float = SNAPSHOT_MAX_AGE_SECONDS) -> dict[str, Any]:
        """The team's effective config (defaults, then each node root to leaf), shared like the overrides.

        Used only for what a path inherits where the team has no value of its own, which the team's
        own writes do not change, so a write does not drop it.
        """
        with self._read_lock:
            if self._effective is None or time.monotonic() - self._effective[1] > max_age:
                self._effective = (self._read_effective(), time.monotonic())
            return self._effective[0]

    def planning_snapshot(self) -> TeamSnapshot:
        """The team's overrides as they will be once the writes submitted so far have landed (plan on this)."""
        snapshot = self.team_overrides()
        pending = self._batcher.pending()
        return replace(snapshot, overrides=merge_all(snapshot.overrides, pending)) if pending else snapshot

    def forget_snapshot(self) -> None:
        with self._read_lock:
            self._snapshot = None

    def _get(self, path: str, accept: frozenset[int] = frozenset()) -> httpx.Response:
        """A read. Its answer also shows the dialect, so the first write already uses the right method."""
        response = self._api.request("GET", path, accept=accept)
        mode = dialect_write_mode(response)
        if mode is not None:
            _write_modes.get(self.base_url, lambda: mode)  # the first answer decides; a 405 may correct it
        return response

    def _read_identity(self) -> Identity:
        """``GET /auth/me`` now (``identity()`` keeps the answer)."""
        body = unwrap(self._get("/auth/me").json())
        return Identity(
            org_id=body.get("org_id"),
            team_id=body.get("team_node_id") or body.get("team_id"),
            role=body.get("role"),
            can_write=bool(body.get("can_write", True)),
        )

    def _read_overrides(self) -> TeamSnapshot:
        started = time.monotonic()
        response = self._get("/config/me/raw", accept=frozenset({404, 405}))
        self._token_verified = True  # the service took the token
        if response.status_code < 400:
            raw = unwrap(response.json())
            lineage = raw.get("lineage") if isinstance(raw, dict) else None
            team = str(lineage[-1]) if isinstance(lineage, list) and lineage else None
            configs = raw.get("configs") if isinstance(raw, dict) else None
            nulls = _null_mcp_entries(configs if isinstance(configs, dict) else {str(team): raw})
            return TeamSnapshot(self._own_overrides(raw, team), "raw", started, team, nulls)
        body = unwrap(self._get("/config/me/effective").json())
        config = body.get("effective_config", body) if isinstance(body, dict) else {}
        node = str(body.get("node_id")) if isinstance(body, dict) and body.get("node_id") else None
        nulls = _null_mcp_entries({node or "(effective)": config})
        return TeamSnapshot(dict(config or {}), "effective", started, node, nulls)

    def _read_effective(self) -> dict[str, Any]:
        body = unwrap(self._get("/config/me/effective").json())
        config = body.get("effective_config", body) if isinstance(body, dict) else {}
        return dict(config or {})

    def _own_overrides(self, raw: Any, team: str | None) -> dict[str, Any]:
        if not isinstance(raw, dict) or "configs" not in raw:
            return dict(raw or {})
        configs: Mapping[str, Any] = raw.get("configs") or {}
        return dict(configs.get(team or str(self.identity().team_id)) or {})

    # -- writes --------------------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held while an operation reads the team and plans its writes: one operation plans at a time.

        The writes it submits with ``write_soon()`` leave after the block, merged with those of operations
        that planned at about the same time; the block returns once they have landed, or raises the
        error of its own write.
        """
        parts: list[Part[WriteResult]] = []
        blocks: list[list[Part[WriteResult]]] = self._submitted.__dict__.setdefault("blocks", [])
        try:
            with self._batcher.planning(), self._plan_lock:
                blocks.append(parts)
                try:
                    yield
                finally:
                    blocks.pop()
        except BaseException:
            self._complete(parts, quietly=True)  # submitted parts still go: later writes wait on them
            raise
        self._complete(parts)

    def write_soon(self, partial: Mapping[str, Any], reason: str, owner: str) -> None:
        """Submit a write that leaves, merged with others, when the ``exclusive()`` block around it ends.

        ``owner`` names the resource in errors. Outside an ``exclusive()`` block this is ``write()``.
        """
        blocks = getattr(self._submitted, "blocks", None)
        if not blocks:
            self.write(partial, reason)
            return
        blocks[-1].append(self._batcher.submit(partial, reason, owner))

    def _complete(self, parts: list[Part[WriteResult]], *, quietly: bool = False) -> None:
        """Wait for every part to land (each must be sent), then raise the first error unless ``quietly``."""
        errors: list[BaseException] = []
        for part in parts:
            try:
                self._batcher.complete(part)
            except BaseException as error:
                errors.append(error)
        if errors and quietly:
            log.warning("a write submitted before the operation failed: %s", errors[0])
        elif errors:
            raise errors[0]

    def confirm(self, expected: Mapping[KeyPath, Any], reason: str) -> None:
        """Check, once this process's writes to the team have settled, that ``expected`` still holds.

        Another writer (another stack, the UI, a second worker of the service) may have overwritten
        paths we wrote with both writes answered 200. Lost paths are written again, up to
        ``REAPPLY_ATTEMPTS`` times; after that :class:`ConcurrentWriteError` names them.
        """
        if not expected:
            return
        for attempt in range(REAPPLY_ATTEMPTS + 1):
            lost = differing(dict(expected), self._settled_overrides())
            if not lost:
                return
            if attempt == REAPPLY_ATTEMPTS:
                break
            log.warning("another writer overwrote %s; writing them again", ", ".join(map(dotted, lost)))
            with self.exclusive():
                self.write(nest({path: expected[path] for path in lost}), reason)
        raise ConcurrentWriteError(
            API, "PATCH", "/config/me",
            f"another writer keeps overwriting what stackfox wrote to team {self.team_id()!r}: "
            f"{', '.join(dotted(path) for path in lost)} no longer hold the declared values after "
            f"{REAPPLY_ATTEMPTS} re-applies. Serialise applies to this team (one CI concurrency group), "
            "then run `pulumi up` again and `stackfox drift` to confirm.",
        )  # fmt: skip

    def _settled_overrides(self) -> dict[str, Any]:
        """The team's overrides, read after no write of this process has run for ``settle_seconds``."""
        with self._quiet:
            while True:
                quiet_at = self._last_write_at + self.settle_seconds
                remaining = quiet_at - time.monotonic()
                if self._sending == 0 and remaining <= 0:
                    break
                self._quiet.wait(timeout=None if self._sending else remaining)
        return self.team_overrides(fresh_after=quiet_at).overrides

    def write(self, partial: Mapping[str, Any], reason: str) -> WriteResult:
        """Deep-merge ``partial`` into the team's overrides now (after every write submitted before it)."""
        return self._batcher.send_now(partial, reason, owner="stackfox")

    def _write_settled(self, partial: Mapping[str, Any], reason: str) -> WriteResult:
        """One merge write, made sure to have landed.

        A write whose outcome is unknown is settled by reading back: if every path already holds
        the value we sent, it counts as done; otherwise it is sent again (up to a few times).
        """
        expected = leaves(partial)
        with self._write_lock, self._on_the_way():
            self._know_dialect()
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                try:
                    result = self._send(partial, reason)
                except (AmbiguousWriteError, ApiError) as error:
                    if not _unsettled(error):
                        raise
                    self._wrote()
                    if not differing(expected, self.team_overrides().overrides):
                        log.info("IncidentFox write settled by read-back after: %s", error)
                        return WriteResult(version=None, overrides=None)
                    if attempt == WRITE_ATTEMPTS:
                        raise
                    self._sleep(self._api.retry.backoff(attempt))
                    continue
                self._wrote()
                self._check_version(result, expected)
                return result
        raise AssertionError("unreachable")

    @contextmanager
    def _on_the_way(self) -> Iterator[None]:
        """Counts a write as on its way: ``confirm()`` reads back only once none is and the team was quiet."""
        with self._quiet:
            self._sending += 1
        try:
            yield
        finally:
            with self._quiet:
                self._sending -= 1
                self._last_write_at = time.monotonic()
                self._quiet.notify_all()

    def _wrote(self) -> None:
        self.forget_snapshot()
        with self._quiet:
            self._last_write_at = time.monotonic()

    def _know_dialect(self) -> None:
        """Before a write, make sure an answer has shown the dialect, reading ``/auth/me`` if none has.

        The resources always read the team before they write, so this costs nothing in practice; and a read,
        of the 100 a minute, is cheaper than a write of the 20 spent on a 405.
        """
        if self.write_mode == "auto" and _write_modes.find(self.base_url) is None:
            self._identity = self._read_identity()

    def _send(self, partial: Mapping[str, Any], reason: str) -> WriteResult:
        mode = self._mode()
        response = self._send_as(mode, partial, reason)
        if response.status_code in (404, 405) and self.write_mode == "auto":
            other: WriteMethod = "put" if mode == "patch" else "patch"
            log.warning(
                "IncidentFox at %s answered %s /config/me with %d although its reads looked like that method's "
                "dialect; writing with %s from now on", self.base_url, mode.upper(), response.status_code,
                other.upper(),
            )  # fmt: skip
            _write_modes.put(self.base_url, other)
            response = self._send_as(other, partial, reason)
        if response.status_code in (404, 405):
            raise self._api.error(response.request.method, "/config/me", response)
        if response.status_code == 202:
            body = unwrap(response.json())
            raise PendingApprovalError(
                API, response.request.method, "/config/me",
                f"the change is waiting for approval (change request {body.get('change_request_id')}); "
                "approve it in IncidentFox, then run `pulumi refresh`",
                status=202,
            )  # fmt: skip
        body = unwrap(response.json())
        config = body.get("config") if isinstance(body, dict) else None
        version = body.get("version") if isinstance(body, dict) else None
        return WriteResult(version=int(version) if isinstance(version, int | float) else None, overrides=config)

    def _send_as(self, mode: WriteMethod, partial: Mapping[str, Any], reason: str) -> httpx.Response:
        """One write in ``mode``'s dialect; 404 and 405 come back for ``_send`` to decide on."""
        body = {"config": partial, "reason": reason} if mode == "patch" else dict(partial)
        return self._api.request(mode.upper(), "/config/me", json=body, accept=frozenset({404, 405}))

    def _mode(self) -> WriteMethod:
        """The override, else the method the reads showed; PATCH first only if no answer showed any."""
        if self.write_mode != "auto":
            return self.write_mode
        mode = _write_modes.find(self.base_url)
        if mode is None:
            log.info("IncidentFox at %s has not shown its dialect; trying PATCH first", self.base_url)
        return mode or "patch"

    def _check_version(self, result: WriteResult, expected: Mapping[KeyPath, Any]) -> None:
        """If the version moved by more than our one write, someone else wrote: verify our paths."""
        previous, self._last_version = self._last_version, result.version
        if previous is None or result.version is None or result.version == previous + 1:
            return
        changed = differing(expected, self.team_overrides().overrides)
        if changed:
            raise ConcurrentWriteError(
                API, "PATCH", "/config/me",
                "another writer changed the team's config during this update (version "
                f"{previous} -> {result.version}) and these paths no longer hold what stackfox wrote: "
                f"{', '.join(dotted(path) for path in changed)}. Run `pulumi refresh`, then `pulumi up` again.",
            )  # fmt: skip


def _null_mcp_entries(configs: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for node, config in configs.items():
        if not isinstance(config, Mapping) or "mcp_servers" not in config:
            continue
        servers = config["mcp_servers"]
        if servers is None:
            found.append((str(node), "mcp_servers"))
        elif isinstance(servers, Mapping):
            found += [(str(node), f"mcp_servers.{key}") for key, entry in servers.items() if entry is None]
    return tuple(found)


def _divisible(error: BaseException) -> bool:
    return isinstance(error, ApiError) and not isinstance(error, PendingApprovalError) and (
        error.status in DIVISIBLE_REFUSALS
    )


def _unsettled(error: ApiError) -> bool:
    return isinstance(error, AmbiguousWriteError) or error.status in UNSETTLED_WRITE_STATUSES


_clients: Registry[tuple[str, str], IncidentFoxClient] = process.registry("IncidentFox clients")


def incidentfox_client_for(
    base_url: str, token: str, limits: RateLimits | None = None, *, unauthorized_hint: str | None = None
) -> IncidentFoxClient:
    """The process-wide client for a (base URL, token): resources of one team share its cache and lock.

    ``unauthorized_hint`` is added to a 401's message: where the caller took the token from.
    """
    key = (base_url.rstrip("/"), TeamToken(token).fingerprint)
    return _clients.get(
        key, lambda: IncidentFoxClient(base_url, token, limits=limits, unauthorized_hint=unauthorized_hint)
    )


def use_client(client: IncidentFoxClient) -> None:
    """Make ``client`` the process-wide one for its base URL and token (tests: a client on a mock transport)."""
    _clients.put((client.base_url, client.fingerprint), client)
    _write_modes.pop(client.base_url)
