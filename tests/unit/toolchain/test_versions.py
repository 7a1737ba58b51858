"""Every place that names the Pulumi version stackfox builds and tests with names the same one."""

from __future__ import annotations

import re
from pathlib import Path

from stackfox_provider.toolchain import PULUMI_VERSION
from stackfox_provider.toolchain.language_host import HOST_VERSION

ROOT = Path(__file__).parents[3]
MINOR = PULUMI_VERSION.rsplit(".", 1)[0]


def found(path: str, pattern: str) -> list[str]:
    versions = re.findall(pattern, (ROOT / path).read_text())
    assert versions, f"{path} no longer names the Pulumi version as {pattern!r}"
    return versions


def test_the_build_the_language_host_and_the_sdk_pin_agree() -> None:
    assert HOST_VERSION == PULUMI_VERSION
    gomod = found("stackfox_provider/toolchain/gomod/go.mod", r"github\.com/pulumi/pulumi/(?:pkg|sdk)/v3 v(\S+)")
    assert set(gomod) == {PULUMI_VERSION}
    assert set(found("pyproject.toml", r'"pulumi==(\S+)"')) == {PULUMI_VERSION}


def test_the_docs_and_the_ci_examples_name_it_too() -> None:
    for workflow in ("stackfox-plan.yml", "stackfox-drift.yml"):
        assert set(found(f"examples/github-actions/{workflow}", r"pulumi-version: (\S+)")) == {PULUMI_VERSION}
    assert set(found("docs/toolchain.md", r"v(3\.[1-9]\d*\.\d+)\b(?!-)")) == {PULUMI_VERSION}  # not pseudo-versions
    assert set(found("README.md", r"v(3\.\d+)\.[0-9x]+")) == {MINOR}
