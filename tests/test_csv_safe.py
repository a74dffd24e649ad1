"""Spreadsheet-safe CSV (salesmetrics._util.csv_safe): one rule for pandas, the csv module and DuckDB, used by every
CSV written for people (score, model predict/backtest/evaluate, trainees.csv). ADR 0031."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics._util.csv_safe import DANGEROUS_STARTS, escape_cell, safe_frame, sql_escape, unescape_cell, write_csv
from salesmetrics.cli.score import run_score

PLAIN_NUMBERS = ["-5", "+5", "-1.5", "-1.5e3", "-.5", "+1E-3", "-0", "5."]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+cmd", "'+cmd"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\n=1", "'\n=1"),
        ("\0=1", "'\0=1"),
        ("-1+2", "'-1+2"),  # a formula, not a number
        ("-5%", "'-5%"),
        ("-1,000", "'-1,000"),
        ("-inf", "'-inf"),
        ("-٥", "'-٥"),  # an Arabic-Indic digit: not a number to a spreadsheet
        ("'=x", "''=x"),  # one more apostrophe, so reading back gives '=x
        ("'quoted", "'quoted"),
        ("Ann", "Ann"),
        ("a=b", "a=b"),
        ("", ""),
        *[(n, n) for n in PLAIN_NUMBERS],  # a plain number stays a number
        (-5, -5),
        (-1.5, -1.5),
        (None, None),
    ],
)
def test_escape_cell_hand_computed(value, expected):
    assert escape_cell(value) == expected
    assert unescape_cell(escape_cell(value)) == value


def _number(cell: str) -> bool:
    """A plain number a spreadsheet reads as such: sign, digits, point, exponent (no inf, nan, _ or spaces)."""
    try:
        float(cell)
    except ValueError:
        return False
    return re.fullmatch(r"[-+0-9.eE]+", cell) is not None


def _dangerous(cell: str) -> bool:
    return cell.startswith(DANGEROUS_STARTS) and not _number(cell)


text = st.text(alphabet=st.sampled_from("=+-@\t\r\n\0'.eE05a ,%"), max_size=8) | st.text(max_size=8)


@settings(max_examples=300, deadline=None)
@given(text)
def test_escape_round_trips_and_is_safe(value):
    escaped = escape_cell(value)
    assert unescape_cell(escaped) == value
    assert escaped == value or escaped == "'" + value
    assert not _dangerous(escaped)


@settings(max_examples=40, deadline=None)
@given(st.lists(text, min_size=1, max_size=20))
def test_sql_escape_is_the_same_rule(values):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    got = [v for (v,) in con.execute(f"SELECT {sql_escape('v')} FROM t ORDER BY i").fetchall()]
    assert got == [escape_cell(v) for v in values]


def test_safe_frame_escapes_text_category_and_index_but_not_numbers():
    frame = pd.DataFrame(
        {
            "owner": ["=cmd", "ann", None],
            "stage": pd.Categorical(["@Commit", "Lead", "@Commit"]),
            "team": pd.array(["-east", "-5", pd.NA], dtype="string"),
            "amount": [-5.0, 1.0, 2.0],
            "n": [-1, 2, 3],
        },
        index=pd.Index(["+x", "y", "z"], name="=id"),
    )
    safe = safe_frame(frame, index=True)
    assert safe["owner"].tolist()[:2] == ["'=cmd", "ann"] and pd.isna(safe["owner"].iloc[2])
    assert safe["stage"].tolist() == ["'@Commit", "Lead", "'@Commit"]
    assert isinstance(safe["stage"].dtype, pd.CategoricalDtype)
    assert safe["team"].tolist()[:2] == ["'-east", "-5"] and safe["team"].dtype == frame["team"].dtype
    assert safe["amount"].tolist() == [-5.0, 1.0, 2.0] and safe["n"].tolist() == [-1, 2, 3]
    assert safe.index.tolist() == ["'+x", "y", "z"] and safe.index.name == "'=id"
    assert frame["owner"].iloc[0] == "=cmd"  # the caller's frame is not changed


def test_write_csv_cells_read_back_as_text_not_formulas(tmp_path):
    frame = pd.DataFrame({"=name": ["=1+1", None, "-5"], "stage": pd.Categorical(["+a", "b", "b"]), "v": [-1.5, 2, 3]})
    path = write_csv(frame, tmp_path / "x.csv")
    assert path.read_text().splitlines() == ["'=name,stage,v", "'=1+1,'+a,-1.5", ",b,2.0", "-5,b,3.0"]


# ------------------------------------------------------------------------------------------------ score

CONFIG = """\
name: hostile
stages: ["=Lead", "+Qual", "-Prop", "@Commit"]
won: [Won]
lost: [Lost]
commit_stage: "@Commit"
timezone: UTC
"""
DEALS = """\
deal_id,owner,created_at,amount,team
=D1,"=HYPERLINK(""http://evil"",""x"")",2024-01-02 09:00,1000,-east
-2,@bob,2024-01-05 10:00,2500,+west
D3,ann,2024-02-01 08:00,,-east
"""
CHANGES = """\
deal_id,changed_at,stage
=D1,2024-01-02 09:00,=Lead
=D1,2024-01-10 10:00,+Qual
=D1,2024-02-01 12:00,Won
-2,2024-01-05 10:00,=Lead
-2,2024-01-25 10:00,-Prop
D3,2024-02-01 08:00,=Lead
"""


@pytest.fixture(scope="module")
def hostile_logs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile") / "csv"
    folder.mkdir()
    (folder / "salesmetrics.yaml").write_text(CONFIG)
    (folder / "deals.csv").write_text(DEALS)
    (folder / "stage_changes.csv").write_text(CHANGES)
    parquet = sm.write_log(sm.read_log(folder), folder.parent / "parquet", format="parquet")
    return {"csv": folder, "parquet": parquet}


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.filterwarnings("ignore::salesmetrics.DataNote")
@pytest.mark.parametrize("log_format", ["csv", "parquet"])  # the pandas path and DuckDB's fast path
@pytest.mark.parametrize("by", ["deal", "owner", "team"])
def test_score_csv_is_spreadsheet_safe_on_every_path(hostile_logs, tmp_path, log_format, by):
    out = run_score(hostile_logs[log_format], by=by, out=tmp_path / "s.csv", progress=False)
    rows = _cells(out)
    assert not [c for row in rows for c in row if _dangerous(c)]
    column = {"deal": "owner", "owner": "owner", "team": "team"}[by]
    values = {r[rows[0].index(column)] for r in rows[1:]}
    expected = {
        "owner": {'\'=HYPERLINK("http://evil","x")', "'@bob", "ann"},
        "team": {"'-east", "'+west"},
    }[column]
    assert values == expected
    if by == "deal":
        assert [r[0] for r in rows[1:]] == ["'=D1", "-2", "D3"]  # "-2" is a plain number: left as is
        assert [r[2] for r in rows[1:]] == ["Won", "'-Prop", "'=Lead"]
        parquet = run_score(hostile_logs[log_format], by=by, out=tmp_path / "s.parquet", progress=False)
        assert pd.read_parquet(parquet)["deal_id"].tolist() == ["=D1", "-2", "D3"]  # Parquet keeps the values


# ------------------------------------------------------------------------------------------------ trainees.csv


def test_trainees_csv_is_safe_and_reads_back(tmp_path):
    from salesmetrics.exercises import seed_for
    from salesmetrics.exercises.notebook import _read_trainees_csv, make_variants

    names = ['=HYPERLINK("http://evil","x")', "-Ann", "'=quoted"]
    make_variants(names, tmp_path, exercises=["1"])
    rows = _cells(tmp_path / "trainees.csv")
    assert rows[0] == ["trainee", "folder", "seed"]
    assert [r[0] for r in rows[1:]] == ["'" + n for n in names]
    assert not [c for row in rows for c in row if _dangerous(c)]
    assert _read_trainees_csv(tmp_path / "trainees.csv") == {
        n: (f, str(seed_for(n))) for n, f in zip(names, ["hyperlink-http-evil-x", "ann", "quoted"], strict=True)
    }
    make_variants(["Bo"], tmp_path, exercises=["1"], add=True)  # read back and written again: no apostrophe added
    assert [r[0] for r in _cells(tmp_path / "trainees.csv")[1:]] == ["'" + n for n in names] + ["Bo"]
