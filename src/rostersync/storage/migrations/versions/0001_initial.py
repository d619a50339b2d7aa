"""The store's first schema: districts, schools, the roster, runs, admins and the outbox.

Revision ID: 0001
Revises:
Create Date: 2024-06-01

Migrations are snapshots: they spell out every column instead of importing
``rostersync.storage.tables``, so later changes to the tables never rewrite history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table of the store."""
    op.create_table(
        "districts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("clever_token", sa.String(), nullable=False),
        sa.Column("clever_base_url", sa.String(), nullable=False),
        sa.Column("removal_pct", sa.Float(), nullable=False),
        sa.Column("removal_min", sa.Integer(), nullable=False),
        sa.Column("removal_total", sa.Integer(), nullable=False),
        sa.Column("max_contacts", sa.Integer(), nullable=False),
        sa.Column("blocked_contact_types", sa.Text(), nullable=False),
        sa.Column("failures_before_disconnect", sa.Integer(), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(), nullable=False),
        sa.Column("source_district_id", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_districts")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index(op.f("ix_outbox_sent_at_created_at"), "outbox", ["sent_at", "created_at"])
    op.create_table(
        "accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("district_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("roles", sa.String(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=False),
        sa.Column("middle_name", sa.String(), nullable=False),
        sa.Column("last_name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("sis_id", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("grade", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_id"], ["districts.id"], name=op.f("fk_accounts_district_id_districts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint(
            "district_id", "source_id", name=op.f("uq_accounts_district_id_source_id")
        ),
    )
    op.create_table(
        "admins",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("district_id", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_id"], ["districts.id"], name=op.f("fk_admins_district_id_districts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admins")),
    )
    op.create_index(op.f("ix_admins_district_id"), "admins", ["district_id"])
    op.create_index(op.f("ix_admins_email"), "admins", ["email"])
    op.create_table(
        "schools",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("district_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("hold_kind", sa.String(), nullable=True),
        sa.Column("hold_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("roster_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["districts.id"], name=op.f("fk_schools_district_id_districts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schools")),
        sa.UniqueConstraint(
            "district_id", "source_id", name=op.f("uq_schools_district_id_source_id")
        ),
    )
    op.create_index(op.f("ix_schools_source_id"), "schools", ["source_id"])
    op.create_table(
        "admin_actions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_admin_actions_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_actions")),
    )
    op.create_index(op.f("ix_admin_actions_school_id_at"), "admin_actions", ["school_id", "at"])
    op.create_table(
        "admin_schools",
        sa.Column("admin_id", sa.String(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["admin_id"], ["admins.id"], name=op.f("fk_admin_schools_admin_id_admins")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_admin_schools_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("admin_id", "school_id", name=op.f("pk_admin_schools")),
    )
    op.create_index(op.f("ix_admin_schools_school_id"), "admin_schools", ["school_id"])
    op.create_table(
        "classes",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("grade", sa.String(), nullable=False),
        sa.Column("section_number", sa.String(), nullable=False),
        sa.Column("sis_id", sa.String(), nullable=False),
        sa.Column("term", sa.String(), nullable=False),
        sa.Column("course", sa.String(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_classes_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("school_id", "source_id", name=op.f("pk_classes")),
    )
    op.create_table(
        "contact_links",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("contact_source_id", sa.String(), nullable=False),
        sa.Column("student_source_id", sa.String(), nullable=False),
        sa.Column("relationship", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_contact_links_school_id_schools")
        ),
        sa.PrimaryKeyConstraint(
            "school_id", "contact_source_id", "student_source_id", name=op.f("pk_contact_links")
        ),
    )
    op.create_table(
        "memberships",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("class_source_id", sa.String(), nullable=False),
        sa.Column("account_source_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_memberships_school_id_schools")
        ),
        sa.PrimaryKeyConstraint(
            "school_id", "class_source_id", "account_source_id", "role", name=op.f("pk_memberships")
        ),
    )
    op.create_table(
        "school_links",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("role", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_school_links_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_school_links_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("school_id", "account_id", "role", name=op.f("pk_school_links")),
    )
    op.create_index(op.f("ix_school_links_account_id"), "school_links", ["account_id"])
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("district_id", sa.String(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("hold_kind", sa.String(), nullable=True),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("roster_version", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("held_school_id", sa.String(), nullable=True),
        sa.Column("held_count", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_id"], ["districts.id"], name=op.f("fk_sync_runs_district_id_districts")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_sync_runs_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index(
        op.f("ix_sync_runs_school_id_started_at"), "sync_runs", ["school_id", "started_at"]
    )
    op.create_table(
        "held_changes",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("op", sa.String(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_held_changes_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_held_changes")),
    )
    op.create_table(
        "run_findings",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_run_findings_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_run_findings")),
    )
    op.create_table(
        "run_problems",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name=op.f("fk_run_problems_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_run_problems")),
    )


def downgrade() -> None:
    """Drop every table of the store (and with it all data)."""
    op.drop_table("run_problems")
    op.drop_table("run_findings")
    op.drop_table("held_changes")
    op.drop_index(op.f("ix_sync_runs_school_id_started_at"), table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_index(op.f("ix_school_links_account_id"), table_name="school_links")
    op.drop_table("school_links")
    op.drop_table("memberships")
    op.drop_table("contact_links")
    op.drop_table("classes")
    op.drop_index(op.f("ix_admin_schools_school_id"), table_name="admin_schools")
    op.drop_table("admin_schools")
    op.drop_index(op.f("ix_admin_actions_school_id_at"), table_name="admin_actions")
    op.drop_table("admin_actions")
    op.drop_index(op.f("ix_schools_source_id"), table_name="schools")
    op.drop_table("schools")
    op.drop_index(op.f("ix_admins_email"), table_name="admins")
    op.drop_index(op.f("ix_admins_district_id"), table_name="admins")
    op.drop_table("admins")
    op.drop_table("accounts")
    op.drop_index(op.f("ix_outbox_sent_at_created_at"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("districts")
