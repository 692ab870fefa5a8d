"""Scale: how import, backtest, train and predict grow with the number of restaurants.

For each fleet size (``--sizes``, default 100,1000,10000) it generates a synthetic fleet with the
sample generator (``sample_data/generate.py --fleet N --days D``, Square format), then runs, each
as its own ``flux`` process against a fresh database and artefact store for that size:

- ``import``: ``flux import <fleet>``;
- ``backtest``: ``flux backtest --target orders --folds 1`` (one origin, the default models and
  horizon; Square exports carry no guest counts, so the target is orders);
- ``train``: ``flux train --target orders`` (the default ensemble);
- ``predict``: ``flux predict`` (from the artefact just trained).

For every step it records the wall-clock seconds and the peak resident memory of the step's
process tree (``ru_maxrss`` from ``os.wait4``: the largest of the process and the children it
waited for, such as Prophet's cmdstan runs), and prints one table with, per step and size, the
seconds, seconds per restaurant, peak MB, and the growth from the previous size: ``time x`` is
the ratio of seconds, ``per-rest x`` the ratio of seconds per restaurant (1.0 is linear growth,
above 1 worse than linear), ``mem x`` the ratio of peak memory. All sizes run in the same
invocation, one after another, so the ratios are measured side by side.

Usage (from the repository root)::

    .venv/bin/python benchmarks/scale.py [--sizes 100,1000,10000] [--days 120] [--volume 1]
        [--jobs 1]
        [--target orders] [--keep DIR] [--out table.csv] [--steps import,train,predict]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

``--volume`` scales the orders of each restaurant-day (the generator's ``--scale``): at 1, about
2.4 order lines for each of 15-60 orders a day, so 10,000 restaurants over 120 days are about
100 million lines; ``--volume 0.1`` keeps the import of the largest fleets within reach while
the model steps see the same number of restaurant-days.

``--database-url`` runs against PostgreSQL (a fresh database per size, dropped afterwards;
default: a SQLite file per size). ``--keep DIR`` keeps the fleets and databases in DIR instead of
a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("import", "backtest", "train", "predict")


@dataclass(frozen=True)
class Measured:
    size: int
    step: str
    seconds: float
    peak_mb: float


def run_measured(args: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Runs one process; returns its seconds and the peak RSS (MB) of it and its children."""
    started = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"{' '.join(args[2:])} failed ({proc.returncode}):\n" + "\n".join(tail))
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def _create_pg(admin_url: str) -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"flux_scale_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, name


def _drop_pg(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def bench_size(size: int, work: Path, opts: argparse.Namespace) -> list[Measured]:
    fleet = work / f"fleet-{size}"
    home = work / f"home-{size}"
    log = work / f"log-{size}.txt"
    if not (fleet / "restaurants.csv").is_file():
        generate = [sys.executable, str(ROOT / "sample_data" / "generate.py")]
        generate += ["--fleet", str(size), "--days", str(opts.days), "--out", str(fleet)]
        generate += ["--scale", str(opts.volume)]
        subprocess.run(generate, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    env = {**os.environ, "FLUX_HOME": str(home)}
    env.pop("FLUX_DATABASE_URL", None)
    env.pop("FLUX_ARTIFACTS_URI", None)
    pg_name = None
    if opts.database_url:
        env["FLUX_DATABASE_URL"], pg_name = _create_pg(opts.database_url)
    flux = [sys.executable, "-m", "flux_cli"]
    jobs = ["--jobs", str(opts.jobs)]
    target = ["--target", opts.target]
    commands = {
        "import": [*flux, "import", str(fleet)],
        "backtest": [*flux, "backtest", *target, "--folds", "1", *jobs, "--json"],
        "train": [*flux, "train", *target, *jobs, "--json"],
        "predict": [*flux, "predict", *jobs, "--json"],
    }
    out = []
    try:
        for step in opts.steps:
            seconds, peak = run_measured(commands[step], env, log)
            out.append(Measured(size, step, seconds, peak))
            print(f"  {size:>6} {step:<9} {seconds:9.1f} s {peak:8.0f} MB", flush=True)
    finally:
        if pg_name and opts.database_url:
            _drop_pg(opts.database_url, pg_name)
    return out


def table(rows: list[Measured]) -> list[dict[str, str]]:
    """One line per step and size, with the growth from the previous size of the same step."""
    lines = []
    for step in dict.fromkeys(r.step for r in rows):
        previous: Measured | None = None
        for row in sorted((r for r in rows if r.step == step), key=lambda r: r.size):
            line = {
                "step": step,
                "restaurants": f"{row.size}",
                "seconds": f"{row.seconds:.1f}",
                "ms/restaurant": f"{1000 * row.seconds / row.size:.1f}",
                "peak MB": f"{row.peak_mb:.0f}",
                "size x": "",
                "time x": "",
                "per-rest x": "",
                "mem x": "",
            }
            if previous is not None:
                grow = row.size / previous.size
                line["size x"] = f"{grow:.1f}"
                line["time x"] = f"{row.seconds / previous.seconds:.2f}"
                line["per-rest x"] = f"{row.seconds / previous.seconds / grow:.2f}"
                line["mem x"] = f"{row.peak_mb / previous.peak_mb:.2f}"
            lines.append(line)
            previous = row
    return lines


def markdown(lines: list[dict[str, str]]) -> str:
    head = list(lines[0])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(line[h] for h in head) + " |" for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100,1000,10000", help="comma-separated fleet sizes")
    p.add_argument("--days", type=int, default=120, help="business dates per restaurant")
    p.add_argument(
        "--volume",
        type=float,
        default=1.0,
        help="orders per restaurant-day, a multiple of the generator's (its --scale; 15-60 at 1)",
    )
    p.add_argument("--target", default="orders", help="target (Square exports have no covers)")
    p.add_argument("--jobs", type=int, default=1, help="--jobs for backtest, train and predict")
    p.add_argument("--database-url", default=None, help="PostgreSQL admin URL (default: SQLite)")
    p.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: temp)")
    p.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    p.add_argument(
        "--steps",
        default=",".join(STEPS),
        help="steps to run, in order (import first: the others read what it loaded)",
    )
    opts = p.parse_args(argv)
    opts.steps = [s.strip() for s in opts.steps.split(",") if s.strip()]
    unknown = sorted(set(opts.steps) - set(STEPS)) or (
        [] if opts.steps[:1] == ["import"] else ["(the first step must be import)"]
    )
    if unknown:
        p.error(f"--steps: unknown or misplaced: {', '.join(unknown)}; steps: {', '.join(STEPS)}")
    try:
        sizes = sorted({int(x) for x in opts.sizes.split(",") if x.strip()})
    except ValueError:
        p.error(f"--sizes: not a list of numbers: {opts.sizes!r}")
    if not sizes or min(sizes) < 1:
        p.error("--sizes needs at least one positive size")
    with tempfile.TemporaryDirectory(prefix="flux-scale-") as tmp:
        work = opts.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"fleets of {sizes} restaurants x {opts.days} days, work folder {work}", flush=True)
        rows: list[Measured] = []
        for size in sizes:
            rows += bench_size(size, work, opts)
    lines = table(rows)
    print(markdown(lines))
    if opts.out:
        with opts.out.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(lines[0]))
            writer.writeheader()
            writer.writerows(lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
