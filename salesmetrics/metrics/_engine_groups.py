"""Group scores in DuckDB: ``salesmetrics score --by owner|team --period W|M|Q`` in one engine (issue 16).

Two queries over the relational core's tables (:mod:`salesmetrics.log.core`; views ``d``, ``s``, ``c`` and the motions
table ``a`` of :func:`salesmetrics.metrics._engine._count_motions`):

- :func:`pieces_sql`, one row per deal and period, mirrors
  :func:`salesmetrics.metrics.movement.deal_period_pieces`: movement counts, motions and the pipeline waterfall's
  flows (``docs/decisions/0007-waterfall.md``), the same rows and numbers;
- :func:`group_scores_sql` sums those pieces per owner or team and period as
  :func:`salesmetrics.metrics.movement.group_scores` does: counts, rates and amounts, every group given every
  period from its first piece to the period of as_of.

Group results are plain sums of per-deal pieces, so the pieces may come from any subset of deals that keeps each
deal's rows together. Amounts are summed as pandas sums them, with Kahan's compensation in the deals' file order
(``fsum(... ORDER BY code)``), so both paths write the same digits. Times are microseconds since the epoch (UTC);
calendar periods come from the zone's UTC offsets over the events' span (:func:`~salesmetrics.metrics._engine
._period_sql`); ``day`` is a close date's local calendar day. The pandas code stays the tests' oracle.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from salesmetrics._util.atomic import atomic_path
from salesmetrics._util.timezones import utc_offsets
from salesmetrics.log.config import StageModel
from salesmetrics.log.core import load_log
from salesmetrics.log.sql import connect, ident, lit
from salesmetrics.log.sql import values_list as _list
from salesmetrics.metrics._engine import _count_motions, _load_and_check, _period_sql, _spreadsheet_safe
from salesmetrics.metrics._group_notes import no_group_error, note_empty, note_no_close_date_changes

__all__ = ["group_scores_frame", "group_scores_sql", "group_scores_to_file", "pieces_sql"]

COUNTS = ("adds", "advances", "regressions", "wins", "losses", "movements", "motions")
FLOWS = ("opening", "created", "won", "lost", "pushed_out", "pulled_in", "reopened", "closing")


def start_day_sql(index: str, period: str) -> str:
    """SQL for :func:`~salesmetrics.metrics.movement.period_start_day`: the first calendar day (days since
    1970-01-01) of the period ``index`` (weeks from Monday 1970-01-05, months or quarters since year 0)."""
    if period == "W":
        return f"(({index}) * 7 + 4)"
    months = f"(({index}) * 3)" if period == "Q" else f"({index})"
    return f"date_diff('day', DATE '1970-01-01', make_date({months} // 12, {months} % 12 + 1, 1))"


def label_sql(index: str, period: str) -> str:
    """SQL for :func:`~salesmetrics.metrics.movement.period_labels`: ``2024-01`` (M), ``2024Q1`` (Q) or the
    Monday ``2024-01-01`` (W)."""
    if period == "W":
        return f"strftime(DATE '1970-01-01' + CAST({start_day_sql(index, 'W')} AS INTEGER), '%Y-%m-%d')"
    if period == "M":
        return f"printf('%04d-%02d', ({index}) // 12, ({index}) % 12 + 1)"
    return f"printf('%04dQ%d', ({index}) // 4, ({index}) % 4 + 1)"


def pieces_sql(model: StageModel, as_of_us: int, period: str, offsets: list[tuple[int, int]], last_period: int) -> str:
    """One row per deal and period over d, s, c and a (motions per ``deal_id, period_index``): columns ``code``
    (the deal's row in d), ``deal_id, period_index``, the counts and the flows of
    :func:`~salesmetrics.metrics.movement.deal_period_pieces`, in its row order.

    Stage entries are classified as in :func:`~salesmetrics.metrics._engine.deal_scores_sql`. Each deal's stage
    entries and close-date changes form one stream, in time order with a close-date change before a stage entry
    at the same moment (then file order); after each event the deal is open or not (its latest stage entry) and
    has an expected close day or none (its latest close-date change). It is in period P's pipeline when open with
    a close day before P's end; each event moving it in or out is one flow. A deal's state after its last event of
    a period holds until its next period with events (or the period of as_of): those periods between get rows
    with opening and closing only, and only while the deal is open, as in pandas.
    """
    open_stages, won, lost = _list(model.stages), _list(model.won), _list(model.lost)
    ranks = " ".join(f"WHEN {lit(s)} THEN {i}" for i, s in enumerate(model.stages))
    n, until = len(model.stages), last_period + 1
    end = start_day_sql("p + 1", period)
    counts = ", ".join(f"coalesce(w.{c}, 0) AS {c}" for c in COUNTS if c not in ("movements", "motions"))
    flows = ", ".join(f"coalesce(w.{f}, 0) AS {f}" for f in FLOWS)
    zeros = ", ".join(f"0 AS {c}" for c in (*COUNTS[:5], *FLOWS[1:-1]))
    return f"""
    WITH
    kept AS (  -- the deals known at as_of
      SELECT row AS code, deal_id FROM d WHERE created <= {as_of_us}
         OR (created IS NULL AND row IN (SELECT code FROM s WHERE t <= {as_of_us}))
    ),
    ranked AS (
      SELECT code, t, row, stage,
             CASE WHEN stage IN {won} THEN {n} WHEN stage IN {lost} THEN -1
                  ELSE CASE stage {ranks} END END AS rnk
      FROM s WHERE t <= {as_of_us} AND code IN (SELECT code FROM kept)
    ),
    prev AS (
      SELECT *, lag(stage) OVER w AS p_stage, lag(rnk) OVER w AS p_rnk
      FROM ranked WINDOW w AS (PARTITION BY code ORDER BY t, row)
    ),
    events AS (  -- kind: 0 add, 1 advance, 2 regression, 3 loss, 4 repeat; is_stage 0 for a close-date change
      SELECT code, t, 1 AS is_stage, row AS seq,
             CASE WHEN p_stage IS NULL THEN 0
                  WHEN stage = p_stage OR (rnk = {n} AND p_rnk = {n}) OR (rnk = -1 AND p_rnk = -1) THEN 4
                  WHEN rnk = -1 THEN 3
                  WHEN rnk > p_rnk THEN 1
                  WHEN rnk < p_rnk THEN 2
                  ELSE 4 END AS kind,
             rnk = {n} AS won_stage, stage IN {open_stages} AS open_stage, NULL::BIGINT AS day
      FROM prev
      UNION ALL
      SELECT code, t, 0, row, NULL, false, NULL, day
      FROM c WHERE t <= {as_of_us} AND code IN (SELECT code FROM kept)
    ),
    states AS (  -- the deal's state after each event: open or not, its expected close day (NULL: none yet)
      SELECT code, t, is_stage, seq, kind, kind = 1 AND won_stage AS is_win, {_period_sql("t", offsets, period)} AS p,
             coalesce(last_value(open_stage IGNORE NULLS) OVER w, false) AS open_after,
             last_value(day IGNORE NULLS) OVER w AS day_after
      FROM events WINDOW w AS (PARTITION BY code ORDER BY t, is_stage, seq ROWS UNBOUNDED PRECEDING)
    ),
    moves AS (
      SELECT *, {end} AS p_end,
             coalesce(lag(open_after) OVER w, false) AS open_before, lag(day_after) OVER w AS day_before,
             lead(p) OVER w IS DISTINCT FROM p AS last_in_p
      FROM states WINDOW w AS (PARTITION BY code ORDER BY t, is_stage, seq)
    ),
    flows AS (  -- in P's pipeline before and after the event
      SELECT *, coalesce(open_before AND day_before < p_end, false) AS was_in,
             coalesce(open_after AND day_after < p_end, false) AS is_in
      FROM moves
    ),
    per_period AS (
      SELECT code, p, any_value(p_end) AS p_end,
             count(*) FILTER (WHERE kind = 0) AS adds, count(*) FILTER (WHERE kind = 1) AS advances,
             count(*) FILTER (WHERE kind = 2) AS regressions, count(*) FILTER (WHERE is_win) AS wins,
             count(*) FILTER (WHERE kind = 3) AS losses,
             count(*) FILTER (WHERE is_in AND NOT was_in AND is_stage = 1 AND kind = 0) AS created,
             count(*) FILTER (WHERE was_in AND NOT is_in AND is_stage = 1 AND is_win) AS won,
             count(*) FILTER (WHERE was_in AND NOT is_in AND is_stage = 1 AND NOT is_win) AS lost,
             count(*) FILTER (WHERE was_in AND NOT is_in AND is_stage = 0) AS pushed_out,
             count(*) FILTER (WHERE is_in AND NOT was_in AND is_stage = 0) AS pulled_in,
             count(*) FILTER (WHERE is_in AND NOT was_in AND is_stage = 1 AND kind <> 0) AS reopened,
             bool_or(open_after) FILTER (WHERE last_in_p) AS s_open,  -- the state at the period's end
             max(day_after) FILTER (WHERE last_in_p) AS s_day
      FROM flows GROUP BY code, p
    ),
    chain AS (
      SELECT *, lag(s_open) OVER v AS prev_open, lag(s_day) OVER v AS prev_day, lead(p) OVER v AS next_p
      FROM per_period WINDOW v AS (PARTITION BY code ORDER BY p)
    ),
    waterfall AS (
      SELECT code, p, adds, advances, regressions, wins, losses, {", ".join(FLOWS[1:-1])},
             coalesce(prev_open AND prev_day < p_end, false)::BIGINT AS opening,
             coalesce(s_open AND s_day < p_end, false)::BIGINT AS closing
      FROM chain
      UNION ALL  -- an open deal's state carried through the periods without its events
      SELECT code, p, {zeros}, coalesce(s_day < {end}, false)::BIGINT AS opening,
             coalesce(s_day < {end}, false)::BIGINT AS closing
      FROM (SELECT code, s_day, unnest(range(p + 1, coalesce(next_p, {until}))) AS p FROM chain WHERE s_open)
    ),
    motions AS (
      SELECT kept.code, a.period_index AS p, a.motions FROM a JOIN kept ON a.deal_id = kept.deal_id
      WHERE a.motions > 0
    ),
    pieces AS (
      SELECT coalesce(w.code, m.code) AS code, coalesce(w.p, m.p) AS period_index, {counts},
             coalesce(m.motions, 0) AS motions, {flows}
      FROM waterfall w FULL JOIN motions m ON w.code = m.code AND w.p = m.p
    )
    SELECT code, d.deal_id, period_index::BIGINT AS period_index,
           {", ".join(f"{c}::BIGINT AS {c}" for c in COUNTS[:5])},
           (adds + advances + regressions + losses)::BIGINT AS movements, motions::BIGINT AS motions,
           {", ".join(f"{f}::BIGINT AS {f}" for f in FLOWS)}
    FROM pieces JOIN (SELECT row, deal_id FROM d) AS d ON d.row = pieces.code
    ORDER BY code, period_index
    """


def group_scores_sql(pieces: str, by: str, period: str, last_period: int, amounts: bool) -> str:
    """The scores per ``by`` (owner or team) and period from the pieces (a table or parenthesised query of
    :func:`pieces_sql`'s columns), as :func:`~salesmetrics.metrics.movement.group_scores` computes them;
    ``amounts``: whether d has an amount column (missing amounts count 0)."""
    group = ident(by)
    amount = "coalesce(amount, 0)::DOUBLE" if amounts else "0::DOUBLE"
    sums = [f"sum({c})::BIGINT AS {c}" for c in COUNTS]
    for f in FLOWS:
        sums += [f"sum({f})::BIGINT AS {f}_count", f"fsum({f} * amount ORDER BY code) AS {f}_amount"]
    filled = [f"coalesce(g.{c}, 0)::BIGINT AS {c}" for c in COUNTS]
    filled.append("CASE WHEN g.motions > 0 THEN g.movements::DOUBLE / g.motions::DOUBLE END AS movement_per_motion")
    filled.append("CASE WHEN g.wins + g.losses > 0 THEN g.wins::DOUBLE / (g.wins + g.losses)::DOUBLE END AS win_rate")
    for f in FLOWS:
        filled += [f"coalesce(g.{f}_count, 0)::BIGINT AS {f}_count", f"coalesce(g.{f}_amount, 0.0) AS {f}_amount"]
    return f"""
    WITH
    summed AS (
      SELECT grp, period_index AS p, {", ".join(sums)}
      FROM {pieces} AS x JOIN (SELECT row, {group} AS grp, {amount} AS amount FROM d) AS y ON y.row = x.code
      GROUP BY grp, period_index
    ),
    grid AS (  -- every group gets every period from its first piece to the period of as_of
      SELECT grp, unnest(range(p0, {last_period + 1})) AS p FROM (SELECT grp, min(p) AS p0 FROM summed GROUP BY grp)
    )
    -- the CASE keeps the group column nullable in Parquet, as pandas' frame has it (DuckDB writes a column its
    -- statistics prove free of NULLs as required)
    SELECT CASE WHEN grid.p IS NOT NULL THEN grid.grp END AS {group}, {label_sql("grid.p", period)} AS period,
           grid.p::BIGINT AS period_index, {", ".join(filled)}
    FROM grid LEFT JOIN summed AS g ON grid.grp IS NOT DISTINCT FROM g.grp AND grid.p = g.p
    ORDER BY grid.grp NULLS LAST, grid.p
    """


def _periods(con, model: StageModel, as_of_us: int, period: str) -> tuple[list[tuple[int, int]], int]:
    """The zone's UTC offsets over the stage and close-date changes up to as_of and as_of itself, and the period of
    as_of."""
    (first,) = con.execute(
        f"SELECT least((SELECT min(t) FROM s WHERE t <= {as_of_us}), (SELECT min(t) FROM c WHERE t <= {as_of_us}), "
        f"{as_of_us})"
    ).fetchall()[0]
    offsets = utc_offsets(model.timezone, int(first), as_of_us)
    (last,) = con.execute(f"SELECT {_period_sql(str(as_of_us), offsets, period)}").fetchall()[0]
    return offsets, int(last)


def _local_text(as_of_us: int, timezone: str) -> str:
    """as_of as ``%Y-%m-%d %H:%M`` in the log's zone."""
    import zoneinfo

    as_of = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=as_of_us)
    return f"{as_of.astimezone(zoneinfo.ZoneInfo(timezone)):%Y-%m-%d %H:%M}"


