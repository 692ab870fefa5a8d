"""The forecaster contract as a public check, the way scikit-learn offers ``check_estimator``.

:func:`check_forecaster` runs every check of :data:`CHECKS` on a registered forecaster (built-in
or plug-in) and returns what each found; Flux's own tests run it over every built-in, and
``flux models check NAME`` runs it from the command line. A plug-in that passes can be
backtested, be an ensemble member, be trained into an artefact and be loaded again for predict.

The checks (see :mod:`models.base` for the contract itself):

- ``init_stores_settings``: ``__init__`` stores its arguments and nothing else;
- ``clone``: ``get_params``/``set_params``/``sklearn.base.clone`` round-trip;
- ``name``: the class's ``name`` (the ``model`` column of its forecasts) is its registry name;
- ``not_fitted``: ``predict`` before ``fit`` raises ``NotFittedError``;
- ``fit_returns_self``: ``fit`` returns the model;
- ``learned_state``: what ``fit`` learns ends in ``_``; ``cutoff_`` is the last date;
- ``forecasts``: one finite, non-negative row per fitted restaurant's key, none for a restaurant
  it never saw;
- ``deterministic``: two fits with the same settings forecast the same;
- ``files``: ``to_files`` gives relative paths and bytes, ``files_state`` is JSON, and
  ``from_files`` loads a model that forecasts what the fitted one did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from models import columns as c
from models import registry
from models.base import Calendar, Forecaster, NotFittedError
from models.frames import ForecastFrame, SeriesFrame

__all__ = ["CHECKS", "CheckResult", "ContractError", "check_forecaster", "contract_series"]


class ContractError(AssertionError):
    """A forecaster broke the contract; the message lists each failed check."""


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: its name, whether it passed, and what was wrong."""

    check: str
    passed: bool
    message: str = ""


