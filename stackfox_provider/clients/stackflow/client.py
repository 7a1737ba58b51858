"""The StackFlow incidents API (``…/prod/api``): standing categories and the incidents that use them.

Built on the shared ``ApiClient`` policy. Creates are never retried blindly: a create whose outcome is unknown
raises ``AmbiguousWriteError`` and the caller looks the category up by name. Reads of many categories go through
``category_snapshot()``: one paginated listing shared by every thread, which each write made through the client
keeps right by applying its answer (the category a POST or PATCH returned, the one a DELETE removed). A write whose
outcome is unknown or that was refused (404, 409, 412: the snapshot may be wrong) drops it, and the next lookup
lists again. So creating N categories lists them once, not once per create.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from stackfox_provider import process
from stackfox_provider.clients.http import AmbiguousWriteError, ApiClient, ApiError, Credential, RetryPolicy
from stackfox_provider.clients.ratelimit import RateLimits
from stackfox_provider.clients.stackflow.models import Category, Incident
from stackfox_provider.normalize import integral
from stackfox_provider.process import Registry

API_NAME = "StackFlow"
PAGE_LIMIT = 100
#: How long a listing answers reads (refresh) for: our own writes keep it right, others' only a new listing shows.
SNAPSHOT_MAX_AGE_SECONDS = 30.0
# A gateway error on a create may come after the backend applied it: treat it like a lost response.
AMBIGUOUS_WRITE_STATUSES = frozenset({500, 502, 504})

Model = TypeVar("Model", bound=BaseModel)


class NotFoundError(ApiError):
    """404: the object does not exist (any more)."""


class ConflictError(ApiError):
    """409: a category with that name exists, or open incidents still use the category being deleted."""


class PreconditionFailed(ApiError):
    """412: the ``If-Match`` ETag is stale; someone changed the object since it was read."""


_TYPED_ERRORS: dict[int, type[ApiError]] = {404: NotFoundError, 409: ConflictError, 412: PreconditionFailed}
_TYPED_STATUSES = frozenset(_TYPED_ERRORS)


class CategorySnapshot:
    """All categories as listed at ``taken_at``, with the answers of this process's writes since then applied.

    Indexed by id and by name. Never changed in place: a write makes a new snapshot, so the one a thread holds
    stays as it was.
    """

    def __init__(self, categories: Iterable[Category], taken_at: float) -> None:
        self.categories = tuple(categories)
        self.taken_at = taken_at
        self._by_id = {category.id: category for category in self.categories}
        self._by_name = {category.name: category for category in self.categories}

    def by_id(self, category_id: str) -> Category | None:
        return self._by_id.get(category_id)

    def by_name(self, name: str) -> Category | None:
        return self._by_name.get(name)

    def with_category(self, category: Category, *, created: bool) -> CategorySnapshot | None:
        """This snapshot holding ``category`` as a POST (``created``) or PATCH answered it; None when the
        answer shows the snapshot was wrong: it lacks the category a PATCH changed, or holds the name under
        another id."""
        holder = self._by_name.get(category.name)
        if (not created and category.id not in self._by_id) or (holder is not None and holder.id != category.id):
            return None
        categories = dict(self._by_id)
        categories[category.id] = category  # an update keeps its place in the listing's order
        return CategorySnapshot(categories.values(), self.taken_at)

    def without(self, category_id: str) -> CategorySnapshot:
        """This snapshot without the category a DELETE removed (or found gone)."""
        return CategorySnapshot((c for c in self.categories if c.id != category_id), self.taken_at)

    def __len__(self) -> int:
        return len(self.categories)


#: What one write's answer does to a snapshot; None when the snapshot cannot be kept.
Change = Callable[[CategorySnapshot], CategorySnapshot | None]


@dataclass
class _Listing:
    """A listing in flight, and what the writes that ended meanwhile did, to apply to what it returns."""

    changes: list[Change] = field(default_factory=list)
    #: A write ended without an answer to apply (unknown outcome, refused): the listing is not kept.
    spoilt: bool = False

    def applied_to(self, snapshot: CategorySnapshot) -> CategorySnapshot | None:
        """``snapshot`` with every change applied, or None when one does not fit (or the listing is spoilt)."""
        result: CategorySnapshot | None = None if self.spoilt else snapshot
        for change in self.changes:
            result = change(result) if result is not None else None
        return result


class StackFlowClient:
    """Typed calls to the StackFlow API for one base URL (ending in ``/prod/api``) and one credential."""

    def __init__(
        self,
        base_url: str,
        credential: Credential,
        *,
        transport: httpx.BaseTransport | None = None,
        limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = ApiClient(API_NAME, base_url, credential, limits=limits, retry=retry, transport=transport)
        self._clock = clock
        self._snapshot: CategorySnapshot | None = None
        self._listing_lock = threading.Lock()  # one listing at a time, however many threads ask
        self._changes_lock = threading.Lock()  # guards ``_snapshot`` and ``_in_flight``
        self._in_flight: _Listing | None = None
        self._verified = False

    @property
    def base_url(self) -> str:
        return self.api.base_url

    def close(self) -> None:
        self.api.close()

    def verify_credentials(self) -> None:
        """Fail now, once per client, if the API rejects the credential (401/403); other failures are left to
        the operations that need the API. A failure to obtain a token raises the credential's own error."""
        if self._verified:
            return
        self._verified = True
        try:
            self._send("GET", "/categories", params={"page": 1, "limit": 1})
        except ApiError as error:
            if error.status in (401, 403):
                raise

    # --- categories: reads ---

    def list_categories(self) -> list[Category]:
        """Every category, 100 per call."""
        return list(self._paginate("/categories", {}, Category))

    def get_category(self, category_id: str) -> tuple[Category, str | None] | None:
        """The category and its ETag, or None when it does not exist."""
        response = self._send("GET", _category_path(category_id), expect=frozenset({404}))
        if response.status_code == 404:
            return None
        return Category.model_validate(response.json()), response.headers.get("etag")

    def find_category_by_name(self, name: str) -> Category | None:
        """The category named ``name``, read from the server now (not from the snapshot)."""
        # The ``name`` filter narrows the listing; matching here too keeps this right if a server ignores it.
        return next(
            (category for category in self._paginate("/categories", {"name": name}, Category) if category.name == name),
            None,
        )

    def category_snapshot(self, max_age: float = SNAPSHOT_MAX_AGE_SECONDS) -> CategorySnapshot:
        """All categories, listed at most once per ``max_age`` seconds however many threads ask."""
        with self._listing_lock:
            snapshot = self._kept_snapshot()
            if snapshot is not None and self._clock() - snapshot.taken_at <= max_age:
                return snapshot
            return self._list_snapshot()

    def category_named(self, name: str, max_age: float = SNAPSHOT_MAX_AGE_SECONDS) -> Category | None:
        """The category named ``name``, for a create deciding between adopting it and posting a new one.

        The snapshot answers however old it is, since this process's writes keep it right: a miss is safe (a
        POST of a name taken since answers 409, and the caller then looks it up afresh), and a hit older than
        ``max_age`` is read again by id. So creating N categories lists them once, however long that takes.
        """
        snapshot = self._kept_snapshot()
        if snapshot is None:
            snapshot = self.category_snapshot(max_age)
        found = snapshot.by_name(name)
        if found is None or self._clock() - snapshot.taken_at <= max_age:
            return found
        current = self.get_category(found.id)
        if current is None:
            self._forget_snapshot()  # deleted by someone else since: what else does the snapshot miss?
            return None
        return current[0]

    # --- categories: writes ---

    def create_category(self, fields: Mapping[str, Any]) -> tuple[Category, str | None]:
        """Create a category. Never retried once sent: on ``AmbiguousWriteError`` look it up by name first.

        Raises ``ConflictError`` when the name is taken.
        """
        return self._write_category("POST", "/categories", created=True, json=integral(dict(fields)))

    def update_category(
        self, category_id: str, changes: Mapping[str, Any], etag: str | None
    ) -> tuple[Category, str | None]:
        """``PATCH`` the given fields under ``If-Match``; ``PreconditionFailed`` if the ETag is stale.

        ``AmbiguousWriteError`` when the outcome is unknown (lost response, 500/502/504): re-read to settle it.
        """
        headers = {"If-Match": etag} if etag else {}
        path = _category_path(category_id)
        return self._write_category("PATCH", path, created=False, json=integral(dict(changes)), headers=headers)

    def delete_category(self, category_id: str, force: bool = False, etag: str | None = None) -> bool:
        """Delete a category; False when it was already gone. ``ConflictError`` while open incidents use it
        (unless ``force``)."""
        params = {"force": "true"} if force else None
        headers = {"If-Match": etag} if etag else {}
        with self._write():
            # Safe to repeat after a lost response: the repeat finds it gone (404).
            response = self._send(
                "DELETE",
                _category_path(category_id),
                params=params,
                headers=headers,
                idempotent=True,
                expect=frozenset({404}),
            )
            self._apply(lambda snapshot: snapshot.without(category_id))  # gone either way
        return response.status_code != 404

    # --- incidents ---

    def open_incidents(self, category_name: str) -> list[Incident]:
        """Incidents filed under the category that are neither resolved nor closed."""
        incidents = self._paginate("/incidents", {"category": category_name}, Incident)
        return [incident for incident in incidents if incident.category == category_name and incident.is_open]

    # --- plumbing ---

    def _send(
        self,
        method: str,
        path: str,
        *,
        expect: frozenset[int] = frozenset(),
        **options: Any,
    ) -> httpx.Response:
        """One call; statuses in ``expect`` come back, 404/409/412 otherwise raise their typed errors."""
        response = self.api.request(method, path, accept=expect | _TYPED_STATUSES, **options)
        status = response.status_code
        if status < 400 or status in expect:
            return response
        raise _as(_TYPED_ERRORS[status], self.api.error(method, path, response))

    def _paginate(self, path: str, params: Mapping[str, Any], model: type[Model]) -> Iterator[Model]:
        page = 1
        while True:
            body = self._send("GET", path, params={**params, "page": page, "limit": PAGE_LIMIT}).json()
            self._verified = True  # the API took the credential
            items = body.get("data", []) if isinstance(body, dict) else body
            yield from (model.model_validate(item) for item in items)
            if not items or not _has_more(body, page, len(items)):
                return
            page += 1

    def _write_category(self, method: str, path: str, *, created: bool, **options: Any) -> tuple[Category, str | None]:
        """A POST or PATCH of one category, never retried once sent (a gateway error is an unknown outcome);
        its answer goes into the snapshot."""
        with self._write():
            try:
                response = self._send(method, path, **options)
            except ApiError as error:
                if error.status in AMBIGUOUS_WRITE_STATUSES:
                    raise _as(AmbiguousWriteError, error) from error
                raise
            category = Category.model_validate(response.json())
            self._apply(lambda snapshot: snapshot.with_category(category, created=created))
        return category, response.headers.get("etag")

    @contextmanager
    def _write(self) -> Iterator[None]:
        """Drop the snapshot when a write fails or may have been applied; one that succeeded applies its answer."""
        try:
            yield
        except BaseException:
            self._forget_snapshot()
            raise

    def _kept_snapshot(self) -> CategorySnapshot | None:
        """The snapshot the writes keep right, whatever its age; None when there is none."""
        with self._changes_lock:
            return self._snapshot

    def _list_snapshot(self) -> CategorySnapshot:
        """List every category; keep the result, with the answers of the writes that ended meanwhile applied,
        unless one of those writes left nothing to apply. Called holding ``_listing_lock``."""
        listing = _Listing()
        with self._changes_lock:
            self._in_flight = listing
        try:
            listed = CategorySnapshot(self.list_categories(), self._clock())
        except BaseException:
            with self._changes_lock:
                self._in_flight = None
            raise
        with self._changes_lock:
            self._in_flight = None
            kept = listing.applied_to(listed)
            if kept is None:
                return listed
            self._snapshot = kept
            return kept

    def _apply(self, change: Change) -> None:
        """Apply a write's answer to the snapshot (dropping it when it does not fit) and to a listing in flight."""
        with self._changes_lock:
            if self._snapshot is not None:
                self._snapshot = change(self._snapshot)
            if self._in_flight is not None:
                self._in_flight.changes.append(change)

    def _forget_snapshot(self) -> None:
        """Drop the snapshot, and the listing in flight, for the next lookup to list again."""
        with self._changes_lock:
            self._snapshot = None
            if self._in_flight is not None:
                self._in_flight.spoilt = True


