"""SQLite's memory statistics are off in a process that imports rostersync's store first
(``rostersync.storage.sqlite_memstats``), and left alone when SQLite started before it.

Each case runs in a fresh interpreter: the setting holds for the life of a process, and this
one imported ``sqlite3`` long ago."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the statistics are switched off on Linux only"
)

# Writes through SQLite (a table of 2,000 rows in memory), then reports whether the store
# switched the statistics off and how much memory SQLite says it holds.
_PROBE = """
import ctypes, json, sqlite3, _sqlite3
from rostersync.storage import sqlite_memstats
db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE t (a TEXT PRIMARY KEY)")
db.executemany("INSERT INTO t VALUES (?)", [(str(i) * 20,) for i in range(2000)])
used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
used.restype = ctypes.c_int64
print(json.dumps({"off": sqlite_memstats.switched_off, "used": used(),
                  "rows": db.execute("SELECT count(*) FROM t").fetchone()[0]}))
"""


def _probe(first_import: str) -> dict[str, object]:
    code = first_import + "\n" + textwrap.dedent(_PROBE)
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def test_the_store_switches_them_off_before_sqlite_starts() -> None:
    result = _probe("import rostersync.storage")
    assert result == {"off": True, "used": 0, "rows": 2000}


def test_the_entry_points_import_the_store_before_sqlite() -> None:
    # The CLI (which also serves the web app), the Celery tasks, the benchmark's runs.
    for module in ("rostersync.cli.main", "rostersync.worker.tasks", "rostersync.bench.child"):
        result = _probe(f"import {module}")
        assert result["off"] is True, module
        assert result["used"] == 0, module


def test_sqlite_started_earlier_keeps_them_and_still_works() -> None:
    result = _probe("import sqlite3\nimport rostersync.storage")
    assert result["off"] is False
    assert isinstance(result["used"], int) and result["used"] > 0
    assert result["rows"] == 2000


def test_switching_off_again_is_harmless() -> None:
    result = _probe(
        "import rostersync.storage\n"
        "from rostersync.storage import sqlite_memstats\n"
        "assert sqlite_memstats.switch_off() is True"
    )
    assert result == {"off": True, "used": 0, "rows": 2000}
