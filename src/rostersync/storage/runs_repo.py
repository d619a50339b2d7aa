"""Sync runs: what each evaluation found and did, and the change set a hold keeps.

A held change set is stored one row per change (``held_changes``), in order, so a report can
page through a large one and an approval applies exactly the changes that were reviewed.

A run's problems tied to no school come first and are the same for every school of a sync
(and for every unchanged resync after it), so they are stored once per distinct set in
``problem_sets`` under a content digest and shared; only the school's own problems go to
``run_problems``. Reading a run puts the two back together, in the order they were given.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    ScalarSelect,
    Select,
    String,
    and_,
    bindparam,
    insert,
    or_,
    select,
)

from rostersync.domain.changes import ChangeSet
from rostersync.domain.policy import Finding, HoldKind
from rostersync.domain.records import RowProblem
from rostersync.domain.state import Outcome
from rostersync.service.model import RunRecord, SchoolRow, SkipCheck
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
from rostersync.storage.districts_repo import school_from_row
from rostersync.storage.statements import upsert_insert
from rostersync.storage.tables import (
    districts,
    held_changes,
    problem_sets,
    run_findings,
    run_problems,
    schools,
    sync_runs,
)


class RunsRepo:
    """Reads and writes ``sync_runs`` and the rows that hang off a run, on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_run(self, run: RunRecord, held: ChangeSet | None = None) -> None:
        """Write the run, its findings, its own problems, its held change set (if any) and,
        once per distinct set, its district-wide problems (see ``_store_problem_set``)."""
        shared, own = _split(run.problems)
        digest = self._store_problem_set(shared)
        self._conn.execute(_INSERT_RUN, _run_columns(run, held, digest))
        if run.findings:
            self._conn.execute(insert(run_findings), finding_rows(run.id, run.findings))
        if own:
            self._add_problems(run.id, own)
        if held is not None and held.changes:
            rows = [change_row(run.id, seq, c) for seq, c in enumerate(held.changes)]
            self._conn.execute(insert(held_changes), rows)

    def _add_problems(self, run_id: str, own: tuple[RowProblem, ...]) -> None:
        """The run's own problems, in order: on PostgreSQL one statement taking them as a
        JSON array (a multi-row INSERT rendered for each run cost the client about 1 ms a
        school in a resync), elsewhere an ``executemany``."""
        rows = problem_rows(run_id, own)
        if self._conn.dialect.name != "postgresql":
            self._conn.execute(insert(run_problems), rows)
            return
        values = [[row["seq"], *(row[name] for name in _PROBLEM_COLUMNS)] for row in rows]
        self._conn.exec_driver_sql(
            _PROBLEMS_BY_JSON, (run_id, json.dumps(values, ensure_ascii=False))
        )

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

    def part_check(self, school_id: str) -> tuple[SkipCheck, int] | None:
        """The school's ``SkipCheck`` (its last run's problems not looked at:
        ``problems_from`` is ``None``) and its district's roster total, in one statement;
        ``None`` if there is no such school."""
        row = self._conn.execute(_PART_CHECK, {"b_school_id": school_id}).first()
        if row is None:
            return None
        found = row._mapping
        run_id = found["last_run_id"]
        digest, stamp = found["input_digest"], found["digest_stamp"]
        check = SkipCheck(
            school=school_from_row(found),
            input_check=None if digest is None or stamp is None else (str(digest), int(stamp)),
            last_run_id=run_id,
            last_outcome=Outcome(found["last_outcome"]) if run_id is not None else None,
            last_counts=from_json(found["last_counts"]) if run_id is not None else {},
            problems_from=None,
        )
        return check, int(found["roster_total"] or 0)

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
        store the same set at once. Whether a set is stored is known for the rest of the
        transaction that found or wrote it (the schools of a sync's batch share one), never
        beyond it: a rolled-back unit of work must not leave a digest believed stored.
        """
        if not shared:
            return None
        digest = _known_digest(shared) or problem_set_digest(shared)
        _remember(digest, shared)
        if digest in self._sets_stored():
            return digest
        if self._conn.execute(_SET_STORED, {"b_digest": digest}).first() is None:
            stmt = upsert_insert(self._conn, problem_sets).on_conflict_do_nothing()
            self._conn.execute(stmt, problem_set_rows(digest, shared))
        self._sets_stored().add(digest)  # (the transaction those statements began)
        return digest

    def _sets_stored(self) -> set[str]:
        """The digests of the problem sets this connection's open transaction found or wrote
        (problem sets are never deleted, so they stay stored until it ends); a new set for
        each transaction, and for none."""
        transaction = self._conn.get_transaction()
        if transaction is None:
            return set()
        held = self._conn.info.get(_SETS_KEY)
        if held is None or held[0] is not transaction:
            held = (transaction, set())
            self._conn.info[_SETS_KEY] = held
        return held[1]

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

    # unchanged runs in bulk (service.unchanged)
    def skip_checks(self, district_id: str, start: SchoolRow, limit: int) -> list[SkipCheck]:
        """``start`` and the schools after it in ``list_schools`` order (``limit`` in all),
        each with its input check and its last run's header, in one statement: the window of
        schools first, then each one's last run through the (school_id, started_at) index."""
        after = or_(
            schools.c.name > start.name,
            and_(schools.c.name == start.name, schools.c.id >= start.id),
        )
        window = (
            select(schools)
            .where(schools.c.district_id == district_id, after)
            .order_by(schools.c.name, schools.c.id)
            .limit(limit)
            .subquery("w")
        )
        last_id = _last_run_id(window.c.id)
        with_last = select(window, last_id.label("last_run_id")).subquery("wl")
        last = sync_runs.alias("last")
        # Its first own problem: a run stored before migration 0004 kept its district-wide
        # problems (no school id) as its own.
        first = run_problems.alias("first")
        stmt = (
            select(
                *(with_last.c[c.name] for c in schools.columns),
                last.c.id.label("last_run_id"),
                last.c.outcome.label("last_outcome"),
                last.c.counts.label("last_counts"),
                last.c.shared_problems.label("last_shared"),
                first.c.school_id.label("last_first_problem_school"),
            )
            .select_from(
                with_last.outerjoin(last, last.c.id == with_last.c.last_run_id).outerjoin(
                    first, and_(first.c.run_id == last.c.id, first.c.seq == 0)
                )
            )
            .order_by(with_last.c.name, with_last.c.id)
        )
        return [_skip_check(row._mapping) for row in self._conn.execute(stmt)]

    def runs_problems(self, run_ids: Sequence[str]) -> dict[str, tuple[RowProblem, ...]]:
        """Each run's problems as ``get_run`` reads them, one statement per 4,096 runs (the
        shared sets come from those read lately when they can)."""
        own: dict[str, list[RowProblem]] = {}
        shared: dict[str, str | None] = {}
        for at in range(0, len(run_ids), _IN_CHUNK):
            query = (
                select(
                    sync_runs.c.id.label("run_id"),
                    sync_runs.c.shared_problems,
                    run_problems.c.seq,
                    *(run_problems.c[name] for name in _PROBLEM_COLUMNS),
                )
                .select_from(
                    sync_runs.outerjoin(run_problems, run_problems.c.run_id == sync_runs.c.id)
                )
                .where(sync_runs.c.id.in_(run_ids[at : at + _IN_CHUNK]))
                .order_by(sync_runs.c.id, run_problems.c.seq)
            )
            for row in self._conn.execute(query):
                problems = own.setdefault(row.run_id, [])
                shared[row.run_id] = row.shared_problems
                if row.seq is not None:
                    problems.append(problem_from_row(row._mapping))
        sets = self._problem_sets({d for d in shared.values() if d is not None})
        return {
            run_id: _shared_set(sets, shared[run_id]) + tuple(problems)
            for run_id, problems in own.items()
        }

    def add_unchanged_runs(self, runs: Sequence[tuple[RunRecord, str | None]]) -> None:
        """Store runs that repeat another run's problems (see ``SkipCheck.problems_from``):
        each run's row in one executemany of INSERT ... SELECT taking the other run's
        problem-set digest, and its own problems copied from the other run's in another.
        A run paired with ``None`` is stored by ``add_run``."""
        copies: list[tuple[RunRecord, str]] = []
        for run, source in runs:
            if run.findings:
                raise ValueError(
                    f"Run {run.id} has findings; store it with add_run, which keeps them."
                )
            if source is None:
                self.add_run(run)
            else:
                copies.append((run, source))
        if not copies:
            return
        rows = [
            {
                **{f"b_{k}": v for k, v in _run_columns(run, None, None).items()},
                "b_source": source,
            }
            for run, source in copies
        ]
        inserted = self._conn.execute(_INSERT_COPIED_RUN, rows).rowcount
        if self._conn.dialect.supports_sane_multi_rowcount and inserted != len(rows):
            raise LookupError(
                f"Only {inserted} of {len(rows)} runs to copy problems from were found. "
                "Roll the unit of work back, and pass ids of stored runs "
                "(SkipCheck.problems_from)."
            )
        self._conn.execute(
            _COPY_OWN_PROBLEMS, [{"b_run_id": r.id, "b_source": s} for r, s in copies]
        )


Problems = tuple[RowProblem, ...]

# Where a connection keeps the problem sets its open transaction knows stored (with it).
_SETS_KEY = "rostersync.problem_sets_stored"

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


def _same(known: Problems, problems: Sequence[RowProblem]) -> bool:
    """Whether ``problems`` are the problems of ``known``, in order: the same objects as a
    rule (a tuple comparison tries identity first, in C, at a few ns an item), else equal."""
    return known[0] is problems[0] and known == tuple(problems)


def _known_digest(shared: tuple[RowProblem, ...]) -> str | None:
    """The digest of a recent set made of these very objects, without hashing them again:
    every school of a sync shares the fetch's district-wide problems, and an unchanged run
    copies the ones it read (2,000 digests of 5,000 problems took 6 s at R1M)."""
    for digest, known in _RECENT_SETS.items():
        if len(known) == len(shared) and _same(known, shared):
            return digest
    return None


def _split(
    problems: tuple[RowProblem, ...],
) -> tuple[tuple[RowProblem, ...], tuple[RowProblem, ...]]:
    """``split_problems``, without looking at each district-wide problem in Python when the
    run's problems start with a recent set (the same objects, as every school of a sync
    shares): the set, compared in C, and whatever follows it (from the first problem with a
    school id on)."""
    for known in reversed(_RECENT_SETS.values()):
        cut = len(known)
        if (
            cut
            and len(problems) >= cut
            and problems[cut - 1] is known[-1]
            and _same(known, problems[:cut])
            and (len(problems) == cut or problems[cut].school_id != "")
        ):
            return known, problems[cut:]
    return split_problems(problems)


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


def _shared_set(
    sets: Mapping[str, tuple[RowProblem, ...]], digest: str | None
) -> tuple[RowProblem, ...]:
    return sets.get(digest, ()) if digest is not None else ()


def _skip_check(row: Mapping[Any, Any]) -> SkipCheck:
    run_id = row["last_run_id"]
    digest, stamp = row["input_digest"], row["digest_stamp"]
    old_layout = row["last_shared"] is None and row["last_first_problem_school"] == ""
    return SkipCheck(
        school=school_from_row(row),
        input_check=None if digest is None or stamp is None else (str(digest), int(stamp)),
        last_run_id=run_id,
        last_outcome=Outcome(row["last_outcome"]) if run_id is not None else None,
        last_counts=from_json(row["last_counts"]) if run_id is not None else {},
        problems_from=run_id if not old_layout else None,
    )


# Ids per IN list: well under SQLite's and PostgreSQL's limits on bound parameters.
_IN_CHUNK = 4096
_PROBLEM_COLUMNS = ("severity", "entity", "source_id", "code", "message", "school_id")
# A run's own problems on PostgreSQL (``RunsRepo._add_problems``): the run id, then the rows
# as one JSON array of [seq, then the columns above].
_PROBLEMS_BY_JSON = (
    "INSERT INTO run_problems (run_id, seq, severity, entity, source_id, code, message,"
    " school_id) SELECT %s, (v->>0)::integer, v->>1, v->>2, v->>3, v->>4, v->>5, v->>6"
    " FROM jsonb_array_elements(%s::jsonb) AS v"
)


def _copied_run_insert() -> Insert:
    """INSERT INTO sync_runs ... SELECT the new run's values (``b_<column>``) and the
    problem-set digest of the run ``b_source``."""
    source = sync_runs.alias("source")
    names = [c.name for c in sync_runs.columns if c.name != "shared_problems"]
    values = [bindparam(f"b_{name}", type_=sync_runs.c[name].type) for name in names]
    copied = select(*values, source.c.shared_problems).where(
        source.c.id == bindparam("b_source", type_=String())
    )
    return insert(sync_runs).from_select([*names, "shared_problems"], copied)


def _own_problems_copy() -> Insert:
    """INSERT INTO run_problems ... SELECT the own problems of run ``b_source`` for the
    run ``b_run_id``, in the same order."""
    source = run_problems.alias("source")
    copied = select(
        bindparam("b_run_id", type_=String()),
        source.c.seq,
        *(source.c[name] for name in _PROBLEM_COLUMNS),
    ).where(source.c.run_id == bindparam("b_source", type_=String()))
    return insert(run_problems).from_select(["run_id", "seq", *_PROBLEM_COLUMNS], copied)


def _last_run_id(school_id: ColumnElement[Any]) -> ScalarSelect[Any]:
    """The id of the latest run of the school ``school_id`` names (a correlated subquery,
    through the (school_id, started_at) index)."""
    runs = sync_runs.alias("r")
    return (
        select(runs.c.id)
        .where(runs.c.school_id == school_id)
        .order_by(runs.c.started_at.desc(), runs.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _part_check() -> Select[Any]:
    """The school (``b_school_id``), its district's roster total and its last run's header
    (through the (school_id, started_at) index)."""
    last_id = _last_run_id(schools.c.id)
    last = sync_runs.alias("last")
    return (
        select(
            schools,
            districts.c.roster_total,
            last.c.id.label("last_run_id"),
            last.c.outcome.label("last_outcome"),
            last.c.counts.label("last_counts"),
        )
        .select_from(
            schools.outerjoin(districts, districts.c.id == schools.c.district_id).outerjoin(
                last, last.c.id == last_id
            )
        )
        .where(schools.c.id == bindparam("b_school_id", type_=String()))
    )


# Built once: each statement's cache key is then memoized, not walked again per school.
_INSERT_RUN = insert(sync_runs)
_SET_STORED = (
    select(problem_sets.c.digest)
    .where(problem_sets.c.digest == bindparam("b_digest", type_=String()))
    .limit(1)
)
_PART_CHECK = _part_check()
_INSERT_COPIED_RUN = _copied_run_insert()
_COPY_OWN_PROBLEMS = _own_problems_copy()
