"""`doctor`: is this installation set up right? One gathering pass reads the facts (settings,
database, Mercado Pago's answer to `GET /users/me`, the queue, the reconcile log) into
`DoctorFacts`; then each check is a small pure function of those facts, returning a level
(green, yellow, red; `skipped` when what it needs could not be read), the value it saw and,
when not green, what to do. Nothing here writes except one meta row that proves the database
takes writes; nothing secret is ever part of a fact (secrets are counted, never kept).

Why these checks: the commonest Mercado Pago complaints are setup, and their symptoms lie
(research/dashboards.md §0): test vs live confusion (test users hold `APP_USR-` tokens, and a
sandbox payment was seen with `live_mode: true`, so the account's tags and the events' own
`user_id`/`live_mode` are compared instead of a token prefix), notifications that never arrive
(public URL, path), and a reconcile that nobody schedules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .checkout import webhook_url
from .clock import Clock, utc_iso
from .config import ENV_PREFIX, iter_leaves
from .durations import parse_duration
from .errors import AppError, ConfigurationError, MercadoPagoAuthError
from .gateway import MercadoPagoAccount
from .models import ReconcileRun
from .store import is_postgres_url, sqlite_path
from .store.base import DeadLetterFilter, EventOrigins, StoreDiagnosis
from .store.migrate import latest_version

if TYPE_CHECKING:
    from .runtime import Runtime
    from .store.base import Store

# The paths `serve` answers notifications on (server/app.py; a test keeps the two in step).
SERVE_WEBHOOK_PATHS = ("/webhooks/mercadopago", "/api/checkout/webhook")
DEFAULT_MP_API = "api.mercadopago.com"
ORIGINS_WINDOW = timedelta(days=1)
ORIGINS_LIMIT = 10_000  # newest events read for the account/mode check: bounded, any queue size
RECONCILE_RED_AFTER = timedelta(days=1)
CLOCK_TOLERANCE_DEFAULT = 300  # seconds, when signature_tolerance_seconds is unset
DATE_RESOLUTION = 1  # the Date header has whole seconds
DEAD_LETTER_SAMPLE = 1000
MIN_MONITOR_TOKEN = 16
# MPCHECKOUT_* names the project reads outside the settings (serve's workers, the test suite).
NON_SETTING_VARIABLES = frozenset(
    {
        "MPCHECKOUT_SERVE_CONTEXT",
        "MPCHECKOUT_TEST_POSTGRES_URL",
        "MPCHECKOUT_FIXTURES",
        "MPCHECKOUT_RELIABILITY",
        "MPCHECKOUT_RELIABILITY_FIGURES",
    }
)
DOCTOR_META_KEY = "doctor_checked_at"


class Level(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Message:
    """A catalog key with its parameters; a parameter may itself be a Message."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


def say(message: Message, t: Callable[..., str]) -> str:
    params = {k: say(v, t) if isinstance(v, Message) else v for k, v in message.params.items()}
    return t(message.key, **params)


def error_message(exc: AppError) -> Message:
    return Message(exc.message_key, exc.params)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    level: Level
    value: Message
    fix: Message | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DoctorResult:
    generated_at: datetime
    verdict: Level
    checks: tuple[Check, ...]

    @property
    def failed(self) -> bool:
        return self.verdict == Level.RED


# -- facts ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ConfigFacts:
    file: str | None
    error: Message | None = None
    from_env: tuple[str, ...] = ()
    unknown_env: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DatabaseFacts:
    location: str
    missing: bool = False
    error: Message | None = None
    diagnosis: StoreDiagnosis | None = None
    latest_version: int = 0
    write_error: Message | None = None


@dataclass(frozen=True, slots=True)
class TokenFacts:
    configured: bool
    api_base: str
    account: MercadoPagoAccount | None = None
    error: Message | None = None
    refused: bool = False
    answered_at: datetime | None = None  # our clock when Mercado Pago's answer arrived


