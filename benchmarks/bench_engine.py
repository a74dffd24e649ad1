"""Benchmark: salesmetrics commands on a log it did not write, as whole processes, against plain DuckDB (issue 16).

Each run is a fresh process (start-up and imports included) started by a small launcher that reports the
run's wall time and the peak resident memory of its process tree (``resource.getrusage(RUSAGE_CHILDREN)``).
The cases alternate within each round, so a busy machine slows them alike, and each ratio is the median of the
per-round ratios. The references are written here, independently of salesmetrics' own SQL: DuckDB with 2
threads over the same files, ``read_parquet`` or ``read_csv`` (typed columns), timestamps of any unit, exact
duplicate rows dropped where they would change the numbers (the activities' with ``SELECT DISTINCT``, so the
references give salesmetrics' numbers: decision 0068; ``--bare-reference`` keeps them, as issue 16's first
figures did).

Cases (each on the Parquet and on the CSV folder, except ``validate``: CSV only):

- ``deal``: ``salesmetrics score LOG --by deal`` against one per-deal query writing the same columns (goal
  1.5x, peak under 2 GiB). Before it the log's files are touched (a new modification time, as a fresh export
  has) a few seconds before the run, so the remembered validation of an earlier run (``log/remembered.py``)
  cannot serve it;
- ``rescore``: the same command again right after (the log unchanged: the first run's validation is
  remembered), against the same query (goal 1.2x);
- ``owner``: ``salesmetrics score LOG --by owner --period M``, on files touched again, against a group query:
  movements and motions per owner and month (goal 2x, peak under 2 GiB);
- ``validate``: ``salesmetrics validate LOG`` on the CSV folder against a DuckDB read of every column of every
  table (goal 2x); the same runs are also shown against plain DuckDB making the same checks (every table read
  typed into memory, exact repeated rows counted, unknown deals, events before their deal, vocabularies, blanks,
  time range: decision 0070), which no goal of the issue names; then ``validate`` again on the unchanged files
  (its answer remembered: decision 0051's amendment) against the plain read (goal 1.2x, as re-scoring);
- ``report`` (only with ``--report``): ``salesmetrics report pipeline_health LOG --out DIR --overwrite``
  (goal under 30 s, no reference).

A case that runs over ``--timeout`` seconds is killed, reported as such, and not run again in later rounds.
After the rounds the per-deal numbers of salesmetrics and the reference are compared (and the owner-month
movements and motions), so the reference is known to compute the same thing.

    python benchmarks/make_foreign_log.py        # once: benchmarks/data/foreign-parquet and foreign-csv
    python benchmarks/bench_engine.py [--repeat 3] [--cases deal,rescore,owner,validate] [--report]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from salesmetrics.log.remembered import RACY_SECONDS

GIB_MIB = 2048
ALL_CASES = ("deal", "rescore", "owner", "validate", "report")
TABLES = ("deals", "stage_changes", "activities", "close_date_changes")
# the columns the references read with a known type (CSV); any other column is read as DuckDB detects it
CSV_TYPES = {
    "deals": {"deal_id": "VARCHAR", "owner": "VARCHAR", "created_at": "TIMESTAMPTZ"},
    "stage_changes": {"deal_id": "VARCHAR", "changed_at": "TIMESTAMPTZ", "stage": "VARCHAR"},
    "activities": {"deal_id": "VARCHAR", "occurred_at": "TIMESTAMPTZ"},
    "close_date_changes": {"deal_id": "VARCHAR", "changed_at": "TIMESTAMPTZ", "close_date": "VARCHAR"},
}
# validate's reference reads every column with its type
READ_TYPES = {
    **CSV_TYPES,
    "deals": {**CSV_TYPES["deals"], "amount": "DOUBLE"},
    "close_date_changes": {**CSV_TYPES["close_date_changes"], "close_date": "DATE"},
}
US_PER_DAY = 86_400_000_000

# Runs one command and reports its time and peak memory: this launcher's only child is the command, so the
# largest resident size among its (waited-for) descendants is the command's own.
LAUNCHER = """
import json, resource, subprocess, sys, time
timeout = float(sys.argv[1])
t = time.perf_counter()
try:
    done = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=timeout)
    status = "ok" if done.returncode == 0 else "failed"
    error = "" if done.returncode == 0 else (done.stderr or done.stdout)[-2000:]
