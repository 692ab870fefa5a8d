"""Accuracy on real restaurants: the Recruit protocol of BENCHMARKS.md.

Loads the Recruit visitor counts (``../shared/data/recruit``; never copied into the project)
through Flux's own import path into a fresh SQLite database in a temporary folder: a generated
``restaurants.csv`` (Asia/Tokyo, JP, cutoff hour 0, JPY) and ``air_visit_data.csv`` as a
pre-aggregated ``series`` with a column mapping (target ``visitors``). The series and calendar are
read back with :func:`pipelines.io.series.read_series` / ``read_calendar``.

Three folds (cutoffs 2016-12-14, 2017-02-04, 2017-03-14), horizon 39 days. Evaluated rows: the rows
that exist in each test window, for restaurants with at least 14 rows on or before the cutoff.
Every method must give each evaluated row a finite forecast >= 0 (the script fails otherwise).

Methods (``--methods``, comma-separated; default all):

- through ``flux backtest``'s code (:func:`pipelines.evaluation.run_backtest`, one spec per fold
  so each fold is timed): ``flux_ensemble``, ``flux_prophet``, ``flux_xgboost``,
  ``seasonal_naive``, ``weekday_median`` (these have Flux's calibrated 80% intervals);
- peers, written the way their documentation shows, in this process, on the same rows:
  ``prophet_default`` (Prophet's defaults plus the ``date_info.csv`` holidays, on y; its own 80%
  interval, which is Prophet's default ``interval_width``), ``prophet_log1p`` (the same on
  log1p(y), expm1 back), both parallel over restaurants with joblib; ``statsforecast_autoets``
  (AutoETS, season 7, log1p, gaps filled as zero; its 80% interval); ``mlforecast_lightgbm``
  (LightGBM, lags 7..28, rolling means of lag 7 over 7 and 28 days, day of week, month, day,
  holiday flag as an exogenous feature, log1p, gaps filled as zero, 300 trees, learning rate 0.05,
  63 leaves, recursive over 39 days; no interval, so coverage is blank).

Seconds are fit + predict of all restaurants of a fold (the import and the heavy library imports
are outside the timings; a tiny untimed warm-up starts the worker processes first). The script sets
``OMP_WAIT_POLICY=PASSIVE`` (unless already set) for every method alike: spinning OpenMP threads
make XGBoost and LightGBM many times slower on a machine whose cores are busy.

Usage (from the repository root, with the ``bench`` dependency group installed:
``python3 -m uv sync --locked --group bench``)::

    .venv/bin/python benchmarks/recruit.py [--data ../shared/data/recruit] [--out folds.csv]
        [--markdown table.md] [--methods seasonal_naive,weekday_median] [--jobs 2]
        [--restaurants 60]

Methods run fold by fold, each in turn (so methods compared share the machine's load), and the
notes give each method's time as a ratio to ``prophet_default``'s in the same run (the plain
loop of default Prophet fits; both use ``--jobs`` workers).

``--out`` writes one row per method and fold (``method, fold, rmsle, wape, coverage_80,
seconds``); ``--markdown`` writes the table that is also printed, then the 80% coverage of each
method in each fold. ``--restaurants N`` runs on a deterministic sample of N restaurants (quick
runs; the row counts then differ from BENCHMARKS.md). ``--folds 1,3`` runs only those folds.

``--protocol cold-start`` is the cold-start protocol: Recruit's restaurants whose first day is
2016-07-01 (454 of them) form a real cohort of openings; 30 fixed ones of them (a deterministic
sample; ``--restaurants N`` changes the count) are forecast from their first 7 days (cutoff
2016-07-07, horizon 39) while the restaurants with at least 14 days by then (the fleet) keep their
full history; the rest of the cohort is left out. One ``run_backtest`` (models ``xgboost,
ensemble``: the ensemble's rows of the 30 are its cold-start forecast) gives the cold-start
forecast and the global model alone; the peer forecast alone (own level times the peers' weekday
shape) and the peer-median baseline (the median of the peers' weekday means) come from
:mod:`models.cold_start` on the same training rows, and so do blends of the global and peer
forecasts at other global weights than Flux's (:data:`models.cold_start.GLOBAL_WEIGHT`), to show
the trade-off. The table has the mean over restaurants of
each one's RMSLE, the RMSLE and WAPE over all rows.

``--protocol single`` is the single-restaurant protocol: 30 fixed restaurants (the deterministic
sample ``--restaurants 30`` draws; ``--restaurants N`` changes the count), each backtested *alone*
(its own ensemble, Prophet and XGBoost fitted on that restaurant only, as for a one-restaurant
business) through ``run_backtest`` with models ``prophet, xgboost, ensemble`` (the members' rows
come from the ensemble's own fit). The table has, per method, the mean over restaurants of each
restaurant's RMSLE per fold, their mean, WAPE, 80% coverage, and how often the ensemble was at or
below its best member (within 0.005) restaurant by restaurant.
"""

# ruff: noqa: E402
from __future__ import annotations

import os

