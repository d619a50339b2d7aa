"""Ports: what the use cases need from the outside world, as Protocols.

Adapters (``sources``, ``storage``, ``notify``) implement these; tests use fakes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, TypeVar

from rostersync.domain.changes import Change, ChangeSet
from rostersync.domain.partial import Scope
from rostersync.domain.records import (
    ChunkKey,
    CourseRecord,
    DistrictRecord,
    MappedUser,
    PageKey,
    RawItem,
    RowProblem,
    SchoolRecord,
    SectionRecord,
    TermRecord,
    UserRecord,
)
from rostersync.domain.roster import Account, FreshRoster, SchoolRoster
from rostersync.domain.state import SchoolStatus
from rostersync.service.admin_model import (
    ApiToken,
    Invite,
    LoginAttempt,
    SettingsChange,
    WebSession,
)
from rostersync.service.model import (
    Admin,
    AdminAction,
    DistrictConfig,
    OutboxMessage,
    RunRecord,
    SchoolRow,
    SkipCheck,
)

T_co = TypeVar("T_co", covariant=True)


class ItemPage(Protocol[T_co]):
    """One page of a list of items, read from the source but not yet decoded (``T_co``:
    what an item becomes when read: a ``RawItem`` for users, a record for sections)."""

    @property
    def key(self) -> PageKey | None:
        """The page's key, or ``None`` when it cannot be passed over (its ids cannot be
        read, or it does not follow the previous page in id order)."""
        ...

    def items(self) -> Iterator[T_co | RowProblem]:
        """Its items, read, and the problems found (for raw items: without mapping)."""
        ...

    def skip(self) -> None:
        """Pass over the page without reading its items (one the caller already holds)."""
        ...

    def chunks(self) -> Iterator[ItemChunk[T_co]]:
        """The page as runs of items, in order (instead of ``items``), each of which may be
        passed over on its own."""
        ...


class ItemChunk(Protocol[T_co]):
    """A run of consecutive items of a page."""

    @property
    def key(self) -> ChunkKey: ...

    def follows(self, first_id: str) -> bool:
        """Whether a run starting at ``first_id`` would come after every id read so far."""
        ...

    def items(self) -> Iterator[T_co | RowProblem]: ...

    def skip(self, first_id: str, last_id: str) -> None:
        """Pass over the run, known (from an earlier fetch) to hold these ids in order."""
        ...


class RosterSource(Protocol):
    """A district's roster as the source shares it.

    Each iterator yields the records of one kind in ascending source-id order, page by page,
    and a ``RowProblem`` in place of any record that could not be read. Any failure to read
    the whole list raises a ``rostersync.errors.SourceError``: a partial list is never
    returned as if it were complete.
    """

    @property
    def requests_made(self) -> int: ...

    def district(self) -> DistrictRecord: ...

    def schools(self) -> Iterator[SchoolRecord | RowProblem]: ...

    def users(self) -> Iterator[UserRecord | RowProblem]: ...

    def user_pages(self, mapped: bool = False) -> Iterator[ItemPage[RawItem]]:
        """``users`` page by page, as raw items with their ids, in the same order, with the
        problems found without mapping (JSON that cannot be read, a missing id, a
        duplicate). Each page is read when the previous one is done with. ``mapped``: the
        caller will map every item (there is no last fetch to compare with), so a source
        may map each as it reads it (``RawItem.mapped``, with the same record and
        problems as ``map_user``) and save a decode."""
        ...

    def map_user(self, raw: bytes, problems: list[RowProblem]) -> UserRecord | None:
        """Map a raw user item (pure: works after ``close``); a record, or ``None`` with the
        reason in ``problems`` (an item of the wrong shape too), which also gets the
        record's alerts."""
        ...

    def sections(self) -> Iterator[SectionRecord | RowProblem]: ...

    def section_pages(self) -> Iterator[ItemPage[SectionRecord]]:
        """``sections`` page by page, in the same order with the same problems; a page (or
        a chunk of one) is mapped only when its items are read."""
        ...

    def terms(self) -> Iterator[TermRecord | RowProblem]: ...

    def courses(self) -> Iterator[CourseRecord | RowProblem]: ...

    def close(self) -> None: ...


