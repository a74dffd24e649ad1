"""Velocity, time in stage, commit to signature and responsiveness: hand-computed logs, properties, simulator."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from builders import write_csv_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.exceptions import DataNote, UsageError
from salesmetrics.log.coverage import Note
from salesmetrics.log.prepare import truncate
from salesmetrics.metrics.stage_times import kaplan_meier, time_in_stage
from salesmetrics.metrics.velocity import commit_to_signature, response_times, responsiveness, sales_velocity
from salesmetrics.reports.velocity import velocity_report

CONFIG = """\
stages: [Lead, Qualified, Commit]
won: [Won]
lost: [Lost]
commit_stage: Commit
timezone: UTC
"""
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
C,2024-02-10 00:00,Commit
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
A,2024-01-02 09:00,email,,inbound
A,2024-01-02 10:00,email,,inbound
A,2024-01-02 12:00,email,,outbound
A,2024-01-05 08:00,call,,inbound
A,2024-01-05 09:00,call,,outbound
B,2024-01-03 10:00,email,,inbound
B,2024-01-03 16:00,email,,outbound
C,2024-01-16 09:00,email,,inbound
C,2024-01-16 12:00,note,,
C,2024-01-17 09:00,email,,outbound
C,2024-03-09 00:00,email,,inbound
C,2024-03-11 00:00,email,,outbound
D,2024-02-02 10:00,email,,outbound
D,2024-02-03 10:00,email,,inbound
D,2024-02-03 12:00,email,,outbound
"""
AS_OF = "2024-03-10 00:00"


def write_log(folder: Path, deals=DEALS, changes=CHANGES, activities=ACTIVITIES, config=CONFIG) -> sm.SalesLog:
    return sm.read_log(write_csv_log(folder, config, deals, changes, activities))


@pytest.fixture
def log(tmp_path: Path) -> sm.SalesLog:
    return write_log(tmp_path / "log")


# ------------------------------------------------------------------------------------------------ velocity


def test_velocity_overall_by_month(log):
    v = sales_velocity(log, by=None, period="M", as_of=AS_OF).set_index("period")
    assert v.index.tolist() == ["2024-01", "2024-02", "2024-03"]
    # January: B, C and F open at the month's end; A won (1000, 30 days)
    assert v.loc["2024-01", ["open_deals", "wins", "losses"]].tolist() == [3, 1, 0]
    assert v.loc["2024-01", "velocity"] == pytest.approx(3 * 1.0 * 1000 / 30)
    # February: D and E open; C won (2000, 35 days), B and F lost
    assert v.loc["2024-02", ["open_deals", "wins", "losses"]].tolist() == [2, 1, 2]
    assert v.loc["2024-02", "win_rate"] == pytest.approx(1 / 3)
    assert v.loc["2024-02", "avg_cycle_days"] == pytest.approx(35)
    assert v.loc["2024-02", "velocity"] == pytest.approx(2 * (1 / 3) * 2000 / 35)
    # March up to as_of: D's win on 20 March is not seen; no closes gives NaN, not 0
    assert v.loc["2024-03", "open_deals"] == 2
    assert v.loc["2024-03", "period_end"] == pd.Timestamp(AS_OF, tz="UTC")
    assert np.isnan(v.loc["2024-03", "win_rate"]) and np.isnan(v.loc["2024-03", "velocity"])


