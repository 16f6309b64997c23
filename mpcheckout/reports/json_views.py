"""A report delivered as JSON instead of CSV. Mercado Pago's download endpoint may answer a
report file as `application/json` shaped `{"document": {"views": [{<group>: {"column": [...],
"records": [[...], ...]}}]}}` (research mp-wave2 §4.7: seen by an integrator's importer, not in
Mercado Pago's docs). It becomes the CSV the parser already reads, so both forms of one report
import the same rows.

Numbers are kept as the text the JSON wrote (ids never become numbers, amounts never floats).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .errors import ReportFormatError, ReportProblem

JSON_START = b"{"


def looks_like_json(head: bytes) -> bool:
    """Whether a file's first bytes open a JSON object (a CSV report starts with its header)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(JSON_START)


def views_to_csv(data: bytes, *, name: str) -> bytes:
    """The report's rows as CSV (`,`-separated, UTF-8). Every view must have the same columns:
    they are parts of one report."""
    groups = _groups(_document(data, name), name)
    columns = groups[0]["column"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for group in groups:
        if group["column"] != columns:
            raise _not_a_report(name)
        writer.writerows([_text(value) for value in record] for record in group["records"])
    return out.getvalue().encode("utf-8")


def _document(data: bytes, name: str) -> Any:
    try:
        return json.loads(data, parse_float=str, parse_int=str)
    except (ValueError, UnicodeDecodeError):
        raise ReportFormatError(ReportProblem.ENCODING, file=name, line=1) from None


def _groups(document: Any, name: str) -> list[dict[str, Any]]:
    """Every `{column, records}` group of every view, in order."""
    views = document.get("document", {}).get("views") if isinstance(document, dict) else None
    if not isinstance(views, list):
        raise _not_a_report(name)
    groups = [group for view in views if isinstance(view, dict) for group in view.values()]
    if not groups or not all(_is_group(group) for group in groups):
        raise _not_a_report(name)
    return groups


def _is_group(group: Any) -> bool:
    return (
        isinstance(group, dict)
        and isinstance(group.get("column"), list)
        and isinstance(group.get("records"), list)
        and all(isinstance(record, list) for record in group["records"])
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _not_a_report(name: str) -> ReportFormatError:
    return ReportFormatError(
        ReportProblem.UNRECOGNISED, file=name, expected="document.views[].<group>.column/records"
    )
