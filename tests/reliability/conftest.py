"""The reliability suite runs bounded in CI; `MPCHECKOUT_RELIABILITY=long` runs the long form
(more rounds, events, inputs). Every test here is marked `reliability`."""

from __future__ import annotations

import os

import pytest

LONG = os.environ.get("MPCHECKOUT_RELIABILITY") == "long"


def scale(bounded: int, long: int) -> int:
    """How much of something a test does: `bounded` in CI, `long` in the long form."""
    return long if LONG else bounded


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in str(item.fspath):
            item.add_marker(pytest.mark.reliability)


from tests.server.conftest import start_server  # noqa: E402,F401 - the real server, for faults
