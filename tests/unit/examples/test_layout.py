"""Every directory in examples/ is a complete Pulumi project that a test runs, and the READMEs say how.

A project: ``Pulumi.yaml`` (a Python runtime with a virtualenv, its program present), a ``requirements.txt``
naming ``stackfox-provider`` and a ``README.md``. The repository README's Examples table has a row for each,
saying whether it is tested against the sandbox (by an e2e test) or under Pulumi's mocks (by a unit test) and
naming that test, which exists and names the example; the example's own README names the same test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.unit.examples.environments import CHECKOUT

EXAMPLES = CHECKOUT / "examples"
NAMES = sorted(path.name for path in EXAMPLES.iterdir() if path.is_dir() and not path.name.startswith((".", "_")))
#: How an example can be tested, and where such a test lives.
HOW = {"against the sandbox": "tests/e2e/", "under Pulumi's mocks": "tests/unit/"}
TEST_FILE = re.compile(r"tests/[\w/]+\.py")


@dataclass(frozen=True)
class Row:
    """An example's row in the README's Examples table."""

    how: str
    test: str


def examples_section() -> str:
    """The README's Examples section: from its heading to the next heading of its level or above."""
    readme = (CHECKOUT / "README.md").read_text()
    match = re.search(r"(?ms)^(#{2,3}) Examples\n(.*?)(?=^#{2,3} )", readme)
    assert match, "README.md has no Examples section"
    return match.group(2)


def readme_rows() -> dict[str, Row]:
    """Example name → how its row in the README's Examples table says it is tested."""
    rows: dict[str, Row] = {}
    for line in examples_section().splitlines():
        linked = re.match(r"\| \[`examples/([\w.-]+)`\]\(examples/\1/?\) \|", line)
        if linked is None:
            continue
        hows = [how for how in HOW if how in line]
        tests = TEST_FILE.findall(line)
        assert len(hows) == 1, f"the row of {linked.group(1)} says neither or both of {list(HOW)}: {line}"
        assert len(set(tests)) == 1, f"the row of {linked.group(1)} names no test, or several: {line}"
        assert linked.group(1) not in rows, f"{linked.group(1)} has two rows"
        rows[linked.group(1)] = Row(hows[0], tests[0])
    return rows


def project(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name / "Pulumi.yaml").read_text())
    return document


def test_there_are_examples_and_the_readme_lists_exactly_them() -> None:
    assert {"github-actions", "stackflow-aws"} <= set(NAMES)
    assert sorted(readme_rows()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_an_example_is_a_complete_python_project(name: str) -> None:
    directory = EXAMPLES / name
    document = project(name)
    runtime = document["runtime"]
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}

    assert isinstance(document.get("name"), str) and document["name"], "Pulumi.yaml names the project"
    assert (runtime["name"] if isinstance(runtime, dict) else runtime) == "python"
    assert options.get("virtualenv"), "the engine makes the project's virtualenv from requirements.txt"
    assert (directory / document.get("main", "") / "__main__.py").is_file(), "the program is there"
    requirements = (directory / "requirements.txt").read_text().splitlines()
    assert [line for line in requirements if re.match(r"stackfox-provider\b", line.strip())], requirements
    assert (directory / "README.md").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_the_readmes_say_how_an_example_is_tested_and_that_test_runs_it(name: str) -> None:
    row = readme_rows()[name]
    test = CHECKOUT / row.test

    assert row.test.startswith(HOW[row.how]), f"{name} is tested {row.how}, so by a test in {HOW[row.how]}"
    assert test.is_file(), row.test
    assert f'"examples" / "{name}"' in test.read_text() or f"examples/{name}" in test.read_text(), row.test
    assert row.test in (EXAMPLES / name / "README.md").read_text(), f"{name}'s README names {row.test}"


def test_the_section_reader_finds_rows_and_refuses_a_row_that_does_not_say_how(monkeypatch: pytest.MonkeyPatch) -> None:
    good = "| [`examples/a`](examples/a/) | x | against the sandbox, by [`tests/e2e/t.py`](tests/e2e/t.py) |"
    bad = "| [`examples/b`](examples/b/) | x | by hand, by [`tests/unit/t.py`](tests/unit/t.py) |"
    monkeypatch.setattr(f"{__name__}.examples_section", lambda: f"intro\n\n{good}\n")

    assert readme_rows() == {"a": Row("against the sandbox", "tests/e2e/t.py")}
    monkeypatch.setattr(f"{__name__}.examples_section", lambda: f"{good}\n{bad}\n")
    with pytest.raises(AssertionError, match="says neither or both"):
        readme_rows()