# OpenMP threads (XGBoost in Flux, LightGBM in the peer) spin while they wait by default; on a
# shared machine whose cores are busy that makes 2-thread fits 10-40x slower than 1-thread ones.
# Passive waiting must be chosen before libgomp loads (scikit-learn loads it on import).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import contextlib
import csv
import io
import logging
import math
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import columns as c
from models import metrics
from models.base import Calendar
from models.frames import SeriesFrame, interval_columns
from models.spec import ModelSpec
from pipelines import evaluation, ingest
from pipelines.io.adapters.base import ColumnMapping
from pipelines.io.db import Database
from pipelines.io.series import read_calendar, read_series
from pipelines.settings import Settings, load_settings

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "recruit"
VISITS_FILE = "air_visit_data.csv"
STORES_FILE = "air_store_info.csv"
DATES_FILE = "date_info.csv"

CUTOFFS: tuple[pd.Timestamp, ...] = tuple(
    pd.Timestamp(d) for d in ("2016-12-14", "2017-02-04", "2017-03-14")
)
HORIZON = 39
MIN_TRAIN_ROWS = 14
LEVEL = 80
SEED = 0
TARGET = c.VISITORS
REFERENCE_ROWS = (24_879, 27_320, 27_896)
REFERENCE_RESTAURANTS = (808, 810, 822)

FLUX_MODELS: dict[str, str] = {
    "flux_ensemble": "ensemble",
    "flux_prophet": "prophet",
    "flux_xgboost": "xgboost",
    "seasonal_naive": "seasonal_naive",
    "weekday_median": "weekday_median",
}
PEERS = ("prophet_default", "prophet_log1p", "statsforecast_autoets", "mlforecast_lightgbm")
METHODS: tuple[str, ...] = (*FLUX_MODELS, *PEERS)
CSV_COLUMNS = ("method", "fold", "rmsle", "wape", "coverage_80", "seconds")

LO, HI = interval_columns(LEVEL)
UID = "unique_id"  # the id column of statsforecast and mlforecast
HOLIDAY = "holiday"

_NOISY_LOGGERS = ("cmdstanpy", "prophet", "prophet.plot", "prophet.models", "prophet.forecaster")
_MAX_LOG = 50.0  # expm1 overflow guard for forecasts made on log1p


class BenchmarkError(RuntimeError):
    """The benchmark cannot run or a method broke the protocol."""


# --------------------------------------------------------------------------------------------
# Data: through Flux's import, then back out of the database


@dataclass(frozen=True)
class Data:
    """The series and calendar as Flux reads them, plus the holiday dates of date_info.csv."""

    series: SeriesFrame
    calendar: Calendar
    holidays: pd.DatetimeIndex
    import_seconds: float
    rows_loaded: int


def _check_data(folder: Path) -> None:
    missing = [n for n in (VISITS_FILE, STORES_FILE, DATES_FILE) if not (folder / n).is_file()]
    if missing:
        raise BenchmarkError(
            f"{folder}: Recruit data not found (missing {', '.join(missing)}); pass --data "
            "PATH to the folder described in ../shared/data/recruit/README.md"
        )


def _sample(ids: Sequence[str], n: int | None) -> list[str]:
    """All ids, or a deterministic sample of ``n`` of them (sorted)."""
    ids = sorted(ids)
    if n is None or n >= len(ids):
        return ids
    if n < 1:
        raise BenchmarkError("--restaurants must be at least 1")
    rng = np.random.default_rng(SEED)
    return sorted(str(x) for x in rng.choice(np.asarray(ids, dtype=object), n, replace=False))


def _settings(home: Path) -> Settings:
    return load_settings(
        environ={},
        home=home,
        database_url=f"sqlite:///{(home / 'flux.db').as_posix()}",
        timescale="off",
    )


def load_data(folder: Path, home: Path, n_restaurants: int | None) -> Data:
    """Imports restaurants and visits with ``pipelines.ingest.run`` and reads them back."""
    _check_data(folder)
    stores = pd.read_csv(folder / STORES_FILE, usecols=["air_store_id"], dtype=str)
    all_ids = sorted(stores["air_store_id"].tolist())
    ids = _sample(all_ids, n_restaurants)
    restaurants_csv = home / "restaurants.csv"
    pd.DataFrame(
        {
            c.RESTAURANT_ID: all_ids,
            c.NAME: all_ids,
            c.TIMEZONE: "Asia/Tokyo",
            c.COUNTRY: "JP",
            c.CUTOFF_HOUR: 0,
            c.CURRENCY: "JPY",
        }
    ).to_csv(restaurants_csv, index=False)

    settings = _settings(home)
    scope = frozenset(ids) if n_restaurants is not None else None
    started = time.perf_counter()
    ingest.run(ingest.IngestRequest(paths=(restaurants_csv,), format="restaurants"), settings)
    mapping = ColumnMapping(
        columns={c.RESTAURANT_ID: "air_store_id", c.DATE: "visit_date", c.VALUE: "visitors"},
        target=TARGET,
    )
    result = ingest.run(
        ingest.IngestRequest(
            paths=(folder / VISITS_FILE,),
            format="series",
            mapping=mapping,
            restaurants=scope,
            strict=True,
        ),
        settings,
    )
    import_seconds = time.perf_counter() - started

    db = Database(settings)
    try:
        with db.connect() as conn:
            calendar = read_calendar(conn, scope)
            series = read_series(conn, TARGET, restaurants=scope, calendar=calendar)
    finally:
        db.dispose()

    dates = pd.read_csv(folder / DATES_FILE, parse_dates=["calendar_date"])
    holidays = pd.DatetimeIndex(dates.loc[dates["holiday_flg"] == 1, "calendar_date"])
    return Data(series, calendar, holidays, import_seconds, result.rows_loaded)


# --------------------------------------------------------------------------------------------
# Folds and scoring


