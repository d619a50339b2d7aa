"""The store's schema: SQLAlchemy Core tables on one ``MetaData``.

Core rather than ORM because the roster is written in bulk (one statement per entity and
operation, executemany) and read in bulk; there is no object graph to track. The naming
convention keeps constraint names stable, so Alembic migrations and ``alembic check`` agree
on every engine. The migrations in ``migrations/versions`` must describe exactly these
tables; a test runs ``alembic check`` on SQLite and PostgreSQL to keep them in step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine.

    SQLite keeps no time zone, so values are stored as naive UTC there and get their
    ``tzinfo`` back on read. Naive datetimes are refused: their zone would be a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"The datetime {value.isoformat()} has no time zone; the store keeps only "
                "timezone-aware datetimes. Pass one with tzinfo set, e.g. datetime.now(UTC)."
            )
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# An auto-incrementing 64-bit key; SQLite only auto-increments an INTEGER PRIMARY KEY.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


def _text(name: str) -> Column[str]:
    """A required text column that defaults to the empty string, like the value objects."""
    return Column(name, String, nullable=False, default="")


def _problem_columns() -> list[Column[Any]]:
    """A stored ``RowProblem``'s columns (after its keys): a run's own problems and the
    shared problem sets keep the same ones."""
    return [
        Column("severity", String, nullable=False),
        Column("entity", String, nullable=False),
        Column("source_id", String, nullable=False),
        Column("code", String, nullable=False),
        Column("message", Text, nullable=False),
        _text("school_id"),
    ]


districts = Table(
    "districts",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("clever_token", String, nullable=False),
    Column("clever_base_url", String, nullable=False),
    Column("removal_pct", Float, nullable=False),
    Column("removal_min", Integer, nullable=False),
    Column("removal_total", Integer, nullable=False),
    Column("max_contacts", Integer, nullable=False),
    # A JSON list, sorted, so equal settings store equal text.
    Column("blocked_contact_types", Text, nullable=False),
    Column("failures_before_disconnect", Integer, nullable=False),
    Column("interval_s", Integer, nullable=False),
    Column("plan", String, nullable=False),
    _text("source_district_id"),
    Column("timezone", String, nullable=False, default="UTC"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_sync_at", UTCDateTime, nullable=True),
    # The sum of its schools' roster versions, kept with every apply: one row to read for
    # "has anything applied in the district since?" (``service.unchanged``).
    Column("roster_total", Integer, nullable=False, default=0, server_default="0"),
)

schools = Table(
    "schools",
    metadata,
    Column("id", String, primary_key=True),
    Column("district_id", String, ForeignKey("districts.id"), nullable=False),
    Column("source_id", String, nullable=False),
    Column("name", String, nullable=False),
    Column("state", String, nullable=False),
    Column("hold_kind", String, nullable=True),
    Column("hold_since", UTCDateTime, nullable=True),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("roster_version", Integer, nullable=False, default=0),
    # The digest of the school's inputs when a run last verified its roster, and the
    # district's total roster version then (see service.unchanged): both must match for a
    # resync to skip the school.
    Column("input_digest", String, nullable=True),
    Column("digest_stamp", Integer, nullable=True),
    UniqueConstraint("district_id", "source_id"),
    Index(None, "source_id"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("district_id", String, ForeignKey("districts.id"), nullable=False),
    Column("source_id", String, nullable=False),
    # Comma-separated, in the order of ``Account.roles``.
    _text("roles"),
    _text("first_name"),
    _text("middle_name"),
    _text("last_name"),
    _text("email"),
    _text("sis_id"),
    _text("number"),
    _text("grade"),
    _text("phone"),
    Column("active", Boolean, nullable=False, default=True),
    Column("deactivated_at", UTCDateTime, nullable=True),
    UniqueConstraint("district_id", "source_id"),
)

school_links = Table(
    "school_links",
    metadata,
    Column("school_id", String, ForeignKey("schools.id"), primary_key=True),
    Column("account_id", AutoId, ForeignKey("accounts.id"), primary_key=True),
    Column("role", String, primary_key=True),
    # "Is this account linked anywhere else?" after a removal.
    Index(None, "account_id"),
    sqlite_with_rowid=False,
)

classes = Table(
    "classes",
    metadata,
    Column("school_id", String, ForeignKey("schools.id"), primary_key=True),
    Column("source_id", String, primary_key=True),
    Column("name", String, nullable=False),
    _text("subject"),
    _text("period"),
    _text("grade"),
    _text("section_number"),
    _text("sis_id"),
    _text("term"),
    _text("course"),
    Column("archived", Boolean, nullable=False, default=False),
    sqlite_with_rowid=False,
)

# Memberships and contact links are keyed by source ids, as the change set names them.
memberships = Table(
    "memberships",
    metadata,
    Column("school_id", String, ForeignKey("schools.id"), primary_key=True),
    Column("class_source_id", String, primary_key=True),
    Column("account_source_id", String, primary_key=True),
    Column("role", String, primary_key=True),
    sqlite_with_rowid=False,
)

contact_links = Table(
    "contact_links",
    metadata,
    Column("school_id", String, ForeignKey("schools.id"), primary_key=True),
    Column("contact_source_id", String, primary_key=True),
    Column("student_source_id", String, primary_key=True),
    _text("relationship"),
    _text("type"),
    sqlite_with_rowid=False,
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", String, primary_key=True),
    Column("district_id", String, ForeignKey("districts.id"), nullable=False),
    Column("school_id", String, ForeignKey("schools.id"), nullable=False),
    Column("trigger", String, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("outcome", String, nullable=False),
    Column("hold_kind", String, nullable=True),
    Column("changes", Text, nullable=False),
    Column("counts", Text, nullable=False),
    Column("error", Text, nullable=False, default=""),
    Column("roster_version", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("rows_written", Integer, nullable=False, default=0),
    Column("actor", String, nullable=False, default=""),
    # Set only when a change set was stored with the run (``held_changes`` rows): the
    # change set's own school id, which the source side may give as a source id.
    Column("held_school_id", String, nullable=True),
    Column("held_count", Integer, nullable=True),
    # The digest of the run's district-wide problems in ``problem_sets`` (migration 0004);
    # NULL when it has none, and for every run stored before 0004.
    Column("shared_problems", String, nullable=True),
    Index(None, "school_id", "started_at"),
)

run_findings = Table(
    "run_findings",
    metadata,
    Column("run_id", String, ForeignKey("sync_runs.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String, nullable=False),
    Column("rule", String, nullable=False),
    Column("message", Text, nullable=False),
    _text("subject"),
)

run_problems = Table(
    "run_problems",
    metadata,
    Column("run_id", String, ForeignKey("sync_runs.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    *_problem_columns(),
)

# The problems tied to no school (migration 0004), stored once per distinct set and shared
# by every run that points to it with ``sync_runs.shared_problems``: with 2,000 schools, a
# sync would otherwise copy the same district-wide problems into 2,000 runs.
problem_sets = Table(
    "problem_sets",
    metadata,
    Column("digest", String, primary_key=True),
    Column("seq", Integer, primary_key=True),
    *_problem_columns(),
)

# One row per change, in change-set order, so a held change set pages by (run_id, seq).
held_changes = Table(
    "held_changes",
    metadata,
    Column("run_id", String, ForeignKey("sync_runs.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("entity", String, nullable=False),
    Column("op", String, nullable=False),
    Column("key", Text, nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
)

admins = Table(
    "admins",
    metadata,
    Column("id", String, primary_key=True),
    Column("email", String, nullable=False),
    Column("district_id", String, ForeignKey("districts.id"), nullable=False),
    Column("password_hash", String, nullable=True),
    Column("notify", Boolean, nullable=False, default=True, server_default=true()),
    Index(None, "district_id"),
    Index(None, "email"),
)

admin_schools = Table(
    "admin_schools",
    metadata,
    Column("admin_id", String, ForeignKey("admins.id"), primary_key=True),
    Column("school_id", String, ForeignKey("schools.id"), primary_key=True),
    Index(None, "school_id"),
)

admin_actions = Table(
    "admin_actions",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("school_id", String, ForeignKey("schools.id"), nullable=False),
    Column("actor", String, nullable=False),
    Column("action", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("outcome", String, nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Index(None, "school_id", "at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("recipients", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("dedupe_key", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    UniqueConstraint("dedupe_key"),
    Index(None, "sent_at", "created_at"),
)

# The dashboard and API (migration 0003): who may sign in, how, and what they changed.
# Session ids, API tokens and invite tokens are kept only as SHA-256 digests.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String, primary_key=True),
    Column("email", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "email"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String, primary_key=True),
    Column("email", String, nullable=False),
    _text("label"),
    Column("token_hash", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    UniqueConstraint("token_hash"),
    Index(None, "email"),
)

admin_invites = Table(
    "admin_invites",
    metadata,
    Column("token_hash", String, primary_key=True),
    Column("email", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("email", String, nullable=False),
    Column("client", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index(None, "email", "at"),
    Index(None, "client", "at"),
)

settings_changes = Table(
    "settings_changes",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("district_id", String, ForeignKey("districts.id"), nullable=False),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("field", String, nullable=False),
    Column("old_value", Text, nullable=False),
    Column("new_value", Text, nullable=False),
    Index(None, "district_id", "at"),
)
