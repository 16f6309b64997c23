"""`mpcheckout serve` over real HTTP on 127.0.0.1, with the sandbox as Mercado Pago."""

from __future__ import annotations

import json
import time

from mpcheckout.processor import build_processor
from mpcheckout.signature import sign
from tests.server.conftest import MONITOR, SECRET

BODY = {"id": 9001, "type": "payment", "action": "payment.updated", "data": {"id": "1234567"}}


def signed(
    data_id: str = "1234567", secret: str = SECRET, request_id: str = "req-1", ts: int | None = None
) -> dict[str, str]:
    ts = ts or int(time.time() * 1000)
    return {"x-signature": sign(secret, data_id, request_id, ts), "x-request-id": request_id}


def post(
    http,
    url,
    body=BODY,
    headers=None,
    query="data.id=1234567&type=payment",
    path="/webhooks/mercadopago",
):
    return http.post(
        f"{url}{path}?{query}",
        content=json.dumps(body),
        headers={"content-type": "application/json", **(headers or {})},
    )


def queued(ctx) -> int:
    return ctx.store.info().row_counts["webhook_queue"]


def test_the_sandbox_pays_and_notifies_serve_and_process_applies_it(start_server, sandbox, http):
    url, ctx = start_server()
    preference = http.post(
        f"{url}/api/checkout/create-preference",
        json={
            "items": [{"title": "Mate", "quantity": 2, "unit_price": "2250.00", "currency": "ARS"}]
        },
    ).json()
    http.post(
        f"{sandbox.url}/_sandbox/payments",
        json={
            "preference_id": preference["preference_id"],
            "status": "approved",
            "notify": {
                "url": f"{url}/webhooks/mercadopago",
                "secret": SECRET,
                "duplicates": 1,
                "ipn": True,
            },
        },
    )
    assert queued(ctx) == 2  # the webhook (its redelivery was a duplicate) and the IPN twin
    processor = build_processor(
        ctx.store, ctx.runtime.gateway, ctx.clock, ctx.settings.queue, "test:serve"
    )
    summary = processor.run_once()
    assert summary.completed == 2
    order = ctx.store.get_order(preference["order_id"])
    assert (order.status, str(order.amount)) == ("paid", "4500.00")


def test_a_duplicate_answers_200(start_server, http):
    url, _ = start_server()
    assert post(http, url, headers=signed()).json() == {"status": "queued"}
    again = post(http, url, headers=signed(request_id="req-2"))
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})


def test_the_other_path_and_unsigned_legacy_ipn_by_get(start_server, http):
    url, ctx = start_server()
    assert post(http, url, headers=signed(), path="/api/checkout/webhook").status_code == 200
    ipn = http.get(f"{url}/webhooks/mercadopago?topic=payment&id=777")
    assert ipn.status_code == 200 and queued(ctx) == 2


