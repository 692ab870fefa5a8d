"""Plug-in forecasters (issue 11): the ``flux.forecasters`` entry points, the public contract
check, and ``flux models list``/``check``. (The check over every built-in is in
``tests/test_models_contract.py``.) (The plug-in's trip through backtest, train and
predict is in ``tests/test_experiments.py``, beside its imported data.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models import registry
from models.contract import CHECKS, ContractError, check_forecaster
from pipelines.settings import load_settings
from tests.helpers import run_cli
from tests.plugin_site import install_example_plugin


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example plug-in on sys.path; its entry_points.txt."""
    entry_points = install_example_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return entry_points


def test_the_example_plugin_is_registered_and_keeps_the_contract(plugin: Path) -> None:
    assert "drift_mean" in registry.available()
    assert "drift_mean" not in registry.builtins()
    assert registry.plugins()["drift_mean"] == "flux_example_forecaster:DriftMean"
    results = check_forecaster("drift_mean", {"weeks": 2})
    assert all(r.passed for r in results), results


def test_models_list_shows_the_plugin_and_dropping_its_registration_drops_it(
    plugin: Path, tmp_path: Path
) -> None:
    settings = load_settings(home=tmp_path / "home")
    listed = run_cli(settings, ["models", "list", "--json"])
    assert listed.exit_code == 0, listed.stderr
    models = {m["name"]: m for m in json.loads(listed.stdout)["models"]}
    assert {"seasonal_naive", "weekday_median", "prophet", "xgboost", "ensemble"} < set(models)
    drift = models["drift_mean"]
    assert drift["origin"] == "plug-in"
    assert drift["scope"] == "local"
    assert drift["settings"] == {"weeks": {"default": 4}, "drift": {"default": 0.5}}
    assert models["xgboost"]["settings"]["n_estimators"] == {"default": 300}
    assert models["xgboost"]["settings"]["random_state"]["from"] == "--seed"

    plugin.unlink()  # the registration, nothing else
    again = run_cli(settings, ["models", "list", "--json"])
    assert again.exit_code == 0, again.stderr
    names = {m["name"] for m in json.loads(again.stdout)["models"]}
    assert "drift_mean" not in names
    assert names == set(registry.builtins())
    unknown = run_cli(settings, ["backtest", "--models", "drift_mean"])
    assert unknown.exit_code == 2
    assert "drift_mean" in unknown.stderr


def test_models_check_command(plugin: Path, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    ok = run_cli(settings, ["models", "check", "drift_mean", "--json"])
    assert ok.exit_code == 0, ok.stderr
    payload = json.loads(ok.stdout)
    assert payload["passed"] is True
    assert [c["check"] for c in payload["checks"]] == list(CHECKS)
    missing = run_cli(settings, ["models", "check", "nosuch"])
    assert missing.exit_code == 2
    assert "unknown model 'nosuch'" in missing.stderr


def test_a_forecaster_breaking_the_contract_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from models.baselines import WeekdayMedian

    class Leaky(WeekdayMedian):
        """Breaks two rules: its name is not its registry name, and fit stores ``memo``."""

        def _fit(self, series, calendar):  # type: ignore[no-untyped-def]
            super()._fit(series, calendar)
            self.memo = 1

    module = types.ModuleType("leaky_plugin")
    module.Leaky = Leaky  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "leaky_plugin", module)
    monkeypatch.setitem(registry.FORECASTERS, "leaky", "leaky_plugin:Leaky")
    results = {r.check: r for r in check_forecaster("leaky", raise_on_failure=False)}
    assert not results["name"].passed
    assert "registered as 'leaky'" in results["name"].message
    assert not results["learned_state"].passed
    assert "memo" in results["learned_state"].message
    assert results["forecasts"].passed
    with pytest.raises(ContractError, match="leaky breaks the forecaster contract: name"):
        check_forecaster("leaky")