def test_velocity_prices_each_win_at_its_moment(tmp_path):
    """Decision 0054: avg_won_amount takes each won deal's amount when it was won, not its latest amount."""
    deals = DEALS.replace("A,ann,2024-01-01 00:00,1000", "A,ann,2024-01-01 00:00,1200")  # the latest amount
    folder = write_csv_log(tmp_path / "log", CONFIG, deals, CHANGES, ACTIVITIES)
    (folder / "amount_changes.csv").write_text(
        "deal_id,changed_at,amount\n"
        "A,2024-01-01 00:00,800\nA,2024-01-30 00:00,1000\nA,2024-02-15 00:00,1200\n"  # won at 1000 on 31 Jan
        "C,2024-01-15 00:00,1500\nC,2024-02-19 00:00,2600\n"  # raised at the win's very moment: counts
    )
    v = sales_velocity(sm.read_log(folder), by=None, period="M", as_of=AS_OF).set_index("period")
    assert v.loc["2024-01", "avg_won_amount"] == pytest.approx(1000)
    assert v.loc["2024-01", "velocity"] == pytest.approx(3 * 1.0 * 1000 / 30)
    assert v.loc["2024-02", "avg_won_amount"] == pytest.approx(2600)
    at_win = sales_velocity(sm.read_log(folder), by=None, period=None, as_of="2024-02-20")
    assert at_win["avg_won_amount"].iloc[0] == pytest.approx((1000 + 2600) / 2)


def test_velocity_by_owner_and_whole_history(log):
    v = sales_velocity(log, by="owner", period="M", as_of=AS_OF).set_index(["owner", "period"])
    assert v.loc[("ann", "2024-01"), "velocity"] == pytest.approx(2 * 1000 / 30)
    ann_feb = v.loc[("ann", "2024-02")]
    assert (ann_feb["open_deals"], ann_feb["win_rate"]) == (0, 0.0)
    assert np.isnan(ann_feb["avg_won_amount"]) and np.isnan(ann_feb["velocity"])
    assert np.isnan(v.loc[("bob", "2024-01"), "velocity"])
    assert v.loc[("bob", "2024-02"), "velocity"] == pytest.approx(2 * 2000 / 35)
    whole = sales_velocity(log, by="team", period=None, as_of=AS_OF).set_index("team")
    assert whole.loc["east", ["open_deals", "wins", "losses"]].tolist() == [0, 1, 2]
    assert whole.loc["west", "velocity"] == pytest.approx(2 * 1.0 * 2000 / 35)


def test_velocity_rejects_bad_arguments(log):
    with pytest.raises(UsageError, match="period"):
        sales_velocity(log, period="Y")
    with pytest.raises(UsageError, match="by"):
        sales_velocity(log, by="region")


# ------------------------------------------------------------------------------------------- time in stage


def test_time_in_stage_hand_computed(log):
    t = time_in_stage(log, as_of=AS_OF)
    s = t.summary.set_index("stage")
    assert s.index.tolist() == ["Lead", "Qualified", "Commit"]
    assert s["n_stays"].tolist() == [6, 4, 5]
    assert s["n_censored"].tolist() == [0, 1, 1]
    assert s["median_days_closed"].tolist() == pytest.approx([10, 10, 12.5])
    assert s["km_median_days"].tolist() == pytest.approx([10, 10, 10])
    # C's repeated Commit row neither ends nor starts a stay: 4 Feb to 19 Feb
    c = t.stays[(t.stays["deal_id"] == "C") & (t.stays["stage"] == "Commit")]
    assert c["days"].tolist() == [15.0] and not c["censored"].any()
    # D is still in Qualified at as_of: censored after 28 days (2024 is a leap year)
    d = t.stays[(t.stays["deal_id"] == "D") & (t.stays["stage"] == "Qualified")].iloc[0]
    assert d["censored"] and d["days"] == pytest.approx(28) and pd.isna(d["left_at"])


def km_log(tmp_path: Path) -> sm.SalesLog:
    """Five Lead stays: finished after 2, 4 and 6 days; still open after 3 and 5 days at as_of."""
    as_of = pd.Timestamp("2024-01-20")
    deals, changes = ["deal_id,owner,created_at"], ["deal_id,changed_at,stage"]
    for i, (days, finished) in enumerate([(2, True), (3, False), (4, True), (5, False), (6, True)]):
        start = pd.Timestamp("2024-01-01") if finished else as_of - pd.Timedelta(days=days)
        deals.append(f"K{i},ann,{start:%Y-%m-%d %H:%M}")
        changes.append(f"K{i},{start:%Y-%m-%d %H:%M},Lead")
        if finished:
            changes.append(f"K{i},{start + pd.Timedelta(days=days):%Y-%m-%d %H:%M},Qualified")
    return write_log(tmp_path / "km", "\n".join(deals) + "\n", "\n".join(changes) + "\n", None)


