"""Settings: defaults < `mpcheckout.toml` (or `--config PATH`) < `MPCHECKOUT_*` env < CLI flags.

The sections are frozen dataclasses (settings_base.py says why and how they are checked). Secrets
are `SecretStr` so that no repr, log line or traceback shows them; `config show` masks them with
`mask_secret`. `config.example.toml` documents every field declared here, and a test
keeps the two in step.
"""

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigurationError
from .settings_base import (
    Bounds,
    Checked,
    NoDecode,
    Section,
    reference_model,
)
from .settings_base import (
    SecretStr as SecretStr,
)

if TYPE_CHECKING:
    import pydantic

# No `from __future__ import annotations` here: the sections' annotations are read at run time
# (settings_base checks values against them).

DEFAULT_CONFIG_FILE = "mpcheckout.toml"
ENV_PREFIX = "MPCHECKOUT_"

CommaList = Annotated[list[str], NoDecode]
SecretList = Annotated[list[SecretStr], NoDecode]


class DatabaseSettings(Section):
    url: str = "mpcheckout.db"
    busy_timeout_ms: Annotated[int, Bounds(ge=0)] = 5000
    pool_size: Annotated[int, Bounds(ge=1)] = 8


class MercadoPagoSettings(Section):
    access_token: SecretStr | None = None
    api_base: str = "https://api.mercadopago.com"
    webhook_secrets: SecretList = field(default_factory=list)
    signature_tolerance_seconds: Annotated[int | None, Bounds(ge=1)] = None
    connect_timeout: Annotated[float, Bounds(gt=0)] = 5.0
    read_timeout: Annotated[float, Bounds(gt=0)] = 10.0
    max_retries: Annotated[int, Bounds(ge=0, le=10)] = 2
    max_retry_wait_seconds: Annotated[float, Bounds(ge=0)] = 5.0


class QueueSettings(Section):
    # At least one step, each after now: an empty schedule cannot build a retry policy, and a
    # zero or negative step would retry at once, in a hot loop.
    retry_schedule_minutes: Annotated[
        list[Annotated[float, Bounds(gt=0)]], NoDecode, Bounds(min_length=1)
    ] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32])
    retry_jitter: Annotated[float, Bounds(ge=0, le=1)] = 0.0
    not_found_retries: Annotated[int, Bounds(ge=0)] = 2
    lease_seconds: Annotated[int, Bounds(ge=1)] = 120
    batch_size: Annotated[int, Bounds(ge=1, le=1000)] = 50
    concurrency: Annotated[int, Bounds(ge=1, le=256)] = 8
    idle_poll_seconds: Annotated[float, Bounds(gt=0)] = 1.0


class ReconcileSettings(Section):
    since: str = "7d"
    overlap: str = "10m"
    stale_after: str = "24h"
    retention: str = "30d"
    budget_seconds: Annotated[float, Bounds(gt=0)] = 300
    lock_timeout: str = "2h"
    interval: str = "1h"
    # The Orders API (issue 15): swept too, and its open orders looked at again.
    orders: bool = True
    orders_revisit: str = "30d"
    orders_revisit_limit: Annotated[int, Bounds(ge=0)] = 200


class CheckoutSettings(Section):
    # Which API `checkout link` and create-preference use unless told otherwise: "preferences"
    # (Checkout Pro, the classic) or "orders" (Checkout Pro via the Orders API).
    api: Literal["preferences", "orders"] = "preferences"


class HealthSettings(Section):
    max_dead_letters_per_day: Annotated[int, Bounds(ge=0)] = 5
    max_error_rate: Annotated[float, Bounds(ge=0, le=1)] = 0.01
    max_p95_processing_seconds: Annotated[float, Bounds(gt=0)] = 5.0
    max_reconcile_age: str = "2h"


class ActionSettings(Section):
    # Refunds and captures above this amount ask before anything is sent (`--yes` skips the
    # question); 0 asks for every one. A decimal string, so no float ever holds money.
    confirm_above: Decimal = Decimal("0")


class ReportSettings(Section):
    # The CSV separator the reports were configured with; "" detects `;`, `,` or a tab.
    separator: Annotated[str, Bounds(max_length=1)] = ""
    # An approved payment with no settlement row after this long is a discrepancy.
    settlement_grace: str = "3d"
    # Passwords of the report-ready webhook (Mercado Pago's reports panel); several while one
    # is being rotated. Empty: the webhook route refuses every notification.
    webhook_passwords: SecretList = field(default_factory=list)
    # `reports fetch`: how long to wait for Mercado Pago to generate a report, and the first
    # pause between polls (doubling up to a minute).
    fetch_timeout: str = "15m"
    poll_seconds: Annotated[float, Bounds(gt=0)] = 5.0
    # `status`: yellow on a discrepancy older than `discrepancy_age`; red past this many.
    discrepancy_age: str = "1d"
    max_discrepancies: Annotated[int, Bounds(ge=0)] = 10


