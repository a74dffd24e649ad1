"""Group scores in DuckDB: ``salesmetrics score --by owner|team --period W|M|Q`` in one engine (issue 16).

Two queries over the relational core's tables (:mod:`salesmetrics.log.core`; views ``d``, ``s``, ``c`` and the motions
table ``a`` of :func:`salesmetrics.metrics._engine._count_motions`):

- :func:`pieces_sql`, one row per deal and period, mirrors
  ``deal_period_pieces`` of the pandas oracle (``tests/oracle_movement.py``): movement counts, motions and the
  pipeline waterfall's flows (``docs/decisions/0007-waterfall.md``), the same rows and numbers;
- :func:`group_scores_sql` sums those pieces per owner or team and period as
  the oracle's ``group_scores`` does: counts, rates and amounts, every group given every
  period from its first piece to the period of as_of.

Group results are plain sums of per-deal pieces, so the pieces may come from any subset of deals that keeps each
deal's rows together. Amounts are summed as pandas sums them, to the last bit (:func:`_group_tables`,
``docs/decisions/0048-group-scores-in-sql.md``). Times are microseconds since the epoch (UTC); calendar periods
come from the zone's UTC offsets over the events' span (``_engine._period_sql``); ``day`` is a close date's local
calendar day. The pandas code stays the tests' oracle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from salesmetrics._util.atomic import atomic_path
from salesmetrics._util.timezones import utc_offsets
from salesmetrics.log.config import StageModel
from salesmetrics.log.core import load_log
from salesmetrics.log.sql import connect, ident, lit
from salesmetrics.log.sql import values_list as _list
from salesmetrics.metrics._engine import _as_pandas_writes, _count_motions, _load_and_check, _period_sql
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


def pieces_sql(
    model: StageModel,
    as_of_us: int,
    period: str,
    offsets: list[tuple[int, int]],
    last_period: int,
    ordered: bool = True,
    waterfall: str | None = None,
    priced: tuple[bool, bool] | None = None,
) -> str:
    """One row per deal and period over d, s, c and a (motions per ``deal_id, period_index``): columns ``code``
    (the deal's row in d), ``deal_id, period_index``, the counts and the flows of
    the oracle's ``deal_period_pieces``, in its row order.

    Stage entries are classified as in :func:`~salesmetrics.metrics._engine.deal_scores_sql`. Each deal's stage
    entries and close-date changes form one stream, in time order with a close-date change before a stage entry
    at the same moment, except one that moves the date later at a close (into a won or lost stage), after it
    (decision 0062; :func:`~salesmetrics.log.prepare.stamped_at_close`), then file order; after each event the
    deal is open or not (its latest stage entry) and
    has an expected close day or none (its latest close-date change). It is in period P's pipeline when open with
    a close day before P's end; each event moving it in or out is one flow. A deal's state after its last event of
    a period holds until its next period with events (or the period of as_of): those periods between get rows
    with opening and closing only, and only while the deal is open, as in pandas. ``ordered=False`` leaves out
    ``deal_id`` and the order, which the group sums do not need; ``waterfall`` names a table made beforehand
    with :func:`waterfall_sql` (its rows need no activity, so they can be made while exact duplicate
    activities are still being looked for). ``priced`` (the deals table has ``amount``, the log has
    ``amount_changes``) adds each flow's amount, ``opening_amount`` ... ``closing_amount``, by
    :func:`prices_sql`'s rule.
    """
    won, lost, closing = _list(model.won), _list(model.lost), _list((*model.won, *model.lost))
    ranks = " ".join(f"WHEN {lit(s)} THEN {i}" for i, s in enumerate(model.stages))
    n, until = len(model.stages), last_period + 1
    end = start_day_sql("p + 1", period)
    counts = ", ".join(f"coalesce(w.{c}, 0) AS {c}" for c in COUNTS[:5])
    flows = ", ".join(f"coalesce(w.{f}, 0) AS {f}" for f in FLOWS)
    zeros = ", ".join(f"0 AS {c}" for c in (*COUNTS[:5], *FLOWS[1:-1]))
    money = [f"{f}_amount" for f in FLOWS] if priced is not None else []
    if money:
        flows += "".join(f", coalesce(w.{m}, 0.0) AS {m}" for m in money)
    moved = ", ".join(f"count(*) FILTER (WHERE {cond}) AS {f}" for f, cond in _FLOW_CONDITIONS.items())
    moved_money = "".join(
        f", coalesce(sum(amt) FILTER (WHERE {cond}), 0.0) AS {f}_amount" for f, cond in _FLOW_CONDITIONS.items()
    )
    kept = f"""
    kept AS (  -- the deals known at as_of
      SELECT row AS code, deal_id FROM d WHERE created <= {as_of_us}
         OR (created IS NULL AND row IN (SELECT code FROM s WHERE t <= {as_of_us}))
    )"""
    if waterfall is None:
        ctes = f"""{kept},
    events AS (  -- rnk: open stages 0..n-1, won n, lost -1; NULL for a close-date change (is_stage 0)
      SELECT code, t, 1 AS is_stage, row AS seq,
             CASE WHEN stage IN {won} THEN {n} WHEN stage IN {lost} THEN -1
                  ELSE CASE stage {ranks} END END AS rnk, NULL::BIGINT AS day, 1 AS ord
      FROM s WHERE t <= {as_of_us} AND code IN (SELECT code FROM kept)
      UNION ALL  -- ord: a close-date change before a stage entry at the same moment, one stamped later at a
      -- close (an entry into a won or lost stage) after it (decision 0062)
      SELECT code, t, 0, row, NULL, day,
             CASE WHEN day > lag(day) OVER (PARTITION BY code ORDER BY t, row) AND EXISTS (
               SELECT 1 FROM s AS x WHERE x.code = c.code AND x.t = c.t AND x.stage IN {closing}
             ) THEN 2 ELSE 0 END
      FROM c WHERE t <= {as_of_us} AND code IN (SELECT code FROM kept)
    ),
    stream AS (  -- one window over each deal's events in time order (ord at the same moment)
      SELECT code, t, is_stage, rnk, day, p,
             last_value(rnk IGNORE NULLS) OVER before AS p_rnk,  -- the stage entry before (NULL: none)
             last_value(day IGNORE NULLS) OVER before AS day_before,  -- the expected close day before (NULL: none)
             lag(p) OVER w IS DISTINCT FROM p AS first_in_p, lead(p) OVER w AS next_p
      FROM (SELECT *, {_period_sql("t", offsets, period)} AS p FROM events)
      WINDOW w AS (PARTITION BY code ORDER BY t, ord, seq),
             before AS (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ),
    moves AS (  -- kind: 0 add, 1 advance, 2 regression, 3 loss, 4 repeat (a won or lost stage repeats its kind)
      SELECT code, t, p, is_stage, first_in_p, next_p IS DISTINCT FROM p AS last_in_p, next_p, {end} AS p_end,
             CASE WHEN is_stage = 0 THEN NULL WHEN p_rnk IS NULL THEN 0 WHEN rnk = p_rnk THEN 4
                  WHEN rnk = -1 THEN 3 WHEN rnk > p_rnk THEN 1 ELSE 2 END AS kind,
             rnk = {n} AS won_stage,
             coalesce(p_rnk BETWEEN 0 AND {n - 1}, false) AS open_before, day_before,
             coalesce(CASE WHEN is_stage = 1 THEN rnk BETWEEN 0 AND {n - 1} ELSE p_rnk BETWEEN 0 AND {n - 1} END,
                      false) AS open_after,
             coalesce(day, day_before) AS day_after
      FROM stream
    ),
    flows AS (  -- in P's pipeline before and after the event
      SELECT *, kind = 1 AND won_stage AS is_win,
             coalesce(open_before AND day_before < p_end, false) AS was_in,
             coalesce(open_after AND day_after < p_end, false) AS is_in
      FROM moves
    ),
    per_period AS (  -- opening: the state before the period's first event; closing: after its last
      SELECT code, p,
             count(*) FILTER (WHERE kind = 0) AS adds, count(*) FILTER (WHERE kind = 1) AS advances,
             count(*) FILTER (WHERE kind = 2) AS regressions, count(*) FILTER (WHERE is_win) AS wins,
             count(*) FILTER (WHERE kind = 3) AS losses,
             {moved},
             bool_or(was_in) FILTER (WHERE first_in_p)::BIGINT AS opening,
             bool_or(is_in) FILTER (WHERE last_in_p)::BIGINT AS closing{moved_money if money else ""}
      FROM {"priced_flows" if money else "flows"} GROUP BY code, p
    ),
    carried AS (  -- an open deal's state after its last event of a period holds until its next period with events
      SELECT code, unnest(range(p + 1, coalesce(next_p, {until}))) AS p, day_after AS s_day
      FROM flows WHERE last_in_p AND open_after
    ),
    {"states" if money else "waterfall"} AS (
      SELECT * FROM per_period
      UNION ALL BY NAME
      SELECT code, p, {zeros}, coalesce(s_day < {end}, false)::BIGINT AS opening,
             coalesce(s_day < {end}, false)::BIGINT AS closing{"".join(f", 0.0 AS {m}" for m in money[1:-1])}
      FROM carried
    )"""
        if money:
            prices = prices_sql(as_of_us, period, offsets, *priced)
            ctes = ctes.replace("    flows AS (", f"{prices},\n    flows AS (", 1)
            if not priced[1]:  # no amount history: every moment's price is the deal's own (no ASOF joins)
                ctes = ctes.replace("    per_period AS (", _FLAT_PRICED_FLOWS + "    per_period AS (", 1)
                ctes += _FLAT_ENDS
            else:
                ctes = ctes.replace("    per_period AS (", _PRICED_FLOWS + "    per_period AS (", 1)
                ctes += _PRICED_ENDS
    else:  # made beforehand (waterfall_sql)
        ctes = f"{kept},\n    waterfall AS (SELECT * FROM {waterfall})"
    return f"""
    WITH
    {ctes},
    motions AS (
      SELECT kept.code, a.period_index AS p, a.motions FROM a JOIN kept ON a.deal_id = kept.deal_id
      WHERE a.motions > 0
    ),
    pieces AS (
      SELECT coalesce(w.code, m.code) AS code, coalesce(w.p, m.p) AS period_index, {counts},
             coalesce(m.motions, 0) AS motions, {flows}
      FROM waterfall w FULL JOIN motions m ON w.code = m.code AND w.p = m.p
    )
    SELECT code, {"d.deal_id, " if ordered else ""}period_index::BIGINT AS period_index,
           {", ".join(f"{c}::BIGINT AS {c}" for c in COUNTS[:5])},
           (adds + advances + regressions + losses)::BIGINT AS movements, motions::BIGINT AS motions,
           {", ".join([*(f"{f}::BIGINT AS {f}" for f in FLOWS), *(f"{m}::DOUBLE AS {m}" for m in money)])}
    FROM pieces {"JOIN (SELECT row, deal_id FROM d) AS d ON d.row = pieces.code" if ordered else ""}
    {"ORDER BY code, period_index" if ordered else ""}
    """


def waterfall_sql(
    model: StageModel,
    as_of_us: int,
    period: str,
    offsets: list[tuple[int, int]],
    last_period: int,
    priced: tuple[bool, bool] | None = None,
) -> str:
    """The rows of :func:`pieces_sql` that stage entries and close-date changes give (``code, p``, movement counts
    and flows, with ``priced`` their amounts), before the motions join them."""
    pieces = pieces_sql(model, as_of_us, period, offsets, last_period, ordered=False, priced=priced)
    return pieces[: pieces.index("    motions AS (")].rstrip().rstrip(",") + "\n    SELECT * FROM waterfall"


def group_scores_sql(by: str, period: str, last_period: int) -> str:
    """The scores per ``by`` (owner or team) and period, as the oracle's ``group_scores``
    computes them, over the tables :func:`_group_tables` makes: ``_pieces`` (:func:`pieces_sql`'s rows with
    their deal's group number ``gid`` and ``amount``), ``_groups`` (gid, grp) and ``_amount_sums``."""
    filled = [f"coalesce(g.{c}, 0)::BIGINT AS {c}" for c in COUNTS]
    filled.append("CASE WHEN g.motions > 0 THEN g.movements::DOUBLE / g.motions::DOUBLE END AS movement_per_motion")
    filled.append("CASE WHEN g.wins + g.losses > 0 THEN g.wins::DOUBLE / (g.wins + g.losses)::DOUBLE END AS win_rate")
    for f in FLOWS:
        filled += [f"coalesce(g.{f}_count, 0)::BIGINT AS {f}_count", f"coalesce(m.{f}_amount, 0.0) AS {f}_amount"]
    sums = [*(f"sum({c})::BIGINT AS {c}" for c in COUNTS), *(f"sum({f})::BIGINT AS {f}_count" for f in FLOWS)]
    return f"""
    WITH
    summed AS (SELECT gid, period_index AS p, {", ".join(sums)} FROM _pieces GROUP BY gid, period_index),
    grid AS (  -- every group gets every period from its first piece to the period of as_of
      SELECT gid, unnest(range(p0, {last_period + 1})) AS p FROM (SELECT gid, min(p) AS p0 FROM summed GROUP BY gid)
    )
    SELECT n.grp AS {ident(by)}, {label_sql("grid.p", period)} AS period,
           grid.p::BIGINT AS period_index, {", ".join(filled)}
    FROM grid JOIN _groups AS n ON n.gid = grid.gid
         LEFT JOIN summed AS g ON g.gid = grid.gid AND g.p = grid.p
         LEFT JOIN _amount_sums AS m ON m.gid = grid.gid AND m.p = grid.p
    ORDER BY grid.gid, grid.p
    """


# the prices of :func:`pieces_sql`'s events and of each period's opening and closing (decision 0054)
_PRICED_FLOWS = """\
    priced_flows AS (  -- each event at the amount of its moment (a close-date change 1 microsecond earlier)
      SELECT f.*, coalesce(h.amount, b.amount, 0.0)::DOUBLE AS amt
      FROM flows AS f ASOF LEFT JOIN hist AS h ON h.code = f.code AND f.t - (1 - f.is_stage) >= h.t
           LEFT JOIN base AS b ON b.code = f.code
    ),
"""
_PRICED_ENDS = """,
    opened AS (  -- the opening at the amount of the period's start: the latest row of an earlier period
      SELECT w.*, w.opening * coalesce(o.amount, b.amount, 0.0)::DOUBLE AS opening_amount
      FROM states AS w ASOF LEFT JOIN ends AS o ON o.code = w.code AND w.p - 1 >= o.p
           LEFT JOIN base AS b ON b.code = w.code
    ),
    waterfall AS (  -- the closing at the amount of the period's end (or as_of)
      SELECT w.*, w.closing * coalesce(c.amount, b.amount, 0.0)::DOUBLE AS closing_amount
      FROM opened AS w ASOF LEFT JOIN ends AS c ON c.code = w.code AND w.p >= c.p
           LEFT JOIN base AS b ON b.code = w.code
    )"""
# the same on a log without amount history: every price is the deal's own amount (``base``), the values those of
# the ASOF joins over an empty history (coalesce(NULL, amount, 0.0)), without their sorts
_FLAT_PRICED_FLOWS = """\
    priced_flows AS (
      SELECT f.*, coalesce(b.amount, 0.0)::DOUBLE AS amt FROM flows AS f LEFT JOIN base AS b ON b.code = f.code
    ),
"""
_FLAT_ENDS = """,
    waterfall AS (
      SELECT w.*, w.opening * coalesce(b.amount, 0.0)::DOUBLE AS opening_amount,
             w.closing * coalesce(b.amount, 0.0)::DOUBLE AS closing_amount
      FROM states AS w LEFT JOIN base AS b ON b.code = w.code
    )"""
# each flow's condition on an event of the stream (``flows`` in :func:`pieces_sql`)
_FLOW_CONDITIONS = {
    "created": "is_in AND NOT was_in AND is_stage = 1 AND kind = 0",
    "won": "was_in AND NOT is_in AND is_stage = 1 AND is_win",
    "lost": "was_in AND NOT is_in AND is_stage = 1 AND NOT is_win",
    "pushed_out": "was_in AND NOT is_in AND is_stage = 0",
    "pulled_in": "is_in AND NOT was_in AND is_stage = 0",
    "reopened": "is_in AND NOT was_in AND is_stage = 1 AND kind <> 0",
}


def prices_sql(as_of_us: int, period: str, offsets: list[tuple[int, int]], deal_amount: bool, history: bool) -> str:
    """Three CTEs for every amount as of its moment, by the rule of :func:`salesmetrics.log.prepare.amount_at`
    (decision 0054): ``hist`` (code, t, amount, p: the amount rows up to as_of, the last of a deal's moment in file
    order), ``ends`` (code, p, amount: a deal's amount at the end of each period it has rows in) and ``base``
    (code, amount: before a deal's first row that row's amount; without rows the deal's ``amount``, when the
    deals table has one: ``deal_amount``). ``history``: the log has ``amount_changes``."""
    own = "d.amount" if deal_amount else "NULL::DOUBLE"
    if history:
        hist = (
            f"SELECT code, t, amount::DOUBLE AS amount, {_period_sql('t', offsets, period)} AS p FROM amount_changes "
            f"WHERE t <= {int(as_of_us)} QUALIFY row_number() OVER (PARTITION BY code, t ORDER BY row DESC) = 1"
        )
        first = (
            "SELECT code, amount FROM amount_changes QUALIFY row_number() OVER (PARTITION BY code ORDER BY t, row) = 1"
        )
        base = (
            f"SELECT d.row AS code, coalesce(f.amount, {own})::DOUBLE AS amount FROM d "
            f"LEFT JOIN ({first}) AS f ON f.code = d.row"
        )
    else:
        hist = "SELECT NULL::BIGINT AS code, NULL::BIGINT AS t, NULL::DOUBLE AS amount, NULL::BIGINT AS p WHERE false"
        base = f"SELECT d.row AS code, {own}::DOUBLE AS amount FROM d"
    return f"""    hist AS ({hist}),
    ends AS (SELECT code, p, arg_max(amount, t) AS amount FROM hist GROUP BY code, p),
    base AS ({base})"""


def _group_tables(con, pieces: str, by: str, kahan: str | None = None) -> None:
    """Tables ``_groups`` (gid, grp: the groups in the result's order, missing last), ``_pieces`` (the pieces, each
    with its flows' amounts (``opening_amount`` ...; :func:`pieces_sql` with ``priced``), with their deal's gid) and
    ``_amount_sums`` (gid, p and each flow's amount summed).

    Amounts are summed as pandas (3.1) sums them, to the last bit: Kahan's compensated summation over each group's
    pieces in their order (by deal, the rows that add 0 included, as they move the compensation into the sum), or,
    when the pieces happen to come sorted by group already, NumPy's ``np.add.reduceat``, pandas' shortcut then.
    NumPy does Kahan's sums for every group at once, one step per piece (:func:`kahan_sums`), unless a few groups
    hold most pieces: then DuckDB's ordered ``fsum`` is cheaper (``kahan``: "numpy" or "sql" to choose).
    """
    con.execute(
        f"CREATE TEMP TABLE _groups AS SELECT grp, row_number() OVER (ORDER BY grp NULLS LAST) AS gid "
        f"FROM (SELECT DISTINCT {ident(by)} AS grp FROM d)"
    )
    con.execute(
        f"CREATE TEMP TABLE _pieces AS SELECT x.*, y.gid FROM {pieces} AS x JOIN (SELECT d.row, n.gid FROM d "
        f"JOIN _groups AS n ON d.{ident(by)} IS NOT DISTINCT FROM n.grp) AS y ON y.row = x.code"
    )
    import numpy as np

    values = ", ".join(f"coalesce({f}_amount, 0.0) AS {f}" for f in FLOWS)
    fetched = con.execute(  # in the pieces' order, as pandas has them
        f"SELECT gid * 65536 + period_index + 32768 AS key, {values} FROM _pieces ORDER BY code, period_index"
    ).fetchnumpy()
    keys, amounts = fetched["key"], np.column_stack([fetched[f] for f in FLOWS])
    if len(keys) and bool((keys[1:] >= keys[:-1]).all()):  # pandas adds groups in sorted rows with reduceat
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        keys, sums = keys[starts], np.add.reduceat(amounts, starts, axis=0)
    else:
        longest = int(np.unique(keys, return_counts=True)[1].max()) if len(keys) else 0
        if kahan is None:  # NumPy takes a step per row of the largest group; DuckDB sorts each flow's rows
            kahan = "numpy" if longest * 8 <= len(keys) or longest <= 1000 else "sql"
        if kahan == "sql":
            sums = ", ".join(f"fsum(coalesce({f}_amount, 0.0) ORDER BY code) AS {f}_amount" for f in FLOWS)
            con.execute(
                f"CREATE TEMP TABLE _amount_sums AS SELECT gid, period_index AS p, {sums} FROM _pieces GROUP BY ALL"
            )
            return
        order = np.argsort(keys, kind="stable")  # each group's rows in deal order
        keys, sums = kahan_sums(keys[order], amounts[order])
    # list parameters, not an Arrow table: building or registering one imports pandas (0.5 s of the command)
    columns = {"gid": (keys // 65536, "BIGINT"), "p": (keys % 65536 - 32768, "BIGINT")}
    columns.update({f"{f}_amount": (sums[:, i], "DOUBLE") for i, f in enumerate(FLOWS)})
    select = ", ".join(f"unnest(${i + 1}::{kind}[]) AS {name}" for i, (name, (_, kind)) in enumerate(columns.items()))
    con.execute(f"CREATE TEMP TABLE _amount_sums AS SELECT {select}", [v.tolist() for v, _ in columns.values()])


def kahan_sums(keys, values):
    """The column sums of ``values`` (rows x columns, NumPy) per run of equal ``keys`` (sorted), added in row order
    as pandas' ``groupby().sum()`` adds floats (Kahan's compensated summation); returns ``(run keys, sums)``.

    Every run advances at once: step k adds the k-th row of each run that has one (the longest runs first).

    >>> import numpy as np
    >>> keys, sums = kahan_sums(np.array([1, 1, 1, 2]), np.array([[3051.58], [29087.66], [0.0], [0.1]]))
    >>> keys.tolist(), sums[:, 0].tolist()  # the 0 moves the compensation in: a plain sum gives 32139.239999999998
    ([1, 2], [32139.24, 0.1])
    """
    import numpy as np

    n = len(keys)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if n else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, n])
    order = np.argsort(-sizes, kind="stable")
    first, negative_size = starts[order], -sizes[order]
    total = np.zeros((len(first), values.shape[1]))
    compensation = np.zeros_like(total)
    for k in range(int(-negative_size[0]) if n else 0):
        m = int(np.searchsorted(negative_size, -k, side="left"))  # the runs with more than k rows
        y = values[first[:m] + k] - compensation[:m]
        t = total[:m] + y
        c = (t - total[:m]) - y
        compensation[:m] = np.where(np.isfinite(c), c, 0.0)  # an infinite value: pandas keeps its sum infinite
        total[:m] = t
    sums = np.empty_like(total)
    sums[order] = total
    return keys[starts], sums


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


def as_of_text(as_of_us: int, timezone: str) -> str:
    """as_of as ``%Y-%m-%d %H:%M`` in the log's zone."""
    import zoneinfo

    as_of = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=as_of_us)
    return f"{as_of.astimezone(zoneinfo.ZoneInfo(timezone)):%Y-%m-%d %H:%M}"


def _group_query(
    con, model: StageModel, by: str, period: str, as_of_us: int, columns: dict, kahan=None, before_motions=None
) -> str:
    """Make the tables of a loaded core's group scores (after the UsageError check); returns the final query.
    ``columns``: the core's columns of each table (:attr:`~salesmetrics.log.core.Core.columns`).

    The waterfall's rows come first: ``before_motions()`` (the wait for exact duplicate activities to be taken off
    ``a``) runs after them, so they are made while the search runs."""
    pieces, last = _priced_pieces(con, model, period, as_of_us, columns, before_motions)
    _group_tables(con, f"({pieces})", by, kahan)
    return group_scores_sql(by, period, last)


def _priced_pieces(con, model: StageModel, period: str, as_of_us: int, columns: dict, before_motions=None):
    """``(pieces query, period of as_of)`` of a loaded core: :func:`pieces_sql` over the waterfall's rows (made
    first, see :func:`_group_query`), each flow priced at its moment when the log has amounts."""
    offsets, last = _periods(con, model, as_of_us, period)
    priced = ("amount" in columns["deals"], "amount_changes" in columns)  # every amount as of its moment (0054)
    con.execute(f"CREATE TEMP TABLE _waterfall AS {waterfall_sql(model, as_of_us, period, offsets, last, priced)}")
    if before_motions is not None:
        before_motions()
    pieces = pieces_sql(model, as_of_us, period, offsets, last, ordered=False, waterfall="_waterfall", priced=priced)
    return pieces, last


@dataclass(frozen=True)
class Pieces:
    """A part of a log's group scores before the sums (:func:`group_pieces_of_folder`): Arrow tables of the
    per-deal-and-period pieces (``code`` the deal's row; each flow's amount at its moment) and of the deals (``row``,
    ``grp``: their owner or team), the period of as_of and the number of close-date changes."""

    pieces: object
    deals: object
    last_period: int
    close_date_changes: int


def _pieces_of_core(con, model, by, period, as_of_us, columns, before_motions=None) -> Pieces:
    """The :class:`Pieces` of a loaded core whose motions are counted per period."""
    pieces, last = _priced_pieces(con, model, period, as_of_us, columns, before_motions)
    grp = f"d.{ident(by)}" if by in columns["deals"] else "NULL::VARCHAR"
    deals = con.sql(f"SELECT d.row, {grp} AS grp FROM d ORDER BY d.row").to_arrow_table()
    (close,) = con.execute("SELECT count(*) FROM c").fetchall()[0]
    return Pieces(con.sql(pieces).to_arrow_table(), deals, last, int(close))


def group_pieces_of_folder(folder: Path, model: StageModel, by: str, period: str, as_of_us: int, threads=None):
    """The :class:`Pieces` of a log folder scored at ``as_of_us``, as :func:`group_scores_to_file` makes them; None
    when the core leaves the log to validation."""
    con = connect(threads)
    checked = _load_and_check(con, Path(folder), model, as_of_us, period)
    if checked is None:
        return None
    as_of_us, valid, fix_duplicates, core = checked
    result = _pieces_of_core(con, model, by, period, as_of_us, core.columns, fix_duplicates)
    return result if valid() else None


def group_pieces_of_log(log, by: str, period: str, as_of_us: int) -> Pieces:
    """The :class:`Pieces` of a validated in-memory log (:func:`group_scores_frame`'s first half)."""
    con = connect()
    core = load_log(con, log)
    as_of_us, _, _ = _count_motions(con, core, log.model, as_of_us, period)
    return _pieces_of_core(con, log.model, by, period, as_of_us, core.columns)


def group_scores_of_pieces(parts: list[Pieces], by: str, period: str, kahan: str | None = None) -> object:
    """The group scores (an Arrow table) of a log whose deals are split in ``parts`` (each a :class:`Pieces`),
    summed by the queries of a whole log (:func:`_group_tables`, :func:`group_scores_sql`) with the parts' deals
    in part order: the sums of a log that holds the parts end to end. None when no deal has a ``by``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def shifted(tables: list, column: str) -> object:
        # a part's rows after the rows of the parts before it (row numbers stay below 2**40 in a part)
        out = []
        for index, table in enumerate(tables):
            at = table.schema.get_field_index(column)
            shift = pc.add(table.column(at).cast(pa.int64()), pa.scalar(index << 40, pa.int64()))
            out.append(table.set_column(at, column, shift))
        return pa.concat_tables(out)

    pieces = shifted([part.pieces for part in parts], "code")
    deals = shifted([part.deals for part in parts], "row")
    con = connect()
    con.register("_all_pieces", pieces)
    con.register("_all_deals", deals)
    con.execute(f"CREATE TEMP TABLE d AS SELECT row, grp AS {ident(by)} FROM _all_deals")
    if not con.execute(f"SELECT count({ident(by)}) FROM d").fetchall()[0][0]:
        return None
    _group_tables(con, "_all_pieces", by, kahan)
    return con.sql(group_scores_sql(by, period, parts[0].last_period)).to_arrow_table()


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
    memory: bool = True,
) -> int | None:
    """Score a log folder per ``by`` (owner or team) and period with DuckDB and write ``out``; returns the as_of
    used (microseconds since the epoch), or None (nothing written) when the engine cannot vouch for the log.

    As the pandas path: a UsageError when no deal has a ``by``, a DataNote when the log has no close-date changes
    and one when the result is empty (each only once the log's checks have passed). ``memory``: use and keep a
    remembered validation of the same files (:mod:`salesmetrics.log.remembered`).
    """
    con = connect(threads)
    checked = _load_and_check(con, Path(folder), model, as_of_us, period, memory)
    if checked is None:
        return None
    as_of_us, valid, fix_duplicates, core = checked
    columns = core.columns["deals"]
    if by not in columns or not con.execute(f"SELECT count({ident(by)}) FROM d").fetchall()[0][0]:
        if not valid():
            return None  # validation reports the log's problems first
        raise no_group_error(by)
    # exact duplicate activities are taken off before the motions join the pieces (each activity counts once)
    query = _group_query(con, model, by, period, as_of_us, core.columns, before_motions=fix_duplicates)
    con.execute(f"CREATE TEMP TABLE _result AS {query}")
    query = _as_pandas_writes(con, "_result", fmt)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    no_close_dates = not con.execute("SELECT count(*) FROM c").fetchall()[0][0]
    try:
        with atomic_path(out) as tmp:
            written = con.execute(f"COPY {query} TO {lit(tmp)} ({options})").fetchall()[0][0]
            if not valid():
                raise _StepAside
            if no_close_dates:  # in the block: a warning raised as an error leaves no file, as in pandas
                note_no_close_date_changes(stacklevel)
            if not written:
                note_empty(as_of_text(as_of_us, model.timezone), stacklevel)
    except _StepAside:
        return None
    core.keep()
    return as_of_us


class _StepAside(Exception):
    """The log failed a check after the scores were computed: nothing is written."""


def group_scores_frame(log, by: str, period: str, as_of_us: int) -> object:
    """The group scores of a validated in-memory log, by the same queries (the frames reach DuckDB through Arrow:
    :func:`salesmetrics.log.core.load_log`). A pandas frame; the caller checks ``by`` and warns."""
    con = connect()
    core = load_log(con, log)
    as_of_us, _, _ = _count_motions(con, core, log.model, as_of_us, period)
    query = _group_query(con, log.model, by, period, as_of_us, core.columns)
    return con.sql(query).to_arrow_table().to_pandas()
