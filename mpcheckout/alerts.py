"""Telling someone when things go wrong. Conditions: events dead-lettered, a reconcile run that
ended partial or failed, a health check turned red, Mercado Pago silent while orders wait.

Each condition fires at most once per cooldown (state in the store, shared by every process).
Sinks: a Slack/Discord-compatible incoming webhook (`text` for Slack, `content` for Discord),
and/or a shell command that gets the alert as JSON on stdin. An alert that cannot be delivered
is kept and retried on the next run; it never breaks the job that raised it.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import httpx

from .clock import Clock, utc_iso
from .config import AlertSettings, Settings
from .durations import parse_duration
from .i18n import Translator, resolve_locale
from .models import LedgerChargeback, RunStatus
from .status import Health, StatusReport, build_status
from .store.base import DeadLetterFilter, Store

log = logging.getLogger("mpcheckout.alerts")
CHARGEBACK_CONDITION = "chargeback:"
NEW_CASES = 50  # chargebacks announced per run at most; the rest wait for the next run
# httpx logs every request line, URL included, at INFO; an incoming-webhook URL is a credential
# (Slack and Discord put the token in the path), so httpx may speak only of problems.
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(slots=True, frozen=True)
class Alert:
    condition: str
    severity: Literal["info", "warning", "critical"]
    message_key: str
    params: dict[str, Any]

    def document(self, t: Translator, at: datetime) -> dict[str, Any]:
        text = "mpcheckout: " + t(self.message_key, **self.params)
        return {
            "text": text,
            "content": text,
            "mpcheckout": {
                "condition": self.condition,
                "severity": self.severity,
                "details": self.params,
                "at": utc_iso(at),
            },
        }


class Sink(Protocol):
    name: str

    def send(self, document: dict[str, Any]) -> None:
        """Deliver, or raise AlertDeliveryError (whose text never holds a secret)."""


class AlertDeliveryError(Exception):
    pass


class WebhookSink:
    name = "webhook"

    def __init__(self, url: str, timeout: float) -> None:
        self._url, self._timeout = url, timeout

    def send(self, document: dict[str, Any]) -> None:
        try:
            response = httpx.post(self._url, json=document, timeout=self._timeout)
        except httpx.HTTPError as exc:
            # Never str(exc): it carries the URL, and an incoming-webhook URL is a credential.
            raise AlertDeliveryError(f"webhook unreachable ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise AlertDeliveryError(f"webhook answered HTTP {response.status_code}")


class CommandSink:
    name = "command"

    def __init__(self, command: str, timeout: float) -> None:
        self._command, self._timeout = command, timeout

    def send(self, document: dict[str, Any]) -> None:
        try:
            completed = subprocess.run(
                self._command,
                shell=True,
                input=json.dumps(document) + "\n",
                text=True,
                capture_output=True,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AlertDeliveryError(f"command failed to run ({type(exc).__name__})") from None
        if completed.returncode != 0:
            raise AlertDeliveryError(f"command exited {completed.returncode}")


def sinks_from_settings(settings: AlertSettings) -> list[Sink]:
    sinks: list[Sink] = []
    if settings.webhook_url is not None:
        sinks.append(WebhookSink(settings.webhook_url.get_secret_value(), settings.timeout_seconds))
    if settings.command:
        sinks.append(CommandSink(settings.command, settings.timeout_seconds))
    return sinks


@dataclass(slots=True)
class AlertOutcome:
    fired: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)


def detect(
    store: Store,
    report: StatusReport,
    silent_after: timedelta,
    reconcile_status: RunStatus | Literal["skipped"] | None,
) -> list[Alert]:
    """The conditions true right now (cooldown is `dispatch`'s business)."""
    alerts = []
    dead = _new_dead_letters(store, report)
    if dead:
        alerts.append(Alert("dead_letters", "critical", "alerts.dead_letters", {"count": dead}))
    if reconcile_status in ("partial", "failed"):
        alerts.append(
            Alert(
                f"reconcile_{reconcile_status}",
                "critical",
                f"alerts.reconcile_{reconcile_status}",
                {},
            )
        )
    for check in report.checks:
        if check.health == Health.RED and check.name != "dead_letters_24h":
            alerts.append(
                Alert(
                    f"health:{check.name}",
                    "critical",
                    "alerts.health_red",
                    {"check": check.name, "value": check.value, "threshold": check.threshold},
                )
            )
    silent = _silent(report, silent_after)
    if silent:
        alerts.append(Alert("silent", "warning", "alerts.silent", silent))
    return alerts + [_chargeback_alert(case) for case in store.chargebacks_to_alert(NEW_CASES)]


def _chargeback_alert(case: LedgerChargeback) -> Alert:
    """One alert per chargeback, ever: its condition names the case, which is then marked."""
    deadline = case.documentation_deadline
    params = {
        "chargeback_id": case.id,
        "payment_id": case.payment_id or "-",
        "order_id": case.order_id or "-",
        "amount": "-" if case.amount is None else f"{case.amount:.2f}",
        "currency": case.currency or "",
        "deadline": utc_iso(deadline)[:10] if deadline else "-",
    }
    return Alert(f"{CHARGEBACK_CONDITION}{case.id}", "critical", "alerts.chargeback", params)


def _new_dead_letters(store: Store, report: StatusReport) -> int:
    """Unresolved dead letters newer than the last alert about them (or than a day)."""
    if not report.queue.dead_unresolved:
        return 0
    state = store.get_alert_state("dead_letters") or {}
    since = state.get("last_fired_at") or report.generated_at - timedelta(days=1)
    return len(store.list_dead_letters(DeadLetterFilter(since=since, limit=1000)))


def _silent(report: StatusReport, silent_after: timedelta) -> dict[str, Any] | None:
    pending = report.orders.get("pending", 0)
    last = report.queue.last_notification_at
    if not pending or last is None or report.generated_at - last < silent_after:
        return None
    hours = round((report.generated_at - last).total_seconds() / 3600, 1)
    return {"hours": hours, "orders": pending}


def dispatch(
    store: Store,
    clock: Clock,
    alerts: Sequence[Alert],
    sinks: Sequence[Sink],
    settings: AlertSettings,
    t: Translator,
) -> AlertOutcome:
    """Deliver what is due: first alerts kept from earlier failed deliveries, then new
    conditions whose cooldown has passed."""
    outcome = AlertOutcome()
    if not sinks:
        return outcome
    now, cooldown = clock.now(), parse_duration(settings.cooldown)
    for alert in alerts:
        state = store.get_alert_state(alert.condition) or {}
        last = state.get("last_fired_at")
        if last is not None and now - last < cooldown:
            outcome.suppressed.append(alert.condition)
            continue
        document = alert.document(t, now)
        pending = None if _deliver(document, sinks) else json.dumps(document)
        (outcome.failed if pending else outcome.fired).append(alert.condition)
        store.set_alert_state(alert.condition, now, pending, now)
    _retry_pending(store, now, sinks, {a.condition for a in alerts}, outcome)
    return outcome


def _deliver(document: dict[str, Any], sinks: Sequence[Sink]) -> bool:
    delivered = True
    for sink in sinks:
        try:
            sink.send(document)
        except AlertDeliveryError as exc:
            log.warning(
                "alert %s not delivered to %s: %s",
                document["mpcheckout"]["condition"],
                sink.name,
                exc,
            )
            delivered = False
    return delivered


def _retry_pending(
    store: Store, now: datetime, sinks: Sequence[Sink], current: set[str], outcome: AlertOutcome
) -> None:
    for condition in store.pending_alert_conditions():
        if condition in current and condition in outcome.failed:
            continue  # just failed this run
        state = store.get_alert_state(condition)
        if not state or not state.get("pending"):
            continue
        if _deliver(json.loads(state["pending"]), sinks):
            store.set_alert_state(condition, state.get("last_fired_at"), None, now)
            outcome.retried.append(condition)


def run_alerts(
    store: Store,
    clock: Clock,
    settings: Settings,
    reconcile_status: RunStatus | Literal["skipped"] | None = None,
) -> AlertOutcome:
    """Evaluate every condition and deliver what is due; a no-op without configured sinks."""
    sinks = sinks_from_settings(settings.alerts)
    if not sinks:
        return AlertOutcome()
    report = build_status(store, clock, settings.health, settings.reconcile)
    silent_after = parse_duration(settings.alerts.silent_after)
    alerts = detect(store, report, silent_after, reconcile_status)
    t = Translator(resolve_locale(settings.locale))
    outcome = dispatch(store, clock, alerts, sinks, settings.alerts, t)
    # Handed to dispatch: delivered, or kept pending and retried by it on the next run.
    cases = [a.condition.removeprefix(CHARGEBACK_CONDITION) for a in alerts]
    store.mark_chargebacks_alerted(
        [case for case, a in zip(cases, alerts, strict=True) if a.condition != case], clock.now()
    )
    return outcome


def send_test(sinks: Sequence[Sink], t: Translator, clock: Clock) -> dict[str, str]:
    """`alerts test`: one alert to every sink; the result per sink ("ok" or why not)."""
    document = Alert("test", "info", "alerts.test", {}).document(t, clock.now())
    results = {}
    for sink in sinks:
        try:
            sink.send(document)
            results[sink.name] = "ok"
        except AlertDeliveryError as exc:
            results[sink.name] = str(exc)
    return results
