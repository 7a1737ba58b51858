"""The module `stackfox import` writes: declarations that match what was read, formatted as ruff would."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stackfox_provider.clients.stackflow.models import Category
from stackfox_provider.importing.codegen import Source, body, module_source

SOURCE = Source(stack="dev", stackflow_url="https://flow.example.com/prod/api", read_at="2026-11-27T22:30:00Z")


def category(name: str, **fields: Any) -> Category:
    return Category.model_validate({"id": f"id-{name}", "name": name, "label": name.title(), **fields})


CATEGORIES = [
    category("network", description='Links, "DNS" and such', subcategories=[{"name": "dns", "label": "DNS"}]),
    category("database", label="Datenbank «Ünïcode» ✓", active=False, default_assignment_group="dba",
             subcategories=[{"name": f"sub-{n}", "label": f"Subcategory number {n}"} for n in range(6)]),
    category("quotes", label="It's \"both\"", description="back\\slash\nnew line", default_priority="P1"),
]  # fmt: skip


def declared(text: str) -> dict[str, dict[str, Any]]:
    """What the module declares: category name -> the IncidentCategory call's arguments, as Python values."""
    tree = ast.parse(text)
    [assignment] = [node for node in tree.body if isinstance(node, ast.AnnAssign)]
    assert isinstance(assignment.value, ast.Dict)
    result = {}
    for key, call in zip(assignment.value.keys, assignment.value.values, strict=True):
        assert isinstance(key, ast.Constant) and isinstance(call, ast.Call)
        arguments = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
        result[key.value] = {"resource_name": ast.literal_eval(call.args[0]), **arguments}
    return result


def test_each_category_is_declared_with_what_stackflow_holds() -> None:
    found = declared(module_source(SOURCE, CATEGORIES))

    assert list(found) == ["database", "network", "quotes"]  # sorted: stable across runs
    assert found["network"] == {
        "resource_name": "category-network",
        "name": "network",
        "label": "Network",
        "description": 'Links, "DNS" and such',
        "subcategories": [{"name": "dns", "label": "DNS"}],
        "default_priority": "P3",
        "deletion_policy": "retain",
    }
    assert found["database"]["active"] is False
    assert found["database"]["label"] == "Datenbank «Ünïcode» ✓"
    assert found["database"]["default_assignment_group"] == "dba"
    assert found["quotes"]["label"] == 'It\'s "both"'
    assert found["quotes"]["description"] == "back\\slash\nnew line"
    assert "active" not in found["network"]


@pytest.mark.parametrize("categories", [CATEGORIES, []], ids=["three", "none"])
def test_the_module_is_ruff_format_clean(tmp_path: Path, categories: list[Category]) -> None:
    module = tmp_path / "stackfox_imported.py"
    module.write_text(module_source(SOURCE, categories))

    checked = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--diff", "--line-length", "120", str(module)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_header_says_where_and_when_and_two_reads_differ_only_there() -> None:
    first = module_source(SOURCE, CATEGORIES)
    later = module_source(Source("dev", SOURCE.stackflow_url, "2026-11-28T08:00:00Z"), list(reversed(CATEGORIES)))

    assert "https://flow.example.com/prod/api" in first.splitlines()[0]
    assert "(stack dev) at 2026-11-27T22:30:00Z: 3 categories." in first
    assert first != later
    assert body(first) == body(later)
    assert body(first).startswith("from stackfox_provider.stackflow import IncidentCategory")


def test_no_categories_is_an_empty_mapping_that_still_runs() -> None:
    text = module_source(SOURCE, [])

    assert declared(text) == {}
    compile(text, "stackfox_imported.py", "exec")