@dataclass(frozen=True, slots=True)
class ServerFacts:
    public_url: str | None
    webhook_secrets: int
    monitor_token_length: int
    clock_tolerance: int


@dataclass(frozen=True, slots=True)
class ActivityFacts:
    last_run: ReconcileRun | None
    last_ok_at: datetime | None
    reconcile_yellow_after: timedelta
    origins: EventOrigins
    dead_letters: int


@dataclass(frozen=True, slots=True)
class DoctorFacts:
    now: datetime
    config: ConfigFacts
    database: DatabaseFacts | None = None
    token: TokenFacts | None = None
    server: ServerFacts | None = None
    activity: ActivityFacts | None = None


# -- checks (pure) -------------------------------------------------------------------------
def _skipped(name: str, why: str) -> Check:
    return Check(name, Level.SKIPPED, Message(f"doctor.skipped.{why}"))


def check_config(facts: DoctorFacts) -> Check:
    config = facts.config
    data = {"file": config.file, "from_env": list(config.from_env)}
    if config.error is not None:
        fix = Message("doctor.fix.config")
        return Check("config", Level.RED, config.error, fix, data)
    where = (
        Message("doctor.value.config_file", {"file": config.file})
        if config.file
        else Message("doctor.value.config_no_file")
    )
    value = Message("doctor.value.config", {"where": where, "env": len(config.from_env)})
    if config.unknown_env:
        names = ", ".join(config.unknown_env)
        data = {**data, "unknown_env": list(config.unknown_env)}
        fix = Message("doctor.fix.unknown_env", {"names": names})
        return Check("config", Level.YELLOW, value, fix, data)
    return Check("config", Level.GREEN, value, None, data)


def check_database(facts: DoctorFacts) -> Check:
    db = facts.database
    if db is None:
        return _skipped("database", "no_config")
    data: dict[str, Any] = {"location": db.location}
    if db.missing:
        value = Message("doctor.value.db_missing", {"location": db.location})
        return Check("database", Level.RED, value, Message("doctor.fix.db_missing"), data)
    if db.error is not None or db.diagnosis is None:
        fix = Message("doctor.fix.db_unreadable")
        return Check("database", Level.RED, db.error or Message("error.storage"), fix, data)
    version, latest = db.diagnosis.schema_version, db.latest_version
    data = {**data, "backend": db.diagnosis.backend, "schema": version, "latest": latest}
    value = Message(
        "doctor.value.db", {"backend": db.diagnosis.backend, "version": version, "latest": latest}
    )
    if version < latest:
        return Check("database", Level.RED, value, Message("doctor.fix.db_upgrade"), data)
    return Check("database", Level.GREEN, value, None, data)


def _usable(facts: DoctorFacts) -> StoreDiagnosis | None:
    db = facts.database
    return db.diagnosis if db is not None and not db.missing and db.error is None else None


def check_writable(facts: DoctorFacts) -> Check:
    if _usable(facts) is None:
        return _skipped("database_writable", "no_database")
    assert facts.database is not None
    if facts.database.write_error is not None:
        fix = Message("doctor.fix.db_readonly")
        return Check("database_writable", Level.RED, facts.database.write_error, fix)
    return Check("database_writable", Level.GREEN, Message("doctor.value.yes"))


def check_journal(facts: DoctorFacts) -> Check | None:
    diagnosis = _usable(facts)
    if diagnosis is None or diagnosis.journal_mode is None:
        return None  # PostgreSQL, or already red above
    value = Message("doctor.value.plain", {"value": diagnosis.journal_mode})
    data = {"journal_mode": diagnosis.journal_mode}
    if diagnosis.journal_mode.lower() != "wal":
        return Check("database_wal", Level.RED, value, Message("doctor.fix.db_wal"), data)
    return Check("database_wal", Level.GREEN, value, None, data)


