"""pipelines.io.keyindex: per-key state of a file's chunks, in arrays.

Expected slots are worked out by hand (numbered in order of first appearance), and a property
test checks many random batches against a plain dict doing the same bookkeeping.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from pipelines.io.adapters._csv_common import Numbering, number_within
from pipelines.io.keyindex import DayPairs, KeyIndex, KeySet, grown, key_hashes


def _h(*texts: str) -> np.ndarray:
    return key_hashes(pd.Series(list(texts)))


def test_slots_are_numbered_in_order_of_first_appearance() -> None:
    index = KeyIndex()
    np.testing.assert_array_equal(index.add(_h("b", "a", "b")), [0, 1, 0])
    np.testing.assert_array_equal(index.add(_h("c", "a", "d")), [2, 1, 3])
    np.testing.assert_array_equal(index.find(_h("d", "e", "b")), [3, -1, 0])
    assert index.size == 4


def test_the_same_texts_hash_alike_whatever_their_dtype() -> None:
    plain = key_hashes(pd.Series(["r1", "r2"], dtype=object), pd.Series(["o1", "o2"]))
    typed = key_hashes(pd.Series(["r1", "r2"], dtype="str"), pd.Series(["o1", "o2"], dtype="str"))
    np.testing.assert_array_equal(plain, typed)
    assert plain[0] != plain[1]
    # the key is the pair: ("r1", "o2") is neither row
    assert key_hashes(pd.Series(["r1"]), pd.Series(["o2"]))[0] not in set(plain.tolist())


def test_runs_merge_as_they_grow() -> None:
    keys = KeySet()
    for i in range(64):
        keys.add(_h(f"k{i}"))
    assert keys.size == 64
    assert len(keys._runs) == 1  # 64 single keys: a binary counter ends in one run of 64
    keys.add(_h("k3", "new"))  # k3 is known: only "new" is added
    assert keys.size == 65 and len(keys._runs) == 2
    assert keys.contains(_h("k0", "k63", "new", "other")).tolist() == [True, True, True, False]


@given(st.lists(st.lists(st.integers(0, 40), max_size=30), max_size=12))
def test_key_index_matches_a_dict(batches: list[list[int]]) -> None:
    index, reference = KeyIndex(), {}
    for batch in batches:
        hashes = _h(*(f"x{v}" for v in batch)) if batch else np.zeros(0, dtype=np.uint64)
        expected = [reference.setdefault(v, len(reference)) for v in batch]
        np.testing.assert_array_equal(index.add(hashes), expected)
    assert index.size == len(reference)


def test_numbering_goes_on_across_chunks() -> None:
    """Order A has lines in both chunks: 1, 2 then 3; B starts in the second."""
    carry = Numbering()
    first = number_within(pd.Series(["A", "A"]), carry=carry)
    second = number_within(pd.Series(["B", "A", "B"]), carry=carry)
    assert first.tolist() == [1, 2]
    assert second.tolist() == [1, 3, 2]


def test_grown_keeps_values_and_fills() -> None:
    out = grown(np.array([5, 6]), 5, -1)
    assert out[:5].tolist() == [5, 6, -1, -1, -1]
    same = np.array([1, 2, 3])
    assert grown(same, 2, 0) is same


def test_day_pairs_by_hand() -> None:
    """Distinct (restaurant, day) pairs over chunks, whatever the days' type (dates,
    timestamps, ISO text); missing restaurants or days are left out; counts, restaurants and
    each restaurant's first and last day as worked out by hand."""
    pairs = DayPairs()
    d = dt.date
    pairs.add(pd.Series(["a", "b", "a"]), pd.Series([d(2024, 1, 2), d(2024, 1, 1), d(2024, 1, 2)]))
    pairs.add(
        pd.Series(["a", "c", None, "b"]),
        pd.Series([pd.Timestamp("2023-12-31"), pd.Timestamp("2024-02-29"), d(2024, 3, 1), None]),
    )
    pairs.add(pd.Series(["b"]), pd.Series(["2024-01-01"]))  # seen as a date before
    assert pairs.size == 4  # a 01-02, b 01-01, a 12-31, c 02-29
    assert pairs.restaurants() == ["a", "b", "c"]
    assert pairs.ranges() == {
        "a": (d(2023, 12, 31), d(2024, 1, 2)),
        "b": (d(2024, 1, 1), d(2024, 1, 1)),
        "c": (d(2024, 2, 29), d(2024, 2, 29)),
    }
    asked = pd.Series(["a", "a", "z", "b", "c"])
    days = pd.Series([d(2024, 1, 2), d(2024, 1, 3), d(2024, 1, 2), d(2024, 1, 1), None])
    assert pairs.count_in(asked, days) == 2  # a 01-02 and b 01-01
    assert DayPairs().count_in(asked, days) == 0
    assert DayPairs().ranges() == {}
