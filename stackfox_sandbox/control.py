"""The control endpoint under ``/_sandbox`` (only with ``--testing``): request log, reset, faults, settings.

Control requests are never rate limited, never faulted and never logged.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from stackfox_sandbox.errors import ApiError
from stackfox_sandbox.faults import FaultSpec
from stackfox_sandbox.runtime import Runtime, runtime_of

router = APIRouter(tags=["control"])
Rt = Annotated[Runtime, Depends(runtime_of)]


class ResetRequest(BaseModel):
    """What ``POST /_sandbox/reset`` clears. ``data`` also wipes StackFlow data and puts IncidentFox back to
    its seed (bootstrap tokens stay valid)."""

    model_config = ConfigDict(extra="forbid")

    log: bool = True
    faults: bool = True
    rate_limits: bool = True
    settings: bool = True
    data: bool = False


NULLABLE_SETTINGS = frozenset({"max_token_age", "unlocked_write_window"})


class SettingsPatch(BaseModel):
    """Live settings to change; omitted fields keep their value, ``max_token_age: null`` and
    ``unlocked_write_window: null`` disable them."""

    model_config = ConfigDict(extra="forbid")

    read_limit: int | None = Field(default=None, ge=1)
    write_limit: int | None = Field(default=None, ge=1)
    time_scale: float | None = Field(default=None, gt=0, le=3600)
    max_token_age: float | None = Field(default=None, gt=0)
    unlocked_write_window: float | None = Field(default=None, ge=0, le=10)


@router.get("/state")
async def state(runtime: Rt) -> JSONResponse:
    """Dialect, live settings, installed faults and counters."""
    return JSONResponse(
        {
            "dialect": runtime.dialect,
            "settings": runtime.live.model_dump(),
            "faults": [fault.model_dump() for fault in runtime.faults.installed()],
            "jwks_fetches": runtime.verifier.jwks.fetches,
            "logged_requests": len(runtime.log.entries()),
        }
    )


@router.get("/requests")
async def requests(
    runtime: Rt,
    service: Annotated[str | None, Query()] = None,
    since: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> JSONResponse:
    """Logged requests, oldest first: method, path, status, identity, service, timestamp and more."""
    entries = runtime.log.entries(service, since, limit)
    return JSONResponse({"requests": [entry.model_dump() for entry in entries]})


@router.delete("/requests", status_code=204)
async def clear_requests(runtime: Rt) -> Response:
    """Empty the request log."""
    runtime.log.clear()
    return Response(status_code=204)


@router.post("/reset")
async def reset(runtime: Rt, body: ResetRequest | None = None) -> JSONResponse:
    """Clear the log, faults, rate-limit windows and live settings (and, on request, the data)."""
    options = body or ResetRequest()
    done: list[str] = []
    if options.log:
        runtime.log.clear()
        done.append("log")
    if options.faults:
        runtime.faults.clear()
        done.append("faults")
    if options.rate_limits:
        runtime.limiter.reset()
        done.append("rate_limits")
    if options.settings:
        runtime.reset_live_settings()
        done.append("settings")
    if options.data:
        runtime.stackflow.wipe()
        runtime.config.wipe(runtime.identity)
        done.append("data")
    return JSONResponse({"reset": done})


@router.get("/faults")
async def list_faults(runtime: Rt) -> JSONResponse:
    """Installed faults in evaluation order, with how often each fired."""
    return JSONResponse({"faults": [fault.model_dump() for fault in runtime.faults.installed()]})


@router.post("/faults", status_code=201)
async def add_fault(runtime: Rt, spec: FaultSpec) -> JSONResponse:
    """Install one more fault."""
    return JSONResponse(runtime.faults.add(spec).model_dump(), status_code=201)


@router.put("/faults")
async def replace_faults(runtime: Rt, specs: list[FaultSpec]) -> JSONResponse:
    """Install exactly these faults."""
    return JSONResponse({"faults": [fault.model_dump() for fault in runtime.faults.replace(specs)]})


@router.delete("/faults", status_code=204)
async def clear_faults(runtime: Rt) -> Response:
    """Remove every fault."""
    runtime.faults.clear()
    return Response(status_code=204)


@router.delete("/faults/{fault_id}", status_code=204)
async def remove_fault(runtime: Rt, fault_id: str) -> Response:
    """Remove one fault."""
    if not runtime.faults.remove(fault_id):
        raise ApiError(404, f"no fault {fault_id}")
    return Response(status_code=204)


@router.get("/settings")
async def get_settings(runtime: Rt) -> JSONResponse:
    """The live settings."""
    return JSONResponse(runtime.live.model_dump())


@router.patch("/settings")
async def patch_settings(runtime: Rt, body: SettingsPatch) -> JSONResponse:
    """Change live settings: limits, time scale, maximum token age, unlocked write window."""
    changes: dict[str, Any] = body.model_dump(include=body.model_fields_set)
    for name, value in changes.items():
        if value is None and name not in NULLABLE_SETTINGS:
            raise ApiError(422, f"{name} cannot be null")
        setattr(runtime.live, name, value)
    return JSONResponse(runtime.live.model_dump())
