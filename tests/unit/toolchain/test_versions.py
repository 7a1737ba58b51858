"""Every place that names the Pulumi version stackfox builds and tests with names the same one, and the SDK range
stackfox declares is the one CI tests at both ends (tests/sdk_range.py) and the README names."""

from __future__ import annotations

import re
from pathlib import Path

from stackfox_provider.toolchain import PULUMI_VERSION
from stackfox_provider.toolchain.language_host import HOST_VERSION
from tests.sdk_range import LOWEST, NEWEST

ROOT = Path(__file__).parents[3]
MINOR = PULUMI_VERSION.rsplit(".", 1)[0]


def found(path: str, pattern: str) -> list[str]:
    versions = re.findall(pattern, (ROOT / path).read_text())
    assert versions, f"{path} no longer names the Pulumi version as {pattern!r}"
    return versions


def release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def test_the_build_the_language_host_and_the_dev_venv_sdk_agree() -> None:
    assert HOST_VERSION == PULUMI_VERSION
    gomod = found("stackfox_provider/toolchain/gomod/go.mod", r"github\.com/pulumi/pulumi/(?:pkg|sdk)/v3 v(\S+)")
    assert set(gomod) == {PULUMI_VERSION}
    assert found("Makefile", r"(?m)^PULUMI_SDK := (\S+)$") == [PULUMI_VERSION]
    assert found("Makefile", r"'pulumi==\$\(PULUMI_SDK\)'"), "the dev venv no longer pins the SDK"


def test_the_declared_sdk_range_is_the_one_ci_tests_and_the_readme_names() -> None:
    assert found("pyproject.toml", r'"pulumi([<>=!~][^"]*)"') == [f">={LOWEST},<4"]
    assert release(LOWEST) <= release(PULUMI_VERSION) <= release(NEWEST) < (4,)
    for doc in ("README.md", "docs/toolchain.md"):
        assert f"`pulumi>={LOWEST},<4`" in (ROOT / doc).read_text(), doc
    tested = found("README.md", r"(?m)^\| (3\.\d+\.\d+) \([^)|]*\) \| v(3\.\d+\.\d+) \|")
    assert set(tested) == {(LOWEST, PULUMI_VERSION), (PULUMI_VERSION, PULUMI_VERSION), (NEWEST, PULUMI_VERSION)}


def test_the_docs_and_the_ci_examples_name_it_too() -> None:
    for workflow in ("stackfox-plan.yml", "stackfox-drift.yml"):
        assert set(found(f"examples/github-actions/{workflow}", r"pulumi-version: (\S+)")) == {PULUMI_VERSION}
    assert set(found("docs/toolchain.md", r"v(3\.[1-9]\d*\.\d+)\b(?!-)")) == {PULUMI_VERSION}  # not pseudo-versions
    assert set(found("README.md", r"v(3\.\d+)\.[0-9x]+")) == {MINOR}
