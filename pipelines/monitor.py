"""``flux monitor``: is each restaurant's published forecast as accurate as validation promised?

The observed error compares ``published_forecasts`` with the actuals that have arrived since (read
like every other series, so closed days are left out), over the last ``days`` dates that have
both (the same dates for every restaurant). The expected error comes from the artefact behind
each published row (forecast run -> artefact manifest): the restaurant's RMSLE over the
ensemble's validation forecasts when the manifest has it (``backtest_metrics.by_restaurant``),
else the artefact's overall figure. A restaurant is flagged when its observed RMSLE exceeds
``multiple`` times the expected one; with fewer than ``min_days`` days of actuals it is reported
but never flagged.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from models import columns as c
from models import metrics
from models.artifact import ArtifactManifest
from models.frames import FREQS, Freq
from pipelines.errors import ArtifactError, DataError, UsageError
from pipelines.io import artifacts, forecasts, series
from pipelines.io.db import Connection, Database
from pipelines.io.files import atomic_write
from pipelines.settings import Settings

MIN_DAYS = 7

# Columns of the result table.
DAYS = "days"
N = "n"
OBSERVED_RMSLE = "observed_rmsle"
OBSERVED_WAPE = "observed_wape"
EXPECTED_RMSLE = "expected_rmsle"
EXPECTED_WAPE = "expected_wape"
EXPECTED_FROM = "expected_from"
RATIO = "ratio"
STATUS = "status"
FLAGGED = "flagged"
COLUMNS = (
    c.RESTAURANT_ID,
    DAYS,
    N,
    OBSERVED_RMSLE,
    OBSERVED_WAPE,
    EXPECTED_RMSLE,
    EXPECTED_WAPE,
    EXPECTED_FROM,
    RATIO,
    STATUS,
    FLAGGED,
)

# Statuses.
OK = "ok"
WORSE = "flagged"
TOO_FEW = "too few days"
NO_EXPECTED = "no expected error"

# Where an expected error came from.
FROM_RESTAURANT = "restaurant"
FROM_OVERALL = "overall"
FROM_NONE = "none"

_ARTIFACT = "artifact_id"


@dataclass(frozen=True)
class MonitorRequest:
    """What to monitor.

    Attributes:
        target: The demand target.
        freq: The published frequency (``D``, ``h``, ``15min``).
        days: Compare the last this many days that have both a forecast and an actual.
        multiple: Flag when observed RMSLE > ``multiple`` x expected RMSLE.
        restaurants: Only these restaurants (None: every restaurant with a publication).
        min_days: Fewer days than this: reported as "too few days", never flagged.
        plot: Also write a PNG bar chart of observed against expected error here.
    """

    target: str = c.COVERS
    freq: str = "D"
    days: int = 28
    multiple: float = 1.5
    restaurants: frozenset[str] | None = None
    min_days: int = MIN_DAYS
    plot: Path | None = None


@dataclass(frozen=True)
class MonitorResult:
    """Observed against expected error, one row per restaurant (columns :data:`COLUMNS`)."""

    target: str
    freq: str
    window_start: dt.date
    window_end: dt.date
    window_days: int
    multiple: float
    min_days: int
    table: pd.DataFrame
    flagged: tuple[str, ...]
    warnings: tuple[str, ...]
    plot: Path | None


@dataclass(frozen=True)
class Expected:
    """The error an artefact's validation led us to expect for one restaurant."""

    rmsle: float
    wape: float
    source: str


NO_FIGURE = Expected(math.nan, math.nan, FROM_NONE)


# --- pure helpers -------------------------------------------------------------------------------


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _overall_rmsle(section: Mapping[str, Any], weights: Mapping[str, Any]) -> float:
    """An artefact's overall validation RMSLE, from the best figure its manifest has.

    The ensemble's pooled validation RMSLE; else (artefacts before it was recorded) the chosen
    weighting's held-out RMSLE, the best held-out one, or the best member's.
    """
    pooled = _number(section.get("ensemble_rmsle"))
    if math.isfinite(pooled):
        return pooled
    heldout = section.get("heldout_rmsle")
    if isinstance(heldout, Mapping) and heldout:
        chosen = _number(heldout.get(str(weights.get("chosen"))))
        if math.isfinite(chosen):
            return chosen
        values = [v for v in map(_number, heldout.values()) if math.isfinite(v)]
        if values:
            return min(values)
    members = section.get("member_rmsle")
    if isinstance(members, Mapping):
        combined = weights.get("weights")
        names = set(combined) if isinstance(combined, Mapping) and combined else set(members)
        values = [_number(v) for k, v in members.items() if k in names]
        values = [v for v in values if math.isfinite(v)]
        if values:
            return min(values)
    return math.nan


