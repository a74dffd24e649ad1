"""The pipeline waterfall as finance and RevOps define it: chained periods, exclusive buckets, amount history.

``waterfall(log, period="M", by=None, pipeline="due", classify="flows")`` returns a :class:`Waterfall` with
two tables: ``moves`` (one row per deal, period and bucket) and ``bridge`` (per group and period: opening,
each bucket's change, closing). Definitions and a worked example: ``docs/metrics.md`` ("Pipeline waterfall
and bridge"); the choices: ``docs/decisions/0038-waterfall-bridge.md``.

- ``pipeline="due"`` is the pipeline of ``docs/decisions/0007-waterfall.md``: the open deals expected to close
  by the end of the period. With ``classify="flows"`` its counts and amounts are those of
  ``score(by=...)`` (a test holds it to that).
- ``pipeline="all"`` is every open deal whatever its close date, so a period opens where the last one closed.
- ``classify="flows"`` keeps every flow of a deal in a period; ``"exclusive"`` gives each deal at most one
  bucket per period, by :data:`PRECEDENCE`, carrying the deal's whole change.

Every row carries ``bridge_count`` and ``bridge_amount``: the change the row brings to the pipeline, signed.
The bridge sums them per bucket, so ``closing = opening + the sum of every bucket's change`` holds exactly,
in counts and in amounts, for every group and period, whatever the classification.

An amount is the amount as of the moment it describes: the latest ``amount_changes`` row at or before that
moment (before a deal's first row, that first row's amount), or the deal's ``amount`` when the log has no
amount history for it. A missing amount counts 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import as_of_after_log
from salesmetrics.exceptions import DataNote, UsageError
from salesmetrics.log.prepare import resolve_as_of, stage_entries, stamped_at_close, subset_deals, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.flow_deals import (
    CURRENCY_COLUMNS,
    DELETED_COLUMNS,
    deal_column,
    deal_rates,
    deleted_deals,
    parse_rates,
    result_currency,
)
from salesmetrics.metrics.movement import (
    PERIODS,
    US_PER_DAY,
    check_period,
    epoch_us,
    local_us,
    period_index,
    period_labels,
    period_start_day,
)

BUCKETS = (
    "created",
    "won",
    "lost",
    "reopened",
    "pushed",
    "pulled_in",
    "slipped",
    "advanced",
    "expanded",
    "contracted",
)
# exclusive classification: lower number wins; buckets on the same level are settled as the docs say
PRECEDENCE = {
    "won": 0,
    "lost": 1,
    "reopened": 2,
    "pushed": 3,
    "pulled_in": 3,
    "slipped": 3,
    "advanced": 4,
    "expanded": 5,
    "contracted": 5,
    "created": 6,
}
PIPELINES = ("due", "all")
CLASSIFICATIONS = ("flows", "exclusive")
GROUPS = ("owner", "team")
MOVE_COLUMNS = ("deal_id", "period", "bucket", "amount", "bridge_count", "bridge_amount")
# event kinds in the order they are applied at the same moment (0007: the close date before the stage entry;
# 0062: a close date stamped later at the close after it, _STAMP)
_CLOSE, _AMOUNT, _STAGE, _STAMP = 0, 1, 2, 3
STAMPS = ("close", "move")


@dataclass(frozen=True)
class Waterfall:
    """The result of :func:`waterfall`: the moves, the bridge, and the parameters used."""

    moves: pd.DataFrame
    bridge: pd.DataFrame
    as_of: pd.Timestamp
    period: str
    by: str | None
    pipeline: str
    classify: str
    currency: str | None
    stamp: str = "close"

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        import html

        title = html.escape(f"Pipeline bridge ({self.pipeline}, {self.classify}, {self.period})")
        return f"<p><b>{title}</b></p>" + self.bridge.to_html(index=False, escape=True)


def _check_arguments(period: str, by: str | None, pipeline: str, classify: str) -> None:
    check_period(period)
    if by is not None and by not in GROUPS:
        raise UsageError(f"by {by!r} is not allowed for the waterfall; use 'owner', 'team', or leave it out.")
    if pipeline not in PIPELINES:
        raise UsageError(
            f"pipeline {pipeline!r} is not allowed; use 'due' (deals expected to close by the period's end) "
            "or 'all' (every open deal)."
        )
    if classify not in CLASSIFICATIONS:
        raise UsageError(
            f"classify {classify!r} is not allowed; use 'flows' (every flow of a deal) or 'exclusive' (one "
            "bucket per deal and period)."
        )


def amount_changes(log: SalesLog) -> pd.DataFrame:
    """The log's ``amount_changes`` table (empty when the log has none)."""
    frame = getattr(log, "amount_changes", None)
    if frame is None:
        return pd.DataFrame({"deal_id": pd.Series([], dtype="str"), "changed_at": [], "amount": []})
    return frame


