"""score(), run_score() and `salesmetrics score`: the DuckDB fast path equals the pandas path; CLI behaviour."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pandas as pd
import pytest
from builders import PIPELINE_MODEL, pipeline_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.cli.main import main
from salesmetrics.cli.score import run_score
from salesmetrics.metrics.scoring import score

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"


@pytest.fixture(scope="module")
def demo_log():
    return sm.read_log(DEMO)


@pytest.fixture(scope="module")
def demo_parquet(tmp_path_factory, demo_log):
    return sm.write_log(demo_log, tmp_path_factory.mktemp("pq") / "demo", format="parquet")


def _fast_equals_pandas(folder: Path, log: sm.SalesLog, as_of, tmp: Path) -> None:
    from salesmetrics.metrics._engine import deal_scores_to_file
    from salesmetrics.metrics.scoring import as_of_microseconds

    as_of_us = None if as_of is None else as_of_microseconds(as_of, log.model.timezone)
    taken = deal_scores_to_file(folder, log.model, as_of_us, tmp / "engine.parquet", "parquet")
    assert taken is not None, "the engine stepped aside"
    fast = run_score(folder, by="deal", as_of=as_of, out=tmp / "fast.parquet", overwrite=True, progress=False)
    expected = score(log, as_of=as_of)
    pd.testing.assert_frame_equal(pd.read_parquet(fast), expected, check_dtype=False, check_exact=True)
    slow = tmp / "slow.csv"
    run_score(folder, by="deal", as_of=as_of, out=tmp / "fast.csv", overwrite=True, progress=False)
    from salesmetrics.metrics._engine import write_frame

    write_frame(expected, slow, "csv")
    assert (tmp / "fast.csv").read_bytes() == slow.read_bytes()


@pytest.mark.parametrize("as_of", [None, "2024-06-30", "2024-03-15T12:00"])
def test_fast_path_equals_pandas_on_demo(demo_parquet, demo_log, tmp_path, as_of):
    _fast_equals_pandas(demo_parquet, demo_log, as_of, tmp_path)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(pipeline_frames())
def test_fast_path_equals_pandas_on_random_logs(tmp_path, frames):
    log = sm.SalesLog.from_frames(PIPELINE_MODEL, *frames)
    folder = sm.write_log(log, tmp_path / "log", format="parquet", overwrite=True)
    _fast_equals_pandas(folder, sm.read_log(folder), None, tmp_path)


def test_score_groups_via_score(demo_log):
    g = score(demo_log, by="owner", period="M", as_of="2024-06-30")
    assert g["period"].iloc[0] == "2024-01" and g["period"].max() == "2024-06"
    assert 0 <= g["win_rate"].min() <= g["win_rate"].max() <= 1
    with pytest.raises(sm.UsageError, match="unknown parameters: colour"):
        score(demo_log, colour="red")
    with pytest.raises(sm.UsageError, match="by 'region'"):
        score(demo_log, by="region")


def test_cli(tmp_path, tiny_log_dir, capsys):
    out = tmp_path / "deals.csv"
    assert main(["score", str(DEMO), "--by", "deal", "--out", str(out), "--quiet"]) == 0
    assert len(pd.read_csv(out)) == 2000
    assert main(["score", str(DEMO), "--by", "deal", "--out", str(out), "--quiet"]) == 2  # refuses to overwrite
    assert "already exists" in capsys.readouterr().err
    assert main(["score", str(DEMO), "--by", "deal", "--out", str(out), "--quiet", "--overwrite"]) == 0
    owners = tmp_path / "owners.parquet"
    assert main(["score", str(tiny_log_dir), "--by", "owner", "--period", "M", "--out", str(owners)]) == 0
    assert list(pd.read_parquet(owners)["owner"]) == ["ann", "ann", "bob", "bob"]
    assert main(["score", str(DEMO), "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "must end in .csv or .parquet" in capsys.readouterr().err
    assert main(["score", str(DEMO), "--as-of", "soon", "--out", str(tmp_path / "y.csv")]) == 2
    assert "as_of 'soon'" in capsys.readouterr().err
    assert main(["score", str(DEMO), "--out", str(DEMO / "scores.csv")]) == 2  # never inside the input log
    assert main(["score", str(DEMO), "--by", "deal", "--period", "M", "--out", str(tmp_path / "z.csv")]) == 2
    with pytest.raises(SystemExit) as exc:  # argparse rejects choices itself, with exit code 2
        main(["score", str(DEMO), "--by", "quarter", "--out", str(tmp_path / "z.csv")])
    assert exc.value.code == 2
    assert not (tmp_path / "z.csv").exists() and not (DEMO / "scores.csv").exists()


def test_invalid_log_exit_1(tmp_path, demo_log, capsys):
    bad = sm.write_log(demo_log, tmp_path / "bad", format="parquet")
    changes = pd.read_parquet(bad / "stage_changes.parquet")
    changes.loc[3, "stage"] = "Negociation"
    changes.to_parquet(bad / "stage_changes.parquet", index=False)
    assert main(["score", str(bad), "--out", str(tmp_path / "s.csv"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "unknown" in err.lower() or "not in salesmetrics.yaml" in err
    assert "Negociation" in err and not (tmp_path / "s.csv").exists()
    assert main(["score", str(tmp_path / "nowhere"), "--out", str(tmp_path / "s.csv")]) == 2  # no such folder: usage


@pytest.mark.parametrize("preset, folder", [("ibm", "ibm_sales_win_loss"), ("olist", "olist_marketing_funnel")])
def test_engine_takes_real_snapshot_exports(shared_datasets, tmp_path, preset, folder):
    """Real exports through the adapters: the engine takes them and gives the pandas path's numbers."""
    from salesmetrics.adapters import run_import

    source = shared_datasets / folder
    if not source.exists():
        pytest.skip(f"{source} is absent")
    run_import("snapshot", [str(source)], tmp_path / preset, options={"preset": preset})
    log = sm.read_log(tmp_path / preset)
    as_of = "2025-01-01" if log.stage_changes.empty else None  # a snapshot without dates needs a moment
    _fast_equals_pandas(tmp_path / preset, log, as_of, tmp_path)
    _group_fast_equals_pandas(tmp_path / preset, log, "owner", "M", as_of, tmp_path)


