"""The money summaries (migration 0007) on every backend: per day, the sums of the report rows to
the cent; per payment, the report beside what mpcheckout holds, kept in step by whatever writes
(a report import, a payment applied, a refund, a chargeback, an order moving to another
payment). SQLite keeps them as tables its triggers write; PostgreSQL computes them as views."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from mpcheckout.models import Chargeback, Refund
from mpcheckout.store.base import EventOutcome
from tests.store.helpers import RULES, order, payment, webhook
from tests.store.test_reports_contract import HEADER, import_bytes, line

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY_ONE, DAY_TWO = "2026-11-20T10:00:00Z", "2026-11-21T23:59:59Z"
RELEASE_HEADER = (
    "DATE,SOURCE_ID,EXTERNAL_REFERENCE,RECORD_TYPE,DESCRIPTION,NET_CREDIT_AMOUNT,"
    "NET_DEBIT_AMOUNT,GROSS_AMOUNT,MP_FEE_AMOUNT,FINANCING_FEE_AMOUNT,SHIPPING_FEE_AMOUNT,"
    "TAXES_AMOUNT,COUPON_AMOUNT,PAYOUT_BANK_ACCOUNT_NUMBER,CURRENCY\n"
)


def settle(store, *lines: str, name: str = "report.csv"):
    return import_bytes(store, (HEADER + "".join(lines)).encode(), name)


def pay(store, payment_id: str, reference: str, amount: str = "100.50", **fields) -> None:
    store.create_order(order(reference, NOW - timedelta(days=10), amount=amount))
    state = replace(payment(payment_id, "approved", NOW - timedelta(days=10), reference,
                            amount), **fields)  # fmt: skip
    store.apply_payments([state], RULES, "webhook", NOW - timedelta(days=10))


def mismatches(store) -> dict[str, object]:
    return {found.payment_id: found for found in store.money_mismatches()}


def test_a_day_sums_its_rows_to_the_cent(store):
    settle(
        store,
        line("o1", "1", "100.10", "-5.01", DAY_ONE),
        line("o2", "2", "0.20", "-0.01", DAY_ONE),
        line("o1", "1", "-30.00", "0", DAY_ONE, kind="REFUND"),
        line("o3", "3", "-7.05", "0", DAY_TWO, kind="CHARGEBACK"),
    )
    one, two = store.money_days("2026-11-01", "2026-11-30")
    assert (one.day, one.currency, one.rows, one.payments) == ("2026-11-20", "ARS", 3, 2)
    assert (one.gross, one.fees, one.mp_fee, one.refunded) == (
        Decimal("100.30"), Decimal("-5.02"), Decimal("-5.02"), Decimal("30.00"),
    )  # fmt: skip
    assert one.net == Decimal("100.30") - Decimal("5.02") - Decimal("30.00") and one.exact
    assert (two.day, two.payments, two.charged_back, two.net) == (
        "2026-11-21", 0, Decimal("7.05"), Decimal("-7.05"),
    )  # fmt: skip
    assert store.money_days("2026-11-21", "2026-11-21") == [two]
    assert store.money_days("2026-12-01", "2026-12-31") == []


def test_released_and_paid_out_from_the_release_report(store):
    rows = (
        "2026-11-22T10:00:00Z,1,o1,release,payment,95.09,0,100.10,-5.01,0,0,0,0,,ARS\n"
        "2026-11-22T11:00:00Z,p-1,,release,payout,0,95.09,-95.09,0,0,0,0,0,123,ARS\n"
    )
    import_bytes(store, (RELEASE_HEADER + rows).encode(), "release.csv")
    (day,) = store.money_days("2026-11-22", "2026-11-22")
    assert (day.rows, day.released, day.paid_out, day.gross) == (
        2, Decimal("95.09"), Decimal("95.09"), Decimal("0"),
    )  # fmt: skip


def test_a_settled_payment_never_seen_then_applied(store):
    settle(store, line("o1", "901", "100.50", "-5.00", DAY_ONE))
    unknown = mismatches(store)["901"]
    assert (unknown.order_id, unknown.logged, unknown.settlements) == (None, False, 1)
    assert unknown.gross == Decimal("100.50") and unknown.external_reference == "o1"
    assert unknown.settled_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    pay(store, "901", "o1")
    assert mismatches(store) == {}


def test_a_gross_and_a_currency_unlike_the_orders(store):
    pay(store, "901", "o1", amount="100.50")
    pay(store, "902", "o2", amount="20.00")
    settle(
        store,
        line("o1", "901", "100.00", "-5.00", DAY_ONE),
        line("o2", "902", "20.00", "-1.00", DAY_ONE).replace(";ARS;", ";BRL;"),
    )
    found = mismatches(store)
    assert (found["901"].order_amount, found["901"].gross) == (Decimal("100.50"), Decimal("100.00"))
    assert (found["902"].order_currency, found["902"].currency) == ("ARS", "BRL")
    assert found["902"].order_amount == found["902"].gross


def test_refunds_in_the_report_against_the_ledger(store):
    refund = Refund("r1", "901", Decimal("10.25"), "approved", "collector", NOW, {"id": "r1"})
    pay(store, "901", "o1", status_detail="partially_refunded",
        refunded_amount=Decimal("10.25"), refunds=(refund,))  # fmt: skip
    settle(store, line("o1", "901", "100.50", "-5.00", DAY_ONE))
    found = mismatches(store)["901"]
    assert (found.ledger_refunded, found.refunded) == (Decimal("10.25"), Decimal("0"))
    settle(store, line("o1", "901", "-10.25", "0", DAY_TWO, kind="REFUND"), name="later.csv")
    assert mismatches(store) == {}
    # A refund the ledger later learns was rejected moves its sum back.
    rejected = replace(refund, status="rejected")
    pay_again = replace(payment("901", "approved", NOW, "o1"), refunds=(rejected,))
    store.apply_payments([pay_again], RULES, "webhook", NOW)
    assert mismatches(store)["901"].ledger_refunded == Decimal("0")


def test_a_chargeback_row_the_ledger_does_not_show(store):
    pay(store, "901", "o1")
    settle(
        store,
        line("o1", "901", "100.50", "-5.00", DAY_ONE),
        line("o1", "901", "-100.50", "0", DAY_TWO, kind="CHARGEBACK"),
    )
    found = mismatches(store)["901"]
    assert (found.chargeback_rows, found.charged_back, found.ledger_chargebacks) == (
        1, Decimal("100.50"), 0,
    )  # fmt: skip
    case = Chargeback("234000062890459137", ("901",), Decimal("100.50"), "ARS", None, True, True,
                      "pending", None, NOW, NOW, False, {"id": 1})  # fmt: skip
    store.enqueue_many([webhook(1)], "http", NOW)
    (claimed,) = store.claim_due_events("w", 1, 60, NOW)
    outcome = EventOutcome(claimed.id, "completed", chargebacks=(case,))
    store.commit_outcomes("w", [outcome], RULES, NOW)
    assert mismatches(store) == {}


def test_a_paid_order_waits_for_its_settlement(store):
    pay(store, "901", "o1")
    since, until = NOW - timedelta(days=30), NOW
    (waiting,) = store.unsettled_payments(since, until)
    assert (waiting.order_id, waiting.payment_id, waiting.amount) == (
        "o1",
        "901",
        Decimal("100.50"),
    )
    assert store.unsettled_payments(NOW - timedelta(days=1), NOW) == []
    settle(store, line("o1", "901", "100.50", "-5.00", DAY_ONE))
    assert store.unsettled_payments(since, until) == []


def test_an_order_paid_by_another_payment_lets_go_of_the_first(store):
    store.create_order(order("o1", NOW - timedelta(days=10)))
    rejected = payment("901", "rejected", NOW - timedelta(days=10), "o1")
    store.apply_payments([rejected], RULES, "webhook", NOW - timedelta(days=10))
    assert store.get_order("o1").payment_id == "901"
    approved = payment("902", "approved", NOW - timedelta(days=9), "o1")
    store.apply_payments([approved], RULES, "webhook", NOW - timedelta(days=9))
    assert store.get_order("o1").payment_id == "902"
    (waiting,) = store.unsettled_payments(NOW - timedelta(days=30), NOW)
    assert (waiting.payment_id, waiting.order_id) == ("902", "o1")
    # Had 901 kept the order, its settlement of another amount would be a gross mismatch.
    settle(store, line("o1", "901", "99.00", "-5.00", DAY_ONE))
    assert store.money_mismatches() == []


def test_a_copied_database_keeps_its_money(store, tmp_path):
    """`db copy` writes rows table by table: the target's summaries must come out the same."""
    from mpcheckout.copy import copy_store
    from mpcheckout.store import open_store

    pay(store, "901", "o1", amount="100.50")
    settle(
        store,
        line("o1", "901", "100.00", "-5.00", DAY_ONE),
        line("walk-in", "903", "7.77", "-0.77", DAY_TWO),
    )
    target = open_store(str(tmp_path / "copy.db"))
    copy_store(store, target, batch_size=1)
    assert target.money_days("2026-11-01", "2026-11-30") == store.money_days(
        "2026-11-01", "2026-11-30"
    )
    assert {p.payment_id for p in target.money_mismatches()} == {"901", "903"}
    target.close()


def test_sqlite_finds_the_mismatches_through_its_partial_index(tmp_path):
    """core.MONEY_MISMATCH and the index money_payments_open must stay the same expression:
    otherwise listing them scans every payment the shop ever had."""
    import sqlite3

    from mpcheckout.store import open_store
    from mpcheckout.store.core import MONEY_MISMATCH

    open_store(str(tmp_path / "plan.db")).close()
    with sqlite3.connect(tmp_path / "plan.db") as conn:
        sql = f"EXPLAIN QUERY PLAN SELECT * FROM money_payments WHERE {MONEY_MISMATCH}"
        plan = " ".join(str(step[-1]) for step in conn.execute(sql))
    assert "USING INDEX money_payments_open" in plan, plan
