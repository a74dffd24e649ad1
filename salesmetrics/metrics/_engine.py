"""The fast paths of ``salesmetrics score``: DuckDB over a Parquet log, without loading activities into pandas.

Per deal, one DuckDB query writes the scores (:func:`deal_scores_to_file`); per owner or team, DuckDB counts
the activities per deal and period (:func:`motions_by_period`) and the pandas code does the rest from per-deal
pieces. Either is taken only when the log is Parquet with the expected column types, and only when cheap checks
prove that full validation would neither refuse the log (missing values, unknown stages, unknown deal ids,
repeated deal ids, negative amounts, unknown outcomes or directions) nor change it (exact duplicate rows, which
it drops). The checks run in threads beside the main work: missing activity values come from the Parquet
statistics, the vocabularies from filtered counts, duplicates from sorting row hashes with NumPy. When any
check fails, or the files are not as expected, the functions return ``None`` and the caller falls back to
:func:`salesmetrics.read_log` and the pandas path, which reports each problem with file, row and column.

The SQL mirrors :func:`salesmetrics.log.prepare.stage_entries` and :func:`salesmetrics.metrics.movement.deal_scores`;
tests hold the paths to identical numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

from salesmetrics._util.atomic import atomic_path
from salesmetrics._util.files import not_a_file
from salesmetrics._util.time_units import US_PER_DAY
from salesmetrics.log.config import StageModel
from salesmetrics.log.readers import table_files

TABLE_COLUMNS = {
    "deals": {"deal_id": "VARCHAR", "owner": "VARCHAR", "created_at": "TIMESTAMP WITH TIME ZONE"},
    "stage_changes": {"deal_id": "VARCHAR", "changed_at": "TIMESTAMP WITH TIME ZONE", "stage": "VARCHAR"},
    "activities": {"deal_id": "VARCHAR", "occurred_at": "TIMESTAMP WITH TIME ZONE", "kind": "VARCHAR"},
    "close_date_changes": {
        "deal_id": "VARCHAR",
        "changed_at": "TIMESTAMP WITH TIME ZONE",
        "close_date": "TIMESTAMP WITH TIME ZONE",
    },
}
OPTIONAL_COLUMNS = {
    "deals": {"amount": ("DOUBLE", "FLOAT", "BIGINT", "INTEGER"), "team": ("VARCHAR",)},
    "activities": {"outcome": ("VARCHAR",), "direction": ("VARCHAR",)},
}
# text that validation reads as missing: empty, or only what Python's str.strip() removes (RE2 syntax)
BLANK = r"[\t\n\x{0b}\f\r\x{1c}-\x{1f}\x{85}\p{Z}]*"


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _list(values) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")" if values else "(NULL)"


def parquet_files(folder: Path) -> dict[str, Path] | None:
    """The Parquet file of each table, or None when any table is in another format (or twice)."""
    files = {}
    for name in TABLE_COLUMNS:
        found = table_files(folder, name)
        if len(found) > 1 or (found and found[0].suffix != ".parquet"):
            return None
        if found and not_a_file(found[0]) is not None:  # a FIFO would block DuckDB: validation explains it
            return None
        if found:
            files[name] = found[0]
        elif name in ("deals", "stage_changes"):
            return None
    return files


def connect(threads: int | None = None):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _file_columns(con, files: dict[str, Path]) -> dict[str, set[str]] | None:
    """The columns of each file, or None when a type is not the expected one (or a table has extra columns)."""
    columns = {}
    for name, path in files.items():
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(path)})").fetchall()
        types = {row[0]: row[1] for row in described}
        if len(types) < len(described):  # a repeated column name: validation reports it
            return None
        allowed_extra = name == "deals"  # other tables: extra columns would take part in duplicate checks
        for column, kind in TABLE_COLUMNS[name].items():
            if types.get(column) != kind:
                return None
        for column, kinds in OPTIONAL_COLUMNS.get(name, {}).items():
            if column in types and types[column] not in kinds:
                return None
        known = set(TABLE_COLUMNS[name]) | set(OPTIONAL_COLUMNS.get(name, {}))
        if not allowed_extra and set(types) - known:
            return None
        columns[name] = set(types)
    return columns


def _repeated(hashes) -> bool:
    """Whether any value occurs twice in ``hashes`` (uint64): one NumPy sort, which releases the GIL."""
    import numpy as np

    hashes.sort()
    return bool(np.any(hashes[1:] == hashes[:-1]))


def _in_thread(con, work):
    """Run ``work(cursor)`` in a thread on a cursor of its own; returns a function waiting for its result.

    DuckDB runs statements of different cursors at the same time, and NumPy releases the GIL while sorting,
    so checks overlap the main work (small statements leave cores idle that they fill).
    """
    from concurrent.futures import ThreadPoolExecutor

    cursor = con.cursor()

    def run():
        try:
            cursor.execute("SET TimeZone = 'UTC'")
            return work(cursor)
        finally:
            cursor.close()

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(run)
    pool.shutdown(wait=False)
    return future.result


def duplicate_rows_check(con, source: str, columns: list[str], key: list[str] | None = None):
    """Start checking a table (SQL ``source``) for exact duplicate rows; returns a function giving the answer.

    In a thread (the caller goes on meanwhile), DuckDB hashes the rows and NumPy sorts the hashes. Duplicate
    rows agree on every column, so when the hashes of the ``key`` columns alone never repeat there are none;
    otherwise the hashes over all ``columns`` decide. The answer is True when two rows share a hash: exact
    duplicates (missing values count as equal, as in ``DataFrame.duplicated``) or, very rarely, a collision,
    which costs only the fast path.
    """

    def hashed(cursor, names: list[str]):
        every = ", ".join('"' + c.replace('"', '""') + '"' for c in names)
        # the relational API streams into NumPy: cheaper than execute().fetchnumpy() for ten million rows
        return cursor.sql(f"SELECT hash({every}) AS h FROM {source}").fetchnumpy()["h"]

    def repeated(cursor) -> bool:
        if key and not _repeated(hashed(cursor, key)):
            return False
        return _repeated(hashed(cursor, columns))

    return _in_thread(con, repeated)


def _time_bounds() -> tuple[str, str]:
    """SQL literals of the first instant validation accepts and the first it refuses (``_limits.YEAR_RANGE``)."""
    from salesmetrics._util.limits import YEAR_RANGE

    first, last = YEAR_RANGE
    return f"TIMESTAMPTZ '{first:04d}-01-01 00:00:00+00'", f"TIMESTAMPTZ '{last + 1:04d}-01-01 00:00:00+00'"


def blank_sql(column: str) -> str:
    """SQL true where ``column`` is text validation reads as missing: empty, or only what ``str.strip()`` removes.

    Every such text sorts before '!' or from U+0085 on, so Parquet statistics skip the regex for most files.
    """
    return f"(({column} < '!' OR {column} >= '\x85') AND regexp_full_match({column}, '{BLANK}'))"


def hostile_values_check(con, files: dict[str, Path], columns: dict[str, set[str]]):
    """Start checking, in a thread, for values validation refuses that the other checks do not see.

    Times outside the accepted years (DuckDB skips row groups by their Parquet statistics), text that is
    empty or only spaces in a required text column, and infinite amounts. The answer is True when none.
    """
    low, high = _time_bounds()
    blank_columns = {"deals": ("deal_id", "owner"), "stage_changes": ("deal_id",), "activities": ("kind",)}

    def clean(cursor) -> bool:
        for name, path in files.items():
            conditions = [
                f'("{c}" < {low} OR "{c}" >= {high})' for c in TABLE_COLUMNS[name] if "TIME" in TABLE_COLUMNS[name][c]
            ]
            conditions += [blank_sql(c) for c in blank_columns.get(name, ())]
            if name == "deals" and "amount" in columns["deals"]:
                conditions.append("isinf(amount::DOUBLE)")
            query = f"SELECT count(*) FROM read_parquet({_lit(path)}) WHERE {' OR '.join(conditions)}"
            if cursor.execute(query).fetchone()[0]:
                return False
        return True

    return _in_thread(con, clean)


OUTCOME_VALUES = ("advanced", "stayed", "regressed")
DIRECTION_VALUES = ("inbound", "outbound")


def _load_and_check(con, files: dict[str, Path], model: StageModel, as_of_us: int | None, period: str | None):
    """Load the tables into DuckDB (d, s, c, and a: motions per deal) and start the checks validation would make.

    Returns ``(as_of_us, valid)`` where ``valid()`` waits for the checks still running and tells whether the
    log is one validation would accept unchanged (no error, no exact duplicate row to drop); or None when it
    is already known not to be, or the files are not as expected. With ``period`` (W, M or Q) motions are
    counted per deal and period. Tables d, s and c carry each row's file position (``row``) and the row of
    its deal in d (``code``).
    """
    import threading

    columns = _file_columns(con, files)
    if columns is None:
        return None
    waits = [hostile_values_check(con, files, columns)]
    src = {name: f"read_parquet({_lit(path)}, file_row_number = true)" for name, path in files.items()}
    amount = "amount" if "amount" in columns["deals"] else "NULL::DOUBLE"
    acts = f"read_parquet({_lit(files['activities'])})" if "activities" in files else None
    a_ready = threading.Event()
    first_activity = latest_activity = None
    if acts:
        # missing values and the range of times: DuckDB answers these from the Parquet statistics
        missing, first_activity, latest_activity = con.execute(
            f"SELECT 3 * count(*) - count(deal_id) - count(occurred_at) - count(kind), "
            f"epoch_us(min(occurred_at)), epoch_us(max(occurred_at)) FROM {acts}"
        ).fetchone()
        if missing:
            return None
        # exact duplicate activities would be dropped by validation: checked in a thread from now on
        duplicates = duplicate_rows_check(con, acts, sorted(columns["activities"]), ["deal_id", "occurred_at"])
        waits.append(lambda: not duplicates())
        group, by = "", "deal_id"
        if period is not None:
            offsets = utc_offsets(model.timezone, int(first_activity or 0), int(latest_activity or 0))
            group = f", {_period_sql('occurred_at', offsets, period)} AS period_index"
            by = "deal_id, period_index"
        counted = "count(*)"  # as_of defaults to the latest event, so it counts every activity
        if as_of_us is not None and latest_activity is not None and latest_activity > as_of_us:
            counted = f"count(*) FILTER (WHERE epoch_us(occurred_at) <= {as_of_us})"

        def activities(cursor) -> bool:
            try:  # per deal (and period): motions up to as_of
                cursor.execute(
                    f"CREATE TABLE a AS SELECT deal_id{group}, {counted} AS motions FROM {acts} GROUP BY {by}"
                )
            finally:
                a_ready.set()
            # outcome and direction vocabularies: a WHERE filter on one column is pushed into the Parquet scan
            # (about 0.01 s for 10M rows, against 0.05-0.07 s for SELECT DISTINCT and more for a filter inside
            # the count above); NOT IN is NULL for a missing value, which validation allows
            for column, allowed in (("outcome", OUTCOME_VALUES), ("direction", DIRECTION_VALUES)):
                if column in columns["activities"]:
                    query = f"SELECT count(*) FROM {acts} WHERE {column} NOT IN {_list(allowed)}"
                    if cursor.execute(query).fetchone()[0]:
                        return False
            return True

        waits.append(_in_thread(con, activities))
    else:
        extra = ", period_index BIGINT" if period is not None else ""
        con.execute(f"CREATE TABLE a (deal_id VARCHAR{extra}, motions BIGINT)")
        a_ready.set()

    con.execute(
        f"CREATE TABLE d AS SELECT file_row_number AS row, deal_id, owner, epoch_us(created_at) AS created, "
        f"{amount} AS amount FROM {src['deals']}"
    )
    # events carry their deal's row in d as an integer code: windows and joins on it beat text keys
    con.execute(
        f"CREATE TABLE s AS SELECT x.file_row_number AS row, x.deal_id, epoch_us(x.changed_at) AS t, x.stage, "
        f"d.row AS code FROM {src['stage_changes']} AS x LEFT JOIN d ON x.deal_id = d.deal_id"
    )
    if "close_date_changes" in files:
        day = f"date_diff('day', DATE '1970-01-01', (x.close_date AT TIME ZONE {_lit(model.timezone)})::DATE)"
        con.execute(
            f"CREATE TABLE c AS SELECT x.file_row_number AS row, x.deal_id, epoch_us(x.changed_at) AS t, "
            f"{day} AS day, d.row AS code FROM {src['close_date_changes']} AS x LEFT JOIN d ON x.deal_id = d.deal_id"
        )
    else:
        con.execute("CREATE TABLE c (row BIGINT, deal_id VARCHAR, t BIGINT, day BIGINT, code BIGINT)")
    if as_of_us is None:  # the latest event in the log
        latest = ["(SELECT max(created) FROM d)", "(SELECT max(t) FROM s)", "(SELECT max(t) FROM c)"]
        if latest_activity is not None:
            latest.append(str(int(latest_activity)))
        as_of_us = con.execute(f"SELECT greatest({', '.join(latest)})").fetchone()[0]
        if as_of_us is None:
            return None
    a_ready.wait()
    stages = _list(model.all_stages)

    def tables(cursor) -> bool:
        bad = cursor.execute(
            f"""
            SELECT
              (SELECT count(*) = 0 OR count(*) FILTER (WHERE deal_id IS NULL OR owner IS NULL) > 0
                      OR count(DISTINCT deal_id) < count(*) OR count(*) FILTER (WHERE amount < 0) > 0 FROM d)
              OR (SELECT count(*) = 0 OR count(*) FILTER (WHERE deal_id IS NULL OR t IS NULL OR stage IS NULL
                         OR stage NOT IN {stages} OR code IS NULL) > 0
                         OR count(DISTINCT (code, t, stage)) < count(*) FROM s)
              OR (SELECT count(*) FILTER (WHERE deal_id IS NULL OR t IS NULL OR day IS NULL OR code IS NULL) > 0
                         OR count(DISTINCT (code, t, day)) < count(*) FROM c)
              OR (SELECT count(*) FILTER (WHERE deal_id NOT IN (SELECT deal_id FROM d)) > 0 FROM a)
            """
        ).fetchone()[0]
        return not bad

    waits.append(_in_thread(con, tables))

    def valid() -> bool:
        return all(wait() for wait in waits)  # in order, up to the first check that fails

    return int(as_of_us), valid


def utc_offsets(timezone: str, first_us: int, last_us: int) -> list[tuple[int, int]]:
    """The UTC offsets of ``timezone`` between two instants: ``[(from_us, offset_us), ...]`` in time order.

    Each offset holds from its instant (microseconds since the epoch) until the next one; the first holds from
    before ``first_us``. Found with Python's zoneinfo (the time zone data pandas uses), day by day and then to
    the microsecond, so a column's wall-clock time is plain arithmetic in SQL.

    >>> utc_offsets("UTC", 0, 10**15)
    [(-9223372036854775808, 0)]
    >>> [(t, o // 3_600_000_000) for t, o in utc_offsets("Europe/Berlin", 1_704_067_200_000_000, 1_717_200_000_000_000)]
    [(-9223372036854775808, 1), (1711846800000000, 2)]
    """
    import zoneinfo
    from datetime import UTC, datetime, timedelta

    zone = zoneinfo.ZoneInfo(timezone)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def offset(us: int) -> int:
        return (epoch + timedelta(microseconds=us)).astimezone(zone).utcoffset() // timedelta(microseconds=1)

    day = US_PER_DAY
    out = [(-(2**63), offset(first_us))]
    at = first_us
    while at < last_us:
        nxt = min(at + day, last_us)
        if offset(nxt) != out[-1][1]:
            low, high = at, nxt  # offset(low) is the current one, offset(high) the next
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == out[-1][1] else (low, middle)
            out.append((high, offset(high)))
        at = nxt
    return out


def _period_sql(column: str, offsets: list[tuple[int, int]], period: str) -> str:
    """SQL for :func:`~salesmetrics.metrics.movement.period_index` of a timestamp column, given the zone's
    UTC offsets."""
    utc = f"epoch_us({column})"
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
    folder: Path, model: StageModel, as_of_us: int | None, out: Path, fmt: str, threads: int | None = None
) -> int | None:
    """Score every deal of a Parquet log with DuckDB and write ``out``; returns the as_of used (microseconds).

    ``as_of_us`` is the as_of moment in microseconds since the epoch (None: the latest event). Returns None
    (nothing written) when the log is not one the fast path can take; the caller then validates in full.
    """
    files = parquet_files(folder)
    if files is None:
        return None
    con = connect(threads)
    checked = _load_and_check(con, files, model, as_of_us, None)
    if checked is None:
        return None
    as_of_us, valid = checked
    return _write(con, model, as_of_us, out, fmt, valid)


def motions_by_period(
    folder: Path, model: StageModel, as_of_us: int | None, period: str, threads: int | None = None
) -> tuple[int, object] | None:
    """Motions per deal and period (W, M or Q) of a Parquet log, counted by DuckDB, with the fast path's checks.

    Returns ``(as_of_us, motions)`` with ``motions`` a pandas frame ``deal_id, period_index, motions`` (only the
    pairs with at least one activity up to as_of), or None when any check fails or the files are not as
    expected (the caller then validates in full). The checks are those of :func:`deal_scores_to_file`.
    """
    files = parquet_files(folder)
    if files is None:
        return None
    con = connect(threads)
    checked = _load_and_check(con, files, model, as_of_us, period)
    if checked is None:
        return None
    as_of_us, valid = checked
    if not valid():
        return None
    motions = con.execute(
        "SELECT deal_id, period_index, motions FROM a WHERE motions > 0 ORDER BY deal_id, period_index"
    ).df()
    return as_of_us, motions


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


def _write(con, model: StageModel, as_of_us: int, out: Path, fmt: str, valid=None) -> int | None:
    """COPY the per-deal query to a temporary file beside ``out``, then rename it into place.

    ``valid`` (a function: the checks still running) is asked before the rename: when the log fails a check
    nothing is written and None is returned.
    """
    query = _spreadsheet_safe(con, f"({deal_scores_sql(model, as_of_us)})", fmt)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        written = con.execute(f"COPY {query} TO {_lit(tmp)} ({options})").fetchone()[0]
        if valid is not None and not valid():
            return None
        os.replace(tmp, out)
        deals = con.execute("SELECT count(*) FROM d").fetchone()[0]
        if written < deals:  # rare: only then are the reasons counted
            from datetime import UTC, datetime, timedelta

            from salesmetrics.metrics.movement import note_deals_left_out

            undated = con.execute(
                "SELECT count(*) FROM d WHERE created IS NULL AND row NOT IN (SELECT code FROM s)"
            ).fetchone()[0]
            as_of = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=as_of_us)
            import zoneinfo

            note_deals_left_out(deals, written, undated, as_of.astimezone(zoneinfo.ZoneInfo(model.timezone)))
    finally:
        if tmp.exists():
            tmp.unlink()
    return as_of_us


def write_frame(frame, out: Path, fmt: str) -> None:
    """Write a pandas frame with DuckDB's writer (atomically), so both paths format numbers the same way."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)  # NaN becomes null, as in the fast path
    con = connect()
    con.register("result", table)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    with atomic_path(out) as tmp:
        con.execute(f"COPY {_spreadsheet_safe(con, 'result', fmt)} TO {_lit(tmp)} ({options})")
