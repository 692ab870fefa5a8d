"""Tenants: every row of every table belongs to one tenant (a restaurant group).

A connection Flux hands out (:meth:`pipelines.io.db.Database.connect`) carries a *scope*: one
tenant, or all tenants (explicit: ``--all-tenants``). The scope is enforced twice:

- by Flux's own queries, on every backend: readers add :func:`where` to their statements and
  writers stamp rows with :func:`tenant_of` (the ``tenant_id`` column's default does it for
  Core inserts), so SQLite keeps the same checks;
- on PostgreSQL by row-level security as well: the session setting ``app.tenant_id`` (or
  ``app.all_tenants = on``, honoured only for members of ``flux_pipeline``) is set on each
  connection, and the policies of migration 0007 (:func:`policy_sql`) admit only that tenant's
  rows, for reading and for writing.

See docs/tenancy.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import columns as c
from pipelines.errors import UsageError

__all__ = [
    "ALL_TENANTS_ROW",
    "ALL_TENANTS_SETTING",
    "APP_ROLE",
    "DEFAULT_TENANT",
    "PIPELINE_ROLE",
    "TENANT_PATTERN",
    "TENANT_SETTING",
    "RlsStatus",
    "apply",
    "column_default",
    "policy_sql",
    "protect_sql",
    "require_tenant",
    "rls_status",
    "tenant_column",
    "tenant_of",
    "tenants",
    "where",
]

DEFAULT_TENANT: Final = "default"
"""The tenant of single-team installs (and of every row a database had before tenants)."""
TENANT_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
"""Tenant ids: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit."""
TENANT_SETTING: Final = "app.tenant_id"
"""The PostgreSQL session setting naming the connection's tenant."""
ALL_TENANTS_SETTING: Final = "app.all_tenants"
"""The PostgreSQL session setting (``on``) that opens every tenant to ``flux_pipeline``."""
APP_ROLE: Final = "flux_app"
"""The read-only role of the web app (sees one tenant: the one its session sets)."""
PIPELINE_ROLE: Final = "flux_pipeline"
"""The role Flux runs as (one tenant, or all of them when the session says so explicitly)."""

ALL_TENANTS_ROW: Final = "*"
"""The ``tenant_id`` of a run record written by a run for all tenants (seen only by such runs)."""

_INFO_KEY: Final = "flux_tenant_scope"
_ALL: Final = ALL_TENANTS_ROW


def apply(conn: Connection, tenant: str | None) -> None:
    """Scopes a connection to ``tenant`` (None: all tenants), in Flux and on PostgreSQL."""
    conn.info[_INFO_KEY] = _ALL if tenant is None else tenant
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT set_config(:ts, :tenant, false), set_config(:alls, :all, false)"),
            {
                "ts": TENANT_SETTING,
                "tenant": tenant or "",
                "alls": ALL_TENANTS_SETTING,
                "all": "on" if tenant is None else "off",
            },
        )
        # The settings belong to the session, not to a transaction that may be rolled back.
        if conn.in_transaction():
            conn.commit()


def _scope(info: Any) -> str | None:
    """The scope stored in a connection's info: a tenant, ``*`` (all), or None (a connection
    Flux did not scope: migrations' own, a test's raw engine)."""
    value = info.get(_INFO_KEY)
    return None if value is None else str(value)


def tenant_of(conn: Connection) -> str | None:
    """The connection's tenant (None: all tenants). An unscoped connection is the default
    tenant's."""
    scope = _scope(conn.info)
    if scope is None:
        return DEFAULT_TENANT
    return None if scope == _ALL else scope


def require_tenant(conn: Connection, what: str) -> str:
    """The connection's tenant.

    Raises:
        UsageError: the connection is for all tenants (``what`` needs one).
    """
    tenant = tenant_of(conn)
    if tenant is None:
        raise UsageError(f"{what} is for one tenant: give --tenant (not --all-tenants)")
    return tenant


def where(conn: Connection, *tables: sa.Table) -> list[sa.ColumnElement[bool]]:
    """The conditions that keep a statement on the connection's tenant (none: all tenants)."""
    tenant = tenant_of(conn) if _scope(conn.info) is not None else None
    if tenant is None:
        return []
    return [table.c[c.TENANT_ID] == tenant for table in tables]


