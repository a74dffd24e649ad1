"""``salesmetrics validate`` on a log the relational core vouches for: the same problems and summary, from SQL.

:func:`quick_check` loads a log folder into DuckDB with :func:`salesmetrics.log.core.load`. When the core
vouches for the log (validation would accept it), the warnings such a log can carry and the summary
(:meth:`salesmetrics.log.saleslog.SalesLog.summary`) are computed by queries over the core's tables, without
reading the log into pandas; the answer is kept beside the remembered validation of these files
(:mod:`salesmetrics.log.remembered`), and the next :func:`quick_check` of the same files gives it without reading
them (decision 0051's amendment). The warnings, in validation's order, with its words
(:mod:`salesmetrics.log.validation`):

- ``config_unknown_key``: from :func:`~salesmetrics.log.config.load_config`, as validation reads it;
- ``empty_table``: an optional table whose file has a header and no rows (and stage_changes of a snapshot export);
- ``duplicate_rows``: exact duplicate rows, per table (the core drops them from the small tables; the
  activities' are found here);
- ``event_before_creation``: per event table, rows dated before their deal's created_at;
- ``deal_without_stages`` and ``missing_created_at``;
- the quotas table's (``unknown_quota_owner``, ``unknown_quota_team``): from
  :func:`~salesmetrics.log.quotas.check_quotas` itself, given the deals' owners and teams.

Every other warning validation knows comes from something the core declines (text read as another encoding,
spreadsheet dates or day numbers). Whenever the answer could
differ from validation's, :func:`quick_check` returns None and the caller runs
:func:`salesmetrics.log.saleslog.check_log`: the core declines the log or a check fails, an activity names an
unknown deal, a table has columns beside the log format's (their text is compared as pandas reads it), an amount
is NaN, a CSV file's records are not one per line where rows must be named, an activity time without a zone
would have to be compared with a created_at, or DuckDB fails.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pandas as pd

from salesmetrics.exceptions import MAX_SHOWN, Problem, ProblemList
from salesmetrics.log.config import StageModel, load_config
from salesmetrics.log.core import SPECS, Core, find_duplicate_activities, find_files, load, table_file
from salesmetrics.log.files import table_files
from salesmetrics.log.quotas import check_quotas
from salesmetrics.log.readers import _newlines
from salesmetrics.log.remembered import cache_folder, fingerprint, recall_answer
from salesmetrics.log.saleslog import LogSummary, check_log
from salesmetrics.log.schemas import EVENT_TIME
from salesmetrics.log.sql import connect
from salesmetrics.log.validation import (
    deal_without_stages_problem,
    duplicate_rows_problem,
    empty_table_problem,
    event_before_creation_problem,
    missing_created_at_problem,
)

SMALL_TABLES = ("deals", "stage_changes", "close_date_changes", "amount_changes")


class Decline(Exception):
    """The quick check cannot vouch for an answer identical to validation's: the caller validates in full."""


def quick_check(folder) -> tuple[LogSummary, ProblemList] | None:
    """The summary and problems ``check_log`` would give a log folder it accepts, computed in DuckDB; None when
    the log is not one this check can answer for (the caller then runs :func:`~salesmetrics.log.saleslog.check_log`)."""

    folder = Path(folder)
    kept = _remembered_answer(folder)
    if kept is not None:
        return kept

    def answer(checked: _Checked) -> tuple[LogSummary, ProblemList]:
        return _summary(checked), checked.problems

    return _through_core(folder, answer, lambda found: {ANSWER: _answer_to_json(*found)})


ANSWER = "validate"  # the key of validate's answer beside a remembered validation


def _remembered_answer(folder: Path) -> tuple[LogSummary, ProblemList] | None:
    """``validate``'s answer kept for these very files by an earlier run (:mod:`salesmetrics.log.remembered`:
    the files, their configuration and quotas, and the code that reads them are unchanged), else None."""
    if not folder.is_dir() or cache_folder() is None:
        return None
    model, config_problems = load_config(folder)
    paths = find_files(folder)
    if model is None or paths is None or any(p.severity == "error" for p in config_problems):
        return None
    kept = recall_answer(fingerprint(folder, paths, model), ANSWER)
    return None if kept is None else _answer_from_json(kept)