def test_kaplan_meier_treats_open_stays_as_censored(tmp_path):
    log = km_log(tmp_path)
    t = time_in_stage(log, as_of="2024-01-20 00:00")
    lead = t.curves[t.curves["stage"] == "Lead"]
    # by hand: S(2) = 4/5; S(4) = 4/5 * 2/3; S(6) = 0 (3 and 5 only reduce the number at risk)
    assert lead["days"].tolist() == [2, 3, 4, 5, 6]
    assert lead["survival"].tolist() == pytest.approx([0.8, 0.8, 0.8 * 2 / 3, 0.8 * 2 / 3, 0.0])
    row = t.summary.set_index("stage").loc["Lead"]
    assert (row["n_stays"], row["n_censored"]) == (5, 2)
    assert row["median_days_closed"] == 4  # dropping open stays
    assert row["km_median_days"] == 6  # KM: survival first at or below 1/2 at 6 days
    # neither dropping the open stays nor counting them as finished gives the KM curve
    assert kaplan_meier([2, 4, 6], [True] * 3)[1].tolist() != lead["survival"].tolist()[::2]
    assert kaplan_meier([2, 3, 4, 5, 6], [True] * 5)[1][2] == pytest.approx(0.4)


def test_time_in_stage_by_group_and_plot(log):
    import matplotlib

    matplotlib.use("Agg")
    t = time_in_stage(log, as_of=AS_OF, by="owner")
    assert set(t.summary["owner"]) == {"ann", "bob"}
    assert t.summary.groupby("stage")["n_stays"].sum().to_dict() == {"Commit": 5, "Lead": 6, "Qualified": 4}
    ax = t.plot(group="bob")
    assert ax.get_xlabel().startswith("Days") and "Kaplan" in ax.get_title() and ax.get_ylabel()
    with pytest.raises(UsageError):
        t.plot()
    ax = time_in_stage(log, as_of=AS_OF).plot()
    assert len(ax.get_lines()) == 3


# ------------------------------------------------------------------------------------- commit to signature


def test_commit_to_signature(log):
    c = commit_to_signature(log, as_of=AS_OF)
    d = c.deals.set_index("deal_id")
    assert d.index.tolist() == ["A", "C", "E", "F"]
    assert d["status"].tolist() == ["won", "won", "open", "lost"]
    assert d["days"].tolist() == pytest.approx([10, 15, 9, 31])  # F from its first commit entry on 10 Jan
    assert d["commit_entries"].tolist() == [1, 1, 1, 2]
    assert d["censored"].tolist() == [False, False, True, True]
    s = c.summary.iloc[0]
    assert (s["n_committed"], s["n_won"], s["n_lost"], s["n_open"]) == (4, 2, 1, 1)
    assert s["win_rate_closed"] == pytest.approx(2 / 3)
    assert (s["median_days_to_win"], s["p75_days_to_win"], s["median_days_open"]) == (12.5, 13.75, 9)
    by_owner = commit_to_signature(log, as_of=AS_OF, by="owner").summary.set_index("owner")
    assert by_owner["n_committed"].to_dict() == {"ann": 2, "bob": 2}


def test_commit_to_signature_needs_commit_stage(tmp_path):
    log = write_log(tmp_path / "nocommit", config=CONFIG.replace("commit_stage: Commit\n", ""))
    with pytest.raises(UsageError, match=r"commit_stage.*salesmetrics\.yaml"):
        commit_to_signature(log)


# ---------------------------------------------------------------------------------------------- responsiveness


