"""One contract, every registered forecaster: the public check
(:func:`models.contract.check_forecaster`, also ``flux models check NAME``) run over each
built-in, so what a plug-in author runs is exactly what Flux's own models pass.

Heavy models get fast settings (only the ones their class accepts).
"""

from __future__ import annotations

import pytest

from models import registry
from models.contract import CHECKS, check_forecaster

FAST_PARAMS: dict[str, dict[str, object]] = {
    "prophet": {"holidays": False, "yearly_seasonality": False, "n_jobs": 1},
    "xgboost": {"n_estimators": 20, "max_depth": 3, "n_jobs": 1},
    "ensemble": {"members": ("seasonal_naive", "weekday_median")},
}


@pytest.mark.parametrize("name", registry.builtins())
def test_every_builtin_keeps_the_contract(name: str) -> None:
    results = check_forecaster(name, FAST_PARAMS.get(name, {}), raise_on_failure=False)
    assert [r.check for r in results] == list(CHECKS)
    failed = [f"{r.check}: {r.message}" for r in results if not r.passed]
    assert not failed, failed


def test_registry_names_and_unknown_name() -> None:
    assert {"seasonal_naive", "weekday_median", "prophet", "xgboost", "ensemble"} <= set(
        registry.available()
    )
    with pytest.raises(ValueError, match=r"valid names: .*seasonal_naive"):
        registry.make("nope")
    assert registry.make("weekday_median", weeks=4).get_params() == {"weeks": 4}
