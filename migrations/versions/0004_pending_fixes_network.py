"""pending fixes with an expiry, the network of anonymous free fixes, API keys' last use,
the user's test and every LLM call of a fix

Revision ID: b4c1d2e3f405
Revises: 7a0677d8cfbe
Create Date: 2026-12-02 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bugfixer.db

revision: str = "b4c1d2e3f405"
down_revision: str | None = "7a0677d8cfbe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_fixes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=True),
        sa.Column("created_at", bugfixer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bugfixer.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_pending_fixes_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_fixes")),
    )
    op.create_index(op.f("ix_pending_fixes_trial_id"), "pending_fixes", ["trial_id"], unique=False)
    op.create_index(op.f("ix_pending_fixes_network"), "pending_fixes", ["network"], unique=False)
    op.create_index(
        op.f("ix_pending_fixes_expires_at"), "pending_fixes", ["expires_at"], unique=False
    )
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("network", sa.String(length=64), nullable=True))
        batch.create_index("ix_usage_records_network_created_at", ["network", "created_at"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("last_used_at", bugfixer.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("fixes") as batch:
        batch.add_column(sa.Column("test", sa.Text(), server_default="", nullable=False))
    op.create_table(
        "llm_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fix_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_microusd", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", bugfixer.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["fix_id"], ["fixes.id"], name=op.f("fk_llm_calls_fix_id_fixes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_calls")),
    )
    op.create_index(op.f("ix_llm_calls_fix_id"), "llm_calls", ["fix_id"], unique=False)
    op.create_index(op.f("ix_llm_calls_created_at"), "llm_calls", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_llm_calls_created_at"), table_name="llm_calls")
    op.drop_index(op.f("ix_llm_calls_fix_id"), table_name="llm_calls")
    op.drop_table("llm_calls")
    with op.batch_alter_table("fixes") as batch:
        batch.drop_column("test")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_at")
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_index("ix_usage_records_network_created_at")
        batch.drop_column("network")
    op.drop_index(op.f("ix_pending_fixes_expires_at"), table_name="pending_fixes")
    op.drop_index(op.f("ix_pending_fixes_network"), table_name="pending_fixes")
    op.drop_index(op.f("ix_pending_fixes_trial_id"), table_name="pending_fixes")
    op.drop_table("pending_fixes")
