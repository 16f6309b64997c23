from __future__ import annotations

import pytest

from tests.e2e.support import Shop


@pytest.fixture
def shop(sandbox, tmp_path, clock):
    opened = Shop(sandbox, tmp_path / "shop.db", clock)
    yield opened
    opened.close()
