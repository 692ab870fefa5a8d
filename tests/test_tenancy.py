"""Tenants (issue 13 item 3): every table is tenant-owned; Flux keeps to one tenant on every
backend; on PostgreSQL row-level security holds a connection for tenant A off tenant B's rows in
every table, for reading and for writing, whatever the SQL.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pipelines.io import schema, series, tenancy
from pipelines.io.db import Database
from pipelines.settings import Settings, load_settings
from tests.helpers import checksums, run_cli
from tests.test_hostile_input import HEADER, MAPPING

RESTAURANTS_HEADER = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency,tenant\n"
)
MIGRATION = importlib.import_module("pipelines.io.migrations.versions.0007_tenants")
LATER_MIGRATIONS = [
    importlib.import_module("pipelines.io.migrations.versions.0008_pull"),
    importlib.import_module("pipelines.io.migrations.versions.0009_regressors"),
    importlib.import_module("pipelines.io.migrations.versions.0010_event_key_tenant"),
]
"""Migrations after 0007 that add tables (each lists its TABLES and puts them under RLS)."""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def restaurant_row(rid: str, tenant: str = "") -> str:
    return f"{rid},{rid} Diner,America/New_York,US,NY,4,csv,,USD,{tenant}\n"


def sales(folder: Path, rid: str, name: str) -> Path:
    """Two orders on 2025-03-03 (local): 2 x 10.00 and 1 x 5.50."""
    write(folder, name.replace(".csv", ".mapping.toml"), MAPPING)
    rows = [
        f"{rid},T1,1,2025-03-03 12:00,Soup,2,10.00,sold",
        f"{rid},T2,1,2025-03-03 13:00,Tea,1,5.50,sold",
    ]
    return write(folder, name, HEADER + "".join(r + "\n" for r in rows))


def flux(settings: Settings, *args: str) -> Any:
    return run_cli(settings, [*args])


@pytest.fixture(params=("sqlite", "postgres"))
def lane_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on SQLite and on PostgreSQL (as the superuser: Flux's own checks are tested)."""
    if request.param == "sqlite":
        return load_settings(home=tmp_path / "home")
    url = str(request.getfixturevalue("pg_url"))
    return load_settings(home=tmp_path / "home", database_url=url)


def two_tenants(settings: Settings, folder: Path) -> None:
    """acme owns a1, bravo owns b1, each with a day of sales."""
    for tenant, rid in (("acme", "a1"), ("bravo", "b1")):
        path = write(folder / tenant, "restaurants.csv", RESTAURANTS_HEADER + restaurant_row(rid))
        result = flux(settings, "--tenant", tenant, "import", str(path))
        assert result.exit_code == 0, result.stderr
        result = flux(
            settings, "--tenant", tenant, "import", str(sales(folder / tenant, rid, "lines.csv"))
        )
        assert result.exit_code == 0, result.stderr


def scoped(settings: Settings, tenant: str | None) -> Database:
    update = {"all_tenants": True} if tenant is None else {"tenant": tenant}
    return Database(settings.model_copy(update=update))


# ----------------------------------------------------------------- Flux's checks, both backends


def test_a_tenant_sees_and_imports_into_only_its_own_restaurants(
    lane_settings: Settings, tmp_path: Path
) -> None:
    two_tenants(lane_settings, tmp_path)
    for tenant, mine in (("acme", "a1"), ("bravo", "b1")):
        db = scoped(lane_settings, tenant)
        with db.connect() as conn:
            assert list(series.read_restaurants(conn)["restaurant_id"]) == [mine]
            daily = series.read_series(conn, "orders").data
            assert set(daily["restaurant_id"]) == {mine}
            assert tenancy.tenants(conn) == [tenant]
        db.dispose()
    everyone = scoped(lane_settings, None)
    with everyone.connect() as conn:
        assert tenancy.tenants(conn) == ["acme", "bravo"]
        stamped = conn.execute(
            sa.select(schema.order_lines.c.restaurant_id, schema.order_lines.c.tenant_id)
        ).all()
        assert sorted(set(stamped)) == [("a1", "acme"), ("b1", "bravo")]
        rollups = conn.execute(
            sa.select(schema.demand_daily.c.restaurant_id, schema.demand_daily.c.tenant_id)
        ).all()
        assert sorted(rollups) == [("a1", "acme"), ("b1", "bravo")]
    everyone.dispose()
    # bravo's sales file naming acme's restaurant lands nothing in it
    before = checksums(lane_settings)
    result = flux(
        lane_settings,
        "--tenant",
        "bravo",
        "import",
        str(sales(tmp_path / "cross", "a1", "lines.csv")),
        "--json",
    )
    assert result.exit_code == 2, result.stdout
    assert checksums(lane_settings) == before


