"""Random walks and slippage (section 4): hand-computed logs, properties, and the slipping-quarter scenario."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from builders import log_from_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.log.coverage import Note
from salesmetrics.log.prepare import truncate
from salesmetrics.metrics.random_walks import (
    bin_push_lengths,
    close_date_changes_classified,
    deal_slippage,
    push_lengths,
    serial_pushers,
    share_near,
    slippage,
)
from salesmetrics.reports.slippage import slippage_report
from salesmetrics.simulation.simulator import simulate

# Europe/Berlin: the close dates cross the March DST change, which must not turn 30 days into 29.96.
MODEL = sm.StageModel(
    stages=("Lead", "Qualified", "Proposal", "Commit"), won=("Won",), lost=("Lost",), timezone="Europe/Berlin"
)


def make_log(deals, changes, close_dates=(), model=MODEL):
    return log_from_rows(model, deals, changes, close_dates=close_dates)


DEALS = [("D1", "ann", "2024-01-01 09:00"), ("D2", "ann", "2024-01-02 09:00"), ("D3", "bob", "2024-01-03 09:00")]
CHANGES = [
    # D1: Lead, Qualified, Lead, Qualified, Proposal: two back-and-forths, 1 regression in 5 movements
    ("D1", "2024-01-01 09:00", "Lead"),
    ("D1", "2024-01-05 09:00", "Qualified"),
    ("D1", "2024-01-09 09:00", "Lead"),
    ("D1", "2024-01-12 09:00", "Qualified"),
    ("D1", "2024-01-12 10:00", "Qualified"),  # a repeat: not a movement
    ("D1", "2024-02-01 09:00", "Proposal"),
    # D2: Lead, Qualified, Won, Qualified (reopened: a regression): one back-and-forth, 1 of 4
    ("D2", "2024-01-02 09:00", "Lead"),
    ("D2", "2024-01-10 09:00", "Qualified"),
    ("D2", "2024-02-10 09:00", "Won"),
    ("D2", "2024-02-20 09:00", "Qualified"),
    # D3: only added
    ("D3", "2024-01-03 09:00", "Lead"),
]
CLOSE_DATES = [
    ("D1", "2024-01-01 09:00", "2024-02-15"),  # first: not a push
    ("D1", "2024-01-20 09:00", "2024-03-16"),  # push 30
    ("D1", "2024-02-20 09:00", "2024-04-15"),  # push 30 (across the DST change)
    ("D1", "2024-03-01 09:00", "2024-04-10"),  # pull 5
    ("D1", "2024-03-02 09:00", "2024-04-10"),  # same day again
    ("D1", "2024-04-20 09:00", "2024-05-30"),  # push 50
    ("D2", "2024-01-02 09:00", "2024-03-01"),  # first
    ("D2", "2024-02-01 09:00", "2024-03-31"),  # push 30
]
AS_OF = "2024-06-30"


@pytest.fixture(scope="module")
def hand_log():
    return make_log(DEALS, CHANGES, CLOSE_DATES)


def test_classified_changes_by_hand(hand_log):
    ch = close_date_changes_classified(hand_log, AS_OF)
    assert ch["kind"].tolist() == ["first", "push", "push", "pull", "same", "push", "first", "push"]
    assert ch["days"].tolist() == [0, 30, 30, -5, 0, 50, 0, 30]
    assert pd.isna(ch.loc[0, "prev_close_date"])
    assert ch.loc[1, "prev_close_date"] == pd.Timestamp("2024-02-15", tz="Europe/Berlin")
    # as_of cuts: on 2024-02-25 D1 has had two pushes
    early = close_date_changes_classified(hand_log, "2024-02-25")
    assert (early["kind"] == "push").sum() == 3


def test_deal_slippage_by_hand(hand_log):
    d = deal_slippage(hand_log, AS_OF)
    assert d.loc["D1", ["movements", "regressions", "back_and_forth"]].tolist() == [5, 1, 2]
    assert d.loc["D1", "regression_share"] == pytest.approx(0.2)
    assert d.loc["D2", ["movements", "regressions", "back_and_forth"]].tolist() == [4, 1, 1]
    assert d.loc["D2", "regression_share"] == 0.25
    assert d.loc["D3", ["movements", "regressions", "back_and_forth"]].tolist() == [1, 0, 0]
    assert d.loc["D3", "regression_share"] == 0.0
    cols = ["close_date_changes", "close_date_pushes", "days_pushed", "close_date_pulls", "longest_push"]
    assert d.loc["D1", cols].tolist() == [5, 3, 110, 1, 50]
    assert d.loc["D2", cols].tolist() == [1, 1, 30, 0, 30]
    assert d.loc["D3", cols].tolist() == [0, 0, 0, 0, 0]
    assert d["serial_pusher"].tolist() == [True, False, False]
    assert serial_pushers(hand_log, AS_OF, serial_threshold=1).index.tolist() == ["D1", "D2"]
    assert serial_pushers(hand_log, AS_OF, serial_threshold=4).empty
    with pytest.raises(UsageError):
        deal_slippage(hand_log, AS_OF, serial_threshold=0)


def test_push_distribution_by_hand(hand_log):
    pushes = push_lengths(hand_log, AS_OF)
    assert sorted(pushes["days"]) == [30, 30, 30, 50]
    assert share_near(pushes["days"]) == 0.75
    assert share_near(pushes["days"], target=50, tolerance=0) == 0.25
    assert np.isnan(share_near([]))
    bins = bin_push_lengths(pushes["days"])
    assert bins.loc["[27, 34)", "count"] == 3 and bins.loc["[45, 60)", "count"] == 1
    assert bins["share"].sum() == pytest.approx(1.0) and bins["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    # bins are half-open on the right, including the last one
    assert bin_push_lengths([7, 14], edges=(0, 7, 14))["count"].tolist() == [0, 1]
    with pytest.raises(UsageError):
        bin_push_lengths([1], edges=(5, 1))


def test_slippage_result_and_owners(hand_log):
    res = slippage(hand_log, AS_OF)
    assert res.owners.loc["ann", ["deals", "close_date_pushes", "serial_pushers", "back_and_forth"]].tolist() == [
        2,
        4,
        1,
        3,
    ]
    assert res.owners.loc["ann", "regression_share"] == pytest.approx(2 / 9)
    assert res.share_near_30 == 0.75
    assert res.serial_pushers.index.tolist() == ["D1"]
    assert "Slippage" in res._repr_html_()
    sums = res.deals.groupby("owner")[["movements", "close_date_pushes", "days_pushed"]].sum()
    pd.testing.assert_frame_equal(sums, res.owners[["movements", "close_date_pushes", "days_pushed"]])


# ---- properties ---------------------------------------------------------------------------------------------

STAGES = ["Lead", "Qualified", "Proposal", "Commit", "Won", "Lost"]
BASE = pd.Timestamp("2024-01-01 08:00")
DST_GAP = (pd.Timestamp("2024-03-31 02:00") - BASE) // pd.Timedelta(hours=1)  # an hour Europe/Berlin skips
HOURS = st.integers(0, 24 * 90).filter(lambda h: h != DST_GAP)  # event times, in hours after BASE


def direct_log(deals, changes, close_dates, model=MODEL):
    """A log built in memory with the reader's dtypes (fast enough for property tests)."""
    tz = model.timezone

    def ts(values):
        return pd.to_datetime(pd.Series(values, dtype="str")).dt.tz_localize(tz).astype(f"datetime64[us, {tz}]")

    d = pd.DataFrame(deals, columns=["deal_id", "owner", "created_at"]).astype("str")
    d = d.assign(created_at=ts(d["created_at"]), amount=np.nan, team=pd.Series(None, index=d.index, dtype="str"))
    c = pd.DataFrame(changes, columns=["deal_id", "changed_at", "stage"]).astype("str")
    c = c.assign(changed_at=ts(c["changed_at"]))
    cd = pd.DataFrame(close_dates, columns=["deal_id", "changed_at", "close_date"]).astype("str")
    cd = cd.assign(changed_at=ts(cd["changed_at"]), close_date=ts(cd["close_date"]))
    a = pd.DataFrame(
        {
            "deal_id": pd.Series([], dtype="str"),
            "occurred_at": ts([]),
            "kind": pd.Series([], dtype="str"),
            "outcome": pd.Series([], dtype="str"),
            "direction": pd.Series([], dtype="str"),
        }
    )
    return sm.SalesLog(model, d, c, a, cd)


