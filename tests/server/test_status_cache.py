"""`/ui/` and `/metrics` share one status report per process for `server.status_cache_seconds`
of the injected clock, over real HTTP, and the cache builds once however many threads ask."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx

from mpcheckout.clock import ManualClock
from mpcheckout.config import HealthSettings, ReconcileSettings
from mpcheckout.server.status_cache import StatusCache
from mpcheckout.status import StatusReport, build_status
from tests.server.test_metrics import BEARER, samples
from tests.server.ui_support import UI_TOKEN, seed_shop, sign_in
from tests.store.helpers import order

PENDING = ("mpcheckout_orders", (("status", "pending"),))


def pending_orders(http: httpx.Client, url: str) -> float:
    return samples(http.get(f"{url}/metrics", headers=BEARER).text).get(PENDING, 0.0)


def test_the_page_and_metrics_share_one_report_until_it_expires(start_server):
    clock = ManualClock()
    url, ctx = start_server(
        clock=clock, **{"server.status_cache_seconds": 1.0, "server.ui_token": UI_TOKEN}
    )
    seed_shop(ctx.store, clock.now())
    with httpx.Client(timeout=10, follow_redirects=False) as browser:
        sign_in(browser, url)
        first = browser.get(f"{url}/ui/", params={"format": "json"}).json()["status"]
        before = pending_orders(browser, url)
        ctx.store.create_order(order("order-new", clock.now()))
        clock.advance(seconds=0.9)
        assert pending_orders(browser, url) == before  # the page's report, not a new one
        again = browser.get(f"{url}/ui/", params={"format": "json"}).json()["status"]
        assert again["generated_at"] == first["generated_at"]
        clock.advance(seconds=0.1)
        assert pending_orders(browser, url) == before + 1


def test_zero_seconds_reads_a_fresh_report_every_time(start_server, http):
    clock = ManualClock()
    url, ctx = start_server(clock=clock)  # the fixture's default for tests: 0
    before = pending_orders(http, url)
    ctx.store.create_order(order("order-new", clock.now()))
    assert pending_orders(http, url) == before + 1


def test_concurrent_askers_wait_for_one_build_and_a_clock_set_back_rebuilds(sqlite_store):
    clock = ManualClock()
    builds: list[StatusReport] = []
    started = threading.Barrier(8)

    def build() -> StatusReport:
        report = build_status(sqlite_store, clock, HealthSettings(), ReconcileSettings())
        builds.append(report)
        return report

    cache = StatusCache(build, clock, 1.0)
    seen: list[StatusReport] = []

    def ask() -> None:
        started.wait()
        seen.append(cache.report())

    askers = [threading.Thread(target=ask) for _ in range(8)]
    for thread in askers:
        thread.start()
    for thread in askers:
        thread.join()
    assert len(builds) == 1 and all(report is builds[0] for report in seen)
    clock.set(clock.now() - timedelta(seconds=5))
    assert cache.report() is not builds[0] and len(builds) == 2
