"""One parametrized `store` fixture: every contract test runs on every backend."""

from __future__ import annotations

import pytest

from mpcheckout.store import open_store

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    opened = open_store(str(tmp_path / "contract.db"))
    yield opened
    opened.close()
