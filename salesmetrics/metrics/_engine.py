"""The DuckDB engine of ``salesmetrics score``: per-deal scores and per-period motions over the relational core.

:func:`salesmetrics.log.core.load` puts the log's tables in DuckDB, typed and checked as validation would, from CSV
or Parquet. Per deal, one query writes the scores (:func:`deal_scores_to_file`); per owner or team, the activities
are counted per deal and period here and :mod:`salesmetrics.metrics._engine_groups` does the rest, in SQL too.
Exact duplicate activities, which validation drops, are found by sorting row hashes with NumPy beside the main work;
when there are some, each deal's (and period's) extra copies are counted and taken off. When the core cannot vouch
for the log, the functions return ``None`` and the caller falls back to :func:`salesmetrics.read_log` and the
pandas path, which reports each problem with file, row and column.

The SQL mirrors :func:`salesmetrics.log.prepare.stage_entries` and ``deal_scores`` of the pandas oracle
(``tests/oracle_movement.py``); tests hold the paths to identical numbers.
"""

from __future__ import annotations

from pathlib import Path

from salesmetrics._util.atomic import atomic_path
from salesmetrics._util.time_units import US_PER_DAY
from salesmetrics._util.timezones import utc_offsets
from salesmetrics.log.config import StageModel
from salesmetrics.log.core import find_duplicate_activities, load, load_log
from salesmetrics.log.sql import connect, in_thread, lit
from salesmetrics.log.sql import values_list as _list

__all__ = [
    "deal_scores_frame",
    "deal_scores_of_folder",
    "deal_scores_table",
    "deal_scores_to_file",
    "latest_event_of_folder",
    "stage_change_range_of_folder",
    "write_frame",
]

_lit = lit


def _load_and_check(
    con, folder: Path, model: StageModel, as_of_us: int | None, period: str | None, memory: bool = False
):
    """Load the log (:func:`salesmetrics.log.core.load`) and count motions per deal (and period) into table ``a``.

    Returns ``(as_of_us, valid, fix_duplicates, core)``: ``valid()`` waits for the checks still running and tells
    whether validation would accept the log; ``fix_duplicates()`` waits for the duplicate search and takes exact
    duplicate activities off ``a``, returning whether there were any. None when the core leaves the log to validation.
    Views ``d``, ``s`` and ``c`` name the core's deals, stage changes and close-date changes for the queries.
    """
    core = load(con, folder, model, memory=memory)
    if core is None:
        return None
    counted = _count_motions(con, core, model, as_of_us, period)
    return None if counted is None else (*counted, core)


def _count_motions(con, core, model: StageModel, as_of_us: int | None, period: str | None):
    """Count motions per deal (and period) of a loaded core into table ``a``; see :func:`_load_and_check`."""
    _name_tables(con, core)
    latest_activity = None
    group, by, fix = "", "deal_id", (lambda: False)
    if core.has_activities:
        duplicates = (lambda: 0) if core.deduplicated else find_duplicate_activities(core)  # in a thread
        if period is None:  # per deal: the latest activity comes with the counts, in the same scan
            counted = "count(*)" if as_of_us is None else f"count(*) FILTER (WHERE t <= {int(as_of_us)})"
            per_deal = f"SELECT deal_id, {counted} AS motions, max(t) AS latest FROM activities GROUP BY deal_id"
            con.execute(f"CREATE TABLE a AS {per_deal}")
            (latest_activity,) = con.execute("SELECT max(latest) FROM a").fetchall()[0]
        else:
            first_activity, latest_activity = con.execute("SELECT min(t), max(t) FROM activities").fetchone()
            offsets = utc_offsets(model.timezone, int(first_activity or 0), int(latest_activity or 0))
            group = f", {_period_sql('t', offsets, period)} AS period_index"
            by = "deal_id, period_index"
    if as_of_us is None:  # the latest event in the log
        as_of_us = _latest_event(con, latest_activity)
        if as_of_us is None:
            return None
    as_of_us = int(as_of_us)
    if core.has_activities:
        if period is not None:
            counted = "count(*)"  # as_of defaults to the latest event, so it counts every activity
            if latest_activity is not None and latest_activity > as_of_us:
                counted = f"count(*) FILTER (WHERE t <= {as_of_us})"
            con.execute(f"CREATE TABLE a AS SELECT deal_id{group}, {counted} AS motions FROM activities GROUP BY {by}")
        if not core.recalled:  # a remembered validation checked this already
            unknown = "SELECT count(*) FROM a WHERE deal_id NOT IN (SELECT deal_id FROM d)"  # per deal, not per row
            core.waits.append(in_thread(con, lambda cursor: cursor.execute(unknown).fetchall()[0][0] == 0))

        def fix() -> bool:
            if not duplicates():
                return False
            _take_off_duplicates(con, group, by, as_of_us)
            return True
    else:
        extra = ", period_index BIGINT" if period is not None else ""
        con.execute(f"CREATE TABLE a (deal_id VARCHAR{extra}, motions BIGINT)")
    return as_of_us, core.valid, fix


