"""The HTTP policy every stackfox API client shares: timeouts, retries, rate limits and errors.

- Reads (and writes the caller declares idempotent) are retried with jittered exponential backoff
  on connection errors, timeouts, 500, 502, 503 and 504.
- Other writes are retried only when the server cannot have applied them: the connection was
  refused, or the answer was 429 or 503. A write whose response is lost (timeout, dropped
  connection) raises ``AmbiguousWriteError``: the caller must re-read before trying again, so a
  retry never creates a duplicate.
- 429 waits as ``Retry-After`` (seconds or an HTTP date) or ``X-RateLimit-Reset`` (epoch seconds)
  say, and holds back every other request on the same credential meanwhile.
- A client-side budget per credential keeps under the API's documented reads and writes a minute; a
  request takes its slot once its credential is ready, so a login never spends or wastes one.
- A 401 asks the credential to renew itself once (expired Cognito tokens) before it is reported.
- Every error names the call, the status, the API's message and its request id.
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from stackfox_provider.clients.ratelimit import Kind, RateBudget, RateLimits, budget_for
from stackfox_provider.errors import StackfoxError

log = logging.getLogger("stackfox.http")

RETRYABLE_READ_STATUSES = frozenset({500, 502, 503, 504})
SAFE_WRITE_RETRY_STATUSES = frozenset({503})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiError(StackfoxError):
    """An API call failed; carries what a person needs to act on it or report it."""

    def __init__(
        self,
        api: str,
        method: str,
        path: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.api = api
        self.method = method
        self.path = path
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f" with HTTP {self.status}" if self.status is not None else ""
        code = f" ({self.code})" if self.code else ""
        request = f" [request id {self.request_id}]" if self.request_id else ""
        return f"{self.api} {self.method} {self.path} failed{status}{code}: {self.message}{request}"


class AmbiguousWriteError(ApiError):
    """A write was sent but its outcome is unknown (lost response): re-read before deciding what to do."""


@dataclass(frozen=True)
class ErrorDetails:
    code: str | None
    message: str
    request_id: str | None


class Credential(Protocol):
    """Supplies the ``Authorization`` header value and can be told it was rejected."""

    def authorization(self) -> str: ...

    def renew(self) -> bool:
        """Forget the current token; True when a new one may succeed (worth one retry)."""
        ...

    @property
    def fingerprint(self) -> str:
        """A stable identity for rate budgets and caches; must not be the secret itself."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try; the defaults suit `pulumi up` against a rate-limited SaaS API."""

    attempts: int = 5
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 20.0
    max_rate_limit_wait_seconds: float = 120.0
    timeout_seconds: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter" (a random wait between half the ceiling and the ceiling)."""
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


ErrorParser = Callable[[httpx.Response], ErrorDetails]


def default_error_details(response: httpx.Response) -> ErrorDetails:
    """Understands ``{"error": {"code", "message", "request_id"}}``, ``{"detail": ...}`` and plain text."""
    request_id = response.headers.get("x-request-id")
    try:
        body: Any = response.json()
    except ValueError:
        return ErrorDetails(None, response.text.strip()[:500] or response.reason_phrase, request_id)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        message = str(error.get("message") or error.get("code") or response.reason_phrase)
        if error.get("field"):
            message = f"{error['field']}: {message}"
        return ErrorDetails(error.get("code"), message, error.get("request_id") or request_id)
    if isinstance(body, dict) and "detail" in body:
        return ErrorDetails(None, _detail_text(body["detail"]), request_id)
    if isinstance(body, dict) and body.get("message"):
        return ErrorDetails(body.get("error"), str(body["message"]), request_id)
    return ErrorDetails(None, str(body)[:500], request_id)


