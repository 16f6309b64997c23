"""Every dialect folder carries the same migration numbers (store/migrate.py): a migration added
for one backend only would leave the other's schema behind at the same version number."""

from __future__ import annotations

from pathlib import Path

import mpcheckout.store
from mpcheckout.store.migrate import migrations

FOLDER = Path(mpcheckout.store.__file__).parent / "migrations"


def test_every_file_in_a_migration_folder_is_a_numbered_migration():
    for dialect in ("sqlite", "postgres"):
        files = sorted(path.name for path in (FOLDER / dialect).iterdir() if path.is_file())
        named = sorted(f"{m.version:04d}_{m.name}.sql" for m in migrations(dialect))
        assert files == named, dialect


def test_sqlite_and_postgres_carry_the_same_migration_numbers():
    numbers = {
        dialect: [m.version for m in migrations(dialect)] for dialect in ("sqlite", "postgres")
    }
    assert numbers["sqlite"] == numbers["postgres"]
    assert numbers["sqlite"] == list(range(1, len(numbers["sqlite"]) + 1))  # no gap, no repeat