def test_a_restaurant_id_of_another_tenant_cannot_be_claimed(
    lane_settings: Settings, tmp_path: Path
) -> None:
    two_tenants(lane_settings, tmp_path)
    before = checksums(lane_settings)
    path = write(
        tmp_path / "claim",
        "restaurants.csv",
        RESTAURANTS_HEADER + restaurant_row("b2") + restaurant_row("a1"),
    )
    result = flux(lane_settings, "--tenant", "bravo", "import", str(path))
    assert result.exit_code == 2
    assert "restaurants.csv" in result.stderr
    assert "'restaurant_id'" in result.stderr
    assert "restaurant 'a1' belongs to" in result.stderr
    assert checksums(lane_settings) == before  # b2 was not imported either


def test_a_pos_location_of_another_tenant_cannot_be_claimed(
    lane_settings: Settings, tmp_path: Path
) -> None:
    toast = "{rid},{rid} Grill,America/New_York,US,NY,4,toast,guid-1,USD,\n"
    first = write(tmp_path / "a", "restaurants.csv", RESTAURANTS_HEADER + toast.format(rid="a1"))
    assert flux(lane_settings, "--tenant", "acme", "import", str(first)).exit_code == 0
    before = checksums(lane_settings)
    claim = write(tmp_path / "b", "restaurants.csv", RESTAURANTS_HEADER + toast.format(rid="b1"))
    result = flux(lane_settings, "--tenant", "bravo", "import", str(claim))
    assert result.exit_code == 2
    assert "field 'pos_location_id'" in result.stderr
    assert "pos_provider toast and pos_location_id 'guid-1' belongs to restaurant 'a1'" in (
        result.stderr
    )
    assert checksums(lane_settings) == before


