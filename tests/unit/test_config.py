import tomllib
from pathlib import Path

import pytest
from pydantic import SecretStr

from mpcheckout.config import (
    Settings,
    display_value,
    iter_leaves,
    load_settings,
    mask_secret,
    redact_url,
)
from mpcheckout.errors import EXIT_CONFIG, ConfigurationError
from tests.conftest import REPO_ROOT


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_without_any_file(workdir):
    loaded = load_settings(environ={})
    assert loaded.settings.database.url == "mpcheckout.db"
    assert loaded.config_path is None
    assert set(loaded.sources.values()) == {"default"}


def test_precedence_is_cli_then_env_then_file_then_default(workdir):
    write(workdir / "mpcheckout.toml", '[database]\nurl = "file.db"\n[queue]\nbatch_size = 7\n')
    env = {"MPCHECKOUT_DATABASE__URL": "env.db", "MPCHECKOUT_QUEUE__CONCURRENCY": "3"}
    loaded = load_settings(environ=env, overrides={"database.url": "cli.db"})
    assert loaded.settings.database.url == "cli.db"
    assert loaded.settings.queue.concurrency == 3
    assert loaded.settings.queue.batch_size == 7
    assert loaded.sources["database.url"] == "cli"
    assert loaded.sources["queue.concurrency"] == "env"
    assert loaded.sources["queue.batch_size"] == "file"
    assert loaded.sources["queue.lease_seconds"] == "default"


def test_lists_come_from_env_as_commas_or_json(workdir):
    env = {
        "MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS": "one,two",
        "MPCHECKOUT_QUEUE__RETRY_SCHEDULE_MINUTES": "[1, 5]",
    }
    settings = load_settings(environ=env).settings
    assert [s.get_secret_value() for s in settings.mercadopago.webhook_secrets] == ["one", "two"]
    assert settings.queue.retry_schedule_minutes == [1, 5]


def test_unknown_key_names_the_key_and_the_file(workdir):
    path = write(workdir / "custom.toml", "[queue]\nbatch_sise = 5\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path, environ={})
    assert caught.value.params == {"key": "queue.batch_sise", "origin": str(path)}
    assert caught.value.exit_code == EXIT_CONFIG


def test_wrong_type_names_the_key_and_the_file(workdir):
    path = write(workdir / "mpcheckout.toml", '[queue]\nbatch_size = "many"\n')
    with pytest.raises(ConfigurationError) as caught:
        load_settings(environ={})
    assert caught.value.message_key == "error.config_bad_value"
    assert caught.value.params["key"] == "queue.batch_size"
    assert caught.value.params["origin"] == "mpcheckout.toml" or path.name in str(
        caught.value.params["origin"]
    )


def test_wrong_type_from_the_environment_names_the_variable(workdir):
    with pytest.raises(ConfigurationError) as caught:
        load_settings(environ={"MPCHECKOUT_QUEUE__LEASE_SECONDS": "soon"})
    assert caught.value.params["origin"] == "$MPCHECKOUT_QUEUE__LEASE_SECONDS"


def test_broken_toml_and_missing_file_are_configuration_errors(workdir):
    write(workdir / "bad.toml", "[queue\n")
    with pytest.raises(ConfigurationError, match="config_syntax"):
        load_settings(workdir / "bad.toml", environ={})
    with pytest.raises(ConfigurationError, match="config_missing"):
        load_settings(workdir / "absent.toml", environ={})


def test_unknown_locale_is_refused(workdir):
    with pytest.raises(ConfigurationError):
        load_settings(environ={"MPCHECKOUT_LOCALE": "klingon"})


def test_secrets_are_masked_like_mercado_pago_dashboards():
    token = "APP_USR-1234567890123456-112233-abcdef0123456789-a1b2"
    assert mask_secret(SecretStr(token)) == "APP_USR-…a1b2"
    assert mask_secret("short") == "…"
    assert mask_secret("no-dash-at-all-in-the-first-part".replace("-", "")) == "…part"
    assert "hunter2" not in repr(Settings(mercadopago={"access_token": "hunter2"}))


def test_database_url_passwords_are_hidden():
    assert redact_url("postgresql://shop:s3cret@db:5432/mp") == "postgresql://shop:…@db:5432/mp"
    assert display_value("database.url", "postgresql://db/mp") == "postgresql://db/mp"


def test_the_example_file_documents_every_setting_and_loads_cleanly(workdir):
    example = REPO_ROOT / "config.example.toml"
    documented = example.read_text()
    for key, value in iter_leaves(Settings()):
        _section, _, leaf = key.rpartition(".")
        documented_as = f"[{key}." if isinstance(value, dict) else f"{leaf} ="
        assert documented_as in documented, f"{key} missing from config.example.toml"
    tomllib.loads(documented)
    loaded = load_settings(example, environ={})
    assert loaded.settings.model_dump() == load_settings(environ={}).settings.model_dump()
