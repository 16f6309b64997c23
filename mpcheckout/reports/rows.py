"""One report row as a typed record: amounts as Decimal, the report's arithmetic checked, and an
identity that does not depend on the file that brought the row.

Row identity (`row_key`): the row's instant (11 hex digits of its UTC epoch second; `~` × 11
when the date is missing or has no offset) then the SHA-256 (64 hex) of
- settlement: kind, SOURCE_ID, TRANSACTION_TYPE, the instant of TRANSACTION_DATE, gross, fee, net;
- release: kind, SOURCE_ID, RECORD_TYPE, DESCRIPTION, the instant of DATE, credit, debit, gross.
Research §4.6 proposed (SOURCE_ID, TRANSACTION_TYPE, TRANSACTION_DATE, SETTLEMENT_NET_AMOUNT);
gross and fee are added because a refund and a fee adjustment of the same payment can share a
second and a net. Left out on purpose, because the same row reads differently in two exports:
EXTERNAL_REFERENCE (`refund_detailed` swaps in the refund's reference), METADATA (free JSON),
every optional column (the `columns` setting), the date's text (`display_timezone` changes the
offset, so the instant is keyed, not the text) and the amounts' spelling (`79`, `79,00` and
`79.00` are the same money). Two rows equal in all of that are two movements (two partial
refunds of the same amount in the same second): the second is keyed `#1` (see `_Twins`).
The instant comes first so that keys sort with the file (reports are sorted by date): inserting
1,000,000 rows then appends to the primary-key index instead of landing at random pages of it,
which cost 46 s against 25 s for in-order keys (bench/README §9).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import NamedTuple

from .columns import AMOUNTS_AT, ReportKind

ZERO = Decimal("0.00")
_CENTS = Decimal("0.00")
# Rows identical in every identity field are told apart by their order of appearance among the
# last this-many distinct rows; 4,096 keys cost ~0.5 MB.
TWIN_WINDOW = 4096
# Texts the slow path of `RowBuilder.amounts` parsed (decimal commas), remembered so that the
# next `0,00` is a lookup; bounded, so a file of unique amounts keeps its memory flat (~2 MB).
AMOUNT_CACHE_SIZE = 16_384
SUMMARY_RECORDS = frozenset({"initial_available_balance", "subtotal", "total", "available_balance"})
BALANCE_PAYOUT_PREFIXES = ("pre_payout_", "pos_payout_", "pre_withdrawal_", "pos_withdrawal_")
PAYOUT_DESCRIPTIONS = frozenset({"payout", "withdrawal"})
PAYOUT_TRANSACTIONS = frozenset({"PAYOUT", "WITHDRAWAL", "WITHDRAWAL_CANCEL"})


class RowFlag(StrEnum):
    # settlement: net != gross + fee; release: credit - debit != gross + the five fees
    ARITHMETIC = "arithmetic"
    # a date column that is not ISO 8601: the row keeps None there, the text stays in `raw`
    UNREADABLE_DATE = "unreadable_date"


class ReportRow(NamedTuple):
    """One row of either report, in one shape. Amounts are Decimal with Mercado Pago's signs
    (fees negative, money out negative); a fee column the file lacks reads 0, so `fee_total` is
    the figure to sum. A NamedTuple rather than a frozen dataclass: with 31 fields a frozen
    dataclass took 4.7 µs to build and this 0.4 µs, on a parser budget of ~5 µs per row."""

    kind: ReportKind
    row_key: str  # the identity above: the same whichever file brings the row
    line: int  # where the row ends in this file (the header is line 1); not in the identity
    source_id: str  # the payment (or refund, withdrawal...) id at Mercado Pago, as written
    external_reference: str  # the order's reference; may be empty
    entry_type: str  # settlement TRANSACTION_TYPE (SETTLEMENT, REFUND...); release RECORD_TYPE
    description: str  # release DESCRIPTION (payment, payout, pre_payout_<id>...); settlement's too
    gross: Decimal  # TRANSACTION_AMOUNT / GROSS_AMOUNT
    fee_total: Decimal  # settlement FEE_AMOUNT; release the sum of its five fee columns
    mp_fee: Decimal  # settlement MKP_FEE_AMOUNT; release MP_FEE_AMOUNT
    financing_fee: Decimal
    shipping_fee: Decimal
    taxes: Decimal
    coupon: Decimal
    net: Decimal  # settlement SETTLEMENT_NET_AMOUNT; release NET_CREDIT - NET_DEBIT
    credit: Decimal | None  # release NET_CREDIT_AMOUNT (money in); None on settlement rows
    debit: Decimal | None  # release NET_DEBIT_AMOUNT (money out, positive); None on settlement
    currency: str  # SETTLEMENT_CURRENCY (else TRANSACTION_CURRENCY) / release CURRENCY; or ""
    transaction_date: datetime | None  # TRANSACTION_DATE / release TRANSACTION_APPROVAL_DATE
    settlement_date: datetime | None  # settlement SETTLEMENT_DATE
    release_date: datetime | None  # release DATE / settlement MONEY_RELEASE_DATE
    payout_id: str  # the payout or withdrawal the row belongs to, when the row says so
    installments: int | None
    payment_method: str
    payment_method_type: str
    order_id: str
    pack_id: str
    shipping_id: str
    summary: bool  # a release balance line (initial, subtotal, total...): no money moved
    flags: tuple[RowFlag, ...]
    columns: tuple[str, ...]  # the file's header, shared by all its rows
    values: Sequence[str]  # the row's fields as read, in the header's order

    @property
    def raw(self) -> dict[str, str]:
        """The row as read: header name -> text, unknown columns included. Built on demand:
        a dict per row was ~1 µs of a ~6 µs row that most importers never look at."""
        return dict(zip(self.columns, self.values, strict=False))

    @property
    def date(self) -> datetime | None:
        """The row's own date: when the money moved, in this report's terms."""
        return self.transaction_date if self.kind == "settlement" else self.release_date


class PlainSettlement(NamedTuple):
    """A settlement row as Mercado Pago writes it: every amount with a point and two decimals
    (`-8.85`, or empty for 0.00) and dates that read. An importer that stores amounts as text
    can take its texts as they are, instead of a Decimal and back (~4 µs a row less, measured
    on a 1,000,000-row report): RowBuilder.plain_settlement. Its identity, flags and texts are
    exactly the ReportRow's (tests/unit/test_plain_settlement.py)."""

    row_key: str
    line: int
    fields: Sequence[str]  # FIELDS, in order
    amounts: Sequence[str]  # FIELDS[AMOUNTS_AT]'s texts, an empty one as "0.00"
    transaction_date: datetime
    settlement_date: datetime | None
    release_date: datetime | None
    flags: tuple[RowFlag, ...]