def _name_tables(con, core) -> None:
    """Views ``d``, ``s`` and ``c`` naming a loaded core's deals, stage and close-date changes (an empty ``c`` when
    the log has none)."""
    con.execute("CREATE VIEW d AS SELECT * FROM deals")
    con.execute("CREATE VIEW s AS SELECT * FROM stage_changes")
    if "close_date_changes" in core.columns:
        con.execute("CREATE VIEW c AS SELECT * FROM close_date_changes")
    else:
        con.execute("CREATE TABLE c (row BIGINT, deal_id VARCHAR, t BIGINT, day BIGINT, code BIGINT)")


def _latest_event(con, latest_activity: int | None) -> int | None:
    """The latest event of d, s, c and the latest activity (given): the default as_of (microseconds)."""
    latest = ["(SELECT max(created) FROM d)", "(SELECT max(t) FROM s)", "(SELECT max(t) FROM c)"]
    if latest_activity is not None:
        latest.append(str(int(latest_activity)))
    return con.execute(f"SELECT greatest({', '.join(latest)})").fetchall()[0][0]


def _take_off_duplicates(con, group: str, by: str, as_of_us: int) -> None:
    """Subtract from ``a`` the extra copies of exact duplicate activities up to as_of
    (:func:`~salesmetrics.log.core.find_duplicate_activities` found them)."""
    con.execute(
        f"CREATE TABLE extra AS SELECT deal_id{group}, count(*) AS extra FROM _duplicate_activities "
        f"WHERE t <= {as_of_us} GROUP BY {by}"
    )
    match = " AND ".join(f"a.{k.strip()} = extra.{k.strip()}" for k in by.split(","))
    con.execute(f"UPDATE a SET motions = a.motions - extra.extra FROM extra WHERE {match}")


def _period_sql(column: str, offsets: list[tuple[int, int]], period: str) -> str:
    """SQL for :func:`~salesmetrics.metrics.movement.period_index` of a column of instants (microseconds since the
    epoch), given the zone's UTC offsets."""
    utc = column
    shift = str(offsets[0][1])
    if len(offsets) > 1:
        cases = " ".join(
            f"WHEN {utc} < {start} THEN {before}"
            for (start, _), (_, before) in zip(offsets[1:], offsets[:-1], strict=True)
        )
        shift = f"CASE {cases} ELSE {offsets[-1][1]} END"
    local = f"make_timestamp({utc} + {shift})"  # wall-clock time, without a zone
    if period == "W":  # weeks from Monday: 1970-01-05 (day 4) starts week 0
        days = f"date_diff('day', DATE '1970-01-01', {local}::DATE)"
        return f"CAST(floor(({days} - 4) / 7.0) AS BIGINT)"
    months = f"(year({local}) * 12 + month({local}) - 1)"
    return f"CAST({months} AS BIGINT)" if period == "M" else f"CAST(floor({months} / 3.0) AS BIGINT)"


