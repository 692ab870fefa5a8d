"""Fitting the ensemble, pure: the training settings, the fit, and what it produced.

:func:`fit_files` fits the ensemble on a series and returns a :class:`Trained`: the ensemble's
portable files and the facts the manifest records. ``flux train --backend local``
(:mod:`pipelines.train`) and the SageMaker entry point (:mod:`flux_sagemaker.entry`) both call it,
so local and remote training cannot drift apart. No I/O here: where the files go is
:mod:`pipelines.io.artifacts`'s business.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from models import columns as c
from models.base import Calendar
from models.ensemble import EnsembleForecaster
from models.frames import SeriesFrame
from models.persistence import ensemble_files
from models.spec import ModelSpec

_HPS = ("target", "freq", "jobs", "spec")


@dataclass(frozen=True)
class TrainConfig:
    """How to train (every field travels as SageMaker hyperparameters).

    Attributes:
        target: The demand target.
        freq: The series frequency (daily).
        spec: What is fitted (members, settings, weighting, levels, seed, horizon).
        jobs: Parallel workers.
    """

    target: str = c.COVERS
    freq: str = "D"
    spec: ModelSpec = field(default_factory=ModelSpec)
    jobs: int = 1

    @property
    def horizon(self) -> int:
        """Periods the artefact forecasts (the spec's horizon)."""
        return self.spec.horizon

    @property
    def members(self) -> tuple[str, ...]:
        """The ensemble's members (the spec's)."""
        return self.spec.members

    @property
    def levels(self) -> tuple[int, ...]:
        """Interval levels (the spec's)."""
        return self.spec.levels

    def hyperparameters(self) -> dict[str, str]:
        """The config as SageMaker hyperparameters (all strings; the spec as JSON)."""
        return {
            "target": self.target,
            "freq": self.freq,
            "jobs": str(self.jobs),
            "spec": json.dumps(self.spec.record(), sort_keys=True),
        }

    @classmethod
    def from_hyperparameters(cls, hps: dict[str, str]) -> TrainConfig:
        """The config from SageMaker hyperparameters (strings, possibly JSON-quoted).

        Raises:
            ValueError: a key Flux does not send (``sagemaker_*`` keys are SageMaker's and
                ignored), or a value that is not valid (the spec is validated in full).
        """
        unknown = sorted(k for k in hps if k not in _HPS and not k.startswith("sagemaker_"))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {', '.join(unknown)}; Flux sends {', '.join(_HPS)}"
            )

        def text(key: str, default: str) -> str:
            value = hps.get(key, default)
            if not isinstance(value, str):
                return json.dumps(value) if isinstance(value, dict) else str(value)
            if value.startswith('"'):
                decoded = json.loads(value)
                return decoded if isinstance(decoded, str) else json.dumps(decoded)
            return value

        return cls(
            target=text("target", c.COVERS),
            freq=text("freq", "D"),
            jobs=int(text("jobs", "1")),
            spec=ModelSpec.model_validate_json(text("spec", "{}")),
        )


def fingerprint(series: SeriesFrame) -> str:
    """A hash of the training data (restaurant, ds, y), to tell when it changed."""
    data = series.data
    hashed = pd.util.hash_pandas_object(data[[c.RESTAURANT_ID, c.DS, c.Y]], index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:32]


@dataclass(frozen=True)
class Trained:
    """What one fit produced: the ensemble's files and the facts the manifest records.

    Attributes:
        files: The ensemble's files (:func:`models.persistence.ensemble_files`).
        member_files: Each member's own files among them (named by the member).
        restaurants: The restaurants it was fitted on.
        failed: Restaurants it could not model, with reasons.
        weights: How the members are combined (the ensemble's weights report).
        validation_metrics: What the validation window says (:func:`validation_metrics`).
        training_start: The first date it was fitted on (ISO).
        training_end: The last date it was fitted on (ISO).
        fingerprint: :func:`fingerprint` of the series it was fitted on.
        member_params: Each member's settings.
    """

    files: dict[str, bytes]
    member_files: dict[str, list[str]]
    restaurants: list[str]
    failed: dict[str, str]
    weights: dict[str, Any]
    validation_metrics: dict[str, Any]
    training_start: str
    training_end: str
    fingerprint: str
    member_params: dict[str, dict[str, Any]]


def validation_metrics(model: EnsembleForecaster) -> dict[str, Any]:
    """What the validation window says of a fitted ensemble, for the manifest.

    ``member_rmsle``: each member's RMSLE; ``heldout_rmsle``: each weighting's RMSLE on the late
    part of the window; ``by_restaurant``: each restaurant's RMSLE, WAPE and rows ``n`` over the
    ensemble's cross-fitted validation forecasts, and ``ensemble_rmsle`` pooled over them (both
    absent when the window was too short to learn weights). ``flux monitor`` reads these as the
    error to expect once a forecast is live.
    """
    metrics: dict[str, Any] = {
        "member_rmsle": dict(model.member_scores_),
        "heldout_rmsle": model.weights_report_.get("heldout_rmsle", {}),
    }
    scores = model.validation_scores_
    if scores:
        metrics["by_restaurant"] = {
            rid: {k: (v if math.isfinite(v) else None) for k, v in s.items()}
            for rid, s in scores.items()
        }
        rows = sum(s["n"] for s in scores.values())
        metrics["ensemble_rmsle"] = math.sqrt(
            sum(s["n"] * s["rmsle"] ** 2 for s in scores.values()) / rows
        )
    return metrics


def fit_files(series: SeriesFrame, calendar: Calendar, config: TrainConfig) -> Trained:
    """Fits the spec's ensemble on every row of ``series`` and returns its portable files."""
    model = config.spec.build_ensemble(config.jobs).fit(series, calendar)
    report = dict(model.weights_report_)
    saved = ensemble_files(model)
    return Trained(
        files=saved.files,
        member_files=saved.members,
        restaurants=list(model.restaurants_),
        failed=dict(model.failed_),
        weights=report,
        validation_metrics=validation_metrics(model),
        training_start=str(pd.Timestamp(series.data[c.DS].min()).date()),
        training_end=str(pd.Timestamp(series.data[c.DS].max()).date()),
        fingerprint=fingerprint(series),
        member_params={m: config.spec.settings_of(m) for m in config.spec.members},
    )
