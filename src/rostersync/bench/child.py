"""One measured run, in a fresh process: the floor, or one sync of the district.

The parent reads this process's CPU time and peak RSS from ``wait4``; this process reports
what only it can see, as one JSON object on stdout: requests, records, roster rows written
per table (as the store reports them), and the CPU time spent writing roster changes (the
apply phase).

``python -m rostersync.bench.child floor BASE_URL TOKEN``
``python -m rostersync.bench.child sync BASE_URL TOKEN DATABASE_URL``
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import msgspec
import xxhash

from rostersync.compiled import COMPILED, compiled_in_use
from rostersync.service import districts
from rostersync.service import partial as partial_module
from rostersync.service import sync as sync_module
from rostersync.service.context import Services
from rostersync.service.ports import RosterSource
from rostersync.service.sync import sync_district
from rostersync.sources.clever import wire
from rostersync.sources.clever.paging import iter_pages, list_uri
from rostersync.sources.clever.source import MAX_PAGE_SIZE, CleverSource
from rostersync.storage import SqlStore, upgrade_database
from rostersync.storage.roster_repo import RosterRepo
from rostersync.storage.staging import SqliteStaging
from rostersync.storage.staging_file import fetch_cache_dir
from rostersync.storage.staging_pg import PgStaging

_LISTS: dict[str, type[msgspec.Struct]] = {
    "schools": wire.SchoolItem,
    "terms": wire.TermItem,
    "courses": wire.CourseItem,
    "users": wire.UserItem,
    "sections": wire.SectionItem,
}


def floor(base_url: str, token: str) -> dict[str, Any]:
    """Fetch every list, decode each item into its wire Struct and hash it (with the hash
    the sync stages with); keep nothing."""
    source = CleverSource(base_url, token)
    http = source._http  # the floor is the transport and paging alone
    source.district()
    records = 1
    for path, item_type in _LISTS.items():
        decoder = msgspec.json.Decoder(item_type)
        for items in iter_pages(http, list_uri(path, MAX_PAGE_SIZE)):
            for raw in items:
                decoder.decode(raw)
                xxhash.xxh3_64_intdigest(raw)
            records += len(items)
    source.close()
    return {"requests": source.requests_made, "records": records, "rows_written": {}}


class _Meter:
    """Counts roster rows written per table and the CPU time of the apply phase and of the
    sync's other phases (``PHASES``)."""

    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()
        self.apply_cpu_s = 0.0
        self.phases: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.sources: list[CleverSource] = []
        self.marks: dict[str, float] = {}  # the CPU time at each progress note, first seen

    def note(self, stage: str) -> None:
        self.marks.setdefault(stage, time.process_time())

    def staged(self) -> None:
        """The staging phases from the marks (``STAGES``), once the sync is done."""
        for phase, (start, end) in STAGES.items():
            if start in self.marks and end in self.marks:
                self.phases[phase] = self.marks[end] - self.marks[start]


# The phases of a sync whose CPU time the child reports (``phases_cpu_s``), each the time
# spent in the functions named, wherever they are looked up from. ``fetch`` holds
# ``stage_users``, ``stage_sections`` and ``staging_finish``; ``evaluate`` holds ``build``
# (a school's roster, or the part a change reaches, from the staging file), ``load`` (the
# stored roster, or that part) and the apply (``apply_cpu_s``). The two staging phases are
# timed between the fetch's progress notes instead (``STAGES``): ``service.fetch`` may be
# compiled (``rostersync.compiled``), and then calls its own functions directly.
PHASES: dict[str, tuple[tuple[object, str], ...]] = {
    "fetch": ((sync_module, "fetch_district"),),
    "stage_users": (),
    "stage_sections": (),
    "staging_finish": ((SqliteStaging, "finish"), (PgStaging, "finish")),
    "evaluate": ((sync_module, "_evaluate_all"),),
    "build": (
        (sync_module, "school_roster"),
        (sync_module, "fresh_school_roster"),
        (partial_module, "school_roster_part"),
    ),
    "load": ((RosterRepo, "load_roster"), (RosterRepo, "load_roster_part")),
}
# Each staging phase: from the fetch's progress note that starts it to the note (or the
# staging file's ``finish``) that starts the next.
STAGES = {"stage_users": ("users", "sections"), "stage_sections": ("sections", "finish")}


