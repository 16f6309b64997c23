"""The Store contract (store/base.py), run against every backend."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest

from mpcheckout.errors import ValidationError
from mpcheckout.models import InvalidInput
from mpcheckout.store.base import DeadLetterFilter, EventFilter, EventOutcome, OrderFilter
from tests.store.helpers import RULES, ipn, order, payment, webhook


def test_enqueue_counts_duplicates_by_dedupe_key(store, clock):
    first = store.enqueue_many([webhook(1), webhook(2)], "file", clock.now())
    again = store.enqueue_many([webhook(2), webhook(3), webhook(3)], "file", clock.now())
    assert (first.queued, first.duplicates) == (2, 0)
    assert (again.queued, again.duplicates) == (1, 2)
    assert store.count_rows("webhook_queue") == 3


def test_identical_ipn_coalesces_only_while_pending(store, clock):
    assert store.enqueue_many([ipn("55")], "http", clock.now()).queued == 1
    assert store.enqueue_many([ipn("55")], "http", clock.now()).duplicates == 1
    claimed = store.claim_due_events("w1", 10, 60, clock.now())
    assert len(claimed) == 1
    # Claimed: the merchant may have changed since, so the same IPN must be queued again.
    assert store.enqueue_many([ipn("55")], "http", clock.now()).queued == 1


def test_webhook_keys_stay_taken_for_ever(store, clock):
    store.enqueue_many([webhook(7)], "http", clock.now())
    (event,) = store.claim_due_events("w1", 10, 60, clock.now())
    store.commit_outcomes("w1", [EventOutcome(event.id, "completed")], RULES, clock.now())
    assert store.enqueue_many([webhook(7)], "http", clock.now()).duplicates == 1


def test_claim_leases_due_events_once(store, clock):
    store.enqueue_many([webhook(n) for n in range(5)], "file", clock.now())
    first = store.claim_due_events("w1", 3, 60, clock.now())
    second = store.claim_due_events("w2", 10, 60, clock.now())
    assert len(first) == 3 and len(second) == 2
    assert not {e.id for e in first} & {e.id for e in second}
    assert store.claim_due_events("w3", 10, 60, clock.now()) == []
    event = store.get_event(first[0].id)
    assert (event.status, event.locked_by, event.attempts) == ("processing", "w1", 1)
    assert event.locked_until == clock.now() + timedelta(seconds=60)


def test_expired_lease_is_claimed_again_and_the_late_worker_is_refused(store, clock):
    store.enqueue_many([webhook(1)], "file", clock.now())
    (event,) = store.claim_due_events("w1", 10, 30, clock.now())
    clock.advance(seconds=31)
    (again,) = store.claim_due_events("w2", 10, 30, clock.now())
    assert again.id == event.id and again.attempts == 2
    late = store.commit_outcomes("w1", [EventOutcome(event.id, "completed")], RULES, clock.now())
    assert late.lease_lost == [event.id] and late.committed == []
    done = store.commit_outcomes("w2", [EventOutcome(event.id, "completed")], RULES, clock.now())
    assert done.committed == [event.id]
    history = store.get_event(event.id).errors
    assert history[0]["error"] == "lease expired" and history[0]["worker"] == "w1"


def test_events_not_yet_due_are_not_claimed(store, clock):
    store.enqueue_many([webhook(1)], "file", clock.now())
    (event,) = store.claim_due_events("w1", 10, 60, clock.now())
    retry_at = clock.now() + timedelta(minutes=2)
    store.commit_outcomes(
        "w1",
        [EventOutcome(event.id, "retry", error="503", next_attempt_at=retry_at)],
        RULES,
        clock.now(),
    )
    assert store.claim_due_events("w1", 10, 60, clock.now()) == []
    clock.advance(minutes=2)
    assert [e.id for e in store.claim_due_events("w1", 10, 60, clock.now())] == [event.id]
    assert store.get_event(event.id).errors[0]["error"] == "503"


def test_dead_outcome_moves_the_event_to_the_dead_letters_with_its_history(store, clock):
    store.enqueue_many([webhook(1)], "file", clock.now())
    (event,) = store.claim_due_events("w1", 10, 60, clock.now())
    store.commit_outcomes(
        "w1",
        [EventOutcome(event.id, "dead", error="404 not found", dead_reason="permanent")],
        RULES,
        clock.now(),
    )
    assert store.get_event(event.id).status == "dead"
    (letter,) = store.list_dead_letters(DeadLetterFilter())
    assert (letter.queue_id, letter.reason, letter.last_error) == (
        event.id,
        "permanent",
        "404 not found",
    )
    assert letter.errors[-1]["error"] == "404 not found" and letter.attempts == 1


def test_replay_sends_a_dead_letter_back_once(store, clock):
    store.enqueue_many([webhook(1)], "file", clock.now())
    (event,) = store.claim_due_events("w1", 10, 60, clock.now())
    store.commit_outcomes(
        "w1",
        [EventOutcome(event.id, "dead", error="x", dead_reason="exhausted")],
        RULES,
        clock.now(),
    )
    (letter,) = store.list_dead_letters(DeadLetterFilter())
    (first,) = store.replay_dead_letters([letter.id], clock.now())
    (second,) = store.replay_dead_letters([letter.id], clock.now())
    assert (first.result, second.result) == ("replayed", "already_resolved")
    replayed = store.get_event(event.id)
    assert (replayed.status, replayed.attempts) == ("pending", 0)
    assert store.list_dead_letters(DeadLetterFilter()) == []
    assert store.replay_dead_letters([999], clock.now())[0].result == "not_found"


def test_invalid_inputs_are_kept_once(store, clock):
    items = [InvalidInput("{broken", "malformed JSON"), InvalidInput("{broken", "malformed JSON")]
    assert store.record_invalid_many(items, clock.now()) == 1
    (letter,) = store.list_dead_letters(DeadLetterFilter(reason="invalid"))
    assert (letter.payload, letter.queue_id) == ("{broken", None)
    assert store.replay_dead_letters([letter.id], clock.now())[0].result == "invalid_payload"


def test_discard_resolves_with_a_note(store, clock):
    store.record_invalid_many([InvalidInput("junk", "not json")], clock.now())
    (letter,) = store.list_dead_letters(DeadLetterFilter())
    assert store.discard_dead_letter(letter.id, "test noise", clock.now())
    assert not store.discard_dead_letter(letter.id, "again", clock.now())
    kept = store.get_dead_letter(letter.id)
    assert (kept.resolution, kept.note) == ("discarded", "test noise")


def test_applying_the_same_payment_state_twice_logs_it_once(store, clock):
    store.create_order(order("order-1", clock.now()))
    approved = payment("900", "approved", clock.now())
    first = store.apply_payments([approved], RULES, "webhook", clock.now())
    second = store.apply_payments([approved], RULES, "reconcile", clock.now())
    assert first.by_outcome == {"applied": 1} and second.by_outcome == {"duplicate": 1}
    assert store.get_order("order-1").status == "paid"
    assert len(store.payment_logs_for_order("order-1")) == 1


def test_a_stale_state_does_not_undo_a_newer_one(store, clock):
    store.create_order(order("order-1", clock.now()))
    later = clock.now() + timedelta(minutes=5)
    store.apply_payments([payment("900", "approved", later)], RULES, "webhook", clock.now())
    counts = store.apply_payments(
        [payment("900", "pending", clock.now())], RULES, "webhook", clock.now()
    )
    assert counts.by_outcome == {"stale": 1}
    assert store.get_order("order-1").status == "paid"


def test_amount_mismatch_is_flagged_not_paid(store, clock):
    store.create_order(order("order-1", clock.now(), amount="100.50"))
    store.apply_payments(
        [payment("900", "approved", clock.now(), amount="1.00")], RULES, "webhook", clock.now()
    )
    assert store.get_order("order-1").status == "amount_mismatch"


def test_unknown_reference_creates_an_order_from_mercadopago(store, clock):
    store.apply_payments(
        [payment("901", "approved", clock.now(), reference="web-77", amount="12.30")],
        RULES,
        "reconcile",
        clock.now(),
    )
    created = store.get_order("web-77")
    assert (created.status, created.source, created.amount) == (
        "paid",
        "mercadopago",
        Decimal("12.30"),
    )


def test_money_survives_exactly(store, clock):
    store.create_order(order("order-1", clock.now(), amount="0.10"))
    assert store.get_order("order-1").amount == Decimal("0.10")
    with pytest.raises(ValidationError):
        store.create_order(order("order-1", clock.now()))


def test_completed_outcome_applies_its_payments_in_the_same_transaction(store, clock):
    store.create_order(order("order-1", clock.now()))
    store.enqueue_many([webhook(1, "900")], "http", clock.now())
    (event,) = store.claim_due_events("w1", 10, 60, clock.now())
    result = store.commit_outcomes(
        "w1",
        [EventOutcome(event.id, "completed", payments=(payment("900", "approved", clock.now()),))],
        RULES,
        clock.now(),
    )
    assert result.applied.by_outcome == {"applied": 1}
    assert store.get_order("order-1").status == "paid"
    assert store.get_event(event.id).status == "completed"


def test_lists_filter_and_order_newest_first(store, clock):
    store.enqueue_many([webhook(1)], "file", clock.now())
    clock.advance(hours=3)
    store.enqueue_many([webhook(2), ipn("5")], "http", clock.now())
    assert store.list_events(EventFilter())[0].resource_id == "5"  # newest first
    assert len(store.list_events(EventFilter(since=clock.now() - timedelta(hours=1)))) == 2
    assert len(store.list_events(EventFilter(limit=1))) == 1
    assert store.list_events(EventFilter(status="dead")) == []
    store.create_order(order("a", clock.now()))
    assert [o.id for o in store.list_orders(OrderFilter(status="pending"))] == ["a"]


def test_recover_expired_leases(store, clock):
    store.enqueue_many([webhook(1), webhook(2)], "file", clock.now())
    store.claim_due_events("w1", 10, 30, clock.now())
    assert store.recover_expired_leases(clock.now()) == 0
    clock.advance(seconds=31)
    assert store.recover_expired_leases(clock.now()) == 2
    assert {e.status for e in store.list_events(EventFilter())} == {"pending"}


def test_run_lock_is_exclusive_until_released_or_stale(store, clock):
    assert store.try_lock("reconcile", "a", clock.now(), stale_after=3600)
    assert not store.try_lock("reconcile", "b", clock.now(), stale_after=3600)
    store.release_lock("reconcile", "b")  # not the holder: nothing happens
    assert not store.try_lock("reconcile", "b", clock.now(), stale_after=3600)
    clock.advance(hours=2)
    assert store.try_lock("reconcile", "b", clock.now(), stale_after=3600)
    store.release_lock("reconcile", "b")
    assert store.try_lock("reconcile", "c", clock.now(), stale_after=3600)


def test_a_lock_held_by_a_process_of_this_host_that_is_gone_is_taken_over_at_once(store, clock):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    here = socket.gethostname()
    assert store.try_lock("reconcile", f"{here}:{int(gone.stdout)}", clock.now(), stale_after=3600)
    me = f"{here}:{os.getpid()}"
    assert store.try_lock("reconcile", me, clock.now(), stale_after=3600)
    # A live holder, or another host's (whose processes cannot be seen), keeps it.
    assert not store.try_lock("reconcile", f"{here}:1", clock.now(), stale_after=3600)
    assert not store.try_lock("reconcile", "other-host:1", clock.now(), stale_after=3600)
    store.release_lock("reconcile", me)
    assert store.try_lock("reconcile", "other-host:1", clock.now(), stale_after=3600)


def test_rate_limit_counts_a_fixed_window(store, clock):
    decisions = [store.hit_rate_limit("ip:1", 5, 900, clock.now()) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert store.hit_rate_limit("ip:2", 5, 900, clock.now()).allowed
    clock.advance(seconds=901)
    assert store.hit_rate_limit("ip:1", 5, 900, clock.now()).allowed


def test_archive_moves_old_completed_events(store, clock):
    store.enqueue_many([webhook(1), webhook(2)], "file", clock.now())
    claimed = store.claim_due_events("w1", 10, 60, clock.now())
    store.commit_outcomes(
        "w1", [EventOutcome(e.id, "completed") for e in claimed], RULES, clock.now()
    )
    clock.advance(days=31)
    assert store.archive_completed(clock.now() - timedelta(days=30), 1000, clock.now()) == 2
    assert store.count_rows("webhook_queue") == 0 and store.count_rows("webhook_archive") == 2
