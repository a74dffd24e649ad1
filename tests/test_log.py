"""Reading, writing and summarising logs."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.exceptions import LogValidationError, UsageError


def test_read_tiny_log_types_and_values(tiny_log_dir):
    log = sm.read_log(tiny_log_dir)
    assert list(log.deals.columns) == ["deal_id", "owner", "created_at", "amount", "team", "industry"]
    assert str(log.deals["created_at"].dtype) == "datetime64[us, Europe/Berlin]"
    assert log.deals["amount"].tolist()[:2] == [1000.0, 2500.0]
    assert pd.isna(log.deals["amount"].iloc[2])
    # naive timestamps are read in the log's time zone: 09:00 in Berlin is 08:00 UTC
    assert log.deals["created_at"].iloc[0].tz_convert("UTC").hour == 8
    assert log.close_date_changes["close_date"].dt.strftime("%Y-%m-%d").tolist()[0] == "2024-02-15"
    assert log.problems == ()


def test_summary_counts(tiny_log_dir):
    s = sm.read_log(tiny_log_dir).summary()
    assert (s.deals, s.open_deals, s.won_deals, s.lost_deals) == (3, 1, 1, 1)
    assert s.rows == {"deals": 3, "stage_changes": 9, "activities": 4, "close_date_changes": 4}
    assert s.current_stages == {"Lead": 1, "Won": 1, "Lost": 1}
    assert (s.owners, s.teams) == (2, 2)
    assert s.first_event.strftime("%Y-%m-%d") == "2024-01-02"
    assert "Deals: 3  (open 1, won 1, lost 1)" in str(s)


def test_current_stage_ties_keep_file_order(tmp_path, tiny_log_dir):
    changes = (tiny_log_dir / "stage_changes.csv").read_text() + "D3,2024-02-03 08:00,Lead\n"
    (tiny_log_dir / "stage_changes.csv").write_text(changes)
    log = sm.read_log(tiny_log_dir)
    assert log.current_stage()["D3"] == "Lead"  # same time as Lost, later in the file


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_read_round_trip(tmp_path, tiny_log_dir, fmt):
    log = sm.read_log(tiny_log_dir)
    out = sm.write_log(log, tmp_path / "copy", format=fmt)
    again = sm.read_log(out)
    assert again.model == log.model
    for name, table in log.tables.items():
        pd.testing.assert_frame_equal(
            again.tables[name].reset_index(drop=True), table.reset_index(drop=True), check_dtype=False
        )
        assert again.tables[name].dtypes.astype(str).tolist() == table.dtypes.astype(str).tolist()


def test_write_refuses_to_overwrite(tmp_path, tiny_log_dir):
    log = sm.read_log(tiny_log_dir)
    with pytest.raises(UsageError, match="read from"):
        sm.write_log(log, tiny_log_dir, overwrite=True)
    target = sm.write_log(log, tmp_path / "copy")
    with pytest.raises(UsageError, match="already exists"):
        sm.write_log(log, target)
    sm.write_log(log, target, format="csv", overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == [
        "activities.csv",
        "close_date_changes.csv",
        "deals.csv",
        "salesmetrics.yaml",
        "stage_changes.csv",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging folder left behind"


def test_overwrite_replaces_only_a_log_folder(tmp_path, tiny_log_dir):
    # a replaced folder is deleted whole: anything a log writer did not make must stop the overwrite
    log = sm.read_log(tiny_log_dir)
    target = sm.write_log(log, tmp_path / "out")
    (target / "projects").mkdir()
    (target / "projects" / "thesis.docx").write_text("mine")
    (target / "notes.txt").write_text("mine too")
    with pytest.raises(UsageError, match=r"holds notes.txt, projects, which no salesmetrics log contains"):
        sm.write_log(log, target, overwrite=True)
    assert (target / "projects" / "thesis.docx").read_text() == "mine"
    (target / "notes.txt").unlink()
    (target / "projects" / "thesis.docx").unlink()
    (target / "projects").rmdir()
    (target / ".ipynb_checkpoints").mkdir()  # left by Jupyter: not a reason to refuse
    assert sm.write_log(log, target, format="csv", overwrite=True) == target.absolute()
    # a folder without a log in it is never replaced
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_text("x")
    with pytest.raises(UsageError, match=r"cat\.jpg"):
        sm.write_log(log, other, overwrite=True)


def test_overwrite_of_the_working_folder(tmp_path, tiny_log_dir, monkeypatch):
    # "." has no parent of its own: the log is staged beside the folder's absolute path
    log = sm.read_log(tiny_log_dir)
    target = sm.write_log(log, tmp_path / "here")
    monkeypatch.chdir(target)
    sm.write_log(log, ".", format="csv", overwrite=True)
    assert sorted(p.name for p in target.iterdir())[0] == "activities.csv"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging folder left behind"


def test_read_log_error_lists_every_problem(tiny_log_dir):
    (tiny_log_dir / "deals.csv").write_text("deal_id,owner,created_at,amount\nD1,ann,2024-01-02,-5\n")
    with pytest.raises(LogValidationError) as exc:
        sm.read_log(tiny_log_dir)
    codes = sorted({p.code for p in exc.value.problems.errors})
    assert codes == ["negative_amount", "unknown_deal"]
    assert "deals.csv, row 2, column 'amount'" in str(exc.value)


def test_from_frames_validates(tiny_log_dir):
    log = sm.read_log(tiny_log_dir)
    bad = log.stage_changes.copy()
    bad.loc[0, "stage"] = "Nowhere"
    with pytest.raises(LogValidationError, match="Nowhere"):
        sm.SalesLog.from_frames(log.model, log.deals, bad)
    ok = sm.SalesLog.from_frames(log.model, log.deals, log.stage_changes)
    assert len(ok.activities) == 0 and list(ok.activities.columns[:3]) == ["deal_id", "occurred_at", "kind"]


stage_names = st.sampled_from(["Lead", "Qualified", "Proposal", "Commit", "Won", "Lost"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["D1", "D2", "D3"]), st.integers(0, 10_000), stage_names), min_size=1, max_size=30
    ),
    fmt=st.sampled_from(["csv", "parquet"]),
)
def test_round_trip_property(tmp_path_factory, tiny_log_dir, rows, fmt):
    """Any valid log written and read back holds the same rows in the same order."""
    base = sm.read_log(tiny_log_dir)
    start = pd.Timestamp("2024-03-01", tz="Europe/Berlin")
    changes = pd.DataFrame(
        {
            "deal_id": [r[0] for r in rows],
            "changed_at": [start + pd.Timedelta(minutes=r[1]) for r in rows],
            "stage": [r[2] for r in rows],
        }
    )
    log = sm.SalesLog(base.model, base.deals, changes, base.activities, base.close_date_changes)
    out = sm.write_log(log, tmp_path_factory.mktemp("rt") / "log", format=fmt)
    again = sm.read_log(out)
    expected = changes.drop_duplicates().reset_index(drop=True)
    pd.testing.assert_frame_equal(again.stage_changes.reset_index(drop=True), expected, check_dtype=False)
