"""Group scores in DuckDB (``score --by owner|team``, metrics/_engine_groups.py) against the pandas oracle (issue 16).

The oracle is ``score_groups`` of ``tests/oracle_movement.py`` (and its ``deal_period_pieces`` for the
per-deal-and-period pieces), written as the command line writes a frame
(``write_frame``). The engine writes its query's rows itself; both files must be identical: the same CSV bytes, the
same Parquet schema (nullability included) and values, the same warnings.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from pathlib import Path

import numpy as np
import oracle_movement as movement
import pandas as pd
import pyarrow.parquet as pq
import pytest
from builders import FOREIGN_FORMS, PIPELINE_MODEL, foreign_logs, pipeline_frames, waterfall_logs, write_foreign_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.cli.main import main
from salesmetrics.log.config import load_config
from salesmetrics.log.sql import connect
from salesmetrics.metrics import _engine, _engine_groups
from salesmetrics.metrics._engine import write_frame
from salesmetrics.metrics.scoring import as_of_microseconds, score, write_scores_fast

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
CORPUS = ROOT / "tests" / "fixtures" / "foreign"
FOLDERS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
AS_OFS = (None, "2024-03-15", "2023-12-31", "2024-03-31T12:00")  # latest event, inside, before every event, DST day
DEMO_AS_OFS = (None, "2024-03-15", "2023-06-30", "2024-06-30T12:00")
GROUPINGS = [(by, period) for by in ("owner", "team") for period in ("W", "M", "Q")]
# on every run; the rest of the corpus product is `slow` (test_engine_oracle.py runs it too, to 1e-9)
QUICK = {("owner", "W", None), ("team", "M", "2024-03-31T12:00"), ("owner", "Q", "2023-12-31"), ("team", "W", None)}


@functools.cache
def read(folder: Path) -> sm.SalesLog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.read_log(folder)


def oracle(log: sm.SalesLog, by: str, period: str, as_of, tmp: Path) -> tuple[dict[str, Path], list]:
    """The pandas path's files (CSV and Parquet) and its warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = movement.score_groups(log, by=by, period=period, as_of=as_of)
    files = {}
    for fmt in ("csv", "parquet"):
        files[fmt] = tmp / f"oracle.{fmt}"
        write_frame(result, files[fmt], fmt)
    return files, [(w.category, str(w.message)) for w in caught]


def engine(folder: Path, by: str, period: str, as_of, tmp: Path, must_take: bool = True):
    """The engine's files (as the command line calls it) and its warnings; None when the engine steps aside (a
    failure when it ``must_take`` the log)."""
    model, _ = load_config(folder)
    as_of_us = None if as_of is None else as_of_microseconds(as_of, model.timezone)
    files, caught = {}, []
    for fmt in ("csv", "parquet"):
        files[fmt] = tmp / f"engine.{fmt}"
        with warnings.catch_warnings(record=True) as these:
            warnings.simplefilter("always")
            taken = write_scores_fast(
                folder, model, by=by, period=period, as_of=as_of, as_of_us=as_of_us, out=files[fmt], fmt=fmt
            )
        if not taken:
            assert not must_take, f"the engine stepped aside on {folder.name}"
            assert not files[fmt].exists()
            return None
        caught = [(w.category, str(w.message)) for w in these]
    return files, caught


def assert_identical(got: dict[str, Path], expected: dict[str, Path]) -> None:
    assert got["csv"].read_bytes() == expected["csv"].read_bytes()
    assert pq.read_schema(got["parquet"]).equals(pq.read_schema(expected["parquet"]))  # nullability too
    assert pq.read_table(got["parquet"]).equals(pq.read_table(expected["parquet"]))


def check(folder: Path, log: sm.SalesLog, by: str, period: str, as_of, tmp: Path, must_take: bool = True):
    """Engine = oracle on a log folder (files and warnings); returns the scores (None: the engine stepped aside)."""
    expected, expected_warnings = oracle(log, by, period, as_of, tmp)
    taken = engine(folder, by, period, as_of, tmp, must_take)
    if taken is None:
        return None
    got, got_warnings = taken
    assert_identical(got, expected)
    assert got_warnings == expected_warnings
    return pd.read_parquet(got["parquet"])


