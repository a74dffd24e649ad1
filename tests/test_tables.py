"""The one table helper of every report: human headers, units, separators, dates, empty cells, "20 of 66", and
the plausibility of a figure said in words (hand-computed cases and a property test)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames

import salesmetrics as sm
from salesmetrics.log.coverage import Note
from salesmetrics.reports.tables import ReportTable, first, header, readable

SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def test_headers_are_words_with_units():
    assert header("motion_per_movement") == "Motion per movement"
    assert header("deal_id") == "Deal"
    assert header("avg_won_amount", "EUR") == "Average won amount (EUR)"
    assert header("velocity", "EUR") == "Velocity (EUR per day)"
    assert header("velocity") == "Velocity (per day)"
    assert header("win_rate") == "Win rate (%)"
    assert header("p90_hours") == "90th percentile hours (answered)"
    assert header("n_closed") == "Closed"
    assert header("time_to_close_days") == "Time to close (days)"
    assert header("days_in_stage") == "Days in stage"


def test_cells_separators_dates_and_empty():
    frame = pd.DataFrame(
        {
            "owner": ["ann", None],
            "amount": [1234567.891, np.nan],
            "days_in_stage": [3.14159, np.inf],
            "deals": [1200, 3],
            "entered_stage_at": pd.to_datetime(["2024-01-02 09:30", None]).tz_localize("UTC"),
            "expected_close_date": pd.to_datetime(["2024-03-31", "2024-04-30"]).tz_localize("UTC"),
            "stalled": [True, False],
        }
    )
    t = readable(frame, currency="EUR")
    assert t.headers == ["Owner", "Amount (EUR)", "Days in stage", "Deals", "Entered stage", "Close date", "Stalled"]
    assert t.cells[0] == ["ann", "1,234,568", "3.1", "1,200", "2024-01-02 09:30", "2024-03-31", "yes"]
    assert t.cells[1] == ["(no owner)", "", "", "3", "", "2024-04-30", "no"]
    page = t._repr_html_()
    for bad in ("NaN", "nan", "NaT", "None", "+00:00", "inf", "<th></th>"):
        assert bad not in page, bad
    assert "overflow-x:auto" in page  # a wide table scrolls in its own box


def test_negative_numbers_and_a_named_index_become_a_column():
    frame = pd.DataFrame({"delta": [-1500.0, 2.5]}, index=pd.Index(["a", "b"], name="owner"))
    t = readable(frame)
    assert t.headers == ["Owner", "Delta"] and t.cells == [["a", "\u22121,500.00"], ["b", "2.50"]]
    unnamed = readable(pd.DataFrame({"x": [1, 2]}, index=[7, 3]))
    assert unnamed.headers == ["X"]  # a row number is not shown


def test_a_cut_table_says_how_many_there_are():
    frame = pd.DataFrame({"deal_id": [f"D{i}" for i in range(66)]})
    t = readable(first(frame, 20), noun="deals")
    assert len(t.cells) == 20 and t.shown == "20 of 66 deals"
    assert "Showing the first 20 of 66 deals." in t._repr_html_()
    assert readable(first(frame, 80)).shown is None  # nothing was cut


def test_a_note_stays_a_note_and_values_are_escaped():
    note = Note("Nothing to list.")
    assert readable(note) is note
    t = readable(pd.DataFrame({"owner": ['<img src=x onerror="alert(1)">']}))
    assert "<img" not in t._repr_html_() and "&lt;img" in t._repr_html_()


def test_partial_period_tiny_denominator_and_no_losses():
    v = pd.DataFrame(
        {
            "period": ["2024-04", "2024-05", "2024-06"],
            "wins": [12, 2, 1],
            "losses": [8, 1, 0],
            "win_rate": [0.6, 2 / 3, 1.0],
            "full_period": [True, True, False],
        }
    )
    t = readable(v)
    assert [r[0] for r in t.cells] == ["2024-04", "2024-05", "2024-06 (partial)"]
    assert [r[3] for r in t.cells] == ["60%", "67% †", "100% †"]
    assert "† 2024-05: a rate on 3 closed deals, too few to compare." in t.notes
    assert "† 2024-06 (partial): a rate on 1 closed deal, too few to compare." in t.notes
    no_losses = readable(v.assign(losses=0, win_rate=1.0))
    assert any("lost deals are not in the data" in n for n in no_losses.notes)
    assert not any("†" in c for r in no_losses.cells for c in r)


def test_velocity_from_a_short_cycle_is_flagged():
    v = pd.DataFrame(
        {"period": ["Q1", "Q2", "Q3"], "avg_cycle_days": [60.0, 55.0, 6.0], "velocity": [100.0, 110.0, 1200.0]}
    )
    t = readable(v, currency="EUR")
    assert t.cells[2][2] == "1,200 †" and t.cells[0][2] == "100"
    assert any("Q3: an average cycle of 6 days" in n for n in t.notes)


def test_ratio_without_activities_is_empty_and_unassigned_is_not_ranked():
    g = pd.DataFrame(
        {
            "owner": ["unassigned", "ann", "bob"],
            "movements": [40, 10, 5],
            "motions": [400, 30, 0],
            "motion_per_movement": [10.0, 3.0, 0.0],
        }
    )
    t = readable(g)
    assert [r[0] for r in t.cells] == ["ann", "bob", "(no owner)"]
    assert t.cells[1][3] == ""  # bob has no activity: no ratio, not 0.00
    assert any("not ranked" in n for n in t.notes)


@settings(max_examples=40, deadline=None)
@given(
    data_frames(
        [
            column("some_amount", dtype=float),
            column("win_rate", dtype=float),
            column("owner", elements=st.one_of(st.none(), st.text(max_size=8))),
            column("n_things", dtype=int),
        ]
    )
)
def test_any_frame_gives_a_table_without_nan_or_snake_case(frame):
    t = readable(frame, currency="USD")
    assert isinstance(t, ReportTable)
    assert len(t.cells) == len(frame)
    assert not any(SNAKE.match(h) for h in t.headers)
    cells = [c for row in t.cells for c in row]
    # numbers: never NaN/inf text; names are shown as written
    numeric = [row[i] for row in t.cells for i in (0, 1, 3)]
    assert not any(c.lower() in ("nan", "inf", "-inf", "none") for c in numeric)
    assert len(cells) == 4 * len(frame)


def test_every_report_table_on_the_demo_log_is_readable():
    from salesmetrics.reports.slippage import slippage_report
    from salesmetrics.reports.velocity import velocity_report

    log = sm.read_log("datasets/demo")
    v, s = velocity_report(log, period="Q"), slippage_report(log)
    tables = [v.table(n) for n in ("velocity", "time_in_stage", "commit", "responsiveness", "groups")]
    tables += [s.table(n) for n in ("serial_pushers", "pulled_in", "random_walkers", "groups")]
    for table in tables:
        t = readable(table, currency=log.model.currency)
        if isinstance(t, Note):
            continue
        page = t._repr_html_()
        assert not any(SNAKE.match(h) for h in t.headers), t.headers
        assert "NaN" not in page and "+00:00" not in page
    assert readable(s.table("serial_pushers", top_n=5)).shown.startswith("5 of ")


@pytest.mark.parametrize("value", [0.5, 1.0])
def test_shares_are_percent(value):
    assert readable(pd.DataFrame({"regression_share": [value]})).cells == [[f"{value * 100:.0f}%"]]


def test_a_rep_is_compared_with_the_others_not_with_itself():
    from salesmetrics.reports.tables import beside_peers

    g = pd.DataFrame(
        {
            "owner": ["ann", "bob", "cy", "unassigned"],
            "motions": [40, 10, 30, 500],
            "movements": [10, 10, 5, 1],
            "motion_per_movement": [4.0, 1.0, 6.0, 500.0],
        }
    )
    out = beside_peers(g, "owner", "ann", {"motion_per_movement": ("motions", "movements")})
    assert out["owner"].tolist() == ["ann", "median of the 2 other owners", "all 4 owners"]
    assert out["motions"].tolist() == [40, 20, 580]  # the unassigned deals are in the total, not among the peers
    assert out["motion_per_movement"].tolist() == [4.0, 3.5, pytest.approx(580 / 26)]
    t = readable(out)
    assert [r[0] for r in t.cells] == ["ann", "median of the 2 other owners", "all 4 owners"]


def test_the_team_row_is_the_metric_on_the_whole_team_and_small_teams_read_right():
    from salesmetrics.reports.tables import beside_peers

    g = pd.DataFrame({"owner": ["ann", "bob", "cy"], "wins": [1, 3, 5], "win_rate": [0.1, 0.5, 0.9]})
    summed = beside_peers(g, "owner", "ann")
    assert summed["win_rate"].tolist()[-1] == pytest.approx(1.5)  # a sum of rates: why total= exists
    out = beside_peers(g, "owner", "ann", total={"wins": 9, "win_rate": 0.45})
    assert out["wins"].tolist() == [1, 4, 9] and out["win_rate"].tolist() == pytest.approx([0.1, 0.7, 0.45])
    two = beside_peers(g.head(2), "owner", "ann")["owner"].tolist()
    assert two == ["ann", "median of the other owner", "all 2 owners"]
    assert beside_peers(g.head(1), "owner", "ann")["owner"].tolist() == ["ann", "the whole team (1 owner)"]


def test_the_adapters_unknown_owner_is_not_a_rep():
    from salesmetrics.log.schemas import UNKNOWN_OWNER

    g = pd.DataFrame({"owner": [UNKNOWN_OWNER, "ann"], "wins": [50, 1]})
    assert [r[0] for r in readable(g).cells] == ["ann", "(no owner)"]
