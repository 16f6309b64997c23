"""Results as rich tables on the terminal and as one JSON document, plus the facts about the
machine that every figure depends on (a 2-core machine shared with other work is noisy: the
load average before and after the run is part of the result)."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import sqlite3
import statistics
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.harness import BenchResult, Comparison, ContenderResult

_VERSIONED = ("huey", "persist-queue", "mpcheckout")


def machine_facts() -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gb": round(_memory_bytes() / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "versions": {name: _version(name) for name in _VERSIONED},
        "load_average_before": list(os.getloadavg()),
    }


def _memory_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def write_json(path: Path, facts: dict[str, Any], results: list[BenchResult], quick: bool) -> None:
    document = {
        "machine": facts,
        "quick": quick,
        "benchmarks": {result.name: _as_json(result) for result in results},
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def _as_json(result: BenchResult) -> dict[str, Any]:
    """The result as stored, with each contender's medians beside its repetitions."""
    document = dataclasses.asdict(result)
    for comparison, stored in zip(result.comparisons, document["comparisons"], strict=True):
        for contender, entry in zip(comparison.contenders, stored["contenders"], strict=True):
            entry["median"] = contender.median
            entry["median_ratio"] = contender.median_ratio
    return document


def print_header(console: Console, facts: dict[str, Any], quick: bool) -> None:
    load = ", ".join(f"{value:.2f}" for value in facts["load_average_before"])
    console.print(
        f"[bold]mpcheckout benchmarks[/] {facts['date']}: {facts['cores']} cores, "
        f"{facts['memory_gb']} GB, Python {facts['python']}, SQLite {facts['sqlite']}, "
        f"load average {load}" + ("  [yellow](--quick: figures mean nothing)[/]" if quick else "")
    )


def print_result(console: Console, result: BenchResult) -> None:
    for comparison in result.comparisons:
        console.print(_comparison_table(result.title, comparison))
    for note in result.notes:
        console.print(f"  [dim]{escape(note)}[/]")
    console.print(f"  [dim]({result.seconds:.0f} s)[/]")


def _comparison_table(title: str, comparison: Comparison) -> Table:
    better = "higher" if comparison.higher_is_better else "lower"
    table = Table(
        title=f"{title}: {comparison.title}",
        caption=f"{comparison.unit}, {better} is better; ratio = contender / "
        f"{comparison.baseline}, same repetition",
        title_justify="left",
        caption_justify="left",
    )
    for header, justify in (
        ("contender", "left"),
        (f"median {comparison.unit}", "right"),
        ("min–max", "right"),
        ("ratio", "right"),
        ("ratio per rep.", "right"),
        ("details: median, or per rep.", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for contender in comparison.contenders:
        table.add_row(*_row(contender))
    return table


def _row(result: ContenderResult) -> tuple[str, ...]:
    return (
        result.label,
        number(result.median),
        f"{number(min(result.values))}–{number(max(result.values))}",
        f"{result.median_ratio:.2f}×",
        " ".join(f"{ratio:.2f}" for ratio in result.ratios),
        _details(result),
    )


def _details(result: ContenderResult) -> str:
    keys = sorted({key for detail in result.details for key in detail})
    shown = []
    for key in keys:
        values = [detail[key] for detail in result.details if key in detail]
        if all(float(value).is_integer() for value in values):
            shown.append(f"{key} {'/'.join(str(int(value)) for value in values)}")
        else:
            shown.append(f"{key} {number(statistics.median(values))}")
    return ", ".join(shown)


def number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _verdict(met: bool | None) -> str:
    if met is None:
        return "[yellow]not measured[/]"
    return "[green]met[/]" if met else "[red]MISSED[/]"


def print_targets(console: Console, results: list[BenchResult], quick: bool) -> None:
    table = Table(
        title="Targets" + (" (--quick: sizes too small to judge)" if quick else ""),
        title_justify="left",
    )
    for header in ("benchmark", "target", "measured (median)", "met"):
        table.add_column(header)
    for result in results:
        for check in result.targets:
            table.add_row(result.title, check.target, escape(check.measured), _verdict(check.met))
    console.print(table)
