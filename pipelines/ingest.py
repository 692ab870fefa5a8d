"""``flux import``: read POS exports, series and metadata; validate; normalise; load.

The whole command is one transaction: every file is parsed and validated first, then all rows are
written, the demand rollups refreshed, the rejects files written and the batches recorded, and only
then is it committed. Nothing is written when:

- a file cannot be read, or (``strict``) has a rejected row;
- a file's rows are all rejected, or a sales file lands no demand (none of the business days it
  touches has a demand order once it is loaded), unless ``allow_rejects``;
- the command would load nothing at all from the files it had to read.

A dry run does all of that inside a transaction it rolls back (on a database not migrated yet, in
a scratch SQLite database), and reports per business day what the import would leave.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError, UsageError
from pipelines.io import adapters, files, imports, rollups
from pipelines.io.adapters import limits
from pipelines.io.adapters.base import Adapter, ColumnMapping, Directory, ParseContext, ParsedFile
from pipelines.io.adapters.limits import ImportLimits
from pipelines.io.db import Connection, Database, DbCapabilities
from pipelines.io.keyindex import DayPairs
from pipelines.progress import Progress
from pipelines.settings import Settings
from pipelines.version import flux_version


@dataclass(frozen=True)
class IngestRequest:
    """What to import and how.

    Attributes:
        paths: Files and folders (folders are searched recursively for data files).
        format: Force one format for every file (None: detect each file's format).
        restaurants: Import only these restaurants' rows (None: all).
        mapping: Column mapping for generic CSV and series files.
        encoding: Text encoding of the files (None: UTF-8).
        strict: Any rejected row fails the whole command.
        force: Re-import files already imported (by content hash).
        rejects_dir: Where reject files go (None: the settings' default).
        allow_rejects: Import what is good even from a file whose rows are all rejected or that
            lands no demand.
        dry_run: Parse, validate and load inside a transaction that is rolled back; report per
            business day what the import would leave. Nothing is written.
        replace: Make the one restaurant of ``restaurants`` equal the files over their business
            days (or ``replace_range``): its orders there that no file holds are removed (a
            corrected export). Implies ``force``.
        replace_range: The business days to replace (first, last), instead of the files' span.
        chunk_rows: Records parsed and loaded at a time by the formats that stream (see
            :func:`pipelines.io.adapters.parse_chunks`): memory holds one chunk, not the file.
    """

    paths: tuple[Path, ...]
    format: str | None = None
    restaurants: frozenset[str] | None = None
    mapping: ColumnMapping | None = None
    encoding: str | None = None
    strict: bool = False
    force: bool = False
    rejects_dir: Path | None = None
    allow_rejects: bool = False
    dry_run: bool = False
    replace: bool = False
    replace_range: tuple[dt.date, dt.date] | None = None
    chunk_rows: int = 10_000


@dataclass(frozen=True)
class Replaced:
    """What a replacing import removed from one restaurant (a dry run: would remove)."""

    restaurant_id: str
    first_day: dt.date
    last_day: dt.date
    orders_removed: int
    lines_removed: int


@dataclass(frozen=True)
class FileResult:
    """One file's outcome. ``status`` is loaded, unchanged (already imported), empty (no data
    rows) or skipped (not a known format).

    ``restaurants`` are those its rows went to; ``rows_outside_scope`` counts the orders and lines
    it held for restaurants outside ``--restaurant``.
    """

    path: str
    format: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rejects_path: str | None = None
    note: str = ""
    restaurants: tuple[str, ...] = ()
    rows_outside_scope: int = 0


@dataclass(frozen=True)
class RejectReason:
    """One reason rows were rejected, across the command's files: how often, and where first."""

    field: str
    reason: str
    count: int
    first_file: str
    first_row: int


@dataclass(frozen=True)
class DayFigures:
    """A restaurant's demand on one business day: after the import, and before it (dry runs)."""

    restaurant_id: str
    business_date: dt.date
    orders: int
    covers: int | None
    net_sales: float
    orders_before: int
    covers_before: int | None
    net_sales_before: float


@dataclass(frozen=True)
class IngestResult:
    """The outcome of one ``flux import``.

    ``days`` and ``problems`` are filled for dry runs: per restaurant and business day the import
    touches, the demand it would leave (and what is there now); and each file the real import
    would refuse, with why (it then exits 2).
    """

    batch_id: str
    database: str
    files: tuple[FileResult, ...]
    restaurants: tuple[str, ...]
    seconds: float
    reject_reasons: tuple[RejectReason, ...] = ()
    dry_run: bool = False
    days: tuple[DayFigures, ...] = ()
    problems: tuple[str, ...] = ()
    replaced: Replaced | None = None
    rows_read: int = field(init=False)
    rows_loaded: int = field(init=False)
    rows_rejected: int = field(init=False)
    rows_duplicate: int = field(init=False)
    rows_outside_scope: int = field(init=False)

    def __post_init__(self) -> None:
        for name in (
            "rows_read",
            "rows_loaded",
            "rows_rejected",
            "rows_duplicate",
            "rows_outside_scope",
        ):
            object.__setattr__(self, name, sum(getattr(f, name) for f in self.files))


def collect_files(paths: tuple[Path, ...]) -> list[Path]:
    """Expands folders into their data files (sorted); explicit files are kept as given."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and adapters.is_data_file(p))
            )
        elif path.is_file():
            out.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for p in out:
        if p.resolve() not in seen:
            seen.add(p.resolve())
            unique.append(p)
    return unique


@dataclass
class _Planned:
    path: Path
    adapter: Adapter
    sha256: str
    explicit: bool


_METADATA = frozenset(adapters.LOAD_ORDER)
"""Formats that describe restaurants and calendars, not sales."""


def _mapped_format(mapping: ColumnMapping) -> str:
    """The format a ``--mapping``/``--map`` implies: ``series`` when it maps a series' value or
    date (or names a target), else the generic order-line format ``csv``."""
    series_fields = {c.VALUE, c.DATE}
    if mapping.target is not None or series_fields & set(mapping.columns):
        return "series"
    return "csv"


def _adapter_for(path: Path, request: IngestRequest) -> Adapter | None:
    """The adapter for one file: ``--format``; else restaurants and events files as detected, and
    every other file the format a mapping implies; else detection."""
    if request.format:
        return adapters.get(request.format)
    detected = adapters.detect(path)
    if request.mapping is not None and (detected is None or detected.name not in _METADATA):
        return adapters.get(_mapped_format(request.mapping))
    return detected


def _plan(request: IngestRequest, explicit: set[Path]) -> tuple[list[_Planned], list[FileResult]]:
    planned: list[_Planned] = []
    skipped: list[FileResult] = []
    for path in collect_files(request.paths):
        adapter = _adapter_for(path, request)
        if adapter is None:
            if path in explicit:
                raise ImportFileError(
                    str(path),
                    f"cannot tell the file's format: it is {adapters.describe(path)}, which is "
                    f"none of the formats Flux reads ({', '.join(adapters.FORMATS)}; see "
                    "docs/formats.md); pass --format NAME, or --mapping FILE for any CSV",
                )
            skipped.append(
                FileResult(
                    str(path),
                    "?",
                    "skipped",
                    note=f"not a known format ({adapters.describe(path)})",
                )
            )
            continue
        planned.append(_Planned(path, adapter, files.sha256(path), path in explicit))
    planned.sort(key=lambda p: adapters.LOAD_ORDER.get(p.adapter.name, 9))
    return planned, skipped


def _scope_frames(parsed: ParsedFile, scope: frozenset[str] | None) -> tuple[ParsedFile, int]:
    """The file's rows of the restaurants in ``scope``, and how many were left out (counted in
    the file's main records: lines, else orders, else values or metadata rows)."""
    if scope is None:
        return parsed, 0
    left_out: dict[str, int] = {}

    def keep(name: str, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        inside = frame[c.RESTAURANT_ID].isin(scope | {c.ALL_RESTAURANTS})
        left_out[name] = int((~inside).sum())
        return frame[inside]

    scoped = replace(
        parsed,
        lines=keep("lines", parsed.lines),
        orders=keep("orders", parsed.orders),
        observations=keep("observations", parsed.observations),
        restaurants=keep("restaurants", parsed.restaurants),
        events=keep("events", parsed.events),
        regressors=keep("regressors", parsed.regressors),
    )
    main = next(iter(left_out), None)  # in the order above: lines first
    return scoped, left_out[main] if main else 0


def _directory_add(directory: Directory, parsed: ParsedFile) -> None:
    from pipelines.io.adapters.base import RestaurantInfo

    for r in parsed.restaurants.to_dict("records"):
        directory.add(
            RestaurantInfo(
                id=str(r[c.RESTAURANT_ID]),
                timezone=str(r[c.TIMEZONE]),
                cutoff_hour=int(r[c.CUTOFF_HOUR]),
                currency=str(r[c.CURRENCY] or "USD"),
                pos_provider=r[c.POS_PROVIDER] or None,
                pos_location_id=r[c.POS_LOCATION_ID] or None,
            )
        )


@dataclass
class _Parsed:
    """A file parsed and scoped, waiting to be loaded."""

    plan: _Planned
    parsed: ParsedFile
    outside: int  # rows left out by --restaurant
    days: DayPairs = field(default_factory=DayPairs)
    """The (restaurant, business day) pairs the file's orders and lines touch."""

    @property
    def is_sales(self) -> bool:
        return bool(self.days.size)  # every order and line has its business day

    @property
    def restaurants(self) -> tuple[str, ...]:
        ids = set(self.days.restaurants())
        ids.update(str(r) for r in self.parsed.observations[c.RESTAURANT_ID].dropna().unique())
        return tuple(sorted(ids))


def _scoped_chunk(
    plan: _Planned, whole: ParsedFile, request: IngestRequest, ctx: ParseContext
) -> tuple[ParsedFile, int]:
    """One chunk of a file, scoped to ``--restaurant``, and how many rows that left out.

    Raises:
        ImportFileError: ``strict`` and the chunk has a rejected row.
    """
    if plan.adapter.name == "restaurants":  # every one, so rows of others are told apart
        _directory_add(ctx.directory, whole)
    parsed, outside = _scope_frames(whole, request.restaurants)
    if request.strict and not parsed.rejects.empty:
        first = parsed.rejects.iloc[0]
        raise ImportFileError(
            str(plan.path),
            f"{first[c.REJECT_REASON]} (--strict: nothing was imported)",
            row=int(first[c.REJECT_ROW]),
            field=str(first[c.REJECT_FIELD]),
        )
    return parsed, outside


def _not_loaded(item: _Parsed) -> FileResult | None:
    """Why a parsed file is not counted as loaded (no data rows, or only rows of restaurants
    outside ``--restaurant``), or None."""
    plan, parsed, outside = item.plan, item.parsed, item.outside
    if parsed.rows_read == 0 and plan.adapter.name not in _METADATA:
        return FileResult(str(plan.path), plan.adapter.name, "empty", note="no data rows")
    if outside and not item.restaurants and plan.adapter.name not in _METADATA:
        return FileResult(
            str(plan.path),
            plan.adapter.name,
            "skipped",
            rows_read=parsed.rows_read,
            note=f"all its {outside:,} rows are other restaurants' (--restaurant)",
            rows_outside_scope=outside,
        )
    return None


def _check_scope(request: IngestRequest, directory: Directory) -> None:
    """Fails on a --restaurant that no restaurants file (stored or in this import) defines."""
    if request.restaurants:
        unknown = sorted(r for r in request.restaurants if directory.by_id(r) is None)
        if unknown:
            raise UsageError(f"unknown restaurant(s): {', '.join(unknown)}")


def _slim(parsed: ParsedFile, keep_keys: bool) -> ParsedFile:
    """What the rest of an import needs of a loaded file besides its business days (kept in a
    :class:`DayPairs`): its order and line keys when it replaces, the restaurants of its
    observations, its rejects; so files need not stay in memory."""
    days = [c.RESTAURANT_ID, c.BUSINESS_DATE]
    order_cols = [*days, c.SOURCE, c.ORDER_ID]
    line_cols = [*order_cols, c.LINE_ID]
    return replace(
        parsed,
        orders=(
            parsed.orders[order_cols] if keep_keys else parsed.orders[days][:0]
        ).drop_duplicates(),
        lines=(parsed.lines[line_cols] if keep_keys else parsed.lines[days][:0]).drop_duplicates(),
        observations=parsed.observations[[c.RESTAURANT_ID]].drop_duplicates(),
    )


def _merge_slim(done: ParsedFile | None, chunk: ParsedFile) -> ParsedFile:
    """The slim summaries (:func:`_slim`) of a file's chunks so far, with one more chunk's."""
    if done is None:
        return chunk

    def both(a: pd.DataFrame, b: pd.DataFrame, distinct: bool = True) -> pd.DataFrame:
        if b.empty:
            return a
        if a.empty:
            return b
        out = pd.concat([a, b], ignore_index=True)
        return out.drop_duplicates(ignore_index=True) if distinct else out

    return replace(
        done,
        rows_read=done.rows_read + chunk.rows_read,
        orders=both(done.orders, chunk.orders),
        lines=both(done.lines, chunk.lines),
        observations=both(done.observations, chunk.observations),
        restaurants=both(done.restaurants, chunk.restaurants, distinct=False),
        events=both(done.events, chunk.events, distinct=False),
        rejects=both(done.rejects, chunk.rejects, distinct=False),
    )


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_TOP_REASONS = 5


def reject_reasons(items: list[tuple[str, pd.DataFrame]]) -> tuple[RejectReason, ...]:
    """The most frequent reject reasons over several files' rejects, most frequent first.

    Reasons that differ only in the value they quote ("not a valid amount: 'x'") count as one;
    each shows its first occurrence word for word (the value included).

    Args:
        items: (file path, rejects frame) pairs, in import order.
    """
    counts: dict[tuple[str, str], list[Any]] = {}
    for path, rejects in items:
        if rejects.empty:
            continue
        for row, field_name, reason in zip(
            rejects[c.REJECT_ROW], rejects[c.REJECT_FIELD], rejects[c.REJECT_REASON], strict=True
        ):
            key = (str(field_name), _QUOTED.sub("…", str(reason)))
            entry = counts.get(key)
            if entry is None:
                counts[key] = [1, path, int(row), str(reason)]
            else:
                entry[0] += 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1][0])
    return tuple(
        RejectReason(
            field=k[0],
            reason=v[3],
            count=v[0],
            first_file=v[1],
            first_row=v[2],
        )
        for k, v in ranked
    )