# ------------------------------------------------------------------------------------ pieces, deal by deal


def engine_pieces(folder: Path, period: str, as_of_us: int) -> pd.DataFrame:
    """:func:`_engine_groups.pieces_sql` over a log folder's core."""
    model, _ = load_config(folder)
    con = connect()
    as_of_us, valid, fix_duplicates, _ = _engine._load_and_check(con, folder, model, as_of_us, period)
    assert valid()
    fix_duplicates()
    offsets, last = _engine_groups._periods(con, model, as_of_us, period)
    pieces = con.sql(_engine_groups.pieces_sql(model, as_of_us, period, offsets, last)).to_arrow_table().to_pandas()
    return pieces.drop(columns="code").astype({"deal_id": "str"})


@pytest.mark.parametrize("period", ["W", "M", "Q"])
@pytest.mark.parametrize("as_of", DEMO_AS_OFS)
def test_pieces_equal_pandas_on_demo(period, as_of):
    log = read(DEMO)
    stamp = movement.resolve_as_of(log, as_of)
    expected = movement.deal_period_pieces(log, stamp, period)
    got = engine_pieces(DEMO, period, stamp.value // 1000)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=True)


@pytest.mark.parametrize("folder", FOLDERS)
def test_pieces_equal_pandas_on_the_corpus(folder):
    log = read(CORPUS / folder)
    for period in ("W", "Q"):
        stamp = movement.resolve_as_of(log, "2024-03-31T12:00")
        expected = movement.deal_period_pieces(log, stamp, period)
        got = engine_pieces(CORPUS / folder, period, stamp.value // 1000)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=True)


# ------------------------------------------------------------------------------------ group files


@pytest.mark.parametrize("by, period", GROUPINGS)
@pytest.mark.parametrize("as_of", DEMO_AS_OFS)
def test_demo_files_are_identical(by, period, as_of, tmp_path):
    scores = check(DEMO, read(DEMO), by, period, as_of, tmp_path)
    assert (len(scores) > 0) == (as_of != "2023-06-30")  # the demo starts in 2024


def _corpus_cases():
    for folder in FOLDERS:
        for by, period in GROUPINGS:
            for as_of in AS_OFS:
                marks = [] if (by, period, as_of) in QUICK else [pytest.mark.slow]
                yield pytest.param(folder, by, period, as_of, marks=marks, id=f"{folder}-{by}{period}-{as_of}")


@pytest.mark.parametrize("folder, by, period, as_of", list(_corpus_cases()))
def test_corpus_files_are_identical(folder, by, period, as_of, tmp_path):
    """Every form of the corpus (naive local times in Berlin across its clock change, duplicates, no activities,
    no close-date changes, one owner...)."""
    check(CORPUS / folder, read(CORPUS / folder), by, period, as_of, tmp_path)


def test_the_corpus_covers_the_special_logs():
    assert len(read(CORPUS / "l_no_close_date_changes").close_date_changes) == 0
    assert len(read(CORPUS / "j_no_activities").activities) == 0
    assert read(CORPUS / "m_one_owner_outbound").deals["owner"].nunique() == 1


@pytest.fixture(scope="module")
def demo_parquet(tmp_path_factory):
    return sm.write_log(read(DEMO), tmp_path_factory.mktemp("pq") / "demo", format="parquet")


def _rewritten(source: Path, folder: Path, change) -> Path:
    """A copy of a Parquet log folder with ``change(name, frame)`` applied to each table (None drops it)."""
    folder.mkdir()
    for path in source.iterdir():
        if path.suffix != ".parquet":
            (folder / path.name).write_bytes(path.read_bytes())
            continue
        frame = change(path.stem, pd.read_parquet(path))
        if frame is not None:
            frame.to_parquet(folder / path.name, index=False)
    return folder


@pytest.mark.parametrize(
    "case",
    ["one_owner", "no_activities", "no_close_dates", "duplicate_activities", "no_amounts", "missing_teams"],
)
def test_special_logs_from_the_demo(case, demo_parquet, tmp_path):
    def change(name, frame):
        if case == "one_owner" and name == "deals":
            return frame.assign(owner="ann")
        if case == "no_activities" and name == "activities":
            return None
        if case == "no_close_dates" and name == "close_date_changes":
            return None
        if case == "duplicate_activities" and name == "activities":
            return pd.concat([frame, frame.iloc[[0, 5, 5, 100, 2000]]])
        if case == "no_amounts" and name == "deals":
            return frame.drop(columns="amount")
        if case == "missing_teams" and name == "deals":  # a group of its own, the last one
            return frame.assign(team=frame["team"].where(frame.index % 5 != 1))
        return frame

    folder = _rewritten(demo_parquet, tmp_path / case, change)
    log = read(folder)
    for by, period, as_of in (("owner", "M", None), ("team", "W", "2024-03-15"), ("owner", "Q", "2023-06-30")):
        check(folder, log, by, period, as_of, tmp_path)


def test_no_team_is_the_same_usage_error(demo_parquet, tmp_path, capsys):
    for team in (None, "empty"):
        folder = _rewritten(
            demo_parquet,
            tmp_path / f"team-{team}",
            lambda name, frame, team=team: (
                frame if name != "deals" else (frame.drop(columns="team") if team is None else frame.assign(team=None))
            ),
        )
        with pytest.raises(sm.UsageError) as expected:
            movement.score_groups(read(folder), by="team")
        with pytest.raises(sm.UsageError) as got:
            engine(folder, "team", "M", None, tmp_path)
        assert str(got.value) == str(expected.value)
        assert not (tmp_path / "engine.csv").exists()
        assert main(["score", str(folder), "--by", "team", "--out", str(tmp_path / "x.csv"), "--quiet"]) == 2
        assert f"error: {expected.value}" in capsys.readouterr().err
        assert not (tmp_path / "x.csv").exists()


def test_the_command_line_writes_the_oracle_file(demo_parquet, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["score", str(DEMO), "--by", "owner", "--period", "M", "--out", str(out), "--quiet"]) == 0
    expected, _ = oracle(read(DEMO), "owner", "M", None, tmp_path)
    assert out.read_bytes() == expected["csv"].read_bytes()
    # the notes too: a log without close-date changes, scored before its first event
    folder = _rewritten(demo_parquet, tmp_path / "no_close", lambda n, f: None if n == "close_date_changes" else f)
    out = tmp_path / "y.csv"
    capsys.readouterr()
    argv = ["score", str(folder), "--by", "team", "--period", "Q", "--as-of", "2023-01-01", "--out", str(out)]
    assert main([*argv, "--quiet"]) == 0
    _, notes = oracle(read(folder), "team", "Q", "2023-01-01", tmp_path)
    assert [n for _, n in notes] == [line.split("note: ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert len(notes) == 2 and out.read_bytes() == (tmp_path / "oracle.csv").read_bytes()


# ------------------------------------------------------------------------------- amounts as of their moment


def _frame(rows, columns):
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("created_at", "changed_at", "close_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def test_score_prices_each_flow_at_its_moment_by_hand():
    """Decision 0054 in score's waterfall columns, engine and oracle alike: the opening at the period's start, each
    flow when it happens, the closing at the period's end; never the deal's latest amount."""
    deals = _frame([("D1", "ann", "2024-01-05", 300.0), ("D2", "ann", "2024-01-10", 90.0)],
                   ["deal_id", "owner", "created_at", "amount"])  # fmt: skip
    stages = _frame([("D1", "2024-01-05", "Lead"), ("D2", "2024-01-10", "Lead"), ("D1", "2024-02-15", "Won")],
                    ["deal_id", "changed_at", "stage"])  # fmt: skip
    closes = _frame(
        [("D1", "2024-01-05", "2024-02-20"), ("D2", "2024-01-10", "2024-03-15"), ("D2", "2024-02-05", "2024-02-25")],
        ["deal_id", "changed_at", "close_date"],
    )
    amounts = _frame(
        [
            ("D1", "2024-01-05", 100.0), ("D1", "2024-01-20", 150.0), ("D1", "2024-02-10", 200.0),
            ("D1", "2024-02-15", 220.0),  # set at the win's moment: the win's amount
            ("D1", "2024-02-25", 300.0),  # after the win
            ("D2", "2024-01-10", 50.0), ("D2", "2024-02-05", 80.0),  # with the pull-in: applied after it (0007)
            ("D2", "2024-02-20", 90.0),
        ],
        ["deal_id", "changed_at", "amount"],
    )  # fmt: skip
    log = sm.SalesLog.from_frames(PIPELINE_MODEL, deals, stages, None, closes, amounts)
    # February: D1 opens due (20 Feb) at its January amount 150 and is won at 220; D2 is pulled in (due 25 Feb)
    # at 50 and closes the month at 90. January: nothing due by its end.
    expected = {"opening": (1, 150.0), "won": (1, 220.0), "pulled_in": (1, 50.0), "closing": (1, 90.0),
                "created": (0, 0.0), "lost": (0, 0.0), "pushed_out": (0, 0.0), "reopened": (0, 0.0)}  # fmt: skip
    for result in (score(log, "2024-02-29", by="owner", period="M"),
                   movement.score_groups(log, "2024-02-29", by="owner", period="M")):  # fmt: skip
        feb = result.set_index("period").loc["2024-02"]
        assert {f: (int(feb[f"{f}_count"]), float(feb[f"{f}_amount"])) for f in expected} == expected
        assert not result.set_index("period").loc["2024-01", [f"{f}_amount" for f in expected]].any()


def test_a_close_date_stamped_later_at_the_close_is_part_of_it():
    """Decision 0062 in the engine and the oracle: L, due 20 Mar, lost on 15 Mar with its date moved to 15 Apr in
    the same moment, is lost from March's due pipeline, not pushed out of it; E, due 30 Apr and won on 10 Mar with
    its date set to that day, is pulled in and won."""
    deals = _frame([("E", "ann", "2024-03-01", 100.0), ("L", "ann", "2024-03-01", 40.0)],
                   ["deal_id", "owner", "created_at", "amount"])  # fmt: skip
    stages = _frame(
        [("E", "2024-03-01", "Lead"), ("E", "2024-03-10 12:00", "Won"), ("L", "2024-03-01", "Lead"),
         ("L", "2024-03-15 09:00", "Lost")],
        ["deal_id", "changed_at", "stage"],
    )  # fmt: skip
    closes = _frame(
        [("E", "2024-03-01", "2024-04-30"), ("E", "2024-03-10 12:00", "2024-03-10"),
         ("L", "2024-03-01", "2024-03-20"), ("L", "2024-03-15 09:00", "2024-04-15")],
        ["deal_id", "changed_at", "close_date"],
    )  # fmt: skip
    log = sm.SalesLog.from_frames(PIPELINE_MODEL, deals, stages, None, closes)
    flows = ("opening", "created", "pulled_in", "won", "lost", "pushed_out", "closing")
    expected = [(0, 0.0), (1, 40.0), (1, 100.0), (1, 100.0), (1, 40.0), (0, 0.0), (0, 0.0)]
    for result in (score(log, "2024-03-31", by="owner", period="M"),
                   movement.score_groups(log, "2024-03-31", by="owner", period="M")):  # fmt: skip
        march = result.set_index("period").loc["2024-03"]
        assert [(int(march[f"{f}_count"]), float(march[f"{f}_amount"])) for f in flows] == expected


def test_score_prices_d000021_of_the_demo_at_each_moment():
    """D000021: 287.59 from 4 Jan, 314.60 from 1 Mar, 259.50 from 21 Mar; due 5 Feb, pushed on 7 Feb to 10 Mar,
    on 12 Mar to 19 Apr, on 20 Apr to 19 May, then won on 28 Apr with its date set to that day."""
    pieces = movement.deal_period_pieces(read(DEMO), "2024-04-30", "M", amounts=True)
    mine = pieces[pieces["deal_id"] == "D000021"].set_index("period_index")
    feb, mar, apr = (mine.loc[p] for p in (24289, 24290, 24291))  # 2024-02, 2024-03, 2024-04
    assert (feb["opening_amount"], feb["pushed_out_amount"]) == (287.59, 287.59)
    assert (mar["opening_amount"], mar["pushed_out_amount"]) == (287.59, 314.6)  # raised on 1 Mar, cut on 21 Mar
    assert (apr["opening_amount"], apr["won_amount"]) == (259.5, 259.5)


# ------------------------------------------------------------------------------------ in memory


@pytest.mark.parametrize("by, period", GROUPINGS)
@pytest.mark.parametrize("as_of", DEMO_AS_OFS)
def test_score_in_memory_equals_the_oracle(by, period, as_of):
    log = read(DEMO)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = score(log, by=by, period=period, as_of=as_of)
    with warnings.catch_warnings(record=True) as expected_warnings:
        warnings.simplefilter("always")
        expected = movement.score_groups(log, by=by, period=period, as_of=as_of)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert [(w.category, str(w.message), w.filename) for w in caught] == [
        (w.category, str(w.message), w.filename) for w in expected_warnings
    ]


def test_an_empty_result_warns_in_memory_and_from_files(tmp_path):
    with pytest.warns(sm.DataNote, match="no period to score"):
        assert score(read(DEMO), by="owner", as_of="2020-01-01").empty
    with pytest.warns(sm.DataNote, match="no period to score"):
        model, _ = load_config(DEMO)
        write_scores_fast(
            DEMO, model, by="owner", period="M", as_of="2020-01-01",
            as_of_us=as_of_microseconds("2020-01-01", model.timezone), out=tmp_path / "e.csv", fmt="csv",
        )  # fmt: skip


# ------------------------------------------------------------------------------------ Kahan's sums


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from([0.0, 0.0, 0.1, 3051.58, 29087.66, 1e15, 7.25, 1e-3])),
        max_size=60,
    )
)
def test_kahan_sums_add_as_pandas_kahan_adds(rows):
    """pandas' groupby sum of floats is Kahan's (libgroupby.group_sum) unless the rows come sorted by group."""
    from pandas._libs import groupby as libgroupby

    frame = pd.DataFrame(rows, columns=["key", "value"], dtype=float).sort_values("key", kind="stable")
    labels, uniques = pd.factorize(frame["key"], sort=True)
    expected = np.zeros((len(uniques), 1))
    values = frame[["value"]].to_numpy()
    libgroupby.group_sum(expected, np.zeros(len(uniques), np.int64), values, labels, None, min_count=0)
    keys, sums = _engine_groups.kahan_sums(frame["key"].to_numpy(), values)
    assert keys.tolist() == uniques.tolist()
    assert sums[:, 0].tolist() == expected[:, 0].tolist()  # exactly


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([0.0, 0.1, 3051.58, 29087.66, 1e15, 7.25, 1e-3, 12.5])),
        min_size=1,
        max_size=300,
    ),
    st.booleans(),
)
def test_group_sums_follow_pandas_on_sorted_and_unsorted_pieces(rows, sort):
    """The engine's amount sums equal pandas' group_scores whether or not the pieces come sorted by group (pandas
    then takes np.add.reduceat, whose pairwise sums differ from Kahan's)."""
    periods = sorted(p for p, _ in rows) if sort else [p for p, _ in rows]
    n = len(rows)
    pieces = pd.DataFrame({"deal_id": [f"D{i:04d}" for i in range(n)], "period_index": np.array(periods, np.int64)})
    for column in (*movement.COUNTS, *movement.FLOWS):
        pieces[column] = np.int64(1) if column != "won" else np.arange(n, dtype=np.int64) % 3
    for flow in movement.FLOWS:  # each piece's flow at its amount
        pieces[f"{flow}_amount"] = pieces[flow].to_numpy() * np.array([a for _, a in rows])
    deals = pd.DataFrame({"deal_id": pieces["deal_id"], "owner": "ann"})
    expected = movement.group_scores(pieces, deals, "owner", "M", 3)
    con = connect()
    con.register("pieces_frame", pieces.assign(code=np.arange(n)))
    con.register("deals_frame", deals.assign(row=np.arange(n)))
    con.execute("CREATE TABLE d AS SELECT * FROM deals_frame")
    _engine_groups._group_tables(con, "pieces_frame", "owner")
    got = con.sql(_engine_groups.group_scores_sql("owner", "M", 3)).to_arrow_table().to_pandas()
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=True)


