"""What every stackfox dynamic provider shares: input validation in ``check()`` and preview unknowns."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from types import UnionType
from typing import Annotated, Any, ClassVar, Generic, TypeVar, Union, get_args, get_origin
from urllib.parse import urlsplit

import pulumi
import pydantic
from pulumi.dynamic import CheckFailure, CheckResult, ConfigureRequest, Resource, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from stackfox_provider import process, settings
from stackfox_provider.normalize import integral, same
from stackfox_provider.resources import _warm_up
from stackfox_provider.urls import mask_url

PROVIDER_KEY = "__provider"
#: Longest URL stackfox accepts anywhere (what browsers and most proxies handle).
MAX_URL_LENGTH = 2048
#: Longest value shown back in a message.
SHOWN = 60
#: Input paths whose values are never shown back (credentials).
SECRET_KEYS = frozenset({"token", "env", "headers", "password"})


class StrictModel(pydantic.BaseModel):
    """Inputs model: unknown properties are errors, and values are never coerced ("yes" is not a bool)."""

    model_config = pydantic.ConfigDict(extra="forbid", populate_by_name=True, strict=True, defer_build=True)


class Invalid(ValueError):
    """A refused value: ``problem`` and ``allowed`` become "<path>: <problem> (got <value>); <allowed>".

    ``path`` is relative to where the validator runs (a model validator names the field it refuses);
    ``value`` defaults to the input pydantic reports.
    """

    def __init__(self, problem: str, allowed: str = "", *, path: tuple[str | int, ...] = (), value: Any = ...) -> None:
        super().__init__(problem)
        self.problem = problem
        self.allowed = allowed
        self.path = path
        self.value = value


def _whole_number(value: Any) -> Any:
    """Pulumi sends every number as a float: a whole one (12.0) is the int 12; 12.5, "12" and True stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An integer input: 12 and 12.0 are 12; 12.5, "12", True are refused.
Int = Annotated[int, pydantic.BeforeValidator(_whole_number), pydantic.Strict()]
#: A number input: ints and floats, never strings, booleans, NaN or infinity.
Number = Annotated[float, pydantic.Strict(), pydantic.AllowInfNan(False)]
Str = pydantic.StrictStr
Bool = pydantic.StrictBool


def _key(key: str) -> str:
    if not key:
        raise Invalid("is an empty key", "keys must be non-empty")
    if "." in key:
        raise Invalid("is a key with a '.'", "a '.' would make the config path ambiguous; use '_' or '-'")
    if any(char.isspace() or not char.isprintable() for char in key):
        raise Invalid("is a key with whitespace or a control character", "use letters, digits, '_' or '-'")
    return key


#: A key that becomes one segment of a config path: non-empty, no '.', no whitespace.
Key = Annotated[str, pydantic.Strict(), pydantic.AfterValidator(_key)]


def nonblank(max_length: int) -> pydantic.StringConstraints:
    """Constraints of a string of 1..``max_length`` characters with something besides whitespace:
    ``Annotated[str, nonblank(200)]``."""
    return pydantic.StringConstraints(strict=True, min_length=1, max_length=max_length, pattern=r"\S")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def _valid_host(host: str) -> bool:
    if host.startswith("["):
        try:
            return isinstance(ipaddress.ip_address(host.strip("[]")), ipaddress.IPv6Address)
        except ValueError:
            return False
    if len(host) > 253 or not host.isascii():
        return False
    return all(_HOST_LABEL.match(label) for label in host.rstrip(".").split("."))


