"""`mpcheckout payments refund ID [--amount X] | cancel ID | capture ID [--amount X]`"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..actions import (
    ActionRequest,
    ActionResult,
    PreparedAction,
    execute_action,
    needs_confirmation,
    parse_amount,
    prepare_action,
)
from ..errors import UsageError
from ..i18n import Translator
from ..models import ActionKind
from . import output
from .helptext import help_key as _
from .state import state_of

payments_app = typer.Typer(help=_("help.payments"), no_args_is_help=True)
PaymentId = Annotated[str, typer.Argument(help=_("help.arg.payment_id"), metavar="ID")]
Amount = Annotated[str | None, typer.Option("--amount", help=_("help.opt.action_amount"))]
Yes = Annotated[bool, typer.Option("--yes", "-y", help=_("help.opt.action_yes"))]
JsonOption = Annotated[bool, typer.Option("--json", help=_("help.opt.json"))]


def register(app: typer.Typer) -> None:
    app.add_typer(payments_app, name="payments")


@payments_app.command("refund", help=_("help.payments_refund"))
def refund_command(
    ctx: typer.Context,
    payment_id: PaymentId,
    amount: Amount = None,
    yes: Yes = False,
    json_output: JsonOption = False,
) -> None:
    _run(ctx, "refund", payment_id, amount, yes, json_output)


@payments_app.command("cancel", help=_("help.payments_cancel"))
def cancel_command(
    ctx: typer.Context, payment_id: PaymentId, yes: Yes = False, json_output: JsonOption = False
) -> None:
    _run(ctx, "cancel", payment_id, None, yes, json_output)


@payments_app.command("capture", help=_("help.payments_capture"))
def capture_command(
    ctx: typer.Context,
    payment_id: PaymentId,
    amount: Amount = None,
    yes: Yes = False,
    json_output: JsonOption = False,
) -> None:
    _run(ctx, "capture", payment_id, amount, yes, json_output)


def _run(
    ctx: typer.Context,
    kind: ActionKind,
    payment_id: str,
    amount: str | None,
    yes: bool,
    json_output: bool,
) -> None:
    state = state_of(ctx)
    runtime, t = state.runtime, state.t
    request = ActionRequest(kind, payment_id, parse_amount(amount))
    prepared = prepare_action(runtime.store, runtime.gateway, request, runtime.clock.now())
    if prepared.resend:
        output.notice(t("payments.resending", kind=kind))
    if prepared.plan.warning is not None:
        output.notice(t(prepared.plan.warning.message_key, **prepared.plan.warning.params))
    threshold = runtime.settings.actions.confirm_above
    if not yes and needs_confirmation(prepared.plan, threshold):
        _confirm(t, prepared)
    result = execute_action(runtime.store, runtime.gateway, prepared, runtime.clock.now())
    if json_output:
        output.emit_json(action_document(result))
        return
    output.show(render_action(result, t))


def _confirm(t: Translator, prepared: PreparedAction) -> None:
    plan = prepared.plan
    amount = output.money(plan.effective_amount, plan.currency)
    question = t(f"payments.confirm_{plan.kind}", amount=amount, payment_id=plan.payment_id)
    if not sys.stdin.isatty():
        raise UsageError("payments.needs_yes", question=question)
    if not typer.confirm(question, err=True):
        raise typer.Abort()


def action_document(result: ActionResult) -> dict[str, object]:
    """Stable keys for scripts."""
    payment = result.payment
    return {
        "action": result.plan.kind,
        "payment_id": result.plan.payment_id,
        "order_id": result.plan.order_id,
        "amount": result.plan.effective_amount,
        "currency": result.plan.currency,
        "idempotency_key": result.plan.key,
        "resent": result.resent,
        "result_id": result.result_id,
        "payment": {
            "status": payment.status,
            "status_detail": payment.status_detail,
            "amount": payment.amount,
            "refunded": payment.refunded_amount,
        },
        "applied": result.applied,
    }


def render_action(result: ActionResult, t: Translator) -> object:
    plan, payment = result.plan, result.payment
    title = t(f"payments.done_{plan.kind}", payment_id=plan.payment_id)
    rows = [
        (t("col.order"), plan.order_id),
        (t("col.amount"), output.money(plan.effective_amount, plan.currency)),
        (t("payments.result_id"), result.result_id),
        (t("col.status"), f"{payment.status}/{payment.status_detail or '-'}"),
        (t("payments.refunded"), output.money(payment.refunded_amount, plan.currency)),
        (t("payments.resent"), t("payments.yes") if result.resent else t("payments.no")),
    ]
    return output.pairs(title, rows)
