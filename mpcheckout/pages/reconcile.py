"""Reconcile history: one row per run, newest first, from webhook_reconciliation_logs."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import ReconcileRun
from ..store.base import Store

RUNS_SHOWN = 50


@dataclass(slots=True)
class ReconcilePage:
    runs: list[ReconcileRun]


def reconcile_page(store: Store) -> ReconcilePage:
    return ReconcilePage(store.list_reconcile_runs(RUNS_SHOWN))