class SourceFactory(Protocol):
    """Builds a source for a district's connection settings."""

    def __call__(self, base_url: str, token: str) -> RosterSource: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class UnitOfWork(Protocol):
    """One transaction against the store. ``commit`` makes every write visible at once;
    leaving the ``with`` block without committing rolls everything back."""

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    # districts
    def add_district(self, config: DistrictConfig) -> None: ...

    def get_district(self, district_id: str) -> DistrictConfig | None: ...

    def list_districts(self) -> list[DistrictConfig]: ...

    def update_district(self, config: DistrictConfig) -> None: ...

    # schools
    def list_schools(self, district_id: str | None = None) -> list[SchoolRow]: ...

    def get_school(self, ref: str) -> SchoolRow | None:
        """A school by internal id or by source (Clever) id."""
        ...

    def upsert_school(self, district_id: str, record: SchoolRecord) -> SchoolRow:
        """Create the school on first sight (never_synced); keep its name current."""
        ...

    def upsert_schools(self, district_id: str, records: Sequence[SchoolRecord]) -> None:
        """``upsert_school`` for each record, in a few statements whatever their number."""
        ...

    def save_status(self, school_id: str, status: SchoolStatus) -> None: ...

    def lock_district(self, district_id: str) -> None:
        """Serialise syncs of one district (a row lock where the engine has one)."""
        ...

    # roster
    def load_roster(self, school_id: str) -> SchoolRoster: ...

    def load_roster_part(self, school_id: str, scope: Scope) -> SchoolRoster:
        """``domain.partial.restrict(load_roster(school_id), scope)``, read as such."""
        ...

    def contacts_per_student(self, school_id: str, students: Collection[str]) -> dict[str, int]:
        """How many contact links each of ``students`` has in the school (none: absent)."""
        ...

    def linked_accounts(self, school_id: str, ids: Collection[str]) -> dict[str, Account]:
        """The accounts of ``ids`` linked to the school, as ``load_roster`` gives them."""
        ...

    def apply_changes(
        self, school: SchoolRow, change_set: ChangeSet, checkpoint: Checkpoint | None = None
    ) -> int:
        """Write a change set to the school's roster; bump its roster version.

        Accounts are upserted district-wide by source id; an account left with no school
        link is deactivated, and one that comes back is restored. Returns the number of
        roster rows written. ``checkpoint("mid_apply")`` is called half-way (a test seam).
        """
        ...

    def apply_roster(
        self,
        school: SchoolRow,
        roster: SchoolRoster | FreshRoster,
        checkpoint: Checkpoint | None = None,
    ) -> int:
        """``apply_changes`` of ``diff(empty, roster)`` for a school holding no roster row
        yet (its first load), without making the change set; the same rows written (a
        ``FreshRoster`` is the same roster, held in the order it is written)."""
        ...

    def roster_total(self, district_id: str) -> int:
        """The sum of the district's schools' roster versions: it moves on any apply."""
        ...

    def input_check(self, school_id: str) -> tuple[str, int] | None:
        """The school's stored input digest and the roster total it was verified at."""
        ...

    def save_input_check(self, school_id: str, digest: str | None, stamp: int) -> None:
        """Store (or, with ``None``, forget) the digest the school's roster was verified at."""
        ...

    def save_input_checks(self, digests: Mapping[str, str], stamp: int) -> None:
        """``save_input_check`` of each school in ``digests`` (school id to digest), all
        with the stamp ``stamp``."""
        ...

    def save_checked_status(self, school_id: str, status: SchoolStatus, digest: str | None) -> int:
        """``save_status`` and ``save_input_check`` at once, the digest stamped with the
        district's roster total as this transaction leaves it (``None``: forget the digest);
        returns that total."""
        ...

    def part_check(self, school_id: str) -> tuple[SkipCheck, int] | None:
        """What a per-record evaluation asks first, in one read: the school, its input check
        and its last run's header (a ``SkipCheck`` whose ``problems_from`` is ``None``), and
        the district's roster total; ``None`` if there is no such school."""
        ...

    # runs
    def add_run(self, run: RunRecord, held: ChangeSet | None = None) -> None:
        """Store a run; a held run also stores its change set for review and approval."""
        ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def list_runs(self, school_id: str, limit: int = 20) -> list[RunRecord]: ...

    def last_run_outline(self, school_id: str) -> RunRecord | None:
        """The school's latest run, without its findings and problems."""
        ...

    def held_change_set(self, run_id: str) -> ChangeSet | None: ...

    # people, actions, email
    def add_admin(self, admin: Admin) -> None: ...

    def admins_for_school(self, school_id: str) -> list[Admin]:
        """The school's own admins and its district's admins."""
        ...

    def list_admins(self, district_id: str | None = None) -> list[Admin]: ...

    def record_action(self, action: AdminAction) -> None: ...

    def list_actions(self, school_id: str, limit: int = 50) -> list[AdminAction]: ...

    def enqueue_email(self, message: OutboxMessage) -> None:
        """Add an email to the outbox; a second message with the same dedupe key is ignored."""
        ...

    def pending_emails(self, limit: int = 100) -> list[OutboxMessage]: ...

    def get_email(self, message_id: str) -> OutboxMessage | None:
        """One outbox message by id, sent or not."""
        ...

    def mark_email_sent(self, message_id: str, at: datetime) -> None: ...

    def mark_email_failed(self, message_id: str, error: str) -> None: ...

    # the held change set, a page at a time (the dashboard's change list)
    def held_changes_page(
        self, run_id: str, *, entity: str | None, op: str | None, offset: int, limit: int
    ) -> tuple[int, list[Change]]:
        """How many held changes match the filter, and the page ``offset:offset+limit``."""
        ...

    # administrators' access: passwords, notification choice, sign-in attempts
    def admins_by_email(self, email: str) -> list[Admin]: ...

    def password_hash(self, email: str) -> str | None: ...

    def set_password_hash(self, email: str, password_hash: str) -> int:
        """Set the password of every admin row with this email; return how many."""
        ...

    def set_admin_notify(self, admin_id: str, notify: bool) -> None: ...

    def add_login_attempt(self, attempt: LoginAttempt) -> None: ...

    def count_login_failures(
        self, *, email: str | None, client: str | None, since: datetime
    ) -> int:
        """Failed attempts since ``since`` for the email (after its last success) or client."""
        ...

    # web sessions, API tokens and invites (only digests of their secrets are stored)
    def add_web_session(self, session: WebSession) -> None: ...

    def get_web_session(self, id_hash: str) -> WebSession | None: ...

    def delete_web_session(self, id_hash: str) -> None: ...

    def add_api_token(self, token: ApiToken) -> None: ...

    def api_token_by_hash(self, token_hash: str) -> ApiToken | None: ...

    def list_api_tokens(self, email: str) -> list[ApiToken]: ...

    def revoke_api_token(self, token_id: str, at: datetime) -> bool:
        """Revoke an active token; ``False`` when there is no such active token."""
        ...

    def touch_api_token(self, token_id: str, at: datetime) -> None: ...

    def add_invite(self, invite: Invite) -> None: ...

    def get_invite(self, token_hash: str) -> Invite | None: ...

    def use_invite(self, token_hash: str, at: datetime) -> None: ...

    # the log of district settings changes
    def add_settings_change(self, change: SettingsChange) -> None: ...

    def list_settings_changes(self, district_id: str, limit: int = 50) -> list[SettingsChange]: ...

    # unchanged runs in bulk (service.unchanged): a few statements for many skipped schools
    def skip_checks(self, district_id: str, start: SchoolRow, limit: int) -> list[SkipCheck]:
        """The school ``start`` and those after it in ``list_schools`` order, ``limit`` in
        all, each with its input check and its last run (as ``list_runs`` would give it
        first), in that order. ``start`` is missing when it is gone or renamed."""
        ...

    def runs_problems(self, run_ids: Sequence[str]) -> dict[str, tuple[RowProblem, ...]]:
        """The problems of each of these runs, as ``get_run`` reads them."""
        ...

    def add_unchanged_runs(self, runs: Sequence[tuple[RunRecord, str | None]]) -> None:
        """Store runs without findings or held changes, each with the id of a run whose
        problems it repeats (``SkipCheck.problems_from``): those are copied as stored, not
        encoded again. With ``None``, the run is stored as ``add_run`` stores it."""
        ...

    def save_statuses(self, statuses: Sequence[tuple[str, SchoolStatus]]) -> None:
        """``save_status`` for many schools at once: (school id, status) pairs."""
        ...


