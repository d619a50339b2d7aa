"""District-wide row problems stored once per distinct set, not once per school run.

Problems tied to no school (a contact linked to a student outside the share, ...) belong to
every school's run. With 2,000 schools and 5,000 such problems one sync wrote 10M
``run_problems`` rows, and every unchanged resync copied them again. ``problem_sets`` keeps
each distinct set once under its digest; ``sync_runs.shared_problems`` points to it. Runs
stored before this revision keep all their problems in ``run_problems`` (NULL pointer).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``problem_sets`` and ``sync_runs.shared_problems`` (NULL for existing runs)."""
    op.create_table(
        "problem_sets",
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("digest", "seq", name=op.f("pk_problem_sets")),
    )
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("shared_problems", sa.String(), nullable=True))


def downgrade() -> None:
    """Copy each run's shared problems back in front of its own, then drop the set table."""
    _inline_shared_problems()
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("shared_problems")
    op.drop_table("problem_sets")


def _inline_shared_problems() -> None:
    """Shift the own problems of runs with a set by the set's size, then insert the set.

    The shift goes through negative numbers so no intermediate ``(run_id, seq)`` collides
    (both engines check the primary key row by row during an UPDATE).
    """
    op.execute(
        "UPDATE run_problems SET seq = -1 - (seq + ("
        "SELECT count(*) FROM problem_sets ps JOIN sync_runs r "
        "ON ps.digest = r.shared_problems WHERE r.id = run_problems.run_id)) "
        "WHERE run_id IN (SELECT id FROM sync_runs WHERE shared_problems IS NOT NULL)"
    )
    op.execute("UPDATE run_problems SET seq = -1 - seq WHERE seq < 0")
    op.execute(
        "INSERT INTO run_problems "
        "(run_id, seq, severity, entity, source_id, code, message, school_id) "
        "SELECT r.id, ps.seq, ps.severity, ps.entity, ps.source_id, ps.code, ps.message, "
        "ps.school_id FROM sync_runs r JOIN problem_sets ps ON ps.digest = r.shared_problems"
    )