def deal_scores_to_file(
    folder: Path,
    model: StageModel,
    as_of_us: int | None,
    out: Path,
    fmt: str,
    threads: int | None = None,
    memory: bool = True,
) -> int | None:
    """Score every deal of a log folder with DuckDB and write ``out``; returns the as_of used (microseconds).

    ``as_of_us`` is the as_of moment in microseconds since the epoch (None: the latest event). Returns None
    (nothing written) when the log is not one the engine can vouch for; the caller then validates in full.
    ``memory``: use and keep a remembered validation of the same files (:mod:`salesmetrics.log.remembered`).
    """
    con = connect(threads)
    checked = _load_and_check(con, Path(folder), model, as_of_us, None, memory)
    if checked is None:
        return None
    as_of_us, valid, fix_duplicates, core = checked
    try:
        done = _write(con, model, as_of_us, out, fmt, valid, fix_duplicates)
    except _StepAside:
        return None
    core.keep()
    return done


def deal_scores_frame(log, as_of_us: int) -> object:
    """The per-deal scores of a validated in-memory log, by the same query as :func:`deal_scores_to_file` (the
    frames reach DuckDB through Arrow: :func:`salesmetrics.log.core.load_log`). A pandas frame."""
    # through Arrow, so that text columns stay text even when no deal is left (DuckDB's .df() gives objects then)
    return deal_scores_table(log, as_of_us).to_pandas()


def deal_scores_table(log, as_of_us: int) -> object:
    """:func:`deal_scores_frame` as an Arrow table."""
    con = connect()
    core = load_log(con, log)
    as_of_us, _, _ = _count_motions(con, core, log.model, as_of_us, None)
    return con.sql(deal_scores_sql(log.model, as_of_us)).to_arrow_table()


def latest_event_of_folder(folder: Path, model: StageModel, threads: int | None = None) -> int | None:
    """The latest event of a log folder (microseconds since the epoch), the default as_of of
    :func:`deal_scores_to_file`, by the same query; None when the core leaves the log to validation."""
    con = connect(threads)
    core = load(con, Path(folder), model, duplicates=False)  # an exact repeat changes no time
    if core is None:
        return None
    _name_tables(con, core)  # then the times alone: no motions counted
    latest_activity = con.execute("SELECT max(t) FROM activities").fetchall()[0][0] if core.has_activities else None
    as_of_us = _latest_event(con, latest_activity)
    fine = core.valid()
    core.settle()
    return None if as_of_us is None or not fine else int(as_of_us)


def stage_change_range_of_folder(folder: Path, model: StageModel, threads: int | None = None):
    """``(first, last)`` dated stage change of a log folder (microseconds since the epoch; both None without one)
    after the core's checks; None when the core leaves the log to validation."""
    con = connect(threads)
    core = load(con, Path(folder), model, duplicates=False)  # a repeated activity moves no stage change
    if core is None:
        return None
    _name_tables(con, core)
    first, last = con.execute("SELECT min(t), max(t) FROM s").fetchall()[0]
    fine = core.valid()
    core.settle()
    return (first, last) if fine else None


def deal_scores_of_folder(folder: Path, model: StageModel, as_of_us: int, threads: int | None = None):
    """The per-deal scores of a log folder as :func:`deal_scores_to_file` computes them, without writing:
    ``(Arrow table, deals in the log, deals no as_of includes)``; None when the core leaves the log to validation.
    ``as_of_us`` is required: a part of a partitioned log is scored at the whole log's as_of
    (:mod:`salesmetrics.metrics.scale`)."""
    con = connect(threads)
    checked = _load_and_check(con, Path(folder), model, as_of_us, None)
    if checked is None:
        return None
    as_of_us, valid, fix_duplicates, _ = checked
    fix_duplicates()
    table = con.sql(deal_scores_sql(model, as_of_us)).to_arrow_table()
    if not valid():
        return None
    (deals,) = con.execute("SELECT count(*) FROM d").fetchall()[0]
    return table, int(deals), int(_undated(con)) if table.num_rows < deals else 0


