"""What a log can show: counts of what it holds, and one sentence per thing a report cannot show."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.log.coverage import Note, log_coverage, note_axes, table_or_note

matplotlib.use("Agg")


def test_counts_on_the_tiny_log(tiny_log_dir):
    cover = log_coverage(sm.read_log(tiny_log_dir))
    assert (cover.deals, cover.stage_changes, cover.activities, cover.directions) == (3, 9, 4, 4)
    assert (cover.close_date_changes, cover.amounts, cover.created, cover.commit_stage) == (4, 2, 3, "Commit")
    assert cover.dated and cover.history == "complete" and cover.partial_note is None
    assert cover.missing(*("dates", "stage_changes", "activities", "direction", "close_dates", "amounts")) == []


def test_missing_parts_are_said_once_and_in_order(tiny_log_dir):
    (tiny_log_dir / "activities.csv").write_text("deal_id,occurred_at,kind\nD1,2024-01-03 10:00,call\n")
    (tiny_log_dir / "close_date_changes.csv").unlink()
    config = (tiny_log_dir / "salesmetrics.yaml").read_text().replace("commit_stage: Commit\n", "")
    (tiny_log_dir / "salesmetrics.yaml").write_text(config)
    cover = log_coverage(sm.read_log(tiny_log_dir))
    assert cover.directions == 0 and cover.close_date_changes == 0 and cover.commit_stage is None
    said = cover.missing("close_dates", "direction", "commit_stage", "close_dates", "activities")
    assert [s.split(",")[0] for s in said] == [
        "The log has no close-date changes",
        "No activity says whether the buyer or the seller reached out (the 'direction' column of activities)",
        "The stage model names no commit stage (the verbal yes)",
    ]
    with pytest.raises(UsageError, match="Unknown need 'closedates'"):
        cover.missing("closedates")


def test_figure_and_table_fall_back_to_a_note(tiny_log_dir):
    (tiny_log_dir / "close_date_changes.csv").unlink()
    cover = log_coverage(sm.read_log(tiny_log_dir))
    ax = cover.figure("Pipeline waterfall", lambda: pytest.fail("must not draw"), "close_dates")
    assert ax.get_title() == "Pipeline waterfall" and not ax.axison
    assert ax.texts[0].get_text().startswith("The log has no close-date changes")
    drawn = cover.figure("Anything", lambda: "drawn", "activities")
    assert drawn == "drawn"
    frame = pd.DataFrame({"x": [1.23456], "when": pd.to_datetime(["2024-01-01"])})
    assert isinstance(cover.table(frame, "close_dates"), Note)
    assert cover.table(frame, "activities")["x"].tolist() == [1.23]  # floats rounded, dates untouched
    assert str(table_or_note(frame.iloc[0:0], "Nothing here.")) == "Nothing here."
    assert Note("a < b")._repr_html_() == "<p><em>a &lt; b</em></p>"
    assert note_axes(None, "T", "why").get_title() == "T"
