"""``flux publish``: gate a forecast run, then make it what the web app reads.

Gates: the artefact's validated ensemble beats seasonal naive by a margin; no restaurant is
missing. ``force`` overrides with a logged reason. Publishing exports Parquet and JSON to the
store under a dated key, upserts ``published_forecasts`` in one transaction (a kill leaves the
previous publication intact), and moves the ``production`` alias.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from dataclasses import dataclass

import pandas as pd

from models import columns as c
from models.intervals import quantile_columns_in, with_quantiles
from pipelines.errors import DataError, UsageError
from pipelines.io import artifacts, forecasts
from pipelines.io.artifact_store import ArtifactStore
from pipelines.io.db import Connection, Database
from pipelines.settings import Settings

log = logging.getLogger(__name__)
PRODUCTION = "production"


class GateError(DataError):
    """A forecast run failed a publishing gate (exit 2; ``--force`` overrides)."""


@dataclass(frozen=True)
class PublishRequest:
    """What to publish."""

    forecast_run: str | None = None  # None: the newest forecast run
    restaurants: frozenset[str] | None = None
    force_reason: str | None = None
    margin: float = 0.0


@dataclass(frozen=True)
class PublishResult:
    """What was published."""

    forecast_run_id: str
    artifact_id: str
    rows: int
    restaurants: tuple[str, ...]
    export_keys: tuple[str, ...]
    gates: dict[str, str]
    forced: str | None
    published: pd.DataFrame
    seconds: float


def _run_row(conn: Connection, ref: str | None) -> dict[str, object]:
    row = forecasts.read_forecast_run(conn, ref) if ref else forecasts.latest_forecast_run(conn)
    if row is None:
        raise UsageError(
            f"no forecast run {ref!r}; run `flux predict` first"
            if ref
            else "no forecast run yet; run `flux predict` first"
        )
    return row


_METRIC_KEYS = ("member_rmsle", "heldout_rmsle", "ensemble_rmsle")


def _beats_naive(metrics: dict[str, object], margin: float) -> str | None:
    """Why one model's validation metrics fail the gate (None: they pass)."""
    member = metrics.get("member_rmsle", {})
    heldout = metrics.get("heldout_rmsle", {})
    naive = member.get("seasonal_naive") if isinstance(member, dict) else None
    ensemble = min(heldout.values()) if isinstance(heldout, dict) and heldout else None
    if ensemble is None:  # too short a validation window to hold out: the pooled figure
        pooled = metrics.get("ensemble_rmsle")
        ensemble = float(pooled) if isinstance(pooled, int | float) else None
    if naive is None or ensemble is None:
        return "the artefact has no validation metrics to compare"
    if float(ensemble) > float(naive) * (1.0 - margin):
        return (
            f"ensemble RMSLE {float(ensemble):.4f} does not beat seasonal naive "
            f"{float(naive):.4f} by {margin:.0%}"
        )
    return None


def check_gates(
    manifest_metrics: dict[str, object], expected: set[str], present: set[str], margin: float
) -> dict[str, str]:
    """Failed gates (name -> reason); empty when every gate passes.

    A SageMaker artefact records validation metrics per training host (each host validated its
    own restaurants): every host's ensemble must pass.
    """
    failed: dict[str, str] = {}
    if any(key in manifest_metrics for key in _METRIC_KEYS) or not manifest_metrics:
        parts: list[tuple[str, dict[str, object]]] = [("", manifest_metrics)]
    else:
        parts = [(f"{host}: ", m) for host, m in manifest_metrics.items() if isinstance(m, dict)]
    reasons = [
        prefix + reason
        for prefix, metrics in parts or [("", {})]
        if (reason := _beats_naive(metrics, margin)) is not None
    ]
    if reasons:
        failed["beats_seasonal_naive"] = "; ".join(reasons)
    missing = sorted(expected - present)
    if missing:
        failed["no_restaurant_missing"] = f"no forecast for {', '.join(missing)}"
    return failed


