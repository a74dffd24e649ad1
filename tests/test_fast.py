"""The vectorised helpers agree with the plain pandas operations they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmetrics._util.fast import contains, duplicated_rows, index_in, is_in

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


def _pandera_finds_nothing(frame, spec, model) -> bool:
    import pandera.pandas as pa

    from salesmetrics.log.schemas import table_schema

    try:
        table_schema(spec, model).validate(frame, lazy=True)
    except pa.errors.SchemaErrors:
        return False
    return True


text = st.sampled_from(["D1", "D2", "D3", "x", None])
vocab = st.sampled_from(["Lead", "Won", "Lost", "Nope", "advanced", "stayed", "inbound", "outbound", "sideways", None])
when = st.one_of(st.none(), st.integers(0, 3))


@settings(max_examples=60, deadline=None)
@given(
    table=st.sampled_from(["deals", "stage_changes", "activities", "close_date_changes"]),
    rows=st.lists(st.tuples(text, vocab, vocab, when, when, st.one_of(st.none(), st.integers(-2, 5))), max_size=8),
    drop_optional=st.booleans(),
)
def test_surely_valid_agrees_with_pandera(table, rows, drop_optional):
    """The quick check says "valid" exactly when the pandera schema finds nothing (on parsed column types)."""
    from salesmetrics.log.config import StageModel
    from salesmetrics.log.schemas import TABLES, surely_valid

    model = StageModel(stages=("Lead", "Qualified"), won=("Won",), lost=("Lost",), timezone="UTC")
    spec = next(s for s in TABLES if s.name == table)
    stamp = lambda i: pd.to_datetime([r[i] for r in rows], unit="D", utc=True).astype("datetime64[us, UTC]")  # noqa: E731
    texts = lambda i: pd.Series([r[i] for r in rows], dtype="str")  # noqa: E731
    columns = {
        "deals": {
            "deal_id": texts(0),
            "owner": texts(1),
            "created_at": stamp(3),
            "amount": pd.Series([r[5] for r in rows], dtype="float64"),
            "team": texts(2),
        },
        "stage_changes": {"deal_id": texts(0), "changed_at": stamp(3), "stage": texts(1)},
        "activities": {
            "deal_id": texts(0),
            "occurred_at": stamp(3),
            "kind": texts(2),
            "outcome": texts(1),
            "direction": texts(2),
        },
        "close_date_changes": {"deal_id": texts(0), "changed_at": stamp(3), "close_date": stamp(4)},
    }[table]
    frame = pd.DataFrame({k: pd.Series(v).reset_index(drop=True) for k, v in columns.items()})
    if drop_optional:
        frame = frame.drop(columns=[c for c in spec.optional if c in frame])
    assert surely_valid(frame, spec, model) == _pandera_finds_nothing(frame, spec, model)


def test_surely_valid_leaves_other_column_types_to_pandera():
    from salesmetrics.log.config import StageModel
    from salesmetrics.log.schemas import STAGE_CHANGES, surely_valid

    model = StageModel(stages=("Lead",), won=("Won",), lost=("Lost",), timezone="UTC")
    frame = pd.DataFrame({"deal_id": ["D1"], "changed_at": pd.to_datetime(["2024-01-01"], utc=True), "stage": ["Lead"]})
    assert surely_valid(frame.astype({"deal_id": "str", "stage": "str"}), STAGE_CHANGES, model)
    assert not surely_valid(frame.astype({"deal_id": "object", "stage": "str"}), STAGE_CHANGES, model)
    assert not surely_valid(
        frame.astype({"deal_id": "str", "stage": "str"}).assign(changed_at=["x"]), STAGE_CHANGES, model
    )


def test_reading_a_valid_log_does_not_import_pandera(tmp_path):
    import subprocess
    import sys

    code = "import sys, salesmetrics as sm; sm.read_log('datasets/demo'); print('pandera' in ' '.join(sys.modules))"
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["D1", "D2"]),
            st.integers(0, 2),
            st.sampled_from(["call", "email"]),
            st.sampled_from(["stayed", None]),
            st.sampled_from(["inbound", None]),
        ),
        max_size=12,
    )
)
def test_duckdb_duplicate_check_equals_pandas(tmp_path_factory, rows):
    """The fast path's check (row hashes sorted) finds duplicates exactly when DataFrame.duplicated does."""
    from salesmetrics.log.sql import connect, repeated_rows_check

    frame = pd.DataFrame(rows, columns=["deal_id", "occurred_at", "kind", "outcome", "direction"])
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], unit="h", utc=True)
    path = tmp_path_factory.mktemp("dup") / "activities.parquet"
    frame.to_parquet(path, index=False)
    source = f"read_parquet('{path}')"
    check = repeated_rows_check(connect(), source, list(frame.columns))
    assert bool(len(check())) == bool(frame.duplicated().any())
    pairs = repeated_rows_check(connect(), source, ["deal_id", "occurred_at"])
    assert bool(len(pairs())) == bool(frame.duplicated(["deal_id", "occurred_at"]).any())
