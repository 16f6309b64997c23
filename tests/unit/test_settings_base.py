"""The settings' own check against pydantic, its reference: whatever the check takes must come
out as pydantic makes it, and whatever it declines pydantic decides, errors included. Each value
below goes into every field of every section, through `Settings.model_validate` and through the
pydantic model built from the same declarations."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import pydantic
import pytest

from mpcheckout import settings_base
from mpcheckout.config import QueueSettings, RouteLimit, SecretStr, Section, Settings
from mpcheckout.settings_base import REFUSED, reference_model

VALUES: list[Any] = [
    *("5", " 5", "5.5", "abc", "", "-1", "0", "1e3", "007", "5_0", "1.50", "1.", ".5", "inf"),
    *("true", "True", "yes", "1", "preferences", "orders", "Orders", "es", "pt_BR", "klingon"),
    *("x", "ab", "a,b", " a , ,b ", "[1,2]", "[bad", '["x"]', b"x", ("a",)),
    *(None, [], [1], [0], [1.5, "2"], ["a", "b"], {}, {"limit": 3}, {"x": 5}),
    *(5, 5.0, 5.5, True, False, 0, -1, 1023, 1024, 65535, 65536, 10**6, 10**20, 2**60),
    *(Decimal("1.50"), Decimal("NaN"), float("inf"), float("nan")),
    {"bad_signature": {"limit": 3, "window_seconds": 9}},
    {"x": {"limit": 0}},
]


def sections() -> list[tuple[str, type[Section]]]:
    return [(name, kind) for name, kind in Settings.__field_types__.items() if name != "locale"]


def inputs() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [{"locale": value} for value in VALUES]
    for name, section in sections():
        cases += [{name: {field: value}} for field in section.__field_types__ for value in VALUES]
        cases += [{name: value} for value in VALUES]
        cases.append({name: {"unknown": 1}})
    return cases


def plain(value: Any) -> Any:
    """Values with their types, secrets opened, so that 5 and 5.0 differ."""
    if hasattr(value, "get_secret_value"):
        return ("secret", value.get_secret_value())
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return (type(value).__name__, repr(value))


def outcome(validate: Any, data: dict[str, Any]) -> Any:
    try:
        return ("made", plain(validate(data).model_dump()))
    except pydantic.ValidationError as exc:
        return ("refused", str(exc))


def test_every_value_comes_out_as_pydantic_makes_it_or_is_refused_as_it_refuses():
    reference = reference_model(Settings)
    differences = [
        data
        for data in inputs()
        if outcome(Settings.model_validate, data) != outcome(reference.model_validate, data)
    ]
    assert differences == []


def test_the_check_itself_takes_the_values_a_config_file_and_the_environment_carry():
    typical = {
        "locale": "pt",
        "database": {"url": "shop.db", "busy_timeout_ms": "9000"},
        "mercadopago": {"access_token": "APP_USR-1", "webhook_secrets": "one,two"},
        "queue": {"retry_schedule_minutes": "[1, 5]", "retry_jitter": "0.25"},
        "reconcile": {"orders": "false", "budget_seconds": 60},
        "server": {"port": 9000, "rate_limits": {"x": {"limit": 2}}, "ip_allowlist": ["a"]},
        "actions": {"confirm_above": "100.50"},
        "checkout": {"api": "orders"},
    }
    made = settings_base._accept_section(Settings, typical)
    assert made is not REFUSED
    assert plain(made.model_dump()) == plain(reference_model(Settings)(**typical).model_dump())


def test_an_invalid_value_raises_pydantics_own_error_with_its_location():
    with pytest.raises(pydantic.ValidationError) as caught:
        Settings.model_validate({"queue": {"batch_size": 0}})
    assert caught.value.errors()[0]["loc"] == ("queue", "batch_size")
    with pytest.raises(pydantic.ValidationError):
        QueueSettings(batch_size="many")  # type: ignore[arg-type]


def test_defaults_stay_as_declared_and_given_sections_are_kept():
    limit = RouteLimit(limit=3)
    settings = Settings(server={"ui_login_limit": limit, "port": "80"})  # type: ignore[arg-type]
    assert settings.server.ui_login_limit is limit
    assert settings.server.port == 80
    assert repr(settings.reconcile.budget_seconds) == "300"  # as pydantic leaves a default


def test_secrets_never_show_and_compare_by_value():
    secret = SecretStr("hunter2")
    assert "hunter2" not in repr(secret) + str(secret)
    assert repr(secret) == repr(pydantic.SecretStr("hunter2"))
    assert secret == SecretStr("hunter2") and secret != SecretStr("other")
    settings = Settings(mercadopago={"webhook_secrets": "hunter2"})  # type: ignore[arg-type]
    assert "hunter2" not in repr(settings)


def test_loading_settings_the_usual_way_does_not_import_pydantic(workdir):
    (workdir / "mpcheckout.toml").write_text("[queue]\nbatch_size = 7\n[server]\nport = 9\n")
    script = (
        "import sys\nfrom mpcheckout.config import load_settings\n"
        "load_settings(environ={'MPCHECKOUT_QUEUE__CONCURRENCY': '3'})\n"
        "print(sorted(m for m in sys.modules if m.startswith('pydantic')))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=workdir, capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"