def _answer_to_json(summary: LogSummary, problems: ProblemList) -> dict:
    """``validate``'s answer as JSON values; times as microseconds since the epoch (see :func:`_answer_from_json`)."""
    kept = asdict(summary)
    for name in ("first_event", "last_event"):
        kept[name] = None if kept[name] is None else int(kept[name].value // 1000)
    return {"summary": kept, "problems": [p.to_dict() for p in problems]}


def _answer_from_json(kept: dict) -> tuple[LogSummary, ProblemList]:
    """The answer :func:`_answer_to_json` kept, as :func:`quick_check` gave it."""
    s = dict(kept["summary"])
    for name in ("first_event", "last_event"):
        s[name] = _timestamp(s[name], s["timezone"])
    for name in ("stages", "won", "lost", "notes", "warnings", "owner_names", "team_names"):
        s[name] = tuple(s[name])
    problems = ProblemList()
    for p in kept["problems"]:
        problems.add(Problem(**{**p, "rows": tuple(p["rows"]), "values": tuple(p["values"])}))
    return LogSummary(**s), problems


def core_tables(folder, activities: bool = True) -> tuple[StageModel, dict, ProblemList, int | None] | None:
    """A log folder as :func:`~salesmetrics.log.saleslog.check_log` would read it, from the relational core:
    ``(model, frames, problems, latest)``, with ``frames`` the tables validation makes (the activities only with
    ``activities``: :meth:`~salesmetrics.log.core.Core.frames`), ``problems`` its warnings and ``latest`` the
    latest event of the whole log (microseconds since the epoch; None when nothing is dated). None when the core
    cannot vouch for an answer identical to validation's: the caller then reads the log with pandas.

    A frame's index is each row's position in its file; a CSV file whose records are not one per line (a cell
    spanning lines, blank lines) has other row numbers in validation's frames, and a Parquet column written without
    a type (all missing, say in a file with no rows) becomes Python objects there: such logs are declined."""

    def answer(checked: _Checked):
        for name, path in checked.tables.paths.items():
            if name == "activities" and not activities:
                continue
            checked.tables.rows(name, [])  # declines a CSV file whose records are not its lines
            if path.suffix == ".parquet" and '"NULL"' in _table_file(checked.con, name, path).types.values():
                raise Decline
        frames = checked.core.frames(activities=activities)
        return checked.model, frames, checked.problems, _bounds(checked)[1]

    return _through_core(folder, answer)


def _through_core(folder, answer, kept=None):
    """``answer(checked)`` of a log folder the core vouches for, the connection still open (:class:`_Checked`);
    None when the core declines or a check does, or DuckDB fails. The core is remembered for the next command,
    with ``kept(answered)`` (JSON values by key) beside it when given."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    model, config_problems = load_config(folder)
    if model is None or any(p.severity == "error" for p in config_problems):
        return None
    con = connect()
    core = None
    try:
        core = load(con, folder, model, memory="keep")
        if core is None or not core.valid():
            return None
        answered = answer(_check(con, core, folder, model, config_problems))
        if answered is not None:  # the next score of these files skips the checks (log/remembered.py)
            core.keep(None if kept is None else kept(answered))
        return answered
    except (Decline, duckdb.Error):
        return None
    finally:
        if core is not None:
            core.settle()  # the duplicate search may still run when the log is declined
        con.close()


def validate(folder) -> tuple[LogSummary | None, ProblemList]:
    """What ``salesmetrics validate`` reports of a log folder: its summary (None when the log has errors) and its
    problems; from :func:`quick_check` when it answers, else from :func:`~salesmetrics.log.saleslog.check_log`."""
    answer = quick_check(folder)
    if answer is not None:
        return answer
    log, problems = check_log(folder)
    return (None if log is None else log.summary()), problems


class _Tables:
    """What the checks know of each loaded table file: its path, offset of row numbers, records as read."""

    def __init__(self, con, core: Core, folder: Path):
        self.paths = find_files(folder) or {}
        if set(self.paths) != set(core.columns):
            raise Decline
        # counted as the core read them (the activities' in _ActivityFacts), not read again
        self.records = {
            name: core.records[name] if name in core.records else _count_records(con, name, path)
            for name, path in self.paths.items()
            if name != "activities"
        }
        self.lines_checked: set[str] = set()  # CSV files known to hold one record per line

    def offset(self, name: str) -> int:
        """What turns a 0-based position into the row number validation shows: 2 for CSV, 1 for Parquet."""
        return 1 if self.paths[name].suffix == ".parquet" else 2

    def rows(self, name: str, positions) -> tuple[int, ...]:
        """Row numbers as validation shows them for 0-based ``positions`` of table ``name``'s file.

        A CSV file's rows are its lines only when each record is one line (no cell spanning lines, no blank
        line): otherwise validation numbers them by the line each starts on, and the check declines.
        """
        path = self.paths[name]
        if path.suffix == ".csv" and name not in self.lines_checked:
            if _newlines(path) != self.records[name] + 1:
                raise Decline
            self.lines_checked.add(name)
        return tuple(int(p) + self.offset(name) for p in positions)


def _table_file(con, name: str, path: Path):
    """How the core reads table ``name``'s file (:func:`~salesmetrics.log.core.table_file`); else declines."""
    table = table_file(con, name, path)
    if table is None:
        raise Decline
    return table