@st.composite
def random_logs(draw):
    """Distinct times within a deal for stage and close-date changes (ties keep file order by definition)."""
    n = draw(st.integers(1, 4))
    deals, changes, cds = [], [], []
    for i in range(n):
        deal = f"D{i}"
        deals.append((deal, draw(st.sampled_from(["ann", "bob"])), str(BASE)))
        for h in sorted(draw(st.sets(HOURS, min_size=1, max_size=8))):
            changes.append((deal, str(BASE + pd.Timedelta(hours=h)), draw(st.sampled_from(STAGES))))
        for h in sorted(draw(st.sets(HOURS, max_size=6))):
            day = (BASE + pd.Timedelta(days=draw(st.integers(1, 150)))).date()
            cds.append((deal, str(BASE + pd.Timedelta(hours=h)), str(day)))
    return direct_log(deals, changes, cds)


def _replace(log, fn):
    return dataclasses.replace(log, **{name: fn(name, t) for name, t in log.tables.items()})


PROPERTY = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(random_logs(), st.integers(0, 2**32 - 1), st.integers(0, 24 * 90))
def test_properties(log, seed, cut_hours):
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp(BASE, tz=MODEL.timezone) + pd.Timedelta(hours=cut_hours)
    base = deal_slippage(log, as_of)
    shuffled = _replace(log, lambda _, t: t.iloc[rng.permutation(len(t))].reset_index(drop=True))
    pd.testing.assert_frame_equal(deal_slippage(shuffled, as_of), base)

    def dup(name, t):
        if name == "deals" or not len(t):
            return t
        return pd.concat([t, t.iloc[rng.integers(0, len(t), 3)]]).sort_index(kind="stable").reset_index(drop=True)

    pd.testing.assert_frame_equal(deal_slippage(_replace(log, dup), as_of), base)
    pd.testing.assert_frame_equal(deal_slippage(truncate(log, as_of), as_of), base)
    keep = log.deals["deal_id"].iloc[1::2]
    sub = _replace(log, lambda _, t: t[t["deal_id"].isin(keep)])
    pd.testing.assert_frame_equal(deal_slippage(sub, as_of), base.loc[keep.sort_values()])
    # every change is exactly one kind; the first of each deal is never a push
    ch = close_date_changes_classified(log, as_of)
    assert (ch.groupby("deal_id")["kind"].first() == "first").all()
    assert base["close_date_pushes"].sum() == (ch["kind"] == "push").sum()
    assert (base["back_and_forth"] <= base["movements"]).all()


