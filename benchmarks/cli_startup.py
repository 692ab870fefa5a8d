"""CLI start-up: ``flux --help`` against ``python -c pass``, measured side by side.

Usage: python benchmarks/cli_startup.py [--runs 15]
Prints the median wall time of each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    flux = str(Path(sys.executable).with_name("flux"))
    rows = []
    for _ in range(1):  # interleave warm-up
        _median_seconds([sys.executable, "-c", "pass"], 2)
        _median_seconds([flux, "--help"], 2)
    base = _median_seconds([sys.executable, "-c", "pass"], args.runs)
    helps = _median_seconds([flux, "--help"], args.runs)
    imports = _median_seconds([flux, "import", "--help"], args.runs)
    rows = [("python -c pass", base), ("flux --help", helps), ("flux import --help", imports)]
    print(f"{'command':<22}{'median s':>10}{'vs python':>11}")
    for name, secs in rows:
        print(f"{name:<22}{secs:>10.3f}{secs / base:>10.1f}x")


if __name__ == "__main__":
    main()
