"""The weekly review: a hand-made log whose every change in the week is known, the odd cases, and properties."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from builders import write_csv_log
from hypothesis import given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.log.coverage import Note
from salesmetrics.log.prepare import truncate
from salesmetrics.reports.tables import readable
from salesmetrics.reports.weekly import AMOUNT_CHANGES_PENDING, weekly_review

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]

CONFIG = """\
name: weekly test
stages: [Lead, Qualified, Proposal, Commit]
won: [Won]
lost: [Lost]
commit_stage: Commit
timezone: UTC
currency: EUR
"""
DEALS = """\
deal_id,owner,created_at,amount,team,Deal Name,Account
A,ann,2024-01-01 00:00,1000,east,Alpha renewal,Acme
B,ann,2024-03-05 00:00,500,east,Beta pilot,Bolt
C,bob,2024-01-10 00:00,2000,west,Gamma,Corex
D,bob,2024-01-15 00:00,300,west,Delta,Dyn
E,bob,2024-01-20 00:00,800,west,Epsilon,Eon
F,ann,2024-02-01 00:00,1500,east,Phi,Fox
G,ann,2024-01-05 00:00,700,east,Gimel,Gyro
"""
CHANGES = """\
deal_id,changed_at,stage
A,2024-01-01 00:00,Lead
A,2024-03-05 10:00,Qualified
B,2024-03-05 00:00,Lead
C,2024-01-10 00:00,Lead
C,2024-02-01 00:00,Proposal
C,2024-03-08 12:00,Won
D,2024-01-15 00:00,Lead
D,2024-01-20 00:00,Qualified
D,2024-03-09 09:00,Lost
E,2024-01-20 00:00,Lead
E,2024-02-10 00:00,Proposal
E,2024-03-07 00:00,Qualified
F,2024-02-01 00:00,Lead
F,2024-02-15 00:00,Commit
G,2024-01-05 00:00,Lead
G,2024-02-20 00:00,Qualified
"""
ACTIVITIES = """\
deal_id,occurred_at,kind,outcome,direction
A,2024-03-04 10:00,call,,outbound
C,2024-02-01 10:00,meeting,,outbound
D,2024-03-09 08:00,email,,inbound
F,2024-03-08 09:00,call,,outbound
G,2024-02-28 09:00,email,,outbound
"""
CLOSE_DATES = """\
deal_id,changed_at,close_date
A,2024-01-01 00:00,2024-03-31
A,2024-03-06 00:00,2024-04-30
B,2024-03-05 00:00,2024-04-15
E,2024-01-20 00:00,2024-03-01
F,2024-02-01 00:00,2024-05-31
F,2024-03-08 10:00,2024-04-15
"""
AS_OF = "2024-03-10"


def write_log(folder: Path, *, activities=ACTIVITIES, close_dates=CLOSE_DATES, deals=DEALS) -> sm.SalesLog:
    return sm.read_log(write_csv_log(folder, CONFIG, deals, CHANGES, activities, close_dates))


@pytest.fixture
def log(tmp_path):
    return write_log(tmp_path / "week")


def test_every_change_of_the_week_by_hand(log):
    w = weekly_review(log, AS_OF)
    totals = w.totals.set_index("change")
    expected = {"created": ("B", 500), "advanced": ("A", 1000), "sent back": ("E", 800), "won": ("C", 2000),
                "lost": ("D", 300), "pushed": ("A", 1000), "pulled in": ("F", 1500)}  # fmt: skip
    for change, (deal, amount) in expected.items():
        assert totals.loc[change, "deals"] == 1, change
        assert totals.loc[change, "amount"] == amount, change
        assert w.changes.loc[w.changes["change"] == change, "deal_id"].tolist() == [deal], change
    assert totals.loc["pushed", "days"] == 30 and totals.loc["pulled in", "days"] == 46
    assert "G" not in set(w.changes["deal_id"])  # nothing happened to G this week
    dc = w.deals_changed.set_index("deal_id")
    assert dc.loc["A", "what_changed"] == "advanced (Lead → Qualified); pushed 30 days (2024-03-31 → 2024-04-30)"
    assert dc.loc["A", "deal_name"] == "Alpha renewal" and dc.loc["A", "account"] == "Acme"
    assert dc.loc["C", "stage"] == "Won" and dc.loc["A", "close_date"].strftime("%Y-%m-%d") == "2024-04-30"
    assert w.deals_changed["deal_id"].tolist()[:2] == ["C", "D"]  # won first, then lost


AMOUNTS = """\
deal_id,changed_at,amount
A,2024-01-01 00:00,800
A,2024-03-01 00:00,1000
B,2024-03-05 00:00,600
B,2024-03-09 00:00,500
F,2024-02-01 00:00,1500
F,2024-03-09 00:00,1500
G,2024-01-05 00:00,500
G,2024-03-08 00:00,700
"""


def test_amount_changes_of_the_week_by_hand(tmp_path):
    folder = tmp_path / "week"
    write_log(folder)
    (folder / "amount_changes.csv").write_text(AMOUNTS)
    w = weekly_review(sm.read_log(folder), AS_OF)
    # A changed before the window; F's row repeats its amount; B's first row only sets its amount.
    part = w.changes[w.changes["change"] == "amount changed"]
    assert part["deal_id"].tolist() == ["G", "B"] and part["detail"].tolist() == ["500 → 700", "600 → 500"]
    totals = w.totals.set_index("change")
    assert totals.loc["amount changed", "deals"] == 2 and totals.loc["amount changed", "amount"] == 100  # net
    assert w.deals_changed.set_index("deal_id").loc["G", "what_changed"] == "amount changed (500 → 700)"
    text = w.narrative()
    assert "2 changed amount (net +EUR 100)" in text and AMOUNT_CHANGES_PENDING not in text


MOVING_AMOUNTS = """\
deal_id,changed_at,amount
A,2024-01-01 00:00,800
A,2024-03-05 10:00,1000
B,2024-03-05 00:00,600
B,2024-03-09 00:00,500
C,2024-01-10 00:00,1800
C,2024-03-08 12:00,2000
C,2024-03-09 00:00,2200
D,2024-01-15 00:00,300
D,2024-03-09 10:00,350
G,2024-01-05 00:00,500
G,2024-03-08 00:00,700
"""


def test_each_amount_is_the_amount_at_its_moment(tmp_path):
    """Decision 0054: a change is priced when it happened, last week's pipeline at last week's amounts, a quota's
    win at the amount it was won at; only 'now' is at as_of."""
    folder = tmp_path / "week"
    write_log(folder)
    (folder / "amount_changes.csv").write_text(MOVING_AMOUNTS)
    (folder / "quotas.csv").write_text(QUOTAS)
    w = weekly_review(sm.read_log(folder), AS_OF)
    totals = w.totals.set_index("change")["amount"]
    # B created at 600 (500 only later), A advanced at 1,000 (raised that very moment), C won at 2,000 (2,200 the
    # day after), D lost at 300 (350 after); E has no history (800), F none (its deal amount, 1,500)
    expected = {"created": 600, "advanced": 1000, "sent back": 800, "won": 2000, "lost": 300, "pushed": 1000,
                "pulled in": 1500}  # fmt: skip
    assert {k: totals[k] for k in expected} == expected
    s = w.by_stage.set_index("stage")
    # a week before: A 800 in Lead, D 300 + G 500 in Qualified, C 1,800 + E 800 in Proposal, F 1,500 in Commit
    assert s["amount_before"].to_dict() == {"Lead": 800, "Qualified": 800, "Proposal": 2600, "Commit": 1500}
    # now: B 500 in Lead; A 1,000 + E 800 + G 700 in Qualified; F 1,500 in Commit
    assert s["amount_now"].to_dict() == {"Lead": 500, "Qualified": 2500, "Proposal": 0, "Commit": 1500}
    assert w.quota.set_index("for").loc["bob (owner)", "won_amount"] == 2000  # C's 2,200 came after the win


def test_pipeline_by_stage_this_week_against_last_week(log):
    s = weekly_review(log, AS_OF).by_stage.set_index("stage")
    assert s["deals_before"].to_dict() == {"Lead": 1, "Qualified": 2, "Proposal": 2, "Commit": 1}
    assert s["amount_before"].to_dict() == {"Lead": 1000, "Qualified": 1000, "Proposal": 2800, "Commit": 1500}
    assert s["amount_now"].to_dict() == {"Lead": 500, "Qualified": 2500, "Proposal": 0, "Commit": 1500}
    assert s.loc["Proposal", "amount_change"] == -2800


def test_past_due_neglected_and_moved_without_interaction(log):
    w = weekly_review(log, AS_OF)
    assert w.past_due["deal_id"].tolist() == ["E"] and w.past_due["days_overdue"].tolist() == [9]
    assert w.neglected["deal_id"].tolist() == ["E"] and w.neglected["days_without_activity"].tolist() == [50]
    assert w.moved_untouched["deal_id"].tolist() == ["C", "E"]
    assert w.moved_untouched["moves"].tolist() == ["Proposal → Won", "Proposal → Qualified"]
    assert set(weekly_review(log, AS_OF, neglect_days=10).neglected["deal_id"]) == {"E", "G"}


def test_motion_vs_movement_for_the_week(log):
    o = weekly_review(log, AS_OF).owners.set_index("owner")
    assert o["activities"].to_dict() == {"ann": 2, "bob": 1}
    assert o["movements"].to_dict() == {"ann": 2, "bob": 3}
    assert o.loc["bob", "reading"] == "moved deals with few touches" and o.loc["ann", "reading"] == ""
    assert o.loc["bob", "motion_per_movement"] == pytest.approx(1 / 3)


def test_narrative_says_the_week_in_money(log):
    text = weekly_review(log, AS_OF).narrative()
    assert text.startswith(
        "In the 7 days to 2024-03-10, deals changed: 1 created (EUR 500), 1 advanced, 1 sent back, "
        "1 won (EUR 2,000), 1 lost (EUR 300), 1 pushed (by 30 days in all), 1 pulled in."
    )
    assert "The open pipeline holds 5 deals worth EUR 4,500, against EUR 6,300 a week before (-29%)." in text
    assert "1 open deal past its close date; 1 without any activity for 14 days or more" in text
    assert AMOUNT_CHANGES_PENDING in text  # the marked place for issue 18's amount history


def test_owner_filter_window_and_arguments(log):
    w = weekly_review(log, AS_OF, owner="ann", days=30)
    assert set(w.changes["deal_id"]) <= {"A", "B", "F", "G"}
    assert "G" in set(w.changes["deal_id"])  # G advanced on 2024-02-20, inside 30 days
    with pytest.raises(UsageError, match="days must be at least 1"):
        weekly_review(log, AS_OF, days=0)
    with pytest.raises(UsageError, match="No table 'nope'"):
        weekly_review(log, AS_OF).table("nope")


def test_a_quiet_week_and_a_bare_log(tmp_path):
    bare = write_log(tmp_path / "bare", activities=None, close_dates=None)
    w = weekly_review(bare, "2024-04-30")
    assert w.narrative().startswith("In the 7 days to 2024-04-30, no deal was created, moved, won, lost")
    for name in ("changes", "past_due", "neglected", "moved_untouched", "owners"):
        assert isinstance(w.table(name), Note), name
    assert "no activities" in str(w.table("neglected")) and "no close-date changes" in str(w.table("past_due"))
    no_amounts = write_log(tmp_path / "no_amount", deals=DEALS.replace(",1000,", ",,").replace("amount,", "x,"))
    w = weekly_review(no_amounts, AS_OF)
    assert "amount_now" not in w.by_stage and "worth" not in w.narrative()
    for ax in (w.plot_by_stage(), w.plot_owners()):
        assert ax.get_title()
    plt.close("all")


def test_tables_are_readable(log):
    w = weekly_review(log, AS_OF)
    t = readable(w.table("changes"), currency=w.currency, noun="deals")
    assert t.headers[:4] == ["Deal", "Deal name", "Account", "Owner"] and "Amount (EUR)" in t.headers
    page = t._repr_html_()
    assert "NaN" not in page and "+00:00" not in page


@settings(max_examples=6, deadline=None)
@given(day=st.integers(min_value=0, max_value=40), days=st.sampled_from([1, 7, 14]))
def test_review_at_as_of_equals_review_on_the_truncated_log(tmp_path_factory, day, days):
    log = write_log(tmp_path_factory.mktemp("prop"))
    as_of = pd.Timestamp("2024-02-01", tz="UTC") + pd.Timedelta(days=day)
    full, cut = weekly_review(log, as_of, days=days), weekly_review(truncate(log, as_of), as_of, days=days)
    pd.testing.assert_frame_equal(full.changes, cut.changes)
    pd.testing.assert_frame_equal(full.by_stage, cut.by_stage)
    counted = full.changes.groupby("change")["deal_id"].nunique()
    assert full.totals.set_index("change")["deals"].reindex(counted.index).tolist() == counted.tolist()


def test_demo_log_week():
    w = weekly_review(sm.read_log(REPO / "datasets" / "demo"), as_of="2025-06-30")
    t = w.totals.set_index("change")["deals"]
    assert t["created"] > 0 and t["won"] > 0 and t["pushed"] > 0
    assert w.by_stage["deals_now"].sum() > 0


# ------------------------------------------------------------------------------------------------ quotas

QUOTAS = """\
owner,team,period,amount
ann,,2024-Q1,5000
bob,,2024-03,4000
,west,2024,10000
ann,,2024-Q2,9000
"""


def test_quota_coverage_by_hand(tmp_path):
    folder = tmp_path / "quota"
    write_log(folder)
    (folder / "quotas.csv").write_text(QUOTAS)
    w = weekly_review(sm.read_log(folder), AS_OF)
    q = w.quota.set_index("for")
    assert list(q.index) == ["ann (owner)", "bob (owner)", "west (team)"]  # ann's Q2 quota is not current
    # bob won C (2,000) on 8 March; his E (800) is open and overdue (1 March): due by 31 March
    assert q.loc["bob (owner)", "won_amount"] == 2000 and q.loc["bob (owner)", "gap"] == 2000
    assert q.loc["bob (owner)", "attainment"] == 0.5 and q.loc["bob (owner)", "pipeline_due"] == 800
    assert q.loc["bob (owner)", "coverage"] == pytest.approx(0.4)
    # ann won nothing in Q1; her open deals due by 31 March: none (A moved to 30 April, B 15 April, F 15 April)
    assert q.loc["ann (owner)", "won_amount"] == 0 and q.loc["ann (owner)", "pipeline_due"] == 0
    # team west (bob's deals C, D, E): C won; E (800) is open and overdue (1 March): due by year end
    assert q.loc["west (team)", "won_amount"] == 2000 and q.loc["west (team)", "pipeline_due"] == 800
    assert q.loc["west (team)", "coverage"] == pytest.approx(800 / 8000)
    assert "Against quota (3 quotas for the current period): attainment so far from 0% to 50%" in w.narrative()
    t = readable(w.table("quota"), currency="EUR")
    assert t.headers[:4] == ["Quota of", "Period", "Quota (EUR)", "Won amount (EUR)"]
    assert t.cells[1][4] == "50%"
    only_ann = weekly_review(sm.read_log(folder), AS_OF, owner="ann").quota
    assert only_ann["for"].tolist() == ["ann (owner)"]
    assert isinstance(weekly_review(write_log(tmp_path / "none"), AS_OF).table("quota"), Note)


@pytest.mark.parametrize(
    ("rows", "code", "row", "says"),
    [
        ("ann,,2024-13,5000", "bad_period", 2, "Expected: a month (2025-06), a quarter (2025-Q2) or a year (2025)"),
        ("ann,,2024-Q1,lots", "not_a_number", 2, "'lots'"),
        ("ann,,2024-Q1,-5", "negative_quota", 2, "below 0"),
        (",,2024-Q1,5", "quota_without_owner", 2, "1 quota row without an owner or a team"),
        ("ann,east,2024-Q1,5", "quota_with_owner_and_team", 2, "1 quota row with both an owner and a team"),
        ("ann,,2024-Q1,5\nann,,2024Q1,6", "duplicate_quota", 2, "twice"),
    ],
)
def test_a_bad_quotas_table_is_reported_like_the_other_tables(tmp_path, rows, code, row, says):
    from salesmetrics.log import check_log

    folder = tmp_path / "bad"
    write_log(folder)
    (folder / "quotas.csv").write_text("owner,team,period,amount\n" + rows + "\n")
    log, problems = check_log(folder)
    assert log is None
    problem = next(p for p in problems if p.code == code)
    assert problem.file == "quotas.csv" and row in problem.rows and says in str(problem)


def test_quotas_warnings_and_missing_columns(tmp_path):
    from salesmetrics.log import check_log

    folder = tmp_path / "warn"
    write_log(folder)
    (folder / "quotas.csv").write_text("owner,period,amount\nzed,2024-Q1,5\n")
    log, problems = check_log(folder)
    assert log is not None and [p.code for p in problems] == ["unknown_quota_owner"]
    (folder / "quotas.csv").write_text("who,amount\nzed,5\n")
    log, problems = check_log(folder)
    assert log is None and "no 'owner or team' and no 'period' column" in str(problems.errors[0])


def test_forecast_categories_from_a_salesforce_history(tmp_path):
    """Salesforce's history has ForecastCategory; without ForecastCategoryName on the opportunities it is kept."""
    source = REPO / "tests" / "fixtures" / "adapters" / "salesforce"
    opp = pd.read_csv(source / "Opportunity.csv", dtype=str).drop(columns=["ForecastCategoryName"])
    opp.to_csv(tmp_path / "Opportunity.csv", index=False)
    log = sm.import_salesforce(tmp_path / "Opportunity.csv", source / "OpportunityHistory.csv", out=tmp_path / "sf")
    deals = log.deals.set_index("deal_id")
    assert deals.loc["0065g00000AAAAAAA5", "forecast_category"] == "BestCase"  # its latest history row
    w = weekly_review(sm.read_log(tmp_path / "sf"), days=3650)
    assert set(w.by_forecast["forecast_category"]) <= set(deals["forecast_category"].dropna()) | {"(none)"}
    assert w.by_forecast["deals"].sum() == w.by_stage["deals_now"].sum()  # every open deal, in one category
    changed = w.deals_changed.set_index("deal_id")
    assert changed.loc["0065g00000AAAAAAA5", "deal_name"] == "Hooli - platform"
    assert changed.loc["0065g00000AAAAAAA5", "account"] == "0015g00000ACCT005"  # AccountId: the export has no name
    assert changed.loc["0065g00000AAAAAAA5", "forecast_category"] == "BestCase"
    assert isinstance(weekly_review(sm.read_log(REPO / "datasets" / "demo")).table("by_forecast"), Note)


