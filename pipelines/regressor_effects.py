"""Each regressor's effect in a backtest: the same folds again without it, pure (no I/O).

For every regressor of the spec, the models that use regressors (those with a ``regressors``
setting, and the ensemble when a member has one) are backtested on the same cutoffs with that
regressor left out, and scored on the same rows as the full run. ``delta`` is the RMSLE without
the regressor minus the RMSLE with it: positive when the regressor helps, by that much.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from models import columns as c
from models import metrics
from models.base import Calendar
from models.frames import SeriesFrame
from models.spec import ENSEMBLE, model_settings
from pipelines import evaluation
from pipelines.progress import Progress

__all__ = ["EFFECT_COLUMNS", "regressor_effects", "regressor_users"]

EFFECT_COLUMNS = ("regressor", c.MODEL, "rmsle_with", "rmsle_without", "delta", "rows")
_KEY = [c.RESTAURANT_ID, c.CUTOFF, c.DS, c.MODEL]


def regressor_users(spec: evaluation.BacktestSpec) -> tuple[str, ...]:
    """The compared models that use the spec's regressors."""

    def uses(name: str) -> bool:
        if name == ENSEMBLE:
            return any(uses(m) for m in spec.model.members)
        return "regressors" in model_settings(name)

    return tuple(m for m in spec.models if uses(m))


def regressor_effects(
    series: SeriesFrame,
    calendar: Calendar,
    spec: evaluation.BacktestSpec,
    frame: pd.DataFrame,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """One row per (regressor, model): RMSLE with every regressor (``frame``, the full run's
    backtest frame) and with this one left out, on the rows both runs forecast.

    Args:
        series: The series the full run backtested.
        calendar: Its calendar, with the regressors' values.
        spec: The full run's protocol and model spec.
        frame: The full run's backtest frame.
        progress: Told of each extra backtest.

    Returns:
        :data:`EFFECT_COLUMNS`; empty when the spec has no regressors or no model uses them.
    """
    users = regressor_users(spec)
    names = spec.model.regressors
    rows: list[dict[str, object]] = []
    if not users or not names:
        return pd.DataFrame(columns=list(EFFECT_COLUMNS))
    cutoffs = tuple(sorted(pd.Timestamp(x) for x in frame[c.CUTOFF].unique()))
    full = frame[frame[c.MODEL].isin(users)][[*_KEY, c.Y, c.YHAT]]
    for i, name in enumerate(names):
        if progress:
            progress(f"regressor effects: without {name}", i, len(names))
        fewer = spec.model.model_copy(update={"regressors": tuple(r for r in names if r != name)})
        reduced = replace(spec, models=users, model=fewer, cutoffs=cutoffs)
        without = evaluation.run_backtest(series, calendar, reduced)[[*_KEY, c.YHAT]]
        both = full.merge(without, on=_KEY, suffixes=("_with", "_without"))
        for model, part in both.groupby(c.MODEL, sort=True):
            with_ = metrics.rmsle(part[c.Y], part[f"{c.YHAT}_with"])
            without_ = metrics.rmsle(part[c.Y], part[f"{c.YHAT}_without"])
            rows.append(
                {
                    "regressor": name,
                    c.MODEL: str(model),
                    "rmsle_with": with_,
                    "rmsle_without": without_,
                    "delta": without_ - with_,
                    "rows": len(part),
                }
            )
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))
