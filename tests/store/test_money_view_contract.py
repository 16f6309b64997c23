"""`money` over the summaries on every backend: whole days, the report's sums to the cent, each
discrepancy once, and an amount finer than a cent never shown rounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from mpcheckout.clock import ManualClock
from mpcheckout.money import DiscrepancyKind, money_report
from tests.store.test_money_summaries_contract import pay, settle
from tests.store.test_reports_contract import line

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def kinds(report) -> set[tuple[str, str]]:
    return {(found.kind, found.payment_id) for found in report.discrepancies}


def test_the_window_starts_at_the_start_of_a_day(store):
    settle(
        store,
        line("o1", "1", "10.00", "-1.00", "2026-11-01T00:00:01Z"),
        line("o2", "2", "20.00", "-2.00", "2026-11-01T23:00:00Z"),
        line("o3", "3", "40.00", "-4.00", "2026-10-31T23:59:59Z"),
    )
    report = money_report(store, ManualClock(NOW), since="30d")  # 2026-11-01T12:00 -> 00:00
    assert report.since == datetime(2026, 11, 1, tzinfo=UTC)
    (line_,) = report.lines
    assert (line_.key, line_.payments, line_.gross, line_.fees) == (
        "2026-11-01", 2, Decimal("30.00"), Decimal("-3.00"),
    )  # fmt: skip
    assert report.rows == 2 and report.totals[0].net == Decimal("27.00")


def test_each_kind_once_and_only_in_the_window(store):
    pay(store, "901", "o1", amount="100.50")
    pay(store, "902", "o2", amount="20.00")  # never settles
    settle(
        store,
        line("o1", "901", "100.00", "-5.00", "2026-11-25T10:00:00Z"),
        line("walk-in", "903", "7.77", "-0.77", "2026-11-26T10:00:00Z"),
        line("old", "904", "1.00", "-0.10", "2026-09-01T10:00:00Z"),  # before the window
    )
    report = money_report(store, ManualClock(NOW), since="30d", grace="3d")
    assert kinds(report) == {
        (DiscrepancyKind.GROSS_MISMATCH, "901"),
        (DiscrepancyKind.MISSING_SETTLEMENT, "902"),
        (DiscrepancyKind.UNKNOWN_PAYMENT, "903"),
    }
    gross = next(d for d in report.discrepancies if d.kind == DiscrepancyKind.GROSS_MISMATCH)
    assert (gross.order_id, gross.expected, gross.found) == ("o1", "100.50", "100.00")
    missing = next(d for d in report.discrepancies if d.payment_id == "902")
    assert missing.since == NOW - timedelta(days=10) + timedelta(days=3)
    assert report.counts == {kind: 1 for kind, _ in kinds(report)}
    assert kinds(money_report(store, ManualClock(NOW), since="30d", grace="11d")) == {
        (DiscrepancyKind.GROSS_MISMATCH, "901"),
        (DiscrepancyKind.UNKNOWN_PAYMENT, "903"),
    }


def test_an_amount_finer_than_a_cent_is_never_rounded(store):
    settle(store, line("o1", "1", "10.005", "-1.00", "2026-11-20T10:00:00Z"))
    report = money_report(store, ManualClock(NOW), since="30d")
    (day,) = report.lines
    assert (day.gross, day.net) == (Decimal("10.005"), Decimal("9.005"))
    found = kinds(report)
    if store.backend == "sqlite":  # its summaries hold cents: the payment is left to a person
        assert found == {(DiscrepancyKind.AMOUNT_NOT_IN_CENTS, "1")}
    else:  # NUMERIC holds it: compared like any other
        assert found == {(DiscrepancyKind.UNKNOWN_PAYMENT, "1")}


def test_per_order_per_payout_and_per_day_tell_the_same_money(store):
    from tests.store.test_money_summaries_contract import RELEASE_HEADER
    from tests.store.test_reports_contract import import_bytes

    pay(store, "901", "o1", amount="100.50")
    settle(store, line("o1", "901", "100.50", "-5.00", "2026-11-20T10:00:00Z"))
    releases = (
        "2026-11-22T10:00:00Z,901,o1,release,payment,95.50,0,100.50,-5.00,0,0,0,0,,ARS\n"
        "2026-11-23T11:00:00Z,p-1,,release,payout,0,95.50,-95.50,0,0,0,0,0,,ARS\n"
    )
    import_bytes(store, (RELEASE_HEADER + releases).encode(), "release.csv")
    clock = ManualClock(NOW)
    (order,) = money_report(store, clock, by="order").lines
    assert (order.key, order.gross, order.net, order.payout_id) == (
        "o1", Decimal("100.50"), Decimal("95.50"), "p-1",
    )  # fmt: skip
    assert order.release_date == datetime(2026, 11, 22, 10, tzinfo=UTC)
    (payout,) = money_report(store, clock, by="payout").lines
    assert (payout.key, payout.payments, payout.released, payout.paid_out) == (
        "p-1", 1, Decimal("95.50"), Decimal("95.50"),
    )  # fmt: skip
    days = {d.key: d for d in money_report(store, clock, by="day").lines}
    assert (days["2026-11-20"].gross, days["2026-11-22"].released) == (
        Decimal("100.50"), Decimal("95.50"),
    )  # fmt: skip
    assert days["2026-11-23"].paid_out == Decimal("95.50")