@dataclass(frozen=True)
class Fold:
    """One origin: the eligible restaurants' training rows and the rows to evaluate."""

    number: int
    cutoff: pd.Timestamp
    train: pd.DataFrame  # restaurant_id, ds, y (on or before the cutoff)
    keys: pd.DataFrame  # restaurant_id, ds, y (the evaluated rows)

    @property
    def restaurants(self) -> list[str]:
        """The evaluated restaurants, sorted."""
        return sorted(self.keys[c.RESTAURANT_ID].unique().tolist())

    @property
    def future(self) -> pd.DatetimeIndex:
        """Every day of the test window."""
        return pd.date_range(self.cutoff + pd.Timedelta(days=1), periods=HORIZON, freq="D")


def make_folds(series: SeriesFrame) -> list[Fold]:
    """The protocol's folds (the same rule as ``run_backtest``)."""
    folds = []
    for i, cutoff in enumerate(CUTOFFS, start=1):
        train = series.until(cutoff)
        counts = train.data.groupby(c.RESTAURANT_ID).size()
        eligible = counts[counts >= MIN_TRAIN_ROWS].index
        test = series.between(cutoff, cutoff + pd.Timedelta(days=HORIZON)).for_restaurants(eligible)
        keys = test.data[[c.RESTAURANT_ID, c.DS, c.Y]].reset_index(drop=True)
        # Peers fit only restaurants that are evaluated in the fold.
        train_rows = train.for_restaurants(keys[c.RESTAURANT_ID].unique()).data
        folds.append(Fold(i, cutoff, train_rows.reset_index(drop=True), keys))
    return folds


@dataclass(frozen=True)
class Result:
    """One method on one fold."""

    method: str
    fold: int
    rmsle: float
    wape: float
    coverage: float  # NaN without an interval
    seconds: float


def score(method: str, fold: Fold, pred: pd.DataFrame, seconds: float) -> Result:
    """Scores the forecasts of ``fold``'s evaluated rows; every row must have one, finite, >= 0.

    ``pred`` has ``restaurant_id, ds, yhat`` and optionally the 80% interval columns.
    """
    if pred.duplicated([c.RESTAURANT_ID, c.DS]).any():
        raise BenchmarkError(f"{method}, fold {fold.number}: duplicate forecasts")
    rows = fold.keys.merge(pred, on=[c.RESTAURANT_ID, c.DS], how="left")
    yhat = rows[c.YHAT].to_numpy(dtype=float)
    bad = ~(np.isfinite(yhat) & (yhat >= 0))
    if bad.any():
        raise BenchmarkError(
            f"{method}, fold {fold.number}: {int(bad.sum())} of {len(rows)} evaluated rows have "
            "no finite forecast >= 0"
        )
    y = rows[c.Y].to_numpy(dtype=float)
    coverage = float("nan")
    if LO in rows and HI in rows:
        lo, hi = rows[LO].to_numpy(dtype=float), rows[HI].to_numpy(dtype=float)
        coverage = float(np.mean((y >= lo) & (y <= hi)))
    return Result(
        method, fold.number, metrics.rmsle(y, yhat), metrics.wape(y, yhat), coverage, seconds
    )


# --------------------------------------------------------------------------------------------
# Flux, through the backtest code path


def run_flux(method: str, data: Data, fold: Fold, jobs: int) -> Result:
    """``run_backtest`` with one cutoff (so the fold is timed on its own)."""
    model = FLUX_MODELS[method]
    spec = evaluation.BacktestSpec(
        models=(model,),
        cutoffs=(fold.cutoff,),
        model=ModelSpec(horizon=HORIZON, levels=(LEVEL,), seed=SEED),
        min_train_rows=MIN_TRAIN_ROWS,
        jobs=jobs,
    )
    started = time.perf_counter()
    frame = evaluation.run_backtest(data.series, data.calendar, spec)
    seconds = time.perf_counter() - started
    rows = frame[frame[c.MODEL] == model]
    # The protocol's restaurants only: the backtest also scores cold-start restaurants (under
    # MIN_TRAIN_ROWS days before the cutoff) when the ensemble is compared; BENCHMARKS.md's
    # protocol leaves them out.
    rows = rows[rows[c.RESTAURANT_ID].isin(set(fold.restaurants))]
    if len(rows) != len(fold.keys):
        raise BenchmarkError(
            f"{method}, fold {fold.number}: the backtest scored {len(rows)} rows, the protocol "
            f"has {len(fold.keys)} (a restaurant or day without a forecast?)"
        )
    keep = [c.RESTAURANT_ID, c.DS, c.YHAT] + [col for col in (LO, HI) if col in rows]
    return score(method, fold, rows[keep], seconds)


# --------------------------------------------------------------------------------------------
# The single-restaurant protocol

SINGLE_MODELS = ("prophet", "xgboost", "ensemble")
SINGLE_RESTAURANTS = 30
TIE = 0.005


@dataclass(frozen=True)
class SingleRow:
    """One restaurant, alone, on one fold: each method's RMSLE, WAPE terms and coverage."""

    restaurant_id: str
    fold: int
    method: str
    rmsle: float
    abs_error: float
    actual: float
    coverage: float
    rows: int


