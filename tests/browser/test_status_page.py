"""The status page in Chromium: sign in, read the summary's verdict, open an order, replay a
dead letter through its confirmation and see its event pending; in every language, and with
JavaScript off. Each page's screenshot is written under the test's tmp_path."""

from __future__ import annotations

import re

import pytest

from mpcheckout.i18n import Translator
from tests.server.ui_support import UI_TOKEN

LOCALES = ["en", "es", "pt"]


def sign_in(page, url: str, lang: str, token: str = UI_TOKEN) -> None:
    page.goto(f"{url}/ui/login")
    page.get_by_label(Translator(lang)("ui.login.token")).fill(token)
    page.locator("#lang").select_option(lang)
    page.locator("form.login button[type=submit]").click()


def shot(page, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000


def walk_the_flow(page, url: str, shop, lang: str, tmp_path) -> None:
    t = Translator(lang)
    sign_in(page, url, lang)
    assert page.locator("html").get_attribute("lang") == lang
    verdict = page.locator(".verdict h2").inner_text()
    assert verdict in {t("ui.verdict.green"), t("ui.verdict.yellow"), t("ui.verdict.red")}
    assert page.locator("svg.chart rect").count() >= 24
    shot(page, tmp_path, f"summary-{lang}")
    page.get_by_role("link", name=t("ui.nav.orders"), exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == t("ui.title.orders")
    shot(page, tmp_path, f"orders-{lang}")
    page.get_by_role("link", name=shop.paid_order).click()
    amount = "ARS 4,500.00" if lang == "en" else "ARS 4.500,00"
    assert page.locator(".cards").first.inner_text().count(amount) == 2  # amount and paid
    assert page.get_by_text(t("ui.order_status.paid")).first.is_visible()
    shot(page, tmp_path, f"order-{lang}")
    page.get_by_role("link", name=t("ui.nav.dead_letters"), exact=True).click()
    shot(page, tmp_path, f"dead-letters-{lang}")
    letter = shop.dead_letters[0]
    page.get_by_role("link", name=str(letter), exact=True).click()
    assert page.locator(".hint").first.inner_text() == t("ui.hint.not_found")
    page.get_by_role("button", name=t("ui.dlq.replay")).click()
    assert page.locator("#confirm-count").inner_text() == t("ui.dlq.confirm", count=1)
    shot(page, tmp_path, f"confirm-{lang}")
    page.get_by_role("button", name=t("ui.dlq.confirm_button", count=1)).click()
    assert re.search(rf"/ui/events/{shop.dead_queue_ids[0]}\b", page.url)
    assert page.locator(".cards .status").inner_text() == t("ui.event_status.pending")
    assert page.get_by_role("status").inner_text() == t("ui.notice.replayed", count=1)
    shot(page, tmp_path, f"event-{lang}")
    page.get_by_role("link", name=t("ui.nav.reconcile"), exact=True).click()
    shot(page, tmp_path, f"reconcile-{lang}")


@pytest.mark.parametrize("lang", LOCALES)
def test_sign_in_read_the_summary_open_an_order_and_replay_a_dead_letter(
    browser_page, shop, tmp_path, lang
):
    url, ctx, seeded = shop
    page = browser_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    walk_the_flow(page, url, seeded, lang, tmp_path)
    assert ctx.store.get_event(seeded.dead_queue_ids[0]).status == "pending"
    assert errors == []  # nothing blocked by the CSP, nothing broken


def test_the_whole_flow_works_with_javascript_disabled(browser_page, shop, tmp_path):
    url, _ctx, seeded = shop
    page = browser_page(javascript=False)
    walk_the_flow(page, url, seeded, "es", tmp_path)
    page.get_by_role("button", name=Translator("es")("ui.sign_out")).click()
    assert page.url.endswith("/ui/login")
    page.goto(f"{url}/ui/orders")
    assert page.url.endswith("/ui/login")


def test_a_wrong_token_in_the_browser_stays_on_the_sign_in_page(browser_page, shop):
    url, _, _ = shop
    page = browser_page()
    sign_in(page, url, "en", token="not-the-token")
    assert page.get_by_role("alert").inner_text() == Translator("en")("ui.error.wrong_token")
    page.goto(f"{url}/ui/")
    assert page.url.endswith("/ui/login")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["mpcheckout_ui"]
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/ui"