def _problem(item: _Parsed, demand_days: int | None) -> str | None:
    """Why a file must not be imported as it stands (all rows rejected, or no demand), or None.

    Args:
        item: The parsed file.
        demand_days: For a sales file, how many of the business days it touches have a demand
            order once it is loaded; None for other files.
    """
    parsed = item.parsed
    n_rejected = len(parsed.rejects)
    if n_rejected and n_rejected >= parsed.rows_read:
        top = reject_reasons([(item.plan.path.as_posix(), parsed.rejects)])[0]
        return (
            f"every row was rejected ({n_rejected:,}); the first: row {top.first_row} field "
            f"{top.field!r}: {top.reason}"
            + (f" (and {top.count - 1:,} more like it)" if top.count > 1 else "")
        )
    if not item.is_sales:
        if item.plan.adapter.name not in _METADATA and parsed.observations.empty:
            return "it lands nothing (no rows were read as values)"
        return None
    if demand_days == 0:
        return (
            "it lands no demand: none of the business days its orders touch has an order with "
            "a sale (no item lines or order totals"
            + (f"; {n_rejected:,} rows were rejected" if n_rejected else "")
            + "). If its items come in another file (e.g. wide_order_item, "
            "ItemSelectionDetails), import them in the same command"
        )
    return None


