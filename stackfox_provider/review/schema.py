"""The JSON Schemas of the drift and plan reports, generated from :mod:`stackfox_provider.review.model`.

``python -m stackfox_provider.review.schema docs/schemas`` rewrites ``drift.schema.json`` and
``plan.schema.json``; a unit test fails when the committed files and the models disagree.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from stackfox_provider.review.model import DriftReport, PlanReport

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS: dict[str, type[BaseModel]] = {"drift.schema.json": DriftReport, "plan.schema.json": PlanReport}


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a report model, as it validates ``--format json`` output."""
    return {"$schema": DIALECT, **model.model_json_schema(mode="serialization")}


def schema_text(model: type[BaseModel]) -> str:
    """The schema file's content."""
    return json.dumps(json_schema(model), indent=2) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    """Write every report's schema into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, model in SCHEMAS.items():
        path = directory / filename
        path.write_text(schema_text(model))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m stackfox_provider.review.schema DIRECTORY", file=sys.stderr)
        return 2
    for path in write_schemas(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