def _count_records(con, name: str, path: Path) -> int:
    """The number of records of a table file as DuckDB reads it (the core's own reading of the file)."""
    return int(con.execute(f"SELECT count(*) FROM {_table_file(con, name, path).source}").fetchall()[0][0])


@dataclass
class _Checked:
    """A log the core vouches for, checked: its problems as validation finds them, and what the checks learnt."""

    con: object
    core: Core
    model: StageModel
    tables: _Tables
    activities: _ActivityFacts | None
    problems: ProblemList


def _check(con, core: Core, folder: Path, model: StageModel, config_problems) -> _Checked:
    """The problems of a log the core vouches for (see the module docstring); raises :class:`Decline` when they
    could differ from validation's."""
    for name, columns in core.columns.items():
        if columns - set(SPECS[name].columns):
            raise Decline  # other columns: compared and summarised as pandas reads them (snapshot_stage...)
    for name in ("deals", "amount_changes"):
        has_amount = name in core.columns and "amount" in core.columns[name]
        if has_amount and con.execute(f"SELECT count(*) FROM {name} WHERE isnan(amount)").fetchall()[0][0]:
            raise Decline  # NaN is a missing amount to validation
    tables = _Tables(con, core, folder)
    activities, repeated = None, {}
    if core.has_activities:
        activities = _ActivityFacts(con, core, tables)
        tables.records["activities"] = activities.rows
        repeated["activities"] = activities.duplicates()  # waits for the search in its thread

    problems = ProblemList(list(config_problems))
    for name in ("stage_changes", "activities", "close_date_changes", "amount_changes"):
        if name in tables.paths and tables.records[name] == 0:  # stage_changes: a snapshot export's (the core checks)
            problems.add(empty_table_problem("warning", True, tables.paths[name].name))
    for name in ("deals", "stage_changes", "activities", "close_date_changes", "amount_changes"):
        if name not in tables.paths:
            continue
        n, first = repeated[name] if name in repeated else _dropped_rows(con, name, tables.records[name])
        if n:
            problems.add(duplicate_rows_problem(n, tables.rows(name, first), tables.paths[name].name))
    for name, column in EVENT_TIME.items():
        if name not in tables.paths:
            continue
        if name == "activities":
            n, first, ids = activities.before_creation()
        else:
            n, first, ids = _early_events(con, name)
        if n:
            file = tables.paths[name].name
            problems.add(event_before_creation_problem(n, tables.rows(name, first), ids, file, column))
    n, first = _count_and_first(con, "deal_id", "deals WHERE row NOT IN (SELECT code FROM stage_changes)")
    if n:
        shown = tuple(str(deal_id) for deal_id in first)
        problems.add(deal_without_stages_problem(n, shown, tables.paths["deals"].name))
    n, first = _count_and_first(con, "row", "deals WHERE created IS NULL")
    if n:
        problems.add(missing_created_at_problem(n, tables.rows("deals", first), tables.paths["deals"].name))
    if table_files(folder, "quotas"):  # the optional quotas table, checked as check_log checks it
        problems.extend(check_quotas(folder, _deal_owners(con, core))[1])
        if problems.errors:
            raise Decline
    return _Checked(con, core, model, tables, activities, problems)


