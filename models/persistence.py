"""A fitted ensemble as portable files, and back.

Files (no pickles): ``ensemble.json`` (settings, combination weights, member ranking, fitted
restaurants), ``residuals.json`` (the conformal residual table), ``prophet/<restaurant>.json``
(Prophet's own JSON), ``xgboost.ubj`` (XGBoost UBJSON). Loading needs the history up to the
forecast origin: the global model's lag features and the seasonal-naive fallback are computed
from it, so one artefact forecasts from any as-of date.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from models.base import Calendar
from models.baselines import SeasonalNaive
from models.ensemble import FALLBACK, Combination, EnsembleForecaster
from models.frames import SeriesFrame
from models.intervals import table_from_records, table_to_records

ENSEMBLE_FILE = "ensemble.json"
RESIDUALS_FILE = "residuals.json"
PROPHET_DIR = "prophet"
XGBOOST_FILE = "xgboost.ubj"
FORMAT_VERSION = 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def dump_ensemble(model: EnsembleForecaster) -> dict[str, bytes]:
    """The fitted ensemble as ``{relative path: bytes}``."""
    files: dict[str, bytes] = {}
    members: dict[str, dict[str, Any]] = {}
    for name, member in model.members_.items():
        if name == "prophet":
            for rid, text in member.to_json_dict().items():
                files[f"{PROPHET_DIR}/{rid}.json"] = text.encode()
            members[name] = {
                "params": _jsonable(member.get_params()),
                "failed": dict(member.failed_),
            }
        elif name == "xgboost":
            files[XGBOOST_FILE] = member.to_ubj()
            members[name] = {"params": _jsonable(member.get_params())}
        else:  # baselines are refitted from the history at load time
            members[name] = {"params": _jsonable(member.get_params()), "refit": True}
    meta = {
        "format_version": FORMAT_VERSION,
        "params": _jsonable(dict(model.get_params().items())),
        "members": members,
        "member_rank": list(model.member_rank_),
        "member_scores": model.member_scores_,
        "combination": None if model.combination_ is None else model.combination_.to_dict(),
        "weighting": model.weighting_,
        "weights_report": _jsonable(model.weights_report_),
        "restaurants": list(model.restaurants_),
        "failed": dict(model.failed_),
        "cutoff": model.cutoff_.isoformat(),
        "freq": model.freq_,
        "horizon": model.horizon_,
    }
    files[ENSEMBLE_FILE] = json.dumps(meta, indent=2, default=str).encode()
    files[RESIDUALS_FILE] = json.dumps(table_to_records(model.residual_table_)).encode()
    return files


def load_ensemble(
    files: Mapping[str, bytes], history: SeriesFrame, calendar: Calendar
) -> EnsembleForecaster:
    """A fitted ensemble from :func:`dump_ensemble`'s files, with its forecast origin moved to
    the end of ``history`` (the as-of date)."""
    from models.features import origin_state
    from models.prophet_model import ProphetForecaster
    from models.xgb_model import XGBoostForecaster

    meta = json.loads(files[ENSEMBLE_FILE])
    if int(meta["format_version"]) > FORMAT_VERSION:
        raise ValueError("the ensemble files are newer than this Flux; upgrade Flux")
    params = dict(meta["params"])
    params["members"] = tuple(params["members"])
    params["levels"] = tuple(params["levels"])
    model = EnsembleForecaster(**params)
    as_of = pd.Timestamp(history.data["ds"].max())
    members: dict[str, Any] = {}
    for name, spec in meta["members"].items():
        if name == "prophet":
            texts = {
                path.removeprefix(f"{PROPHET_DIR}/").removesuffix(".json"): data.decode()
                for path, data in files.items()
                if path.startswith(f"{PROPHET_DIR}/")
            }
            member = ProphetForecaster.from_json_dict(
                texts, failed=spec.get("failed"), cutoff=as_of, **spec["params"]
            )
        elif name == "xgboost":
            member = XGBoostForecaster.from_ubj(files[XGBOOST_FILE])
            member.state_ = origin_state(history, as_of)
            member.cutoff_ = as_of
            member.calendar_ = calendar
        else:
            from models import registry

            member = registry.make(name, **spec["params"]).fit(history, calendar)
        members[name] = member
    model.members_ = members
    model.fallback_ = SeasonalNaive().fit(history, calendar)
    model.member_rank_ = [m for m in meta["member_rank"] if m in members]
    model.member_scores_ = {str(k): float(v) for k, v in meta["member_scores"].items()}
    model.member_errors_ = {}
    model.combination_ = (
        None if meta["combination"] is None else Combination.from_dict(meta["combination"])
    )
    model.weighting_ = meta["weighting"]
    model.weights_ = (
        {}
        if model.combination_ is None
        else dict(zip(model.combination_.members, model.combination_.weights.tolist(), strict=True))
    )
    model.weights_report_ = meta["weights_report"]
    model.residual_table_ = table_from_records(json.loads(files[RESIDUALS_FILE]))
    model.restaurants_ = sorted(set(meta["restaurants"]) & set(history.restaurants)) or list(
        meta["restaurants"]
    )
    model.failed_ = dict(meta["failed"])
    model.cutoff_ = as_of
    model.freq_ = meta["freq"]
    model.horizon_ = int(meta["horizon"])
    model.validation_ = pd.DataFrame()
    model.validation_scores_ = {}  # in the manifest's backtest metrics, not the files
    return model


__all__ = ["ENSEMBLE_FILE", "FALLBACK", "dump_ensemble", "load_ensemble"]
