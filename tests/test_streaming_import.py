"""Streaming imports: a file parsed and loaded a chunk at a time gives the database a whole-file
import gives, row numbers stay the file's across chunks, a killed import changes nothing, and
PostgreSQL's ``COPY`` staging path loads what the plain ``executemany`` path loads.

The vendor file is ``tests/fixtures/vendors/square/search-orders-pages.json`` (Square's
``SearchOrdersResponse``, ``square/connect-api-specification`` ``api.json``; see that folder's
README): 12 orders on two pages, of two restaurants, with a void, a refund, a comp, a gift card,
open and draft orders. Square's Orders format streams (``square_orders``), and so does the mapped
CSV (``csv``), tested on Toast's ``ItemSelectionDetails.csv`` read through a column mapping
(``tests/fixtures/vendors/toast/6f1c2a8e-3b4d-4e5f-9a7b-1c2d3e4f5a6b/20250311/``, see that
folder's README), Revel's Data Connector CSVs (``revel``, ``tests/fixtures/vendors/revel/``)
and Square's Items CSV export (``square``,
``tests/fixtures/vendors/square/items-sunrise-2026-07-18.csv``); so do Toast's ordersBulk JSON,
Lightspeed's Financial API sales and Clover's orders, on their fixtures (sources at each section
below); other formats load a file as one chunk.
"""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from models import columns as c
from pipelines import ingest
from pipelines.errors import ImportFileError
from pipelines.io import loader
from pipelines.io.adapters import _csv_common
from pipelines.settings import Settings, load_settings
from tests.helpers import checksums, demand_daily

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "fixtures" / "vendors" / "square" / "search-orders-pages.json"
RESTAURANTS = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    "r02,Mission Taqueria,America/Los_Angeles,US,CA,3,square,L8WQ2ZJ5T1M0A,USD\n"
    "r08,Brauhaus Mitte,Europe/Berlin,DE,BE,4,square,LB7Q2M9XH3K4T,EUR\n"
)
WHOLE = 10**9  # one chunk for the whole file


def _pages() -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = json.loads(PAGES.read_text(encoding="utf-8"))
    return pages


def _folder(tmp_path: Path, pages: list[dict[str, Any]], name: str = "in") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "restaurants.csv").write_text(RESTAURANTS, encoding="utf-8")
    (folder / "orders.json").write_text(json.dumps(pages), encoding="utf-8")
    return folder


def _settings(tmp_path: Path, name: str, url: str | None = None) -> Settings:
    url = url or f"sqlite:///{(tmp_path / f'{name}.db').as_posix()}"
    return load_settings(home=tmp_path / f"home-{name}", database_url=url)


def _import(settings: Settings, folder: Path, chunk_rows: int, **kw: Any) -> ingest.IngestResult:
    request = ingest.IngestRequest(paths=(folder,), chunk_rows=chunk_rows, **kw)
    return ingest.run(request, settings)


def _content(settings: Settings) -> dict[str, str]:
    """Checksums of every table but the batch records (their ids and times differ per run)."""
    return {k: v for k, v in checksums(settings).items() if k != "import_batches"}


def _whole_and_chunked(
    tmp_path: Path, load: Callable[[Settings, int], ingest.IngestResult], chunk_rows: int
) -> tuple[ingest.IngestResult, ingest.IngestResult]:
    """``load`` into a database in one chunk ("whole") and into another ``chunk_rows`` records at
    a time ("chunked"); both store the same; returns (whole result, chunked result)."""
    whole, chunked = _settings(tmp_path, "whole"), _settings(tmp_path, "chunked")
    expected, got = load(whole, WHOLE), load(chunked, chunk_rows)
    assert _content(chunked) == _content(whole)
    return expected, got


def _per_file(
    tmp_path: Path, folder: Path, chunk_rows: int
) -> tuple[dict[str, tuple[int, int]], ingest.IngestResult]:
    """:func:`_whole_and_chunked` for importing ``folder``, checking that both report the same
    figures; returns each file's (rows read, rows rejected) and the chunked result."""
    expected, got = _whole_and_chunked(tmp_path, lambda s, n: _import(s, folder, n), chunk_rows)
    assert _figures(got) == _figures(expected)
    return {Path(f.path).name: (f.rows_read, f.rows_rejected) for f in got.files}, got


def _figures(result: ingest.IngestResult) -> list[tuple[Any, ...]]:
    return [
        (Path(f.path).name, f.status, f.rows_read, f.rows_loaded, f.rows_rejected, f.rows_duplicate)
        for f in sorted(result.files, key=lambda f: f.path)
    ]


# ------------------------------------------------------------------ chunk borders