def test_a_row_for_another_tenant_is_a_reject_naming_the_tenant_field(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    path = write(
        tmp_path,
        "restaurants.csv",
        RESTAURANTS_HEADER + restaurant_row("a1", "acme") + restaurant_row("b1", "bravo"),
    )
    result = flux(settings, "--tenant", "acme", "import", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    reasons = json.loads(result.stdout)["reject_reasons"]
    assert [(r["field"], r["first_row"]) for r in reasons] == [("tenant", 3)]
    db = scoped(settings, None)
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(schema.restaurants.c.restaurant_id, schema.restaurants.c.tenant_id)
        ).all()
    db.dispose()
    assert rows == [("a1", "acme")]


def test_without_a_tenant_everything_is_the_default_tenant_s(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    path = write(tmp_path, "restaurants.csv", RESTAURANTS_HEADER + restaurant_row("r1"))
    assert flux(settings, "import", str(path)).exit_code == 0
    assert flux(settings, "import", str(sales(tmp_path, "r1", "lines.csv"))).exit_code == 0
    db = scoped(settings, None)
    with db.connect() as conn:
        for table in (schema.restaurants, schema.orders, schema.import_batches):
            owners = set(conn.execute(sa.select(table.c.tenant_id)).scalars())
            assert owners == {"default"}, table.name
    db.dispose()


def test_options_refuse_contradictions_and_bad_ids(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    both = flux(settings, "--tenant", "acme", "--all-tenants", "doctor")
    assert both.exit_code == 2
    assert "contradict" in both.stderr
    bad = flux(settings, "--tenant", "../x", "doctor")
    assert bad.exit_code == 2
    assert "not a tenant id" in bad.stderr
    train = flux(settings, "--all-tenants", "train")
    assert train.exit_code == 2
    assert "one tenant at a time" in train.stderr


def test_the_migration_backfills_the_default_tenant(tmp_path: Path) -> None:
    from alembic import command

    settings = load_settings(home=tmp_path / "home")
    db = Database(settings)
    with db.begin() as conn:
        command.upgrade(db._alembic_config(conn), "0006")
        conn.execute(
            sa.text(
                "INSERT INTO restaurants (restaurant_id, name, timezone, cutoff_hour, currency) "
                "VALUES ('old', 'Old', 'UTC', 0, 'USD')"
            )
        )
    db.upgrade()
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT restaurant_id, tenant_id FROM restaurants")).all()
    db.dispose()
    assert [tuple(r) for r in rows] == [("old", "default")]


@pytest.mark.parametrize("lane", ("sqlite", "postgres"))
def test_migration_0010_rekeys_stored_events_so_a_reimport_updates_them(
    lane: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from alembic import command

    url = None if lane == "sqlite" else str(request.getfixturevalue("pg_url"))
    settings = load_settings(home=tmp_path / "home", database_url=url)
    db = Database(settings)
    with db.begin() as conn:  # an event stored before 0010, under its old key
        command.upgrade(db._alembic_config(conn), "0009")
        conn.execute(
            sa.text(
                "INSERT INTO calendar_events (event_key, restaurant_id, kind, name, start_date, "
                "end_date, lower_window, upper_window, tenant_id) VALUES ('*|event|Fair|"
                "2025-03-03', NULL, 'event', 'Fair', '2025-03-03', '2025-03-03', 0, 0, 'default')"
            )
        )
    db.upgrade()
    db.dispose()
    header = "restaurant_id,kind,name,start_date,end_date,lower_window,upper_window\n"
    path = write(tmp_path, "events.csv", header + ",event,Fair,2025-03-03,2025-03-04,,\n")
    result = flux(settings, "import", str(path))
    assert result.exit_code == 0, result.stderr
    db = Database(settings)
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_key, end_date FROM calendar_events")).all()
    db.dispose()
    # one event, re-keyed by 0010 and then updated in place (end date 03-03 -> 03-04)
    assert [(k, str(e)) for k, e in rows] == [("default|*|event|Fair|2025-03-03", "2025-03-04")]


def test_every_table_is_tenant_owned() -> None:
    """A new table without tenant_id (or missing from the migration's list, so without a
    policy) fails here."""
    names = {t.name for t in schema.metadata.sorted_tables}
    assert names == set(MIGRATION.TABLES).union(*(m.TABLES for m in LATER_MIGRATIONS))
    for table in schema.metadata.sorted_tables:
        col = table.c.get("tenant_id")
        assert col is not None and not col.nullable, table.name


# ------------------------------------------------------------ PostgreSQL: row-level security

A, B = "ta", "tb"
_DAY = dt.date(2025, 3, 3)
_TS = dt.datetime(2025, 3, 3, 12, tzinfo=dt.UTC)


def _row(table: sa.Table, tenant: str) -> dict[str, Any]:
    """A row of ``table`` for ``tenant``, its text values naming the tenant (so keys differ)."""
    row: dict[str, Any] = {}
    for col in table.columns:
        kind = col.type
        if col.name == "tenant_id":
            row[col.name] = tenant
        elif isinstance(kind, sa.DateTime):
            row[col.name] = _TS if kind.timezone else _TS.replace(tzinfo=None)
        elif isinstance(kind, sa.Date):
            row[col.name] = _DAY
        elif isinstance(kind, sa.Integer):
            row[col.name] = 1
        elif isinstance(kind, sa.Float):
            row[col.name] = 1.0
        elif isinstance(kind, sa.Boolean):
            row[col.name] = True
        else:
            length = getattr(kind, "length", None) or 16
            row[col.name] = tenant[:length]
    return row


def _login_role(admin: sa.Engine, name: str, member_of: str) -> None:
    """A LOGIN role (cluster-wide, so made idempotently) that is a member of ``member_of``."""
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                f"""
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
                        BEGIN CREATE ROLE {name} LOGIN;
                        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
                    END IF;
                END $$
                """
            )
        )
        conn.execute(sa.text(f"GRANT {member_of} TO {name}"))


@pytest.fixture
def rls_db(pg_url: str, pg_admin: sa.Engine, tmp_path: Path) -> Iterator[str]:
    """A migrated PostgreSQL database holding one row per table for each of tenants A and B
    (written by the superuser, which row-level security does not hold)."""
    settings = load_settings(home=tmp_path / "home", database_url=pg_url)
    db = Database(settings)
    db.upgrade()
    db.dispose()
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        for table in schema.metadata.sorted_tables:
            conn.execute(sa.insert(table), [_row(table, A), _row(table, B)])
    engine.dispose()
    _login_role(pg_admin, "flux_test_pipeline", tenancy.PIPELINE_ROLE)
    _login_role(pg_admin, "flux_test_app", tenancy.APP_ROLE)
    yield pg_url


def _as(url: str, user: str, tenant: str | None, all_tenants: bool = False) -> sa.Engine:
    engine = sa.create_engine(sa.make_url(url).set(username=user), poolclass=sa.pool.NullPool)

    @sa.event.listens_for(engine, "connect")
    def _scope(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if tenant is not None:
            cur.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant,))
        if all_tenants:
            cur.execute("SELECT set_config('app.all_tenants', 'on', false)")
        cur.close()
        dbapi_conn.commit()

    return engine


def _tenants_of(conn: sa.Connection, table: sa.Table) -> list[str]:
    return sorted(conn.execute(sa.text(f'SELECT tenant_id FROM "{table.name}"')).scalars())


def test_rls_holds_the_pipeline_role_to_its_tenant_in_every_table(rls_db: str) -> None:
    engine = _as(rls_db, "flux_test_pipeline", A)
    tables = schema.metadata.sorted_tables
    with engine.connect() as conn:
        superuser = sa.text("SELECT usesuper FROM pg_user WHERE usename = current_user")
        assert conn.execute(superuser).scalar() is False
        for table in tables:
            name = table.name
            assert _tenants_of(conn, table) == [A], name
            # B's rows can be neither changed nor removed, even by SQL that names them...
            assert conn.execute(sa.text(f'UPDATE "{name}" SET tenant_id = tenant_id')).rowcount == 1
            gone = conn.execute(sa.text(f"DELETE FROM \"{name}\" WHERE tenant_id = '{B}'"))
            assert gone.rowcount == 0, name
            conn.commit()
            # ... nor can A write a row into B, or move its own row there
            with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
                conn.execute(sa.insert(table).values(_row(table, B) | _fresh_key(table)))
            conn.rollback()
            with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
                conn.execute(sa.text(f"UPDATE \"{name}\" SET tenant_id = '{B}'"))
            conn.rollback()
    engine.dispose()
    # B's rows are all there, untouched
    everyone = _as(rls_db, "flux_test_pipeline", None, all_tenants=True)
    with everyone.connect() as conn:
        for table in tables:
            assert _tenants_of(conn, table) == [A, B], table.name
    everyone.dispose()


def _fresh_key(table: sa.Table) -> dict[str, Any]:
    """Text values no existing row has (so an insert is refused for its tenant, not its key)."""
    out: dict[str, Any] = {}
    for col in table.columns:
        if col.name != "tenant_id" and isinstance(col.type, sa.String | sa.Text):
            length = getattr(col.type, "length", None) or 16
            out[col.name] = ("z" + uuid.uuid4().hex)[: min(length, 8)]
    return out


def test_rls_without_a_tenant_shows_nothing_and_the_app_role_only_reads(rls_db: str) -> None:
    nobody = _as(rls_db, "flux_test_pipeline", None)
    with nobody.connect() as conn:
        for table in schema.metadata.sorted_tables:
            assert _tenants_of(conn, table) == [], table.name
    nobody.dispose()
    # the web app's role: one tenant's rows, published forecasts included, and no writes
    app = _as(rls_db, "flux_test_app", B, all_tenants=True)  # all_tenants is not for flux_app
    with app.connect() as conn:
        for table in schema.metadata.sorted_tables:
            assert _tenants_of(conn, table) == [B], table.name
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(
                sa.insert(schema.published_forecasts).values(
                    _row(schema.published_forecasts, B) | _fresh_key(schema.published_forecasts)
                )
            )
        conn.rollback()
    app.dispose()


def test_flux_runs_as_the_pipeline_role_and_cannot_claim_a_hidden_restaurant(
    rls_db: str, tmp_path: Path
) -> None:
    """Flux itself, connected as a member of flux_pipeline: imports work under row-level
    security, and a restaurant id another tenant holds (hidden from this one) is refused."""
    url = sa.make_url(rls_db).set(username="flux_test_pipeline").render_as_string(False)
    settings = load_settings(home=tmp_path / "home", database_url=url)
    path = write(tmp_path / "a", "restaurants.csv", RESTAURANTS_HEADER + restaurant_row("a1"))
    result = flux(settings, "--tenant", "acme", "import", str(path))
    assert result.exit_code == 0, result.stderr
    lines = sales(tmp_path / "a", "a1", "lines.csv")
    result = flux(settings, "--tenant", "acme", "import", str(lines))
    assert result.exit_code == 0, result.stderr
    claim = write(tmp_path / "b", "restaurants.csv", RESTAURANTS_HEADER + restaurant_row("a1"))
    result = flux(settings, "--tenant", "bravo", "import", str(claim))
    assert result.exit_code == 2
    assert "restaurant 'a1' belongs to another tenant" in result.stderr
    # acme's POS location, hidden from bravo, cannot be claimed either
    located = "{rid},{rid} Grill,America/New_York,US,NY,4,toast,guid-9,USD,\n"
    mine = write(tmp_path / "a2", "restaurants.csv", RESTAURANTS_HEADER + located.format(rid="a2"))
    assert flux(settings, "--tenant", "acme", "import", str(mine)).exit_code == 0
    theirs = write(
        tmp_path / "b2", "restaurants.csv", RESTAURANTS_HEADER + located.format(rid="b2")
    )
    result = flux(settings, "--tenant", "bravo", "import", str(theirs))
    assert result.exit_code == 2
    assert "pos_location_id 'guid-9' belongs to another tenant" in result.stderr
    db = scoped(settings, "acme")
    with db.connect() as conn:
        daily = series.read_series(conn, "orders").data
    db.dispose()
    assert daily["y"].tolist() == [2.0]  # two orders that day, as imported


def test_doctor_reports_the_tenant_set_up(rls_db: str, tmp_path: Path) -> None:
    from pipelines import doctor

    def tenancy_check(user: str | None) -> doctor.Check:
        url = rls_db if user is None else sa.make_url(rls_db).set(username=user)
        overrides = {
            "home": tmp_path / "home",
            "database_url": url if isinstance(url, str) else url.render_as_string(False),
            "tenant": "acme",
        }
        report = doctor.run(None, environ={}, overrides=overrides)
        return next(c for c in report.checks if c.name == doctor.TENANCY)

    as_pipeline = tenancy_check("flux_test_pipeline")
    assert as_pipeline.status == "ok", as_pipeline
    assert "tenant acme" in as_pipeline.detail
    assert "row-level security holds flux_test_pipeline" in as_pipeline.detail
    as_superuser = tenancy_check(None)
    assert as_superuser.status == "warn"
    assert "superuser or BYPASSRLS" in as_superuser.detail


def test_doctor_on_sqlite_names_the_tenant(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    result = flux(settings, "--tenant", "acme", "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["tenancy"]["status"] == "ok"
    assert checks["tenancy"]["detail"].startswith("tenant acme; SQLite has no row-level security")


def test_timescale_hypertable_lines_are_stamped_and_under_forced_rls(
    timescale_url: str, tmp_path: Path
) -> None:
    """On TimescaleDB the migration puts the order_lines hypertable under forced row-level
    security like every table (its chunks are not: see docs/tenancy.md), and lines imported for
    a tenant carry it."""
    settings = load_settings(home=tmp_path / "home", database_url=timescale_url, locks="file")
    path = write(tmp_path, "restaurants.csv", RESTAURANTS_HEADER + restaurant_row("a1"))
    result = flux(settings, "--tenant", "acme", "import", str(path))
    assert result.exit_code == 0, result.stderr
    result = flux(settings, "--tenant", "acme", "import", str(sales(tmp_path, "a1", "lines.csv")))
    assert result.exit_code == 0, result.stderr
    db = scoped(settings, None)
    with db.connect() as conn:
        assert db.capabilities(conn).timescale
        owners = set(conn.execute(sa.select(schema.order_lines.c.tenant_id)).scalars())
        status = tenancy.rls_status(conn, sorted(schema.metadata.tables))
    db.dispose()
    assert owners == {"acme"}
    assert status.unprotected == ()


@pytest.mark.slow
def test_the_nightly_run_for_all_tenants_models_each_tenant_on_its_own(tmp_path: Path) -> None:
    """``flux --all-tenants run``: one import (each row in its restaurant's tenant), then a
    train and predict per tenant, each artefact in its tenant's store and modelling only its
    restaurants. (Publishing is off: one restaurant's short validation window gives the gate
    nothing to compare; published forecasts' isolation is the row-level security tests'.)"""
    import pandas as pd

    from pipelines.io import artifacts, forecasts
    from tests.conftest import load_generator

    inbox = tmp_path / "inbox"
    load_generator().generate(
        inbox, start=dt.date(2025, 4, 1), days=120, seed=8, restaurants=["r01", "r05"], scale=0.4
    )
    meta = pd.read_csv(inbox / "restaurants.csv", dtype=str, keep_default_na=False)
    meta["tenant"] = meta["restaurant_id"].map({"r01": "acme", "r05": "bravo"})
    meta.to_csv(inbox / "restaurants.csv", index=False)
    home = tmp_path / "home"
    toml = f'[run]\nsource = "{inbox.as_posix()}"\nhorizon = 7\npublish = false\n'
    config = write(home, "flux.toml", toml)
    settings = load_settings(home=home)
    result = flux(settings, "--all-tenants", "--config", str(config), "run", "--json")
    assert result.exit_code in (0, 3), result.stderr
    steps = [(s["step"], s.get("tenant"), s["status"]) for s in json.loads(result.stdout)["steps"]]
    assert steps[0] == ("import", None, "ok")
    assert steps[1:] == [
        (step, tenant, "skipped" if step == "publish" else "ok")
        for tenant in ("acme", "bravo")
        for step in ("train", "predict", "publish")
    ]
    for tenant, rid in (("acme", "r01"), ("bravo", "r05")):
        mine = settings.model_copy(update={"tenant": tenant})
        assert mine.resolved_artifacts_uri.endswith(f"tenants/{tenant}")
        [manifest] = artifacts.open_artifacts(mine).list_artifacts()
        assert list(manifest.restaurants) == [rid]
        db = Database(mine)  # Flux's readers, for this tenant
        with db.connect() as conn:
            latest = forecasts.latest_forecast_run(conn)
            assert latest is not None
            rows = forecasts.read_forecasts(conn, latest["forecast_run_id"])
        db.dispose()
        assert set(rows["restaurant_id"]) == {rid}
        assert latest["artifact_id"] == manifest.artifact_id
    everyone = scoped(settings, None)
    with everyone.connect() as conn:
        fc = schema.forecasts
        owners = set(conn.execute(sa.select(fc.c.restaurant_id, fc.c.tenant_id)).all())
        jobs = set(conn.execute(sa.select(schema.job_runs.c.tenant_id)).scalars())
        trained = set(conn.execute(sa.select(schema.train_runs.c.tenant_id)).scalars())
        runs = set(conn.execute(sa.select(schema.forecast_runs.c.tenant_id)).scalars())
    everyone.dispose()
    assert owners == {("r01", "acme"), ("r05", "bravo")}
    assert trained == runs == {"acme", "bravo"}
    assert jobs == {tenancy.ALL_TENANTS_ROW}


def test_two_tenants_each_keep_their_own_event_for_every_restaurant(
    lane_settings: Settings, tmp_path: Path
) -> None:
    # The same row (no restaurant: every restaurant of the importing tenant) from two tenants
    # is two events, one each; bravo's import must neither overwrite nor hide acme's.
    two_tenants(lane_settings, tmp_path)
    header = "restaurant_id,kind,name,start_date,end_date,lower_window,upper_window\n"
    for tenant in ("acme", "bravo"):
        path = write(
            tmp_path / f"ev-{tenant}",
            "events.csv",
            header + ",event,Fair,2025-03-03,2025-03-03,,\n",
        )
        result = flux(lane_settings, "--tenant", tenant, "import", str(path))
        assert result.exit_code == 0, result.stderr
    everyone = scoped(lane_settings, None)
    with everyone.connect() as conn:
        rows = conn.execute(
            sa.select(schema.calendar_events.c.tenant_id, schema.calendar_events.c.name)
        ).all()
    everyone.dispose()
    assert sorted(rows) == [("acme", "Fair"), ("bravo", "Fair")]
    for tenant in ("acme", "bravo"):
        db = scoped(lane_settings, tenant)
        with db.connect() as conn:
            calendar, _ = series.read_open_days(conn, "orders")
        db.dispose()
        assert list(calendar.events["name"]) == ["Fair"], tenant
