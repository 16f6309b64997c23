"""The systemd units in examples/systemd pass `systemd-analyze verify` (with ExecStart pointed at
this checkout's real `mpcheckout`, since verify wants the binary to exist), and keep the
promises README makes: unprivileged, secrets from an environment file, hardened, restarted on
failure, an hourly persistent timer with a random delay."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parent.parent / "examples" / "systemd"
INSTALLED_BINARY = "/srv/shop/.venv/bin/mpcheckout"
SERVICES = ("mpcheckout-serve", "mpcheckout-process", "mpcheckout-reconcile")


def analyzer() -> str:
    found = shutil.which("systemd-analyze")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but systemd-analyze is missing: .ci/run installs systemd")
    pytest.skip("systemd-analyze is not installed (apt-get install systemd)")


def verify(folder: Path) -> subprocess.CompletedProcess[str]:
    units = sorted(str(path) for path in folder.iterdir() if path.suffix in (".service", ".timer"))
    return subprocess.run(
        [analyzer(), "verify", *units], capture_output=True, text=True, timeout=60, check=False
    )


def copy_with_real_binary(target: Path) -> Path:
    binary = Path(sys.executable).parent / "mpcheckout"
    assert binary.is_file(), binary
    for unit in UNITS.iterdir():
        text = unit.read_text()
        (target / unit.name).write_text(text.replace(INSTALLED_BINARY, str(binary)))
    return target


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(UNITS / name)
    return parser


def test_systemd_analyze_verify_passes_without_a_warning(tmp_path):
    result = verify(copy_with_real_binary(tmp_path))
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr


def test_verify_does_catch_a_broken_unit(tmp_path):
    folder = copy_with_real_binary(tmp_path)
    serve = folder / "mpcheckout-serve.service"
    serve.write_text(serve.read_text().replace("Restart=", "Restrat="))
    assert "Unknown key" in verify(folder).stderr
    serve.write_text((UNITS / "mpcheckout-serve.service").read_text())  # binary not there
    assert verify(folder).returncode != 0


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_unprivileged_hardened_and_reads_secrets_from_a_file(name):
    service = unit(f"{name}.service")["Service"]
    assert service["User"] == "mpcheckout" and service["WorkingDirectory"] == "/srv/shop"
    assert service["EnvironmentFile"] == "/etc/mpcheckout/env"
    assert service["ExecStart"].startswith(INSTALLED_BINARY + " ")
    assert service["NoNewPrivileges"] == "yes" and service["PrivateTmp"] == "yes"
    assert service["ProtectSystem"] == "strict" and service["ReadWritePaths"] == "/srv/shop/data"
    if name != "mpcheckout-reconcile":
        assert service["Restart"] == "on-failure"


def test_the_commands_are_the_ones_readme_describes():
    def command(name: str) -> str:
        return unit(f"{name}.service")["Service"]["ExecStart"].removeprefix(INSTALLED_BINARY)

    assert command("mpcheckout-serve").startswith(" serve")
    assert command("mpcheckout-process") == " process --watch"
    assert command("mpcheckout-reconcile") == " reconcile --quiet"
    assert unit("mpcheckout-reconcile.service")["Service"]["Type"] == "oneshot"


def test_the_timer_runs_reconcile_hourly_catching_up_with_a_random_delay():
    timer = unit("mpcheckout-reconcile.timer")["Timer"]
    assert timer["OnCalendar"] == "hourly" and timer["Persistent"] == "true"
    assert timer["RandomizedDelaySec"] and timer["Unit"] == "mpcheckout-reconcile.service"
