"""Dependencies point one way: entry -> faces -> services -> adapters -> pure modules -> base.

Every top-level unit of the package (a module, or a folder with all it holds) has one place in
LAYERS; every import edge, function-local and type-only ones included, must point to a lower
layer, or sideways along an edge SIDEWAYS names. A unit missing from the table fails the test,
so the table stays complete. The checker takes a package root, so its own test runs it on a
copy of the package with a shortcut planted in it.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mpcheckout"

# Highest first. A unit may import only from the layers below its own.
LAYERS: dict[str, tuple[str, ...]] = {
    "entry": ("__main__",),
    "faces": ("cli", "server"),
    # What the status page and /metrics show, built from several services' results.
    "views": ("pages", "metrics"),
    "services": (
        "actions",
        "alerts",
        "chargebacks",
        "checkout",
        "copy",
        "dead_letters",
        "demo",
        "doctor",
        "events",
        "ingest",
        "lookup",
        "maintenance",
        "not_found_hints",
        "money",
        "orders",
        "processor",
        "ratelimit",
        "reconcile",
        "report_fetch",
        "report_helper",
        "report_imports",
        "report_webhook",
        "runtime",
        "status",
    ),
    "adapters": ("store", "gateway", "sandbox"),
    "pure": (
        "payments",
        "order_states",
        "order_payments",
        "reports",
        "notifications",
        "signature",
        "retry",
        "hints",
        "durations",
        "http_runner",
    ),
    "base": ("models", "records", "errors", "config", "settings_base", "i18n", "clock", "__init__"),
}

# Imports within one layer, each with its reason; nothing else moves sideways.
SIDEWAYS: dict[tuple[str, str], str] = {
    ("report_imports", "report_helper"): "a big file is parsed in a helper process",
    ("cli", "server"): "`mpcheckout serve` starts the server",
    ("alerts", "status"): "alert conditions are read off the status report",
    ("status", "money"): "the reports' discrepancies are a status check",
    ("processor", "alerts"): "a processing run ends by evaluating alerts",
    ("reconcile", "processor"): "a reconcile run drains the due events first",
    ("processor", "not_found_hints"): "a 404's likely cause is gathered where it happened",
    ("reconcile", "alerts"): "a reconcile run ends by evaluating alerts",
    ("dead_letters", "events"): "a dead letter's id is checked against the same bound",
    ("demo", "checkout"): "the demo walks the whole job through the services",
    ("demo", "actions"): "the demo walks the whole job through the services",
    ("demo", "ingest"): "the demo walks the whole job through the services",
    ("demo", "processor"): "the demo walks the whole job through the services",
    ("demo", "dead_letters"): "the demo walks the whole job through the services",
    ("demo", "money"): "the demo walks the whole job through the services",
    ("demo", "report_fetch"): "the demo walks the whole job through the services",
    ("doctor", "checkout"): "the notification URL checked is the one payment links carry",
    ("doctor", "runtime"): "facts are gathered through the command's store and gateway",
    ("actions", "processor"): "a write's result is applied with the rules a webhook's is",
    ("report_fetch", "report_imports"): "a fetched report is imported as a downloaded one is",
    ("report_webhook", "report_fetch"): "a notified report is downloaded as a fetched one is",
    ("report_webhook", "report_imports"): "a notified report is imported as a downloaded one is",
    ("config", "errors"): "a bad setting is a ConfigurationError",
    ("config", "i18n"): "the locale setting is checked against the catalogs",
    ("config", "settings_base"): "the settings are sections checked by its small validator",
    ("errors", "models"): "the error document renders its details as JSON",
    ("models", "clock"): "records render their times in the one ISO format",
    ("models", "records"): "the shared records are declared with `record`",
    ("payments", "order_states"): "one mapping of local states, whichever API spelled them",
    ("checkout", "actions"): "an Orders-API order is created through the one keyed write path",
}

# The faces reach storage and Mercado Pago only through services. Naming the Store contract
# in an annotation (an import under `if TYPE_CHECKING:`) reaches nothing.
FACES_NEVER_IMPORT = ("store", "gateway")
TYPE_ONLY_FOR_FACES = ("store.base",)

# Third-party libraries that belong to one part of the program.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "typer": ("cli",),
    "click": ("cli",),
    "rich": ("cli",),
    "segno": ("cli",),
    "starlette": ("server", "sandbox"),
    "uvicorn": ("server", "sandbox", "http_runner"),
    "sqlite3": ("store",),
    "sqlite_utils": ("store",),
    "psycopg": ("store",),
    "psycopg_pool": ("store",),
    "mercadopago": ("gateway",),
    "httpx": ("gateway", "sandbox", "alerts"),
}

RANK = {unit: rank for rank, units in enumerate(reversed(LAYERS.values())) for unit in units}
LAYER_OF = {unit: layer for layer, units in LAYERS.items() for unit in units}


@dataclass(frozen=True, slots=True)
class Edge:
    source: Path
    line: int
    target: str  # dotted; our own modules start with the package's name
    type_only: bool


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(root: Path, dotted: str) -> str:
    """`mpcheckout.store.sqlite` -> `store`; the package itself (or a name its __init__ holds,
    like `__version__`) -> `__init__`."""
    parts = dotted.split(".")
    if len(parts) == 1:
        return "__init__"
    name = parts[1]
    exists = (root / name).is_dir() or (root / f"{name}.py").is_file()
    return name if exists else "__init__"


def edges(root: Path, path: Path) -> Iterator[Edge]:
    module = module_name(root, path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    yield from _walk(ast.parse(path.read_text()), path, package, type_only=False)


def _walk(node: ast.AST, path: Path, package: str, type_only: bool) -> Iterator[Edge]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield Edge(path, node.lineno, alias.name, type_only)
    elif isinstance(node, ast.ImportFrom):
        for target in _from_targets(node, package):
            yield Edge(path, node.lineno, target, type_only)
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.body:
            yield from _walk(child, path, package, type_only=True)
        for child in node.orelse:
            yield from _walk(child, path, package, type_only)
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk(child, path, package, type_only)


def _from_targets(node: ast.ImportFrom, package: str) -> list[str]:
    if not node.level:
        base = node.module or ""
    else:
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1])
        base = f"{base}.{node.module}" if node.module else base
    # `from . import x` names modules as often as attributes: count both.
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def check_layering(root: Path) -> list[str]:
    """Every way the package at `root` breaks the rules above, one line each."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        unit = unit_of(root, module_name(root, path))
        if unit not in RANK:
            problems.append(f"{_where(root, path)}: unit {unit!r} has no place in LAYERS")
            continue
        for edge in edges(root, path):
            problem = _judge(root, unit, edge)
            if problem:
                problems.append(f"{_where(root, path)}:{edge.line}: {problem}")
    return sorted(set(problems))