@pytest.mark.parametrize("chunk_rows", [1, 5, 7])
def test_chunks_load_what_the_whole_file_loads(tmp_path: Path, chunk_rows: int) -> None:
    folder = _folder(tmp_path, _pages())
    figures, got = _per_file(tmp_path, folder, chunk_rows)
    # 12 records read; Oe5 (OPEN) and Of6 (DRAFT) are not sales yet, the other 10 orders load
    assert figures["orders.json"] == (12, 0)
    assert set(got.restaurants) == {"r02", "r08"}


def test_a_repeated_order_in_a_later_chunk_wins_as_in_one_chunk(tmp_path: Path) -> None:
    """A third page repeats the first order with one line's quantity and money changed: the
    copy read last wins, whether it is in the same chunk or two chunks later."""
    pages = _pages()
    again = copy.deepcopy(pages[0]["orders"][0])
    item = again["line_items"][0]
    before = item["gross_sales_money"]["amount"]
    item["quantity"] = "2"
    for key in (
        "gross_sales_money",
        "total_money",
        "base_price_money",
        "variation_total_price_money",
    ):
        if key in item:
            item[key]["amount"] *= 2
    pages.append({"orders": [again]})
    folder = _folder(tmp_path, pages)
    # chunks of 5: records 1-5, 6-10, 11-13: the copy is in the third chunk; its lines count
    # as duplicates within the file, as in one chunk, not as lines loaded twice
    whole, chunked = _whole_and_chunked(tmp_path, lambda s, n: _import(s, folder, n), 5)
    assert _figures(chunked) == _figures(whole)
    (pages_file,) = [f for f in whole.files if f.format == "square_orders"]
    assert pages_file.rows_duplicate == len(again["line_items"])
    db = sa.create_engine(f"sqlite:///{(tmp_path / 'chunked.db').as_posix()}")
    with db.connect() as conn:
        qty = conn.execute(
            sa.text("SELECT quantity FROM order_lines WHERE order_id = :o AND line_id = :l"),
            {"o": again["id"], "l": item["uid"]},
        ).scalar_one()
    db.dispose()
    assert before > 0 and qty == 2.0


def _bad_order_at_row_9(tmp_path: Path) -> Path:
    pages = _pages()
    # row 9 is the second order of the second page (page one holds rows 1-7)
    pages[1]["orders"][1]["line_items"][0]["quantity"] = "one"
    return _folder(tmp_path, pages)


def test_a_reject_in_a_later_chunk_names_its_row(tmp_path: Path) -> None:
    folder = _bad_order_at_row_9(tmp_path)
    settings = _settings(tmp_path, "db")
    result = _import(settings, folder, 5)  # row 9 is the fourth record of the second chunk
    (reason,) = result.reject_reasons
    assert (reason.first_row, reason.field, reason.count) == (9, "line_items[0].quantity", 1)
    (orders,) = [f for f in result.files if f.format == "square_orders"]
    assert orders.rejects_path is not None
    rejects = pd.read_csv(orders.rejects_path)
    assert list(rejects[c.REJECT_ROW]) == [9]


def test_strict_fails_on_a_later_chunk_and_writes_nothing(tmp_path: Path) -> None:
    folder = _bad_order_at_row_9(tmp_path)
    settings = _settings(tmp_path, "db")
    _import(settings, folder / "restaurants.csv", WHOLE)  # a first import, committed
    before = checksums(settings)
    with pytest.raises(ImportFileError) as info:
        _import(settings, folder, 5, strict=True)
    assert (info.value.row, info.value.field) == (9, "line_items[0].quantity")
    assert checksums(settings) == before  # chunk one was loaded, then rolled back


# --------------------------------------------------------------------- killed import

