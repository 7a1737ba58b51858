"""Each resource's inputs model is the one source of its fields: constructor, descriptions, reference page."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from stackfox_provider.resources._common import StackfoxResource
from stackfox_provider.resources.catalog import RESOURCES
from stackfox_provider.resources.reference import REGENERATE, _nested_models, pages

DOCS = Path(__file__).parents[3] / "docs" / "resources"
NAMES = [resource.__name__ for resource in RESOURCES]


@pytest.mark.parametrize("resource", RESOURCES, ids=NAMES)
def test_the_constructor_takes_exactly_the_model_s_fields(resource: type[StackfoxResource]) -> None:
    keywords = set(inspect.signature(resource.__init__).parameters) - {"self", "resource_name", "opts"}
    assert keywords == set(resource.provider_class.inputs_model.model_fields)


@pytest.mark.parametrize("resource", RESOURCES, ids=NAMES)
def test_every_input_and_nested_key_is_described(resource: type[StackfoxResource]) -> None:
    model = resource.provider_class.inputs_model
    undescribed = [
        f"{owner.__name__}.{name}"
        for owner in (model, *_nested_models(model))
        for name, field in owner.model_fields.items()
        if not field.description
    ]
    assert undescribed == []


@pytest.mark.parametrize("name", sorted(pages()))
def test_the_reference_page_is_current(name: str) -> None:
    page = DOCS / name
    assert page.exists() and page.read_text() == pages()[name], f"{page} is stale: run `{REGENERATE}`"