def run_single(data: Data, folds: Sequence[Fold], jobs: int) -> list[SingleRow]:
    """Each restaurant backtested alone, fold by fold."""
    out: list[SingleRow] = []
    for fold in folds:
        started = time.perf_counter()
        for rid in fold.restaurants:
            spec = evaluation.BacktestSpec(
                models=SINGLE_MODELS,
                cutoffs=(fold.cutoff,),
                model=ModelSpec(horizon=HORIZON, levels=(LEVEL,), seed=SEED),
                min_train_rows=MIN_TRAIN_ROWS,
                jobs=jobs,
            )
            with _quiet():
                frame = evaluation.run_backtest(
                    data.series.for_restaurants([rid]), data.calendar, spec
                )
            for model, rows in frame.groupby(c.MODEL):
                y, yhat = rows[c.Y].to_numpy(dtype=float), rows[c.YHAT].to_numpy(dtype=float)
                inside = (y >= rows[LO].to_numpy(dtype=float)) & (
                    y <= rows[HI].to_numpy(dtype=float)
                )
                out.append(
                    SingleRow(
                        rid,
                        fold.number,
                        f"flux_{model}",
                        metrics.rmsle(y, yhat),
                        float(np.abs(y - yhat).sum()),
                        float(y.sum()),
                        float(inside.mean()),
                        len(rows),
                    )
                )
        _log(
            f"single-restaurant fold {fold.number}: {len(fold.restaurants)} restaurants in "
            f"{time.perf_counter() - started:.1f} s"
        )
    return out


def single_markdown(rows: Sequence[SingleRow], notes: Sequence[str]) -> str:
    """The single-restaurant table: per-restaurant RMSLE means, WAPE, coverage, ties."""
    frame = pd.DataFrame([r.__dict__ for r in rows])
    methods = [f"flux_{m}" for m in ("ensemble", "prophet", "xgboost")]
    folds = sorted(frame["fold"].unique())
    rmsle = frame.pivot_table(index="method", columns="fold", values="rmsle", aggfunc="mean")
    wide = frame.pivot_table(
        index=["restaurant_id", "fold"], columns="method", values="rmsle"
    ).dropna()
    best_member = wide[["flux_prophet", "flux_xgboost"]].min(axis=1)
    at_or_below = float((wide["flux_ensemble"] <= best_member + TIE).mean())
    header = ["method", *[f"RMSLE f{f}" for f in folds], "mean RMSLE", "WAPE", "coverage 80"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for method in methods:
        mine = frame[frame["method"] == method]
        cells = [method, *[_fmt(float(rmsle.loc[method, f])) for f in folds]]
        cells.append(_fmt(float(mine["rmsle"].mean())))
        cells.append(_fmt(float(mine["abs_error"].sum() / mine["actual"].sum())))
        cells.append(f"{float(np.average(mine['coverage'], weights=mine['rows'])):.1%}")
        lines.append("| " + " | ".join(cells) + " |")
    oracle = float(best_member.mean())
    lines += [
        "",
        f"Restaurant-folds: {len(wide)} ({wide.index.get_level_values(0).nunique()} "
        f"restaurants); the ensemble at or below its best member (within {TIE}) in "
        f"{at_or_below:.0%} of them; the best member chosen with hindsight per restaurant-fold "
        f"would average {_fmt(oracle)}.",
        *notes,
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Peers


def _silence_prophet() -> None:
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL)
        logger.propagate = False
        logger.disabled = True


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    _silence_prophet()
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def _expm1(values: Any) -> np.ndarray:
    out: np.ndarray = np.expm1(np.minimum(np.asarray(values, dtype=float), _MAX_LOG))
    return out


def _prophet_one(
    restaurant_id: str,
    history: pd.DataFrame,
    future: pd.DataFrame,
    holidays: pd.DataFrame,
    log1p: bool,
) -> pd.DataFrame:
    """Prophet with its default settings plus holidays, on one restaurant (a joblib task)."""
    with _quiet():
        from prophet import Prophet

        model = Prophet(holidays=holidays)
        frame = history.assign(y=np.log1p(history["y"])) if log1p else history
        model.fit(frame)
        forecast = model.predict(future)
    yhat = forecast["yhat"].to_numpy(dtype=float)
    lo = forecast["yhat_lower"].to_numpy(dtype=float)
    hi = forecast["yhat_upper"].to_numpy(dtype=float)
    if log1p:
        yhat, lo, hi = _expm1(yhat), _expm1(lo), _expm1(hi)
    return pd.DataFrame(
        {
            c.RESTAURANT_ID: restaurant_id,
            c.DS: forecast["ds"].to_numpy(),
            c.YHAT: np.clip(yhat, 0.0, None),
            LO: np.clip(lo, 0.0, None),
            HI: np.clip(hi, 0.0, None),
        }
    )


def _prophet(fold: Fold, holidays: pd.DatetimeIndex, jobs: int, log1p: bool) -> pd.DataFrame:
    from joblib import Parallel, delayed

    holiday_frame = pd.DataFrame({"holiday": "holiday", "ds": holidays})
    future = pd.DataFrame({"ds": fold.future})
    tasks = (
        delayed(_prophet_one)(
            str(rid), group[[c.DS, c.Y]].reset_index(drop=True), future, holiday_frame, log1p
        )
        for rid, group in fold.train.groupby(c.RESTAURANT_ID, sort=True)
    )
    parts = Parallel(n_jobs=jobs)(tasks)
    return pd.concat(parts, ignore_index=True)


def _filled(fold: Fold, holidays: pd.DatetimeIndex) -> pd.DataFrame:
    """Training rows as ``unique_id, ds, y`` with every missing day up to the cutoff filled as
    zero visitors, plus the holiday flag."""
    from utilsforecast.preprocessing import fill_gaps

    df = fold.train.rename(columns={c.RESTAURANT_ID: UID})[[UID, c.DS, c.Y]]
    df = fill_gaps(df, freq="D", start="per_serie", end=fold.cutoff)
    df[c.Y] = df[c.Y].fillna(0.0).astype(float)
    df[HOLIDAY] = df[c.DS].isin(holidays).astype(int)
    return df.sort_values([UID, c.DS]).reset_index(drop=True)


def _from_peer(frame: pd.DataFrame, column: str, log1p: bool, level: bool) -> pd.DataFrame:
    back: Callable[[Any], np.ndarray] = _expm1 if log1p else np.asarray
    out = pd.DataFrame(
        {
            c.RESTAURANT_ID: frame[UID].astype(str).to_numpy(),
            c.DS: pd.to_datetime(frame[c.DS]).to_numpy(),
            c.YHAT: np.clip(back(frame[column]), 0.0, None),
        }
    )
    if level:
        out[LO] = np.clip(back(frame[f"{column}-lo-{LEVEL}"]), 0.0, None)
        out[HI] = np.clip(back(frame[f"{column}-hi-{LEVEL}"]), 0.0, None)
    return out


def _autoets(fold: Fold, holidays: pd.DatetimeIndex, jobs: int) -> pd.DataFrame:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    df = _filled(fold, holidays)[[UID, c.DS, c.Y]]
    df[c.Y] = np.log1p(df[c.Y])
    sf = StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=jobs)
    forecast = sf.forecast(df=df, h=HORIZON, level=[LEVEL])
    return _from_peer(forecast, "AutoETS", log1p=True, level=True)


