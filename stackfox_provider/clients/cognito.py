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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from stackfox_provider import process
from stackfox_provider.clients.http import Credential
from stackfox_provider.errors import StackfoxError
from stackfox_provider.process import Registry

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


class StackFlowSettingsError(StackfoxError, ValueError):
    """The StackFlow authentication settings are missing, incomplete or invalid."""


# --- settings sources ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingSource:
    """Where one setting comes from: a stack config key, then environment variables in order."""

    field: str
    config_key: str
    env_vars: tuple[str, ...]

    @property
    def hint(self) -> str:
        return f"{self.config_key} / {' or '.join(self.env_vars)}"


SETTING_SOURCES: tuple[SettingSource, ...] = (
    SettingSource("url", "stackfox:stackflowUrl", ("STACKFLOW_URL",)),
    SettingSource("token", "stackfox:stackflowToken", ("STACKFLOW_TOKEN",)),
    SettingSource("username", "stackfox:stackflowUsername", ("STACKFLOW_USERNAME",)),
    SettingSource("password", "stackfox:stackflowPassword", ("STACKFLOW_PASSWORD",)),
    SettingSource("client_id", "stackfox:stackflowClientId", ("STACKFLOW_CLIENT_ID",)),
    SettingSource("client_secret", "stackfox:stackflowClientSecret", ("STACKFLOW_CLIENT_SECRET",)),
    SettingSource("user_pool_id", "stackfox:stackflowUserPoolId", ("STACKFLOW_USER_POOL_ID",)),
    SettingSource("region", "stackfox:stackflowRegion", ("STACKFLOW_REGION", "AWS_REGION")),
    SettingSource("token_url", "stackfox:stackflowTokenUrl", ("STACKFLOW_TOKEN_URL",)),
    SettingSource("scope", "stackfox:stackflowScope", ("STACKFLOW_SCOPE",)),
    SettingSource("auth_flow", "stackfox:stackflowAuthFlow", ("STACKFLOW_AUTH_FLOW",)),
    SettingSource("cognito_endpoint", "stackfox:cognitoEndpoint", ("COGNITO_ENDPOINT",)),
)
_SOURCES = {source.field: source for source in SETTING_SOURCES}


#: Added to every rejection of the settings: where `refresh`/`destroy` take them from.
RECORDED_SETTINGS_HINT = (
    "`pulumi refresh`/`destroy` use the settings recorded at the last `pulumi up`: once the config holds the "
    "right ones, run `pulumi up`, or pass --run-program to refresh/destroy"
)


def setting_hint(field: str) -> str:
    """``"stackfox:stackflowPassword / STACKFLOW_PASSWORD"`` for ``"password"``: what to name in messages."""
    return _SOURCES[field].hint


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

_boto_clients: Registry[tuple[str, str | None, bool], Any] = process.registry("cognito-idp clients")


def _cognito_client(region: str, endpoint_url: str | None, *, signed: bool) -> Any:
    """A process-wide ``cognito-idp`` client; unsigned ones need no AWS credentials (InitiateAuth is public)."""

    def make() -> Any:
        # Imported on first use: a program that uses only IncidentFox never loads boto3 (0.15 s to import).
        import boto3  # type: ignore[import-untyped]  # no type stubs installed
        import botocore  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]

        # boto3 clients are thread-safe but sessions are not: each client has its own session, made under the lock.
        config = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "total_max_attempts": 2})
        if not signed:
            config = config.merge(Config(signature_version=botocore.UNSIGNED))
        session = boto3.session.Session()
        return session.client("cognito-idp", region_name=region, endpoint_url=endpoint_url, config=config)

    return _boto_clients.get((region, endpoint_url, signed), make)


def clear_token_cache() -> None:
    """Forget every cached token of the process (tests; or after credentials were rotated)."""
    _CACHE.clear()


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

    def __init__(self, token: str) -> None:
        if not token.strip():
            raise StackFlowSettingsError(f"the StackFlow token is empty; check {setting_hint('token')}")
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

    def __init__(self, identity: CacheKey, clock: Callable[[], float]) -> None:
        self._identity = identity
        self._clock = clock

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


def _boto_error_code(error: Any) -> tuple[str, str]:
    """The code and message of a ``botocore.exceptions.ClientError``."""
    details = error.response.get("Error", {})
    return str(details.get("Code", "")), str(details.get("Message", ""))


