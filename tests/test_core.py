"""The relational core (salesmetrics/log/core.py): in-memory logs through the same query, local times, one rule set."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import duckdb
import oracle_movement as movement
import pandas as pd
import pytest
from builders import PIPELINE_MODEL, pipeline_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.log.column_types import rule_failures_sql, wall_to_instant_sql
from salesmetrics.log.prepare import resolve_as_of
from salesmetrics.log.schemas import RULES
from salesmetrics.metrics._engine import deal_scores_frame

EPOCH = datetime(1970, 1, 1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipeline_frames(), st.integers(0, 3))
def test_in_memory_log_scores_equal_the_pandas_oracle(frames, cut):
    """score per deal of a SalesLog goes through the core's query; pandas' deal_scores is the oracle."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = sm.SalesLog.from_frames(PIPELINE_MODEL, *frames)
        times = sorted(log.stage_changes["changed_at"].tolist())
        as_of = None if cut == 0 or not times else times[len(times) * cut // 4 - (cut == 4)]
        as_of = resolve_as_of(log, as_of)
        expected = movement.deal_scores(log, as_of)
    got = deal_scores_frame(log, as_of.value // 1000)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_in_memory_log_scores_equal_the_pandas_oracle_on_the_demo():
    log = sm.read_log("datasets/demo")
    for text in (None, "2024-03-15", "2024-06-30T12:00"):
        as_of = resolve_as_of(log, text)
        pd.testing.assert_frame_equal(
            deal_scores_frame(log, as_of.value // 1000), movement.deal_scores(log, as_of), check_exact=True
        )


def _pandas_instant(wall: datetime, tz: str):
    """The instant validation gives a naive time (None when it gives none or shifts it)."""
    stamp = pd.Series([pd.Timestamp(wall)]).dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")[0]
    return None if pd.isna(stamp) else stamp.value // 1000


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"])
@settings(max_examples=60, deadline=None)
@given(minutes=st.lists(st.integers(0, 3 * 365 * 24 * 60), min_size=1, max_size=40))
def test_wall_clock_times_become_the_instants_pandas_gives(tz, minutes):
    """Around clock changes too: a time pandas cannot place (skipped or repeated) is flagged unclear, no other."""
    start = datetime(2023, 1, 1)
    walls = [start + timedelta(minutes=m) for m in minutes]
    # put some times right into the hours clocks skip or repeat
    walls += [datetime(2024, 3, 31, 2, 30), datetime(2024, 10, 27, 2, 30), datetime(2024, 3, 10, 2, 30)]
    walls += [datetime(2024, 11, 3, 1, 30), datetime(2024, 4, 7, 1, 45), datetime(2024, 10, 6, 2, 15)]
    us = [(w - EPOCH) // timedelta(microseconds=1) for w in walls]
    instant, unclear = wall_to_instant_sql("w", tz, min(us), max(us))
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest($1::BIGINT[]) AS w", [us])
    rows = con.execute(f"SELECT {instant}, {unclear} FROM t").fetchall()
    for (got, flagged), wall in zip(rows, walls, strict=True):
        expected = _pandas_instant(wall, tz)
        assert flagged == (expected is None), (wall, tz)
        if expected is not None:
            assert got == expected, (wall, tz)


def test_every_rule_is_compiled_to_sql():
    """One rule table: each rule of RULES becomes a condition, and a missing required column fails outright."""
    for table, rules in RULES.items():
        conditions = rule_failures_sql(table, set(rules), PIPELINE_MODEL)
        expected = sum(
            (not r.nullable) + (r.kind in ("time", "number")) + r.non_negative + (r.allowed is not None)
            for r in rules.values()
        )
        assert len(conditions) == expected, table
        required = [c for c, r in rules.items() if r.required]
        assert rule_failures_sql(table, set(rules) - {required[0]}, PIPELINE_MODEL).count("true") == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipeline_frames(), st.integers(2, 4), st.randoms(use_true_random=False))
def test_per_deal_scores_of_parts_of_the_deals_add_up_to_the_whole(frames, parts, rng):
    """Partition the deals (each deal's rows kept together), score each part at one as_of: the parts' rows are the
    whole's rows. The scale-out issue runs the engine partition by partition on this promise."""
    from dataclasses import replace

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = sm.SalesLog.from_frames(PIPELINE_MODEL, *frames)
    as_of = resolve_as_of(log, None)
    whole = deal_scores_frame(log, as_of.value // 1000).set_index("deal_id")
    part_of = {deal: rng.randrange(parts) for deal in log.deals["deal_id"]}
    pieces = []
    for part in range(parts):
        keep = {deal for deal, p in part_of.items() if p == part}
        tables = {
            name: frame[frame["deal_id"].isin(keep)] for name, frame in log.tables.items() if name != "amount_changes"
        }
        sub = replace(log, **tables)
        pieces.append(deal_scores_frame(sub, as_of.value // 1000))
    together = pd.concat(pieces).set_index("deal_id").loc[whole.index]
    pd.testing.assert_frame_equal(together, whole, check_exact=True)
