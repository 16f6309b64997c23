"""What each report writes: the columns the parser reads, by report, and which are required.

Sources: the account-money and released-money glossaries (devsite-docs), MP's doc samples, and
the newer columns a production importer handles (research mp-wave2 §4.4, §4.5).
"""

from __future__ import annotations

from typing import Literal

ReportKind = Literal["settlement", "release"]

# Logical fields read from each row, in this order, by one itemgetter. The eight amounts are
# contiguous (AMOUNTS_AT); a field a report lacks reads as an empty string. Settlement's fee and
# net sit where release's credit and debit do: neither report has the other's.
FIELDS = (
    "source_id",
    "external_reference",
    "entry_type",
    "description",
    "gross",
    "fee_or_credit",
    "net_or_debit",
    "mp_fee",
    "financing_fee",
    "shipping_fee",
    "taxes",
    "coupon",
    "currency",
    "currency_fallback",
    "transaction_date",
    "settlement_date",
    "release_date",
    "installments",
    "payment_method",
    "payment_method_type",
    "order_id",
    "pack_id",
    "shipping_id",
)
_COMMON = {
    "source_id": "SOURCE_ID",
    "external_reference": "EXTERNAL_REFERENCE",
    "description": "DESCRIPTION",
    "financing_fee": "FINANCING_FEE_AMOUNT",
    "shipping_fee": "SHIPPING_FEE_AMOUNT",
    "taxes": "TAXES_AMOUNT",
    "coupon": "COUPON_AMOUNT",
    "installments": "INSTALLMENTS",
    "payment_method": "PAYMENT_METHOD",
    "payment_method_type": "PAYMENT_METHOD_TYPE",
    "order_id": "ORDER_ID",
    "pack_id": "PACK_ID",
    "shipping_id": "SHIPPING_ID",
}
COLUMNS: dict[ReportKind, dict[str, str]] = {
    "settlement": {
        **_COMMON,
        "entry_type": "TRANSACTION_TYPE",
        "gross": "TRANSACTION_AMOUNT",
        "fee_or_credit": "FEE_AMOUNT",
        "net_or_debit": "SETTLEMENT_NET_AMOUNT",
        "mp_fee": "MKP_FEE_AMOUNT",
        "currency": "SETTLEMENT_CURRENCY",
        "currency_fallback": "TRANSACTION_CURRENCY",
        "transaction_date": "TRANSACTION_DATE",
        "settlement_date": "SETTLEMENT_DATE",
        "release_date": "MONEY_RELEASE_DATE",
    },
    "release": {
        **_COMMON,
        "entry_type": "RECORD_TYPE",
        "gross": "GROSS_AMOUNT",
        "fee_or_credit": "NET_CREDIT_AMOUNT",
        "net_or_debit": "NET_DEBIT_AMOUNT",
        "mp_fee": "MP_FEE_AMOUNT",
        "currency": "CURRENCY",
        "transaction_date": "TRANSACTION_APPROVAL_DATE",
        "release_date": "DATE",
    },
}
# What the arithmetic and the identity cannot do without.
REQUIRED: dict[ReportKind, tuple[str, ...]] = {
    "settlement": (
        "SOURCE_ID",
        "TRANSACTION_TYPE",
        "TRANSACTION_DATE",
        "TRANSACTION_AMOUNT",
        "FEE_AMOUNT",
        "SETTLEMENT_NET_AMOUNT",
    ),
    "release": (
        "DATE",
        "SOURCE_ID",
        "RECORD_TYPE",
        "DESCRIPTION",
        "NET_CREDIT_AMOUNT",
        "NET_DEBIT_AMOUNT",
        "GROSS_AMOUNT",
    ),
}
# Columns only one report has: how a header tells which report it is.
SIGNATURE: dict[ReportKind, frozenset[str]] = {
    "settlement": frozenset({"TRANSACTION_TYPE", "SETTLEMENT_NET_AMOUNT", "FEE_AMOUNT"}),
    "release": frozenset({"RECORD_TYPE", "NET_CREDIT_AMOUNT", "NET_DEBIT_AMOUNT"}),
}
AMOUNTS_AT = slice(FIELDS.index("gross"), FIELDS.index("coupon") + 1)
KNOWN_COLUMNS = frozenset(name for columns in COLUMNS.values() for name in columns.values())
