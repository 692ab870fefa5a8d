"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_events",
        sa.Column("event_key", sa.String(length=400), nullable=False),
        sa.Column("restaurant_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("lower_window", sa.Integer(), server_default="0", nullable=False),
        sa.Column("upper_window", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("event_key"),
    )
    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_events_restaurant", ["restaurant_id"], unique=False)

    op.create_table(
        "demand_15min",
        sa.Column("restaurant_id", sa.String(length=64), nullable=False),
        sa.Column("slot_start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("covers", sa.Integer(), nullable=True),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("net_sales_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "restaurant_id", "slot_start_utc", "business_date", name="pk_demand_15min"
        ),
    )
    with op.batch_alter_table("demand_15min", schema=None) as batch_op:
        batch_op.create_index(
            "ix_demand_15min_restaurant_date", ["restaurant_id", "business_date"], unique=False
        )

    op.create_table(
        "demand_daily",
        sa.Column("restaurant_id", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("covers", sa.Integer(), nullable=True),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("net_sales_minor", sa.BigInteger(), nullable=False),
        sa.Column("item_quantity", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("restaurant_id", "business_date", name="pk_demand_daily"),
    )
    op.create_table(
        "demand_items_daily",
        sa.Column("restaurant_id", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "restaurant_id", "business_date", "item", "category", name="pk_demand_items_daily"
        ),
    )
    op.create_table(
        "import_batches",
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("file_no", sa.Integer(), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("restaurant_scope", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("rows_duplicate", sa.Integer(), nullable=False),
        sa.Column("rejects_path", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flux_version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "file_no", name="pk_import_batches"),
    )
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.create_index("ix_import_batches_sha", ["file_sha256"], unique=False)

    op.create_table(
        "observations",
        sa.Column("restaurant_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("restaurant_id", "target", "date", name="pk_observations"),
    )
    op.create_table(
        "order_lines",
        sa.Column("restaurant_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("line_id", sa.String(length=160), nullable=False),
        sa.Column("parent_line_id", sa.String(length=160), nullable=True),
        sa.Column("ts_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("item", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("net_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint(
            "restaurant_id", "source", "order_id", "line_id", name="pk_order_lines"
        ),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_lines_restaurant_date", ["restaurant_id", "business_date"], unique=False
        )

    op.create_table(
        "orders",
        sa.Column("restaurant_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("opened_at_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("covers", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("restaurant_id", "source", "order_id", name="pk_orders"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_restaurant_date", ["restaurant_id", "business_date"], unique=False
        )

    op.create_table(
        "restaurants",
        sa.Column("restaurant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("subdivision", sa.String(length=16), nullable=True),
        sa.Column("cutoff_hour", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pos_provider", sa.String(length=32), nullable=True),
        sa.Column("pos_location_id", sa.String(length=128), nullable=True),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.PrimaryKeyConstraint("restaurant_id"),
    )


def downgrade() -> None:
    op.drop_table("restaurants")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_restaurant_date")

    op.drop_table("orders")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_order_lines_restaurant_date")

    op.drop_table("order_lines")
    op.drop_table("observations")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_import_batches_sha")

    op.drop_table("import_batches")
    op.drop_table("demand_items_daily")
    op.drop_table("demand_daily")
    with op.batch_alter_table("demand_15min", schema=None) as batch_op:
        batch_op.drop_index("ix_demand_15min_restaurant_date")

    op.drop_table("demand_15min")
    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_events_restaurant")

    op.drop_table("calendar_events")
