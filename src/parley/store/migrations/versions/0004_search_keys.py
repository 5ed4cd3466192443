"""search keys: people's display names and spaces' titles and topics, folded for matching

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from parley.domain import search

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _topics(value: Any) -> list[str]:
    # The JSON column reads back as a list on PostgreSQL, and may come as text through the
    # lightweight table below on SQLite.
    if isinstance(value, str):
        value = json.loads(value)
    return [str(topic) for topic in value or []]


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_key", sa.Text(), nullable=False, server_default=""))

    # The keys of the rows already there, folded as the app folds them (domain/search.py).
    bind = op.get_bind()
    users = sa.table(
        "users", sa.column("id", sa.Integer), sa.column("display_name"), sa.column("name_key")
    )
    for user_id, display_name in bind.execute(sa.select(users.c.id, users.c.display_name)).all():
        bind.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(name_key=search.user_name_key(display_name))
        )
    spaces = sa.table(
        "spaces",
        sa.column("id", sa.Integer),
        sa.column("title"),
        sa.column("topics", sa.JSON),
        sa.column("search_key"),
    )
    rows = bind.execute(sa.select(spaces.c.id, spaces.c.title, spaces.c.topics)).all()
    for space_id, title, topics in rows:
        bind.execute(
            spaces.update()
            .where(spaces.c.id == space_id)
            .values(search_key=search.space_key(title, _topics(topics)))
        )


def downgrade() -> None:
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.drop_column("search_key")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("name_key")
