"""Backtest outputs: frames as Parquet and CSV, metrics as CSV and JSON, and PNG plots. Files are
written to temporary names and renamed into place. (The run's record in the database is
:mod:`pipelines.io.runs`'.)"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models import columns as c
from models.frames import STEP, interval_columns
from pipelines.io.files import atomic_write


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A metrics table as JSON-ready rows (NaN as None, timestamps as ISO text)."""
    clean = frame.replace({np.nan: None})
    return [
        {str(k): (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in row.items()}
        for row in clean.to_dict("records")
    ]


def write_frame(frame: pd.DataFrame, folder: Path, stem: str) -> list[Path]:
    """``stem.parquet`` and ``stem.csv``."""
    paths = [folder / f"{stem}.parquet", folder / f"{stem}.csv"]
    with atomic_write(paths[0], "wb") as fh:
        frame.to_parquet(fh, index=False)
    with atomic_write(paths[1]) as fh:
        frame.to_csv(fh, index=False)
    return paths


def write_metrics(tables: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """Each metrics table as CSV, and all of them in one ``metrics.json``."""
    paths = []
    for name, table in tables.items():
        path = folder / f"metrics_{name}.csv"
        with atomic_write(path) as fh:
            table.to_csv(fh, index=False)
        paths.append(path)
    path = folder / "metrics.json"
    with atomic_write(path) as fh:
        json.dump({name: records(t) for name, t in tables.items()}, fh, indent=2, default=str)
    paths.append(path)
    return paths


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")
    _figure().close(fig)
    return path


def plot_forecasts(
    frame: pd.DataFrame,
    history: pd.DataFrame,
    restaurants: Sequence[str],
    models: Sequence[str],
    *,
    level: int,
    path: Path,
    target: str,
) -> Path:
    """Forecast against actuals for chosen restaurants (one panel each), with the interval of
    the first model."""
    plt = _figure()
    n = max(len(restaurants), 1)
    fig, axes = plt.subplots(n, 1, figsize=(11, 2.8 * n), squeeze=False)
    lo_col, hi_col = interval_columns(level)
    start = frame[c.CUTOFF].min() - pd.Timedelta(days=42)
    for ax, rid in zip(axes[:, 0], restaurants, strict=False):
        hist = history[(history[c.RESTAURANT_ID] == rid) & (history[c.DS] >= start)]
        ax.plot(hist[c.DS], hist[c.Y], color="black", lw=1, marker=".", ms=3, label="actual")
        mine = frame[frame[c.RESTAURANT_ID] == rid]
        for k, model in enumerate(models):
            rows = mine[mine[c.MODEL] == model].sort_values(c.DS)
            for _, fold_rows in rows.groupby(c.CUTOFF):
                ax.plot(
                    fold_rows[c.DS],
                    fold_rows[c.YHAT],
                    lw=1.2,
                    color=f"C{k}",
                    label=model if _ == rows[c.CUTOFF].min() else None,
                )
                if k == 0 and lo_col in fold_rows:
                    ax.fill_between(
                        fold_rows[c.DS],
                        fold_rows[lo_col],
                        fold_rows[hi_col],
                        color=f"C{k}",
                        alpha=0.15,
                        lw=0,
                    )
        for cutoff in mine[c.CUTOFF].unique():
            ax.axvline(cutoff, color="grey", ls=":", lw=0.8)
        ax.set_title(
            f"{rid}: {target} (shaded: {models[0] if models else ''} {level}% interval)", fontsize=9
        )
        ax.legend(fontsize=7, ncol=len(models) + 1, loc="upper left")
    fig.autofmt_xdate()
    return _save(fig, path)


def plot_error_by_step(by_step: pd.DataFrame, path: Path, metric: str = "wape") -> Path:
    """The error of each model by horizon step."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(9, 4))
    rows = by_step[by_step[STEP] != "overall"]
    for model, group in rows.groupby(c.MODEL):
        part = group.assign(**{STEP: group[STEP].astype(int)}).sort_values(STEP)
        ax.plot(part[STEP], part[metric], marker=".", label=str(model))
    ax.set_xlabel("horizon step (periods after the origin)")
    ax.set_ylabel(metric.upper())
    ax.set_title(f"{metric.upper()} by horizon step")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_coverage(overall: pd.DataFrame, levels: Sequence[int], path: Path) -> Path:
    """Observed interval coverage of each model against the nominal levels."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 4))
    models = overall[c.MODEL].astype(str).tolist()
    width = 0.8 / max(len(levels), 1)
    x = np.arange(len(models))
    for k, level in enumerate(levels):
        col = f"coverage_{level}"
        if col not in overall:
            continue
        ax.bar(
            x + k * width,
            overall[col].to_numpy(dtype=float) * 100,
            width,
            label=f"{level}% interval",
            color=f"C{k}",
        )
        ax.axhline(level, color=f"C{k}", ls="--", lw=1)
    ax.set_xticks(x + width * (len(levels) - 1) / 2, models, rotation=20, fontsize=8)
    ax.set_ylabel("observed coverage (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Interval coverage (dashed: nominal)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_comparison(result: Any, path: Path) -> Path:
    """``flux backtest compare``'s plot: each restaurant's RMSLE under A against B (below the
    diagonal: B better), and the bootstrap distribution of the RMSLE difference.

    ``result`` is a :class:`pipelines.comparison.Comparison`.
    """
    plt = _figure()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    table = result.restaurants
    if len(table):
        left.scatter(table["rmsle_a"], table["rmsle_b"], color="C0")
        for row in table.itertuples():
            left.annotate(str(row.restaurant_id), (row.rmsle_a, row.rmsle_b), fontsize=7)
        top = float(max(table["rmsle_a"].max(), table["rmsle_b"].max())) * 1.1 or 1.0
        left.plot([0, top], [0, top], color="grey", ls="--", lw=1)
        left.set_xlim(0, top)
        left.set_ylim(0, top)
    left.set_xlabel(f"RMSLE, A ({result.run_a[:8]}, {result.model_a})")
    left.set_ylabel(f"RMSLE, B ({result.run_b[:8]}, {result.model_b})")
    wins = result.wins
    left.set_title(f"Per restaurant: B wins {wins['b']}, A wins {wins['a']}, ties {wins['tie']}")
    if len(result.draws):
        right.hist(result.draws, bins=40, color="C1", alpha=0.8)
        right.axvline(0, color="black", lw=1)
        if result.interval:
            for bound in result.interval:
                right.axvline(bound, color="C3", ls="--", lw=1)
    right.set_xlabel("RMSLE of B minus A (bootstrap)")
    right.set_title(f"{result.verdict} (95% interval dashed)")
    fig.tight_layout()
    return _save(fig, path)