class RouteLimit(Section):
    limit: Annotated[int, Bounds(ge=1)] = 5
    window_seconds: Annotated[int, Bounds(ge=1)] = 900


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Bounds(ge=0, le=65535)] = 8080
    public_url: str | None = None
    monitor_token: SecretStr | None = None
    ip_allowlist: CommaList = field(default_factory=list)
    trusted_proxies: CommaList = field(default_factory=list)
    max_body_bytes: Annotated[int, Bounds(ge=1024)] = 256 * 1024
    accept_unsigned_ipn: bool = True
    rate_limits: dict[str, RouteLimit] = field(
        default_factory=lambda: {
            "create_preference": RouteLimit(limit=5, window_seconds=900),
            "bad_signature": RouteLimit(limit=20, window_seconds=60),
        }
    )
    # The status page (/ui/) and /metrics (issue 17).
    ui_enabled: bool = True
    ui_token: SecretStr | None = None
    ui_actions: bool = False
    ui_session_minutes: Annotated[int, Bounds(ge=1, le=7 * 24 * 60)] = 480
    ui_login_limit: RouteLimit = RouteLimit(limit=5, window_seconds=300)
    ui_refresh_seconds: Annotated[int, Bounds(ge=0, le=3600)] = 0
    metrics_allowlist: CommaList = field(default_factory=list)
    # Seconds one status report is shared by /ui/ and /metrics in a process (0: every request
    # builds its own).
    status_cache_seconds: Annotated[float, Bounds(ge=0, le=3600)] = 1.0


class AlertSettings(Section):
    webhook_url: SecretStr | None = None
    command: str | None = None
    cooldown: str = "1h"
    silent_after: str = "6h"
    timeout_seconds: Annotated[float, Bounds(gt=0)] = 5.0


class SandboxSettings(Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Bounds(ge=0, le=65535)] = 0
    access_token: SecretStr = SecretStr("TEST-sandbox")
    webhook_secret: SecretStr = SecretStr("sandbox-webhook-secret")


def _known_locale(value: str | None) -> str | None:
    from .i18n import normalize_locale

    if value is not None and normalize_locale(value) is None:
        raise ValueError("locale must be one of es, en, pt")
    return value


class Settings(Section):
    """Every setting. `load_settings` merges file, environment and overrides."""

    locale: Annotated[str | None, Checked(_known_locale)] = None
    database: DatabaseSettings = DatabaseSettings()
    mercadopago: MercadoPagoSettings = MercadoPagoSettings()
    queue: QueueSettings = QueueSettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    health: HealthSettings = HealthSettings()
    server: ServerSettings = ServerSettings()
    alerts: AlertSettings = AlertSettings()
    sandbox: SandboxSettings = SandboxSettings()
    actions: ActionSettings = ActionSettings()
    checkout: CheckoutSettings = CheckoutSettings()
    reports: ReportSettings = ReportSettings()


_PLAIN_TYPES = (str, int, float, bool, SecretStr, type(None))


def _is_plain(annotation: Any) -> bool:
    """A value an environment variable carries as it is: a scalar, or a comma list."""
    if get_origin(annotation) is Annotated:
        if NoDecode in annotation.__metadata__:
            return True
        annotation = get_args(annotation)[0]
    members = get_args(annotation) if isinstance(annotation, UnionType) else (annotation,)
    return all(member in _PLAIN_TYPES for member in members)


def _environment_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """MPCHECKOUT_* variables as nested values, exactly as pydantic-settings reads them: names
    in any case, `__` between levels. Each variable that names one plain setting is read here;
    anything else (a section as JSON, a dict, an unknown or deeper key) makes the whole
    environment go through pydantic-settings itself, imported only then, so its decoding and
    errors stay the reference. tests/unit/test_config_environment.py holds the two paths equal."""
    values: dict[str, Any] = {}
    prefix = ENV_PREFIX.lower()
    for name, value in environ.items():
        lowered = name.lower()
        if not lowered.startswith(prefix):
            continue
        place = _plain_place(lowered[len(prefix) :])
        if place is _UNSUPPORTED:
            return _environment_values_by_pydantic_settings(environ)
        if place is not None:
            *sections, leaf = place
            node = values
            for section in sections:
                node = node.setdefault(section, {})
            node[leaf] = value
    return values


_UNSUPPORTED: tuple[str, ...] = ("<left to pydantic-settings>",)  # compared by identity


def _plain_place(key: str) -> tuple[str, ...] | None:
    """Where a variable's value goes, None for a variable no setting reads, _UNSUPPORTED for
    one the fast path leaves to pydantic-settings."""
    head, _, rest = key.partition("__")
    section = Settings.__field_types__.get(head)
    if section is None:
        return None
    if not rest:
        return (head,) if _is_plain(section) else _UNSUPPORTED
    if not (isinstance(section, type) and issubclass(section, Section)):
        return _UNSUPPORTED
    leaf = section.__field_types__.get(rest)
    return (head, rest) if leaf is not None and _is_plain(leaf) else _UNSUPPORTED


