"""The ensemble: members combined with weights learned on a validation window, plus fallbacks.

``fit`` works in three stages:

1. Validation: every member (and the seasonal-naive fallback) is fitted at each of several
   back-to-back validation origins ``cutoff - k H`` (``k = 1 .. validation_origins``; by default
   3 origins for fewer than :data:`models.intervals.FEW_ROWS` validation rows, else 1 (see
   :func:`models.intervals.default_origins`); an origin needs ``H``
   periods of history before it) and predicts the rows of its window ``(cutoff - k H,
   cutoff - (k-1) H]`` that exist.
2. Refit: every member and the fallback are fitted on the whole series. A member that can
   continue from what it learned (XGBoost: ``refit_rounds`` more rounds on its validation
   fit's trees) starts from its fit at the latest validation origin (``Forecaster.fit``'s
   ``earlier``); the others fit anew.
3. Weights and intervals: over the members that fitted in both stages, the combination is
   learned from the validation errors in log1p space. The candidates are

   - ``min_variance``: the simplex weights minimising the combination's mean squared log1p
     error (members' correlated errors counted), averaged with the inverse-error weights;
   - ``inverse_error``: global weights proportional to ``1 / MSE`` of log1p errors;
   - ``per_restaurant``: per-restaurant inverse-MSE weights, each restaurant's MSE shrunk
     towards the global one with the strength of :data:`SHRINK_ROWS` validation rows;
   - ``stacking``: non-negative least squares of log1p(y) on the members' log1p forecasts
     (no intercept; the weights need not sum to one);
   - ``best``: all weight on the member with the lowest validation error.

   ``weighting="auto"`` scores each candidate by rolling origin: every window but the oldest is
   forecast by weights learned on the older windows (with a single window, its last third by
   weights learned on the first two thirds). ``min_variance`` (the hedge) is kept unless another
   candidate's RMSLE is lower by more than :data:`NOISE_Z` standard errors of the per-row loss
   difference (clustered by restaurant, window and week), so a short or noisy validation window
   (one restaurant, a short history) cannot buy stacking or a single member on luck, while a
   member that is worse beyond noise is dropped (``best``). The chosen one is relearned on all
   validation rows; every candidate's score and the reason are in ``weights_report_``.
   Conformal residual tables (:mod:`models.intervals`) are built for every member, the fallback
   and the ensemble from the residuals of every window; the ensemble's validation forecasts are
   cross-fitted (each window predicted by weights learned on the others) so its intervals are not
   optimistic.
   The same cross-fitted forecasts give each restaurant's expected error
   (``validation_scores_``: RMSLE, WAPE and rows), which ``flux monitor`` compares with live
   accuracy.

Members are combined in log1p space, ``expm1(sum_m w_m log1p(yhat_m))`` (a weighted geometric
mean of ``1 + yhat``): it optimises the target metric (RMSLE) directly and measured better than a
linear combination on the synthetic tests. Prediction falls back per row: the ensemble when every
member it weights has a forecast, else the member with the best validation error that has one,
else seasonal naive; ``served_by`` names the model that served each row: ``"ensemble"`` whenever
the learned combination of the configured members produced it (even if the weighting puts all
weight on one of them), a member's name when it stood in (including when it is the only member
left after the others failed). A member that fails to fit or predict is recorded in
``member_errors_`` and never fails the run; an unknown member name is a settings error. Without
enough validation rows (a short series) the members get equal weights.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize, nnls  # type: ignore[import-untyped]

from models import columns as c
from models import progress
from models.base import Calendar, Forecaster, check_fitted
from models.frames import SERVED_BY, STEP, ForecastFrame, FrameError, SeriesFrame
from models.intervals import (
    MIN_COUNT,
    apply_intervals,
    conformal_table,
    default_origins,
    effective_horizon,
    residuals,
    steps,
    validation_windows,
)
from models.metrics import rmsle, wape
from models.registry import available, make
from models.spec import Weighting

__all__ = ["WEIGHTINGS", "Combination", "EnsembleForecaster", "learn"]

log = logging.getLogger(__name__)

WEIGHTINGS: tuple[str, ...] = (
    "min_variance",
    "inverse_error",
    "per_restaurant",
    "stacking",
    "best",
)
FALLBACK = "seasonal_naive"
SHRINK_ROWS = 14.0
MIN_ROWS = 10
NOISE_Z = 2.0
HEDGE = "min_variance"
ORIGIN = "origin"
_HELD_OUT_SHARE = 1.0 / 3.0
_EPS = 1e-12
_KEYS = [c.RESTAURANT_ID, c.DS]


@dataclass(frozen=True)
class Combination:
    """Learned combination weights over ``members`` (in log1p space).

    Attributes:
        kind: The weighting that produced the weights.
        members: Member names, the order of the weight vectors.
        weights: Global weights (used for restaurants without their own).
        by_restaurant: Per-restaurant weights (index ``restaurant_id``, columns ``members``).
    """

    kind: str
    members: tuple[str, ...]
    weights: np.ndarray
    by_restaurant: pd.DataFrame = field(default_factory=pd.DataFrame)

    def matrix(self, restaurant_ids: np.ndarray) -> np.ndarray:
        """The weights of each row (rows: ``restaurant_ids``; columns: ``members``)."""
        out = np.tile(self.weights, (len(restaurant_ids), 1))
        if not self.by_restaurant.empty:
            own = self.by_restaurant.reindex(pd.Index(restaurant_ids)).to_numpy(dtype=float)
            has_own = np.isfinite(own).all(axis=1)
            out[has_own] = own[has_own]
        return out

    def combine(self, logs: np.ndarray, restaurant_ids: np.ndarray) -> np.ndarray:
        """Combined log1p forecasts; NaN where a member with positive weight has none."""
        weights = self.matrix(restaurant_ids)
        needed = weights > 0
        complete = ~(needed & np.isnan(logs)).any(axis=1)
        combined = np.nansum(np.where(needed, weights * logs, 0.0), axis=1)
        return np.where(complete, combined, np.nan)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description (for an artefact manifest)."""
        return {
            "kind": self.kind,
            "members": list(self.members),
            "weights": dict(zip(self.members, self.weights.tolist(), strict=True)),
            "by_restaurant": {
                str(rid): dict(zip(self.members, row.tolist(), strict=True))
                for rid, row in zip(
                    self.by_restaurant.index,
                    self.by_restaurant.to_numpy(dtype=float),
                    strict=True,
                )
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Combination:
        """The inverse of :meth:`to_dict`."""
        members = tuple(str(m) for m in _as_list(data["members"]))
        weights = _as_mapping(data["weights"])
        by_restaurant = _as_mapping(data.get("by_restaurant", {}))
        table = pd.DataFrame.from_dict(
            {rid: _as_mapping(row) for rid, row in by_restaurant.items()}, orient="index"
        )
        return cls(
            kind=str(data["kind"]),
            members=members,
            weights=np.array([_as_float(weights[m]) for m in members]),
            by_restaurant=table.reindex(columns=list(members)).astype(float)
            if not table.empty
            else pd.DataFrame(),
        )


def _as_list(value: object) -> list[object]:
    if not isinstance(value, list | tuple):
        raise FrameError(f"expected a list, got {type(value).__name__}")
    return list(value)


def _as_float(value: object) -> float:
    if not isinstance(value, int | float):
        raise FrameError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _as_mapping(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise FrameError(f"expected a mapping, got {type(value).__name__}")
    return value


# --- learning weights (pure functions of the validation matrix) --------------------------------


def _mse(logs: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.asarray(np.mean((logs - target[:, None]) ** 2, axis=0), dtype=float)


def _inverse(mse: np.ndarray) -> np.ndarray:
    inv = 1.0 / np.maximum(mse, _EPS)
    return np.asarray(inv / inv.sum(axis=-1, keepdims=True), dtype=float)


def _min_variance(logs: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Weights on the simplex minimising the combined forecast's mean squared log1p error
    (Bates and Granger's combination with correlated errors), averaged with the inverse-error
    weights.

    Inverse-error weights ignore that members' errors move together; when they do (correlation
    0.8-0.9 between Prophet's and XGBoost's on one restaurant), the worse member adds mostly its
    own extra error and the error-minimising mix leans much further towards the better one.
    Averaging with the inverse-error weights keeps half the hedge, so a short window's noisy
    covariance cannot put all weight on one member.
    """
    err = logs - target[:, None]
    second = err.T @ err / max(len(err), 1)
    k = second.shape[0]
    inverse = _inverse(np.diag(second))
    if k == 1:
        return inverse
    result = minimize(
        lambda w: float(w @ second @ w),
        np.full(k, 1.0 / k),
        jac=lambda w: 2.0 * second @ w,
        bounds=[(0.0, 1.0)] * k,
        constraints=({"type": "eq", "fun": lambda w: float(w.sum() - 1.0)},),
        method="SLSQP",
    )
    optimum = np.clip(np.asarray(result.x, dtype=float), 0.0, None) if result.success else inverse
    optimum = optimum / optimum.sum() if optimum.sum() > 0 else inverse
    return np.asarray((optimum + inverse) / 2.0, dtype=float)


def learn(
    kind: str,
    members: Sequence[str],
    logs: np.ndarray,
    target: np.ndarray,
    restaurant_ids: np.ndarray,
) -> Combination:
    """Learns one weighting from complete validation rows.

    Args:
        kind: One of :data:`WEIGHTINGS`.
        members: Member names (the columns of ``logs``).
        logs: log1p forecasts, one column per member, no NaN.
        target: log1p actuals.
        restaurant_ids: The restaurant of each row (for ``per_restaurant``).
    """
    names = tuple(members)
    mse = _mse(logs, target)
    if kind == "min_variance":
        return Combination(kind, names, _min_variance(logs, target))
    if kind == "inverse_error":
        return Combination(kind, names, _inverse(mse))
    if kind == "best":
        return Combination(kind, names, (np.arange(len(names)) == np.argmin(mse)).astype(float))
    if kind == "stacking":
        weights, _ = nnls(logs, target)
        if not np.any(weights > 0):
            return Combination(kind, names, _inverse(mse))
        return Combination(kind, names, np.asarray(weights, dtype=float))
    if kind == "per_restaurant":
        sq = pd.DataFrame((logs - target[:, None]) ** 2, columns=list(names))
        grouped = sq.groupby(restaurant_ids)
        sums, counts = grouped.sum(), grouped.size().to_numpy(dtype=float)[:, None]
        shrunk = (sums.to_numpy() + SHRINK_ROWS * mse) / (counts + SHRINK_ROWS)
        table = pd.DataFrame(_inverse(shrunk), index=sums.index, columns=list(names))
        return Combination(kind, names, _inverse(mse), table)
    raise ValueError(f"unknown weighting {kind!r}; use one of {', '.join(WEIGHTINGS)}")


def _rmsle_of(
    combination: Combination, logs: np.ndarray, target: np.ndarray, restaurant_ids: np.ndarray
) -> float:
    pred = np.maximum(combination.combine(logs, restaurant_ids), 0.0)
    return float(np.sqrt(np.mean((pred - target) ** 2)))


@dataclass(frozen=True)
class _Validation:
    """Complete validation rows as matrices."""

    keys: pd.DataFrame
    logs: np.ndarray
    target: np.ndarray
    step: np.ndarray
    block: np.ndarray  # the validation origin of each row (1: the latest)

    @property
    def rids(self) -> np.ndarray:
        return self.keys[c.RESTAURANT_ID].to_numpy()

    def part(self, mask: np.ndarray) -> _Validation:
        return _Validation(
            self.keys[mask].reset_index(drop=True),
            self.logs[mask],
            self.target[mask],
            self.step[mask],
            self.block[mask],
        )

    def clusters(self) -> np.ndarray:
        """Groups of rows whose errors move together: restaurant, origin and week of the window."""
        week = (self.step - 1) // 7
        return np.array(
            [f"{r}|{b}|{w}" for r, b, w in zip(self.rids, self.block, week, strict=True)]
        )

    def learn(self, kind: str, members: Sequence[str]) -> Combination:
        return learn(kind, members, self.logs, self.target, self.rids)

    def rmsle(self, combination: Combination) -> float:
        return _rmsle_of(combination, self.logs, self.target, self.rids)


def _late_mask(step: np.ndarray) -> np.ndarray:
    """Rows in the last third of the validation window (by step)."""
    last = int(step.max())
    return np.asarray(step > last - max(1, round(last * _HELD_OUT_SHARE)), dtype=bool)


def _folds(val: _Validation) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rolling-origin folds ``(learn mask, score mask)`` over the validation rows, oldest first.

    With several validation origins, each origin's window is scored by weights learned on the
    older windows; with one, the window's last third is scored by weights learned on the first
    two thirds. Folds with fewer than :data:`MIN_ROWS` rows on either side are dropped.
    """
    if len(val.step) == 0:
        return []
    blocks = sorted(set(val.block.tolist()), reverse=True)  # the oldest origin first
    if len(blocks) >= 2:
        folds = [(val.block > b, val.block == b) for b in blocks[1:]]
    else:
        late = _late_mask(val.step)
        folds = [(~late, late)]
    return [(a, b) for a, b in folds if a.sum() >= MIN_ROWS and b.sum() >= MIN_ROWS]


def _clustered_se(diff: np.ndarray, clusters: np.ndarray) -> float:
    """Standard error of ``mean(diff)`` with rows correlated within clusters."""
    sums = pd.Series(diff).groupby(clusters).agg(["sum", "size"])
    groups = len(sums)
    if groups < 2:
        return float("inf")
    mean = float(diff.mean())
    dev = sums["sum"].to_numpy() - sums["size"].to_numpy() * mean
    return float(np.sqrt(groups / (groups - 1) * np.sum(dev**2)) / len(diff))


def _select(
    val: _Validation,
    members: Sequence[str],
    weighting: str,
) -> tuple[str, dict[str, float], str]:
    """The weighting to use, each candidate's rolling-origin RMSLE and the reason for the choice.

    ``auto`` keeps :data:`HEDGE` (inverse-error weights: the members' mix shrunk towards equal
    weights, never far from the better member when one is much better) unless another candidate
    (stacking, per-restaurant weights, the best single member alone) has a lower rolling-origin
    RMSLE by more than :data:`NOISE_Z` clustered standard errors of the per-row loss difference.
    So a short or noisy validation window (one restaurant, a short history) never buys an
    aggressive choice on luck, and a member that is worse beyond noise is dropped (``best``).
    """
    folds = _folds(val)
    if not folds:
        chosen = "inverse_error" if weighting == "auto" else weighting
        return chosen, {}, "too few validation rows to score the weightings"
    kinds = WEIGHTINGS if weighting == "auto" else (weighting,)
    losses: dict[str, list[np.ndarray]] = {kind: [] for kind in kinds}
    clusters = []
    for learn_mask, score_mask in folds:
        learn_on, scored = val.part(learn_mask), val.part(score_mask)
        for kind in kinds:
            combined = learn_on.learn(kind, members).combine(scored.logs, scored.rids)
            losses[kind].append((np.maximum(combined, 0.0) - scored.target) ** 2)
        clusters.append(scored.clusters())
    loss = {kind: np.concatenate(parts) for kind, parts in losses.items()}
    scores = {kind: float(np.sqrt(np.mean(v))) for kind, v in loss.items()}
    if weighting != "auto":
        return weighting, scores, ""
    chosen = min(scores, key=lambda k: scores[k])
    if chosen == HEDGE:
        return chosen, scores, f"{HEDGE} has the lowest rolling-origin error"
    diff = loss[chosen] - loss[HEDGE]
    se = _clustered_se(diff, np.concatenate(clusters))
    margin = f"(loss difference {diff.mean():.5f} +- {se:.5f})"
    if float(diff.mean()) + NOISE_Z * se >= 0.0:
        return HEDGE, scores, f"{chosen} was not better than {HEDGE} beyond noise {margin}"
    return chosen, scores, f"{chosen} beat {HEDGE} beyond noise {margin}"


def _cross_fitted(
    val: _Validation, members: Sequence[str], kind: str, final: Combination
) -> np.ndarray:
    """Out-of-fold combined log forecasts of the validation rows (in-sample when too few).

    With several origins, each origin's rows are predicted by weights learned on the others;
    with one, weights learned on the early part predict the late part and vice versa.
    """
    blocks = sorted(set(val.block.tolist()))
    if len(blocks) >= 2:
        parts = [val.block == b for b in blocks]
    else:
        if len(val.step) == 0:
            return final.combine(val.logs, val.rids)
        late = _late_mask(val.step)
        parts = [late, ~late]
    out = final.combine(val.logs, val.rids)
    for part in parts:
        if (~part).sum() < MIN_ROWS or part.sum() == 0:
            continue
        rest, this = val.part(~part), val.part(part)
        out[part] = rest.learn(kind, members).combine(this.logs, this.rids)
    return out


def _scores_by_restaurant(rows: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Each restaurant's RMSLE, WAPE and row count over the ensemble's validation forecasts."""
    if rows.empty:
        return {}
    return {
        str(rid): {
            "rmsle": rmsle(group[c.Y], group[c.YHAT]),
            "wape": wape(group[c.Y], group[c.YHAT]),
            "n": float(len(group)),
        }
        for rid, group in rows.groupby(c.RESTAURANT_ID, sort=True)
    }


# --- the estimator ------------------------------------------------------------------------------


class EnsembleForecaster(Forecaster):
    """Members combined with validation-learned weights, with per-row fallbacks.

    Args:
        members: Registry names of the members.
        weighting: ``"auto"`` or one of :data:`WEIGHTINGS`.
        validation_horizon: ``H`` in periods; default 28 days' worth.
        validation_origins: Back-to-back validation windows of ``H`` periods, the latest ending
            at the cutoff (each forecast by members fitted at its own origin). ``None``:
            :func:`models.intervals.default_origins` (3 for a few restaurants, where fits are
            cheap and one window is too short to learn from; else 1). Windows without
            at least ``H`` periods of history before them are dropped.
        levels: Interval levels in percent.
        n_jobs: Passed to members that take ``n_jobs``.
        member_params: Settings per member name, e.g. ``{"xgboost": {"n_estimators": 50}}``.
        random_state: Passed to members that take ``random_state``.
    """

    name = "ensemble"
    scope = "global"

    def __init__(
        self,
        members: Sequence[str] = ("prophet", "xgboost"),
        *,
        weighting: Weighting = "auto",
        validation_horizon: int | None = None,
        validation_origins: int | None = None,
        levels: Sequence[int] = (80, 95),
        n_jobs: int = 1,
        member_params: Mapping[str, Mapping[str, object]] | None = None,
        random_state: int = 0,
    ) -> None:
        """Stores the settings."""
        self.members = members
        self.weighting = weighting
        self.validation_horizon = validation_horizon
        self.validation_origins = validation_origins
        self.levels = levels
        self.n_jobs = n_jobs
        self.member_params = member_params
        self.random_state = random_state

    # fitting ---------------------------------------------------------------------------------

    def _check_settings(self) -> None:
        if not self.members:
            raise ValueError("ensemble: members is empty")
        if len(set(self.members)) != len(self.members):
            raise ValueError(f"ensemble: duplicate members {list(self.members)}")
        if self.name in self.members:
            raise ValueError("ensemble: an ensemble cannot be its own member")
        valid = available()
        unknown = [m for m in self.members if m not in valid]
        if unknown:
            raise ValueError(
                f"ensemble: unknown member(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
            )
        if self.validation_origins is not None and self.validation_origins < 1:
            raise ValueError(f"validation_origins must be >= 1, got {self.validation_origins}")
        if self.weighting != "auto" and self.weighting not in WEIGHTINGS:
            raise ValueError(
                f"unknown weighting {self.weighting!r}; use auto, {', '.join(WEIGHTINGS)}"
            )

    def _new_member(self, name: str) -> Forecaster:
        params: dict[str, object] = dict((self.member_params or {}).get(name, {}))
        model = make(name, **params)
        settable = model.get_params(deep=False)
        extra = {"n_jobs": self.n_jobs, "random_state": self.random_state}
        model.set_params(**{k: v for k, v in extra.items() if k in settable and k not in params})
        return model

    def _fit_all(
        self,
        names: Sequence[str],
        series: SeriesFrame,
        calendar: Calendar,
        stage: str,
        earlier: Mapping[str, Forecaster] | None = None,
    ) -> dict[str, Forecaster]:
        """Fits each member; one fitted in ``earlier`` (on an earlier cut) is passed to its
        refit, to continue from where it can (``Forecaster.fit``'s ``earlier``)."""
        fitted: dict[str, Forecaster] = {}
        total = len(series.restaurants)
        for name in names:
            try:
                with progress.scope(f"{stage} fit"):
                    progress.report(name, 0, total)
                    model = self._new_member(name)
                    fitted[name] = model.fit(series, calendar, earlier=(earlier or {}).get(name))
                    progress.report(name, total, total)
            except Exception as exc:
                self.member_errors_[name] = f"{stage} fit: {type(exc).__name__}: {exc}"
                log.warning("ensemble member %s failed to fit (%s): %s", name, stage, exc)
        return fitted

    def _validation_frame(
        self,
        fitted: Mapping[str, Forecaster],
        valid: SeriesFrame,
        origin: pd.Timestamp,
        block: int,
    ) -> pd.DataFrame:
        """Long validation forecasts of every fitted model, with ``y``, ``step`` and ``origin``."""
        keys = valid.data[_KEYS]
        parts = []
        for name, model in fitted.items():
            try:
                parts.append(model.predict(keys).data[[*_KEYS, c.MODEL, c.YHAT]])
            except Exception as exc:
                self.member_errors_[name] = f"validation predict: {type(exc).__name__}: {exc}"
        if not parts:
            return pd.DataFrame(columns=[*_KEYS, c.MODEL, c.YHAT, c.Y, STEP, ORIGIN])
        long = pd.concat(parts, ignore_index=True).merge(valid.data, on=_KEYS, how="inner")
        long[STEP] = steps(long[c.DS], origin, valid.freq)
        long[ORIGIN] = block
        return long

    def _origins(self, series: SeriesFrame) -> list[tuple[SeriesFrame, SeriesFrame, pd.Timestamp]]:
        """``(train, valid, origin)`` of each validation window, the latest first."""
        if self.validation_origins is not None:
            wanted = self.validation_origins
        else:
            wanted = default_origins(series, self.horizon_)
        return validation_windows(series, self.horizon_, wanted)

    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        self._check_settings()
        self.member_errors_: dict[str, str] = {}
        self.horizon_ = effective_horizon(series, self.validation_horizon)
        names = list(dict.fromkeys([*self.members, FALLBACK]))
        frames = []
        windows = self._origins(series)
        latest: dict[str, Forecaster] = {}  # the fits of the window nearest the cutoff
        for block, (train, valid, origin) in enumerate(windows, start=1):
            stage = "validation" if block == 1 else f"validation {block}"
            early = self._fit_all(names, train, calendar, stage)
            latest = latest or early
            frames.append(self._validation_frame(early, valid, origin, block))
        self.validation_origins_ = len(windows)
        self.validation_ = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=[*_KEYS, c.MODEL, c.YHAT, c.Y, STEP, ORIGIN])
        )
        final = self._fit_all(names, series, calendar, "final", earlier=latest)
        if FALLBACK not in final:
            raise FrameError(f"ensemble: the {FALLBACK} fallback could not be fitted")
        self.fallback_ = final[FALLBACK]
        self.members_ = {m: final[m] for m in self.members if m in final}
        self.member_scores_ = self._member_scores()
        self.member_rank_ = sorted(
            self.members_, key=lambda m: self.member_scores_.get(m, float("inf"))
        )
        self._learn_combination()

    def _member_scores(self) -> dict[str, float]:
        """Each model's validation RMSLE over its own validation rows."""
        val = self.validation_
        if val.empty:
            return {}
        err = (
            np.log1p(val[c.YHAT].to_numpy(dtype=float)) - np.log1p(val[c.Y].to_numpy(dtype=float))
        ) ** 2
        return {
            str(k): float(np.sqrt(v))
            for k, v in pd.Series(err).groupby(val[c.MODEL].to_numpy()).mean().items()
        }

    def _complete_rows(self, members: Sequence[str]) -> _Validation:
        """Validation rows where every one of ``members`` has a forecast."""
        val = self.validation_[self.validation_[c.MODEL].isin(members)]
        wide = val.pivot(index=_KEYS, columns=c.MODEL, values=c.YHAT)
        wide = wide.reindex(columns=list(members)).dropna()
        truth = val.drop_duplicates(_KEYS).set_index(_KEYS)[[c.Y, STEP, ORIGIN]]
        truth = truth.reindex(wide.index)
        return _Validation(
            keys=wide.index.to_frame(index=False),
            logs=np.log1p(np.maximum(wide.to_numpy(dtype=float), 0.0)),
            target=np.log1p(truth[c.Y].to_numpy(dtype=float)),
            step=truth[STEP].to_numpy(dtype=np.int64),
            block=truth[ORIGIN].to_numpy(dtype=np.int64),
        )

    def _learn_combination(self) -> None:
        usable = [m for m in self.members if m in self.members_ and m in self.member_scores_]
        self.combination_: Combination | None = None
        self.weighting_: str | None = None
        scores: dict[str, float] = {}
        reason = ""
        ens_rows = pd.DataFrame()
        val = self._complete_rows(usable) if usable else None
        if val is None or len(val.target) < MIN_ROWS:
            equal = usable or list(self.members_)
            reason = "too few validation forecasts: equal weights"
            if equal:
                self.weighting_ = "equal"
                self.combination_ = Combination(
                    "equal", tuple(equal), np.full(len(equal), 1.0 / len(equal))
                )
            else:
                reason = "no member fitted: seasonal naive serves every row"
        else:
            self.weighting_, scores, reason = _select(val, usable, self.weighting)
            self.combination_ = val.learn(self.weighting_, usable)
            oof = _cross_fitted(val, usable, self.weighting_, self.combination_)
            ens_rows = val.keys.assign(
                **{
                    c.MODEL: self.name,
                    c.YHAT: np.expm1(np.maximum(oof, 0.0)),
                    c.Y: np.expm1(val.target),
                    STEP: val.step,
                    ORIGIN: val.block,
                }
            )
        self.validation_scores_: dict[str, dict[str, float]] = _scores_by_restaurant(ens_rows)
        self.weights_: dict[str, float] = (
            {}
            if self.combination_ is None
            else dict(
                zip(self.combination_.members, self.combination_.weights.tolist(), strict=True)
            )
        )
        self.weights_report_: dict[str, object] = {
            "chosen": self.weighting_,
            "space": "log1p",
            "heldout_rmsle": scores,
            "weights": self.weights_,
            "member_rmsle": dict(self.member_scores_),
            "member_errors": dict(self.member_errors_),
            "validation_rows": 0 if val is None else len(val.target),
            "validation_origins": self.validation_origins_,
            "reason": reason,
        }
        table_rows = pd.concat([self.validation_, ens_rows], ignore_index=True)
        self.residual_table_ = conformal_table(residuals(table_rows), self.levels, MIN_COUNT)

    # predicting ------------------------------------------------------------------------------

    def _forecasts(self, keys: pd.DataFrame) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        for name, model in {**self.members_, FALLBACK: self.fallback_}.items():
            try:
                out[name] = model.predict(keys).data[[*_KEYS, c.MODEL, c.YHAT]]
            except Exception as exc:
                log.warning("ensemble member %s failed to predict: %s", name, exc)
        return out

    def _ensemble_rows(
        self,
        keys: pd.DataFrame,
        forecasts: Mapping[str, pd.DataFrame],
    ) -> pd.DataFrame:
        """The ensemble's rows with ``served_by`` after the fallback chain."""
        wide = keys.copy()
        for name, frame in forecasts.items():
            wide = wide.merge(
                frame[[*_KEYS, c.YHAT]].rename(columns={c.YHAT: name}), on=_KEYS, how="left"
            )
        yhat = np.full(len(wide), np.nan)
        served = np.full(len(wide), "", dtype=object)
        if self.combination_ is not None:
            cols = [
                wide[m].to_numpy(dtype=float) if m in wide else np.full(len(wide), np.nan)
                for m in self.combination_.members
            ]
            logs = np.log1p(np.maximum(np.column_stack(cols), 0.0))
            combined = self.combination_.combine(logs, wide[c.RESTAURANT_ID].to_numpy())
            yhat = np.expm1(np.maximum(combined, 0.0))
            served[np.isfinite(yhat)] = self.name
            if len(self.combination_.members) == 1:  # the other members failed: a fallback
                served[np.isfinite(yhat)] = self.combination_.members[0]
        for name in [*self.member_rank_, FALLBACK]:
            if name not in wide:
                continue
            fill = ~np.isfinite(yhat) & np.isfinite(wide[name].to_numpy(dtype=float))
            yhat[fill] = wide[name].to_numpy(dtype=float)[fill]
            served[fill] = name
        rows = wide[_KEYS].copy()
        rows[c.MODEL] = self.name
        rows[c.YHAT] = yhat
        rows[SERVED_BY] = served
        return rows[np.isfinite(yhat)]

    def _keys(self, future: pd.DataFrame) -> pd.DataFrame:
        check_fitted(self, "members_", self.name)
        missing = {c.RESTAURANT_ID, c.DS} - set(future.columns)
        if missing:
            raise FrameError(f"future: missing column(s) {', '.join(sorted(missing))}")
        keys = future[_KEYS].copy()
        keys[c.DS] = pd.to_datetime(keys[c.DS])
        keys = keys[keys[c.RESTAURANT_ID].isin(set(self.restaurants_))]
        return keys.drop_duplicates().reset_index(drop=True)

    def predict_all(self, future: pd.DataFrame) -> ForecastFrame:
        """The ensemble's rows and every member's (and the fallback's) rows, with intervals.

        The ``model`` column distinguishes them; ``served_by`` says which model produced each
        ensemble row (members' rows are served by themselves); ``step`` counts periods since the
        cutoff.
        """
        keys = self._keys(future)
        forecasts = self._forecasts(keys)
        member_rows = [f.assign(**{SERVED_BY: name}) for name, f in forecasts.items()]
        frame = pd.concat([*member_rows, self._ensemble_rows(keys, forecasts)], ignore_index=True)
        frame[c.YHAT] = np.clip(frame[c.YHAT].to_numpy(dtype=float), 0.0, None)
        frame[STEP] = steps(frame[c.DS], self.cutoff_, self.freq_)
        point = ForecastFrame.from_frame(frame)
        if self.residual_table_.empty:
            return point
        return apply_intervals(point, self.residual_table_, self.levels)

    def predict(self, future: pd.DataFrame) -> ForecastFrame:
        """The ensemble's forecast (one row per requested key of a fitted restaurant)."""
        frame = self.predict_all(future).data
        return ForecastFrame.from_frame(frame[frame[c.MODEL] == self.name])

    def _predict(self, future: pd.DataFrame) -> np.ndarray:
        rows = self.predict(future).data
        merged = future[_KEYS].merge(rows[[*_KEYS, c.YHAT]], on=_KEYS, how="left")
        return merged[c.YHAT].to_numpy(dtype=float)
