"""`db copy`: every table of one store into another (SQLite -> PostgreSQL and back), in batches,
verifying row counts.

Nothing here knows a backend: rows travel in the neutral form `export_rows` gives and
`import_rows` takes, ids included (PostgreSQL's import_rows also moves its identity sequences
past the copied ids, so new rows never collide with them). Stop the workers first: a source that
changes during the copy is reported, not silently half-copied.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import DatabaseSettings
from .errors import StorageError, UsageError
from .store import open_store
from .store.base import PRIMARY_KEYS, TABLES, Store

DEFAULT_BATCH_SIZE = 500
# Meta rows that describe one database, not the shop's data: the target has its own schema
# version, and a run lock held in the source means nothing in the target.
_OWN_META_KEYS = ("schema_version",)
_RUNTIME_META_PREFIX = "lock:"

ProgressCallback = Callable[[int], None]


@dataclass(slots=True, frozen=True)
class TableCopy:
    table: str
    source_rows: int
    copied: int
    skipped: int  # rows the target already had (--force), or meta rows of the source's own
    target_rows: int


@dataclass(slots=True, frozen=True)
class CopyResult:
    source: str
    target: str
    tables: list[TableCopy] = field(default_factory=list)
    rows_copied: int = 0
    seconds: float = 0.0


def rows_to_copy(source: Store) -> int:
    """Rows the copy will read (a progress bar's total)."""
    return sum(source.count_rows(table) for table in TABLES)


def copy_database(
    source: Store,
    target_url: str,
    database: DatabaseSettings,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
) -> CopyResult:
    """Open (creating and migrating) the store at `target_url` and copy `source` into it."""
    target = open_store(
        target_url, busy_timeout_ms=database.busy_timeout_ms, pool_size=database.pool_size
    )
    try:
        return copy_store(
            source, target, batch_size=batch_size, force=force, on_progress=on_progress
        )
    finally:
        target.close()


def copy_store(
    source: Store,
    target: Store,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
) -> CopyResult:
    """Copy every table. Refuses a target that already holds rows unless `force`; with it, rows
    whose key the target already has are kept as they are and skipped (so an interrupted copy
    can be resumed). Raises StorageError if a table's count does not add up afterwards."""
    started = time.monotonic()
    source_info, target_info = source.info(), target.info()
    occupied = _occupied_tables(target_info.row_counts)
    if occupied and not force:
        raise UsageError(
            "error.copy_target_not_empty",
            hint_key="hint.copy_target_not_empty",
            target=target_info.location,
            tables=", ".join(f"{table} ({rows})" for table, rows in occupied.items()),
        )
    report = on_progress or (lambda rows: None)
    tables = [
        _copy_table(source, target, table, batch_size, target_info.row_counts.get(table, 0), report)
        for table in TABLES
    ]
    return CopyResult(
        source=source_info.location,
        target=target_info.location,
        tables=tables,
        rows_copied=sum(table.copied for table in tables),
        seconds=round(time.monotonic() - started, 3),
    )


def _occupied_tables(row_counts: dict[str, int]) -> dict[str, int]:
    """Tables holding rows, not counting the meta rows every new database has."""
    own = {"meta": len(_OWN_META_KEYS)}
    return {table: rows for table, rows in row_counts.items() if rows - own.get(table, 0) > 0}


def _copy_table(
    source: Store,
    target: Store,
    table: str,
    batch_size: int,
    target_before: int,
    report: ProgressCallback,
) -> TableCopy:
    present = _keys_of(target, table, batch_size) if target_before else set()
    exported = copied = 0
    for batch in source.export_rows(table, batch_size):
        rows = [row for row in batch if _wanted(table, row, present)]
        target.import_rows(table, rows)
        exported, copied = exported + len(batch), copied + len(rows)
        report(len(batch))
    source_rows, target_rows = source.count_rows(table), target.count_rows(table)
    if source_rows != exported:
        raise StorageError(
            "error.copy_source_changed", table=table, expected=exported, found=source_rows
        )
    if target_rows != target_before + copied:
        raise StorageError(
            "error.copy_count_mismatch",
            table=table,
            expected=target_before + copied,
            found=target_rows,
        )
    return TableCopy(table, source_rows, copied, exported - copied, target_rows)


def _keys_of(store: Store, table: str, batch_size: int) -> set[tuple[Any, ...]]:
    return {_key(table, row) for batch in store.export_rows(table, batch_size) for row in batch}


def _key(table: str, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[column] for column in PRIMARY_KEYS[table])


def _wanted(table: str, row: dict[str, Any], present: set[tuple[Any, ...]]) -> bool:
    if table == "meta" and (
        row["key"] in _OWN_META_KEYS or str(row["key"]).startswith(_RUNTIME_META_PREFIX)
    ):
        return False
    return _key(table, row) not in present
