"""The status page over real HTTP (httpx on 127.0.0.1): sign-in, sessions, CSRF and same-origin
checks, security headers, every page as HTML and as JSON. The browser tests (tests/browser)
drive the same pages in Chromium."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from mpcheckout.store.base import DeadLetterFilter, EventFilter
from tests.server.conftest import MONITOR
from tests.server.ui_support import UI_TOKEN, csrf_of, notification, seed_shop, sign_in

PAGES = ["/ui/", "/ui/orders", "/ui/dead-letters", "/ui/events", "/ui/reconcile"]


@pytest.fixture
def shop(start_server):
    url, ctx = start_server(**{"server.ui_token": UI_TOKEN, "server.ui_actions": True})
    seeded = seed_shop(ctx.store, ctx.clock.now())
    return url, ctx, seeded


@pytest.fixture
def browser_like():
    with httpx.Client(timeout=10, follow_redirects=False) as client:
        yield client


def test_no_page_and_no_json_without_signing_in(shop, browser_like):
    url, _, seeded = shop
    detail = [f"/ui/order?id={seeded.paid_order}", f"/ui/dead-letters/{seeded.dead_letters[0]}"]
    for path in [*PAGES, *detail]:
        page = browser_like.get(f"{url}{path}")
        assert (page.status_code, page.headers["location"]) == (303, "/ui/login"), path
        data = browser_like.get(f"{url}{path}{'&' if '?' in path else '?'}format=json")
        assert data.status_code == 401 and "order-paid-1" not in data.text, path
    assert browser_like.get(f"{url}/metrics").status_code == 401


def test_signing_in_opens_every_page_as_html_and_json(shop, browser_like):
    url, _, seeded = shop
    assert sign_in(browser_like, url).headers["location"] == "/ui/"
    for path in [
        *PAGES,
        f"/ui/order?id={seeded.paid_order}",
        f"/ui/events/{seeded.dead_queue_ids[0]}",
    ]:
        page = browser_like.get(f"{url}{path}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert len(page.content) < 100_000 and '<html lang="en">' in page.text
        joiner = "&" if "?" in path else "?"
        assert browser_like.get(f"{url}{path}{joiner}format=json").status_code == 200
    summary = browser_like.get(f"{url}/ui/", params={"format": "json"}).json()
    assert (
        summary["status"]["verdict"] in ("green", "yellow", "red") and len(summary["hours"]) == 24
    )
    order = browser_like.get(f"{url}/ui/order", params={"id": seeded.paid_order, "format": "json"})
    assert order.json()["money"] == {"amount": "4500.00", "currency": "ARS", "paid": "4500.00"}
    assert [e["resource_id"] for e in order.json()["events"]] == ["777001"]
    assert (
        "ARS 4,500.00" in browser_like.get(f"{url}/ui/order", params={"id": seeded.paid_order}).text
    )


def test_a_wrong_token_never_signs_in_and_attempts_are_rate_limited(shop, browser_like, caplog):
    url, _, _ = shop
    caplog.set_level(logging.INFO)
    for attempt in range(5):
        refused = sign_in(browser_like, url, token=f"guess-{attempt}")
        assert refused.status_code == 401
        assert browser_like.get(f"{url}/ui/").status_code == 303
    limited = sign_in(browser_like, url, token=UI_TOKEN)  # the right token, too late
    assert limited.status_code == 429
    assert browser_like.get(f"{url}/ui/").status_code == 303
    assert UI_TOKEN not in caplog.text and "guess-" not in caplog.text


def test_the_monitor_token_signs_in_only_when_no_ui_token_is_set(start_server, browser_like):
    url, _ = start_server()
    assert sign_in(browser_like, url, token=MONITOR).status_code == 303
    other, _ = start_server(**{"server.ui_token": UI_TOKEN, "database.url": "other.db"})
    with httpx.Client(timeout=10) as fresh:
        assert sign_in(fresh, other, token=MONITOR).status_code == 401


def test_without_any_token_there_is_no_page(start_server, browser_like):
    url, _ = start_server(**{"server.monitor_token": None})
    assert browser_like.get(f"{url}/ui/login").status_code == 404


def test_the_cookie_carries_the_flags_and_a_forged_one_is_ignored(shop, browser_like):
    url, _, _ = shop
    cookie = sign_in(browser_like, url).headers["set-cookie"]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/ui"} <= flags and "secure" not in flags
    assert any(flag.startswith("max-age=") for flag in flags)
    assert UI_TOKEN not in cookie
    name, value = cookie.split(";")[0].split("=", 1)
    body, signature = value.split(".")
    with httpx.Client(timeout=10, follow_redirects=False) as forger:
        forger.cookies.set(name, f"{body}.{signature[:-2]}AA", path="/ui")
        assert forger.get(f"{url}/ui/").status_code == 303


def test_behind_a_trusted_https_proxy_the_cookie_is_secure(start_server, browser_like):
    url, _ = start_server(
        **{"server.ui_token": UI_TOKEN, "server.trusted_proxies": ["127.0.0.1/32"]}
    )
    form = browser_like.get(f"{url}/ui/login", headers={"x-forwarded-proto": "https"})
    assert "secure" in form.headers["set-cookie"].lower()


def test_security_headers_on_every_answer(shop, browser_like):
    url, _, _ = shop
    answers = [
        browser_like.get(f"{url}/ui/login"),
        browser_like.get(f"{url}/ui/"),
        browser_like.get(f"{url}/healthz"),
        browser_like.post(f"{url}/webhooks/mercadopago", content=b"{"),
        browser_like.get(f"{url}/nowhere"),
    ]
    for answer in answers:
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert "script-src" not in policy and "default-src 'none'" in policy
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"


def _replay_form(client, url, letter_id: int) -> dict:
    page = client.get(f"{url}/ui/dead-letters/{letter_id}")
    return {"csrf": csrf_of(page.text), "id": str(letter_id)}


def test_a_post_without_the_csrf_token_or_from_elsewhere_changes_nothing(shop, browser_like):
    url, ctx, seeded = shop
    sign_in(browser_like, url)
    form = _replay_form(browser_like, url, seeded.dead_letters[0])
    confirmed = {**form, "confirm": "yes"}
    attempts = [
        ({k: v for k, v in confirmed.items() if k != "csrf"}, {"origin": url}),
        ({**confirmed, "csrf": "forged"}, {"origin": url}),
        (confirmed, {"origin": "http://evil.example"}),
        (confirmed, {"referer": "http://evil.example/page"}),
        (confirmed, {}),  # neither Origin nor Referer
        (confirmed, {"origin": url, "sec-fetch-site": "cross-site"}),
    ]
    for data, headers in attempts:
        answer = browser_like.post(f"{url}/ui/dead-letters/replay", data=data, headers=headers)
        assert answer.status_code == 403, (data, headers)
    run = browser_like.post(f"{url}/ui/reconcile/run", data={"csrf": "x"}, headers={"origin": url})
    assert run.status_code == 403 and ctx.store.list_reconcile_runs(5) == []
    assert len(ctx.store.list_dead_letters(DeadLetterFilter())) == len(seeded.dead_letters)


def test_a_replay_shows_the_count_first_and_changes_nothing_until_confirmed(shop, browser_like):
    url, ctx, seeded = shop
    sign_in(browser_like, url)
    form = _replay_form(browser_like, url, seeded.dead_letters[0])
    asked = browser_like.post(
        f"{url}/ui/dead-letters/replay", data={**form, "all": "1"}, headers={"origin": url}
    )
    assert asked.status_code == 200
    assert re.search(r'id="confirm-count">[^<]*\b2\b', asked.text)
    assert len(ctx.store.list_dead_letters(DeadLetterFilter())) == 2
    one = browser_like.post(
        f"{url}/ui/dead-letters/replay", data={**form, "confirm": "yes"}, headers={"origin": url}
    )
    assert one.status_code == 303
    assert one.headers["location"].startswith(f"/ui/events/{seeded.dead_queue_ids[0]}")
    assert ctx.store.get_event(seeded.dead_queue_ids[0]).status == "pending"
    assert [d.id for d in ctx.store.list_dead_letters(DeadLetterFilter())] == seeded.dead_letters[
        1:
    ]


def test_without_ui_actions_there_is_no_action(start_server, browser_like):
    url, ctx = start_server(**{"server.ui_token": UI_TOKEN})
    seeded = seed_shop(ctx.store, ctx.clock.now())
    sign_in(browser_like, url)
    page = browser_like.get(f"{url}/ui/dead-letters/{seeded.dead_letters[0]}")
    assert "/ui/dead-letters/replay" not in page.text
    data = {"csrf": csrf_of(page.text), "id": str(seeded.dead_letters[0]), "confirm": "yes"}
    answer = browser_like.post(f"{url}/ui/dead-letters/replay", data=data, headers={"origin": url})
    assert answer.status_code == 404
    assert len(ctx.store.list_dead_letters(DeadLetterFilter())) == 2


def test_secrets_are_masked_in_payloads_and_errors(start_server, browser_like):
    url, ctx = start_server(**{"server.ui_token": UI_TOKEN})
    leaky = notification(5, "999", {"note": f"token APP_USR-1234567890abcdef and {MONITOR}"})
    ctx.store.enqueue_many([leaky], "http", ctx.clock.now())
    sign_in(browser_like, url)
    (event,) = ctx.store.list_events(EventFilter())
    shown = browser_like.get(f"{url}/ui/events/{event.id}").text
    shown += browser_like.get(f"{url}/ui/events/{event.id}", params={"format": "json"}).text
    assert "APP_USR-1234567890abcdef" not in shown and MONITOR not in shown
    assert "APP_USR-…" in shown


def test_every_text_the_templates_and_view_models_name_is_in_the_catalogs():
    from pathlib import Path

    from mpcheckout.i18n import catalog
    from mpcheckout.models import DeadLetterReason, EventStatus, OrderStatus
    from mpcheckout.pages import orders, queue, summary
    from mpcheckout.server import ui

    english = catalog("en")
    templates = Path(ui.__file__).parent / "templates"
    named = {
        key
        for page in templates.glob("*.html")
        for key in re.findall(r"t\('(ui\.[a-z_.]+)'", page.read_text())
        if not key.endswith(".")
    }
    named |= {f"ui.order_status.{s}" for s in OrderStatus}
    named |= {f"ui.event_status.{s}" for s in EventStatus}
    named |= {f"ui.dlq.reason.{r}" for r in DeadLetterReason}
    named |= {f"ui.{key}" for key in queue.HINTS.values()}
    sources = [Path(m.__file__).read_text() for m in (orders, summary)]
    named |= {
        f"ui.{k}" for text in sources for k in re.findall(r'"((?:flag|attention)\.[a-z_]+)"', text)
    }
    assert len(named) > 100
    assert sorted(named - english.keys()) == []
