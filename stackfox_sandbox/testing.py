"""Pytest fixtures for tests that need a running sandbox.

Use with ``pytest_plugins = ["stackfox_sandbox.testing"]`` in a ``conftest.py``.

* ``sandbox``: the session's hosted-dialect sandbox (started once, with ``--testing``), reset before each test:
  request log, faults, rate-limit windows and live settings (not the data).
* ``sandbox_oss``: the same in the ``oss`` dialect.
* ``sandbox_factory(**options)``: a fresh sandbox per call with custom options (see :func:`sandbox_settings`),
  stopped after the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from stackfox_sandbox import manager
from stackfox_sandbox.faults import FaultSpec
from stackfox_sandbox.info import SandboxInfo
from stackfox_sandbox.settings import Dialect, RuntimeSettings, SandboxSettings

START_TIMEOUT = 90.0
TOKEN_REUSE_MARGIN = 300
_DEFAULTS = SandboxSettings()  # where the defaults of sandbox_settings() come from


def sandbox_settings(
    state_dir: Path,
    *,
    dialect: Dialect = _DEFAULTS.dialect,
    testing: bool = True,
    read_limit: int = _DEFAULTS.runtime.read_limit,
    write_limit: int = _DEFAULTS.runtime.write_limit,
    time_scale: float = _DEFAULTS.runtime.time_scale,
    max_token_age: float | None = _DEFAULTS.runtime.max_token_age,
    unlocked_write_window: float | None = _DEFAULTS.runtime.unlocked_write_window,
    faults: list[dict[str, Any] | FaultSpec] | None = None,
    port: int = _DEFAULTS.port,
    moto_port: int = _DEFAULTS.moto_port,
    token_validity: int = _DEFAULTS.token_validity,
    jwks_refetch_interval: float = _DEFAULTS.jwks_refetch_interval,
    seed: int | None = _DEFAULTS.seed,
) -> SandboxSettings:
    """Settings for a test sandbox: the model's defaults, but testing enabled."""
    return SandboxSettings(
        state_dir=state_dir,
        port=port,
        moto_port=moto_port,
        dialect=dialect,
        testing=testing,
        runtime=RuntimeSettings(
            read_limit=read_limit,
            write_limit=write_limit,
            time_scale=time_scale,
            max_token_age=max_token_age,
            unlocked_write_window=unlocked_write_window,
        ),
        token_validity=token_validity,
        jwks_refetch_interval=jwks_refetch_interval,
        faults=[FaultSpec.model_validate(fault) for fault in faults or []],
        seed=seed,
    )


