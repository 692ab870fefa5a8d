"""``flux run``: the nightly job as one command.

Steps, configured by the ``[run]`` table of flux.toml (:class:`~pipelines.settings.RunConfig`):

1. **import** the new files from ``source`` (a folder, or ``s3://bucket/prefix``). Files already
   imported are recognised by content hash; S3 objects already imported by key and ETag (table
   ``source_objects``), so they are not even downloaded again. ``source = "pos"`` pulls the
   orders from the POS vendors' APIs instead (:mod:`pipelines.pull`); a restaurant whose vendor
   fails is skipped (the run goes on with the data it has, and is partial).
2. **train** when due: no artefact yet, the artefact is ``retrain_every_days`` old, a restaurant
   has no model, or the history it was trained on changed (restated or backfilled data).
3. **predict** every configured frequency from the artefact, as of the latest data.
4. **publish** each forecast run (gated; see :mod:`pipelines.publish`).

Every step is idempotent, so a rerun after any failure picks up where it stopped: imported files
are skipped, a fresh artefact is not retrained, a forecast for the same artefact and as-of date
replaces the earlier one, and publishing upserts. A run is recorded in ``job_runs``.

Restaurants that were not modelled, were skipped or fell back to a simpler model make the run
*partial* (exit 3); the summary names each and why.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import structlog

from models import columns as c
from models.artifact import ArtifactManifest
from pipelines import experiments, fitting, ingest, predict, publish, pull, train
from pipelines.errors import EXIT_OK, EXIT_PARTIAL, UsageError
from pipelines.io import artifacts, inbox, runs, series, tenancy
from pipelines.io.artifact_store import ArtifactStore
from pipelines.io.db import Database
from pipelines.settings import RunConfig, Settings

log = structlog.get_logger("flux.run")
Status = Literal["ok", "skipped", "failed", "planned"]


@dataclass(frozen=True)
class RunRequest:
    """One nightly run.

    Attributes:
        restaurants: Only these restaurants (None: all).
        dry_run: Say what would be done; change nothing.
        retrain: True: always train; False: never; None: when due.
        publish: Override the config's ``publish``.
    """

    restaurants: frozenset[str] | None = None
    dry_run: bool = False
    retrain: bool | None = None
    publish: bool | None = None


@dataclass
class StepResult:
    """What one step did."""

    step: str
    status: Status
    detail: str
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)
    tenant: str | None = None  # the tenant of a step of a run for all tenants


@dataclass
class RunResult:
    """What the run did, step by step, and which restaurants need attention."""

    run_id: str
    dry_run: bool
    config: RunConfig
    restaurants: frozenset[str] | None
    steps: list[StepResult] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 ok, 3 partial (some restaurants failed or fell back)."""
        return EXIT_PARTIAL if self.problems else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "target": self.config.target,
            "restaurants": sorted(self.restaurants) if self.restaurants else None,
            "exit_code": self.exit_code,
            "steps": [
                {
                    "step": s.step,
                    "status": s.status,
                    "detail": s.detail,
                    "seconds": round(s.seconds, 3),
                    **({"tenant": s.tenant} if s.tenant else {}),
                    **s.data,
                }
                for s in self.steps
            ],
            "problems": dict(sorted(self.problems.items())),
        }


# --- import ----------------------------------------------------------------------------------


def _import_folder(settings: Settings, step: StepResult, source: str, request: RunRequest) -> None:
    """Imports the folder's new files (``flux import``'s own skip by content hash)."""
    folder = Path(source).expanduser()
    if not folder.exists():
        raise UsageError(f"run.source {source}: no such folder (set [run] source in flux.toml)")
    ask = ingest.IngestRequest(paths=(folder,), restaurants=request.restaurants)
    if request.dry_run:
        new, seen = ingest.pending(ask, settings)
        _summarise(step, source, [p.name for p in new], len(seen), None)
        return
    imported = ingest.run(ask, settings)
    loaded = [Path(f.path).name for f in imported.files if f.status == "loaded"]
    known = sum(f.status in ("loaded", "unchanged") for f in imported.files)
    _summarise(step, source, loaded, known, imported)


