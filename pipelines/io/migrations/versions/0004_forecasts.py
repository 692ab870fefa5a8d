"""forecasts and publishing

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_runs",
        sa.Column("forecast_run_id", sa.String(length=36), nullable=False),
        sa.Column("artifact_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("freq", sa.String(length=8), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restaurants", sa.Integer(), nullable=False),
        sa.Column("summary_json", sa.Text(), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("forecast_run_id"),
    )
    with op.batch_alter_table("forecast_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ux_forecast_runs_artifact_asof",
            ["artifact_id", "as_of", "target", "freq"],
            unique=True,
        )

    op.create_table(
        "forecasts",
        sa.Column("forecast_run_id", sa.String(length=36), nullable=False),
        sa.Column("restaurant_id", sa.String(length=64), nullable=False),
        sa.Column("ds", sa.DateTime(), nullable=False),
        sa.Column("yhat", sa.Float(), nullable=False),
        sa.Column("yhat_lower_80", sa.Float(), nullable=True),
        sa.Column("yhat_upper_80", sa.Float(), nullable=True),
        sa.Column("yhat_lower_95", sa.Float(), nullable=True),
        sa.Column("yhat_upper_95", sa.Float(), nullable=True),
        sa.Column("served_by", sa.String(length=32), nullable=False),
        sa.Column("closed", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("forecast_run_id", "restaurant_id", "ds", name="pk_forecasts"),
    )
    op.create_table(
        "published_forecasts",
        sa.Column("restaurant_id", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("freq", sa.String(length=8), nullable=False),
        sa.Column("ds", sa.DateTime(), nullable=False),
        sa.Column("yhat", sa.Float(), nullable=False),
        sa.Column("lower", sa.Float(), nullable=True),
        sa.Column("upper", sa.Float(), nullable=True),
        sa.Column("forecast_run_id", sa.String(length=36), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "restaurant_id", "target", "freq", "ds", name="pk_published_forecasts"
        ),
    )
    op.create_table(
        "train_runs",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("artifact_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("freq", sa.String(length=8), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("restaurant_scope", sa.Text(), server_default="", nullable=False),
        sa.Column("job_name", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id"),
    )


def downgrade() -> None:
    op.drop_table("train_runs")
    op.drop_table("published_forecasts")
    op.drop_table("forecasts")
    with op.batch_alter_table("forecast_runs", schema=None) as batch_op:
        batch_op.drop_index("ux_forecast_runs_artifact_asof")

    op.drop_table("forecast_runs")