@dataclass(frozen=True)
class _Batch:
    batch_id: str
    restaurant_scope: str
    started_at: dt.datetime
    rejects_dir: Path


class _DryRun(Exception):
    """Raised inside the dry run's transaction to roll it back."""


@dataclass
class _Streamed:
    """What the files of an import left once loaded, one at a time."""

    loaded: list[_Parsed] = field(default_factory=list)
    results: list[FileResult] = field(default_factory=list)
    others: list[FileResult] = field(default_factory=list)
    ranges: dict[str, tuple[dt.date, dt.date]] = field(default_factory=dict)

    def widen(self, touched: dict[str, tuple[dt.date, dt.date]]) -> None:
        for rid, (lo, hi) in touched.items():
            old = self.ranges.get(rid)
            self.ranges[rid] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)


@dataclass(frozen=True)
class _Job:
    """One import's files and what loading them needs."""

    planned: list[_Planned]
    done_hashes: set[str]
    ctx: ParseContext
    batch: _Batch
    request: IngestRequest
    progress: Progress | None


def _stream(conn: Connection, caps: DbCapabilities, job: _Job) -> _Streamed:
    """Parses and loads the files one at a time, and each file a chunk at a time (see
    :func:`_load_file`), each chunk dropped from memory once loaded but for a slim summary (see
    :func:`_slim`), so memory follows the largest chunk, not the files' sum."""
    planned, ctx, request, progress = job.planned, job.ctx, job.request, job.progress
    out = _Streamed()
    scope_checked = False
    for i, plan in enumerate(planned):
        if progress:
            progress(f"importing {plan.path.name}", i, len(planned))
        if plan.sha256 in job.done_hashes:
            out.others.append(
                FileResult(
                    str(plan.path),
                    plan.adapter.name,
                    "unchanged",
                    note="already imported (use --force to re-import)",
                )
            )
            continue
        if not scope_checked and plan.adapter.name not in _METADATA:
            _check_scope(request, ctx.directory)  # the restaurants files come first
            scope_checked = True
        item = _load_file(conn, caps, plan, job, out)
        skipped = _not_loaded(item.item)
        if skipped is not None:
            out.others.append(skipped)
            continue
        out.results.append(_file_result(item.item, item.counts, job.batch))
        out.loaded.append(item.item)
    if not scope_checked:
        _check_scope(request, ctx.directory)
    return out


