"""Small logs for tests: hand-made CSV folders, logs built from rows of tuples, and hypothesis strategies.

Test modules import what they share from here (``from builders import ...``), never from each other;
tests/test_test_modules.py keeps it that way.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.log.config import StageModel

# ------------------------------------------------------------------------------------------- CSV folders


def write_csv_log(folder: Path, config: str, deals: str, changes: str, activities=None, close_dates=None) -> Path:
    """Write a log folder from the texts of its files; the optional tables are left out when ``None``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "salesmetrics.yaml").write_text(config)
    (folder / "deals.csv").write_text(deals)
    (folder / "stage_changes.csv").write_text(changes)
    if activities is not None:
        (folder / "activities.csv").write_text(activities)
    if close_dates is not None:
        (folder / "close_date_changes.csv").write_text(close_dates)
    return folder


TINY_CONFIG = """\
name: tiny
stages: [Lead, Qualified, Proposal, Commit]
won: [Won]
lost: [Lost]
commit_stage: Commit
timezone: Europe/Berlin
currency: EUR
"""
TINY_DEALS = """\
deal_id,owner,created_at,amount,team,industry
D1,ann,2024-01-02 09:00,1000,east,retail
D2,bob,2024-01-05 10:00,2500,west,banking
D3,ann,2024-02-01 08:00,,east,retail
"""
TINY_CHANGES = """\
deal_id,changed_at,stage
D1,2024-01-02 09:00,Lead
D1,2024-01-10 10:00,Qualified
D1,2024-01-20 11:00,Proposal
D1,2024-02-01 12:00,Won
D2,2024-01-05 10:00,Lead
D2,2024-01-15 10:00,Qualified
D2,2024-01-25 10:00,Lead
D3,2024-02-01 08:00,Lead
D3,2024-02-03 08:00,Lost
"""
TINY_ACTIVITIES = """\
deal_id,occurred_at,kind,outcome,direction
D1,2024-01-03 10:00,call,stayed,outbound
D1,2024-01-09 15:00,meeting,advanced,outbound
D2,2024-01-06 09:00,email,,inbound
D2,2024-01-06 11:00,email,,outbound
"""
TINY_CLOSE_DATES = """\
deal_id,changed_at,close_date
D1,2024-01-02 09:00,2024-02-15
D1,2024-01-20 11:00,2024-01-31
D2,2024-01-05 10:00,2024-02-28
D2,2024-01-25 10:00,2024-03-29
"""


def write_tiny_log(folder: Path) -> Path:
    """The hand-made CSV log of three deals, every table present (the ``tiny_log_dir`` fixture)."""
    return write_csv_log(folder, TINY_CONFIG, TINY_DEALS, TINY_CHANGES, TINY_ACTIVITIES, TINY_CLOSE_DATES)


def write_undated_log(folder: Path) -> Path:
    """A log of two deals with no dated event at all: no creation times and no stage changes."""
    config = "stages: [Lead, Proposal]\nwon: [Won]\nlost: [Lost]\nhistory: partial\n"
    return write_csv_log(folder, config, "deal_id,owner,created_at\nA,ann,\nB,bob,\n", "deal_id,changed_at,stage\n")


# ------------------------------------------------------------------------------------- logs from rows

DEAL_COLUMNS = ("deal_id", "owner", "created_at", "amount", "team")
STAGE_CHANGE_COLUMNS = ("deal_id", "changed_at", "stage")
ACTIVITY_COLUMNS = ("deal_id", "occurred_at", "kind", "outcome", "direction")
CLOSE_DATE_COLUMNS = ("deal_id", "changed_at", "close_date")


def rows_frame(rows, columns) -> pd.DataFrame:
    """A table from tuples that fill its leading columns in order (every column when there are no rows)."""
    rows = list(rows)
    width = len(rows[0]) if rows else len(columns)
    return pd.DataFrame(rows, columns=list(columns[:width]))


def rows_frames(deals, changes, activities=(), close_dates=()) -> tuple[pd.DataFrame, ...]:
    """The four tables of a log from rows of tuples, as written (strings stay strings)."""
    return (
        rows_frame(deals, DEAL_COLUMNS),
        rows_frame(changes, STAGE_CHANGE_COLUMNS),
        rows_frame(activities, ACTIVITY_COLUMNS),
        rows_frame(close_dates, CLOSE_DATE_COLUMNS),
    )


