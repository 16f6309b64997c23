"""The create-preference endpoint with `"api": "orders"`, over real HTTP: a Checkout Pro order
of the Orders API, paid in the sandbox, notified to `serve` (type=order, signed) and applied."""

from __future__ import annotations

from mpcheckout.processor import build_processor
from tests.server.conftest import SECRET

CART = {"items": [{"title": "Mate", "quantity": 2, "unit_price": "2250.00", "currency": "ARS"}]}


def test_an_orders_link_from_the_endpoint_is_paid_notified_and_applied(start_server, sandbox, http):
    url, ctx = start_server()
    created = http.post(f"{url}/api/checkout/create-preference", json={**CART, "api": "orders"})
    assert created.status_code == 200
    link = created.json()
    assert (link["api"], link["preference_id"]) == ("orders", None)
    assert link["mp_order_id"].startswith("ORD") and link["init_point"]
    notify = {"url": f"{url}/webhooks/mercadopago", "secret": SECRET, "duplicates": 1}
    http.post(
        f"{sandbox.url}/_sandbox/orders/{link['mp_order_id']}/pay",
        json={"status": "processed", "notify": notify},
    )
    assert ctx.store.info().row_counts["webhook_queue"] == 1  # the redelivery: a duplicate
    processor = build_processor(
        ctx.store, ctx.runtime.gateway, ctx.clock, ctx.settings.queue, "test:serve"
    )
    assert processor.run_once().payments == {"applied": 1}
    order = ctx.store.get_order(link["order_id"])
    assert (order.status, str(order.amount), order.mp_order_id) == (
        "paid",
        "4500.00",
        link["mp_order_id"],
    )


def test_an_unknown_api_is_a_400(start_server, http):
    url, _ = start_server()
    answer = http.post(f"{url}/api/checkout/create-preference", json={**CART, "api": "soap"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "validation_error"