def test_maven_dataset_scores(shared_datasets, tmp_path):
    from salesmetrics.adapters import run_import

    source = shared_datasets / "maven_crm_sales"
    if not source.exists():
        pytest.skip(f"{source} is absent")
    run_import("snapshot", [str(source)], tmp_path / "maven", options={"preset": "maven"})
    log = sm.read_log(tmp_path / "maven")
    deals = score(log)
    assert len(deals) > 1000
    _fast_equals_pandas(tmp_path / "maven", log, None, tmp_path)  # the engine takes a real export's log
    _group_fast_equals_pandas(tmp_path / "maven", log, "team", "Q", None, tmp_path)
    assert (deals["movements"] == deals[["adds", "advances", "regressions", "losses"]].sum(axis=1)).all()
    assert deals["wins"].sum() > 0 and deals["losses"].sum() > 0
    assert deals["age_days"].dropna().ge(0).all()
    teams = score(log, by="team", period="Q")
    rates = teams["win_rate"].dropna()
    assert (
        len(rates)
        and rates.between(0, 1).all()
        and 0.2 < teams["wins"].sum() / teams[["wins", "losses"]].sum().sum() < 0.9
    )


def _group_fast_equals_pandas(folder: Path, log: sm.SalesLog, by: str, period: str, as_of, tmp: Path) -> None:
    """The DuckDB group scores (written straight to the file) equal pandas' (movement.score_groups, the oracle),
    written as the command line writes a frame: the same CSV bytes, the same Parquet table."""
    import pyarrow.parquet as pq
    from oracle_movement import score_groups

    from salesmetrics.log.config import load_config
    from salesmetrics.metrics._engine import write_frame
    from salesmetrics.metrics.scoring import _group_scores_fast, as_of_microseconds

    model, _ = load_config(folder)
    as_of_us = None if as_of is None else as_of_microseconds(as_of, model.timezone)
    expected = score_groups(log, by=by, period=period, as_of=as_of)
    for fmt in ("parquet", "csv"):
        fast, slow = tmp / f"g_fast.{fmt}", tmp / f"g_slow.{fmt}"
        assert _group_scores_fast(folder, model, by, period, as_of, as_of_us, fast, fmt), "the fast path was not taken"
        write_frame(expected, slow, fmt)
        if fmt == "csv":
            assert fast.read_bytes() == slow.read_bytes()
        else:
            assert pq.read_schema(fast).equals(pq.read_schema(slow))  # nullability too; metadata is not compared
            assert pq.read_table(fast).equals(pq.read_table(slow))
            pd.testing.assert_frame_equal(pd.read_parquet(fast), expected, check_exact=True)
    out = run_score(folder, by=by, period=period, as_of=as_of, out=tmp / "g.csv", overwrite=True, progress=False)
    assert out.read_bytes() == (tmp / "g_slow.csv").read_bytes()