def test_numpy_and_sql_sums_agree_with_pandas_on_the_demo(demo_parquet):
    model, _ = load_config(demo_parquet)
    log = read(DEMO)
    for how in ("numpy", "sql"):
        con = connect()
        as_of_us, valid, fix_duplicates, core = _engine._load_and_check(con, demo_parquet, model, None, "W")
        assert valid()
        fix_duplicates()
        query = _engine_groups._group_query(con, model, "team", "W", as_of_us, core.columns, how)
        got = con.sql(query).to_arrow_table().to_pandas()
        stamp = pd.Timestamp(as_of_us, unit="us", tz="UTC").tz_convert(model.timezone)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sm.DataNote)
            expected = movement.score_groups(log, by="team", period="W", as_of=stamp)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


# ------------------------------------------------------------------------------------ random logs

SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
RANDOM_AS_OFS = st.sampled_from([None, "2024-02-15", "2024-06-30T12:00", "2023-12-01", "2025-03-01"])


@SETTINGS
@given(
    log=foreign_logs(),
    form=st.sampled_from(FOREIGN_FORMS),
    by=st.sampled_from(["owner", "team"]),
    period=st.sampled_from(["W", "M", "Q"]),
    as_of=RANDOM_AS_OFS,
)
def test_random_logs_in_three_zones(log, form, by, period, as_of, tmp_path):
    model, tables = log
    tmp = Path(tempfile.mkdtemp(dir=tmp_path))
    folder = write_foreign_log(tmp / "log", model, tables, form)
    check(folder, read(folder), by, period, as_of, tmp, must_take=False)  # an empty untyped table may go to pandas


