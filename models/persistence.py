"""A fitted ensemble as portable files, and back.

Files (no pickles): ``ensemble.json`` (settings, combination weights, member ranking, fitted
restaurants, each member's settings and state), ``residuals.json`` (the conformal residual table),
and each member's own files, named by the member (:meth:`models.base.Forecaster.to_files`: e.g.
``prophet/<restaurant>.json``, ``xgboost.ubj``; the baselines have none and are refitted on load).
Loading needs the history up to the forecast origin: the global model's lag features and the
seasonal-naive fallback are computed from it, so one artefact forecasts from any as-of date.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from models.base import Calendar
from models.baselines import SeasonalNaive
from models.ensemble import FALLBACK, Combination, EnsembleForecaster
from models.frames import SeriesFrame
from models.intervals import table_from_records, table_to_records

ENSEMBLE_FILE = "ensemble.json"
RESIDUALS_FILE = "residuals.json"
FORMAT_VERSION = 1
_RESERVED = frozenset({ENSEMBLE_FILE, RESIDUALS_FILE})
_SPEC_KEYS = frozenset({"params", "refit"})  # a member's entry in ensemble.json, beside its state


@dataclass(frozen=True)
class EnsembleFiles:
    """A fitted ensemble's files, and which of them each member wrote.

    Attributes:
        files: Relative path -> bytes (``ensemble.json``, ``residuals.json`` and the members').
        members: Member name -> the paths of its own files (empty for a refitted baseline).
    """

    files: dict[str, bytes]
    members: dict[str, list[str]]


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def ensemble_files(model: EnsembleForecaster) -> EnsembleFiles:
    """The fitted ensemble as files, with each member's own files named.

    Raises:
        ValueError: two members name the same file, or one names a file the ensemble writes.
    """
    files: dict[str, bytes] = {}
    owners: dict[str, list[str]] = {}
    members: dict[str, dict[str, Any]] = {}
    for name, member in model.members_.items():
        own = member.to_files()
        taken = sorted((own.keys() & files.keys()) | (own.keys() & _RESERVED))
        if taken:
            raise ValueError(f"member {name} names files already taken: {', '.join(taken)}")
        files.update(own)
        owners[name] = sorted(own)
        members[name] = {"params": _jsonable(member.get_params()), **member.files_state()}
        if not own:  # refitted from the history at load time
            members[name]["refit"] = True
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
    return EnsembleFiles(files=files, members=owners)


def dump_ensemble(model: EnsembleForecaster) -> dict[str, bytes]:
    """The fitted ensemble as ``{relative path: bytes}``."""
    return ensemble_files(model).files


def load_ensemble(
    files: Mapping[str, bytes], history: SeriesFrame, calendar: Calendar, *, jobs: int = 1
) -> EnsembleForecaster:
    """A fitted ensemble from :func:`dump_ensemble`'s files, with its forecast origin moved to
    the end of ``history`` (the as-of date), forecasting with ``jobs`` workers (the ensemble and
    the members that take ``n_jobs``, whatever the training run used)."""
    from models import registry

    meta = json.loads(files[ENSEMBLE_FILE])
    if int(meta["format_version"]) > FORMAT_VERSION:
        raise ValueError("the ensemble files are newer than this Flux; upgrade Flux")
    params = dict(meta["params"])
    params["n_jobs"] = jobs
    params["members"] = tuple(params["members"])
    params["levels"] = tuple(params["levels"])
    model = EnsembleForecaster(**params)
    as_of = pd.Timestamp(history.data["ds"].max())
    members: dict[str, Any] = {}
    for name, spec in meta["members"].items():
        member_params = dict(spec["params"])
        if "n_jobs" in member_params:
            member_params["n_jobs"] = jobs
        members[name] = registry.forecaster_class(name).from_files(
            files,
            params=member_params,
            state={k: v for k, v in spec.items() if k not in _SPEC_KEYS},
            history=history,
            calendar=calendar,
        )
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


__all__ = [
    "ENSEMBLE_FILE",
    "FALLBACK",
    "RESIDUALS_FILE",
    "EnsembleFiles",
    "dump_ensemble",
    "ensemble_files",
    "load_ensemble",
]
