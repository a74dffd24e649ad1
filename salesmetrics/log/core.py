"""The relational core: a log folder's tables in DuckDB, typed as validation types them.

:func:`load` reads each table file once, CSV or Parquet, whatever wrote it (any timestamp unit, zoned or naive
times, dates, string or large_string text), and makes the tables the engine's queries read:

- ``deals`` (row, deal_id, owner, team, created, amount), ``stage_changes`` (row, deal_id, t, stage, code),
  ``close_date_changes`` (row, deal_id, t, day, code) and ``amount_changes``: typed, exact duplicate rows dropped
  (the first kept), ``row`` the file position, ``code`` the row of the event's deal in ``deals``;
- ``activities`` (deal_id, t, kind, outcome, direction and any other columns): typed but not deduplicated (it is
  the big one): the engine finds its exact duplicate rows (:mod:`salesmetrics.metrics._engine`).

Times are microseconds since the epoch (UTC), as validation's ``datetime64[us, tz]`` columns hold them; ``day`` is
a close date's local calendar day (days since 1970-01-01). Typing follows :mod:`salesmetrics.log.parsing` for the
forms both take: ISO 8601 text with or without an offset, Parquet timestamps of any unit (floored to the
microsecond, as pandas does), naive times and dates read in the log's time zone. Anything else (spreadsheet
dates, serial day numbers, text that is not a plain number, a local time skipped or repeated by a clock change,
an encoding DuckDB does not read) makes :func:`load` return None, and the caller validates in full with pandas,
which reports each problem with file, row and column. The checks that decide whether validation would accept the
log are compiled from the one rule table, :data:`salesmetrics.log.schemas.RULES`
(:mod:`salesmetrics.log.column_types`). :func:`load_log` puts a validated in-memory log in the same tables.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from salesmetrics.log.column_types import (
    Column,
    column_checks,
    compare_sql,
    rule_failures_sql,
    time_bounds_us,
    typed_columns,
    wall_to_instant_sql,
)
from salesmetrics.log.config import StageModel
from salesmetrics.log.files import TableFile, find_files, table_file, table_files
from salesmetrics.log.format import RULES, TABLES
from salesmetrics.log.remembered import fingerprint, recall, remember
from salesmetrics.log.sql import ident, in_thread, lit, repeated_rows_check

SPECS = {spec.name: spec for spec in TABLES}


def _quotas_fine(folder: Path) -> bool:
    """Whether the log's optional quotas table (small) is absent or one validation accepts."""
    if not table_files(folder, "quotas"):  # checked without importing pandas, which most logs do not need
        return True
    from salesmetrics.log.quotas import check_quotas

    _, problems = check_quotas(folder)
    return not any(p.severity == "error" for p in problems)