def test_responsiveness_hand_computed(log):
    r = response_times(log, as_of=AS_OF)
    assert r["hours"].tolist() == pytest.approx([3, 1, 6, 24, 24, 2])
    assert r["inbound_count"].tolist() == [2, 1, 1, 1, 1, 1]
    # C's inbound of 9 March is answered only after as_of: censored at as_of
    assert r["censored"].tolist() == [False, False, False, False, True, False]
    s = responsiveness(log, as_of=AS_OF).set_index("owner")
    assert s.loc["ann", ["n_requests", "n_answered", "n_unanswered"]].tolist() == [3, 3, 0]
    assert s.loc["ann", "median_hours"] == 3
    assert s.loc["bob", ["n_requests", "n_answered", "n_unanswered"]].tolist() == [3, 2, 1]
    assert s.loc["bob", "median_hours"] == 13
    assert s.loc["bob", "km_median_hours"] == 24  # S(2) = 2/3, S(24) = 1/3
    later = response_times(log, as_of="2024-03-12").set_index("requested_at")["censored"]
    assert not later.any()


def test_responsiveness_without_direction(tmp_path):
    acts = "deal_id,occurred_at,kind\nA,2024-01-02 09:00,email\n"
    log = write_log(tmp_path / "nodir", activities=acts)
    with pytest.warns(UserWarning, match="direction"):
        out = responsiveness(log, as_of=AS_OF)
    assert out.empty and "median_hours" in out.columns


# ------------------------------------------------------------------------------------------------ properties

STAGES = ["Lead", "Qualified", "Commit", "Won", "Lost"]


@st.composite
def random_frames(draw):
    n = draw(st.integers(1, 5))
    deals, changes, acts, dates = [], [], [], []
    base = pd.Timestamp("2024-01-01")
    for i in range(n):
        start = base + pd.Timedelta(hours=draw(st.integers(0, 24 * 40)))
        deals.append({"deal_id": f"X{i}", "owner": draw(st.sampled_from(["ann", "bob"])), "created_at": start})
        deals[-1]["amount"] = draw(st.sampled_from([100.0, 250.0, np.nan]))
        deals[-1]["team"] = draw(st.sampled_from(["east", "west", None]))
        t = start
        for stage in draw(st.lists(st.sampled_from(STAGES), min_size=1, max_size=6)):
            changes.append({"deal_id": f"X{i}", "changed_at": t, "stage": stage})
            t += pd.Timedelta(hours=draw(st.integers(1, 24 * 20)))
        for _ in range(draw(st.integers(0, 6))):
            at = start + pd.Timedelta(hours=draw(st.integers(0, 24 * 60)))
            direction = draw(st.sampled_from(["inbound", "outbound", None]))
            acts.append({"deal_id": f"X{i}", "occurred_at": at, "kind": "email", "direction": direction})
        for _ in range(draw(st.integers(0, 3))):
            at = start + pd.Timedelta(hours=draw(st.integers(0, 24 * 60)))
            close = (start + pd.Timedelta(days=draw(st.integers(0, 90)))).normalize()
            dates.append({"deal_id": f"X{i}", "changed_at": at, "close_date": close})
    frames = {
        "deals": pd.DataFrame(deals),
        "stage_changes": pd.DataFrame(changes),
        "activities": pd.DataFrame(acts, columns=["deal_id", "occurred_at", "kind", "direction"]),
        "close_date_changes": pd.DataFrame(dates, columns=["deal_id", "changed_at", "close_date"]),
    }
    frames["activities"]["direction"] = frames["activities"]["direction"].astype("str")
    as_of = base + pd.Timedelta(hours=draw(st.integers(24 * 5, 24 * 120)))
    return frames, as_of


MODEL = sm.StageModel(stages=("Lead", "Qualified", "Commit"), won=("Won",), lost=("Lost",), commit_stage="Commit")


def from_frames(frames) -> sm.SalesLog:
    return sm.SalesLog.from_frames(MODEL, **{k: v if len(v) else None for k, v in frames.items()})