@pytest.mark.parametrize(
    "by, period, as_of", [("owner", "M", None), ("team", "Q", "2024-06-30"), ("owner", "W", "2024-03-15T12:00")]
)
def test_group_fast_path_equals_pandas_on_demo(demo_parquet, demo_log, tmp_path, by, period, as_of):
    _group_fast_equals_pandas(demo_parquet, demo_log, by, period, as_of, tmp_path)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(pipeline_frames(), st.sampled_from(["owner", "team"]), st.sampled_from(["W", "M", "Q"]))
def test_group_fast_path_equals_pandas_on_random_logs(tmp_path, frames, by, period):
    log = sm.SalesLog.from_frames(PIPELINE_MODEL, *frames)
    folder = sm.write_log(log, tmp_path / "log", format="parquet", overwrite=True)
    _group_fast_equals_pandas(folder, sm.read_log(folder), by, period, None, tmp_path)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_fast_paths_count_repeated_rows_once(tmp_path, demo_log, fmt):
    """Exact duplicate rows are dropped by validation: the engine takes the log and counts each row once."""
    folder = sm.write_log(demo_log, tmp_path / "dup", format=fmt)
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    for name, rows in (
        ("activities", [5, 5, 9, 100]),
        ("stage_changes", [3]),
        ("close_date_changes", [2]),
        ("deals", [1]),
    ):
        table = read(folder / f"{name}.{fmt}")
        doubled = pd.concat([table, table.iloc[rows]])
        if fmt == "parquet":
            doubled.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            doubled.to_csv(folder / f"{name}.csv", index=False)
    log = sm.read_log(folder)
    assert len(log.activities) == len(demo_log.activities)
    _fast_equals_pandas(folder, log, None, tmp_path)
    _fast_equals_pandas(folder, log, "2024-03-15", tmp_path)
    _group_fast_equals_pandas(folder, log, "owner", "M", None, tmp_path)
    _group_fast_equals_pandas(folder, log, "team", "W", "2024-03-15", tmp_path)


def test_engine_steps_aside_for_a_quotas_table_validation_refuses(tmp_path, demo_log):
    from salesmetrics.exceptions import LogValidationError
    from salesmetrics.metrics._engine import deal_scores_to_file

    folder = sm.write_log(demo_log, tmp_path / "quotas", format="parquet")
    (folder / "quotas.csv").write_text("owner,period,amount\nann,2024-Q1,not a number\n")
    assert deal_scores_to_file(folder, demo_log.model, None, tmp_path / "x.csv", "csv") is None
    with pytest.raises(LogValidationError, match="quotas"):
        run_score(folder, out=tmp_path / "y.csv", progress=False)
    (folder / "quotas.csv").write_text("owner,period,amount\nann,2024-Q1,1000\n")
    assert deal_scores_to_file(folder, demo_log.model, None, tmp_path / "x.csv", "csv") is not None


