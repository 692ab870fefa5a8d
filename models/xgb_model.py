"""XGBoost, one model across all restaurants (a global forecaster).

Trained on the direct, origin-based frame of :mod:`models.features`: rows from weekly origins
over the last year, each target 1..``horizon`` days after its origin, with features computed only
from rows on or before the origin. The target is ``log1p(y)`` with squared error, i.e. the model
minimises RMSLE. Forecasts come from the history statistics at the training cutoff (an
:class:`~models.features.OriginState`) plus what is known about the target dates; that state, the
calendar and the model's settings travel inside the UBJSON file (:meth:`XGBoostForecaster.to_ubj`),
so a loaded model forecasts exactly as the fitted one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd

from models import columns as c
from models.base import Calendar, Forecaster, check_fitted
from models.features import (
    HISTORY_COUNT,
    OriginState,
    feature_names,
    features_from_state,
    make_training_frame,
    origin_state,
    origins_before,
    static_categories,
)
from models.frames import STEP, FrameError, SeriesFrame
from models.regressors import known_in_advance, regressor_features

if TYPE_CHECKING:
    import xgboost as xgb

__all__ = ["XGBoostForecaster"]

_META_ATTR = "flux_meta"
_META_VERSION = 1
_MAX_LOG = 50.0  # expm1 overflow guard


class XGBoostForecaster(Forecaster):
    """One gradient-boosted tree model for all restaurants, by forecast step.

    Args:
        horizon: the largest step learned (days after the origin); later rows get no forecast.
        n_estimators: boosting rounds.
        learning_rate: shrinkage per round.
        max_depth: tree depth.
        min_child_weight: minimum hessian (rows, for squared error) in a leaf.
        subsample: row share per tree.
        colsample_bytree: feature share per tree.
        origins_every: days between training origins; None (default) spaces them by the data
            size: weekly while a weekly spacing stays under ``row_budget`` training rows, then
            every 14, 21, ... days (the fit's time grows with the rows; accuracy barely does).
        row_budget: the training-row budget of the automatic spacing.
        origins_span: how far back (days) training origins reach from the cutoff.
        log1p: learn ``log1p(y)`` (RMSLE) instead of ``y``.
        n_jobs: threads.
        random_state: the seed (with ``tree_method="hist"`` the fit is deterministic).
        max_bin: histogram bins per feature (64 trains about 1.6x faster than XGBoost's 256).
        regressors: names of the calendar's regressors to use as features (the spec's): one
            known in advance at the target date, any other through its value ``horizon`` days
            before it and never after the origin (:mod:`models.regressors`).
        refit_rounds: rounds added to an earlier fit's trees when the model is refitted from it
            (``fit(..., earlier=...)``, an ensemble's final fit after its validation fit);
            None: refit from scratch with ``n_estimators``. Only for a fleet whose weekly
            origins would exceed ``row_budget`` rows (so the origins are thinned, and a fit is
            costly): on the Recruit benchmark's 819-829 restaurants (1.6M weekly rows, 406-544k
            rows fitted) 50 continued rounds forecast as well as a full refit of 300 (mean
            RMSLE 0.5347 against 0.5350) and saved about 15 s a fold, but on subsets of 150, 30
            and single restaurants they forecast worse than a full refit.
    """

    name: ClassVar[str] = "xgboost"
    scope: ClassVar[Literal["local", "global"]] = "global"
    FILE: ClassVar[str] = "xgboost.ubj"
    """Its file: the booster as UBJSON, Flux's state inside (:meth:`to_ubj`)."""

    def __init__(
        self,
        *,
        horizon: int = 39,
        n_estimators: int = 300,
        learning_rate: float = 0.1,
        max_depth: int = 8,
        min_child_weight: float = 5,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        origins_every: int | None = None,
        row_budget: int = 1_000_000,
        origins_span: int = 364,
        log1p: bool = True,
        n_jobs: int = 2,
        random_state: int = 0,
        max_bin: int = 64,
        regressors: tuple[str, ...] = (),
        refit_rounds: int | None = 50,
    ) -> None:
        self.horizon = horizon
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.origins_every = origins_every
        self.row_budget = row_budget
        self.origins_span = origins_span
        self.log1p = log1p
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_bin = max_bin
        self.regressors = regressors
        self.refit_rounds = refit_rounds

    def _booster_params(self) -> dict[str, Any]:
        return {
            "objective": "reg:squarederror",
            "tree_method": "hist",
            "eta": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "nthread": self.n_jobs,
            "seed": self.random_state,
            "max_bin": self.max_bin,
            "verbosity": 0,
        }

    def _target(self, y: np.ndarray) -> np.ndarray:
        return np.log1p(y) if self.log1p else y

    def _weekly_rows(self, series: SeriesFrame) -> int:
        """The training rows of weekly origins, at most (every restaurant, every step)."""
        return len(series.restaurants) * (self.origins_span // 7) * self.horizon

    def _origins_every(self, series: SeriesFrame) -> int:
        if self.origins_every is not None:
            return self.origins_every
        return 7 * max(1, math.ceil(self._weekly_rows(series) / max(self.row_budget, 1)))

    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        self._train(self._training_data(series, calendar), None)

    def _fit_from(self, earlier: Forecaster, series: SeriesFrame, calendar: Calendar) -> None:
        """Continues ``earlier``'s trees for ``refit_rounds`` rounds on this history's rows.

        ``earlier`` is this model fitted on an earlier cut (an ensemble's validation fit): its
        trees hold what the older rows teach, so the new rounds fit what the newer rows add.
        A full fit instead where ``refit_rounds`` is None, where ``earlier`` was fitted
        otherwise (other settings or features, or a later cutoff), and where weekly origins
        stay within the ``row_budget`` (a fleet small enough that a fit is cheap, where
        continuing cost accuracy).
        """
        if self.refit_rounds is not None and self.refit_rounds < 0:
            raise ValueError(f"refit_rounds must be 0 or more (or None), got {self.refit_rounds}")
        data = self._training_data(series, calendar)
        continues = (
            self.refit_rounds is not None
            and isinstance(earlier, XGBoostForecaster)
            and type(earlier) is type(self)
            and earlier.get_params() == self.get_params()
            and hasattr(earlier, "booster_")
            and pd.Timestamp(earlier.cutoff_) <= pd.Timestamp(self.cutoff_)
            and earlier.feature_names_ == self.feature_names_
            and self._weekly_rows(series) > self.row_budget  # a fleet the budget thins
        )
        self._train(data, earlier if continues else None)

    def _train(self, data: xgb.QuantileDMatrix, earlier: Forecaster | None) -> None:
        import xgboost as xgb

        if earlier is None:
            rounds, start = self.n_estimators, None
        else:
            assert isinstance(earlier, XGBoostForecaster)
            rounds, start = int(self.refit_rounds or 0), earlier.booster_.copy()
        self.booster_: xgb.Booster = xgb.train(
            self._booster_params(), data, num_boost_round=rounds, xgb_model=start
        )

    def _training_data(self, series: SeriesFrame, calendar: Calendar) -> xgb.QuantileDMatrix:
        """The training rows as a matrix; sets the fitted state that the rows define."""
        import xgboost as xgb

        self.categories_ = static_categories(calendar)
        self.regressors_known_ = known_in_advance(calendar.regressors, tuple(self.regressors))
        origins = origins_before(self.cutoff_, self._origins_every(series), self.origins_span)
        frame = make_training_frame(series, calendar, self.horizon, origins, self.categories_)
        if frame.empty:  # a history shorter than origins_every: learn from its first day
            first = [pd.Timestamp(series.data[c.DS].min())]
            frame = make_training_frame(series, calendar, self.horizon, first, self.categories_)
        if frame.empty:
            raise FrameError(f"{self.name}: no training rows (the series spans a single day)")
        frame = self._with_regressors(frame, calendar, frame[c.CUTOFF])
        self.feature_names_ = feature_names(frame)
        self.calendar_ = calendar
        self.state_ = origin_state(series, self.cutoff_)
        self.n_training_rows_ = len(frame)
        return xgb.QuantileDMatrix(
            frame[self.feature_names_].to_numpy(dtype=np.float32),
            label=self._target(frame[c.Y].to_numpy(dtype=float)),
            feature_names=self.feature_names_,
            nthread=self.n_jobs,
            max_bin=self.max_bin,
        )

    def _predict(self, future: pd.DataFrame) -> np.ndarray:
        import xgboost as xgb

        frame = features_from_state(self.state_, future, self.calendar_, self.categories_)
        frame = self._with_regressors(frame, self.calendar_, self.state_.origin)
        matrix = xgb.DMatrix(
            frame[self.feature_names_].to_numpy(dtype=np.float32),
            feature_names=self.feature_names_,
            nthread=self.n_jobs,
        )
        raw = np.asarray(self.booster_.predict(matrix), dtype=float)
        yhat = np.expm1(np.minimum(raw, _MAX_LOG)) if self.log1p else raw
        usable = (frame[HISTORY_COUNT].to_numpy() > 0) & (frame[STEP].to_numpy() >= 1)
        return np.where(usable, np.clip(yhat, 0.0, None), np.nan)

    def _with_regressors(
        self, frame: pd.DataFrame, calendar: Calendar, origin: pd.Series | pd.Timestamp
    ) -> pd.DataFrame:
        """``frame`` with a column per regressor (from each row's origin; see the class doc)."""
        known = getattr(self, "regressors_known_", {})
        if not known:
            return frame
        extra = regressor_features(calendar.regressors, frame, known, self.horizon, origin)
        return pd.concat([frame.reset_index(drop=True), extra.astype(np.float32)], axis=1)

    # --- serialisation --------------------------------------------------------------------------

    def to_files(self) -> dict[str, bytes]:
        """The model as ``xgboost.ubj``."""
        return {self.FILE: self.to_ubj()}

    @classmethod
    def from_files(
        cls,
        files: Mapping[str, bytes],
        *,
        params: Mapping[str, Any],
        state: Mapping[str, Any],
        history: SeriesFrame,
        calendar: Calendar,
    ) -> Self:
        """The model from ``xgboost.ubj`` (its settings travel inside it), forecasting from the
        end of ``history``: the lag features start from the history's last rows."""
        model = cls.from_ubj(files[cls.FILE])
        as_of = pd.Timestamp(history.data[c.DS].max())
        model.state_ = origin_state(history, as_of)
        model.cutoff_ = as_of
        model.calendar_ = calendar
        return model

    def to_ubj(self) -> bytes:
        """The fitted model as XGBoost UBJSON, with Flux's state in a booster attribute.

        Raises:
            NotFittedError: before :meth:`fit`.
        """
        check_fitted(self, "booster_", self.name)
        booster = self.booster_.copy()
        booster.set_attr(**{_META_ATTR: json.dumps(self._meta())})
        return bytes(booster.save_raw(raw_format="ubj"))

    def _meta(self) -> dict[str, Any]:
        return {
            "version": _META_VERSION,
            "params": self.get_params(),
            "feature_names": self.feature_names_,
            "categories": self.categories_,
            "cutoff": self.cutoff_.isoformat(),
            "freq": self.freq_,
            "restaurants": list(self.restaurants_),
            "failed": self.failed_,
            "state": self.state_.to_dict(),
            "calendar": _calendar_to_dict(self.calendar_),
            "regressors_known": self.regressors_known_,
        }

    @classmethod
    def from_ubj(cls, data: bytes | bytearray) -> Self:
        """A fitted forecaster from :meth:`to_ubj`'s bytes (forecasts identical to the original).

        Raises:
            ValueError: the file has no Flux state or a newer state version.
        """
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(bytearray(data))
        raw = booster.attr(_META_ATTR)
        if raw is None:
            raise ValueError("not a Flux XGBoost model: no flux_meta attribute")
        meta = json.loads(raw)
        if int(meta["version"]) > _META_VERSION:
            raise ValueError(f"flux_meta version {meta['version']} is newer than this Flux")
        booster.set_attr(**{_META_ATTR: None})
        params = dict(meta["params"])
        params["regressors"] = tuple(params.get("regressors") or ())  # JSON has lists
        self = cls(**params)
        self.booster_ = booster
        self.feature_names_ = list(meta["feature_names"])
        self.categories_ = {k: list(v) for k, v in meta["categories"].items()}
        self.cutoff_ = pd.Timestamp(meta["cutoff"])
        self.freq_ = meta["freq"]
        self.restaurants_ = list(meta["restaurants"])
        self.failed_ = dict(meta["failed"])
        self.state_ = OriginState.from_dict(meta["state"])
        self.calendar_ = _calendar_from_dict(meta["calendar"])
        known = meta.get("regressors_known", {})
        self.regressors_known_ = {str(k): bool(v) for k, v in known.items()}
        return self

    def feature_importance(self) -> pd.Series:
        """Total gain per feature, largest first."""
        check_fitted(self, "booster_", self.name)
        gain = self.booster_.get_score(importance_type="total_gain")
        return pd.Series(gain, dtype=float).sort_values(ascending=False)


def _frame_to_dict(frame: pd.DataFrame) -> dict[str, Any]:
    """A small frame as JSON-ready columns (numbers round-trip exactly; dates as ISO strings)."""
    columns: dict[str, Any] = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            values = [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in col]
            columns[str(name)] = {"kind": "datetime", "values": values}
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            floats = col.to_numpy(dtype=float)
            columns[str(name)] = {
                "kind": "float",
                "values": [None if np.isnan(v) else float(v) for v in floats],
            }
        else:
            values = [None if _missing(v) else str(v) for v in col.astype(object)]
            columns[str(name)] = {"kind": "str", "values": values}
    return {"columns": columns}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _frame_from_dict(data: dict[str, Any]) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for name, col in data["columns"].items():
        if col["kind"] == "float":
            out[name] = pd.Series([np.nan if v is None else v for v in col["values"]], dtype=float)
        elif col["kind"] == "datetime":
            out[name] = pd.Series(pd.to_datetime(col["values"]))
        else:
            out[name] = pd.Series(col["values"], dtype=object)
    return pd.DataFrame(out)


def _calendar_to_dict(calendar: Calendar) -> dict[str, Any]:
    return {
        "restaurants": _frame_to_dict(calendar.restaurants),
        "events": _frame_to_dict(calendar.events),
    }


def _calendar_from_dict(data: dict[str, Any]) -> Calendar:
    return Calendar(
        restaurants=_frame_from_dict(data["restaurants"]),
        events=_frame_from_dict(data["events"]),
    )
