"""Every benchmark of the pipeline in one command; see bench/README.md.

    python -m bench [--only NAME[,NAME]] [--quick] [--json FILE] [--repetitions N]

Tables go to stdout, progress to stderr. --quick runs every benchmark at a tiny size as a smoke
test (a few seconds each); its figures and target verdicts mean nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from bench import (
    claim_cost,
    enqueue,
    ingest,
    money,
    orders,
    processor,
    report_parse,
    serve,
    startup,
    status,
    ui,
    workers,
)
from bench.harness import QUICK_REPETITIONS, REPETITIONS, BenchResult, Scale
from bench.report import machine_facts, print_header, print_result, print_targets, write_json

BENCHMARKS: dict[str, Callable[[Scale], BenchResult]] = {
    ingest.NAME: ingest.run,
    enqueue.NAME: enqueue.run,
    processor.NAME: processor.run,
    workers.NAME: workers.run,
    claim_cost.NAME: claim_cost.run,
    status.NAME: status.run,
    serve.NAME: serve.run,
    startup.NAME: startup.run,
    report_parse.NAME: report_parse.run,
    ui.NAME: ui.run,
    orders.NAME: orders.run,
    money.NAME: money.run,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", type=_names, default=list(BENCHMARKS), metavar="NAME[,NAME]")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results as JSON")
    parser.add_argument(
        "--repetitions",
        type=int,
        metavar="N",
        help=f"per contender (default {REPETITIONS}; {QUICK_REPETITIONS} with --quick)",
    )
    return parser.parse_args(argv)


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    return names


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    default = QUICK_REPETITIONS if args.quick else REPETITIONS
    scale = Scale(quick=args.quick, repetitions=max(args.repetitions or default, 1))
    # Piped to a file, rich would wrap tables at 80 columns.
    console, progress = Console(width=None if sys.stdout.isatty() else 150), Console(stderr=True)
    facts = machine_facts()
    print_header(console, facts, args.quick)
    results = []
    for name in args.only:
        progress.print(f"[dim]running {name}...[/]")
        results.append(_timed(BENCHMARKS[name], scale))
        print_result(console, results[-1])
    facts["load_average_after"] = list(os.getloadavg())
    print_targets(console, results, args.quick)
    load = ", ".join(f"{value:.2f}" for value in facts["load_average_after"])
    console.print(f"load average after the run: {load}")
    if args.json:
        write_json(args.json, facts, results, args.quick)


def _timed(benchmark: Callable[[Scale], BenchResult], scale: Scale) -> BenchResult:
    started = time.perf_counter()
    result = benchmark(scale)
    result.seconds = time.perf_counter() - started
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
