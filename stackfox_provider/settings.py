"""Every setting of the provider in one table, resolved one way: stack config first, then the environment.

The dynamic-provider process receives the stack's config in ``configure()``; stackfox keeps the values it
knows in this module (``load_stack_config``), never on a provider object (provider objects are pickled into
state) and never in outputs. This is the only module of the provider that knows a ``stackfox:`` config key
or an environment variable a setting is read from: the clients are told how to name a setting in their
messages (``SettingNames``, ``unauthorized_hint``). The CLI tooling's own variables (``STACKFOX_STATE_DIR``,
``STACKFOX_TOOLCHAIN_HOME``) are not provider settings and live with the tooling.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from stackfox_provider import process
from stackfox_provider.clients.ratelimit import RateLimits
from stackfox_provider.clients.stackflow.auth import (
    AuthFlow,
    AuthMode,
    ClientCredentialsAuth,
    CognitoAdminUserPasswordAuth,
    CognitoUserPasswordAuth,
    SettingNames,
    StackFlowSettingsError,
    StaticToken,
    region_of_pool,
)
from stackfox_provider.errors import SettingsError

if TYPE_CHECKING:  # the HTTP layer (httpx) loads with the first client, not with the settings
    from stackfox_provider.clients.http import Credential

__all__ = ["SETTINGS", "Setting", "SettingsError", "StackFlowAuthSettings", "StackFlowSettingsError"]

NAMESPACE = "stackfox"


@dataclass(frozen=True)
class Setting:
    """One setting: its stack config key, the environment variables tried after it (in order), and whether
    it is a secret (``pulumi config set --secret``). ``stackflow_auth`` names the field of
    :class:`StackFlowAuthSettings` it fills."""

    key: str
    env_vars: tuple[str, ...]
    secret: bool = False
    stackflow_auth: str | None = None

    @property
    def config_key(self) -> str:
        return f"{NAMESPACE}:{self.key}"

    @property
    def hint(self) -> str:
        """Where to set it, for messages: ``stackfox:stackflowRegion / STACKFLOW_REGION or AWS_REGION``."""
        return f"{self.config_key} / {' or '.join(self.env_vars)}"


SETTINGS: tuple[Setting, ...] = (
    Setting("incidentfoxUrl", ("INCIDENTFOX_URL",)),
    Setting("incidentfoxToken", ("INCIDENTFOX_TOKEN",), secret=True),
    Setting("incidentfoxReadsPerMinute", ("INCIDENTFOX_READS_PER_MINUTE",)),
    Setting("incidentfoxWritesPerMinute", ("INCIDENTFOX_WRITES_PER_MINUTE",)),
    Setting("incidentfoxAdminToken", ("INCIDENTFOX_ADMIN_TOKEN",), secret=True),
    Setting("incidentfoxOrg", ("INCIDENTFOX_ORG",)),
    Setting("stackflowUrl", ("STACKFLOW_URL",), stackflow_auth="url"),
    Setting("stackflowToken", ("STACKFLOW_TOKEN",), secret=True, stackflow_auth="token"),
    Setting("stackflowUsername", ("STACKFLOW_USERNAME",), stackflow_auth="username"),
    Setting("stackflowPassword", ("STACKFLOW_PASSWORD",), secret=True, stackflow_auth="password"),
    Setting("stackflowClientId", ("STACKFLOW_CLIENT_ID",), stackflow_auth="client_id"),
    Setting("stackflowClientSecret", ("STACKFLOW_CLIENT_SECRET",), secret=True, stackflow_auth="client_secret"),
    Setting("stackflowUserPoolId", ("STACKFLOW_USER_POOL_ID",), stackflow_auth="user_pool_id"),
    Setting("stackflowRegion", ("STACKFLOW_REGION", "AWS_REGION"), stackflow_auth="region"),
    Setting("stackflowTokenUrl", ("STACKFLOW_TOKEN_URL",), stackflow_auth="token_url"),
    Setting("stackflowScope", ("STACKFLOW_SCOPE",), stackflow_auth="scope"),
    Setting("stackflowAuthFlow", ("STACKFLOW_AUTH_FLOW",), stackflow_auth="auth_flow"),
    Setting("cognitoEndpoint", ("COGNITO_ENDPOINT",), stackflow_auth="cognito_endpoint"),
    Setting("stackflowReadsPerMinute", ("STACKFLOW_READS_PER_MINUTE",)),
    Setting("stackflowWritesPerMinute", ("STACKFLOW_WRITES_PER_MINUTE",)),
    # Set (to true) by `stackfox plan` without --refresh, which promises not to call the services.
    Setting("skipCredentialsCheck", ("STACKFOX_SKIP_CREDENTIALS_CHECK",)),
)
BY_KEY: dict[str, Setting] = {spec.key: spec for spec in SETTINGS}
SKIP_CREDENTIALS_CHECK_ENV = BY_KEY["skipCredentialsCheck"].env_vars[0]


def hint(key: str) -> str:
    """Where the setting ``key`` is set, for messages."""
    return BY_KEY[key].hint


def _recorded_hint(what: str) -> str:
    return (
        f"`pulumi refresh`/`destroy` use the {what} recorded at the last `pulumi up`: once the config holds the "
        "right one, run `pulumi up`, or pass --run-program to refresh/destroy"
    )


#: Added to every rejection of the StackFlow settings: where `refresh`/`destroy` take them from.
RECORDED_SETTINGS_HINT = _recorded_hint("settings")
#: Added to an IncidentFox 401: where the team token comes from.
INCIDENTFOX_UNAUTHORIZED_HINT = (
    f"check the team token: {BY_KEY['incidentfoxToken'].config_key} (pulumi config set --secret), "
    f"{BY_KEY['incidentfoxToken'].env_vars[0]}, or the resource's connection.token. {_recorded_hint('token')}"
)
#: Added to an IncidentFox 401 of the admin API: where the org-admin token comes from.
INCIDENTFOX_ADMIN_UNAUTHORIZED_HINT = (
    f"check the org-admin token: {BY_KEY['incidentfoxAdminToken'].config_key} (pulumi config set --secret), "
    f"{BY_KEY['incidentfoxAdminToken'].env_vars[0]}, or the resource's admin.token. {_recorded_hint('token')}"
)
#: How the StackFlow token sources name their settings.
STACKFLOW_NAMES = SettingNames(
    {spec.stackflow_auth: spec.hint for spec in SETTINGS if spec.stackflow_auth},
    on_rejection=RECORDED_SETTINGS_HINT,
)


# --- the one resolver --------------------------------------------------------------------------------------------


class ConfigSource(Protocol):
    def get(self, key: str) -> object: ...


_lock = threading.Lock()
_stack_config: dict[str, str] = {}


def _forget_stack_config() -> None:
    with _lock:
        _stack_config.clear()


process.on_reset(_forget_stack_config)


def load_stack_config(config: ConfigSource) -> None:
    """Keep the ``stackfox:*`` values of the stack's config (called from ``configure()``)."""
    values = {}
    for spec in SETTINGS:
        value = config.get(spec.config_key)
        if value is not None and value != "":
            values[spec.config_key] = str(value)
    with _lock:
        _stack_config.clear()
        _stack_config.update(values)


