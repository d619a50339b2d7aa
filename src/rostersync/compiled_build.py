"""Build the compiled modules (``rostersync.compiled``): ``python -m rostersync.compiled_build
[build|ensure|clean|status]`` (``make compile``: ``ensure``, which builds them unless
the build is current)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from rostersync.compiled import (
    COMPILED,
    MANIFEST,
    SRC,
    build_is_current,
    digest,
    source_of,
)


def clean() -> None:
    """Remove every compiled file of the package (of this list or an earlier one)."""
    for path in (SRC / "rostersync").rglob("*.so"):
        path.unlink()
    for shared in SRC.glob("*__mypyc.*.so"):
        shared.unlink()
    MANIFEST.unlink(missing_ok=True)


def build() -> None:
    """Compile ``COMPILED`` in place with mypyc and record their sources' digests."""
    mypyc = shutil.which("mypyc", path=os.path.dirname(sys.executable))
    if mypyc is None:
        raise SystemExit(
            "mypyc was not found next to this Python (it comes with mypy, in the dev extra: "
            "pip install -e '.[dev]'); nothing was compiled."
        )
    clean()
    sources = [str(source_of(module).relative_to(SRC)) for module in COMPILED]
    scratch = SRC / "build"
    try:
        subprocess.run([mypyc, *sources], cwd=SRC, check=True, stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    MANIFEST.write_text(
        json.dumps({m: digest(source_of(m)) for m in COMPILED}, indent=1, sort_keys=True) + "\n"
    )


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "build"
    if command == "build":
        build()
    elif command == "ensure":
        if not build_is_current():
            build()
    elif command == "clean":
        clean()
    elif command == "status":
        print("current" if build_is_current() else "not built, or stale")
    else:
        raise SystemExit("usage: python -m rostersync.compiled_build [build|ensure|clean|status]")


if __name__ == "__main__":
    main(sys.argv[1:])
