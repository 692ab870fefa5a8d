"""regressors: exogenous drivers (weather, reservations, promotions, events with a size), one value
per restaurant (or ``*``: every restaurant), day or 15-minute slot, and name; whether the value is
known before the day it describes. Tenant-owned like every table (migration 0007).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pipelines.io.tenancy import protect_sql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("regressors",)
"""The tables this migration adds (all tenant-owned; tests/test_tenancy.py checks the lists)."""


def upgrade() -> None:
    op.create_table(
        "regressors",
        sa.Column("restaurant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("slot", sa.String(5), nullable=False, server_default=""),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("known_in_advance", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        # tenant_id leads the key: two tenants may each give every restaurant ("*") a value
        sa.PrimaryKeyConstraint(
            "tenant_id", "restaurant_id", "name", "date", "slot", name="pk_regressors"
        ),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        for statement in protect_sql(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("regressors")
