"""Start-up options of a sandbox, and the subset that can change while it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from stackfox_sandbox.faults import FaultSpec

Dialect = Literal["hosted", "oss"]

STACKFLOW_PREFIX = "/prod/api"
INCIDENTFOX_PREFIX = "/api/v1"
CONTROL_PREFIX = "/_sandbox"
DEFAULT_STATE_DIR = Path(".stackfox") / "sandbox"
INFO_FILE = "sandbox.json"
LOG_FILE = "sandbox.log"
DB_FILE = "sandbox.db"


class RuntimeSettings(BaseModel):
    """Settings the control endpoint may change while the sandbox runs."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    read_limit: int = Field(default=100, ge=1, description="reads allowed per token per window")
    write_limit: int = Field(default=20, ge=1, description="writes allowed per token per window")
    time_scale: float = Field(default=1.0, gt=0, le=3600, description="60 makes a rate-limit 'minute' last one second")
    max_token_age: float | None = Field(
        default=None, gt=0, description="reject StackFlow tokens whose iat is older than this (seconds)"
    )
    unlocked_write_window: float | None = Field(
        default=None,
        ge=0,
        le=10,
        description="IncidentFox team writes read, wait this long without a lock, then write their merge of the"
        " stale read (lost updates, duplicate versions, as on a multi-worker deployment); None keeps writes atomic",
    )

    @property
    def window_seconds(self) -> float:
        """Length of the rate-limit window in real seconds."""
        return 60.0 / self.time_scale


class SandboxSettings(BaseModel):
    """Everything `stackfox sandbox serve` needs to run."""

    model_config = ConfigDict(extra="forbid")

    state_dir: Path = DEFAULT_STATE_DIR
    host: Literal["127.0.0.1"] = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 reuses the last port if free, else any")
    moto_port: int = Field(default=0, ge=0, le=65535)
    dialect: Dialect = "hosted"
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    testing: bool = False
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    token_validity: int = Field(default=3600, ge=60, le=86400, description="client-credentials token life")
    jwks_refetch_interval: float = Field(
        default=5.0, ge=0, description="minimum seconds between JWKS reloads caused by unknown kids"
    )
    faults: list[FaultSpec] = Field(default_factory=list)
    seed: int | None = Field(default=None, description="seed for probabilistic faults")
