"""Alembic environment: runs migrations on the connection Flux hands over."""

from __future__ import annotations

from alembic import context

from pipelines.io.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - Flux always passes a connection
    raise RuntimeError("run migrations through `flux db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
