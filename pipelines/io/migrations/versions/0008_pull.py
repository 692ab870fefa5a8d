"""pos_watermarks: how far each restaurant's orders were pulled from its POS vendor (flux pull).
Tenant-owned like every table (migration 0007): rows carry their restaurant's tenant_id and, on
PostgreSQL, sit under the same forced row-level security and grants.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pipelines.io.tenancy import protect_sql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("pos_watermarks",)
"""The tables this migration adds (all tenant-owned; tests/test_tenancy.py checks the lists)."""


def upgrade() -> None:
    op.create_table(
        "pos_watermarks",
        sa.Column("restaurant_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("pulled_through_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("restaurant_id", "provider", name="pk_pos_watermarks"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        for statement in protect_sql(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("pos_watermarks")
