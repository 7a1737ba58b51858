"""``stackfox sandbox serve``: run the sandbox in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time

import uvicorn

from stackfox_sandbox.app import create_app
from stackfox_sandbox.faults import FaultInjector
from stackfox_sandbox.identity import Identity
from stackfox_sandbox.incidentfox.defaults import ORG_ID, TEAM_ID
from stackfox_sandbox.incidentfox.store import ConfigRepo
from stackfox_sandbox.info import SandboxInfo
from stackfox_sandbox.ratelimit import SlidingWindowLimiter
from stackfox_sandbox.requestlog import RequestLog
from stackfox_sandbox.runtime import Runtime
from stackfox_sandbox.settings import (
    CONTROL_PREFIX,
    DB_FILE,
    INCIDENTFOX_PREFIX,
    INFO_FILE,
    STACKFLOW_PREFIX,
    SandboxSettings,
)
from stackfox_sandbox.stackflow.cognito import SCOPES, CognitoPool, MotoServer, bootstrap
from stackfox_sandbox.stackflow.store import StackFlowRepo
from stackfox_sandbox.stackflow.tokens import JwksCache, SigningKey, StackFlowVerifier
from stackfox_sandbox.store import Store, isoformat, utcnow

log = logging.getLogger("stackfox_sandbox")


class StartupError(Exception):
    """The sandbox could not start (e.g. a requested port is taken)."""


def bind_socket(host: str, port: int, *, fallback: bool) -> socket.socket:
    """A listening TCP socket; with ``fallback``, any free port when ``port`` is taken."""
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and
    # without it every response with a body stalls ~40 ms (Nagle against delayed ACKs).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        if not fallback:
            sock.close()
            raise StartupError(f"cannot listen on {host}:{port}: {error}") from error
        sock.bind((host, 0))
    sock.listen(1024)
    return sock


def start_moto(host: str, port: int, *, fallback: bool) -> MotoServer:
    """moto on ``port``; with ``fallback``, on any free port when it is taken."""
    try:
        server = MotoServer(host, port)
    except OSError as error:
        if not fallback:
            raise StartupError(f"cannot start moto on {host}:{port}: {error}") from error
        server = MotoServer(host, 0)
    server.start()
    return server


def build_runtime(settings: SandboxSettings, store: Store, identity: Identity, pool: CognitoPool) -> Runtime:
    """Wire the components of a running sandbox."""
    signing_key = SigningKey(identity.signing_key_pem)
    live = settings.runtime.model_copy()
    jwks = JwksCache(pool.jwks_url, {signing_key.kid: signing_key.public_key()}, settings.jwks_refetch_interval)
    jwks.preload()
    verifier = StackFlowVerifier(
        issuer=pool.issuer,
        id_audiences=frozenset({pool.app_client_id}),
        access_clients=frozenset({pool.m2m_client_id}),
        jwks=jwks,
        runtime=live,
    )
    faults = FaultInjector(seed=settings.seed)
    faults.replace(settings.faults)
    config = ConfigRepo(store, identity.token_pepper)
    config.seed(identity)
    return Runtime(
        settings=settings,
        store=store,
        identity=identity,
        pool=pool,
        signing_key=signing_key,
        verifier=verifier,
        faults=faults,
        limiter=SlidingWindowLimiter(),
        log=RequestLog(),
        stackflow=StackFlowRepo(store),
        config=config,
    )


def describe(runtime: Runtime, port: int, moto_port: int) -> SandboxInfo:
    """The ``sandbox.json`` of a running sandbox."""
    settings, pool, identity = runtime.settings, runtime.pool, runtime.identity
    base = f"http://{settings.host}:{port}"
    return SandboxInfo(
        pid=os.getpid(),
        started_at=isoformat(utcnow()),
        state_dir=str(settings.state_dir.resolve()),
        dialect=settings.dialect,
        testing=settings.testing,
        base_url=base,
        port=port,
        moto_port=moto_port,
        stackflow_base_url=base + STACKFLOW_PREFIX,
        cognito_endpoint_url=pool.endpoint_url,
        region=pool.region,
        user_pool_id=pool.user_pool_id,
        issuer=pool.issuer,
        jwks_url=pool.jwks_url,
        app_client_id=pool.app_client_id,
        username=pool.username,
        password=pool.password,
        client_credentials_client_id=pool.m2m_client_id,
        client_credentials_client_secret=pool.m2m_client_secret,
        client_credentials_token_url=base + "/oauth2/token",
        client_credentials_scopes=list(SCOPES),
        sandbox_jwks_url=base + "/.well-known/jwks.json",
        incidentfox_base_url=base + INCIDENTFOX_PREFIX,
        incidentfox_org_id=ORG_ID,
        incidentfox_team_id=TEAM_ID,
        incidentfox_team_token=identity.team_token,
        incidentfox_org_admin_token=identity.org_admin_token,
        control_url=base + CONTROL_PREFIX if settings.testing else None,
        settings={**settings.runtime.model_dump(), "token_validity": settings.token_validity},
    )


def serve(settings: SandboxSettings) -> int:
    """Start moto and the API, write ``sandbox.json``, and serve until told to stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    started = time.monotonic()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    info_path = settings.state_dir / INFO_FILE
    store = Store(settings.state_dir / DB_FILE)
    moto: MotoServer | None = None
    try:
        identity = Identity.load_or_create(store)
        sock = bind_socket(settings.host, settings.port or identity.port or 0, fallback=not settings.port)
        moto = start_moto(settings.host, settings.moto_port or identity.moto_port or 0, fallback=not settings.moto_port)
        port = int(sock.getsockname()[1])
        identity = identity.model_copy(update={"port": port, "moto_port": moto.port})
        identity.save(store)
        pool = bootstrap(moto.url, settings.region, identity)
        runtime = build_runtime(settings, store, identity, pool)
        app = create_app(runtime, f"http://{settings.host}:{port}")
        config = uvicorn.Config(
            app,
            http="h11",  # the drop fault closes the h11 transport directly
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=3,
        )
        server = uvicorn.Server(config)
        info = describe(runtime, port, moto.port)
        info.write(info_path)
        log.info("sandbox ready in %.2fs: %s (moto %s)", time.monotonic() - started, info.base_url, moto.url)
        server.run(sockets=[sock])
        return 0
    except StartupError as error:
        print(f"stackfox sandbox: {error}", file=sys.stderr)
        return 1
    finally:
        if moto is not None:
            moto.stop()
        store.close()
        _remove_own_info(info_path)


def _remove_own_info(path: os.PathLike[str]) -> None:
    with contextlib.suppress(OSError, ValueError):
        if SandboxInfo.read(path).pid == os.getpid():  # type: ignore[arg-type]
            os.unlink(path)
