"""``salesmetrics partition`` and the partitioned log: every row in its deal's part, in file order, read back as
the same log and scored to the same numbers (salesmetrics/log/partition.py, salesmetrics/log/partitioned.py)."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from builders import FOREIGN_FORMS, foreign_logs, page_text, warn_in_part, write_foreign_log, write_log_with_warnings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.cli.main import main
from salesmetrics.exceptions import DataNote, LogValidationError, OutputError, UsageError
from salesmetrics.log.partition import partition_log
from salesmetrics.log.partitioned import MANIFEST, part_of, part_sql, read_manifest
from salesmetrics.log.reading import validate_log as validate
from salesmetrics.metrics.scale import score_parts
from salesmetrics.metrics.scoring import score

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"
TABLES = ("deals", "stage_changes", "activities", "close_date_changes", "amount_changes")


def _by_deal(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of each deal together, each deal's rows in their order: the order a partitioned log keeps."""
    return frame.sort_values("deal_id", kind="stable").reset_index(drop=True)


def test_the_hash_rule_is_the_documented_one_in_python_and_duckdb():
    ids = ["D000001", "x", "Ünïcødé", "", "deal with spaces"]
    con = duckdb.connect()
    for n in (1, 2, 7, 64):
        in_sql = [con.execute(f"SELECT {part_sql('?', n)}", [i]).fetchone()[0] for i in ids]
        by_hand = [int.from_bytes(hashlib.md5(i.encode()).digest()[:8], "little") % n for i in ids]
        assert in_sql == by_hand == [part_of(i, n) for i in ids]
    assert con.execute(f"SELECT {part_sql('NULL::VARCHAR', 5)}").fetchone()[0] == 0  # validation reports it


def test_every_row_lands_in_its_deals_part_in_file_order(tmp_path):
    result = partition_log(DEMO, tmp_path / "p", 3)
    manifest = read_manifest(tmp_path / "p")
    assert manifest.partitions == 3 and manifest.rows == result.rows
    for name in TABLES:
        whole = pd.read_csv(DEMO / f"{name}.csv", dtype=str, keep_default_na=False)
        parts = [
            pd.read_csv(tmp_path / "p" / f"part-0000{i}" / f"{name}.csv", dtype=str, keep_default_na=False)
            for i in range(3)
        ]
        assert [len(p) for p in parts] == result.rows[name]
        for i, part in enumerate(parts):
            assert {part_of(d, 3) for d in part["deal_id"]} <= {i}
            expected = whole[whole["deal_id"].map(lambda d, i=i: part_of(d, 3) == i)]
            pd.testing.assert_frame_equal(part, expected.reset_index(drop=True))  # same cells, same order
    assert (tmp_path / "p" / "salesmetrics.yaml").read_text() == (DEMO / "salesmetrics.yaml").read_text()


def test_read_back_it_is_the_same_log_and_the_same_scores(tmp_path):
    partition_log(DEMO, tmp_path / "p", 4)
    whole, parts = sm.read_log(DEMO), sm.read_log(tmp_path / "p")
    for name in TABLES:
        pd.testing.assert_frame_equal(_by_deal(getattr(parts, name)), _by_deal(getattr(whole, name)))
    pd.testing.assert_frame_equal(
        _by_deal(score(parts, as_of="2024-06-30")), _by_deal(score(whole, as_of="2024-06-30"))
    )
    summary, problems = validate(tmp_path / "p")
    assert summary == whole.summary() and not problems.errors


@pytest.mark.parametrize(("by", "period"), [("deal", "M"), ("owner", "M"), ("team", "W")])
def test_part_by_part_scores_are_those_of_the_parts_end_to_end(tmp_path, by, period):
    parts = partition_log(DEMO, tmp_path / "p", 3).folder
    here = score_parts(parts, by=by, period=period)  # each part by the engine, then combined (the cluster's way)
    pd.testing.assert_frame_equal(here, score(sm.read_log(parts), by=by, period=period), check_exact=True)
    whole = score(sm.read_log(DEMO), by=by, period=period)
    if by == "deal":
        pd.testing.assert_frame_equal(_by_deal(here), _by_deal(whole))
    else:  # the same groups, periods and counts; amounts added in another order of deals, to the last bits
        pd.testing.assert_frame_equal(here, whole, check_exact=False, rtol=1e-12)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=foreign_logs(), form=st.sampled_from(FOREIGN_FORMS), partitions=st.integers(1, 4))