@dataclass(frozen=True)
class _FileLoad:
    item: _Parsed  # the file's slim summary
    counts: imports.LoadCounts


def _load_file(
    conn: Connection, caps: DbCapabilities, plan: _Planned, job: _Job, out: _Streamed
) -> _FileLoad:
    """Parses, scopes and loads one file a chunk at a time (``chunk_rows`` records, for the
    formats that stream), keeping of each chunk only its slim summary (see :func:`_slim`).

    A key seen again in a later chunk updates the row an earlier chunk loaded, so the last one
    wins as within a chunk; whole-file figures (the demand a file lands, its business days, its
    rejects) are taken from the summaries after the last chunk.
    """
    request = job.request
    summary: ParsedFile | None = None
    loaded = duplicate = outside = 0
    keys = imports.FileKeys()
    days = DayPairs()
    chunks = adapters.parse_chunks(plan.adapter, plan.path, job.ctx, request.chunk_rows)
    for n, whole in enumerate(chunks):
        if job.progress and n:
            job.progress(
                f"importing {plan.path.name} ({summary.rows_read if summary else 0:,} records)",
                len(out.results) + len(out.others),
                len(job.planned),
            )
        parsed, left_out = _scoped_chunk(plan, whole, request, job.ctx)
        del whole
        out.widen(imports.stored_ranges(conn, caps, parsed, keys))
        counts = imports.load_parsed(conn, caps, parsed, keys)
        out.widen(imports.touched_ranges(parsed))
        for frame in (parsed.orders, parsed.lines):
            days.add(frame[c.RESTAURANT_ID], frame[c.BUSINESS_DATE])
        loaded, duplicate = loaded + counts.loaded, duplicate + counts.duplicate
        outside += left_out
        summary = _merge_slim(summary, _slim(parsed, keep_keys=request.replace))
    assert summary is not None  # parse_chunks yields at least one chunk
    return _FileLoad(_Parsed(plan, summary, outside, days), imports.LoadCounts(loaded, duplicate))


