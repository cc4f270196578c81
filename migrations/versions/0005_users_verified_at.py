"""when each account proved it owns its email address

Revision ID: c5d2e3f4a506
Revises: b4c1d2e3f405
Create Date: 2026-12-02 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bugfixer.db

revision: str = "c5d2e3f4a506"
down_revision: str | None = "b4c1d2e3f405"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("verified_at", bugfixer.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("verified_at")
