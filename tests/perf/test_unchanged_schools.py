"""A healthy school whose inputs did not change is skipped; anything doubtful is checked.

The skip is observed by counting the schools whose desired roster is built, whole
(``service.sync.school_roster``, or ``fresh_school_roster`` for a school never applied) or
in part (``service.partial.school_roster_part``): a skipped school is never built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rostersync.domain.state import Outcome
from rostersync.service import holds, partial, sync
from tests.integration.conftest import Env, decode_table


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The source ids of the schools whose roster each sync built, in order."""
    names: list[str] = []

    def counting(original: Callable[..., Any]) -> Callable[..., Any]:
        def build(fetched: Any, school_source_id: str, *args: Any) -> Any:
            names.append(school_source_id)
            return original(fetched, school_source_id, *args)

        return build

    monkeypatch.setattr(sync, "school_roster", counting(sync.school_roster))
    monkeypatch.setattr(sync, "fresh_school_roster", counting(sync.fresh_school_roster))
    monkeypatch.setattr(partial, "school_roster_part", counting(partial.school_roster_part))
    return names


def source_ids(env: Env) -> list[str]:
    return [s["id"] for s in decode_table(env.data, "schools")]


def outcomes(result: sync.SyncResult) -> list[Outcome]:
    return [run.outcome for run in result.runs]


def test_an_unchanged_resync_builds_nothing_and_keeps_the_report(
    env: Env, built: list[str]
) -> None:
    first = env.sync()
    assert sorted(built) == sorted(source_ids(env))
    built.clear()
    second = env.sync()
    assert built == []
    assert set(outcomes(second)) == {Outcome.UNCHANGED}
    before = {run.school_id: (run.problems, run.counts) for run in first.runs}
    assert {run.school_id: (run.problems, run.counts) for run in second.runs} == before


def test_a_change_in_one_school_checks_that_school_alone(env: Env, built: list[str]) -> None:
    env.sync()
    a, *others = source_ids(env)
    elsewhere = {u for b in others for u in env.state.users_of_school(b, "student")}
    student = min(set(env.state.users_of_school(a, "student")) - elsewhere)
    record = env.state.record("users", student)
    record["name"]["first"] = "Renamed"
    env.state.upsert_user(record)
    built.clear()
    result = env.sync()
    assert built == [a]
    assert result.partial == 1  # from the rows the change reaches (the fetch cache knows it)
    by_school = {run.school_id: run.outcome for run in result.runs}
    assert by_school.pop(env.school(a).id) is Outcome.APPLIED
    assert set(by_school.values()) == {Outcome.UNCHANGED}
    built.clear()
    env.sync()
    assert built == []


def test_an_apply_outside_the_run_forces_a_full_check(env: Env, built: list[str]) -> None:
    env.sync()
    a = source_ids(env)[0]
    env.state.remove_share_of_students(a, 0.3)
    built.clear()
    held = env.sync()
    assert a in built
    assert Outcome.HELD in outcomes(held)
    built.clear()
    env.sync()
    assert built == [a]  # a held school is checked on every run
    holds.confirm_removals(env.services, a, actor="admin@x")
    built.clear()
    env.sync()
    assert sorted(built) == sorted(source_ids(env))