def _load_all(db: Database, job: _Job) -> _Loaded:
    """Reads and writes the files one at a time, refreshes the rollups, checks that each file
    landed demand, writes the rejects files and records the batches: one transaction.

    Raises:
        ImportFileError: a file cannot be read, its rows were all rejected, or it lands no demand
            (unless ``allow_rejects``), or nothing at all would be loaded. Nothing is written then.
        UsageError: a --restaurant is unknown. Nothing is written then.
    """
    planned, ctx, request, progress = job.planned, job.ctx, job.request, job.progress
    streamed = _Streamed()
    written: list[Path] = []
    days: tuple[DayFigures, ...] = ()
    problems: tuple[str, ...] = ()
    replaced: Replaced | None = None
    try:
        with db.begin() as conn:
            caps = db.capabilities(conn)
            streamed = _stream(conn, caps, job)
            to_load, results, ranges = streamed.loaded, streamed.results, streamed.ranges
            before = rollups.read_daily(conn, ranges) if request.dry_run else None
            if progress:
                progress("refreshing demand rollups", len(planned), len(planned))
            if request.replace:
                replaced = _replace(conn, caps, to_load, request, ranges)
            rollups.refresh(conn, caps, ranges)
            problems = _check_landed(conn, to_load, results, request, len(ctx.directory))
            if request.dry_run:
                days = _day_figures(conn, ranges, before)
                raise _DryRun
            _write_rejects(to_load, results, written)
            for i, (item, result) in enumerate(zip(to_load, results, strict=True)):
                imports.record_batch(
                    conn,
                    **asdict(job.batch),
                    **asdict(result),
                    file_no=i,
                    file_path=result.path,
                    file_sha256=item.plan.sha256,
                    finished_at=dt.datetime.now(dt.UTC),
                    flux_version=flux_version(),
                )
    except _DryRun:
        pass
    except BaseException:
        for path in written:  # the batch that points at them was not committed
            path.unlink(missing_ok=True)
        raise
    return _Loaded(streamed, days, problems, replaced)


