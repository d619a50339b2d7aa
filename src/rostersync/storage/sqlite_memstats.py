"""SQLite's memory statistics switched off before the library starts: a first load's cheapest gain.

SQLite keeps a running total of the memory it holds unless told otherwise
(``SQLITE_CONFIG_MEMSTATUS``, on by default in the Debian and Python builds). Every
``malloc`` and ``free`` inside the library then takes a process-wide mutex to update it, and
a bulk load binds and frees millions of values: at 20,000 students a first load spent about
3 % of its instructions in those locks and counters (callgrind, session 21). Nothing in
rostersync reads the statistics (``sqlite3_memory_used`` and the heap limits, which Python's
``sqlite3`` module does not expose), so they are switched off.

The setting must come before SQLite initialises, which Python's ``_sqlite3`` module does
when it is imported. ``rostersync.storage`` calls ``switch_off`` first thing, and the
package is the only one in rostersync that imports ``sqlite3``. If something else imported
it earlier (a test runner, another library), the statistics stay on, as they were: the only
cost is the lost gain. The call goes through ``ctypes`` to the library ``_sqlite3`` is
linked with, loaded (not imported) from the extension's own file; it is made only on Linux,
where a variadic C function takes its arguments as ``ctypes`` passes them.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import sys

# sqlite3.h: #define SQLITE_CONFIG_MEMSTATUS 9 /* boolean */
SQLITE_CONFIG_MEMSTATUS = 9
SQLITE_OK = 0

log = logging.getLogger(__name__)

# Whether this process runs with the statistics off (set by ``switch_off``).
switched_off = False


def switch_off() -> bool:
    """Turn SQLite's memory statistics off for this process, if it has not started yet;
    whether they are off now."""
    global switched_off
    if switched_off:
        return True
    if not sys.platform.startswith("linux") or "_sqlite3" in sys.modules:
        return False
    spec = importlib.util.find_spec("_sqlite3")
    if spec is None or not spec.origin or not spec.has_location:
        return False  # built in (no file of its own): nothing to load it from
    try:
        library = ctypes.CDLL(spec.origin)
        status = int(library.sqlite3_config(SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0)))
    except (OSError, AttributeError) as error:
        log.debug("SQLite's memory statistics stay on: %s", error)
        return False
    if status != SQLITE_OK:
        log.debug("SQLite's memory statistics stay on: sqlite3_config returned %d", status)
        return False
    switched_off = True
    return True