def _lightgbm(fold: Fold, holidays: pd.DatetimeIndex, jobs: int) -> pd.DataFrame:
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.target_transforms import GlobalSklearnTransformer
    from sklearn.preprocessing import FunctionTransformer

    df = _filled(fold, holidays)
    model = lgb.LGBMRegressor(
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=63,
        random_state=SEED,
        n_jobs=jobs,
        verbosity=-1,
    )
    fcst = MLForecast(
        models={"lgbm": model},
        freq="D",
        lags=range(7, 29),
        lag_transforms={7: [RollingMean(window_size=7), RollingMean(window_size=28)]},
        date_features=["dayofweek", "month", "day"],
        target_transforms=[
            GlobalSklearnTransformer(FunctionTransformer(func=np.log1p, inverse_func=np.expm1))
        ],
        num_threads=jobs,
    )
    fcst.fit(df, static_features=[])  # log1p: the target transform above
    ids = df[UID].unique()
    future = pd.DataFrame(
        {UID: np.repeat(ids, HORIZON), c.DS: np.tile(fold.future.to_numpy(), len(ids))}
    )
    future[HOLIDAY] = future[c.DS].isin(holidays).astype(int)
    forecast = fcst.predict(h=HORIZON, X_df=future)
    return _from_peer(forecast, "lgbm", log1p=False, level=False)


def run_peer(method: str, data: Data, fold: Fold, jobs: int) -> Result:
    """Fits and forecasts one peer on one fold (timed)."""
    started = time.perf_counter()
    if method == "prophet_default":
        pred = _prophet(fold, data.holidays, jobs, log1p=False)
    elif method == "prophet_log1p":
        pred = _prophet(fold, data.holidays, jobs, log1p=True)
    elif method == "statsforecast_autoets":
        pred = _autoets(fold, data.holidays, jobs)
    elif method == "mlforecast_lightgbm":
        pred = _lightgbm(fold, data.holidays, jobs)
    else:
        raise BenchmarkError(f"unknown peer {method!r}")
    seconds = time.perf_counter() - started
    return score(method, fold, pred, seconds)


def _warm_worker() -> int:
    with _quiet():
        import prophet  # noqa: F401

    return 0


def warm_up(methods: Sequence[str], jobs: int) -> None:
    """Imports the libraries and starts the worker processes outside the timings."""
    with _quiet():
        if any(m in FLUX_MODELS for m in methods):
            from models import registry

            for model in FLUX_MODELS.values():
                registry.forecaster_class(model)
        if any(m.startswith("prophet") or m in ("flux_prophet", "flux_ensemble") for m in methods):
            from joblib import Parallel, delayed

            Parallel(n_jobs=jobs)(delayed(_warm_worker)() for _ in range(max(jobs, 1) * 2))
        if "statsforecast_autoets" in methods:
            import statsforecast  # noqa: F401
        if "mlforecast_lightgbm" in methods:
            import lightgbm  # noqa: F401
            import mlforecast  # noqa: F401


# --------------------------------------------------------------------------------------------
# Output


def _fmt(value: float, digits: int = 4) -> str:
    return "" if math.isnan(value) else f"{value:.{digits}f}"


def _report(args: argparse.Namespace, text: str, write_rows: Callable[[Path], object]) -> int:
    """Prints the markdown table, writes it to --markdown and the rows to --out (when given)."""
    print(text)
    for path in (args.markdown, args.out):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.out:
        write_rows(args.out)
        _log(f"wrote {args.out}")
    return 0