@dataclass(frozen=True)
class _Loaded:
    streamed: _Streamed
    days: tuple[DayFigures, ...]
    problems: tuple[str, ...]
    replaced: Replaced | None


def _replace(
    conn: Connection,
    caps: DbCapabilities,
    to_load: list[_Parsed],
    request: IngestRequest,
    ranges: dict[str, tuple[dt.date, dt.date]],
) -> Replaced:
    """Removes the restaurant's orders in the replaced span that the files do not hold, and
    widens ``ranges`` so the rollups of that span are rebuilt."""
    assert request.restaurants is not None and len(request.restaurants) == 1
    (rid,) = request.restaurants
    parsed = [item.parsed for item in to_load if item.is_sales]
    span = request.replace_range or ranges.get(rid)
    if span is None:
        raise ImportFileError(
            str(to_load[0].plan.path) if to_load else "--replace",
            f"--replace: the files hold no order of restaurant {rid}, so they replace nothing "
            "(give the days with --replace-range FROM..TO to empty them)",
        )
    removed = imports.remove_absent(conn, caps, rid, span, parsed)
    lo, hi = ranges.get(rid, span)
    ranges[rid] = (min(lo, span[0]), max(hi, span[1]))
    return Replaced(rid, span[0], span[1], removed.orders, removed.lines)


def _write_rejects(to_load: list[_Parsed], results: list[FileResult], written: list[Path]) -> None:
    """Writes each file's rejects (before the commit, so a committed batch never points at a
    rejects file that does not exist); ``written`` collects them, to remove on a rollback."""
    for item, result in zip(to_load, results, strict=True):
        if not result.rejects_path:
            continue
        path = Path(result.rejects_path)
        try:
            files.write_rejects(path, item.parsed.rejects)
        except OSError as exc:
            raise UsageError(
                f"cannot write the rejects file {path}: {exc.strerror or exc}; nothing was "
                "imported (point --rejects at a writable folder)"
            ) from exc
        written.append(path)