def check_integrity(facts: DoctorFacts) -> Check | None:
    diagnosis = _usable(facts)
    if diagnosis is None or diagnosis.quick_check is None:
        return None
    value = Message("doctor.value.plain", {"value": diagnosis.quick_check})
    data = {"quick_check": diagnosis.quick_check}
    if diagnosis.quick_check != "ok":
        fix = Message("doctor.fix.db_corrupt")
        return Check("database_integrity", Level.RED, value, fix, data)
    return Check("database_integrity", Level.GREEN, value, None, data)


def check_file_mode(facts: DoctorFacts) -> Check | None:
    diagnosis = _usable(facts)
    if diagnosis is None or diagnosis.file_mode is None:
        return None
    mode = f"{diagnosis.file_mode:04o}"
    value = Message("doctor.value.plain", {"value": mode})
    if diagnosis.file_mode & 0o077:
        fix = Message("doctor.fix.db_mode", {"location": diagnosis.location})
        return Check("database_mode", Level.RED, value, fix, {"mode": mode})
    return Check("database_mode", Level.GREEN, value, None, {"mode": mode})


def check_token(facts: DoctorFacts) -> Check:
    token = facts.token
    if token is None:
        return _skipped("access_token", "no_config")
    data: dict[str, Any] = {"api_base": token.api_base}
    if not token.configured:
        value = Message("doctor.value.token_missing")
        return Check("access_token", Level.RED, value, Message("doctor.fix.token_missing"), data)
    if token.account is None:
        key = "doctor.fix.token_refused" if token.refused else "doctor.fix.token_unreachable"
        error = token.error or Message("error.internal")
        return Check("access_token", Level.RED, error, Message(key, data), data)
    account = token.account
    data |= {
        "account_id": account.id,
        "nickname": account.nickname,
        "site_id": account.site_id,
        "country_id": account.country_id,
        "test_user": account.test_user,
        "evidence": account.test_user_evidence,
    }
    kind = Message("doctor.value.test_user" if account.test_user else "doctor.value.live_user")
    value = Message("doctor.value.account", {**data, "kind": kind})
    if account.test_user and urlsplit(token.api_base).hostname == DEFAULT_MP_API:
        # Payments made with a test user's token are not real money (research: test users
        # hold APP_USR- tokens, so the prefix does not tell).
        return Check("access_token", Level.YELLOW, value, Message("doctor.fix.test_user"), data)
    return Check("access_token", Level.GREEN, value, None, data)


def check_clock(facts: DoctorFacts) -> Check:
    token, server = facts.token, facts.server
    if token is None or server is None or token.account is None:
        return _skipped("clock", "no_answer")
    theirs, ours = token.account.server_date, token.answered_at
    if theirs is None or ours is None:
        value = Message("doctor.value.no_date")
        return Check("clock", Level.YELLOW, value, Message("doctor.fix.no_date"))
    skew = (ours - theirs).total_seconds()
    data = {"skew_seconds": round(skew, 1), "tolerance_seconds": server.clock_tolerance}
    value = Message("doctor.value.skew", data)
    off = abs(skew) - DATE_RESOLUTION
    if off > server.clock_tolerance:
        return Check("clock", Level.RED, value, Message("doctor.fix.clock", data), data)
    if off > server.clock_tolerance / 2:
        return Check("clock", Level.YELLOW, value, Message("doctor.fix.clock", data), data)
    return Check("clock", Level.GREEN, value, None, data)


def check_webhook_secrets(facts: DoctorFacts) -> Check:
    server = facts.server
    if server is None:
        return _skipped("webhook_secrets", "no_config")
    data = {"count": server.webhook_secrets}
    value = Message("doctor.value.count", data)
    if server.webhook_secrets == 0 and server.public_url:
        fix = Message("doctor.fix.webhook_secrets")
        return Check("webhook_secrets", Level.YELLOW, value, fix, data)
    return Check("webhook_secrets", Level.GREEN, value, None, data)


