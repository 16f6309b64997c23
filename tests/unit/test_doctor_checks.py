"""Each doctor check on its own: a pure function of gathered facts, so every level it can give
is one small story here, with no database or network."""

from __future__ import annotations

import inspect
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mpcheckout import doctor
from mpcheckout.doctor import (
    ActivityFacts,
    ConfigFacts,
    DatabaseFacts,
    DoctorFacts,
    Level,
    Message,
    ServerFacts,
    TokenFacts,
    diagnose,
    say,
)
from mpcheckout.gateway import MercadoPagoAccount
from mpcheckout.i18n import SUPPORTED_LOCALES, Translator, catalog
from mpcheckout.models import ReconcileRun
from mpcheckout.store.base import EventOrigin, EventOrigins, StoreDiagnosis

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
ACCOUNT = MercadoPagoAccount("111", "SELLER", "MLA", "AR", False, "tags: normal", NOW)


def healthy(**changes) -> DoctorFacts:
    facts = DoctorFacts(
        now=NOW,
        config=ConfigFacts("mpcheckout.toml", None, ("mercadopago.access_token",)),
        database=DatabaseFacts(
            "/srv/shop/mpcheckout.db",
            diagnosis=StoreDiagnosis("sqlite", "/srv/shop/mpcheckout.db", 2, "wal", "ok", 0o600),
            latest_version=2,
        ),
        token=TokenFacts(True, "https://api.mercadopago.com", ACCOUNT, answered_at=NOW),
        server=ServerFacts("https://shop.example.com", 1, 32, 300),
        activity=ActivityFacts(
            last_run=run(NOW - timedelta(minutes=30)),
            last_ok_at=NOW - timedelta(minutes=30),
            reconcile_yellow_after=timedelta(hours=2),
            origins=EventOrigins(3, False, (EventOrigin("111", True, 3),)),
            dead_letters=0,
        ),
    )
    return replace(facts, **changes)


def run(at: datetime, status: str = "ok") -> ReconcileRun:
    return ReconcileRun(id=None, started_at=at, finished_at=at, status=status)


def level_of(facts: DoctorFacts, name: str) -> Level:
    return next(check.level for check in diagnose(facts).checks if check.name == name)


def test_a_healthy_installation_is_all_green():
    result = diagnose(healthy())
    assert {check.level for check in result.checks} == {Level.GREEN}
    assert result.verdict == Level.GREEN and not result.failed
    assert all(check.fix is None for check in result.checks)


def test_a_config_that_does_not_load_is_red_and_skips_the_rest():
    facts = DoctorFacts(NOW, ConfigFacts(None, Message("error.config_unknown_key", {"key": "x"})))
    result = diagnose(facts)
    assert result.checks[0].level == Level.RED and result.failed
    assert {check.level for check in result.checks[1:]} == {Level.SKIPPED}


def test_unknown_environment_variables_are_yellow_and_named():
    names = doctor.unknown_variables(
        {
            "MPCHECKOUT_MERCADOPAGO__ACESS_TOKEN": "x",
            "MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN": "x",
            "MPCHECKOUT_SERVER__RATE_LIMITS__BAD_SIGNATURE__LIMIT": "3",
            "MPCHECKOUT_TEST_POSTGRES_URL": "x",
            "HOME": "/root",
        },
        ("mercadopago.access_token", "server.rate_limits"),
    )
    assert names == ("MPCHECKOUT_MERCADOPAGO__ACESS_TOKEN",)
    facts = healthy(config=ConfigFacts(None, None, (), names))
    (check,) = [c for c in diagnose(facts).checks if c.name == "config"]
    assert check.level == Level.YELLOW and "ACESS_TOKEN" in say(check.fix, Translator("en"))