def all_results(log: sm.SalesLog, as_of) -> dict[str, pd.DataFrame]:
    from salesmetrics.metrics.momentum import momentum_flags

    t = time_in_stage(log, as_of=as_of)
    c = commit_to_signature(log, as_of=as_of)
    return {
        "velocity": sales_velocity(log, by="owner", period="W", as_of=as_of),
        "stays": t.stays,
        "stage_summary": t.summary,
        "curves": t.curves,
        "commit": c.deals,
        "commit_summary": c.summary,
        "responses": response_times(log, as_of=as_of),
        "flags": momentum_flags(log, as_of=as_of, group="owner", min_stays=1),
    }


def assert_same(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    for name in left:
        a, b = left[name], right[name]
        if name == "responses":  # one row per request: order by what identifies it
            a, b = (x.sort_values(["deal_id", "requested_at"]).reset_index(drop=True) for x in (a, b))
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)


PROPERTY = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(random_frames(), st.randoms(use_true_random=False))
def test_shuffling_rows_changes_nothing(drawn, rnd):
    frames, as_of = drawn
    log = from_frames(frames)
    seed = rnd.randint(0, 2**31)
    shuffled = sm.SalesLog(
        log.model, *(t.sample(frac=1, random_state=seed).reset_index(drop=True) for t in log.tables.values())
    )
    assert_same(all_results(log, as_of), all_results(shuffled, as_of))


@PROPERTY
@given(random_frames())
def test_exact_duplicate_rows_change_nothing(drawn):
    frames, as_of = drawn
    doubled = {k: (v if k == "deals" else pd.concat([v, v.iloc[::2]], ignore_index=True)) for k, v in frames.items()}
    assert_same(all_results(from_frames(frames), as_of), all_results(from_frames(doubled), as_of))


@PROPERTY
@given(random_frames())
def test_results_at_as_of_equal_results_on_truncated_log(drawn):
    frames, as_of = drawn
    log = from_frames(frames)
    assert_same(all_results(log, as_of), all_results(truncate(log, as_of), as_of))


# ------------------------------------------------------------------------------------------------- simulator


def test_slow_responders_answer_slower_than_baseline():
    from salesmetrics.simulation.simulator import simulate

    def team_hours(scenario: str) -> pd.Series:
        sim = simulate(n_deals=1200, n_owners=10, seed=11, scenario=scenario, months=6)
        return responsiveness(sim.log, by="team").set_index("team")["median_hours"]

    base, slow = team_hours("baseline"), team_hours("slow_responders")
    assert slow["Team A"] > 3 * base["Team A"]
    assert slow["Team A"] > 3 * slow["Team B"]


def test_demo_log_gives_plausible_values():
    log = sm.read_log("datasets/demo")
    v = sales_velocity(log, by="team", period="Q")
    assert v["win_rate"].between(0, 1).all() and (v["open_deals"] >= 0).all()
    assert (v["avg_cycle_days"].dropna() > 0).all()
    t = time_in_stage(log)
    assert (t.summary["km_median_days"] >= t.summary["median_days_closed"] * 0.8).all()
    assert t.curves.groupby("stage")["survival"].apply(lambda s: s.is_monotonic_decreasing).all()


# ------------------------------------------------------------------------------------------------- the report


