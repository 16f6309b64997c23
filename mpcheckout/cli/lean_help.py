"""Typer's help renderer without the two modules this CLI never uses from it.

`typer.rich_utils` (what prints `--help` and usage errors) imports `rich.markdown` (markdown-it
and its rules) and `rich.traceback` (pygments, through `rich.syntax`) at its top: the first for
the "markdown" markup mode (this CLI uses "rich"), the second for pretty tracebacks (disabled).
Those imports were 166 million instructions, a quarter of `sqlite-utils tables`' whole run,
before `mpcheckout --help` printed a line. `install` adds an import hook for that one module:
while it executes, `Markdown` and `Traceback` are stand-ins that load the real class the first
time either is used, so Typer behaves as before if it ever needs one. Nothing else changes:
once `typer.rich_utils` is loaded the hook is never asked again, and another module importing
`rich.markdown` gets the real one.
"""

from __future__ import annotations

import importlib
import sys
import types
from importlib.machinery import ModuleSpec, PathFinder
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

RENDERER = "typer.rich_utils"
UNUSED = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


class _LoadedOnUse(type):
    """Metaclass of a stand-in: calling it, reading an attribute of it or checking an instance
    against it loads the real class."""

    _module: str
    _name: str

    def _real(cls) -> type:
        real: type = getattr(importlib.import_module(cls._module), cls._name)
        return real

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._real()(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        return getattr(cls._real(), name)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls._real())


class _LeanRendererFinder:
    """A meta path finder for `typer.rich_utils` alone; its loader is the usual one, run with
    the stand-ins in place."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname != RENDERER:
            return None
        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = cast("Loader", _WithStandIns(spec.loader))
        return spec


class _WithStandIns:
    """The module's own loader (every other attribute is its), executing with stand-ins."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        made: types.ModuleType | None = self._loader.create_module(spec)
        return made

    def exec_module(self, module: types.ModuleType) -> None:
        stand_ins = {
            name: _stand_in_module(name, attribute)
            for name, attribute in UNUSED.items()
            if name not in sys.modules
        }
        sys.modules.update(stand_ins)
        try:
            self._loader.exec_module(module)
        finally:
            for name, stand_in in stand_ins.items():
                if sys.modules.get(name) is stand_in:
                    del sys.modules[name]


def _stand_in_module(name: str, attribute: str) -> types.ModuleType:
    module = types.ModuleType(name, "A stand-in while typer.rich_utils is imported.")
    setattr(module, attribute, _LoadedOnUse(attribute, (), {"_module": name, "_name": attribute}))
    return module


def install() -> None:
    """Add the hook, once, unless Typer's renderer is loaded already."""
    if RENDERER in sys.modules or any(isinstance(f, _LeanRendererFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _LeanRendererFinder())
