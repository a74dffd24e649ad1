"""Write a sales log the way another tool would: Parquet by pandas, CSV by DuckDB, without salesmetrics.

The log salesmetrics is benchmarked on should not be one it wrote itself (issue 16). This script does not
import salesmetrics; it follows the public log format (docs/log-format.md) and nothing else:

- ``foreign-parquet/``: tables written by ``DataFrame.to_parquet`` (pyarrow engine): nanosecond timestamps
  (``timestamp[ns, tz=UTC]``), pandas 3 string columns (``large_string``), ``close_date`` as a date (``date32``);
- ``foreign-csv/``: the same rows written by DuckDB ``COPY``: ISO 8601 timestamps with offsets (activities in
  UTC with ``Z``, the other tables in the log's time zone with ``+01:00``-style offsets), dates as
  ``YYYY-MM-DD``, missing values as empty cells.

Both hold the same rows in the same order, including about 0.01% of exact duplicate rows (activities, stage
changes and close-date changes repeated verbatim at random places in the file), as real exports have. Stage
histories are plausible: an add, advances (some skipping a stage), regressions, re-saved stages, ties in time,
won and lost ends, a few reopened deals; activities fall between each deal's creation and its end; close dates
are mostly pushed, sometimes pulled. The output is the same for the same ``--seed``.

    python benchmarks/make_foreign_log.py                       # 100,000 deals, 10,000,000 activities
    python benchmarks/make_foreign_log.py --deals 2000 --activities 200000 --out /tmp/small
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

OPEN_STAGES = ["New", "Qualified", "Demo", "Proposal", "Negotiation", "Verbal"]
WON = ["Closed Won"]
LOST = ["Closed Lost", "Disqualified"]
ALL_STAGES = OPEN_STAGES + WON + LOST
WON_CODE = len(OPEN_STAGES)  # codes 0-5 are the open stages in order, 6 is won, 7 and 8 are lost
LOST_CODE, DISQUALIFIED_CODE = WON_CODE + 1, WON_CODE + 2

FIRST_NAMES = ["Ava", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kenji", "Lena"]
FIRST_NAMES += ["Mateo", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Yara"]
REGIONS = ["EMEA", "NA", "LATAM", "APAC"]
SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]
KINDS = ["email", "call", "meeting", "demo", "proposal", "linkedin message", "note"]
KIND_WEIGHTS = [0.40, 0.25, 0.14, 0.06, 0.03, 0.07, 0.05]

DAY = 86_400  # seconds
START = int(pd.Timestamp("2023-01-01", tz="UTC").timestamp())
EXPORT = int(pd.Timestamp("2025-01-01", tz="UTC").timestamp())  # the moment the export was taken
DUPLICATE_SHARE = 0.0001  # about 0.01% of the rows of the event tables are repeated verbatim


def random_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct CRM-style ids (``006`` and 15 letters or digits), in no particular order."""
    alphabet = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype="S1")
    while True:
        letters = alphabet[rng.integers(0, len(alphabet), (n, 15))]
        ids = np.char.add(b"006", letters.view("S15").ravel()).astype(str)
        if len(np.unique(ids)) == n:
            return ids


def text_column(values: list[str] | np.ndarray, codes: np.ndarray) -> pd.Series:
    """A pandas string column holding ``values[code]`` for each code (a negative code is a missing value)."""
    dictionary = pa.array(list(values), pa.large_string())
    taken = dictionary.take(pa.array(np.where(codes < 0, 0, codes), mask=codes < 0))
    return pd.Series(taken, dtype="str")


def timestamp_column(seconds: np.ndarray) -> pd.Series:
    """Seconds since the epoch as a nanosecond, UTC-aware pandas column (``datetime64[ns, UTC]``)."""
    return pd.Series(seconds.astype("int64") * 1_000_000_000).astype("datetime64[ns]").dt.tz_localize("UTC")


def with_duplicates(rng: np.random.Generator, n_rows: int, n_duplicates: int) -> np.ndarray:
    """The row order of a table of ``n_rows`` rows with ``n_duplicates`` of them repeated at random places."""
    n_duplicates = min(n_duplicates, n_rows)
    repeated = rng.choice(n_rows, n_duplicates, replace=False)
    places = rng.integers(0, n_rows + 1, n_duplicates)
    return np.insert(np.arange(n_rows), places, repeated)


