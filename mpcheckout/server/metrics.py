"""GET /metrics: Prometheus text format, built per scrape by a custom collector from the
figures the store gives cheaply (mpcheckout/metrics.py). Allowed with the monitoring token as a
bearer token, or from `server.metrics_allowlist` without one; off (404) when neither is set."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..errors import AuthenticationError, NotFoundError
from ..metrics import MetricsFigures, collect_figures
from ..status import Health
from .clientip import ClientResolver, parse_networks
from .context import ServerContext
from .receiver import client_ip
from .responses import error_response

PREFIX = "mpcheckout"
HEALTH_VALUE = {Health.GREEN: 0, Health.YELLOW: 1, Health.RED: 2}


async def metrics(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    if refused := _guard(ctx, request):
        return refused
    settings = ctx.settings

    def figures_now() -> MetricsFigures:
        report = ctx.status_report()
        return collect_figures(ctx.store, ctx.clock, settings.health, settings.reconcile, report)

    figures = await run_in_threadpool(figures_now)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(figures))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _guard(ctx: ServerContext, request: Request) -> Response | None:
    allowlist = ctx.settings.server.metrics_allowlist
    if allowlist:
        networks = parse_networks(allowlist, "server.metrics_allowlist")
        if ClientResolver(allowlist=networks).allowed(client_ip(ctx, request)):
            return None
    if ctx.monitor_token is None:
        return error_response(NotFoundError("error.not_found"), ctx.t)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = ctx.monitor_token.encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        return error_response(
            AuthenticationError("error.monitor_token"), ctx.t, {"WWW-Authenticate": "Bearer"}
        )
    return None


class _Collector:
    def __init__(self, figures: MetricsFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        yield from _health(self.figures)
        yield from _queue(self.figures)
        yield from _latency(self.figures)
        yield from _reconcile_and_orders(self.figures)


def _gauge(
    name: str, doc: str, value: float | None = None, labels: tuple[str, ...] | list[str] = ()
) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=value, labels=labels or None)


def _health(figures: MetricsFigures) -> Iterator[Metric]:
    report = figures.status
    yield _gauge(
        "health",
        "Verdict of `status --check`: 0 green, 1 yellow, 2 red.",
        HEALTH_VALUE[report.verdict],
    )
    checks = _gauge(
        "health_check", "Each status check: 0 green, 1 yellow, 2 red.", labels=["check"]
    )
    for check in report.checks:
        checks.add_metric([check.name], HEALTH_VALUE[check.health])
    yield checks


def _queue(figures: MetricsFigures) -> Iterator[Metric]:
    queue, lifetime = figures.status.queue, figures.lifetime
    events = _gauge("events", "Events in the queue now, by state.", labels=["state"])
    for state, value in (
        ("pending_due", queue.pending_due),
        ("pending_later", queue.pending_later),
        ("processing", queue.processing),
        ("expired_lease", queue.expired_leases),
        ("dead", lifetime.in_queue.get("dead", 0)),
    ):
        events.add_metric([state], value)
    yield events
    yield CounterMetricFamily(
        f"{PREFIX}_events_received", "Events ever queued.", value=lifetime.events_received
    )
    yield CounterMetricFamily(
        f"{PREFIX}_events_processed", "Events ever completed.", value=figures.processed_total
    )
    yield CounterMetricFamily(
        f"{PREFIX}_events_failed",
        "Events ever dead-lettered (processing failures).",
        value=lifetime.dead_letters,
    )
    yield _gauge(
        "events_completed_24h", "Events completed in the last 24 hours.", queue.completed_24h
    )
    yield _gauge(
        "dead_letters_24h", "Unresolved dead letters of the last 24 hours.", queue.dead_letters_24h
    )
    yield _gauge(
        "dead_letters_unresolved", "Dead letters waiting for a person.", queue.dead_unresolved
    )
    yield _gauge(
        "oldest_pending_age_seconds",
        "Age of the oldest pending event (0: none).",
        queue.oldest_pending_seconds or 0,
    )
    refused = CounterMetricFamily(
        f"{PREFIX}_refused_requests", "Requests refused, by reason.", labels=["reason"]
    )
    for reason, count in sorted(lifetime.rejections.items()):
        refused.add_metric([reason], count)
    yield refused
    if queue.last_notification_at is not None:
        yield _gauge(
            "last_notification_timestamp_seconds",
            "When the newest event arrived.",
            queue.last_notification_at.timestamp(),
        )


def _latency(figures: MetricsFigures) -> Iterator[Metric]:
    queue = figures.status.queue
    summary = Metric(
        f"{PREFIX}_processing_latency_seconds",
        "Received -> completed, over the events completed in the last hour (status's sample).",
        "summary",
    )
    for quantile, value in (
        ("0.5", queue.latency_p50_seconds),
        ("0.95", queue.latency_p95_seconds),
    ):
        if value is not None:
            summary.add_sample(summary.name, {"quantile": quantile}, value)
    summary.add_sample(f"{summary.name}_count", {}, queue.latency_sample)
    yield summary


def _reconcile_and_orders(figures: MetricsFigures) -> Iterator[Metric]:
    report = figures.status
    if report.reconcile.last_ok_at is not None:
        yield _gauge(
            "reconcile_last_success_timestamp_seconds",
            "When the last successful reconcile finished.",
            report.reconcile.last_ok_at.timestamp(),
        )
    orders = _gauge("orders", "Orders by status.", labels=["status"])
    for status, count in sorted(report.orders.items()):
        orders.add_metric([status], count)
    yield orders
    yield _gauge(
        "orders_stale_pending",
        "Pending orders past reconcile.stale_after with no payment.",
        report.stale_pending_orders,
    )
