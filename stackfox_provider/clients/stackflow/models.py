"""What the StackFlow API returns, as pydantic models that ignore fields they do not know."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Priority = Literal["P1", "P2", "P3", "P4"]
CLOSED_STATES = frozenset({"resolved", "closed"})

# The server may add fields at any time; ignoring them keeps comparisons (and Pulumi diffs) stable. Frozen,
# because one snapshot's objects are shared by every thread.
_TOLERANT = ConfigDict(extra="ignore", frozen=True)


class Subcategory(BaseModel):
    """A subcategory of a standing incident category."""

    model_config = _TOLERANT

    name: str
    label: str


class Category(BaseModel):
    """A standing incident category (``/categories``)."""

    model_config = _TOLERANT

    id: str
    name: str
    label: str
    description: str = ""
    subcategories: tuple[Subcategory, ...] = ()
    default_priority: Priority = "P3"
    default_assignment_group: str | None = None
    active: bool = True
    created_at: str | None = None
    updated_at: str | None = None


class Incident(BaseModel):
    """An incident (``/incidents``); only the fields stackfox looks at are typed."""

    model_config = _TOLERANT

    id: str
    number: str
    category: str
    subcategory: str | None = None
    state: str
    priority: str | None = None
    short_description: str = ""
    assignment_group: str | None = None
    sla_breach_at: str | None = None

    @property
    def is_open(self) -> bool:
        """Neither resolved nor closed."""
        return self.state not in CLOSED_STATES