# ---- simulator --------------------------------------------------------------------------------------------


def test_slipping_quarter_has_more_pushes():
    kw = {"n_deals": 1500, "n_owners": 30, "seed": 5, "months": 12}
    base = slippage(simulate(scenario="baseline", **kw).log)
    slip = slippage(simulate(scenario="slipping_quarter", **kw).log)
    assert slip.deals["close_date_pushes"].sum() > 1.3 * base.deals["close_date_pushes"].sum()
    assert slip.deals["serial_pusher"].sum() > base.deals["serial_pusher"].sum()
    # baseline pushes are about a month long
    assert 20 <= base.pushes["days"].median() <= 40


# ---- the report ---------------------------------------------------------------------------------------------

# D4 is won on 10 March; its close date is set to that day at the same moment: a pull at the close, not a
# deal pulled in. D1's pull on 1 March (5 days earlier) is made while D1 is open: pulled in.
D4 = [("D4", "bob", "2024-01-04 09:00")]
D4_CHANGES = [("D4", "2024-01-04 09:00", "Lead"), ("D4", "2024-03-10 09:00", "Won")]
D4_CLOSE_DATES = [("D4", "2024-01-04 09:00", "2024-04-30"), ("D4", "2024-03-10 09:00", "2024-03-10")]


@pytest.fixture(scope="module")
def report_log():
    return make_log(DEALS + D4, CHANGES + D4_CHANGES, CLOSE_DATES + D4_CLOSE_DATES)