@dataclass
class Core:
    """A log's tables in a DuckDB connection, and the checks still to wait for (see :func:`load`)."""

    con: object
    model: StageModel
    columns: dict[str, set[str]]  # the columns of each loaded table file
    has_activities: bool
    waits: list = field(default_factory=list)
    activity_text: bool = False  # the activities came from CSV (their text is compared trimmed)
    deduplicated: bool = False  # exact duplicate activities were dropped already (a validated in-memory log)
    order: dict[str, list[str]] = field(default_factory=dict)  # each table file's columns in file order
    recalled: bool = False  # from a remembered validation (log/remembered.py): nothing left to check
    # what :meth:`keep` needs: the folder, its table files, their fingerprint, the activities read from the file
    memory: tuple | None = None
    duplicates: object = None  # the running duplicate search (find_duplicate_activities), once started
    threads: list = field(default_factory=list)  # waits of the threads started besides the checks
    records: dict[str, int] = field(default_factory=dict)  # each small table's rows as read, duplicates included

    def frames(self, activities: bool = False) -> dict:
        """Deals, stage, close-date and amount changes as the pandas frames validation makes of them (index: the
        row's position in its file; times ``datetime64[us, tz]`` in the log's zone; close dates at local midnight;
        text of pandas' ``str`` dtype). Only tables that have a file. With ``activities``, the activities too, exact
        duplicates dropped (the first copy kept: :func:`find_duplicate_activities` must have been waited for, unless
        the log was deduplicated already) and text as validation keeps it (:func:`compare_sql`). Each frame comes
        from DuckDB through Arrow."""
        out = {}
        for name in ("deals", "stage_changes", "close_date_changes", "amount_changes"):
            if name not in self.order:
                continue
            names = {c: ("close" if c == "close_date" else RENAMED.get(c, c)) for c in self.order[name]}
            select = ", ".join(f"{ident(a)} AS {ident(c)}" for c, a in names.items())
            out[name] = self._frame(name, f"SELECT row, {select} FROM {name} ORDER BY row")
        if activities and self.has_activities:
            rules = RULES["activities"]

            def value(c: str) -> str:
                if c == "occurred_at":
                    return "t"
                if c == "deal_id" or c not in rules or rules[c].allowed:
                    # what a log the core vouches for holds exactly: known deal ids, values of a vocabulary
                    return ident(c)
                return compare_sql(c, self.activity_text)  # CSV text trimmed, blank text missing

            select = ", ".join(f"{value(c)} AS {ident(c)}" for c in self.order["activities"])
            repeated = None
            if not self.deduplicated:
                repeated = self.con.sql("SELECT row FROM _duplicate_activities ORDER BY row").fetchnumpy()["row"]
            out["activities"] = self._frame("activities", f"SELECT row, {select} FROM activities", repeated)
        return out

    def _frame(self, name: str, query: str, repeated=None):
        """The pandas frame of ``query`` (``row`` first, then table ``name``'s columns as validation names them)
        but for the rows at the sorted positions ``repeated``, through Arrow: times (microseconds since the epoch)
        become ``datetime64[us, tz]`` in Arrow, rows come in file order, and the index is what validation's
        dropping of exact duplicates leaves of the file's positions (a RangeIndex where they are evenly spaced, as
        pandas makes it)."""
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        table = self.con.sql(query).to_arrow_table()
        rows = table.column("row").to_numpy()
        if len(rows) > 1 and not (rows[1:] > rows[:-1]).all():  # DuckDB keeps a scan's order; sorted if not
            order = np.argsort(rows, kind="stable")
            table, rows = table.take(pa.array(order)), rows[order]
        if repeated is not None and len(repeated):
            # dropped here (a join in DuckDB would lose the file order), the rest kept as zero-copy slices
            at = np.searchsorted(rows, repeated)
            spans = zip(np.concatenate([[0], at + 1]), np.concatenate([at, [len(rows)]]), strict=True)
            table = pa.concat_tables([table.slice(start, end - start) for start, end in spans if end > start])
            rows = np.delete(rows, at)
        table = table.drop_columns(["row"])
        zone = pa.timestamp("us", tz=self.model.timezone)
        for i, column in enumerate(table.schema):
            if column.name in SPECS[name].timestamps:
                table = table.set_column(i, column.name, table.column(i).cast(zone))
            elif pa.types.is_string(column.type):  # pandas holds text as large_string (and one chunk may exceed 2 GiB)
                table = table.set_column(i, column.name, table.column(i).cast(pa.large_string()))
        # one chunk per column, not DuckDB's hundreds: pandas' later work on the text (lookups, factorizing) is
        # slower on many chunks, and several of its operations combine them again on each call
        frame = table.combine_chunks().to_pandas()
        frame.index = pd.RangeIndex(int(rows[-1]) + 1 if len(rows) else 0).take(rows)
        if "close_date" in frame:
            frame["close_date"] = frame["close_date"].dt.normalize()
        return frame

    def valid(self) -> bool:
        """Whether validation would accept the log unchanged but for exact duplicate rows (waits for the checks)."""
        return all(wait() for wait in self.waits)

    def settle(self) -> None:
        """Wait for every thread still working on the connection (checks, the duplicate search), whatever they
        find: a connection cannot be closed under a running statement."""
        for wait in [*self.waits, *self.threads]:
            with contextlib.suppress(Exception):  # the log is being given up: only the thread's end matters
                wait()

    def keep(self, answers: dict | None = None) -> bool:
        """Remember this core for the next command on the same files (:mod:`salesmetrics.log.remembered`), once
        it is :meth:`valid` and its duplicate activities were searched, with ``answers`` (JSON values by key, such
        as ``validate``'s answer) beside it; False when nothing was kept."""
        if self.memory is None or self.recalled:
            return False
        import duckdb

        folder, paths, print_, activities_sql = self.memory
        try:  # the search's count (idempotent: a finished search answers at once)
            duplicates = find_duplicate_activities(self)() if self.has_activities else 0
        except duckdb.Error:
            return False
        meta = {
            "columns": {name: sorted(columns) for name, columns in self.columns.items()},
            "order": self.order,
            "has_activities": self.has_activities,
            "activity_text": self.activity_text,
            "activities_sql": activities_sql,
            "duplicates": duplicates,
            **(answers or {}),
        }
        return remember(self.con, print_, folder, paths, meta)


