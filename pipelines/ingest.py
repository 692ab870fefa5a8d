"""``flux import``: read POS exports, series and metadata; validate; normalise; load.

The whole command is one transaction: every file is parsed and validated first, then all rows are
written, the demand rollups refreshed and the batches recorded together. A file that cannot be
read, or a rejected row under ``strict``, fails the command with nothing written.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from models import columns as c
from pipelines.errors import ImportFileError, UsageError
from pipelines.io import adapters, files, imports, rollups
from pipelines.io.adapters.base import Adapter, ColumnMapping, Directory, ParseContext, ParsedFile
from pipelines.io.db import Database
from pipelines.settings import Settings
from pipelines.version import flux_version

Progress = Callable[[str, int, int], None]
"""Called as ``progress(label, done, total)`` while files are parsed and loaded."""


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
    """

    paths: tuple[Path, ...]
    format: str | None = None
    restaurants: frozenset[str] | None = None
    mapping: ColumnMapping | None = None
    encoding: str | None = None
    strict: bool = False
    force: bool = False
    rejects_dir: Path | None = None


@dataclass(frozen=True)
class FileResult:
    """One file's outcome. ``status`` is loaded, unchanged (already imported) or skipped."""

    path: str
    format: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rejects_path: str | None = None
    note: str = ""


@dataclass(frozen=True)
class IngestResult:
    """The outcome of one ``flux import``."""

    batch_id: str
    database: str
    files: tuple[FileResult, ...]
    restaurants: tuple[str, ...]
    seconds: float
    rows_read: int = field(init=False)
    rows_loaded: int = field(init=False)
    rows_rejected: int = field(init=False)
    rows_duplicate: int = field(init=False)

    def __post_init__(self) -> None:
        for name in ("rows_read", "rows_loaded", "rows_rejected", "rows_duplicate"):
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


def _plan(request: IngestRequest, explicit: set[Path]) -> tuple[list[_Planned], list[FileResult]]:
    planned: list[_Planned] = []
    skipped: list[FileResult] = []
    for path in collect_files(request.paths):
        adapter = adapters.get(request.format) if request.format else adapters.detect(path)
        if adapter is None:
            if path in explicit:
                raise ImportFileError(
                    str(path), "cannot tell the file's format; pass --format", row=1
                )
            skipped.append(FileResult(str(path), "?", "skipped", note="not a known format"))
            continue
        planned.append(_Planned(path, adapter, files.sha256(path), path in explicit))
    planned.sort(key=lambda p: adapters.LOAD_ORDER.get(p.adapter.name, 9))
    return planned, skipped


def _scope_frames(parsed: ParsedFile, scope: frozenset[str] | None) -> ParsedFile:
    if scope is None:
        return parsed

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        return frame[frame[c.RESTAURANT_ID].isin(scope)]

    return replace(
        parsed,
        orders=keep(parsed.orders),
        lines=keep(parsed.lines),
        observations=keep(parsed.observations),
        restaurants=keep(parsed.restaurants),
        events=keep(parsed.events),
    )


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


def _parse_all(
    planned: list[_Planned],
    request: IngestRequest,
    ctx: ParseContext,
    done_hashes: set[str],
    progress: Progress | None,
) -> tuple[list[tuple[_Planned, ParsedFile]], list[FileResult]]:
    """Parses and validates every file before anything is written."""
    to_load: list[tuple[_Planned, ParsedFile]] = []
    unchanged: list[FileResult] = []
    for i, plan in enumerate(planned):
        if progress:
            progress(f"reading {plan.path.name}", i, len(planned))
        if plan.sha256 in done_hashes:
            unchanged.append(
                FileResult(
                    str(plan.path),
                    plan.adapter.name,
                    "unchanged",
                    note="already imported (use --force to re-import)",
                )
            )
            continue
        parsed = _scope_frames(plan.adapter.parse(plan.path, ctx), request.restaurants)
        if plan.adapter.name == "restaurants":
            _directory_add(ctx.directory, parsed)
        if request.strict and not parsed.rejects.empty:
            first = parsed.rejects.iloc[0]
            raise ImportFileError(
                str(plan.path),
                f"{first[c.REJECT_REASON]} (--strict: nothing was imported)",
                row=int(first[c.REJECT_ROW]),
                field=str(first[c.REJECT_FIELD]),
            )
        to_load.append((plan, parsed))
    if request.restaurants:
        unknown = sorted(r for r in request.restaurants if ctx.directory.by_id(r) is None)
        if unknown:
            raise UsageError(f"unknown restaurant(s): {', '.join(unknown)}")
    return to_load, unchanged


