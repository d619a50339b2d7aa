"""Fetch a whole district from its source, spilling it to a staging area school by school.

The fetch is all or nothing: any page that fails after the client's retries raises, and
the caller fails the run without touching the roster. A partial list is never taken as
"these records were removed".

Records stream page by page into a ``RosterStaging`` (a file) with the schools they belong
to, so the district is never held in memory; ``school_roster`` then builds one school's
desired roster from its own records. Schools, terms and courses are few and stay in memory.

Users arrive with only their ids read; one the staging area already holds unchanged from
the district's last fetch (its fetch cache) is not mapped or staged again, and the others
are mapped and staged with their mapping problems. Sections likewise come a page and a run
of items at a time: one the staging area already holds whole is passed over unread, and the
others are mapped and staged. A user's mapping alerts appear on the
reports of the schools it belongs to, directly or as a contact of their students (a
contact's alerts then carry that school's id); the alerts of users who belong to no school
in the share (district admins, users without a role, contacts of unknown students only)
appear on every school's report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

from rostersync.domain.partial import Scope, build_school_part
from rostersync.domain.records import (
    CourseRecord,
    DistrictRecord,
    MappedUser,
    RawItem,
    RowProblem,
    SchoolRecord,
    SectionRecord,
    Severity,
    TermRecord,
    UserRecord,
)
from rostersync.domain.roster import (
    FreshRoster,
    SchoolRoster,
    build_fresh_roster,
    build_school_roster,
    placement,
    unknown_student,
)
from rostersync.service.ports import RosterSource, RosterStaging

T = TypeVar("T")

# District states that mean the connection is not usable (see the Clever wire notes).
BROKEN_DISTRICT_STATES: dict[str, str] = {
    "error": "Clever reports the district's sync is in an error state",
    "paused": "Clever reports the district's sync is paused",
}


@dataclass(slots=True)
class FetchedDistrict:
    """A completed fetch: the small tables in memory, the people and sections staged."""

    district: DistrictRecord
    schools: dict[str, SchoolRecord]
    terms: dict[str, TermRecord]
    courses: dict[str, CourseRecord]
    staging: RosterStaging
    unknown: list[RowProblem]
    requests: int
    # Per school (source id), a digest of its staged records (``RosterStaging.input_digests``).
    digests: dict[str, str]
    # The mapping problems of users who belong to no school in the fetch (every report).
    unplaced: list[RowProblem]
    # How many users differed from the last fetch (all of them without a fetch cache).
    staged_users: int = 0
    # How many pages of users came back as the last fetch staged them, and were passed over.
    skipped_pages: int = 0
    # How many sections were mapped and staged (those of chunks not passed over), and how
    # many pages of sections were passed over.
    staged_sections: int = 0
    skipped_section_pages: int = 0


def split(items: Iterable[T | RowProblem], problems: Callable[[RowProblem], None]) -> Iterator[T]:
    """Yield the records and hand the row problems to ``problems``."""
    for item in items:
        if isinstance(item, RowProblem):
            problems(item)
        else:
            yield item


def district_breakage(district: DistrictRecord) -> str | None:
    """A sentence saying why the district's connection is unusable, or ``None``."""
    reason = BROKEN_DISTRICT_STATES.get(district.state)
    if reason is None:
        return None
    detail = f": {district.error}" if district.error else ""
    return f"{reason}{detail}. Fix it in Clever, then use 'I fixed it'."


