"""``salesmetrics score``'s DuckDB engine against the pandas oracle, on logs other tools wrote (issue 16).

The oracle is ``score(read_log(folder), ...)`` written as the command line writes it (``write_scores``); the
engine is :func:`salesmetrics.metrics.scoring.write_scores_fast`. Whenever the engine takes a log (returns True),
its file must hold the oracle's columns, rows and values. The corpus is ``tests/fixtures/foreign`` (made by its
``make_foreign_corpus.py``): one small log written by pandas, pyarrow, DuckDB, a spreadsheet and salesmetrics.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from builders import FOREIGN_FORMS, foreign_logs, with_copies, write_foreign_log
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.log.config import load_config
from salesmetrics.metrics.scoring import as_of_microseconds, score, write_scores, write_scores_fast

CORPUS = Path(__file__).resolve().parent / "fixtures" / "foreign"
FOLDERS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())

# Corpus folders the engine steps aside on (none: a failure here is a regression).
TODAY_DECLINES: set[str] = set()
# Folders and FOREIGN_FORMS where the engine gives other numbers than the oracle (none; DuckDB's short '+00'
# offsets were read as wall-clock times until session 8).
TODAY_DIFFERS: set[str] = set()
# Folders validation cannot read (none; mixed '+01' and '+02' offsets raised a ValueError until session 8).
TODAY_INVALID: set[str] = set()
# The engine must take every folder but the spreadsheet's (its naive times and semicolons may go to pandas).
EXPECT_TAKEN = set(FOLDERS) - {"h_spreadsheet_csv"}

AS_OFS = (None, "2024-03-15", "2023-12-31", "2024-03-31")  # latest event, inside, before every event, DST day
GROUPINGS = (("deal", "M"), *((by, period) for by in ("owner", "team") for period in ("W", "M", "Q")))
# Every folder is scored in these cases on every run; the rest of the product of GROUPINGS and AS_OFS is `slow`.
QUICK = {
    ("deal", "M", None),
    ("deal", "M", "2024-03-15"),
    ("deal", "M", "2024-03-31"),
    ("owner", "W", None),
    ("team", "M", "2024-03-31"),
    ("owner", "Q", "2023-12-31"),
}
TABLE_NAMES = ("deals", "stage_changes", "activities", "close_date_changes")


class EngineSteppedAside(Exception):
    """write_scores_fast returned False on a log the engine must take: the only failure TODAY_DECLINES excuses
    (a wrong number is never excused by it)."""


def marks(name: str, slow: bool = False, engine: bool = True, oracle: bool = True) -> list:
    """The xfail marks of a test on a corpus folder or foreign form (see the sets above) that runs the ``engine``,
    the ``oracle`` (validation and pandas scores) or both, and ``slow`` if asked."""
    found = [pytest.mark.slow] if slow else []
    if oracle and name in TODAY_INVALID:
        found.append(pytest.mark.xfail(reason="validation cannot read it today", raises=ValueError, strict=True))
    elif engine and oracle and name in TODAY_DIFFERS:
        found.append(pytest.mark.xfail(reason="engine differs from the oracle: reported", raises=AssertionError))
    if engine and name in TODAY_DECLINES:
        found.append(pytest.mark.xfail(reason="engine: issue 16", raises=EngineSteppedAside, strict=False))
    return found


def _cases():
    for folder in FOLDERS:
        for by, period in GROUPINGS:
            for as_of in AS_OFS:
                slow = (by, period, as_of) not in QUICK
                yield pytest.param(
                    folder, by, period, as_of, marks=marks(folder, slow), id=f"{folder}-{by}{period}-{as_of}"
                )


@functools.cache
def read(folder: str) -> sm.SalesLog:
    """The corpus folder's log as validation reads it (once per folder: scoring does not change it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.read_log(CORPUS / folder)


