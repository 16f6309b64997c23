"""Storage faults: a full disk, a read-only database, a database replaced under a running
server. A clear error and exit code (or 503), no partial write, recovery once the fault is gone.

A full disk is a real small tmpfs and a read-only database is a real immutable file (both need
root, as this suite's machines and CI have); where the kernel refuses, the test fails loudly
rather than skipping."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

from bench.payloads import write_jsonl
from mpcheckout.errors import EXIT_IO
from mpcheckout.ingest import BATCH_SIZE
from tests.reliability.conftest import scale
from tests.reliability.support import count, env_for, mpcheckout


@contextlib.contextmanager
def small_disk(folder: Path, size: str):
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@contextlib.contextmanager
def immutable(*paths: Path):
    existing = [str(path) for path in paths if path.exists()]
    subprocess.run(["chattr", "+i", *existing], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *existing], check=False)


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_a_full_disk_stops_ingest_cleanly_and_it_resumes_once_there_is_room(sandbox, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", scale(12_000, 60_000))
    lines = source.read_text().splitlines()
    with small_disk(tmp_path / "disk", "2m") as disk:
        database = disk / "shop.db"
        run = mpcheckout(database, env_for(sandbox), "ingest", str(source))
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == EXIT_IO, stderr.decode()
        assert "disk" in stderr.decode() and "Traceback" not in stderr.decode()
        kept = count(database, "SELECT count(*) FROM webhook_queue")
        whole = {len(set(lines[: k * BATCH_SIZE])) for k in range(len(lines) // BATCH_SIZE + 2)}
        assert kept in whole and integrity(database) == "ok"
        roomy = tmp_path / "roomy.db"
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                shutil.copy(f"{database}{suffix}", f"{roomy}{suffix}")
    again = mpcheckout(roomy, env_for(sandbox), "ingest", str(source), "--json")
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr.decode()
    assert json.loads(stdout)["queued"] == len(set(lines)) - kept
    assert count(roomy, "SELECT count(*) FROM webhook_queue") == len(set(lines))


def test_a_read_only_database_is_a_clear_error_then_works_again(cli, workdir, fixtures_dir):
    notification = str(fixtures_dir / "mp-devsite-docs_webhooks-en_payment-created.json")
    assert cli("ingest", notification).exit_code == 0
    cli("events", "list")  # let WAL and SHM exist
    files = [workdir / name for name in ("mpcheckout.db", "mpcheckout.db-wal", "mpcheckout.db-shm")]
    with immutable(*files, workdir):
        refused = cli(
            "ingest", str(fixtures_dir / "mp-docs-point-optional-notifications-es_mp-connect.json")
        )
        assert refused.exit_code in (EXIT_IO, 75), refused.stderr
        assert "Traceback" not in refused.stderr and refused.stderr.count("\n") <= 2
    after = cli(
        "ingest", str(fixtures_dir / "mp-docs-point-optional-notifications-es_mp-connect.json")
    )
    assert after.exit_code == 0
    assert integrity(workdir / "mpcheckout.db") == "ok"
    assert count(workdir / "mpcheckout.db", "SELECT count(*) FROM webhook_queue") == 2


def test_a_database_replaced_under_a_running_server_is_used_from_then_on(start_server, tmp_path):
    import httpx

    from mpcheckout.store import open_store

    url, ctx = start_server(**{"mercadopago.webhook_secrets": []})
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{url}/webhooks/mercadopago?topic=payment&id=1").status_code == 200
        replacement = tmp_path / "replacement.db"
        open_store(str(replacement)).close()
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"shop.db{suffix}").unlink(missing_ok=True)
        replacement.replace(tmp_path / "shop.db")  # an operator restores another copy
        answer = http.get(f"{url}/webhooks/mercadopago?topic=payment&id=2")
        assert answer.status_code == 200
    assert count(tmp_path / "shop.db", "SELECT count(*) FROM webhook_queue") == 1
    assert ctx.store.info().row_counts["webhook_queue"] == 1