def expected_error(
    backtest_metrics: Mapping[str, Any],
    weights: Mapping[str, Any],
    restaurant_id: str,
    shard: str | None = None,
) -> Expected:
    """The error to expect for one restaurant from an artefact's manifest.

    Args:
        backtest_metrics: The manifest's ``backtest_metrics``: one section (local training) or one
            section per SageMaker host.
        weights: The manifest's ``weights`` (same layout), for the chosen weighting.
        restaurant_id: The restaurant.
        shard: The host that trained the restaurant (multi-host artefacts).

    Returns:
        The restaurant's own validation figure when recorded, else the overall one, else NaN.
    """
    if "member_rmsle" in backtest_metrics or "by_restaurant" in backtest_metrics:
        section, weights_section = backtest_metrics, weights
    elif shard is not None and isinstance(backtest_metrics.get(shard), Mapping):
        section = backtest_metrics[shard]
        host_weights = weights.get(shard)
        weights_section = host_weights if isinstance(host_weights, Mapping) else {}
    else:
        return NO_FIGURE
    own = section.get("by_restaurant")
    if isinstance(own, Mapping) and isinstance(own.get(restaurant_id), Mapping):
        scores = own[restaurant_id]
        rmsle = _number(scores.get("rmsle"))
        if math.isfinite(rmsle):
            return Expected(rmsle, _number(scores.get("wape")), FROM_RESTAURANT)
    overall = _overall_rmsle(section, weights_section)
    if math.isfinite(overall):
        return Expected(overall, math.nan, FROM_OVERALL)
    return NO_FIGURE