@pytest.mark.parametrize(
    ("diagnosis_changes", "name", "level"),
    [
        ({"schema_version": 1}, "database", Level.RED),
        ({"journal_mode": "delete"}, "database_wal", Level.RED),
        ({"quick_check": "*** in database main ***"}, "database_integrity", Level.RED),
        ({"file_mode": 0o644}, "database_mode", Level.RED),
    ],
)
def test_database_problems_are_red(diagnosis_changes, name, level):
    database = healthy().database
    diagnosis = replace(database.diagnosis, **diagnosis_changes)
    assert level_of(healthy(database=replace(database, diagnosis=diagnosis)), name) == level


def test_postgres_has_no_sqlite_only_checks():
    diagnosis = StoreDiagnosis("postgres", "postgresql://u:…@h/db", 2, None, None, None)
    facts = healthy(database=replace(healthy().database, diagnosis=diagnosis))
    names = {check.name for check in diagnose(facts).checks}
    assert "database" in names and not names & {"database_wal", "database_mode"}


def test_a_missing_or_readonly_database_is_red():
    missing = healthy(database=DatabaseFacts("/x/mpcheckout.db", missing=True), activity=None)
    assert level_of(missing, "database") == Level.RED
    assert level_of(missing, "database_writable") == Level.SKIPPED
    readonly = replace(healthy().database, write_error=Message("error.db_readonly"))
    assert level_of(healthy(database=readonly), "database_writable") == Level.RED


def test_the_access_token_refused_missing_or_a_test_user_on_the_real_api():
    refused = TokenFacts(True, "https://api.mercadopago.com", error=Message("x"), refused=True)
    assert level_of(healthy(token=refused), "access_token") == Level.RED
    assert level_of(healthy(token=refused), "clock") == Level.SKIPPED
    unset = TokenFacts(False, "https://api.mercadopago.com")
    assert level_of(healthy(token=unset), "access_token") == Level.RED
    tester = replace(ACCOUNT, test_user=True, test_user_evidence="tags: test_user")
    on_mp = TokenFacts(True, "https://api.mercadopago.com", tester, answered_at=NOW)
    assert level_of(healthy(token=on_mp), "access_token") == Level.YELLOW
    on_sandbox = replace(on_mp, api_base="http://127.0.0.1:8000")
    assert level_of(healthy(token=on_sandbox), "access_token") == Level.GREEN


@pytest.mark.parametrize(
    ("skew_seconds", "level"),
    [
        (0, Level.GREEN),
        (120, Level.GREEN),
        (200, Level.YELLOW),
        (-400, Level.RED),
        (400, Level.RED),
    ],
)
def test_the_clock_is_graded_against_the_signature_tolerance(skew_seconds, level):
    token = replace(healthy().token, answered_at=NOW + timedelta(seconds=skew_seconds))
    assert level_of(healthy(token=token), "clock") == level


def test_public_url_must_be_https_on_the_path_serve_answers():
    def public(url):
        return level_of(healthy(server=replace(healthy().server, public_url=url)), "public_url")

    assert public("https://shop.example.com/") == Level.GREEN
    assert public("http://shop.example.com") == Level.RED
    assert public("https://shop.example.com/webhooks/mercadopago") == Level.RED
    assert public("https://shop.example.com/store") == Level.YELLOW
    assert public(None) == Level.YELLOW


def test_secrets_and_monitoring_token_matter_when_serve_is_exposed():
    exposed = replace(healthy().server, webhook_secrets=0, monitor_token_length=0)
    assert level_of(healthy(server=exposed), "webhook_secrets") == Level.YELLOW
    assert level_of(healthy(server=exposed), "monitor_token") == Level.YELLOW
    local = replace(exposed, public_url=None)
    assert level_of(healthy(server=local), "webhook_secrets") == Level.GREEN
    assert level_of(healthy(server=local), "monitor_token") == Level.GREEN
    short = replace(healthy().server, monitor_token_length=8)
    assert level_of(healthy(server=short), "monitor_token") == Level.YELLOW