def _environment_values_by_pydantic_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    from pydantic.fields import FieldInfo
    from pydantic_settings import EnvSettingsSource
    from pydantic_settings.sources.utils import parse_env_vars

    class GivenEnvironment(EnvSettingsSource):
        def _load_env_vars(self) -> Mapping[str, str | None]:
            return parse_env_vars(environ, False, False, None)

        def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
            if field is not None and NoDecode in field.metadata:  # our marker, not theirs
                return value
            return super().decode_complex_value(field_name, field, value)

    source = GivenEnvironment(
        reference_model(Settings),  # type: ignore[arg-type]  # has every field the source reads
        case_sensitive=False,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
    )
    return source()


def _deep_merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win; tables merge key by key, as pydantic-settings merges its sources."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = _deep_merge(merged[key], value)
            else:
                merged[key] = value
    return merged


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    config_path: Path | None
    sources: dict[str, str]  # dotted key -> "default" | "file" | "env" | "cli"


def load_settings(
    config_path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Read the file (explicit path, else ./mpcheckout.toml if present), env and overrides.

    `overrides` uses dotted keys (`{"database.url": "x.db"}`). Raises ConfigurationError naming
    the key and the file for an unknown key, a wrong type or unreadable TOML.
    """
    environ = os.environ if environ is None else environ
    path = _config_path(config_path)
    file_data = _read_toml(path) if path else {}
    nested_overrides = _nest(overrides or {})
    merged = _deep_merge(file_data, _environment_values(environ), nested_overrides)
    try:
        settings = Settings.model_validate(merged)
    except ValueError as exc:
        from pydantic import ValidationError  # already imported: only its check raises here

        if not isinstance(exc, ValidationError):
            raise
        raise _config_error(exc, path, environ) from None
    sources = _sources(settings, file_data, nested_overrides, environ)
    return LoadedSettings(settings=settings, config_path=path, sources=sources)


def _config_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigurationError("error.config_missing", path=str(explicit))
        return explicit
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # only when there is a file: ~12 ms of CPU to import

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            "error.config_unreadable", path=str(path), reason=str(exc)
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError("error.config_syntax", path=str(path), reason=str(exc)) from None


def _config_error(
    exc: "pydantic.ValidationError", path: Path | None, environ: Mapping[str, str]
) -> ConfigurationError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    env_name = ENV_PREFIX + key.upper().replace(".", "__")
    origin = f"${env_name}" if env_name in environ else str(path or DEFAULT_CONFIG_FILE)
    if first["type"] == "extra_forbidden":
        return ConfigurationError("error.config_unknown_key", key=key, origin=origin)
    return ConfigurationError("error.config_bad_value", key=key, origin=origin, reason=first["msg"])


def _nest(dotted: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in dotted.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = nested
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return nested


def iter_leaves(model: Section, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) for every setting, sections flattened; dict-valued fields stay whole."""
    for name in model.__field_types__:
        value = getattr(model, name)
        key = f"{prefix}{name}"
        if isinstance(value, Section):
            yield from iter_leaves(value, f"{key}.")
        else:
            yield key, value


def _sources(
    settings: Settings,
    file_data: dict[str, Any],
    overrides: dict[str, Any],
    environ: Mapping[str, str],
) -> dict[str, str]:
    sources = {}
    for key, _value in iter_leaves(settings):
        env_name = ENV_PREFIX + key.upper().replace(".", "__")
        if _lookup(overrides, key) is not _MISSING:
            sources[key] = "cli"
        elif env_name in environ:
            sources[key] = "env"
        elif _lookup(file_data, key) is not _MISSING:
            sources[key] = "file"
        else:
            sources[key] = "default"
    return sources


_MISSING = object()


def _lookup(tree: Mapping[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def mask_secret(secret: SecretStr | str | None) -> str | None:
    """`APP_USR-1234…a1b2` style: enough to tell two tokens apart, never enough to use one."""
    if secret is None:
        return None
    text = secret if isinstance(secret, str) else secret.get_secret_value()
    if len(text) < 12:
        return "…"
    prefix = text.split("-", 1)[0] + "-" if "-" in text[:12] else ""
    if len(prefix) + 4 >= len(text) / 2:  # "s3cr3t-t0k3n" would show all but one character
        prefix = ""
    return f"{prefix}…{text[-4:]}"


def redact_url(url: str) -> str:
    """Hide the password in a database URL (`postgresql://user:…@host/db`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":…@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def display_value(key: str, value: Any) -> Any:
    """A setting as `config show` prints it: secrets masked, URLs without passwords."""
    if isinstance(value, SecretStr):
        return mask_secret(value)
    if isinstance(value, list):
        return [display_value(key, item) for item in value]
    if isinstance(value, dict):
        return {name: display_value(key, item) for name, item in value.items()}
    if isinstance(value, Section):
        return display_value(key, value.model_dump())
    if key == "database.url" and isinstance(value, str):
        return redact_url(value)
    return value
