"""GET /metrics over real HTTP: Prometheus text a scraper parses, behind the monitoring token or
the metrics allowlist, with figures that follow the store."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from mpcheckout.processor import build_processor
from tests.server.conftest import MONITOR, SECRET
from tests.server.test_serve import post

BEARER = {"authorization": f"Bearer {MONITOR}"}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_follow_the_queue_the_orders_and_the_refusals(start_server, http, sandbox):
    url, ctx = start_server()
    http.post(
        f"{sandbox.url}/_sandbox/payments",
        json={
            "status": "approved",
            "external_reference": "order-metrics",
            "transaction_amount": "10.00",
            "notify": {"url": f"{url}/webhooks/mercadopago", "secret": SECRET},
        },
    ).raise_for_status()
    assert post(http, url, headers={"x-signature": "ts=1,v1=00"}).status_code == 401
    answer = http.get(f"{url}/metrics", headers=BEARER)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    before = samples(answer.text)
    assert before[("mpcheckout_events", (("state", "pending_due"),))] == 1
    assert before[("mpcheckout_events_received_total", ())] == 1
    assert before[("mpcheckout_events_processed_total", ())] == 0
    assert before[("mpcheckout_refused_requests_total", (("reason", "signature_mismatch"),))] == 1
    build_processor(ctx.store, ctx.runtime.gateway, ctx.clock, ctx.settings.queue, "t").run_once()
    after = samples(http.get(f"{url}/metrics", headers=BEARER).text)
    assert after[("mpcheckout_events", (("state", "pending_due"),))] == 0
    assert after[("mpcheckout_events_processed_total", ())] == 1
    assert after[("mpcheckout_orders", (("status", "paid"),))] == 1
    assert after[("mpcheckout_health", ())] in (0, 1, 2)
    assert ("mpcheckout_processing_latency_seconds_count", ()) in after


def test_metrics_need_the_token_or_an_allowlisted_address(start_server, http):
    url, _ = start_server()
    assert http.get(f"{url}/metrics").status_code == 401
    assert http.get(f"{url}/metrics", headers={"authorization": "Bearer nope"}).status_code == 401
    wrong_case = {"authorization": f"Bearer {MONITOR.upper()}"}
    assert http.get(f"{url}/metrics", headers=wrong_case).status_code == 401
    off_url, _ = start_server(**{"server.monitor_token": None, "database.url": "off.db"})
    assert http.get(f"{off_url}/metrics", headers=BEARER).status_code == 404
    open_url, _ = start_server(**{"server.metrics_allowlist": ["127.0.0.0/8"]})
    assert http.get(f"{open_url}/metrics").status_code == 200
    elsewhere, _ = start_server(**{"server.metrics_allowlist": ["10.0.0.0/8"]})
    assert http.get(f"{elsewhere}/metrics").status_code == 401
    assert http.get(f"{elsewhere}/metrics", headers=BEARER).status_code == 200
