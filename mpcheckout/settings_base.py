"""Settings sections: frozen dataclasses checked when made, with pydantic as the reference.

Importing pydantic and building the settings' models cost every command more than the whole run
of `sqlite-utils tables` (callgrind, bench/README.md section 8). A section here is a keyword-only
frozen dataclass whose annotations carry the constraints pydantic applied (`Bounds`, `NoDecode`,
`Checked`). Making one runs a small check that takes only what pydantic takes unchanged or turns
in one obvious way: an int for an int, "5" for an int, a str for a secret. Anything else (a
conversion the check does not know, a value out of bounds, an unknown key, a wrong type) goes to
pydantic models built from the same declarations (`reference_model`), imported only then, so
every conversion and every error stays pydantic's own: `pydantic.ValidationError`, its messages
and locations. tests/unit/test_settings_base.py holds the two paths equal.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import operator
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import NoneType, UnionType
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Literal,
    dataclass_transform,
    get_args,
    get_origin,
)

if TYPE_CHECKING:
    import pydantic


class SecretStr:
    """A secret that no repr, str, log line or traceback shows; as pydantic's SecretStr."""

    __slots__ = ("_secret_value",)

    def __init__(self, secret_value: str) -> None:
        self._secret_value = secret_value

    def get_secret_value(self) -> str:
        return self._secret_value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._secret_value == self._secret_value

    def __hash__(self) -> int:
        return hash(self._secret_value)

    def __len__(self) -> int:
        return len(self._secret_value)

    def __str__(self) -> str:
        return "**********" if self._secret_value else ""

    def __repr__(self) -> str:
        return f"SecretStr({str(self)!r})"


class NoDecode:
    """Marks a list that an environment variable carries as `a,b` (split by `split_commas`)
    rather than as JSON. pydantic-settings has its own `NoDecode` marker, but importing it costs
    every command ~90 ms; config.py reads the environment itself and treats both alike."""


class Bounds:
    """pydantic's `Field(ge=…, gt=…, le=…, min_length=…, max_length=…)`."""

    __slots__ = ("ge", "gt", "le", "max_length", "min_length")

    def __init__(
        self,
        *,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
    ) -> None:
        self.ge, self.gt, self.le = ge, gt, le
        self.min_length, self.max_length = min_length, max_length

    def admit(self, value: Any) -> bool:
        return (
            (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.min_length is None or len(value) >= self.min_length)
            and (self.max_length is None or len(value) <= self.max_length)
        )

    def as_pydantic(self) -> Any:
        from pydantic import Field

        given = {name: getattr(self, name) for name in self.__slots__}
        return Field(**{name: value for name, value in given.items() if value is not None})


class Checked:
    """A check run on the converted value (pydantic's `AfterValidator`): it returns the value or
    raises ValueError with the message a user sees."""

    __slots__ = ("check",)

    def __init__(self, check: Callable[[Any], Any]) -> None:
        self.check = check


def split_commas(value: Any) -> Any:
    """Env vars carry lists as `a,b` or as JSON; TOML carries real arrays."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class _Refused:
    """What the fast check returns for a value it leaves to pydantic."""


REFUSED: Any = _Refused()
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_DECIMAL = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


@dataclass_transform(
    kw_only_default=True, frozen_default=True, field_specifiers=(dataclasses.field,)
)
class Section:
    """Base of every settings section: a frozen, keyword-only record, declared as a dataclass is
    (`name: type = default`, `field(default_factory=…)` for a list or a dict), whose constructor
    checks what it is given (defaults are trusted, as pydantic trusts them) and raises pydantic's
    ValidationError for what the check cannot take. Not made by `dataclasses.dataclass`: it
    compiles six methods per class from source, ~4 million instructions each time, and
    a command loads all the sections; these methods are written once, here."""

    __field_types__: ClassVar[dict[str, Any]]  # name -> annotation, in declaration order
    __defaults__: ClassVar[dict[str, Any]]
    __default_factories__: ClassVar[dict[str, Callable[[], Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__field_types__ = inspect.get_annotations(cls)
        cls.__defaults__, cls.__default_factories__ = {}, {}
        for name in cls.__field_types__:
            default = cls.__dict__.get(name, dataclasses.MISSING)
            if isinstance(default, dataclasses.Field):
                cls.__default_factories__[name] = default.default_factory  # type: ignore[assignment]
                delattr(cls, name)
            elif default is dataclasses.MISSING:
                raise TypeError(f"{cls.__name__}.{name}: every setting needs a default")
            else:
                cls.__defaults__[name] = default

    def __init__(self, **given: Any) -> None:
        values = _accepted_values(type(self), given)
        if values is REFUSED:
            values = _values_by_reference(type(self), given)
        _fill(self, values)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__field_types__)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__field_types__)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    @classmethod
    def model_validate(cls, data: Any) -> Any:
        """An instance made from a mapping of values, as pydantic's `model_validate`."""
        made = _accept_section(cls, data)
        if made is REFUSED:
            made = _made(cls, _values_by_reference(cls, data))
        return made

    def model_dump(self) -> dict[str, Any]:
        """Every field as plain values, sections as dicts, secrets still hidden."""
        return {name: _dump(getattr(self, name)) for name in self.__field_types__}


