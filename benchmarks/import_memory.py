"""Import memory: peak RSS of ``flux import`` of the sample data, and of 2x and 4x its volume.

Each import runs in a fresh process (its peak resident set size read from ``wait4``), into a
fresh SQLite database, side by side in one run:

- ``streamed``: the default chunk size (``IngestRequest.chunk_rows``): the formats that stream
  hold one chunk of a file in memory;
- ``one chunk``: every file as a single chunk (what imports did before streaming).

``sample x1`` is the data folder given (default: the committed ``sample_data/``); ``x2`` and
``x4`` are the sample generator's output with ``--scale 2`` and ``--scale 4`` (twice and four
times the orders, in the same files), so a format whose memory follows its file shows it. With
``--per-file``, the peak of each file of ``x1`` over 1 MB imported on its own (with its
restaurants) too.

Usage:
    python benchmarks/import_memory.py [--data sample_data] [--scales 1,2,4] [--per-file]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import sys, time
from pathlib import Path
from pipelines import ingest
from pipelines.settings import load_settings
home, chunk = Path(sys.argv[1]), int(sys.argv[2])
settings = load_settings(home=home)
start = time.perf_counter()
paths = tuple(Path(p) for p in sys.argv[3:])
result = ingest.run(ingest.IngestRequest(paths=paths, chunk_rows=chunk), settings)
print(result.rows_read, result.rows_loaded, result.rows_rejected, time.perf_counter() - start)
"""


def _measure(paths: list[Path], chunk: int, home: Path) -> tuple[int, int, float, float]:
    """(rows read, rows loaded, seconds, peak RSS in MB) of one import in a fresh process."""
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(home), str(chunk), *map(str, paths)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # not proc.wait(): wait4 gives its rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"import failed ({proc.returncode}):\n{errors.read()[-3000:]}")
    read, loaded, _rejected, seconds = out.split()[-4:]
    return int(read), int(loaded), float(seconds), usage.ru_maxrss / 1024  # Linux: KB


def _generate(out: Path, scale: float) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "sample_data" / "generate.py"), "--out", str(out),
         "--scale", str(scale)],
        check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> None:
    from pipelines import ingest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "sample_data")
    parser.add_argument("--scales", default="1,2,4", help="volumes of the sample to import")
    parser.add_argument("--per-file", action="store_true", help="also each file of x1 alone")
    args = parser.parse_args()
    default_chunk = ingest.IngestRequest(paths=()).chunk_rows
    whole = 10**12

    rows: list[tuple[str, str, int, int, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="flux-mem-") as tmp:
        tmpdir = Path(tmp)
        for scale in (float(s) for s in args.scales.split(",")):
            label = f"sample x{scale:g}"
            if scale == 1:
                data = args.data
            else:
                data = tmpdir / f"x{scale:g}"
                t0 = time.perf_counter()
                _generate(data, scale)
                print(f"generated {label} in {time.perf_counter() - t0:.0f}s", flush=True)
            for name, chunk in (("streamed", default_chunk), ("one chunk", whole)):
                home = tmpdir / f"home-{scale:g}-{chunk}"
                rows.append((label, name, *_measure([data], chunk, home)))
                print(f"  {label:<12}{name:<11}{rows[-1][5]:>8.0f} MB", flush=True)
        per_file: list[tuple[str, str, float, float]] = []
        if args.per_file:
            files = [  # the large ones: Toast's daily CSVs and the metadata say nothing
                p
                for p in ingest.collect_files((args.data,))
                if p.stat().st_size > 2**20 and p.name != "ground_truth.csv"
            ]
            for path in files:
                peaks = []
                for chunk in (default_chunk, whole):
                    home = tmpdir / f"file-{path.name}-{chunk}"
                    peaks.append(_measure([args.data / "restaurants.csv", path], chunk, home)[3])
                per_file.append((path.parent.name, path.name, peaks[0], peaks[1]))

    print(f"\nchunk_rows (streamed): {default_chunk:,}")
    print(f"{'input':<12}{'mode':<11}{'rows read':>11}{'loaded':>10}{'seconds':>9}{'peak MB':>9}")
    for label, name, read, loaded, seconds, peak in rows:
        print(f"{label:<12}{name:<11}{read:>11,}{loaded:>10,}{seconds:>9.1f}{peak:>9.0f}")
    if per_file:
        print(f"\n{'folder':<12}{'file':<46}{'streamed MB':>12}{'one chunk MB':>13}")
        for folder, name, streamed, one in per_file:
            print(f"{folder:<12}{name:<46}{streamed:>12.0f}{one:>13.0f}")


if __name__ == "__main__":
    main()
