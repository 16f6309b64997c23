"""Dependencies point one way: cli/server -> services -> store/gateway/pure modules. Walks every
module's imports with `ast`, so a shortcut fails here rather than in review."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mpcheckout"

LOW_LEVEL = (
    "store",
    "gateway",
    "notifications",
    "signature",
    "retry",
    "models",
    "payments",
    "clock",
    "durations",
    "errors",
    "i18n",
    "config",
)
FACES = ("cli", "server")
FORBIDDEN_IN_LOW = ("typer", "rich", "mpcheckout.cli", "mpcheckout.server")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base)
                found.add(f"{prefix}.{node.module}" if node.module else prefix)
                if not node.module:
                    found.update(f"{prefix}.{alias.name}" for alias in node.names)
            else:
                found.add(node.module or "")
    return found


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "mpcheckout" else ""


def modules():
    for path in PACKAGE.rglob("*.py"):
        yield module_name(path), imports(path)


def test_lower_layers_never_import_the_cli_the_server_typer_or_rich():
    offenders = []
    for name, found in modules():
        if layer_of(name) in LOW_LEVEL:
            offenders += [(name, imp) for imp in found if imp.startswith(FORBIDDEN_IN_LOW)]
    assert not offenders


def test_store_and_gateway_never_import_each_other_or_services():
    offenders = []
    for name, found in modules():
        layer = layer_of(name)
        if layer in ("store", "gateway"):
            for imp in found:
                target = layer_of(imp)
                if imp.startswith("mpcheckout.") and target not in LOW_LEVEL:
                    offenders.append((name, imp))
                if {layer, target} == {"store", "gateway"}:
                    offenders.append((name, imp))
    assert not offenders


def test_the_cli_holds_no_sql_and_no_http():
    offenders = []
    for path in (PACKAGE / "cli").rglob("*.py"):
        source = path.read_text()
        found = imports(path)
        if any(imp.split(".")[0] in ("sqlite3", "httpx", "requests", "psycopg") for imp in found):
            offenders.append(path.name)
        if ".execute(" in source:
            offenders.append(path.name)
    assert not offenders


def test_faces_reach_storage_only_through_services():
    offenders = []
    for name, found in modules():
        if layer_of(name) in FACES:
            offenders += [
                (name, imp)
                for imp in found
                if imp.startswith(("mpcheckout.store", "mpcheckout.gateway"))
            ]
    assert not offenders
