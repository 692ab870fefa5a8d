"""The forecaster registry: names to classes, imported lazily.

Each built-in entry maps a model name (the ``model`` column value) to ``"module:Class"``; the
module is imported only when :func:`make` builds that model, so heavy libraries (prophet, xgboost)
load only when used. Tests may add entries (e.g. ``monkeypatch.setitem(FORECASTERS, ...)``).

Installed packages add forecasters through the entry-point group :data:`ENTRY_POINT_GROUP`
(``flux.forecasters``): the entry point's name is the model name, its value ``module:Class``.
In a plug-in's ``pyproject.toml``::

    [project.entry-points."flux.forecasters"]
    drift_mean = "flux_example_forecaster:DriftMean"

Entry points are read each time the registry is asked, so uninstalling a plug-in (or removing its
registration) drops it with no other change. A plug-in may not take a built-in's name (it is
ignored). :func:`models.contract.check_forecaster` checks a plug-in keeps Flux's contract.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # models.base loads pandas and scikit-learn: only when a class is built
    from models.base import Forecaster

__all__ = [
    "ENTRY_POINT_GROUP",
    "FORECASTERS",
    "available",
    "builtins",
    "forecaster_class",
    "make",
    "plugins",
]

ENTRY_POINT_GROUP = "flux.forecasters"
log = logging.getLogger(__name__)

FORECASTERS: dict[str, str] = {
    "seasonal_naive": "models.baselines:SeasonalNaive",
    "weekday_median": "models.baselines:WeekdayMedian",
    "prophet": "models.prophet_model:ProphetForecaster",
    "xgboost": "models.xgb_model:XGBoostForecaster",
    "ensemble": "models.ensemble:EnsembleForecaster",
}


def builtins() -> list[str]:
    """The names Flux ships, sorted."""
    return sorted(FORECASTERS)


def plugins() -> dict[str, str]:
    """Installed plug-ins: model name -> ``module:Class`` (the ``flux.forecasters`` group)."""
    out: dict[str, str] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in FORECASTERS:
            log.warning(
                "plug-in forecaster %s (%s) ignored: a built-in has that name", ep.name, ep.value
            )
            continue
        out.setdefault(ep.name, ep.value)
    return out


def available() -> list[str]:
    """Every model name: built-ins and installed plug-ins, sorted."""
    return sorted({*FORECASTERS, *plugins()})


def forecaster_class(name: str) -> type[Forecaster]:
    """The class registered under ``name`` (imports its module).

    Raises:
        ValueError: ``name`` is not registered.
        ImportError: the module cannot be imported (e.g. an optional library is missing).
        TypeError: the registered object is not a :class:`Forecaster` subclass.
    """
    target = FORECASTERS.get(name) or plugins().get(name)
    if target is None:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(available())}")
    module_name, _, class_name = target.partition(":")
    from models.base import Forecaster

    cls = importlib.import_module(module_name)
    for part in class_name.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and issubclass(cls, Forecaster)):
        raise TypeError(f"{target} is not a Forecaster subclass")
    return cls


def make(name: str, **params: object) -> Forecaster:
    """A new, unfitted forecaster ``name`` with ``params`` as its settings.

    Raises:
        ValueError: ``name`` is not registered.
    """
    return forecaster_class(name)(**params)
