"""The compiled build of the hot modules (``rostersync.compiled``): current when ``make test``
runs (it builds it first), the domain, mapping, property, store and sync tests passing on
it, the benchmark's syncs writing exactly what the plain modules write, and neither an
edited source nor a stray compiled file ever running old compiled code.

The rest of the suite runs the plain modules (tests/conftest.py). Without
``ROSTERSYNC_REQUIRE_COMPILED=1`` (set by ``make test``) a missing build skips these tests;
with it, a missing or stale build fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rostersync import compiled
from rostersync.bench.run import MODES, run_all

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def build() -> None:
    if compiled.build_is_current():
        return
    if os.environ.get("ROSTERSYNC_REQUIRE_COMPILED") == "1":
        pytest.fail("The compiled modules are missing or older than their sources: `make compile`.")
    pytest.skip("the compiled modules are not built (`make compile`)")


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a child Python, this environment updated with ``env``."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )


_IN_USE = (
    "import importlib\n"
    "from rostersync import compiled\n"
    "for name in compiled.COMPILED: importlib.import_module(name)\n"
    "print(len(compiled.compiled_in_use()))"
)


def test_a_current_build_is_imported_and_the_pure_setting_turns_it_off(build: None) -> None:
    on = _run(_IN_USE, ROSTERSYNC_PURE_PYTHON="0").stdout.strip()
    assert on == str(len(compiled.COMPILED))
    assert _run(_IN_USE, ROSTERSYNC_PURE_PYTHON="1").stdout.strip() == "0"


# Five suites in one child: about 2.5 min on a fast machine, over 5 on a slow one (session
# 21's), past the suite's 300 s default; each of the child's tests keeps that default.
@pytest.mark.timeout(1800)
def test_the_domain_mapping_store_and_sync_tests_pass_on_the_compiled_build(
    build: None,
) -> None:
    """The suites that run the compiled code most, on both stores (those that wrap one of
    its functions, marked ``plain_python``, left out)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.perf.compiled_plugin",
            "-m",
            "not plain_python",
            "tests/unit",
            "tests/clever",
            "tests/property",
            "tests/storage",
            "tests/integration",
        ],
        cwd=ROOT,
        env={**os.environ, "ROSTERSYNC_PURE_PYTHON": "0"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "compiled modules in use: 6 of 6" in done.stdout


def test_the_benchmark_syncs_write_the_same_on_the_compiled_build(
    build: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = {}
    for pure in ("1", "0"):
        monkeypatch.setenv("ROSTERSYNC_PURE_PYTHON", pure)
        runs[pure] = run_all(1_500, tmp_path / f"pure-{pure}")
    for mode in MODES[1:]:
        plain, fast = runs["1"][mode], runs["0"][mode]
        assert plain["compiled"] is False and fast["compiled"] is True
        for key in ("rows_written", "outcomes", "requests", "staged_users", "partial_schools"):
            assert plain[key] == fast[key], (mode, key)


def _copy_with_build(tmp_path: Path) -> Path:
    """A copy of ``src`` with the build (the package's compiled files and mypyc's shared
    library), which a child process given it as ``PYTHONPATH`` imports compiled."""
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src", copy, ignore=shutil.ignore_patterns("__pycache__"))
    for shared in (ROOT / "src").glob("*__mypyc.*.so"):
        shutil.copy(shared, copy)
    assert set(json.loads(compiled.MANIFEST.read_text())) == set(compiled.COMPILED)
    assert _run_in(copy, _IN_USE).stdout.strip() == str(len(compiled.COMPILED))
    return copy


def _run_in(copy: Path, code: str) -> subprocess.CompletedProcess[str]:
    return _run(code, ROSTERSYNC_PURE_PYTHON="0", PYTHONPATH=str(copy))


def test_an_edited_source_runs_as_plain_python(build: None, tmp_path: Path) -> None:
    """The copy, one compiled module's source edited: every compiled module comes from
    source, with a warning."""
    copy = _copy_with_build(tmp_path)
    edited = copy / "rostersync" / "domain" / "roster.py"
    edited.write_text(edited.read_text() + "\n# edited\n")
    done = _run_in(copy, _IN_USE)
    assert done.stdout.strip() == "0"
    assert "were not built from the sources as they are now" in done.stderr


def test_a_stray_compiled_file_is_never_imported(build: None, tmp_path: Path) -> None:
    """The copy with a compiled file that belongs to no module of the list (as a build of
    an earlier list would leave): that module comes from source, and the build counts as
    stale."""
    copy = _copy_with_build(tmp_path)
    built = compiled.extensions_of("rostersync.domain.roster")[0]
    stray = copy / "rostersync" / "domain" / built.name.replace("roster.", "records.", 1)
    shutil.copy(built, stray)
    done = _run_in(
        copy, "import rostersync.domain.records as r\n" + _IN_USE + "\nprint(r.__file__)"
    )
    used, records = done.stdout.split()
    assert used == "0"
    assert records.endswith("records.py")
    assert "were not built from the sources as they are now" in done.stderr
