"""The benchmark tools of issue 16: the foreign log generator writes a log salesmetrics accepts, shaped as promised
(nanosecond timestamps, large strings, exact duplicates), and bench_engine.py measures it end to end."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import salesmetrics as sm
from salesmetrics.log.reading import validate_log

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
EVENT_TABLES = ("stage_changes", "activities", "close_date_changes")


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> Path:
    """A tiny foreign log (60 deals, 5,000 activities): the parent of foreign-parquet and foreign-csv."""
    out = tmp_path_factory.mktemp("foreign")
    command = [sys.executable, str(BENCHMARKS / "make_foreign_log.py"), "--deals", "60", "--activities", "5000"]
    subprocess.run([*command, "--seed", "3", "--out", str(out)], check=True, capture_output=True, text=True)
    return out


def test_the_generator_does_not_import_salesmetrics():
    tree = ast.parse((BENCHMARKS / "make_foreign_log.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported and not [name for name in imported if name.split(".")[0] == "salesmetrics"]


@pytest.mark.parametrize("form", ["foreign-parquet", "foreign-csv"])
def test_salesmetrics_reads_the_foreign_log_and_drops_its_repeated_rows(foreign, form):
    log = sm.read_log(foreign / form)
    assert len(log.deals) == 60
    repeats = {p.file.split(".")[0]: p.count for p in log.problems if p.code == "duplicate_rows"}
    assert set(repeats) == set(EVENT_TABLES)  # the generator repeats at least 2 rows of each
    assert all(count >= 2 for count in repeats.values())
    assert not [p for p in log.problems if p.severity == "error"]
    raw = pq.read_table(foreign / "foreign-parquet" / "activities.parquet")
    assert len(log.activities) == raw.num_rows - repeats["activities"]


def test_both_forms_hold_the_same_rows(foreign):
    parquet, csv = sm.read_log(foreign / "foreign-parquet"), sm.read_log(foreign / "foreign-csv")
    for name in ("deals", *EVENT_TABLES):
        assert len(getattr(parquet, name)) == len(getattr(csv, name)), name
    assert parquet.deals["created_at"].equals(csv.deals["created_at"])


def test_the_parquet_files_are_as_pandas_writes_them(foreign):
    folder = foreign / "foreign-parquet"
    deals = pq.read_schema(folder / "deals.parquet")
    assert deals.field("created_at").type == pa.timestamp("ns", tz="UTC")
    assert deals.field("deal_id").type == pa.large_string()
    assert deals.field("owner").type == pa.large_string()
    activities = pq.read_schema(folder / "activities.parquet")
    assert activities.field("occurred_at").type == pa.timestamp("ns", tz="UTC")
    assert activities.field("kind").type == pa.large_string()
    assert pq.read_schema(folder / "close_date_changes.parquet").field("close_date").type == pa.date32()
    for name in EVENT_TABLES:  # exact duplicate rows, as an export has them
        frame = pq.read_table(folder / f"{name}.parquet").to_pandas()
        assert frame.duplicated().sum() >= 2, name


def test_the_csv_timestamps_carry_offsets(foreign):
    folder = foreign / "foreign-csv"
    first_deal = (folder / "deals.csv").read_text(encoding="utf-8").splitlines()[1]
    assert first_deal.split(",")[3].endswith("+00:00")
    first_activity = (folder / "activities.csv").read_text(encoding="utf-8").splitlines()[1]
    assert first_activity.split(",")[1].endswith("Z")


def test_the_same_seed_writes_the_same_log(foreign, tmp_path):
    command = [sys.executable, str(BENCHMARKS / "make_foreign_log.py"), "--deals", "60", "--activities", "5000"]
    subprocess.run([*command, "--seed", "3", "--out", str(tmp_path)], check=True, capture_output=True)
    for name in ("deals", *EVENT_TABLES):
        again = (tmp_path / "foreign-csv" / f"{name}.csv").read_bytes()
        assert again == (foreign / "foreign-csv" / f"{name}.csv").read_bytes(), name


@pytest.mark.slow
def test_bench_engine_prints_its_table_on_the_tiny_log(foreign):
    command = [sys.executable, str(BENCHMARKS / "bench_engine.py"), "--repeat", "1", "--timeout", "120"]
    command += ["--parquet", str(foreign / "foreign-parquet"), "--csv", str(foreign / "foreign-csv")]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    lines = done.stdout.splitlines()
    assert "| case | median s | peak MiB | reference s | ratio | goal | met? |" in lines
    names = [line.split(" | ")[0].lstrip("| ") for line in lines if line.startswith("| score") or "validate" in line]
    assert "score --by deal (parquet)" in names and "score --by owner --period M (csv)" in names
    assert "validate (csv)" in names and "validate, again, log unchanged (csv)" in names
    assert not [line for line in lines if "failed" in line or "DIFFERENT" in line], done.stdout
    assert sum("identical to the reference" in line for line in lines) == 4


@pytest.mark.slow
def test_bench_scale_reports_identical_files_on_the_tiny_log(foreign, tmp_path):
    import json
    import shutil

    shutil.copytree(foreign / "foreign-parquet", tmp_path / "foreign-parquet")  # the script partitions beside it
    command = [sys.executable, str(BENCHMARKS / "bench_scale.py"), "--out", str(tmp_path), "--partitions", "2"]
    done = subprocess.run([*command, "--whole"], check=True, capture_output=True, text=True)
    report = json.loads(done.stdout)
    assert report["identical_files"] is True and report["workers"] == 2
    assert report["same_numbers_as_whole_log"] is True
    one = report["one_part_one_thread"]
    assert (
        one["activities"] == json.loads((tmp_path / "parts-2" / "partitions.json").read_text())["rows"]["activities"][0]
    )
    assert one["activities_per_cpu_s"] > 0 and len(report["cluster"]["worker_peak_rss_mb"]) >= 2


def _benchmark_module(name: str):
    """benchmarks/NAME.py, loaded from its file (the benchmarks folder is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _doc_markers():
    return _benchmark_module("doc_markers")


def _same_checks(folder: Path) -> list[tuple]:
    """The results of bench_engine's same-checks reference of validate on ``folder``: a row per table."""
    import duckdb

    bench = _benchmark_module("bench_engine")
    con = duckdb.connect()
    results = [con.execute(q).fetchall() for q in bench.same_checks_sql(folder, bench.read_model(folder))]
    return [rows[0] for rows in results[len(bench.TABLES) :]]


def test_the_same_checks_reference_counts_what_validate_finds(foreign, tmp_path):
    folder = foreign / "foreign-csv"
    deals, *events = _same_checks(folder)
    _, problems = validate_log(folder)
    repeats = {
        p.file.removesuffix(".csv"): int(p.message.split(" row")[0].replace(",", ""))
        for p in problems
        if p.code == "duplicate_rows"
    }
    assert deals[1:3] == (0, 0) and not [p for p in problems if p.severity == "error"]
    for table, row in zip(("stage_changes", "close_date_changes", "activities"), events, strict=True):
        assert row[1] == repeats.get(table, 0) and row[2:5] == (0, 0, 0), (table, row)
    assert events[2][1] > 0  # the generator repeats some activities
    # the reference does make the checks: an unknown deal, a word outside the vocabulary, an activity before its deal
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in folder.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    with (broken / "activities.csv").open("a", encoding="utf-8") as f:
        f.write("nobody,2023-06-01T00:00:00Z,call,,\n")
        f.write(f"{deals_first_id(folder)},2023-06-01T00:00:00Z,call,maybe,\n")
        f.write(f"{deals_first_id(folder)},2000-01-01T00:00:00Z,call,,\n")
    activities = _same_checks(broken)[3]
    assert activities[2:5] == (1, 1, 1), activities


def deals_first_id(folder: Path) -> str:
    return (folder / "deals.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]


PAGE = """# Page

Prose before.

<!-- models_results: ibm start -->
old IBM table
<!-- models_results: ibm end -->

Prose between.

<!-- models_results: survival start -->
<!-- models_results: survival end -->
Prose after.
"""


def test_blocks_replace_only_what_lies_between_their_markers_and_twice_changes_nothing(tmp_path):
    markers = _doc_markers()
    doc = tmp_path / "page.md"
    doc.write_text(PAGE, encoding="utf-8")
    blocks = {"ibm": "| a | b |\n|---|---|\n| 1 | 2 |\n", "survival": "survival text"}
    markers.write_blocks(blocks, doc)
    once = doc.read_text(encoding="utf-8")
    expected = PAGE.replace("old IBM table", "| a | b |\n|---|---|\n| 1 | 2 |").replace(
        "<!-- models_results: survival start -->\n", "<!-- models_results: survival start -->\nsurvival text\n"
    )
    assert once == expected
    markers.write_blocks(blocks, doc)
    assert doc.read_text(encoding="utf-8") == once
    assert markers.fill_blocks(once, {"ibm": "new"}).count("survival text") == 1  # the other block stays


@pytest.mark.parametrize(
    "page",
    [
        PAGE.replace("<!-- models_results: ibm end -->\n", ""),  # no end marker
        PAGE.replace("<!-- models_results: ibm start -->\n", ""),  # no start marker
        PAGE + "<!-- models_results: ibm start -->\n",  # twice
        PAGE.replace("<!-- models_results: ibm start -->", "@@")
        .replace("<!-- models_results: ibm end -->", "<!-- models_results: ibm start -->")
        .replace("@@", "<!-- models_results: ibm end -->"),  # end before start
    ],
    ids=["no end", "no start", "start twice", "end before start"],
)
def test_a_block_without_its_markers_stops_with_a_message_and_leaves_the_page(tmp_path, page):
    markers = _doc_markers()
    doc = tmp_path / "page.md"
    doc.write_text(page, encoding="utf-8")
    with pytest.raises(SystemExit, match="the block 'ibm' needs its markers once each") as stop:
        markers.write_blocks({"survival": "new survival", "ibm": "new"}, doc)
    assert str(doc) in str(stop.value) and "<!-- models_results: ibm start -->" in str(stop.value)
    assert doc.read_text(encoding="utf-8") == page  # nothing written, not even the valid block
