"""The typed inputs programs and editors see follow the inputs models, and mypy checks programs with them.

Each resource's inputs model stays the one source: the constructor's annotations and the nested inputs'
``TypedDict`` types must accept what the model accepts (keys, required keys, value types, literal values), and
the constructor's docstring and each key's docstring must say what the model's description says.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType, NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import mypy.api
import pulumi
import pydantic
import pytest

from stackfox_provider import incidentfox, stackflow
from stackfox_provider.resources._common import StackfoxResource
from stackfox_provider.resources.catalog import RESOURCES

ROOT = Path(__file__).parents[3]
PROGRAMS = ROOT / "tests" / "typing"
NAMES = [resource.__name__ for resource in RESOURCES]
PUBLIC: tuple[ModuleType, ...] = (incidentfox, stackflow)
#: What ``pulumi.Input``'s forward reference names: ``Input[X]`` is ``X | Awaitable[X] | "Output[T]"``, with T unbound.
PULUMI_NAMES = {"Output": pulumi.Output, "T": pulumi.output.T}
#: Kinds of alternatives that hold other types (compared member by member), as ``alternatives`` names them.
CONTAINERS = ("list", "dict", "object")


def alternatives(annotation: Any) -> frozenset[Any]:
    """What ``annotation`` accepts, comparable across a model and a ``TypedDict``: scalars by name, ``None``,
    ``("literal", values)``, ``("list", items)``, ``("dict", values)`` and ``("object", class)``. Constraints,
    mapping keys (always strings) and the ``Awaitable``/``Output`` of ``pulumi.Input`` (which takes ``X`` too) are left
    out."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return alternatives(args[0])
    if origin in (Union, UnionType):
        return frozenset().union(*(alternatives(arg) for arg in args))
    if origin is Awaitable:
        return alternatives(args[0])
    if origin is pulumi.Output:
        return frozenset()
    if origin is Literal:
        return frozenset({("literal", frozenset(args))})
    if origin in (list, Sequence):
        return frozenset({("list", alternatives(args[0]))})
    if origin in (dict, Mapping):
        return frozenset({("dict", alternatives(args[1]))})
    if annotation is NoneType:
        return frozenset({None})
    if annotation is Any:
        return frozenset({"any"})
    if is_typeddict(annotation) or (isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)):
        return frozenset({("object", annotation)})
    assert annotation in (str, bool, int, float), f"no rule for {annotation!r}"
    return frozenset({annotation.__name__})


def _of_kind(kind: str, accepted: frozenset[Any]) -> list[Any]:
    return [item[1] for item in accepted if isinstance(item, tuple) and item[0] == kind]


def key_docstrings(typed_dict: type) -> dict[str, str]:
    """The docstring under each key of a ``TypedDict`` (what editors show for the key)."""
    body = ast.parse(textwrap.dedent(inspect.getsource(typed_dict))).body[0]
    assert isinstance(body, ast.ClassDef)
    return {
        key.target.id: doc.value.value
        for key, doc in zip(body.body, body.body[1:], strict=False)
        if isinstance(key, ast.AnnAssign) and isinstance(key.target, ast.Name)
        and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str)
    }  # fmt: skip


def words(text: str | None) -> str:
    return " ".join((text or "").split())


