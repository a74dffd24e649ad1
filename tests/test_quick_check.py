"""``salesmetrics validate`` answered by the quick check (log/quick_check.py) prints exactly what check_log makes
it print, on every log the check takes, and the check takes the logs it should."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from unittest import mock

import pytest
from builders import warned_logs, write_tiny_log, write_undated_log, write_warned_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesmetrics.cli.main import main
from salesmetrics.log import quick_check as quick
from salesmetrics.log.saleslog import check_log

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted(p.parent for p in (ROOT / "tests" / "fixtures").rglob("salesmetrics.yaml"))
#: valid logs the core reads: the quick check must answer them (the others go to check_log)
TAKEN = {"bom_semicolon", "duplicate_rows", "empty_activities", "event_before_creation", "tab_delimited"}


def _run(folder: Path, flags: list[str], slow: bool) -> tuple[int, str]:
    """The exit code and output of ``salesmetrics validate FOLDER *flags``; ``slow``: with check_log only."""
    out = io.StringIO()
    with contextlib.ExitStack() as stack:
        if slow:
            stack.enter_context(mock.patch.object(quick, "quick_check", lambda folder: None))  # check_log only
        stack.enter_context(contextlib.redirect_stdout(out))
        code = main(["validate", str(folder), *flags])
    return code, out.getvalue()


def assert_same_output(folder: Path) -> None:
    """validate prints the same, text and --json (and --quiet), with the quick check and without it."""
    for flags in ([], ["--json"], ["--quiet"]):
        assert _run(folder, flags, slow=False) == _run(folder, flags, slow=True), flags


def assert_same_answer(folder: Path) -> bool:
    """The quick check's summary and problems equal check_log's (the log it accepts); returns whether it answered."""
    answer = quick.quick_check(folder)
    if answer is None:
        return False
    log, problems = check_log(folder)
    assert log is not None
    summary, found = answer
    assert found.items == problems.items
    assert summary == log.summary()
    return True


@pytest.mark.parametrize("folder", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixtures_print_the_same(folder):
    assert_same_output(folder)
    assert assert_same_answer(folder) == (folder.name in TAKEN or folder.parent.name == "foreign")


def test_demo_and_tiny_logs_are_answered_in_duckdb(tmp_path):
    tiny = write_tiny_log(tmp_path / "tiny")
    assert_same_output(tiny)
    assert not assert_same_answer(tiny)  # its deals have a column beside the log format's: left to check_log
    deals = tiny / "deals.csv"
    deals.write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in deals.read_text().splitlines()))
    for folder in (ROOT / "datasets" / "demo", tiny):
        assert assert_same_answer(folder)
        assert_same_output(folder)


def test_quotas_and_snapshot_logs_are_answered_the_same(tmp_path):
    tiny = write_tiny_log(tmp_path / "tiny")
    deals = tiny / "deals.csv"
    deals.write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in deals.read_text().splitlines()))
    (tiny / "quotas.csv").write_text("owner,team,period,amount\nann,,2024-Q1,5000\nzed,,2024-Q1,100\n,north,2024,9\n")
    undated = write_undated_log(tmp_path / "undated")  # history: partial, no stage change, no created_at
    for folder in (tiny, undated):
        assert assert_same_answer(folder)
        assert_same_output(folder)
    codes = [p.code for p in quick.quick_check(tiny)[1]]
    assert codes == ["unknown_quota_owner", "unknown_quota_team"]
    (tiny / "quotas.csv").write_text("owner,team,period,amount\nann,,2024-Q1,-5\n")  # an error: check_log says so
    assert quick.quick_check(tiny) is None
    assert_same_output(tiny)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=warned_logs(), fmt=st.sampled_from(["csv", "parquet"]), unit=st.sampled_from(["s", "ms", "us", "ns"]))
def test_random_logs_written_by_pandas_are_answered_the_same(tmp_path_factory, log, fmt, unit):
    tz, tables = log
    folder = write_warned_log(tmp_path_factory.mktemp("log") / "log", tz, tables, fmt, unit)
    assert assert_same_answer(folder)
    assert_same_output(folder)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=warned_logs())
def test_random_logs_with_local_times_print_the_same(tmp_path_factory, log):
    tz, tables = log
    folder = write_warned_log(tmp_path_factory.mktemp("log") / "log", tz, tables, "csv", naive=True)
    assert_same_answer(folder)  # may decline: an early activity's instant, a time near a clock change
    assert_same_output(folder)


def test_a_cell_spanning_lines_declines_only_where_rows_are_named(tmp_path):
    tiny = write_tiny_log(tmp_path / "tiny")
    deals = tiny / "deals.csv"
    deals.write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in deals.read_text().splitlines()))
    activities = tiny / "activities.csv"
    activities.write_text(activities.read_text() + 'D1,2024-01-11 10:00,"call\nback",stayed,outbound\n')
    assert assert_same_answer(tiny)  # no problem names a row of activities.csv
    assert_same_output(tiny)
    lines = activities.read_text().splitlines(keepends=True)
    activities.write_text("".join(lines) + lines[1])  # a repeated row: named by its line, after the long record
    assert quick.quick_check(tiny) is None
    assert_same_output(tiny)
