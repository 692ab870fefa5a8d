"""Per-key state a file's chunks share, in arrays: :class:`KeyIndex`.

Streaming imports remember, for every order or line key of a file, what its earlier chunks saw
(whether it was written, an order's earliest time, a group's running line number). Held in
Python dicts of tuples that cost a few hundred bytes a key, which made an import's memory grow
with its file (about 280 bytes a line); kept as one sorted array, each chunk's merge re-sorted
everything seen, which grows with the square of the file. A :class:`KeyIndex` keeps the 64-bit
hashes of the keys in sorted runs merged as they grow (a binary counter: a key is re-sorted
about log2(n) times over the file, a lookup searches log2(n) runs) and gives each key a slot
number, so the state itself lives in plain arrays indexed by slot: 16 bytes a key for the
index.

Two keys share a slot only when their 64-bit hashes collide: about one chance in ten million
for a file of ten million keys (``pandas.util.hash_pandas_object``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["DayPairs", "KeyIndex", "KeySet", "grown", "key_hashes"]


def key_hashes(*keys: pd.Series) -> np.ndarray:
    """The 64-bit hash of each row's key (the text columns ``keys``, aligned), the same for the
    same texts whatever the columns' dtype."""
    frame = pd.DataFrame({str(i): np.asarray(k, dtype=object) for i, k in enumerate(keys)})
    return np.asarray(pd.util.hash_pandas_object(frame.astype(object), index=False), np.uint64)


class KeySet:
    """Which keys (64-bit hashes) were added: 8 bytes a key, in sorted runs merged as they
    grow."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []
        self.size = 0

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Whether each hash was added."""
        found = np.zeros(len(hashes), dtype=bool)
        for keys in self._runs:
            at = np.searchsorted(keys, hashes).clip(max=len(keys) - 1)
            found |= keys[at] == hashes
        return found

    def runs(self) -> list[np.ndarray]:
        """The hashes added, in sorted runs (each hash once)."""
        return list(self._runs)

    def add(self, hashes: np.ndarray) -> None:
        """Adds the hashes not added before."""
        new = np.unique(hashes[~self.contains(hashes)])
        if len(new) == 0:
            return
        self.size += len(new)
        self._runs.append(new)
        while len(self._runs) > 1 and len(self._runs[-2]) <= len(self._runs[-1]):
            merged = np.sort(np.concatenate(self._runs[-2:]), kind="stable")
            self._runs[-2:] = [merged]


class KeyIndex:
    """Slot numbers (0, 1, 2... in order of first appearance) for keys, found by hash: 16
    bytes a key."""

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, their slots)
        self.size = 0

    hashes = staticmethod(key_hashes)

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """Each hash's slot, or -1 where the key was never added."""
        slots = np.full(len(hashes), -1, dtype=np.int64)
        for keys, ids in self._runs:
            at = np.searchsorted(keys, hashes).clip(max=len(keys) - 1)
            hit = keys[at] == hashes
            slots[hit] = ids[at[hit]]
        return slots

    def add(self, hashes: np.ndarray) -> np.ndarray:
        """Each hash's slot, new keys getting the next numbers (in order of first appearance)."""
        slots = self.find(hashes)
        missing = np.flatnonzero(slots < 0)
        if len(missing) == 0:
            return slots
        unique, first, inverse = np.unique(hashes[missing], return_index=True, return_inverse=True)
        rank = np.empty(len(unique), dtype=np.int64)  # numbered by first appearance
        rank[np.argsort(first, kind="stable")] = np.arange(len(unique))
        ids = self.size + rank
        slots[missing] = ids[inverse]
        self.size += len(unique)
        self._runs.append((unique, ids))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= len(self._runs[-1][0]):
            (k1, i1), (k2, i2) = self._runs[-2], self._runs[-1]
            keys, ids = np.concatenate([k1, k2]), np.concatenate([i1, i2])
            order = np.argsort(keys, kind="stable")
            self._runs[-2:] = [(keys[order], ids[order])]
        return slots


def grown(values: np.ndarray, size: int, fill: object) -> np.ndarray:
    """``values`` with room for ``size`` slots (new ones ``fill``), doubling as it grows."""
    if len(values) >= size:
        return values
    out = np.full(max(size, 2 * len(values)), fill, dtype=values.dtype)
    out[: len(values)] = values
    return out


_DAY_BITS = 32  # a day number (days since 1970, offset to be >= 0) in the low 32 bits
_DAY_OFFSET = 2**31


class DayPairs:
    """Distinct (restaurant, business day) pairs, exactly: 8 bytes a pair (the restaurant's
    number in the high bits, the day's in the low ones, in a :class:`KeySet`), where a frame of
    them cost about a hundred bytes a pair and each chunk's merge re-deduplicated them all."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._keys = KeySet()

    @property
    def size(self) -> int:
        return self._keys.size

    def _encode(self, restaurants: ArrayLike, days: ArrayLike, *, add: bool) -> np.ndarray:
        ids = pd.Index(np.asarray(restaurants, dtype=object).astype(str))
        if add:
            for rid in ids.unique():
                self._numbers.setdefault(str(rid), len(self._numbers))
        at = pd.Index(list(self._numbers), dtype=object).get_indexer(ids)
        numbers = np.fromiter(self._numbers.values(), dtype=np.int64, count=len(self._numbers))
        stamp = pd.to_datetime(pd.Series(np.asarray(days, dtype=object)))
        day = stamp.to_numpy(dtype="datetime64[D]").astype(np.int64)
        keys = (numbers[at].astype(np.uint64) << np.uint64(_DAY_BITS)) | (day + _DAY_OFFSET).astype(
            np.uint64
        )
        keys[(at < 0) | stamp.isna().to_numpy()] = np.uint64(2**64 - 1)  # matches nothing
        return keys

    def add(self, restaurants: ArrayLike, days: ArrayLike) -> None:
        """Adds each row's (restaurant, day) (aligned columns; days as dates or timestamps)."""
        known = pd.notna(np.asarray(restaurants, dtype=object)) & pd.notna(
            np.asarray(days, dtype=object)
        )
        rows = np.flatnonzero(known)
        if len(rows):
            rids = np.asarray(restaurants, dtype=object)[rows]
            self._keys.add(self._encode(rids, np.asarray(days, dtype=object)[rows], add=True))

    def count_in(self, restaurants: ArrayLike, days: ArrayLike) -> int:
        """How many of the rows' (restaurant, day) pairs were added."""
        rids = np.asarray(restaurants, dtype=object)
        if not len(rids) or not self.size:
            return 0
        return int(self._keys.contains(self._encode(rids, days, add=False)).sum())

    def restaurants(self) -> list[str]:
        """The restaurants of the pairs, sorted."""
        return sorted(self._numbers)

    def ranges(self) -> dict[str, tuple[dt.date, dt.date]]:
        """Each restaurant's first and last day."""
        keys = np.concatenate(self._keys.runs()) if self.size else np.zeros(0, np.uint64)
        number = (keys >> np.uint64(_DAY_BITS)).astype(np.int64)
        day = (keys & np.uint64(2**_DAY_BITS - 1)).astype(np.int64) - _DAY_OFFSET
        frame = pd.DataFrame({"n": number, "d": day}).groupby("n")["d"].agg(["min", "max"])
        names = {n: rid for rid, n in self._numbers.items()}
        epoch = dt.date(1970, 1, 1)
        return {
            names[int(n)]: (epoch + dt.timedelta(days=int(lo)), epoch + dt.timedelta(days=int(hi)))
            for n, lo, hi in frame.itertuples()
        }