def check_public_url(facts: DoctorFacts) -> Check:
    server = facts.server
    if server is None:
        return _skipped("public_url", "no_config")
    if not server.public_url:
        value = Message("doctor.value.unset")
        return Check("public_url", Level.YELLOW, value, Message("doctor.fix.public_url_unset"))
    notification_url = webhook_url(server.public_url) or ""
    parts = urlsplit(notification_url)
    data = {"public_url": server.public_url, "notification_url": notification_url}
    value = Message("doctor.value.plain", {"value": notification_url})
    if parts.scheme != "https" or not parts.hostname:
        return Check("public_url", Level.RED, value, Message("doctor.fix.public_url_https"), data)
    if parts.path not in SERVE_WEBHOOK_PATHS:
        # A reverse proxy may strip a prefix; a path that already ends in the webhook path
        # doubles it, and that never reaches `serve`.
        doubled = parts.path.count(SERVE_WEBHOOK_PATHS[0]) > 1
        level = Level.RED if doubled else Level.YELLOW
        fix = Message("doctor.fix.public_url_path", {"path": SERVE_WEBHOOK_PATHS[0]})
        return Check("public_url", level, value, fix, data)
    return Check("public_url", Level.GREEN, value, None, data)


def check_monitor_token(facts: DoctorFacts) -> Check:
    server = facts.server
    if server is None:
        return _skipped("monitor_token", "no_config")
    length = server.monitor_token_length
    data = {"set": bool(length)}
    if not length:
        value = Message("doctor.value.monitoring_off")
        if server.public_url:  # serve is exposed: its monitoring answers 404 without a token
            fix = Message("doctor.fix.monitor_token_unset")
            return Check("monitor_token", Level.YELLOW, value, fix, data)
        return Check("monitor_token", Level.GREEN, value, None, data)
    if length < MIN_MONITOR_TOKEN:
        fix = Message("doctor.fix.monitor_token_short", {"min": MIN_MONITOR_TOKEN})
        return Check("monitor_token", Level.YELLOW, Message("doctor.value.short"), fix, data)
    return Check("monitor_token", Level.GREEN, Message("doctor.value.set"), None, data)


def check_reconcile(facts: DoctorFacts) -> Check:
    activity = facts.activity
    if activity is None:
        return _skipped("reconcile", "no_database")
    if activity.last_ok_at is None:
        # Never reconciled: a new install (yellow), or every run failed (red).
        level = Level.YELLOW if activity.last_run is None else Level.RED
        value = Message("doctor.value.never_ok")
        return Check("reconcile", level, value, Message("doctor.fix.reconcile_never"))
    age = facts.now - activity.last_ok_at
    hours = round(age.total_seconds() / 3600, 1)
    data = {"last_ok_at": utc_iso(activity.last_ok_at), "age_hours": hours}
    value = Message("doctor.value.age_hours", data)
    if age > max(RECONCILE_RED_AFTER, activity.reconcile_yellow_after):
        return Check("reconcile", Level.RED, value, Message("doctor.fix.reconcile_old"), data)
    if age > activity.reconcile_yellow_after:
        return Check("reconcile", Level.YELLOW, value, Message("doctor.fix.reconcile_old"), data)
    return Check("reconcile", Level.GREEN, value, None, data)


