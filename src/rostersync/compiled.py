"""The hot modules compiled to C with mypyc, used only while they match their sources.

A first load of a large district spends about half its CPU time in Python: mapping each
user, building each school's roster, planning and rendering its rows. ``COMPILED`` names
the modules where that time goes; ``python -m rostersync.compiled_build`` (``make
compile``, which ``make demo``, ``make test`` and the benches run first) compiles them in
place with mypyc, the compiler of mypy (already the project's type checker), and records a
digest of each source in ``_compiled.json``. Python then imports the compiled module
instead of the source. Every other module of the package is imported from source, even
with a compiled file next to it (one left by a build of an earlier list).

They are the same code: mypyc compiles the typed source as written, and checks the
declared types of arguments at run time. The build is used only while every compiled
module's source still has the digest recorded at build time; otherwise (a source edited
since, a build from another checkout) all of them are imported from source, with a
warning, so an edit never runs old code. ``ROSTERSYNC_PURE_PYTHON=1`` imports them from
source too (the test suite's default; ``tests/perf/test_compiled.py`` runs the domain,
mapping, store and sync tests on the compiled build). Without mypyc (an install without the ``dev``
extra) nothing is compiled and everything runs as plain Python, only slower.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

COMPILED = (
    "rostersync.sources.clever.mapping",
    "rostersync.sources.clever.stream",
    "rostersync.domain.roster",
    "rostersync.domain.partial",
    "rostersync.storage.roster_plan",
    "rostersync.storage.roster_sql",
)
PURE_ENV = "ROSTERSYNC_PURE_PYTHON"
_PACKAGE = Path(__file__).resolve().parent
SRC = _PACKAGE.parent
MANIFEST = _PACKAGE / "_compiled.json"

log = logging.getLogger(__name__)


def source_of(module: str) -> Path:
    return SRC.joinpath(*module.split(".")).with_suffix(".py")


def extensions_of(module: str) -> list[Path]:
    """The compiled files of ``module`` next to its source (any interpreter's)."""
    source = source_of(module)
    return sorted(source.parent.glob(source.stem + ".*.so"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stray_extensions() -> list[Path]:
    """Compiled files in the package that belong to no module of ``COMPILED`` (left by a
    build of another list)."""
    ours = {path for module in COMPILED for path in extensions_of(module)}
    return [path for path in sorted(_PACKAGE.rglob("*.so")) if path not in ours]


def build_is_current() -> bool:
    """Whether the compiled modules were built from the sources as they are now."""
    try:
        recorded = json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(recorded, dict) or set(recorded) != set(COMPILED):
        return False
    return not stray_extensions() and all(
        extensions_of(module) and recorded[module] == digest(source_of(module))
        for module in COMPILED
    )


def compiled_in_use() -> list[str]:
    """The modules of ``COMPILED`` imported so far from a compiled file."""
    return [
        name
        for name in COMPILED
        if isinstance(sys.modules.get(name), ModuleType)
        and str(getattr(sys.modules[name], "__file__", "")).endswith(".so")
    ]


class _FromSource:
    """A meta path finder: every module of the package from its source file, except those
    of ``compiled`` (left to the usual finders, which prefer a compiled file)."""

    def __init__(self, compiled: frozenset[str]) -> None:
        self._compiled = compiled

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("rostersync.") or fullname in self._compiled or not path:
            return None
        loader = (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)
        for entry in path:
            spec = importlib.machinery.FileFinder(entry, loader).find_spec(fullname)
            if spec is not None:
                return spec
        return None


def install() -> None:
    """Import the modules of ``COMPILED`` compiled only if the build is current and
    ``ROSTERSYNC_PURE_PYTHON`` is not set, and every other module of the package from source
    whatever compiled file lies next to it (called by ``rostersync/__init__``)."""
    pure = os.environ.get(PURE_ENV, "").strip() not in ("", "0")
    current = not pure and build_is_current()
    if not pure and not current and any(_PACKAGE.rglob("*.so")):
        log.warning(
            "The compiled modules of rostersync were not built from the sources as they "
            "are now; running the plain Python ones (slower). Run `make compile`."
        )
    sys.meta_path.insert(0, _FromSource(frozenset(COMPILED) if current else frozenset()))
