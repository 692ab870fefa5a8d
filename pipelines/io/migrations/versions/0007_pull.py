"""pos_watermarks: how far each restaurant's orders were pulled from its POS vendor (flux pull)

Revision ID: 0007_pull
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_pull"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pos_watermarks",
        sa.Column("restaurant_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("pulled_through_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("restaurant_id", "provider", name="pk_pos_watermarks"),
    )


def downgrade() -> None:
    op.drop_table("pos_watermarks")