def _file_result(item: _Parsed, counts: imports.LoadCounts, batch: _Batch) -> FileResult:
    parsed = item.parsed
    rejects_path = (
        files.rejects_path(batch.rejects_dir, batch.batch_id, item.plan.path)
        if not parsed.rejects.empty
        else None
    )
    note = ""
    if item.outside:
        note = f"{item.outside:,} rows of other restaurants left out (--restaurant)"
    return FileResult(
        path=str(item.plan.path),
        format=item.plan.adapter.name,
        status="loaded",
        rows_read=parsed.rows_read,
        rows_loaded=counts.loaded,
        rows_rejected=len(parsed.rejects),
        rows_duplicate=counts.duplicate,
        rejects_path=str(rejects_path) if rejects_path else None,
        note=note,
        restaurants=item.restaurants,
        rows_outside_scope=item.outside,
    )


def _check_landed(
    conn: Connection,
    to_load: list[_Parsed],
    results: list[FileResult],
    request: IngestRequest,
    known_restaurants: int,
) -> tuple[str, ...]:
    """Fails the import when a file landed nothing (see :func:`_problem`) or nothing landed.

    A dry run does not fail: it returns the messages ("<file>: <why>") instead.
    """
    problems: list[tuple[str, str]] = []
    for item in to_load:
        demand = imports.days_with_demand(conn, item.days) if item.is_sales else None
        problem = _problem(item, demand)
        if problem is not None:
            problems.append((str(item.plan.path), problem))
    if not problems and to_load and not any(r.rows_loaded or r.rows_duplicate for r in results):
        problems.append((str(to_load[0].plan.path), _NOTHING.format(_files(len(to_load)))))
    if problems and not known_restaurants:
        path, why = problems[0]
        problems[0] = (
            path,
            f"{why}; no restaurant is known yet: import restaurants.csv first, or in the same "
            "command",
        )
    if request.allow_rejects:
        return ()
    if request.dry_run:
        return tuple(f"{path}: {why}" for path, why in problems)
    if problems:
        path, reason = problems[0]
        more = (
            f" (and {len(problems) - 1} more file(s): "
            + ", ".join(p for p, _ in problems[1:4])
            + (", ..." if len(problems) > 4 else "")
            + ")"
            if len(problems) > 1
            else ""
        )
        raise ImportFileError(
            path, f"{reason}{more}; nothing was imported (--allow-rejects imports the rest anyway)"
        )
    return ()


_NOTHING = "nothing to import: no row of {} could be loaded"


def _files(n: int) -> str:
    return "this file" if n == 1 else f"these {n} files"


def _day_figures(
    conn: Connection,
    ranges: dict[str, tuple[dt.date, dt.date]],
    before: pd.DataFrame | None,
) -> tuple[DayFigures, ...]:
    """Per restaurant and business day in ``ranges``: demand after the load, and before it."""
    after = rollups.read_daily(conn, ranges)
    key = [c.RESTAURANT_ID, c.BUSINESS_DATE]
    both = after.merge(
        before if before is not None else after.iloc[0:0],
        on=key,
        how="outer",
        suffixes=("", "_before"),
    ).sort_values(key)
    scales = imports.currency_scales(conn)
    out = []
    for r in both.to_dict("records"):
        scale = scales.get(str(r[c.RESTAURANT_ID]), 100)
        out.append(
            DayFigures(
                restaurant_id=str(r[c.RESTAURANT_ID]),
                business_date=r[c.BUSINESS_DATE],
                orders=_int(r[c.ORDERS]) or 0,
                covers=_int(r[c.COVERS]),
                net_sales=(_int(r[c.NET_SALES_MINOR]) or 0) / scale,
                orders_before=_int(r[f"{c.ORDERS}_before"]) or 0,
                covers_before=_int(r[f"{c.COVERS}_before"]),
                net_sales_before=(_int(r[f"{c.NET_SALES_MINOR}_before"]) or 0) / scale,
            )
        )
    return tuple(out)


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def pending(request: IngestRequest, settings: Settings) -> tuple[list[Path], list[Path]]:
    """What :func:`run` would do with ``request``, without writing anything: the files it would
    load (new by content hash, or all with ``force``) and every file of a known format.

    On a database that is not migrated yet, every file is new.
    """
    planned, _ = _plan(request, {p for p in request.paths if p.is_file()})
    db = Database(settings)
    try:
        done: set[str] = set()
        if not request.force and db.current_revision() == db.head_revision():
            scope = ",".join(sorted(request.restaurants)) if request.restaurants else ""
            with db.connect() as conn:
                done = imports.imported_hashes(conn, (p.sha256 for p in planned), scope)
    finally:
        db.dispose()
    return [p.path for p in planned if p.sha256 not in done], [p.path for p in planned]