class SandboxHandle:
    """A sandbox started by a test: its ``sandbox.json`` (``info``) plus helpers for tokens and control."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self._started: manager.Started | None = None
        self._id_token: tuple[str, float] | None = None
        self._control: httpx.Client | None = None
        self.startup_seconds: float | None = None

    # lifecycle ----------------------------------------------------------------------------------------------

    @property
    def info(self) -> SandboxInfo:
        """The parsed ``sandbox.json`` of the running sandbox."""
        if self._started is None:
            raise RuntimeError("the sandbox is not running")
        return self._started.info

    @property
    def state_dir(self) -> Path:
        """The state directory (database, log, ``sandbox.json``)."""
        return self.settings.state_dir.resolve()

    @property
    def running(self) -> bool:
        """Whether the sandbox process is alive."""
        return self._started is not None and self._started.process.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> SandboxHandle:
        """Start it (in the background) and wait until it answers."""
        self._started = manager.start(self.settings, timeout=timeout)
        self.startup_seconds = self._started.seconds
        return self

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL); the state directory stays."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._started is not None:
            manager.stop(self.state_dir, process=self._started.process)
            self._started = None

    def restart(self, **changes: Any) -> SandboxHandle:
        """Stop and start again on the same ports and state directory (optionally with changed settings)."""
        info = self.info
        self.stop()
        self.settings = self.settings.model_copy(update={"port": info.port, "moto_port": info.moto_port, **changes})
        return self.start()

    def ensure_running(self) -> SandboxHandle:
        """Start it again if a test stopped it."""
        return self if self.running else self.start()

    # URLs and clients ---------------------------------------------------------------------------------------

    def cognito(self) -> Any:
        """A boto3 cognito-idp client for the sandbox's moto."""
        return boto3.client(
            "cognito-idp",
            endpoint_url=self.info.cognito_endpoint_url,
            region_name=self.info.region,
            aws_access_key_id=self.info.aws_access_key_id,
            aws_secret_access_key=self.info.aws_secret_access_key,
            config=Config(retries={"max_attempts": 1}),
        )

    def login(self) -> dict[str, Any]:
        """``USER_PASSWORD_AUTH`` as the bootstrap user: ``IdToken``, ``AccessToken``, ``RefreshToken``..."""
        result: dict[str, Any] = self.cognito().initiate_auth(
            ClientId=self.info.app_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": self.info.username, "PASSWORD": self.info.password},
        )["AuthenticationResult"]
        return result

    def id_token(self) -> str:
        """A Cognito ID token for the bootstrap user (reused while it has 5 minutes left)."""
        if self._id_token is None or self._id_token[1] - time.time() < TOKEN_REUSE_MARGIN:
            result = self.login()
            self._id_token = (result["IdToken"], time.time() + int(result["ExpiresIn"]))
        return self._id_token[0]

    def client_credentials_token(self, scope: str | None = None) -> str:
        """An access token from the sandbox's ``/oauth2/token``."""
        data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        response = httpx.post(
            self.info.client_credentials_token_url,
            data=data,
            auth=(self.info.client_credentials_client_id, self.info.client_credentials_client_secret),
            timeout=10,
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def stackflow(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx client for StackFlow, authenticated with ``token`` (default: the user's ID token)."""
        bearer = token if token is not None else self.id_token()
        return httpx.Client(
            base_url=self.info.stackflow_base_url,
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=kwargs.pop("timeout", 30.0),
            **kwargs,
        )

    def incidentfox(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx client for IncidentFox, authenticated with ``token`` (default: the team token)."""
        bearer = token if token is not None else self.info.incidentfox_team_token
        return httpx.Client(
            base_url=self.info.incidentfox_base_url,
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=kwargs.pop("timeout", 30.0),
            **kwargs,
        )

    # control endpoint ---------------------------------------------------------------------------------------

    def _control_client(self) -> httpx.Client:
        if self.info.control_url is None:
            raise RuntimeError("the sandbox was started without testing=True")
        if self._control is None:
            self._control = httpx.Client(base_url=self.info.control_url, timeout=30.0)
        return self._control

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._control_client().request(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def requests_log(self, service: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """Logged requests, oldest first (``method``, ``path``, ``status``, ``identity``, ``auth_error``,
        ``service``, ``timestamp``, ``fault``, ``dropped``...)."""
        params: dict[str, Any] = {"since": since, **({"service": service} if service else {})}
        entries: list[dict[str, Any]] = self._call("GET", "/requests", params=params)["requests"]
        return entries

    def reset_log(self) -> None:
        """Empty the request log."""
        self._call("DELETE", "/requests")

    def reset(
        self,
        *,
        log: bool = True,
        faults: bool = True,
        rate_limits: bool = True,
        settings: bool = True,
        data: bool = False,
    ) -> list[str]:
        """Clear the log, faults, rate-limit windows and live settings; ``data=True`` also wipes the data."""
        body = {"log": log, "faults": faults, "rate_limits": rate_limits, "settings": settings, "data": data}
        done: list[str] = self._call("POST", "/reset", json=body)["reset"]
        return done

    def set_faults(self, *faults: dict[str, Any] | FaultSpec) -> list[dict[str, Any]]:
        """Install exactly these faults (see :class:`~stackfox_sandbox.faults.FaultSpec`)."""
        specs = [fault.model_dump() if isinstance(fault, FaultSpec) else fault for fault in faults]
        installed: list[dict[str, Any]] = self._call("PUT", "/faults", json=specs)["faults"]
        return installed

    def add_fault(self, **spec: Any) -> dict[str, Any]:
        """Install one more fault, e.g. ``add_fault(kind="error", status=503, service="stackflow", count=1)``."""
        fault: dict[str, Any] = self._call("POST", "/faults", json=spec)
        return fault

    def faults(self) -> list[dict[str, Any]]:
        """Installed faults with their ``fired`` and ``remaining`` counts."""
        installed: list[dict[str, Any]] = self._call("GET", "/faults")["faults"]
        return installed

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._call("DELETE", "/faults")

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """Change live settings: ``read_limit``, ``write_limit``, ``time_scale``, ``max_token_age``,
        ``unlocked_write_window`` (``None`` switches the last two off)."""
        settings: dict[str, Any] = self._call("PATCH", "/settings", json=changes)
        return settings

    def state(self) -> dict[str, Any]:
        """Dialect, live settings, faults and counters (``jwks_fetches``)."""
        state: dict[str, Any] = self._call("GET", "/state")
        return state


def _session_sandbox(tmp_path_factory: pytest.TempPathFactory, dialect: Dialect) -> Iterator[SandboxHandle]:
    handle = SandboxHandle(sandbox_settings(tmp_path_factory.mktemp(f"sandbox-{dialect}"), dialect=dialect))
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """The session's hosted-dialect sandbox, not reset between tests."""
    yield from _session_sandbox(tmp_path_factory, "hosted")


@pytest.fixture(scope="session")
def sandbox_oss_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    """The session's oss-dialect sandbox, not reset between tests."""
    yield from _session_sandbox(tmp_path_factory, "oss")


@pytest.fixture
def sandbox(sandbox_session: SandboxHandle) -> SandboxHandle:
    """The shared hosted-dialect sandbox, with log, faults, rate limits and live settings reset."""
    sandbox_session.ensure_running().reset()
    return sandbox_session


@pytest.fixture
def sandbox_oss(sandbox_oss_session: SandboxHandle) -> SandboxHandle:
    """The shared oss-dialect sandbox, with log, faults and live settings reset."""
    sandbox_oss_session.ensure_running().reset()
    return sandbox_oss_session


@pytest.fixture
def sandbox_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SandboxHandle]]:
    """``make(**options) -> SandboxHandle``: a fresh sandbox with :func:`sandbox_settings` options (plus an
    optional ``state_dir``), stopped at the end of the test."""
    handles: list[SandboxHandle] = []

    def make(state_dir: Path | None = None, **options: Any) -> SandboxHandle:
        directory = state_dir if state_dir is not None else tmp_path_factory.mktemp("sandbox")
        handle = SandboxHandle(sandbox_settings(directory, **options))
        handles.append(handle)
        return handle.start()

    yield make
    for handle in handles:
        handle.stop()