def contract_series(n_restaurants: int = 3, days: int = 120, seed: int = 1) -> SeriesFrame:
    """Easy daily demand (weekly pattern, noise, a few closed days) to check a model on."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2024-01-01", periods=days, freq="D")
    weekly = np.array([0.8, 0.9, 1.0, 1.1, 1.4, 1.6, 1.2])[ds.day_of_week.to_numpy()]
    parts = []
    for i in range(n_restaurants):
        y = np.round(rng.uniform(20, 80) * weekly * rng.lognormal(0.0, 0.15, days))
        frame = pd.DataFrame({c.RESTAURANT_ID: f"r{i}", c.DS: ds, c.Y: y})
        parts.append(frame[rng.uniform(size=days) >= 0.03])
    return SeriesFrame.from_frame(pd.concat(parts, ignore_index=True))


def _future(series: SeriesFrame, days: int = 14) -> pd.DataFrame:
    start = pd.Timestamp(series.data[c.DS].max()) + pd.Timedelta(days=1)
    ds = pd.date_range(start, periods=days, freq="D")
    ids = series.restaurants
    return pd.DataFrame({c.RESTAURANT_ID: np.repeat(ids, days), c.DS: np.tile(ds, len(ids))})


class _Case:
    """What the checks share: how to build the model, the data, one fitted model."""

    def __init__(self, name: str, params: Mapping[str, Any]) -> None:
        self.name = name
        self.params = dict(params)
        self.series = contract_series()
        self.calendar = Calendar()
        self.future = _future(self.series)
        self._fitted: Forecaster | None = None

    def build(self) -> Forecaster:
        return registry.make(self.name, **self.params)

    def fitted(self) -> Forecaster:
        if self._fitted is None:
            self._fitted = self.build().fit(self.series, self.calendar)
        return self._fitted


def _init_stores_settings(case: _Case) -> None:
    model = case.build()
    extra = set(vars(model)) - set(model.get_params(deep=False))
    assert not extra, f"__init__ stores more than its settings: {', '.join(sorted(extra))}"
    learned = [a for a in vars(model) if a.endswith("_")]
    assert not learned, f"__init__ sets learned state: {', '.join(learned)}"


def _clone(case: _Case) -> None:
    from sklearn.base import clone

    model = case.build()
    params = model.get_params(deep=False)
    twin = clone(model)
    assert twin is not model, "clone returned the same object"
    assert twin.get_params(deep=False) == params, "clone changed the settings"
    assert model.set_params(**params) is model, "set_params must return the model"


def _name(case: _Case) -> None:
    name = type(case.build()).name
    assert name == case.name, (
        f"the class's name is {name!r} but it is registered as {case.name!r}: its forecasts "
        "would be filed under another model (set the class attribute `name`)"
    )


def _not_fitted(case: _Case) -> None:
    try:
        case.build().predict(case.future)
    except NotFittedError:
        return
    raise AssertionError("predict before fit must raise NotFittedError")


def _fit_returns_self(case: _Case) -> None:
    model = case.build()
    assert model.fit(case.series, case.calendar) is model, "fit must return self"


def _learned_state(case: _Case) -> None:
    model = case.fitted()
    learned = set(vars(model)) - set(model.get_params(deep=False))
    assert learned, "fit stored no learned state"
    odd = sorted(a for a in learned if not a.endswith("_"))
    assert not odd, f"learned attributes must end in _: {', '.join(odd)}"
    assert model.cutoff_ == case.series.data[c.DS].max(), "cutoff_ is not the last date"


def _forecasts(case: _Case) -> None:
    model = case.fitted()
    unseen = case.future.iloc[:14].assign(**{c.RESTAURANT_ID: "never-seen"})
    out = model.predict(pd.concat([case.future, unseen], ignore_index=True))
    assert isinstance(out, ForecastFrame), "predict must return a ForecastFrame"
    fitted = set(case.series.restaurants) - set(model.failed_)
    assert fitted, "the model fitted no restaurant on easy data"
    expected = case.future[case.future[c.RESTAURANT_ID].isin(fitted)]
    got = out.data
    keys = set(zip(got[c.RESTAURANT_ID], got[c.DS], strict=True))
    want = set(zip(expected[c.RESTAURANT_ID], expected[c.DS], strict=True))
    assert len(got) == len(expected) and keys == want, (
        f"expected one row per fitted restaurant's key ({len(expected)}), got {len(got)}"
    )
    yhat = got[c.YHAT].to_numpy(dtype=float)
    assert np.isfinite(yhat).all() and (yhat >= 0).all(), "forecasts must be finite and >= 0"


def _deterministic(case: _Case) -> None:
    first = case.build().fit(case.series, case.calendar).predict(case.future).data
    second = case.build().fit(case.series, case.calendar).predict(case.future).data
    pd.testing.assert_frame_equal(first, second, obj="two fits' forecasts")


def _files(case: _Case) -> None:
    model = case.fitted()
    files = model.to_files()
    assert isinstance(files, dict), "to_files must return {relative path: bytes}"
    for path, data in files.items():
        pure = PurePosixPath(path)
        assert isinstance(path, str) and path and not pure.is_absolute(), f"bad path {path!r}"
        assert ".." not in pure.parts, f"file path {path!r} leaves the artefact"
        assert isinstance(data, bytes), f"{path}: file contents must be bytes"
    state = model.files_state()
    json.dumps(state)  # raises TypeError when not JSON
    params = json.loads(json.dumps(model.get_params(deep=False), default=list))
    loaded = type(model).from_files(
        files, params=params, state=state, history=case.series, calendar=case.calendar
    )
    before = model.predict(case.future).data
    after = loaded.predict(case.future).data
    pd.testing.assert_frame_equal(before, after, obj="forecasts after from_files(to_files())")


CHECKS: dict[str, Callable[[_Case], None]] = {
    "init_stores_settings": _init_stores_settings,
    "clone": _clone,
    "name": _name,
    "not_fitted": _not_fitted,
    "fit_returns_self": _fit_returns_self,
    "learned_state": _learned_state,
    "forecasts": _forecasts,
    "deterministic": _deterministic,
    "files": _files,
}


def check_forecaster(
    name: str, params: Mapping[str, Any] | None = None, *, raise_on_failure: bool = True
) -> list[CheckResult]:
    """Runs every contract check on the registered forecaster ``name``.

    Args:
        name: A registry name (built-in or plug-in).
        params: Settings to build it with (e.g. fewer trees, to check fast).
        raise_on_failure: Raise :class:`ContractError` listing the failures (else only return).

    Raises:
        ValueError: ``name`` is not registered.
        ContractError: a check failed (with ``raise_on_failure``).
    """
    registry.forecaster_class(name)  # unknown name: ValueError before any check
    case = _Case(name, params or {})
    results = []
    for check, run in CHECKS.items():
        try:
            run(case)
        except Exception as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            results.append(CheckResult(check, False, f"{type(exc).__name__}: {message}"))
        else:
            results.append(CheckResult(check, True))
    failed = [r for r in results if not r.passed]
    if failed and raise_on_failure:
        raise ContractError(
            f"{name} breaks the forecaster contract: "
            + "; ".join(f"{r.check}: {r.message}" for r in failed)
        )
    return results
