"""open_store(url): the one place that knows which backend a URL selects."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigurationError
from .base import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_postgres_url(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def sqlite_path(url: str) -> Path:
    """`sqlite:///abs/path`, `sqlite:///rel` or a bare path -> Path."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///") or "mpcheckout.db")
    if url.startswith("sqlite://"):
        raise ConfigurationError("error.bad_database_url", url=url)
    return Path(url)


def open_store(
    url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 8, migrate: bool = True
) -> Store:
    """Open the store a URL names; apply pending migrations unless `migrate` is False (a
    database newer than the code is refused either way)."""
    if is_postgres_url(url):
        from .postgres import open_postgres

        return open_postgres(url, pool_size=pool_size, migrate=migrate)
    if "://" in url and not url.startswith("sqlite:"):
        raise ConfigurationError("error.bad_database_url", url=url)
    from .sqlite import open_sqlite

    return open_sqlite(sqlite_path(url), busy_timeout_ms=busy_timeout_ms, migrate=migrate)
