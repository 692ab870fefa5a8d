"""Prophet's design-matrix bookkeeping without its per-row pandas loops (same output, faster).

Most of a Flux Prophet fit is not the optimisation but Prophet's pandas preprocessing: on the
Recruit restaurants, :meth:`prophet.Prophet.regressor_column_matrix` (a ``pd.crosstab`` of which
feature column belongs to which component) and :meth:`prophet.Prophet.make_holiday_features` (a
``get_loc`` per holiday day) took more of a fit than cmdstan did. :func:`component_columns` and
:func:`holiday_features` compute the same frames with arrays, and :func:`fast_prophet_class`
is ``Prophet`` with those methods replaced, and with its history set up on arrays
(:func:`setup_frame`, :func:`auto_seasonalities`) and its Stan backend loaded once a process
(:func:`default_backend`), nothing else: the model, its Stan data, the optimum and the JSON
(``prophet.serialize.model_to_json``) are Prophet's. The tests compare each with Prophet's own
methods frame for frame, and a fitted model attribute for attribute
(``tests/test_prophet_design.py``).

Both follow prophet 1.1-1.5's ``forecaster.py`` line by line in what they return and raise, as
does :func:`seasonality_features` (``make_all_seasonality_features`` built from arrays, for models
without extra regressors or conditions). :func:`model_from_json` reads Prophet's JSON into the
same attributes as ``prophet.serialize.model_from_json``, without ``pd.read_json``.

:func:`stan_json` writes Prophet's Stan data as the JSON text ``json.dumps`` writes for
``CmdStanPyBackend.prepare_data``'s lists, character for character, but formats each distinct
float once: the feature matrix is mostly Fourier terms of whole days (seven distinct values per
weekly column) and 0/1 holiday flags, and Python's float formatting was most of writing it.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from prophet import Prophet

__all__ = [
    "STAN_DATA",
    "component_columns",
    "fast_prophet_class",
    "fourier",
    "holiday_features",
    "holiday_matrix",
    "model_from_json",
    "seasonality_features",
    "stan_json",
]

_DELIM = "_delim_"
_PROPHET_LOG = logging.getLogger("prophet")  # Prophet's own logger, for its own warning


def component_columns(
    model: Prophet, seasonal_features: pd.DataFrame, modes: dict[str, list[str]]
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """:meth:`prophet.Prophet.regressor_column_matrix`, without ``pd.crosstab``.

    Builds the same (column, component) pairs as Prophet's ``add_group_component`` calls, in
    the same order, then counts them into the indicator frame (rows: feature columns; columns:
    components, sorted, as ``crosstab`` sorts them). ``modes`` is updated in place, as Prophet
    does.
    """
    cols: list[int] = list(range(seasonal_features.shape[1]))
    comps: list[str] = [str(x).split(_DELIM)[0] for x in seasonal_features.columns]

    def add_group(name: str, group: Any) -> None:
        wanted = set(group)
        # the distinct columns of the pairs whose component is in the group, in pair order
        pairs = zip(cols, comps, strict=True)
        group_cols = list(dict.fromkeys(col for col, comp in pairs if comp in wanted))
        cols.extend(group_cols)
        comps.extend([name] * len(group_cols))

    if model.train_holiday_names is not None:
        add_group("holidays", model.train_holiday_names.unique())
    for mode in ("additive", "multiplicative"):
        add_group(mode + "_terms", modes[mode])
        by_mode = [r for r, props in model.extra_regressors.items() if props["mode"] == mode]
        add_group("extra_regressors_" + mode, by_mode)
        modes[mode].append(mode + "_terms")
        modes[mode].append("extra_regressors_" + mode)
    modes[model.holidays_mode].append("holidays")

    names = sorted(set(comps))
    rows = sorted(set(cols))
    # crosstab's sorted components, then the two totals Prophet adds where missing (at the
    # end, as zeros), without the "zeros" placeholder
    columns = [*names, *(t for t in ("additive_terms", "multiplicative_terms") if t not in names)]
    counts = np.zeros((len(rows), len(columns)), dtype=np.int64)
    np.add.at(
        counts,
        (np.searchsorted(rows, cols), np.searchsorted(np.asarray(names, dtype=object), comps)),
        1,
    )
    kept = [i for i, name in enumerate(columns) if name != "zeros"]
    columns = [columns[i] for i in kept]
    counts = counts[:, kept]
    totals = (
        counts[:, columns.index("additive_terms")]
        + counts[:, columns.index("multiplicative_terms")]
    )
    if totals.max() > 1:
        raise Exception("A bug occurred in seasonal components.")
    component_cols = pd.DataFrame(
        counts,
        index=pd.Index(np.asarray(rows, dtype=np.int64), name="col"),
        columns=pd.Index(columns, name="component"),
    )
    if model.train_component_cols is not None:
        component_cols = component_cols[model.train_component_cols.columns]
        if not component_cols.equals(model.train_component_cols):
            raise Exception("A bug occurred in constructing regressors.")
    return component_cols, modes


def _window(holidays: pd.DataFrame, column: str) -> np.ndarray:
    """A window column as ints; Prophet falls back to 0 when a value is not a number."""
    if column not in holidays:
        return np.zeros(len(holidays), dtype=np.int64)
    values = holidays[column].to_numpy()
    if values.dtype.kind in "iu" or (values.dtype.kind == "f" and np.isfinite(values).all()):
        return values.astype(np.int64)  # int() of each: truncated toward zero
    out = np.zeros(len(holidays), dtype=np.int64)
    for i, value in enumerate(holidays[column].tolist()):
        try:
            out[i] = int(value)
        except ValueError:  # NaN (a holiday Prophet adds at predict time) or text
            out[i] = 0
    return out


def holiday_features(
    model: Prophet, dates: pd.Series, holidays: pd.DataFrame
) -> tuple[pd.DataFrame, list[float], list[str]]:
    """:meth:`prophet.Prophet.make_holiday_features`, with one array lookup for all days.

    The same columns (``<holiday>_delim_<+|-><offset>``, sorted), the same 0/1 values, prior
    scales, names (in first-seen order), errors, and ``train_holiday_names`` on the first call.
    """
    day = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    names, matrix, prior_scales = holiday_matrix(model, day, holidays)
    features = pd.DataFrame(matrix, columns=names) if names else pd.DataFrame()
    prior_scale_list = [prior_scales[h.split(_DELIM)[0]] for h in names]
    holiday_names = list(prior_scales.keys())
    if model.train_holiday_names is None:
        model.train_holiday_names = pd.Series(holiday_names)
    return features, prior_scale_list, holiday_names


def holiday_matrix(
    model: Prophet, day: np.ndarray, holidays: pd.DataFrame
) -> tuple[list[str], np.ndarray, dict[Any, float]]:
    """The arrays of :func:`holiday_features`: the sorted column names, the 0/1 matrix (a row
    per day of ``day``, ``datetime64[D]``) and each holiday's prior scale (first-seen order).

    Every (holiday row, window offset) pair is looked up in the sorted days at once; a column
    per distinct ``<holiday>_delim_<+|-><offset>``, marked on each day that pair falls on."""
    n = len(day)
    order = np.argsort(day, kind="stable")
    sorted_days = day[order]
    prior_scales: dict[Any, float] = {}
    lower = _window(holidays, "lower_window")
    upper = _window(holidays, "upper_window")
    if "prior_scale" in holidays:
        scales = [float(x) for x in holidays["prior_scale"].tolist()]
    else:
        scales = [float(model.holidays_prior_scale)] * len(holidays)
    holiday_names = holidays["holiday"].tolist()
    for name, given in zip(holiday_names, scales, strict=True):
        ps = float(model.holidays_prior_scale) if np.isnan(given) else given
        if name in prior_scales and prior_scales[name] != ps:
            raise ValueError(
                f"Holiday {name!r} does not have consistent prior scale specification."
            )
        if ps <= 0:
            raise ValueError("Prior scale must be > 0")
        prior_scales[name] = ps
    # one entry per (row, offset), rows in order and offsets rising, as Prophet loops
    widths = np.maximum(upper - lower + 1, 0)
    row = np.repeat(np.arange(len(holidays)), widths)
    offset = lower[row] + (np.arange(len(row)) - np.repeat(np.cumsum(widths) - widths, widths))
    occurs = holidays["ds"].to_numpy()
    if occurs.dtype.kind != "M":  # a holiday Prophet adds at predict time has no date
        occurs = pd.to_datetime(holidays["ds"]).to_numpy(dtype="datetime64[ns]")
    target = occurs.astype("datetime64[D]")[row] + offset.astype("timedelta64[D]")
    lo = np.searchsorted(sorted_days, target, side="left")
    hi = np.searchsorted(sorted_days, target, side="right")
    keys = [
        "{}_delim_{}{}".format(holiday_names[r], "+" if o >= 0 else "-", abs(o))
        for r, o in zip(row.tolist(), offset.tolist(), strict=True)
    ]
    names = sorted(set(keys))
    matrix = np.zeros((n, len(names)))
    position = {name: j for j, name in enumerate(names)}
    for i in np.flatnonzero(hi > lo).tolist():
        matrix[order[lo[i] : hi[i]], position[keys[i]]] = 1.0
    return names, matrix, prior_scales


def fourier(ns: np.ndarray, period: float, order: int) -> np.ndarray:
    """:meth:`prophet.Prophet.fourier_series` of int64 nanosecond (naive) dates, on arrays."""
    x_t = np.pi * 2 * ((ns / 1e9) / (24 * 60 * 60))
    out = np.empty((len(ns), 2 * order))
    for i in range(order):
        angle = (i + 1) / period * x_t
        out[:, 2 * i] = np.sin(angle)
        out[:, 2 * i + 1] = np.cos(angle)
    return out


def seasonality_features(
    model: Prophet, df: pd.DataFrame
) -> tuple[pd.DataFrame, list[float], pd.DataFrame, dict[str, list[str]]]:
    """:meth:`prophet.Prophet.make_all_seasonality_features` of a model without extra
    regressors or conditional seasonalities, built as one frame from arrays: each seasonality's
    :func:`fourier` columns (``<name>_delim_<i>``), then :func:`holiday_matrix`'s, then
    :func:`component_columns`; the same frames, prior scales and modes as Prophet's."""
    ns = df["ds"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    blocks: list[np.ndarray] = []
    names: list[str] = []
    prior_scales: list[float] = []
    modes: dict[str, list[str]] = {"additive": [], "multiplicative": []}
    for name, props in model.seasonalities.items():
        block = fourier(ns, props["period"], props["fourier_order"])
        blocks.append(block)
        names.extend(f"{name}_delim_{i + 1}" for i in range(block.shape[1]))
        prior_scales.extend([props["prior_scale"]] * block.shape[1])
        modes[props["mode"]].append(name)
    holidays = model.construct_holiday_dataframe(df["ds"])
    if len(holidays) > 0:
        features, scales, holiday_names = holiday_features(model, df["ds"], holidays)
        blocks.append(features.to_numpy(dtype=float).reshape(len(df), -1))
        names.extend(features.columns)
        prior_scales.extend(scales)
        modes[model.holidays_mode].extend(holiday_names)
    if not names:
        blocks, names, prior_scales = [np.zeros((len(df), 1))], ["zeros"], [1.0]
    features = pd.DataFrame(np.hstack(blocks), columns=names)
    component_cols, modes = component_columns(model, features, modes)
    return features, prior_scales, component_cols, modes


STAN_DATA: tuple[str, ...] = (
    *("T", "S", "K", "tau", "trend_indicator", "y", "t", "cap", "t_change", "s_a", "s_m"),
    *("X", "sigmas"),
)
"""The Stan data Prophet sends, in ``prepare_data``'s order."""


def _float_array(values: np.ndarray) -> str:
    """``json.dumps(values.tolist())`` for a float array, each distinct value formatted once."""
    a = np.ascontiguousarray(values, dtype=np.float64)
    if a.size == 0:
        return json.dumps(a.tolist())
    bits, inverse = np.unique(a.reshape(-1).view(np.int64), return_inverse=True)  # bit-exact
    texts = np.asarray([json.dumps(v) for v in bits.view(np.float64).tolist()], dtype=object)
    cells = texts[inverse].reshape(a.shape).tolist()
    if a.ndim == 1:
        return "[" + ", ".join(cells) + "]"
    return "[" + ", ".join("[" + ", ".join(row) + "]" for row in cells) + "]"


def stan_json(data: Mapping[str, Any]) -> str:
    """The JSON text of Prophet's Stan data (:data:`STAN_DATA` of ``preprocess``'s output), the
    same text as ``json.dumps(CmdStanPyBackend.prepare_data(init, data)[1])``."""
    parts = []
    for key in STAN_DATA:
        value = data[key]
        if isinstance(value, pd.DataFrame | pd.Series):
            value = value.to_numpy()
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim in (1, 2):
            text = _float_array(value)
        elif isinstance(value, np.ndarray):
            text = json.dumps(value.tolist())
        else:
            text = json.dumps(value)
        parts.append(f"{json.dumps(key)}: {text}")
    return "{" + ", ".join(parts) + "}"


@functools.cache
def fast_prophet_class() -> type[Prophet]:
    """``prophet.Prophet`` with :func:`component_columns`, :func:`holiday_features`,
    :func:`seasonality_features`, :func:`setup_frame` and :func:`auto_seasonalities`, built on
    first use (importing prophet is slow); ``models.prophet_design.FastProphet`` names it."""
    from prophet import Prophet

    class FastProphet(Prophet):
        """Prophet, with its design-matrix bookkeeping done on arrays (same results)."""

        def regressor_column_matrix(  # type: ignore[override]
            self, seasonal_features: pd.DataFrame, modes: dict[str, list[str]]
        ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
            return component_columns(self, seasonal_features, modes)

        def make_holiday_features(
            self, dates: pd.Series, holidays: pd.DataFrame
        ) -> tuple[pd.DataFrame, list[float], list[str]]:
            return holiday_features(self, dates, holidays)

        def make_all_seasonality_features(  # type: ignore[override]
            self, df: pd.DataFrame
        ) -> tuple[pd.DataFrame, list[float], pd.DataFrame, dict[str, list[str]]]:
            if not _plain_model(self):
                return super().make_all_seasonality_features(df)  # type: ignore[return-value]
            return seasonality_features(self, df)

        def setup_dataframe(
            self, df: pd.DataFrame, initialize_scales: bool = False
        ) -> pd.DataFrame:
            if _plain_model(self) and _plain_frame(df) and _same_unit(self, df, initialize_scales):
                return setup_frame(self, df, initialize_scales)
            return super().setup_dataframe(df, initialize_scales)

        def set_auto_seasonalities(self) -> None:
            auto_seasonalities(self)

        def set_changepoints(self) -> None:
            if self.changepoints is not None or self.history is None:
                super().set_changepoints()
                return
            # Prophet's grid, with the dates taken from the ds column alone (Prophet takes the
            # rows of the whole history first)
            hist_size = int(np.floor(self.history.shape[0] * self.changepoint_range))
            if self.n_changepoints + 1 > hist_size:
                self.n_changepoints = hist_size - 1
                _PROPHET_LOG.info(
                    "n_changepoints greater than number of observations. Using %s.",
                    self.n_changepoints,
                )
            if self.n_changepoints > 0:
                grid = np.linspace(0, hist_size - 1, self.n_changepoints + 1).round().astype(int)
                self.changepoints = self.history["ds"].iloc[grid].tail(-1)
                assert self.start is not None and self.t_scale is not None
                since = self.changepoints.to_numpy() - self.start.to_datetime64()
                self.changepoints_t = np.sort(since / self.t_scale.to_timedelta64())
            else:
                self.changepoints = pd.Series(pd.to_datetime([]), name="ds")
                self.changepoints_t = np.array([0])  # Prophet's dummy changepoint

        def construct_holiday_dataframe(self, dates: pd.Series) -> pd.DataFrame:
            if self.country_holidays is None and self.train_holiday_names is None:
                # a fit: the holidays given, as Prophet copies them (it starts from an empty
                # frame it then throws away)
                return self.holidays.copy() if self.holidays is not None else pd.DataFrame()
            return super().construct_holiday_dataframe(dates)

        def _load_stan_backend(self, stan_backend: str | None) -> None:
            if stan_backend is not None:
                super()._load_stan_backend(stan_backend)
            else:  # loading cmdstanpy's model checks its files: a third of a fit's set-up
                self.stan_backend = default_backend()

    # importable as models.prophet_design.FastProphet (the module's __getattr__), so that a
    # pickle (joblib's, of a fitted model coming back from a worker) names the class instead of
    # carrying its code: about 2 ms a model
    FastProphet.__qualname__ = "FastProphet"
    return FastProphet


def __getattr__(name: str) -> Any:
    if name == "FastProphet":
        return fast_prophet_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _plain_model(model: Prophet) -> bool:
    """No extra regressors or conditional seasonalities, not logistic, absmax scaling: the
    models the array versions below are written for (the others take Prophet's own path)."""
    return (
        not model.extra_regressors
        and model.growth != "logistic"
        and model.scaling == "absmax"
        and not model.logistic_floor
        and all(p["condition_name"] is None for p in model.seasonalities.values())
    )


def _plain_frame(df: pd.DataFrame) -> bool:
    """``ds`` (naive dates, a numpy dtype) and optionally a float ``y``, in that order."""
    names = list(df.columns)
    return (
        names in (["ds"], ["ds", "y"])
        and isinstance(df["ds"].dtype, np.dtype)
        and df["ds"].dtype.kind == "M"
        and df.index.name != "ds"
        and (names == ["ds"] or df["y"].dtype == np.float64)
    )


def _same_unit(model: Prophet, df: pd.DataFrame, initialize_scales: bool) -> bool:
    """The dates in the unit of the model's scales (which the history's dates set), so that
    ``t`` is computed in one unit, as pandas computes it then."""
    if initialize_scales:
        return True
    unit = np.datetime_data(df["ds"].to_numpy().dtype)[0]
    return (
        model.start is not None
        and model.t_scale is not None
        and model.start.unit == unit
        and model.t_scale.unit == unit
    )


def setup_frame(model: Prophet, df: pd.DataFrame, initialize_scales: bool) -> pd.DataFrame:
    """:meth:`prophet.Prophet.setup_dataframe` of a :func:`_plain_frame` for a
    :func:`_plain_model`, built as one frame from arrays: rows sorted by ``ds`` (stable), then
    ``floor`` (0), ``t`` and ``y_scaled``; the scales set as ``initialize_scales`` does."""
    ds = df["ds"].to_numpy()
    y = df["y"].to_numpy() if "y" in df else None
    if y is not None and np.isinf(y).any():
        raise ValueError("Found infinity in column y.")
    if np.isnat(ds).any():
        raise ValueError("Found NaN in column ds.")
    order = np.argsort(ds, kind="mergesort")
    ds = ds[order]
    if initialize_scales:
        assert y is not None, "Prophet initialises its scales on the history"
        model.y_min = 0.0
        scale = float(np.nanmax(np.abs(y))) if len(y) else float("nan")
        model.y_scale = 1.0 if scale == 0 else scale
        model.start = pd.Timestamp(ds[0])
        model.t_scale = pd.Timestamp(ds[-1]) - model.start
    columns: dict[str, Any] = {"ds": ds}
    if y is not None:
        columns["y"] = y[order]
    columns["floor"] = np.zeros(len(ds))
    if model.start is None or model.t_scale is None:
        raise ValueError("Prophet's scales are not set: fit the model first")
    columns["t"] = (ds - model.start.to_datetime64()) / model.t_scale.to_timedelta64()
    if y is not None:
        columns["y_scaled"] = (columns["y"] - columns["floor"]) / model.y_scale
    return pd.DataFrame(columns)


def auto_seasonalities(model: Prophet) -> None:
    """:meth:`prophet.Prophet.set_auto_seasonalities` on the history's date array."""
    assert model.history is not None, "set_auto_seasonalities runs on the history"
    ds = model.history["ds"].to_numpy()
    first, last = pd.Timestamp(ds.min()), pd.Timestamp(ds.max())
    steps = np.diff(ds)
    steps = steps[steps != np.timedelta64(0)]
    min_dt = pd.Timedelta(steps.min()) if len(steps) else pd.NaT
    rules = (  # name, period, disabled when, default order
        ("yearly", 365.25, last - first < pd.Timedelta(days=730), 10),
        (
            "weekly",
            7,
            (last - first < pd.Timedelta(weeks=2)) or (min_dt >= pd.Timedelta(weeks=1)),
            3,
        ),
        ("daily", 1, (last - first < pd.Timedelta(days=2)) or (min_dt >= pd.Timedelta(days=1)), 4),
    )
    for name, period, disabled, default in rules:
        setting = getattr(model, f"{name}_seasonality")
        order = model.parse_seasonality_args(name, setting, disabled, default)
        if name == "yearly" and order > 0 and disabled:
            _PROPHET_LOG.warning(
                "Yearly seasonality is enabled with less than 730 days (approximately 2 years) "
                "of history. The model may be under-identified, and the trend/seasonality "
                "decomposition can be unstable and dependent on the Prophet/Stan version. "
                "Consider disabling yearly seasonality or providing more history."
            )
        if order > 0:
            model.seasonalities[name] = {
                "period": period,
                "fourier_order": order,
                "prior_scale": model.seasonality_prior_scale,
                "mode": model.seasonality_mode,
                "condition_name": None,
            }


@functools.cache
def default_backend() -> Any:
    """One Stan backend per process, the one ``Prophet()`` loads (the first that loads of
    ``StanBackendEnum``). Flux's fits never change it: they fit through a wrapper of their own
    (``models.prophet_model._fit_prophet``)."""
    from prophet.models import StanBackendEnum

    errors = []
    for backend in StanBackendEnum:
        try:
            return StanBackendEnum.get_backend_class(backend.name)()
        except Exception as exc:
            errors.append(f"{backend.name}: {exc}")
    raise RuntimeError(f"no Stan backend could be loaded ({'; '.join(errors)})")


def model_from_json(text: str) -> Prophet:
    """:func:`prophet.serialize.model_from_json`, with pandas' JSON formats read directly.

    Prophet reads each of its frames and series back with ``pd.read_json``, whose type inference
    took about ten milliseconds a model (two minutes for 10,000 restaurants). The JSON is the
    same; this builds the same attributes from it: the frames (``orient="table"``) from their
    schema's fields and dtypes and primary key, as ``read_json`` does; the series
    (``orient="split"``) with their index and name, dates for ``ds`` (tz-naive); the rest as
    Prophet's ``model_from_dict``. A model this does not recognise (another field type, a
    series of numbers) is read by Prophet's own function. ``tests/test_prophet_design.py``
    compares every attribute with Prophet's reading.
    """
    from prophet import Prophet, serialize

    data = json.loads(text)
    try:
        series = {name: _split_series(data[name]) for name in serialize.PD_SERIES}
        frames = {name: _table_frame(data[name]) for name in serialize.PD_DATAFRAME}
        blank = _blank_prophet()
    except _Unsupported:
        return serialize.model_from_json(text)
    # Every attribute of ``Prophet()`` is overwritten below, as in model_from_dict, but one
    # (``_regressor_name``, None); a new instance takes it from a template instead of running
    # ``__init__`` (a third of the reading: it loads the Stan backend each time).
    model = Prophet.__new__(Prophet)
    model.__dict__.update(blank)
    serialize._handle_simple_attributes_backwards_compat(data)
    for name in serialize.SIMPLE_ATTRIBUTES:
        setattr(model, name, data[name])
    for name, value in {**series, **frames}.items():
        setattr(model, name, value)
    if model.train_component_cols is not None:
        model.train_component_cols.columns.name = "component"
        model.train_component_cols.index.name = "col"
    for name in serialize.PD_TIMESTAMP:
        setattr(model, name, pd.Timestamp.fromtimestamp(data[name], tz="UTC").tz_localize(None))
    for name in serialize.PD_TIMEDELTA:
        setattr(model, name, pd.Timedelta(seconds=data[name]))
    for name in serialize.NP_ARRAY:
        setattr(model, name, np.array(data[name]))
    for name in serialize.ORDEREDDICT:
        keys, values = data[name]
        setattr(model, name, OrderedDict((key, values[key]) for key in keys))
    model.fit_kwargs = data["fit_kwargs"]
    model.params = {k: np.array(v) for k, v in data["params"].items()}
    model.stan_backend = None
    model.stan_fit = None
    return model


@functools.cache
def _blank_prophet() -> dict[str, Any]:
    """The attributes of ``Prophet()`` that :func:`model_from_json` does not set itself (raises
    :class:`_Unsupported`, each time, if one is not None)."""
    from prophet import Prophet, serialize

    overwritten = {
        *serialize.SIMPLE_ATTRIBUTES,
        *serialize.PD_SERIES,
        *serialize.PD_DATAFRAME,
        *serialize.PD_TIMESTAMP,
        *serialize.PD_TIMEDELTA,
        *serialize.NP_ARRAY,
        *serialize.ORDEREDDICT,
        "fit_kwargs",
        "params",
        "stan_backend",
        "stan_fit",
    }
    blank = {k: v for k, v in vars(Prophet()).items() if k not in overwritten}
    if any(v is not None for v in blank.values()):  # a newer Prophet with more state
        raise _Unsupported(f"Prophet() sets {', '.join(sorted(blank))}")
    return blank


class _Unsupported(Exception):
    """A part of a model's JSON that :func:`model_from_json` leaves to Prophet's reader."""


def _split_series(text: str | None) -> pd.Series | None:
    """A series Prophet wrote with ``to_json(orient="split")``: dates (``ds``) or strings."""
    if text is None:
        return None
    raw = json.loads(text)
    values, name = raw["data"], raw.get("name")
    index = pd.Index(raw["index"], dtype=np.int64)
    if name == "ds":  # as read_json's inference gives them: microseconds
        return pd.Series(_iso_dates(values, "us"), index=index, name=name)
    if not all(isinstance(v, str) for v in values) or not values:
        raise _Unsupported(name)
    return pd.Series(values, index=index, name=name, dtype="str")


def _iso_dates(values: list[Any], unit: str) -> np.ndarray:
    """Prophet's ``to_json`` dates (``2024-10-09T00:00:00.000``: naive, milliseconds) parsed by
    NumPy, in ``unit``; anything else (a zone, a number, a finer time) is left to Prophet."""
    if not all(isinstance(v, str) and len(v) == 23 and v[10] == "T" for v in values):
        raise _Unsupported("dates")
    try:
        parsed = np.array(values, dtype="datetime64[ms]")
    except ValueError as exc:
        raise _Unsupported("dates") from exc
    return parsed.astype(f"datetime64[{unit}]")


_TABLE_TYPES = {"integer": "int64", "number": "float64", "datetime": "datetime64[ns]"}


def _table_frame(text: str | None) -> pd.DataFrame | None:
    """A frame Prophet wrote with ``to_json(orient="table")``, typed by its schema."""
    if text is None:
        return None
    raw = json.loads(text)
    fields = raw["schema"]["fields"]
    records = raw["data"]
    columns: dict[str, Any] = {}
    for field in fields:
        name, kind = field["name"], field["type"]
        values = [record[name] for record in records]
        if kind == "string" and field.get("extDtype") == "str":
            columns[name] = pd.array(values, dtype="str")
        elif kind in ("integer", "number") and "extDtype" not in field:
            columns[name] = np.asarray(values, dtype=_TABLE_TYPES[kind])
        elif kind == "datetime" and "tz" not in field:
            columns[name] = _iso_dates(values, "ns")
        else:
            raise _Unsupported(f"{name}: {kind}")
    frame = pd.DataFrame(columns, columns=[f["name"] for f in fields])
    key = raw["schema"].get("primaryKey")
    if key:
        frame = frame.set_index(key)
        if len(frame.index.names) == 1 and frame.index.name == "index":
            frame.index.name = None
    return frame
