"""Movement and motion metrics (salesmetrics.metrics.movement): hand-computed values and property tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders import PIPELINE_MODEL, T0, pipeline_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle_movement import DEAL_COLUMNS, _motions, deal_period_pieces, deal_scores, score_groups

import salesmetrics as sm
from salesmetrics.log.config import StageModel
from salesmetrics.log.prepare import resolve_as_of, truncate
from salesmetrics.metrics.movement import local_us, period_index, period_labels
from salesmetrics.metrics.scoring import score

# the hand-computed cases hold for the engine (score) and for its pandas oracle alike
SCORERS = {
    "engine": (lambda log, as_of=None: score(log, as_of), lambda log, as_of=None, **kw: score(log, as_of, **kw)),
    "oracle": (deal_scores, score_groups),
}


@pytest.mark.parametrize("scorer", SCORERS)
def test_deal_scores_by_hand(tiny_log_dir, scorer):
    deal_scores = SCORERS[scorer][0]
    s = deal_scores(sm.read_log(tiny_log_dir)).set_index("deal_id")
    assert list(s.reset_index().columns) == list(DEAL_COLUMNS)
    d1, d2, d3 = s.loc["D1"], s.loc["D2"], s.loc["D3"]
    # as_of = the latest event: D3 lost on 2024-02-03 08:00 (Europe/Berlin)
    assert (d1.current_stage, bool(d1.is_open), d2.current_stage, bool(d2.is_open)) == ("Won", False, "Lead", True)
    assert [d1[c] for c in ("movements", "adds", "advances", "regressions", "wins", "losses")] == [4, 1, 3, 0, 1, 0]
    assert [d2[c] for c in ("movements", "adds", "advances", "regressions", "wins", "losses")] == [3, 1, 1, 1, 0, 0]
    assert [d3[c] for c in ("movements", "adds", "advances", "regressions", "wins", "losses")] == [2, 1, 0, 0, 0, 1]
    assert (d1.motions, d2.motions, d3.motions) == (2, 2, 0)
    assert d1.motion_per_movement == 0.5 and d2.motion_per_movement == pytest.approx(2 / 3)
    assert d3.motion_per_movement == 0.0
    assert d1.age_days == pytest.approx(31 + 23 / 24) and d2.age_days == pytest.approx(28 + 22 / 24)
    assert d3.age_days == pytest.approx(2.0)
    assert d1.days_since_movement == pytest.approx(1 + 20 / 24)
    assert d2.days_since_movement == pytest.approx(8 + 22 / 24) and d3.days_since_movement == 0.0
    # D1: 15 Feb -> 31 Jan is a pull; D2: 28 Feb -> 29 Mar (2024 is a leap year) is a push of 30 days
    assert (d1.close_date_pushes, d1.days_pushed, d1.close_date_pulls) == (0, 0, 1)
    assert (d2.close_date_pushes, d2.days_pushed, d2.close_date_pulls) == (1, 30, 0)
    assert (d3.close_date_pushes, d3.days_pushed, d3.close_date_pulls) == (0, 0, 0)


@pytest.mark.parametrize("scorer", SCORERS)
def test_as_of_excludes_later_events_and_deals(tiny_log_dir, scorer):
    deal_scores = SCORERS[scorer][0]
    s = deal_scores(sm.read_log(tiny_log_dir), as_of="2024-01-12").set_index("deal_id")
    assert list(s.index) == ["D1", "D2"]  # D3 was created on 1 February
    assert (s.loc["D1", "movements"], s.loc["D1", "current_stage"], s.loc["D1", "motions"]) == (2, "Qualified", 2)
    assert np.isnan(sm.read_log(tiny_log_dir).deals["amount"].iloc[2])


@pytest.mark.parametrize("scorer", SCORERS)
def test_no_movement_gives_nan(tmp_path, scorer):
    deal_scores = SCORERS[scorer][0]
    model = StageModel(stages=("Lead", "Demo"), won=("Won",), lost=("Lost",))
    deals = pd.DataFrame({"deal_id": ["A", "B"], "owner": ["x", "y"], "created_at": ["2024-01-01", None]})
    changes = pd.DataFrame({"deal_id": ["A"], "changed_at": ["2024-01-02"], "stage": ["Lead"]})
    for frame, cols in ((deals, ["created_at"]), (changes, ["changed_at"])):
        for c in cols:
            frame[c] = pd.to_datetime(frame[c]).dt.tz_localize("UTC")
    log = sm.SalesLog.from_frames(model, deals, changes)
    s = deal_scores(log, as_of="2024-01-03")
    assert list(s["deal_id"]) == ["A"]  # B has no created_at and no stage entry: not known yet
    assert s["age_days"].iloc[0] == pytest.approx(2 + 1 - 1e-6 / 86400, rel=1e-9)


@pytest.mark.parametrize("scorer", SCORERS)
def test_groups_by_hand(tiny_log_dir, scorer):
    score_groups = SCORERS[scorer][1]
    g = score_groups(sm.read_log(tiny_log_dir), by="owner", period="M").set_index(["owner", "period"])
    assert list(g.index) == [("ann", "2024-01"), ("ann", "2024-02"), ("bob", "2024-01"), ("bob", "2024-02")]
    jan, feb = g.loc[("ann", "2024-01")], g.loc[("ann", "2024-02")]
    assert [jan[c] for c in ("adds", "advances", "movements", "motions", "wins", "losses")] == [1, 2, 3, 2, 0, 0]
    assert [feb[c] for c in ("adds", "advances", "movements", "motions", "wins", "losses")] == [1, 1, 3, 0, 1, 1]
    assert feb.win_rate == 0.5 and np.isnan(jan.win_rate) and jan.movement_per_motion == 1.5
    assert np.isnan(feb.movement_per_motion)
    # D1's close date was pulled to 31 January on 20 January: it joins January's pipeline, then is won in February
    assert (jan.opening_count, jan.pulled_in_count, jan.closing_count, jan.closing_amount) == (0, 1, 1, 1000.0)
    assert (feb.opening_count, feb.won_count, feb.won_amount, feb.closing_count) == (1, 1, 1000.0, 0)
    bob = g.loc[("bob", "2024-01")]
    assert (bob.regressions, bob.movements, bob.opening_count, bob.closing_count) == (1, 3, 0, 0)


def test_bad_arguments(tiny_log_dir):
    log = sm.read_log(tiny_log_dir)
    with pytest.raises(sm.UsageError, match="period 'Y'"):
        score_groups(log, period="Y")
    with pytest.raises(sm.UsageError, match="by 'deal'"):
        score_groups(log, by="deal")


# ------------------------------------------------------------------------------------------------ properties


def _log(frames) -> sm.SalesLog:
    return sm.SalesLog.from_frames(PIPELINE_MODEL, *frames)


def _sorted(frame: pd.DataFrame, keys) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_waterfall(g: pd.DataFrame) -> None:
    for unit in ("count", "amount"):
        flows = g[f"opening_{unit}"] + g[f"created_{unit}"] + g[f"pulled_in_{unit}"] + g[f"reopened_{unit}"]
        flows = flows - g[f"won_{unit}"] - g[f"lost_{unit}"] - g[f"pushed_out_{unit}"]
        np.testing.assert_allclose(flows.to_numpy(float), g[f"closing_{unit}"].to_numpy(float), atol=1e-6)


@SETTINGS
@given(pipeline_frames(), st.randoms(use_true_random=False), st.sampled_from(["W", "M", "Q"]))
def test_shuffling_and_duplicating_rows_change_nothing(frames, rnd, period):
    base = _log(frames)
    shuffled = [f.sample(frac=1.0, random_state=rnd.randint(0, 10**6)) for f in frames]
    doubled = [pd.concat([f, f.iloc[: len(f) // 2 + 1]]) if len(f) else f for f in shuffled]
    for other in (_log(shuffled), _log(doubled)):
        a, b = deal_scores(base), deal_scores(other)
        pd.testing.assert_frame_equal(_sorted(a, "deal_id"), _sorted(b, "deal_id"))
        a, b = score_groups(base, by="owner", period=period), score_groups(other, by="owner", period=period)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


@SETTINGS
@given(
    pipeline_frames(), st.sampled_from(["W", "M", "Q"]), st.sampled_from(["owner", "team"]), st.integers(0, 24 * 400)
)
def test_identities_as_of_and_subsets(frames, period, by, cut_hours):
    log = _log(frames)
    as_of = T0 + pd.Timedelta(hours=cut_hours)
    if (log.deals["created_at"] > as_of).all():
        return
    d = deal_scores(log, as_of)
    assert (d["movements"] == d["adds"] + d["advances"] + d["regressions"] + d["losses"]).all()
    assert (d["adds"] <= 1).all() and (d["wins"] <= d["advances"]).all()
    g = score_groups(log, as_of, by=by, period=period)
    assert (g["movements"] == g["adds"] + g["advances"] + g["regressions"] + g["losses"]).all()
    _check_waterfall(g)
    # scoring at as_of equals scoring the log truncated at as_of
    cut = truncate(log, as_of)
    pd.testing.assert_frame_equal(d, deal_scores(cut, as_of))
    pd.testing.assert_frame_equal(g, score_groups(cut, as_of, by=by, period=period))
    # groups are sums of per deal pieces; per deal totals agree with the per deal scores
    pieces = deal_period_pieces(log, as_of, period)
    totals = pieces.groupby("deal_id")[["movements", "motions", "wins"]].sum()
    mine = d.set_index("deal_id")[["movements", "motions", "wins"]]
    pd.testing.assert_frame_equal(totals, mine.loc[totals.index], check_names=False, check_index_type=False)
    assert g[["movements", "motions", "wins", "losses"]].sum().tolist() == [
        int(d["movements"].sum()),
        int(d["motions"].sum()),
        int(d["wins"].sum()),
        int(d["losses"].sum()),
    ]
    # a subset of deals (each deal's rows kept together) scores as the full result restricted to it
    keep = log.deals["deal_id"].iloc[::2]
    sub = sm.SalesLog(
        log.model,
        log.deals[log.deals["deal_id"].isin(keep)],
        log.stage_changes[log.stage_changes["deal_id"].isin(keep)],
        log.activities[log.activities["deal_id"].isin(keep)],
        log.close_date_changes[log.close_date_changes["deal_id"].isin(keep)],
    )
    resolved = resolve_as_of(log, as_of)
    part = deal_scores(sub, resolved)
    full = d[d["deal_id"].isin(keep)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, full)
    sub_pieces = deal_period_pieces(sub, resolved, period)
    expected = pieces[pieces["deal_id"].isin(keep)].reset_index(drop=True)
    pd.testing.assert_frame_equal(sub_pieces, expected, check_index_type=False, check_dtype=False)


@SETTINGS
@given(pipeline_frames(), st.sampled_from(["W", "M", "Q"]), st.integers(0, 24 * 400))
def test_motions_per_deal_and_period_match_a_plain_group_by(frames, period, cut_hours):
    log = _log(frames)
    as_of = T0 + pd.Timedelta(hours=cut_hours)
    if (log.deals["created_at"] > as_of).all():
        return
    pieces = deal_period_pieces(log, as_of, period)
    acts = truncate(log, as_of).activities
    plain = acts.groupby([acts["deal_id"].to_numpy(), period_index(local_us(acts["occurred_at"]), period)]).size()
    mine = pieces[pieces["motions"] > 0].set_index(["deal_id", "period_index"])["motions"]
    assert mine.to_dict() == plain.to_dict()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(-(10**15), 10**16),
    st.lists(st.integers(0, 90 * 86_400_000_000), max_size=40),
    st.sampled_from(["W", "M", "Q"]),
)
def test_period_index_matches_numpy_calendar(start, offsets, period):
    # many times on few days take the day table; times spread over more days than there are take numpy directly
    times = start + np.array(offsets, dtype=np.int64)
    days = np.floor_divide(times, 86_400_000_000)
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + 1970 * 12
    expected = {"W": np.floor_divide(days - 4, 7), "M": months, "Q": np.floor_divide(months, 3)}[period]
    np.testing.assert_array_equal(period_index(times, period), expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(-30, 30)), max_size=60), st.integers(1, 10**6))
def test_motions_count_pairs_as_a_group_by_does(pairs, spread):
    # a spread that multiplies the periods makes the pairs that can occur many: then the sort counts them
    codes = np.array([c for c, _ in pairs], dtype=np.int64)
    periods = np.array([p * spread for _, p in pairs], dtype=np.int64)
    plain = pd.DataFrame({"code": codes, "period_index": periods}).groupby(["code", "period_index"]).size()
    mine = _motions(codes, periods)["motions"]
    assert mine.to_dict() == plain.to_dict() and mine.dtype == np.int64


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 30_000), max_size=40), st.sampled_from(["W", "M", "Q"]))
def test_period_labels_label_each_row_as_alone(index, period):
    labels = period_labels(np.array(index, dtype=np.int64), period)
    assert labels == [period_labels(np.array([i]), period)[0] for i in index]
    assert all(type(label) is str for label in labels)