def log_from_rows(model: StageModel, deals, changes, activities=(), close_dates=()) -> sm.SalesLog:
    """A validated log from rows of tuples, e.g. ``("D1", "ann", "2024-01-01 09:00", 1000.0)`` for a deal.

    Each row fills the leading columns of its table (deal_id, owner, created_at, amount, team; deal_id, changed_at,
    stage; deal_id, occurred_at, kind, outcome, direction; deal_id, changed_at, close_date). Activities and close
    dates without rows are left out of the log."""
    d, c, a, cd = rows_frames(deals, changes, activities, close_dates)
    return sm.SalesLog.from_frames(model, d, c, a if len(a) else None, cd if len(cd) else None)


# ------------------------------------------------------------------------------ hypothesis strategies

PIPELINE_MODEL = StageModel(
    stages=("Lead", "Qualified", "Proposal"), won=("Won",), lost=("Lost", "Dead"), timezone="UTC"
)
T0 = pd.Timestamp("2024-01-01", tz="UTC")
HOURS = st.integers(0, 24 * 150)  # when an event happens, in hours after its deal was created


def _at(start: int, hours: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=start + hours)


def _draw_deal(draw, deal_id: str, start: int, cents: bool) -> dict:
    amount = float(draw(st.integers(0, 5000)))
    if cents:
        amount += draw(st.sampled_from([0.0, 0.25, 0.1]))
    return {
        "deal_id": deal_id,
        "owner": draw(st.sampled_from(["ann", "bob"])),
        "team": draw(st.sampled_from(["east", "west"])),
        "created_at": T0 + pd.Timedelta(hours=start),
        "amount": amount,
    }


def _draw_stage_changes(draw, deal_id: str, start: int) -> list[dict]:
    hours = draw(st.lists(HOURS, min_size=0, max_size=6, unique=True))
    stages = PIPELINE_MODEL.all_stages
    return [
        {"deal_id": deal_id, "changed_at": _at(start, h), "stage": draw(st.sampled_from(stages))} for h in sorted(hours)
    ]


def _draw_activities(draw, deal_id: str, start: int) -> list[dict]:
    return [
        {"deal_id": deal_id, "occurred_at": _at(start, h), "kind": "call"} for h in draw(st.lists(HOURS, max_size=5))
    ]


def _draw_close_dates(draw, deal_id: str, start: int) -> list[dict]:
    closes = []
    for h in draw(st.lists(HOURS, max_size=4, unique=True)):
        day = (T0 + pd.Timedelta(hours=start + h + 24 * draw(st.integers(-20, 90)))).normalize()
        closes.append({"deal_id": deal_id, "changed_at": _at(start, h), "close_date": day})
    return closes


def _draw_amount_changes(draw, deal_id: str, start: int) -> list[dict]:
    amounts = []
    for h in draw(st.lists(HOURS, max_size=4, unique=True)):
        value = float(draw(st.integers(0, 5000))) + draw(st.sampled_from([0.0, 0.3, 0.07]))
        amounts.append({"deal_id": deal_id, "changed_at": _at(start, h), "amount": value})
    return amounts


def _frames_in_utc(*frames: pd.DataFrame) -> list[pd.DataFrame]:
    for f in frames:
        for c in ("created_at", "changed_at", "occurred_at", "close_date"):
            if c in f:
                f[c] = pd.to_datetime(f[c], utc=True).astype("datetime64[us, UTC]")
    return list(frames)


def _first_change_if_none(changes: list[dict], deals: list[dict]) -> None:
    if not changes:
        changes.append({"deal_id": "D0", "changed_at": deals[0]["created_at"], "stage": "Lead"})


@st.composite
def pipeline_frames(draw):
    """1 to 5 deals of PIPELINE_MODEL in UTC, as the four tables (deals, stage changes, activities, close-date
    changes) to give ``SalesLog.from_frames(PIPELINE_MODEL, *frames)``. Every stage may follow any other."""
    deals, changes, acts, closes = [], [], [], []
    for i in range(draw(st.integers(1, 5))):
        start = draw(st.integers(0, 24 * 200))
        deals.append(_draw_deal(draw, f"D{i}", start, cents=False))
        changes += _draw_stage_changes(draw, f"D{i}", start)
        acts += _draw_activities(draw, f"D{i}", start)
        closes += _draw_close_dates(draw, f"D{i}", start)
    _first_change_if_none(changes, deals)
    return tuple(
        _frames_in_utc(
            pd.DataFrame(deals),
            pd.DataFrame(changes),
            pd.DataFrame(acts, columns=["deal_id", "occurred_at", "kind"]),
            pd.DataFrame(closes, columns=["deal_id", "changed_at", "close_date"]),
        )
    )


