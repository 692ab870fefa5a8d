"""The model specification: what is fitted, built in one place.

A :class:`ModelSpec` says which members the ensemble has, each model's hyperparameters, how the
members are weighted, the interval levels, the seed and the horizon (the ensemble's validation
window and the global model's reach). ``flux backtest``, ``flux train``, the SageMaker entry point
and ``flux run`` all build their forecasters from one through :meth:`ModelSpec.build`, so what a
backtest scored is what training fits. A spec is recorded in every backtest run and every
artefact manifest (:meth:`ModelSpec.record`), and read back with :meth:`ModelSpec.model_validate`.

Every value is checked when the spec is built: model names against the registry, hyperparameter
names against each forecaster's ``__init__`` (the error lists the valid ones), and values against
its type annotations, so a bad setting fails before any data is read.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import typing
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from pydantic import ValidationError as _PydanticError

from models import registry

if TYPE_CHECKING:
    from models.base import Forecaster
    from models.ensemble import EnsembleForecaster

__all__ = ["ENSEMBLE", "RUNTIME_PARAMS", "ModelSpec", "model_settings"]

ENSEMBLE = "ensemble"
RUNTIME_PARAMS = frozenset({"n_jobs"})
"""Settings that change how fast a model fits, not what it fits: never part of a spec."""
# Filled from the spec's seed, horizon and regressors.
_DERIVED = frozenset({"random_state", "horizon", "regressors"})
REGRESSOR_NAME = r"[A-Za-z][A-Za-z0-9_]{0,63}"
"""A regressor's name (as the ``regressors`` import checks it)."""
Weighting = Literal["auto", "min_variance", "inverse_error", "per_restaurant", "stacking", "best"]


@cache
def model_settings(name: str) -> dict[str, tuple[Any, Any]]:
    """A forecaster's settings: name -> (type annotation, default), from its ``__init__``.

    Raises:
        ValueError: ``name`` is not a registered forecaster.
    """
    cls = registry.forecaster_class(name)
    init = cls.__init__
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # an annotation that cannot be resolved: accept any value
        hints = {}
    out: dict[str, tuple[Any, Any]] = {}
    for pname, param in inspect.signature(init).parameters.items():
        if pname == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = None if param.default is param.empty else param.default
        out[pname] = (hints.get(pname, Any), default)
    return out


