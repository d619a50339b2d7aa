"""Sync runs: what each evaluation found and did, and the change set a hold keeps.

A held change set is stored one row per change (``held_changes``), in order, so a report can
page through a large one and an approval applies exactly the changes that were reviewed.

A run's problems tied to no school come first and are the same for every school of a sync
(and for every unchanged resync after it), so they are stored once per distinct set in
``problem_sets`` under a content digest and shared; only the school's own problems go to
``run_problems``. Reading a run puts the two back together, in the order they were given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from rostersync.domain.changes import ChangeSet
from rostersync.domain.policy import Finding, HoldKind
from rostersync.domain.records import RowProblem
from rostersync.domain.state import Outcome
from rostersync.service.model import RunRecord
from rostersync.storage.codec import (
    change_from_row,
    change_row,
    finding_from_row,
    finding_rows,
    from_json,
    problem_from_row,
    problem_rows,
    problem_set_digest,
    problem_set_rows,
    split_problems,
    to_json,
)
from rostersync.storage.statements import upsert_insert
from rostersync.storage.tables import (
    held_changes,
    problem_sets,
    run_findings,
    run_problems,
    sync_runs,
)


class RunsRepo:
    """Reads and writes ``sync_runs`` and the rows that hang off a run, on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_run(self, run: RunRecord, held: ChangeSet | None = None) -> None:
        """Write the run, its findings, its own problems, its held change set (if any) and,
        once per distinct set, its district-wide problems (see ``_store_problem_set``)."""
        shared, own = split_problems(run.problems)
        digest = self._store_problem_set(shared)
        self._conn.execute(insert(sync_runs).values(_run_columns(run, held, digest)))
        if run.findings:
            self._conn.execute(insert(run_findings), finding_rows(run.id, run.findings))
        if own:
            self._conn.execute(insert(run_problems), problem_rows(run.id, own))
        if held is not None and held.changes:
            rows = [change_row(run.id, seq, c) for seq, c in enumerate(held.changes)]
            self._conn.execute(insert(held_changes), rows)

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._conn.execute(select(sync_runs).where(sync_runs.c.id == run_id)).first()
        if row is None:
            return None
        return self._with_details([row._mapping])[0]

    def list_runs(self, school_id: str, limit: int = 20) -> list[RunRecord]:
        """The school's runs, newest first."""
        stmt = (
            select(sync_runs)
            .where(sync_runs.c.school_id == school_id)
            .order_by(sync_runs.c.started_at.desc(), sync_runs.c.id.desc())
            .limit(limit)
        )
        return self._with_details([r._mapping for r in self._conn.execute(stmt)])

    def last_run_outline(self, school_id: str) -> RunRecord | None:
        """The school's latest run without its findings and problems (not read)."""
        stmt = (
            select(sync_runs)
            .where(sync_runs.c.school_id == school_id)
            .order_by(sync_runs.c.started_at.desc(), sync_runs.c.id.desc())
            .limit(1)
        )
        row = self._conn.execute(stmt).first()
        return None if row is None else _run_from_row(row._mapping, (), ())

    def held_change_set(self, run_id: str) -> ChangeSet | None:
        """The change set stored with the run, or ``None`` when it stored none."""
        stmt = select(sync_runs.c.held_school_id).where(sync_runs.c.id == run_id)
        school_id = self._conn.execute(stmt).scalar_one_or_none()
        if school_id is None:
            return None
        rows = self._conn.execute(
            select(held_changes).where(held_changes.c.run_id == run_id).order_by(held_changes.c.seq)
        )
        return ChangeSet(school_id=school_id, changes=[change_from_row(r._mapping) for r in rows])

    def _store_problem_set(self, shared: tuple[RowProblem, ...]) -> str | None:
        """The digest of a run's district-wide problems, inserting the set if it is new.

        Every ``add_run`` runs under the district lock, so the SELECT then INSERT cannot race
        within a district; ``ON CONFLICT DO NOTHING`` covers two districts that happen to
        store the same set at once. Nothing is cached across calls: a rolled-back unit of
        work must not leave a digest believed stored.
        """
        if not shared:
            return None
        digest = _known_digest(shared) or problem_set_digest(shared)
        _remember(digest, shared)
        query = select(problem_sets.c.digest).where(problem_sets.c.digest == digest).limit(1)
        if self._conn.execute(query).first() is None:
            stmt = upsert_insert(self._conn, problem_sets).on_conflict_do_nothing()
            self._conn.execute(stmt, problem_set_rows(digest, shared))
        return digest

    def _with_details(self, rows: Sequence[Mapping[Any, Any]]) -> list[RunRecord]:
        """Runs with their findings and problems, loaded with one query per table."""
        ids = [row["id"] for row in rows]
        if not ids:
            return []
        findings: dict[str, list[Finding]] = defaultdict(list)
        query = select(run_findings).where(run_findings.c.run_id.in_(ids))
        for f in self._conn.execute(query.order_by(run_findings.c.run_id, run_findings.c.seq)):
            findings[f.run_id].append(finding_from_row(f._mapping))
        problems: dict[str, list[RowProblem]] = defaultdict(list)
        query = select(run_problems).where(run_problems.c.run_id.in_(ids))
        for p in self._conn.execute(query.order_by(run_problems.c.run_id, run_problems.c.seq)):
            problems[p.run_id].append(problem_from_row(p._mapping))
        sets = self._problem_sets({row["shared_problems"] for row in rows} - {None})
        return [
            _run_from_row(
                row,
                tuple(findings[row["id"]]),
                sets.get(row["shared_problems"], ()) + tuple(problems[row["id"]]),
            )
            for row in rows
        ]

    def _problem_sets(self, digests: set[str]) -> dict[str, tuple[RowProblem, ...]]:
        """The stored problem sets with these digests, each in order, in one query for those
        not read lately. A digest names its content for good, so the sets read are kept
        (the last few read): a resync that skips 2,000 unchanged schools reads the
        same district-wide set 2,000 times."""
        found = {d: _RECENT_SETS[d] for d in digests if d in _RECENT_SETS}
        missing = sorted(digests - found.keys())
        if not missing:
            return found
        sets: dict[str, list[RowProblem]] = defaultdict(list)
        query = select(problem_sets).where(problem_sets.c.digest.in_(missing))
        for p in self._conn.execute(query.order_by(problem_sets.c.digest, problem_sets.c.seq)):
            sets[p.digest].append(problem_from_row(p._mapping))
        for digest, problems in sets.items():
            found[digest] = _remember(digest, tuple(problems))
        return found