# ------------------------------------------------------------------------------------- issue 17 audit


def test_an_owner_page_sets_the_rep_beside_the_team(log):
    w = weekly_review(log, AS_OF, owner="ann")
    assert set(w.changes["deal_id"]) <= {"A", "B", "F", "G"}  # the page is still about the rep's deals
    o = w.owners  # ann: 2 activities, 2 movements; bob: 1 and 3 (test_motion_vs_movement_for_the_week)
    assert o["owner"].tolist() == ["ann", "median of the other owner", "all 2 owners"]
    assert o["activities"].tolist() == [2, 1, 3] and o["movements"].tolist() == [2, 3, 5]
    assert o["motion_per_movement"].tolist() == pytest.approx([1.0, 1 / 3, 3 / 5])
    assert "ann logged 2 activities and 2 movements this week; median of the other owner: 1 and 3." in w.narrative()
    page = readable(w.table("owners"))._repr_html_()
    assert "median of the other owner" in page and "NaN" not in page
    # a rep with nothing in the window is zero beside the team, not missing from the comparison
    quiet = weekly_review(log, AS_OF, owner="ann", days=2).owners  # only bob's D: an email, then lost
    assert quiet["owner"].tolist() == ["ann", "median of the other owner", "all 2 owners"]
    assert quiet["activities"].tolist() == [0, 1, 1] and quiet["movements"].tolist() == [0, 1, 1]
    assert weekly_review(log, AS_OF).owners["owner"].tolist() == ["ann", "bob"]  # the team page ranks everyone


