"""Run locks: runs touching the same restaurant and target never interleave; the second one
waits (``--wait``) or exits 1 with a clear message. PostgreSQL advisory locks and SQLite lock
files, both for real (separate connections / separate open files, as separate processes get)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pipelines.io import locks
from pipelines.settings import Settings, load_settings
from tests.helpers import run_cli

LOCK_LANES = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


@LOCK_LANES
def test_overlapping_runs_conflict_and_disjoint_runs_do_not(settings: Settings) -> None:
    with locks.hold(settings, "covers", frozenset({"r05"}), command="first"):
        with (
            pytest.raises(locks.LockBusy, match="restaurant r05, covers is locked by first"),
            locks.hold(settings, "covers", frozenset({"r05", "r01"})),
        ):
            pass
        with (
            pytest.raises(locks.LockBusy, match="every restaurant, covers"),
            locks.hold(settings, "covers", None),  # an all-restaurant run overlaps
        ):
            pass
        with locks.hold(settings, "covers", frozenset({"r01"})):  # disjoint: goes ahead
            pass
        with locks.hold(settings, "orders", frozenset({"r05"})):  # another target
            pass
    with (  # released on exit, then taken for every restaurant
        locks.hold(settings, "covers", None),
        pytest.raises(locks.LockBusy, match="every restaurant"),
        locks.hold(settings, "covers", frozenset({"r07"})),
    ):
        pass


@LOCK_LANES
def test_wait_takes_the_lock_once_it_is_released(settings: Settings) -> None:
    released = threading.Event()

    def holder() -> None:
        with locks.hold(settings, "covers", frozenset({"r05"})):
            time.sleep(1.0)
        released.set()

    thread = threading.Thread(target=holder)
    thread.start()
    time.sleep(0.3)
    with (
        pytest.raises(locks.LockBusy, match=r"after waiting 0\.2s"),
        locks.hold(settings, "covers", frozenset({"r05"}), wait=0.2),
    ):
        pass
    with locks.hold(settings, "covers", frozenset({"r05"}), wait=30):
        assert released.is_set()  # got it only after the holder let go
    thread.join()


def test_lock_keys_are_stable_and_ordered() -> None:
    keys = locks.keys_for("covers", frozenset({"r07", "r01"}))
    assert [(k.name, k.shared) for k in keys] == [
        ("covers/*", True),
        ("covers/r01", False),
        ("covers/r07", False),
    ]
    assert keys[1].number == locks.keys_for("covers", frozenset({"r01"}))[1].number
    assert -(2**63) <= keys[1].number < 2**63


def test_a_busy_lock_fails_the_command_with_a_clear_message(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    folder = tmp_path / "empty"
    folder.mkdir()
    with locks.hold(settings, "data", frozenset({"r05"}), command="flux import (nightly)"):
        busy = run_cli(settings, ["import", str(folder), "-r", "r05"])
        other = run_cli(settings, ["import", str(folder), "-r", "r01"])
    assert busy.exit_code == 1
    assert "restaurant r05, data is locked by flux import (nightly)" in busy.stderr
    assert "--wait" in busy.stderr
    # another restaurant is not held up by the lock (it gets as far as the import's own check)
    assert "locked" not in other.stderr and "unknown restaurant(s): r01" in other.stderr


def test_wait_flag_waits_for_the_other_run(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    folder = tmp_path / "empty"
    folder.mkdir()
    started = threading.Event()

    def holder() -> None:
        with locks.hold(settings, "data", None):
            started.set()
            time.sleep(1.0)

    thread = threading.Thread(target=holder)
    thread.start()
    started.wait()
    result = run_cli(settings, ["import", str(folder), "--wait", "--wait-timeout", "60"])
    thread.join()
    assert result.exit_code == 0, result.stderr
    thread = threading.Thread(target=holder)
    started.clear()
    thread.start()
    started.wait()
    result = run_cli(settings, ["import", str(folder), "--wait", "--wait-timeout", "0.2"])
    thread.join()
    assert result.exit_code == 1 and "after waiting 0.2s" in result.stderr


def test_a_lock_held_by_a_killed_process_is_released(tmp_path: Path) -> None:
    import subprocess
    import sys

    settings = load_settings(home=tmp_path / "home")
    script = (
        "import sys, time\n"
        "from pipelines.io import locks\n"
        "from pipelines.settings import load_settings\n"
        f"s = load_settings(home={str(settings.home)!r})\n"
        "with locks.hold(s, 'covers', None):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    with pytest.raises(locks.LockBusy), locks.hold(settings, "covers", None):
        pass
    proc.kill()
    proc.wait()
    with locks.hold(settings, "covers", None, wait=5):
        pass