def _detail_text(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # pydantic 422: [{"loc": [...], "msg": ...}]
        return "; ".join(_validation_item(item) for item in detail)
    if isinstance(detail, dict):
        text = str(detail.get("message") or detail.get("error") or detail)
        errors = detail.get("errors")
        return f"{text}: {'; '.join(map(str, errors))}" if errors else text
    return str(detail)


def _validation_item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    return f"{'.'.join(str(part) for part in item.get('loc', []))}: {item.get('msg')}"


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default TLS context, shared by the process's clients: loading the CA bundle costs ~30 ms."""
    return httpx.create_ssl_context()


class ApiClient:
    """An httpx client with stackfox's HTTP policy, for one API and one credential."""

    def __init__(
        self,
        api: str,
        base_url: str,
        credential: Credential,
        *,
        limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        error_details: ErrorParser = default_error_details,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        unauthorized_hint: str | None = None,
    ) -> None:
        self.api = api
        self.unauthorized_hint = unauthorized_hint
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.retry = retry or RetryPolicy()
        self.budget: RateBudget = budget_for(f"{api} {self.base_url}", credential.fingerprint, limits or RateLimits())
        self._error_details = error_details
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=self.retry.timeout_seconds,
            transport=transport,
            verify=default_ssl_context(),
            headers={"Accept": "application/json", "User-Agent": "stackfox"},
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send one call under the policy. Statuses in ``accept`` come back instead of raising."""
        method = method.upper()
        kind: Kind = "read" if method in READ_METHODS else "write"
        idempotent = kind == "read" if idempotent is None else idempotent
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            # The credential first: a login or token refresh may take a while, or fail, and neither must
            # spend (or, by the time the request leaves, waste) a slot of the API's budget.
            authorization = self.credential.authorization()
            self.budget.acquire(kind)
            try:
                response = self._http.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    headers={**(headers or {}), "Authorization": authorization},
                )
            except httpx.ConnectError as error:  # never reached the server: always safe to retry
                self._give_up_or_wait(attempt, method, path, f"cannot connect: {error}")
                continue
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as error:
                if not idempotent:
                    raise AmbiguousWriteError(
                        self.api,
                        method,
                        path,
                        f"the response was lost ({type(error).__name__}); the write may or may not have been applied",
                    ) from error
                self._give_up_or_wait(attempt, method, path, f"{type(error).__name__}: {error}")
                continue
            self._note_rate_headers(response)
            status = response.status_code
            if status < 400 or status in accept:
                return response
            if status == 401 and not renewed and self.credential.renew():
                renewed = True
                continue
            if status == 429:
                self._wait_for_rate_limit(attempt, method, path, response)
                continue
            retryable = RETRYABLE_READ_STATUSES if idempotent else SAFE_WRITE_RETRY_STATUSES
            if status in retryable and attempt < self.retry.attempts:
                self._sleep(self.retry.backoff(attempt))
                continue
            raise self.error(method, path, response)

    def error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        details = self._error_details(response)
        message = details.message
        if response.status_code == 401 and self.unauthorized_hint:
            message = f"{message}; {self.unauthorized_hint}"
        return ApiError(
            self.api,
            method,
            path,
            message,
            status=response.status_code,
            code=details.code,
            request_id=details.request_id,
        )

    def _give_up_or_wait(self, attempt: int, method: str, path: str, reason: str) -> None:
        if attempt >= self.retry.attempts:
            raise ApiError(self.api, method, path, f"{reason} (gave up after {attempt} attempts)")
        delay = self.retry.backoff(attempt)
        log.info("%s %s %s: %s; retrying in %.1fs", self.api, method, path, reason, delay)
        self._sleep(delay)

    def _wait_for_rate_limit(self, attempt: int, method: str, path: str, response: httpx.Response) -> None:
        wait = rate_limit_wait(response.headers) or self.retry.backoff(attempt)
        if wait > self.retry.max_rate_limit_wait_seconds or attempt >= self.retry.attempts + 5:
            raise self.error(method, path, response)
        log.info("%s %s %s: rate limited; waiting %.1fs", self.api, method, path, wait)
        self.budget.pause_for(wait)

    def _note_rate_headers(self, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.strip() == "0":
            self.budget.pause_for(rate_limit_wait(response.headers) or 0.0)


def rate_limit_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset`` (epoch seconds)."""
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(retry_after).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                pass
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return max(float(reset) - time.time(), 0.0)
        except ValueError:
            return None
    return None
