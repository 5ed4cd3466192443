"""live captions: a space's switch and language, a member's consent, the final lines

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("captions", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("caption_language", sa.String(length=8), nullable=False, server_default="en")
        )
    with op.batch_alter_table("space_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("captioned", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "caption_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.Integer(), nullable=False),
        sa.Column("end_ms", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_caption_lines_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_caption_lines_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caption_lines")),
        sa.UniqueConstraint("space_id", "number", name=op.f("uq_caption_lines_space_id_number")),
    )
    with op.batch_alter_table("caption_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_caption_lines_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("caption_lines")
    with op.batch_alter_table("space_members", schema=None) as batch_op:
        batch_op.drop_column("captioned")
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.drop_column("caption_language")
        batch_op.drop_column("captions")