@dataclass(frozen=True)
class _Batch:
    batch_id: str
    scope: str
    started_at: dt.datetime
    rejects_dir: Path


def _load_all(
    db: Database,
    to_load: list[tuple[_Planned, ParsedFile]],
    batch: _Batch,
    progress: Progress | None,
) -> tuple[list[FileResult], dict[str, tuple[dt.date, dt.date]]]:
    """Writes every parsed file, refreshes the rollups and records the batches: one
    transaction."""
    ranges: dict[str, tuple[dt.date, dt.date]] = {}
    results: list[FileResult] = []
    with db.begin() as conn:
        caps = db.capabilities(conn)
        for i, (plan, parsed) in enumerate(to_load):
            if progress:
                progress(f"loading {plan.path.name}", i, len(to_load))
            counts = imports.load_parsed(conn, caps, parsed)
            if counts.loaded:
                for rid, (lo, hi) in imports.touched_ranges(parsed).items():
                    old = ranges.get(rid)
                    ranges[rid] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)
            rejects_path = (
                files.rejects_path(batch.rejects_dir, batch.batch_id, plan.path)
                if not parsed.rejects.empty
                else None
            )
            result = FileResult(
                path=str(plan.path),
                format=plan.adapter.name,
                status="loaded",
                rows_read=parsed.rows_read,
                rows_loaded=counts.loaded,
                rows_rejected=len(parsed.rejects),
                rows_duplicate=counts.duplicate,
                rejects_path=str(rejects_path) if rejects_path else None,
            )
            results.append(result)
            imports.record_batch(
                conn,
                imports.BatchRecord(
                    batch_id=batch.batch_id,
                    file_no=i,
                    file_path=str(plan.path),
                    file_sha256=plan.sha256,
                    format=plan.adapter.name,
                    restaurant_scope=batch.scope,
                    rows_read=result.rows_read,
                    rows_loaded=result.rows_loaded,
                    rows_rejected=result.rows_rejected,
                    rows_duplicate=result.rows_duplicate,
                    rejects_path=result.rejects_path,
                    started_at=batch.started_at,
                    finished_at=dt.datetime.now(dt.UTC),
                    flux_version=flux_version(),
                ),
            )
        if progress:
            progress("refreshing demand rollups", len(to_load), len(to_load))
        rollups.refresh(conn, caps, ranges)
    return results, ranges


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


def run(
    request: IngestRequest, settings: Settings, progress: Progress | None = None
) -> IngestResult:
    """Imports the files of ``request`` into the configured database.

    Raises:
        UsageError: a path does not exist or the format is unknown.
        ImportFileError: a file cannot be read, misses a required column, or (strict) has a
            rejected row. Nothing is written then.
        DatabaseError: the database cannot be reached.
    """
    started = time.perf_counter()
    batch = _Batch(
        batch_id=str(uuid.uuid4()),
        scope=",".join(sorted(request.restaurants)) if request.restaurants else "",
        started_at=dt.datetime.now(dt.UTC),
        rejects_dir=request.rejects_dir or settings.rejects_dir,
    )
    explicit = {p for p in request.paths if p.is_file()}
    planned, skipped = _plan(request, explicit)
    db = Database(settings)
    try:
        db.ensure_schema()
        with db.connect() as conn:
            directory = imports.load_directory(conn)
            done_hashes = (
                set()
                if request.force
                else imports.imported_hashes(conn, (p.sha256 for p in planned), batch.scope)
            )
        ctx = ParseContext(
            directory=directory,
            mapping=request.mapping,
            encoding=request.encoding,
            restaurant=next(iter(request.restaurants))
            if request.restaurants and len(request.restaurants) == 1
            else None,
        )
        to_load, unchanged = _parse_all(planned, request, ctx, done_hashes, progress)
        loaded, ranges = _load_all(db, to_load, batch, progress)
    finally:
        db.dispose()
    for (_, parsed), result in zip(to_load, loaded, strict=True):
        if result.rejects_path:
            files.write_rejects(Path(result.rejects_path), parsed.rejects)
    if progress:
        progress("done", len(planned), len(planned))
    return IngestResult(
        batch_id=batch.batch_id,
        database=db.display_url,
        files=tuple(skipped + unchanged + loaded),
        restaurants=tuple(sorted(ranges)),
        seconds=time.perf_counter() - started,
    )
