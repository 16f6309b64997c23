"""The sandbox's resources as Mercado Pago's API writes them: every key its real answers carry
(sdk-java mocks payment_base, payment_search, merchant_order_base, preference_base; the
OpenAPI fixtures), nulls where real answers have nulls, amounts as JSON numbers, dates in UTC-4
with milliseconds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from .dates import mercadopago_datetime
from .money import json_number
from .state import (
    COLLECTOR_ID,
    Chargeback,
    MerchantOrder,
    Payment,
    Preference,
    Refund,
    SandboxState,
)

# currency -> (site id, checkout domain), for site_id and the init_point URLs.
SITES = {
    "ARS": ("MLA", "mercadopago.com.ar"),
    "BRL": ("MLB", "mercadopago.com.br"),
    "MXN": ("MLM", "mercadopago.com.mx"),
    "CLP": ("MLC", "mercadopago.cl"),
    "COP": ("MCO", "mercadopago.com.co"),
    "PEN": ("MPE", "mercadopago.com.pe"),
    "UYU": ("MLU", "mercadopago.com.uy"),
}
# Mercado Pago's processing fee, so net_received_amount differs from the amount as it does.
FEE_RATE = Decimal("0.0499")
_CENT = Decimal("0.01")
_PAID = frozenset({"approved", "authorized"})


def site_of(currency_id: str) -> tuple[str, str]:
    return SITES.get(currency_id, SITES["ARS"])


def payment_json(payment: Payment, state: SandboxState) -> dict[str, Any]:
    document = _payment_identity(payment) | _payment_amounts(payment) | _payment_constants()
    document["payer"] = _payer(payment)
    document["additional_info"] = _additional_info(payment, state)
    document["order"] = {"id": payment.merchant_order_id, "type": "mercadopago"}
    document["refunds"] = [refund_json(refund) for refund in payment.refunds]
    if payment.preference_id:
        document["preference_id"] = payment.preference_id
    return document


def _payment_identity(payment: Payment) -> dict[str, Any]:
    approved = payment.date_approved
    return {
        "id": payment.id,
        "date_created": mercadopago_datetime(payment.date_created),
        "date_approved": mercadopago_datetime(approved),
        "date_last_updated": mercadopago_datetime(payment.date_last_updated),
        "date_of_expiration": None,
        "money_release_date": mercadopago_datetime(approved) if approved else None,
        "money_release_status": "released" if payment.status == "approved" else None,
        "operation_type": "regular_payment",
        "issuer_id": "24" if payment.payment_type_id == "credit_card" else None,
        "payment_method_id": payment.payment_method_id,
        "payment_type_id": payment.payment_type_id,
        "status": payment.status,
        "status_detail": payment.status_detail,
        "currency_id": payment.currency_id,
        "description": payment.description,
        "live_mode": payment.live_mode,
        "collector_id": COLLECTOR_ID,
        "external_reference": payment.external_reference,
        "metadata": payment.metadata,
        "notification_url": payment.notification_url,
    }


def _money_received(payment: Payment) -> bool:
    """Mercado Pago charged its fee: the payment was captured and approved at some point. A
    refund or a chargeback later leaves fee and net_received_amount as they were (a real
    refunded payment keeps its net, research mp-wave2 §1.3); an authorization has neither."""
    return payment.captured and payment.date_approved is not None


def _payment_amounts(payment: Payment) -> dict[str, Any]:
    amount = payment.transaction_amount
    received = _money_received(payment)
    fee = (amount * FEE_RATE).quantize(_CENT) if received else Decimal(0)
    net = amount - fee if received else Decimal(0)
    return {
        "transaction_amount": json_number(amount),
        "transaction_amount_refunded": json_number(payment.refunded_amount),
        "coupon_amount": 0,
        "taxes_amount": 0,
        "shipping_amount": 0,
        "installments": 1,
        "transaction_details": {
            "payment_method_reference_id": None,
            "net_received_amount": json_number(net),
            "total_paid_amount": json_number(amount),
            "overpaid_amount": 0,
            "external_resource_url": None,
            "installment_amount": json_number(amount),
            "financial_institution": None,
            "payable_deferral_period": None,
            "acquirer_reference": None,
            "transaction_id": None,
            "bank_transfer_id": None,
        },
        "fee_details": (
            [{"type": "mercadopago_fee", "amount": json_number(fee), "fee_payer": "collector"}]
            if fee
            else []
        ),
        "captured": payment.captured,
    }


def _payment_constants() -> dict[str, Any]:
    return {
        "sponsor_id": None,
        "authorization_code": None,
        "money_release_schema": None,
        "counter_currency": None,
        "pos_id": None,
        "store_id": None,
        "integrator_id": None,
        "platform_id": None,
        "corporation_id": None,
        "marketplace_owner": None,
        "differential_pricing_id": None,
        "deduction_schema": None,
        "charges_details": [],
        "binary_mode": False,
        "call_for_authorize_id": None,
        "statement_descriptor": "MERCADOPAGO",
        "card": {},
        "processing_mode": "aggregator",
        "merchant_account_id": None,
        "merchant_number": None,
        "acquirer_reconciliation": [],
        "point_of_interaction": {},
        "shipping_cost": 0,
        "brand_id": None,
        "callback_url": None,
        "internal_metadata": None,
        "three_ds_info": None,
    }


def _payer(payment: Payment) -> dict[str, Any]:
    return {
        "type": None,
        "id": "128185910",
        "operator_id": None,
        "email": payment.payer_email,
        "identification": {"type": "DNI", "number": "32659430"},
        "phone": {"area_code": None, "number": None, "extension": None},
        "first_name": None,
        "last_name": None,
        "entity_type": None,
    }


def _additional_info(payment: Payment, state: SandboxState) -> dict[str, Any]:
    info: dict[str, Any] = {
        "authentication_code": None,
        "nsu_processadora": None,
        "available_balance": None,
    }
    preference = state.preferences.get(payment.preference_id or "")
    if preference:
        # Real answers carry item quantities and prices as strings here ("1", "100.0").
        info["items"] = [
            item | {"quantity": str(item["quantity"]), "unit_price": str(float(item["unit_price"]))}
            for item in preference.items
        ]
    return info


def refund_json(refund: Refund) -> dict[str, Any]:
    """A refund as POST/GET /v1/payments/{id}/refunds answer it: the keys of a real refund
    (research mp-wave2 §1.2), with objects where the reference example shows sloppy arrays."""
    return {
        "id": refund.id,
        "payment_id": refund.payment_id,
        "amount": json_number(refund.amount),
        "metadata": refund.metadata,
        "source": {"id": str(COLLECTOR_ID), "name": "sandbox", "type": "collector"},
        "date_created": mercadopago_datetime(refund.date_created),
        "unique_sequence_number": None,
        "refund_mode": "standard",
        "adjustment_amount": 0,
        "status": refund.status,
        "reason": None,
        "labels": [],
        "partition_details": [],
        "additional_data": None,
        "alternative_refund_mode": None,
        "amount_refunded_to_payer": None,
        "e2e_id": None,
        "expiration_date": None,
        "external_operations": [],
        "external_refund_id": None,
        "funder": None,
    }


def chargeback_json(chargeback: Chargeback) -> dict[str, Any]:
    """GET /v1/chargebacks/{id} in the documented shape (fixture
    chargeback-get-doc-example.json): the id a string, the payments a list of numbers."""
    return {
        "id": chargeback.id,
        "payments": [chargeback.payment_id],
        "currency": chargeback.currency_id,
        "amount": json_number(chargeback.amount),
        "reason": chargeback.reason,
        "coverage_applied": chargeback.coverage_applied,
        "coverage_elegible": chargeback.coverage_elegible,
        "documentation_required": chargeback.documentation_required,
        "documentation_status": chargeback.documentation_status,
        "documentation": [],
        "date_documentation_deadline": mercadopago_datetime(chargeback.date_documentation_deadline),
        "date_created": mercadopago_datetime(chargeback.date_created),
        "date_last_updated": mercadopago_datetime(chargeback.date_last_updated),
        "live_mode": False,
    }


def merchant_order_json(order: MerchantOrder, state: SandboxState) -> dict[str, Any]:
    payments = [state.payments[payment_id] for payment_id in order.payment_ids]
    preference = state.preferences.get(order.preference_id or "")
    total = preference.total if preference else sum_amounts(payments)
    paid = sum_amounts(p for p in payments if p.status in _PAID)
    refunded = sum((_reverted(p) for p in payments), Decimal(0))
    last_updated = max([order.date_created, *(p.date_last_updated for p in payments)])
    currency = payments[0].currency_id if payments else "ARS"
    return {
        "id": order.id,
        "status": _opened_or_closed(total, paid),
        "external_reference": order.external_reference,
        "preference_id": order.preference_id,
        "payments": [_order_payment(payment) for payment in payments],
        "shipments": [],
        "payouts": [],
        "collector": {"id": COLLECTOR_ID, "email": "", "nickname": "TESTSANDBOX"},
        "marketplace": "NONE",
        "notification_url": order.notification_url,
        "date_created": mercadopago_datetime(order.date_created),
        "last_updated": mercadopago_datetime(last_updated),
        "sponsor_id": None,
        "shipping_cost": 0,
        "total_amount": json_number(total),
        "site_id": site_of(currency)[0],
        "paid_amount": json_number(paid),
        "refunded_amount": json_number(refunded),
        "payer": None,
        "items": list(preference.items) if preference else [],
        "cancelled": False,
        "additional_info": "",
        "application_id": None,
        "order_status": _order_status(payments, total, paid, refunded),
    }


def merchant_order_status(order: MerchantOrder, state: SandboxState) -> str:
    """`opened` | `closed`, as merchant_order_json says."""
    payments = [state.payments[payment_id] for payment_id in order.payment_ids]
    preference = state.preferences.get(order.preference_id or "")
    total = preference.total if preference else sum_amounts(payments)
    return _opened_or_closed(total, sum_amounts(p for p in payments if p.status in _PAID))


def _opened_or_closed(total: Decimal, paid: Decimal) -> str:
    return "closed" if total and paid >= total else "opened"


def _reverted(payment: Payment) -> Decimal:
    """What went back to the payer: its refunds, or all of it after a chargeback."""
    if payment.status == "charged_back":
        return payment.transaction_amount
    return payment.refunded_amount


def sum_amounts(payments: Any) -> Decimal:
    return sum((payment.transaction_amount for payment in payments), Decimal(0))


def _order_payment(payment: Payment) -> dict[str, Any]:
    amount = json_number(payment.transaction_amount)
    return {
        "id": payment.id,
        "transaction_amount": amount,
        "total_paid_amount": amount,
        "shipping_cost": 0,
        "currency_id": payment.currency_id,
        "status": payment.status,
        "status_detail": payment.status_detail,
        "operation_type": "regular_payment",
        "date_approved": mercadopago_datetime(payment.date_approved),
        "date_created": mercadopago_datetime(payment.date_created),
        "last_modified": mercadopago_datetime(payment.date_last_updated),
        "amount_refunded": json_number(payment.refunded_amount),
    }


def _order_status(payments: list[Payment], total: Decimal, paid: Decimal, refunded: Decimal) -> str:
    """Mercado Pago's order_status values: paid, partially_paid, reverted, payment_in_process,
    payment_required."""
    if paid and paid >= total:
        return "paid"
    if paid:
        return "partially_paid"
    if refunded:
        return "reverted"
    if any(p.status in ("pending", "in_process") for p in payments):
        return "payment_in_process"
    return "payment_required"


def preference_json(preference: Preference, base_url: str) -> dict[str, Any]:
    """`init_point` keeps Mercado Pago's production address; `sandbox_init_point`, the one a
    test token's link opens, is this sandbox's own checkout page (`base_url`: where the sandbox
    was reached), where a person pays approved, rejected or pending."""
    site_id, domain = site_of(preference.currency_id)
    query = f"checkout/v1/redirect?pref_id={preference.id}"
    fields = preference.fields
    return _preference_defaults() | {
        "id": preference.id,
        "collector_id": COLLECTOR_ID,
        "date_created": mercadopago_datetime(preference.date_created),
        "init_point": f"https://www.{domain}/{query}",
        "sandbox_init_point": preference_checkout_url(base_url, preference.id),
        "items": [dict(item) for item in preference.items],
        "site_id": site_id,
        **fields,
        "back_urls": {"failure": "", "pending": "", "success": ""} | fields.get("back_urls", {}),
        "payer": _preference_payer() | fields.get("payer", {}),
    }


def preference_checkout_url(base_url: str, preference_id: str) -> str:
    return f"{base_url.rstrip('/')}/_sandbox/preferences/{quote(preference_id, safe='')}/checkout"


def _preference_defaults() -> dict[str, Any]:
    return {
        "additional_info": "",
        "auto_return": "",
        "binary_mode": False,
        "client_id": "6245132082630004",
        "coupon_code": None,
        "coupon_labels": None,
        "date_of_expiration": None,
        "expiration_date_from": None,
        "expiration_date_to": None,
        "expires": False,
        "external_reference": "",
        "internal_metadata": None,
        "marketplace": "NONE",
        "marketplace_fee": 0,
        "metadata": {},
        "notification_url": None,
        "operation_type": "regular_payment",
        "payment_methods": {
            "default_card_id": None,
            "default_payment_method_id": None,
            "excluded_payment_methods": [{"id": ""}],
            "excluded_payment_types": [{"id": ""}],
            "installments": None,
            "default_installments": None,
        },
        "processing_modes": None,
        "product_id": None,
        "redirect_urls": {"failure": "", "pending": "", "success": ""},
        "shipments": {"default_shipping_method": None, "receiver_address": {}},
        "statement_descriptor": None,
        # Real answers leave total_amount and last_updated null (sdk-java preference_base).
        "total_amount": None,
        "last_updated": None,
    }


def _preference_payer() -> dict[str, Any]:
    return {
        "phone": {"area_code": "", "number": ""},
        "address": {"zip_code": "", "street_name": "", "street_number": None},
        "email": "",
        "identification": {"number": "", "type": ""},
        "name": "",
        "surname": "",
        "date_created": None,
        "last_purchase": None,
    }
