"""The processor against a real SQLite file and the sandbox over HTTP (issue: processor)."""

from __future__ import annotations

from datetime import timedelta

from mpcheckout.dead_letters import replay
from mpcheckout.gateway import build_gateway
from mpcheckout.ingest import ingest_sources, receive_request
from mpcheckout.notifications import RawRequest
from mpcheckout.store.base import DeadLetterFilter, EventFilter
from tests.e2e.support import gateway_settings


def test_five_deliveries_and_the_ipn_twin_apply_the_payment_once(shop):
    shop.order("order-1")
    payment = shop.pay(
        "order-1", transaction_amount="100.50", notify={"duplicates": 4, "ipn": True}
    )
    assert shop.deliver_outbox() == [True, False, False, False, False, True]
    summary = shop.process()
    assert (summary.completed, summary.payments) == (2, {"applied": 1, "duplicate": 1})
    assert shop.status_of("order-1") == "paid"
    assert (
        shop.count("SELECT count(*) FROM payment_logs WHERE payment_id = ?", str(payment["id"]))
        == 1
    )


def test_a_stale_pending_read_after_approved_keeps_the_order_paid(shop):
    shop.order("order-1")
    payment = shop.pay("order-1", status="pending", notify=False)
    approved = shop.move(payment["id"], "approved")
    shop.deliver_outbox()
    shop.process()
    assert shop.status_of("order-1") == "paid"
    # Mercado Pago's reads can lag: a later fetch returns the older pending state.
    older = "2020-01-01T00:00:00.000-03:00"
    shop.move(payment["id"], "pending", date_last_updated=older)
    shop.deliver_outbox()
    summary = shop.process()
    assert summary.payments == {"stale": 1}
    assert shop.status_of("order-1") == "paid"
    assert approved["status"] == "approved"


def test_pending_then_approved_then_refunded_follows_mercado_pago(shop):
    shop.order("order-1")
    payment = shop.pay("order-1", status="pending")
    shop.deliver_outbox()
    shop.process()
    assert shop.status_of("order-1") == "pending"
    shop.move(payment["id"], "approved")
    shop.deliver_outbox()
    shop.process()
    assert shop.status_of("order-1") == "paid"
    shop.move(payment["id"], "refunded")
    shop.deliver_outbox()
    shop.process()
    assert shop.status_of("order-1") == "refunded"
    history = [log.status for log in shop.store.payment_logs_for_order("order-1")]
    assert history == ["pending", "approved", "refunded"]


def test_wrong_amount_is_flagged_and_unknown_reference_creates_an_order(shop):
    shop.order("order-1", amount="100.50")
    shop.pay("order-1", transaction_amount="1.00")
    shop.pay("walk-in-7", transaction_amount="55.00")
    shop.deliver_outbox()
    shop.process()
    assert shop.status_of("order-1") == "amount_mismatch"
    created = shop.store.get_order("walk-in-7")
    assert (created.status, created.source, str(created.amount)) == ("paid", "mercadopago", "55")


def test_merchant_order_notifications_apply_all_their_payments(shop):

    shop.order("order-1")
    payment = shop.pay("order-1", notify=False)
    merchant_order_id = payment["order"]["id"]
    request = RawRequest(query=f"topic=merchant_order&id={merchant_order_id}")
    receive_request(shop.store, request, shop.clock, None)
    summary = shop.process()
    assert summary.payments == {"applied": 1}
    assert shop.status_of("order-1") == "paid"


def test_topics_not_acted_on_complete_with_a_note(shop, fixtures_dir):

    ingest_sources(
        shop.store,
        [str(fixtures_dir / "mp-docs-point-optional-notifications-es_mp-connect.json")],
        shop.clock,
    )
    summary = shop.process()
    (event,) = shop.store.list_events(EventFilter())
    assert (summary.completed, event.status) == (1, "completed")
    assert "not acted on" in event.note


def test_503s_then_success_completes_after_retries(shop):
    shop.order("order-1")
    shop.pay("order-1")
    shop.deliver_outbox()
    shop.fault(endpoint="payments.get", times=2, error_statuses=[503])
    assert shop.process().retried == 1
    shop.clock.advance(minutes=1)
    assert shop.process().retried == 1
    shop.clock.advance(minutes=2)
    summary = shop.process()
    assert summary.completed == 1 and shop.status_of("order-1") == "paid"
    (event,) = shop.store.list_events(EventFilter())
    assert event.attempts == 3 and len(event.errors) == 2
    assert "503" in event.errors[0]["error"]


def test_a_404_is_retried_twice_then_dead_lettered_permanent(shop):

    receive_request(shop.store, RawRequest(query="topic=payment&id=424242"), shop.clock, None)
    for minutes in (1, 2):
        assert shop.process().retried == 1
        shop.clock.advance(minutes=minutes)
    assert shop.process().dead_lettered == 1
    (letter,) = shop.store.list_dead_letters(DeadLetterFilter())
    assert (letter.reason, letter.attempts) == ("permanent", 3)
    assert "mercadopago_not_found" in letter.last_error


def test_always_failing_is_exhausted_after_exactly_the_schedule(shop):
    shop.order("order-1")
    shop.pay("order-1")
    shop.deliver_outbox()
    shop.fault(endpoint="payments.get", error_rate=1.0, error_statuses=[503])
    delays = []
    for _ in range(6):
        assert shop.process().retried == 1
        (event,) = shop.store.list_events(EventFilter())
        delays.append(event.next_attempt_at - shop.clock.now())
        shop.clock.set(event.next_attempt_at)
    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32)]
    assert shop.process().dead_lettered == 1
    (letter,) = shop.store.list_dead_letters(DeadLetterFilter())
    assert (letter.reason, letter.attempts, len(letter.errors)) == ("exhausted", 7, 7)


def test_replay_after_the_fault_is_gone_makes_the_order_right(shop):
    shop.order("order-1")
    shop.pay("order-1")
    shop.deliver_outbox()
    shop.fault(endpoint="payments.get", error_rate=1.0, error_statuses=[502])
    for _ in range(7):
        shop.process()
        shop.clock.advance(hours=1)
    (letter,) = shop.store.list_dead_letters(DeadLetterFilter())
    shop.control("DELETE", "/faults")

    first = replay(shop.store, shop.clock, [letter], dry_run=False)
    again = replay(shop.store, shop.clock, [shop.store.get_dead_letter(letter.id)], dry_run=False)
    assert (first.results[0].result, again.results[0].result) == ("replayed", "already_resolved")
    assert shop.process().completed == 1
    assert shop.status_of("order-1") == "paid"
    (log,) = shop.store.payment_logs_for_order("order-1")
    assert log.source == "replay"


def test_a_429_storm_is_honoured_and_ridden_out(shop):
    shop.order("order-1")
    shop.pay("order-1")
    shop.deliver_outbox()
    shop.fault(endpoint="payments.get", times=1, rate_limit_rate=1.0, retry_after=120)
    assert shop.process().retried == 1
    (event,) = shop.store.list_events(EventFilter())
    assert event.next_attempt_at - shop.clock.now() == timedelta(minutes=2)  # Retry-After won
    shop.clock.advance(minutes=2)
    assert shop.process().completed == 1


def test_an_unreachable_api_is_reported_and_retried(shop):
    shop.order("order-1")
    shop.pay("order-1")
    shop.deliver_outbox()
    shop.gateway.close()
    shop.gateway = build_gateway(gateway_settings(shop.sandbox, api_base="http://127.0.0.1:9"))
    summary = shop.process()
    assert summary.api_unreachable and summary.retried == 1