def run(request: PublishRequest, settings: Settings) -> PublishResult:
    """Publishes a forecast run.

    Raises:
        GateError: a gate failed and no ``force_reason`` was given.
    """
    started = time.perf_counter()
    db = Database(settings)
    db.ensure_schema()
    store = artifacts.open_artifacts(settings)
    with db.connect() as conn:
        run_row = _run_row(conn, request.forecast_run)
        rows = forecasts.read_forecasts(conn, str(run_row["forecast_run_id"]), request.restaurants)
    artifact_id = str(run_row["artifact_id"])
    manifest = store.read_manifest(artifact_id)
    shards = artifacts.read_shard_map(store, artifact_id)
    expected = set(shards) if request.restaurants is None else set(request.restaurants)
    failed = check_gates(
        dict(manifest.backtest_metrics), expected, set(rows[c.RESTAURANT_ID]), request.margin
    )
    if failed and not request.force_reason:
        first = next(iter(failed.values()))
        raise GateError(f"publish refused: {first} (use --force REASON to override)")
    if failed:
        log.warning(
            "publishing despite failed gates",
            extra={
                "gates": failed,
                "reason": request.force_reason,
                "forecast_run": run_row["forecast_run_id"],
            },
        )
    now = dt.datetime.now(dt.UTC)
    published = pd.DataFrame(
        {
            c.RESTAURANT_ID: rows[c.RESTAURANT_ID],
            c.TARGET: run_row[c.TARGET],
            "freq": run_row["freq"],
            c.DS: pd.to_datetime(rows[c.DS]).dt.to_pydatetime(),
            c.YHAT: rows[c.YHAT],
            "lower": rows["yhat_lower_80"],
            "upper": rows["yhat_upper_80"],
            "forecast_run_id": run_row["forecast_run_id"],
            "published_at": now,
        }
    )
    keys = _export(store, _with_export_quantiles(published, rows), run_row, now)
    with db.begin() as conn:
        forecasts.publish(conn, published)
    if request.restaurants is None:
        store.set_alias(PRODUCTION, artifact_id)
    db.dispose()
    return PublishResult(
        forecast_run_id=str(run_row["forecast_run_id"]),
        artifact_id=artifact_id,
        rows=len(published),
        restaurants=tuple(sorted(set(published[c.RESTAURANT_ID]))),
        export_keys=keys,
        gates=failed,
        forced=request.force_reason if failed else None,
        published=published,
        seconds=time.perf_counter() - started,
    )


EXPORT_QUANTILES = (0.1, 0.5, 0.9)


def _with_export_quantiles(published: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The export adds the 10/50/90% quantiles (the 80% bounds and the point forecast)."""
    bounds = (f"{c.YHAT}_lower_", f"{c.YHAT}_upper_")
    stored = [col for col in rows.columns if str(col).startswith(bounds)]
    frame = with_quantiles(rows[[c.YHAT, *stored]].astype(float), EXPORT_QUANTILES)
    extra = frame[quantile_columns_in(frame)].set_axis(published.index)
    return pd.concat([published, extra], axis=1)


def _export(
    store: ArtifactStore, frame: pd.DataFrame, run_row: dict[str, object], now: dt.datetime
) -> tuple[str, ...]:
    stem = (
        f"published/{now:%Y-%m-%d}/{run_row[c.TARGET]}-{run_row['freq']}-"
        f"{str(run_row['forecast_run_id'])[:8]}"
    )
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    text = frame.to_json(orient="records", date_format="iso")
    store.put_bytes(f"{stem}.parquet", buf.getvalue())
    store.put_bytes(f"{stem}.json", text.encode())
    return (f"{stem}.parquet", f"{stem}.json")


def run_target(settings: Settings, ref: str | None) -> str:
    """The target of forecast run ``ref`` (None: the newest); for taking locks before a run."""
    db = Database(settings)
    db.ensure_schema()
    try:
        with db.connect() as conn:
            return str(_run_row(conn, ref)[c.TARGET])
    finally:
        db.dispose()