def typed_select(table: TableFile, columns: dict[str, Column]) -> str:
    """The first step of typing a table file: its typed columns (times as instants or, flagged in ``<name>__naive``,
    wall-clock times), then its other columns as read, then ``_bad``: true on a row the engine cannot vouch for
    (see :class:`Column`). Parquet rows carry their position as ``row``."""
    parts = ["file_row_number AS row"] if not table.text else []
    bad = []
    for name, column in columns.items():
        parts.append(f"{column.sql} AS {ident(name)}")
        if column.naive:
            parts.append(f"{column.naive} AS {ident(name + '__naive')}")
        if column.bad:
            bad.append(column.bad)
    parts += [ident(name) for name in table.types if name not in columns and name != "file_row_number"]
    return f"SELECT {', '.join(parts)}, {' OR '.join(bad) or 'false'} AS _bad FROM {table.source}"


def _naive_range(con, relations: dict[str, tuple[str, dict[str, Column]]]) -> tuple[int, int] | bool | None:
    """The range of the wall-clock times in the first-step relations, None when there are none, or False when a
    column mixes wall-clock times and instants (validation refuses that)."""
    parts = []
    for relation, columns in relations.values():
        for column in columns.values():
            if column.naive:
                c, flag = column.sql, column.naive
                parts.append(
                    f"SELECT min({c}) FILTER (WHERE {flag}) AS low, max({c}) FILTER (WHERE {flag}) AS high, "
                    f"count({c}) FILTER (WHERE {flag}) > 0 AND count({c}) FILTER (WHERE NOT {flag}) > 0 AS mixed "
                    f"FROM {relation}"
                )
    if not parts:
        return None
    low, high, mixed = con.execute(
        f"SELECT min(low), max(high), bool_or(mixed) FROM ({' UNION ALL '.join(parts)})"
    ).fetchone()
    if mixed:
        return False
    if low is None:
        return None
    first, last = time_bounds_us()  # times outside are refused by the rules: no offsets needed for them
    return max(int(low), first), min(int(high), last)


def final_select(name: str, relation: str, columns: dict[str, Column], model: StageModel, wall) -> str:
    """The second step: wall-clock times become instants (``wall`` is :func:`wall_to_instant_sql` bound to the
    log's range, or None), and ``_bad`` also marks unclear local times and rows breaking a rule of validation's."""
    replace, unclear = [], []
    for column_name, column in columns.items():
        if column.naive:
            c, flag = ident(column_name), ident(column_name + "__naive")
            instant, unclear_sql = wall(c) if wall is not None else (c, "false")
            replace.append(f"CASE WHEN {flag} THEN {instant} ELSE {c} END AS {c}")
            unclear.append(f"coalesce({flag} AND {unclear_sql}, false)")
    flags = [ident(c + "__naive") for c, column in columns.items() if column.naive]
    if flags:
        replace.append(f"_bad OR {' OR '.join(unclear)} AS _bad")
        relation = f"(SELECT * EXCLUDE ({', '.join(flags)}) REPLACE ({', '.join(replace)}) FROM {relation})"
    conditions = ["_bad", *rule_failures_sql(name, set(columns), model)]
    return f"SELECT * REPLACE ({' OR '.join(conditions)} AS _bad) FROM {relation}"


