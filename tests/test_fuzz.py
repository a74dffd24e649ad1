"""Every input gets a clear answer: exit 0, 1 or 2 with a located message, never a traceback or a hang.

Two parts: the corpus of hostile logs in ``tests/fixtures/hostile/`` (one folder per case, made by
``tests/fixtures/make_hostile_corpus.py``) run through ``salesmetrics validate`` and ``salesmetrics score``;
and hypothesis suites that write generated logs (CSV text, Parquet columns, salesmetrics.yaml) and run both
commands in-process through :func:`salesmetrics.cli.main` within a time bound.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesmetrics.cli.main import main
from salesmetrics.log import check_log

CORPUS = Path(__file__).parent / "fixtures" / "hostile"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
TIME_LIMIT = 20  # seconds for one command on a tiny log: far above the usual 0.1 s, far below a hang
LOCATED = re.compile(r"^\d+\. \[(error|warning)\] [^:\s][^:]*:", re.MULTILINE)

CONFIG = "stages: [Lead, Qualified, Proposal]\nwon: [Won]\nlost: [Lost]\ntimezone: UTC\n"
DEALS = "deal_id,owner,created_at,amount\nD1,ann,2024-01-02,1000\nD2,bob,2024-01-05,2500\n"
CHANGES = "deal_id,changed_at,stage\nD1,2024-01-02,Lead\nD1,2024-01-10,Qualified\nD2,2024-01-05,Lead\n"
ACTIVITIES = "deal_id,occurred_at,kind\nD1,2024-01-03,call\n"


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Fail (TimeoutError) instead of hanging: a FIFO read or a quadratic loop is interrupted by SIGALRM."""

    def expire(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` in-process: (exit code, stdout, stderr); a usage error from argparse is exit code 2."""
    out, err = io.StringIO(), io.StringIO()
    with _time_limit(TIME_LIMIT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def assert_clear_answer(folder: Path, out_dir: Path, by: str = "deal") -> tuple[int, int]:
    """Run validate and score (``--by by``) on ``folder``; both answer 0, 1 or 2, locate their problems and agree."""
    started = time.perf_counter()
    v_code, v_out, v_err = run_cli(["validate", str(folder)])
    score = ["score", str(folder), "--by", by, "--out", str(out_dir / "scores.csv"), "--quiet"]
    s_code, s_out, s_err = run_cli(score)
    assert time.perf_counter() - started < TIME_LIMIT
    for code, out, err in ((v_code, v_out, v_err), (s_code, s_out, s_err)):
        assert code in (0, 1, 2), (code, out, err)
        assert "Traceback" not in out + err, err
        if code == 1:  # every listed problem says where it is: "1. [error] deals.csv, row 3, ...:"
            listed = re.findall(r"^\d+\. \[(?:error|warning)\]", out + err, re.MULTILINE)
            assert listed and len(LOCATED.findall(out + err)) == len(listed), out + err
        if code == 2:
            assert "error:" in err
    # score validates the log before it scores it: it refuses exactly the logs validate refuses
    assert (v_code == 0) == (s_code == 0), (v_out + v_err, s_out + s_err)
    if s_code == 0:
        assert (out_dir / "scores.csv").is_file()
        (out_dir / "scores.csv").unlink()
    return v_code, s_code


def _matches(problem, expect: dict) -> bool:
    for key in ("code", "severity", "file", "column"):
        if key in expect and getattr(problem, key) != expect[key]:
            return False
    if "rows" in expect and list(problem.rows) != expect["rows"]:
        return False
    return "text" not in expect or expect["text"] in str(problem)


@pytest.mark.parametrize("case", CASES)
def test_hostile_corpus_gets_the_expected_answer_from_validate_and_score(case, tmp_path):
    expected = yaml.safe_load((CORPUS / case / "EXPECT.yaml").read_text())
    for by in ("deal", "owner"):  # the per-deal fast path, and the group path with its own DuckDB counts
        v_code, s_code = assert_clear_answer(CORPUS / case, tmp_path, by)
        assert v_code == s_code == expected["exit"], by
    _, problems = check_log(CORPUS / case)
    for expect in expected["problems"]:
        assert any(_matches(p, expect) for p in problems), (
            f"{case}: no problem matching {expect}:\n{problems.numbered()}"
        )
    for problem in problems:
        assert problem.file, f"{case}: {problem} names no file"
        assert all(len(v) < 200 for v in problem.values), f"{case}: a value is echoed whole"


def test_corpus_readme_lists_every_case():
    readme = (CORPUS / "README.md").read_text()
    assert all(f"`{case}`" in readme for case in CASES)


# ---- fuzzing ---------------------------------------------------------------------------------------------------

FUZZ = settings(  # SALESMETRICS_FUZZ_EXAMPLES=500 for a longer hunt; found cases go to the corpus
    max_examples=int(os.environ.get("SALESMETRICS_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# cells that have broken readers before: dates pandas reads as the clock, huge years, infinities, quotes
NASTY = st.sampled_from(
    [
        "now",
        "today",
        "0001-01-01",
        "-0001-01-01",
        "9999-12-31 23:59",
        "36812-01-01",
        "1e309",
        "inf",
        "-Infinity",
        "NaN",
        "",
        " ",
        '"',
        '""',
        ",",
        ";",
        "\t",
        "\n",
        "\r",
        "03/04/2025",
        "13/13/2025",
        "2024-02-30",
        "2024-03-31T25:00",
        "2024-10-27 02:30",
        "1.234,50",
        "$1,200",
        "=1+2",
        "\x00",
        "\ufeff",
        "é",
        "yes",
        "Won",
        "Lost",
        "D1",
        "99999",
        "-5",
    ]
)
CELL = st.one_of(NASTY, st.text(max_size=12), st.from_regex(r"\d{1,6}[-/.]\d{1,2}[-/.]\d{1,5}", fullmatch=True))


def _write(folder: Path, files: dict[str, str | bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))


def _csv(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@st.composite
def csv_tables(draw, header: list[str], base: str):
    """A table from ``base`` with some cells replaced by nasty ones, or extra rows, in a random dialect."""
    lines = [line.split(",") for line in base.strip().split("\n")[1:]]
    for _ in range(draw(st.integers(0, 3))):
        lines.append([draw(CELL) for _ in header])
    for _ in range(draw(st.integers(0, 4))):
        row = draw(st.integers(0, len(lines) - 1))
        column = draw(st.integers(0, len(header) - 1))
        lines[row][column] = draw(CELL)
    names = list(header)
    if draw(st.booleans()):
        names[draw(st.integers(0, len(names) - 1))] = draw(st.sampled_from([*header, "", " owner", "x" * 50]))
    return _csv(names, lines, draw(st.sampled_from([",", ";", "\t", "|"])))


@given(
    deals=csv_tables(["deal_id", "owner", "created_at", "amount"], DEALS),
    changes=csv_tables(["deal_id", "changed_at", "stage"], CHANGES),
    activities=csv_tables(["deal_id", "occurred_at", "kind"], ACTIVITIES),
    junk=st.one_of(st.none(), st.binary(max_size=64)),
    by=st.sampled_from(["deal", "owner", "team"]),
)
@FUZZ
def test_fuzzed_csv_logs_get_a_clear_answer(deals, changes, activities, junk, by):
    root = Path(tempfile.mkdtemp())
    try:
        files = {"salesmetrics.yaml": CONFIG, "deals.csv": deals, "stage_changes.csv": changes}
        files["activities.csv"] = activities if junk is None else activities.encode() + junk
        _write(root / "log", files)
        assert_clear_answer(root / "log", root, by)
    finally:
        shutil.rmtree(root)


YAML_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8), NASTY),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=12,
)


@given(
    config=st.dictionaries(
        st.sampled_from(["stages", "won", "lost", "commit_stage", "timezone", "history", "date_order", "notes", "x"]),
        YAML_VALUE,
        max_size=6,
    ),
    raw=st.one_of(st.none(), st.text(max_size=60)),
)
@FUZZ
def test_fuzzed_configs_get_a_clear_answer(config, raw):
    root = Path(tempfile.mkdtemp())
    try:
        text = raw if raw is not None else yaml.safe_dump(config, allow_unicode=True)
        _write(root / "log", {"salesmetrics.yaml": text, "deals.csv": DEALS, "stage_changes.csv": CHANGES})
        assert_clear_answer(root / "log", root)
    finally:
        shutil.rmtree(root)


@given(
    amounts=st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=2, max_size=2),
    years=st.lists(st.integers(-5000, 300_000), min_size=2, max_size=2),
    owners=st.lists(st.one_of(st.none(), st.sampled_from(["", " ", "\u3000", "ann", "\x85"])), min_size=2, max_size=2),
    kinds=st.lists(st.one_of(st.none(), st.sampled_from(["", "\t", "call"])), min_size=1, max_size=1),
    stages=st.lists(st.sampled_from(["Lead", "Qualified", "Won", "", " Lead", "yes", "True"]), min_size=3, max_size=3),
    by=st.sampled_from(["deal", "owner"]),
)
@FUZZ
def test_fuzzed_parquet_logs_get_the_same_answer_from_validate_and_score(amounts, years, owners, kinds, stages, by):
    """Score's DuckDB path on a Parquet log must refuse exactly what validation refuses."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    def times(year_list):
        micros = [
            int((np.datetime64(f"{y:+07d}-01-02", "us") - np.datetime64(0, "us")).astype("int64")) for y in year_list
        ]
        return pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC"))

    root = Path(tempfile.mkdtemp())
    try:
        folder = root / "log"
        _write(folder, {"salesmetrics.yaml": CONFIG})
        deals = pa.table(
            {
                "deal_id": ["D1", "D2"],
                "owner": owners,
                "created_at": times(years),
                "amount": pa.array(amounts, pa.float64()),
            }
        )
        changes = pa.table({"deal_id": ["D1", "D1", "D2"], "changed_at": times([2024, 2024, 2024]), "stage": stages})
        activities = pa.table({"deal_id": ["D1"], "occurred_at": times([2024]), "kind": kinds})
        for name, table in (("deals", deals), ("stage_changes", changes), ("activities", activities)):
            pq.write_table(table, folder / f"{name}.parquet")
        assert_clear_answer(folder, root, by)
    finally:
        shutil.rmtree(root)


@given(
    deals=csv_tables(["deal_id", "owner", "created_at", "amount"], DEALS),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
    head=st.one_of(st.none(), st.binary(max_size=16)),
    cut=st.one_of(st.none(), st.integers(0, 200)),
    by=st.sampled_from(["deal", "owner"]),
)
@FUZZ
def test_fuzzed_bytes_and_encodings_get_a_clear_answer(deals, encoding, head, cut, by):
    """The deals file in another encoding, with bytes before it, or cut anywhere (a partial download)."""
    root = Path(tempfile.mkdtemp())
    try:
        data = deals.encode(encoding, errors="replace")
        data = (head or b"") + (data if cut is None else data[:cut])
        _write(root / "log", {"salesmetrics.yaml": CONFIG, "deals.csv": data, "stage_changes.csv": CHANGES})
        assert_clear_answer(root / "log", root, by)
    finally:
        shutil.rmtree(root)


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("parquet_")])
def test_score_s_fast_path_takes_exactly_the_parquet_logs_validation_accepts(case, tmp_path):
    from salesmetrics.log.config import load_config
    from salesmetrics.metrics._engine import deal_scores_to_file

    model, _ = load_config(CORPUS / case)
    taken = deal_scores_to_file(CORPUS / case, model, None, tmp_path / "scores.csv", "csv") is not None
    log, _ = check_log(CORPUS / case)
    assert taken == (log is not None)
