"""The database schema (SQLAlchemy Core). Alembic migrations create it; this module describes it.

Times are UTC. Money is integer minor units. Business dates are the restaurant's local business
day (see docs/formats.md). Every table carries ``tenant_id`` (see :mod:`pipelines.io.tenancy`):
each one is tenant-owned, and on PostgreSQL each is under row-level security.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from models import columns as c
from pipelines.io.tenancy import tenant_column

metadata = MetaData()

UTC_TS = DateTime(timezone=True)

restaurants = Table(
    "restaurants",
    metadata,
    Column(c.RESTAURANT_ID, String(64), primary_key=True),
    Column(c.NAME, Text, nullable=False),
    Column(c.TIMEZONE, String(64), nullable=False),
    Column(c.COUNTRY, String(2), nullable=True),
    Column(c.SUBDIVISION, String(16), nullable=True),
    Column(c.CUTOFF_HOUR, Integer, nullable=False, server_default="0"),
    Column(c.POS_PROVIDER, String(32), nullable=True),
    Column(c.POS_LOCATION_ID, String(128), nullable=True),
    Column(c.CURRENCY, String(3), nullable=False, server_default="USD"),
    tenant_column(),
    Index("ix_restaurants_tenant", c.TENANT_ID),
    # One POS location feeds one restaurant, across tenants (row-level security hides another
    # tenant's restaurants from Flux, not from a unique index).
    Index("ux_restaurants_pos_location", c.POS_PROVIDER, c.POS_LOCATION_ID, unique=True),
)

orders = Table(
    "orders",
    metadata,
    Column(c.RESTAURANT_ID, String(64), nullable=False),
    Column(c.SOURCE, String(32), nullable=False),
    Column(c.ORDER_ID, String(128), nullable=False),
    Column(c.OPENED_AT_UTC, UTC_TS, nullable=False),
    Column(c.BUSINESS_DATE, Date, nullable=False),
    Column(c.COVERS, Integer, nullable=True),
    # The order's net sales, for sources that give order totals only (no lines); NULL otherwise.
    Column(c.NET_AMOUNT_MINOR, BigInteger, nullable=True),
    tenant_column(),
    PrimaryKeyConstraint(c.RESTAURANT_ID, c.SOURCE, c.ORDER_ID, name="pk_orders"),
    Index("ix_orders_restaurant_date", c.RESTAURANT_ID, c.BUSINESS_DATE),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column(c.RESTAURANT_ID, String(64), nullable=False),
    Column(c.SOURCE, String(32), nullable=False),
    Column(c.ORDER_ID, String(128), nullable=False),
    Column(c.LINE_ID, String(160), nullable=False),
    Column(c.PARENT_LINE_ID, String(160), nullable=True),
    Column(c.TS_UTC, UTC_TS, nullable=False),
    Column(c.BUSINESS_DATE, Date, nullable=False),
    Column(c.ITEM, Text, nullable=True),
    Column(c.CATEGORY, Text, nullable=True),
    Column(c.QUANTITY, Float, nullable=False),
    Column(c.NET_AMOUNT_MINOR, BigInteger, nullable=False),
    Column(c.CURRENCY, String(3), nullable=False),
    Column(c.KIND, String(8), nullable=False),
    tenant_column(),
    # On TimescaleDB the primary key also holds ts_utc (a hypertable's unique keys must hold
    # its time column); the loader keeps the natural key unique there itself.
    PrimaryKeyConstraint(c.RESTAURANT_ID, c.SOURCE, c.ORDER_ID, c.LINE_ID, name="pk_order_lines"),
    Index("ix_order_lines_restaurant_date", c.RESTAURANT_ID, c.BUSINESS_DATE),
)

observations = Table(
    "observations",
    metadata,
    Column(c.RESTAURANT_ID, String(64), nullable=False),
    Column(c.DATE, Date, nullable=False),
    Column(c.TARGET, String(64), nullable=False),
    Column(c.VALUE, Float, nullable=False),
    tenant_column(),
    PrimaryKeyConstraint(c.RESTAURANT_ID, c.TARGET, c.DATE, name="pk_observations"),
)

calendar_events = Table(
    "calendar_events",
    metadata,
    Column("event_key", String(400), primary_key=True),
    Column(c.RESTAURANT_ID, String(64), nullable=True),  # NULL: every restaurant
    Column(c.EVENT_KIND, String(16), nullable=False),
    Column(c.NAME, Text, nullable=False),
    Column(c.START_DATE, Date, nullable=False),
    Column(c.END_DATE, Date, nullable=False),
    Column(c.LOWER_WINDOW, Integer, nullable=False, server_default="0"),
    Column(c.UPPER_WINDOW, Integer, nullable=False, server_default="0"),
    tenant_column(),
    Index("ix_calendar_events_restaurant", c.RESTAURANT_ID),
)

regressors = Table(
    "regressors",
    metadata,
    Column(c.RESTAURANT_ID, String(64), nullable=False),  # "*": every restaurant
    Column(c.NAME, String(64), nullable=False),
    Column(c.DATE, Date, nullable=False),
    Column(c.SLOT, String(5), nullable=False, server_default=""),  # "HH:MM"; "": the whole day
    Column(c.VALUE, Float, nullable=False),
    Column(c.KNOWN_IN_ADVANCE, Boolean, nullable=False),
    tenant_column(),
    # tenant_id leads the key: two tenants may each give every restaurant ("*") a value
    PrimaryKeyConstraint(
        c.TENANT_ID, c.RESTAURANT_ID, c.NAME, c.DATE, c.SLOT, name="pk_regressors"
    ),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("batch_id", String(36), nullable=False),
    Column("file_no", Integer, nullable=False),
    Column("file_path", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("format", String(32), nullable=False),
    Column("restaurant_scope", Text, nullable=False, server_default=""),
    Column("status", String(16), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_loaded", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("rows_duplicate", Integer, nullable=False),
    Column("rejects_path", Text, nullable=True),
    Column("started_at", UTC_TS, nullable=False),
    Column("finished_at", UTC_TS, nullable=True),
    Column("flux_version", String(32), nullable=False),
    tenant_column(),
    PrimaryKeyConstraint("batch_id", "file_no", name="pk_import_batches"),
    Index("ix_import_batches_sha", "file_sha256"),
)

demand_daily = Table(
    "demand_daily",
    metadata,
    Column(c.RESTAURANT_ID, String(64), nullable=False),
    Column(c.BUSINESS_DATE, Date, nullable=False),
    Column(c.COVERS, Integer, nullable=True),
    Column(c.ORDERS, Integer, nullable=False),
    Column(c.NET_SALES_MINOR, BigInteger, nullable=False),
    Column("item_quantity", Float, nullable=False),
    tenant_column(),
    PrimaryKeyConstraint(c.RESTAURANT_ID, c.BUSINESS_DATE, name="pk_demand_daily"),
)

demand_15min = Table(
    "demand_15min",
    metadata,
    Column(c.RESTAURANT_ID, String(64), nullable=False),
    Column(c.SLOT_START_UTC, UTC_TS, nullable=False),
    Column(c.BUSINESS_DATE, Date, nullable=False),
    Column(c.COVERS, Integer, nullable=True),
    Column(c.ORDERS, Integer, nullable=False),
    Column(c.NET_SALES_MINOR, BigInteger, nullable=False),
    tenant_column(),
    PrimaryKeyConstraint(
        c.RESTAURANT_ID, c.SLOT_START_UTC, c.BUSINESS_DATE, name="pk_demand_15min"
    ),
    Index("ix_demand_15min_restaurant_date", c.RESTAURANT_ID, c.BUSINESS_DATE),
)

demand_items_daily = Table(
    "demand_items_daily",
    metadata,
    Column(c.RESTAURANT_ID, String(64), nullable=False),
    Column(c.BUSINESS_DATE, Date, nullable=False),
    Column(c.ITEM, Text, nullable=False),
    Column(c.CATEGORY, Text, nullable=False),
    Column(c.QUANTITY, Float, nullable=False),
    tenant_column(),
    PrimaryKeyConstraint(
        c.RESTAURANT_ID, c.BUSINESS_DATE, c.ITEM, c.CATEGORY, name="pk_demand_items_daily"
    ),
)

backtest_runs = Table(
    "backtest_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("created_at", UTC_TS, nullable=False),
    Column(c.TARGET, String(128), nullable=False),
    Column("freq", String(8), nullable=False),
    Column("horizon", Integer, nullable=False),
    Column("folds", Integer, nullable=False),
    Column("models", Text, nullable=False),
    Column("restaurants", Integer, nullable=False),
    Column("best_model", String(64), nullable=True),
    Column("params_json", Text, nullable=False),
    Column("metrics_json", Text, nullable=False),
    Column("output_path", Text, nullable=True),
    Column("flux_version", String(32), nullable=False),
    tenant_column(),
)

train_runs = Table(
    "train_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("artifact_id", String(64), nullable=True),
    Column("created_at", UTC_TS, nullable=False),
    Column("finished_at", UTC_TS, nullable=True),
    Column("backend", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column(c.TARGET, String(128), nullable=False),
    Column("freq", String(8), nullable=False),
    Column("horizon", Integer, nullable=False),
    Column("restaurant_scope", Text, nullable=False, server_default=""),
    Column("job_name", Text, nullable=True),
    Column("message", Text, nullable=True),
    tenant_column(),
)

forecast_runs = Table(
    "forecast_runs",
    metadata,
    Column("forecast_run_id", String(36), primary_key=True),
    Column("artifact_id", String(64), nullable=False),
    Column("as_of", Date, nullable=False),
    Column(c.TARGET, String(128), nullable=False),
    Column("freq", String(8), nullable=False),
    Column("horizon", Integer, nullable=False),
    Column("created_at", UTC_TS, nullable=False),
    Column("restaurants", Integer, nullable=False),
    Column("summary_json", Text, nullable=False, server_default="{}"),
    tenant_column(),
    Index("ux_forecast_runs_artifact_asof", "artifact_id", "as_of", c.TARGET, "freq", unique=True),
)

forecasts = Table(
    "forecasts",
    metadata,
    Column("forecast_run_id", String(36), nullable=False),
    Column(c.RESTAURANT_ID, String(64), nullable=False),
    Column(c.DS, DateTime(timezone=False), nullable=False),
    Column(c.YHAT, Float, nullable=False),
    Column("yhat_lower_80", Float, nullable=True),
    Column("yhat_upper_80", Float, nullable=True),
    Column("yhat_lower_95", Float, nullable=True),
    Column("yhat_upper_95", Float, nullable=True),
    Column("served_by", String(32), nullable=False),
    Column("closed", Integer, nullable=False, server_default="0"),
    tenant_column(),
    PrimaryKeyConstraint("forecast_run_id", c.RESTAURANT_ID, c.DS, name="pk_forecasts"),
)

published_forecasts = Table(
    "published_forecasts",
    metadata,
    Column(c.RESTAURANT_ID, String(64), nullable=False),
    Column(c.TARGET, String(128), nullable=False),
    Column("freq", String(8), nullable=False),
    Column(c.DS, DateTime(timezone=False), nullable=False),
    Column(c.YHAT, Float, nullable=False),
    Column("lower", Float, nullable=True),
    Column("upper", Float, nullable=True),
    Column("forecast_run_id", String(36), nullable=False),
    Column("published_at", UTC_TS, nullable=False),
    tenant_column(),
    PrimaryKeyConstraint(c.RESTAURANT_ID, c.TARGET, "freq", c.DS, name="pk_published_forecasts"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("command", String(32), nullable=False),
    Column(c.TARGET, String(128), nullable=False),
    Column("restaurant_scope", Text, nullable=False, server_default=""),
    Column("started_at", UTC_TS, nullable=False),
    Column("finished_at", UTC_TS, nullable=True),
    Column("status", String(16), nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("summary_json", Text, nullable=False, server_default="{}"),
    tenant_column(),
)

source_objects = Table(
    "source_objects",
    metadata,
    Column("source", Text, nullable=False),
    Column("object_key", Text, nullable=False),
    Column("etag", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("imported_at", UTC_TS, nullable=False),
    Column("batch_id", String(36), nullable=True),
    tenant_column(),
    PrimaryKeyConstraint("source", "object_key", "etag", name="pk_source_objects"),
)

pos_watermarks = Table(
    "pos_watermarks",
    metadata,
    Column(c.RESTAURANT_ID, String(64), nullable=False),
    Column("provider", String(32), nullable=False),
    # Everything the vendor changed before this instant has been pulled and committed.
    Column("pulled_through_utc", UTC_TS, nullable=False),
    Column("updated_at", UTC_TS, nullable=False),
    Column("batch_id", String(36), nullable=True),
    tenant_column(),
    PrimaryKeyConstraint(c.RESTAURANT_ID, "provider", name="pk_pos_watermarks"),
)
