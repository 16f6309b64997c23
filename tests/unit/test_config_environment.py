"""The settings read MPCHECKOUT_* variables themselves (pydantic-settings costs every command
~90 ms to import); pydantic-settings stays the reference. Each environment below goes through
both paths and must come out the same, as values and as the loaded settings."""

from __future__ import annotations

import pytest

from mpcheckout import config
from mpcheckout.config import load_settings

PLAIN_ENVIRONMENTS = [
    {},
    {"MPCHECKOUT_LOCALE": "en"},
    {"MPCHECKOUT_DATABASE__URL": "env.db", "MPCHECKOUT_QUEUE__CONCURRENCY": "3"},
    {"mpcheckout_database__url": "lower.db", "MpCheckout_Queue__Lease_Seconds": "60"},
    {"MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS": "one,two", "MPCHECKOUT_SERVER__PORT": "9"},
    {"MPCHECKOUT_QUEUE__RETRY_SCHEDULE_MINUTES": "[1, 5]"},
    {"MPCHECKOUT_SERVER__IP_ALLOWLIST": "10.0.0.1, 10.0.0.2", "MPCHECKOUT_ALERTS__COMMAND": ""},
    {"MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN": "APP_USR-1", "MPCHECKOUT_TEST_POSTGRES_URL": "x"},
    {"MPCHECKOUT_UNRELATED": "1", "MPCHECKOUT_NOPE__DEEPER": "2", "HOME": "/root"},
]

DELEGATED_ENVIRONMENTS = [
    {"MPCHECKOUT_DATABASE": '{"url": "json.db", "busy_timeout_ms": 10}'},
    {"MPCHECKOUT_SERVER__RATE_LIMITS": '{"bad_signature": {"limit": 3, "window_seconds": 9}}'},
    {"MPCHECKOUT_SERVER__RATE_LIMITS__BAD_SIGNATURE__LIMIT": "4"},
    {"MPCHECKOUT_DATABASE__URLX": "typo.db"},
]


@pytest.mark.parametrize("environ", PLAIN_ENVIRONMENTS)
def test_plain_variables_are_read_as_pydantic_settings_reads_them(environ, workdir):
    ours = config._environment_values(environ)
    reference = config._environment_values_by_pydantic_settings(environ)
    assert ours == reference
    assert _loaded(environ) == _loaded(environ, via_reference=True)


@pytest.mark.parametrize("environ", DELEGATED_ENVIRONMENTS)
def test_anything_else_goes_through_pydantic_settings(environ, workdir):
    assert config._environment_values(environ) == (
        config._environment_values_by_pydantic_settings(environ)
    )
    for name in environ:
        assert config._plain_place(name.lower().removeprefix("mpcheckout_")) is (
            config._UNSUPPORTED
        )


def test_a_json_section_and_a_plain_variable_together_merge_like_pydantic_settings(workdir):
    environ = {"MPCHECKOUT_DATABASE": '{"url": "json.db"}', "MPCHECKOUT_DATABASE__POOL_SIZE": "2"}
    settings = load_settings(environ=environ).settings
    assert (settings.database.url, settings.database.pool_size) == ("json.db", 2)


def _loaded(environ, *, via_reference=False):
    if via_reference:
        values = config._environment_values_by_pydantic_settings(environ)
        return config.Settings.model_validate(values).model_dump()
    return load_settings(environ=environ).settings.model_dump()
