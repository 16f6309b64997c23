"""Mercado Pago's settlement and release report CSVs, as the docs publish them and as people
re-save them: the parser must read both to the same rows, keep every row, and refuse anything
that is not a report with one clear error. Variants are generated from the doc samples."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from mpcheckout.errors import EXIT_DATA, ValidationError
from mpcheckout.i18n import SUPPORTED_LOCALES, Translator
from mpcheckout.reports.errors import MESSAGE_KEYS, ReportFormatError, ReportProblem
from mpcheckout.reports.parse import file_sha256, open_report, read_report
from mpcheckout.reports.rows import ReportRow, RowFlag, parse_amount

REPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "mercadopago" / "reports"
SETTLEMENT = REPORTS / "settlement-report-doc-sample.csv"
RELEASE = REPORTS / "release-report-doc-sample.csv"
SEPARATOR = {SETTLEMENT: ";", RELEASE: ","}

Table = list[dict[str, str]]


def table(path: Path) -> Table:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream, delimiter=SEPARATOR[path]))


def write(
    rows: Table,
    *,
    separator: str = ",",
    columns: list[str] | None = None,
    bom: bool = False,
    encoding: str = "utf-8",
) -> bytes:
    columns = columns or list(rows[0])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, delimiter=separator, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode(encoding)


def parse(data: bytes, name: str = "report.csv", **options: str) -> list[ReportRow]:
    return list(open_report(io.BytesIO(data), name=name, **options))


def decimal_comma(text: str) -> str:
    """`-813360.45` as a spreadsheet in Spanish or Portuguese writes it: `-813.360,45`."""
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, cents = digits.partition(".")
    return f"{sign}{int(whole):,}".replace(",", ".") + f",{cents}"


def respelled(rows: Table) -> Table:
    """Every amount with a decimal comma, and a column Mercado Pago never wrote."""
    return [
        {
            **{k: decimal_comma(v) if k.endswith("_AMOUNT") and v else v for k, v in row.items()},
            "NOTES_OF_THE_ACCOUNTANT": f"checked {n}",
        }
        for n, row in enumerate(rows)
    ]


def shuffled(columns: list[str], seed: int) -> list[str]:
    columns = list(columns)
    random.Random(seed).shuffle(columns)
    return columns


def without_raw(rows: list[ReportRow]) -> list[ReportRow]:
    return [row._replace(columns=(), values=()) for row in rows]


def test_the_settlement_doc_sample_reads_to_its_exact_amounts_and_passes_its_arithmetic():
    rows = list(read_report(SETTLEMENT))

    assert [(r.source_id, r.gross, r.fee_total, r.net) for r in rows] == [
        ("5067634447", Decimal("79.00"), Decimal("-8.85"), Decimal("70.15")),
        ("5067781790", Decimal("199.00"), Decimal("-22.29"), Decimal("176.71")),
        ("5067323570", Decimal("3109.00"), Decimal("-348.21"), Decimal("2760.79")),
    ]
    first = rows[0]
    assert all(row.flags == () and row.kind == "settlement" for row in rows)
    assert (first.external_reference, first.entry_type, first.currency) == (
        "2112818453",
        "SETTLEMENT",
        "BRL",
    )
    assert first.mp_fee == Decimal("-8.85") and first.credit is None
    assert first.date is not None and first.date.isoformat() == "2019-08-11T22:20:19-04:00"
    assert [row.installments for row in rows] == [1, 1, 12]
    assert [row.line for row in rows] == [2, 3, 4]
    assert first.raw["METADATA"] == "[{}]"


def test_ids_stay_exactly_as_written_even_the_spreadsheet_damaged_pack_id():
    first = next(read_report(SETTLEMENT))

    assert first.pack_id == "2E+15"
    assert (first.order_id, first.shipping_id) == ("2112818453", "28067695419")
    assert first.raw["USER_ID"] == "123456789"


def test_the_release_doc_sample_reads_credit_minus_debit_as_net_and_passes_its_arithmetic():
    rows = list(read_report(RELEASE))

    assert [(r.entry_type, r.description, r.net, r.gross, r.fee_total) for r in rows] == [
        ("initial_available_balance", "", Decimal("813439.19"), Decimal("813439.19"), 0),
        ("release", "withdrawal", Decimal("-813363.45"), Decimal("-813360.45"), Decimal("-3.00")),
        ("release", "payment", Decimal("225.96"), Decimal("269.00"), Decimal("-43.04")),
        ("release", "payment", Decimal("820.14"), Decimal("1099.00"), Decimal("-278.86")),
    ]
    assert all(row.flags == () and row.kind == "release" for row in rows)
    assert [row.summary for row in rows] == [True, False, False, False]
    assert (rows[1].credit, rows[1].debit) == (Decimal("0.00"), Decimal("813363.45"))
    assert rows[3].payment_method == "visa" and rows[3].installments == 6
    assert rows[3].date is not None and rows[3].date.isoformat() == "2018-04-17T15:38:40-04:00"


@pytest.mark.parametrize("source", [SETTLEMENT, RELEASE], ids=["settlement", "release"])
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_a_resaved_copy_reads_to_the_same_rows_and_identities(source: Path, separator: str):
    original = list(read_report(source))
    rows = respelled(table(source))
    data = write(rows, separator=separator, columns=shuffled(list(rows[0]), seed=16), bom=True)

    copy = parse(data)

    assert without_raw(copy) == without_raw(original)
    assert copy[0].raw["NOTES_OF_THE_ACCOUNTANT"] == "checked 0"


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252"])
def test_a_copy_saved_as_utf16_or_windows_1252_reads_the_same(encoding: str):
    rows = table(RELEASE)
    rows[2]["DESCRIPTION"] = "payment"
    rows[2]["PAYMENT_METHOD"] = "débito"  # what makes the two encodings differ from UTF-8

    copy = parse(write(rows, separator=";", encoding=encoding))

    assert copy[2].payment_method == "débito"
    assert without_raw(copy)[:2] == without_raw(list(read_report(RELEASE)))[:2]


def test_the_configured_separator_wins_over_detection():
    data = write(table(SETTLEMENT), separator="|")

    rows = parse(data, separator="|")

    assert [row.source_id for row in rows] == ["5067634447", "5067781790", "5067323570"]


def test_reading_the_same_file_or_an_overlapping_one_names_every_row_the_same():
    rows = table(RELEASE)
    keys = [row.row_key for row in parse(write(rows))]
    overlapping = parse(write([*rows[2:], {**rows[3], "DATE": "2018-04-18T10:00:00.000-04:00"}]))

    assert [row.row_key for row in parse(write(rows))] == keys
    assert len(set(keys)) == len(keys)
    assert [row.row_key for row in overlapping][:2] == keys[2:]
    assert overlapping[2].row_key not in keys


def test_the_same_instant_written_in_another_time_zone_is_the_same_row():
    rows = table(SETTLEMENT)
    rows[0]["TRANSACTION_DATE"] = "2019-08-12T02:20:19.000+00:00"  # 22:20:19-04:00 the day before

    assert parse(write(rows))[0].row_key == next(read_report(SETTLEMENT)).row_key


def test_amounts_a_spreadsheet_wrote_without_trailing_zeros_are_the_same_rows():
    rows = [
        {k: v.rstrip("0").rstrip(".") if k.endswith("_AMOUNT") else v for k, v in row.items()}
        for row in table(RELEASE)
    ]
    assert rows[3]["GROSS_AMOUNT"] == "1099"

    assert [r.row_key for r in parse(write(rows))] == [r.row_key for r in read_report(RELEASE)]


def test_twin_rows_are_two_movements_and_keep_their_names_across_files():
    rows = table(SETTLEMENT)
    refund = {**rows[1], "TRANSACTION_TYPE": "REFUND", "TRANSACTION_AMOUNT": "-10.00"}
    refund.update(FEE_AMOUNT="0.00", SETTLEMENT_NET_AMOUNT="-10.00")
    with_twins = [rows[0], refund, rows[1], refund, rows[2]]

    first = parse(write(with_twins))
    overlapping = parse(write([refund, rows[1], refund]))

    twin_keys = [first[1].row_key, first[3].row_key]
    assert twin_keys[0] != twin_keys[1]
    assert len({row.row_key for row in first}) == 5
    assert [row.row_key for row in overlapping] == [twin_keys[0], first[2].row_key, twin_keys[1]]


def test_a_row_that_breaks_its_arithmetic_is_kept_and_flagged():
    settlement, release = table(SETTLEMENT), table(RELEASE)
    settlement[1]["SETTLEMENT_NET_AMOUNT"] = "176.70"
    release[2]["NET_CREDIT_AMOUNT"] = "226.96"

    settlement_rows, release_rows = parse(write(settlement)), parse(write(release))

    assert [row.flags for row in settlement_rows] == [(), (RowFlag.ARITHMETIC,), ()]
    assert settlement_rows[1].net == Decimal("176.70")
    assert [row.flags for row in release_rows] == [(), (), (RowFlag.ARITHMETIC,), ()]


def test_a_date_that_is_not_iso_keeps_the_row_flagged_with_the_text_in_raw():
    rows = table(SETTLEMENT)
    rows[0]["SETTLEMENT_DATE"] = "11/08/2019 22:20"

    first = parse(write(rows))[0]

    assert first.settlement_date is None and first.flags == (RowFlag.UNREADABLE_DATE,)
    assert first.raw["SETTLEMENT_DATE"] == "11/08/2019 22:20"
    assert first.row_key == next(read_report(SETTLEMENT)).row_key


def test_a_report_with_only_the_required_columns_reads_with_empty_optional_fields():
    required = ["SOURCE_ID", "TRANSACTION_TYPE", "TRANSACTION_DATE", "TRANSACTION_AMOUNT"]
    required += ["FEE_AMOUNT", "SETTLEMENT_NET_AMOUNT"]
    rows = [{column: row[column] for column in required} for row in table(SETTLEMENT)]

    parsed = parse(write(rows, separator=";"))

    assert [row.net for row in parsed] == [r.net for r in read_report(SETTLEMENT)]
    assert [row.row_key for row in parsed] == [r.row_key for r in read_report(SETTLEMENT)]
    first = parsed[0]
    assert (first.currency, first.external_reference, first.installments) == ("", "", None)
    assert first.mp_fee == 0 and first.release_date is None


def test_payout_rows_name_their_payout():
    rows = table(RELEASE)
    base = {**rows[0], "RECORD_TYPE": "available_balance", "DESCRIPTION": "pre_payout_987654"}
    payout = {**rows[1], "DESCRIPTION": "payout", "SOURCE_ID": "987654"}

    parsed = parse(write([base, payout, rows[2]]))

    assert [row.payout_id for row in parsed] == ["987654", "987654", ""]
    assert [row.summary for row in parsed] == [True, False, False]


def test_a_header_only_report_is_a_report_with_no_rows():
    header_only = SETTLEMENT.read_bytes().splitlines(keepends=True)[0]

    reader = open_report(io.BytesIO(header_only), name="empty-month.csv")

    assert reader.kind == "settlement" and list(reader) == []


def _random_csv() -> bytes:
    return b"name,amount,when\nalice,10.00,2024-01-01\n"


def _json_file() -> bytes:
    return json.dumps({"id": 5067634447, "SOURCE_ID": "x"}).encode()


def _binary() -> bytes:
    return random.Random(16).randbytes(4096)


def _missing_fee() -> bytes:
    rows = [{k: v for k, v in row.items() if k != "FEE_AMOUNT"} for row in table(SETTLEMENT)]
    return write(rows)


NOT_REPORTS: dict[str, tuple[Callable[[], bytes], ReportProblem]] = {
    "empty": (lambda: b"", ReportProblem.EMPTY),
    "bom and blank lines": (lambda: b"\xef\xbb\xbf\r\n\r\n", ReportProblem.EMPTY),
    "binary": (_binary, ReportProblem.BINARY),
    "json": (_json_file, ReportProblem.UNRECOGNISED),
    "a random csv": (_random_csv, ReportProblem.UNRECOGNISED),
    "settlement without FEE_AMOUNT": (_missing_fee, ReportProblem.MISSING_COLUMNS),
}


@pytest.mark.parametrize("case", list(NOT_REPORTS))
def test_a_file_that_is_not_a_report_gets_one_clear_error(case: str):
    make, reason = NOT_REPORTS[case]

    with pytest.raises(ReportFormatError) as raised:
        parse(make(), name="downloads/thing.csv")

    error = raised.value
    assert error.reason is reason
    assert isinstance(error, ValidationError) and error.exit_code == EXIT_DATA
    assert "downloads/thing.csv" in Translator("en")(error.message_key, **error.params)


def test_a_missing_column_error_names_the_report_and_the_columns():
    with pytest.raises(ReportFormatError) as raised:
        parse(_missing_fee(), name="s.csv")

    message = Translator("es")(raised.value.message_key, **raised.value.params)
    assert "settlement" in message and "FEE_AMOUNT" in message


def test_an_amount_that_is_not_a_number_stops_the_file_naming_line_and_column():
    rows = table(RELEASE)
    rows[2]["MP_FEE_AMOUNT"] = "n/a"

    with pytest.raises(ReportFormatError) as raised:
        parse(write(rows), name="r.csv")

    assert raised.value.reason is ReportProblem.BAD_AMOUNT
    assert raised.value.params == {
        "file": "r.csv",
        "line": 4,
        "column": "MP_FEE_AMOUNT",
        "value": "n/a",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("79.00", "79.00"),
        ("-8,85", "-8.85"),
        ("1234,56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("-813.360,45", "-813360.45"),
        ("1,234.56", "1234.56"),
        ("1,234,567", "1234567"),
        ("", "0.00"),
    ],
)
def test_amounts_read_with_a_decimal_comma_or_dot(text: str, expected: str):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "12 pesos", "1,2,3.4.5"])
def test_what_is_not_an_amount_is_refused(text: str):
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


class _EndlessReport(io.RawIOBase):
    """A settlement report of `rows` rows made up as it is read, counting what was read."""

    def __init__(self, rows: int) -> None:
        header, row = SETTLEMENT.read_bytes().splitlines(keepends=True)[:2]
        self._parts = (header if n < 0 else row for n in range(-1, rows))
        self._pending, self.served = b"", 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while len(self._pending) < len(buffer):
            part = next(self._parts, b"")
            if not part:
                break
            self._pending += part
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        self.served += size
        return size


def test_rows_stream_out_before_the_file_is_read_to_its_end():
    source = _EndlessReport(rows=200_000)  # ~50 MB if read whole

    rows = iter(open_report(io.BufferedReader(source), name="big.csv"))
    first = next(rows)

    assert first.source_id == "5067634447"
    assert source.served < 1_000_000


def test_file_sha256_hashes_the_bytes_from_a_path_or_a_stream():
    expected = hashlib.sha256(SETTLEMENT.read_bytes()).hexdigest()

    assert file_sha256(SETTLEMENT) == expected
    assert file_sha256(io.BytesIO(SETTLEMENT.read_bytes())) == expected


def test_every_report_problem_has_a_message_in_every_language():
    for locale in SUPPORTED_LOCALES:
        t = Translator(locale)
        assert all(t.has(MESSAGE_KEYS[problem]) for problem in ReportProblem), locale
