"""The sum of a district's roster versions, kept on the district row.

Before every evaluated school a sync asks whether anything applied in the district since it
last looked (``service.unchanged``); summing the schools' roster versions made that ask cost
a scan of the district's schools, so a district of 2,000 schools paid it 4,000 times per sync.
``districts.roster_total`` holds the sum, and every apply adds one to it.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``districts.roster_total``, set to the sum of each district's roster versions."""
    with op.batch_alter_table("districts") as batch:
        batch.add_column(
            sa.Column("roster_total", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE districts SET roster_total = (SELECT coalesce(sum(roster_version), 0) "
        "FROM schools WHERE schools.district_id = districts.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("districts") as batch:
        batch.drop_column("roster_total")
