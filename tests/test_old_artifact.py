"""An artefact stored by an older Flux (manifest schema 1) still loads and gives the forecast it
gave when it was made (tests/fixtures/artifacts/make_old_forecast_artifact.py wrote it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from models import columns as c
from models.base import Calendar, future_frame
from models.persistence import load_ensemble
from pipelines.io.artifacts import open_store
from tests.synthetic_series import synthetic_series

FIXTURE = Path(__file__).parent / "fixtures" / "artifacts" / "old_forecast"
ARTIFACT = "20250601T000000Z-0ld0f0rc"


def test_schema_1_artifact_loads_and_forecasts_as_before(tmp_path: Path) -> None:
    root = tmp_path / "store"
    shutil.copytree(FIXTURE, root)
    raw = json.loads((root / "artefacts" / ARTIFACT / "manifest.json").read_text())
    assert raw["schema_version"] == 1 and "levels" not in raw
    store = open_store(str(root))
    manifest = store.read_manifest(ARTIFACT)  # upgraded on read
    assert manifest.schema_version == 2 and manifest.levels == [80, 95]
    files = {
        name.removeprefix("shards/local/"): store.read_file(ARTIFACT, name)  # checksums verified
        for name in manifest.files
        if name.startswith("shards/local/")
    }
    series = synthetic_series(3, 150, seed=21)
    model = load_ensemble(files, series, Calendar())
    start = model.cutoff_ + pd.Timedelta(days=1)
    got = model.predict(future_frame(series.restaurants, start, 14)).data
    expected = pd.read_csv(FIXTURE / "expected_forecast.csv", parse_dates=[c.DS])
    pd.testing.assert_frame_equal(
        got[expected.columns].reset_index(drop=True), expected, check_exact=False, rtol=1e-6
    )