class BadAmountError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(f"{text!r} is not an amount")
        self.text = text


def parse_amount(text: str) -> Decimal:
    """`79.00`, `-8,85`, `1.234,56`, `1,234.56` or empty (0.00) as a Decimal; BadAmountError
    (a ValueError) for anything else, NaN and infinities included."""
    if not text:
        return ZERO
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = _localised_amount(text)
    if not value.is_finite():
        raise BadAmountError(text)
    return value


def _localised_amount(text: str) -> Decimal:
    # The rightmost of `,` and `.` is the decimal mark, the other groups thousands; a lone comma
    # is a decimal comma. `1.234` alone stays 1.234: Mercado Pago writes two decimals.
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    comma, dot = cleaned.rfind(","), cleaned.rfind(".")
    if comma > dot and cleaned.count(",") == 1:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise BadAmountError(text) from None


_NO_FLAGS: tuple[RowFlag, ...] = ()
_fromiso = datetime.fromisoformat
# str(), not f"{amount}": the same text (Decimal's format with no spec is its str), 0.2 µs less
# per amount, three amounts per row.
_str = str


_ZERO_SPELLINGS = ("", "0", "0.00", "0,00", "-0.00", "-0,00")
# Texts whose str(Decimal(text) + 0.00) is the text itself: no sign on zero, no leading zero.
_PLAIN_AMOUNT = r"(?:(?!-0\.00)-?(?:0|[1-9][0-9]*)\.[0-9][0-9])?"
_PLAIN_AMOUNTS = re.compile("\x1f".join([_PLAIN_AMOUNT] * 8))
_ARITHMETIC_ONLY = (RowFlag.ARITHMETIC,)
# A NamedTuple's own constructor checks its 32 arguments in Python (~0.6 µs); the rows here are
# built with all of them, in order, so the tuple is made directly (~0.1 µs).
_new_row = tuple.__new__
_finite = Decimal.is_finite