def test_a_log_without_dated_events_gives_a_review_that_says_so(tmp_path):
    config = "stages: [Lead, Deal]\nwon: [Won]\nlost: [Lost]\ncurrency: EUR\nhistory: partial\n"
    (tmp_path / "salesmetrics.yaml").write_text(config)
    deals = "deal_id,owner,created_at,amount,snapshot_stage\nA,ann,,100,Won\nB,ann,,200,Lost\nC,bob,,300,Won\n"
    (tmp_path / "deals.csv").write_text(deals)
    (tmp_path / "stage_changes.csv").write_text("deal_id,changed_at,stage\n")
    w = weekly_review(sm.read_log(tmp_path))  # no as_of to give: the log has no date at all
    assert not w.dated and w.window == "no dated events, so no week to review"
    assert w.narrative().startswith(
        "The log has no dated events, so no week can be reviewed: nothing it holds can be placed in time. "
        "Current stages of its 3 deals: 2 Won, 1 Lost."
    )
    assert AMOUNT_CHANGES_PENDING not in w.narrative()  # no week, so no amount change to miss
    for name in ("changes", "totals", "by_stage", "past_due", "neglected", "moved_untouched", "owners", "quota"):
        assert str(w.table(name)) == "Not shown: the log has no dated events.", name
    for ax in (w.plot_by_stage(), w.plot_owners()):
        assert ax.get_title() and "no dated events" in ax.texts[0].get_text()
    plt.close("all")
    assert weekly_review(sm.read_log(tmp_path), as_of="2024-01-01").dated  # a date given places the week


