"""The report-ready notification Mercado Pago posts when a settlement or release report is
generated (research mp-wave2 §4.7): verify it, then import the CSV file it names, once per
`transaction_id`.

The file is downloaded by its *name* from the configured API base, with the token in the
Authorization header: the notification's `url` is never followed, so no request can make
mpcheckout send its token elsewhere. A redelivery after the import finds its transaction id
recorded and adds nothing; one that races the first import adds nothing either (rows are
stored once by their identity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .clock import Clock
from .config import ReportSettings
from .errors import ValidationError
from .report_fetch import ReportGateway, download_and_import
from .report_imports import FileOrigin, ImportedFile
from .reports.records import ReportNotificationRecord
from .reports.signature import (
    ReportNotification,
    parse_report_notification,
    verify_report_signature,
)
from .store.base import Store

DeliveryOutcome = Literal["imported", "duplicate", "test"]
REPORT_KINDS = frozenset({"settlement", "release"})


@dataclass(slots=True)
class ReportDelivery:
    transaction_id: str
    outcome: DeliveryOutcome
    files: list[ImportedFile] = field(default_factory=list)


def verified_notification(body: bytes, passwords: Sequence[str]) -> ReportNotification:
    """The notification, once its bcrypt signature verifies with one of `passwords`; raises
    ReportNotificationError (400) or ReportSignatureError (401) otherwise. CPU-bound (bcrypt
    cost 10: ~50 ms): call it off the event loop."""
    notification = parse_report_notification(body)
    verify_report_signature(notification, passwords)
    return notification


def import_notified_report(
    store: Store,
    gateway: ReportGateway,
    clock: Clock,
    notification: ReportNotification,
    settings: ReportSettings,
) -> ReportDelivery:
    transaction_id = notification.transaction_id
    if notification.is_test:
        return ReportDelivery(transaction_id, "test")
    if store.report_notification(transaction_id) is not None:
        return ReportDelivery(transaction_id, "duplicate")
    kind = notification.report_type
    if kind not in REPORT_KINDS:
        raise ValidationError("error.report_notification_malformed", detail="report_type")
    origin = FileOrigin("webhook", transaction_id=transaction_id)
    files = [
        download_and_import(store, gateway, clock, kind, item.name, origin, settings)
        for item in notification.csv_files
    ]
    record = ReportNotificationRecord(
        transaction_id, kind, "imported", len(files), sum(f.rows_added for f in files), clock.now()
    )
    store.record_report_notification(record)
    return ReportDelivery(transaction_id, "imported", files)