def test_forgeries_are_refused_and_nothing_is_queued(start_server, http):
    url, ctx = start_server(**{"mercadopago.signature_tolerance_seconds": 300})
    forgeries = [
        signed(secret="wrong-secret"),
        signed(data_id="7654321"),  # a valid signature replayed on another payment
        signed(ts=int(time.time() * 1000) - 3_600_000),  # stale
        {},  # no signature at all
        {"x-signature": "ts=1,v1=abc,v1=def", "x-request-id": "r"},
    ]
    for headers in forgeries:
        answer = post(http, url, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["error"]["code"] == "invalid_signature"
    assert queued(ctx) == 0
    tampered = post(http, url, headers=signed(), query="data.id=7654321&type=payment")
    assert tampered.status_code == 401 and queued(ctx) == 0
    status = http.get(
        f"{url}/api/webhooks/status", headers={"authorization": f"Bearer {MONITOR}"}
    ).json()
    assert sum(status["queue"]["rejected_24h"].values()) == 6


def test_a_second_x_signature_header_is_refused(start_server, http):
    url, ctx = start_server()
    good = signed()
    answer = http.post(
        f"{url}/webhooks/mercadopago?data.id=1234567&type=payment",
        content=json.dumps(BODY),
        headers=[
            ("x-signature", good["x-signature"]),
            ("x-signature", signed(secret="x")["x-signature"]),
            ("x-request-id", "req-1"),
        ],
    )
    assert answer.status_code == 401 and queued(ctx) == 0


def test_repeated_bad_signatures_from_one_ip_get_429(start_server, http):
    url, _ = start_server(
        **{"server.rate_limits": {"bad_signature": {"limit": 3, "window_seconds": 60}}}
    )
    codes = [post(http, url, headers=signed(secret="nope")).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_bodies_over_the_limit_get_413(start_server, http):
    url, ctx = start_server()
    huge = {**BODY, "pad": "x" * (256 * 1024)}
    answer = post(http, url, body=huge, headers=signed())
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "payload_too_large"
    assert queued(ctx) == 0


def test_malformed_notifications_get_400_and_are_kept(start_server, http):
    url, ctx = start_server()
    answer = http.post(f"{url}/webhooks/mercadopago", content=b'{"type": "payment", "data": {')
    assert answer.status_code == 400
    assert ctx.store.info().row_counts["webhook_dead_letter"] == 1


def test_ip_allowlist_and_a_spoofed_forwarded_for(start_server, http):
    url, _ = start_server(**{"server.ip_allowlist": ["10.0.0.0/8"]})
    spoofed = post(http, url, headers={**signed(), "x-forwarded-for": "10.1.2.3"})
    assert spoofed.status_code == 403  # 127.0.0.1 is no trusted proxy: the header is ignored
    proxied_url, _ = start_server(
        **{"server.ip_allowlist": ["10.0.0.0/8"], "server.trusted_proxies": ["127.0.0.1/32"]}
    )
    through_proxy = post(http, proxied_url, headers={**signed(), "x-forwarded-for": "10.1.2.3"})
    assert through_proxy.status_code == 200
    outsider = post(
        http,
        proxied_url,
        headers={**signed(request_id="r9"), "x-forwarded-for": "10.9.9.9, 203.0.113.5"},
    )
    assert outsider.status_code == 403  # the client is the first untrusted hop from the right


def test_create_preference_is_rate_limited_per_ip_across_workers(start_server, http):
    first_url, _ = start_server(**{"server.trusted_proxies": ["127.0.0.1/32"]})
    second_url, _ = start_server(**{"server.trusted_proxies": ["127.0.0.1/32"]})
    cart = {"items": [{"title": "Mate", "unit_price": "10.00", "currency": "ARS"}]}
    answers = [
        http.post(
            f"{url}/api/checkout/create-preference",
            json=cart,
            headers={"x-forwarded-for": "198.51.100.7"},
        )
        for url in (first_url, second_url, first_url, second_url, first_url, second_url)
    ]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    refused = answers[-1]
    assert int(refused.headers["retry-after"]) > 0 and refused.headers["ratelimit-remaining"] == "0"
    assert answers[0].headers["ratelimit-limit"] == "5"
    other = http.post(
        f"{first_url}/api/checkout/create-preference",
        json=cart,
        headers={"x-forwarded-for": "198.51.100.8"},
    )
    assert other.status_code == 200


def test_cart_validation_answers_400_in_the_configured_language(start_server, http):
    url, _ = start_server(locale="es")
    answer = http.post(
        f"{url}/api/checkout/create-preference",
        json={"items": [{"title": "", "unit_price": "1", "currency": "ARS"}]},
    )
    assert answer.status_code == 400
    assert (
        answer.json()["error"]["message"].startswith("Ítem 0")
        or "0" in answer.json()["error"]["message"]
    )
    assert http.post(f"{url}/api/checkout/create-preference", content=b"nope").status_code == 400


def test_monitoring_needs_the_token_and_is_absent_without_one(start_server, http):
    url, _ = start_server()
    assert http.get(f"{url}/api/webhooks/status").status_code == 401
    assert (
        http.get(
            f"{url}/api/webhooks/status", headers={"authorization": "Bearer wrong"}
        ).status_code
        == 401
    )
    right = http.get(f"{url}/api/webhooks/status", headers={"authorization": f"Bearer {MONITOR}"})
    assert right.status_code == 200 and {"verdict", "queue", "checks"} <= set(right.json())
    processed = http.post(
        f"{url}/api/webhooks/process-queue", headers={"authorization": f"Bearer {MONITOR}"}
    )
    assert processed.status_code == 200 and processed.json()["claimed"] == 0
    reconciled = http.post(
        f"{url}/api/webhooks/reconcile", headers={"authorization": f"Bearer {MONITOR}"}
    )
    assert reconciled.status_code == 200 and reconciled.json()["status"] == "ok"
    closed_url, _ = start_server(**{"server.monitor_token": None})
    assert (
        http.get(
            f"{closed_url}/api/webhooks/status", headers={"authorization": f"Bearer {MONITOR}"}
        ).status_code
        == 404
    )


def test_probes_and_the_openapi_document(start_server, http):
    url, _ = start_server()
    assert http.get(f"{url}/healthz").json() == {"status": "ok"}
    assert http.get(f"{url}/readyz").json()["status"] == "ready"
    spec = http.get(f"{url}/openapi.json").json()
    assert {
        "/webhooks/mercadopago",
        "/api/checkout/create-preference",
        "/api/webhooks/status",
    } <= set(spec["paths"])
    assert http.get(f"{url}/nope").status_code == 404


def test_503_when_the_database_cannot_be_written_and_the_redelivery_is_stored(start_server, http):
    url, ctx = start_server()
    conn = ctx.store._conn  # white box: make the real SQLite file "full"
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    heavy = {**BODY, "pad": "x" * 200_000}
    refused = post(http, url, body=heavy, headers=signed())
    assert refused.status_code == 503 and refused.headers["retry-after"]
    assert http.get(f"{url}/readyz").status_code == 200  # reads still work
    conn.execute("PRAGMA max_page_count = 1073741823")
    redelivered = post(http, url, body=heavy, headers=signed(request_id="retry-1"))
    assert redelivered.status_code == 200 and queued(ctx) == 1


def test_503_while_the_database_file_is_gone(start_server, http, tmp_path):
    url, ctx = start_server()
    post(http, url, headers=signed())
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"shop.db{suffix}").unlink(missing_ok=True)
    gone = post(http, url, body={**BODY, "id": 9002}, headers=signed(request_id="r2"))
    assert gone.status_code == 503
    assert http.get(f"{url}/readyz").status_code == 503
    from mpcheckout.store import open_store

    open_store(str(tmp_path / "shop.db")).close()  # an operator restores the database
    back = post(http, url, body={**BODY, "id": 9002}, headers=signed(request_id="r3"))
    assert back.status_code == 200 and queued(ctx) == 1


def test_with_process_the_server_also_applies_what_it_receives(start_server, sandbox, http):
    url, ctx = start_server(run_processor=True, **{"queue.idle_poll_seconds": 0.05})
    http.post(
        f"{sandbox.url}/_sandbox/payments",
        json={
            "external_reference": "walk-in-9",
            "status": "approved",
            "notify": {"url": f"{url}/webhooks/mercadopago", "secret": SECRET},
        },
    )
    deadline = time.monotonic() + 20
    while ctx.store.get_order("walk-in-9") is None:  # another thread's progress, bounded
        assert time.monotonic() < deadline, "the in-server processor did not apply it"
        time.sleep(0.02)
    assert ctx.store.get_order("walk-in-9").status == "paid"


def test_unsigned_legacy_ipn_can_be_refused(start_server, http):
    url, ctx = start_server(**{"server.accept_unsigned_ipn": False})
    refused = http.get(f"{url}/webhooks/mercadopago?topic=payment&id=777")
    assert refused.status_code == 401 and queued(ctx) == 0
