"""Building the model specification from settings and ``--set`` overrides, in one place.

:func:`model_spec` is what every edge calls (``flux backtest``, ``flux train``, ``flux run``): it
starts from the ``[models.NAME]`` and ``[ensemble]`` tables of flux.toml
(:class:`~pipelines.settings.Settings`), applies ``--set KEY=VALUE`` overrides, and validates the
result as a :class:`~models.spec.ModelSpec` before anything slow starts. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from models import registry
from models.contract import CheckResult, check_forecaster
from models.spec import ENSEMBLE, ModelSpec, model_settings
from pipelines.errors import ConfigError, UsageError
from pipelines.settings import EnsembleConfig, Settings

__all__ = [
    "ENSEMBLE_KEYS",
    "ModelInfo",
    "check_model",
    "describe_models",
    "model_spec",
    "parse_set",
    "spec_error",
]

ENSEMBLE_KEYS = ("members", "weighting", "levels", "regressors")


_WHERE = {
    "members": "ensemble.members",
    "weighting": "ensemble.weighting",
    "levels": "ensemble.levels",
    "regressors": "ensemble.regressors",
    "seed": "--seed",
    "horizon": "--horizon",
}


def spec_error(exc: ValidationError) -> str:
    """One line from a spec's validation error (the first problem, named as the user set it)."""
    err = exc.errors()[0]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if msg.startswith(("models.", "ensemble.")):
        return msg
    loc = [str(p) for p in err["loc"]]
    where = _WHERE.get(loc[0], loc[0]) if loc else "model spec"
    value = f" (got {err['input']!r})" if "input" in err and loc else ""
    return f"{where}: {msg}{value}"


def _value(text: str) -> Any:
    """A ``--set`` value: JSON when it parses (``500``, ``true``, ``0.05``), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_set(item: str) -> tuple[tuple[str, ...], Any]:
    """``models.xgboost.n_estimators=500`` -> (("models", "xgboost", "n_estimators"), 500).

    Raises:
        ConfigError: not ``KEY=VALUE``, or a key that is not a model or ensemble setting.
    """
    key, sep, raw = item.partition("=")
    path = tuple(p.strip() for p in key.strip().split("."))
    if not sep or not all(path):
        raise ConfigError(
            f"--set {item!r}: use KEY=VALUE, e.g. models.xgboost.n_estimators=500 or "
            "ensemble.weighting=best"
        )
    if path[0] == "models" and len(path) == 3:
        valid = registry.available()
        if path[1] not in valid:
            raise ConfigError(
                f"--set {item!r}: unknown model {path[1]!r}; valid: {', '.join(valid)}"
            )
        return path, _value(raw.strip())
    if path[0] == "ensemble" and len(path) == 2:
        if path[1] not in ENSEMBLE_KEYS:
            raise ConfigError(
                f"--set {item!r}: unknown key ensemble.{path[1]}; valid: "
                + ", ".join(f"ensemble.{k}" for k in ENSEMBLE_KEYS)
            )
        value: Any = raw.strip()
        if path[1] in ("members", "levels", "regressors"):
            value = _list(value)
        return path, value
    raise ConfigError(
        f"--set {item!r}: unknown key {key.strip()!r}; valid: models.MODEL.SETTING "
        "(`flux models list` shows them) or " + ", ".join(f"ensemble.{k}" for k in ENSEMBLE_KEYS)
    )


def model_spec(
    settings: Settings,
    sets: Sequence[str] = (),
    *,
    horizon: int = 28,
    seed: int = 0,
    levels: Sequence[int] | None = None,
) -> ModelSpec:
    """The spec from flux.toml's ``[models.*]``/``[ensemble]``, then ``sets``, then the flags.

    Args:
        settings: The settings (their tables were validated when loaded).
        sets: ``--set KEY=VALUE`` overrides, applied in order.
        horizon: ``--horizon``.
        seed: ``--seed``.
        levels: ``--levels`` when given (else ``[ensemble] levels`` or a ``--set``).

    Raises:
        ConfigError: a bad override or value; the message is one line naming the key.
    """
    params: dict[str, dict[str, Any]] = {k: dict(v) for k, v in settings.models.items()}
    ensemble: dict[str, Any] = settings.ensemble.model_dump()
    if levels is not None:
        ensemble["levels"] = list(levels)
    for item in sets:
        path, value = parse_set(item)
        if path[0] == "models":
            params.setdefault(path[1], {})[path[2]] = value
        else:
            ensemble[path[1]] = value
    try:
        return ModelSpec(params=params, horizon=horizon, seed=seed, **ensemble)
    except ValidationError as exc:
        raise ConfigError(spec_error(exc)) from None


# --- the models on offer (``flux models list`` / ``flux models check``) --------------------------


@dataclass(frozen=True)
class ModelInfo:
    """One registered forecaster.

    Attributes:
        name: Its registry name.
        origin: ``built-in``, or ``plug-in`` (from the ``flux.forecasters`` entry points).
        target: Where it lives (``module:Class``).
        scope: ``local`` (one model per restaurant) or ``global``.
        settings: Each setting's default and its value in flux.toml's ``[models.NAME]``.
        error: Why it cannot be loaded (None when it can).
    """

    name: str
    origin: str
    target: str
    scope: str | None
    settings: dict[str, dict[str, Any]]
    error: str | None = None


def describe_models(settings: Settings) -> list[ModelInfo]:
    """Every registered forecaster, built-ins first, with its settings and defaults."""
    plugins = registry.plugins()
    out = []
    for name in [*registry.builtins(), *sorted(plugins)]:
        origin = "built-in" if name in registry.FORECASTERS else "plug-in"
        target = registry.FORECASTERS.get(name) or plugins[name]
        try:
            cls = registry.forecaster_class(name)
            known = model_settings(name)
        except Exception as exc:  # a broken plug-in is listed with its error, never hidden
            out.append(ModelInfo(name, origin, target, None, {}, f"{type(exc).__name__}: {exc}"))
            continue
        if name == ENSEMBLE:  # configured by [ensemble], not [models.ensemble]
            now, default = settings.ensemble.model_dump(), EnsembleConfig().model_dump()
            table = {
                f"ensemble.{k}": {
                    "default": default[k],
                    **({"configured": now[k]} if now[k] != default[k] else {}),
                }
                for k in ENSEMBLE_KEYS
            }
            out.append(ModelInfo(name, origin, target, str(cls.scope), table))
            continue
        configured = settings.models.get(name, {})
        table = {
            key: {
                "default": default,
                **({"configured": configured[key]} if key in configured else {}),
                **({"from": _FROM[key]} if key in _FROM else {}),
            }
            for key, (_, default) in known.items()
        }
        out.append(ModelInfo(name, origin, target, str(cls.scope), table))
    return out


_FROM = {
    "random_state": "--seed",
    "horizon": "--horizon",
    "n_jobs": "--jobs",
    "regressors": "ensemble.regressors",
}


def check_model(settings: Settings, name: str) -> list[CheckResult]:
    """The forecaster contract's checks on model ``name``, built with ``[models.NAME]``.

    Raises:
        UsageError: ``name`` is not registered.
    """
    if name not in registry.available():
        raise UsageError(f"unknown model {name!r}; valid: {', '.join(registry.available())}")
    return check_forecaster(name, settings.models.get(name, {}), raise_on_failure=False)
