"""Money reconciliation against the sandbox over HTTP: the sandbox settles its own payments,
`reports fetch` brings its settlement report in, and `money` agrees with the sandbox's own sums
to the cent and finds exactly the discrepancies a test planted. Time moves by the clock the
test holds; the fetch's waits advance it instead of sleeping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mpcheckout.alerts import DISCREPANCIES_META, detect
from mpcheckout.config import HealthSettings, ReconcileSettings, ReportSettings
from mpcheckout.errors import MercadoPagoUnavailableError
from mpcheckout.money import DiscrepancyKind, money_report
from mpcheckout.report_fetch import FetchRequest, fetch_reports
from mpcheckout.status import Health, build_status
from tests.e2e.test_reconcile import advance, run

SETTINGS = ReportSettings(poll_seconds=5, fetch_timeout="10m")


@pytest.fixture
def synced(shop):
    shop.clock.set(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    shop.control("POST", "/clock", {"now": shop.clock.now().isoformat()})
    return shop


def fetch(shop, kind="settlement", since="7d", **request):
    """`reports fetch` through its service; each pause moves both clocks instead of sleeping."""

    def sleep(seconds: float) -> None:
        advance(shop, seconds=seconds)

    wanted = FetchRequest.parse(kind, since, None, None, shop.clock.now())
    if request:
        wanted = FetchRequest(kind, request["begin"], request["end"])
    return fetch_reports(shop.store, shop.gateway, shop.clock, wanted, SETTINGS, sleep=sleep)


def pay(shop, reference: str, amount: str, **fields) -> int:
    return shop.pay(reference, transaction_amount=amount, **fields)["id"]


def test_two_hundred_payments_reconcile_fetch_and_money_agree_to_the_cent(synced):
    shop = synced
    ids = []
    for index in range(200):
        amount = f"{100 + index}.{index % 100:02d}"
        shop.order(f"order-{index}", amount=amount)
        notify = None if index == 199 else {}  # the last one is never notified
        extra = {"payment_type_id": "account_money"} if index % 3 == 0 else {}
        ids.append(pay(shop, f"order-{index}", amount, notify=notify, **extra))
        advance(shop, seconds=30)
    for payment_id in ids[10:40]:  # refunded in part
        shop.control("POST", f"/payments/{payment_id}/refunds", {"amount": "10.25"})
    for payment_id in ids[40:50]:  # charged back
        shop.control("POST", f"/payments/{payment_id}/chargebacks", {})
    shop.deliver_outbox()
    shop.process(limit=1000)
    advance(shop, minutes=5)
    assert run(shop)[0].status == "ok"
    assert shop.status_of("order-199") == "paid"  # found by the sweep

    # Planted after the sweep: what mpcheckout cannot know from its own side.
    walk_in = pay(shop, "walk-in", "77.70", notify=False)  # settles, never seen
    shop.control("POST", f"/payments/{ids[60]}/refunds", {"amount": "5.00", "notify": False})
    shop.control("POST", "/reports", {"withhold": [ids[70]]})  # never settles
    advance(shop, days=4)

    result = fetch(shop)
    assert result.requests == 1 and result.files[0].rows_added == 200 - 1 + 1 + 30 + 10 + 1
    report = money_report(shop.store, shop.clock, since="7d", grace="3d")
    begin, end = result.windows[0]
    own = shop.http.get(
        "/_sandbox/reports/totals", params={"begin": begin.isoformat(), "end": end.isoformat()}
    ).json()
    (total,) = report.totals
    assert (str(total.gross), str(total.fees), str(total.net)) == (
        own["gross"],
        own["fees"],
        own["net"],
    )
    assert (str(total.refunded), str(total.charged_back)) == (own["refunds"], own["chargebacks"])
    assert Decimal(own["fees"]) < 0 and total.payments == 200
    planted = {
        (DiscrepancyKind.UNKNOWN_PAYMENT, str(walk_in)),
        (DiscrepancyKind.REFUND_MISMATCH, str(ids[60])),
        (DiscrepancyKind.MISSING_SETTLEMENT, str(ids[70])),
    }
    assert {(d.kind, d.payment_id) for d in report.discrepancies} == planted

    again = fetch(shop)
    assert again.rows_added == 0  # an overlapping report adds nothing

    status = build_status(shop.store, shop.clock, HealthSettings(), ReconcileSettings(), SETTINGS)
    check = next(c for c in status.checks if c.name == "reports")
    assert (check.health, check.value) == (Health.YELLOW, 3)  # one is over a day old
    assert status.reports.by_kind == {kind: 1 for kind, _ in planted}
    fired = [a for a in detect(shop.store, status, timedelta(days=1), None)
             if a.condition.startswith("report_discrepancies:")]  # fmt: skip
    assert [a.params["count"] for a in fired] == [3]
    shop.store.set_meta(DISCREPANCIES_META, json.dumps(status.reports.keys), shop.clock.now())
    assert not [a for a in detect(shop.store, status, timedelta(days=1), None)
                if a.condition.startswith("report_discrepancies:")]  # fmt: skip


def test_sixty_one_days_make_two_requests_and_a_203_is_retried(synced):
    shop = synced
    shop.order("order-1")
    pay(shop, "order-1", "100.50")
    shop.control("POST", "/reports", {"refuse_next": 1})
    end = shop.clock.now().replace(microsecond=0) + timedelta(hours=1)
    result = fetch(shop, begin=end - timedelta(days=61), end=end)
    assert len(result.windows) == 2 and result.retried == 1 and result.requests == 3
    assert result.windows[0][1] - result.windows[0][0] == timedelta(days=60)
    posts = shop.control("GET", "/requests?endpoint=reports.create")["requests"]
    assert len(posts) == 3 and all(r["path"].endswith("/settlement_report") for r in posts)
    assert sum(f.rows_added for f in result.files) == 1


def test_a_download_cut_half_way_imports_nothing_and_the_next_run_completes(synced):
    shop = synced
    for index in range(40):
        shop.order(f"order-{index}")
        pay(shop, f"order-{index}", "100.50")
    advance(shop, minutes=1)
    shop.fault(endpoint="reports.download", times=1, cut_rate=1.0)
    with pytest.raises(MercadoPagoUnavailableError):
        fetch(shop)
    assert shop.store.list_report_files(10) == []
    assert shop.count("SELECT count(*) FROM report_rows") == 0
    result = fetch(shop)
    assert result.files[0].rows_added == 40
    assert shop.count("SELECT count(*) FROM report_rows") == 40


def test_a_report_never_generated_gives_up_after_the_bounded_wait(synced):
    shop = synced
    shop.control("POST", "/reports", {"ready_after": 10_000})
    started = shop.clock.now()
    with pytest.raises(MercadoPagoUnavailableError):
        fetch(shop)
    waited = shop.clock.now() - started
    assert timedelta(minutes=10) <= waited < timedelta(minutes=12)


def test_a_report_downloaded_as_json_views_imports_the_same_rows(synced):
    shop = synced
    for index in range(5):
        shop.order(f"order-{index}")
        pay(shop, f"order-{index}", f"{100 + index}.10")
    advance(shop, minutes=1)
    shop.control("POST", "/reports", {"download_format": "json"})
    result = fetch(shop)
    assert result.files[0].rows_added == 5
    rows = shop.store.report_rows_between(shop.clock.now() - timedelta(days=1), shop.clock.now())
    assert sorted(r.gross for r in rows) == [Decimal(f"{100 + i}.10") for i in range(5)]
    assert all(r.source_id.isdigit() and r.external_reference for r in rows)
    shop.control("POST", "/reports", {"download_format": "csv"})
    assert fetch(shop).rows_added == 0  # the CSV of the same report: the same rows
