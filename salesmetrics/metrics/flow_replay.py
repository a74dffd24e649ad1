"""Replaying each deal's events period by period: the moves and period states the waterfall adds up
(:func:`salesmetrics.metrics.flows.waterfall`; definitions in ``docs/metrics.md``, "Pipeline waterfall and bridge").

:func:`replay_deals` gives, for every deal of a log on its own, its rows: a deal's moves depend only on its own stage
entries, close-date and amount changes, so a log split by deal replays part by part to the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import resolve_as_of, stage_entries, stamped_at_close
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.movement import (
    US_PER_DAY,
    epoch_us,
    local_us,
    period_index,
    period_labels,
    period_start_day,
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
# event kinds in the order they are applied at the same moment (0007: the close date before the stage entry;
# 0062: a close date stamped later at the close after it, _STAMP)
_CLOSE, _AMOUNT, _STAGE, _STAMP = 0, 1, 2, 3
NAMED = 5  # deals named in a note ("e.g. ...")


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


@dataclass(frozen=True)
class Calendar:
    """The periods of a waterfall: the last one's index, each one's first and next day, index of a local time,
    labels of indices."""

    last_period: int
    days: object
    index: object
    labels: object


def calendar_of(as_of, period: str, since, log: SalesLog) -> Calendar:
    if since is None:
        return Calendar(
            int(period_index(local_us(pd.Series([as_of])), period)[0]),
            lambda p: _period_days(p, period),
            lambda local: period_index(local, period),
            lambda indices: period_labels(indices, period),
        )
    # one window (since, as_of]: period 1; everything before it is period 0, replayed but not shown
    since = resolve_as_of(log, since)
    if since >= as_of:
        raise UsageError(f"since ({since}) must be before as_of ({as_of}).")
    since_local = int(local_us(pd.Series([since]))[0])
    as_of_day = int(np.floor_divide(local_us(pd.Series([as_of]))[0], US_PER_DAY))
    window = (int(np.floor_divide(since_local + 1, US_PER_DAY)), as_of_day + 1)  # the days it touches
    return Calendar(
        1,
        lambda p: window if p == 1 else (window[0] - 1, window[0] + 1),
        lambda local: (np.asarray(local, np.int64) > since_local).astype(np.int64),
        lambda indices: [f"{since:%Y-%m-%d} to {as_of:%Y-%m-%d}" if i == 1 else "before" for i in indices],
    )


@dataclass(frozen=True)
class Replay:
    """Every deal's replay: its moves and period states (rows keyed by the deal's position), and the deals with
    moves but no amount (positions, and their first ids)."""

    ids: pd.Index
    move_rows: list
    state_rows: list
    unpriced: list
    unpriced_names: tuple


def replay_deals(log, history, as_of, rate, pipeline: str, classify: str, stamp: str, calendar: Calendar) -> Replay:
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
    # before a deal's first amount change, its amount is that first change's amount
    first_amount = {}
    move_rows, state_rows = [], []
    if len(events):
        # every kind of event has every column (a log cut early may hold close-date changes only)
        for name in ("is_open", "add", "win"):
            events[name] = events.get(name, pd.Series(False, index=events.index)).fillna(False).astype(bool)
        for name in ("rank", "day", "value"):
            events[name] = events.get(name, pd.Series(0, index=events.index)).fillna(0).astype(np.int64)
        events["period_index"] = calendar.index(events["local"].to_numpy(np.int64))
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
            for row in _deal_rows(mine, amount, mine[0][0], calendar.last_period, calendar.days, pipeline, as_of_day):
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
    return Replay(ids, move_rows, state_rows, shown, tuple(ids[shown[:NAMED]]))


__all__ = ["NAMED", "PRECEDENCE", "Calendar", "Replay", "calendar_of", "replay_deals"]
