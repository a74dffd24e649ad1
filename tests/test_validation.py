"""The broken-log corpus: one folder per problem, each message checked for file, row, column and value."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from salesmetrics.cli import main
from salesmetrics.log import check_log

CORPUS = Path(__file__).parent / "fixtures" / "broken"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def _matches(problem, expect: dict) -> bool:
    for key in ("code", "severity", "file", "column"):
        if key in expect and getattr(problem, key) != expect[key]:
            return False
    if "rows" in expect and list(problem.rows) != expect["rows"]:
        return False
    if "values" in expect and list(problem.values) != expect["values"]:
        return False
    return "text" not in expect or expect["text"] in str(problem)


@pytest.mark.parametrize("case", CASES)
def test_each_broken_log_reports_its_problem(case):
    expected = yaml.safe_load((CORPUS / case / "EXPECT.yaml").read_text())["problems"]
    log, problems = check_log(CORPUS / case)
    for expect in expected:
        assert any(_matches(p, expect) for p in problems), (
            f"{case}: no problem matching {expect}; got:\n{problems.numbered()}"
        )
    expected_errors = [e for e in expected if e["severity"] == "error"]
    # nothing but the expected errors: one broken thing gives one clear message, not a cascade
    assert len(problems.errors) == len(expected_errors), problems.numbered()
    assert (log is None) == bool(expected_errors)


def test_every_problem_names_file_and_expected_for_row_level_errors():
    for case in CASES:
        _, problems = check_log(CORPUS / case)
        for p in problems:
            assert p.file, f"{case}: {p} names no file"
            if p.rows:
                assert p.column or p.code in ("duplicate_rows", "encoding_guessed", "encoding"), (
                    f"{case}: {p} has rows but no column"
                )


def test_tolerant_csv_dialects_load_the_same_values():
    reference, _ = check_log(CORPUS / "tab_delimited")
    for case in ("bom_semicolon", "tab_delimited"):
        log, problems = check_log(CORPUS / case)
        assert log is not None, problems.numbered()
        assert list(log.deals.columns[:3]) == ["deal_id", "owner", "created_at"]
        assert log.deals["amount"].tolist() == [1000.0, 2500.0]
        assert log.stage_changes["stage"].tolist() == reference.stage_changes["stage"].tolist()


def test_latin1_names_are_decoded():
    log, _ = check_log(CORPUS / "latin1_encoding")
    assert "Renée Müller-François" in set(log.deals["owner"])


def test_spreadsheet_dates_are_read_in_the_right_order():
    log, _ = check_log(CORPUS / "spreadsheet_dates")
    assert log.deals["created_at"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2024-01-02 00:00",
        "2024-01-05 09:05",
    ]
    log, _ = check_log(CORPUS / "spreadsheet_dates_dayfirst")
    assert log.deals["created_at"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-01-13"]
    log, _ = check_log(CORPUS / "spreadsheet_serial_dates")
    assert log.deals["created_at"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2024-01-02 00:00",
        "2024-01-05 06:00",
    ]


def test_duplicates_are_dropped_and_counted():
    log, problems = check_log(CORPUS / "duplicate_rows")
    assert len(log.activities) == 1
    (dup,) = [p for p in problems if p.code == "duplicate_rows"]
    assert dup.count == 2


def test_validate_cli_lists_numbered_problems_and_exits_1(capsys):
    code = main(["validate", str(CORPUS / "unknown_stage")])
    out = capsys.readouterr().out
    assert code == 1
    assert "1. [error] stage_changes.csv, rows 4, 6, 7, column 'stage'" in out
    assert "'Closed Won' may be 'Won'" in out


def test_validate_cli_prints_summary_and_exits_0(capsys):
    code = main(["validate", str(CORPUS / "duplicate_rows")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Deals: 2" in out and "OK: the log is valid." in out and "[warning]" in out


def test_validate_cli_json(capsys):
    code = main(["validate", str(CORPUS / "negative_amount"), "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1 and payload["valid"] is False
    assert payload["problems"][0]["code"] == "negative_amount"
    assert payload["problems"][0]["rows"] == [3]


def test_validate_cli_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate"])
    assert exc.value.code == 2
    assert main(["validate", "/nonexistent/log"]) == 2  # a path that names nothing is an argument error
    assert "does not exist" in capsys.readouterr().err


def test_ambiguous_autumn_hour_is_an_error(tmp_path):
    import shutil

    folder = tmp_path / "dst"
    shutil.copytree(CORPUS / "duplicate_rows", folder)
    config = (folder / "salesmetrics.yaml").read_text().replace("timezone: UTC", "timezone: Europe/Berlin")
    (folder / "salesmetrics.yaml").write_text(config)
    (folder / "activities.csv").write_text("deal_id,occurred_at,kind\nD1,2024-10-27 02:30,call\n")
    _, problems = check_log(folder)
    (p,) = problems.errors
    assert (p.code, p.rows, p.column) == ("ambiguous_local_time", (2,), "occurred_at")


def test_bad_cells_in_an_offset_column_are_unparseable_not_mixed():
    from salesmetrics.parsing import parse_timestamps

    s = pd.Series(["2024-02-01T10:00:00+00:00", "2024-02-31T10:00:00+00:00", "yesterday", "2024-02-02T10:00:00Z"])
    parsed, problems = parse_timestamps(s, tz="UTC", file="f.csv", column="c", offset=2)
    (p,) = problems
    assert (p.code, p.rows, p.values) == ("unparseable_timestamp", (3, 4), ("2024-02-31T10:00:00+00:00", "yesterday"))
    assert parsed.notna().tolist() == [True, False, False, True]


def test_spreadsheet_text_in_an_offset_column_fills_in():
    from salesmetrics.parsing import parse_timestamps

    s = pd.Series(["2024-02-01T10:00:00+01:00", "2/3/2024 10:00 +01:00"])
    parsed, problems = parse_timestamps(s, tz="Europe/Berlin", file="f.csv", column="c", offset=2)
    assert parsed.dt.strftime("%Y-%m-%d %H:%M").tolist() == ["2024-02-01 10:00", "2024-02-03 10:00"]
    assert [(p.code, p.severity, p.rows) for p in problems] == [("ambiguous_dates", "warning", (3,))]


def test_validation_error_message_agrees_in_number():
    from salesmetrics.exceptions import LogValidationError, Problem, ProblemList

    def problem(column: str) -> Problem:
        return Problem(code="missing_value", message="is empty", severity="error", file="deals.csv", column=column)

    one = LogValidationError("logs/x", ProblemList([problem("owner")]))
    two = LogValidationError("logs/x", ProblemList([problem("owner"), problem("deal_id")]))
    assert "has 1 problem that stops it from loading" in str(one)
    assert "has 2 problems that stop it from loading" in str(two)


def test_a_reader_that_stops_early_gets_no_traceback():
    # `salesmetrics validate LOG | head`: head exits, the next write fails with EPIPE
    import os
    import subprocess
    import sys
    from pathlib import Path

    read, write = os.pipe()
    os.close(read)  # the reader is already gone: every write to the pipe fails
    try:
        done = subprocess.run(
            [
                str(Path(sys.executable).with_name("salesmetrics")),
                "validate",
                str(Path(__file__).parents[1] / "datasets" / "demo"),
                "--format",
                "json",
            ],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
    assert done.returncode == 0


def test_counts_in_messages_agree_with_their_nouns(tiny_log_dir):
    # "1 rows are dated", "1 cells are not dates": one of something is singular
    changes = tiny_log_dir / "stage_changes.csv"
    changes.write_text(changes.read_text().replace("D1,2024-01-02 09:00,Lead", "D1,2024-01-01 09:00,Lead"))
    _, problems = check_log(tiny_log_dir)
    early = [str(p) for p in problems if "before their deal's created_at" in str(p)]
    assert len(early) == 1 and "1 row is dated before their deal's created_at" in early[0]
    changes.write_text(changes.read_text().replace("D1,2024-01-01 09:00,Lead", "D1,someday,Lead"))
    _, problems = check_log(tiny_log_dir)
    assert any("1 cell is not a date or time." in str(p) for p in problems.errors)
