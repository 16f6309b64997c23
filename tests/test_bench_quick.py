"""The benchmarks still run: `python -m bench --quick` end to end, as a person would run it,
and its JSON holds a result for every benchmark. Nothing about speed is asserted: --quick sizes
are far too small to mean anything, and CI shares its machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.__main__ import BENCHMARKS

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_every_benchmark_runs_in_quick_mode(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    env = {name: value for name, value in os.environ.items() if not name.startswith("MPCHECKOUT_")}
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(output)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-4000:]
    document = json.loads(output.read_text())
    assert document["quick"] is True
    assert set(document["benchmarks"]) == set(BENCHMARKS)
    for name, result in document["benchmarks"].items():
        assert result["comparisons"], name
        for comparison in result["comparisons"]:
            assert len(comparison["contenders"]) >= 2, (name, comparison["title"])
            for contender in comparison["contenders"]:
                assert len(contender["values"]) >= 2, (name, contender["name"])
                assert all(value > 0 for value in contender["values"]), (name, contender)
        assert result["targets"], name
