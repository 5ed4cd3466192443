"""whether a member's audio reaches the server, profile pictures, spaces that need accounts

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("space_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mic_live", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("avatar", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("avatar_version", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("accounts_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.drop_column("accounts_required")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("avatar_version")
        batch_op.drop_column("avatar")
    with op.batch_alter_table("space_members", schema=None) as batch_op:
        batch_op.drop_column("mic_live")