def oracle_file(log: sm.SalesLog, by: str, period: str, as_of, out: Path) -> Path:
    """What ``salesmetrics score`` writes through the pandas path."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.DataNote)
        result = score(log, by=by, period=period, as_of=as_of)
    write_scores(result, out, out.suffix[1:])
    return out


def engine_file(folder: Path, by: str, period: str, as_of, out: Path) -> bool:
    """Score through the DuckDB engine as the command line calls it; whether it took the log."""
    model, _ = load_config(folder)
    as_of_us = None if as_of is None else as_of_microseconds(as_of, model.timezone)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.DataNote)
        return write_scores_fast(
            folder, model, by=by, period=period, as_of=as_of, as_of_us=as_of_us, out=out, fmt=out.suffix[1:]
        )


def assert_same_scores(engine: Path, oracle: Path) -> None:
    """Two score files hold the same columns (names and types), rows in the same order, and values (floats to
    1e-9, missing values in the same places)."""
    if engine.suffix == ".parquet":
        # names, types and nullability: DuckDB wrote required columns where pandas' are optional until session 10
        engine_fields, oracle_fields = pq.read_schema(engine), pq.read_schema(oracle)
        assert [(f.name, f.type, f.nullable) for f in engine_fields] == [
            (f.name, f.type, f.nullable) for f in oracle_fields
        ]
        got, expected = pd.read_parquet(engine), pd.read_parquet(oracle)
    else:
        assert engine.read_text().splitlines()[:1] == oracle.read_text().splitlines()[:1]  # the header
        got, expected = pd.read_csv(engine), pd.read_csv(oracle)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)


def check_engine(folder: Path, read_log, by: str, period: str, as_of, tmp: Path, fmt: str = "parquet") -> bool:
    """The engine's file equals the oracle's when the engine takes the log; returns whether it did. ``read_log()``
    gives the oracle's log."""
    engine, oracle = tmp / f"engine.{fmt}", tmp / f"oracle.{fmt}"
    oracle_file(read_log(), by, period, as_of, oracle)
    taken = engine_file(folder, by, period, as_of, engine)
    if taken:
        assert_same_scores(engine, oracle)
    else:
        assert not engine.exists(), "the engine stepped aside but left a file"
    return taken


def check_corpus_folder(folder: str, by: str, period: str, as_of, tmp: Path, fmt: str = "parquet") -> None:
    """:func:`check_engine` on a corpus folder; it must be taken when it is in EXPECT_TAKEN."""
    taken = check_engine(CORPUS / folder, lambda: read(folder), by, period, as_of, tmp, fmt)
    if not taken and folder in EXPECT_TAKEN:
        raise EngineSteppedAside(f"{folder}: the engine stepped aside ({by}, {period}, as_of {as_of})")


# ------------------------------------------------------------------------------------------- the corpus


@pytest.mark.parametrize("folder", [pytest.param(f, marks=marks(f, engine=False)) for f in FOLDERS])
def test_corpus_folder_is_a_valid_log_of_the_same_deals(folder):
    log = read(folder)
    assert not any(p.severity == "error" for p in log.problems)
    assert sorted(log.deals["deal_id"]) == [f"D{i:02d}" for i in range(1, 31)]  # exact duplicates dropped
    assert len(log.stage_changes) == 110
    assert len(log.activities) == (0 if folder[0] in "jk" else 91)
    assert len(log.close_date_changes) == (0 if folder == "l_no_close_date_changes" else 45)


SAME_INSTANTS = [f for f in FOLDERS if f[0] in "bcdefghijkl"]  # m has its own zone, n its milliseconds


@pytest.mark.parametrize("folder", [pytest.param(f, marks=marks(f, engine=False)) for f in SAME_INSTANTS])
def test_corpus_forms_hold_the_same_events(folder):
    """Every form holds the instants and values salesmetrics.write_log wrote (a): the corpus is one log."""
    reference, log = read("a_write_log_parquet"), read(folder)
    for name in ("stage_changes", "activities", "close_date_changes"):
        theirs = getattr(log, name).reset_index(drop=True)
        if len(theirs):
            pd.testing.assert_frame_equal(theirs, getattr(reference, name), check_dtype=False)
    deals = log.deals.set_index("deal_id").loc[reference.deals["deal_id"]].reset_index()
    pd.testing.assert_frame_equal(deals, reference.deals, check_dtype=False)


def test_duplicate_rows_change_nothing_but_a_deals_place():
    plain, doubled = read("b_pandas_parquet_ns_utc"), read("i_duplicates_parquet")
    for name in ("stage_changes", "activities", "close_date_changes"):
        pd.testing.assert_frame_equal(getattr(doubled, name).reset_index(drop=True), getattr(plain, name))
    # D06's copy came third in the file: the first copy is kept, so D06 is the third deal
    assert list(doubled.deals["deal_id"][:4]) == ["D01", "D02", "D06", "D03"]


# ------------------------------------------------------------------------------------------- engine = oracle


@pytest.mark.parametrize("folder, by, period, as_of", list(_cases()))
def test_engine_equals_oracle(folder, by, period, as_of, tmp_path):
    check_corpus_folder(folder, by, period, as_of, tmp_path)


