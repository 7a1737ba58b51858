"""Bearer tokens for StackFlow: a static token, Cognito user logins, or OAuth2 client credentials.

Every token source implements the HTTP layer's ``Credential`` protocol. Tokens live only in one process-wide
cache keyed by identity, never on the credential objects (which may be pickled) and never in messages or logs:

- a token is reused while it has more than five minutes left, or, for lifetimes under ten minutes, until 80% of
  its lifetime has passed (``exp`` and ``iat`` are read from the token itself, unverified);
- then Cognito logins refresh with ``REFRESH_TOKEN_AUTH``, falling back to a password login when the refresh
  token is rejected;
- threads asking for the same identity at once share one login;
- ``renew()`` (called by the HTTP layer on a 401) drops the token the calling thread sent, once per token.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from stackfox_provider import process
from stackfox_provider.errors import SettingsError, StackfoxError
from stackfox_provider.process import Registry

if TYPE_CHECKING:  # the stubs are a dev dependency; boto3 and httpx themselves are imported on first use
    import httpx
    from botocore.exceptions import ClientError
    from mypy_boto3_cognito_idp.client import CognitoIdentityProviderClient
    from mypy_boto3_cognito_idp.literals import AuthFlowTypeType

log = logging.getLogger("stackfox.cognito")

REFRESH_MARGIN_SECONDS = 300.0
SHORT_LIFETIME_SECONDS = 600.0
SHORT_LIFETIME_REFRESH_FRACTION = 0.8
UNKNOWN_LIFETIME_SECONDS = 300.0
# Even a token that looks due on arrival (local clock ahead of Cognito's) is reused this long, so a skewed clock
# cannot turn every API call into a login; a token that really expired gets a 401 and is renewed.
MIN_REUSE_SECONDS = 5.0

AuthFlow = Literal["user_password", "admin_user_password"]
AuthMode = Literal["static_token", "client_credentials", "user_password", "admin_user_password"]


class StackFlowAuthError(StackfoxError):
    """Obtaining a StackFlow token failed; the message says which setting to check. Never holds a secret."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class StackFlowSettingsError(SettingsError):
    """The StackFlow authentication settings are missing, incomplete or invalid."""


# --- how messages name settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingNames:
    """How messages name each setting and what they add when the settings are rejected.

    The client knows no config keys or environment variables: stackfox's settings module supplies where each
    setting is set (``"password"`` → ``"stackfox:stackflowPassword / STACKFLOW_PASSWORD"``). Unnamed settings
    are called by their field name.
    """

    names: Mapping[str, str] = field(default_factory=dict)
    on_rejection: str = ""

    def __call__(self, setting: str) -> str:
        return self.names.get(setting, setting)

    def rejected(self, message: str) -> str:
        """``message`` with the advice for settings the identity provider rejected."""
        return f"{message}. {self.on_rejection}" if self.on_rejection else message


# --- token helpers ---------------------------------------------------------------------------------------------


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded without verification; ``{}`` when the token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:  # binascii.Error, UnicodeDecodeError and JSONDecodeError are all ValueErrors
        return {}
    return claims if isinstance(claims, dict) else {}


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    """Cognito's ``SECRET_HASH``: Base64(HMAC-SHA256(key=client secret, message=username + client id))."""
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def region_of_pool(user_pool_id: str | None) -> str | None:
    """The region a user pool id starts with (``eu-west-1_AbC123`` → ``eu-west-1``)."""
    if user_pool_id and "_" in user_pool_id:
        return user_pool_id.split("_", 1)[0]
    return None


@dataclass(frozen=True)
class _Tokens:
    bearer: str
    refresh_token: str | None
    cognito_username: str | None
    refresh_at: float


def _claim_number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _tokens(bearer: str, now: float, expires_in: Any, refresh_token: str | None = None) -> _Tokens:
    """When to stop reusing ``bearer``: 5 minutes before ``exp``, or at 80% of a lifetime under 10 minutes."""
    claims = jwt_claims(bearer)
    lifetime_hint = float(expires_in) if isinstance(expires_in, int | float) else UNKNOWN_LIFETIME_SECONDS
    issued_at = _claim_number(claims, "iat") or now
    expires_at = _claim_number(claims, "exp") or issued_at + lifetime_hint
    lifetime = expires_at - issued_at
    if lifetime >= SHORT_LIFETIME_SECONDS:
        refresh_at = expires_at - REFRESH_MARGIN_SECONDS
    else:
        refresh_at = issued_at + SHORT_LIFETIME_REFRESH_FRACTION * lifetime
    username = claims.get("cognito:username")
    return _Tokens(
        bearer, refresh_token, username if isinstance(username, str) else None, max(refresh_at, now + MIN_REUSE_SECONDS)
    )