def _count_and_first(con, column: str, rows: str) -> tuple[int, list]:
    """How many deals ``rows`` (SQL after FROM) holds, and ``column`` of the first few in file order."""
    n = con.execute(f"SELECT count(*) FROM {rows}").fetchall()[0][0]
    first = con.execute(f"SELECT {column} FROM {rows} ORDER BY row LIMIT {MAX_SHOWN}").fetchall() if n else []
    return n, [r[0] for r in first]


def _deal_owners(con, core: Core) -> pd.DataFrame:
    """The deals' owner and team columns, as the quotas check reads them."""
    team = "team" if "team" in core.columns["deals"] else "NULL::VARCHAR AS team"
    return con.execute(f"SELECT owner, {team} FROM deals ORDER BY row").df()


def _dropped_rows(con, name: str, records: int) -> tuple[int, list[int]]:
    """How many rows of a small table the core dropped as exact duplicates, and the first positions."""
    kept = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    if kept == records:
        return 0, []
    first = con.execute(
        f"SELECT range AS p FROM range({int(records)}) WHERE p NOT IN (SELECT row FROM {name}) ORDER BY p "
        f"LIMIT {MAX_SHOWN}"
    ).fetchall()
    return records - kept, [r[0] for r in first]


def _early_events(con, name: str) -> tuple[int, list[int], tuple[str, ...]]:
    """Rows of a small event table dated before their deal's created_at: count, first positions, their deal ids."""
    early = f"FROM {name} AS e JOIN deals AS d ON e.code = d.row WHERE e.t < d.created"
    n = con.execute(f"SELECT count(*) {early}").fetchall()[0][0]
    if not n:
        return 0, [], ()
    first = con.execute(f"SELECT e.row, e.deal_id {early} ORDER BY e.row LIMIT {MAX_SHOWN}").fetchall()
    return n, [r[0] for r in first], tuple(str(r[1]) for r in first)


class _ActivityFacts:
    """The activities' counts, time range, duplicates and early rows.

    One grouped scan of the core's ``activities`` view (per deal: rows, first and last time) answers the
    summary, whether every activity names a known deal, and whether any is dated before its deal's created_at.
    Exact duplicates are searched meanwhile, in a thread (:func:`~salesmetrics.log.core.find_duplicate_activities`,
    the engine's search too).
    """

    def __init__(self, con, core: Core, tables: _Tables):
        self.con, self.core, self.tables = con, core, tables
        self._duplicates = find_duplicate_activities(core)  # beside the grouped scan below
        try:
            con.execute(
                "CREATE TABLE _per_deal AS SELECT deal_id, count(*) AS n, min(t) AS first, max(t) AS last "
                "FROM activities GROUP BY deal_id"
            )
            unknown, self.rows, self.first, self.last, early = con.execute(
                "SELECT count(*) FILTER (WHERE d.row IS NULL), sum(a.n), min(a.first), max(a.last), "
                "count(*) FILTER (WHERE a.first < d.created) "
                "FROM _per_deal AS a LEFT JOIN deals AS d ON a.deal_id = d.deal_id"
            ).fetchall()[0]
            if unknown:
                raise Decline  # an unknown deal is an error validation reports
        except (Decline, duckdb.Error):
            with contextlib.suppress(Exception):
                self._duplicates()  # the search ends before the connection closes
            raise
        self.rows = int(self.rows or 0)
        self.any_early = bool(early)

    def duplicates(self) -> tuple[int, list[int]]:
        """How many activities repeat an earlier row exactly, and the first positions."""
        n = self._duplicates()
        first = self.con.execute(f"SELECT row FROM _duplicate_activities ORDER BY row LIMIT {MAX_SHOWN}").fetchall()
        return n, [r[0] for r in first]

    def before_creation(self) -> tuple[int, list[int], tuple[str, ...]]:
        """Activities (duplicates left out) dated before their deal's created_at: count, first positions, deal ids."""
        if not self.any_early:
            return 0, [], ()
        self._duplicates()
        early = (
            "FROM activities AS a JOIN deals AS d ON a.deal_id = d.deal_id "
            "WHERE a.t < d.created AND a.row NOT IN (SELECT row FROM _duplicate_activities)"
        )
        n = self.con.execute(f"SELECT count(*) {early}").fetchall()[0][0]
        first = self.con.execute(f"SELECT a.row, a.deal_id {early} ORDER BY a.row LIMIT {MAX_SHOWN}").fetchall()
        return n, [r[0] for r in first], tuple(str(r[1]) for r in first)