class CognitoUserPasswordAuth(_CachedCredential):
    """Cognito ``USER_PASSWORD_AUTH`` with an unsigned client (no AWS credentials); sends the ID token."""

    mode: AuthMode = "user_password"
    password_flow = "USER_PASSWORD_AUTH"

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
        clock: Callable[[], float] = time.time,
    ) -> None:
        resolved_region = region or region_of_pool(user_pool_id)
        if not resolved_region:
            raise StackFlowSettingsError(
                f"the Cognito region is unknown; set {setting_hint('region')} or {setting_hint('user_pool_id')}"
            )
        self.region = resolved_region
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.username = username
        self.endpoint_url = endpoint_url
        self._password = password
        self._client_secret = client_secret
        identity = ("cognito", endpoint_url or "", resolved_region, user_pool_id or "", client_id, username)
        super().__init__(identity, clock)

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

    def _authenticate(self, flow: str, parameters: dict[str, str], refresh_token: str | None) -> _Tokens:
        response = self._call_cognito(flow, parameters)
        if response.get("ChallengeName"):
            raise StackFlowAuthError(self._challenge_message(str(response["ChallengeName"])), code="Challenge")
        result = response.get("AuthenticationResult") or {}
        if not result.get("IdToken"):
            raise StackFlowAuthError(f"Cognito returned no ID token for the StackFlow user {self.username} ({flow})")
        log.info("obtained a StackFlow ID token for %s with %s", self.username, flow)
        return _tokens(
            result["IdToken"], self._clock(), result.get("ExpiresIn"), result.get("RefreshToken") or refresh_token
        )

    def _call_cognito(self, flow: str, parameters: dict[str, str]) -> dict[str, Any]:
        import botocore.exceptions  # type: ignore[import-untyped]  # loaded with the client (see _cognito_client)

        try:
            return self._initiate(self._boto_client(), flow, parameters)
        except botocore.exceptions.ClientError as error:
            code, message = _boto_error_code(error)
            rejection = f"{self._rejection_message(code, message)}. {RECORDED_SETTINGS_HINT}"
            raise StackFlowAuthError(rejection, code=code) from error
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as error:  # incl. timeouts
            raise StackFlowAuthError(self._unreachable_message(error), code="Unreachable") from error
        except botocore.exceptions.NoCredentialsError as error:
            raise StackFlowAuthError(self._no_credentials_message(), code="NoCredentials") from error

    def _initiate(self, client: Any, flow: str, parameters: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = client.initiate_auth(ClientId=self.client_id, AuthFlow=flow, AuthParameters=parameters)
        return result

    def _boto_client(self) -> Any:
        return _cognito_client(self.region, self.endpoint_url, signed=False)

    def _rejection_message(self, code: str, message: str) -> str:
        user = f"Cognito rejected the StackFlow user {self.username}"
        if code == "NotAuthorizedException":
            lowered = message.lower()
            if "disabled" in lowered:
                return f"{user}: User is disabled. Enable the user, or set another user in {setting_hint('username')}"
            if "secret hash" in lowered:
                return f"{user}: {message}. Check {setting_hint('client_secret')}"
            # Cognito says "Incorrect username or password." or "Password attempts exceeded"; moto's admin flow
            # says just the username.
            reason = message if "password" in lowered else "Incorrect username or password."
            return f"{user}: {reason} Check {setting_hint('password')}"
        if code == "UserNotFoundException":
            return f"{user}: the user does not exist. Check {setting_hint('username')}"
        if code == "UserNotConfirmedException":
            return f"{user}: the user is not confirmed. Confirm it, or set another user in {setting_hint('username')}"
        if code == "PasswordResetRequiredException":
            return f"{user}: the password must be reset. Set a new password and update {setting_hint('password')}"
        if code == "ResourceNotFoundException":
            return (
                f"Cognito does not know the app client {self.client_id} or user pool {self.user_pool_id or '(none)'} "
                f"in {self.region} ({message}). Check {setting_hint('client_id')}, {setting_hint('user_pool_id')}, "
                f"{setting_hint('region')} and {setting_hint('cognito_endpoint')}"
            )
        if code == "InvalidParameterException":
            return (
                f"{user}: {message}. The app client {self.client_id} must allow ALLOW_{self.password_flow} and "
                f"ALLOW_REFRESH_TOKEN_AUTH; or choose another flow with {setting_hint('auth_flow')}"
            )
        return f"Cognito login of the StackFlow user {self.username} failed ({code}): {message}"

    def _challenge_message(self, challenge: str) -> str:
        fix = (
            "set a permanent password (aws cognito-idp admin-set-user-password --permanent) and update "
            + setting_hint("password")
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
            f"Check {setting_hint('cognito_endpoint')} and {setting_hint('region')}"
        )

    def _no_credentials_message(self) -> str:
        return "no AWS credentials found for the Cognito login"


class CognitoAdminUserPasswordAuth(CognitoUserPasswordAuth):
    """Cognito ``ADMIN_USER_PASSWORD_AUTH`` for a service user; signs with AWS credentials from boto3's chain."""

    mode: AuthMode = "admin_user_password"
    password_flow = "ADMIN_USER_PASSWORD_AUTH"

    def __init__(
        self,
        *,
        client_id: str,
        username: str,
        password: str,
        user_pool_id: str,
        region: str | None = None,
        client_secret: str | None = None,
        endpoint_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            client_id=client_id,
            username=username,
            password=password,
            region=region,
            user_pool_id=user_pool_id,
            client_secret=client_secret,
            endpoint_url=endpoint_url,
            clock=clock,
        )

    def _initiate(self, client: Any, flow: str, parameters: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = client.admin_initiate_auth(
            UserPoolId=self.user_pool_id, ClientId=self.client_id, AuthFlow=flow, AuthParameters=parameters
        )
        return result

    def _boto_client(self) -> Any:
        return _cognito_client(self.region, self.endpoint_url, signed=True)

    def _rejection_message(self, code: str, message: str) -> str:
        if code in ("AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException"):
            return (
                f"AWS refused AdminInitiateAuth for the StackFlow user {self.username} ({code}: {message}). "
                "The AWS credentials need cognito-idp:AdminInitiateAuth on the pool; "
                f"or set {setting_hint('auth_flow')} to user_password"
            )
        return super()._rejection_message(code, message)

    def _no_credentials_message(self) -> str:
        return (
            "ADMIN_USER_PASSWORD_AUTH needs AWS credentials with cognito-idp:AdminInitiateAuth from boto3's usual "
            f"chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...), and none were found; or set {setting_hint('auth_flow')} "
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
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.scope = scope
        self._client_secret = client_secret
        self._transport = transport
        self._timeout = timeout_seconds
        super().__init__(("oauth2", token_url, client_id, scope or ""), clock)

    def __repr__(self) -> str:
        public = {"token_url": self.token_url, "client_id": self.client_id, "scope": self.scope}
        return _repr(type(self).__name__, public, {"client_secret": self._client_secret})

    def _obtain(self, stale: _Tokens | None) -> _Tokens:
        form = {"grant_type": "client_credentials", **({"scope": self.scope} if self.scope else {})}
        # httpx retries connection failures (never-sent requests) at the transport level.
        transport = self._transport or httpx.HTTPTransport(retries=2)
        try:
            with httpx.Client(transport=transport, timeout=self._timeout) as client:
                response = client.post(self.token_url, data=form, auth=(self.client_id, self._client_secret))
        except httpx.HTTPError as error:
            raise StackFlowAuthError(
                f"Cannot reach the token endpoint {self.token_url} ({type(error).__name__}). "
                f"Check {setting_hint('token_url')}",
                code="Unreachable",
            ) from error
        body = _json_object(response)
        if response.status_code >= 400 or not isinstance(body.get("access_token"), str):
            rejection = f"{self._rejection_message(response.status_code, body)}. {RECORDED_SETTINGS_HINT}"
            raise StackFlowAuthError(rejection, code=body.get("error"))
        log.info("obtained a StackFlow access token for client %s", self.client_id)
        return _tokens(body["access_token"], self._clock(), body.get("expires_in"))

    def _rejection_message(self, status: int, body: Mapping[str, Any]) -> str:
        error = str(body.get("error") or f"HTTP {status}")
        description = f": {body['error_description']}" if body.get("error_description") else ""
        fixes = {
            "invalid_client": f"Check {setting_hint('client_id')} and {setting_hint('client_secret')}",
            "invalid_scope": f"Check {setting_hint('scope')}",
            "unauthorized_client": f"The app client {self.client_id} must allow the client_credentials OAuth flow",
            "unsupported_grant_type": f"The app client {self.client_id} must allow the client_credentials OAuth flow",
        }
        fix = fixes.get(error, f"Check {setting_hint('token_url')}")
        if status < 400:
            return f"The token endpoint {self.token_url} answered without an access token. {fix}"
        rejected = f"The token endpoint {self.token_url} rejected the StackFlow client {self.client_id}"
        return f"{rejected} ({error}{description}). {fix}"


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# --- settings --------------------------------------------------------------------------------------------------

_AUTH_FLOW_ALIASES: dict[str, AuthFlow] = {
    "user_password": "user_password",
    "user_password_auth": "user_password",
    "admin_user_password": "admin_user_password",
    "admin_user_password_auth": "admin_user_password",
}


class StackFlowAuthSettings(BaseModel):
    """How stackfox reaches and authenticates to StackFlow; which fields are set selects the auth mode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = None
    token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    user_pool_id: str | None = None
    region: str | None = None
    token_url: str | None = None
    scope: str | None = None
    auth_flow: AuthFlow = "user_password"
    cognito_endpoint: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("auth_flow", mode="before")
    @classmethod
    def _known_flow(cls, value: Any) -> Any:
        if value is None:
            return "user_password"
        flow = _AUTH_FLOW_ALIASES.get(str(value).strip().lower().replace("-", "_"))
        if flow is None:
            raise ValueError(f"{setting_hint('auth_flow')} must be user_password or admin_user_password, not {value!r}")
        return flow

    @classmethod
    def from_sources(cls, config: Mapping[str, str | None], environ: Mapping[str, str]) -> StackFlowAuthSettings:
        """Read stack config keys (``stackfox:stackflow…``), falling back to environment variables."""
        return cls.model_validate(dict(_values_from_sources(config, environ)))

    def require_url(self) -> str:
        """The StackFlow API base URL (ending in ``/prod/api``); raises naming the setting when it is unset."""
        if self.url is None:
            raise StackFlowSettingsError(f"the StackFlow API URL is not set; set {setting_hint('url')}")
        return self.url

    @property
    def mode(self) -> AuthMode:
        """The auth mode these settings select; raises ``StackFlowSettingsError`` listing what each mode lacks.

        A static token wins; else a client secret with a token URL and no username means client credentials;
        else a Cognito user login with the configured ``auth_flow``.
        """
        if self.token is not None:
            return "static_token"
        wants_client_credentials = self.client_secret is not None and self.token_url is not None and not self.username
        missing_client = self._missing("client_id", "client_secret", "token_url")
        missing_user = self._missing_for_user_login()
        if wants_client_credentials and not missing_client:
            return "client_credentials"
        if not wants_client_credentials and not missing_user:
            return self.auth_flow
        raise StackFlowSettingsError(
            _missing_message(
                {
                    "a static token": ["token"],
                    self._user_login_title(): missing_user,
                    "client credentials (with no username set)": missing_client,
                }
            )
        )

    def _missing(self, *names: str) -> list[str]:
        return [name for name in names if getattr(self, name) is None]

    def _missing_for_user_login(self) -> list[str]:
        admin = self.auth_flow == "admin_user_password"
        missing = self._missing("username", "password", "client_id", *(["user_pool_id"] if admin else []))
        if not self.region and not region_of_pool(self.user_pool_id) and "user_pool_id" not in missing:
            missing.append("region")
        return missing

    def _user_login_title(self) -> str:
        flow = "ADMIN_USER_PASSWORD_AUTH" if self.auth_flow == "admin_user_password" else "USER_PASSWORD_AUTH"
        return f"a Cognito user login ({flow})"


def _values_from_sources(config: Mapping[str, str | None], environ: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    for source in SETTING_SOURCES:
        candidates = [config.get(source.config_key), *(environ.get(name) for name in source.env_vars)]
        value = next((candidate for candidate in candidates if candidate and candidate.strip()), None)
        if value is not None:
            yield source.field, value


def _missing_message(missing_by_mode: Mapping[str, list[str]]) -> str:
    lines = [
        f"  - {mode}: missing {', '.join(setting_hint(name) for name in names)}"
        for mode, names in missing_by_mode.items()
        if names
    ]
    return "StackFlow authentication is not configured completely; set one of:\n" + "\n".join(lines)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def credential_from_settings(settings: StackFlowAuthSettings) -> Credential:
    """The token source the settings select (see ``StackFlowAuthSettings.mode``)."""
    mode = settings.mode
    if mode == "static_token":
        return StaticToken(_secret(settings.token) or "")
    if mode == "client_credentials":
        return ClientCredentialsAuth(
            token_url=settings.token_url or "",
            client_id=settings.client_id or "",
            client_secret=_secret(settings.client_secret) or "",
            scope=settings.scope,
        )
    common: dict[str, Any] = {
        "client_id": settings.client_id or "",
        "username": settings.username or "",
        "password": _secret(settings.password) or "",
        "region": settings.region,
        "client_secret": _secret(settings.client_secret),
        "endpoint_url": settings.cognito_endpoint,
    }
    if mode == "admin_user_password":
        return CognitoAdminUserPasswordAuth(user_pool_id=settings.user_pool_id or "", **common)
    return CognitoUserPasswordAuth(user_pool_id=settings.user_pool_id, **common)