class RosterStaging(Protocol):
    """A district fetch kept outside memory (a temporary file), read back one school at a
    time, so that a sync's memory is bounded by a page and a school, not the district."""

    @property
    def merging(self) -> bool:
        """Whether this fetch merges into a last fetch's users (the district's fetch
        cache); if not, no item is unchanged and every user is mapped."""
        ...

    def unchanged_user(self, user_id: str, raw: bytes) -> bool:
        """Whether the last fetch staged this very item (it then stays staged as it was);
        otherwise its previous rows are gone and the caller adds it, if it maps. Called
        for every user of the fetch, in the source's order."""
        ...

    def unchanged_page(self, key: PageKey) -> bool:
        """Whether the last fetch staged a page of this key whole (every item a staged user):
        then its users stay staged as they were, and the caller skips the page. Called in
        the source's order, in place of ``unchanged_user`` for the page's items."""
        ...

    def add_page(self, key: PageKey) -> None:
        """The page of this key was staged whole (each item unchanged or added)."""
        ...

    def known_chunks(
        self, keys: list[ChunkKey], page: PageKey | None = None
    ) -> dict[ChunkKey, tuple[str, str]]:
        """Of these runs of items, those the last fetch staged whole, with their first and
        last ids. ``page``: the key of the page they cut, if it has one; then only runs
        starting within its ids are looked for (a run that came back the same holds the
        same ids, so it starts there)."""
        ...

    def pass_over(self, first_id: str, last_id: str) -> bool:
        """Keep the staged users from ``first_id`` to ``last_id`` as they are (a run of
        items that came back the same), in place of ``unchanged_user`` for each; False
        (nothing kept) when that cannot be done in the source's order."""
        ...

    def add_chunk(self, key: ChunkKey, first_id: str, last_id: str) -> None:
        """The run of this key, holding these ids, was staged whole."""
        ...

    def add_user(self, user: MappedUser) -> None:
        """A user, under its placement (its schools, and the students it is a contact of)."""
        ...

    def unchanged_section_page(self, key: PageKey) -> bool:
        """Whether the last fetch staged a page of sections of this key whole (every item a
        section mapped without a problem): then they stay staged as they were, and the
        caller skips the page."""
        ...

    def add_section_page(self, key: PageKey) -> None:
        """The page of sections of this key was staged whole."""
        ...

    def known_section_chunks(self, keys: list[ChunkKey]) -> dict[ChunkKey, tuple[str, str]]:
        """Of these runs of sections, those the last fetch staged whole, with their first and
        last ids."""
        ...

    def keep_section_chunk(self, key: ChunkKey) -> None:
        """Keep the sections of a run ``known_section_chunks`` just found, as staged (the
        caller passes the run over)."""
        ...

    def add_section(self, section: SectionRecord) -> None:
        """A section of the run being staged."""
        ...

    def end_section_chunk(self, key: ChunkKey, first_id: str, last_id: str, whole: bool) -> None:
        """The sections added since the last run are the run ``key``, with these first and
        last ids; ``whole``: every item of it is one of them, without a problem."""
        ...

    def add_problem(self, problem: RowProblem) -> None: ...

    def finish(self) -> None:
        """Called once every record is added, before any read."""
        ...

    def school_users(self, school_id: str) -> Iterator[MappedUser]:
        """Its students, teachers and staff, and the contacts of its students, by id."""
        ...

    def user(self, user_id: str) -> MappedUser | None:
        """One staged user."""
        ...

    def unplaced_users(self) -> Iterator[MappedUser]:
        """The users who belong to no school, directly or as a contact, by id."""
        ...

    def school_sections(self, school_id: str) -> Iterator[SectionRecord]: ...

    def problems(self, school_id: str) -> list[RowProblem]:
        """The school's row problems and those tied to no school, in the order added."""
        ...

    def unknown_students(self) -> list[tuple[str, str]]:
        """(contact, student) pairs naming a student who is not a student of the fetch."""
        ...

    def input_digests(self) -> dict[str, str]:
        """Per school, a digest of the staged records its roster is built from."""
        ...

    def school_users_part(self, school_id: str, scope: Scope) -> Iterator[MappedUser]:
        """``school_users``, only those in ``scope`` or with row problems of their own."""
        ...

    def school_roles(self, school_id: str) -> dict[str, int]:
        """Each user placed in the school directly, with its role bits there."""
        ...

    def previous_check(self, school_id: str) -> str | None:
        """The input digest the last sync found for the school (``""``: the shared part)
        from the fetch this one merged into, if any (then ``school_scope`` is meaningful)."""
        ...

    def school_scope(self, school_id: str) -> Scope:
        """The accounts and classes whose rows may differ since that fetch."""
        ...

    def remember_checks(self, shared: str, digests: Mapping[str, str]) -> None:
        """Keep this sync's input digests for the next fetch (``previous_check``)."""
        ...

    def close(self) -> None: ...