class Walk:
    """Compares a resource's constructor with its inputs model, and each ``TypedDict`` met with the model it
    stands for, down to the last nested key."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.typed_dicts: dict[type, type[pydantic.BaseModel]] = {}

    def resource(self, resource: type[StackfoxResource]) -> Walk:
        model = resource.provider_class.inputs_model
        hints = get_type_hints(resource.__init__, localns=PULUMI_NAMES)
        parameters = inspect.signature(resource.__init__).parameters
        for name, field in model.model_fields.items():
            if (parameters[name].default is inspect.Parameter.empty) != field.is_required():
                self.problems.append(f"{name}: required in only one of the constructor and {model.__name__}")
            # An optional keyword defaults to None (unset), whether or not the model takes None.
            self.compare(name, alternatives(hints[name]) - {None}, alternatives(field.annotation) - {None})
        return self

    def compare(self, path: str, typed: frozenset[Any], model: frozenset[Any]) -> None:
        for kind in CONTAINERS:
            typed_inner, model_inner = _of_kind(kind, typed), _of_kind(kind, model)
            if len(typed_inner) != len(model_inner) or len(typed_inner) > 1:
                self.problems.append(f"{path}: {kind} types {typed_inner} where the model has {model_inner}")
            elif typed_inner and kind == "object":
                self.typed_dict(path, typed_inner[0], model_inner[0])
            elif typed_inner:
                self.compare(f"{path}[]", typed_inner[0], model_inner[0])
        plain = [{item for item in side if not (isinstance(item, tuple) and item[0] in CONTAINERS)}
                 for side in (typed, model)]  # fmt: skip
        if plain[0] != plain[1]:
            self.problems.append(f"{path}: takes {sorted(map(str, plain[0]))}, the model {sorted(map(str, plain[1]))}")

    def typed_dict(self, path: str, typed_dict: Any, model: type[pydantic.BaseModel]) -> None:
        if not is_typeddict(typed_dict):
            self.problems.append(f"{path}: {typed_dict.__name__} is not a TypedDict for {model.__name__}")
            return
        self.typed_dicts[typed_dict] = model
        hints, fields = get_type_hints(typed_dict, localns=PULUMI_NAMES), model.model_fields
        docs, names = key_docstrings(typed_dict), f"{typed_dict.__name__} and {model.__name__}"
        if set(hints) != set(fields):
            self.problems.append(f"{path}: the keys of {names} differ: {sorted(hints)}, {sorted(fields)}")
        for key in hints.keys() & fields.keys():
            field = fields[key]
            if (key in typed_dict.__required_keys__) != field.is_required():
                self.problems.append(f"{path}.{key}: required in only one of {names}")
            typed, accepted = alternatives(hints[key]), alternatives(field.annotation)
            if len(typed) == 1 and _of_kind("object", typed):
                accepted -= {None}  # a nested TypedDict alone, in no union: mypy checks its dict literal key by key
            self.compare(f"{path}.{key}", typed, accepted)
            if words(docs.get(key)) != words(field.description):
                self.problems.append(f'{path}.{key}: the key\'s docstring should be """{words(field.description)}"""')


@pytest.mark.parametrize("resource", RESOURCES, ids=NAMES)
def test_the_constructor_and_its_typed_dicts_take_what_the_model_takes(resource: type[StackfoxResource]) -> None:
    assert Walk().resource(resource).problems == []


def test_every_typed_dict_is_importable_from_the_public_modules() -> None:
    walk = Walk()
    for resource in RESOURCES:
        walk.resource(resource)
    public = {getattr(module, name) for module in PUBLIC for name in module.__all__}
    assert walk.typed_dicts, "the walk found no TypedDict"
    assert sorted(td.__name__ for td in walk.typed_dicts if td not in public) == []


PARAM = re.compile(r":param (\w+): (.*)")


def param_docs(function: Callable[..., Any]) -> dict[str, str]:
    """``:param name: text`` of a docstring (text continued on indented lines), in order."""
    docs: dict[str, str] = {}
    current = None
    for line in (inspect.getdoc(function) or "").splitlines():
        match = PARAM.fullmatch(line)
        if match:
            current, docs[match[1]] = match[1], match[2]
        elif current and line.startswith(" "):
            docs[current] += " " + line.strip()
        else:
            current = None
    return docs


def expected_params(resource: type[StackfoxResource], docs: Mapping[str, str]) -> str:
    """The ``:param`` lines the constructor's docstring should have, wrapped as the modules write them."""
    fields = resource.provider_class.inputs_model.model_fields
    lines = []
    for name in list(inspect.signature(resource.__init__).parameters)[1:]:
        text = words(fields[name].description) if name in fields else docs.get(name, "...")
        lines += textwrap.wrap(f":param {name}: {text}", width=112, subsequent_indent="    ",
                               break_long_words=False, break_on_hyphens=False)  # fmt: skip
    return "\n".join(lines)


@pytest.mark.parametrize("resource", RESOURCES, ids=NAMES)
def test_the_constructor_docstring_describes_each_input_as_the_model_does(resource: type[StackfoxResource]) -> None:
    fields = resource.provider_class.inputs_model.model_fields
    docs = param_docs(resource.__init__)
    expected = expected_params(resource, docs)
    assert list(docs) == list(inspect.signature(resource.__init__).parameters)[1:], expected
    assert all(docs[name] for name in ("resource_name", "opts")), expected
    described = {name: words(field.description) for name, field in fields.items()}
    assert {name: words(docs[name]) for name in fields} == described, expected


MESSAGE = re.compile(r"(?P<path>[^:]+):(?P<line>\d+): (?P<kind>error|note): (?P<message>.*)")
#: How program_typo.py marks a line mypy must refuse, and with what words.
MARK = re.compile(r"\s# error: (?P<text>.+)$")


def test_mypy_accepts_typed_programs_and_refuses_each_misspelt_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """program_ok.py and the root project's program pass ``mypy --strict``; program_typo.py fails where marked."""
    ok, root_program, typo = PROGRAMS / "program_ok.py", ROOT / "__main__.py", PROGRAMS / "program_typo.py"
    monkeypatch.chdir(ROOT)  # mypy finds stackfox_provider (installed editable) from the checkout
    stdout, stderr, _ = mypy.api.run([
        "--strict", "--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary",
        "--cache-dir", str(ROOT / ".mypy_cache" / "typing-programs"), str(ok), str(root_program), str(typo),
    ])  # fmt: skip
    assert not stderr
    errors: dict[tuple[str, int], list[str]] = {}
    for line in stdout.splitlines():
        match = MESSAGE.fullmatch(line)
        assert match, line
        if match["kind"] == "error":
            errors.setdefault((Path(match["path"]).name, int(match["line"])), []).append(match["message"])
    expected = {
        (typo.name, number): mark["text"]
        for number, line in enumerate(typo.read_text().splitlines(), start=1)
        if (mark := MARK.search(line))
    }
    assert sorted(errors) == sorted(expected), stdout
    missing = {where: text for where, text in expected.items() if not any(text in error for error in errors[where])}
    assert missing == {}, stdout
