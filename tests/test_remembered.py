"""A remembered validation (salesmetrics/log/remembered.py): scoring the same files again gives the same file,
and anything that changes what the log says is never answered from memory."""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from salesmetrics.cli.score import run_score
from salesmetrics.log import remembered
from salesmetrics.log.config import load_config
from salesmetrics.log.core import load
from salesmetrics.log.sql import connect
from salesmetrics.metrics._engine import deal_scores_to_file
from salesmetrics.metrics._engine_groups import group_scores_to_file

CORPUS = Path(__file__).resolve().parent / "fixtures" / "foreign"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache folder of this test; files written a moment ago may be remembered (no racy window)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SALESMETRICS_CACHE_DIR", str(folder))
    monkeypatch.setattr(remembered, "RACY_SECONDS", 0.0)
    return folder / "logs"


def copy_log(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(CORPUS / name, target)
    time.sleep(0.02)  # past the file system's time stamp tick: the files are not "racily" new
    return target


def scored(folder: Path, out: Path, **options) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_score(folder, out=out, overwrite=True, progress=False, **options)
    return pd.read_csv(out, keep_default_na=False)


def recalled(folder: Path) -> bool:
    model, _ = load_config(folder)
    core = load(connect(), folder, model, memory=True)
    return core is not None and core.recalled


@pytest.mark.parametrize(
    "name", ["i_duplicates_parquet", "i_duplicates_csv", "c_pandas_parquet_naive_ns", "j_no_activities"]
)
@pytest.mark.parametrize("options", [{"by": "deal"}, {"by": "deal", "as_of": "2024-03-15"}, {"by": "owner"}])
def test_scoring_again_gives_the_same_file(cache, tmp_path, name, options):
    folder = copy_log(name, tmp_path)
    run_score(folder, out=tmp_path / "first.csv", progress=False, **options)
    assert recalled(folder), "the first run was not remembered"
    run_score(folder, out=tmp_path / "again.csv", progress=False, **options)
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "first.csv").read_bytes()
    os.environ["SALESMETRICS_CACHE_DIR"] = "off"
    try:
        run_score(folder, out=tmp_path / "plain.csv", progress=False, **options)
    finally:
        os.environ["SALESMETRICS_CACHE_DIR"] = str(cache.parent)
    assert (tmp_path / "plain.csv").read_bytes() == (tmp_path / "first.csv").read_bytes()


def test_a_remembered_log_answers_another_as_of_and_period(cache, tmp_path):
    """What is remembered does not depend on as_of or the grouping: each later question gets its own answer."""
    folder = copy_log("i_duplicates_parquet", tmp_path)
    model, _ = load_config(folder)
    assert deal_scores_to_file(folder, model, None, tmp_path / "d.csv", "csv") is not None
    assert recalled(folder)
    for by, period in (("owner", "W"), ("team", "Q")):
        with_memory, without = tmp_path / f"{by}-memory.csv", tmp_path / f"{by}-plain.csv"
        assert group_scores_to_file(folder, model, by, period, None, with_memory, "csv") is not None
        assert group_scores_to_file(folder, model, by, period, None, without, "csv", memory=False) is not None
        assert with_memory.read_bytes() == without.read_bytes()


def test_a_changed_file_is_read_again(cache, tmp_path, monkeypatch):
    """The same size, another minute: the fingerprint changes with the file, so the new time is scored."""
    folder = copy_log("i_duplicates_csv", tmp_path)
    before = scored(folder, tmp_path / "before.csv", by="deal")
    assert recalled(folder)
    changes = folder / "stage_changes.csv"
    text = changes.read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    changed = last.replace(":30:", ":31:", 1)
    assert changed != last and len(changed) == len(last)
    changes.write_text(text.replace(last, changed))
    assert not recalled(folder)
    after = scored(folder, tmp_path / "after.csv", by="deal")
    monkeypatch.setenv("SALESMETRICS_CACHE_DIR", "off")
    pd.testing.assert_frame_equal(after, scored(folder, tmp_path / "plain.csv", by="deal"))
    assert not before.equals(after)


