"""`mpcheckout ingest PATH... | -`"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from ..errors import EXIT_DATA
from ..ingest import IngestSummary, SignaturePolicy, expand_paths, ingest_sources, require_secrets
from . import output
from .helptext import help_key as _
from .state import state_of


def register(app: typer.Typer) -> None:
    app.command("ingest", help=_("help.ingest"))(ingest)


def ingest(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help=_("help.arg.ingest_paths"), metavar="PATH...")],
    verify_signature: Annotated[
        bool, typer.Option("--verify-signature", help=_("help.opt.verify_signature"))
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    runtime = state.runtime
    policy = _policy(runtime) if verify_signature else None
    total = _total_bytes(paths)
    with output.byte_progress(state.t("progress.ingest"), total) as advance:
        summary = ingest_sources(
            runtime.store,
            paths,
            runtime.clock,
            stdin=sys.stdin.buffer,
            policy=policy,
            on_progress=advance,
        )
    _render(summary, state.t, json_output)
    if not summary.ok:
        raise typer.Exit(EXIT_DATA)


def _policy(runtime) -> SignaturePolicy:
    settings = runtime.settings.mercadopago
    secrets = require_secrets([secret.get_secret_value() for secret in settings.webhook_secrets])
    return SignaturePolicy(
        secrets=secrets,
        now=lambda: runtime.clock.now().timestamp(),
        tolerance_seconds=settings.signature_tolerance_seconds,
        accept_unsigned_ipn=runtime.settings.server.accept_unsigned_ipn,
    )


def _total_bytes(paths: list[str]) -> int | None:
    if "-" in paths:
        return None
    return sum(os.path.getsize(path) for path in expand_paths(paths))


def _render(summary: IngestSummary, t, json_output: bool) -> None:
    if json_output:
        output.emit_json(summary)
        return
    rows = [
        (t("ingest.sources"), summary.sources),
        (t("ingest.received"), summary.received),
        (t("ingest.queued"), summary.queued),
        (t("ingest.duplicates"), summary.duplicates),
        (t("ingest.invalid"), summary.invalid),
    ]
    if summary.rejected_signature:
        rows.append((t("ingest.rejected_signature"), summary.rejected_signature))
    output.show(output.pairs(t("ingest.title"), rows))
    for problem in summary.problems:
        output.notice(t("ingest.problem", problem=problem))
    if summary.invalid:
        output.notice(t("ingest.invalid_kept", count=summary.invalid))