def _as_read(columns: dict[str, Column], keep_bad: bool = False) -> dict[str, Column]:
    """The columns of a table made by :func:`typed_select` or :func:`_read_activities`: each typed value under its
    name, naive flags beside; ``keep_bad`` keeps the checks of columns read as they are (activities' text)."""
    return {
        name: Column(
            ident(name),
            bad=column.bad if keep_bad and not column.naive else None,
            naive=ident(name + "__naive") if column.naive else None,
        )
        for name, column in columns.items()
    }


def _read_activities(con, table: TableFile, columns: dict[str, Column]) -> None:
    """Read a CSV activities file once into table ``_activities``: times parsed (with their naive flags), the rest
    as read."""
    parts = []
    for name, column in columns.items():
        parts.append(f"{column.sql} AS {ident(name)}")
        if column.naive:
            parts.append(f"{column.naive} AS {ident(name + '__naive')}")
    parts += [ident(name) for name in table.types if name not in columns]
    con.execute(f"CREATE TABLE _activities AS SELECT {', '.join(parts)} FROM {table.source}")


def lean_select(relation: str, row: str, columns: dict[str, Column], others: list[str], wall) -> str:
    """The activities as the engine's queries read them: ``row`` (the SQL of the file position), typed columns
    (times as instants) and the other columns, computed from ``relation`` on each read. Checks are separate
    (:func:`column_checks`)."""
    parts = [f"{row} AS row"]
    for name, column in columns.items():
        value = column.sql
        if column.naive and wall is not None:
            instant, _ = wall(f"({value})")
            value = instant if column.naive == "true" else f"CASE WHEN {column.naive} THEN {instant} ELSE {value} END"
        parts.append(f"{value} AS {ident(name)}")
    parts += [ident(name) for name in others]
    return f"SELECT {', '.join(parts)} FROM {relation}"


# the engine's names of the event tables' typed columns
RENAMED = {"changed_at": "t", "created_at": "created", "occurred_at": "t", "close_date": "close"}


def _first_step(con, name: str, table: TableFile, columns: dict[str, Column]) -> str:
    """Create table ``_<name>`` from the file (:func:`typed_select`), with ``row`` the file position (a CSV file is
    read in file order, so its rowid is the position); returns its name."""
    select = typed_select(table, columns)
    raw = f"_{name}"
    if table.text:
        con.execute(f"CREATE TABLE {raw}_read AS {select}")
        con.execute(f"CREATE TABLE {raw} AS SELECT rowid AS row, * FROM {raw}_read")
        con.execute(f"DROP TABLE {raw}_read")
    else:
        con.execute(f"CREATE TABLE {raw} AS {select}")
    return raw


def _dedup_and_type(con, name: str, raw: str, present: set[str], model: StageModel) -> None:
    """Create table ``name`` from ``raw``: exact duplicate rows dropped (the first kept, as validation does, a close
    date counting by its local day), known columns renamed, events given their deal's ``code``."""
    day = (
        f"date_diff('day', DATE '1970-01-01', (make_timestamp(close_date)::TIMESTAMPTZ AT TIME ZONE "
        f"{lit(model.timezone)})::DATE)"
    )
    values = [
        (day if c == "close_date" else ident(c), "day" if c == "close_date" else RENAMED.get(c, c))
        for c in sorted(present)
    ]
    if name == "close_date_changes":
        values.append(("close_date", "close"))
    # the first row of each group of equal rows: a hash aggregate (a window partitioned by every column sorted
    # them: 0.9 CPU seconds for 450k stage changes against 0.1); GROUP BY holds missing values equal, as pandas does
    keys = ", ".join(ident(a) for _, a in values if a != "close")
    first = ", arg_min(close, row) AS close" if name == "close_date_changes" else ""
    select = ", ".join(f"{v} AS {ident(a)}" for v, a in values)
    inner = f"SELECT min(row) AS row, {keys}{first} FROM (SELECT row, {select} FROM {raw}) GROUP BY {keys}"
    if name == "deals":
        con.execute(f"CREATE TABLE deals AS {inner} ORDER BY row")
        return
    aliases = ", ".join("x." + ident(a) for _, a in values)
    con.execute(
        f"CREATE TABLE {name} AS SELECT x.row, {aliases}, d.row AS code FROM ({inner}) AS x "
        "LEFT JOIN deals AS d ON x.deal_id = d.deal_id ORDER BY x.row"
    )


