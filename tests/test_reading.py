"""Reading a log through the relational core (log/reading.py) gives validation's log, frame for frame (issue 16).

The oracle is :func:`~salesmetrics.log.saleslog.check_log` (pandas reads and validates). Whenever the core takes a
log, each table must equal validation's frame (values, dtypes, index type and values, column names), and the
warnings must be the same; the reports' pre-flight check must give the same deals and latest event.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pandas as pd
import pytest
from builders import warned_logs, write_tiny_log, write_warned_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.exceptions import LogValidationError
from salesmetrics.log import reading
from salesmetrics.log.prepare import resolve_as_of
from salesmetrics.log.saleslog import check_log

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted(p.parent for p in (ROOT / "tests" / "fixtures").rglob("salesmetrics.yaml"))
FOREIGN = ROOT / "tests" / "fixtures" / "foreign"
#: foreign folders the core leaves to pandas: a Parquet column written without a type is Python objects there
DECLINED = {"k_empty_activities_untyped_parquet"}
TABLES = ("deals", "stage_changes", "activities", "close_date_changes", "amount_changes")


def assert_same_frames(got: sm.SalesLog, expected: sm.SalesLog, tables=TABLES) -> None:
    for name in tables:
        pd.testing.assert_frame_equal(
            getattr(got, name),
            getattr(expected, name),
            check_dtype=True,
            check_index_type=True,
            check_column_type=True,
            check_exact=True,
            obj=name,
        )


def assert_same_log(folder: Path) -> bool:
    """The log the core reads equals check_log's (tables, warnings, model, source); returns whether it took it."""
    got = reading._through_core(folder, activities=True)
    expected, problems = check_log(folder)
    if got is None:
        return False
    assert expected is not None, "the core took a log validation refuses"
    log, latest = got
    assert_same_frames(log, expected)
    assert log.problems == expected.problems == tuple(problems)
    assert (log.model, log.source) == (expected.model, expected.source)
    assert latest == _latest_us(expected)
    return True


def _latest_us(log: sm.SalesLog) -> int | None:
    try:
        return resolve_as_of(log, None).value // 1000
    except sm.UsageError:
        return None


@pytest.mark.parametrize("folder", [*FIXTURES, ROOT / "datasets" / "demo"], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixtures_read_the_same(folder):
    taken = assert_same_log(folder)
    if folder.parent == FOREIGN or folder.name == "demo":
        assert taken == (folder.name not in DECLINED)


def test_the_report_check_gives_validation_deals_and_latest_event(tmp_path):
    for folder in [ROOT / "datasets" / "demo", *(p for p in FIXTURES if p.parent == FOREIGN)]:
        log, latest = reading.log_for_report(folder)
        expected, _ = check_log(folder)
        assert_same_frames(log, expected, ("deals", "stage_changes", "close_date_changes", "amount_changes"))
        assert log.problems == expected.problems
        assert latest == resolve_as_of(expected, None)
        assert latest.isoformat() == resolve_as_of(expected, None).isoformat()


def test_the_report_check_names_the_problems_of_a_bad_log(tmp_path):
    tiny = write_tiny_log(tmp_path / "tiny")
    changes = tiny / "stage_changes.csv"
    changes.write_text(changes.read_text().replace("Qualified", "Qualifed", 1))
    with pytest.raises(LogValidationError) as raised:
        reading.log_for_report(tiny)
    _, problems = check_log(tiny)
    assert raised.value.problems.items == problems.items
    assert "Qualifed" in str(raised.value) and "stage_changes.csv" in str(raised.value)


def test_read_log_goes_through_the_core(tmp_path):
    demo = ROOT / "datasets" / "demo"
    with mock.patch.object(reading, "check_log", side_effect=AssertionError("pandas read the log")):
        log = sm.read_log(demo)
    assert_same_frames(log, check_log(demo)[0])


def test_the_report_runner_checks_the_log_through_the_core(tmp_path):
    """The runner's pre-flight check takes the demo log from the core: the same default as_of, deals, and the same
    message for an as_of before the first deal (it names the latest event)."""
    from salesmetrics.reports import runner

    demo = ROOT / "datasets" / "demo"
    expected, _ = check_log(demo)
    with mock.patch.object(reading, "check_log", side_effect=AssertionError("pandas read the log")):
        report, values, deals = runner._prepare("pipeline_health", demo, tmp_path / "out", None, "html", None)
        with pytest.raises(sm.UsageError) as via_core:
            runner._prepare("pipeline_health", demo, tmp_path / "out", {"as_of": "2001-01-01"}, "html", None)
    assert values["as_of"] == resolve_as_of(expected, None).isoformat()
    pd.testing.assert_frame_equal(deals, expected.deals, check_index_type=True)
    with pytest.raises(sm.UsageError) as via_pandas:
        runner.check_against_log(report, {"as_of": "2001-01-01"}, expected, where=str(demo))
    assert str(via_core.value) == str(via_pandas.value)


def _write_padded(folder: Path) -> Path:
    """The tiny log without its extra column, text cells padded with spaces and tabs, every table with an exact
    duplicate row, and local times of a DST zone (Europe/Berlin) on the day clocks go forward."""
    tiny = write_tiny_log(folder)
    deals = tiny / "deals.csv"
    lines = [line.rsplit(",", 1)[0] for line in deals.read_text().splitlines()]
    lines[1] = " D1 ,  ann\t,2024-03-31 01:30, 1000 ,east "
    deals.write_text("\n".join([*lines, lines[2]]) + "\n")
    for name in ("stage_changes", "activities"):
        path = tiny / f"{name}.csv"
        rows = path.read_text().splitlines()
        path.write_text("\n".join([*rows, rows[1], rows[1]]) + "\n")
    activities = tiny / "activities.csv"
    activities.write_text(activities.read_text() + "D2,2024-03-31 03:30,  call  ,stayed,inbound\n")
    return tiny


def test_padded_text_duplicates_and_local_times_read_the_same(tmp_path):
    tiny = _write_padded(tmp_path / "tiny")
    assert assert_same_log(tiny)
    codes = [p.code for p in sm.read_log(tiny).problems]
    assert codes.count("duplicate_rows") == 3


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=warned_logs(), fmt=st.sampled_from(["csv", "parquet"]), unit=st.sampled_from(["s", "ms", "us", "ns"]))
def test_random_logs_written_by_pandas_read_the_same(tmp_path_factory, log, fmt, unit):
    """Logs with every warning (duplicates in each table, early events, no created_at...) in CSV or in Parquet
    of any time unit: the core takes them and reads validation's frames."""
    tz, tables = log
    folder = write_warned_log(tmp_path_factory.mktemp("log") / "log", tz, tables, fmt, unit)
    assert assert_same_log(folder)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=warned_logs())
def test_random_logs_with_local_times_read_the_same(tmp_path_factory, log):
    tz, tables = log
    folder = write_warned_log(tmp_path_factory.mktemp("log") / "log", tz, tables, "csv", naive=True)
    assert_same_log(folder)  # may decline (a local time repeated by a clock change): then pandas reads it


@pytest.mark.parametrize(
    "preset, source", [("ibm", "ibm_sales_win_loss"), ("olist", "olist_marketing_funnel"), ("maven", "maven_crm_sales")]
)
def test_real_exports_read_the_same(shared_datasets, tmp_path, preset, source):
    from salesmetrics.adapters import run_import

    if not (shared_datasets / source).exists():
        pytest.skip(f"{shared_datasets / source} is absent")
    run_import("snapshot", [str(shared_datasets / source)], tmp_path / preset, options={"preset": preset})
    assert_same_log(tmp_path / preset)