# Problem sets read or written lately, by digest (oldest first). A digest names its content
# for good, so keeping them is always safe; whether a set is *stored* is still asked of the
# database every time (a rolled-back unit of work may have written it).
_RECENT_SETS: dict[str, tuple[RowProblem, ...]] = {}
_RECENT_LIMIT = 8


def _remember(digest: str, problems: tuple[RowProblem, ...]) -> tuple[RowProblem, ...]:
    _RECENT_SETS[digest] = problems
    while len(_RECENT_SETS) > _RECENT_LIMIT:
        del _RECENT_SETS[next(iter(_RECENT_SETS))]
    return problems


def _known_digest(shared: tuple[RowProblem, ...]) -> str | None:
    """The digest of a recent set made of these very objects, without hashing them again:
    every school of a sync shares the fetch's district-wide problems, and an unchanged run
    copies the ones it read (2,000 digests of 5,000 problems took 6 s at R1M)."""
    for digest, known in _RECENT_SETS.items():
        if len(known) == len(shared) and all(a is b for a, b in zip(known, shared, strict=True)):
            return digest
    return None


def _run_columns(run: RunRecord, held: ChangeSet | None, shared: str | None) -> dict[str, Any]:
    return {
        "id": run.id,
        "district_id": run.district_id,
        "school_id": run.school_id,
        "trigger": run.trigger,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "outcome": run.outcome.value,
        "hold_kind": run.hold_kind.value if run.hold_kind is not None else None,
        "changes": to_json(run.changes),
        "counts": to_json(run.counts),
        "error": run.error,
        "roster_version": run.roster_version,
        "requests": run.requests,
        "rows_written": run.rows_written,
        "actor": run.actor,
        "held_school_id": held.school_id if held is not None else None,
        "held_count": len(held.changes) if held is not None else None,
        "shared_problems": shared,
    }


def _run_from_row(
    row: Mapping[Any, Any], findings: tuple[Finding, ...], problems: tuple[RowProblem, ...]
) -> RunRecord:
    hold_kind = row["hold_kind"]
    return RunRecord(
        id=row["id"],
        district_id=row["district_id"],
        school_id=row["school_id"],
        trigger=row["trigger"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        outcome=Outcome(row["outcome"]),
        hold_kind=HoldKind(hold_kind) if hold_kind is not None else None,
        changes=from_json(row["changes"]),
        findings=findings,
        problems=problems,
        error=row["error"],
        counts=from_json(row["counts"]),
        roster_version=row["roster_version"],
        requests=row["requests"],
        rows_written=row["rows_written"],
        actor=row["actor"],
    )