# --- the process-wide cache ------------------------------------------------------------------------------------

CacheKey = tuple[str, ...]
Obtain = Callable[[_Tokens | None], _Tokens]


class _TokenCache:
    """Tokens by identity, shared by every credential object and thread of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[CacheKey, _Tokens] = {}
        self._login_locks: dict[CacheKey, threading.Lock] = {}
        self._sent = threading.local()

    def bearer(self, key: CacheKey, obtain: Obtain, clock: Callable[[], float]) -> str:
        """A usable token for ``key``, obtaining one (once, whatever the number of waiting threads) if needed."""
        entry = self._fresh(key, clock())
        if entry is None:
            with self._login_lock(key):
                entry = self._fresh(key, clock())
                if entry is None:
                    with self._lock:
                        stale = self._entries.get(key)
                    entry = obtain(stale)
                    with self._lock:
                        self._entries[key] = entry
        self._sent_tokens()[key] = entry.bearer
        return entry.bearer

    def reject(self, key: CacheKey) -> bool:
        """The token this thread last sent was refused: stop serving it. True once per token sent."""
        sent = self._sent_tokens().pop(key, None)
        if sent is None:
            return False
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.bearer == sent:
                # Keep the refresh token: a refresh is cheaper than a login and falls back to one if refused.
                self._entries[key] = replace(entry, refresh_at=-math.inf)
        return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _fresh(self, key: CacheKey, now: float) -> _Tokens | None:
        with self._lock:
            entry = self._entries.get(key)
        return entry if entry is not None and now < entry.refresh_at else None

    def _login_lock(self, key: CacheKey) -> threading.Lock:
        with self._lock:
            return self._login_locks.setdefault(key, threading.Lock())

    def _sent_tokens(self) -> dict[CacheKey, str]:
        sent: dict[CacheKey, str] | None = getattr(self._sent, "tokens", None)
        if sent is None:
            sent = self._sent.tokens = {}
        return sent


_CACHE = _TokenCache()
process.on_reset(_CACHE.clear)

_boto_clients: Registry[tuple[str, str | None], CognitoIdentityProviderClient] = process.registry("cognito-idp clients")


def _cognito_client(region: str, endpoint_url: str | None) -> CognitoIdentityProviderClient:
    """A process-wide, signed ``cognito-idp`` client (for AdminInitiateAuth, which needs AWS credentials)."""

    def make() -> CognitoIdentityProviderClient:
        # Imported on first use: only the admin flow loads boto3 (~0.3 s to import and make a client).
        import boto3
        from botocore.config import Config

        # boto3 clients are thread-safe but sessions are not: each client has its own session, made under the lock.
        config = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "total_max_attempts": 2})
        session = boto3.session.Session()
        return session.client("cognito-idp", region_name=region, endpoint_url=endpoint_url, config=config)

    return _boto_clients.get((region, endpoint_url), make)


#: Cognito's public JSON API: ``InitiateAuth`` needs no AWS signature (browsers call it with the app client id).
COGNITO_TARGET_PREFIX = "AWSCognitoIdentityProviderService."
COGNITO_CONTENT_TYPE = "application/x-amz-json-1.1"
#: As botocore's standard retry mode with ``total_max_attempts=2``: one more try after a throttle or a 5xx.
COGNITO_ATTEMPTS = 2
COGNITO_RETRIED_ERRORS = frozenset({"TooManyRequestsException", "ThrottlingException", "InternalErrorException"})


def _aws_error(response: httpx.Response, body: Mapping[str, Any]) -> tuple[str, str]:
    """The error code and message of an AWS JSON-protocol error answer (``__type`` may carry a namespace)."""
    kind = str(body.get("__type") or response.headers.get("x-amzn-ErrorType", "").split(":", 1)[0])
    code = kind.rsplit("#", 1)[-1] or f"HTTP {response.status_code}"
    return code, str(body.get("message") or body.get("Message") or "")


# --- token sources ---------------------------------------------------------------------------------------------


def _fingerprint(identity: CacheKey) -> str:
    return hashlib.sha256("\x1f".join(identity).encode()).hexdigest()[:32]


def _repr(name: str, public: Mapping[str, object], secrets: Mapping[str, object]) -> str:
    shown = [f"{key}={value!r}" for key, value in public.items() if value is not None]
    shown += [f"{key}='***'" for key, value in secrets.items() if value is not None]
    return f"{name}({', '.join(shown)})"


class StaticToken:
    """A fixed bearer token (quick tests, or a token minted elsewhere); it cannot be renewed."""

    mode: AuthMode = "static_token"

    def __init__(self, token: str, *, names: SettingNames = SettingNames()) -> None:
        if not token.strip():
            raise StackFlowSettingsError(f"the StackFlow token is empty; check {names('token')}")
        self._token = token.strip()

    def authorization(self) -> str:
        return f"Bearer {self._token}"

    def renew(self) -> bool:
        return False

    @property
    def fingerprint(self) -> str:
        return _fingerprint(("static", hashlib.sha256(self._token.encode()).hexdigest()))

    def __repr__(self) -> str:
        return _repr(type(self).__name__, {}, {"token": self._token})


class _CachedCredential(abc.ABC):
    """A token source whose tokens live in the process-wide cache under ``identity``."""

    mode: AuthMode

    def __init__(self, identity: CacheKey, clock: Callable[[], float], names: SettingNames) -> None:
        self._identity = identity
        self._clock = clock
        self._names = names

    def authorization(self) -> str:
        return f"Bearer {_CACHE.bearer(self._identity, self._obtain, self._clock)}"

    def renew(self) -> bool:
        return _CACHE.reject(self._identity)

    @property
    def fingerprint(self) -> str:
        return _fingerprint(self._identity)

    @abc.abstractmethod
    def _obtain(self, stale: _Tokens | None) -> _Tokens:
        """A new token, refreshing ``stale`` (the last token, if any) when the flow can."""


def _boto_error_code(error: ClientError) -> tuple[str, str]:
    """The code and message of a ``botocore.exceptions.ClientError``."""
    details = error.response.get("Error", {})
    return str(details.get("Code", "")), str(details.get("Message", ""))


class CognitoUserPasswordAuth(_CachedCredential):
    """Cognito ``USER_PASSWORD_AUTH`` through Cognito's public JSON API, with httpx (no AWS credentials, no
    boto3); sends the ID token.

    ``InitiateAuth`` is unauthenticated, so it is one JSON ``POST`` to ``cognito-idp.<region>.amazonaws.com``
    (or ``endpoint_url``), as Cognito's browser SDK sends it. Proxies and CA bundles are httpx's, as for the
    StackFlow API itself (``HTTPS_PROXY``, ``SSL_CERT_FILE``).
    """

    mode: AuthMode = "user_password"
    password_flow: AuthFlowTypeType = "USER_PASSWORD_AUTH"

    def __init__(
        self,
        *,
        client_id: str,
        username: str,
        password: str,
        region: str | None = None,
        user_pool_id: str | None = None,
        client_secret: str | None = None,
        endpoint_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_seconds: float = 20.0,
        clock: Callable[[], float] = time.time,
        names: SettingNames = SettingNames(),
    ) -> None:
        resolved_region = region or region_of_pool(user_pool_id)
        if not resolved_region:
            raise StackFlowSettingsError(
                f"the Cognito region is unknown; set {names('region')} or {names('user_pool_id')}"
            )
        self.region = resolved_region
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.username = username
        self.endpoint_url = endpoint_url
        self._password = password
        self._client_secret = client_secret
        self._transport = transport
        self._timeout = timeout_seconds
        identity = ("cognito", endpoint_url or "", resolved_region, user_pool_id or "", client_id, username)
        super().__init__(identity, clock, names)

    def __repr__(self) -> str:
        public = {
            "region": self.region,
            "user_pool_id": self.user_pool_id,
            "client_id": self.client_id,
            "username": self.username,
            "endpoint_url": self.endpoint_url,
        }
        return _repr(type(self).__name__, public, {"password": self._password, "client_secret": self._client_secret})

    def _obtain(self, stale: _Tokens | None) -> _Tokens:
        if stale is not None and stale.refresh_token:
            try:
                return self._refresh(stale)
            except StackFlowAuthError as error:
                if error.code != "NotAuthorizedException":
                    raise
                log.info("Cognito refused the refresh token of StackFlow user %s; logging in again", self.username)
        return self._login()

    def _login(self) -> _Tokens:
        parameters = {"USERNAME": self.username, "PASSWORD": self._password, **self._secret_hash(self.username)}
        return self._authenticate(self.password_flow, parameters, refresh_token=None)

    def _refresh(self, stale: _Tokens) -> _Tokens:
        assert stale.refresh_token is not None
        # The hash must use the canonical username (a UUID in email-login pools), not the sign-in alias.
        parameters = {
            "REFRESH_TOKEN": stale.refresh_token,
            **self._secret_hash(stale.cognito_username or self.username),
        }
        return self._authenticate("REFRESH_TOKEN_AUTH", parameters, refresh_token=stale.refresh_token)

    def _secret_hash(self, username: str) -> dict[str, str]:
        return (
            {"SECRET_HASH": secret_hash(username, self.client_id, self._client_secret)} if self._client_secret else {}
        )

    def _authenticate(self, flow: AuthFlowTypeType, parameters: dict[str, str], refresh_token: str | None) -> _Tokens:
        response = self._initiate(flow, parameters)
        if response.get("ChallengeName"):
            raise StackFlowAuthError(self._challenge_message(str(response["ChallengeName"])), code="Challenge")
        result = response.get("AuthenticationResult") or {}
        if not result.get("IdToken"):
            raise StackFlowAuthError(f"Cognito returned no ID token for the StackFlow user {self.username} ({flow})")
        log.info("obtained a StackFlow ID token for %s with %s", self.username, flow)
        return _tokens(
            result["IdToken"], self._clock(), result.get("ExpiresIn"), result.get("RefreshToken") or refresh_token
        )

    def _initiate(self, flow: AuthFlowTypeType, parameters: dict[str, str]) -> Mapping[str, Any]:
        """``InitiateAuth``: Cognito's answer, or a StackFlowAuthError saying what to fix."""
        body = {"ClientId": self.client_id, "AuthFlow": flow, "AuthParameters": parameters}
        return self._call_cognito_json("InitiateAuth", body)

    def _call_cognito_json(self, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
        import httpx  # settings.py imports this module: a process that never logs in never loads httpx

        url = (self.endpoint_url or f"https://cognito-idp.{self.region}.amazonaws.com").rstrip("/") + "/"
        headers = {"X-Amz-Target": COGNITO_TARGET_PREFIX + operation, "Content-Type": COGNITO_CONTENT_TYPE}
        with _token_http_client(self._transport, httpx.Timeout(self._timeout, connect=5.0)) as client:
            for attempt in range(1, COGNITO_ATTEMPTS + 1):
                try:
                    response = _post(client, url, content=json.dumps(body).encode(), headers=headers)
                except httpx.TransportError as error:  # incl. timeouts
                    raise StackFlowAuthError(self._unreachable_message(error), code="Unreachable") from error
                answer = _json_object(response)
                if response.status_code < 400:
                    return answer
                code, message = _aws_error(response, answer)
                transient = response.status_code >= 500 or response.status_code == 429
                if attempt < COGNITO_ATTEMPTS and (transient or code in COGNITO_RETRIED_ERRORS):
                    log.info("Cognito answered %s to %s; trying once more", code, operation)
                    time.sleep(_backoff(attempt))
                    continue
                raise StackFlowAuthError(self._names.rejected(self._rejection_message(code, message)), code=code)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def prepare(self) -> None:
        """Load httpx and the TLS context ahead of the first login; no call is made."""
        from stackfox_provider.clients.http import default_ssl_context

        default_ssl_context()

    def _rejection_message(self, code: str, message: str) -> str:
        user = f"Cognito rejected the StackFlow user {self.username}"
        if code == "NotAuthorizedException":
            lowered = message.lower()
            if "disabled" in lowered:
                return f"{user}: User is disabled. Enable the user, or set another user in {self._names('username')}"
            if "secret hash" in lowered:
                return f"{user}: {message}. Check {self._names('client_secret')}"
            # Cognito says "Incorrect username or password." or "Password attempts exceeded"; moto's admin flow
            # says just the username.
            reason = message if "password" in lowered else "Incorrect username or password."
            return f"{user}: {reason} Check {self._names('password')}"
        if code == "UserNotFoundException":
            return f"{user}: the user does not exist. Check {self._names('username')}"
        if code == "UserNotConfirmedException":
            return f"{user}: the user is not confirmed. Confirm it, or set another user in {self._names('username')}"
        if code == "PasswordResetRequiredException":
            return f"{user}: the password must be reset. Set a new password and update {self._names('password')}"
        if code == "ResourceNotFoundException":
            return (
                f"Cognito does not know the app client {self.client_id} or user pool {self.user_pool_id or '(none)'} "
                f"in {self.region} ({message}). Check {self._names('client_id')}, {self._names('user_pool_id')}, "
                f"{self._names('region')} and {self._names('cognito_endpoint')}"
            )
        if code == "InvalidParameterException":
            return (
                f"{user}: {message}. The app client {self.client_id} must allow ALLOW_{self.password_flow} and "
                f"ALLOW_REFRESH_TOKEN_AUTH; or choose another flow with {self._names('auth_flow')}"
            )
        return f"Cognito login of the StackFlow user {self.username} failed ({code}): {message}"

    def _challenge_message(self, challenge: str) -> str:
        fix = (
            "set a permanent password (aws cognito-idp admin-set-user-password --permanent) and update "
            + self._names("password")
            if challenge == "NEW_PASSWORD_REQUIRED"
            else "use a user without that challenge (no MFA) for stackfox"
        )
        return (
            f"Cognito answered the login of the StackFlow user {self.username} with the challenge {challenge}, "
            f"which stackfox cannot answer non-interactively: {fix}"
        )

    def _unreachable_message(self, error: Exception) -> str:
        where = self.endpoint_url or f"the Cognito endpoint of {self.region}"
        return (
            f"Cannot reach Cognito at {where} ({type(error).__name__}). "
            f"Check {self._names('cognito_endpoint')} and {self._names('region')}"
        )


class CognitoAdminUserPasswordAuth(CognitoUserPasswordAuth):
    """Cognito ``ADMIN_USER_PASSWORD_AUTH`` for a service user; signs with AWS credentials from boto3's chain."""

    mode: AuthMode = "admin_user_password"
    password_flow: AuthFlowTypeType = "ADMIN_USER_PASSWORD_AUTH"

    def __init__(self, *, user_pool_id: str, **options: Any) -> None:
        """As :class:`CognitoUserPasswordAuth`, with the user pool required (AdminInitiateAuth names it)."""
        super().__init__(user_pool_id=user_pool_id, **options)

    def _initiate(self, flow: AuthFlowTypeType, parameters: dict[str, str]) -> Mapping[str, Any]:
        """``AdminInitiateAuth``, signed by boto3 with AWS credentials from its usual chain."""
        import botocore.exceptions  # loaded with the client (see _cognito_client)

        assert self.user_pool_id is not None  # required by __init__
        try:
            return _cognito_client(self.region, self.endpoint_url).admin_initiate_auth(
                UserPoolId=self.user_pool_id, ClientId=self.client_id, AuthFlow=flow, AuthParameters=parameters
            )
        except botocore.exceptions.ClientError as error:
            code, message = _boto_error_code(error)
            raise StackFlowAuthError(self._names.rejected(self._rejection_message(code, message)), code=code) from error
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as error:  # incl. timeouts
            raise StackFlowAuthError(self._unreachable_message(error), code="Unreachable") from error
        except botocore.exceptions.NoCredentialsError as error:
            raise StackFlowAuthError(self._no_credentials_message(), code="NoCredentials") from error

    def prepare(self) -> None:
        """Load boto3 ahead of the first login; the signed client is made then, as it looks up AWS credentials."""
        import boto3  # noqa: F401

    def _rejection_message(self, code: str, message: str) -> str:
        if code in ("AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException"):
            return (
                f"AWS refused AdminInitiateAuth for the StackFlow user {self.username} ({code}: {message}). "
                "The AWS credentials need cognito-idp:AdminInitiateAuth on the pool; "
                f"or set {self._names('auth_flow')} to user_password"
            )
        return super()._rejection_message(code, message)

    def _no_credentials_message(self) -> str:
        return (
            "ADMIN_USER_PASSWORD_AUTH needs AWS credentials with cognito-idp:AdminInitiateAuth from boto3's usual "
            f"chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...), and none were found; or set {self._names('auth_flow')} "
            "to user_password"
        )


class ClientCredentialsAuth(_CachedCredential):
    """OAuth2 ``client_credentials`` against a token endpoint (HTTP Basic client auth); sends the access token."""

    mode: AuthMode = "client_credentials"

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_seconds: float = 20.0,
        clock: Callable[[], float] = time.time,
        names: SettingNames = SettingNames(),
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.scope = scope
        self._client_secret = client_secret
        self._transport = transport
        self._timeout = timeout_seconds
        super().__init__(("oauth2", token_url, client_id, scope or ""), clock, names)

    def __repr__(self) -> str:
        public = {"token_url": self.token_url, "client_id": self.client_id, "scope": self.scope}
        return _repr(type(self).__name__, public, {"client_secret": self._client_secret})

    def _obtain(self, stale: _Tokens | None) -> _Tokens:
        import httpx  # settings.py imports this module: a process that never asks for a token never loads httpx

        form = {"grant_type": "client_credentials", **({"scope": self.scope} if self.scope else {})}
        try:
            with _token_http_client(self._transport, httpx.Timeout(self._timeout)) as client:
                response = _post(client, self.token_url, data=form, auth=(self.client_id, self._client_secret))
        except httpx.HTTPError as error:
            raise StackFlowAuthError(
                f"Cannot reach the token endpoint {self.token_url} ({type(error).__name__}). "
                f"Check {self._names('token_url')}",
                code="Unreachable",
            ) from error
        body = _json_object(response)
        if response.status_code >= 400 or not isinstance(body.get("access_token"), str):
            rejection = self._names.rejected(self._rejection_message(response.status_code, body))
            raise StackFlowAuthError(rejection, code=body.get("error"))
        log.info("obtained a StackFlow access token for client %s", self.client_id)
        return _tokens(body["access_token"], self._clock(), body.get("expires_in"))

    def _rejection_message(self, status: int, body: Mapping[str, Any]) -> str:
        error = str(body.get("error") or f"HTTP {status}")
        description = f": {body['error_description']}" if body.get("error_description") else ""
        fixes = {
            "invalid_client": f"Check {self._names('client_id')} and {self._names('client_secret')}",
            "invalid_scope": f"Check {self._names('scope')}",
            "unauthorized_client": f"The app client {self.client_id} must allow the client_credentials OAuth flow",
            "unsupported_grant_type": f"The app client {self.client_id} must allow the client_credentials OAuth flow",
        }
        fix = fixes.get(error, f"Check {self._names('token_url')}")
        if status < 400:
            return f"The token endpoint {self.token_url} answered without an access token. {fix}"
        rejected = f"The token endpoint {self.token_url} rejected the StackFlow client {self.client_id}"
        return f"{rejected} ({error}{description}). {fix}"


#: Tries of a token request whose connection failed before anything was sent (safe to repeat).
CONNECT_ATTEMPTS = 3


def _token_http_client(transport: httpx.BaseTransport | None, timeout: httpx.Timeout) -> httpx.Client:
    """An httpx client for token requests. Outside tests it has no transport of its own, so that httpx honours
    HTTPS_PROXY / NO_PROXY (a client given a transport ignores them), with the API clients' CA bundle."""
    import httpx

    from stackfox_provider.clients.http import default_ssl_context

    return httpx.Client(transport=transport, timeout=timeout, verify=default_ssl_context())


def _backoff(attempt: int) -> float:
    """The wait before trying a token request again: the API clients' jittered backoff."""
    from stackfox_provider.clients.http import RetryPolicy

    return RetryPolicy().backoff(attempt)


def _post(client: httpx.Client, url: str, **request: Any) -> httpx.Response:
    """POST ``url``, again after a connection that failed before anything was sent."""
    import httpx

    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            return client.post(url, **request)
        except httpx.ConnectError:
            if attempt == CONNECT_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