@pytest.mark.parametrize(
    ("age", "level"),
    [
        (timedelta(hours=1), Level.GREEN),
        (timedelta(hours=5), Level.YELLOW),
        (timedelta(days=3), Level.RED),
    ],
)
def test_reconcile_age_is_yellow_then_red(age, level):
    activity = replace(healthy().activity, last_ok_at=NOW - age, last_run=run(NOW - age))
    assert level_of(healthy(activity=activity), "reconcile") == level


def test_never_reconciled_is_yellow_on_a_new_install_and_red_when_every_run_failed():
    fresh = replace(healthy().activity, last_ok_at=None, last_run=None)
    assert level_of(healthy(activity=fresh), "reconcile") == Level.YELLOW
    failing = replace(fresh, last_run=run(NOW, "failed"))
    assert level_of(healthy(activity=failing), "reconcile") == Level.RED


def origins(*items: tuple[str | None, bool | None, int]) -> ActivityFacts:
    found = tuple(EventOrigin(*item) for item in items)
    scanned = sum(item[2] for item in items)
    return replace(healthy().activity, origins=EventOrigins(scanned, False, found))


def test_events_of_another_account_are_red_with_the_counts():
    activity = origins(("111", True, 3), ("999", True, 2))
    (check,) = [c for c in diagnose(healthy(activity=activity)).checks if c.name == "event_origins"]
    assert check.level == Level.RED
    text = say(check.fix, Translator("en"))
    assert "111: 3" in text and "999: 2" in text
    assert check.data["by_account"] == {"111": 3, "999": 2}


def test_mixed_live_mode_is_red_with_the_counts():
    activity = origins(("111", True, 4), ("111", False, 1))
    (check,) = [c for c in diagnose(healthy(activity=activity)).checks if c.name == "event_origins"]
    assert check.level == Level.RED
    assert "live_mode=live: 4" in say(check.fix, Translator("en"))
    assert check.data["by_live_mode"] == {"live": 4, "test": 1}


def test_events_without_user_id_or_mode_do_not_count_as_a_mix():
    activity = origins(("111", True, 4), (None, None, 2))
    assert level_of(healthy(activity=activity), "event_origins") == Level.GREEN


def test_unresolved_dead_letters_are_yellow():
    activity = replace(healthy().activity, dead_letters=3)
    assert level_of(healthy(activity=activity), "dead_letters") == Level.YELLOW


def test_every_message_a_check_can_give_exists_in_every_language():
    variants = [
        healthy(),
        DoctorFacts(
            NOW, ConfigFacts(None, Message("error.config_unknown_key", {"key": "k", "origin": "f"}))
        ),
        healthy(config=ConfigFacts(None, None, (), ("MPCHECKOUT_X",))),
        healthy(database=DatabaseFacts("/x", missing=True), activity=None),
        healthy(token=TokenFacts(False, "https://api.mercadopago.com")),
        healthy(token=TokenFacts(True, "https://api.mercadopago.com", error=Message("x"))),
        healthy(server=ServerFacts(None, 0, 0, 300)),
        healthy(server=ServerFacts("http://x/webhooks/mercadopago", 0, 3, 300)),
        healthy(activity=origins(("1", True, 1), ("2", False, 1))),
        healthy(activity=replace(healthy().activity, last_ok_at=None, dead_letters=2)),
    ]
    keys = set()
    for facts in variants:
        for check in diagnose(facts).checks:
            keys |= {f"doctor.check.{check.name}", f"doctor.level.{check.level}"}
            keys |= {m.key for m in (check.value, check.fix) if m and m.key.startswith("doctor.")}
    for locale in SUPPORTED_LOCALES:
        assert not keys - catalog(locale).keys(), locale
        for facts in variants:
            for check in diagnose(facts).checks:
                text = say(check.value, Translator(locale))
                assert not re.search(r"\{\w+\}", text), (locale, check.name, text)


def test_serve_answers_the_paths_doctor_expects():
    from mpcheckout.server.app import build_app

    source = inspect.getsource(build_app)
    for path in doctor.SERVE_WEBHOOK_PATHS:
        assert f'Route("{path}", receiver.receive_webhook' in source