def test_files_changed_a_moment_ago_are_not_remembered(tmp_path, monkeypatch):
    """A second write in the same time stamp tick would keep the stamp: such files are never remembered."""
    monkeypatch.setenv("SALESMETRICS_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "log"
    shutil.copytree(CORPUS / "b_pandas_parquet_ns_utc", folder)
    scored(folder, tmp_path / "out.csv", by="deal")
    assert not recalled(folder)
    assert not list((tmp_path / "cache" / "logs").glob("*.duckdb"))


def test_the_cache_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESMETRICS_CACHE_DIR", "off")
    monkeypatch.setattr(remembered, "RACY_SECONDS", 0.0)
    folder = copy_log("b_pandas_parquet_ns_utc", tmp_path)
    scored(folder, tmp_path / "out.csv", by="deal")
    assert remembered.cache_folder() is None
    assert not recalled(folder)


def test_a_broken_cache_file_is_ignored_and_removed(cache, tmp_path):
    folder = copy_log("i_duplicates_csv", tmp_path)
    first = scored(folder, tmp_path / "first.csv", by="deal")
    (kept,) = cache.glob("*.duckdb")
    kept.write_bytes(b"not a DuckDB file" * 100)
    again = scored(folder, tmp_path / "again.csv", by="deal")
    pd.testing.assert_frame_equal(first, again)
    assert recalled(folder)  # the second run remembered it anew


def test_a_log_that_fails_a_check_is_not_remembered(cache, tmp_path):
    folder = copy_log("i_duplicates_csv", tmp_path)
    deals = folder / "deals.csv"
    lines = deals.read_text().splitlines()
    deals.write_text("\n".join([*lines, lines[1]]) + "\n")  # a deal_id twice, with other values: an error
    header = lines[0].split(",")
    other = lines[1].split(",")
    other[header.index("owner")] = "someone else"
    deals.write_text("\n".join([*lines, ",".join(other)]) + "\n")
    time.sleep(0.02)
    with pytest.raises(Exception, match="deal_id"):
        scored(folder, tmp_path / "out.csv", by="deal")
    assert not list(cache.glob("*.duckdb"))


def test_only_the_most_recent_logs_are_kept(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(remembered, "KEEP", 2)
    for name in ("b_pandas_parquet_ns_utc", "e_duckdb_parquet", "g_duckdb_csv"):
        scored(copy_log(name, tmp_path), tmp_path / f"{name}.csv", by="deal")
    assert len(list(cache.glob("*.duckdb"))) == 2


def test_validate_remembers_for_the_next_score(cache, tmp_path):
    """The usual order, validate then score: the score skips what validate proved, with the same numbers."""
    from salesmetrics.log.quick_check import validate

    folder = copy_log("i_duplicates_parquet", tmp_path)
    summary, _ = validate(folder)
    assert summary is not None and recalled(folder)
    remembered_scores = scored(folder, tmp_path / "again.csv", by="deal")
    os.environ["SALESMETRICS_CACHE_DIR"] = "off"
    try:
        plain = scored(folder, tmp_path / "plain.csv", by="deal")
    finally:
        os.environ["SALESMETRICS_CACHE_DIR"] = str(cache.parent)
    pd.testing.assert_frame_equal(remembered_scores, plain)


def validated_in_full(folder: Path):
    """``validate``'s answer with the cache off: every file read and checked."""
    from salesmetrics.log.quick_check import validate

    before = os.environ["SALESMETRICS_CACHE_DIR"]
    os.environ["SALESMETRICS_CACHE_DIR"] = "off"
    try:
        return validate(folder)
    finally:
        os.environ["SALESMETRICS_CACHE_DIR"] = before


@pytest.mark.parametrize(
    "name", ["i_duplicates_csv", "i_duplicates_parquet", "f_pandas_csv_offsets", "j_no_activities"]
)
def test_validating_unchanged_files_again_gives_the_same_answer_without_reading_them(
    cache, tmp_path, monkeypatch, name
):
    """The second ``validate`` of the same files answers from memory: the summary and every problem (warnings
    with their rows) equal to a validation in full, and no table file is read."""
    from salesmetrics.log import quick_check

    folder = copy_log(name, tmp_path)
    first = quick_check.validate(folder)
    assert first[0] is not None
    monkeypatch.setattr(quick_check, "load", lambda *a, **k: pytest.fail("the files were read again"))
    again = quick_check.validate(folder)
    assert again == first
    assert [str(p) for p in again[1]] == [str(p) for p in first[1]]
    monkeypatch.undo()
    os.environ["SALESMETRICS_CACHE_DIR"] = str(cache.parent)
    assert validated_in_full(folder) == again


def test_validate_answers_changed_files_and_configuration_anew(cache, tmp_path):
    """A repeated row added to a file, then a changed configuration: each time the answer is made again."""
    from salesmetrics.log.quick_check import validate

    folder = copy_log("i_duplicates_csv", tmp_path)
    _, problems = validate(folder)
    changes = folder / "stage_changes.csv"
    lines = changes.read_text().splitlines()
    changes.write_text("\n".join([*lines, lines[1]]) + "\n")  # one more exact repeat
    time.sleep(0.02)
    summary2, problems2 = validate(folder)

    def repeats(found) -> int:
        return sum(p.count for p in found if p.code == "duplicate_rows" and p.file == "stage_changes.csv")

    assert repeats(problems2) == repeats(problems) + 1
    assert (summary2, problems2) == validated_in_full(folder)
    config = folder / "salesmetrics.yaml"
    config.write_text(config.read_text().replace("name: foreign", "name: renamed"))
    time.sleep(0.02)
    summary3, _ = validate(folder)
    assert summary2.name == "foreign" and summary3.name == "renamed"


def test_a_broken_remembered_answer_is_ignored(cache, tmp_path):
    from salesmetrics.log.quick_check import validate

    folder = copy_log("i_duplicates_csv", tmp_path)
    first = validate(folder)
    (kept,) = cache.glob("*.duckdb")
    kept.write_bytes(b"not a DuckDB file" * 100)
    assert validate(folder) == first
