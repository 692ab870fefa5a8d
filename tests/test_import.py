"""``flux import`` end to end on every database lane: ground truth, idempotence, scoping,
corrupted files."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipelines.settings import Settings
from tests.conftest import ROOT, load_generator
from tests.helpers import checksums, demand_daily, row_counts, run_cli

# Three weeks around the autumn DST changes (Europe 2025-10-26, North America 2025-11-02).
START = dt.date(2025, 10, 20)
DAYS = 21


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All eight sample restaurants, three weeks, every vendor format."""
    out = tmp_path_factory.mktemp("sample")
    load_generator().generate(out, start=START, days=DAYS, seed=11)
    return out


@pytest.fixture(scope="session")
def other_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same restaurants and dates with different sales (another seed)."""
    out = tmp_path_factory.mktemp("sample_other")
    load_generator().generate(out, start=START, days=DAYS, seed=12)
    return out


def _truth(folder: Path) -> pd.DataFrame:
    truth = pd.read_csv(folder / "ground_truth.csv", dtype={"restaurant_id": str})
    truth["business_date"] = pd.to_datetime(truth["business_date"])
    return truth.sort_values(["restaurant_id", "business_date"]).reset_index(drop=True)


def assert_matches_truth(settings: Settings, folder: Path) -> None:
    """Daily covers, orders, net sales and item quantities equal the generator's truth."""
    truth = _truth(folder)
    got = demand_daily(settings)
    merged = truth.merge(
        got,
        on=["restaurant_id", "business_date"],
        how="outer",
        suffixes=("_truth", "_flux"),
        indicator=True,
    )
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"days only on one side:\n{missing.head(20)}"
    for col in ("orders", "net_sales_minor"):
        diff = merged[merged[f"{col}_truth"] != merged[f"{col}_flux"]]
        assert diff.empty, f"{col} differs:\n{diff.head(20)}"
    covers_t = merged["covers_truth"].astype("Float64")
    covers_f = merged["covers_flux"].astype("Float64")
    assert (covers_t.isna() == covers_f.isna()).all(), "covers present on one side only"
    assert (covers_t.fillna(-1) == covers_f.fillna(-1)).all(), "covers differ"
    qty = (merged["item_quantity_truth"] - merged["item_quantity_flux"]).abs()
    assert (qty < 1e-6).all(), "item quantities differ"