def resolve(key: str, config: Mapping[str, str | None], environ: Mapping[str, str]) -> str | None:
    """The value of ``key``: a non-blank stack config value wins, then the first non-blank environment variable."""
    spec = BY_KEY[key]
    candidates = [config.get(spec.config_key), *(environ.get(name) for name in spec.env_vars)]
    return next((candidate for candidate in candidates if candidate and candidate.strip()), None)


def setting(key: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A setting by its config key, from the stack config ``configure()`` received, then the environment."""
    with _lock:
        config = dict(_stack_config)
    return resolve(key, config, os.environ if environ is None else environ)


def require(key: str, purpose: str) -> str:
    value = setting(key)
    if value is None:
        spec = BY_KEY[key]
        secret = " --secret" if spec.secret else ""
        raise SettingsError(
            f"{purpose} needs `{spec.config_key}`: run `pulumi config set{secret} {spec.config_key} ...` "
            f"or set {' or '.join(spec.env_vars)} in the environment."
        )
    return value


def rate_limits(service: Literal["incidentfox", "stackflow"]) -> RateLimits:
    """The client-side budget for a service: the documented 100 reads / 20 writes a minute unless configured."""
    defaults = RateLimits()
    return RateLimits(
        reads_per_minute=_per_minute(f"{service}ReadsPerMinute", defaults.reads_per_minute),
        writes_per_minute=_per_minute(f"{service}WritesPerMinute", defaults.writes_per_minute),
    )


def check_credentials() -> bool:
    """Whether a run checks, once per credential, that the services accept it (``skipCredentialsCheck``)."""
    value = (setting("skipCredentialsCheck") or "false").strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise SettingsError(f"`{hint('skipCredentialsCheck')}` must be true or false; got {value!r}")
    return value in ("false", "0")


def _per_minute(key: str, default: int) -> int:
    value = setting(key)
    if value is None:
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise SettingsError(f"`{hint(key)}` must be a whole number of requests a minute, at least 1; got {value!r}")
    return int(value)


# --- StackFlow authentication ------------------------------------------------------------------------------------

_AUTH_FLOW_ALIASES: dict[str, AuthFlow] = {
    "user_password": "user_password",
    "user_password_auth": "user_password",
    "admin_user_password": "admin_user_password",
    "admin_user_password_auth": "admin_user_password",
}
_STACKFLOW_KEYS = {spec.stackflow_auth: spec.key for spec in SETTINGS if spec.stackflow_auth}


class StackFlowAuthSettings(BaseModel):
    """How stackfox reaches and authenticates to StackFlow; which fields are set selects the auth mode."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

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
            raise ValueError(
                f"{STACKFLOW_NAMES('auth_flow')} must be user_password or admin_user_password, not {value!r}"
            )
        return flow

    @classmethod
    def from_sources(cls, config: Mapping[str, str | None], environ: Mapping[str, str]) -> StackFlowAuthSettings:
        """Resolve every StackFlow setting from stack config keys and environment variables (``resolve``)."""
        values = {field: resolve(key, config, environ) for field, key in _STACKFLOW_KEYS.items()}
        return cls.model_validate({field: value for field, value in values.items() if value is not None})

    @classmethod
    def current(cls) -> StackFlowAuthSettings:
        """The settings of this process: the stack config ``configure()`` received, then the environment."""
        with _lock:
            config = dict(_stack_config)
        return cls.from_sources(config, os.environ)

    def require_url(self) -> str:
        """The StackFlow API base URL (ending in ``/prod/api``); raises naming the setting when it is unset."""
        if self.url is None:
            raise StackFlowSettingsError(f"the StackFlow API URL is not set; set {STACKFLOW_NAMES('url')}")
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

    def credential(self) -> Credential:
        """The token source these settings select (see ``mode``)."""
        mode = self.mode
        if mode == "static_token":
            return StaticToken(_secret(self.token) or "", names=STACKFLOW_NAMES)
        if mode == "client_credentials":
            return ClientCredentialsAuth(
                token_url=self.token_url or "",
                client_id=self.client_id or "",
                client_secret=_secret(self.client_secret) or "",
                scope=self.scope,
                names=STACKFLOW_NAMES,
            )
        common: dict[str, Any] = {
            "client_id": self.client_id or "",
            "username": self.username or "",
            "password": _secret(self.password) or "",
            "region": self.region,
            "client_secret": _secret(self.client_secret),
            "endpoint_url": self.cognito_endpoint,
            "names": STACKFLOW_NAMES,
        }
        if mode == "admin_user_password":
            return CognitoAdminUserPasswordAuth(user_pool_id=self.user_pool_id or "", **common)
        return CognitoUserPasswordAuth(user_pool_id=self.user_pool_id, **common)

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


def _missing_message(missing_by_mode: Mapping[str, list[str]]) -> str:
    lines = [
        f"  - {mode}: missing {', '.join(STACKFLOW_NAMES(name) for name in names)}"
        for mode, names in missing_by_mode.items()
        if names
    ]
    return "StackFlow authentication is not configured completely; set one of:\n" + "\n".join(lines)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
