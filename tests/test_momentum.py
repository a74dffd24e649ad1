"""Momentum flags on a hand-computed log."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from builders import PIPELINE_MODEL, T0, pipeline_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import truncate
from salesmetrics.metrics.momentum import momentum_flags

CONFIG = "stages: [Lead, Qualified, Commit]\nwon: [Won]\nlost: [Lost]\ncommit_stage: Commit\ntimezone: UTC\n"
DEALS = """\
deal_id,owner,created_at,amount,team
A,ann,2024-01-01 00:00,1000,east
B,ann,2024-01-01 00:00,3000,east
C,bob,2024-01-15 00:00,2000,west
D,bob,2024-02-01 00:00,500,west
E,bob,2024-02-20 00:00,,west
F,ann,2024-01-05 00:00,4000,east
"""
CHANGES = """\
deal_id,changed_at,stage
A,2024-01-01 00:00,Lead
A,2024-01-11 00:00,Qualified
A,2024-01-21 00:00,Commit
A,2024-01-31 00:00,Won
B,2024-01-01 00:00,Lead
B,2024-01-06 00:00,Qualified
B,2024-02-05 00:00,Lost
C,2024-01-15 00:00,Lead
C,2024-02-04 00:00,Commit
C,2024-02-19 00:00,Won
D,2024-02-01 00:00,Lead
D,2024-02-11 00:00,Qualified
D,2024-03-20 00:00,Won
E,2024-02-20 00:00,Lead
E,2024-03-01 00:00,Commit
F,2024-01-05 00:00,Lead
F,2024-01-10 00:00,Commit
F,2024-01-20 00:00,Qualified
F,2024-01-25 00:00,Commit
F,2024-02-10 00:00,Lost
"""
ACTIVITIES = """\
deal_id,occurred_at,kind,outcome,direction
D,2024-02-03 12:00,email,,outbound
D,2024-02-12 00:00,call,,outbound
D,2024-02-13 00:00,call,,outbound
D,2024-02-14 00:00,call,,outbound
D,2024-03-12 00:00,call,,outbound
E,2024-03-05 00:00,email,,outbound
"""
CLOSE_DATES = """\
deal_id,changed_at,close_date
D,2024-02-01 00:00,2024-03-01
D,2024-03-15 00:00,2024-04-30
E,2024-02-20 00:00,2024-03-31
E,2024-03-05 00:00,2024-03-10
"""
AS_OF = "2024-03-10 00:00"


@pytest.fixture
def log(tmp_path: Path) -> sm.SalesLog:
    folder = tmp_path / "log"
    folder.mkdir()
    for name, text in {
        "salesmetrics.yaml": CONFIG,
        "deals.csv": DEALS,
        "stage_changes.csv": CHANGES,
        "activities.csv": ACTIVITIES,
        "close_date_changes.csv": CLOSE_DATES,
    }.items():
        (folder / name).write_text(text)
    return sm.read_log(folder)


def test_open_deals_and_the_numbers_behind_each_flag(log):
    f = momentum_flags(log, AS_OF, group=None, min_stays=1, motion_without_movement=3).set_index("deal_id")
    assert f.index.tolist() == ["D", "E"]  # D's win on 20 March is after as_of
    assert f["stage"].tolist() == ["Qualified", "Commit"]
    assert f["days_in_stage"].tolist() == pytest.approx([28, 9])
    # completed Qualified stays: 10 (A), 30 (B), 5 (F); 90th percentile by linear interpolation = 26
    assert f.loc["D", "stall_threshold_days"] == pytest.approx(26) and f.loc["D", "stalled"]
    # completed Commit stays: 10, 15, 10, 16; 90th percentile = 15.7
    assert f.loc["E", "stall_threshold_days"] == pytest.approx(15.7) and not f.loc["E", "stalled"]
    assert f["stall_basis"].tolist() == ["all", "all"]
    # D's last activity by as_of is 14 Feb (the 12 March call is not seen): 25 days
    assert f["days_since_activity"].tolist() == pytest.approx([25, 5])
    assert f["no_activity"].tolist() == [True, False]
    assert f["activities_since_movement"].tolist() == [3, 1]
    assert f["motion_without_movement"].tolist() == [True, False]
    # D expected 1 March (the change of 15 March is not seen); E's 10 March is the as_of day, not past
    assert f["expected_close_date"].tolist() == [
        pd.Timestamp("2024-03-01", tz="UTC"),
        pd.Timestamp("2024-03-10", tz="UTC"),
    ]
    assert f["close_date_past"].tolist() == [True, False]
    assert f["n_flags"].tolist() == [4, 0]
    assert (f["no_activity_days"] == 14).all() and (f["motion_without_movement_threshold"] == 3).all()


def test_thresholds_are_parameters(log):
    f = momentum_flags(log, AS_OF, group=None, min_stays=1, stall_quantile=0.5, no_activity_days=30)
    f = f.set_index("deal_id")
    assert f.loc["D", "stall_threshold_days"] == 10 and f.loc["E", "stall_threshold_days"] == 12.5
    assert not f["no_activity"].any()
    assert not f["motion_without_movement"].any()  # default K = 5


def test_stall_fallback_when_a_group_has_few_stays(log):
    f = momentum_flags(log, AS_OF, group="owner", min_stays=1).set_index("deal_id")
    # bob has no completed Qualified stay: the pooled stays are used; he has one Commit stay (C, 15 days)
    assert f.loc["D", "stall_basis"] == "all" and f.loc["D", "stall_reference_stays"] == 3
    assert f.loc["E", "stall_basis"] == "owner" and f.loc["E", "stall_threshold_days"] == 15
    few = momentum_flags(log, AS_OF).set_index("deal_id")  # default min_stays=10: too few anywhere
    assert few["stall_basis"].tolist() == ["too few stays"] * 2
    assert few["stall_threshold_days"].isna().all() and not few["stalled"].any()


def test_same_result_on_truncated_log_and_on_a_subset_of_deals(log):
    full = momentum_flags(log, AS_OF, group=None, min_stays=1)
    pd.testing.assert_frame_equal(full, momentum_flags(truncate(log, AS_OF), AS_OF, group=None, min_stays=1))
    keep = ["D"]
    subset = sm.SalesLog(log.model, *(t[t["deal_id"].isin(keep)] for t in log.tables.values()))
    per_deal = ["days_in_stage", "days_since_activity", "activities_since_movement", "close_date_past"]
    mine = momentum_flags(subset, AS_OF, group=None).set_index("deal_id")[per_deal]
    pd.testing.assert_frame_equal(mine, full.set_index("deal_id").loc[keep, per_deal])


def test_bad_parameters(log):
    with pytest.raises(UsageError, match="stall_quantile"):
        momentum_flags(log, stall_quantile=90)
    with pytest.raises(UsageError, match="group"):
        momentum_flags(log, group="region")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipeline_frames(), st.integers(0, 24 * 400))
def test_activity_and_close_date_columns_match_a_plain_pandas_version(frames, cut_hours):
    deals, changes, activities, close_dates = frames
    # activities at the very moment of a stage change too: "after the last movement" is strictly after
    at_changes = changes.rename(columns={"changed_at": "occurred_at"})[["deal_id", "occurred_at"]].assign(kind="call")
    activities = pd.concat([activities, at_changes], ignore_index=True)
    log = sm.SalesLog.from_frames(PIPELINE_MODEL, deals, changes, activities, close_dates)
    as_of = T0 + pd.Timedelta(hours=cut_hours)
    if (log.deals["created_at"] > as_of).all():
        return
    flags = momentum_flags(log, as_of, min_stays=1)
    cut = truncate(log, as_of)
    acts, dates = cut.activities, cut.close_date_changes
    for row in flags.itertuples():
        mine = acts[acts["deal_id"] == row.deal_id]
        assert row.last_activity_at is pd.NaT if mine.empty else row.last_activity_at == mine["occurred_at"].max()
        assert row.activities_since_movement == int((mine["occurred_at"] > row.last_movement_at).sum())
        changes = dates[dates["deal_id"] == row.deal_id].sort_values(["changed_at", "close_date"])
        latest = changes["close_date"].iloc[-1] if len(changes) else pd.NaT
        assert row.expected_close_date is pd.NaT if latest is pd.NaT else row.expected_close_date == latest
    assert flags["last_activity_at"].dtype == acts["occurred_at"].dtype
    assert flags["expected_close_date"].dtype == dates["close_date"].dtype
