"""host analytics: listens and tallies of interactions

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("listener", sa.String(length=24), nullable=False),
        sa.Column("path", sa.String(length=8), nullable=False),
        sa.Column("arrival", sa.String(length=16), nullable=True),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], name=op.f("fk_listens_space_id_spaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listens")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("listens", schema=None) as batch_op:
        batch_op.create_index("ix_listens_node_ended_at", ["node", "ended_at"], unique=False)
        batch_op.create_index(
            "ix_listens_space_id_started_at", ["space_id", "started_at"], unique=False
        )
    op.create_table(
        "space_tallies",
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_space_tallies_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("space_id", "kind", "key", name=op.f("pk_space_tallies")),
    )


def downgrade() -> None:
    op.drop_table("space_tallies")
    with op.batch_alter_table("listens", schema=None) as batch_op:
        batch_op.drop_index("ix_listens_space_id_started_at")
        batch_op.drop_index("ix_listens_node_ended_at")
    op.drop_table("listens")