def sync(base_url: str, token: str, database_url: str) -> dict[str, Any]:
    """Sync the district into the store (adding it on first use) and report the run."""
    meter = _Meter()
    upgrade_database(database_url)
    cache = fetch_cache_dir(os.environ.get("ROSTERSYNC_FETCH_CACHE_DIR"), database_url)
    store = SqlStore(database_url, fetch_cache_dir=cache)
    _meter_apply(meter)
    _meter_phases(meter)

    def sources(base_url: str, token: str) -> RosterSource:
        source = CleverSource(base_url, token)
        meter.sources.append(source)
        return source

    services = Services(store=store, sources=sources, deliver_after_commit=False)
    district_id = _district(services, store, base_url, token)
    result = sync_district(services, district_id, progress=meter.note)
    if result.error:
        raise SystemExit(f"The benchmark sync failed: {result.error}")
    meter.staged()
    outcomes = Counter(run.outcome.value for run in result.runs)
    store.dispose()
    return {
        "requests": sum(s.requests_made for s in meter.sources),
        "rows_written": dict(sorted(meter.rows.items())),
        "apply_cpu_s": round(meter.apply_cpu_s, 3),
        "phases_cpu_s": {name: round(cpu, 3) for name, cpu in meter.phases.items()},
        "outcomes": dict(outcomes),
        "staged_users": result.staged_users,
        "skipped_pages": result.skipped_pages,
        "staged_sections": result.staged_sections,
        "skipped_section_pages": result.skipped_section_pages,
        "partial_schools": result.partial,
        # The modules of ``rostersync.compiled`` this run imported compiled (all or none).
        "compiled": len(compiled_in_use()) == len(COMPILED),
    }


def _district(services: Services, store: SqlStore, base_url: str, token: str) -> str:
    """The bench district, added on first use and pointed at this run's sandbox."""
    with store.unit_of_work() as uow:
        existing = uow.list_districts()
        if existing:
            uow.update_district(replace(existing[0], clever_base_url=base_url, clever_token=token))
            uow.commit()
            return existing[0].id
    return districts.add_district(services, "Bench district", token, base_url).id


def _meter_apply(meter: _Meter) -> None:
    """Time every apply (of a change set, or of a first load's whole roster) and add up the
    rows it wrote per table, as the store counts them (``RosterRepo.written``) rather than
    from the text of the statements it runs."""
    for name in ("apply_changes", "apply_roster"):
        setattr(RosterRepo, name, _metered(meter, getattr(RosterRepo, name)))


def _metered(meter: _Meter, original: Callable[..., int]) -> Callable[..., int]:
    def metered(self: RosterRepo, *args: Any, **kwargs: Any) -> int:
        start = time.process_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            meter.apply_cpu_s += time.process_time() - start
            meter.rows.update(self.written)

    return metered


def _meter_phases(meter: _Meter) -> None:
    """Time each of ``PHASES`` (process CPU time, as ``wait4`` counts the whole run), and
    mark where the staging file's ``finish`` starts (``STAGES``)."""
    for phase, places in PHASES.items():
        for owner, name in places:
            setattr(owner, name, _timed(meter.phases, phase, getattr(owner, name)))
    for staging in (SqliteStaging, PgStaging):
        setattr(staging, "finish", _marked(meter, staging.finish))  # noqa: B010


def _marked(meter: _Meter, finish: Callable[[Any], None]) -> Callable[[Any], None]:
    def marked(self: Any) -> None:
        meter.note("finish")
        finish(self)

    return marked


def _timed(phases: dict[str, float], phase: str, original: Callable[..., Any]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            phases[phase] += time.process_time() - start

    return timed


def main(argv: list[str]) -> None:
    mode, base_url, token, *rest = argv
    report = floor(base_url, token) if mode == "floor" else sync(base_url, token, rest[0])
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