def check_event_origins(facts: DoctorFacts) -> Check:
    activity = facts.activity
    if activity is None:
        return _skipped("event_origins", "no_database")
    origins = activity.origins
    account = facts.token.account if facts.token is not None else None
    accounts = _count_by(origins, lambda origin: origin.user_id)
    modes = _count_by(origins, lambda origin: origin.live_mode)
    data = {
        "events": origins.scanned,
        "limit_reached": origins.limit_reached,
        "by_account": {str(k): v for k, v in accounts.items()},
        "by_live_mode": {_mode_name(k): v for k, v in modes.items()},
    }
    if not origins.scanned:
        return Check("event_origins", Level.GREEN, Message("doctor.value.no_events"), None, data)
    summary = Message("doctor.value.origins", {"accounts": _join(accounts), "modes": _modes(modes)})
    known = {user for user in accounts if user is not None}
    foreign = {user for user in known if account is not None and user != account.id}
    if foreign or len(known) > 1:
        mine = account.id if account is not None else "?"
        fix = Message("doctor.fix.other_account", {"account": mine, "counts": _join(accounts)})
        return Check("event_origins", Level.RED, summary, fix, data)
    if True in modes and False in modes:
        fix = Message("doctor.fix.mixed_modes", {"counts": _modes(modes)})
        return Check("event_origins", Level.RED, summary, fix, data)
    return Check("event_origins", Level.GREEN, summary, None, data)


def _count_by(origins: EventOrigins, key: Callable[[Any], Any]) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for origin in origins.origins:
        counts[key(origin)] = counts.get(key(origin), 0) + origin.count
    return counts


def _mode_name(live_mode: bool | None) -> str:
    return {True: "live", False: "test", None: "unknown"}[live_mode]


def _join(counts: Mapping[Any, int]) -> str:
    return ", ".join(f"{'?' if key is None else key}: {count}" for key, count in counts.items())


def _modes(counts: Mapping[bool | None, int]) -> str:
    return ", ".join(f"live_mode={_mode_name(key)}: {count}" for key, count in counts.items())


def check_dead_letters(facts: DoctorFacts) -> Check:
    activity = facts.activity
    if activity is None:
        return _skipped("dead_letters", "no_database")
    data = {"unresolved": activity.dead_letters}
    value = Message("doctor.value.count", {"count": activity.dead_letters})
    if activity.dead_letters:
        fix = Message("doctor.fix.dead_letters")
        return Check("dead_letters", Level.YELLOW, value, fix, data)
    return Check("dead_letters", Level.GREEN, value, None, data)


CHECKS: tuple[Callable[[DoctorFacts], Check | None], ...] = (
    check_config,
    check_database,
    check_writable,
    check_journal,
    check_integrity,
    check_file_mode,
    check_token,
    check_clock,
    check_webhook_secrets,
    check_public_url,
    check_monitor_token,
    check_reconcile,
    check_event_origins,
    check_dead_letters,
)


def diagnose(facts: DoctorFacts) -> DoctorResult:
    checks = tuple(check for run in CHECKS if (check := run(facts)) is not None)
    graded = [check.level for check in checks if check.level != Level.SKIPPED]
    order = (Level.GREEN, Level.YELLOW, Level.RED)
    verdict = max(graded, key=order.index, default=Level.GREEN)
    if any(check.level == Level.SKIPPED for check in checks) and verdict == Level.GREEN:
        verdict = Level.YELLOW
    return DoctorResult(facts.now, verdict, checks)


# -- gathering -----------------------------------------------------------------------------
def run_doctor(
    load_runtime: Callable[[], Runtime], clock: Clock, environ: Mapping[str, str] | None = None
) -> DoctorResult:
    return diagnose(gather_facts(load_runtime, clock, os.environ if environ is None else environ))


def gather_facts(
    load_runtime: Callable[[], Runtime], clock: Clock, environ: Mapping[str, str]
) -> DoctorFacts:
    try:
        runtime = load_runtime()
    except ConfigurationError as exc:
        config = ConfigFacts(None, error_message(exc), (), unknown_variables(environ, ()))
        return DoctorFacts(clock.now(), config)
    loaded, settings = runtime.loaded, runtime.settings
    keys = tuple(key for key, _ in iter_leaves(settings))
    config = ConfigFacts(
        str(loaded.config_path) if loaded.config_path else None,
        None,
        tuple(key for key, source in loaded.sources.items() if source == "env"),
        unknown_variables(environ, keys),
    )
    token = _token_facts(runtime, clock)
    server = _server_facts(runtime)
    store, database = _open_store(runtime)
    activity = None
    if store is not None:
        try:
            database, activity = _store_facts(store, database, runtime, clock.now())
        finally:
            store.close()
    return DoctorFacts(clock.now(), config, database, token, server, activity)


