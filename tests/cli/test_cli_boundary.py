"""The CLI's edges: its error boundary (users get a line, tests get the traceback), the
language of Typer's own help, what a command imports, and a reader that goes away (`| head`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from mpcheckout.cli import COMMANDS, RAISE_UNEXPECTED_ENV, AppGroup, _load_command

HEAVY = ("mercadopago", "uvicorn", "starlette", "httpx", "pydantic_settings")


def failing_cli() -> typer.Typer:
    """A command with a bug, under the project's error boundary."""
    app = typer.Typer(cls=AppGroup, pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """mpcheckout"""

    @app.command("explode")
    def explode(
        note: Annotated[str, typer.Option("--note")] = "",
        json_output: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        raise RuntimeError("a bug")

    return app


def test_under_the_test_suite_a_bug_surfaces_with_its_traceback(workdir):
    assert os.environ[RAISE_UNEXPECTED_ENV] == "1"  # set by the workdir fixture
    with pytest.raises(RuntimeError, match="a bug"):
        CliRunner().invoke(failing_cli(), ["explode"], catch_exceptions=False)


def test_for_users_a_bug_is_one_line_and_exit_70(workdir, monkeypatch):
    monkeypatch.delenv(RAISE_UNEXPECTED_ENV)
    result = CliRunner().invoke(failing_cli(), ["explode"], catch_exceptions=False)
    assert result.exit_code == 70
    assert result.stdout == ""
    assert result.stderr.count("\n") <= 2 and "Traceback" not in result.stderr


def test_json_errors_follow_the_parsed_flag_not_the_raw_arguments(workdir, monkeypatch):
    monkeypatch.delenv(RAISE_UNEXPECTED_ENV)
    runner = CliRunner()
    result = runner.invoke(failing_cli(), ["explode", "--json"], catch_exceptions=False)
    assert json.loads(result.stdout)["error"]["code"] == "internal_error"
    # "--json" here is the value of --note: the error is a line of prose, not a document.
    result = runner.invoke(failing_cli(), ["explode", "--note", "--json"], catch_exceptions=False)
    assert result.exit_code == 70 and result.stdout == ""


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_root_help_lists_each_command_with_its_own_help(name):
    assert _load_command(name).help == COMMANDS[name][1]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("es", ["Muestra este mensaje y termina.", "Opciones", "Comandos", "Instala el"]),
        ("en", ["Show this message and exit.", "Options", "Commands", "Install completion"]),
        ("pt", ["Mostra esta mensagem e sai.", "Opções", "Comandos", "Instala o autocompletar"]),
    ],
)
def test_typers_own_help_is_in_the_chosen_language(cli, workdir, lang, expected):
    result = cli("--lang", lang, "--help")
    for text in expected:
        assert text in result.stdout, (lang, text)
    assert "help." not in result.stdout  # no untranslated key
    events = cli("--lang", lang, "events", "list", "--help")
    assert expected[0] in events.stdout and "help." not in events.stdout


def imported_by(*args: str, cwd: Path) -> set[str]:
    script = (
        "import sys\nfrom mpcheckout.cli import main\n"
        f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, check=False
    )
    return set(completed.stderr.strip().splitlines()[-1].split())


def test_a_command_imports_only_what_it_uses(workdir):
    for args in (["--help"], ["status", "--json"], ["events", "list", "--json"]):
        modules = imported_by(*args, cwd=workdir)
        assert not {name for name in modules if name.split(".")[0] in HEAVY}, args
        assert not any(name.startswith("mpcheckout.cli.") and "serve" in name for name in modules)
    assert "rich.console" not in imported_by("status", "--json", cwd=workdir)
    assert "pydantic" not in imported_by("--version", cwd=workdir)


def test_a_command_that_shows_no_text_converts_no_option_and_reads_no_catalog(workdir):
    # typer._adapters is where Typer builds a pydantic TypeAdapter per option; tomllib is
    # what a catalog (or a config file, absent here) is read with.
    for args in (["--db", "x.db", "status", "--json"], ["events", "list", "--json"]):
        modules = imported_by(*args, cwd=workdir)
        assert not {"typer._adapters", "tomllib"} & modules, args


def rendered(args: list[str], cwd: Path, *, preload: str = "") -> tuple[int, str, str]:
    """What `mpcheckout ARGS` prints, in a fresh interpreter that first imports `preload`."""
    script = f"{preload}\nfrom mpcheckout.cli import main\nmain({args!r})\n"
    environment = {**os.environ, "COLUMNS": "100", "TERM": "dumb"}
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, env=environment, capture_output=True, text=True
    )
    return completed.returncode, completed.stdout, completed.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--lang", "es", "--help"],
        ["--lang", "pt", "events", "list", "--help"],
        ["--lang", "en", "events", "list", "--limit", "two"],
    ],
)
def test_help_and_usage_errors_read_the_same_without_markdown_and_tracebacks(workdir, args):
    lean = rendered(args, workdir)
    assert lean[1] + lean[2]
    # With rich.markdown and rich.traceback loaded first, Typer's renderer gets the real ones.
    assert lean == rendered(args, workdir, preload="import rich.markdown, rich.traceback")
    unused = ("markdown_it", "pygments", "rich.markdown", "rich.traceback", "rich.syntax")
    assert not {name for name in imported_by(*args, cwd=workdir) if name.startswith(unused)}


def test_options_that_need_converting_still_go_through_typer(cli, workdir):
    cli("ingest", "-", input=lines(3))
    _, listed = cli.json("--lang", "EN", "events", "list", "--limit", "2")
    assert [event["id"] for event in listed["events"]] == [3, 2]
    bad = cli("events", "list", "--limit", "two")
    assert bad.exit_code == 64 and "'--limit'" in bad.stderr and "integer" in bad.stderr
    missing = cli("dead-letters", "discard", "1")
    assert missing.exit_code == 64 and "--note" in missing.stderr


def lines(count: int) -> str:
    body = {"type": "payment", "action": "payment.updated", "api_version": "v1"}
    return "".join(
        json.dumps({**body, "id": 10_000 + n, "data": {"id": str(20_000 + n)}}) + "\n"
        for n in range(count)
    )


@pytest.mark.parametrize("json_flag", [["--json"], []])
def test_a_reader_that_goes_away_ends_the_command_quietly(workdir, json_flag):
    (workdir / "events.jsonl").write_text(lines(3000))
    mpcheckout = f"{sys.executable} -m mpcheckout"
    subprocess.run([*mpcheckout.split(), "ingest", "events.jsonl"], cwd=workdir, check=True)
    command = f"{mpcheckout} events list --limit 3000 {' '.join(json_flag)}"
    # `head -1` reads a little and leaves; `true` leaves before the first byte, so the
    # command surely writes into a closed pipe.
    for reader, lines_read in (("head -1", 1), ("true", 0)):
        script = f'{command} | {reader}; echo "status ${{PIPESTATUS[0]}}" >&2'
        pipeline = subprocess.run(
            ["bash", "-c", script], cwd=workdir, capture_output=True, text=True, check=True
        )
        assert pipeline.stdout.count("\n") == lines_read
        assert pipeline.stderr.splitlines()[-1] in ("status 0", "status 141"), reader
        assert pipeline.stderr.splitlines()[:-1] == [], reader  # no traceback, no "Error:"
