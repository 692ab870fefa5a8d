"""An example Flux forecaster plug-in: each restaurant's mean per weekday over its last ``weeks``
weeks, scaled by the drift between the last two windows (``drift`` in 0..1 damps it).

It follows Flux's contract (:mod:`models.base`): ``__init__`` only stores settings, ``fit``
learns attributes ending in ``_``, and the fitted model is one portable JSON file it names
itself (``drift_mean.json``), loaded back by :meth:`DriftMean.from_files`. Check it with
``flux models check drift_mean`` or :func:`models.contract.check_forecaster`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd

from models import columns as c
from models.base import Calendar, Forecaster
from models.frames import SeriesFrame

__all__ = ["DriftMean"]


class DriftMean(Forecaster):
    """Weekday means of the last ``weeks`` weeks, times a damped drift.

    Args:
        weeks: Weeks in each window.
        drift: How much of the change between the last two windows to carry on (0: none).
    """

    name: ClassVar[str] = "drift_mean"
    scope: ClassVar[Literal["local", "global"]] = "local"
    FILE: ClassVar[str] = "drift_mean.json"

    def __init__(self, weeks: int = 4, drift: float = 0.5) -> None:
        self.weeks = weeks
        self.drift = drift

    def _fit(self, series: SeriesFrame, calendar: Calendar) -> None:
        if self.weeks < 1 or not 0.0 <= self.drift <= 1.0:
            raise ValueError("drift_mean: weeks must be >= 1 and drift within 0..1")
        data = series.data
        last = data.groupby(c.RESTAURANT_ID)[c.DS].transform("max")
        window = pd.Timedelta(weeks=self.weeks)
        recent = data[data[c.DS] > last - window]
        before = data[(data[c.DS] <= last - window) & (data[c.DS] > last - 2 * window)]
        means = recent.groupby([c.RESTAURANT_ID, recent[c.DS].dt.day_of_week])[c.Y].mean()
        level_now = recent.groupby(c.RESTAURANT_ID)[c.Y].mean()
        level_before = before.groupby(c.RESTAURANT_ID)[c.Y].mean()
        ratio = (level_now / level_before).replace([np.inf, -np.inf], np.nan).fillna(1.0)
        self.weekday_means_: dict[str, dict[str, float]] = {
            str(rid): {str(int(dow)): float(v) for (r, dow), v in means.items() if r == rid}
            for rid in level_now.index
        }
        self.factor_: dict[str, float] = {
            str(rid): float(1.0 + self.drift * (ratio.get(rid, 1.0) - 1.0))
            for rid in level_now.index
        }
        self.level_: dict[str, float] = {str(k): float(v) for k, v in level_now.items()}

    def _predict(self, future: pd.DataFrame) -> np.ndarray:
        out = np.empty(len(future))
        for i, (rid, ds) in enumerate(zip(future[c.RESTAURANT_ID], future[c.DS], strict=True)):
            means = self.weekday_means_.get(str(rid), {})
            base = means.get(str(pd.Timestamp(ds).day_of_week), self.level_.get(str(rid), np.nan))
            out[i] = base * self.factor_.get(str(rid), 1.0)
        return out

    def to_files(self) -> dict[str, bytes]:
        """The fitted means and factors as one JSON file."""
        super().to_files()  # NotFittedError before fit
        state = {"weekday_means": self.weekday_means_, "factor": self.factor_, "level": self.level_}
        return {self.FILE: json.dumps(state, sort_keys=True).encode()}

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
        """The model from ``drift_mean.json``, forecasting from the end of ``history``."""
        model = cls(**params)
        saved = json.loads(files[cls.FILE])
        model.weekday_means_ = saved["weekday_means"]
        model.factor_ = saved["factor"]
        model.level_ = saved["level"]
        model.freq_ = history.freq
        model.cutoff_ = pd.Timestamp(history.data[c.DS].max())
        model.restaurants_ = sorted(saved["level"])
        model.failed_ = {}
        return model
