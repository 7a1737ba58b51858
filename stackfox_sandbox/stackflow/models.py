"""StackFlow request and response models (pydantic v2); they also drive the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Priority = Literal["P1", "P2", "P3", "P4"]
IncidentState = Literal["new", "in_progress", "on_hold", "resolved", "closed"]
OPEN_STATES: tuple[str, ...] = ("new", "in_progress", "on_hold")
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
Group = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"\S")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=160, pattern=r"\S")]
LongText = Annotated[str, StringConstraints(max_length=10000)]

_INPUT = ConfigDict(extra="forbid", strict=True)


class Subcategory(BaseModel):
    """A subcategory of a standing category."""

    model_config = _INPUT

    name: Slug
    label: Label


def _unique_subcategories(value: list[Subcategory] | None) -> list[Subcategory] | None:
    if value is not None:
        names = [item.name for item in value]
        if len(names) != len(set(names)):
            raise ValueError("subcategory names must be unique within the category")
    return value


class CategoryCreate(BaseModel):
    """Body of ``POST /categories``."""

    model_config = _INPUT

    name: Slug
    label: Label
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    subcategories: Annotated[list[Subcategory], Field(max_length=100)] = Field(default_factory=list)
    default_priority: Priority = "P3"
    default_assignment_group: Group | None = None
    active: bool = True

    _subcategories = field_validator("subcategories")(_unique_subcategories)


class PartialUpdate(BaseModel):
    """A ``PATCH`` body: only the fields sent change, and only the ``nullable`` ones may be sent as null."""

    model_config = _INPUT
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        for name in sorted(self.model_fields_set - self.nullable):
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, as JSON values."""
        return self.model_dump(mode="json", include=self.model_fields_set)


class CategoryPatch(PartialUpdate):
    """Body of ``PATCH /categories/{id}``: only the fields sent change. ``name`` is immutable (it may be sent
    only with its current value)."""

    nullable = frozenset({"default_assignment_group"})

    name: Slug | None = None
    label: Label | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    subcategories: Annotated[list[Subcategory], Field(max_length=100)] | None = None
    default_priority: Priority | None = None
    default_assignment_group: Group | None = None
    active: bool | None = None

    _subcategories = field_validator("subcategories")(_unique_subcategories)



class Category(BaseModel):
    """A standing incident category."""

    id: str = Field(examples=["CAT0000001"])
    name: Slug
    label: str
    description: str
    subcategories: list[Subcategory]
    default_priority: Priority
    default_assignment_group: str | None
    active: bool
    created_at: str
    updated_at: str


class IncidentCreate(BaseModel):
    """Body of ``POST /incidents``. ``priority`` and ``assignment_group`` default to the category's."""

    model_config = _INPUT

    short_description: ShortText
    description: LongText = ""
    category: Slug
    subcategory: Slug | None = None
    priority: Priority | None = None
    assignment_group: Group | None = None
    caller: Group | None = None


class IncidentPatch(PartialUpdate):
    """Body of ``PATCH /incidents/{id}``: only the fields sent change."""

    nullable = frozenset({"subcategory", "assignment_group"})

    short_description: ShortText | None = None
    description: LongText | None = None
    state: IncidentState | None = None
    priority: Priority | None = None
    category: Slug | None = None
    subcategory: Slug | None = None
    assignment_group: Group | None = None
    resolution_notes: LongText | None = None



class Incident(BaseModel):
    """An incident."""

    id: str
    number: str = Field(examples=["INC0000001"])
    short_description: str
    description: str
    category: str
    subcategory: str | None
    priority: Priority
    state: IncidentState
    assignment_group: str | None
    caller: str | None
    opened_by: str
    resolution_notes: str | None
    sla_breach_at: str
    created_at: str
    updated_at: str
    resolved_at: str | None


class CategoryList(BaseModel):
    """A page of categories."""

    data: list[Category]
    total: int
    page: int
    limit: int
    has_more: bool


class IncidentList(BaseModel):
    """A page of incidents."""

    data: list[Incident]
    total: int
    page: int
    limit: int
    has_more: bool


class Health(BaseModel):
    """``GET /health``."""

    status: Literal["ok"]
    service: Literal["stackflow"]
    time: str


class ErrorBody(BaseModel):
    """The inside of an error."""

    code: str
    message: str
    request_id: str


class ErrorEnvelope(BaseModel):
    """Every StackFlow error."""

    error: ErrorBody
