"""What can be wrong with a file offered as a report, each a typed reason with its own message."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from ..errors import ValidationError


class ReportProblem(StrEnum):
    EMPTY = "empty"
    BINARY = "binary"
    ENCODING = "encoding"
    UNRECOGNISED = "unrecognised"
    MISSING_COLUMNS = "missing_columns"
    BAD_AMOUNT = "bad_amount"


MESSAGE_KEYS: dict[ReportProblem, str] = {
    ReportProblem.EMPTY: "error.report_empty",
    ReportProblem.BINARY: "error.report_binary",
    ReportProblem.ENCODING: "error.report_encoding",
    ReportProblem.UNRECOGNISED: "error.report_unrecognised",
    ReportProblem.MISSING_COLUMNS: "error.report_missing_columns",
    ReportProblem.BAD_AMOUNT: "error.report_bad_amount",
}


class ReportFormatError(ValidationError):
    """The file is not a settlement or release report, or a row of it cannot be read. Raised
    before any row is yielded for header problems; mid-file for a bad amount, so an importer
    must commit only once the whole file has been read (nothing half-imported)."""

    code = "report_unreadable"
    message_key = "error.report_unrecognised"
    hint_key = "hint.report_format"

    def __init__(self, reason: ReportProblem, *, file: str, **params: Any) -> None:
        self.reason = reason
        details = {"reason": reason.value, "file": file, **params}
        super().__init__(MESSAGE_KEYS[reason], details=details, file=file, **params)