def _category_path(category_id: str) -> str:
    return f"/categories/{quote(category_id, safe='')}"


def _has_more(body: Any, page: int, count: int) -> bool:
    if not isinstance(body, dict):
        return False
    if "has_more" in body:
        return bool(body["has_more"])
    total = body.get("total")
    if isinstance(total, int):
        return page * int(body.get("limit") or PAGE_LIMIT) < total
    return count >= PAGE_LIMIT


ErrorType = TypeVar("ErrorType", bound=ApiError)


def _as(kind: type[ErrorType], error: ApiError) -> ErrorType:
    return kind(
        error.api,
        error.method,
        error.path,
        error.message,
        status=error.status,
        code=error.code,
        request_id=error.request_id,
    )


# --- one client per (base URL, credential) in the process ---

_clients: Registry[tuple[str, str], StackFlowClient] = process.registry("StackFlow clients", StackFlowClient.close)


def stackflow_client_for(base_url: str, credential: Credential, limits: RateLimits | None = None) -> StackFlowClient:
    """The process-wide client for this base URL and credential identity, shared by every resource."""
    key = (base_url.rstrip("/"), credential.fingerprint)
    return _clients.get(key, lambda: StackFlowClient(base_url, credential, limits=limits))


def use_client(client: StackFlowClient) -> None:
    """Make ``client`` the process-wide one for its base URL and credential (tests: a mock transport)."""
    _clients.put((client.base_url.rstrip("/"), client.api.credential.fingerprint), client)


def reset_stackflow_clients() -> None:
    """Close and forget every shared client (tests, or a provider reconfigured with new settings)."""
    _clients.clear()