def write_csv(path: Path, results: Sequence[Result]) -> None:
    """One row per method and fold."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for r in results:
            writer.writerow(
                [r.method, r.fold, _fmt(r.rmsle, 6), _fmt(r.wape, 6), _fmt(r.coverage, 6),
                 f"{r.seconds:.3f}"]
            )  # fmt: skip


def _summary(results: Sequence[Result]) -> pd.DataFrame:
    frame = pd.DataFrame([r.__dict__ for r in results])
    order = [m for m in METHODS if m in set(frame["method"])]
    rmsle = frame.pivot(index="method", columns="fold", values="rmsle").reindex(order)
    table = pd.DataFrame(index=pd.Index(order, name="method"))
    for fold in sorted(frame["fold"].unique()):
        table[f"RMSLE f{fold}"] = rmsle[fold]
    grouped = frame.groupby("method")
    table["mean RMSLE"] = grouped["rmsle"].mean()
    table["mean WAPE"] = grouped["wape"].mean()
    table["coverage 80"] = grouped["coverage"].mean()
    table["seconds (3 folds)"] = grouped["seconds"].sum()
    return table


def coverage_table(results: Sequence[Result]) -> str:
    """Markdown: each method's 80% coverage in each fold (methods with an interval)."""
    frame = pd.DataFrame([r.__dict__ for r in results])
    frame = frame[np.isfinite(frame["coverage"].to_numpy(dtype=float))]
    if frame.empty:
        return ""
    order = [m for m in METHODS if m in set(frame["method"])]
    table = frame.pivot(index="method", columns="fold", values="coverage").reindex(order)
    folds = list(table.columns)
    lines = [
        "| 80% coverage | " + " | ".join(f"fold {f}" for f in folds) + " |",
        "|---|" + "---:|" * len(folds),
    ]
    for method, row in table.iterrows():
        lines.append(f"| {method} | " + " | ".join(f"{float(row[f]):.1%}" for f in folds) + " |")
    return "\n".join(lines) + "\n"


RATIO_BASE = "prophet_default"


def time_ratios(results: Sequence[Result], jobs: int) -> list[str]:
    """Each method's seconds over the plain Prophet loop's (``prophet_default``: a default
    Prophet fit and forecast per restaurant) in the same run, fold by fold and in all."""
    frame = pd.DataFrame([r.__dict__ for r in results])
    if RATIO_BASE not in set(frame["method"]):
        return []
    seconds = frame.pivot(index="method", columns="fold", values="seconds")
    base = seconds.loc[RATIO_BASE]
    lines = [
        f"Time vs the plain Prophet loop ({RATIO_BASE}, measured side by side in this run; "
        f"both fit over restaurants with {jobs} joblib worker(s)):"
    ]
    for method in [m for m in METHODS if m in seconds.index and m != RATIO_BASE]:
        folds = " / ".join(f"{seconds.loc[method, f] / base[f]:.2f}x" for f in seconds.columns)
        total = seconds.loc[method].sum() / base.sum()
        lines.append(f"- {method}: {total:.2f}x in all (folds {folds})")
    return lines


def _fold_line(folds: Sequence[Fold], sampled: bool) -> list[str]:
    rows = [len(f.keys) for f in folds]
    rests = [len(f.restaurants) for f in folds]
    # The reference counts of the folds that ran (``--folds`` may pick one or two of the three).
    ref_rows_run = tuple(REFERENCE_ROWS[f.number - 1] for f in folds)
    ref_rests_run = tuple(REFERENCE_RESTAURANTS[f.number - 1] for f in folds)
    lines = [
        "Evaluated rows per fold: "
        + " / ".join(f"{n:,}" for n in rows)
        + " from "
        + " / ".join(f"{n:,}" for n in rests)
        + " restaurants."
    ]
    if sampled:
        lines.append("(A --restaurants sample: not comparable with BENCHMARKS.md's counts.)")
    elif tuple(rows) == ref_rows_run and tuple(rests) == ref_rests_run:
        lines.append("Same rows and restaurants as BENCHMARKS.md.")
    else:
        ref_rows = " / ".join(f"{n:,}" for n in ref_rows_run)
        ref_rests = " / ".join(str(n) for n in ref_rests_run)
        diff_rows = " / ".join(f"{a - b:+,}" for a, b in zip(rows, ref_rows_run, strict=True))
        diff_rests = " / ".join(f"{a - b:+}" for a, b in zip(rests, ref_rests_run, strict=True))
        lines.append(
            f"BENCHMARKS.md has {ref_rows} rows from {ref_rests} restaurants: a difference of "
            f"{diff_rows} rows and {diff_rests} restaurants."
        )
    return lines


def markdown(
    results: Sequence[Result], folds: Sequence[Fold], notes: Sequence[str], sampled: bool
) -> str:
    """The table, best mean RMSLE and WAPE in bold, then the fold sizes and notes."""
    table = _summary(results)
    best = {col: table[col].idxmin() for col in ("mean RMSLE", "mean WAPE")}
    header = ["method", *table.columns]
    lines = [
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * len(table.columns),
    ]
    for method, row in table.iterrows():
        cells = [str(method)]
        for col in table.columns:
            value = float(row[col])
            if col.startswith("seconds"):
                text = f"{value:.1f}"
            elif col == "coverage 80":
                text = "" if math.isnan(value) else f"{value:.1%}"
            else:
                text = _fmt(value)
            if best.get(col) == method and text:
                text = f"**{text}**"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(_fold_line(folds, sampled))
    lines.extend(notes)
    lines.append("")
    lines.append(coverage_table(results))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Command line