def test_unreadable_parquet_falls_back_to_validation(tmp_path, demo_log, capsys):
    folder = sm.write_log(demo_log, tmp_path / "broken", format="parquet")
    (folder / "activities.parquet").write_bytes(b"PAR1 not really parquet")
    for by in ("deal", "owner"):
        assert main(["score", str(folder), "--by", by, "--out", str(tmp_path / f"{by}.csv"), "--quiet"]) == 1
        assert "Cannot read it as Parquet" in capsys.readouterr().err


def test_fast_paths_tell_same_time_activities_from_duplicate_rows(tmp_path, demo_log):
    folder = sm.write_log(demo_log, tmp_path / "same_time", format="parquet")
    acts = pd.read_parquet(folder / "activities.parquet")
    twin = acts.iloc[[7]].assign(kind="a different kind")  # same deal and time, not a duplicate row
    pd.concat([acts, twin]).to_parquet(folder / "activities.parquet", index=False)
    log = sm.read_log(folder)
    assert len(log.activities) == len(acts) + 1
    from salesmetrics.metrics._engine import deal_scores_to_file

    assert deal_scores_to_file(folder, log.model, None, tmp_path / "d.parquet", "parquet") is not None
    _fast_equals_pandas(folder, log, None, tmp_path)
    _group_fast_equals_pandas(folder, log, "owner", "M", None, tmp_path)


def test_fast_paths_step_aside_for_activities_validation_refuses(tmp_path, demo_log, capsys):
    folder = sm.write_log(demo_log, tmp_path / "bad_acts", format="parquet")
    acts = pd.read_parquet(folder / "activities.parquet")
    cases = (("outcome", "won big", "won big"), ("direction", "sideways", "sideways"), ("kind", None, "have no kind"))
    for column, value, text in cases:
        broken = acts.copy()
        broken[column] = broken[column].astype(object)
        broken.loc[4, column] = value
        broken.to_parquet(folder / "activities.parquet", index=False)
        for by in ("deal", "owner"):
            assert main(["score", str(folder), "--by", by, "--out", str(tmp_path / f"{by}.csv"), "--quiet"]) == 1
            assert text in capsys.readouterr().err


@pytest.mark.parametrize("timezone, period", [("Europe/Berlin", "W"), ("America/New_York", "M"), ("Asia/Kolkata", "Q")])
def test_group_fast_path_counts_periods_in_the_log_time_zone(tmp_path, demo_log, timezone, period):
    """Motions are put in periods by wall-clock time, across daylight-saving changes, as pandas does."""
    from dataclasses import replace

    model = replace(demo_log.model, timezone=timezone)
    log = sm.SalesLog.from_frames(
        model, demo_log.deals, demo_log.stage_changes, demo_log.activities, demo_log.close_date_changes
    )
    folder = sm.write_log(log, tmp_path / "zoned", format="parquet")
    _group_fast_equals_pandas(folder, sm.read_log(folder), "owner", period, None, tmp_path)


def test_fast_paths_take_a_log_without_activities(tmp_path, demo_log):
    d = demo_log
    log = sm.SalesLog.from_frames(d.model, d.deals, d.stage_changes, d.activities.iloc[:0], d.close_date_changes)
    folder = sm.write_log(log, tmp_path / "quiet", format="parquet")
    log.activities.to_parquet(folder / "activities.parquet", index=False)  # an empty file, not a missing one
    _fast_equals_pandas(folder, sm.read_log(folder), None, tmp_path)
    _group_fast_equals_pandas(folder, sm.read_log(folder), "team", "Q", "2024-05-31", tmp_path)
    (folder / "activities.parquet").unlink()
    _group_fast_equals_pandas(folder, sm.read_log(folder), "owner", "M", None, tmp_path)


