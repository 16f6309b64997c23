"""`record`: a dataclass that costs a command less to define.

`dataclasses.dataclass` compiles each method it generates from source, in every process, for
every class: a frozen class with slots is six compilations, ~4.3 million instructions
(callgrind), and `mpcheckout status --json` defined 65 of them before reading a row, a third of
its run. `record(...)` takes the same arguments and makes the same dataclass (fields, slots,
frozen, the generated `__init__`, `asdict`, `replace`) but lends it `__repr__`, `__eq__` and
`__hash__` written once, here, which behave as the generated ones do: the same text, equality
only between instances of one class over the fields with `compare`, a hash over the same
fields when frozen and none otherwise. A method the class defines itself is kept, as
`dataclass` keeps it. Type checkers see `dataclasses.dataclass` itself.
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from typing import TYPE_CHECKING, Any

__all__ = ["record"]

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:

    def record(cls: type | None = None, /, *, frozen: bool = False, **options: Any) -> Any:
        def make(cls: type) -> type:
            if not _hash_is_explicit(cls):
                cls.__hash__ = _record_hash if frozen else None
            _lend(cls, "__repr__", _record_repr)
            _lend(cls, "__eq__", _record_eq)
            made = dataclasses.dataclass(cls, frozen=frozen, repr=False, eq=False, **options)
            fields = dataclasses.fields(made)
            made.__record_shown__ = tuple(field.name for field in fields if field.repr)
            made.__record_compared__ = _getter(field.name for field in fields if field.compare)
            made.__record_hashed__ = _getter(
                field.name
                for field in fields
                if (field.compare if field.hash is None else field.hash)
            )
            return made

        return make if cls is None else make(cls)


def _hash_is_explicit(cls: type) -> bool:
    """As dataclass decides it: a `__hash__` in the class body (Python's own None, set because
    the body defines `__eq__`, does not count)."""
    own = cls.__dict__.get("__hash__", dataclasses.MISSING)
    return not (own is dataclasses.MISSING or (own is None and "__eq__" in cls.__dict__))


def _lend(cls: type, name: str, method: Any) -> None:
    if name not in cls.__dict__:
        setattr(cls, name, method)


def _getter(names: Any) -> Any:
    """The values of these fields as one tuple (attrgetter gives a bare value for one name)."""
    names = tuple(names)
    if len(names) == 1:
        only = operator.attrgetter(names[0])
        return lambda instance: (only(instance),)
    return operator.attrgetter(*names) if names else lambda instance: ()


@reprlib.recursive_repr()
def _record_repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_shown__)
    return f"{self.__class__.__qualname__}({shown})"


def _record_eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    compared = self.__record_compared__
    return compared(self) == compared(other)


def _record_hash(self: Any) -> int:
    return hash(self.__record_hashed__(self))