def test_random_logs_in_any_form_score_the_same_partitioned(tmp_path_factory, drawn, form, partitions):
    model, tables = drawn
    folder = write_foreign_log(tmp_path_factory.mktemp("log") / "log", model, tables, form)
    out = tmp_path_factory.mktemp("parts") / "p"
    try:
        partition_log(folder, out, partitions)
    except UsageError as exc:  # about as many parts as deals: a part would lack a required table
        assert "use fewer parts" in str(exc) and not out.exists()
        return
    suffix = ".parquet" if form.endswith("parquet_ns") else ".csv"
    assert all(p.suffix == suffix for p in out.glob("part-*/*") if p.stem != "salesmetrics")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a random log may leave deals out; both reads say the same
        whole, parts = sm.read_log(folder), sm.read_log(out)
        pd.testing.assert_frame_equal(_by_deal(score(parts)), _by_deal(score(whole)))


@pytest.mark.parametrize("name", ["i_duplicates_csv", "i_duplicates_parquet", "m_one_owner_outbound"])
def test_validate_takes_the_parts_one_at_a_time_with_the_whole_logs_answer(tmp_path, monkeypatch, name):
    """``validate PARTS`` checks each part as a log (never the whole log in memory) and gives the summary of the
    parts read end to end: owners and teams that span parts counted once, each warning located in its part."""
    from salesmetrics.log import reading

    corpus = Path(__file__).resolve().parent / "fixtures" / "foreign" / name
    partition_log(corpus, tmp_path / "p", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        end_to_end = sm.read_log(tmp_path / "p")
    monkeypatch.setattr(reading, "read_log", lambda *a, **k: pytest.fail("the whole log was read"))
    summary, problems = validate(tmp_path / "p")
    assert summary == end_to_end.summary()
    assert [str(p) for p in problems] == [str(p) for p in end_to_end.problems]
    assert summary.owners == sm.read_log(corpus).summary().owners > 0
    assert str(summary) == str(end_to_end.summary())


def test_a_broken_part_is_reported_with_its_part_folder(tmp_path):
    partition_log(DEMO, tmp_path / "p", 2)
    broken = tmp_path / "p" / "part-00001" / "stage_changes.csv"
    lines = broken.read_text().splitlines()
    broken.write_text("\n".join([lines[0], lines[1].rsplit(",", 1)[0] + ",NoSuchStage", *lines[2:]]) + "\n")
    with pytest.raises(LogValidationError) as caught:
        sm.read_log(tmp_path / "p")
    assert [p.file for p in caught.value.problems.errors] == ["part-00001/stage_changes.csv"]
    summary, problems = validate(tmp_path / "p")
    assert summary is None and problems.errors[0].rows == (2,)


def test_it_refuses_to_overwrite_or_to_write_into_the_log(tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["partition", str(DEMO), "--out", str(out), "--partitions", "2"]) == 0
    assert "Wrote" in capsys.readouterr().out
    before = (out / MANIFEST).read_text()
    assert main(["partition", str(DEMO), "--out", str(out), "--partitions", "3"]) == 2
    assert "is not empty" in capsys.readouterr().err and (out / MANIFEST).read_text() == before
    assert main(["partition", str(DEMO), "--out", str(out), "--partitions", "3", "--overwrite"]) == 0
    assert json.loads((out / MANIFEST).read_text())["partitions"] == 3
    assert main(["partition", str(DEMO), "--out", str(DEMO / "parts"), "--partitions", "2"]) == 2
    assert not (DEMO / "parts").exists()
    with pytest.raises(UsageError, match="partitioned log already"):
        partition_log(out, tmp_path / "q", 2)
    with pytest.raises(UsageError, match="whole number"):
        partition_log(DEMO, tmp_path / "q", 0)


def test_a_damaged_manifest_is_a_clear_error(tmp_path):
    partition_log(DEMO, tmp_path / "p", 2)
    (tmp_path / "p" / MANIFEST).write_text('{"format": "something else"}')
    with pytest.raises(UsageError, match="salesmetrics partition"):
        sm.read_log(tmp_path / "p")


def test_the_notes_of_the_whole_log_come_from_its_parts(tmp_path, capsys):
    parts = partition_log(DEMO, tmp_path / "p", 3).folder
    notes = []
    for log in (DEMO, parts):
        assert main(["score", str(log), "--as-of", "2023-01-01", "--out", str(tmp_path / f"{log.name}.csv")]) == 0
        notes.append(capsys.readouterr().err)
    assert "note: No deal is known at as_of (2023-01-01 23:59)" in notes[0] and notes[1] == notes[0]
    with pytest.warns(DataNote, match="No deal is known"):
        score_parts(parts, "2023-01-01")


def test_score_takes_a_folder_and_a_client_only_with_a_folder(tmp_path):
    parts = partition_log(DEMO, tmp_path / "p", 2).folder
    pd.testing.assert_frame_equal(score(parts, "2024-06-30", by="owner"), score_parts(parts, "2024-06-30", by="owner"))
    with pytest.raises(UsageError, match="pass the folder's path"):
        score(sm.read_log(DEMO), client=object())


def test_an_empty_log_partitioned_is_refused_by_score_with_located_errors(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "salesmetrics.yaml").write_text((DEMO / "salesmetrics.yaml").read_text())
    for name in ("deals", "stage_changes"):
        (empty / f"{name}.csv").write_text((DEMO / f"{name}.csv").read_text().splitlines()[0] + "\n")
    partition_log(empty, tmp_path / "p", 2)
    assert main(["score", str(tmp_path / "p"), "--out", str(tmp_path / "s.csv")]) == 1
    err = capsys.readouterr().err
    assert "part-00000/deals.csv: The table has no rows" in err and "Traceback" not in err
    assert not (tmp_path / "s.csv").exists()


def test_the_warnings_of_a_part_validated_with_pandas_are_not_shown_as_on_one_machine(tmp_path, capsys):
    # decision 0067: a command on the whole log shows none of validation's warnings, so a run part by part shows none
    parts = partition_log(DEMO, tmp_path / "p", 3).folder
    clean = score_parts(parts)
    located = warn_in_part(parts / "part-00001")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = score_parts(parts)  # the default as_of: the part is validated with pandas in both passes
    pd.testing.assert_frame_equal(scores, clean)  # the same values, written another way
    assert [str(w.message) for w in caught if issubclass(w.category, DataNote)] == []
    assert main(["score", str(parts), "--by", "team", "--out", str(tmp_path / "s.csv")]) == 0
    assert "note:" not in capsys.readouterr().err
    # validate still lists them, each located in its part's file
    assert main(["validate", str(parts)]) == 0
    said = capsys.readouterr()
    assert located["ambiguous_dates"] in said.out + said.err and located["duplicate_rows"] in said.out + said.err


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": note: " in line]


