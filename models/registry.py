"""The forecaster registry: names to classes, imported lazily.

Each entry maps a model name (the ``model`` column value) to ``"module:Class"``; the module is
imported only when :func:`make` builds that model, so heavy libraries (prophet, xgboost) load only
when used. Tests may add entries (e.g. ``monkeypatch.setitem(FORECASTERS, ...)``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # models.base loads pandas and scikit-learn: only when a class is built
    from models.base import Forecaster

__all__ = ["FORECASTERS", "available", "forecaster_class", "make"]

FORECASTERS: dict[str, str] = {
    "seasonal_naive": "models.baselines:SeasonalNaive",
    "weekday_median": "models.baselines:WeekdayMedian",
    "prophet": "models.prophet_model:ProphetForecaster",
    "xgboost": "models.xgb_model:XGBoostForecaster",
    "ensemble": "models.ensemble:EnsembleForecaster",
}


def available() -> list[str]:
    """Registered model names, sorted."""
    return sorted(FORECASTERS)


def forecaster_class(name: str) -> type[Forecaster]:
    """The class registered under ``name`` (imports its module).

    Raises:
        ValueError: ``name`` is not registered.
        ImportError: the module cannot be imported (e.g. an optional library is missing).
        TypeError: the registered object is not a :class:`Forecaster` subclass.
    """
    if name not in FORECASTERS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(available())}")
    module_name, _, class_name = FORECASTERS[name].partition(":")
    from models.base import Forecaster

    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Forecaster)):
        raise TypeError(f"{FORECASTERS[name]} is not a Forecaster subclass")
    return cls


def make(name: str, **params: object) -> Forecaster:
    """A new, unfitted forecaster ``name`` with ``params`` as its settings.

    Raises:
        ValueError: ``name`` is not registered.
    """
    return forecaster_class(name)(**params)
