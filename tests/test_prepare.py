"""as_of handling, truncation and the classification of stage entries into movements."""

from __future__ import annotations

import pandas as pd
import pytest

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.log import prepare
from salesmetrics.log.prepare import cut_at, resolve_as_of, stage_entries, truncate
from salesmetrics.metrics.movement import epoch_us
from salesmetrics.metrics.scoring import as_of_microseconds, score


def _log(rows, tiny_log_dir):
    base = sm.read_log(tiny_log_dir)
    start = pd.Timestamp("2024-03-01", tz="Europe/Berlin")
    changes = pd.DataFrame(
        {
            "deal_id": [r[0] for r in rows],
            "changed_at": [start + pd.Timedelta(days=r[1]) for r in rows],
            "stage": [r[2] for r in rows],
        }
    )
    return sm.SalesLog(base.model, base.deals, changes, base.activities, base.close_date_changes)


def test_classification_by_hand(tiny_log_dir):
    rows = [
        ("D1", 0, "Lead"),
        ("D1", 1, "Lead"),  # repeat
        ("D1", 2, "Proposal"),  # advance, 2 steps
        ("D1", 3, "Qualified"),  # regression, 1 step
        ("D1", 4, "Won"),  # advance and win, 3 steps (Commit skipped)
        ("D1", 5, "Proposal"),  # reopened after a win: regression
        ("D2", 0, "Won"),  # created straight into Won: the add only
        ("D3", 0, "Lead"),
        ("D3", 1, "Lost"),  # loss
        ("D3", 2, "Lost"),  # repeat
        ("D3", 3, "Qualified"),  # reopened after a loss: advance from below Lead
    ]
    e = stage_entries(_log(rows, tiny_log_dir), "2024-12-31")
    assert e["kind"].tolist() == [
        "add", "repeat", "advance", "regression", "advance", "regression",
        "add",
        "add", "loss", "repeat", "advance",
    ]  # fmt: skip
    assert e["steps"].tolist() == [0, 0, 2, 1, 3, 2, 0, 0, 0, 0, 2]
    assert e["is_win"].tolist() == [False, False, False, False, True] + [False] * 6


def test_ties_keep_file_order_and_as_of_cuts(tiny_log_dir):
    rows = [("D1", 0, "Lead"), ("D1", 1, "Proposal"), ("D1", 1, "Qualified"), ("D1", 5, "Won")]
    e = stage_entries(_log(rows, tiny_log_dir), "2024-03-03")
    assert e["stage"].tolist() == ["Lead", "Proposal", "Qualified"]
    assert e["kind"].tolist() == ["add", "advance", "regression"]
    assert len(stage_entries(_log(rows, tiny_log_dir), "2023-01-01")) == 0


def test_resolve_as_of(tiny_log_dir):
    log = sm.read_log(tiny_log_dir)
    assert resolve_as_of(log) == pd.Timestamp("2024-02-03 08:00", tz="Europe/Berlin")
    assert resolve_as_of(log, "2024-01-15") == pd.Timestamp("2024-01-15 23:59:59.999999", tz="Europe/Berlin")
    assert resolve_as_of(log, "2024-01-15T10:00Z") == pd.Timestamp("2024-01-15 11:00", tz="Europe/Berlin")
    with pytest.raises(UsageError, match="not a date"):
        resolve_as_of(log, "soon")


def test_a_resolved_as_of_is_passed_down_as_it_is(tiny_log_dir):
    log = sm.read_log(tiny_log_dir)
    stamp = resolve_as_of(log, "2024-01-15")
    assert resolve_as_of(log, stamp) is stamp
    assert resolve_as_of(log, stamp.tz_convert("UTC")) == stamp  # another zone is converted
    as_of, cut = cut_at(log, "2024-01-20")
    assert as_of == resolve_as_of(log, "2024-01-20") and sorted(cut.deals["deal_id"]) == ["D1", "D2"]


@pytest.mark.parametrize("by", ["deal", "owner"])
def test_score_reads_its_as_of_once(tiny_log_dir, monkeypatch, by):
    log = sm.read_log(tiny_log_dir)
    seen = []
    read = prepare.as_of_instant  # the one reading of an as_of text
    monkeypatch.setattr(prepare, "as_of_instant", lambda value, tz: seen.append(value) or read(value, tz))
    score(log, by=by, as_of="2024-01-20")
    assert seen == ["2024-01-20"]


@pytest.mark.parametrize("text", ["2024-01-15", " 2024-01-15 ", "2024-01-15T10:00", "2024-01-15T10:00+05:00"])
def test_the_duckdb_reading_of_as_of_equals_resolve_as_of(tiny_log_dir, text):
    log = sm.read_log(tiny_log_dir)
    assert as_of_microseconds(text, log.model.timezone) == epoch_us(resolve_as_of(log, text))


def test_as_of_objects_are_left_to_the_pandas_path():
    assert as_of_microseconds(None, "UTC") is None
    assert as_of_microseconds(pd.Timestamp("2024-01-15"), "UTC") is None
    with pytest.raises(UsageError, match="not an ISO date"):
        as_of_microseconds("15/01/2024", "UTC")


def test_truncate_drops_later_events_and_deals(tiny_log_dir):
    cut = truncate(sm.read_log(tiny_log_dir), "2024-01-20")
    assert sorted(cut.deals["deal_id"]) == ["D1", "D2"]  # D3 was created on 1 February
    assert cut.stage_changes["changed_at"].max() <= pd.Timestamp("2024-01-21", tz="Europe/Berlin")
    assert len(cut.activities) == 4 and len(cut.close_date_changes) == 3


def test_truncate_keeps_each_deals_amount_as_it_was_then():
    """A cut log holds the amounts known at as_of, never a later revision (decision 0054): deal D000021 of the demo
    was raised to 314.60 before 10 March 2024 and cut to 259.50 later."""
    log = sm.read_log("datasets/demo")
    history = log.amount_changes[log.amount_changes["deal_id"] == "D000021"].sort_values("changed_at")
    assert history["amount"].tolist()[-1] == 259.5 and 314.6 in history["amount"].tolist()

    def amount(as_of):
        deals = truncate(log, as_of).deals
        return float(deals.loc[deals["deal_id"] == "D000021", "amount"].iloc[0])

    assert amount("2024-03-10") == 314.6
    assert amount(None) == float(log.deals.loc[log.deals["deal_id"] == "D000021", "amount"].iloc[0]) == 259.5
    later = history["changed_at"].iloc[-1]
    assert amount(later) == 259.5 and amount(later - pd.Timedelta(microseconds=1)) != 259.5
