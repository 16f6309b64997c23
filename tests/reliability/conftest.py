"""The reliability suite runs bounded in CI; `MPCHECKOUT_RELIABILITY=long` runs the long form
(more rounds, events, inputs). Every test here is marked `reliability`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

LONG = os.environ.get("MPCHECKOUT_RELIABILITY") == "long"


def scale(bounded: int, long: int) -> int:
    """How much of something a test does: `bounded` in CI, `long` in the long form."""
    return long if LONG else bounded


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in str(item.fspath):
            item.add_marker(pytest.mark.reliability)


_FIGURES: list[dict] = []


@pytest.fixture
def figures(request):
    """Record what a test tried and found (counts), for docs/RELIABILITY.md's latest figures."""

    def record(**counts) -> None:
        _FIGURES.append({"test": request.node.name, **counts})

    return record


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for row in _FIGURES:
        terminalreporter.write_line(json.dumps(row))
    target = os.environ.get("MPCHECKOUT_RELIABILITY_FIGURES")
    if target:
        Path(target).write_text(json.dumps(_FIGURES, indent=2) + "\n")


from tests.server.conftest import start_server  # noqa: E402,F401 - the real server, for faults
