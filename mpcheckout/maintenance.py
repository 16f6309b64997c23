"""Services behind `init`, `config show` and `db upgrade|info`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .config import DEFAULT_CONFIG_FILE, LoadedSettings, display_value, iter_leaves
from .errors import UsageError
from .store.base import Store, StoreInfo
from .store.migrate import latest_version


@dataclass(slots=True, frozen=True)
class SettingRow:
    key: str
    value: Any
    source: str


@dataclass(slots=True, frozen=True)
class EffectiveSettings:
    config_file: str | None
    settings: list[SettingRow]


def effective_settings(loaded: LoadedSettings) -> EffectiveSettings:
    """Every setting with where it came from; secrets masked, URL passwords hidden."""
    rows = [
        SettingRow(key, display_value(key, value), loaded.sources[key])
        for key, value in iter_leaves(loaded.settings)
    ]
    path = str(loaded.config_path) if loaded.config_path else None
    return EffectiveSettings(path, rows)


@dataclass(slots=True, frozen=True)
class DatabaseInfo:
    backend: str
    location: str
    schema_version: int
    latest_version: int
    size_bytes: int | None
    row_counts: dict[str, int]


def describe_database(store: Store) -> DatabaseInfo:
    info: StoreInfo = store.info()
    return DatabaseInfo(
        backend=info.backend,
        location=info.location,
        schema_version=info.schema_version,
        latest_version=latest_version(info.backend),
        size_bytes=info.size_bytes,
        row_counts=info.row_counts,
    )


@dataclass(slots=True, frozen=True)
class UpgradeResult:
    location: str
    before: int
    after: int


def upgrade_database(store: Store) -> UpgradeResult:
    before = store.schema_version()
    after = store.upgrade()
    return UpgradeResult(store.info().location, before, after)


@dataclass(slots=True, frozen=True)
class InitResult:
    config_file: str
    config_written: bool
    database: str
    schema_version: int


def example_config() -> str:
    """config.example.toml: packaged in the wheel, or beside the package in a source tree."""
    packaged = resources.files("mpcheckout").joinpath("config.example.toml")
    if packaged.is_file():
        return packaged.read_text("utf-8")
    return (Path(__file__).resolve().parent.parent / "config.example.toml").read_text("utf-8")


def write_example_config(directory: Path, force: bool) -> tuple[Path, bool]:
    """Write ./mpcheckout.toml (mode 0600: it may come to hold secrets) unless one exists."""
    target = directory / DEFAULT_CONFIG_FILE
    if target.exists() and not force:
        return target, False
    if target.exists() and not target.is_file():
        raise UsageError("error.config_target_not_file", path=str(target))
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(example_config())
    return target, True


def init_workspace(directory: Path, open_store: Callable[[], Store], force: bool) -> InitResult:
    """Write ./mpcheckout.toml from the example, then create (or upgrade) the database."""
    target, written = write_example_config(directory, force)
    store = open_store()
    try:
        info = store.info()
    finally:
        store.close()
    return InitResult(str(target), written, info.location, info.schema_version)


def ready(store: Store) -> int:
    """The schema version, read through the store: proves the database answers."""
    return store.schema_version()
