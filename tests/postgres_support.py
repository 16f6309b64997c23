"""PostgreSQL for the tests: one database per test run, one fresh schema per test.

The server comes from MPCHECKOUT_TEST_POSTGRES_URL (any database on it; the run creates
`mpcheckout_test_<random>` beside it and drops it when the session ends). Without the variable
the PostgreSQL tests skip with a reason, except in CI (CI=true), where they must run: a missing
variable or an unreachable server fails them (huey's silent skipIf is what we avoid).

A test gets its own schema through the URL (`options=-c search_path=...`), so the store, the CLI
and subprocess workers all see the same empty database without knowing about schemas.

Import the fixtures where they are needed, or once in tests/conftest.py.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from mpcheckout.config import redact_url

URL_VARIABLE = "MPCHECKOUT_TEST_POSTGRES_URL"
_schemas = itertools.count(1)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def server_url() -> str:
    """The configured server, or skip (outside CI) / fail (in CI) saying why."""
    url = os.environ.get(URL_VARIABLE)
    if url:
        return url
    if in_ci():
        pytest.fail(f"CI=true but {URL_VARIABLE} is not set: the PostgreSQL tests must run in CI")
    pytest.skip(f"{URL_VARIABLE} is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    option = "options=" + quote(f"-c search_path={schema}", safe="")
    query = f"{parts.query}&{option}" if parts.query else option
    return urlunsplit(parts._replace(query=query))


def admin_connection(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {redact_url(url)} is unreachable: {exc}")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """URL of a database created for this test run, dropped when the session ends."""
    url = server_url()
    name = f"mpcheckout_test_{secrets.token_hex(4)}"
    with admin_connection(url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield with_database(url, name)
    with admin_connection(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def new_schema(database_url: str) -> str:
    """A fresh, empty schema in the run's database; returns a URL that works inside it."""
    schema = f"t{next(_schemas)}_{secrets.token_hex(3)}"
    with admin_connection(database_url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return with_schema(database_url, schema)


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """A URL of an empty PostgreSQL database of this test's own (a schema of the run's
    database: the whole database goes when the session ends)."""
    return new_schema(postgres_database)


def count(url: str, query: str, *params: object) -> int:
    """One number from the database, read outside the store (as an operator's psql would)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchone()[0]
