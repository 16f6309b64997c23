"""`record` against `dataclasses.dataclass`: the same class, declared both ways, must repr,
compare, hash, copy, pickle and refuse assignment alike."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from mpcheckout.records import record

OPTIONS = [{"slots": True, "frozen": True}, {"slots": True}, {"frozen": True}, {}]


def declared(decorator: Any, options: dict[str, bool]) -> Any:
    @decorator(**options)
    class Sample:
        amount: int
        label: str = "x"
        raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
        parts: tuple[int, ...] = ()

    return Sample


@pytest.mark.parametrize("options", OPTIONS)
def test_a_record_behaves_as_the_dataclass_it_replaces(options):
    plain, lean = declared(dataclass, options), declared(record, options)
    a, b = plain(1, "y", {"k": 1}, (1,)), lean(1, "y", {"k": 1}, (1,))
    assert repr(a).replace("plain", "") == repr(b).replace("lean", "")
    assert repr(b).endswith("Sample(amount=1, label='y', parts=(1,))")
    assert (a == plain(1, "y", {}, (1,)), b == lean(1, "y", {}, (1,))) == (True, True)
    assert (a == plain(2), b == lean(2)) == (False, False)
    assert b.__eq__(a) is NotImplemented  # another class, even with the same fields
    assert (plain.__hash__ is None) == (lean.__hash__ is None)
    if lean.__hash__ is not None:
        assert hash(a) == hash(b)
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert dataclasses.replace(b, amount=5) == lean(5, "y", {}, (1,))
    assert hasattr(lean, "__slots__") == hasattr(plain, "__slots__")
    if options.get("frozen"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            b.amount = 3


@record(slots=True, frozen=True)
class Pickled:
    amount: int
    items: list[Any] = field(default_factory=list)


def test_a_record_pickles_and_shows_itself_inside_itself_as_dataclasses_do():
    value = Pickled(3, [1])
    assert pickle.loads(pickle.dumps(value)) == value
    value.items.append(value)
    assert repr(value) == "Pickled(amount=3, items=[1, ...])"


def test_methods_the_class_writes_itself_are_kept():
    @record(frozen=True)
    class Custom:
        amount: int

        def __repr__(self) -> str:
            return "custom"

        def __hash__(self) -> int:
            return 7

    assert repr(Custom(1)) == "custom" and hash(Custom(1)) == 7