def _fill(instance: Section, values: Mapping[str, Any]) -> None:
    for name in instance.__field_types__:
        if name in values:
            value = values[name]
        elif name in instance.__default_factories__:
            value = instance.__default_factories__[name]()
        else:
            value = instance.__defaults__[name]
        object.__setattr__(instance, name, value)


def _made(cls: type[Section], values: Mapping[str, Any]) -> Section:
    instance = object.__new__(cls)
    _fill(instance, values)
    return instance


def _dump(value: Any) -> Any:
    if isinstance(value, Section):
        return value.model_dump()
    if isinstance(value, list):
        return [_dump(item) for item in value]
    if isinstance(value, dict):
        return {key: _dump(item) for key, item in value.items()}
    return value


def _accepted_values(cls: type[Section], data: Any) -> Any:
    """The given values, checked and converted, or REFUSED."""
    if type(data) is not dict or not data.keys() <= cls.__field_types__.keys():
        return REFUSED
    values = {}
    for name, value in data.items():
        accepted = _accept(cls.__field_types__[name], value)
        if accepted is REFUSED:
            return REFUSED
        values[name] = accepted
    return values


def _accept_section(cls: type[Section], data: Any) -> Any:
    if type(data) is cls:
        return data  # an instance is taken as it is, as pydantic takes a model instance
    values = _accepted_values(cls, data)
    return REFUSED if values is REFUSED else _made(cls, values)


