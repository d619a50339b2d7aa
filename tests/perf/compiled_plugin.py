"""A pytest plugin for tests/perf/test_compiled.py: at the end of the session, how many of
the modules of ``rostersync.compiled`` the tests ran compiled."""

from __future__ import annotations

import importlib

import pytest

from rostersync import compiled


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name in compiled.COMPILED:
        importlib.import_module(name)
    used = len(compiled.compiled_in_use())
    terminalreporter.write_line(f"compiled modules in use: {used} of {len(compiled.COMPILED)}")