class Store(Protocol):
    """Opens units of work, and staging areas for a fetch."""

    def unit_of_work(self, *, foreign_keys: bool = True) -> UnitOfWork:
        """A unit of work. ``foreign_keys=False``: SQLite does not check the foreign keys of
        what it writes (PostgreSQL always does), for the sync's batches of schools, whose
        rows name only schools, districts, accounts and runs that exist and are never
        deleted (the PostgreSQL tests hold the same code to every key)."""
        ...

    def staging(self, district_id: str | None = None) -> RosterStaging:
        """A staging area for one fetch: the district's fetch cache when the store keeps
        one (see ``storage.staging``), else a temporary file."""
        ...

    def named_lock(self, name: str, *, wait_s: float = 0.0) -> AbstractContextManager[None]:
        """Hold a lock named ``name`` across processes and machines for a ``with`` block.

        It is held as long as the block runs (across many units of work) and released when
        the block ends or the holding process dies. Raises ``rostersync.errors.LockBusyError``
        when another holder keeps it for longer than ``wait_s`` seconds.
        """
        ...


class Checkpoint(Protocol):
    """Called at named points of a sync (after_fetch, mid_apply, after_commit, ...)."""

    def __call__(self, point: str) -> None: ...


class Mailer(Protocol):
    """Sends one outbox message (renders it and hands it to SMTP, a file or the console)."""

    def send(self, message: OutboxMessage) -> None: ...
