"""The dashboard and API: sessions, API tokens, invites, sign-in attempts, the settings log,
and whether each admin receives hold emails.

Revision ID: 0003
Revises: 0002
Create Date: 2024-06-20

Like every migration here, a snapshot: the columns are spelled out, not imported.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the web's tables and the admins' ``notify`` flag (on for existing admins)."""
    with op.batch_alter_table("admins") as batch:
        batch.add_column(
            sa.Column("notify", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    _create_sessions_and_tokens()
    _create_attempts_and_settings_log()


def _create_sessions_and_tokens() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_email"), "web_sessions", ["email"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_email"), "api_tokens", ["email"])
    op.create_table(
        "admin_invites",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_admin_invites")),
    )


def _create_attempts_and_settings_log() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("client", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_email_at"), "login_attempts", ["email", "at"])
    op.create_index(op.f("ix_login_attempts_client_at"), "login_attempts", ["client", "at"])
    op.create_table(
        "settings_changes",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("district_id", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=False),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_settings_changes_district_id_districts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_changes")),
    )
    op.create_index(
        op.f("ix_settings_changes_district_id_at"), "settings_changes", ["district_id", "at"]
    )


def downgrade() -> None:
    """Drop the web's tables and the ``notify`` flag."""
    for index, table in (
        ("ix_settings_changes_district_id_at", "settings_changes"),
        ("ix_login_attempts_client_at", "login_attempts"),
        ("ix_login_attempts_email_at", "login_attempts"),
        ("ix_api_tokens_email", "api_tokens"),
        ("ix_web_sessions_email", "web_sessions"),
    ):
        op.drop_index(op.f(index), table_name=table)
    for table in (
        "settings_changes",
        "login_attempts",
        "admin_invites",
        "api_tokens",
        "web_sessions",
    ):
        op.drop_table(table)
    with op.batch_alter_table("admins") as batch:
        batch.drop_column("notify")
