"""Issue 13, "no traceback reaches a user for any input", importer by importer: each vendor's
real-shaped fixture (tests/fixtures/vendors/*, sources in each folder's README) is damaged at
random - bytes replaced by hostile tokens, a JSON value swapped for a hostile one, the file cut
short - and imported with its format named. Every run ends with exit 0 (what could be read was
loaded) or exit 2 with a message naming the file, and on exit 2 the database is exactly as it
was before.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.settings import Settings, load_settings
from tests import test_vendor_clover, test_vendor_lightspeed, test_vendor_square
from tests.test_fuzz_cli import _invoke

VENDORS = Path(__file__).parent / "fixtures" / "vendors"
TOAST_GUID = "6f1c2a8e-3b4d-4e5f-9a7b-1c2d3e4f5a6b"


def _csv(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    return "\n".join([",".join(header), *(",".join(map(str, r)) for r in rows)]) + "\n"


def _square_restaurants() -> str:
    rows = []
    for rid, tz, cutoff, cur, loc in test_vendor_square.RESTAURANTS:
        rows.append((rid, rid, tz, "US", "", cutoff, "square", loc, cur))
    return _csv(test_vendor_lightspeed.RESTAURANT_HEADER, rows)


# (case, fixture, --format, restaurants.csv text, sub-folder the file must sit in)
CASES: dict[str, tuple[Path, str, str, str]] = {
    "toast": (
        VENDORS / "toast" / TOAST_GUID / "ordersBulk_20251101.json",
        "toast",
        (VENDORS / "toast" / "restaurants.csv").read_text(encoding="utf-8"),
        TOAST_GUID,
    ),
    "toast_export": (
        VENDORS / "toast" / "toast_web_download" / "ItemSelectionDetails.csv",
        "toast_export",
        (VENDORS / "toast" / "restaurants.csv").read_text(encoding="utf-8"),
        "",
    ),
    "square_items": (
        VENDORS / "square" / "items-sunrise-2026-05-30.csv",
        "square",
        _square_restaurants(),
        "",
    ),
    "square_orders": (
        VENDORS / "square" / "search-orders-pages.json",
        "square_orders",
        _square_restaurants(),
        "",
    ),
    "lightspeed": (
        VENDORS / "lightspeed" / "v2_sales_harbour_fish_bar.json",
        "lightspeed",
        _csv(test_vendor_lightspeed.RESTAURANT_HEADER, test_vendor_lightspeed.RESTAURANTS),
        "7700112",  # a V2 sales export names no business location: its folder does
    ),
    "clover": (
        VENDORS / "clover" / "orders_night_owl.json",
        "clover",
        test_vendor_clover.RESTAURANTS_CSV,
        "",
    ),
    "revel_items": (
        VENDORS / "revel" / "wide_order_item.csv",
        "revel",
        (VENDORS / "revel" / "restaurants.csv").read_text(encoding="utf-8"),
        "12",
    ),
    "revel_api": (
        VENDORS / "revel" / "order_items.json",
        "revel_api",
        (VENDORS / "revel" / "restaurants.csv").read_text(encoding="utf-8"),
        "12",
    ),
}

TOKENS = st.sampled_from(
    [
        "",
        "null",
        '""',
        "-1",
        "-99999999999999999999",
        "1e309",
        "NaN",
        "\x00",
        "\ufeff",
        "{",
        "]",
        ",",
        '"',
        "\n",
        '"2025-13-45T99:99:99Z"',
        "02/30/2025",
        "é" * 3,
        "x" * 5000,
        "[]",
        "{}",
        "true",
    ]
)
HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "x" * 5000, "\x00", "2025-02-30T25:61:00Z", "-1", "NaN", "USD "]),
    st.lists(st.integers(), max_size=2),
    st.just({}),
)


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _replace_leaf(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    node[head] = _replace_leaf(node[head], rest, value)
    return node


@st.composite
def damaged(draw: st.DrawFn, original: bytes, is_json: bool) -> bytes:
    """The original file with a few hostile edits (structured ones when it is JSON)."""
    try:
        document = json.loads(original) if is_json else None
    except ValueError:  # several documents (pages) in one file: edit its text
        document = None
    if document is not None and draw(st.booleans()):
        leaves = _leaves(document)
        for _ in range(draw(st.integers(1, 3))):
            where = leaves[draw(st.integers(0, len(leaves) - 1))]
            document = _replace_leaf(document, where, draw(HOSTILE_VALUES))
        return json.dumps(document).encode("utf-8")
    text = original.decode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 12))
        text = text[:at] + draw(TOKENS) + text[at + cut :]
    if draw(st.integers(0, 4)) == 0:  # sometimes the file is cut short too
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode("utf-8", "surrogatepass")


def _database_state(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted (the fixtures are small)."""
    path = settings.resolved_database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] != "alembic_version"
        ]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Settings]:
    """One SQLite home per case, holding that vendor's restaurants."""
    out = {}
    for case, (_, _, restaurants, _) in CASES.items():
        home = tmp_path_factory.mktemp(f"fuzz-{case}") / "home"
        settings = load_settings(home=home)
        csv = home.parent / "restaurants.csv"
        csv.write_text(restaurants, encoding="utf-8")
        with pytest.MonkeyPatch.context() as mp:
            for name in [n for n in __import__("os").environ if n.startswith("FLUX_")]:
                mp.delenv(name)
            assert _invoke(settings, ["import", str(csv)])[0] == 0
        out[case] = settings
    return out


def test_every_case_imports_cleanly_undamaged(homes: dict[str, Settings], tmp_path: Path) -> None:
    """The fuzz starts from files each importer reads whole (else it would fuzz an error path)."""
    for case, (fixture, fmt, _, sub) in CASES.items():
        folder = tmp_path / case / sub
        folder.mkdir(parents=True)
        shutil.copy(fixture, folder / fixture.name)
        code, out = _invoke(
            homes[case], ["import", str(folder / fixture.name), "--format", fmt, "--json"]
        )
        assert code == 0, (case, out)


@pytest.mark.parametrize("case", sorted(CASES))
def test_damaged_vendor_files_exit_0_or_2_and_2_changes_nothing(
    homes: dict[str, Settings], tmp_path_factory: pytest.TempPathFactory, case: str
) -> None:
    fixture, fmt, _, sub = CASES[case]
    original = fixture.read_bytes()

    @settings(
        max_examples=8,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=damaged(original, fixture.suffix == ".json"))
    def run(data: bytes) -> None:
        folder = tmp_path_factory.mktemp(case) / sub
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / fixture.name
        path.write_bytes(data)
        before = _database_state(homes[case])
        code, out = _invoke(
            homes[case], ["import", str(path), "--format", fmt, "--force", "--json"]
        )
        assert code in (0, 2), (case, code, out)
        if code == 2:
            assert fixture.name in out, out  # the message names the file
            assert _database_state(homes[case]) == before, out

    run()
