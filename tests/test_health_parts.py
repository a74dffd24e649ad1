"""``pipeline_health`` of a partitioned log part by part (no cluster: the tasks run here, by the functions a cluster
runs) equals ``pipeline_health`` of the log read whole; the "stalled in stage" thresholds combine exactly."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from builders import (
    assert_same_health,
    break_a_part,
    foreign_logs,
    partitioned_foreign_log,
    write_undated_log,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.exceptions import LogValidationError, UsageError
from salesmetrics.log.partition import partition_log
from salesmetrics.metrics.momentum import completed_stays, momentum_flags, stall_thresholds
from salesmetrics.reports.health import pipeline_health

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"
OPTIONS = [
    {},
    {"as_of": "2024-12-31", "period": "W", "by": "team"},
    {"as_of": "2024-06-30", "period": "Q", "min_motions": 3},
]


@pytest.fixture(scope="module")
def demo_parts(tmp_path_factory) -> Path:
    return partition_log(DEMO, tmp_path_factory.mktemp("demo") / "parts", 3).folder


@pytest.mark.parametrize("options", OPTIONS)
def test_part_by_part_is_the_whole_log(demo_parts, options):
    expected = pipeline_health(sm.read_log(demo_parts), **options)
    got = pipeline_health(demo_parts, **options)
    assert_same_health(got, expected)
    assert got.narrative() == expected.narrative()
    assert len(got.stuck_deals) and got.stuck_deals["stalled"].any()  # the thresholds were used


def test_four_parts_flag_the_deals_the_unpartitioned_log_flags(tmp_path):
    parts = partition_log(DEMO, tmp_path / "parts", 4).folder
    got = pipeline_health(parts, as_of="2025-03-31")
    alone = pipeline_health(sm.read_log(DEMO), as_of="2025-03-31")  # other deal order: compare by deal
    pd.testing.assert_frame_equal(got.stuck_deals, alone.stuck_deals, check_exact=True)
    pd.testing.assert_frame_equal(got.groups, alone.groups, check_exact=True)


def test_a_part_alone_would_flag_other_deals_as_stalled(demo_parts):
    """The thresholds are a whole-log value: a part's own completed stays give other ones."""
    as_of = "2024-12-31"
    part = sorted(demo_parts.glob("part-*"))[0]
    whole = stall_thresholds(completed_stays(sm.read_log(demo_parts), as_of), "owner", 0.9)
    pieces = pd.concat([completed_stays(sm.read_log(p), as_of) for p in sorted(demo_parts.glob("part-*"))])
    combined = stall_thresholds(pieces, "owner", 0.9)
    pd.testing.assert_frame_equal(combined.by_stage, whole.by_stage, check_exact=True)
    pd.testing.assert_frame_equal(combined.by_group, whole.by_group, check_exact=True)
    alone = momentum_flags(sm.read_log(part), as_of)
    given = momentum_flags(sm.read_log(part), as_of, thresholds=whole)
    assert not alone["stall_threshold_days"].equals(given["stall_threshold_days"])
    assert (given["stall_basis"] != "too few stays").any()


def test_the_thresholds_by_hand():
    stays = pd.DataFrame(
        {"grp": ["a", "a", "a", "a", "b"], "stage": ["Lead"] * 4 + ["Demo"], "days": [4.0, 1.0, 3.0, 2.0, 7.0]}
    )
    thresholds = stall_thresholds(stays, "owner", 0.9)
    # 0.9 of the way through the sorted 1, 2, 3, 4: position 2.7, so 3 + 0.7 * (4 - 3)
    assert thresholds.by_stage.loc["Lead"].tolist() == pytest.approx([3.7, 4])
    assert thresholds.by_group.loc[("b", "Demo")].tolist() == [7.0, 1]
    assert stall_thresholds(stays.drop(columns="grp"), None, 0.5).by_group.empty


def test_an_undated_log_counts_the_same_stages(tmp_path):
    log = write_undated_log(tmp_path / "log")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = partition_log(log, tmp_path / "parts", 2).folder
        expected = pipeline_health(sm.read_log(parts))
        got = pipeline_health(parts)
    assert not got.dated
    assert got.stage_counts.sum() == 2
    assert_same_health(got, expected)
    assert got.narrative() == expected.narrative()


@pytest.mark.parametrize("as_of", [None, "2024-12-31"])
def test_a_broken_part_is_reported_located(tmp_path, as_of):
    parts = partition_log(DEMO, tmp_path / "p", 2).folder
    broken = break_a_part(parts)
    with pytest.raises(LogValidationError) as caught:
        pipeline_health(parts, as_of=as_of)
    assert [p.file for p in caught.value.problems.errors] == [broken]


def test_a_client_needs_a_folder_path(demo_parts):
    with pytest.raises(UsageError, match="folder's parts"):
        pipeline_health(sm.read_log(demo_parts), client=object())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=foreign_logs(), partitions=st.integers(1, 4), by=st.sampled_from(["owner", "team"]))
def test_random_logs_part_by_part_are_their_whole_health(tmp_path_factory, drawn, partitions, by):
    _, parts = partitioned_foreign_log(tmp_path_factory, drawn, partitions)
    if parts is None:  # a part would lack a required table (a few deals only)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # notes of a random log: the same either way
        try:
            expected = pipeline_health(sm.read_log(parts), by=by, min_motions=1)
        except UsageError as exc:
            with pytest.raises(UsageError, match=str(exc)[:40]):
                pipeline_health(parts, by=by, min_motions=1)
            return
        got = pipeline_health(parts, by=by, min_motions=1)
    assert_same_health(got, expected)