def test_score_by_team_needs_teams(demo_log, tmp_path, capsys):
    no_column = dataclasses.replace(demo_log, deals=demo_log.deals.drop(columns="team"))
    empty = dataclasses.replace(demo_log, deals=demo_log.deals.assign(team=None))
    for log in (no_column, empty):
        with pytest.raises(sm.UsageError, match="No deal in this log has a team"):
            score(log, by="team", period="Q")
    assert score(empty, by="owner", period="Q")["movements"].sum() == score(demo_log, by="deal")["movements"].sum()
    sm.write_log(empty, tmp_path / "log")
    out = tmp_path / "teams.csv"
    assert main(["score", str(tmp_path / "log"), "--by", "team", "--out", str(out)]) == 2
    assert "No deal in this log has a team" in capsys.readouterr().err
    assert not out.exists()


def test_group_scores_say_when_no_deal_has_a_close_date(demo_log, tmp_path, capsys):
    from salesmetrics.reports.health import pipeline_health

    undated = dataclasses.replace(demo_log, close_date_changes=demo_log.close_date_changes.iloc[:0])
    with pytest.warns(sm.DataNote, match="no close-date changes"):
        groups = score(undated, by="owner", period="Q")
    assert groups["closing_count"].sum() == 0 and groups["movements"].sum() > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", sm.DataNote)
        assert score(demo_log, by="owner", period="Q")["closing_count"].sum() > 0  # close dates: no note
        pipeline_health(undated)  # the report says what the log lacks in its own words
    sm.write_log(undated, tmp_path / "log")
    assert main(["score", str(tmp_path / "log"), "--by", "owner", "--out", str(tmp_path / "owners.csv")]) == 0
    err = capsys.readouterr().err
    assert "salesmetrics score: note: The log has no close-date changes" in err
    assert main(["score", str(DEMO), "--by", "owner", "--out", str(tmp_path / "demo.csv")]) == 0
    assert "note:" not in capsys.readouterr().err


def test_group_scores_before_the_first_event_are_empty_and_say_so(demo_log):
    with pytest.warns(sm.DataNote, match="no period to score"):
        assert score(demo_log, by="owner", period="M", as_of="2000-01-01").empty


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "{missing}"],
        ["score", "{missing}", "--by", "deal", "--out", "{tmp}/s.csv"],
        ["report", "pipeline_health", "{missing}", "--out", "{tmp}/r"],
    ],
)
def test_a_log_folder_that_does_not_exist_is_a_usage_error(argv, tmp_path, capsys):
    # exit 2 like every other argument that names nothing (import already did this); 1 is for bad data
    missing = tmp_path / "no-such-log"
    args = [a.format(missing=missing, tmp=tmp_path) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"salesmetrics {argv[0]}: error: the log folder {missing} does not exist" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["csv", "parquet"])  # pandas path and DuckDB fast path
def test_deals_no_as_of_can_include_are_named_not_dropped_silently(fmt, tiny_log_dir, tmp_path, capsys):
    log = sm.read_log(tiny_log_dir)
    undated = log.deals.iloc[[0]].assign(deal_id="UNDATED", created_at=pd.NaT)
    folder = sm.write_log(
        dataclasses.replace(log, deals=pd.concat([log.deals, undated], ignore_index=True), source=None),
        tmp_path / "log",
        format=fmt,
    )
    assert main(["score", str(folder), "--by", "deal", "--out", str(tmp_path / "s.csv")]) == 0
    scored = pd.read_csv(tmp_path / "s.csv")
    assert "UNDATED" not in set(scored["deal_id"]) and len(scored) == len(log.deals)
    err = capsys.readouterr().err
    assert f"note: 1 deal of {len(log.deals) + 1} has no created_at and no stage entry" in err
    # an as_of before every event: an empty file, and a note saying why
    assert main(["score", str(folder), "--by", "deal", "--as-of", "2000-01-01", "--out", str(tmp_path / "e.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "e.csv")) == 0
    assert "note: No deal is known at as_of (2000-01-01 23:59)" in capsys.readouterr().err