def _import_s3(
    settings: Settings,
    db: Database,
    step: StepResult,
    source: str,
    request: RunRequest,
    *,
    migrated: bool,
) -> None:
    """Downloads and imports the objects not imported before (by key and ETag), and remembers
    them (only on an all-restaurant run: a scoped one took only some of their rows)."""
    scope = request.restaurants
    box = inbox.open_inbox(source, s3_endpoint_url=settings.s3_endpoint_url)
    objects = box.objects()
    done = inbox.imported(db, source) if not scope and migrated else set()
    new = [o for o in objects if (o.key, o.etag) not in done]
    if request.dry_run or not new:
        _summarise(step, source, [o.key for o in new], len(objects), None)
        return
    download_root = settings.home / "inbox"
    download_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=download_root) as tmp:
        root = Path(tmp).resolve()
        for obj in new:
            path = (root / obj.key).resolve()
            if not path.is_relative_to(root):
                raise UsageError(f"{source}: unsafe object key {obj.key!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(box.fetch(obj.key))
        imported = ingest.run(ingest.IngestRequest(paths=(root,), restaurants=scope), settings)
    if not scope:  # none of them is recorded yet (read above)
        inbox.record_imported(db, source, new, imported.batch_id)
    _summarise(step, source, [o.key for o in new], len(objects), imported)


def _summarise(
    step: StepResult,
    source: str,
    new: list[str],
    seen: int,
    imported: ingest.IngestResult | None,
) -> None:
    step.data = {"new_files": len(new), "files_seen": seen}
    if not new:
        step.status, step.detail = "skipped", f"nothing new in {source} ({seen} file(s) seen)"
    elif imported is None:
        step.status = "planned"
        step.detail = f"would import {len(new)} new file(s): {', '.join(new[:10])}"
    else:
        rows, rejected = imported.rows_loaded, imported.rows_rejected
        step.detail = f"imported {len(new)} file(s): {rows:,} rows, {rejected:,} rejected"
        step.data.update({"rows_loaded": rows, "rows_rejected": rejected})


# --- retraining ------------------------------------------------------------------------------


def current_artifact(
    store: ArtifactStore, target: str, scope: frozenset[str] | None
) -> ArtifactManifest | None:
    """The artefact a run over ``scope`` forecasts from: the newest for ``target`` trained on
    every restaurant (scope None), or the newest that models every restaurant of ``scope``."""
    for manifest in store.list_artifacts():  # newest first
        if manifest.target != target or manifest.freq != "D":
            continue
        if scope is None and trained_scope(manifest) is None:
            return manifest
        if scope is not None and scope <= set(manifest.restaurants):
            return manifest
    return None


def _strings(value: object) -> list[str]:
    if isinstance(value, list | dict):
        return [str(v) for v in value]
    return []


def trained_scope(manifest: ArtifactManifest) -> frozenset[str] | None:
    """The restaurants an artefact was asked to train (None: all of them)."""
    return frozenset(_strings(manifest.extra.get("restaurant_scope"))) or None


def retrain_reason(
    db: Database,
    manifest: ArtifactManifest | None,
    config: RunConfig,
    scope: frozenset[str] | None,
    now: dt.datetime,
) -> str | None:
    """Why the model must be retrained now (None: it need not be)."""
    if manifest is None:
        return f"no artefact for {config.target} yet"
    age = now - manifest.created_at
    if age >= dt.timedelta(days=config.retrain_every_days):
        return (
            f"artefact {manifest.artifact_id} is {age.days} day(s) old "
            f"(retrain every {config.retrain_every_days})"
        )
    asked = trained_scope(manifest)
    with db.connect() as conn:
        _, current = series.read_open_days(conn, config.target, restaurants=asked)
    if config.retrain_on_history_change:
        trained_on = current.until(pd.Timestamp(manifest.training_end))
        if fitting.fingerprint(trained_on) != manifest.data_fingerprint:
            return (
                f"the history artefact {manifest.artifact_id} was trained on changed "
                f"(data up to {manifest.training_end.date()} was added or restated)"
            )
    # a scoped run's artefact models its restaurants (current_artifact chose it so)
    wanted = set(current.restaurants) if scope is None else set(scope)
    failed = set(_strings(manifest.extra.get("failed")))
    missing = sorted(wanted - set(manifest.restaurants) - failed)
    if missing:
        return f"no model yet for {', '.join(missing[:5])}" + ("…" if len(missing) > 5 else "")
    return None


# --- the run ---------------------------------------------------------------------------------


@contextmanager
def _step(result: RunResult, name: str) -> Iterator[StepResult]:
    step = StepResult(step=name, status="ok", detail="")
    started = time.perf_counter()
    log.debug("step started", step=name)
    try:
        yield step
    except BaseException as exc:
        step.status = "failed"
        step.detail = step.detail or f"{type(exc).__name__}: {exc}"
        raise
    finally:
        step.seconds = time.perf_counter() - started
        result.steps.append(step)
        log.info(
            "step finished",
            step=name,
            status=step.status,
            duration_s=round(step.seconds, 3),
            detail=step.detail,
            restaurant=",".join(sorted(result.restaurants)) if result.restaurants else "*",
        )


def _summary(result: RunResult) -> str:
    return json.dumps(result.as_dict(), default=str)


def run(request: RunRequest, settings: Settings, run_id: str | None = None) -> RunResult:
    """Runs (or, with ``dry_run``, plans) the nightly job.

    Raises:
        UsageError: a bad configuration. Any step's error stops the run; the steps done so far
        stay done (each is idempotent), so the rerun continues.
    """
    config = settings.run
    scope = request.restaurants
    result = RunResult(
        run_id=run_id or uuid.uuid4().hex[:12],
        dry_run=request.dry_run,
        config=config,
        restaurants=scope,
    )
    db = Database(settings)
    migrated = db.current_revision() == db.head_revision()
    record: runs.RunRecord | None = None
    if not request.dry_run:
        db.ensure_schema()
        migrated = True
        record = runs.start(
            db,
            runs.JOB,
            result.run_id,
            command="run",
            target=config.target,
            restaurant_scope=",".join(sorted(scope or [])),
            summary_json=_summary(result),
        )
    elif not migrated:
        result.steps.append(
            StepResult("migrate", "planned", f"would migrate the database to {db.head_revision()}")
        )
    try:
        _run_steps(request, settings, db, result, migrated)
    except BaseException as exc:
        if record is not None:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            record.finish(status, summary_json=_summary(result), exit_code=None)
        db.dispose()
        raise
    if record is not None:
        status = "partial" if result.problems else "ok"
        record.finish(status, summary_json=_summary(result), exit_code=result.exit_code)
    db.dispose()
    return result


def _run_steps(
    request: RunRequest, settings: Settings, db: Database, result: RunResult, migrated: bool
) -> None:
    _import_step(request, settings, db, result, migrated)
    if migrated:
        _check_known(db, request.restaurants)
    if not settings.all_tenants:
        _tenant_steps(request, settings, db, result, migrated)
        return
    # A run for all tenants imports once (each row lands in its restaurant's tenant), then
    # trains, predicts and publishes each tenant on its own: no model sees two tenants' data.
    with db.connect() as conn:
        every = tenancy.tenants(conn) if migrated else []
    for tenant in every:
        scoped = settings.model_copy(update={"tenant": tenant, "all_tenants": False})
        tenant_db = Database(scoped)
        first = len(result.steps)
        try:
            _tenant_steps(request, scoped, tenant_db, result, migrated)
        finally:
            for step in result.steps[first:]:
                step.tenant = tenant
            tenant_db.dispose()


def _tenant_steps(
    request: RunRequest, settings: Settings, db: Database, result: RunResult, migrated: bool
) -> None:
    manifest = _train_step(request, settings, db, result, migrated)
    forecast_runs = _predict_step(request, settings, result, manifest)
    _publish_step(request, settings, result, forecast_runs)


def _check_known(db: Database, scope: frozenset[str] | None) -> None:
    """Refuses a ``--restaurant`` the database does not know (after the import step, which may
    have just added it from the source's restaurants.csv).

    Raises:
        UsageError: an unknown restaurant (exit 2).
    """
    if not scope:
        return
    with db.connect() as conn:
        known = set(series.read_restaurants(conn)[c.RESTAURANT_ID].astype(str))
    unknown = sorted(set(scope) - known)
    if unknown:
        raise UsageError(
            f"unknown restaurant(s) {', '.join(unknown)} (--restaurant): not in the database; "
            "check the id, or import its restaurants.csv first"
        )


def _import_step(
    request: RunRequest, settings: Settings, db: Database, result: RunResult, migrated: bool
) -> None:
    source = settings.run.source
    with _step(result, "import") as step:
        if not source:
            step.status, step.detail = "skipped", "no [run] source configured"
        elif source == POS_SOURCE:
            _pull_pos(settings, step, request, result)
        elif source.startswith("s3://"):
            _import_s3(settings, db, step, source, request, migrated=migrated)
        else:
            _import_folder(settings, step, source, request)


POS_SOURCE = "pos"
"""``[run] source`` that pulls from the POS vendors' APIs instead of reading files."""


def _pull_pos(settings: Settings, step: StepResult, request: RunRequest, result: RunResult) -> None:
    """The import step of ``source = "pos"``: ``flux pull`` for the run's restaurants."""
    vendors = ", ".join(settings.pos.configured()) or "none"
    if not settings.pos.configured():
        raise UsageError(
            'run.source = "pos" needs at least one [pos.<vendor>] table (e.g. '
            "FLUX_POS__SQUARE__TOKEN); see the README's flux pull section"
        )
    if request.dry_run:
        step.status = "planned"
        step.detail = f"would pull the new orders from the POS vendors ({vendors})"
        return
    pulled = pull.run(pull.PullRequest(restaurants=request.restaurants, strict=False), settings)
    done = len(pulled.pulls) - len(pulled.skipped)
    requests = sum(pulled.requests.values())
    step.detail = (
        f"pulled {done} of {len(pulled.pulls)} restaurant(s) from {vendors} "
        f"({sum(p.records for p in pulled.pulls):,} orders, {requests:,} requests)"
    )
    step.data = {
        "pulled": [p.restaurant_id for p in pulled.pulls if p.status == pull.PULLED],
        "skipped": {p.restaurant_id: p.reason for p in pulled.skipped},
    }
    for p in pulled.skipped:
        result.problems.setdefault(p.restaurant_id, f"not pulled: {p.reason}")


def _train_step(
    request: RunRequest, settings: Settings, db: Database, result: RunResult, migrated: bool
) -> ArtifactManifest | None:
    config, scope, dry = settings.run, request.restaurants, request.dry_run
    store = artifacts.open_artifacts(settings)
    with _step(result, "train") as step:
        manifest = current_artifact(store, config.target, scope)
        if request.retrain is True:
            reason: str | None = "asked for (--retrain)"
        elif request.retrain is False:
            reason = None
        elif not migrated:
            reason = "the database is not migrated yet"
        else:
            reason = retrain_reason(db, manifest, config, scope, dt.datetime.now(dt.UTC))
        if reason is None:
            if manifest is None:
                step.status, step.detail = "skipped", "no artefact, and retraining is off"
            else:
                step.status = "skipped"
                step.detail = f"artefact {manifest.artifact_id} is current"
                step.data = {"artifact_id": manifest.artifact_id}
        elif dry:
            step.status, step.detail = "planned", f"would train: {reason}"
        else:
            trained = train.run(
                train.TrainRequest(
                    target=config.target,
                    spec=experiments.model_spec(settings, horizon=config.horizon),
                    restaurants=scope,
                    backend=config.backend,
                    jobs=config.jobs,
                    alias="candidate" if scope is None else None,
                ),
                settings,
            )
            manifest = trained.manifest
            step.detail = f"trained artefact {trained.artifact_id}: {reason}"
            step.data = {"artifact_id": trained.artifact_id, "reason": reason}
            for rid, why in trained.failed.items():
                if scope is None or rid in scope:
                    result.problems[rid] = f"not modelled: {why}"
    return manifest


def _predict_step(
    request: RunRequest, settings: Settings, result: RunResult, manifest: ArtifactManifest | None
) -> list[str]:
    config, scope, dry = settings.run, request.restaurants, request.dry_run
    runs: list[str] = []
    with _step(result, "predict") as step:
        if manifest is None:
            step.status = "planned" if dry else "skipped"
            step.detail = "would predict from the new artefact" if dry else "no artefact"
        elif dry:
            step.status = "planned"
            step.detail = (
                f"would forecast {', '.join(config.freqs)} from artefact {manifest.artifact_id}"
            )
        else:
            details = []
            for freq in config.freqs:
                forecast = predict.run(
                    predict.PredictRequest(
                        artifact=manifest.artifact_id, restaurants=scope, freq=freq
                    ),
                    settings,
                )
                runs.append(forecast.forecast_run_id)
                details.append(f"{freq} as of {forecast.as_of} ({len(forecast.forecasts):,} rows)")
                for rid, why in forecast.skipped.items():
                    result.problems.setdefault(rid, f"not forecast: {why}")
                for rid, model in forecast.fallbacks.items():
                    result.problems.setdefault(rid, f"served by {model} (a fallback)")
            step.detail = "; ".join(details)
            step.data = {"forecast_runs": runs}
    return runs


def _publish_step(
    request: RunRequest, settings: Settings, result: RunResult, runs: list[str]
) -> None:
    config, scope, dry = settings.run, request.restaurants, request.dry_run
    with _step(result, "publish") as step:
        do_publish = config.publish if request.publish is None else request.publish
        if not do_publish:
            step.status, step.detail = "skipped", "publishing is off"
        elif dry:
            step.status, step.detail = "planned", "would publish the new forecast run(s)"
        else:
            rows = 0
            for forecast_run in runs:
                published = publish.run(
                    publish.PublishRequest(
                        forecast_run=forecast_run, restaurants=scope, margin=config.margin
                    ),
                    settings,
                )
                rows += published.rows
            step.detail = f"published {len(runs)} forecast run(s), {rows:,} rows"
            step.data = {"rows": rows}