def _timestamp(us, tz: str) -> pd.Timestamp | None:
    """Microseconds since the epoch as a time of zone ``tz``, as validation's columns hold it."""
    if us is None:
        return None
    return pd.Timestamp(pd.Series([int(us)], dtype="datetime64[us]").dt.tz_localize("UTC").dt.tz_convert(tz).iloc[0])


def _bounds(checked: _Checked) -> tuple[int | None, int | None]:
    """The first and the latest event of the log (created_at, stage, close-date and activity times, as
    :meth:`SalesLog.summary` and :func:`~salesmetrics.log.prepare.resolve_as_of` take them), in microseconds."""
    con, core, activities = checked.con, checked.core, checked.activities
    bounds = ["SELECT min(created) AS low, max(created) AS high FROM deals",
              "SELECT min(t), max(t) FROM stage_changes"]  # fmt: skip
    if "close_date_changes" in core.columns:
        bounds.append("SELECT min(t), max(t) FROM close_date_changes")
    if activities is not None:
        bounds.append(f"SELECT {_int_or_null(activities.first)}, {_int_or_null(activities.last)}")
    low, high = con.execute(f"SELECT min(low), max(high) FROM ({' UNION ALL '.join(bounds)})").fetchall()[0]
    return (None if low is None else int(low)), (None if high is None else int(high))


def _summary(checked: _Checked) -> LogSummary:
    """:meth:`SalesLog.summary` from the core's tables."""
    con, core, model, activities, problems = (
        checked.con, checked.core, checked.model, checked.activities, checked.problems
    )  # fmt: skip
    counts = {name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in SMALL_TABLES
              if name in core.columns}  # fmt: skip
    rows = {
        "deals": counts["deals"],
        "stage_changes": counts["stage_changes"],
        "activities": 0 if activities is None else activities.rows - activities.duplicates()[0],
        "close_date_changes": counts.get("close_date_changes", 0),
    }
    if counts.get("amount_changes", 0):
        rows["amount_changes"] = counts["amount_changes"]
    low, high = _bounds(checked)
    owners = tuple(
        sorted(r[0] for r in con.execute("SELECT DISTINCT owner FROM deals WHERE owner IS NOT NULL").fetchall())
    )
    teams = ()
    if "team" in core.columns["deals"]:
        teams = tuple(
            sorted(r[0] for r in con.execute("SELECT DISTINCT team FROM deals WHERE team IS NOT NULL").fetchall())
        )
    current = dict(
        con.execute(
            "SELECT stage, count(*) FROM (SELECT stage FROM stage_changes "
            "QUALIFY row_number() OVER (PARTITION BY code ORDER BY t DESC, row DESC) = 1) GROUP BY stage"
        ).fetchall()
    )
    ordered = {s: int(current[s]) for s in model.all_stages if current.get(s, 0)}
    known = sum(current.values())
    if counts["deals"] - known:
        ordered["(stage unknown)"] = counts["deals"] - known
    return LogSummary(
        name=model.name,
        deals=counts["deals"],
        rows=rows,
        first_event=_timestamp(low, model.timezone),
        last_event=_timestamp(high, model.timezone),
        owners=len(owners),
        teams=len(teams),
        open_deals=sum(int(current.get(s, 0)) for s in set(model.stages)),
        won_deals=sum(int(current.get(s, 0)) for s in set(model.won)),
        lost_deals=sum(int(current.get(s, 0)) for s in set(model.lost)),
        current_stages=ordered,
        stages=model.stages,
        won=model.won,
        lost=model.lost,
        timezone=model.timezone,
        history=model.history,
        notes=model.notes,
        warnings=tuple(str(p) for p in problems if p.severity == "warning"),
        owner_names=owners,
        team_names=teams,
    )


def _int_or_null(value) -> str:
    return "NULL::BIGINT" if value is None else f"{int(value)}::BIGINT"