def check_url(url: str, *, http: str = "loopback", example: str = "https://hooks.example.com/path") -> str:
    """Refuse what a service would store but never reach safely; ``http``: "any", "loopback" or a hint why not.

    No whitespace or control characters anywhere, a valid host, a port in 1..65535, at most
    ``MAX_URL_LENGTH`` characters, no ``user:password@`` and https, except (``http="loopback"``) for
    loopback hosts.
    """
    if len(url) > MAX_URL_LENGTH:
        raise Invalid(f"is too long: {len(url)} characters", f"a URL has at most {MAX_URL_LENGTH}")
    bad = next((i for i, char in enumerate(url) if char.isspace() or not char.isprintable()), None)
    if bad is not None:
        raise Invalid(
            f"contains whitespace or a control character ({url[bad]!r} at position {bad})",
            "percent-encode it (e.g. %20) or remove it",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("is not an absolute https:// URL", f"e.g. {example}")
    if "@" in parts.netloc:
        raise Invalid(
            "embeds credentials (user:password@)",
            "put credentials in secret stack config or a secret header, never in the URL (it would be stored unmasked)",
        )
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    if not host or not _valid_host(host):
        raise Invalid("has no valid host", f"a DNS name or IP address, e.g. {example}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (port is not None and not 1 <= port <= 65535) or parts.netloc.endswith(":"):
        raise Invalid("has an invalid port", "a port is a number from 1 to 65535")
    if parts.scheme == "http" and http != "any" and not (http == "loopback" and is_loopback(parts.hostname or "")):
        allowed = "plain http is allowed only for loopback hosts" if http == "loopback" else http
        raise Invalid("must use https", allowed)
    return url


def show(value: Any, path: tuple[str | int, ...] = ()) -> str:
    """``value`` as a message shows it: credentials masked, at most ``SHOWN`` characters."""
    if any(part in SECRET_KEYS for part in path):
        return "(secret)"
    if isinstance(value, str):
        if len(value) > 10 * SHOWN:
            value = value[: 2 * SHOWN]
        value = mask_url(value)
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 3]}..."


def is_unknown(value: Any) -> bool:
    """True when ``value`` is, or contains, a value Pulumi will only know after apply (preview): the SDK
    passes an output of another resource that is not known yet as ``Unknown()``, or as its sentinel string."""
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Unknown):
        return True
    if isinstance(value, pydantic.BaseModel):
        return is_unknown(dict(value))
    if isinstance(value, Mapping):
        return any(is_unknown(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(item) for item in value)
    return False


def without_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in props.items() if key != PROVIDER_KEY}