@pytest.mark.parametrize("options", [["--by", "deal"], ["--by", "team", "--period", "Q"]])
def test_a_command_on_a_log_and_on_its_parts_says_the_same_notes(tmp_path, capsys, options):
    whole = write_log_with_warnings(tmp_path / "log")
    assert any(p.code == "missing_created_at" for p in sm.read_log(whole).problems)
    parts = partition_log(whole, tmp_path / "parts", 3).folder
    assert main(["score", str(whole), *options, "--out", str(tmp_path / "whole.csv")]) == 0
    said_whole = notes(capsys.readouterr().err)
    assert main(["score", str(parts), *options, "--out", str(tmp_path / "parts.csv")]) == 0
    assert notes(capsys.readouterr().err) == said_whole


def noted_texts(compute) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compute()
    return [str(w.message) for w in caught if issubclass(w.category, DataNote)]


def test_the_passes_that_read_parts_with_pandas_say_what_the_whole_log_says(tmp_path):
    from salesmetrics.reports.health import pipeline_health

    whole = write_log_with_warnings(tmp_path / "log")
    parts = partition_log(whole, tmp_path / "parts", 3).folder
    log = sm.read_log(whole)
    assert noted_texts(lambda: pipeline_health(parts, period="Q")) == noted_texts(
        lambda: pipeline_health(log, period="Q")
    )
    options = {"freq": "M", "start": "2024-09-01", "end": "2025-03-01"}
    assert noted_texts(lambda: sm.snapshots(parts, **options)) == noted_texts(lambda: sm.snapshots(log, **options))