def fetch_district(
    source: RosterSource,
    staging: RosterStaging,
    progress: Callable[[str], None] | None = None,
) -> FetchedDistrict:
    """Read everything the source shares into ``staging``. Raises ``SourceError`` on any
    incomplete read (the caller closes the staging area either way)."""
    note = progress or (lambda _stage: None)
    problem = staging.add_problem
    district = source.district()
    note("schools")
    schools = {s.source_id: s for s in split(source.schools(), problem)}
    note("terms")
    terms = {t.source_id: t for t in split(source.terms(), problem)}
    note("courses")
    courses = {c.source_id: c for c in split(source.courses(), problem)}
    note("users")
    staged, skipped = _stage_users(source, staging)
    note("sections")
    sections, section_pages = _stage_sections(source, staging)
    staging.finish()
    unplaced = [p for user in staging.unplaced_users() for p in user.problems]
    pairs = staging.unknown_students()
    unplaced += _stranded_contacts(staging, pairs)
    return FetchedDistrict(
        district,
        schools,
        terms,
        courses,
        staging,
        [unknown_student(c, s) for c, s in pairs],
        source.requests_made,
        staging.input_digests(),
        unplaced,
        staged,
        skipped,
        sections,
        section_pages,
    )


def _stage_users(source: RosterSource, staging: RosterStaging) -> tuple[int, int]:
    """Stage the users that differ from the last fetch, mapped; how many, and how many
    pages were passed over. A page the last fetch staged whole and that came back the same
    is passed over unread; so is each run of items (a chunk) of the other pages that did;
    the rest cost an id read and a hash each, and a mapping if they changed. With no last
    fetch to merge into (a first load), each item is mapped as it is read instead."""
    staged = skipped = 0
    for page in source.user_pages(mapped=not staging.merging):
        key = page.key
        if key is not None and staging.unchanged_page(key):
            page.skip()
            skipped += 1
            continue
        whole = key is not None
        chunks = list(page.chunks())
        known = staging.known_chunks([chunk.key for chunk in chunks], key)
        for chunk in chunks:
            ids = known.get(chunk.key)
            if ids is not None and chunk.follows(ids[0]) and staging.pass_over(*ids):
                chunk.skip(*ids)
                staging.add_chunk(chunk.key, *ids)
                continue
            added, clean, first, last = _stage_items(source, staging, chunk.items())
            staged += added
            whole = whole and clean
            if clean and first:
                staging.add_chunk(chunk.key, first, last)
        if whole and key is not None:
            staging.add_page(key)
    return staged, skipped


def _stage_items(
    source: RosterSource, staging: RosterStaging, items: Iterable[RawItem | RowProblem]
) -> tuple[int, bool, str, str]:
    """Stage what changed among ``items``: how many users were staged, whether every item
    is a staged user (no problem of the list, no user that could not be mapped), and the
    first and last ids."""
    staged = 0
    clean = True
    first = last = ""
    for item in items:
        if isinstance(item, RowProblem):
            staging.add_problem(item)
            clean = False
            continue
        user_id, raw, mapped = item
        first = first or user_id
        last = user_id
        if staging.unchanged_user(user_id, raw):
            continue
        if mapped is not None:
            staging.add_user(mapped)
            staged += 1
            continue
        problems: list[RowProblem] = []
        user = source.map_user(raw, problems)
        if user is None:
            for problem in problems:
                staging.add_problem(problem)
            clean = False
        else:
            staging.add_user(MappedUser(user, tuple(problems)))
            staged += 1
    return staged, clean, first, last


def _stage_sections(source: RosterSource, staging: RosterStaging) -> tuple[int, int]:
    """Stage the sections, a run of items (chunk) at a time; how many were mapped, and how
    many pages were passed over. A page or chunk the last fetch staged whole (every item a
    section without a problem, so none is reported again by passing it over) and that
    came back the same is passed over unread."""
    mapped = skipped = 0
    for page in source.section_pages():
        key = page.key
        if key is not None and staging.unchanged_section_page(key):
            page.skip()
            skipped += 1
            continue
        whole = key is not None
        chunks = list(page.chunks())
        known = staging.known_section_chunks([chunk.key for chunk in chunks])
        for chunk in chunks:
            ids = known.get(chunk.key)
            if ids is not None and chunk.follows(ids[0]):
                chunk.skip(*ids)
                staging.keep_section_chunk(chunk.key)
                continue
            added, clean, first, last = _stage_section_items(staging, chunk.items())
            mapped += added
            staging.end_section_chunk(chunk.key, first, last, clean and added > 0)
            whole = whole and clean
        if whole and key is not None:
            staging.add_section_page(key)
    return mapped, skipped