def n_duplicates(n_rows: int) -> int:
    """How many rows of an event table are repeated: about 0.01%, and at least 2."""
    return max(2, round(n_rows * DUPLICATE_SHARE))


def make_deals(rng: np.random.Generator, n_deals: int) -> dict[str, np.ndarray]:
    """The deals: ids, owners and teams (as codes), creation times (seconds) and amounts, ordered by creation."""
    owner_names = [f"{first} {last}." for first in FIRST_NAMES for last in "ABCDEFGHKLMS"][:240]
    team_names = [f"{region} {segment} {k}" for region in REGIONS for segment in SEGMENTS for k in (1, 2)]
    owner_team = rng.integers(0, len(team_names), len(owner_names))
    busy = rng.gamma(4.0, 1.0, len(owner_names))  # some owners have many more deals than others
    owner = rng.choice(len(owner_names), n_deals, p=busy / busy.sum())
    created = np.sort(rng.integers(START, EXPORT - 30 * DAY, n_deals))
    amount = np.round(rng.lognormal(9.5, 1.1, n_deals), 2)
    amount[rng.random(n_deals) < 0.01] = np.nan  # some deals have no amount yet
    return {
        "deal_id": random_ids(rng, n_deals),
        "owner_names": np.array(owner_names),
        "team_names": np.array(team_names),
        "owner": owner,
        "team": owner_team[owner],
        "created": created,
        "amount": amount,
    }


def make_stage_changes(rng: np.random.Generator, created: np.ndarray) -> tuple[np.ndarray, ...]:
    """Stage histories as a Markov chain: returns ``(deal, seconds, stage_code)`` rows and each deal's end.

    A deal is added in New (most), Qualified, or straight into Disqualified; then each step advances (sometimes
    skipping a stage), regresses, re-saves its stage, is won (from Proposal on) or lost, until it ends or the
    export is taken. About 2% of lost deals are reopened once. A deal's end is its last stage change when it
    is won or lost, the export otherwise.
    """
    n = len(created)
    start = rng.choice([0, 1, DISQUALIFIED_CODE], n, p=[0.85, 0.12, 0.03])
    deals, times, stages = [np.arange(n)], [created.copy()], [start]
    stage, now = start.copy(), created.copy()
    active = np.flatnonzero(stage < WON_CODE)
    while len(active):
        current = stage[active]
        u = rng.random(len(active))
        p_won = np.where(current >= 3, 0.08 + 0.07 * (current - 3), 0.0)
        p_lost = np.where(current < 2, 0.22, 0.12)
        p_back, p_same, p_skip = np.where(current > 0, 0.06, 0.0), 0.02, 0.07
        nxt = np.minimum(current + 1, WON_CODE)  # an advance from the last open stage is a win
        skip = np.where(current + 2 < WON_CODE, current + 2, current + 1)  # Negotiation cannot skip Verbal
        nxt = np.where(u < p_won + p_lost + p_back + p_same + p_skip, skip, nxt)
        nxt = np.where(u < p_won + p_lost + p_back + p_same, current, nxt)
        nxt = np.where(u < p_won + p_lost + p_back, current - 1, nxt)
        lost_kind = np.where(rng.random(len(active)) < 0.8, LOST_CODE, DISQUALIFIED_CODE)
        nxt = np.where(u < p_won + p_lost, lost_kind, nxt)
        nxt = np.where(u < p_won, WON_CODE, nxt)
        gap = rng.exponential(20 * DAY, len(active)).astype("int64") + 60
        tie = (rng.random(len(active)) < 0.01) & (nxt != current)
        gap[tie] = 0  # two entries at the same second: ties keep file order
        at = now[active] + gap
        keep = at < EXPORT  # the rest is still open when the export is taken
        active, at, nxt = active[keep], at[keep], nxt[keep]
        deals.append(active)
        times.append(at)
        stages.append(nxt)
        stage[active], now[active] = nxt, at
        active = active[nxt < WON_CODE]
    # a few lost deals come back to life once, in Qualified
    reopened = np.flatnonzero((stage >= LOST_CODE) & (rng.random(n) < 0.02))
    at = now[reopened] + rng.exponential(30 * DAY, len(reopened)).astype("int64") + 60
    reopened, at = reopened[at < EXPORT], at[at < EXPORT]
    deals.append(reopened)
    times.append(at)
    stages.append(np.ones(len(reopened), dtype=int))
    stage[reopened], now[reopened] = 1, at
    deal, seconds, code = (np.concatenate(x) for x in (deals, times, stages))
    order = np.lexsort((np.arange(len(deal)), deal))  # by deal, then in the order they were made (time order)
    end = np.where(stage >= WON_CODE, now, EXPORT)
    return deal[order], seconds[order], code[order], end


