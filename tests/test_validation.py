"""The broken-log corpus: one folder per problem, each message checked for file, row, column and value."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from builders import write_tiny_log
from hypothesis import given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.cli.main import main
from salesmetrics.exceptions import UsageError
from salesmetrics.log import check_log
from salesmetrics.log.prepare import resolve_as_of

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
    assert "2 stages are not in salesmetrics.yaml: 'Closed Won' (2 rows); 'Nego' (1 row)." in out


def test_validate_cli_prints_summary_and_exits_0(capsys):
    code = main(["validate", str(CORPUS / "duplicate_rows")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Deals: 2" in out and "OK: the log is valid." in out and "[warning]" in out


def test_validate_cli_json(capsys):
    code = main(["validate", str(CORPUS / "negative_amount"), "--json"])
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


def test_ambiguous_autumn_hour_in_a_parquet_time_column_is_an_error(tmp_path):
    """A naive Parquet time in the repeated hour used to become a missing value without a word."""
    import shutil

    folder = tmp_path / "dst"
    shutil.copytree(CORPUS / "duplicate_rows", folder)
    config = (folder / "salesmetrics.yaml").read_text().replace("timezone: UTC", "timezone: Europe/Berlin")
    (folder / "salesmetrics.yaml").write_text(config)
    times = pd.to_datetime(["2024-10-27 01:30", "2024-10-27 02:30"]).astype("datetime64[ns]")
    pd.DataFrame({"deal_id": ["D1", "D1"], "occurred_at": times, "kind": ["call", "email"]}).to_parquet(
        folder / "activities.parquet", index=False
    )
    (folder / "activities.csv").unlink(missing_ok=True)
    _, problems = check_log(folder)
    (p,) = problems.errors
    assert (p.code, p.rows, p.column) == ("ambiguous_local_time", (2,), "occurred_at")  # Parquet rows from 1


def test_bad_cells_in_an_offset_column_are_unparseable_not_mixed():
    from salesmetrics.log.parsing import parse_timestamps

    s = pd.Series(["2024-02-01T10:00:00+00:00", "2024-02-31T10:00:00+00:00", "yesterday", "2024-02-02T10:00:00Z"])
    parsed, problems = parse_timestamps(s, tz="UTC", file="f.csv", column="c", offset=2)
    (p,) = problems
    assert (p.code, p.rows, p.values) == ("unparseable_timestamp", (3, 4), ("2024-02-31T10:00:00+00:00", "yesterday"))
    assert parsed.notna().tolist() == [True, False, False, True]


def test_an_impossible_date_without_an_offset_is_not_a_date_not_mixed_time_zones(tmp_path):
    # every other time has an offset; 31 February has no zone to mix: it is no date, in either day-month order
    folder = write_tiny_log(tmp_path / "log")
    deals = (folder / "deals.csv").read_text().splitlines()
    deals[1] = deals[1].replace("2024-01-02 09:00", "2024-01-02T09:00:00+01:00")
    deals[2] = deals[2].replace("2024-01-05 10:00", "31/02/2024")
    deals[3] = deals[3].replace("2024-02-01 08:00", "2024-02-01T08:00:00+01:00")
    (folder / "deals.csv").write_text("\n".join(deals) + "\n")
    _, problems = check_log(folder)
    (p,) = problems.errors
    assert (p.code, p.file, p.column, p.rows, p.values) == (
        "unparseable_timestamp",
        "deals.csv",
        "created_at",
        (3,),
        ("31/02/2024",),
    )
    assert "1 cell is not a date or time" in p.message and "time zone" not in p.message


def test_spreadsheet_text_in_an_offset_column_fills_in():
    from salesmetrics.log.parsing import parse_timestamps

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
                "--json",
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


# ---- hostile inputs that cannot be stored in tests/fixtures/hostile (pipes, devices, megabytes) ----------------


def _codes(folder) -> dict[str, list]:
    _, problems = check_log(folder)
    out: dict[str, list] = {}
    for p in problems.errors:
        out.setdefault(p.code, []).append(p)
    return out


@pytest.mark.parametrize("target", ["deals.csv", "salesmetrics.yaml"])
@pytest.mark.parametrize("kind", ["fifo", "folder", "dev_zero"])
def test_a_pipe_a_folder_or_a_device_where_a_file_should_be_is_an_error_not_a_hang(
    tiny_log_dir, tmp_path, kind, target
):
    path = tiny_log_dir / target
    path.unlink()
    {"fifo": os.mkfifo, "folder": os.mkdir, "dev_zero": lambda p: os.symlink("/dev/zero", p)}[kind](path)
    what = {"fifo": "a named pipe (FIFO)", "folder": "a folder", "dev_zero": "a device"}[kind]
    errors = _codes(tiny_log_dir)
    (problem,) = errors["not_a_file" if target != "salesmetrics.yaml" else "config"]
    assert problem.file == target and f"It is {what}, not a file" in problem.message
    assert main(["score", str(tiny_log_dir), "--out", str(tmp_path / "s.csv"), "--quiet"]) == 1


def test_a_fifo_in_a_parquet_log_does_not_block_score_s_fast_path(tmp_path):
    folder = tmp_path / "log"
    assert main(["simulate", "--deals", "20", "--owners", "2", "--months", "2", "--out", str(folder), "--quiet"]) == 0
    (folder / "activities.parquet").unlink()
    os.mkfifo(folder / "activities.parquet")
    assert main(["score", str(folder), "--out", str(tmp_path / "s.csv"), "--quiet"]) == 1


def test_a_config_over_a_megabyte_is_refused_unread(tiny_log_dir):
    config = tiny_log_dir / "salesmetrics.yaml"
    config.write_text(config.read_text() + "notes:\n  - " + "x" * 1_100_000 + "\n")
    (problem,) = _codes(tiny_log_dir)["config"]
    assert "larger than 1024 KiB" in problem.message


def test_thousands_of_stages_are_checked_and_reported_briefly(tiny_log_dir):
    # Speed is a benchmark's job, not a timed test's (a wall-clock bound failed on a busy 2-core machine).
    stages = [f"S{i}" for i in range(10_000)]
    config = tiny_log_dir / "salesmetrics.yaml"
    config.write_text(f"stages: [Lead, Qualified, Proposal, Commit, {', '.join(stages)}]\nwon: [Won]\nlost: [Lost]\n")
    log, problems = check_log(tiny_log_dir)
    assert log is not None, problems.numbered()
    assert log.model.rank("S9999") == 10_003
    config.write_text(f"stages: [Lead, Qualified, {', '.join(stages)}, S7]\nwon: [Won]\nlost: [Lost, Won]\n")
    (problem,) = _codes(tiny_log_dir)["config"]
    assert problem.values == ("S7", "Won")
    changes = tiny_log_dir / "stage_changes.csv"
    changes.write_text(changes.read_text() + "".join(f"D1,2024-03-0{1 + i % 9},X{i}\n" for i in range(5000)))
    config.write_text(f"stages: [Lead, Qualified, Proposal, Commit, {', '.join(stages)}]\nwon: [Won]\nlost: [Lost]\n")
    (problem,) = _codes(tiny_log_dir)["unknown_stage"]
    assert "5,000 stages are not in salesmetrics.yaml" in problem.message and "and 4,995 more" in problem.message
    assert len(str(problem)) < 2_000


def test_a_megabyte_cell_is_shown_cut_with_its_length(tiny_log_dir, capsys):
    changes = tiny_log_dir / "stage_changes.csv"
    changes.write_text(changes.read_text() + "D1,2024-03-01," + "x" * 1_000_000 + "\n")
    assert main(["validate", str(tiny_log_dir)]) == 1
    out = capsys.readouterr().out
    assert "... (1,000,000 characters)" in out and len(out) < 3_000


def test_the_delimiter_sniffer_sees_a_bounded_prefix(tiny_log_dir):
    # csv.Sniffer takes quadratic time in quotes after delimiters: 16 KB took 1 s, so 1 MB would take hours
    (tiny_log_dir / "activities.csv").write_text("deal_id,occurred_at,kind\n" + ',"' * 500_000 + "\n")
    started = time.perf_counter()
    (problem,) = _codes(tiny_log_dir)["unreadable"]
    assert (
        time.perf_counter() - started < 60
    )  # hours if the whole cell reached the sniffer; generous for a busy machine
    assert problem.rows == (2,) and "250,001 cells but the header names 3 columns" in problem.message


def test_a_file_that_stops_being_utf8_after_the_first_mebibyte_is_still_read(tiny_log_dir):
    activities = tiny_log_dir / "activities.csv"
    rows = "".join(f"D1,2024-01-03 10:00,call{i}\n" for i in range(60_000))  # about 1.5 MB
    activities.write_bytes(
        b"deal_id,occurred_at,kind\n" + rows.encode() + "D2,2024-01-06 09:00,Caf\xe9\n".encode("cp1252")
    )
    log, problems = check_log(tiny_log_dir)
    assert log is not None, problems.numbered()
    assert "Café" in set(log.activities["kind"])
    (guess,) = [p for p in problems if p.code == "encoding_guessed"]
    assert guess.rows == (60_002,)


def test_rows_are_numbered_by_line_in_a_large_file_with_a_multiline_cell(tiny_log_dir):
    changes = tiny_log_dir / "stage_changes.csv"
    filler = "".join("D1,2024-01-02 09:00,Lead\n" for _ in range(50_000))
    changes.write_text(
        'deal_id,changed_at,stage\nD1,2024-01-02 09:00,"Le\n\nad"\n' + filler + "D2,2024-01-05 10:00,Nope\n"
    )
    (problem,) = _codes(tiny_log_dir)["unknown_stage"]
    assert problem.rows == (2, 50_005)


@pytest.mark.parametrize(
    ("as_of", "says"),
    [
        ("0001-01-01", "in the year 1;"),
        ("9999-12-31", "in the year 9999;"),
        ("-1", "not a date or time"),
        ("today", "not a date or time"),
        ("03/04/2025", "it could be 2025-04-03 (day first) or 2025-03-04 (month first)"),
        ("13/04/2025", "write it as 2025-04-13"),
    ],
)
def test_as_of_must_be_an_iso_date_in_the_years_a_log_holds(tiny_log_dir, tmp_path, capsys, as_of, says):
    code = main(["score", str(tiny_log_dir), "--as-of", as_of, "--out", str(tmp_path / "s.csv"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and f"as_of '{as_of}'" in err and says in err and "Traceback" not in err
    with pytest.raises(UsageError, match=re.escape(says)):
        resolve_as_of(sm.read_log(tiny_log_dir), as_of)


def test_as_of_in_iso_form_is_read_as_before(tiny_log_dir):
    log = sm.read_log(tiny_log_dir)
    assert resolve_as_of(log, "2024-01-15") == pd.Timestamp("2024-01-15 23:59:59.999999", tz="Europe/Berlin")
    assert resolve_as_of(log, "2024-01-15T10:00+00:00") == pd.Timestamp("2024-01-15 11:00", tz="Europe/Berlin")
    assert resolve_as_of(log, pd.Timestamp("2024-01-15 10:00")) == pd.Timestamp("2024-01-15 10:00", tz="Europe/Berlin")


@given(
    st.lists(
        st.text(alphabet=st.sampled_from(" \t\n\x0b\x0c\r\x1c\x1f\x85\xa0\u2003\u3000ab!\x00\x84\xc9"), max_size=6),
        min_size=1,
    )
)
@settings(max_examples=50, deadline=None)
def test_score_s_fast_path_reads_blank_text_as_validation_does(texts):
    import duckdb

    from salesmetrics.log.sql import blank_sql

    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    blank = dict(con.execute(f"SELECT i, {blank_sql('x')} FROM t").fetchall())
    assert [blank[i] for i in range(len(texts))] == [text.strip() == "" for text in texts]


def test_a_file_that_cannot_be_opened_is_a_located_error(tiny_log_dir, monkeypatch):
    import salesmetrics.log.readers as readers

    def denied(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(readers, "_utf8_prefix", denied)
    (problem,) = _codes(tiny_log_dir)["unreadable"][:1]
    assert problem.file == "deals.csv" and "Cannot read the file: Permission denied." in problem.message


def test_a_created_at_reported_as_wrong_is_not_reported_again_as_missing():
    hostile = Path(__file__).parent / "fixtures" / "hostile"
    for case in ("year_1", "date_now", "parquet_year_1"):
        _, problems = check_log(hostile / case)
        assert [p.code for p in problems] in (["timestamp_out_of_range"], ["unparseable_timestamp"]), case


def test_one_unknown_stage_is_named_in_the_singular(tiny_log_dir):
    changes = tiny_log_dir / "stage_changes.csv"
    changes.write_text(changes.read_text() + "D1,2024-01-09 09:00,Nope\n")
    (problem,) = _codes(tiny_log_dir)["unknown_stage"]
    assert "1 stage is not in salesmetrics.yaml: 'Nope' (1 row)." in problem.message
    assert "Add it to 'stages', 'won' or 'lost', or rename it in the file." in problem.message