def _methods(text: str | None) -> list[str]:
    if not text:
        return list(METHODS)
    wanted = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in METHODS]
    if unknown:
        raise BenchmarkError(
            f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}"
        )
    return [m for m in METHODS if m in wanted]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the Recruit folder")
    parser.add_argument("--out", type=Path, help="per-fold CSV to write")
    parser.add_argument("--markdown", type=Path, help="markdown table to write")
    parser.add_argument("--methods", help=f"comma list (default all): {', '.join(METHODS)}")
    parser.add_argument("--jobs", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument(
        "--restaurants", type=int, help="a deterministic sample of N restaurants (quick runs)"
    )
    parser.add_argument("--folds", help="comma list of folds to run (default 1,2,3)")
    parser.add_argument(
        "--protocol",
        choices=("all", "single", "cold-start"),
        default="all",
        help="all: every restaurant together (default); single: 30 restaurants, each alone; "
        "cold-start: 30 restaurants forecast from their first 7 days",
    )
    return parser.parse_args(argv)


def _folds(text: str | None) -> list[int]:
    if not text:
        return list(range(1, len(CUTOFFS) + 1))
    try:
        wanted = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise BenchmarkError(f"--folds takes fold numbers like 1,3 (got {text!r})") from None
    bad = [f for f in wanted if not 1 <= f <= len(CUTOFFS)]
    if bad or not wanted:
        raise BenchmarkError(f"--folds: choose from 1..{len(CUTOFFS)} (got {text!r})")
    return wanted


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark; returns the exit code."""
    args = parse_args(argv)
    if args.protocol == "single":
        return main_single(args)
    if args.protocol == "cold-start":
        return main_cold_start(args)
    try:
        methods = _methods(args.methods)
        if args.jobs < 1:
            raise BenchmarkError("--jobs must be at least 1")
        _check_data(args.data)
        warnings.filterwarnings("ignore", category=FutureWarning)
        # mlforecast notes short series dropped from training and NaN rolling features.
        warnings.filterwarnings("ignore", category=UserWarning, module="mlforecast")
        with tempfile.TemporaryDirectory(prefix="flux-recruit-") as tmp:
            data = load_data(args.data, Path(tmp), args.restaurants)
            _log(
                f"imported {data.rows_loaded:,} rows of {len(data.series.restaurants)} "
                f"restaurants in {data.import_seconds:.1f} s"
            )
            folds = [f for f in make_folds(data.series) if f.number in _folds(args.folds)]
            warm_up(methods, args.jobs)
            results: list[Result] = []
            # Fold by fold, every method in turn: on a machine whose load drifts, methods
            # compared side by side meet the same load.
            for fold in folds:
                for method in methods:
                    run = run_flux if method in FLUX_MODELS else run_peer
                    result = run(method, data, fold, args.jobs)
                    results.append(result)
                    _log(
                        f"{method:<22} fold {fold.number}: RMSLE {result.rmsle:.4f}  WAPE "
                        f"{result.wape:.4f}  coverage {_fmt(result.coverage)}  "
                        f"{result.seconds:.1f} s"
                    )
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    notes = [
        f"Machine: {os.cpu_count()} CPUs, load average {load} at the end; OMP_WAIT_POLICY="
        f"{os.environ.get('OMP_WAIT_POLICY', '')}.",
        f"Data: {data.rows_loaded:,} rows imported through `flux import` (SQLite) in "
        f"{data.import_seconds:.1f} s; {args.jobs} jobs; seconds are fit + predict of all "
        "restaurants, summed over the 3 folds.",
        "Coverage: share of evaluated rows inside the 80% interval (Flux: calibrated "
        "intervals; Prophet: its default 80% interval from 1,000 samples; AutoETS: its 80% "
        "interval; LightGBM: none).",
    ]
    if args.restaurants is not None:
        notes.append(f"Run on a deterministic sample of {args.restaurants} restaurants.")
    notes.extend(time_ratios(results, args.jobs))
    text = markdown(results, folds, notes, sampled=args.restaurants is not None)
    return _report(args, text, lambda path: write_csv(path, results))


def main_single(args: argparse.Namespace) -> int:
    """The single-restaurant protocol."""
    n = args.restaurants or SINGLE_RESTAURANTS
    try:
        _check_data(args.data)
        wanted = _folds(args.folds)
        warnings.filterwarnings("ignore", category=FutureWarning)
        with tempfile.TemporaryDirectory(prefix="flux-recruit-single-") as tmp:
            data = load_data(args.data, Path(tmp), n)
            folds = [f for f in make_folds(data.series) if f.number in wanted]
            started = time.perf_counter()
            rows = run_single(data, folds, args.jobs)
            seconds = time.perf_counter() - started
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    notes = [
        f"Single-restaurant protocol: the deterministic sample of {n} restaurants, each alone; "
        f"folds {', '.join(str(f) for f in wanted)}; {seconds:.0f} s in all "
        f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end).",
        "RMSLE columns: the mean over restaurants of each restaurant's RMSLE in the fold; WAPE "
        "and coverage over all their rows.",
    ]
    text = single_markdown(rows, notes)
    return _report(
        args, text, lambda path: pd.DataFrame([r.__dict__ for r in rows]).to_csv(path, index=False)
    )


# --------------------------------------------------------------------------------------------
# The cold-start protocol

COLD_COHORT_START = pd.Timestamp("2016-07-01")
COLD_DAYS = 7
COLD_RESTAURANTS = 30


def run_cold_start(data: Data, n: int, jobs: int) -> tuple[pd.DataFrame, str]:
    """The cold-start forecasts of ``n`` restaurants of the 2016-07-01 cohort, with the global
    model alone, the peer forecast alone and the peer-median baseline, on the same rows."""
    from models import cold_start

    cutoff = COLD_COHORT_START + pd.Timedelta(days=COLD_DAYS - 1)
    frame = data.series.data
    first = frame.groupby(c.RESTAURANT_ID)[c.DS].min()
    cohort = sorted(str(r) for r in first[first == COLD_COHORT_START].index)
    cold = _sample(cohort, n)
    before = frame[frame[c.DS] <= cutoff].groupby(c.RESTAURANT_ID).size()
    fleet = sorted(str(r) for r in before[before >= MIN_TRAIN_ROWS].index)
    series = data.series.for_restaurants([*fleet, *cold])
    spec = evaluation.BacktestSpec(
        models=("xgboost", "ensemble"),
        cutoffs=(cutoff,),
        model=ModelSpec(horizon=HORIZON, levels=(LEVEL,), seed=SEED),
        min_train_rows=MIN_TRAIN_ROWS,
        jobs=jobs,
    )
    with _quiet():
        out = evaluation.run_backtest(series, data.calendar, spec)
    out = out[out[c.RESTAURANT_ID].isin(cold)]
    if not out[cold_start.COLD_START].all() or out[c.RESTAURANT_ID].nunique() != len(cold):
        raise BenchmarkError("cold start: the backtest did not score every cold restaurant")
    wide = out.pivot_table(index=[c.RESTAURANT_ID, c.DS], columns=c.MODEL, values=c.YHAT)
    rows = wide.reset_index().rename(
        columns={"ensemble": "flux_cold_start", "xgboost": "global_model_alone"}
    )
    y = out.drop_duplicates([c.RESTAURANT_ID, c.DS]).set_index([c.RESTAURANT_ID, c.DS])[c.Y]
    rows[c.Y] = y.reindex(pd.MultiIndex.from_frame(rows[[c.RESTAURANT_ID, c.DS]])).to_numpy()
    train = series.until(cutoff)
    found = cold_start.peers(train, data.calendar, cold)
    keys = rows[[c.RESTAURANT_ID, c.DS]]
    rows["peer_forecast_alone"] = cold_start.peer_forecast(train, found, keys)
    rows["peer_median_baseline"] = cold_start.peer_median(found, keys)
    for weight in COLD_WEIGHTS:
        rows[f"blend_global_weight_{weight}"] = cold_start.blend(
            rows["global_model_alone"].to_numpy(float),
            rows["peer_forecast_alone"].to_numpy(float),
            weight,
        )
    matched = pd.Series([",".join(found.matched_on[r]) or "fleet" for r in cold]).value_counts()
    how = "; ".join(f"{k}: {v}" for k, v in matched.items())
    note = (
        f"Cohort {len(cohort)} restaurants opened {COLD_COHORT_START.date()}; {len(cold)} "
        f"forecast from {COLD_DAYS} days (cutoff {cutoff.date()}, horizon {HORIZON}); fleet "
        f"{len(fleet)} restaurants with >= {MIN_TRAIN_ROWS} days; {len(rows):,} rows scored; "
        f"peers matched on {how}."
    )
    return rows, note


COLD_WEIGHTS = (0.25, 0.5, 0.75)
COLD_METHODS = (
    "flux_cold_start",
    "global_model_alone",
    "peer_forecast_alone",
    "peer_median_baseline",
    *(f"blend_global_weight_{w}" for w in COLD_WEIGHTS),
)


def cold_markdown(rows: pd.DataFrame, notes: Sequence[str]) -> str:
    """The cold-start table: per-restaurant mean RMSLE, pooled RMSLE and WAPE per method."""
    header = ["method", "mean RMSLE (per restaurant)", "RMSLE (all rows)", "WAPE"]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|"]
    y = rows[c.Y].to_numpy(dtype=float)
    for method in COLD_METHODS:
        yhat = rows[method].to_numpy(dtype=float)
        if not np.isfinite(yhat).all():
            raise BenchmarkError(f"cold start: {method} has rows without a forecast")
        per = rows.groupby(c.RESTAURANT_ID).apply(
            lambda g, m=method: metrics.rmsle(g[c.Y].to_numpy(float), g[m].to_numpy(float))
        )
        cells = [method, _fmt(float(per.mean())), _fmt(metrics.rmsle(y, yhat))]
        cells.append(_fmt(metrics.wape(y, yhat)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *notes]) + "\n"


def main_cold_start(args: argparse.Namespace) -> int:
    """The cold-start protocol."""
    n = args.restaurants or COLD_RESTAURANTS
    try:
        _check_data(args.data)
        warnings.filterwarnings("ignore", category=FutureWarning)
        with tempfile.TemporaryDirectory(prefix="flux-recruit-cold-") as tmp:
            data = load_data(args.data, Path(tmp), None)
            started = time.perf_counter()
            rows, note = run_cold_start(data, n, args.jobs)
            seconds = time.perf_counter() - started
        notes = [
            note,
            f"{seconds:.0f} s ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}).",
        ]
        text = cold_markdown(rows, notes)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _report(args, text, lambda path: rows.to_csv(path, index=False))


if __name__ == "__main__":
    sys.exit(main())