def _accept(annotation: Any, value: Any) -> Any:
    """`value` as pydantic would make it for `annotation`, or REFUSED when that is not certain."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _accept_annotated(annotation, value)
    if isinstance(annotation, UnionType):
        return _accept_optional(get_args(annotation), value)
    if origin is Literal:
        return value if type(value) is str and value in get_args(annotation) else REFUSED
    if origin is list:
        return _accept_list(get_args(annotation)[0], value)
    if origin is dict:
        key_type, value_type = get_args(annotation)
        return _accept_dict(key_type, value_type, value)
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return _accept_section(annotation, value)
    scalar = _SCALARS.get(annotation)
    return REFUSED if scalar is None else scalar(value)


def _accept_annotated(annotation: Any, value: Any) -> Any:
    base, *metadata = get_args(annotation)
    if NoDecode in metadata:
        try:
            value = split_commas(value)
        except ValueError:
            return REFUSED
    value = _accept(base, value)
    for rule in metadata:
        if value is REFUSED:
            break
        if isinstance(rule, Bounds) and value is not None and not rule.admit(value):
            value = REFUSED
        elif isinstance(rule, Checked):
            try:
                value = rule.check(value)
            except ValueError:
                value = REFUSED
    return value


def _accept_optional(members: tuple[Any, ...], value: Any) -> Any:
    if value is None:
        return None if NoneType in members else REFUSED
    others = [member for member in members if member is not NoneType]
    return _accept(others[0], value) if len(others) == 1 else REFUSED


def _accept_list(item_type: Any, value: Any) -> Any:
    if type(value) is not list:
        return REFUSED
    items = [_accept(item_type, item) for item in value]
    return REFUSED if any(item is REFUSED for item in items) else items


def _accept_dict(key_type: Any, value_type: Any, value: Any) -> Any:
    if type(value) is not dict:
        return REFUSED
    items = {_accept(key_type, key): _accept(value_type, item) for key, item in value.items()}
    refused = REFUSED in items or any(item is REFUSED for item in items.values())
    return REFUSED if refused or len(items) != len(value) else items


def _accept_str(value: Any) -> Any:
    return value if type(value) is str else REFUSED


def _accept_int(value: Any) -> Any:
    if type(value) is int:
        return value
    return int(value) if type(value) is str and _INTEGER.fullmatch(value) else REFUSED


def _accept_float(value: Any) -> Any:
    if type(value) is float:
        return value
    if type(value) is int and abs(value) < 2**53:
        return float(value)
    return float(value) if type(value) is str and _DECIMAL.fullmatch(value) else REFUSED


def _accept_bool(value: Any) -> Any:
    if type(value) is bool:
        return value
    return _BOOLEANS.get(value, REFUSED) if type(value) is str else REFUSED


def _accept_decimal(value: Any) -> Any:
    if type(value) is Decimal:
        return value if value.is_finite() else REFUSED
    if type(value) is int:
        return Decimal(value)
    return Decimal(value) if type(value) is str and _DECIMAL.fullmatch(value) else REFUSED


def _accept_secret(value: Any) -> Any:
    if type(value) is SecretStr:
        return value
    return SecretStr(value) if type(value) is str else REFUSED


def _accept_none(value: Any) -> Any:
    return None if value is None else REFUSED


_SCALARS: dict[Any, Callable[[Any], Any]] = {
    str: _accept_str,
    int: _accept_int,
    float: _accept_float,
    bool: _accept_bool,
    Decimal: _accept_decimal,
    SecretStr: _accept_secret,
    NoneType: _accept_none,
}


# The reference: the same declarations as pydantic models, built on first need.


def _values_by_reference(cls: type[Section], data: Any) -> dict[str, Any]:
    """The fields `data` sets, validated by pydantic (its ValidationError propagates). Defaults
    stay as declared, and a section given as an instance comes back as that instance."""
    originals: dict[int, Section] = {}
    model = reference_model(cls).model_validate(_to_reference(data, originals))
    values = _accepted_values(cls, _from_reference(model, originals))
    if values is REFUSED:
        raise AssertionError(f"pydantic accepted {cls.__name__} values the check refuses")
    return values  # type: ignore[no-any-return]


_REFERENCE_MODELS: dict[type[Section], type[pydantic.BaseModel]] = {}


def reference_model(cls: type[Section]) -> type[pydantic.BaseModel]:
    """`cls` as the pydantic model it was declared as before: same names, fields, constraints,
    defaults and extra="forbid", so its errors are the ones users always got."""
    if cls not in _REFERENCE_MODELS:
        _REFERENCE_MODELS[cls] = _build_reference_model(cls)
    return _REFERENCE_MODELS[cls]


def _build_reference_model(cls: type[Section]) -> type[pydantic.BaseModel]:
    import pydantic

    definitions: dict[str, Any] = {}
    for name, annotation in cls.__field_types__.items():
        factory = cls.__default_factories__.get(name)
        default = factory() if factory else cls.__defaults__[name]
        definitions[name] = (_reference_annotation(annotation), _to_reference(default, {}))
    config = pydantic.ConfigDict(extra="forbid")
    return pydantic.create_model(
        cls.__name__, __config__=config, __module__=cls.__module__, **definitions
    )


def _reference_annotation(annotation: Any) -> Any:
    from pydantic import AfterValidator, BeforeValidator
    from pydantic import SecretStr as PydanticSecretStr

    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        converted: list[Any] = []
        for rule in metadata:
            if isinstance(rule, Bounds):
                converted.append(rule.as_pydantic())
            elif isinstance(rule, Checked):
                converted.append(AfterValidator(rule.check))
            else:
                converted.append(rule)
        if NoDecode in metadata:  # last, so it wraps the rest as the field validator it was
            converted.append(BeforeValidator(split_commas))
        return Annotated[(_reference_annotation(base), *converted)]
    if isinstance(annotation, UnionType):
        return functools.reduce(operator.or_, map(_reference_annotation, get_args(annotation)))
    if origin in (list, dict):
        return origin[tuple(map(_reference_annotation, get_args(annotation)))]
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return reference_model(annotation)
    return PydanticSecretStr if annotation is SecretStr else annotation


def _to_reference(value: Any, originals: dict[int, Section]) -> Any:
    """What pydantic is given: sections as their reference models (each noted in `originals`),
    secrets as its SecretStr."""
    if isinstance(value, Section):
        fields = {
            name: _to_reference(getattr(value, name), originals) for name in value.__field_types__
        }
        reference = reference_model(type(value)).model_construct(**fields)
        originals[id(reference)] = value
        return reference
    if isinstance(value, SecretStr):
        from pydantic import SecretStr as PydanticSecretStr

        return PydanticSecretStr(value.get_secret_value())
    if type(value) is list:
        return [_to_reference(item, originals) for item in value]
    if type(value) is dict:
        return {key: _to_reference(item, originals) for key, item in value.items()}
    return value


def _from_reference(value: Any, originals: dict[int, Section]) -> Any:
    """What pydantic made, as values the check takes unchanged: a model as the fields it was
    given (pydantic leaves defaults alone), or as the section it was made from."""
    import pydantic

    if id(value) in originals:
        return originals[id(value)]
    if isinstance(value, pydantic.BaseModel):
        given = sorted(value.model_fields_set, key=list(type(value).model_fields).index)
        return {name: _from_reference(getattr(value, name), originals) for name in given}
    if isinstance(value, pydantic.SecretStr):
        return SecretStr(value.get_secret_value())
    if isinstance(value, list):
        return [_from_reference(item, originals) for item in value]
    if isinstance(value, dict):
        return {key: _from_reference(item, originals) for key, item in value.items()}
    return value