def unknown_variables(environ: Mapping[str, str], keys: tuple[str, ...]) -> tuple[str, ...]:
    """MPCHECKOUT_* variables that set nothing (a typo keeps the default silently)."""
    known = {ENV_PREFIX + key.upper().replace(".", "__") for key in keys}
    return tuple(
        sorted(
            name
            for name in environ
            if name.startswith(ENV_PREFIX)
            and name not in known
            and name not in NON_SETTING_VARIABLES
            and not any(name.startswith(k + "__") for k in known)
        )
    )


def _token_facts(runtime: Runtime, clock: Clock) -> TokenFacts:
    mp = runtime.settings.mercadopago
    if mp.access_token is None or not mp.access_token.get_secret_value().strip():
        return TokenFacts(False, mp.api_base)
    try:
        account = runtime.gateway.get_user_me()
    except MercadoPagoAuthError as exc:
        return TokenFacts(True, mp.api_base, error=error_message(exc), refused=True)
    except AppError as exc:
        return TokenFacts(True, mp.api_base, error=error_message(exc))
    return TokenFacts(True, mp.api_base, account, answered_at=clock.now())


def _server_facts(runtime: Runtime) -> ServerFacts:
    settings = runtime.settings
    token = settings.server.monitor_token
    tolerance = settings.mercadopago.signature_tolerance_seconds or CLOCK_TOLERANCE_DEFAULT
    return ServerFacts(
        settings.server.public_url,
        len([s for s in settings.mercadopago.webhook_secrets if s.get_secret_value().strip()]),
        len(token.get_secret_value().strip()) if token is not None else 0,
        tolerance,
    )


def _open_store(runtime: Runtime) -> tuple[Store | None, DatabaseFacts]:
    url = runtime.settings.database.url
    location = url if is_postgres_url(url) else str(sqlite_path(url))
    from .config import redact_url

    location = redact_url(location)
    if not is_postgres_url(url) and not sqlite_path(url).is_file():
        return None, DatabaseFacts(location, missing=True)
    try:
        return runtime.open_store(migrate=False), DatabaseFacts(location)
    except AppError as exc:
        return None, DatabaseFacts(location, error=error_message(exc))


def _store_facts(
    store: Store, database: DatabaseFacts, runtime: Runtime, now: datetime
) -> tuple[DatabaseFacts, ActivityFacts | None]:
    try:
        diagnosis = store.diagnose()
    except AppError as exc:
        return DatabaseFacts(database.location, error=error_message(exc)), None
    write_error = None
    try:
        store.set_meta(DOCTOR_META_KEY, utc_iso(now), now)
    except AppError as exc:
        write_error = error_message(exc)
    database = DatabaseFacts(
        database.location, False, None, diagnosis, latest_version(store.backend), write_error
    )
    if diagnosis.schema_version < database.latest_version:
        return database, None  # the tables below may not exist yet
    return database, _activity_facts(store, runtime, now)


def _activity_facts(store: Store, runtime: Runtime, now: datetime) -> ActivityFacts:
    runs = store.list_reconcile_runs(20)
    last_ok = next((run for run in runs if run.status == "ok"), None)
    unresolved = store.list_dead_letters(DeadLetterFilter(limit=DEAD_LETTER_SAMPLE))
    return ActivityFacts(
        last_run=runs[0] if runs else None,
        last_ok_at=(last_ok.finished_at or last_ok.started_at) if last_ok else None,
        reconcile_yellow_after=parse_duration(runtime.settings.health.max_reconcile_age),
        origins=store.event_origins(now - ORIGINS_WINDOW, ORIGINS_LIMIT),
        dead_letters=len(unresolved),
    )