def test_velocity_report_narrative_by_hand(log):
    r = velocity_report(log, AS_OF)
    # March is cut short by as_of (10 March): January and February are the last two full months
    assert r.velocity["full_period"].tolist() == [True, True, False]
    assert r.latest_full["period"].tolist() == ["2024-01", "2024-02"]
    text = r.narrative()
    # February: 2 open × 1/3 × 2000 ÷ 35 = 38.1 per day; January: 3 × 1 × 1000 ÷ 30 = 100 per day.
    assert text.startswith(
        "In 2024-02, sales velocity was 38 per day: 2 open deals × 33% win rate × 2,000 average won amount "
        "÷ 35 days average cycle. That is down 62% on 2024-01"
    )
    # log changes: open ln(2/3) = -0.41, win rate ln(1/3) = -1.10, amount ln 2 = +0.69, cycle -ln(35/30) = -0.15
    assert "the largest part of the change is the win rate (100% then, 33% now)." in text
    # KM medians are 10 days in every stage: the first in stage order is named
    assert "Deals stay longest in Lead: half of its 6 stays last 10 days or more (Kaplan–Meier, no stay" in text
    # A 10 and C 15 days to the win; E open 9 days; F lost
    assert (
        "2 of 4 deals that reached Commit were signed, half of them within 12.5 days of their first commit "
        "(three quarters within 13.8); of the others, 1 lost and 1 still open (a median of 9 days since the commit)."
    ) in text
    # requests of 1, 2, 3, 6, 24 hours and one censored at 24: S(3) = 1/2
    assert "Buyers waited a median of 3.0 hours for the seller's answer (1 of 6 requests unanswered" in text
    assert "every owner answers within 24 hours (median)." in text
    slow = velocity_report(log, AS_OF, response_hours=12)
    assert "1 of 2 owners take longer than 12 hours: bob (24 h)." in slow.narrative()
    assert slow.slow_groups["owner"].tolist() == ["bob"]


def test_velocity_report_says_what_it_cannot_show(tmp_path):
    config = CONFIG.replace("commit_stage: Commit\n", "")
    no_amount = [",".join(p for i, p in enumerate(line.split(",")) if i != 3) for line in DEALS.splitlines()]
    deals = "\n".join(no_amount) + "\n"  # the amount column dropped
    acts = "deal_id,occurred_at,kind\nA,2024-01-02 09:00,email\n"
    log = write_log(tmp_path / "bare", deals=deals, activities=acts, config=config)
    r = velocity_report(log, AS_OF)
    text = r.narrative()
    assert text.startswith("In 2024-02, sales velocity cannot be computed: its won deals have no amount.")
    assert "Its known factors: open deals 2, win rate 33%, average cycle 35 days." in text
    for sentence in ("No deal has an amount", "names no commit stage", "'direction' column of activities"):
        assert sentence in text
    assert r.commit is None and isinstance(r.table("commit"), Note) and isinstance(r.table("responsiveness"), Note)
    for ax in (r.plot_commit(), r.plot_responsiveness()):
        assert not ax.axison and ax.get_title() and ax.texts
    fig = r.plot_factors()
    titles = [ax.get_title() for ax in fig.axes]
    assert "Velocity" in titles and "Open deals at the period end" in titles
    assert not fig.axes[0].axison  # velocity: a note saying there are no amounts
    assert fig.axes[1].get_ylabel() == "deals (count)"
    plt.close("all")


def test_velocity_report_tables_plots_and_arguments(log):
    import matplotlib

    matplotlib.use("Agg")
    r = velocity_report(log, AS_OF, by="team", period="W")
    assert r.table("time_in_stage")["stage"].tolist() == ["Lead", "Qualified", "Commit"]
    assert r.table("responsiveness")["team"].tolist() == ["west", "east"]  # slowest first
    assert r.table("commit")["n_committed"].tolist() == [4]
    assert set(r.table("groups")["team"]) == {"east", "west"}
    assert r.plot_time_in_stage().get_xlabel() == "Days since entering the stage"
    assert r.plot_commit().get_ylabel() == "deals (count)"
    assert r.plot_responsiveness().get_xlabel() == "hours (median)"
    assert all(ax.get_title() and ax.get_ylabel() for ax in r.plot_factors().axes)
    assert sorted(velocity_report(log, AS_OF, owner="bob").time_in_stage.stays["deal_id"].unique()) == [
        "C",
        "D",
        "E",
    ]
    for bad in ({"period": "Y"}, {"by": "region"}, {"response_hours": 0}, {"team": "north"}):
        with pytest.raises(UsageError):
            velocity_report(log, AS_OF, **bad)
    plt.close("all")


