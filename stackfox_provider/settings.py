"""Provider settings from stack config (``stackfox:*`` keys) or the environment.

The dynamic-provider process receives the stack's config in ``configure()``; stackfox keeps the
values it knows in this module, never on a provider object (provider objects are pickled into
state) and never in outputs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Literal, Protocol

from stackfox_provider import process
from stackfox_provider.clients.cognito import SETTING_SOURCES
from stackfox_provider.clients.ratelimit import RateLimits
from stackfox_provider.errors import StackfoxError

NAMESPACE = "stackfox"

#: Stack config key (without namespace) -> environment variable. StackFlow's come from the one table
#: its settings model reads (``cognito.SETTING_SOURCES``).
#: Set (to true) by `stackfox plan` without --refresh, which promises not to call the services.
SKIP_CREDENTIALS_CHECK_ENV = "STACKFOX_SKIP_CREDENTIALS_CHECK"
KNOWN_SETTINGS: dict[str, str] = {
    "incidentfoxUrl": "INCIDENTFOX_URL",
    "incidentfoxToken": "INCIDENTFOX_TOKEN",
    **{source.config_key.removeprefix(f"{NAMESPACE}:"): source.env_vars[0] for source in SETTING_SOURCES},
    "incidentfoxReadsPerMinute": "INCIDENTFOX_READS_PER_MINUTE",
    "incidentfoxWritesPerMinute": "INCIDENTFOX_WRITES_PER_MINUTE",
    "stackflowReadsPerMinute": "STACKFLOW_READS_PER_MINUTE",
    "stackflowWritesPerMinute": "STACKFLOW_WRITES_PER_MINUTE",
    "skipCredentialsCheck": SKIP_CREDENTIALS_CHECK_ENV,
}


class ConfigSource(Protocol):
    def get(self, key: str) -> object: ...


class SettingsError(StackfoxError):
    """A setting stackfox needs is missing from stack config and the environment, or is not valid."""


_lock = threading.Lock()
_stack_config: dict[str, str] = {}


def _forget_stack_config() -> None:
    with _lock:
        _stack_config.clear()


process.on_reset(_forget_stack_config)


def load_stack_config(config: ConfigSource) -> None:
    """Keep the ``stackfox:*`` values of the stack's config (called from ``configure()``)."""
    values = {}
    for key in KNOWN_SETTINGS:
        value = config.get(f"{NAMESPACE}:{key}")
        if value is not None and value != "":
            values[key] = str(value)
    with _lock:
        _stack_config.clear()
        _stack_config.update(values)


def setting(key: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A setting by its config key: stack config first, then its environment variable."""
    with _lock:
        value = _stack_config.get(key)
    if value:
        return value
    environ = os.environ if environ is None else environ
    return environ.get(KNOWN_SETTINGS[key]) or None


def require(key: str, purpose: str) -> str:
    value = setting(key)
    if value is None:
        secret = " --secret" if "Token" in key or "Password" in key or "Secret" in key else ""
        raise SettingsError(
            f"{purpose} needs `{NAMESPACE}:{key}`: run `pulumi config set{secret} {NAMESPACE}:{key} ...` "
            f"or set {KNOWN_SETTINGS[key]} in the environment."
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
        raise SettingsError(
            f"`{NAMESPACE}:skipCredentialsCheck` ({SKIP_CREDENTIALS_CHECK_ENV}) must be true or false; got {value!r}"
        )
    return value in ("false", "0")


def _per_minute(key: str, default: int) -> int:
    value = setting(key)
    if value is None:
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise SettingsError(
            f"`{NAMESPACE}:{key}` ({KNOWN_SETTINGS[key]}) must be a whole number of requests a minute, at least 1; "
            f"got {value!r}"
        )
    return int(value)


def stack_config_snapshot() -> dict[str, str]:
    """The stack config values stackfox knows, by config key (for settings models such as StackFlow's)."""
    with _lock:
        return {f"{NAMESPACE}:{key}": value for key, value in _stack_config.items()}
