"""visitors in each space's room, counted by each node under a lease

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "space_visitors",
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_space_visitors_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("space_id", "node", name=op.f("pk_space_visitors")),
    )
    with op.batch_alter_table("space_visitors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_space_visitors_renewed_at"), ["renewed_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("space_visitors")