def tenants(conn: Connection) -> list[str]:
    """The tenants that have restaurants (those the connection may see), sorted."""
    from pipelines.io import schema  # the schema module builds its columns from this one

    t = schema.restaurants
    stmt = sa.select(t.c[c.TENANT_ID]).where(*where(conn, t)).distinct()
    return sorted(str(r) for r in conn.execute(stmt).scalars())


@dataclass(frozen=True)
class RlsStatus:
    """What row-level security does for a PostgreSQL connection (``flux doctor``).

    Attributes:
        user: The connected role.
        bypasses: It is a superuser or BYPASSRLS: row-level security does not hold it (Flux's
            own queries still keep to the tenant).
        pipeline_member: It is (a member of) ``flux_pipeline``.
        roles_missing: Which of ``flux_app`` and ``flux_pipeline`` do not exist.
        unprotected: Tables of the schema without forced row-level security.
    """

    user: str
    bypasses: bool
    pipeline_member: bool
    roles_missing: tuple[str, ...]
    unprotected: tuple[str, ...]


def rls_status(conn: Connection, tables: list[str]) -> RlsStatus:
    """The connection's row-level security set-up (PostgreSQL only)."""
    user, bypasses = conn.execute(
        sa.text(
            "SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        )
    ).one()
    present = set(
        conn.execute(
            sa.text("SELECT rolname FROM pg_roles WHERE rolname IN (:a, :p)"),
            {"a": APP_ROLE, "p": PIPELINE_ROLE},
        ).scalars()
    )
    member = PIPELINE_ROLE in present and bool(
        conn.execute(
            sa.text("SELECT pg_has_role(current_user, :p, 'MEMBER')"), {"p": PIPELINE_ROLE}
        ).scalar()
    )
    forced = set(
        conn.execute(
            sa.text(
                "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') "
                "AND relrowsecurity AND relforcerowsecurity "
                "AND relnamespace = current_schema()::regnamespace"
            )
        ).scalars()
    )
    return RlsStatus(
        user=str(user),
        bypasses=bool(bypasses),
        pipeline_member=member,
        roles_missing=tuple(r for r in (APP_ROLE, PIPELINE_ROLE) if r not in present),
        unprotected=tuple(sorted(t for t in tables if t not in forced)),
    )


def column_default(context: Any) -> str:
    """The ``tenant_id`` of a row inserted without one: the connection's tenant, or
    :data:`ALL_TENANTS_ROW` for a record of a run for all tenants (an import batch, a nightly
    job, an inbox object). Restaurants' data is always stamped with its restaurant's tenant."""
    scope = _scope(context.root_connection.info)
    return DEFAULT_TENANT if scope is None else scope


def tenant_column() -> sa.Column[str]:
    """The ``tenant_id`` column every table carries."""
    return sa.Column(c.TENANT_ID, sa.String(64), nullable=False, default=column_default)


def policy_sql(table: str) -> list[str]:
    """PostgreSQL statements that put ``table`` under row-level security (forced, so the table's
    owner is held too; only superusers and BYPASSRLS roles are not)."""
    mine = f"{c.TENANT_ID} = current_setting('{TENANT_SETTING}', true)"
    every = f"current_setting('{ALL_TENANTS_SETTING}', true) = 'on'"
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS flux_tenant ON "{table}"',
        f'CREATE POLICY flux_tenant ON "{table}" USING ({mine}) WITH CHECK ({mine})',
        f'DROP POLICY IF EXISTS flux_all_tenants ON "{table}"',
        f'CREATE POLICY flux_all_tenants ON "{table}" TO {PIPELINE_ROLE} '
        f"USING ({every}) WITH CHECK ({every})",
    ]


def protect_sql(table: str) -> list[str]:
    """PostgreSQL statements that make ``table`` tenant-owned: the roles' grants (read and write
    for ``flux_pipeline``, read for ``flux_app``) and :func:`policy_sql`. Every migration that
    adds a table runs them."""
    return [
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO {PIPELINE_ROLE}',
        f'GRANT SELECT ON "{table}" TO {APP_ROLE}',
        *policy_sql(table),
    ]
