"""One parametrized `store` fixture: every contract test runs on every backend."""

from __future__ import annotations

import pytest

from mpcheckout.store import open_store

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    if request.param == "postgres":
        opened = open_store(request.getfixturevalue("postgres_url"))
    else:
        opened = open_store(str(tmp_path / "contract.db"))
    yield opened
    opened.close()
