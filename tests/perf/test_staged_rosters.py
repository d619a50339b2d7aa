"""Rosters built one school at a time from the staging file equal the whole-district build,
in the form a diff takes and in the form a first load writes."""

from __future__ import annotations

from rostersync.domain.records import RowProblem
from rostersync.domain.roster import build_rosters
from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service.fetch import (
    fetch_district,
    fresh_school_roster,
    problems_for_school,
    school_roster,
)
from rostersync.sources.clever.source import CleverSource
from rostersync.storage.staging import SqliteStaging


def records(source: CleverSource) -> tuple[list, list, list]:
    keep = [r for r in source.schools() if not isinstance(r, RowProblem)]
    users = [r for r in source.users() if not isinstance(r, RowProblem)]
    sections = [r for r in source.sections() if not isinstance(r, RowProblem)]
    return keep, users, sections


def test_each_school_roster_equals_the_district_build() -> None:
    data = generate_district(seed=5, students=600, schools=3)
    state = SandboxState.from_data(data)
    state.delete_user(state.users_of_school(data.tables["schools"].ids[0], "student")[0])
    with SandboxServer(state) as server, CleverSource(server.base_url, server.token) as source:
        schools, users, sections = records(source)
        terms = {t.source_id: t for t in source.terms() if not isinstance(t, RowProblem)}
        courses = {c.source_id: c for c in source.courses() if not isinstance(c, RowProblem)}
        whole = build_rosters(schools, users, sections, terms, courses)
        staging = SqliteStaging()
        try:
            fetched = fetch_district(source, staging)
            for school in schools:
                roster, problems = school_roster(fetched, school.source_id)
                assert roster == whole.rosters[school.source_id]
                built = problems_for_school(whole.problems, school.source_id)
                assert [p for p in problems if p in built] == built
                # A first load's build (in write order) holds the same rows and problems.
                fresh, fresh_problems = fresh_school_roster(fetched, school.source_id)
                assert fresh.roster() == roster
                assert fresh_problems == problems
        finally:
            staging.close()
