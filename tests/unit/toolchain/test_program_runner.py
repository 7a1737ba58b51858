"""stackfox's program runner (``pulumi-language-python-exec``) runs programs as Pulumi's own runner does.

Upstream runs the entry point with ``runpy.run_path`` after changing to the program directory: a
directory program has its directory on ``sys.path`` while it runs, a file program (``main: app.py``)
gets nothing added, so its sibling modules do not import. Unhandled exceptions are shown from the
program's first frame on.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import stackfox_provider.toolchain

RUNNER = Path(stackfox_provider.toolchain.__file__).parent / "shims" / "pulumi-language-python-exec"
RECORD_SYS_PATH = "import json, sys\nopen({out!r}, 'w').write(json.dumps(sys.path))\n"


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("stackfox_program_runner", str(RUNNER))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture
def clean_sys_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    yield


def test_a_directory_program_has_its_directory_on_sys_path_while_it_runs(
    runner: ModuleType, tmp_path: Path, clean_sys_path: None
) -> None:
    program = tmp_path / "project"
    program.mkdir()
    (program / "__main__.py").write_text(RECORD_SYS_PATH.format(out=str(tmp_path / "path.json")))
    before = list(sys.path)

    runner.run_program(str(program))

    assert json.loads((tmp_path / "path.json").read_text())[0] == str(program)
    assert sys.path == before, "runpy takes the directory off again"


def test_a_file_program_gets_nothing_added_to_sys_path(
    runner: ModuleType, tmp_path: Path, clean_sys_path: None
) -> None:
    (tmp_path / "app.py").write_text(RECORD_SYS_PATH.format(out=str(tmp_path / "path.json")))
    before = list(sys.path)

    runner.run_program("app.py")

    assert json.loads((tmp_path / "path.json").read_text()) == before
    (tmp_path / "imports_sibling.py").write_text("import helper_next_to_it\n")
    (tmp_path / "helper_next_to_it.py").write_text("")
    with pytest.raises(ModuleNotFoundError, match="helper_next_to_it"):
        runner.run_program("imports_sibling.py")


def test_a_directory_without_main_is_named(
    runner: ModuleType, tmp_path: Path, clean_sys_path: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without __main__.py in the directory runpy looks for a `__main__` module on sys.path, as in the runner's
    # own process, where only the standard library and site-packages are on it (here the checkout is, too).
    monkeypatch.setattr(sys, "path", [sysconfig.get_paths()["stdlib"]])

    with pytest.raises(runner.ProgramNotFound) as missing:
        runner.run_program(str(tmp_path))

    assert str(missing.value) == f"unable to find main python program `__main__.py` in `{tmp_path}`"


def test_an_unhandled_exception_is_shown_from_the_programs_first_frame(
    runner: ModuleType, tmp_path: Path, clean_sys_path: None
) -> None:
    (tmp_path / "lib.py").write_text("def fail():\n    raise ValueError('broken on purpose')\n")
    (tmp_path / "__main__.py").write_text("import lib\nlib.fail()\n")

    with pytest.raises(ValueError) as raised:
        runner.run_program(".")
    shown = runner.user_traceback(".", raised.value)

    assert shown.startswith("Traceback (most recent call last):\n")
    frames = [line.strip() for line in shown.splitlines() if line.strip().startswith("File ")]
    assert [frame.split('"')[1] for frame in frames] == [str(tmp_path / "__main__.py"), str(tmp_path / "lib.py")]
    assert shown.endswith("ValueError: broken on purpose\n")
    assert "runpy" not in shown and str(RUNNER) not in shown