def _write_activity_heavy_log(folder: Path, copies: int = 7) -> Path:
    """The demo log with its activities written ``copies`` times, each copy's times ``k`` seconds later (so every
    row differs): 212,044 activities for 7 copies."""
    folder.mkdir()
    for name in (*TABLES, "salesmetrics"):
        source = DEMO / (f"{name}.yaml" if name == "salesmetrics" else f"{name}.csv")
        if name != "activities":
            (folder / source.name).write_bytes(source.read_bytes())
    header, *rows = (DEMO / "activities.csv").read_text().splitlines()
    copied = [row.replace(":00+00:00", f":{k:02d}+00:00", 1) for k in range(copies) for row in rows]
    (folder / "activities.csv").write_text("\n".join([header, *copied]) + "\n")
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_small_memory_limit_spills_inside_the_temporary_folder_and_writes_the_same_parts(tmp_path, monkeypatch):
    from salesmetrics.log import partition

    log = _write_activity_heavy_log(tmp_path / "log")
    out, cwd = tmp_path / "out", tmp_path / "cwd"
    out.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # DuckDB's own spill folder would be ./.tmp
    spilled = {}
    split = partition._split_table

    def split_and_count(con, reader, folder, partitions):
        rows = split(con, reader, folder, partitions)
        files = con.execute("SELECT path FROM duckdb_temporary_files()").fetchall()
        spilled[reader.name] = [Path(path).parent for (path,) in files]
        return rows

    normal = partition_log(log, out / "normal", 4)
    monkeypatch.setattr(partition, "_split_table", split_and_count)
    small = partition_log(log, out / "small", 4, memory_limit="32MB")
    assert sum(small.rows["activities"]) == 212_044 and small.rows == normal.rows
    # the limit was reached: the activities went through the spill folder, inside the output's temporary folder
    assert spilled["activities"] and {folder.parent.parent for folder in spilled["activities"]} == {out}
    assert {folder.name for folder in spilled["activities"]} == {partition.SPILL_FOLDER}
    assert _files(out / "small") == _files(out / "normal")  # every part, byte for byte
    assert sorted(p.name for p in out.iterdir()) == ["normal", "small"] and not any(cwd.iterdir())


def test_running_out_of_memory_is_a_clear_error_that_leaves_no_spill_folder(tmp_path, monkeypatch, capsys):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    out = tmp_path / "out"
    assert main(["partition", str(DEMO), "--out", str(out / "p"), "--partitions", "2", "--memory-limit", "1MB"]) == 2
    err = capsys.readouterr().err
    assert "ran out of memory splitting" in err and "--memory-limit" in err and "Traceback" not in err
    assert not any(out.iterdir()) and not any(cwd.iterdir())  # no part, no temporary or spill folder
    with pytest.raises(UsageError, match="not a size DuckDB reads"):
        partition_log(DEMO, out / "p", 2, memory_limit="lots")


def test_an_error_after_spilling_leaves_no_spill_folder(tmp_path, monkeypatch):
    from salesmetrics.log import partition

    log = _write_activity_heavy_log(tmp_path / "log")
    out = tmp_path / "out"
    split = partition._split_table

    def split_then_fail(con, reader, folder, partitions):
        rows = split(con, reader, folder, partitions)
        if reader.name == "activities":
            assert any((folder.parent / partition.SPILL_FOLDER).iterdir())  # spilled there
            raise OSError(28, "No space left on device")
        return rows

    monkeypatch.setattr(partition, "_split_table", split_then_fail)
    with pytest.raises(OutputError, match="No space left"):
        partition_log(log, out / "p", 4, memory_limit="32MB")
    assert not any(out.iterdir())  # no part, no temporary folder, no spill folder


def test_a_report_on_a_partitioned_log_reads_its_parts_and_says_what_the_whole_log_says(tmp_path, capsys):
    parts = partition_log(DEMO, tmp_path / "parts", 3).folder
    assert main(["report", "pipeline_health", str(parts), "--out", str(tmp_path / "split")]) == 0
    assert main(["report", "pipeline_health", str(DEMO), "--out", str(tmp_path / "whole")]) == 0
    split = page_text(tmp_path / "split" / "pipeline_health.html")
    whole = page_text(tmp_path / "whole" / "pipeline_health.html")
    assert split.replace("parts", "demo") == whole
    # the record of what the page is made from covers every part's files: a changed part makes it stale
    capsys.readouterr()
    assert main(["report", "pipeline_health", str(parts), "--out", str(tmp_path / "split")]) == 0
    assert capsys.readouterr().out.startswith("Kept ")
    activities = parts / "part-00001" / "activities.csv"
    activities.write_text(activities.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    code = main(["report", "pipeline_health", str(parts), "--out", str(tmp_path / "split")])
    said = capsys.readouterr()
    assert code != 0 and "Kept" not in said.out, said


def test_a_command_shows_each_note_once_however_many_passes_raised_it(capsys):
    from salesmetrics.cli.main import show_caught

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for text in ("part-00000/deals.csv: 3 deals have no created_at", "another note"):
            warnings.warn(text, DataNote, stacklevel=1)
            warnings.warn(text, DataNote, stacklevel=1)  # a second pass over the same part
    show_caught("report", caught)
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "salesmetrics report: note: part-00000/deals.csv: 3 deals have no created_at",
        "salesmetrics report: note: another note",
    ]