def _recalled(con, model: StageModel, meta: dict) -> Core:
    """A core from a remembered validation attached as schema ``remembered``: the small tables as they were kept,
    the activities read from their file again (without their file positions) and nothing left to check."""
    for name in meta["columns"]:
        if name != "activities":
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM remembered.{name}")
    if meta["has_activities"]:
        con.execute("CREATE VIEW activities AS " + meta["activities_sql"])
        con.execute("CREATE VIEW _duplicate_activities AS SELECT * FROM remembered._duplicate_activities")
    columns = {name: set(names) for name, names in meta["columns"].items()}
    return Core(
        con,
        model,
        columns,
        meta["has_activities"],
        activity_text=meta["activity_text"],
        order=meta["order"],
        recalled=True,
        duplicates=lambda: meta["duplicates"],  # table _duplicate_activities is there already
    )


def load(con, folder: Path, model: StageModel, memory: bool | str = False, duplicates: bool = True) -> Core | None:
    """Load a log folder into ``con``'s tables (see the module docstring) and start the checks validation would
    make; None when the files are ones the engine leaves to validation, or a check already failed.

    Deals, stage, close-date and amount changes are typed, checked and deduplicated here; activities are typed
    (a view over Parquet, a table read once from CSV) and checked in a thread (:attr:`Core.waits`).

    With ``memory``, a validation remembered for the same files (:mod:`salesmetrics.log.remembered`) is used
    when there is one: the small tables come from it and nothing is checked again; its activities view has no
    file positions (``row`` is null) and only serves counts. Otherwise :meth:`Core.keep` can remember this one.
    ``memory="keep"`` only remembers (the quick check needs every table as read, so it never recalls).
    ``duplicates=False`` does not start the search for repeated activities (a caller that only needs times:
    an exact repeat changes none).
    """
    paths = find_files(folder)
    if paths is None:
        return None
    print_ = fingerprint(folder, paths, model) if memory else None
    meta = recall(con, print_) if memory != "keep" else None
    if meta is not None:
        return _recalled(con, model, meta)
    if not _quotas_fine(folder):
        return None
    files, typed = {}, {}
    for name, path in paths.items():
        table = table_file(con, name, path)
        if table is None:
            return None
        columns = typed_columns(SPECS[name], table.types, table.text)
        if columns is None:
            return None
        files[name], typed[name] = table, columns
    present = {name: set(table.types) - {"file_row_number"} for name, table in files.items()}
    core = Core(con, model, present, "activities" in files)
    core.order = {name: [c for c in table.types if c != "file_row_number"] for name, table in files.items()}

    first = {}
    for name, table in files.items():
        if name == "activities":
            if table.text:
                _read_activities(con, table, typed[name])
                first[name] = ("_activities", _as_read(typed[name], keep_bad=True))
            else:
                first[name] = (table.source.replace(", file_row_number = true", ""), typed[name])
        else:
            first[name] = (_first_step(con, name, table, typed[name]), typed[name])
    span = _naive_range(con, {name: (r, _as_read(c) if name != "activities" else c) for name, (r, c) in first.items()})
    if span is False:
        return None
    if span is None:
        wall = None
    else:

        def wall(column: str) -> tuple[str, str]:
            return wall_to_instant_sql(column, model.timezone, *span)

    if "activities" in files:
        table, (relation, columns) = files["activities"], first["activities"]
        others = [c for c in table.types if c not in columns and c != "file_row_number"]
        # a CSV file was read in file order into _activities (rowid is the position); Parquet numbers its rows
        read, row = (relation, "rowid") if table.text else (table.source, "file_row_number")
        lean = lean_select(read, row, columns, others, wall)
        con.execute(f"CREATE VIEW activities AS SELECT * RENAME (occurred_at AS t) FROM ({lean})")
        if print_ is not None:  # the view a remembered core reads: straight from the file
            direct = lean_select(
                table.source, "file_row_number" if not table.text else "NULL::BIGINT", typed["activities"], others, wall
            )
            core.memory = (folder, paths, print_, f"SELECT * RENAME (occurred_at AS t) FROM ({direct})")
        checks = column_checks("activities", columns, model, wall)
        if table.text:  # a table in memory: one scan answers every check
            counts = [f"count(*) FILTER (WHERE {c})" if kind == "where" else c for kind, c in checks]
            checks = [f"SELECT {' + '.join(counts)} FROM {relation}"]
        else:  # a Parquet file: a query per check, each WHERE filter pushed into the scan
            checks = [
                f"SELECT count(*) FROM {relation} WHERE {c}" if kind == "where" else f"SELECT {c} FROM {relation}"
                for kind, c in checks
            ]
        core.activity_text = table.text

        def activity_checks(cursor) -> bool:
            return all(cursor.execute(query).fetchall()[0][0] == 0 for query in checks)

        core.waits.append(in_thread(con, activity_checks))
        # the duplicate search starts now, in a thread: it hashes the activities while the small tables are typed
        if duplicates:
            core.duplicates = find_duplicate_activities(core)
    elif print_ is not None:
        core.memory = (folder, paths, print_, None)

    records = _small_tables(con, files, first, present, model, wall)
    if records is None:
        core.settle()
        return None
    core.records = records
    return core