_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from pipelines import ingest
    from pipelines.settings import load_settings

    def progress(label, done, total):
        # called before each chunk after the first: the first chunk is loaded by now
        if "records)" in label:
            os.kill(os.getpid(), signal.SIGKILL)

    settings = load_settings(home=Path(sys.argv[1]), database_url=sys.argv[2])
    request = ingest.IngestRequest(paths=(Path(sys.argv[3]),), chunk_rows=5, force=True)
    ingest.run(request, settings, progress)
    print("the import finished: it should have been killed")
    """
)


@pytest.fixture(params=["sqlite", "postgres"])
def kill_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'killed.db').as_posix()}"
    return str(request.getfixturevalue("pg_url"))


def test_a_killed_import_changes_nothing(tmp_path: Path, kill_url: str) -> None:
    folder = _folder(tmp_path, _pages())
    settings = _settings(tmp_path, "killed", kill_url)
    _import(settings, folder / "restaurants.csv", WHOLE)
    before = checksums(settings)
    assert demand_daily(settings).empty
    run = subprocess.run(
        [sys.executable, "-c", _KILLER, str(settings.home), kill_url, str(folder)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == -signal.SIGKILL, run.stdout + run.stderr
    assert checksums(settings) == before
    # and the same import, not killed, then loads the file
    result = _import(settings, folder, 5)
    assert result.rows_rejected == 0 and not demand_daily(settings).empty


# ----------------------------------------------------------- COPY against executemany


@pytest.fixture
def second_pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    name = f"flux_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield pg_admin.url.set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_copy_loads_what_executemany_loads(
    tmp_path: Path, pg_url: str, second_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path, _pages())
    copied: list[str] = []
    real_copy = loader._try_copy

    def spy(conn: Any, table: sa.Table, frame: pd.DataFrame, cols: str) -> bool:
        ok = real_copy(conn, table, frame, cols)
        if ok:
            copied.append(table.name)
        return ok

    monkeypatch.setattr(loader, "_try_copy", spy)
    with_copy = _settings(tmp_path, "copy", pg_url)
    expected = _import(with_copy, folder, 5)
    assert any(name.startswith("stage_") for name in copied)  # staging tables took COPY
    assert "order_lines" in copied  # a first import of a restaurant goes straight in

    # the path of a server without COPY (PGlite): the fallback after FeatureNotSupported
    monkeypatch.setattr(loader, "_try_copy", lambda *args: False)
    without = _settings(tmp_path, "plain", second_pg_url)
    got = _import(without, folder, 5)
    assert _content(without) == _content(with_copy)
    assert _figures(got) == _figures(expected)


# ------------------------------------------------------------ mapped CSV (format csv)

# Toast's ItemSelectionDetails.csv (tests/fixtures/vendors/toast/README.md: the columns of
# Toast's data export field reference), read as a mapped CSV. Its 9 lines
# (file rows 2-10) are 4 orders of Harbor Grill: 101 on rows 2-4, 102 on rows 5-8 (a void),
# 103 on row 9, 104 on row 10 (a void only).
TOAST_ITEMS = (
    ROOT
    / "tests"
    / "fixtures"
    / "vendors"
    / "toast"
    / "6f1c2a8e-3b4d-4e5f-9a7b-1c2d3e4f5a6b"
    / "20250311"
    / "ItemSelectionDetails.csv"
)
CSV_RESTAURANTS = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    "r01,Harbor Grill,America/New_York,US,NY,4,csv,Harbor Grill,USD\n"
)
ITEMS_MAPPING = """
source = "toast_items"
timestamp_format = "%m/%d/%Y %H:%M:%S"
timezone = "local"

[columns]
restaurant_id = "Location"
order_id = "Order Id"
timestamp = "Order Date"
item = "Menu Item"
category = "Sales Category"
quantity = "Qty"
amount = "Net Price"
kind = "Void?"
{line_id}
[kinds]
"false" = "sale"
"true" = "void"
"""
LINE_ID = 'line_id = "Item Selection Id"'


def _csv_folder(tmp_path: Path, data: bytes, line_id: str = LINE_ID) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "restaurants.csv").write_text(CSV_RESTAURANTS, encoding="utf-8")
    (folder / "items.csv").write_bytes(data)
    (folder / "items.mapping.toml").write_text(
        ITEMS_MAPPING.format(line_id=line_id), encoding="utf-8"
    )
    return folder


def _items_rows() -> list[bytes]:
    """The fixture's lines (with their line ends); the header is the first."""
    return TOAST_ITEMS.read_bytes().splitlines(keepends=True)


def _import_items(settings: Settings, folder: Path, chunk_rows: int) -> ingest.IngestResult:
    """The restaurants, then the items as a mapped CSV (detection would take it for Toast)."""
    _import(settings, folder / "restaurants.csv", WHOLE)
    return _import(settings, folder / "items.csv", chunk_rows, format="csv")


def _sqlite_value(tmp_path: Path, name: str, sql: str, **params: Any) -> Any:
    db = sa.create_engine(f"sqlite:///{(tmp_path / f'{name}.db').as_posix()}")
    with db.connect() as conn:
        value = conn.execute(sa.text(sql), params).scalar_one()
    db.dispose()
    return value