def _stage_section_items(
    staging: RosterStaging, items: Iterable[SectionRecord | RowProblem]
) -> tuple[int, bool, str, str]:
    """Stage ``items``: how many sections, whether there was no problem, the first and last
    ids."""
    added = 0
    clean = True
    first = last = ""
    for item in items:
        if isinstance(item, RowProblem):
            staging.add_problem(item)
            clean = False
            continue
        staging.add_section(item)
        added += 1
        first = first or item.source_id
        last = item.source_id
    return added, clean, first, last


def _stranded_contacts(staging: RosterStaging, unknown: list[tuple[str, str]]) -> list[RowProblem]:
    """The mapping problems of contacts whose every student is unknown (and who belong to
    no school themselves): no school's check shows them, so every school's report does."""
    missing: dict[str, set[str]] = {}
    for contact, student in unknown:
        missing.setdefault(contact, set()).add(student)
    problems: list[RowProblem] = []
    for contact, students in missing.items():
        staged = staging.user(contact)
        if staged is None:
            continue
        schools, linked = placement(staged.record)
        if not schools and set(linked) <= students:
            problems += staged.problems
    return problems


def school_roster(
    fetched: FetchedDistrict, school_source_id: str, staged: list[RowProblem] | None = None
) -> tuple[SchoolRoster, list[RowProblem]]:
    """The school's desired roster and the row problems its report shows (``staged``: its
    staged problems, when the caller already read them).

    The problems come district-wide first (``school_id`` empty: the same list for every
    school of the fetch, which the store keeps once), then the school's own. A contact's
    mapping alerts, found while mapping this school's users, are the school's own."""
    return _built(build_school_roster, fetched, school_source_id, staged)


def fresh_school_roster(
    fetched: FetchedDistrict, school_source_id: str, staged: list[RowProblem] | None = None
) -> tuple[FreshRoster, list[RowProblem]]:
    """``school_roster`` in the form a first load writes (``domain.roster.FreshRoster``):
    the same rows and the same row problems, built for a school whose store holds none."""
    return _built(build_fresh_roster, fetched, school_source_id, staged)


B = TypeVar("B", SchoolRoster, FreshRoster)


def _built(
    build: Callable[..., tuple[B, list[RowProblem]]],
    fetched: FetchedDistrict,
    school_source_id: str,
    staged: list[RowProblem] | None,
) -> tuple[B, list[RowProblem]]:
    """The school's roster by ``build`` from its staged records, and its row problems."""
    staging = fetched.staging
    users, mapped = _records(staging.school_users(school_source_id))
    roster, built = build(
        school_source_id,
        users,
        staging.school_sections(school_source_id),
        fetched.terms,
        fetched.courses,
        fetched.unknown,
    )
    return roster, _school_problems(fetched, school_source_id, staged, mapped, built)


def school_roster_part(
    fetched: FetchedDistrict,
    school_source_id: str,
    staged: list[RowProblem],
    scope: Scope,
    shared: SharedProblems | None = None,
) -> tuple[SchoolRoster, list[RowProblem]]:
    """``school_roster`` restricted to ``scope`` (``domain.partial``), with the same row
    problems; only the school's users in scope or with problems of their own are read.
    ``shared``: ``shared_problems(fetched)``, split once for every school of the fetch."""
    staging = fetched.staging
    users, mapped = _records(staging.school_users_part(school_source_id, scope))
    roster, built = build_school_part(
        school_source_id,
        users,
        staging.school_roles(school_source_id),
        staging.school_sections(school_source_id),
        fetched.terms,
        fetched.courses,
        (_UNKNOWN,),
        scope,
    )
    shared = shared if shared is not None else shared_problems(fetched)
    return roster, _part_problems(shared, school_source_id, staged, mapped, built)


