"""The snapshot table of a partitioned log built part by part (salesmetrics/features/parts.py, without a cluster) is
the table of the whole log: the same rows in the same order, dtypes and attrs; the owners' record is the one
value that crosses deals. The cluster's runs are in tests/test_scale.py."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from builders import break_a_part, foreign_logs, log_from_rows, partitioned_foreign_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.exceptions import LogValidationError, UsageError
from salesmetrics.features.build import snapshots
from salesmetrics.features.parts import snapshot_parts
from salesmetrics.features.rows import OWNER_COUNTS, owner_history, snapshot_rows
from salesmetrics.log.config import StageModel
from salesmetrics.log.partition import partition_log
from salesmetrics.models import StallPredictor
from salesmetrics.models.evaluation import evaluate
from salesmetrics.models.rolling import rolling_origin, rolling_table

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"
OPTIONS = [
    {"as_of": ["2024-06-30", "2024-12-31"]},
    {"freq": "M"},
    {"freq": "M", "observed_until": "2024-09-30", "horizon_days": 14},
    {"freq": "W", "start": "2024-03-01", "end": "2024-08-31", "observed_until": "2024-08-31"},
]
OWNER_FEATURES = ["owner_win_rate", "owner_closed", "owner_decision_rate"]


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> Path:
    return partition_log(DEMO, tmp_path_factory.mktemp("demo") / "parts", 3).folder


@pytest.fixture(scope="module")
def demo() -> sm.SalesLog:
    return sm.read_log(DEMO)


def _by_deal(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["as_of", "deal_id"], kind="stable", ignore_index=True)


@pytest.mark.parametrize("options", OPTIONS)
def test_part_by_part_is_the_table_of_the_parts_end_to_end_and_of_the_whole_log(parts, demo, options):
    here = snapshot_parts(parts, **options)
    end_to_end = snapshots(sm.read_log(parts), **options)
    pd.testing.assert_frame_equal(here, end_to_end, check_exact=True)
    assert here.attrs == end_to_end.attrs
    whole = snapshots(demo, **options)  # the deals in another order, else the same rows
    pd.testing.assert_frame_equal(_by_deal(here), _by_deal(whole), check_exact=True)
    assert here.attrs == whole.attrs
    assert here["as_of"].is_monotonic_increasing and len(here) > 100


def test_a_folder_path_is_built_part_by_part_and_a_client_needs_one(parts, demo):
    pd.testing.assert_frame_equal(snapshots(parts, freq="M"), snapshot_parts(parts, freq="M"), check_exact=True)
    with pytest.raises(UsageError, match="pass the folder's path"):
        snapshots(demo, freq="M", client=object())
    with pytest.raises(UsageError, match="parts=FOLDER"):
        evaluate(StallPredictor(), demo, client=object())


def test_the_owners_record_is_the_one_value_that_crosses_deals(parts):
    """A part's rows with its own owners' record differ in the owner features only; with the whole log's, they are
    the whole table's rows."""
    part = sm.read_log(parts / "part-00000")
    whole = sm.read_log(parts)
    table = snapshots(whole, freq="M")
    dates = sorted(table["as_of"].unique())
    observed = pd.Timestamp(table.attrs["observed_until"])
    expected = table[table["deal_id"].isin(part.deals["deal_id"])].reset_index(drop=True)
    alone = snapshot_rows(part, dates, 30.0, observed)
    together = snapshot_rows(part, dates, 30.0, observed, owners=owner_history(whole, dates, observed))
    pd.testing.assert_frame_equal(together, expected, check_exact=True)
    others = [c for c in expected.columns if c not in OWNER_FEATURES]
    pd.testing.assert_frame_equal(alone[others], expected[others], check_exact=True)
    assert (alone["owner_closed"] < expected["owner_closed"]).mean() > 0.5  # the other parts' closes are missing


def test_the_owners_record_counts_by_hand():
    """Two deals of one owner: a win on 3 Jan and a loss on 10 Jan count at the first weekly moment that sees them."""
    model = StageModel(stages=("Lead",), won=("Won",), lost=("Lost",), timezone="UTC")
    deals = [("A", "Kim", "2024-01-01 09:00", 100.0), ("B", "Kim", "2024-01-01 09:00", 100.0)]
    changes = [
        ("A", "2024-01-01 09:00", "Lead"),
        ("B", "2024-01-01 09:00", "Lead"),
        ("A", "2024-01-03 10:00", "Won"),
        ("B", "2024-01-10 10:00", "Lost"),
    ]
    log = log_from_rows(model, deals, changes)
    dates = [pd.Timestamp(d, tz="UTC") for d in ("2024-01-07 23:59:59.999999", "2024-01-14 23:59:59.999999")]
    record = owner_history(log, dates, dates[-1])
    assert record[["owner", "closed", "wins", "interactions", "decisions"]].to_dict("records") == [
        {"owner": "Kim", "closed": 1, "wins": 1, "interactions": 0, "decisions": 0},
        {"owner": "Kim", "closed": 1, "wins": 0, "interactions": 0, "decisions": 0},
    ]
    assert list(record.columns) == ["owner", "at", *OWNER_COUNTS]


def test_a_broken_part_is_reported_located(tmp_path):
    parts = partition_log(DEMO, tmp_path / "p", 2).folder
    broken = break_a_part(parts)
    with pytest.raises(LogValidationError) as caught:
        snapshot_parts(parts, freq="M")
    assert [p.file for p in caught.value.problems.errors] == [broken]


@pytest.mark.slow  # about 30 s: six snapshot tables and six fits
def test_a_rolling_backtest_of_the_folder_gives_the_figures_of_the_log(parts):
    estimator = StallPredictor(model="logistic", random_state=0)
    options = {"n_bootstrap": 0, "snapshot_options": {"freq": "M"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-data notices: the same either way
        from_log = rolling_table(rolling_origin(estimator, sm.read_log(parts), 2, **options))
        from_parts = rolling_table(rolling_origin(estimator, parts, 2, **options))
    pd.testing.assert_frame_equal(from_parts, from_log, check_exact=True)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=foreign_logs(), partitions=st.integers(1, 4), freq=st.sampled_from(["D", "W"]))
def test_random_logs_part_by_part_are_their_whole_table(tmp_path_factory, drawn, partitions, freq):
    folder, out = partitioned_foreign_log(tmp_path_factory, drawn, partitions)
    if out is None:  # a part would lack a required table (a few deals only)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # notes of a random log: the same either way
        whole = sm.read_log(out)
        try:
            expected = snapshots(whole, freq=freq)
        except UsageError as exc:  # no dated events, no stage changes: the parts say the same
            with pytest.raises(UsageError, match=str(exc)[:40]):
                snapshot_parts(out, freq=freq)
            return
        here = snapshot_parts(out, freq=freq)
    pd.testing.assert_frame_equal(here, expected, check_exact=True)
    assert here.attrs == expected.attrs
    alone = snapshots(sm.read_log(folder), freq=freq)
    pd.testing.assert_frame_equal(_by_deal(here), _by_deal(alone), check_exact=True)
