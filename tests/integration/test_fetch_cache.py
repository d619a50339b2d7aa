"""The fetch cache: a resync stages only the users that changed since the last fetch, and
ends with the roster a sync without a cache gives. A cache that is damaged, of another
version, left by a failed fetch or in use elsewhere is never trusted."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from rostersync.bootstrap import build_services
from rostersync.domain.records import RowProblem
from rostersync.domain.roster import SchoolRoster
from rostersync.domain.state import Outcome
from rostersync.service import districts
from rostersync.service.context import Services
from rostersync.service.sync import sync_district
from rostersync.settings import Settings
from rostersync.sources.clever import mapping
from rostersync.sources.clever.retry import RetryPolicy
from rostersync.sources.clever.source import CleverSource
from rostersync.storage import SqlStore, upgrade_database
from rostersync.storage.staging import SqliteStaging
from rostersync.storage.staging_file import cache_path

from .conftest import Env, fast_sources

PAGE = 250


def _user_count(env: Env) -> int:
    return len(env.data.tables["users"].ids)


def _rosters(store: SqlStore, district_id: str) -> dict[str, SchoolRoster]:
    with store.unit_of_work() as uow:
        # keyed and labelled by the school's Clever id (store ids differ between stores)
        return {
            s.source_id: replace(uow.load_roster(s.id), school_id=s.source_id)
            for s in uow.list_schools(district_id)
        }


def _without_cache(env: Env, tmp_path: Path) -> dict[str, SchoolRoster]:
    """The rosters a store with no fetch cache syncs from the same sandbox."""
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    upgrade_database(url)
    store = SqlStore(url)
    try:
        services = Services(store=store, sources=fast_sources)
        config = districts.add_district(services, "Plain", env.server.token, env.server.base_url)
        assert not sync_district(services, config.id).error
        return _rosters(store, config.id)
    finally:
        store.dispose()


def _cache_file(env: Env) -> str:
    assert env.store.fetch_cache_dir is not None
    return cache_path(env.store.fetch_cache_dir, env.store.engine.url, env.district_id)


def _edit_name(env: Env, user_id: str, first: str) -> None:
    user = env.state.require("users", user_id)
    user["name"]["first"] = first
    env.state.upsert_user(user)


def test_a_resync_stages_only_the_users_that_changed(env: Env, tmp_path: Path) -> None:
    everyone = _user_count(env)
    assert env.sync().staged_users == everyone

    again = env.sync()
    assert again.staged_users == 0
    assert {run.outcome for run in again.runs} == {Outcome.UNCHANGED}

    school = env.data.tables["schools"].ids[0]
    students = env.state.users_of_school(school, "student")
    _edit_name(env, students[0], "Renamed")
    env.state.delete_user(students[1])  # its contacts change too (one relationship fewer)
    changed = env.sync()

    assert changed.staged_users >= 1
    assert changed.staged_users < everyone // 10
    assert _rosters(env.store, env.district_id) == _without_cache(env, tmp_path)


@pytest.mark.plain_python
def test_a_first_load_decodes_each_user_once_and_a_resync_maps_only_the_changed(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: Counter[str] = Counter()
    # ``_convert_user``: every user's mapping, by whichever of the mapping's entry points
    for name in ("_convert_user", "convert_user_item"):
        original = getattr(mapping, name)

        def counted(raw: bytes, out: list[RowProblem], *args, name=name, original=original):
            calls[name] += 1
            return original(raw, out, *args)

        monkeypatch.setattr(mapping, name, counted)
    everyone = _user_count(env)
    assert env.sync().staged_users == everyone
    # no last fetch: each item mapped as it is read, its id not read on its own first
    assert calls == {"_convert_user": everyone}

    calls.clear()
    students = env.state.users_of_school(env.data.tables["schools"].ids[0], "student")
    _edit_name(env, students[0], "Renamed")
    assert env.sync().staged_users == 1
    # merging: the ids of the changed page's items read, the one changed user mapped
    assert calls["_convert_user"] == 1
    assert 1 <= calls["convert_user_item"] < everyone


def test_a_resync_passes_over_the_pages_of_users_that_came_back_the_same(
    env: Env, tmp_path: Path
) -> None:
    def small_pages(base_url: str, token: str) -> CleverSource:
        return CleverSource(base_url, token, page_size=PAGE, retry=RetryPolicy(attempts=1))

    env.services = replace(env.services, sources=small_pages)
    pages = -(-_user_count(env) // PAGE)
    assert env.sync().skipped_pages == 0
    assert env.sync().skipped_pages == pages

    users = sorted(env.data.tables["users"].ids)  # as listed
    _edit_name(env, users[PAGE + 1], "Renamed")  # on the second page
    changed = env.sync()

    assert (changed.skipped_pages, changed.staged_users) == (pages - 1, 1)
    assert _rosters(env.store, env.district_id) == _without_cache(env, tmp_path)


def test_a_resync_passes_over_the_pages_of_sections_that_came_back_the_same(
    env: Env, tmp_path: Path
) -> None:
    sections = sorted(env.data.tables["sections"].ids)  # as listed
    size = len(sections) // 3  # three pages of sections (and more of users)

    def small_pages(base_url: str, token: str) -> CleverSource:
        return CleverSource(base_url, token, page_size=size, retry=RetryPolicy(attempts=1))

    env.services = replace(env.services, sources=small_pages)
    pages = -(-len(sections) // size)
    assert size >= 8
    first = env.sync()
    assert (first.skipped_section_pages, first.staged_sections) == (0, len(sections))
    again = env.sync()
    assert (again.skipped_section_pages, again.staged_sections) == (pages, 0)

    section = env.state.require("sections", sections[size + 1])  # on the second page
    env.state.upsert_section({**section, "name": "Renamed"})
    changed = env.sync()

    # its page is read, a chunk at a time (the chunks around it are passed over)
    assert changed.skipped_section_pages == pages - 1
    assert 1 <= changed.staged_sections <= size
    renamed = env.school(section["school"]).id
    assert {run.school_id for run in changed.runs if run.outcome is Outcome.APPLIED} == {renamed}
    assert _rosters(env.store, env.district_id) == _without_cache(env, tmp_path)


def test_a_student_moving_school_changes_both_schools(env: Env, tmp_path: Path) -> None:
    env.sync()
    first, second = env.data.tables["schools"].ids[:2]
    student = env.state.users_of_school(first, "student")[0]
    env.state.move_student(student, second)

    result = env.sync()

    applied = {run.school_id for run in result.runs if run.outcome is Outcome.APPLIED}
    assert {env.school(first).id, env.school(second).id} <= applied
    assert _rosters(env.store, env.district_id) == _without_cache(env, tmp_path)


def test_a_failed_fetch_leaves_no_cache_behind(env: Env) -> None:
    env.sync()
    _edit_name(env, env.state.users_of_school(env.data.tables["schools"].ids[0], "student")[0], "X")
    env.state.faults.add(r"^/v3.0/sections$", "503", count=-1)

    failed = env.sync()

    assert failed.error
    assert not Path(_cache_file(env)).exists()
    env.state.faults.clear()
    assert env.sync().staged_users == _user_count(env)


@pytest.mark.parametrize("damage", ["garbage", "dirty", "old_version"])
def test_an_untrustworthy_cache_is_rebuilt(env: Env, tmp_path: Path, damage: str) -> None:
    env.sync()
    path = _cache_file(env)
    if damage == "garbage":
        Path(path).write_bytes(b"not a database" * 1000)
    else:
        db = sqlite3.connect(path)
        key, value = ("state", "dirty") if damage == "dirty" else ("version", "0")
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
        db.commit()
        db.close()

    result = env.sync()

    assert result.staged_users == _user_count(env)
    assert _rosters(env.store, env.district_id) == _without_cache(env, tmp_path)
    assert env.sync().staged_users == 0


def test_a_cache_in_use_elsewhere_is_left_alone(env: Env) -> None:
    env.sync()
    holder = SqliteStaging(_cache_file(env))  # another process would hold the same lock
    try:
        result = env.sync()
    finally:
        holder.close()

    assert result.staged_users == _user_count(env)  # staged in a temporary file
    assert {run.outcome for run in result.runs} == {Outcome.UNCHANGED}


def test_the_cache_is_private_to_its_user(env: Env) -> None:
    env.sync()
    path = Path(_cache_file(env))

    assert path.stat().st_mode & 0o777 == 0o600
    assert Path(f"{path}.lock").stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_a_deployment_keeps_its_caches_where_the_settings_say(tmp_path: Path) -> None:
    database = tmp_path / "rs.db"
    key = str(tmp_path / "key")
    default = build_services(Settings(database_url=f"sqlite:///{database}", secret_key_file=key))
    chosen = build_services(
        Settings(
            database_url=f"sqlite:///{database}",
            secret_key_file=key,
            fetch_cache_dir=str(tmp_path / "elsewhere"),
        )
    )
    off = build_services(
        Settings(database_url=f"sqlite:///{database}", secret_key_file=key, fetch_cache_dir="off")
    )

    assert isinstance(default.store, SqlStore) and isinstance(chosen.store, SqlStore)
    assert isinstance(off.store, SqlStore)
    assert default.store.fetch_cache_dir == f"{database}.fetch"
    assert chosen.store.fetch_cache_dir == str(tmp_path / "elsewhere")
    assert off.store.fetch_cache_dir is None
    for services in (default, chosen, off):
        services.store.dispose()


def test_schools_evaluated_in_part_share_one_transaction(env: Env, tmp_path: Path) -> None:
    """A change in every school: each is evaluated in part, and the batch commits once
    (``service.partial.PartBatch``), ending as a sync without a cache does."""
    env.sync()
    schools = env.data.tables["schools"].ids
    for school in schools:
        _edit_name(env, env.state.users_of_school(school, "student")[0], "Batched")
    points: list[str] = []
    # However slow the machine, the batch's time limit does not end it early.
    env.services = replace(env.services, checkpoint=points.append, batch_seconds=3600)

    result = env.sync()

    assert result.partial == len(schools) == 3
    assert points.count("after_commit") == 1
    assert {run.outcome for run in result.runs} == {Outcome.APPLIED}
    assert _rosters(env.store, env.district_id) == _without_cache(env, tmp_path)


def test_a_first_load_shares_one_transaction_between_schools(env: Env) -> None:
    """No school of a first load can be skipped (none is healthy yet), so none ends the
    batch's transaction for a skip's: the schools commit together, not one by one."""
    points: list[str] = []
    # However slow the machine, the batch's time limit does not end it early.
    env.services = replace(env.services, checkpoint=points.append, batch_seconds=3600)

    result = env.sync()

    assert len(result.runs) == len(env.data.tables["schools"].ids) == 3
    assert {run.outcome for run in result.runs} == {Outcome.APPLIED}
    assert points.count("after_commit") == 1


def test_a_batch_with_no_time_left_commits_each_school_on_its_own(env: Env) -> None:
    """``Services.batch_seconds`` bounds how long the schools share a transaction (and the
    district lock): at zero, each school commits as soon as it is written."""
    points: list[str] = []
    env.services = replace(env.services, checkpoint=points.append, batch_seconds=0)

    result = env.sync()

    assert {run.outcome for run in result.runs} == {Outcome.APPLIED}
    assert points.count("after_commit") == len(result.runs) == 3


def test_a_failure_in_a_batch_rolls_back_its_schools_and_the_next_sync_applies_them(
    env: Env, tmp_path: Path
) -> None:
    env.sync()
    schools = env.data.tables["schools"].ids
    before = {school: env.roster(school) for school in schools}
    for school in schools:
        _edit_name(env, env.state.users_of_school(school, "student")[0], "Rolled")
    applies: list[str] = []

    def fail_in_the_second_school(point: str) -> None:
        if point == "mid_apply":
            applies.append(point)
            if len(applies) == 2:
                raise RuntimeError("the process died here")

    crashing = replace(env.services, checkpoint=fail_in_the_second_school)
    with pytest.raises(RuntimeError):
        sync_district(crashing, env.district_id)

    # the first school shared the second's transaction: neither kept anything
    assert {school: env.roster(school) for school in schools} == before
    result = env.sync()
    assert {run.outcome for run in result.runs} == {Outcome.APPLIED}
    assert _rosters(env.store, env.district_id) == _without_cache(env, tmp_path)
