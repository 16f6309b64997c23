"""The README keeps up with the CLI: every command is documented and has help text, and every
exit code the code can return is in the table (sqlite-utils' tests/test_docs.py habit)."""

from __future__ import annotations

import re

import typer.main

from mpcheckout.cli import app
from mpcheckout.errors import EXIT_CODES
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def command_paths(command=None, prefix=()):
    command = command or typer.main.get_command(app)
    if not hasattr(command, "list_commands"):
        return
    context = click_context(command)
    for name in command.list_commands(context):
        sub = command.get_command(context, name)
        if sub.hidden:  # an alias (dlq): documented with what it aliases
            continue
        path = (*prefix, name)
        yield path, sub
        yield from command_paths(sub, path)


def click_context(command):
    return typer.Context(command)


def test_every_command_has_help_text():
    missing = [" ".join(path) for path, command in command_paths() if not command.help]
    assert not missing


def test_every_option_has_help_text():
    missing = []
    for path, command in command_paths():
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "help", None):
                missing.append(f"{' '.join(path)} {param.name}")
    assert not missing


def test_every_command_is_in_the_readme():
    documented = set(re.findall(r"`mpcheckout ([a-z][a-z -]*[a-z])", README))
    missing = []
    for path, command in command_paths():
        name = " ".join(path)
        if hasattr(command, "list_commands"):
            continue  # a group: its commands are checked
        if not any(entry == name or entry.startswith(name + " ") for entry in documented):
            missing.append(name)
    assert not missing


def test_every_exit_code_is_in_the_readme():
    for code in [*EXIT_CODES, 70]:
        assert re.search(rf"^\| {code} \|", README, re.M), code


def test_readme_test_command_is_what_ci_runs():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "python -m pytest" in README and ".venv/bin/python -m pytest" in ci
    assert ".venv/bin/pip install -e '.[test,bench]'" in README
    assert ".venv/bin/pip install --quiet -e '.[test,bench]'" in ci