def _plural(count: Any, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _size(value: Any) -> str:
    if not isinstance(value, str | list):
        return ""
    return f" ({_plural(len(value), 'character' if isinstance(value, str) else 'item')})"


def explain(error: Any, model: type[pydantic.BaseModel] | None = None) -> tuple[str, str]:
    """A pydantic error as (what is wrong, what is allowed)."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    message = str(error["msg"]).removeprefix("Value error, ")
    if isinstance(ctx.get("error"), Invalid):
        return ctx["error"].problem, ctx["error"].allowed
    simple = {
        "missing": ("is required", ""),
        "bool_type": ("is not a boolean", "true or false, not a string or a number"),
        "int_type": ("is not a whole number", "an integer, not a string, a fraction or a boolean"),
        "float_type": ("is not a valid number", "a number, not a string or a boolean"),
        "finite_number": ("is not a finite number", "a number, not NaN or infinity"),
        "string_type": ("is not a string", "a string"),
        "dict_type": ("is not an object", "an object (a dict)"),
        "model_type": ("is not an object", "an object (a dict)"),
        "list_type": ("is not a list", "a list"),
        "string_too_short": ("is empty", f"at least {_plural(ctx.get('min_length'), 'character')}"),
        "string_too_long": ("is too long" + _size(value), f"at most {_plural(ctx.get('max_length'), 'character')}"),
        "too_long": ("has too many items" + _size(value), f"at most {_plural(ctx.get('max_length'), 'item')}"),
        "too_short": ("has too few items", f"at least {_plural(ctx.get('min_length'), 'item')}"),
    }
    if kind in simple:
        return simple[kind]
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == r"\S":
            return "is blank", "something besides whitespace"
        return "does not match the allowed form", message
    if kind == "extra_forbidden":
        return "is not a known property; check its spelling", ""
    if kind == "literal_error":
        return "is not allowed", message.replace("Input should be", "one of")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return "is out of range", message.replace("Input should be", "must be")
    return message, ""


def _clean_path(loc: tuple[Any, ...], data: Any, kind: str) -> tuple[tuple[str | int, ...], bool]:
    """``loc`` without pydantic's union tags ('str', 'function-after[...]', '[key]'), and whether it had any."""
    path: list[str | int] = []
    node, dropped = data, False
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if _has(node, part):
            path.append(part)
            node = node[part]
        elif last and kind == "missing" and isinstance(node, Mapping):
            path.append(part)
        elif part == "[key]" and path:
            path.pop()  # a refused key: the failure belongs to the object holding it
            dropped = False
        else:
            dropped = True  # a union member's tag: the path goes on in the same value
    return tuple(path), dropped


def _extra_hint(model: type[pydantic.BaseModel], path: tuple[str | int, ...]) -> str:
    """For an unknown key: the known ones, and the escape hatch (``extra``) where there is one."""
    current: Any = model
    for part in path[:-1]:
        current = _step(current, part)
        if current is None:
            return ""
    if not (isinstance(current, type) and issubclass(current, pydantic.BaseModel)):
        return ""
    known = ", ".join(name for name in current.model_fields if name != "extra")
    hint = f"known: {known}"
    if "extra" in current.model_fields:
        parent = ".".join(str(part) for part in path[:-1])
        hint += f"; put extension keys under {parent}.extra" if parent else "; put extension keys under extra"
    return hint


def _step(annotation: Any, part: str | int) -> Any:
    """The type found at ``part`` inside ``annotation`` (a model, dict or list, optionally in a union)."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        field = annotation.model_fields.get(str(part))
        return _unwrap(field.annotation) if field else None
    origin = get_origin(annotation)
    if origin in (dict, Mapping) and get_args(annotation):
        return _unwrap(get_args(annotation)[1])
    if origin is list and get_args(annotation):
        return _unwrap(get_args(annotation)[0])
    return None


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        options = [_unwrap(arg) for arg in get_args(annotation) if arg is not type(None)]
        models = [arg for arg in options if isinstance(arg, type) and issubclass(arg, pydantic.BaseModel)]
        return models[0] if models else (options[0] if len(options) == 1 else None)
    return annotation


def _key_failures(value: Any, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str, str, Any]]:
    """Every empty key, at any depth of a free-form value: (path of its object, problem, allowed, key)."""
    found = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "":
                found.append((path, "has an empty key", "keys must be non-empty", key))
            else:
                found += _key_failures(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _key_failures(item, (*path, index))
    return found


def _failure(path: tuple[str | int, ...], problem: str, allowed: str, value: Any) -> CheckFailure:
    dotted = ".".join(str(part) for part in path)
    shown = "" if value is ... else f" (got {show(value, path)})"
    return CheckFailure(dotted, f"{dotted}: {problem}{shown}" + (f"; {allowed}" if allowed else ""))


def as_sentinel(value: Any) -> Any:
    """``value`` with each ``Unknown()`` as the SDK's unknown sentinel string, which the providers handle, and
    which (unlike ``Unknown()``) a check result and a pydantic model can carry."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {key: as_sentinel(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_sentinel(item) for item in value]
    return value


def validate(model: type[pydantic.BaseModel], news: Mapping[str, Any]) -> CheckResult:
    """Validate ``news`` with ``model``: one failure per bad property, normalized inputs back.

    Properties that are still unknown (preview) are left out of validation and passed through.
    Every failure names its property path, the value (credentials masked) and what is allowed.
    """
    props = as_sentinel(without_provider(news))
    unknown = {key for key, value in props.items() if is_unknown(value)}
    known = {key: value for key, value in props.items() if key not in unknown}
    found: dict[tuple[str | int, ...], tuple[str, str, Any, bool]] = {}
    for key_path, key_problem, key_allowed, key in _key_failures(known, ()):
        found.setdefault(key_path, (key_problem, key_allowed, key, False))
    try:
        inputs = model.model_validate(known).model_dump(mode="json", exclude_none=True)
    except pydantic.ValidationError as error:
        inputs = dict(known)
        for item in error.errors():
            if item["type"] == "missing" and item["loc"] and item["loc"][0] in unknown:
                continue
            path, tagged = _clean_path(item["loc"], known, item["type"])
            invalid = (item.get("ctx") or {}).get("error")
            value: Any = item.get("input")
            if isinstance(invalid, Invalid):
                path = (*path, *invalid.path)
                value = _at(known, path) if invalid.value is ... else invalid.value
            if item["type"] == "missing":
                value = ...
            problem, allowed = explain(item)
            if item["type"] == "extra_forbidden":
                allowed = _extra_hint(model, path)
            if not path:
                path = (next(iter(known), "inputs"),)  # never reached by the models: they name a property
            if path not in found or (found[path][3] and not tagged):
                found[path] = (problem, allowed, value, tagged)
    # A failure inside one member of a union (prompt.system) says more than "prompt is not a string".
    failures = [
        _failure(path, problem, allowed, value)
        for path, (problem, allowed, value, tagged) in found.items()
        if not (tagged and any(other[: len(path)] == path and other != path for other in found))
    ]
    inputs.update({key: props[key] for key in unknown})
    if PROVIDER_KEY in news:
        inputs[PROVIDER_KEY] = news[PROVIDER_KEY]
    return CheckResult(inputs, failures)


def _at(document: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        if not _has(document, part):
            return ...
        document = document[part]
    return document


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, Mapping):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _construct(annotation: Any, value: Any) -> Any:
    """``value`` as given, shaped as ``annotation`` (unwrapped): an object of a model becomes that model without
    validation (``model_construct``: a missing field gets its default), a whole number an int."""
    if isinstance(value, Mapping):
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            fields = {key: _construct(_step(annotation, key), item) for key, item in value.items()}
            return annotation.model_construct(**{key: fields[key] for key in annotation.model_fields if key in fields})
        return {key: _construct(_step(annotation, key), item) for key, item in value.items()}
    if isinstance(value, list):
        return [_construct(_step(annotation, index), item) for index, item in enumerate(value)]
    return integral(value)


#: A provider's inputs model (covariant: a Webhook provider is a provider of some inputs model).
InputsT = TypeVar("InputsT", bound=StrictModel, covariant=True)


class StackfoxProvider(ResourceProvider, Generic[InputsT]):
    """Base of stackfox's providers: keeps stack config in the process (not on the pickled object).

    The object is pickled into each resource's state with the resource's name and its stack's
    ``org/project/stack`` (never a credential), so that the operations can name the resource, tell it
    from others of the same run, and tell this stack's records in a service from another stack's.
    The stack is taken in the program: inside the provider process ``pulumi.get_stack()`` is "stack".
    """

    serialize_as_secret_always = False
    #: The service the resource configures, as reports name it ("IncidentFox", "StackFlow").
    service: ClassVar[str]
    #: The resource's inputs, validated by ``check()`` and parsed by every operation (``inputs_of``); set on the
    #: class (not a ClassVar only because a ClassVar cannot name a type variable).
    inputs_model: type[InputsT]
    #: Outputs the provider computes (never inputs of the program): reviews never compare them.
    computed_outputs: ClassVar[tuple[str, ...]] = ()
    #: Inputs that are always secrets (encrypted in state, masked in outputs and reviews).
    secret_inputs: ClassVar[tuple[str, ...]] = ()
    #: Outputs kept secret beside those inputs (e.g. recorded earlier values).
    secret_outputs: ClassVar[tuple[str, ...]] = ()
    #: Inputs whose change replaces the resource (it then manages another thing).
    replace_inputs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, resource_name: str | None = None) -> None:
        super().__init__()
        self.resource_name = resource_name
        organization = pulumi.get_organization() or "organization"  # what the file backend calls it
        self.stack_name = f"{organization}/{pulumi.get_project()}/{pulumi.get_stack()}"

    @property
    def name(self) -> str | None:
        """The resource's name; None in the state of resources created before stackfox recorded it."""
        return getattr(self, "resource_name", None)

    @property
    def stack(self) -> str | None:
        """``org/project/stack`` of the resource's stack; None in state recorded before stackfox kept it."""
        return getattr(self, "stack_name", None)

    def configure(self, req: ConfigureRequest) -> None:
        settings.load_stack_config(req.config)
        _warm_up.start()

    def verify_credentials(self, connection: Any) -> None:
        """Stop a run at once if the service rejects the credentials of ``connection`` (the stack's settings when
        None; a connection still unknown in preview is checked when known).

        ``diff`` calls this: it comes after ``check`` (bad input costs no call) and runs on every ``up`` and
        preview, so without it a run that writes nothing would pass with wrong credentials, and Pulumi would
        record them with the provider, for a later ``refresh`` or ``destroy`` to fail on. Only the first diff of
        each connection in the process asks the service; the later ones return at once, without making a client
        from the settings (the engine runs diffs one at a time, so each one's cost adds to the run's).
        """
        if is_unknown(connection) or not settings.check_credentials():
            return
        used = connection.model_dump_json() if connection is not None else "stack settings"
        key = (self.service, hashlib.sha256(used.encode()).hexdigest())  # a connection may hold a token

        def verified() -> bool:
            self._verify_credentials_now(connection)
            return True

        _verified.get(key, verified)

    def _verify_credentials_now(self, connection: Any) -> None:
        """Ask the service whether it takes the credentials of ``connection`` (see ``verify_credentials``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot verify its credentials")

    def inputs_of(self, props: Mapping[str, Any]) -> InputsT:
        """The resource's inputs in ``props`` (inputs ``check()`` returned, or outputs recorded in state).

        Only the model's fields are read (not computed outputs, nor ``__provider``); a field that state
        written before it existed lacks gets the model's default. Values that do not validate are taken
        as given, as the operations took them before they were typed: a value still unknown (preview
        runs ``check()`` and ``diff()`` with them), or state recorded under an earlier version's looser
        rules, which a refresh or delete must still handle.
        """
        model = self.inputs_model
        fields = as_sentinel({name: props[name] for name in model.model_fields if name in props})
        if not is_unknown(fields):
            try:
                return model.model_validate(fields)
            except pydantic.ValidationError:
                pass
        constructed: InputsT = _construct(model, fields)
        return constructed

    @staticmethod
    def props_of(
        inputs: StrictModel, *, include: Iterable[str] | None = None, exclude: Iterable[str] = ()
    ) -> dict[str, Any]:
        """``inputs`` as properties (outputs, state, what is written): JSON, without unset fields, whole numbers
        as ints (Pulumi sends every number as a float, and a free-form value keeps what it is sent)."""
        dumped = inputs.model_dump(
            mode="json",
            include=None if include is None else set(include),
            exclude=set(exclude),
            exclude_none=True,
            warnings=False,  # taken as given (inputs_of): a value of another type is written as it is
        )
        props: dict[str, Any] = integral(dumped)
        return props

    def changed_inputs(self, old: StrictModel, new: StrictModel) -> list[str]:
        """The inputs whose values differ, field by field as JSON compares them (12 is 12.0, a missing value
        is null); a value still unknown in preview differs from every known one."""
        before, after = self.props_of(old), self.props_of(new)
        return [name for name in self.inputs_model.model_fields if not same(before.get(name), after.get(name))]


#: The connections whose credentials a diff verified (``StackfoxProvider.verify_credentials``).
_verified: process.Registry[tuple[str, str], bool] = process.registry("verified credentials")


class StackfoxResource(Resource):
    """Base of stackfox's resource classes: each names its provider class once, and knows its type token."""

    provider_class: ClassVar[type[StackfoxProvider[StrictModel]]]
    _resource_type_name: ClassVar[str]  # set by Pulumi from the class statement's module= and name=

    @classmethod
    def type_token(cls) -> str:
        """``pulumi-python:dynamic/<module>:<name>``, as the engine names the type."""
        return f"pulumi-python:{cls._resource_type_name}"

    def _register(
        self, resource_name: str, arguments: Mapping[str, Any], opts: pulumi.ResourceOptions | None
    ) -> None:
        """Register the resource: its inputs are the ``arguments`` (the constructor's, by name) that are set and
        are fields of the inputs model, secret inputs wrapped as secrets; its declared outputs (the class's
        ``pulumi.Output`` attributes) are registered too, so each becomes an attribute.

        Unset inputs are not registered: the engine carries every registered property through every call, and a
        stack of hundreds of resources pays for each one in every preview (docs/performance.md).
        """
        provider = self.provider_class(resource_name)
        secrets = provider.secret_inputs
        props: dict[str, Any] = dict.fromkeys(self._declared_outputs())  # None: a value the engine fills in
        for name in provider.inputs_model.model_fields:
            value = arguments.get(name)
            if value is not None:
                props[name] = pulumi.Output.secret(value) if name in secrets else value
        kept = pulumi.ResourceOptions(additional_secret_outputs=[*secrets, *provider.secret_outputs])
        super().__init__(provider, resource_name, props, pulumi.ResourceOptions.merge(opts, kept))

    @classmethod
    def _declared_outputs(cls) -> tuple[str, ...]:
        """The names of the ``pulumi.Output`` attributes the class and its stackfox bases declare."""
        return tuple(
            name
            for owner in cls.__mro__
            if issubclass(owner, StackfoxResource) and owner is not StackfoxResource
            for name, annotation in vars(owner).get("__annotations__", {}).items()
            if "Output[" in str(annotation)
        )