def deal_scores_sql(model: StageModel, as_of_us: int) -> str:
    """The per-deal query over temp tables d, s, c, a (see :func:`deal_scores_to_file`).

    Events are keyed by ``code``, their deal's row in d; ties in time keep file order (``row``).
    """
    open_stages, won, lost = _list(model.stages), _list(model.won), _list(model.lost)
    ranks = " ".join(f"WHEN {_lit(s)} THEN {i}" for i, s in enumerate(model.stages))
    n = len(model.stages)
    return f"""
    WITH
    kept AS (  -- the deals known at as_of
      SELECT * FROM d WHERE created <= {as_of_us}
         OR (created IS NULL AND row IN (SELECT code FROM s WHERE t <= {as_of_us}))
    ),
    ranked AS (  -- deals not kept drop out at the join below, which is cheaper than filtering here
      SELECT code, t, row, stage,
             CASE WHEN stage IN {won} THEN {n} WHEN stage IN {lost} THEN -1
                  ELSE CASE stage {ranks} END END AS rnk
      FROM s WHERE t <= {as_of_us}
    ),
    prev AS (
      SELECT *, lag(stage) OVER w AS p_stage, lag(rnk) OVER w AS p_rnk
      FROM ranked WINDOW w AS (PARTITION BY code ORDER BY t, row)
    ),
    kinds AS (  -- 0 add, 1 advance, 2 regression, 3 loss, 4 repeat (a won or lost stage repeats its kind)
      SELECT code, t, row, stage, rnk = {n} AS is_won,
             CASE WHEN p_stage IS NULL THEN 0
                  WHEN stage = p_stage OR (rnk = {n} AND p_rnk = {n}) OR (rnk = -1 AND p_rnk = -1) THEN 4
                  WHEN rnk = -1 THEN 3
                  WHEN rnk > p_rnk THEN 1
                  WHEN rnk < p_rnk THEN 2
                  ELSE 4 END AS kind
      FROM prev
    ),
    per_stage AS (
      SELECT code,
             count(*) FILTER (WHERE kind = 0) AS adds,
             count(*) FILTER (WHERE kind = 1) AS advances,
             count(*) FILTER (WHERE kind = 2) AS regressions,
             count(*) FILTER (WHERE kind = 1 AND is_won) AS wins,
             count(*) FILTER (WHERE kind = 3) AS losses,
             max(t) FILTER (WHERE kind <> 4) AS last_move,
             arg_max(stage, t::HUGEINT * 4294967296 + row) AS current_stage  -- the latest; ties: file order
      FROM kinds GROUP BY code
    ),
    steps AS (
      SELECT code, day - lag(day) OVER (PARTITION BY code ORDER BY t, row) AS step
      FROM c WHERE t <= {as_of_us}
    ),
    per_close AS (
      SELECT code, count(*) FILTER (WHERE step > 0) AS pushes,
             coalesce(sum(step) FILTER (WHERE step > 0), 0) AS days_pushed,
             count(*) FILTER (WHERE step < 0) AS pulls
      FROM steps GROUP BY code
    ),
    joined AS (
      SELECT kept.row, kept.deal_id, kept.owner, kept.created, p.current_stage, p.last_move,
             coalesce(p.adds, 0) AS adds, coalesce(p.advances, 0) AS advances,
             coalesce(p.regressions, 0) AS regressions, coalesce(p.wins, 0) AS wins,
             coalesce(p.losses, 0) AS losses, coalesce(m.motions, 0) AS motions,
             coalesce(c.pushes, 0) AS pushes, coalesce(c.days_pushed, 0) AS days_pushed,
             coalesce(c.pulls, 0) AS pulls
      FROM kept LEFT JOIN per_stage p ON p.code = kept.row LEFT JOIN a m ON m.deal_id = kept.deal_id
                LEFT JOIN per_close c ON c.code = kept.row
    )
    SELECT deal_id, owner, current_stage,
           coalesce(current_stage IN {open_stages}, false) AS is_open,
           ({as_of_us} - created)::DOUBLE / {US_PER_DAY}.0::DOUBLE AS age_days,
           (adds + advances + regressions + losses)::BIGINT AS movements,
           adds::BIGINT AS adds, advances::BIGINT AS advances, regressions::BIGINT AS regressions,
           wins::BIGINT AS wins, losses::BIGINT AS losses, motions::BIGINT AS motions,
           CASE WHEN adds + advances + regressions + losses > 0
                THEN motions::DOUBLE / (adds + advances + regressions + losses)::DOUBLE END AS motion_per_movement,
           CASE WHEN last_move IS NOT NULL
                THEN ({as_of_us} - last_move)::DOUBLE / {US_PER_DAY}.0::DOUBLE END AS days_since_movement,
           pushes::BIGINT AS close_date_pushes, days_pushed::BIGINT AS days_pushed, pulls::BIGINT AS close_date_pulls
    FROM joined ORDER BY row
    """