def test_every_vendor_matches_ground_truth(settings: Settings, small_sample: Path) -> None:
    result = run_cli(settings, ["import", str(small_sample), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    formats = {f["format"] for f in summary["files"] if f["status"] == "loaded"}
    assert formats >= {
        "restaurants",
        "events",
        "toast",
        "square",
        "lightspeed",
        "clover",
        "revel",
        "csv",
    }
    assert summary["rows_rejected"] == 0
    assert_matches_truth(settings, small_sample)


def test_reimport_changes_nothing(settings: Settings, small_sample: Path) -> None:
    assert run_cli(settings, ["import", str(small_sample)]).exit_code == 0
    before, counts = checksums(settings), row_counts(settings)
    again = run_cli(settings, ["import", str(small_sample), "--json"])
    assert again.exit_code == 0
    assert all(f["status"] != "loaded" for f in json.loads(again.stdout)["files"])
    forced = run_cli(settings, ["import", str(small_sample), "--force", "--json"])
    assert forced.exit_code == 0, forced.stderr
    assert json.loads(forced.stdout)["rows_loaded"] == 0
    assert checksums(settings) == before
    assert row_counts(settings) == counts


def test_restaurant_scope_touches_only_that_restaurant(
    settings: Settings, small_sample: Path, other_sample: Path
) -> None:
    assert run_cli(settings, ["import", str(small_sample)]).exit_code == 0
    others_before = checksums(settings, exclude="r01")
    all_before = checksums(settings)
    result = run_cli(settings, ["import", str(other_sample), "--restaurant", "r01", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["restaurants"] == ["r01"]
    assert checksums(settings, exclude="r01") == others_before
    assert checksums(settings)["order_lines"] != all_before["order_lines"]


# ---------------------------------------------------------------------------- broken files


def _db_snapshot(settings: Settings) -> dict[str, str]:
    return checksums(settings)


@pytest.fixture
def loaded(settings: Settings, small_sample: Path, tmp_path: Path) -> Path:
    """The small sample imported; returns a scratch folder for broken files."""
    assert run_cli(settings, ["import", str(small_sample)]).exit_code == 0
    scratch = tmp_path / "broken"
    scratch.mkdir()
    return scratch


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.rglob(pattern))
    assert found, f"no {pattern} in {folder}"
    return found[0]


def _plain_copy(src: Path, dst_dir: Path) -> Path:
    """A gunzipped copy of a sample file, to corrupt."""
    name = src.name.removesuffix(".gz")
    dst = dst_dir / name
    data = gzip.decompress(src.read_bytes()) if src.suffix == ".gz" else src.read_bytes()
    dst.write_bytes(data)
    return dst


@pytest.mark.parametrize(
    ("pattern", "corrupt", "expect_field"),
    [
        ("toast/*", lambda b: b[: len(b) // 2], None),  # truncated JSON
        ("square/*", lambda b: b.replace(b"Transaction ID", b"Txn"), "Transaction ID"),
        ("square/*", lambda b: b.decode().encode("utf-16"), None),  # wrong encoding
        ("revel/wide_order_item*", lambda b: b.replace(b"pure_sales", b"pure", 1), "pure_sales"),
    ],
    ids=["truncated-json", "missing-column", "utf16", "revel-missing-column"],
)
def test_broken_file_exits_2_and_changes_nothing(
    settings: Settings,
    small_sample: Path,
    loaded: Path,
    pattern: str,
    corrupt: object,
    expect_field: str | None,
) -> None:
    before = _db_snapshot(settings)
    target = _plain_copy(_one(small_sample, pattern), loaded)
    target.write_bytes(corrupt(target.read_bytes()))  # type: ignore[operator]
    # A good file next to the broken one must not be written either.
    shutil.copy(_one(small_sample, "restaurants.csv"), loaded / "restaurants.csv")
    result = run_cli(settings, ["import", str(loaded), "--force"])
    assert result.exit_code == 2, result.stdout + result.stderr
    # one message line for people (plus, off a terminal, JSON log lines for machines)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith("{")]
    assert len(lines) == 1, result.stderr
    assert str(target) in lines[0] and "row" in lines[0]
    if expect_field:
        assert repr(expect_field) in lines[0] or expect_field in lines[0]
    assert _db_snapshot(settings) == before


def test_garbage_rows_are_rejected_with_reasons(
    settings: Settings, small_sample: Path, loaded: Path
) -> None:
    target = _plain_copy(_one(small_sample, "square/*"), loaded)
    text = target.read_text(encoding="utf-8").splitlines()
    header = text[0]
    width = header.count(",") + 1
    text.insert(3, "garbage,row")  # wrong field count (row 4)
    bad_money = text[5].split(",")
    text[5] = text[5]  # keep
    target.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = run_cli(settings, ["import", str(target), "--force", "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows_rejected"] == 1
    rejects = pd.read_csv(summary["files"][0]["rejects_path"])
    assert rejects.loc[0, "row"] == 4
    assert "fields" in rejects.loc[0, "reason"]
    assert width > 2 and bad_money


def test_strict_fails_on_any_reject(settings: Settings, small_sample: Path, loaded: Path) -> None:
    before = _db_snapshot(settings)
    target = _plain_copy(_one(small_sample, "square/*"), loaded)
    lines = target.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "garbage,row")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli(settings, ["import", str(target), "--force", "--strict"])
    assert result.exit_code == 2
    assert "row 3" in result.stderr and "--strict" in result.stderr
    assert _db_snapshot(settings) == before


def test_unknown_explicit_file_is_a_usage_error(settings: Settings, tmp_path: Path) -> None:
    odd = tmp_path / "notes.csv"
    odd.write_text("a,b\n1,2\n", encoding="utf-8")
    result = run_cli(settings, ["import", str(odd)])
    assert result.exit_code == 2
    assert "notes.csv" in result.stderr and "--format" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_committed_sample_data_matches_ground_truth(settings: Settings) -> None:
    """The full committed sample (8 restaurants, 2 years) imports exactly."""
    folder = ROOT / "sample_data"
    result = run_cli(settings, ["import", str(folder), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows_rejected"] == 0
    assert_matches_truth(settings, folder)