def _check_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` for model ``name``, validated (and coerced) against its ``__init__``."""
    if name == ENSEMBLE:
        raise ValueError(
            "models.ensemble: the ensemble is configured by [ensemble] (members, weighting, "
            "levels), not by model settings"
        )
    known = model_settings(name)
    settable = sorted(k for k in known if k not in RUNTIME_PARAMS | _DERIVED)
    unknown = sorted(set(params) - set(settable))
    if unknown:
        valid = ", ".join(settable) if settable else "none (it takes no settings)"
        raise ValueError(f"models.{name}: unknown setting(s) {', '.join(unknown)}; valid: {valid}")
    out: dict[str, Any] = {}
    for key, value in params.items():
        annotation = known[key][0]
        try:
            out[key] = TypeAdapter(annotation).validate_python(value)
        except _PydanticError as exc:
            reason = exc.errors()[0]["msg"]
            raise ValueError(f"models.{name}.{key}: {value!r} is not valid ({reason})") from None
    return out


class ModelSpec(BaseModel):
    """What is fitted: the ensemble's members, every model's settings, weighting, levels, seed.

    Attributes:
        members: The ensemble's members (registry names).
        params: Hyperparameters per model name (members and any model a backtest compares);
            ``random_state``, ``horizon`` and ``n_jobs`` come from the spec and the run instead.
        weighting: How the ensemble combines its members (``auto`` picks on held-out data).
        levels: Central interval levels in percent.
        seed: The random seed of every model.
        horizon: Periods forecast; the ensemble's validation window and the global model's reach.
        regressors: Exogenous drivers every model with a ``regressors`` setting uses (Prophet,
            XGBoost), by name as imported (format ``regressors``); sorted.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    members: tuple[str, ...] = ("prophet", "xgboost")
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    weighting: Weighting = "auto"
    levels: tuple[int, ...] = (80, 95)
    seed: int = Field(default=0, ge=0)
    horizon: int = Field(default=28, ge=1)
    regressors: tuple[str, ...] = ()

    @field_validator("members")
    @classmethod
    def _check_members(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("ensemble.members is empty")
        if len(set(value)) != len(value):
            raise ValueError(f"ensemble.members has duplicates: {', '.join(value)}")
        valid = [m for m in registry.available() if m != ENSEMBLE]
        unknown = [m for m in value if m not in valid]
        if unknown:
            raise ValueError(
                f"ensemble.members: unknown model(s) {', '.join(unknown)}; "
                f"valid: {', '.join(valid)}"
            )
        return value

    @field_validator("params")
    @classmethod
    def _check_all_params(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        valid = registry.available()
        out: dict[str, dict[str, Any]] = {}
        for name, params in sorted(value.items()):  # one spelling: equal specs, equal JSON
            if name not in valid:
                raise ValueError(f"models.{name}: unknown model; valid: {', '.join(valid)}")
            checked = _check_params(name, params)
            if checked:
                out[name] = dict(sorted(checked.items()))
        return out

    @field_validator("regressors")
    @classmethod
    def _check_regressors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not re.fullmatch(REGRESSOR_NAME, name)]
        if bad:
            raise ValueError(
                f"ensemble.regressors: {', '.join(map(repr, bad))} is not a regressor name "
                "(a letter, then letters, digits or '_')"
            )
        return tuple(sorted(set(value)))

    @field_validator("levels")
    @classmethod
    def _check_levels(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(not 0 < level < 100 for level in value):
            raise ValueError(f"levels must be between 0 and 100 (got {list(value)})")
        return tuple(sorted(set(value)))

    # --- what gets built ------------------------------------------------------------------------

    def settings_of(self, name: str) -> dict[str, Any]:
        """Model ``name``'s settings as fitted: its params plus the spec's seed and horizon."""
        known = model_settings(name)
        out = dict(self.params.get(name, {}))
        if "random_state" in known:
            out["random_state"] = self.seed
        if "horizon" in known:
            out["horizon"] = self.horizon
        if "regressors" in known and self.regressors:
            out["regressors"] = self.regressors
        return out

    def build(self, name: str, n_jobs: int = 1) -> Forecaster:
        """A new, unfitted forecaster ``name`` (``ensemble``: :meth:`build_ensemble`)."""
        if name == ENSEMBLE:
            return self.build_ensemble(n_jobs)
        model = registry.make(name, **self.settings_of(name))
        if "n_jobs" in model_settings(name):
            model.set_params(n_jobs=n_jobs)
        return model

    def build_ensemble(self, n_jobs: int = 1) -> EnsembleForecaster:
        """The ensemble this spec describes, unfitted."""
        from models.ensemble import EnsembleForecaster

        return EnsembleForecaster(
            members=self.members,
            weighting=self.weighting,
            validation_horizon=self.horizon,
            levels=self.levels,
            n_jobs=n_jobs,
            member_params={m: self.settings_of(m) for m in self.members},
            random_state=self.seed,
        )

    # --- recording ------------------------------------------------------------------------------

    def record(self) -> dict[str, Any]:
        """The spec as JSON-ready data (what run records and manifests store). A spec without
        regressors records none (so its id is the one it had before regressors existed)."""
        data = self.model_dump(mode="json")
        if not data["regressors"]:
            del data["regressors"]
        return data

    @property
    def spec_id(self) -> str:
        """A short hash of the spec: equal specs have equal ids."""
        text = json.dumps(self.record(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def changes(self, other: ModelSpec) -> dict[str, tuple[Any, Any]]:
        """Dotted keys whose value differs: key -> (this spec's, the other's)."""
        a, b = _flatten(self.record()), _flatten(other.record())
        return {
            k: (a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)
        }


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):  # an empty table adds no keys
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out