def _small_tables(con, files: dict, first: dict, present: dict, model: StageModel, wall) -> dict[str, int] | None:
    """The second step of deals, stage, close-date and amount changes (see :func:`load`): typed, checked,
    deduplicated; returns each table's rows as read (duplicates included), None when one breaks a rule."""
    records = {}
    for name in ("deals", "stage_changes", "close_date_changes", "amount_changes"):
        if name not in files:
            continue
        raw, columns = first[name]
        con.execute(f"CREATE TABLE _{name}_typed AS {final_select(name, raw, columns, model, wall)}")
        con.execute(f"DROP TABLE {raw}")
        bad, records[name] = con.execute(
            f"SELECT count(*) FILTER (WHERE _bad), count(*) FROM _{name}_typed"
        ).fetchall()[0]
        if bad:
            return None
        _dedup_and_type(con, name, f"_{name}_typed", present[name], model)
        con.execute(f"DROP TABLE _{name}_typed")
        if name == "deals":
            refused = "SELECT count(*) = 0 OR count(DISTINCT deal_id) < count(*) FROM deals"
        else:
            # no stage history is an error, but a warning for a snapshot export (history: partial)
            empty = "count(*) = 0 OR " if name == "stage_changes" and model.history != "partial" else ""
            refused = f"SELECT {empty}count(*) FILTER (WHERE code IS NULL) > 0 FROM {name}"
        if con.execute(refused).fetchall()[0][0]:
            return None
    return records


