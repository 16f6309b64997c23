"""More of the Store contract (store/base.py), run against every backend: the methods
test_contract.py leaves out, and the edges where the backends differ by nature (NUL characters,
JSON, time zones, ids after an import)."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from decimal import Decimal

import pytest

from mpcheckout.models import InvalidInput, ReconcileRun
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.store.base import DeadLetterFilter, EventFilter, EventOutcome
from tests.store.helpers import RULES, ipn, order, payment, webhook


def test_times_come_back_as_aware_utc_and_money_as_decimal(store, clock):
    store.create_order(order("order-1", clock.now(), amount="1234.56"))
    approved = payment("900", "approved", clock.now(), amount="1234.56")
    store.apply_payments([approved], RULES, "webhook", clock.now())
    kept = store.get_order("order-1")
    assert kept.created_at == clock.now() and kept.created_at.tzinfo is UTC
    assert kept.paid_at.tzinfo is UTC and kept.amount == Decimal("1234.56")
    (log,) = store.payment_logs_for_order("order-1")
    assert (log.amount, log.recorded_at.tzinfo, log.raw) == (
        Decimal("1234.56"),
        UTC,
        {"id": 900, "status": "approved"},
    )


def test_an_input_with_nul_characters_is_still_kept(store, clock):
    binary = "PK\x03\x04\x00\x00 not text"
    assert store.record_invalid_many([InvalidInput(binary, "binary data")], clock.now()) == 1
    (letter,) = store.list_dead_letters(DeadLetterFilter(reason="invalid"))
    assert letter.payload.startswith("PK") and letter.payload.endswith(" not text")
    assert store.record_invalid_many([InvalidInput(binary, "binary data")], clock.now()) == 0


def test_headers_and_attempt_history_round_trip(store, clock):
    request = RawRequest(
        body=json.dumps({"id": 1, "type": "payment", "data": {"id": "5"}}).encode(),
        headers={"X-Request-Id": "abc", "User-Agent": "MercadoPago WebHook v1.0 \x00payment"},
        query="data.id=5&type=payment",
    )
    store.enqueue_many([parse_notification(request)], "http", clock.now())
    (event,) = store.claim_due_events("w1", 1, 60, clock.now())
    store.commit_outcomes(
        "w1",
        [EventOutcome(event.id, "retry", error="HTTP 503", next_attempt_at=clock.now())],
        RULES,
        clock.now(),
    )
    kept = store.get_event(event.id)
    assert kept.headers["x-request-id"] == "abc" and kept.headers[":query"].startswith("data.id")
    assert kept.live_mode is None and kept.errors[0]["error"] == "HTTP 503"
    assert kept.errors[0]["worker"] == "w1" and kept.errors[0]["attempt"] == 1


def test_enqueue_each_tells_queued_from_duplicate_in_order(store, clock):
    store.enqueue_many([webhook(2)], "http", clock.now())
    batch = [webhook(1), webhook(2), webhook(1), ipn("5"), ipn("5")]
    assert store.enqueue_each(batch, "http", clock.now()) == [True, False, False, True, False]
    assert store.enqueue_each([], "http", clock.now()) == []
    assert store.count_rows("webhook_queue") == 3


def test_enqueue_each_of_a_batch_larger_than_one_statement_keeps_every_answer(store, clock):
    batch = [webhook(n) for n in range(1, 601)] + [webhook(1), webhook(600)]
    assert store.enqueue_each(batch, "http", clock.now()) == [True] * 600 + [False, False]
    assert store.count_rows("webhook_queue") == 600


def test_preview_counts_like_apply_and_writes_nothing(store, clock):
    store.create_order(order("order-1", clock.now()))
    batch = [payment("900", "approved", clock.now()), payment("901", "approved", clock.now(), "x")]
    preview = store.preview_payments(batch, RULES, clock.now())
    assert preview.by_outcome == {"applied": 1, "created": 1}
    assert store.get_order("order-1").status == "pending" and store.get_order("x") is None
    assert store.count_rows("payment_logs") == 0
    assert store.apply_payments(batch, RULES, "reconcile", clock.now()).by_outcome == {
        "applied": 1,
        "created": 1,
    }


def test_replay_invalid_queues_the_reparsed_notification_once(store, clock):
    store.record_invalid_many([InvalidInput("{bad", "malformed JSON")], clock.now())
    (letter,) = store.list_dead_letters(DeadLetterFilter())
    result = store.replay_invalid(letter.id, webhook(9), clock.now())
    assert result.result == "replayed" and store.get_event(result.queue_id).received_via == "replay"
    assert store.replay_invalid(letter.id, webhook(9), clock.now()).result == "already_resolved"
    assert store.replay_invalid(12345, webhook(9), clock.now()).result == "not_found"


def test_replaying_the_same_letter_twice_in_one_call_replays_it_once(store, clock):
    store.enqueue_many([webhook(1)], "file", clock.now())
    (event,) = store.claim_due_events("w1", 1, 60, clock.now())
    store.commit_outcomes(
        "w1",
        [EventOutcome(event.id, "dead", error="x", dead_reason="permanent")],
        RULES,
        clock.now(),
    )
    (letter,) = store.list_dead_letters(DeadLetterFilter())
    results = store.replay_dead_letters([letter.id, letter.id], clock.now())
    assert [r.result for r in results] == ["replayed", "already_resolved"]


def test_queue_snapshot_figures(store, clock):
    store.enqueue_many([webhook(n) for n in range(5)], "http", clock.now())
    claimed = store.claim_due_events("w1", 3, 30, clock.now())
    retry_at = clock.now() + timedelta(minutes=10)
    store.commit_outcomes(
        "w1",
        [
            EventOutcome(claimed[0].id, "completed"),
            EventOutcome(claimed[1].id, "retry", error="503", next_attempt_at=retry_at),
            EventOutcome(claimed[2].id, "dead", error="400", dead_reason="permanent"),
        ],
        RULES,
        clock.now() + timedelta(seconds=2),
    )
    store.claim_due_events("w1", 1, 30, clock.now())
    store.count_rejection("bad_signature", clock.now())
    store.count_rejection("bad_signature", clock.now())
    later = clock.now() + timedelta(minutes=1)
    snapshot = store.queue_snapshot(later, clock.now() - timedelta(days=1), clock.now())
    assert (snapshot.pending_due, snapshot.pending_later, snapshot.retried_since) == (1, 1, 1)
    assert (snapshot.processing, snapshot.processing_expired) == (1, 1)
    assert (snapshot.completed_since, snapshot.dead_unresolved, snapshot.dead_since) == (1, 1, 1)
    assert snapshot.latency_seconds == [pytest.approx(2.0, abs=0.001)]
    assert snapshot.rejections_since == {"bad_signature": 2}
    assert snapshot.oldest_pending_at == clock.now() and snapshot.next_retry_at == retry_at
    assert snapshot.last_received_at == clock.now()
    assert store.count_due_events(later) == 2


def test_orders_queries(store, clock):
    store.create_order(order("old", clock.now() - timedelta(days=2)))
    store.create_order(order("new", clock.now()))
    store.set_order_preference("new", "pref-1", clock.now())
    assert store.get_order("new").preference_id == "pref-1"
    assert [o.id for o in store.stale_pending_orders(clock.now() - timedelta(days=1), 10)] == [
        "old"
    ]
    store.apply_payments(
        [payment("900", "approved", clock.now(), "old")], RULES, "webhook", clock.now()
    )
    assert store.order_counts() == {"paid": 1, "pending": 1}


def test_meta_alerts_and_reconcile_runs(store, clock):
    assert store.get_meta("checkpoint") is None
    store.set_meta("checkpoint", "a", clock.now())
    store.set_meta("checkpoint", "b", clock.now())
    assert store.get_meta("checkpoint") == "b"
    store.set_alert_state("dead_letters", clock.now(), '{"x": 1}', clock.now())
    assert store.get_alert_state("dead_letters") == {
        "last_fired_at": clock.now(),
        "pending": '{"x": 1}',
    }
    assert store.pending_alert_conditions() == ["dead_letters"]
    store.set_alert_state("dead_letters", clock.now(), None, clock.now())
    assert store.pending_alert_conditions() == [] and store.get_alert_state("other") is None
    first = store.record_reconcile_run(ReconcileRun(None, clock.now(), clock.now(), "ok"))
    later = clock.now() + timedelta(hours=1)
    second = store.record_reconcile_run(
        ReconcileRun(None, later, None, "partial", swept=3, details={"why": "budget"})
    )
    runs = store.list_reconcile_runs(10)
    assert [r.id for r in runs] == [second, first]
    assert (runs[0].swept, runs[0].details, runs[0].finished_at) == (3, {"why": "budget"}, None)


def test_archivable_count_matches_what_archive_moves(store, clock):
    store.enqueue_many([webhook(n) for n in range(3)], "file", clock.now())
    claimed = store.claim_due_events("w1", 2, 60, clock.now())
    store.commit_outcomes(
        "w1", [EventOutcome(e.id, "completed") for e in claimed], RULES, clock.now()
    )
    later = clock.now() + timedelta(days=1)
    assert store.count_archivable(later) == 2
    assert store.archive_completed(later, 1, later) == 1 and store.count_archivable(later) == 1


def test_export_is_backend_neutral(store, clock):
    store.create_order(order("order-1", clock.now()))
    store.enqueue_many([webhook(1, "900")], "http", clock.now())
    (event,) = store.claim_due_events("w1", 1, 60, clock.now())
    store.commit_outcomes(
        "w1",
        [EventOutcome(event.id, "completed", payments=(payment("900", "approved", clock.now()),))],
        RULES,
        clock.now(),
    )
    (orders,) = store.export_rows("orders", 10)
    assert orders[0]["amount"] == "100.50" and orders[0]["created_at"].endswith("Z")
    (logs,) = store.export_rows("payment_logs", 10)
    assert json.loads(logs[0]["raw"]) == {"id": 900, "status": "approved"}
    (queue,) = store.export_rows("webhook_queue", 10)
    assert queue[0]["next_attempt_at"].endswith("Z") and queue[0]["status"] == "completed"
    assert list(store.export_rows("rate_limits", 10)) == []


def test_export_pages_through_every_row_in_key_order(store, clock):
    store.enqueue_many([webhook(n) for n in range(7)], "file", clock.now())
    for n in range(5):
        store.count_rejection(f"reason-{n}", clock.now() + timedelta(hours=n % 2))
    batches = list(store.export_rows("webhook_queue", 3))
    assert [len(batch) for batch in batches] == [3, 3, 1]
    ids = [row["id"] for batch in batches for row in batch]
    assert ids == sorted(ids)
    assert sum(len(batch) for batch in store.export_rows("webhook_rejections", 2)) == 5


def test_imported_rows_keep_their_ids_and_new_rows_follow_them(store, clock):
    stamp = "2026-01-15T12:00:00.000000Z"
    row = {
        "id": 41,
        "dedupe_key": "wh:imported",
        "topic": "payment",
        "action": None,
        "resource_id": "1",
        "live_mode": 1,
        "payload": "{}",
        "headers": json.dumps({"x-request-id": "r"}),
        "received_via": "http",
        "status": "completed",
        "attempts": 1,
        "next_attempt_at": stamp,
        "locked_by": None,
        "locked_until": None,
        "last_error": None,
        "attempt_log": None,
        "note": None,
        "received_at": stamp,
        "updated_at": stamp,
        "completed_at": stamp,
    }
    store.import_rows("webhook_queue", [row])
    store.import_rows("webhook_archive", [{**row, "id": 57, "archived_at": stamp}])
    imported = store.get_event(41)
    assert imported.live_mode is True and imported.headers == {"x-request-id": "r"}
    assert imported.received_at.tzinfo is UTC
    store.enqueue_many([webhook(1)], "http", clock.now())
    (newest,) = store.list_events(EventFilter(limit=1))
    assert newest.id > 41 and newest.dedupe_key != "wh:imported"


def test_new_events_never_reuse_the_id_of_an_archived_one(store, clock, request):
    store.enqueue_many([webhook(1), webhook(2)], "http", clock.now())
    claimed = store.claim_due_events("w1", 10, 60, clock.now())
    store.commit_outcomes(
        "w1", [EventOutcome(e.id, "completed") for e in claimed], RULES, clock.now()
    )
    clock.advance(days=31)
    assert store.archive_completed(clock.now(), 100, clock.now()) == 2
    store.enqueue_many([webhook(3)], "http", clock.now())
    (event,) = store.claim_due_events("w1", 10, 60, clock.now())
    assert event.id not in {e.id for e in claimed}
    store.commit_outcomes("w1", [EventOutcome(event.id, "completed")], RULES, clock.now())
    clock.advance(days=31)
    assert store.archive_completed(clock.now(), 100, clock.now()) == 1


def test_counting_stale_pending_orders_matches_the_list(store, clock):
    cutoff = clock.now() - timedelta(days=1)
    assert store.count_stale_pending_orders(cutoff, 10) == 0
    for n in range(3):
        store.create_order(order(f"old-{n}", clock.now() - timedelta(days=2, minutes=n)))
    store.create_order(order("at-cutoff", cutoff))
    store.create_order(order("new", clock.now()))
    store.apply_payments(
        [payment("901", "approved", clock.now(), "old-0")], RULES, "webhook", clock.now()
    )
    store.apply_payments(
        [payment("902", "in_process", clock.now(), "old-1")], RULES, "webhook", clock.now()
    )
    assert [o.id for o in store.stale_pending_orders(cutoff, 10)] == ["old-2"]
    assert store.count_stale_pending_orders(cutoff, 10) == 1
    store.create_order(order("old-3", clock.now() - timedelta(days=3)))
    assert store.count_stale_pending_orders(cutoff, 1) == 1  # counted up to the limit
    assert store.count_stale_pending_orders(cutoff, 10) == 2
