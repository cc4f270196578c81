"""product events, the admin audit log, complimentary access, subscription prices

Revision ID: c6e1a2b3d406
Revises: c5d2e3f4a506
Create Date: 2026-12-02 02:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import bugfixer.db

revision: str = "c6e1a2b3d406"
down_revision: str | None = "c5d2e3f4a506"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurred_at", bugfixer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("visitor_id", sa.String(length=64), nullable=True),
        sa.Column("visitor_key", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_events")),
    )
    op.create_index(
        "ix_product_events_occurred_at",
        "product_events",
        ["occurred_at"],
        postgresql_include=["kind", "user_id", "visitor_key"],
    )
    op.create_index("ix_product_events_kind_occurred_at", "product_events", ["kind", "occurred_at"])
    op.create_index(
        "ix_product_events_user_id_occurred_at", "product_events", ["user_id", "occurred_at"]
    )
    links = sa.text("kind IN ('signed_up', 'signed_in')")
    op.create_index(
        "ix_product_events_links",
        "product_events",
        ["visitor_key"],
        postgresql_include=["user_id"],
        postgresql_where=links,
        sqlite_where=links,
    )

    op.create_table(
        "admin_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", bugfixer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("admin_user_id", sa.Integer(), nullable=True),
        sa.Column("admin_email", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["admin_user_id"], ["users.id"], name=op.f("fk_admin_actions_admin_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["target_user_id"], ["users.id"], name=op.f("fk_admin_actions_target_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_actions")),
    )
    op.create_index(
        op.f("ix_admin_actions_occurred_at"), "admin_actions", ["occurred_at"], unique=False
    )
    op.create_index(
        op.f("ix_admin_actions_target_user_id"), "admin_actions", ["target_user_id"], unique=False
    )

    op.create_table(
        "complimentary_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("until", bugfixer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=True),
        sa.Column("created_at", bugfixer.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", bugfixer.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["users.id"], name=op.f("fk_complimentary_grants_granted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["users.id"], name=op.f("fk_complimentary_grants_revoked_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_complimentary_grants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complimentary_grants")),
    )
    op.create_index(
        op.f("ix_complimentary_grants_user_id"), "complimentary_grants", ["user_id"], unique=False
    )

    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("amount_cents", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("interval", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("interval_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("interval_count")
        batch.drop_column("interval")
        batch.drop_column("currency")
        batch.drop_column("amount_cents")
    op.drop_index(op.f("ix_complimentary_grants_user_id"), table_name="complimentary_grants")
    op.drop_table("complimentary_grants")
    op.drop_index(op.f("ix_admin_actions_target_user_id"), table_name="admin_actions")
    op.drop_index(op.f("ix_admin_actions_occurred_at"), table_name="admin_actions")
    op.drop_table("admin_actions")
    op.drop_index("ix_product_events_links", table_name="product_events")
    op.drop_index("ix_product_events_user_id_occurred_at", table_name="product_events")
    op.drop_index("ix_product_events_kind_occurred_at", table_name="product_events")
    op.drop_index("ix_product_events_occurred_at", table_name="product_events")
    op.drop_table("product_events")
