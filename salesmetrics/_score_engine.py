"""The fast path of ``salesmetrics score --by deal``: one DuckDB query over a Parquet log, without pandas.

It is taken only when the log is Parquet with the expected column types, and only after cheap SQL checks of
everything full validation would refuse (missing values, unknown stages, unknown deal ids, repeated deal ids,
negative amounts, unknown outcomes or directions, exact duplicate rows). When any check fails, or the files are
not as expected, :func:`deal_scores_to_file` returns ``None`` and the caller falls back to
:func:`salesmetrics.read_log` and the pandas path, which reports each problem with file, row and column.

The SQL mirrors :func:`salesmetrics.prepare.stage_entries` and :func:`salesmetrics.movement.deal_scores`;
tests hold the two paths to identical numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import StageModel

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
US_PER_DAY = 86_400_000_000


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _list(values) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")" if values else "(NULL)"


def parquet_files(folder: Path) -> dict[str, Path] | None:
    """The Parquet file of each table, or None when any table is in another format (or twice)."""
    files = {}
    for name in TABLE_COLUMNS:
        found = [
            folder / f"{name}{s}" for s in (".parquet", ".csv", ".tsv", ".txt") if (folder / f"{name}{s}").exists()
        ]
        if len(found) > 1 or (found and found[0].suffix != ".parquet"):
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


def _types_ok(con, files: dict[str, Path]) -> bool:
    for name, path in files.items():
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(path)})").fetchall()
        types = {row[0]: row[1] for row in described}
        allowed_extra = name == "deals"  # other tables: extra columns would take part in duplicate checks
        for column, kind in TABLE_COLUMNS[name].items():
            if types.get(column) != kind:
                return False
        for column, kinds in OPTIONAL_COLUMNS.get(name, {}).items():
            if column in types and types[column] not in kinds:
                return False
        known = set(TABLE_COLUMNS[name]) | set(OPTIONAL_COLUMNS.get(name, {}))
        if not allowed_extra and set(types) - known:
            return False
    return True


def _columns(con, path: Path) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(path)})").fetchall()}


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
    if not _types_ok(con, files):
        return None
    src = {name: f"read_parquet({_lit(path)}, file_row_number = true)" for name, path in files.items()}
    deal_cols = _columns(con, files["deals"])
    amount = "amount" if "amount" in deal_cols else "NULL::DOUBLE"
    act_cols = _columns(con, files["activities"]) if "activities" in files else set()

    # 1. the raw tables, with the checks validation would make
    con.execute(
        f"CREATE TEMP TABLE d AS SELECT file_row_number AS row, deal_id, owner, epoch_us(created_at) AS created, "
        f"{amount} AS amount FROM {src['deals']}"
    )
    con.execute(
        f"CREATE TEMP TABLE s AS SELECT file_row_number AS row, deal_id, epoch_us(changed_at) AS t, stage "
        f"FROM {src['stage_changes']}"
    )
    if "close_date_changes" in files:
        day = f"date_diff('day', DATE '1970-01-01', (close_date AT TIME ZONE {_lit(model.timezone)})::DATE)"
        con.execute(
            f"CREATE TEMP TABLE c AS SELECT file_row_number AS row, deal_id, epoch_us(changed_at) AS t, "
            f"{day} AS day FROM {src['close_date_changes']}"
        )
    else:
        con.execute("CREATE TEMP TABLE c (row BIGINT, deal_id VARCHAR, t BIGINT, day BIGINT)")
    if as_of_us is None:  # the latest event in the log
        latest = ["(SELECT max(created) FROM d)", "(SELECT max(t) FROM s)", "(SELECT max(t) FROM c)"]
        if "activities" in files:
            latest.append(f"(SELECT epoch_us(max(occurred_at)) FROM {src['activities']})")
        as_of_us = con.execute(f"SELECT greatest({', '.join(latest)})").fetchone()[0]
        if as_of_us is None:
            return None
    as_of_us = int(as_of_us)
    if "activities" in files:
        outcome = "outcome NOT IN ('advanced', 'stayed', 'regressed')" if "outcome" in act_cols else "false"
        direction = "direction NOT IN ('inbound', 'outbound')" if "direction" in act_cols else "false"
        # per deal: motions up to as_of, and what validation would refuse
        acts = f"read_parquet({_lit(files['activities'])})"
        con.execute(
            f"CREATE TEMP TABLE a AS SELECT deal_id, "
            f"count(*) FILTER (WHERE occurred_at <= make_timestamptz({as_of_us})) AS motions, "
            f"(count(*) - count(occurred_at)) + (count(*) - count(kind)) AS missing, "
            f"count(*) FILTER (WHERE {outcome} OR {direction}) AS unknown FROM {acts} GROUP BY deal_id"
        )
        # exact duplicate rows would be dropped by validation; they share deal and time, so as many distinct
        # hashes of (deal_id, occurred_at) as rows proves there are none (a collision only costs the fast path)
        rows, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT hash(deal_id, occurred_at)) FROM {acts}"
        ).fetchone()
        if rows != distinct:
            return None
    else:
        con.execute("CREATE TEMP TABLE a (deal_id VARCHAR, motions BIGINT, missing BIGINT, unknown BIGINT)")
    stages = _list(model.all_stages)
    bad = con.execute(
        f"""
        SELECT
          (SELECT count(*) = 0 OR count(*) FILTER (WHERE deal_id IS NULL OR owner IS NULL) > 0
                  OR count(DISTINCT deal_id) < count(*) OR count(*) FILTER (WHERE amount < 0) > 0 FROM d)
          OR (SELECT count(*) = 0 OR count(*) FILTER (WHERE deal_id IS NULL OR t IS NULL OR stage IS NULL
                     OR stage NOT IN {stages}) > 0
                     OR count(*) FILTER (WHERE deal_id NOT IN (SELECT deal_id FROM d)) > 0
                     OR count(DISTINCT (deal_id, t, stage)) < count(*) FROM s)
          OR (SELECT count(*) FILTER (WHERE deal_id IS NULL OR t IS NULL OR day IS NULL
                     OR deal_id NOT IN (SELECT deal_id FROM d)) > 0
                     OR count(DISTINCT (deal_id, t, day)) < count(*) FROM c)
          OR (SELECT count(*) FILTER (WHERE deal_id IS NULL OR deal_id NOT IN (SELECT deal_id FROM d)
                     OR missing > 0 OR unknown > 0) > 0 FROM a)
        """
    ).fetchone()[0]
    if bad:
        return None
    return _write(con, model, int(as_of_us), out, fmt)


def deal_scores_sql(model: StageModel, as_of_us: int) -> str:
    """The per-deal query over temp tables d, s, c, a (see :func:`deal_scores_to_file`)."""
    open_stages, won, lost = _list(model.stages), _list(model.won), _list(model.lost)
    ranks = " ".join(f"WHEN {_lit(s)} THEN {i}" for i, s in enumerate(model.stages))
    n = len(model.stages)
    return f"""
    WITH
    kept AS (  -- the deals known at as_of
      SELECT * FROM d WHERE created <= {as_of_us}
         OR (created IS NULL AND deal_id IN (SELECT deal_id FROM s WHERE t <= {as_of_us}))
    ),
    ranked AS (
      SELECT s.deal_id, s.t, s.row, s.stage,
             CASE WHEN s.stage IN {won} THEN {n} WHEN s.stage IN {lost} THEN -1
                  ELSE CASE s.stage {ranks} END END AS rnk,
             s.stage IN {won} AS is_won, s.stage IN {lost} AS is_lost
      FROM s JOIN kept USING (deal_id) WHERE s.t <= {as_of_us}
    ),
    prev AS (
      SELECT *, lag(stage) OVER w AS p_stage, lag(rnk) OVER w AS p_rnk, lag(is_won) OVER w AS p_won,
             lag(is_lost) OVER w AS p_lost
      FROM ranked WINDOW w AS (PARTITION BY deal_id ORDER BY t, row)
    ),
    kinds AS (
      SELECT *, CASE WHEN p_stage IS NULL THEN 'add'
                     WHEN stage = p_stage OR (is_won AND p_won) OR (is_lost AND p_lost) THEN 'repeat'
                     WHEN is_lost THEN 'loss'
                     WHEN rnk > p_rnk THEN 'advance'
                     WHEN rnk < p_rnk THEN 'regression'
                     ELSE 'repeat' END AS kind
      FROM prev
    ),
    per_stage AS (
      SELECT deal_id,
             count(*) FILTER (WHERE kind = 'add') AS adds,
             count(*) FILTER (WHERE kind = 'advance') AS advances,
             count(*) FILTER (WHERE kind = 'regression') AS regressions,
             count(*) FILTER (WHERE kind = 'advance' AND is_won) AS wins,
             count(*) FILTER (WHERE kind = 'loss') AS losses,
             max(t) FILTER (WHERE kind <> 'repeat') AS last_move,
             last(stage ORDER BY t, row) AS current_stage
      FROM kinds GROUP BY deal_id
    ),
    steps AS (
      SELECT c.deal_id, day - lag(day) OVER (PARTITION BY c.deal_id ORDER BY c.t, c.row) AS step
      FROM c JOIN kept USING (deal_id) WHERE c.t <= {as_of_us}
    ),
    per_close AS (
      SELECT deal_id, count(*) FILTER (WHERE step > 0) AS pushes,
             coalesce(sum(step) FILTER (WHERE step > 0), 0) AS days_pushed,
             count(*) FILTER (WHERE step < 0) AS pulls
      FROM steps GROUP BY deal_id
    ),
    per_act AS (SELECT deal_id, motions FROM a),
    joined AS (
      SELECT kept.row, kept.deal_id, kept.owner, kept.created, p.current_stage, p.last_move,
             coalesce(p.adds, 0) AS adds, coalesce(p.advances, 0) AS advances,
             coalesce(p.regressions, 0) AS regressions, coalesce(p.wins, 0) AS wins,
             coalesce(p.losses, 0) AS losses, coalesce(m.motions, 0) AS motions,
             coalesce(c.pushes, 0) AS pushes, coalesce(c.days_pushed, 0) AS days_pushed,
             coalesce(c.pulls, 0) AS pulls
      FROM kept LEFT JOIN per_stage p USING (deal_id) LEFT JOIN per_act m USING (deal_id)
                LEFT JOIN per_close c USING (deal_id)
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


def _write(con, model: StageModel, as_of_us: int, out: Path, fmt: str) -> int:
    """COPY the per-deal query to a temporary file beside ``out``, then rename it into place."""
    query = deal_scores_sql(model, as_of_us)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        con.execute(f"COPY ({query}) TO {_lit(tmp)} ({options})")
        os.replace(tmp, out)
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
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        con.execute(f"COPY result TO {_lit(tmp)} ({options})")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