@pytest.mark.parametrize("tiny_blocks", [False, True], ids=["lf", "bom-crlf-3-byte-blocks"])
@pytest.mark.parametrize("line_id", [LINE_ID, ""], ids=["line-ids", "numbered-lines"])
@pytest.mark.parametrize("chunk_rows", [1, 5, 7])
def test_mapped_csv_chunks_load_what_the_whole_file_loads(
    tmp_path: Path,
    chunk_rows: int,
    line_id: str,
    tiny_blocks: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks of 1, 5 and 7 rows cut orders 101 and 102 in two; the orders, line numbers
    (``<order id>:<n>`` without a line id column) and figures are those of one chunk."""
    folder = _csv_folder(tmp_path, TOAST_ITEMS.read_bytes(), line_id)
    if tiny_blocks:  # a BOM and CRLF ends, decoded 3 bytes at a time: CRLF and the BOM split
        data = b"\xef\xbb\xbf" + TOAST_ITEMS.read_bytes().replace(b"\n", b"\r\n")
        (folder / "items.csv").write_bytes(data)
        monkeypatch.setattr(_csv_common, "_BLOCK_BYTES", 3)
    expected, got = _whole_and_chunked(
        tmp_path, lambda s, n: _import_items(s, folder, n), chunk_rows
    )
    assert _figures(got) == _figures(expected)
    (items,) = [f for f in got.files if f.format == "csv"]
    assert (items.rows_read, items.rows_rejected) == (9, 0)
    # 4 orders; order 102 opens at its lines' time, 19:45 in New York (EDT, UTC-4) = 23:45 UTC
    assert _sqlite_value(tmp_path, "chunked", "SELECT count(*) FROM orders") == 4
    opened = _sqlite_value(
        tmp_path,
        "chunked",
        "SELECT opened_at_utc FROM orders WHERE order_id = :o",
        o="1300000019000000102",
    )
    assert str(opened).startswith("2025-03-11 23:45:00")
    if not line_id:  # order 102's fourth row (file row 8, the gift card) is line 102:4
        item = _sqlite_value(
            tmp_path,
            "chunked",
            "SELECT item FROM order_lines WHERE line_id = :l",
            l="1300000019000000102:4",
        )
        assert item == "Gift Card"


def test_mapped_csv_repeated_line_in_a_later_chunk_wins(tmp_path: Path) -> None:
    """Line 2201 (row 2) again as row 11, with quantity 2 and $28.00: the copy read last wins,
    in one chunk or in the third chunk of five rows."""
    rows = _items_rows()
    again = rows[1].replace(b",14.00,0.00,14.00,1.0,", b",28.00,0.00,28.00,2.0,")
    assert again != rows[1]
    folder = _csv_folder(tmp_path, b"".join([*rows, again]))
    # chunks of 5: rows 2-6, 7-11: the copy is in the second chunk (a duplicate in the file)
    whole, chunked = _whole_and_chunked(tmp_path, lambda s, n: _import_items(s, folder, n), 5)
    assert _figures(chunked) == _figures(whole)
    assert [f.rows_duplicate for f in whole.files if f.format == "csv"] == [1]
    sql = "SELECT quantity FROM order_lines WHERE line_id = :l"
    assert _sqlite_value(tmp_path, "chunked", sql, l="1300000019000002201") == 2.0


def test_mapped_csv_reject_in_a_later_chunk_names_its_row(tmp_path: Path) -> None:
    rows = _items_rows()
    rows[8] = rows[8].replace(b",26.00,1.0,", b",26.00,one,")  # file row 9: Fish & Chips
    folder = _csv_folder(tmp_path, b"".join(rows))
    result = _import_items(_settings(tmp_path, "db"), folder, 5)  # row 9: second chunk (rows 7-10)
    (reason,) = result.reject_reasons
    assert (reason.first_row, reason.field, reason.count) == (9, "Qty", 1)
    (items,) = [f for f in result.files if f.format == "csv"]
    assert items.rejects_path is not None
    rejects = pd.read_csv(items.rejects_path, dtype=str)
    assert list(rejects[c.REJECT_ROW]) == ["9"]
    assert rejects[c.REJECT_RAW].iat[0] == rows[8].decode().removesuffix("\n")


def test_mapped_csv_bad_encoding_in_a_later_chunk_names_its_row(tmp_path: Path) -> None:
    rows = _items_rows()
    rows[8] = rows[8].replace(b"Fish & Chips", b"Fish \xff Chips")  # not UTF-8, file row 9
    folder = _csv_folder(tmp_path, b"".join(rows))
    with pytest.raises(ImportFileError) as info:
        _import_items(_settings(tmp_path, "db"), folder, 1)
    assert info.value.row == 9 and "UTF-8" in str(info.value)


def test_mapped_csv_order_opens_at_its_earliest_line_across_chunks(tmp_path: Path) -> None:
    """Order 102's first line (row 5) rung up at 19:40, its others at 19:45: in chunks of five
    rows (2-6, 7-10) its last chunk holds only 19:45 lines, yet the order opens at 19:40 EDT
    (23:40 UTC), as in one chunk; and as the whole-file parse gives it."""
    rows = _items_rows()
    assert rows[4].count(b"03/11/2025 19:45:00") == 1
    rows[4] = rows[4].replace(b"03/11/2025 19:45:00", b"03/11/2025 19:40:00")
    folder = _csv_folder(tmp_path, b"".join(rows))
    _whole_and_chunked(tmp_path, lambda s, n: _import_items(s, folder, n), 5)
    sql = "SELECT opened_at_utc FROM orders WHERE order_id = :o"
    opened = _sqlite_value(tmp_path, "chunked", sql, o="1300000019000000102")
    assert str(opened).startswith("2025-03-11 23:40:00")


@pytest.mark.parametrize("multiline", [False, True], ids=["plain", "line-break-in-row-8"])
@pytest.mark.parametrize("chunk_rows", [1, 5, 7])
def test_mapped_csv_chunks_are_the_whole_file_parse_cut(
    tmp_path: Path, chunk_rows: int, multiline: bool
) -> None:
    """The chunks hold the rows, line ids, rejects and row numbers of the whole-file parse; an
    order's last row is its whole-file row. Plain chunks are split by pyarrow; with a quoted
    line break in row 8's Tab Name the chunk holding it and the rest of the file go through the
    csv module (and so does the whole file), and row numbers still count records."""
    from pipelines.io.adapters import generic
    from pipelines.io.adapters.base import Directory, ParseContext, RestaurantInfo

    rows = _items_rows()
    rows[4] = rows[4].replace(b"03/11/2025 19:45:00", b"03/11/2025 19:40:00")
    rows[8] = rows[8].replace(b",26.00,1.0,", b",26.00,one,")  # row 9 rejected
    if multiline:
        assert rows[7].endswith(b",\n")  # an empty Tab Name, the last column
        rows[7] = rows[7][:-1] + b'"Smith\nparty of 4"\n'
    folder = _csv_folder(tmp_path, b"".join(rows), line_id="")
    harbor = RestaurantInfo("r01", "America/New_York", 4, "USD", "csv", "Harbor Grill")
    ctx = ParseContext(directory=Directory([harbor]))
    path = folder / "items.csv"
    whole = generic.ADAPTER.parse(path, ctx)
    chunks = list(generic.ADAPTER.parse_chunks(path, ctx, chunk_rows))
    assert len(chunks) == -(-9 // chunk_rows)
    assert sum(p.rows_read for p in chunks) == whole.rows_read == 9
    lines = pd.concat([p.lines for p in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(lines, whole.lines)
    rejects = pd.concat([p.rejects for p in chunks if len(p.rejects)], ignore_index=True)
    pd.testing.assert_frame_equal(rejects, whole.rejects)
    assert list(rejects[c.REJECT_ROW]) == [9]
    keys = [c.RESTAURANT_ID, c.SOURCE, c.ORDER_ID]
    orders = pd.concat([p.orders for p in chunks], ignore_index=True)
    last = orders.drop_duplicates(keys, keep="last").sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(last, whole.orders.sort_values(keys, ignore_index=True))


# ---------------------------------------------------------- Revel Data Connector CSVs

# tests/fixtures/vendors/revel/ (README: Revel's "Data model: wide_order" and "wide_order_item"
# pages): wide_order.csv, 11 orders; wide_order_item.csv, 14 item lines (rows 2-15) of which
# row 14 names an unknown establishment (99) and row 15 (a second line of order 1002, whose
# first is row 6) has pure_sales "abc".
REVEL = ROOT / "tests" / "fixtures" / "vendors" / "revel"


def _revel_folder(tmp_path: Path, items: bytes | None = None) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("restaurants.csv", "wide_order.csv", "wide_order_item.csv"):
        (folder / name).write_bytes((REVEL / name).read_bytes())
    if items is not None:
        (folder / "wide_order_item.csv").write_bytes(items)
    return folder


@pytest.mark.parametrize("chunk_rows", [1, 5, 7])
def test_revel_chunks_load_what_the_whole_file_loads(tmp_path: Path, chunk_rows: int) -> None:
    folder = _revel_folder(tmp_path)
    figures, _ = _per_file(tmp_path, folder, chunk_rows)
    assert figures["wide_order_item.csv"] == (14, 2)
    assert figures["wide_order.csv"][0] == 11


def test_revel_rejects_in_a_later_chunk_name_their_rows(tmp_path: Path) -> None:
    result = _import(_settings(tmp_path, "db"), _revel_folder(tmp_path), 5)
    (items,) = [f for f in result.files if Path(f.path).name == "wide_order_item.csv"]
    assert items.rejects_path is not None
    rejects = pd.read_csv(items.rejects_path, dtype=str)
    # rows 14 and 15 are in the third chunk of five rows (rows 12-16)
    assert list(zip(rejects[c.REJECT_ROW], rejects[c.REJECT_FIELD], strict=True)) == [
        ("14", "establishment_id"),
        ("15", "pure_sales"),
    ]


def test_revel_order_keeps_its_first_line_across_chunks(tmp_path: Path) -> None:
    """Row 15 made a valid line of order 1002 with another opening time (06:40) than row 6
    (06:45): the whole file takes the order from its first line, and so do chunks of five
    rows, where row 15 is two chunks later (a later order row would win in the database)."""
    rows = (REVEL / "wide_order_item.csv").read_bytes().splitlines(keepends=True)
    assert rows[14].startswith(b"1002,2025-03-09 06:45:00,") and b",abc," in rows[14]
    rows[14] = rows[14].replace(b"06:45:00", b"06:40:00").replace(b",abc,", b",2.500000,")
    folder = _revel_folder(tmp_path, b"".join(rows))
    (folder / "wide_order.csv").unlink()  # its row of order 1002 would set the opening time
    _whole_and_chunked(tmp_path, lambda s, n: _import(s, folder, n), 5)
    sql = "SELECT opened_at_utc FROM orders WHERE order_id = '1002' AND source = 'revel'"
    opened = _sqlite_value(tmp_path, "chunked", sql)
    assert str(opened).startswith("2025-03-09 06:45:00")


# ------------------------------------------------------------ Square Items CSV export

# tests/fixtures/vendors/square/items-sunrise-2026-07-18.csv (README: verbatim lines 1-16 of a
# real Dashboard Items export): 15 item rows (file rows 2-16) of Sunrise Social Club; its first
# transaction, 4S5oaeKrPyyWWst4wAvuQJ3qn6PZY, is rows 2-3.
SUNRISE = ROOT / "tests" / "fixtures" / "vendors" / "square" / "items-sunrise-2026-07-18.csv"
SQUARE_RESTAURANTS = (
    "restaurant_id,name,timezone,country,subdivision,cutoff_hour,pos_provider,pos_location_id,"
    "currency\n"
    "ssc,Sunrise Social Club,America/New_York,US,NY,4,square,LEKA54X3W66F5,USD\n"
)


def _square_folder(tmp_path: Path, data: bytes) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "restaurants.csv").write_text(SQUARE_RESTAURANTS, encoding="utf-8")
    (folder / "items.csv").write_bytes(data)
    return folder


@pytest.mark.parametrize("chunk_rows", [1, 5, 7])
def test_square_items_chunks_load_what_the_whole_file_loads(
    tmp_path: Path, chunk_rows: int
) -> None:
    folder = _square_folder(tmp_path, SUNRISE.read_bytes())
    figures, _ = _per_file(tmp_path, folder, chunk_rows)
    assert figures["items.csv"] == (15, 0)
    # rows 2 and 3 are lines 1 and 2 of the first transaction, in one chunk or two
    sql = "SELECT item FROM order_lines WHERE line_id = :l"
    line = "4S5oaeKrPyyWWst4wAvuQJ3qn6PZY:2"
    assert _sqlite_value(tmp_path, "chunked", sql, l=line) == "Matcha Latte"


def test_square_items_reject_in_a_later_chunk_names_its_row(tmp_path: Path) -> None:
    rows = SUNRISE.read_bytes().splitlines(keepends=True)
    assert rows[12].count(b",sticker,2.0,") == 1
    rows[12] = rows[12].replace(b",sticker,2.0,", b",sticker,two,")  # row 13: third chunk of 5
    result = _import(_settings(tmp_path, "db"), _square_folder(tmp_path, b"".join(rows)), 5)
    (reason,) = result.reject_reasons
    assert (reason.first_row, reason.field, reason.count) == (13, "Qty", 1)


# ------------------------------------------------------------------------- Toast ordersBulk

# tests/fixtures/vendors/toast/ (README: Toast Orders API 2.6.5, ``paths./ordersBulk.get``):
# ordersBulk_20250308.json is one array of 9 orders of r01 (the folder is its restaurant GUID)
# where record 9 repeats order ...0004 with an earlier modifiedDate (08:45) than record 4's
# (09:40): record 4's copy wins, and record 8's price "26,00" rejects it.
# ordersBulk_20251101.json is two page arrays written one after another (read whole).
TOAST = ROOT / "tests" / "fixtures" / "vendors" / "toast"
TOAST_GUID = "6f1c2a8e-3b4d-4e5f-9a7b-1c2d3e4f5a6b"


def _toast_orders() -> list[dict[str, Any]]:
    path = TOAST / TOAST_GUID / "ordersBulk_20250308.json"
    orders: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return orders


def _toast_folder(tmp_path: Path, files: dict[str, Any]) -> Path:
    folder = tmp_path / "in"
    (folder / TOAST_GUID).mkdir(parents=True)
    (folder / "restaurants.csv").write_bytes((TOAST / "restaurants.csv").read_bytes())
    for name, document in files.items():
        if isinstance(document, bytes):
            (folder / TOAST_GUID / name).write_bytes(document)
        else:
            (folder / TOAST_GUID / name).write_text(json.dumps(document), encoding="utf-8")
    return folder


@pytest.mark.parametrize("chunk_rows", [1, 5, 7])
def test_toast_chunks_load_what_the_whole_file_loads(tmp_path: Path, chunk_rows: int) -> None:
    pages = (TOAST / TOAST_GUID / "ordersBulk_20251101.json").read_bytes()
    folder = _toast_folder(tmp_path, {"one.json": _toast_orders(), "pages.json": pages})
    figures, _ = _per_file(tmp_path, folder, chunk_rows)
    assert figures["one.json"] == (9, 1)
    # order ...0004's chowder: record 4's price 11.00, not record 9's 10.00, in any chunk
    sql = "SELECT net_amount_minor FROM order_lines WHERE line_id = :l"
    assert _sqlite_value(tmp_path, "chunked", sql, l="c3283098-44c1-4712-866a-000000000009") == 1100


def test_toast_page_arrays_stream_and_the_latest_copy_wins(tmp_path: Path) -> None:
    """One array of page arrays (how a script saves ``page=1..n``): a copy of order ...0002
    modified later, with its first selection's quantity doubled, is on the last page; it wins
    whether it is in the chunk of the first copy or two chunks later."""
    orders = _toast_orders()
    again = copy.deepcopy(orders[1])
    again["modifiedDate"] = "2025-03-09T12:00:00.000+0000"
    selection = again["checks"][0]["selections"][0]
    selection["quantity"] = 2 * selection["quantity"]
    folder = _toast_folder(tmp_path, {"pages.json": [orders[:4], orders[4:], [again]]})
    # chunks of 5: records 1-5, 6-10; the copy is record 10, the first copy record 2
    whole, _ = _whole_and_chunked(tmp_path, lambda s, n: _import(s, folder, n), 5)
    (read,) = [f for f in whole.files if Path(f.path).name == "pages.json"]
    assert (read.rows_read, read.rows_rejected) == (10, 1)
    sql = "SELECT quantity FROM order_lines WHERE line_id = :l"
    assert _sqlite_value(tmp_path, "chunked", sql, l=selection["guid"]) == selection["quantity"]


def test_toast_reject_in_a_later_chunk_names_its_row(tmp_path: Path) -> None:
    orders = _toast_orders()
    orders[6]["openedDate"] = "yesterday"  # record 7: the second chunk of five, as is record 8
    result = _import(_settings(tmp_path, "db"), _toast_folder(tmp_path, {"o.json": orders}), 5)
    reasons = sorted((r.first_row, r.field, r.count) for r in result.reject_reasons)
    assert reasons == [(7, "openedDate", 1), (8, "checks[0].selections[0].price", 1)]


# ----------------------------------------------------------------- Lightspeed Financial API

# tests/fixtures/vendors/lightspeed/ (README: the K-Series Financial API OpenAPI, mirrored in
# api-evangelist/lightspeed-pos): v1_financials_le_petit_zinc.json, one V1 response of r03 with
# 17 sales (sale 1, A65315.17, is a SALE opened 2025-10-24T19:58:48.224Z with 2.0 covers);
# ikentoo_financials_harbour_fish_bar.json (UTF-8 BOM); v2_sales_harbour_fish_bar.json, a V2
# response naming no location (its folder, 7700112, does); v1_pages_two_locations.json, an array
# of four responses, the last of an unknown business location (999): its sale is rejected.
V1_NAME = "v1_financials_le_petit_zinc.json"


def _lightspeed_folder(tmp_path: Path, v1: bytes | None = None) -> Path:
    from tests.test_vendor_lightspeed import PAGES, V1, import_folder

    folder = import_folder(tmp_path)
    (folder / PAGES.name).write_bytes(PAGES.read_bytes())
    if v1 is not None:
        (folder / V1.name).write_bytes(v1)
    return folder


def _v1_sales() -> dict[str, Any]:
    from tests.test_vendor_lightspeed import V1

    document: dict[str, Any] = json.loads(V1.read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize("chunk_rows", [1, 5, 7])
def test_lightspeed_chunks_load_what_the_whole_file_loads(tmp_path: Path, chunk_rows: int) -> None:
    folder = _lightspeed_folder(tmp_path)
    figures, _ = _per_file(tmp_path, folder, chunk_rows)
    assert figures[V1_NAME] == (17, 0)
    assert figures["v1_pages_two_locations.json"] == (4, 1)


def test_lightspeed_reject_in_a_later_chunk_names_its_row(tmp_path: Path) -> None:
    document = _v1_sales()
    document["sales"][5]["timeofOpening"] = "yesterday"  # sale 6 (a SALE): the second chunk
    folder = _lightspeed_folder(tmp_path, json.dumps(document).encode())
    result = _import(_settings(tmp_path, "db"), folder, 5)
    reasons = {(r.first_file, r.first_row, r.field) for r in result.reject_reasons}
    assert (V1_NAME, 6, "timeofOpening") in {(Path(f).name, n, x) for f, n, x in reasons}


def test_lightspeed_reads_on_whole_where_the_stream_stops(tmp_path: Path) -> None:
    """Sale 7's covers (a SALE, A65315.23) are written ``NaN``, which Python's json reads and
    the streaming reader does not: the stream stops there and the file is read whole from sale 7
    on, so chunks of five (sales 1-5 and 6 streamed) store what one chunk stores, and sale 7 is
    rejected (not a plausible guest count)."""
    text = json.dumps(_v1_sales())
    marker = '"accountFiscId": "A65315.23"'
    assert text.count(marker) == 1
    covers = text.index('"nbCovers": 2.0', text.index(marker))
    text = text[:covers] + '"nbCovers": NaN' + text[covers + len('"nbCovers": 2.0') :]
    folder = _lightspeed_folder(tmp_path, text.encode())
    whole, chunked = _whole_and_chunked(tmp_path, lambda s, n: _import(s, folder, n), 5)
    assert _figures(chunked) == _figures(whole)
    (zinc,) = [f for f in chunked.files if f.path.endswith("zinc.json")]
    assert (zinc.rows_read, zinc.rows_rejected) == (17, 1)


# ------------------------------------------------------------------------- Clover orders

# tests/fixtures/vendors/clover/ (README: clover/clover-android-sdk's recorded orders and
# models, Clover's REST docs): orders_night_owl.json, a list response of 9 orders of merchant
# 7RZK2M4QX9WBA (r04), its ``href`` after its ``elements``; orders_vat_dublin.json (r11);
# order_single.json, one order (read whole); orders_two_merchants.json (UTF-8 BOM), an array of
# two list responses, one order of 7RZK2M4QX9WBA (r04) and two of SJ4CAFE7KQ2MB (r10), the
# second naming in its own href a merchant no restaurant has (QQ9UNKNOWNMER): rejected.
CLOVER = ROOT / "tests" / "fixtures" / "vendors" / "clover"
CLOVER_FILES = (
    "orders_night_owl.json",
    "orders_vat_dublin.json",
    "order_single.json",
    "orders_two_merchants.json",
)


def _clover_folder(tmp_path: Path, files: dict[str, Any]) -> Path:
    from tests.test_vendor_clover import RESTAURANTS_CSV

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "restaurants.csv").write_text(RESTAURANTS_CSV, encoding="utf-8")
    for name, document in files.items():
        data = document if isinstance(document, bytes) else json.dumps(document).encode()
        (folder / name).write_bytes(data)
    return folder


def _clover(name: str) -> Any:
    return json.loads((CLOVER / name).read_text(encoding="utf-8-sig"))


def _without_own_merchant(orders: list[dict[str, Any]]) -> None:
    """Drops what names an order's merchant (its ``href``), so its list response's ``href``
    places it."""
    for order in orders:
        order.pop("href", None)
        assert "merchant" not in order and "href" not in json.dumps(order)


@pytest.mark.parametrize("chunk_rows", [1, 5, 7])
def test_clover_chunks_load_what_the_whole_file_loads(tmp_path: Path, chunk_rows: int) -> None:
    folder = _clover_folder(tmp_path, {n: (CLOVER / n).read_bytes() for n in CLOVER_FILES})
    figures, got = _per_file(tmp_path, folder, chunk_rows)
    assert figures["orders_night_owl.json"] == (9, 0)
    assert figures["orders_two_merchants.json"] == (3, 1)
    assert set(got.restaurants) == {"r04", "r10", "r11"}


def test_clover_orders_placed_by_a_href_after_them(tmp_path: Path) -> None:
    """Orders that name no merchant go to the merchant of the list response they are in, whose
    ``href`` the file writes after the orders: in one list response (one merchant), and in an
    array of two (two merchants, so each order by its own page; the order that named an unknown
    merchant now takes its page's, r10)."""
    one = _clover("orders_night_owl.json")
    assert list(one) == ["elements", "href"]
    _without_own_merchant(one["elements"])
    pages = _clover("orders_two_merchants.json")
    for page in pages:
        _without_own_merchant(page["elements"])
    folder = _clover_folder(tmp_path, {"one.json": one, "pages.json": pages})
    _, got = _whole_and_chunked(tmp_path, lambda s, n: _import(s, folder, n), 2)
    assert {(Path(f.path).name, f.rows_rejected) for f in got.files if f.format == "clover"} == {
        ("one.json", 0),
        ("pages.json", 0),
    }
    sql = "SELECT restaurant_id FROM orders WHERE order_id = :o"
    assert _sqlite_value(tmp_path, "chunked", sql, o=one["elements"][8]["id"]) == "r04"
    assert _sqlite_value(tmp_path, "chunked", sql, o=pages[0]["elements"][0]["id"]) == "r04"
    assert _sqlite_value(tmp_path, "chunked", sql, o=pages[1]["elements"][1]["id"]) == "r10"


def test_clover_reject_in_a_later_chunk_names_its_row(tmp_path: Path) -> None:
    document = _clover("orders_night_owl.json")
    document["elements"][6]["clientCreatedTime"] = "noon"  # order 7: the second chunk of five
    result = _import(_settings(tmp_path, "db"), _clover_folder(tmp_path, {"o.json": document}), 5)
    (reason,) = result.reject_reasons
    assert (reason.first_row, reason.field, reason.count) == (7, "clientCreatedTime", 1)
