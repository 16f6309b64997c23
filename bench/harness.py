"""What every benchmark shares: the scale it runs at, contenders measured in alternating
repetitions (A, B, C, A, B, C, ...) so that a burst of load on this shared machine falls on all
of them alike, and the typed results the runner prints and writes as JSON."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

REPETITIONS = 3
QUICK_REPETITIONS = 2  # still alternating, still a ratio per repetition: the same code path


@dataclass(slots=True, frozen=True)
class Scale:
    """`quick` shrinks every size to a smoke test of a few seconds; its figures mean nothing."""

    quick: bool = False
    repetitions: int = REPETITIONS

    def pick(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full


@dataclass(slots=True, frozen=True)
class Sample:
    """One repetition of one contender: the figure compared (`value`, in the comparison's
    unit) and any side figures worth reporting (peak memory, latency percentiles, counts)."""

    value: float
    details: Mapping[str, float] = field(default_factory=dict)


Runner = Callable[[int], Sample]  # repetition number -> its sample


@dataclass(slots=True, frozen=True)
class Contender:
    name: str
    label: str
    run: Runner


@dataclass(slots=True)
class ContenderResult:
    name: str
    label: str
    values: list[float]
    ratios: list[float]  # value / the baseline's value of the same repetition
    details: list[dict[str, float]]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ratios)

    def detail_median(self, key: str) -> float:
        return statistics.median(detail[key] for detail in self.details)

    def detail_total(self, key: str) -> float:
        return sum(detail[key] for detail in self.details)


@dataclass(slots=True)
class Comparison:
    """One table: contenders against a baseline, all in one unit."""

    title: str
    unit: str
    higher_is_better: bool
    baseline: str
    contenders: list[ContenderResult]

    def get(self, name: str) -> ContenderResult:
        return next(result for result in self.contenders if result.name == name)


@dataclass(slots=True, frozen=True)
class TargetCheck:
    target: str
    measured: str
    met: bool | None  # None: a contender it needs was not measured (a peer not installed)


def not_measured(target: str, missing: str) -> TargetCheck:
    return TargetCheck(target, f"{missing} not installed", None)


@dataclass(slots=True)
class BenchResult:
    name: str
    title: str
    comparisons: list[Comparison]
    targets: list[TargetCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def alternate(contenders: list[Contender], repetitions: int) -> dict[str, list[Sample]]:
    """Run every contender once per repetition, in the same order each time."""
    samples: dict[str, list[Sample]] = {contender.name: [] for contender in contenders}
    for repetition in range(repetitions):
        for contender in contenders:
            samples[contender.name].append(contender.run(repetition))
    return samples


def compare(
    title: str,
    unit: str,
    contenders: list[Contender],
    scale: Scale,
    *,
    higher_is_better: bool = True,
) -> Comparison:
    """Measure `contenders` (the first is the baseline) in alternating repetitions."""
    samples = alternate(contenders, scale.repetitions)
    baseline = [sample.value for sample in samples[contenders[0].name]]
    results = [
        ContenderResult(
            name=contender.name,
            label=contender.label,
            values=[sample.value for sample in samples[contender.name]],
            ratios=[
                sample.value / base if base else float("nan")
                for sample, base in zip(samples[contender.name], baseline, strict=True)
            ],
            details=[dict(sample.details) for sample in samples[contender.name]],
        )
        for contender in contenders
    ]
    return Comparison(title, unit, higher_is_better, contenders[0].label, results)


def at_least(target: str, value: float, floor: float, shown: str) -> TargetCheck:
    return TargetCheck(target, shown, value >= floor)


def below(target: str, value: float, ceiling: float, shown: str) -> TargetCheck:
    return TargetCheck(target, shown, value < ceiling)
