"""The vectorised helpers agree with the plain pandas operations they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmetrics._fast import contains, duplicated_rows, index_in, is_in

rows = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 4), st.sampled_from(["call", "email", None])), min_size=0, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(rows=rows)
def test_duplicated_rows_equals_pandas(rows):
    frame = pd.DataFrame(
        {
            "deal_id": pd.Series([f"D{r[0]}" for r in rows], dtype="str"),
            "occurred_at": pd.to_datetime([r[1] for r in rows], unit="h", utc=True),
            "kind": pd.Series([r[2] for r in rows], dtype="str"),
        }
    )
    codes = np.array([r[0] for r in rows], dtype=np.int64)
    fast = duplicated_rows(frame, codes, "occurred_at", min_rows=0)
    assert fast.tolist() == frame.duplicated().tolist()


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.sampled_from(["a", "b", "c", None]), max_size=30))
def test_is_in_and_index_in_equal_pandas(values):
    series = pd.Series(values, dtype="str")
    assert is_in(series, ["a", "b"]).tolist() == (series.isin(["a", "b"]) | series.isna()).tolist()
    lookup = pd.Series(["c", "a"], dtype="str")
    expected = pd.Index(lookup).get_indexer(series)
    assert index_in(series, lookup).tolist() == expected.tolist()


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.sampled_from(["a", "b", "c", None]), max_size=30),
    lookup=st.lists(st.sampled_from(["a", "c", "d"]), max_size=5),
)
def test_contains_equals_isin(values, lookup):
    series = pd.Series(values, dtype="str")
    other = pd.Series(lookup, dtype="str")
    assert contains(series, other).tolist() == series.isin(other).tolist()
