"""Small helpers for the ``responses=`` of route declarations."""

from __future__ import annotations

from typing import Any

RATE_LIMIT_HEADERS: dict[str, Any] = {
    "X-RateLimit-Limit": {
        "description": "requests allowed in the window",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "X-RateLimit-Remaining": {
        "description": "requests left in the window",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Reset": {
        "description": "epoch seconds when a slot frees up",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}


def responses(
    model: Any, status: int = 200, *, headers: dict[str, Any] | None = None, rate_limited: bool = True
) -> dict[int | str, dict[str, Any]]:
    """A success response documented with its model and headers."""
    all_headers = {**(RATE_LIMIT_HEADERS if rate_limited else {}), **(headers or {})}
    entry: dict[str, Any] = {"model": model, "description": "success"}
    if all_headers:
        entry["headers"] = all_headers
    return {status: entry}