def test_slippage_report_narrative_by_hand(report_log):
    r = slippage_report(report_log, AS_OF)
    # open at as_of: D1 (Proposal), D2 (reopened into Qualified), D3 (Lead); D4 won. Only D1 has 3 pushes.
    assert r.deals["status"].tolist() == ["open", "open", "open", "won"]
    text = r.narrative()
    assert text.startswith("As of 2024-06-30, 1 of 3 open deals were pushed 3 or more times (1 of 4 deals in all).")
    # pushes 30, 30, 50 (D1) and 30 (D2): 3 of 4 within 27..33 days, median 30
    assert "75% of the 4 pushes were 27 to 33 days long" in text and "the median push is 30 days" in text
    assert "The open serial pushers sit with 1 of 2 owners; most with ann (1)." in text
    assert (
        "1 deal had the close date brought forward while open (pulled in), 1 time in all; 1 more pull came at" in text
    )
    # back-and-forth: D1 twice (Lead, Qualified, Lead, Qualified), D2 once (Qualified, Won, Qualified)
    assert "2 deals went back and forth between two stages (A to B and back to A), 3 times in all; 2 of them" in text
    assert r.pulled_in_deals.index.tolist() == ["D1"]
    assert r.walk_deals.index.tolist() == ["D1", "D2"]  # the most-pushed first
    assert r.deals.loc["D1", "expected_close_date"] == pd.Timestamp("2024-05-30", tz="Europe/Berlin")


def test_slippage_report_periods_and_groups_by_hand(report_log):
    r = slippage_report(report_log, AS_OF)
    per = r.periods.set_index("period")
    assert per.index.tolist() == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    assert per["pushes"].tolist() == [1, 2, 0, 1, 0, 0]  # D1 20 Jan, 20 Feb, 20 Apr; D2 1 Feb
    assert per["days_pushed"].tolist() == [30, 60, 0, 50, 0, 0]
    assert per.loc["2024-03", ["pulled_in", "pulls_at_close"]].tolist() == [1, 1]
    groups = r.groups.set_index("owner")
    assert groups.loc["ann", ["deals", "open_deals", "close_date_pushes", "serial_pushers", "pulled_in"]].tolist() == [
        2,
        2,
        4,
        1,
        1,
    ]
    assert groups.loc["bob", ["deals", "open_deals", "close_date_pushes", "back_and_forth"]].tolist() == [2, 1, 0, 0]
    by_team = slippage_report(report_log, AS_OF, by="team", period="Q")
    assert by_team.groups["team"].tolist() == ["(no team)"] and by_team.groups["deals"].item() == 4
    assert by_team.periods["period"].tolist() == ["2024Q1", "2024Q2"]
    only_bob = slippage_report(report_log, AS_OF, owner="bob")
    assert sorted(only_bob.deals.index) == ["D3", "D4"]
    assert "No deal had its close date brought forward while open; 1 pull came at the close" in only_bob.narrative()