@st.composite
def waterfall_logs(draw, amount_changes: bool = True):
    """1 to 5 deals of PIPELINE_MODEL in UTC with amounts in cents, close-date changes and (unless
    ``amount_changes=False``) amount changes, but no activities: a SalesLog for the waterfall."""
    deals, changes, closes, amounts = [], [], [], []
    for i in range(draw(st.integers(1, 5))):
        start = draw(st.integers(0, 24 * 200))
        deals.append(_draw_deal(draw, f"D{i}", start, cents=True))
        changes += _draw_stage_changes(draw, f"D{i}", start)
        closes += _draw_close_dates(draw, f"D{i}", start)
        if amount_changes:
            amounts += _draw_amount_changes(draw, f"D{i}", start)
    _first_change_if_none(changes, deals)
    deals_, changes_, closes_, amounts_ = _frames_in_utc(
        pd.DataFrame(deals),
        pd.DataFrame(changes),
        pd.DataFrame(closes, columns=["deal_id", "changed_at", "close_date"]),
        pd.DataFrame(amounts, columns=["deal_id", "changed_at", "amount"]),
    )
    return sm.SalesLog.from_frames(
        PIPELINE_MODEL, deals_, changes_, None, closes_ if len(closes_) else None, amounts_ if len(amounts_) else None
    )


# ------------------------------------------------------------------------ logs as other tools write them

FOREIGN_ZONES = ("UTC", "Europe/Berlin", "America/New_York")
FOREIGN_FORMS = ("pandas_parquet_ns", "duckdb_csv", "pandas_csv")
_TIME_COLUMNS = ("created_at", "changed_at", "occurred_at", "close_date")


@st.composite
def foreign_logs(draw):
    """A random small log as ``(model, tables)``: :func:`pipeline_frames` in a time zone drawn from FOREIGN_ZONES,
    its activities of varied kinds, outcomes and directions (some missing), deals of both owners and teams;
    ``tables`` maps each table's name to its frame, times zoned (instants). Written as other tools write logs
    by :func:`write_foreign_log`."""
    from dataclasses import replace

    deals, changes, acts, closes = draw(pipeline_frames())
    model = replace(PIPELINE_MODEL, timezone=draw(st.sampled_from(FOREIGN_ZONES)))
    n = len(acts)
    acts = acts.assign(
        kind=draw(st.lists(st.sampled_from(["call", "email", "meeting"]), min_size=n, max_size=n)),
        outcome=draw(st.lists(st.sampled_from(["advanced", "stayed", "regressed", None]), min_size=n, max_size=n)),
        direction=draw(st.lists(st.sampled_from(["inbound", "outbound", None]), min_size=n, max_size=n)),
    )
    tables = {"deals": deals, "stage_changes": changes, "activities": acts, "close_date_changes": closes}
    return model, {name: frame for name, frame in tables.items() if len(frame) or name == "activities"}


def with_copies(frame: pd.DataFrame, rows) -> pd.DataFrame:
    """``frame`` with an exact copy of each of ``rows`` (positions; out-of-range ones wrap) put after the row."""
    order = list(range(len(frame)))
    for row in rows:
        if len(frame):
            position = row % len(frame)
            order.insert(order.index(position) + 1, position)
    return frame.iloc[order].reset_index(drop=True)


def write_foreign_log(folder: Path, model: StageModel, tables: dict[str, pd.DataFrame], form: str) -> Path:
    """Write a log folder as another tool would (FOREIGN_FORMS): ``pandas_parquet_ns`` (``to_parquet``, times
    datetime64[ns, UTC]), ``pandas_csv`` (``to_csv``, times with the offsets of the log's zone) or ``duckdb_csv``
    (DuckDB ``COPY`` from a UTC session: times TIMESTAMPTZ written as ``2024-03-01 07:00:00+00``)."""
    import duckdb

    folder.mkdir(parents=True)
    model.write(folder / "salesmetrics.yaml")
    for name, frame in tables.items():
        frame = frame.copy()
        for column in _TIME_COLUMNS:
            if column not in frame:
                continue
            if form == "pandas_parquet_ns":
                frame[column] = frame[column].dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
            else:
                frame[column] = frame[column].dt.tz_convert(model.timezone)
        if form == "pandas_parquet_ns":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        elif form == "pandas_csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            con.register("frame", frame)
            con.execute(f"COPY frame TO '{folder / f'{name}.csv'}' (FORMAT csv, HEADER true)")
            con.close()
    return folder


# ---------------------------------------------------------------------- logs that carry every warning

