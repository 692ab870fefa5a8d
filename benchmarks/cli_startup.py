"""CLI start-up, measured side by side against ``python -c pass``.

Usage: python benchmarks/cli_startup.py [--runs 15] [--home .flux]

Runs each command ``--runs`` times, interleaved (one of each per round, so a busy machine slows
them alike), and prints the median wall time of each and its ratio to ``python -c pass``:

- ``flux --help`` and ``flux --version`` (answered without loading Typer);
- ``flux COMMAND --help`` for every command;
- ``flux --log-format console --help`` (the same page rendered live by Typer, for comparison);
- ``flux artefacts list`` on the sample store: ``--home`` (default ``.flux``, where the README's
  quick start leaves it) when it holds artefacts, else a temporary store with three small
  artefacts written through the store's own API.

Targets (issue 10): ``flux --help`` within 3x of ``python -c pass``; ``flux artefacts list`` under
1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("import", "backtest", "train", "predict", "publish", "run", "monitor", "doctor")


def _seconds(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env
    )
    return time.perf_counter() - start


def _sample_home(home: Path, scratch: Path) -> Path:
    """``home`` when its store holds artefacts, else a scratch home with three of them."""
    if (home / "artefacts" / "artefacts").is_dir() and any(
        (home / "artefacts" / "artefacts").glob("*/manifest.json")
    ):
        return home
    from models.artifact import ArtifactManifest, MemberSpec
    from pipelines.io.artifacts import open_store

    store = open_store(str(scratch / "artefacts"))
    for i in range(3):
        artifact_id = store.new_id()
        manifest = ArtifactManifest(
            artifact_id=artifact_id,
            created_at=dt.datetime.now(dt.UTC),
            flux_version="0",
            library_versions={},
            git_sha=None,
            trained_on="local",
            target="covers",
            freq="D",
            horizon=28,
            training_start=dt.datetime(2025, 1, 1),
            training_end=dt.datetime(2025, 12, 31),
            restaurants=[f"r{j:02d}" for j in range(1, 9)],
            data_fingerprint="0" * 32,
            members=[MemberSpec(name="seasonal_naive", params={}, files=["shards.json"])],
            weights={},
            backtest_metrics={},
        )
        store.write_artifact(artifact_id, {"shards.json": b"{}"}, manifest)
        if i == 2:
            store.set_alias("candidate", artifact_id)
    return scratch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--home", type=Path, default=ROOT / ".flux")
    args = parser.parse_args()
    flux = str(Path(sys.executable).with_name("flux"))
    with tempfile.TemporaryDirectory(prefix="flux-startup-") as tmp:
        home = _sample_home(args.home, Path(tmp))
        env = {**os.environ, "FLUX_HOME": str(home), "COLUMNS": "100"}
        env.pop("FLUX_ARTIFACTS_URI", None)
        cases: list[tuple[str, list[str]]] = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("flux --help", [flux, "--help"]),
            ("flux --version", [flux, "--version"]),
            *((f"flux {cmd} --help", [flux, cmd, "--help"]) for cmd in COMMANDS),
            ("flux --help (live)", [flux, "--log-format", "console", "--help"]),
            ("flux artefacts list", [flux, "artefacts", "list"]),
        ]
        for _, cmd in cases:  # warm-up: file caches, bytecode
            _seconds(cmd, env)
        times: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _ in range(args.runs):
            for name, cmd in cases:
                times[name].append(_seconds(cmd, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["python -c pass"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.runs} runs each, interleaved; load average {load:.1f}; store {home}")
    print(f"{'command':<24}{'median s':>10}{'vs python':>11}")
    for name, secs in medians.items():
        print(f"{name:<24}{secs:>10.3f}{secs / base:>10.1f}x")


if __name__ == "__main__":
    main()
