"""Tenants: every table carries tenant_id (existing rows: tenant ``default``); one POS location
(provider, location id) feeds one restaurant across tenants (a unique index); on PostgreSQL,
row-level security keyed on the session setting ``app.tenant_id``, and the roles ``flux_app``
(read-only, the web app) and ``flux_pipeline`` (what Flux runs as).

Roles are cluster-wide: they are created only when missing (several databases of one server
share them), which needs CREATEROLE (or a superuser) the first time. Policies are forced, so
the tables' owner is held by them too; superusers and BYPASSRLS roles are not (run Flux and the
web app as members of the roles, see docs/tenancy.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pipelines.io.tenancy import APP_ROLE, PIPELINE_ROLE, protect_sql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "restaurants",
    "orders",
    "order_lines",
    "observations",
    "calendar_events",
    "import_batches",
    "demand_daily",
    "demand_15min",
    "demand_items_daily",
    "backtest_runs",
    "train_runs",
    "forecast_runs",
    "forecasts",
    "published_forecasts",
    "job_runs",
    "source_objects",
)
"""Every table of the schema: all are tenant-owned (tests/test_tenancy.py checks the list)."""


def _create_role(name: str) -> None:
    # Two databases migrating at once may both find the role missing: the loser's CREATE fails
    # with duplicate_object (or unique_violation on the catalogue), which is what we wanted.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
                BEGIN
                    CREATE ROLE {name} NOLOGIN;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                END;
            END IF;
        END
        $$
        """
    )


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("tenant_id", sa.String(64), nullable=False, server_default="default")
            )
        # Rows are backfilled; from now on each insert says whose row it is.
        with op.batch_alter_table(table) as batch:
            batch.alter_column("tenant_id", server_default=None)
    op.create_index("ix_restaurants_tenant", "restaurants", ["tenant_id"])
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT pos_provider, pos_location_id, COUNT(*) FROM restaurants "
                "WHERE pos_provider IS NOT NULL AND pos_location_id IS NOT NULL "
                "GROUP BY pos_provider, pos_location_id HAVING COUNT(*) > 1"
            )
        )
        .all()
    )
    if shared:
        pairs = ", ".join(f"{p} {loc!r} ({n} restaurants)" for p, loc, n in shared)
        raise RuntimeError(
            f"restaurants share a POS location: {pairs}; one location must feed one "
            "restaurant: blank the wrong restaurant's pos_location_id (UPDATE restaurants SET "
            "pos_location_id = NULL WHERE restaurant_id = '...') and migrate again"
        )
    op.create_index(
        "ux_restaurants_pos_location",
        "restaurants",
        ["pos_provider", "pos_location_id"],
        unique=True,
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    _create_role(APP_ROLE)
    _create_role(PIPELINE_ROLE)
    # CONNECT and TEMPORARY (staging tables) on the database are PUBLIC's by default; a
    # database that revoked them must grant them to flux_pipeline (docs/tenancy.md).
    op.execute(
        f"""
        DO $$
        BEGIN
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO {PIPELINE_ROLE}, {APP_ROLE}',
                           current_schema());
        END
        $$
        """
    )
    op.execute(f"GRANT SELECT ON alembic_version TO {PIPELINE_ROLE}, {APP_ROLE}")
    for table in TABLES:
        for statement in protect_sql(table):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f'DROP POLICY IF EXISTS flux_tenant ON "{table}"')
            op.execute(f'DROP POLICY IF EXISTS flux_all_tenants ON "{table}"')
            op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
            op.execute(f'REVOKE ALL ON "{table}" FROM {PIPELINE_ROLE}, {APP_ROLE}')
        op.execute(f"REVOKE ALL ON alembic_version FROM {PIPELINE_ROLE}, {APP_ROLE}")
        # The roles stay: other databases of the server may use them.
    op.drop_index("ux_restaurants_pos_location", table_name="restaurants")
    op.drop_index("ix_restaurants_tenant", table_name="restaurants")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tenant_id")