except subprocess.TimeoutExpired:
    status, error = "timeout", ""
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mib": peak, "status": status, "error": error}))
"""


# ---------------------------------------------------------------------------------------------- references


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: list[str]) -> str:
    """A SQL list of string literals, ``('a', 'b')``."""
    return "(" + ", ".join(sql_text(v) for v in values) + ")"


def table_source(folder: Path, table: str, numbered: bool = False, types: dict | None = None) -> str:
    """DuckDB's read of one table of the log, CSV or Parquet; ``numbered`` adds the row's file position ``r``.

    CSV columns get the types of ``types`` (default ``CSV_TYPES``); the others are as DuckDB detects them.
    """
    parquet = folder / f"{table}.parquet"
    if parquet.exists():
        path = sql_text(parquet.as_posix())
        if numbered:
            return f"(SELECT *, file_row_number AS r FROM read_parquet({path}, file_row_number = true))"
        return f"read_parquet({path})"
    typed = (types or CSV_TYPES)[table]
    listed = "{" + ", ".join(f"{sql_text(k)}: {sql_text(v)}" for k, v in typed.items()) + "}"
    source = f"read_csv({sql_text((folder / f'{table}.csv').as_posix())}, header = true, types = {listed})"
    # a CSV scan keeps the file's order (DuckDB preserves insertion order), so row_number() is the position
    return f"(SELECT *, row_number() OVER () - 1 AS r FROM {source})" if numbered else source


def read_model(folder: Path) -> dict:
    """The stage model of the log (``salesmetrics.yaml``), with the defaults of docs/log-format.md."""
    import yaml

    model = yaml.safe_load((folder / "salesmetrics.yaml").read_text(encoding="utf-8"))
    model.setdefault("won", ["Won"])
    model.setdefault("lost", ["Lost"])
    model.setdefault("timezone", "UTC")
    return model


def local_month(column: str, timezone: str) -> str:
    """SQL for the month of a timestamp column in ``timezone``, as an index: ``year * 12 + month - 1``.

    A UTC log needs no time-zone conversion: the wall-clock time is the instant (2.5 times faster than
    ``AT TIME ZONE 'UTC'`` on 10M rows); any other zone goes through DuckDB's ``AT TIME ZONE``.
    """
    if timezone == "UTC":
        local = f"make_timestamp(epoch_us(CAST({column} AS TIMESTAMPTZ)))"
    else:
        local = f"(CAST({column} AS TIMESTAMPTZ) AT TIME ZONE {sql_text(timezone)})"
    return f"(year({local}) * 12 + month({local}) - 1)"


def load_events(con, folder: Path, model: dict, by_month: bool, dedupe_activities: bool) -> None:
    """Temp tables for the references (times ``t`` in microseconds since the epoch, whatever the file's unit):

    - ``d`` (deal_id, owner, created, r);
    - ``s`` (deal_id, t, r, month, stage, kind): stage entries, exact duplicates dropped (the first copy keeps
      its place: with ties in time a later copy would change the order), classified as in
      docs/decisions/0006-movements.md;
    - ``c`` (deal_id, t, r, day): close-date changes, exact duplicates dropped;
    - ``a`` (deal_id, [month,] motions, latest): activities per deal (and month). Their exact duplicates are
      kept unless ``dedupe_activities``: that is the plain query of issue 16, and they change only ``motions``.
    """
    stages, won, lost, timezone = model["stages"], model["won"], model["lost"], model["timezone"]
    ranks = " ".join(f"WHEN {sql_text(s)} THEN {i}" for i, s in enumerate(stages))
    won_rank, lost_rank = f"WHEN stage IN {sql_list(won)} THEN {len(stages)}", f"WHEN stage IN {sql_list(lost)} THEN -1"
    rank = f"CASE {won_rank} {lost_rank} ELSE CASE stage {ranks} END END"
    epoch = "epoch_us(CAST({} AS TIMESTAMPTZ))"
    con.execute(
        f"CREATE TEMP TABLE d AS SELECT deal_id, owner, {epoch.format('created_at')} AS created, r "
        f"FROM {table_source(folder, 'deals', numbered=True)}"
    )
    same_kind = f"(stage IN {sql_list(won)} AND lag(stage) OVER w IN {sql_list(won)}) OR " + (
        f"(stage IN {sql_list(lost)} AND lag(stage) OVER w IN {sql_list(lost)})"
    )
    con.execute(
        f"""CREATE TEMP TABLE s AS
        WITH x AS (SELECT deal_id, changed_at, stage, min(r) AS r
                   FROM {table_source(folder, "stage_changes", numbered=True)} GROUP BY ALL),
        e AS (SELECT deal_id, {epoch.format("changed_at")} AS t, r, {local_month("changed_at", timezone)} AS month,
                     stage, {rank} AS rk FROM x)
        SELECT deal_id, t, r, month, stage, CASE WHEN lag(stage) OVER w IS NULL THEN 'add'
            WHEN stage = lag(stage) OVER w OR {same_kind} THEN 'repeat'
            WHEN stage IN {sql_list(lost)} THEN 'loss' WHEN rk > lag(rk) OVER w THEN 'advance'
            WHEN rk < lag(rk) OVER w THEN 'regression' ELSE 'repeat' END AS kind
        FROM e WINDOW w AS (PARTITION BY deal_id ORDER BY t, r)"""
    )
    day = "date_diff('day', DATE '1970-01-01', CAST(CAST(close_date AS TIMESTAMPTZ) AS DATE))"
    con.execute(
        f"""CREATE TEMP TABLE c AS
        SELECT deal_id, {epoch.format("changed_at")} AS t, min(r) AS r, {day} AS day
        FROM {table_source(folder, "close_date_changes", numbered=True)} GROUP BY ALL"""
    )
    activities = table_source(folder, "activities")
    if dedupe_activities:
        activities = f"(SELECT DISTINCT * FROM {activities})"
    month = f"{local_month('occurred_at', timezone)} AS month, " if by_month else ""
    con.execute(
        f"""CREATE TEMP TABLE a AS
        SELECT deal_id, {month}count(*) AS motions, max({epoch.format("occurred_at")}) AS latest
        FROM {activities} GROUP BY ALL"""
    )


def per_deal_sql(model: dict) -> str:
    """The per-deal query over the temp tables of :func:`load_events`: the columns of ``score --by deal``."""
    won, open_stages = sql_list(model["won"]), sql_list(model["stages"])
    latest = "max(created), (SELECT max(t) FROM s), (SELECT max(t) FROM c), (SELECT max(latest) FROM a)"
    now = f"(SELECT greatest({latest}) FROM d)"
    return f"""
    WITH ks AS (SELECT deal_id, count(*) FILTER (kind = 'add') AS adds, count(*) FILTER (kind = 'advance') AS adv,
                  count(*) FILTER (kind = 'regression') AS reg, count(*) FILTER (kind = 'loss') AS los,
                  count(*) FILTER (kind = 'advance' AND stage IN {won}) AS wins,
                  max(t) FILTER (kind <> 'repeat') AS moved, arg_max(stage, (t, r)) AS cur
                FROM s GROUP BY deal_id),
    an AS (SELECT deal_id, sum(motions) AS n FROM a GROUP BY deal_id),
    cd AS (SELECT deal_id, day - lag(day) OVER (PARTITION BY deal_id ORDER BY t, r) AS step FROM c),
    cs AS (SELECT deal_id, count(*) FILTER (step > 0) AS pushes, coalesce(sum(step) FILTER (step > 0), 0) AS pushed,
                  count(*) FILTER (step < 0) AS pulls FROM cd GROUP BY deal_id),
    now_ AS (SELECT {now} AS t)
    SELECT d.deal_id, d.owner, cur AS current_stage, coalesce(cur IN {open_stages}, false) AS is_open,
      ((SELECT t FROM now_) - created)::DOUBLE / {US_PER_DAY}.0 AS age_days,
      (coalesce(adds, 0) + coalesce(adv, 0) + coalesce(reg, 0) + coalesce(los, 0))::BIGINT AS movements,
      coalesce(adds, 0)::BIGINT AS adds, coalesce(adv, 0)::BIGINT AS advances, coalesce(reg, 0)::BIGINT AS regressions,
      coalesce(wins, 0)::BIGINT AS wins, coalesce(los, 0)::BIGINT AS losses, coalesce(n, 0)::BIGINT AS motions,
      CASE WHEN adds + adv + reg + los > 0 THEN coalesce(n, 0)::DOUBLE / (adds + adv + reg + los) END
        AS motion_per_movement,
      ((SELECT t FROM now_) - moved)::DOUBLE / {US_PER_DAY}.0 AS days_since_movement,
      coalesce(pushes, 0)::BIGINT AS close_date_pushes, coalesce(pushed, 0)::BIGINT AS days_pushed,
      coalesce(pulls, 0)::BIGINT AS close_date_pulls
    FROM d LEFT JOIN ks USING (deal_id) LEFT JOIN an USING (deal_id) LEFT JOIN cs USING (deal_id)
    ORDER BY d.r"""


def per_owner_month_sql(model: dict) -> str:
    """Movements (by kind) and motions per owner and month (in the log's time zone) over :func:`load_events`."""
    won = sql_list(model["won"])
    return f"""
    WITH m AS (SELECT d.owner, s.month, count(*) FILTER (kind = 'add') AS adds,
                 count(*) FILTER (kind = 'advance') AS advances, count(*) FILTER (kind = 'regression') AS regressions,
                 count(*) FILTER (kind = 'advance' AND stage IN {won}) AS wins,
                 count(*) FILTER (kind = 'loss') AS losses
               FROM s JOIN d USING (deal_id) GROUP BY ALL),
    n AS (SELECT d.owner, a.month, sum(a.motions) AS motions FROM a JOIN d USING (deal_id) GROUP BY ALL)
    SELECT owner, printf('%04d-%02d', month // 12, month % 12 + 1) AS period,
      coalesce(adds, 0) AS adds, coalesce(advances, 0) AS advances,
      coalesce(regressions, 0) AS regressions, coalesce(wins, 0) AS wins, coalesce(losses, 0) AS losses,
      coalesce(adds + advances + regressions + losses, 0) AS movements, coalesce(motions, 0) AS motions,
      (coalesce(adds + advances + regressions + losses, 0) / motions)::DOUBLE AS movement_per_motion
    FROM m FULL JOIN n USING (owner, month) ORDER BY owner, period"""


def read_all_sql(folder: Path) -> list[str]:
    """Queries reading every column of every table of the log, typed (the reference of ``validate``)."""
    return [f"SELECT count(*), count(COLUMNS(*)) FROM {table_source(folder, t, types=READ_TYPES)}" for t in TABLES]


def same_checks_sql(folder: Path, model: dict) -> list[str]:
    """Statements making, in plain DuckDB, the checks ``salesmetrics validate`` makes (a second reference of
    ``validate``, decision 0070): every table read once, typed, into a temp table; then per table its row count,
    its exact repeated rows, missing required values, values outside a vocabulary, negative amounts, repeated deal
    ids, rows of deals the deals table does not list, events before their deal's creation, and the time range.
    Text is taken as written (no trimming), which validation's checks also do in their fast path."""
    stages = sql_list([*model["stages"], *model["won"], *model["lost"]])
    outcomes, directions = sql_list(["advanced", "stayed", "regressed"]), sql_list(["inbound", "outbound"])
    statements = [f"CREATE TEMP TABLE {t} AS SELECT * FROM {table_source(folder, t, types=READ_TYPES)}" for t in TABLES]
    blank = "({0} IS NULL OR {0} = '')".format
    statements.append(
        f"SELECT count(*), count(*) - count(DISTINCT deal_id), count(*) FILTER (WHERE {blank('deal_id')} OR "
        f"{blank('owner')} OR created_at IS NULL OR amount < 0), epoch_us(min(created_at)), "
        "epoch_us(max(created_at)) FROM deals"
    )
    events = {
        "stage_changes": ("changed_at", f"stage IS NULL OR stage NOT IN {stages}"),
        "close_date_changes": ("changed_at", "close_date IS NULL"),
        "activities": (
            "occurred_at",
            f"{blank('kind')} OR outcome NOT IN {outcomes} OR direction NOT IN {directions}",
        ),
    }
    for table, (at, bad) in events.items():
        statements.append(
            f"SELECT count(*), count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM {table})), "
            f"count(*) FILTER (WHERE {blank('e.deal_id')} OR e.{at} IS NULL OR {bad}), "
            f"count(*) FILTER (WHERE d.deal_id IS NULL), count(*) FILTER (WHERE e.{at} < d.created_at), "
            f"epoch_us(min(e.{at})), epoch_us(max(e.{at})) "
            f"FROM {table} e LEFT JOIN (SELECT DISTINCT deal_id, created_at FROM deals) d USING (deal_id)"
        )
    return statements


def reference(kind: str, folder: Path, out: Path, dedupe_activities: bool = False) -> None:
    """Run one reference in this process: ``deal`` and ``owner`` write ``out`` (Parquet), ``read`` reads only."""
    import duckdb

    model = read_model(folder)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"SET TimeZone = {sql_text(model['timezone'])}")
    if kind in ("read", "checks"):
        for query in read_all_sql(folder) if kind == "read" else same_checks_sql(folder, model):
            con.execute(query).fetchall()
        return
    load_events(con, folder, model, by_month=kind == "owner", dedupe_activities=dedupe_activities)
    query = per_deal_sql(model) if kind == "deal" else per_owner_month_sql(model)
    con.execute(f"COPY ({query}) TO {sql_text(out.as_posix())} (FORMAT parquet)")


# ---------------------------------------------------------------------------------------------- the runs


@dataclass
class Case:
    """One row of the table: a command, the reference it is measured against, its goal and its runs."""

    name: str
    folder: Path
    command: list[str]
    reference: str | None  # the key of the reference case, None for an absolute goal
    goal: float  # a ratio, or seconds when there is no reference
    memory_goal: bool = False  # peak under 2 GiB too
    shares_runs: bool = False  # the runs are another case's (set to its list), measured against another reference
    runs: list[dict] = field(default_factory=list)

    def timed_out(self) -> bool:
        """Whether a run of this case went over the timeout (it is then not run again)."""
        return any(r["status"] == "timeout" for r in self.runs)


def run(command: list[str], timeout: float) -> dict:
    """Run ``command`` in a fresh launcher process; its seconds, peak MiB and status (ok, failed, timeout)."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(timeout), *command], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def touch(folder: Path) -> None:
    """Give the log's files a new modification time, as a fresh export of the same data would have."""
    for path in folder.iterdir():
        if path.is_file():
            os.utime(path)


def build_cases(args, tmp: Path) -> tuple[dict[str, Case], dict[str, Case]]:
    """The references and the salesmetrics cases to run, in the order they alternate within a round."""
    exe = str(Path(sys.executable).with_name("salesmetrics"))
    me = str(Path(__file__).resolve())
    refs: dict[str, Case] = {}
    cases: dict[str, Case] = {}
    for fmt, folder in (("parquet", args.parquet), ("csv", args.csv)):
        if folder is None:
            continue

        def ref(kind: str, fmt=fmt, folder=folder) -> str:
            key = f"{kind}-{fmt}"
            if key not in refs:
                command = [sys.executable, me, "--reference", kind, str(folder), str(tmp / f"ref-{key}.parquet")]
                if args.bare_reference:
                    command.append("--bare-reference")
                refs[key] = Case(f"duckdb {kind} ({fmt})", folder, command, None, 0)
            return key

        score = [exe, "score", str(folder), "--quiet", "--overwrite", "--out"]
        if "deal" in args.cases or "rescore" in args.cases:
            deal = [*score, str(tmp / f"deal-{fmt}.parquet"), "--by", "deal"]
            cases[f"deal-{fmt}"] = Case(f"score --by deal ({fmt})", folder, deal, ref("deal"), 1.5, True)
            if "rescore" in args.cases:
                again = f"score --by deal, again, log unchanged ({fmt})"
                cases[f"rescore-{fmt}"] = Case(again, folder, deal, ref("deal"), 1.2, True)
        if "owner" in args.cases:
            owner = [*score, str(tmp / f"owner-{fmt}.parquet"), "--by", "owner", "--period", "M"]
            cases[f"owner-{fmt}"] = Case(f"score --by owner --period M ({fmt})", folder, owner, ref("owner"), 2.0, True)
        if "validate" in args.cases and fmt == "csv":
            validate = [exe, "validate", str(folder), "--quiet"]
            cases[f"validate-{fmt}"] = Case(f"validate ({fmt})", folder, validate, ref("read"), 2.0)
            # the same runs against plain DuckDB making the same checks (decision 0070): shown, no goal of the issue
            same = Case(f"validate ({fmt}) against the same checks", folder, validate, ref("checks"), 2.0)
            same.runs, same.shares_runs = cases[f"validate-{fmt}"].runs, True
            cases[f"validate-checks-{fmt}"] = same
            # right after, the files unchanged: the answer is remembered (decision 0051's amendment)
            again = f"validate, again, log unchanged ({fmt})"
            cases[f"revalidate-{fmt}"] = Case(again, folder, validate, ref("read"), 1.2)
        if "report" in args.cases:
            report = [exe, "report", "pipeline_health", str(folder), "--out", str(tmp / f"report-{fmt}")]
            cases[f"report-{fmt}"] = Case(f"report pipeline_health ({fmt})", folder, [*report, "--overwrite"], None, 30)
    return refs, cases


def one_round(refs: dict[str, Case], cases: dict[str, Case], timeout: float) -> None:
    """Run every case and reference once, each salesmetrics case followed by its reference."""
    done: set[str] = set()
    for key, case in cases.items():
        if case.timed_out():
            continue
        if case.shares_runs:
            if case.reference not in done:
                run_reference(refs[case.reference], timeout)
                done.add(case.reference)
            continue
        if key.startswith(("deal-", "owner-", "validate-")):
            # the first run sees a "new" export, written a few seconds before (salesmetrics does not remember
            # the validation of files changed within RACY_SECONDS of reading them: log/remembered.py)
            touch(case.folder)
            time.sleep(RACY_SECONDS + 1)
        case.runs.append(run(case.command, timeout))
        if case.runs[-1]["status"] == "failed":
            print(f"{case.name} failed:\n{case.runs[-1]['error']}", file=sys.stderr)
        if case.reference and case.reference not in done and not key.startswith("deal-"):
            run_reference(refs[case.reference], timeout)
            done.add(case.reference)
    for key, ref in refs.items():  # a reference no case ran after (deal without rescore)
        if key not in done:
            run_reference(ref, timeout)


def run_reference(ref: Case, timeout: float) -> None:
    """Run a reference once (a failure is shown: it would be a bug of this benchmark)."""
    ref.runs.append(run(ref.command, timeout))
    if ref.runs[-1]["status"] == "failed":
        print(f"{ref.name} failed:\n{ref.runs[-1]['error']}", file=sys.stderr)


def summary_row(case: Case, refs: dict[str, Case], timeout: float) -> list[str]:
    """The table row of a case: seconds, peak, reference seconds, ratio, goal, met."""
    ok = [r for r in case.runs if r["status"] == "ok"]
    peak = max((r["peak_mib"] for r in case.runs), default=float("nan"))
    if case.timed_out():
        seconds = f"> {timeout:.0f} (timeout)"
    elif not ok:
        seconds = "failed"
    else:
        seconds = f"{statistics.median(r['seconds'] for r in ok):.2f}"
    goal = f"<= {case.goal:g}x" if case.reference else f"< {case.goal:g} s"
    if case.memory_goal:
        goal += ", < 2 GiB"
    if case.reference is None:
        met = bool(ok) and len(ok) == len(case.runs) and statistics.median(r["seconds"] for r in ok) < case.goal
        return [case.name, seconds, f"{peak:.0f}", "", "", goal, "yes" if met else "no"]
    ref = refs[case.reference]
    ref_ok = [r for r in ref.runs if r["status"] == "ok"]
    ref_seconds = f"{statistics.median(r['seconds'] for r in ref_ok):.2f}" if ref_ok else "failed"
    pairs = [
        (r["seconds"], f["seconds"])
        for r, f in zip(case.runs, ref.runs, strict=False)
        if r["status"] == "ok" and f["status"] == "ok"
    ]
    if case.timed_out() or not pairs:
        return [case.name, seconds, f"{peak:.0f}", ref_seconds, "-", goal, "no"]
    ratio = statistics.median(mine / theirs for mine, theirs in pairs)
    if case.shares_runs:  # a second reading of another case's runs: no goal of the issue (decision 0070)
        return [case.name, seconds, f"{peak:.0f}", ref_seconds, f"{ratio:.2f}", "(none)", "-"]
    met = len(ok) == len(case.runs) and ratio <= case.goal and (not case.memory_goal or peak < GIB_MIB)
    return [case.name, seconds, f"{peak:.0f}", ref_seconds, f"{ratio:.2f}", goal, "yes" if met else "no"]


# ---------------------------------------------------------------------------------------------- checks


def repeated_activities(folder: Path) -> dict[str, int]:
    """How many activity rows of each deal repeat an earlier row exactly (deals without any left out)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    source = table_source(folder, "activities")
    columns = ", ".join(f'"{row[0]}"' for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall())
    rows = con.execute(
        f"SELECT deal_id, sum(n - 1) FROM (SELECT {columns}, count(*) AS n FROM {source} GROUP BY ALL "
        f"HAVING count(*) > 1) GROUP BY deal_id"
    ).fetchall()
    return {deal: int(n) for deal, n in rows}


def compare_outputs(tmp: Path, fmt: str, folder: Path, dedupe_activities: bool) -> list[str]:
    """Whether salesmetrics and the references gave the same numbers (when both outputs exist).

    Unless the references dropped repeated activities too, their motions are higher by exactly the repeats.
    """
    import pandas as pd

    lines = []
    repeats = {} if dedupe_activities else repeated_activities(folder)
    kept = "" if dedupe_activities else f" once the {sum(repeats.values())} repeated activity rows are taken off"
    mine, ref = tmp / f"deal-{fmt}.parquet", tmp / f"ref-deal-{fmt}.parquet"
    if mine.exists() and ref.exists():
        a, b = pd.read_parquet(mine), pd.read_parquet(ref)
        b["motions"] -= b["deal_id"].map(repeats).fillna(0).astype("int64")
        b["motion_per_movement"] = (b["motions"] / b["movements"]).where(b["movements"] > 0)
        try:
            pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-12)
            lines.append(f"per-deal numbers ({fmt}): identical to the reference{kept}")
        except AssertionError as error:
            lines.append(f"per-deal numbers ({fmt}): DIFFERENT from the reference: {str(error).splitlines()[:4]}")
    mine, ref = tmp / f"owner-{fmt}.parquet", tmp / f"ref-owner-{fmt}.parquet"
    if mine.exists() and ref.exists():
        movements = ["adds", "advances", "regressions", "wins", "losses", "movements"]
        a = pd.read_parquet(mine).set_index(["owner", "period"])[[*movements, "motions"]].astype("int64")
        a = a[(a != 0).any(axis=1)].sort_index()  # salesmetrics lists quiet months too, the reference does not
        b = pd.read_parquet(ref).set_index(["owner", "period"])[[*movements, "motions"]].astype("int64")
        b = b[(b != 0).any(axis=1)].sort_index()
        extra = b["motions"] - a["motions"].reindex(b.index, fill_value=0)
        same = a.index.equals(b.index) and a[movements].equals(b[movements])
        same = same and extra.min() >= 0 and extra.sum() == sum(repeats.values())
        verdict = "identical to" if same else "DIFFERENT from"
        lines.append(f"owner-month movements and motions ({fmt}): {verdict} the reference{kept}")
    return lines


# ---------------------------------------------------------------------------------------------- main


def round_text(result: dict) -> str:
    """One run's seconds, or how it ended when it did not."""
    return f"{result['seconds']:.2f}" if result["status"] == "ok" else result["status"]


def markdown_table(rows: list[list[str]]) -> str:
    """Rows as a markdown table under the benchmark's header."""
    header = ["case", "median s", "peak MiB", "reference s", "ratio", "goal", "met?"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parquet", type=Path, default=Path("benchmarks/data/foreign-parquet"))
    parser.add_argument("--csv", type=Path, default=Path("benchmarks/data/foreign-csv"))
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--cases", default="deal,rescore,owner,validate", help=f"comma-separated, of {', '.join(ALL_CASES)}"
    )
    parser.add_argument("--report", action="store_true", help="add the report case (slow today)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a run may take (default 300)")
    parser.add_argument("--formats", default="parquet,csv", help="which of the two folders to use")
    parser.add_argument(
        "--bare-reference",
        action="store_true",
        help="the references keep exact duplicate activities (other motions than salesmetrics'; default: "
        "SELECT DISTINCT drops them, so both give the same numbers: decision 0068)",
    )
    parser.add_argument("--reference", nargs=3, metavar=("KIND", "LOG", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()] + (["report"] if args.report else [])
    unknown = set(args.cases) - set(ALL_CASES)
    if unknown:
        parser.error(f"unknown case(s) {', '.join(sorted(unknown))}; choose from {', '.join(ALL_CASES)}")
    formats = {f.strip() for f in args.formats.split(",")}
    args.parquet = args.parquet if "parquet" in formats else None
    args.csv = args.csv if "csv" in formats else None
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the rounds and print the table, the checks, the load and the command line."""
    args = parse_args(argv)
    if args.reference:
        kind, folder, out = args.reference
        reference(kind, Path(folder), Path(out), not args.bare_reference)
        return
    for folder in (args.parquet, args.csv):
        if folder is not None and not (folder / "salesmetrics.yaml").exists():
            sys.exit(f"No log at {folder}; run: python benchmarks/make_foreign_log.py")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        refs, cases = build_cases(args, Path(tmp))
        for number in range(args.repeat):
            print(f"round {number + 1} of {args.repeat} ...", file=sys.stderr, flush=True)
            one_round(refs, cases, args.timeout)
        checks = []
        for fmt, folder in (("parquet", args.parquet), ("csv", args.csv)):
            if folder is not None:
                checks += compare_outputs(Path(tmp), fmt, folder, not args.bare_reference)
    load_after = os.getloadavg()
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    folders = ", ".join(str(f) for f in (args.parquet, args.csv) if f is not None)
    print(f"logs: {folders}; median of {args.repeat} alternating round(s), a fresh process per run")
    print(f"load average (1/5/15 min, 2 cores): before {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")  # fmt: skip
    print()
    print(markdown_table([summary_row(case, refs, args.timeout) for case in cases.values()]))
    print()
    if refs:
        shown = [summary_row(r, refs, args.timeout) for r in refs.values()]
        print("references: " + "; ".join(f"{row[0]} {row[1]} s, peak {row[2]} MiB" for row in shown))
    print("seconds of each round:")
    for case in [*cases.values(), *refs.values()]:
        print(f"  {case.name}: " + " ".join(round_text(r) for r in case.runs))
    for line in checks:
        print(line)


if __name__ == "__main__":
    main()