def _spreadsheet_safe(con, source: str, fmt: str) -> str:
    """``source`` (a table name or a parenthesised query) as a query whose text columns are escaped for
    spreadsheets (:func:`salesmetrics._util.csv_safe.sql_escape`) when ``fmt`` is CSV; Parquet keeps the values."""
    if fmt != "csv":
        return source
    from salesmetrics._util.csv_safe import escape_cell, sql_escape

    columns = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    select = []
    for name, kind, *_ in columns:
        quoted = '"' + name.replace('"', '""') + '"'
        value = sql_escape(f"CAST({quoted} AS VARCHAR)") if kind == "VARCHAR" or kind.startswith("ENUM") else quoted
        select.append(f"{value} AS " + '"' + escape_cell(name).replace('"', '""') + '"')
    return f"(SELECT {', '.join(select)} FROM {source})"


def _as_pandas_writes(con, source: str, fmt: str) -> str:
    """``source`` (a table name or a parenthesised query) as a query that DuckDB writes as the pandas path writes a
    frame (:func:`write_frame`): CSV text made safe for spreadsheets (:func:`_spreadsheet_safe`); in Parquet every
    column optional, as pandas' columns reach Arrow. DuckDB writes a column its statistics prove free of NULLs as
    required; ``CASE WHEN random() >= 0 THEN c END`` keeps each value but no statistics can prove it is not NULL."""
    if fmt == "csv":
        return _spreadsheet_safe(con, source, fmt)
    names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    quoted = ['"' + name.replace('"', '""') + '"' for name in names]
    return f"(SELECT {', '.join(f'CASE WHEN random() >= 0 THEN {q} END AS {q}' for q in quoted)} FROM {source})"


def _write(con, model: StageModel, as_of_us: int, out: Path, fmt: str, valid, fix_duplicates) -> int | None:
    """COPY the per-deal query to a temporary file beside ``out``, then rename it into place.

    Exact duplicate activities are taken off first; the checks still running are asked before the rename: when
    the log fails one nothing is written (:class:`_StepAside`).
    """
    query = _as_pandas_writes(con, f"({deal_scores_sql(model, as_of_us)})", fmt)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    fix_duplicates()  # before the COPY: on two busy cores, writing twice costs more than waiting
    with atomic_path(out) as tmp:
        written = con.execute(f"COPY {query} TO {_lit(tmp)} ({options})").fetchall()[0][0]
        if not valid():
            raise _StepAside
    deals = con.execute("SELECT count(*) FROM d").fetchall()[0][0]
    if written < deals:  # rare: only then are the reasons counted
        from datetime import UTC, datetime, timedelta

        from salesmetrics.metrics.movement import note_deals_left_out

        undated = _undated(con)
        as_of = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=as_of_us)
        import zoneinfo

        note_deals_left_out(deals, written, undated, as_of.astimezone(zoneinfo.ZoneInfo(model.timezone)))
    return as_of_us


def _undated(con) -> int:
    """The deals of ``d`` that no as_of includes: no created_at and no stage entry."""
    return con.execute("SELECT count(*) FROM d WHERE created IS NULL AND row NOT IN (SELECT code FROM s)").fetchall()[
        0
    ][0]


class _StepAside(Exception):
    """The log failed a check after the scores were computed: nothing is written."""


def write_frame(frame, out: Path, fmt: str) -> None:
    """Write a pandas frame with DuckDB's writer (atomically), so both paths format numbers the same way."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)  # NaN becomes null, as in the fast path
    con = connect()
    con.register("result", table)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    with atomic_path(out) as tmp:
        con.execute(f"COPY {_spreadsheet_safe(con, 'result', fmt)} TO {_lit(tmp)} ({options})")
