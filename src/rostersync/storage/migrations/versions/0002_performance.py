"""The performance work: each school's input digest and the stamp it was verified at.

A resync skips a healthy school whose staged inputs hash to the stored digest while the
district's total roster version still equals the stamp (see ``service.unchanged``).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``schools.input_digest`` and ``schools.digest_stamp`` (empty: check fully once)."""
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("input_digest", sa.String(), nullable=True))
        batch.add_column(sa.Column("digest_stamp", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("digest_stamp")
        batch.drop_column("input_digest")
