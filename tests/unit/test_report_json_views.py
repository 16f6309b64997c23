"""A report delivered as JSON `document.views` reads as the same rows as its CSV: ids stay text
(an 18-digit id is not a float), amounts keep the digits written, and JSON of another shape is
refused as not a report, before anything is imported."""

from __future__ import annotations

import io
import json

import pytest

from mpcheckout.reports.errors import ReportFormatError, ReportProblem
from mpcheckout.reports.json_views import looks_like_json, views_to_csv
from mpcheckout.reports.parse import open_report
from tests.mp_fixtures import fixture_path

COLUMNS = [
    "EXTERNAL_REFERENCE",
    "SOURCE_ID",
    "TRANSACTION_TYPE",
    "TRANSACTION_AMOUNT",
    "TRANSACTION_CURRENCY",
    "TRANSACTION_DATE",
    "FEE_AMOUNT",
    "SETTLEMENT_NET_AMOUNT",
]
DOCUMENT = (
    '{"document": {"views": [{"movements": {"column": ' + json.dumps(COLUMNS) + ', "records": ['
    '["order-1", 234000062890459137, "SETTLEMENT", 79.00, "BRL", "2019-08-12T02:20:19Z", '
    "-8.85, 70.15],"
    '["order-2", 5067781790, "SETTLEMENT", 199.00, "BRL", "2019-08-12T03:00:00Z", -22.29, '
    "176.71]]}}]}}"
).encode()


def rows_of(csv_bytes: bytes) -> list:
    return list(open_report(io.BytesIO(csv_bytes), name="report.json"))


def test_ids_stay_text_and_amounts_keep_their_digits():
    first, second = rows_of(views_to_csv(DOCUMENT, name="report.json"))
    assert first.source_id == "234000062890459137" and second.source_id == "5067781790"
    assert (str(first.gross), str(first.fee_total), str(first.net)) == ("79.00", "-8.85", "70.15")
    assert not first.flags and first.external_reference == "order-1"


def test_the_documented_sample_as_json_reads_as_its_csv():
    csv_bytes = fixture_path("reports/settlement-report-doc-sample.csv").read_bytes()
    reader = csv_bytes.decode("utf-8-sig").splitlines()
    header, records = reader[0].split(";"), [line.split(";") for line in reader[1:] if line]
    document = {
        "document": {
            "views": [
                {"a": {"column": header, "records": records[:2]}},
                {"b": {"column": header, "records": records[2:]}},
            ]
        }
    }
    from_json = rows_of(views_to_csv(json.dumps(document).encode(), name="report.json"))
    from_csv = list(open_report(io.BytesIO(csv_bytes), name="report.json"))
    assert [r.row_key for r in from_json] == [r.row_key for r in from_csv]
    assert [(r.gross, r.net) for r in from_json] == [(r.gross, r.net) for r in from_csv]


@pytest.mark.parametrize(
    "document",
    [b'{"results": []}', b'{"document": {"views": []}}', b'{"document": {"views": [{"a": 1}]}}',
     b'{"document": {"views": [{"a": {"column": ["X"], "records": [[1]]},'
     b' "b": {"column": ["Y"], "records": []}}]}}'],
)  # fmt: skip
def test_json_of_another_shape_is_not_a_report(document):
    with pytest.raises(ReportFormatError) as raised:
        views_to_csv(document, name="other.json")
    assert raised.value.reason == ReportProblem.UNRECOGNISED


def test_broken_json_is_unreadable_and_csv_is_not_json():
    with pytest.raises(ReportFormatError) as raised:
        views_to_csv(b'{"document": ', name="cut.json")
    assert raised.value.reason == ReportProblem.ENCODING
    assert looks_like_json(b'\xef\xbb\xbf \n{"document"') and not looks_like_json(b"DATE,SOURCE_ID")