def assess(frame: pd.DataFrame, multiple: float, min_days: int = MIN_DAYS) -> pd.DataFrame:
    """Adds ``ratio``, ``status`` and ``flagged`` to a table of observed and expected errors.

    A row is flagged when it has at least ``min_days`` days and its observed RMSLE is strictly
    greater than ``multiple`` x its expected RMSLE. Rows with fewer days are "too few days";
    rows without an expected figure are "no expected error"; neither is flagged.

    Args:
        frame: Columns ``days``, ``observed_rmsle`` and ``expected_rmsle``.
        multiple: The tolerated multiple of the expected error.
        min_days: The fewest days a verdict needs.
    """
    out = frame.copy()
    observed = out[OBSERVED_RMSLE].to_numpy(dtype=float)
    expected = out[EXPECTED_RMSLE].to_numpy(dtype=float)
    has_expected = np.isfinite(expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(has_expected, observed / expected, np.nan)
    ratio = np.where(has_expected & (expected == 0) & (observed == 0), 1.0, ratio)
    enough = out[DAYS].to_numpy(dtype=int) >= min_days
    worse = has_expected & (observed > multiple * np.where(has_expected, expected, 0.0))
    status = np.where(
        ~enough, TOO_FEW, np.where(~has_expected, NO_EXPECTED, np.where(worse, WORSE, OK))
    )
    out[RATIO] = ratio
    out[STATUS] = status
    out[FLAGGED] = enough & worse
    return out


def observed_errors(matched: pd.DataFrame) -> pd.DataFrame:
    """Per restaurant: days, rows, RMSLE and WAPE of ``yhat`` against ``y``."""
    rows = []
    for rid, group in matched.groupby(c.RESTAURANT_ID, sort=True):
        rows.append(
            {
                c.RESTAURANT_ID: str(rid),
                DAYS: int(group[c.DS].dt.normalize().nunique()),
                N: len(group),
                OBSERVED_RMSLE: metrics.rmsle(group[c.Y], group[c.YHAT]),
                OBSERVED_WAPE: metrics.wape(group[c.Y], group[c.YHAT]),
            }
        )
    return pd.DataFrame(rows, columns=[c.RESTAURANT_ID, DAYS, N, OBSERVED_RMSLE, OBSERVED_WAPE])


def pooled_expected(parts: list[tuple[int, Expected]]) -> Expected:
    """One expected error from the artefacts behind a restaurant's rows (weighted by rows).

    RMSLE pools as the root of the row-weighted mean square; the source is the weakest one used.
    """
    usable = [(n, e) for n, e in parts if n > 0 and math.isfinite(e.rmsle)]
    if not usable:
        return NO_FIGURE
    rows = sum(n for n, _ in usable)
    rmsle = math.sqrt(sum(n * e.rmsle**2 for n, e in usable) / rows)
    wape = (
        sum(n * e.wape for n, e in usable) / rows
        if all(math.isfinite(e.wape) for _, e in usable)
        else math.nan
    )
    source = (
        FROM_RESTAURANT if all(e.source == FROM_RESTAURANT for _, e in usable) else FROM_OVERALL
    )
    return Expected(rmsle, wape, source)


# --- I/O ----------------------------------------------------------------------------------------


def _actuals(conn: Connection, request: MonitorRequest, restaurants: set[str]) -> pd.DataFrame:
    try:
        _, data = series.read_open_days(
            conn, request.target, freq=cast(Freq, request.freq), restaurants=restaurants
        )
    except DataError:
        return pd.DataFrame(columns=[c.RESTAURANT_ID, c.DS, c.Y])
    return data.data[[c.RESTAURANT_ID, c.DS, c.Y]]


def _validate(request: MonitorRequest) -> None:
    if request.freq not in FREQS:
        raise UsageError(f"--freq must be one of {', '.join(FREQS)} (got {request.freq!r})")
    if request.days < 1:
        raise UsageError("--days must be at least 1")
    if not request.multiple > 0:
        raise UsageError("--multiple must be greater than 0")
    if request.min_days < 1:
        raise UsageError("the minimum number of days must be at least 1")


def _window(matched: pd.DataFrame, days: int) -> pd.DataFrame:
    """The rows of the last ``days`` dates that have both a forecast and an actual."""
    dates = matched[c.DS].dt.normalize()
    keep = np.sort(dates.unique())[-days:]
    window: pd.DataFrame = matched[dates.isin(keep)]
    return window


class _Manifests:
    """Artefact manifests (and shard maps) read once each; a missing one becomes a warning."""

    def __init__(self, settings: Settings) -> None:
        self.store = artifacts.open_artifacts(settings)
        self.manifests: dict[str, ArtifactManifest | None] = {}
        self.shards: dict[str, dict[str, str]] = {}
        self.warnings: list[str] = []

    def manifest(self, artifact_id: str) -> ArtifactManifest | None:
        if artifact_id not in self.manifests:
            try:
                self.manifests[artifact_id] = self.store.read_manifest(artifact_id)
            except ArtifactError as exc:
                self.warnings.append(f"artefact {artifact_id}: {exc}; no expected error")
                self.manifests[artifact_id] = None
        return self.manifests[artifact_id]

    def shard(self, artifact_id: str, restaurant_id: str) -> str | None:
        if artifact_id not in self.shards:
            try:
                self.shards[artifact_id] = artifacts.read_shard_map(self.store, artifact_id)
            except ArtifactError:
                self.shards[artifact_id] = {}
        return self.shards[artifact_id].get(restaurant_id)

    def expected(self, artifact_id: object, restaurant_id: str) -> Expected:
        if not isinstance(artifact_id, str) or not artifact_id:
            return NO_FIGURE
        manifest = self.manifest(artifact_id)
        if manifest is None:
            return NO_FIGURE
        m = manifest.backtest_metrics
        single = "member_rmsle" in m or "by_restaurant" in m
        shard = None if single else self.shard(artifact_id, restaurant_id)
        return expected_error(m, manifest.weights, restaurant_id, shard)


def _expected_table(matched: pd.DataFrame, manifests: _Manifests) -> pd.DataFrame:
    """Each restaurant's expected error, pooled over the artefacts behind its rows."""
    counts = (
        matched.assign(**{_ARTIFACT: matched[_ARTIFACT].astype(object).fillna("")})
        .groupby([c.RESTAURANT_ID, _ARTIFACT], sort=True)
        .size()
        .reset_index(name=N)
    )
    rows = []
    for rid, group in counts.groupby(c.RESTAURANT_ID, sort=True):
        parts = [
            (int(n), manifests.expected(str(artifact_id), str(rid)))
            for artifact_id, n in zip(group[_ARTIFACT], group[N], strict=True)
        ]
        e = pooled_expected(parts)
        rows.append(
            {
                c.RESTAURANT_ID: str(rid),
                EXPECTED_RMSLE: e.rmsle,
                EXPECTED_WAPE: e.wape,
                EXPECTED_FROM: e.source,
            }
        )
    return pd.DataFrame(
        rows, columns=[c.RESTAURANT_ID, EXPECTED_RMSLE, EXPECTED_WAPE, EXPECTED_FROM]
    )


def write_plot(result: MonitorResult, path: Path) -> Path:
    """A PNG bar chart: observed and expected RMSLE per restaurant, the threshold marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = result.table
    x = np.arange(len(table))
    width = 0.38
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(table) + 2.0), 4.5))
    colours = ["tab:red" if f else "tab:blue" for f in table[FLAGGED]]
    ax.bar(x - width / 2, table[OBSERVED_RMSLE], width, color=colours, label="observed RMSLE")
    ax.bar(x + width / 2, table[EXPECTED_RMSLE], width, color="tab:gray", label="expected RMSLE")
    threshold = table[EXPECTED_RMSLE].to_numpy(dtype=float) * result.multiple
    ax.hlines(
        threshold,
        x - width,
        x + width,
        colors="black",
        linestyles="dashed",
        label=f"flag above {result.multiple:g} x expected",
    )
    ax.set_xticks(x, [str(r) for r in table[c.RESTAURANT_ID]], rotation=45, ha="right")
    ax.set_ylabel("RMSLE")
    ax.set_title(
        f"{result.target} ({result.freq}): published forecasts against actuals, "
        f"{result.window_start} to {result.window_end}"
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def run(request: MonitorRequest, settings: Settings) -> MonitorResult:
    """Compares published forecasts with actuals and flags restaurants doing worse than expected.

    Raises:
        UsageError: bad options, nothing published yet for the target and frequency, or no
            actuals for any published day yet.
    """
    _validate(request)
    db = Database(settings)
    db.ensure_schema()
    scope = f" for {', '.join(sorted(request.restaurants))}" if request.restaurants else ""
    with db.connect() as conn:
        published = forecasts.read_published(
            conn, request.target, request.freq, request.restaurants
        )
        if published.empty:
            db.dispose()
            raise UsageError(
                f"nothing published yet for target {request.target!r} at frequency "
                f"{request.freq}{scope}; run `flux predict` and `flux publish` first"
            )
        actuals = _actuals(conn, request, set(published[c.RESTAURANT_ID]))
    db.dispose()
    actuals = actuals.assign(**{c.DS: pd.to_datetime(actuals[c.DS])})
    matched = published.merge(actuals, on=[c.RESTAURANT_ID, c.DS], how="inner")
    if matched.empty:
        first, last = published[c.DS].min().date(), published[c.DS].max().date()
        raise UsageError(
            f"no actuals yet for the published {request.target!r} ({request.freq}) forecasts"
            f"{scope} ({first} to {last}); import the days that have passed, then rerun"
        )
    matched = _window(matched, request.days)
    manifests = _Manifests(settings)
    table = observed_errors(matched).merge(
        _expected_table(matched, manifests), on=c.RESTAURANT_ID, how="left"
    )
    table = assess(table, request.multiple, request.min_days)[list(COLUMNS)]
    dates = matched[c.DS].dt.normalize()
    result = MonitorResult(
        target=request.target,
        freq=request.freq,
        window_start=dates.min().date(),
        window_end=dates.max().date(),
        window_days=int(dates.nunique()),
        multiple=request.multiple,
        min_days=request.min_days,
        table=table.reset_index(drop=True),
        flagged=tuple(table.loc[table[FLAGGED], c.RESTAURANT_ID].astype(str)),
        warnings=tuple(manifests.warnings),
        plot=request.plot,
    )
    if request.plot is not None:
        write_plot(result, request.plot)
    return result
