"""Everything a running sandbox holds, reachable from every request."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from stackfox_sandbox.faults import FaultInjector
from stackfox_sandbox.identity import Identity
from stackfox_sandbox.incidentfox.store import ConfigRepo
from stackfox_sandbox.ratelimit import SlidingWindowLimiter
from stackfox_sandbox.requestlog import RequestLog
from stackfox_sandbox.settings import RuntimeSettings, SandboxSettings
from stackfox_sandbox.stackflow.cognito import CognitoPool
from stackfox_sandbox.stackflow.store import StackFlowRepo
from stackfox_sandbox.stackflow.tokens import SigningKey, StackFlowVerifier
from stackfox_sandbox.store import Store


@dataclass
class Runtime:
    """The state of one running sandbox."""

    settings: SandboxSettings
    store: Store
    identity: Identity
    pool: CognitoPool
    signing_key: SigningKey
    verifier: StackFlowVerifier
    faults: FaultInjector
    limiter: SlidingWindowLimiter
    log: RequestLog
    stackflow: StackFlowRepo
    config: ConfigRepo

    @property
    def live(self) -> RuntimeSettings:
        """The settings the control endpoint can change (shared with the verifier)."""
        return self.verifier.runtime

    @property
    def dialect(self) -> str:
        """``hosted`` or ``oss``."""
        return self.settings.dialect

    def reset_live_settings(self) -> None:
        """Back to the settings the sandbox was started with."""
        for name, value in self.settings.runtime.model_dump().items():
            setattr(self.live, name, value)


async def runtime_of(request: Request) -> Runtime:
    """The sandbox runtime, for FastAPI dependencies."""
    runtime: Runtime = request.app.state.runtime
    return runtime