def test_velocity_report_goes_on_when_every_activity_is_outbound(tmp_path):
    """All-outbound activities: no buyer request to time. The report says so and every other part is made."""
    log = write_log(tmp_path / "out", activities=ACTIVITIES.replace("inbound", "outbound"))
    with pytest.warns(DataNote, match="No activity is inbound"):
        assert responsiveness(log, as_of=AS_OF, by="owner").empty
    r = velocity_report(log, AS_OF)
    assert r.responsiveness.empty and r.response_overall.empty
    assert "No activity is inbound" in r.narrative()
    assert r.narrative().startswith("In 2024-02, sales velocity was 38 per day")  # the rest is still computed
    assert str(r.table("responsiveness")).startswith("No activity is inbound")
    ax = r.plot_responsiveness()
    assert not ax.axison and "No activity is inbound" in ax.texts[0].get_text()
    plt.close("all")


def test_velocity_narrative_says_when_the_figure_is_not_to_be_trusted(tmp_path):
    r = velocity_report(write_log(tmp_path / "a"), AS_OF)
    assert "Its win rate rests on 3 closed deals, too few to compare." in r.narrative()
    assert "Read it with care" not in r.narrative()
    quick = DEALS.replace("C,bob,2024-01-15 00:00", "C,bob,2024-02-15 00:00")  # C won 4 days after creation
    r = velocity_report(write_log(tmp_path / "b", deals=quick), AS_OF)
    assert "Read it with care: an average cycle of 4 days" in r.narrative()


def test_weeks_are_labelled_as_in_score_and_waterfall():
    """One week label everywhere: the Monday's date (velocity wrote pandas' '2024-01-01/2024-01-07')."""
    from salesmetrics.metrics import score
    from salesmetrics.metrics.velocity import sales_velocity

    log = sm.read_log("datasets/demo")
    weeks = sales_velocity(log, "2024-03-31", by=None, period="W")["period"]
    scored = score(log, "2024-03-31", by="owner", period="W")["period"]
    assert set(scored) <= set(weeks)
    assert all(pd.Timestamp(w).day_name() == "Monday" and len(w) == 10 for w in weeks)


def test_an_owner_page_sets_the_rep_beside_the_team():
    """Issue 17: a page about one owner compares the rep with the other owners and the team, not with itself."""
    log = sm.read_log(Path(__file__).resolve().parents[1] / "datasets" / "demo")
    team = velocity_report(log, as_of="2025-06-30").group_velocity.set_index("owner")
    page = velocity_report(log, as_of="2025-06-30", owner="Olga M.")
    rows = page.group_velocity.set_index("owner")
    order = ["Olga M.", "median of the 19 other owners", "all 20 owners"]
    assert rows.index.tolist() == page.table("groups")["owner"].tolist() == order  # in that order, not ranked
    columns = ["open_deals", "wins", "losses", "win_rate", "avg_cycle_days"]
    assert rows.loc["Olga M.", columns].tolist() == pytest.approx(team.loc["Olga M.", columns].tolist(), abs=0.01)
    others = team.drop(index="Olga M.")
    assert rows.loc["median of the 19 other owners", "wins"] == others["wins"].median()
    whole = sales_velocity(log, by=None, period=None, as_of="2025-06-30").iloc[0]  # the team's own figures,
    assert rows.loc["all 20 owners", "win_rate"] == pytest.approx(whole["win_rate"], abs=1e-3)  # not a sum of rates
    assert rows.loc["all 20 owners", "velocity"] == pytest.approx(whole["velocity"], rel=1e-3)
    assert page.velocity["open_deals"].iloc[-1] == team.loc["Olga M.", "open_deals"]  # the page is still hers
    text = page.narrative()
    assert "requests unanswered at the as-of date), within the 24-hour target; median of the 19 other owners: " in text
    assert "every owner" not in text
    answers = page.table("responsiveness").set_index("owner")
    assert answers.index.tolist() == order
    everyone = responsiveness(log, as_of="2025-06-30", by=None).iloc[0]
    assert answers.loc["all 20 owners", "n_requests"] == everyone["n_requests"] > answers.loc["Olga M.", "n_requests"]
