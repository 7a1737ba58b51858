"""What every stackfox dynamic provider shares: input validation in ``check()`` and preview unknowns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic
from pulumi.dynamic import CheckFailure, CheckResult, ConfigureRequest, ResourceProvider
from pulumi.runtime.rpc import UNKNOWN

from stackfox_provider import settings

PROVIDER_KEY = "__provider"


class StrictModel(pydantic.BaseModel):
    """Inputs model: unknown properties are errors, so a typo never passes silently."""

    model_config = pydantic.ConfigDict(extra="forbid", populate_by_name=True)


def is_unknown(value: Any) -> bool:
    """True when ``value`` is, or contains, a value Pulumi will only know after apply (preview)."""
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(is_unknown(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(item) for item in value)
    return False


def without_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in props.items() if key != PROVIDER_KEY}


def failure_message(error: Any) -> str:
    """A pydantic error as 'what is wrong; what is allowed'."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "is not a known property; check its spelling"
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "literal_error":
        return f"{message} (got {error['input']!r})"
    return message


def validate(model: type[pydantic.BaseModel], news: Mapping[str, Any]) -> CheckResult:
    """Validate ``news`` with ``model``: one failure per bad property, normalized inputs back.

    Properties that are still unknown (preview) are left out of validation and passed through.
    """
    props = without_provider(news)
    unknown = {key for key, value in props.items() if is_unknown(value)}
    known = {key: value for key, value in props.items() if key not in unknown}
    failures: list[CheckFailure] = []
    try:
        inputs = model.model_validate(known).model_dump(mode="json", exclude_none=True)
    except pydantic.ValidationError as error:
        inputs = dict(known)
        for item in error.errors():
            path = ".".join(str(part) for part in item["loc"])
            if item["type"] == "missing" and item["loc"] and item["loc"][0] in unknown:
                continue
            failures.append(CheckFailure(path or "(inputs)", f"{path}: {failure_message(item)}"))
    inputs.update({key: props[key] for key in unknown})
    if PROVIDER_KEY in news:
        inputs[PROVIDER_KEY] = news[PROVIDER_KEY]
    return CheckResult(inputs, failures)


class StackfoxProvider(ResourceProvider):
    """Base of stackfox's providers: keeps stack config in the process (not on the pickled object).

    The object is pickled into each resource's state with the resource's name (never a credential),
    so that the operations can name the resource and tell it from others of the same run.
    """

    serialize_as_secret_always = False

    def __init__(self, resource_name: str | None = None) -> None:
        super().__init__()
        self.resource_name = resource_name

    @property
    def name(self) -> str | None:
        """The resource's name; None in the state of resources created before stackfox recorded it."""
        return getattr(self, "resource_name", None)

    def configure(self, req: ConfigureRequest) -> None:
        settings.load_stack_config(req.config)