VALIDATE_MODEL_YAML = "stages: [Lead, Qualified, Proposal]\nwon: [Won]\nlost: [Lost]\ntimezone: {tz}\n"


def _repeat_some(draw, rows: list[dict]) -> list[dict]:
    """``rows`` with a few of them copied to later places (exact duplicate rows, as real exports have)."""
    rows = list(rows)
    for _ in range(draw(st.integers(0, 2)) if rows else 0):
        i = draw(st.integers(0, len(rows) - 1))
        rows.insert(draw(st.integers(i + 1, len(rows))), dict(rows[i]))
    return rows


@st.composite
def warned_logs(draw):
    """A valid log's tables as lists of row dicts (times as UTC ``pd.Timestamp``, some missing where allowed),
    with the zone of its config, for :func:`write_warned_log`: events may precede their deal's creation, some
    deals have no stage change or no created_at, and each table may repeat rows exactly."""
    tz = draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]))
    deals, changes, acts, closes, amounts = [], [], [], [], []
    early = st.integers(-48, 24 * 60)
    for i in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, 24 * 300))
        deals.append(
            {
                "deal_id": f"D{i}",
                "owner": draw(st.sampled_from(["ann", "bob", "cy"])),
                "created_at": None if draw(st.integers(0, 3)) == 0 else T0 + pd.Timedelta(hours=start),
                "amount": draw(st.sampled_from([100.0, 2500.5, None])),
                "team": draw(st.sampled_from(["east", "west", None])),
            }
        )
        for h in draw(st.lists(early, max_size=4)):
            stage = draw(st.sampled_from((*PIPELINE_MODEL.stages, "Won", "Lost")))
            changes.append({"deal_id": f"D{i}", "changed_at": _at(start, h), "stage": stage})
        for h in draw(st.lists(early, max_size=5)):
            acts.append(
                {
                    "deal_id": f"D{i}",
                    "occurred_at": _at(start, h),
                    "kind": draw(st.sampled_from(["call", "email"])),
                    "outcome": draw(st.sampled_from(["advanced", "stayed", None])),
                    "direction": draw(st.sampled_from(["inbound", "outbound", None])),
                }
            )
        for h in draw(st.lists(early, max_size=3)):
            day = (T0 + pd.Timedelta(days=start // 24 + draw(st.integers(0, 90)))).normalize()
            closes.append({"deal_id": f"D{i}", "changed_at": _at(start, h), "close_date": day})
        for h in draw(st.lists(early, max_size=2)):
            amounts.append({"deal_id": f"D{i}", "changed_at": _at(start, h), "amount": float(draw(st.integers(0, 9)))})
    if not changes:
        changes.append({"deal_id": "D0", "changed_at": T0, "stage": "Lead"})
    tables = {"deals": deals, "stage_changes": changes}
    for name, rows in (("activities", acts), ("close_date_changes", closes), ("amount_changes", amounts)):
        if rows or draw(st.booleans()):  # an optional table with no rows is written with its header only
            tables[name] = rows
    return tz, {name: _repeat_some(draw, rows) for name, rows in tables.items()}


WARNED_COLUMNS = {
    "deals": ["deal_id", "owner", "created_at", "amount", "team"],
    "stage_changes": ["deal_id", "changed_at", "stage"],
    "activities": ["deal_id", "occurred_at", "kind", "outcome", "direction"],
    "close_date_changes": ["deal_id", "changed_at", "close_date"],
    "amount_changes": ["deal_id", "changed_at", "amount"],
}


def write_warned_log(folder: Path, tz: str, tables: dict, fmt: str, unit: str = "us", naive: bool = False) -> Path:
    """Write a log from :func:`warned_logs` with pandas, not salesmetrics: CSV with ISO times carrying their
    offset (``naive``: local wall-clock times without one; close dates as days), or Parquet with zoned times of
    ``unit``."""
    folder.mkdir(parents=True)
    (folder / "salesmetrics.yaml").write_text(VALIDATE_MODEL_YAML.format(tz=tz))
    for name, rows in tables.items():
        frame = pd.DataFrame(rows, columns=WARNED_COLUMNS[name])
        for column in ("created_at", "changed_at", "occurred_at", "close_date"):
            if column not in frame:
                continue
            times = pd.to_datetime(frame[column], utc=True).dt.tz_convert(tz)
            if fmt == "csv":
                if column == "close_date":
                    text = times.dt.strftime("%Y-%m-%d")
                else:
                    text = times.dt.strftime("%Y-%m-%d %H:%M:%S") if naive else times.map(_iso)
                frame[column] = text.where(times.notna())
            else:
                frame[column] = times.astype(f"datetime64[{unit}, {tz}]")
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:  # text as Parquet strings, even in a column of missing values only
            for column in ("deal_id", "owner", "team", "stage", "kind", "outcome", "direction"):
                if column in frame:
                    frame[column] = frame[column].astype("string")
            if "amount" in frame:
                frame["amount"] = frame["amount"].astype("float64")
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _iso(t) -> str | None:
    return None if pd.isna(t) else t.isoformat()


# ------------------------------------------------------------------------------------------- partitioned logs


def warn_in_part(part: Path) -> dict[str, str]:
    """Give a CSV part of a partitioned log two warning-level problems that change none of its values, one of
    which the relational core leaves to pandas (so the part is validated with pandas): the first stage change
    dated on day 1 to 12 of its month rewritten month-first with slashes, ``01/05/2024 ...`` (ambiguous_dates),
    and the first activity written again at the end (duplicate_rows). Returns the located file of each by code."""
    changes = part / "stage_changes.csv"
    lines = changes.read_text().splitlines()
    at = next(i for i, line in enumerate(lines[1:], 1) if int(line.split(",")[1][8:10]) <= 12)
    deal_id, when, stage = lines[at].split(",")
    lines[at] = f"{deal_id},{when[5:7]}/{when[8:10]}/{when[:4]}{when[10:]},{stage}"
    changes.write_text("\n".join(lines) + "\n")
    activities = part / "activities.csv"
    first = activities.read_text().splitlines()[1]
    with activities.open("a") as handle:
        handle.write(first + "\n")
    return {"ambiguous_dates": f"{part.name}/stage_changes.csv", "duplicate_rows": f"{part.name}/activities.csv"}


# ------------------------------------------------------------------------------------- pipeline health


def assert_same_health(got, expected) -> None:
    """Two PipelineHealth values are the same: every table exactly (values, order, dtypes) and every field."""
    for table in ("groups", "periods", "deals", "stuck_deals"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(expected, table), check_exact=True, obj=table)
    for field in ("as_of", "by", "period", "min_motions", "currency", "dated"):
        assert getattr(got, field) == getattr(expected, field), field
    if expected.stage_counts is None:
        assert got.stage_counts is None
    else:
        pd.testing.assert_series_equal(got.stage_counts, expected.stage_counts)


def partitioned_foreign_log(tmp_path_factory, drawn, partitions: int) -> tuple[Path, Path | None]:
    """A drawn foreign log (``foreign_logs``) written as Parquet and partitioned: the log's folder and its parts'
    folder, or None for the parts when a part would lack a required table (a log of a few deals only)."""
    from salesmetrics.exceptions import UsageError
    from salesmetrics.log.partition import partition_log

    model, tables = drawn
    folder = write_foreign_log(tmp_path_factory.mktemp("log") / "log", model, tables, "pandas_parquet_ns")
    try:
        return folder, partition_log(folder, tmp_path_factory.mktemp("parts") / "p", partitions).folder
    except UsageError:
        return folder, None


def write_log_with_warnings(folder: Path) -> Path:
    """The demo log with 1 deal in 7 without a created_at (a warning that survives partitioning: it is a value)."""
    log = sm.read_log(Path(__file__).resolve().parents[1] / "datasets" / "demo")
    deals = log.deals.copy()
    deals.loc[deals.index % 7 == 3, "created_at"] = pd.NaT
    odd = sm.SalesLog(log.model, deals, log.stage_changes, log.activities, log.close_date_changes, log.source,
                      log.problems, log.amount_changes)  # fmt: skip
    return sm.write_log(odd, folder, "csv") or folder


def break_a_part(parts: Path) -> str:
    """Give the first stage change of ``parts``' second part a stage the config does not know; the file named, as
    a validation error locates it."""
    broken = parts / "part-00001" / "stage_changes.csv"
    lines = broken.read_text().splitlines()
    broken.write_text("\n".join([lines[0], lines[1].rsplit(",", 1)[0] + ",NoSuchStage", *lines[2:]]) + "\n")
    return "part-00001/stage_changes.csv"


def page_text(path: Path) -> str:
    """A report page's words, without its markup, its figures and the minute it was made at (two runs of the same
    report may straddle a minute)."""
    import re

    page = re.sub(r"<img[^>]*>|data:image[^\"']*", "", path.read_text(encoding="utf-8"))
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    return re.sub(r"Made \d{4}-\d\d-\d\d \d\d:\d\d \S+ by", "Made by", words)
