"""The reliability suite's 27 hostile strings (and a few aimed at HTML), stored where callers
control text — order references and titles, notification payloads, dead-letter errors — render
as text on every page: no element they could inject exists in the DOM, no script runs, the
console stays clean."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from mpcheckout.models import Order
from mpcheckout.store.base import DeadLetterFilter, EventFilter, EventOutcome
from tests.browser.test_status_page import sign_in
from tests.reliability.test_injection import HOSTILE_BOUNDED, HOSTILE_MORE
from tests.server.ui_support import RULES, notification

MARKUP = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 1">',
    '"><svg onload="window.__pwned = 1">',
    "javascript:window.__pwned = 1",
    "{{ 7 * 7 }}",
]
HOSTILE = [*HOSTILE_BOUNDED, *HOSTILE_MORE, *MARKUP]
INJECTED = "script, iframe, object, embed, [onerror], [onload], a[href^='javascript:']"
LINKABLE = 1000  # ids longer than this are listed but not linked (see orders.html)


def _store_hostile_things(store, now) -> None:
    for text in HOSTILE:
        store.create_order(Order(text, "pending", Decimal("10.00"), "ARS", now, now, title=text))
    notes = [
        notification(1000 + n, str(5000 + n), {"note": text}) for n, text in enumerate(HOSTILE)
    ]
    store.enqueue_many(notes, "http", now)
    claimed = store.claim_due_events("hostile", len(notes), 60, now)
    outcomes = [
        EventOutcome(
            event.id, "dead", error=f"mercadopago_rejected: {text}", dead_reason="permanent"
        )
        for event, text in zip(claimed, HOSTILE, strict=True)
    ]
    store.commit_outcomes("hostile", outcomes, RULES, now + timedelta(seconds=1))


def _assert_inert(page, where: str) -> None:
    assert page.locator(INJECTED).count() == 0, where
    assert page.evaluate("window.__pwned") is None, where
    assert "49" not in page.locator("main").inner_text().split(), where  # no template evaluation


def test_hostile_strings_render_as_text_everywhere(browser_page, shop):
    url, ctx, _ = shop
    _store_hostile_things(ctx.store, ctx.clock.now())
    page = browser_page()
    trouble: list[str] = []
    page.on("console", lambda m: trouble.append(m.text) if m.type in ("error", "warning") else None)
    page.on("dialog", lambda d: trouble.append(f"dialog: {d.message}"))
    page.on("pageerror", lambda e: trouble.append(f"page error: {e}"))
    sign_in(page, url, "en")
    for path in ["/ui/", "/ui/orders", "/ui/events", "/ui/dead-letters"]:
        page.goto(f"{url}{path}")
        _assert_inert(page, path)
    page.goto(f"{url}/ui/orders")
    listed = page.locator("tbody td:nth-child(4)").all_inner_texts()
    for text in MARKUP:
        assert text in listed  # titles shown as the very characters stored
    visited = 0
    for link in page.locator("tbody td:first-child a").all():
        href = link.get_attribute("href")
        detail = page.context.new_page()
        detail.goto(f"{url}{href}")
        _assert_inert(detail, href)
        detail.close()
        visited += 1
    linkable = [text for text in HOSTILE if len(text) <= LINKABLE]
    assert visited >= len(linkable)
    for event in ctx.store.list_events(EventFilter(limit=100)):
        page.goto(f"{url}/ui/events/{event.id}")
        _assert_inert(page, f"event {event.id}")
        assert len(page.content()) < 100_000
    for letter in ctx.store.list_dead_letters(DeadLetterFilter()):
        page.goto(f"{url}/ui/dead-letters/{letter.id}")
        _assert_inert(page, f"dead letter {letter.id}")
    assert trouble == []