def _judge(root: Path, unit: str, edge: Edge) -> str | None:
    top = edge.target.split(".")[0]
    if top != root.name:
        allowed = LIBRARIES.get(top)
        if allowed is not None and unit not in allowed:
            return f"{unit} imports {top}, which only {', '.join(allowed)} may use"
        return None
    target = unit_of(root, edge.target)
    if target == unit:
        return None
    if target not in RANK:
        return f"{unit} imports {target!r}, which has no place in LAYERS"
    return _judge_direction(unit, target) or _judge_face(unit, target, edge)


def _judge_direction(unit: str, target: str) -> str | None:
    if RANK[target] < RANK[unit] or (unit, target) in SIDEWAYS:
        return None
    way = "sideways" if RANK[target] == RANK[unit] else "upwards"
    return f"{unit} ({LAYER_OF[unit]}) imports {target} ({LAYER_OF[target]}): {way}"


def _judge_face(unit: str, target: str, edge: Edge) -> str | None:
    if LAYER_OF[unit] != "faces" or target not in FACES_NEVER_IMPORT:
        return None
    inner = edge.target.split(".", 1)[1]
    if edge.type_only and inner.startswith(TYPE_ONLY_FOR_FACES):
        return None
    return f"{unit} imports {edge.target}: faces reach {target} only through services"


def _where(root: Path, path: Path) -> str:
    return str(path.relative_to(root.parent))


# -- the rules on the real package ---------------------------------------------------------------


def test_every_import_in_the_package_points_down_the_layers():
    assert check_layering(PACKAGE) == []


def test_every_unit_sits_in_exactly_one_layer():
    units = [unit for members in LAYERS.values() for unit in members]
    assert len(units) == len(set(units))


def test_the_sideways_edges_form_no_cycle():
    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        nexts = [b for a, b in SIDEWAYS if a == start and b not in seen]
        return any(b == goal or reaches(b, goal, seen | {b}) for b in nexts)

    assert [pair for pair in SIDEWAYS if reaches(pair[1], pair[0])] == []
    assert all(RANK[a] == RANK[b] for a, b in SIDEWAYS)


def test_the_cli_holds_no_sql():
    offenders = [p.name for p in (PACKAGE / "cli").rglob("*.py") if ".execute(" in p.read_text()]
    assert offenders == []


# -- the checker can fail -------------------------------------------------------------------------


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / PACKAGE.name
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def plant(path: Path, code: str) -> None:
    path.write_text(path.read_text() + "\n" + code + "\n")


def test_a_copy_of_the_package_is_clean_before_anything_is_planted(package_copy):
    assert check_layering(package_copy) == []


@pytest.mark.parametrize(
    ("module", "code", "expected"),
    [
        (
            "processor.py",
            "from .cli import output",
            "processor (services) imports cli (faces): upwards",
        ),
        ("processor.py", "import rich", "processor imports rich, which only cli may use"),
        (
            "payments.py",
            "def _later():\n    from .server import app",
            "payments (pure) imports server (faces): upwards",
        ),
        (
            "store/sqlite.py",
            "from ..gateway import build_gateway",
            "store (adapters) imports gateway (adapters): sideways",
        ),
        (
            "models.py",
            "import typing\nif typing.TYPE_CHECKING:\n    from .store.base import Store",
            "models (base) imports store (adapters): upwards",
        ),
        (
            "server/app.py",
            "from ..store import open_store",
            "server imports mpcheckout.store: faces reach store only through services",
        ),
        (
            "cli/output.py",
            "import mpcheckout.gateway",
            "cli imports mpcheckout.gateway: faces reach gateway only through services",
        ),
        ("gateway.py", "import sqlite3", "gateway imports sqlite3, which only store may use"),
    ],
)
def test_the_checker_reports_a_planted_shortcut(package_copy, module, code, expected):
    plant(package_copy / module, code)
    problems = check_layering(package_copy)
    assert any(problem.endswith(expected) for problem in problems), problems


def test_the_checker_reports_a_unit_missing_from_the_table(package_copy):
    (package_copy / "shortcuts.py").write_text("")
    problems = check_layering(package_copy)
    assert problems == ["mpcheckout/shortcuts.py: unit 'shortcuts' has no place in LAYERS"]