def _group_query(con, model: StageModel, by: str, period: str, as_of_us: int, columns: set[str]) -> str:
    """The group query for a loaded core (after the UsageError check)."""
    offsets, last = _periods(con, model, as_of_us, period)
    pieces = f"({pieces_sql(model, as_of_us, period, offsets, last)})"
    return group_scores_sql(pieces, by, period, last, "amount" in columns)


def group_scores_to_file(
    folder: Path,
    model: StageModel,
    by: str,
    period: str,
    as_of_us: int | None,
    out: Path,
    fmt: str,
    threads: int | None = None,
    stacklevel: int = 2,
) -> int | None:
    """Score a log folder per ``by`` (owner or team) and period with DuckDB and write ``out``; returns the as_of
    used (microseconds since the epoch), or None (nothing written) when the engine cannot vouch for the log.

    As the pandas path: a UsageError when no deal has a ``by``, a DataNote when the log has no close-date changes
    and one when the result is empty (each only once the log's checks have passed).
    """
    con = connect(threads)
    checked = _load_and_check(con, Path(folder), model, as_of_us, period)
    if checked is None:
        return None
    as_of_us, valid, fix_duplicates, core = checked
    columns = core.columns["deals"]
    if by not in columns or not con.execute(f"SELECT count({ident(by)}) FROM d").fetchall()[0][0]:
        if not valid():
            return None  # validation reports the log's problems first
        raise no_group_error(by)
    query = _spreadsheet_safe(con, f"({_group_query(con, model, by, period, as_of_us, columns)})", fmt)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    fix_duplicates()  # before the COPY, as for per-deal scores
    no_close_dates = not con.execute("SELECT count(*) FROM c").fetchall()[0][0]
    try:
        with atomic_path(out) as tmp:
            written = con.execute(f"COPY {query} TO {lit(tmp)} ({options})").fetchall()[0][0]
            if not valid():
                raise _StepAside
            if no_close_dates:  # in the block: a warning raised as an error leaves no file, as in pandas
                note_no_close_date_changes(stacklevel)
            if not written:
                note_empty(_local_text(as_of_us, model.timezone), stacklevel)
    except _StepAside:
        return None
    return as_of_us


class _StepAside(Exception):
    """The log failed a check after the scores were computed: nothing is written."""


def group_scores_frame(log, by: str, period: str, as_of_us: int) -> object:
    """The group scores of a validated in-memory log, by the same queries (the frames reach DuckDB through Arrow:
    :func:`salesmetrics.log.core.load_log`). A pandas frame; the caller checks ``by`` and warns."""
    con = connect()
    core = load_log(con, log)
    as_of_us, _, _ = _count_motions(con, core, log.model, as_of_us, period)
    query = _group_query(con, log.model, by, period, as_of_us, core.columns["deals"])
    return con.sql(query).to_arrow_table().to_pandas()
