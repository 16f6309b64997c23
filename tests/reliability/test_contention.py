"""Contention on one SQLite file: 4 processors, reconcile every few seconds, ingest and serve at
once, for a while. No "database is locked" reaches a user, no event is claimed twice, no request
is answered 5xx, and every notification ends applied exactly once."""

from __future__ import annotations

import json
import signal
import threading
import time

import httpx

from mpcheckout.signature import sign
from tests.reliability.conftest import scale
from tests.reliability.support import count, env_for, mpcheckout, wait_for

SECONDS = scale(12, 60)
SECRET = "contention-secret"


def webhook(payment_id: int, notification_id: int) -> tuple[str, dict, str]:
    body = json.dumps(
        {
            "id": notification_id,
            "type": "payment",
            "action": "payment.created",
            "data": {"id": str(payment_id)},
        }
    )
    request_id = f"c-{notification_id}"
    headers = {
        "x-signature": sign(SECRET, str(payment_id), request_id, int(time.time() * 1000)),
        "x-request-id": request_id,
        "content-type": "application/json",
    }
    return f"/webhooks/mercadopago?data.id={payment_id}&type=payment", headers, body


def test_everything_at_once_on_one_sqlite_file(sandbox, tmp_path, figures):
    database = tmp_path / "busy.db"
    http = httpx.Client(base_url=sandbox.url, timeout=30)
    per_second = 40
    total = SECONDS * per_second
    created = http.post(
        "/_sandbox/payments/bulk",
        json={
            "count": total * 2,
            "status": "approved",
            "external_reference_prefix": "c-",
            "transaction_amount": "10.00",
            "currency_id": "ARS",
        },
    ).json()
    payments = list(range(created["first_id"], created["last_id"] + 1))
    served, filed = payments[:total], payments[total:]
    lines = [
        json.dumps(
            {
                "id": 10_000_000 + n,
                "type": "payment",
                "action": "payment.created",
                "data": {"id": str(pid)},
            }
        )
        for n, pid in enumerate(filed)
    ]
    (tmp_path / "file.jsonl").write_text("\n".join(lines) + "\n")
    http.post("/_sandbox/faults", json={"endpoint": "payments.get", "latency_ms": 5})
    env = env_for(
        sandbox,
        MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS=SECRET,
        MPCHECKOUT_QUEUE__IDLE_POLL_SECONDS="0.2",
    )
    server = mpcheckout(database, env, "serve", "--port", "0", "--json")
    url = json.loads(server.stdout.readline())["url"]
    workers = [
        mpcheckout(database, env, "process", "--watch", "--concurrency", "4") for _ in range(4)
    ]
    statuses: list[int] = []
    feeder = threading.Thread(target=_post_webhooks, args=(url, served, per_second, statuses))
    feeder.start()
    ingest = mpcheckout(database, env, "ingest", str(tmp_path / "file.jsonl"))
    reconciles = _reconcile_every(database, env, seconds=2.5, until=feeder)
    ingest_out = ingest.communicate(timeout=300)
    ingest_code = ingest.returncode
    wait_for(
        lambda: (
            count(database, "SELECT count(*) FROM webhook_queue WHERE status = 'completed'")
            == len(payments)
        ),
        limit=180,
    )
    outputs = _stop([*workers, server])
    http.close()
    figures(
        seconds=SECONDS,
        webhooks=len(served),
        ingested=len(filed),
        reconcile_runs=len(reconciles),
        non_200=sum(1 for code in statuses if code != 200),
        claimed_twice=count(database, "SELECT count(*) FROM webhook_queue WHERE attempts != 1"),
        applied=count(database, "SELECT count(*) FROM payment_logs"),
    )
    assert ingest_code == 0, ingest_out[1].decode()
    assert all(code == 200 for code in statuses) and len(statuses) == len(served)
    for code, stderr in [*reconciles, *outputs]:
        assert code == 0, stderr
        assert "locked" not in stderr.lower() and "busy" not in stderr.lower(), stderr
        assert "Traceback" not in stderr, stderr
    assert count(database, "SELECT count(*) FROM webhook_queue WHERE attempts != 1") == 0
    assert count(database, "SELECT count(*) FROM payment_logs") == len(payments)
    assert count(database, "SELECT count(*) FROM orders WHERE status = 'paid'") == len(payments)


def _post_webhooks(url: str, payment_ids: list[int], per_second: int, statuses: list[int]):
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=30) as client:
        for index, payment_id in enumerate(payment_ids):
            path, headers, body = webhook(payment_id, 1 + index)
            statuses.append(client.post(path, content=body, headers=headers).status_code)
            ahead = (index + 1) / per_second - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)  # pacing the load, not waiting for a result


def _reconcile_every(database, env, seconds: float, until: threading.Thread):
    results = []
    while until.is_alive():
        run = mpcheckout(database, env, "reconcile", "--quiet", "--budget", "2")
        _, stderr = run.communicate(timeout=120)
        results.append((run.returncode, stderr.decode()))
        until.join(timeout=seconds)
    return results


def _stop(processes) -> list[tuple[int, str]]:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    outputs = []
    for process in processes:
        _, stderr = process.communicate(timeout=60)
        outputs.append((process.returncode, stderr.decode()))
    return outputs
