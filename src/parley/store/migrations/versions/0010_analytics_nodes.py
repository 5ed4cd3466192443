"""host analytics: each node's lease on its open listens (one row per node, renewed at each
write, instead of an update of every open listen)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_nodes",
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node", name=op.f("pk_analytics_nodes")),
    )


def downgrade() -> None:
    op.drop_table("analytics_nodes")