class RowBuilder:
    """Turns the FIELDS of one file's rows into ReportRows. One per file: it counts twins and
    remembers amounts. Written for speed (one call per row, locals, no per-field helpers):
    it runs 1,000,000 times for a big report."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self._amounts: dict[str, Decimal] = dict.fromkeys(_ZERO_SPELLINGS, ZERO)
        self._twins = _Twins()

    def amounts(self, texts: Sequence[str]) -> list[Decimal]:
        """The Decimals of `texts`. Fast path: C's Decimal on plain numbers (what Mercado Pago
        writes) and a lookup for the texts the slow path has met (decimal commas, empties)."""
        known = self._amounts
        try:
            values = [known[text] if text in known else Decimal(text) for text in texts]
        except InvalidOperation:
            return [self._amount(text) for text in texts]
        if all(map(_finite, values)):
            return values
        raise BadAmountError(next(t for t, v in zip(texts, values, strict=True) if not _finite(v)))

    def _amount(self, text: str) -> Decimal:
        if text in self._amounts:
            return self._amounts[text]
        value = parse_amount(text)
        if len(self._amounts) < AMOUNT_CACHE_SIZE:
            self._amounts[text] = value
        return value

    def settlement(self, f: Sequence[str], line: int, values: Sequence[str]) -> ReportRow:
        gross, fee, net, mp_fee, financing, shipping, taxes, coupon = self.amounts(f[AMOUNTS_AT])
        when, settled, released, flags = _dates(f[14], f[15], f[16])
        if net != gross + fee:
            flags = (*flags, RowFlag.ARITHMETIC)
        instant, prefix = _instant(when, f[14])
        key = self._twins.key(
            prefix,
            f"settlement\x1f{f[0]}\x1f{f[2]}\x1f\x1f{instant}"
            f"\x1f{_str(gross + _CENTS)}\x1f{_str(fee + _CENTS)}\x1f{_str(net + _CENTS)}",
        )
        return _new_row(ReportRow, (
            "settlement", key, line, f[0], f[1], f[2], f[3], gross, fee, mp_fee, financing,
            shipping, taxes, coupon, net, None, None, f[12] or f[13], when, settled, released,
            f[0] if f[2] in PAYOUT_TRANSACTIONS else "", int(f[17]) if f[17].isdigit() else None,
            f[18], f[19], f[20], f[21], f[22], False, flags, self.columns, values,
        ))  # fmt: skip

    def plain_settlement(self, f: Sequence[str], line: int) -> PlainSettlement | None:
        """The row as a PlainSettlement, or None when it is not one (then `settlement` reads
        it). Nothing is remembered of a row it declines."""
        texts = f[AMOUNTS_AT]
        if not f[14] or _PLAIN_AMOUNTS.fullmatch("\x1f".join(texts)) is None:
            return None
        try:
            when = _fromiso(f[14])
            settled = when if f[15] == f[14] else _fromiso(f[15]) if f[15] else None
            released = _fromiso(f[16]) if f[16] else None
        except ValueError:
            return None
        amounts = [text or "0.00" for text in texts]
        gross, fee, net = amounts[0], amounts[1], amounts[2]
        plain = _cents(net) == _cents(gross) + _cents(fee)
        instant, prefix = _instant(when, f[14])
        key = self._twins.key(
            prefix, f"settlement\x1f{f[0]}\x1f{f[2]}\x1f\x1f{instant}\x1f{gross}\x1f{fee}\x1f{net}"
        )
        flags = _NO_FLAGS if plain else _ARITHMETIC_ONLY
        return _new_row(PlainSettlement, (key, line, f, amounts, when, settled, released, flags))

    def release(self, f: Sequence[str], line: int, values: Sequence[str]) -> ReportRow:
        gross, credit, debit, mp_fee, financing, shipping, taxes, coupon = self.amounts(
            f[AMOUNTS_AT]
        )
        fee_total = mp_fee + financing + shipping + taxes + coupon
        net = credit - debit
        approved, _, when, flags = _dates(f[14], "", f[16])
        if net != gross + fee_total:
            flags = (*flags, RowFlag.ARITHMETIC)
        instant, prefix = _instant(when, f[16])
        key = self._twins.key(
            prefix,
            f"release\x1f{f[0]}\x1f{f[2]}\x1f{f[3]}\x1f{instant}"
            f"\x1f{_str(credit + _CENTS)}\x1f{_str(debit + _CENTS)}\x1f{_str(gross + _CENTS)}",
        )
        return _new_row(ReportRow, (
            "release", key, line, f[0], f[1], f[2], f[3], gross, fee_total, mp_fee, financing,
            shipping, taxes, coupon, net, credit, debit, f[12], approved, None, when,
            _release_payout(f[3], f[0]), int(f[17]) if f[17].isdigit() else None,
            f[18], f[19], f[20], f[21], f[22], f[2] in SUMMARY_RECORDS, flags, self.columns,
            values,
        ))  # fmt: skip


def _cents(text: str) -> int:
    return int(text.replace(".", ""))


def _dates(
    first: str, second: str, third: str
) -> tuple[datetime | None, datetime | None, datetime | None, tuple[RowFlag, ...]]:
    try:
        return (
            _fromiso(first) if first else None,
            _fromiso(second) if second else None,
            _fromiso(third) if third else None,
            _NO_FLAGS,
        )
    except ValueError:
        one, two, three = (_lenient_date(text) for text in (first, second, third))
        return one, two, three, (RowFlag.UNREADABLE_DATE,)


def _lenient_date(text: str) -> datetime | None:
    try:
        return _fromiso(text) if text else None
    except ValueError:
        return None


_NO_INSTANT = "~" * 11


def _instant(when: datetime | None, text: str) -> tuple[str, str]:
    """The instant the identity keys (the text when it has no offset) and the key's prefix,
    which makes keys sort with the file; one timestamp() for both, it runs once per row."""
    if when is None or when.tzinfo is None:
        return text, _NO_INSTANT
    stamp = when.timestamp()
    return repr(stamp), f"{int(stamp) & 0xFFFFFFFFFFF:011x}"


def _release_payout(description: str, source_id: str) -> str:
    if description.startswith(BALANCE_PAYOUT_PREFIXES):
        return description.split("_", 2)[2]
    return source_id if description in PAYOUT_DESCRIPTIONS else ""


class _Twins:
    """The one case the identity must count: two rows identical in every identity field are
    two movements of money, so the second gets `#1` in its key. Identical rows share their
    date, so every report that holds one holds both, in the same order. Counting within the
    last TWIN_WINDOW to 2 × TWIN_WINDOW distinct rows (two generations of a dict, cheaper per
    row than an ordered window) keeps memory flat on a 1,000,000-row file and is exact for any
    file sorted by a date, as Mercado Pago's are."""

    def __init__(self) -> None:
        import hashlib  # here: every command that opens a store imports this module

        self._sha256 = hashlib.sha256
        self._recent: dict[str, int] = {}
        self._older: dict[str, int] = {}

    def key(self, prefix: str, content: str) -> str:
        digest = self._sha256(content.encode()).hexdigest()
        recent = self._recent
        seen = recent.get(digest) or self._older.get(digest, 0)
        recent[digest] = seen + 1
        if len(recent) >= TWIN_WINDOW:
            self._older, self._recent = recent, {}
        if seen:
            return prefix + self._sha256(f"{digest}#{seen}".encode()).hexdigest()
        return prefix + digest