def _cents(values: np.ndarray) -> np.ndarray:
    """Amounts as whole cents (int64): sums of cents are exact, so the bridge reconciles to the cent."""
    return np.round(np.asarray(values, float) * 100).astype(np.int64)


def _events(log: SalesLog, history: pd.DataFrame, as_of, ids: pd.Index, rate: np.ndarray, stamp: str) -> pd.DataFrame:
    """Every stage entry, close-date change and amount change, in replay order (deal, time, kind, file row); with
    ``stamp="close"`` a close date stamped later at the close comes after the stage entry (decision 0062)."""
    model = log.model
    parts = []
    if len(log.stage_changes):
        e = stage_entries(log, as_of)
        parts.append(
            pd.DataFrame(
                {
                    "code": ids.get_indexer(e["deal_id"]),
                    "when": epoch_us(e["changed_at"]),
                    "local": local_us(e["changed_at"]),
                    "kind": _STAGE,
                    "seq": np.arange(len(e)),
                    "is_open": e["stage"].isin(model.stages).to_numpy(bool),
                    "rank": e["rank"].to_numpy(np.int64),
                    "add": (e["kind"] == "add").to_numpy(bool),
                    "win": e["is_win"].to_numpy(bool),
                    "day": np.zeros(len(e), np.int64),
                    "value": np.zeros(len(e), np.int64),
                }
            )
        )
    c = log.close_date_changes
    if len(c):
        parts.append(
            pd.DataFrame(
                {
                    "code": ids.get_indexer(c["deal_id"]),
                    "when": epoch_us(c["changed_at"]),
                    "local": local_us(c["changed_at"]),
                    "kind": np.where(stamped_at_close(log), _STAMP, _CLOSE) if stamp == "close" else _CLOSE,
                    "seq": np.arange(len(c)),
                    "day": np.floor_divide(local_us(c["close_date"]), US_PER_DAY),
                }
            )
        )
    a = history
    if len(a):
        a = a[a["changed_at"] <= as_of]
        codes = ids.get_indexer(a["deal_id"])
        values = pd.to_numeric(a["amount"], errors="coerce").to_numpy(float)
        parts.append(
            pd.DataFrame(
                {
                    "code": codes,
                    "when": epoch_us(a["changed_at"]),
                    "local": local_us(a["changed_at"]),
                    "kind": _AMOUNT,
                    "seq": np.arange(len(a)),
                    "value": _cents(np.where(np.isnan(values), 0.0, values) * np.where(codes >= 0, rate[codes], 1.0)),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["code", "when", "local", "kind", "seq"])
    events = pd.concat(parts, ignore_index=True)
    events = events[events["code"] >= 0]
    events = events.sort_values(["code", "when", "kind", "seq"], kind="stable").reset_index(drop=True)
    events.loc[events["kind"] == _STAMP, "kind"] = _CLOSE  # placed; replayed as any close-date change
    return events


class _State:
    """A deal's state during the replay: open stage?, its rank, expected close day, amount in cents."""

    __slots__ = ("amount", "day", "is_open", "rank")

    def __init__(self, amount: int):
        self.is_open, self.rank, self.day, self.amount = False, None, None, amount

    def copy(self) -> _State:
        s = _State(self.amount)
        s.is_open, s.rank, s.day = self.is_open, self.rank, self.day
        return s

    def member(self, end_day: int, pipeline: str) -> bool:
        """In the period's pipeline: open, and (``due``) expected to close before ``end_day``."""
        if not self.is_open:
            return False
        return pipeline == "all" or (self.day is not None and self.day < end_day)


def _add(moves: dict, bucket: str, value: int, count: int, change: int, order: int, net: bool = False) -> None:
    """Add one flow to a deal's moves of a period: counts and changes add up; ``amount`` is the latest (or net)."""
    row = moves.get(bucket)
    if row is None:
        moves[bucket] = [value, count, change, order]
    else:
        row[0] = row[0] + value if net else value
        row[1] += count
        row[2] += change
        row[3] = order


@lru_cache(maxsize=4096)
def _period_days(p: int, period: str) -> tuple[int, int]:
    """The first day of period ``p`` and of the next one (days since 1970-01-01): asked once per period, not
    once per deal and period."""
    start, end = period_start_day(np.array([p, p + 1]), period)
    return int(start), int(end)


def _deal_rows(events: list[tuple], amount: int, first: int, last: int, days, pipeline: str, as_of_day: int):
    """Replay one deal's events period by period, from its first event's period to ``last``.

    Yields ``("state", period, opening, opening_amount, closing, closing_amount)`` for each period the deal is
    replayed in, then ``("moves", period, bucket, amount, bridge_count, bridge_amount, order)`` for each of
    its buckets there. A closed deal is skipped ahead to its next event; an open one is carried every period.
    ``days(p)`` gives the first day of period ``p`` and of the one after it.
    """
    state = _State(amount)
    i, n = 0, len(events)
    p = first
    while p <= last:
        start_day, end_day = days(p)
        start = state.copy()
        opening = start.member(end_day, pipeline)
        moves: dict[str, list] = {}  # bucket -> [amount, bridge_count, bridge_amount, order]
        while i < n and events[i][0] == p:
            _, kind, is_open, rank, is_add, is_win, day, value = events[i]
            before = state.copy()
            before_in = before.member(end_day, pipeline)
            if kind == _STAGE:
                state.is_open, state.rank = is_open, rank
            elif kind == _CLOSE:
                state.day = day
            else:
                state.amount = value
            after_in = state.member(end_day, pipeline)
            if kind == _STAGE:
                if after_in and not before_in:
                    _add(moves, "created" if is_add else "reopened", state.amount, 1, state.amount, i)
                elif before_in and not after_in:
                    _add(moves, "won" if is_win else "lost", before.amount, -1, -before.amount, i)
            elif kind == _CLOSE:
                was_due = before.day is not None and before.day < end_day
                if before.is_open and state.is_open and was_due != (state.day < end_day):
                    count = int(after_in) - int(before_in)
                    bucket = "pushed" if was_due else "pulled_in"
                    _add(moves, bucket, state.amount, count, count * state.amount, i)
            elif before_in and after_in and state.amount != before.amount:
                change = state.amount - before.amount
                _add(moves, "expanded" if change > 0 else "contracted", change, 0, change, i, net=True)
            i += 1
        closing = state.member(end_day, pipeline)
        kept = opening and closing and start.is_open and start.day == state.day
        if kept and start.rank is not None and state.rank is not None and state.rank > start.rank:
            _add(moves, "advanced", state.amount, 0, 0, n + 1)
        due_now = state.day is not None and start_day <= state.day < min(end_day, as_of_day)
        if not moves and closing and due_now:
            _add(moves, "slipped", state.amount, 0, 0, n + 2)
        yield ("state", p, opening, start.amount if opening else 0, closing, state.amount if closing else 0)
        for bucket, (value, count, change, order) in moves.items():
            yield ("moves", p, bucket, value, count, change, order)
        if i >= n and not state.is_open:
            break
        p = events[i][0] if (i < n and not state.is_open) else p + 1


def _exclusive(rows: list[tuple]) -> list[tuple]:
    """One bucket per deal and period by precedence, carrying the deal's whole change in the period."""
    if len(rows) <= 1:
        return rows
    count = sum(r[3] for r in rows)
    change = sum(r[4] for r in rows)
    resize = [r for r in rows if r[0] in ("expanded", "contracted")]
    net_resize = sum(r[2] for r in resize)
    candidates = [r for r in rows if not (r[0] in ("expanded", "contracted") and net_resize == 0)]
    if not candidates:
        return []
    level = min(PRECEDENCE[r[0]] for r in candidates)
    top = [r for r in candidates if PRECEDENCE[r[0]] == level]
    if top[0][0] in ("expanded", "contracted"):
        bucket, value = ("expanded" if net_resize > 0 else "contracted"), net_resize
    else:
        chosen = max(top, key=lambda r: r[5])  # the latest event among the buckets of that level
        bucket, value = chosen[0], chosen[2]
    return [(bucket, rows[0][1], value, count, change, 0)]


@as_of_after_log("period", "by", "pipeline", "classify", "as_of", "rates", not_as_of=PERIODS)
def waterfall(
    log: SalesLog,
    as_of=None,
    *,
    period: str = "M",
    by: str | None = None,
    pipeline: str = "due",
    classify: str = "flows",
    rates: dict[str, float] | None = None,
    since=None,
    stamp: str = "close",
) -> Waterfall:
    """The pipeline waterfall per period: moves (one row per deal, period and bucket) and the bridge.

    Parameters
    ----------
    log : SalesLog
    as_of : date, time or None
        Nothing after it is seen (default: the latest event).
    period : {"W", "M", "Q"}
        Calendar periods in the log's time zone.
    by : {"owner", "team"} or None
        One bridge per group (the deal's owner or team in ``deals``), or one for the whole log.
    pipeline : {"due", "all"}
        ``due``: open deals expected to close by the period's end (decision 0007); ``all``: every open deal.
    classify : {"flows", "exclusive"}
        ``flows``: every flow of a deal; ``exclusive``: at most one bucket per deal and period.
    rates : dict, str or None
        Value of one unit of each deal currency in the log's currency; needed when deals carry several. Text
        as a report parameter has it is read too: ``"EUR:1.08,GBP:1.25"``.
    since : date, time or None
        Instead of calendar periods, one window from just after ``since`` to ``as_of`` (the weekly review's
        week): the bridge has one row per group, labelled ``2025-06-23 to 2025-06-30``; ``period`` is unused.
    stamp : {"close", "move"}
        A close date moved later at the very moment the deal is won or lost (CRMs stamp it at the close):
        ``close`` reads it as part of the close, so the deal is won or lost from the pipeline it was due in and
        is not pushed (decision 0062; score's columns read it so); ``move`` reads it as a forecast move made
        just before the close (decision 0007). A date moved earlier at the close is a pull-in either way.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> w = waterfall(sm.read_log("datasets/demo"), "2024-06-30", period="Q", pipeline="all")
    >>> b = w.bridge
    >>> change = b[[f"{x}_count" for x in BUCKETS]].sum(axis=1)
    >>> bool((b["opening_count"] + change == b["closing_count"]).all())
    True
    >>> bool((b["opening_count"].iloc[1:].to_numpy() == b["closing_count"].iloc[:-1].to_numpy()).all())
    True
    """
    _check_arguments(period, by, pipeline, classify)
    if stamp not in STAMPS:
        raise UsageError(f"stamp {stamp!r} is not allowed; use 'close' (a close date stamped at the close is part "
                         "of it) or 'move' (it is a forecast move).")  # fmt: skip
    if by is not None and (by not in log.deals.columns or not log.deals[by].notna().any()):
        raise UsageError(
            f"No deal in this log has a {by} (deals column '{by}' is missing or empty), so there is nothing to "
            f"group by; leave --by out, or give the deals a {by}."
        )
    as_of = resolve_as_of(log, as_of)
    history = amount_changes(log)
    dated_closes = len(log.close_date_changes)
    log = truncate(log, as_of)
    deleted = deleted_deals(log.deals)
    if deleted.any():
        names = ", ".join(log.deals.loc[deleted.to_numpy(), "deal_id"].astype(str).head(5))
        warnings.warn(
            f"{int(deleted.sum()):,} soft-deleted deals ({deal_column(log.deals, DELETED_COLUMNS)} true; e.g. {names}) "
            "are left out of the waterfall.",
            DataNote,
            stacklevel=3,  # the caller of waterfall, past the as_of_after_log wrapper
        )
        log = subset_deals(log, log.deals[~deleted.to_numpy()])
    if pipeline == "due" and not len(log.close_date_changes):
        what = (
            "The log has no close-date changes"
            if not dated_closes
            else f"No close-date change is known by {as_of:%Y-%m-%d %H:%M}"
        )
        warnings.warn(
            f"{what}, so no deal is expected to close in any period and the 'due' "
            "pipeline is empty; use pipeline 'all' (--pipeline all) for every open deal.",
            DataNote,
            stacklevel=3,  # the caller of waterfall, past the as_of_after_log wrapper
        )
    rates = parse_rates(rates)
    rate = deal_rates(log, rates)
    currency = result_currency(log, rates)
    deals = log.deals
    ids = pd.Index(deals["deal_id"].astype(str))
    raw = (
        pd.to_numeric(deals["amount"], errors="coerce").to_numpy(float)
        if "amount" in deals
        else np.full(len(deals), np.nan)
    )
    base = _cents(np.where(np.isnan(raw), 0.0, raw) * rate)
    events = _events(log, history, as_of, ids, rate, stamp)
    as_of_day = int(np.floor_divide(local_us(pd.Series([as_of]))[0], US_PER_DAY))
    if since is None:
        last_period = int(period_index(local_us(pd.Series([as_of])), period)[0])

        def days(p: int) -> tuple[int, int]:
            return _period_days(p, period)

        def index(local: np.ndarray) -> np.ndarray:
            return period_index(local, period)

        def labels(indices: np.ndarray) -> list[str]:
            return period_labels(indices, period)

    else:  # one window (since, as_of]: period 1; everything before it is period 0, replayed but not shown
        since = resolve_as_of(log, since)
        if since >= as_of:
            raise UsageError(f"since ({since}) must be before as_of ({as_of}).")
        since_local = int(local_us(pd.Series([since]))[0])
        window = (int(np.floor_divide(since_local + 1, US_PER_DAY)), as_of_day + 1)  # the days it touches
        last_period = 1

        def days(p: int) -> tuple[int, int]:
            return window if p == 1 else (window[0] - 1, window[0] + 1)

        def index(local: np.ndarray) -> np.ndarray:
            return (np.asarray(local, np.int64) > since_local).astype(np.int64)

        def labels(indices: np.ndarray) -> list[str]:
            return [f"{since:%Y-%m-%d} to {as_of:%Y-%m-%d}" if i == 1 else "before" for i in indices]

    # before a deal's first amount change, its amount is that first change's amount
    first_amount = {}
    move_rows, state_rows = [], []
    if len(events):
        # every kind of event has every column (a log cut early may hold close-date changes only)
        for name in ("is_open", "add", "win"):
            events[name] = events.get(name, pd.Series(False, index=events.index)).fillna(False).astype(bool)
        for name in ("rank", "day", "value"):
            events[name] = events.get(name, pd.Series(0, index=events.index)).fillna(0).astype(np.int64)
        events["period_index"] = index(events["local"].to_numpy(np.int64))
        amounts = events[events["kind"] == _AMOUNT]
        first_amount = amounts.groupby("code", sort=False)["value"].first().to_dict()
        columns = ["period_index", "kind", "is_open", "rank", "add", "win", "day", "value"]
        codes = events["code"].to_numpy(np.int64)
        bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
        records = list(events[columns].itertuples(index=False, name=None))
        for k in range(len(bounds) - 1):
            lo, hi = bounds[k], bounds[k + 1]
            code = int(codes[lo])
            mine = records[lo:hi]
            amount = int(first_amount.get(code, base[code]))
            deal_moves = []
            for row in _deal_rows(mine, amount, mine[0][0], last_period, days, pipeline, as_of_day):
                if row[0] == "state":
                    if row[2] or row[4]:
                        state_rows.append((code, *row[1:]))
                else:
                    deal_moves.append(row[1:])
            if classify == "exclusive":
                by_period: dict[int, list] = {}
                for r in deal_moves:
                    by_period.setdefault(r[0], []).append((r[1], r[0], r[2], r[3], r[4], r[5]))
                for rows in by_period.values():
                    for bucket, p, value, count, change, _ in _exclusive(rows):
                        move_rows.append((code, p, bucket, value, count, change))
            else:
                move_rows.extend((code, p, b, v, c, ch) for p, b, v, c, ch, _ in deal_moves)
    # a deal without any amount (no deals amount, no amount history) counts in the counts, adds 0 to the amounts,
    # and its MOVES amount is empty: no amount given is not an amount of 0
    unpriced = np.isnan(raw)
    unpriced[list(first_amount)] = False
    shown = sorted({row[0] for row in move_rows if unpriced[row[0]]})
    if shown:
        names = ", ".join(ids[shown[:5]])
        warnings.warn(
            f"{len(shown):,} deals in the waterfall have no amount (e.g. {names}): they count in the deal counts, "
            "add nothing to the amounts, and their amount in the moves is empty.",
            DataNote,
            stacklevel=3,  # the caller of waterfall, past the as_of_after_log wrapper
        )
    result = _result(deals, move_rows, state_rows, as_of, labels, by, pipeline, classify, last_period, currency)
    if shown:
        missing = np.isin(result.moves["deal_id"].to_numpy(str), ids[shown].to_numpy(str))
        result.moves.loc[missing, "amount"] = np.nan
    if since is None:
        return replace(result, period=period, stamp=stamp)
    moves = result.moves[result.moves["period"] != "before"].reset_index(drop=True)
    bridge = result.bridge[result.bridge["period_index"] == 1].reset_index(drop=True)
    return replace(result, moves=moves, bridge=bridge, period="window", stamp=stamp)


def _result(deals, move_rows, state_rows, as_of, labels, by, pipeline, classify, last_period, currency) -> Waterfall:
    ids = deals["deal_id"].astype(str).to_numpy(object)
    moves = pd.DataFrame(
        move_rows, columns=["code", "period_index", "bucket", "amount", "bridge_count", "bridge_amount"]
    )
    moves["bucket"] = pd.Categorical(moves["bucket"], categories=list(BUCKETS))
    moves = moves.sort_values(["period_index", "code", "bucket"], kind="stable").reset_index(drop=True)
    moves.insert(0, "deal_id", pd.Series(ids[moves["code"].to_numpy(np.int64)], dtype="str"))
    moves.insert(1, "period", pd.Series(labels(moves["period_index"].to_numpy(np.int64)), dtype="str"))
    moves["bucket"] = moves["bucket"].astype("str")
    moves["bridge_count"] = moves["bridge_count"].astype(np.int64)
    moves["amount"] = moves["amount"].astype(np.int64)
    moves["bridge_amount"] = moves["bridge_amount"].astype(np.int64)
    for column in GROUPS:
        if column in deals.columns:
            moves[column] = pd.Series(deals[column].to_numpy(object)[moves["code"].to_numpy(np.int64)], dtype="str")
    states = pd.DataFrame(
        state_rows, columns=["code", "period_index", "opening", "opening_amount", "closing", "closing_amount"]
    )
    bridge = _bridge(deals, moves, states, by, labels, last_period)
    moves = moves.drop(columns=["code", "period_index"])
    moves["amount"] = moves["amount"] / 100  # cents to the currency's unit, once, at the end
    moves["bridge_amount"] = moves["bridge_amount"] / 100
    return Waterfall(moves, bridge, as_of, "", by, pipeline, classify, currency)


def _bridge(deals, moves, states, by, labels, last_period) -> pd.DataFrame:
    keys = ["period_index"] if by is None else [by, "period_index"]
    group = deals[by].astype("str").to_numpy(object) if by is not None else None
    s = pd.DataFrame(
        {
            "period_index": states["period_index"].astype(np.int64),
            "opening_count": states["opening"].astype(np.int64),
            "opening_amount": states["opening_amount"].astype(np.int64),
            "closing_count": states["closing"].astype(np.int64),
            "closing_amount": states["closing_amount"].astype(np.int64),
        }
    )
    m = pd.DataFrame({"period_index": moves["period_index"].astype(np.int64)})
    for b in BUCKETS:
        hit = (moves["bucket"] == b).to_numpy()
        m[f"{b}_deals"] = hit.astype(np.int64)
        m[f"{b}_count"] = np.where(hit, moves["bridge_count"], 0).astype(np.int64)
        m[f"{b}_amount"] = np.where(hit, moves["bridge_amount"], 0).astype(np.int64)
    if by is not None:
        s.insert(0, by, pd.Series(group[states["code"].to_numpy(np.int64)], dtype="str"))
        m.insert(0, by, pd.Series(group[moves["code"].to_numpy(np.int64)], dtype="str"))
    both = pd.concat([s, m], ignore_index=True)
    value_columns = ["opening_count", "opening_amount"]
    for b in BUCKETS:
        value_columns += [f"{b}_deals", f"{b}_count", f"{b}_amount"]
    value_columns += ["closing_count", "closing_amount"]
    for column in value_columns:
        both[column] = both[column].fillna(0)
    summed = both.groupby(keys, dropna=False, sort=True)[value_columns].sum()
    # every group gets every period from its first row to the period of as_of
    if len(summed):
        firsts = summed.reset_index().groupby(keys[:-1], dropna=False)["period_index"].min() if by else None
        if by is None:
            first = int(summed.index.min())
            index = pd.Index(range(first, last_period + 1), name="period_index")
        else:
            index = pd.MultiIndex.from_tuples(
                [(g, p) for g, first in firsts.items() for p in range(int(first), last_period + 1)], names=keys
            )
        summed = summed.reindex(index, fill_value=0)
    bridge = summed.reset_index()
    for column in value_columns:
        bridge[column] = bridge[column].astype(np.int64)
        if column.endswith("_amount"):
            bridge[column] = bridge[column] / 100
    bridge.insert(len(keys) - 1, "period", pd.Series(labels(bridge["period_index"].to_numpy(np.int64)), dtype="str"))
    return bridge[[*keys[:-1], "period", "period_index", *value_columns]]


__all__ = [
    "BUCKETS",
    "CURRENCY_COLUMNS",
    "DELETED_COLUMNS",
    "PRECEDENCE",
    "Waterfall",
    "amount_changes",
    "deal_column",
    "deal_rates",
    "deleted_deals",
    "waterfall",
]