def make_activities(
    rng: np.random.Generator, created: np.ndarray, end: np.ndarray, n_rows: int
) -> tuple[np.ndarray, ...]:
    """``n_rows`` activities between each deal's creation and end: ``(deal, seconds, kind, outcome, direction)``.

    Heavy-tailed counts per deal (longer deals get more); rows in time order, as an activity export has them.
    Outcome and direction codes are -1 where missing.
    """
    n = len(created)
    length = np.maximum(end - created, DAY)
    weights = (rng.pareto(2.0, n) + 0.3) * np.sqrt(length / DAY)
    per_deal = rng.multinomial(n_rows, weights / weights.sum())
    deal = np.repeat(np.arange(n), per_deal)
    seconds = created[deal] + (rng.random(n_rows) * length[deal]).astype("int64")
    seconds = np.minimum(seconds, EXPORT - 1)  # a deal closed on the day it was created: activities that day
    order = np.argsort(seconds, kind="stable")
    deal, seconds = deal[order], seconds[order]
    kind = rng.choice(len(KINDS), n_rows, p=KIND_WEIGHTS)
    outcome = rng.choice([-1, 0, 1, 2], n_rows, p=[0.75, 0.06, 0.17, 0.02])  # advanced, stayed, regressed
    direction = rng.choice([-1, 0, 1], n_rows, p=[0.1, 0.25, 0.65])  # inbound, outbound
    return deal, seconds, kind, outcome, direction


