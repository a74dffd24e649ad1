"""What the model commands need of a whole log, from passes over its parts: the stage changes' range (the date
checks of ``model train|backtest``; ``salesmetrics.metrics.scale.stage_change_range_of_parts``) and the backtest's
momentum flag (``salesmetrics.models.momentum_parts``) equal those of the log the parts make, without a cluster
(tests/test_scale.py runs them on one)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from builders import foreign_logs, partitioned_foreign_log, warn_in_part
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.features.build import snapshots
from salesmetrics.log.partition import partition_log
from salesmetrics.log.prepare import stage_change_range
from salesmetrics.metrics.momentum import completed_stays
from salesmetrics.metrics.scale import stage_change_range_of_parts
from salesmetrics.models.baselines import momentum_stall_flags
from salesmetrics.models.momentum_parts import momentum_stall_flags_of_parts

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> Path:
    return partition_log(DEMO, tmp_path_factory.mktemp("demo") / "parts", 3).folder


@pytest.mark.parametrize("group", ["owner", "team", None])
def test_the_stays_that_ended_by_a_moment_are_the_completed_stays_then(group):
    log = sm.read_log(DEMO)
    every = completed_stays(log, "2025-06-30", group=group, with_end=True)
    for day in ("2024-02-15", "2024-08-31", "2025-01-01"):
        at = pd.Timestamp(f"{day} 23:59:59.999999", tz="UTC")
        ended = every[(every["left_at"] <= at).to_numpy()].drop(columns="left_at")
        then = completed_stays(log, day, group=group)
        assert len(then) > 50
        columns = list(then.columns)
        pd.testing.assert_frame_equal(
            ended.sort_values(columns, ignore_index=True), then.sort_values(columns, ignore_index=True)
        )


@pytest.mark.parametrize("options", [{}, {"group": "team", "stall_quantile": 0.75, "min_stays": 4}])
def test_the_momentum_flag_part_by_part_is_the_whole_logs(parts, options):
    whole = sm.read_log(parts)
    snap = snapshots(whole, freq="M")
    expected = momentum_stall_flags(whole, snap, **options)
    got = momentum_stall_flags_of_parts(parts, snap, **options)
    assert 50 < int(expected.sum()) < len(snap)
    pd.testing.assert_series_equal(got, expected)
    shuffled = snap.sample(frac=1, random_state=0)  # rows in any order: each keeps its flag
    pd.testing.assert_series_equal(momentum_stall_flags_of_parts(parts, shuffled, **options), expected[shuffled.index])


def test_the_stage_change_range_part_by_part_is_the_whole_logs(parts, tmp_path):
    assert stage_change_range_of_parts(parts) == stage_change_range(sm.read_log(parts))
    own = partition_log(DEMO, tmp_path / "parts", 2).folder
    warn_in_part(own / "part-00001")  # this part is validated with pandas, not the relational core
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        span = stage_change_range_of_parts(own)
        assert span == stage_change_range(sm.read_log(own)) == stage_change_range_of_parts(parts)
    assert f"{span.first:%Y-%m-%d} {span.last:%Y-%m-%d}" == "2024-01-01 2025-06-30"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=foreign_logs(), partitions=st.integers(1, 3))
def test_random_logs_have_the_stage_change_range_of_their_parts(tmp_path_factory, drawn, partitions):
    _, out = partitioned_foreign_log(tmp_path_factory, drawn, partitions)
    if out is None:  # a part would lack a required table (a few deals only)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # notes of a random log: the same either way
        expected = stage_change_range(sm.read_log(out))
        got = stage_change_range_of_parts(out)
    assert got == expected
    assert got.timezone == drawn[0].timezone
