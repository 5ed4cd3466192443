"""trust and safety: instance roles, account states and sanctions, reports, the audit log,
invite codes, notices, connection counts owned by a node's lease

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _index(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f(f"ix_{table}_{'_'.join(columns)}"), list(columns), unique=False
        )


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="member")
        )
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="active")
        )
        batch_op.add_column(sa.Column("suspended_until", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("hosting_restricted_until", sa.DateTime(timezone=True)))
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_user_id", sa.Integer(), nullable=True),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column("moment_ms", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("evidence_audio", sa.String(length=100), nullable=True),
        sa.Column("evidence_audio_start_ms", sa.Integer(), nullable=True),
        _fk("reports", "reporter_id", "users", "SET NULL"),
        _fk("reports", "target_user_id", "users", "SET NULL"),
        _fk("reports", "space_id", "spaces", "SET NULL"),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["users.id"],
            name=op.f("fk_reports_closed_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sqlite_autoincrement=True,
    )
    _index("reports", "reporter_id")
    _index("reports", "target_user_id")
    _index("reports", "space_id")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_state_created_at", ["state", "created_at"], unique=False)
    op.create_table(
        "sanctions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        _fk("sanctions", "user_id", "users", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_sanctions_created_by_users"),
            ondelete="SET NULL",
        ),
        _fk("sanctions", "report_id", "reports", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sanctions")),
        sqlite_autoincrement=True,
    )
    _index("sanctions", "user_id")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target_user_id", sa.Integer(), nullable=True),
        sa.Column("space_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_log_actor_id_users"),
            ondelete="SET NULL",
        ),
        _fk("audit_log", "target_user_id", "users", "SET NULL"),
        _fk("audit_log", "space_id", "spaces", "SET NULL"),
        _fk("audit_log", "report_id", "reports", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sqlite_autoincrement=True,
    )
    _index("audit_log", "created_at")
    _index("audit_log", "actor_id")
    _index("audit_log", "target_user_id")
    _index("audit_log", "space_id")
    op.create_table(
        "invite_codes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_invite_codes_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_invite_codes")),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        _fk("notices", "user_id", "users", "CASCADE"),
        _fk("notices", "report_id", "reports", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sqlite_autoincrement=True,
    )
    _index("notices", "user_id")
    op.create_table(
        "member_connections",
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("connections", sa.Integer(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        _fk("member_connections", "space_id", "spaces", "CASCADE"),
        _fk("member_connections", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("space_id", "user_id", "node", name=op.f("pk_member_connections")),
    )
    _index("member_connections", "renewed_at")
    # Counts made before this had no node to own them: the nodes being upgraded hold nothing
    # now, and their clients reconnect (counted anew, each by its node).
    op.execute(sa.text("UPDATE space_members SET connections = 0 WHERE connections > 0"))


def downgrade() -> None:
    op.drop_table("member_connections")
    op.drop_table("notices")
    op.drop_table("invite_codes")
    op.drop_table("audit_log")
    op.drop_table("sanctions")
    op.drop_table("reports")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("hosting_restricted_until")
        batch_op.drop_column("suspended_until")
        batch_op.drop_column("state")
        batch_op.drop_column("role")
