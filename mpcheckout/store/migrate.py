"""Numbered, forward-only migrations: `migrations/<dialect>/NNNN_name.sql`, the same numbers in
every dialect folder. Each backend applies a pending file together with its version record in
one transaction."""

from __future__ import annotations

import re
from importlib import resources

from ..records import record

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@record(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """All migrations of a dialect, in version order."""
    folder = resources.files(__package__).joinpath("migrations", dialect)
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    return sorted(found, key=lambda migration: migration.version)


def latest_version(dialect: str) -> int:
    known = migrations(dialect)
    return known[-1].version if known else 0


def split_statements(sql: str) -> list[str]:
    """Split a migration on `;` at line ends, dropping comments (our DDL has no `;` in strings).
    A trigger's body holds statements of its own: it ends at a line that is `END;`."""
    statements: list[str] = []
    current: list[str] = []
    for line in sql.splitlines():
        if line.lstrip().startswith("--") or not (current or line.strip()):
            continue
        current.append(line)
        in_trigger = current[0].lstrip().upper().startswith("CREATE TRIGGER")
        ends = line.strip().upper() == "END;" if in_trigger else line.rstrip().endswith(";")
        if ends:
            statements.append("\n".join(current).strip())
            current = []
    rest = "\n".join(current).strip()
    return [s for s in [*statements, rest] if s.rstrip(";").strip()]