def _records(staged: Iterable[MappedUser]) -> tuple[list[UserRecord], list[RowProblem]]:
    """Staged users' records, and their mapping problems in the same order."""
    users: list[UserRecord] = []
    mapped: list[RowProblem] = []
    for user, found in staged:
        users.append(user)
        mapped += found
    return users, mapped


def _school_problems(
    fetched: FetchedDistrict,
    school_source_id: str,
    staged: list[RowProblem] | None,
    mapped: list[RowProblem],
    built: list[RowProblem],
) -> list[RowProblem]:
    problems = list(staged) if staged is not None else fetched.staging.problems(school_source_id)
    problems += fetched.unplaced
    problems += _mapped_problems(mapped, school_source_id)
    problems += problems_for_school(built, school_source_id)
    return district_first(problems)


def _mapped_problems(mapped: list[RowProblem], school_source_id: str) -> list[RowProblem]:
    """Users' mapping problems shown by the school, as its own."""
    return [
        p if p.school_id else replace(p, school_id=school_source_id)
        for p in problems_for_school(mapped, school_source_id)
    ]


def district_first(problems: list[RowProblem]) -> list[RowProblem]:
    """The problems tied to no school, then the others, each in the order found."""
    return [p for p in problems if not p.school_id] + [p for p in problems if p.school_id]


@dataclass(frozen=True, slots=True)
class SharedProblems:
    """The fetch's district-wide problem lists, the same for every school (``unplaced``, and
    ``unknown``: thousands at R1M), each split once into those tied to no school (``*_free``)
    and the others, so a school's problems are put together without a pass over them."""

    unplaced_free: list[RowProblem]
    unplaced_tied: list[RowProblem]
    unknown_free: list[RowProblem]
    unknown_tied: list[RowProblem]


def shared_problems(fetched: FetchedDistrict) -> SharedProblems:
    unplaced, unknown = fetched.unplaced, fetched.unknown
    return SharedProblems(
        [p for p in unplaced if not p.school_id],
        [p for p in unplaced if p.school_id],
        [p for p in unknown if not p.school_id],
        [p for p in unknown if p.school_id],
    )


def _part_problems(
    shared: SharedProblems,
    school_source_id: str,
    staged: list[RowProblem],
    mapped: list[RowProblem],
    built: list[RowProblem],
) -> list[RowProblem]:
    """``_school_problems`` for ``built`` holding ``_UNKNOWN`` where the fetch's unknown
    problems go: ``district_first`` of the same parts in the same order, the shared lists
    taken as split once (``shared``) instead of filtered again for every school."""
    at = next(i for i, p in enumerate(built) if p is _UNKNOWN)
    before = problems_for_school(built[:at], school_source_id)
    after = problems_for_school(built[at + 1 :], school_source_id)
    own = _mapped_problems(mapped, school_source_id)
    problems = [p for p in staged if not p.school_id]
    problems += shared.unplaced_free
    problems += [p for p in own if not p.school_id]
    problems += [p for p in before if not p.school_id]
    problems += shared.unknown_free
    problems += [p for p in after if not p.school_id]
    problems += [p for p in staged if p.school_id]
    problems += shared.unplaced_tied
    problems += [p for p in own if p.school_id]
    problems += [p for p in before if p.school_id]
    problems += problems_for_school(shared.unknown_tied, school_source_id)
    problems += [p for p in after if p.school_id]
    return problems


# Stands for the fetch's unknown-student problems in a part's build (``_part_problems``).
_UNKNOWN = RowProblem(Severity.ERROR, "", "", "", "")


def problems_for_school(problems: Iterable[RowProblem], school_source_id: str) -> list[RowProblem]:
    """The problems a school's report shows: its own, and those tied to no school."""
    return [p for p in problems if p.school_id in ("", school_source_id)]
