"""TimescaleDB: order lines become a hypertable (only where the extension is installed).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NATURAL_KEY = "restaurant_id, source, order_id, line_id"


def _timescale_installed() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    mode = context.config.attributes.get("timescale", "auto")
    if mode == "off":
        return False
    found = bind.execute(
        sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    ).scalar()
    if not found and mode == "on":
        raise RuntimeError(
            "timescale = 'on' but the timescaledb extension is not installed in this database"
        )
    return bool(found)


def upgrade() -> None:
    if not _timescale_installed():
        return
    # A hypertable's unique keys must contain its time column.
    op.execute("ALTER TABLE order_lines DROP CONSTRAINT pk_order_lines")
    op.execute(
        f"ALTER TABLE order_lines ADD CONSTRAINT pk_order_lines PRIMARY KEY ({NATURAL_KEY}, ts_utc)"
    )
    op.execute(
        "SELECT create_hypertable('order_lines', by_range('ts_utc', INTERVAL '30 days'), "
        "migrate_data => true)"
    )


def downgrade() -> None:
    # Leaving a hypertable is not supported by TimescaleDB; the table stays as it is.
    pass