@SETTINGS
@given(
    data=st.data(),
    by=st.sampled_from(["owner", "team"]),
    period=st.sampled_from(["W", "M", "Q"]),
    as_of=RANDOM_AS_OFS,
)
@pytest.mark.parametrize("history", [False, True], ids=["cents", "amount_history"])
def test_random_waterfalls(history, data, by, period, as_of, tmp_path):
    """Amounts in cents, without or with an amount history (each deal's amount at as_of, decision 0054): files and
    in-memory scores equal the oracle's."""
    log = data.draw(waterfall_logs(amount_changes=history))
    tmp = Path(tempfile.mkdtemp(dir=tmp_path))
    folder = sm.write_log(log, tmp / "log", format="parquet")
    check(folder, read(folder), by, period, as_of, tmp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.DataNote)
        expected = movement.score_groups(log, by=by, period=period, as_of=as_of)
        pd.testing.assert_frame_equal(score(log, by=by, period=period, as_of=as_of), expected, check_exact=True)


@SETTINGS
@given(frames=pipeline_frames(), period=st.sampled_from(["W", "M", "Q"]))
def test_random_pipelines_in_memory(frames, period):
    log = sm.SalesLog.from_frames(PIPELINE_MODEL, *frames)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.DataNote)
        for by in ("owner", "team"):
            expected = movement.score_groups(log, by=by, period=period)
            pd.testing.assert_frame_equal(score(log, by=by, period=period), expected, check_exact=True)
            assert np.array_equal(
                expected["closing_count"],
                expected["opening_count"] + expected["created_count"] + expected["pulled_in_count"]
                + expected["reopened_count"] - expected["won_count"] - expected["lost_count"]
                - expected["pushed_out_count"],
            )  # fmt: skip
