"""Shared test fixtures: real SQLite files in a temporary directory, the CLI through Typer's
runner, and Mercado Pago's real payloads (tests/fixtures/mercadopago, read lazily)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mpcheckout.clock import ManualClock
from mpcheckout.store import open_store
from tests.mp_fixtures import fixtures_root
from tests.postgres_support import postgres_database, postgres_url  # noqa: F401
from tests.sandbox_support import sandbox, sandbox_control, webhook_receiver  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent
# What the fast lane (`pytest -m "not heavy"`, README "Developing") leaves out: whole-job runs,
# the browser, the reliability suite and the benchmarks' smoke run — about 2/3 of the time.
HEAVY = ("tests/e2e/", "tests/browser/", "tests/reliability/", "tests/test_bench_quick.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(part in item.nodeid for part in HEAVY):
            item.add_marker(pytest.mark.heavy)


@pytest.fixture
def fixtures_dir() -> Path:
    """Mercado Pago's real payloads (see tests/mp_fixtures.py); read only when a test asks."""
    return fixtures_root()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory with no mpcheckout settings leaking in from the environment."""
    for name in list(os.environ):
        if name.startswith("MPCHECKOUT_") and name != "MPCHECKOUT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MPCHECKOUT_LOCALE", "en")
    # A bug inside a command fails its test with the traceback, not with "exit 70".
    monkeypatch.setenv("MPCHECKOUT_RAISE_UNEXPECTED", "1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator:
    store = open_store(str(tmp_path / "store.db"))
    yield store
    store.close()


class Cli:
    """Runs `mpcheckout` in-process, as a user would type it, in the working directory."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | bytes | None = None):
        from mpcheckout.cli import app

        return self.runner.invoke(app, list(args), input=input, catch_exceptions=False)

    def json(self, *args: str, input: str | bytes | None = None):
        result = self(*args, "--json", input=input)
        return result, json.loads(result.stdout)


@pytest.fixture
def cli(workdir: Path) -> Cli:
    return Cli()
