"""calendar_events: the tenant leads the event's key, so two tenants' events for every
restaurant (no restaurant id) with the same kind, name and start are two rows, not one row that
the second import takes over (``tenant|restaurant or *|kind|name|start``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from pipelines.io.tenancy import policy_sql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES: tuple[str, ...] = ()
"""The tables this migration adds: none (tests/test_tenancy.py checks the lists)."""


def _rekey(expression: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # forced row-level security would hide every row from the owner's UPDATE
        op.execute('ALTER TABLE "calendar_events" NO FORCE ROW LEVEL SECURITY')
    op.execute(f'UPDATE "calendar_events" SET event_key = {expression}')
    if postgres:
        for statement in policy_sql("calendar_events"):
            op.execute(statement)


def upgrade() -> None:
    _rekey("tenant_id || '|' || event_key")


def downgrade() -> None:
    _rekey("substr(event_key, length(tenant_id) + 2)")
