"""``flux pull``: orders straight from the POS vendors' APIs, imported as ``flux import`` would.

For each restaurant with a ``pos_provider`` and ``pos_location_id`` whose provider is
configured (``[pos.<vendor>]``), one restaurant at a time:

1. the window: from its watermark less ``lookback_hours`` (late voids and refunds), or
   ``--since``, or ``initial_days`` back on a first pull; to ``--until`` or the run's start;
2. every page of orders changed in the window is fetched (retries and the provider's circuit
   breaker: :mod:`pipelines.io.pos.http`); a restaurant whose pages cannot all be fetched is
   skipped whole, so nothing is half-imported;
3. the pages go through :func:`pipelines.ingest.run` with the vendor's adapter, scoped to that
   restaurant: one transaction, natural keys (an overlap never duplicates);
4. only then is its watermark moved (never back: a backfill of older days leaves it).

A crash anywhere leaves each restaurant either fully imported with its watermark moved, or as
it was; a rerun pulls the rest. A 401/403 stops that provider at once (its other restaurants
are skipped, naming why); an open breaker skips the provider's restaurants until its cool-down
ends, then one probe decides. The result lists who was skipped and why (exit 3).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog

from pipelines import ingest
from pipelines.errors import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_PARTIAL,
    DataError,
    ProviderAuthError,
    ProviderError,
    UsageError,
)
from pipelines.io import imports
from pipelines.io.adapters.base import RestaurantInfo
from pipelines.io.db import Database
from pipelines.io.pos import providers, secrets, watermarks
from pipelines.io.pos.http import CircuitBreaker, Clock
from pipelines.settings import Settings

logger = structlog.get_logger(__name__)

PULLED = "pulled"
SKIPPED = "skipped"


@dataclass(frozen=True)
class PullRequest:
    """What to pull.

    Attributes:
        restaurants: Only these restaurants (None: every restaurant with a configured provider).
        providers: Only these providers (None: every configured one).
        since: Start of the window (None: each restaurant's watermark less the look-back).
        until: End of the window (None: now).
        strict: A named restaurant without a POS provider, or whose provider is not
            configured, is a usage error (False: it is left alone, as ``flux run`` wants).
    """

    restaurants: frozenset[str] | None = None
    providers: frozenset[str] | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    strict: bool = True


@dataclass(frozen=True)
class RestaurantPull:
    """One restaurant's pull: pulled (and imported), or skipped with the reason."""

    restaurant_id: str
    provider: str
    status: str
    start: dt.datetime
    end: dt.datetime
    pages: int = 0
    records: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    watermark: dt.datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class PullResult:
    """The outcome of one ``flux pull``."""

    pulls: tuple[RestaurantPull, ...]
    requests: dict[str, int]
    seconds: float
    not_configured: tuple[str, ...] = ()
    skipped: tuple[RestaurantPull, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "skipped", tuple(p for p in self.pulls if p.status == SKIPPED))

    @property
    def exit_code(self) -> int:
        """0 every restaurant pulled; 3 some skipped; 1 all skipped."""
        if not self.skipped:
            return EXIT_OK
        return EXIT_PARTIAL if len(self.skipped) < len(self.pulls) else EXIT_FAILURE

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = asdict(self)
        out["exit_code"] = self.exit_code
        loaded: dict[str, Any] = json.loads(json.dumps(out, default=str))
        return loaded


_RECORDS: dict[str, tuple[str | None, tuple[str, ...], str | None]] = {
    "square_orders": ("orders", ("id",), "updated_at"),
    "clover": ("elements", ("id",), "modifiedTime"),
    "revel_api": ("objects", ("resource_uri",), "updated_date"),
    "lightspeed": ("sales", ("accountFiscId", "type"), None),
    "toast": (None, (), None),
}
"""Per format: the key of a page's record list (None: the page is the list), the fields that
identify a record (none: the adapter itself keeps the copy modified last, as Toast's does) and
its last-modified field (None: the vendor sends none; the copy served last is kept). A
Lightspeed sale is told apart by its ``accountFiscId`` *and* ``type``: the bookkeeping records of
a sale (an ``UPDATE``, a ``SPLIT``) carry the sale's own id."""


def _records(fmt: str, page: Any) -> list[Any]:
    key = _RECORDS[fmt][0]
    items = page if key is None else (page.get(key) if isinstance(page, dict) else None)
    return items if isinstance(items, list) else []


def _version(record: dict[str, Any], field_name: str | None) -> tuple[int, Any]:
    value = record.get(field_name) if field_name else None
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return (0, 0)
        return (1, when if when.tzinfo else when.replace(tzinfo=dt.UTC))
    return (1, value) if isinstance(value, int) else (0, 0)


def merge_pages(fmt: str, pages: list[Any]) -> Any:
    """One document of the vendor's shape holding the records of ``pages``, each once: a record
    served twice (a page repeated after a retry, or moved between offset pages) keeps the copy
    modified last (the later one on a tie, or when the vendor sends no modified time)."""
    key, id_fields, modified = _RECORDS[fmt]
    if key is None or not id_fields:
        return [r for page in pages for r in _records(fmt, page)]
    records: dict[Any, Any] = {}
    anonymous: list[Any] = []
    for page in pages:
        for record in _records(fmt, page):
            rid = tuple(record.get(f) for f in id_fields) if isinstance(record, dict) else None
            if rid is None or rid[0] is None:
                anonymous.append(record)  # the adapter rejects it, naming the field
                continue
            kept = records.get(rid)
            if kept is None or _version(record, modified) >= _version(kept, modified):
                records[rid] = record
    merged = [*records.values(), *anonymous]
    first = next((p for p in pages if isinstance(p, dict)), {})
    dropped = (key, "cursor", "_links")
    return {**{k: v for k, v in first.items() if k not in dropped}, key: merged}


def _select(
    request: PullRequest, directory: list[RestaurantInfo], configured: set[str]
) -> tuple[list[RestaurantInfo], list[str]]:
    """The restaurants to pull, and those of a provider not configured (left alone)."""
    by_id = {r.id: r for r in directory}
    if request.restaurants:
        unknown = sorted(r for r in request.restaurants if r not in by_id)
        if unknown:
            raise UsageError(f"unknown restaurant(s): {', '.join(unknown)}")
        named = [by_id[r] for r in sorted(request.restaurants)]
        bare = [r.id for r in named if not (r.pos_provider and r.pos_location_id)]
        named = [r for r in named if r.pos_provider and r.pos_location_id]
        if bare and request.strict:
            raise UsageError(
                f"restaurant(s) {', '.join(bare)} have no pos_provider and pos_location_id "
                "(restaurants.csv): nothing to pull from"
            )
    else:
        named = sorted(
            (r for r in directory if r.pos_provider and r.pos_location_id), key=lambda r: r.id
        )
    if request.providers:
        unset = sorted(request.providers - configured)
        if unset:
            raise UsageError(
                f"--provider {', '.join(unset)}: no [pos.{unset[0]}] settings (e.g. "
                f"FLUX_POS__{unset[0].upper()}__TOKEN)"
            )
        named = [r for r in named if r.pos_provider in request.providers]
    chosen = [r for r in named if r.pos_provider in configured]
    left = [r.id for r in named if r.pos_provider not in configured]
    if request.restaurants and left and request.strict:
        first = by_id[left[0]]
        raise UsageError(
            f"restaurant {first.id}: its provider {first.pos_provider} has no "
            f"[pos.{first.pos_provider}] settings"
        )
    return chosen, left


def run(
    request: PullRequest,
    settings: Settings,
    *,
    clock: Clock = time.monotonic,
    sleep: Callable[[float], None] | None = None,
) -> PullResult:
    """Pulls and imports the orders of ``request``'s restaurants.

    Args:
        request: What to pull.
        settings: The settings (``[pos]``).
        clock: Monotonic seconds for the breakers' cool-downs (a test's fake clock).
        sleep: How retries wait (a test's fake sleep; default ``time.sleep``).

    Raises:
        UsageError: an unknown restaurant or provider, missing credentials, or a bad window.
    """
    started = time.perf_counter()
    end = request.until or dt.datetime.now(dt.UTC)
    if request.since is not None and request.since >= end:
        raise UsageError(f"--since {request.since.isoformat()} is not before the window's end")
    pos = settings.pos
    configured = pos.configured()
    db = Database(settings)
    try:
        db.ensure_schema()
        with db.connect() as conn:
            directory = list(imports.load_directory(conn))
            marks = watermarks.all_marks(conn)
    finally:
        db.dispose()
    chosen, left = _select(request, directory, set(configured))
    built: dict[str, providers.Provider] = {}
    for name in sorted({r.pos_provider for r in chosen if r.pos_provider}):
        breaker = CircuitBreaker(name, pos.breaker_failures, pos.breaker_cooldown_seconds, clock)
        cfg = secrets.resolve(name, configured[name], pos)
        built[name] = providers.build(name, cfg, breaker, sleep, clock)
    stopped: dict[str, str] = {}
    results: list[RestaurantPull] = []
    lookback = dt.timedelta(hours=pos.lookback_hours)
    try:
        for info in chosen:
            assert info.pos_provider is not None and info.pos_location_id is not None
            provider = built[info.pos_provider]
            mark = marks.get((info.id, provider.name))
            if request.since is not None:
                start = request.since
            elif mark is not None:
                start = mark - lookback
            else:
                start = end - dt.timedelta(days=pos.initial_days)
            results.append(
                _pull_one(
                    info,
                    provider,
                    start=start,
                    end=end,
                    mark=mark,
                    stopped=stopped,
                    settings=settings,
                )
            )
    finally:
        for provider in built.values():
            provider.client.close()
    return PullResult(
        pulls=tuple(results),
        requests={name: p.client.requests for name, p in built.items()},
        seconds=time.perf_counter() - started,
        not_configured=tuple(left),
    )


def _pull_one(
    info: RestaurantInfo,
    provider: providers.Provider,
    *,
    start: dt.datetime,
    end: dt.datetime,
    mark: dt.datetime | None,
    stopped: dict[str, str],
    settings: Settings,
) -> RestaurantPull:
    """Fetches, imports and moves the watermark of one restaurant; a skip says why."""
    assert info.pos_location_id is not None
    base = RestaurantPull(info.id, provider.name, SKIPPED, start, end, watermark=mark)

    def skipped(reason: str, **extra: Any) -> RestaurantPull:
        logger.warning(
            "restaurant skipped", restaurant=info.id, provider=provider.name, reason=reason
        )
        return RestaurantPull(**{**asdict(base), "reason": reason, **extra})

    if provider.name in stopped:
        return skipped(stopped[provider.name])
    if start >= end:
        return RestaurantPull(**{**asdict(base), "status": PULLED})
    window = providers.Window(start, end, info.timezone)
    try:
        pages = list(provider.pages(info.pos_location_id, window))
    except ProviderAuthError as exc:
        stopped[provider.name] = f"{provider.name} stopped: {exc.reason}"
        return skipped(str(exc))
    except ProviderError as exc:
        return skipped(str(exc))
    document = merge_pages(provider.format, pages)
    records = len(_records(provider.format, document))
    loaded = rejected = 0
    batch_id: str | None = None
    with tempfile.TemporaryDirectory(prefix=f"flux-pull-{provider.name}-") as tmp:
        folder = Path(tmp) / "pages"
        folder.mkdir()
        if records:
            name = f"{provider.name}-{info.id}-pulled.json"
            (folder / name).write_text(json.dumps(document), encoding="utf-8")
            try:
                result = ingest.run(
                    ingest.IngestRequest(
                        paths=(folder,),
                        format=provider.format,
                        restaurants=frozenset({info.id}),
                        allow_rejects=True,
                    ),
                    settings,
                )
            except DataError as exc:
                return skipped(f"the pulled pages cannot be imported: {exc}", pages=len(pages))
            loaded, rejected, batch_id = result.rows_loaded, result.rows_rejected, result.batch_id
    advance = mark is None or start <= mark
    db = Database(settings)
    try:
        with db.begin() as conn:
            now_mark = (
                watermarks.advance(conn, info.id, provider.name, end, batch_id) if advance else mark
            )
    finally:
        db.dispose()
    logger.info(
        "restaurant pulled",
        restaurant=info.id,
        provider=provider.name,
        pages=len(pages),
        records=records,
        rows_loaded=loaded,
        rows_rejected=rejected,
    )
    return RestaurantPull(
        info.id,
        provider.name,
        PULLED,
        start,
        end,
        pages=len(pages),
        records=records,
        rows_loaded=loaded,
        rows_rejected=rejected,
        watermark=now_mark,
    )