def test_no_activities_are_not_zero_activities(tmp_path):
    bare = write_log(tmp_path / "bare", activities=None, close_dates=None)
    owners = weekly_review(bare, AS_OF).table("owners")
    assert list(owners.columns) == ["owner", "movements"]  # not a column of zeros, said by the figure above it
    assert "no activities" in weekly_review(bare, AS_OF).plot_owners().texts[0].get_text()
    plt.close("all")
    assert "activities" in weekly_review(write_log(tmp_path / "full"), AS_OF).table("owners").columns


def test_a_deal_without_an_amount_is_not_counted_as_zero(tmp_path):
    w = weekly_review(write_log(tmp_path / "w", deals=DEALS.replace("Beta pilot", "x").replace(",500,", ",,")), AS_OF)
    assert "1 created (no amount given)" in w.narrative()  # B, created this week, has no amount: not "(EUR 0)"
    totals = readable(w.table("totals"), currency=w.currency)
    created = totals.cells[totals.to_frame()["Change"].tolist().index("created")]
    assert created[totals.headers.index("Amount (EUR)")] == ""
    assert created[totals.headers.index("Deals without an amount")] == "1"
    longer = weekly_review(sm.read_log(tmp_path / "w"), AS_OF, days=60)  # B, D, E and F created
    assert "4 created (EUR 2,600; 1 without an amount)" in longer.narrative()
    every_amount = readable(weekly_review(write_log(tmp_path / "x"), AS_OF).table("totals"))
    assert "Deals without an amount" not in every_amount.headers  # the column shows only when one is missing


def test_nothing_to_look_at_is_said_in_words_not_zeros(log):
    text = weekly_review(log, "2024-02-15", neglect_days=60).narrative()
    assert "Needs a look: no open deal past its close date; none without an activity for 60 days" in text
    assert "0 open deals" not in text