@pytest.mark.parametrize("folder", [pytest.param(f, marks=marks(f)) for f in FOLDERS])
def test_engine_equals_oracle_in_csv(folder, tmp_path):
    check_corpus_folder(folder, "deal", "M", None, tmp_path, fmt="csv")


# ------------------------------------------------------------------------------------------- random logs


@pytest.mark.parametrize("form", [pytest.param(f, marks=marks(f)) for f in FOREIGN_FORMS])
@settings(
    max_examples=10,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # no shrinking: an xfailed form would shrink on every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    log=foreign_logs(),
    copies=st.fixed_dictionaries({name: st.lists(st.integers(0, 30), max_size=3) for name in TABLE_NAMES}),
    period=st.sampled_from(["W", "M", "Q"]),
)
def test_engine_equals_oracle_on_random_foreign_logs(form, log, copies, period, tmp_path):
    """Random small logs written as another tool would, with random exact duplicate rows: by deal and by owner,
    the engine's file equals the oracle's whenever the engine takes the log."""
    model, tables = log
    tmp = Path(tempfile.mkdtemp(dir=tmp_path))
    doubled = {name: with_copies(frame, copies[name]) for name, frame in tables.items()}
    folder = write_foreign_log(tmp / "log", model, doubled, form)
    read_once = functools.cache(lambda: sm.read_log(folder))
    check_engine(folder, read_once, "deal", "M", None, tmp)
    check_engine(folder, read_once, "owner", period, None, tmp)


# ------------------------------------------------------------------------------------------- hand-checked


def deal_row(folder: str, as_of: str, tmp: Path, engine: bool) -> dict:
    """Deal D02's scores as of ``as_of``, from the engine's file or the oracle's."""
    out = tmp / ("engine.parquet" if engine else "oracle.parquet")
    if engine:
        if not engine_file(CORPUS / folder, "deal", "M", as_of, out):
            raise EngineSteppedAside(f"{folder}: the engine stepped aside")
    else:
        oracle_file(read(folder), "deal", "M", as_of, out)
    scores = pd.read_parquet(out)
    return scores[scores["deal_id"] == "D02"].iloc[0].to_dict()


@pytest.mark.parametrize("folder", [pytest.param(f, marks=marks(f, oracle=False)) for f in FOLDERS])
def test_a_tie_in_time_keeps_file_order_in_every_form(folder, tmp_path):
    """D02 (ann) entered Lead and Qualified at the same instant, 2024-02-24 08:08 (in that order in the file),
    and had four activities by 15 March (none in the folders without activities): one add, one advance, no win,
    open."""
    row = deal_row(folder, "2024-03-15", tmp_path, engine=True)
    motions = 0 if folder[0] in "jk" else 4
    assert (row["current_stage"], row["is_open"], row["adds"], row["advances"]) == ("Qualified", True, 1, 1)
    assert (row["wins"], row["movements"], row["motions"], row["motion_per_movement"]) == (0, 2, motions, motions / 2)


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "oracle"])
def test_a_win_after_midnight_counts_from_that_day(engine, tmp_path):
    """D02 was won at 00:30 on 1 April (Berlin, summer time): it counts as of 1 April."""
    row = deal_row("a_write_log_parquet", "2024-04-01", tmp_path, engine)
    assert (row["current_stage"], row["wins"], row["movements"]) == ("Won", 1, 3)


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "oracle"])
def test_as_of_a_date_ends_with_that_local_day_on_the_day_clocks_change(engine, tmp_path):
    """31 March 2024 has 23 hours in Berlin: as of that date, D02's win at 00:30 on 1 April has not happened."""
    row = deal_row("a_write_log_parquet", "2024-03-31", tmp_path, engine)
    assert (row["current_stage"], row["wins"], row["movements"]) == ("Qualified", 0, 2)


@pytest.mark.parametrize("by", ["deal", "owner"])
def test_as_of_in_the_skipped_hour_gets_the_same_answer_from_both_paths(by, tmp_path):
    """02:30 on 31 March does not exist in Berlin: both paths refuse it with a clear message (a UsageError)."""
    from salesmetrics.exceptions import UsageError

    with pytest.raises(UsageError, match="does not exist in Europe/Berlin"):
        check_corpus_folder("b_pandas_parquet_ns_utc", by, "M", "2024-03-31T02:30", tmp_path)