def load_log(con, log) -> Core:
    """A validated in-memory log (:class:`~salesmetrics.log.saleslog.SalesLog`) in ``con``'s tables, the same tables
    :func:`load` makes from files. DuckDB reads the frames through Arrow; validation typed them and dropped exact
    duplicates already, so nothing is checked again. ``row`` is each row's index: its position in the file."""
    import pyarrow as pa

    present = {}
    for name, frame in log.tables.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.append_column("row", pa.array(frame.index.to_numpy(dtype="int64"), pa.int64()))
        con.register(f"_{name}_frame", table)
        present[name] = {str(c) for c in frame.columns}
    deals = present["deals"]
    amount = "amount" if "amount" in deals else "NULL::DOUBLE AS amount"
    team = ", team" if "team" in deals else ""
    con.execute(
        f"CREATE TABLE deals AS SELECT row, deal_id, owner, epoch_us(created_at) AS created, {amount}{team} "
        "FROM _deals_frame ORDER BY row"
    )
    con.execute(
        "CREATE TABLE stage_changes AS SELECT x.row, epoch_us(x.changed_at) AS t, x.deal_id, x.stage, d.row AS code "
        "FROM _stage_changes_frame AS x LEFT JOIN deals AS d ON x.deal_id = d.deal_id ORDER BY x.row"
    )
    day = f"date_diff('day', DATE '1970-01-01', (x.close_date AT TIME ZONE {lit(log.model.timezone)})::DATE)"
    con.execute(
        f"CREATE TABLE close_date_changes AS SELECT x.row, epoch_us(x.changed_at) AS t, {day} AS day, x.deal_id, "
        "epoch_us(x.close_date) AS close, d.row AS code "
        "FROM _close_date_changes_frame AS x LEFT JOIN deals AS d ON x.deal_id = d.deal_id ORDER BY x.row"
    )
    if "amount_changes" in present:
        con.execute(
            "CREATE TABLE amount_changes AS SELECT x.row, epoch_us(x.changed_at) AS t, x.deal_id, "
            "x.amount::DOUBLE AS amount, d.row AS code "
            "FROM _amount_changes_frame AS x LEFT JOIN deals AS d ON x.deal_id = d.deal_id ORDER BY x.row"
        )
    others = [ident(c) for c in present["activities"] if c not in ("deal_id", "occurred_at")]
    con.execute(
        f"CREATE VIEW activities AS SELECT row, deal_id, epoch_us(occurred_at) AS t{''.join(', ' + c for c in others)} "
        "FROM _activities_frame"
    )
    return Core(con, log.model, present, True, deduplicated=True)


def find_duplicate_activities(core: Core):
    """Start looking for the activities that repeat an earlier row exactly; returns a function that waits for the
    search and gives their number, with table ``_duplicate_activities`` (row, deal_id, t: each later copy).

    Exact duplicates share their deal and time, so DuckDB hashes ``(deal_id, t)`` and NumPy sorts the hashes in
    a thread beside the caller's work; only the rows whose pair repeats are then compared on every column, as
    validation compares them (:func:`~salesmetrics.log.column_types.compare_sql`), the first copy kept.
    """
    if core.duplicates is not None:  # started by load, or remembered
        return core.duplicates
    con = core.con
    repeated = repeated_rows_check(con, "activities", ["deal_id", "t"])
    core.threads.append(repeated)
    found = []

    def wait() -> int:
        if found:
            return found[0]
        hashes = repeated()
        if not len(hashes):  # no (deal, time) pair repeats: nothing to compare (no second scan)
            con.execute("CREATE TABLE _duplicate_activities AS SELECT row, deal_id, t FROM activities LIMIT 0")
            found.append(0)
            return 0
        names = [r[0] for r in con.execute("DESCRIBE activities").fetchall() if r[0] != "row"]
        values = [ident(c) if c in ("deal_id", "t") else f"{compare_sql(c, core.activity_text)}" for c in names]
        # a list parameter, not a registered Arrow table: registering imports pandas (0.2 s of a 1.5 s command)
        con.execute("CREATE TEMP TABLE _repeated_pairs AS SELECT unnest($1::UBIGINT[]) AS h", [hashes.tolist()])
        con.execute(
            "CREATE TABLE _duplicate_activities AS SELECT row, deal_id, t FROM ("
            f"SELECT row, deal_id, t, row_number() OVER (PARTITION BY {', '.join(values)} ORDER BY row) AS copy "
            "FROM activities WHERE hash(deal_id, t) IN (SELECT h FROM _repeated_pairs)) WHERE copy > 1"
        )
        con.execute("DROP TABLE _repeated_pairs")
        found.append(con.execute("SELECT count(*) FROM _duplicate_activities").fetchall()[0][0])
        return found[0]

    return wait