def make_close_date_changes(rng: np.random.Generator, created: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
    """Expected close dates: ``(deal, seconds, day)`` rows (``day``: days since 1970-01-01), in time order.

    Most deals get a first date when created (2 weeks to 4 months ahead); later changes happen at random
    moments of the deal's life and push the date (most), pull it in, or re-save it unchanged.
    """
    n = len(created)
    first_at_creation = rng.random(n) < 0.9
    count = first_at_creation + rng.poisson(1.2, n)
    deal = np.repeat(np.arange(n), count)
    length = np.maximum(end - created, DAY)
    seconds = np.minimum(created[deal] + (rng.random(len(deal)) * length[deal]).astype("int64"), EXPORT - 1)
    starts = np.cumsum(count) - count
    seconds[starts[first_at_creation]] = created[first_at_creation]
    order = np.lexsort((seconds, deal))
    deal, seconds = deal[order], seconds[order]
    position = np.arange(len(deal)) - np.repeat(starts, count)
    step = rng.choice([1, -1, 0], len(deal), p=[0.7, 0.25, 0.05])
    change = np.where(step > 0, rng.integers(7, 61, len(deal)), np.where(step < 0, -rng.integers(3, 31, len(deal)), 0))
    change[position == 0] = 0
    running = np.cumsum(change)
    before = (running - change)[position == 0]  # the running sum before each deal's first row
    moved = running - np.repeat(before, count[count > 0])  # a running sum within each deal
    base = created // DAY + rng.integers(14, 121, n)
    day = base[deal] + moved
    order = np.argsort(seconds, kind="stable")
    return deal[order], seconds[order], day[order]


def write_parquet(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Each frame as ``<name>.parquet``, written by pandas with the pyarrow engine."""
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", engine="pyarrow", index=False)


def write_csv(parquet: Path, folder: Path, timezone: str) -> None:
    """The Parquet tables as CSV, written by DuckDB ``COPY`` with ISO 8601 timestamps carrying their offsets."""
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{timezone}'")

    def local(column: str) -> str:  # 2024-03-01T11:00:00+01:00 in the log's time zone
        text = f"strftime(CAST({column} AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S%z')"
        return f"regexp_replace({text}, '([+-][0-9][0-9])$', '\\1:00') AS {column}"

    def utc(column: str) -> str:  # 2024-03-01T10:00:00Z
        return f"strftime(CAST({column} AS TIMESTAMPTZ) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') AS {column}"

    selects = {
        "deals": f"deal_id, owner, team, {local('created_at')}, amount",
        "stage_changes": f"deal_id, {local('changed_at')}, stage",
        "activities": f"deal_id, {utc('occurred_at')}, kind, outcome, direction",
        "close_date_changes": f"deal_id, {local('changed_at')}, close_date",
    }
    for name, columns in selects.items():
        source = (parquet / f"{name}.parquet").as_posix()
        target = (folder / f"{name}.csv").as_posix()
        con.execute(f"COPY (SELECT {columns} FROM read_parquet('{source}')) TO '{target}' (HEADER, DELIMITER ',')")


def write_model(folder: Path, timezone: str, seed: int) -> None:
    """The stage model, ``salesmetrics.yaml`` (JSON strings are YAML strings)."""
    lines = [
        "name: " + json.dumps(f"Foreign CRM export (make_foreign_log.py, seed {seed})"),
        "stages: " + json.dumps(OPEN_STAGES),
        "won: " + json.dumps(WON),
        "lost: " + json.dumps(LOST),
        "commit_stage: " + json.dumps(OPEN_STAGES[-1]),
        "timezone: " + json.dumps(timezone),
        "currency: USD",
    ]
    (folder / "salesmetrics.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def make(out: Path, n_deals: int, n_activities: int, seed: int = 0, timezone: str = "UTC") -> tuple[Path, Path]:
    """Write ``out/foreign-parquet`` and ``out/foreign-csv``; returns the two folders."""
    rng = np.random.default_rng(seed)
    parquet, csv = out / "foreign-parquet", out / "foreign-csv"
    for folder in (parquet, csv):
        folder.mkdir(parents=True, exist_ok=True)
        write_model(folder, timezone, seed)

    d = make_deals(rng, n_deals)
    deals = pd.DataFrame(
        {
            "deal_id": text_column(d["deal_id"], np.arange(n_deals)),
            "owner": text_column(d["owner_names"], d["owner"]),
            "team": text_column(d["team_names"], d["team"]),
            "created_at": timestamp_column(d["created"]),
            "amount": d["amount"],
        }
    )

    deal, seconds, code, end = make_stage_changes(rng, d["created"])
    rows = with_duplicates(rng, len(deal), n_duplicates(len(deal)))
    stage_changes = pd.DataFrame(
        {
            "deal_id": text_column(d["deal_id"], deal[rows]),
            "changed_at": timestamp_column(seconds[rows]),
            "stage": text_column(ALL_STAGES, code[rows]),
        }
    )

    n_repeated = n_duplicates(n_activities)
    deal, seconds, kind, outcome, direction = make_activities(rng, d["created"], end, n_activities - n_repeated)
    rows = with_duplicates(rng, len(deal), n_repeated)
    activities = pd.DataFrame(
        {
            "deal_id": text_column(d["deal_id"], deal[rows]),
            "occurred_at": timestamp_column(seconds[rows]),
            "kind": text_column(KINDS, kind[rows]),
            "outcome": text_column(["advanced", "stayed", "regressed"], outcome[rows]),
            "direction": text_column(["inbound", "outbound"], direction[rows]),
        }
    )

    deal, seconds, day = make_close_date_changes(rng, d["created"], end)
    rows = with_duplicates(rng, len(deal), n_duplicates(len(deal)))
    close_date = pa.array(day[rows].astype("int32"), pa.date32())
    close_date_changes = pd.DataFrame(
        {
            "deal_id": text_column(d["deal_id"], deal[rows]),
            "changed_at": timestamp_column(seconds[rows]),
            "close_date": pd.Series(pd.array(close_date, dtype=pd.ArrowDtype(pa.date32()))),
        }
    )

    tables = {
        "deals": deals,
        "stage_changes": stage_changes,
        "activities": activities,
        "close_date_changes": close_date_changes,
    }
    write_parquet(parquet, tables)
    write_csv(parquet, csv, timezone)
    return parquet, csv


def main() -> None:
    """Parse the flags, write the log, say where it went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=10_000_000, help="activity rows, duplicates included")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timezone", default="UTC", help="the log's time zone (salesmetrics.yaml; default UTC)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data"), help="parent of the two log folders")
    args = parser.parse_args()
    started = time.perf_counter()
    parquet, csv = make(args.out, args.deals, args.activities, args.seed, args.timezone)
    print(f"wrote {parquet} and {csv} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