def test_slippage_report_tables_and_plots(report_log):
    import matplotlib

    matplotlib.use("Agg")
    r = slippage_report(report_log, AS_OF, serial_threshold=4)
    assert isinstance(r.table("serial_pushers"), Note)
    assert str(r.table("serial_pushers")) == "No deal was pushed 4 or more times."
    assert r.table("random_walkers").index.tolist() == ["D1", "D2"]
    assert r.table("pulled_in")["expected_close_date"].tolist() == ["2024-05-30"]
    for ax in (r.plot_periods(), r.plot_push_lengths(), r.plot_groups(), r.plot_walks()):
        assert ax.get_title()
    assert r.plot_walks().get_xlabel() == "date of the change"
    assert r.plot_groups().texts  # no serial pusher at 4: a note, not empty axes
    with pytest.raises(UsageError, match="No table 'walks'"):
        r.table("walks")
    for bad in ({"period": "Y"}, {"by": "region"}, {"serial_threshold": 0}, {"top_n": 0}, {"owner": "zed"}):
        with pytest.raises(UsageError):
            slippage_report(report_log, AS_OF, **bad)
    plt.close("all")


def test_slippage_report_without_close_dates_or_dates():
    r = slippage_report(make_log(DEALS, CHANGES), AS_OF)
    assert r.narrative().startswith("As of 2024-06-30, 3 of 3 deals are open.")
    assert (
        "The log has no close-date changes, so pushes, pulls and expected close dates cannot be shown." in r.narrative()
    )
    ax = r.plot_push_lengths()
    assert not ax.axison and "no close-date changes" in ax.texts[0].get_text()
    assert isinstance(r.table("pulled_in"), Note) and r.table("random_walkers").index.tolist() == ["D1", "D2"]
    snapshot = dataclasses.replace(MODEL, history="partial")  # an empty stage_changes table is allowed there
    undated = slippage_report(make_log([("D9", "ann", None)], [], model=snapshot))
    assert undated.as_of is None and undated.narrative().startswith("The log has no dated events")
    assert undated.deals.empty and undated.plot_periods().texts
    plt.close("all")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_logs(), st.integers(0, 24 * 90))
def test_slippage_report_reconciles(log, cut_hours):
    as_of = pd.Timestamp(BASE, tz=MODEL.timezone) + pd.Timedelta(hours=cut_hours)
    r = slippage_report(log, as_of)
    d = r.deals
    assert r.periods["pushes"].sum() == d["close_date_pushes"].sum() == len(r.pushes)
    assert r.periods["pulled_in"].sum() + r.periods["pulls_at_close"].sum() == d["close_date_pulls"].sum()
    assert r.groups["deals"].sum() == len(d) and r.groups["open_deals"].sum() == (d["status"] == "open").sum()
    assert r.groups["serial_pushers"].sum() == d["serial_pusher"].sum()
    pd.testing.assert_frame_equal(d[deal_slippage(log, as_of).columns], deal_slippage(log, as_of))


def test_an_owner_page_sets_the_rep_beside_the_team():
    """Issue 17: an owner page says how the rep's serial pushers compare with the team, never "1 of 1 owner"."""
    log = sm.read_log(Path(__file__).resolve().parents[1] / "datasets" / "demo")
    team = slippage_report(log, as_of="2025-06-30").groups.set_index("owner")
    page = slippage_report(log, as_of="2025-06-30", owner="Olga M.")
    rows = page.table("groups").set_index("owner")
    assert rows.index.tolist() == ["Olga M.", "median of the 19 other owners", "all 20 owners"]
    assert rows.loc["Olga M.", "serial_pushers"] == team.loc["Olga M.", "serial_pushers"] == 20
    others = team.drop(index="Olga M.")["serial_pushers"]
    assert rows.loc["median of the 19 other owners", "serial_pushers"] == others.median() == 5
    assert rows.loc["all 20 owners", "pushes_per_deal"] == pytest.approx(
        team["close_date_pushes"].sum() / team["deals"].sum(), abs=0.01
    )
    text = page.narrative()
    assert "Olga M. has 20 serial pushers, against a median of 5 for the 19 other owners (127 in the whole team)." in (
        text
    )
    assert "of 1 owner" not in text