def _open_database(settings: Settings, dry_run: bool, scratch: Path) -> Database:
    """The database to import into. A dry run on a database that is not migrated (or does not
    exist yet) works in a scratch SQLite database instead, so it creates nothing."""
    db = Database(settings)
    if not dry_run:
        db.ensure_schema()
        return db
    if not db.is_missing() and db.current_revision() == db.head_revision():
        return db
    db.dispose()
    url = f"sqlite:///{(scratch / 'dry-run.db').as_posix()}"
    scratch_db = Database(settings.model_copy(update={"database_url": url, "timescale": "off"}))
    scratch_db.ensure_schema()
    return scratch_db


def run(
    request: IngestRequest, settings: Settings, progress: Progress | None = None
) -> IngestResult:
    """Imports the files of ``request`` into the configured database.

    Raises:
        UsageError: a path does not exist or the format is unknown.
        ImportFileError: a file cannot be read, misses a required column, (strict) has a rejected
            row, has every row rejected, or lands no demand. Nothing is written then.
        DatabaseError: the database cannot be reached.
    """
    started = time.perf_counter()
    if request.replace or request.replace_range:
        if not request.restaurants or len(request.restaurants) != 1:
            raise UsageError("--replace needs exactly one --restaurant: the restaurant replaced")
        request = replace(request, replace=True, force=True)
    batch = _Batch(
        batch_id=str(uuid.uuid4()),
        restaurant_scope=",".join(sorted(request.restaurants)) if request.restaurants else "",
        started_at=dt.datetime.now(dt.UTC),
        rejects_dir=request.rejects_dir or settings.rejects_dir,
    )
    explicit = {p for p in request.paths if p.is_file()}
    planned, skipped = _plan(request, explicit)
    with tempfile.TemporaryDirectory(prefix="flux-dry-run-") as scratch:
        db = _open_database(settings, request.dry_run, Path(scratch))
        try:
            with db.connect() as conn:
                directory = imports.load_directory(conn)
                done_hashes = (
                    set()
                    if request.force or request.dry_run
                    else imports.imported_hashes(
                        conn, (p.sha256 for p in planned), batch.restaurant_scope
                    )
                )
            ctx = ParseContext(
                directory=directory,
                mapping=request.mapping,
                encoding=request.encoding,
                restaurant=next(iter(request.restaurants))
                if request.restaurants and len(request.restaurants) == 1
                else None,
                tenant=settings.tenant_scope,
            )
            import_limits = ImportLimits(
                max_file_bytes=settings.limits.max_file_mb * 2**20,
                max_text_chars=settings.limits.max_text_chars,
            )
            with limits.using(import_limits):
                loaded = _load_all(db, _Job(planned, done_hashes, ctx, batch, request, progress))
        finally:
            db.dispose()
    if progress:
        progress("done", len(planned), len(planned))
    return IngestResult(
        batch_id=batch.batch_id,
        database=Database(settings).display_url,
        files=tuple(skipped + loaded.streamed.others + loaded.streamed.results),
        restaurants=tuple(sorted(loaded.streamed.ranges)),
        seconds=time.perf_counter() - started,
        reject_reasons=reject_reasons(
            [(str(i.plan.path), i.parsed.rejects) for i in loaded.streamed.loaded]
        ),
        dry_run=request.dry_run,
        days=loaded.days,
        problems=loaded.problems,
        replaced=loaded.replaced,
    )
