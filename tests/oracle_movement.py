"""The pandas oracle of the engine's scores: movement and motion per deal, and per owner or team and period with
the pipeline waterfall, as salesmetrics first computed them (decision 0061).

The package scores every log through its DuckDB engine (:func:`salesmetrics.metrics.scoring.score`); this module is
kept only so that tests can hold the engine to an independent implementation on hand-made, random and real logs.
Everything here is built from per-deal pieces (one row per deal, or per deal and period), so group results are
plain sums of those pieces. The classification of stage entries comes from
:func:`salesmetrics.log.prepare.stage_entries`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics._util.fast import index_in
from salesmetrics._util.renamed import as_of_after_log
from salesmetrics._util.time_units import US_PER_DAY
from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import amount_at, resolve_as_of, stage_entries, stamped_at_close, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics._group_notes import no_group_error, note_empty, note_no_close_date_changes
from salesmetrics.metrics.movement import (
    COUNTS,
    FLOWS,
    check_period,
    epoch_us,
    local_us,
    period_index,
    period_labels,
    period_start_day,
)

DEAL_COLUMNS = (
    "deal_id",
    "owner",
    "current_stage",
    "is_open",
    "age_days",
    "movements",
    "adds",
    "advances",
    "regressions",
    "wins",
    "losses",
    "motions",
    "motion_per_movement",
    "days_since_movement",
    "close_date_pushes",
    "days_pushed",
    "close_date_pulls",
)


def _day_numbers(series: pd.Series) -> np.ndarray:
    """Calendar day (in the log's time zone) as days since 1970-01-01."""
    return np.floor_divide(local_us(series), US_PER_DAY)


def _codes(ids: pd.Series, deal_ids: pd.Series) -> np.ndarray:
    """Position of each id in ``deal_ids`` (unique), -1 when absent: ``pd.Index(deal_ids).get_indexer(ids)``."""
    return index_in(ids, deal_ids)


def _count(codes: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    return np.bincount(codes if mask is None else codes[mask], minlength=n).astype(np.int64)


def _close_date_steps(changes: pd.DataFrame, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Close-date changes of each deal in time order (ties keep file order): codes, times and day moved.

    The first close date of a deal moves nothing (its step is 0).
    """
    times = epoch_us(changes["changed_at"])
    order = np.lexsort((np.arange(len(changes)), times, codes))
    codes, times = codes[order], times[order]
    days = _day_numbers(changes["close_date"])[order]
    first = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.zeros(0, bool)
    step = np.where(first, 0, days - np.r_[0, days[:-1]]) if len(days) else np.zeros(0, np.int64)
    return codes, times, step.astype(np.int64)


def _entries(log: SalesLog, as_of: pd.Timestamp) -> pd.DataFrame:
    """:func:`~salesmetrics.log.prepare.stage_entries` of a truncated log; empty (typed) when it has no entry.

    ``stage_entries`` fails on a log without stage changes, which a log cut at an early ``as_of`` can be.
    """
    if len(log.stage_changes):
        return stage_entries(log, as_of)
    empty = log.stage_changes.iloc[:0].copy()
    for column, dtype in (("rank", "int64"), ("prev_stage", "str"), ("prev_rank", "Int64"), ("kind", "str")):
        empty[column] = pd.Series([], dtype=dtype)
    empty["is_win"] = pd.Series([], dtype=bool)
    empty["steps"] = pd.Series([], dtype="int64")
    return empty.reset_index(drop=True)


def deal_scores(log: SalesLog, as_of=None) -> pd.DataFrame:
    """One row per deal known at ``as_of``: movements, motions and close-date slippage.

    Columns (in this order): ``deal_id, owner, current_stage, is_open, age_days, movements, adds, advances,
    regressions, wins, losses, motions, motion_per_movement, days_since_movement, close_date_pushes,
    days_pushed, close_date_pulls``. Rows keep the deals table's order; deals created after ``as_of`` are left
    out. ``motion_per_movement`` and ``days_since_movement`` are NaN for a deal without a movement;
    ``age_days`` is NaN when ``created_at`` is unknown; ``current_stage`` is missing (and ``is_open`` False)
    for a deal with no stage entry yet.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> scores = deal_scores(sm.read_log("datasets/demo"), as_of="2024-06-30")
    >>> bool((scores["movements"] == scores[["adds", "advances", "regressions", "losses"]].sum(axis=1)).all())
    True
    """
    as_of = resolve_as_of(log, as_of)
    log = truncate(log, as_of)
    as_of_us = epoch_us(as_of)
    deals = log.deals
    ids = deals["deal_id"]
    n = len(deals)

    entries = _entries(log, as_of)
    e_codes = _codes(entries["deal_id"], ids)
    kind = entries["kind"].to_numpy()
    adds = _count(e_codes, kind == "add", n)
    advances = _count(e_codes, kind == "advance", n)
    regressions = _count(e_codes, kind == "regression", n)
    losses = _count(e_codes, kind == "loss", n)
    wins = _count(e_codes, entries["is_win"].to_numpy(bool), n)
    movements = adds + advances + regressions + losses

    # entries are sorted by deal then time: the last row of a deal is its current stage
    current = np.full(n, None, dtype=object)
    last_movement = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    if len(entries):
        last_row = np.r_[e_codes[1:] != e_codes[:-1], True]
        current[e_codes[last_row]] = entries["stage"].to_numpy(object)[last_row]
        moved = kind != "repeat"
        np.maximum.at(last_movement, e_codes[moved], epoch_us(entries["changed_at"])[moved])
    current_stage = pd.Series(current, dtype="str")
    is_open = current_stage.isin(log.model.stages).to_numpy()

    motions = _count(_codes(log.activities["deal_id"], ids), None, n)

    c_codes, _, step = _close_date_steps(log.close_date_changes, _codes(log.close_date_changes["deal_id"], ids))
    pushes = _count(c_codes, step > 0, n)
    pulls = _count(c_codes, step < 0, n)
    days_pushed = np.bincount(c_codes, weights=np.where(step > 0, step, 0), minlength=n).astype(np.int64)

    created = epoch_us(deals["created_at"]) if n else np.zeros(0, np.int64)
    known = deals["created_at"].notna().to_numpy()
    age = np.where(known, (as_of_us - created) / US_PER_DAY, np.nan)
    since = np.where(movements > 0, (as_of_us - last_movement) / US_PER_DAY, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_movement = np.where(movements > 0, motions / np.maximum(movements, 1), np.nan)
    return pd.DataFrame(
        {
            "deal_id": pd.Series(ids.to_numpy(), dtype="str"),
            "owner": pd.Series(deals["owner"].to_numpy(), dtype="str"),
            "current_stage": current_stage,
            "is_open": is_open,
            "age_days": age,
            "movements": movements,
            "adds": adds,
            "advances": advances,
            "regressions": regressions,
            "wins": wins,
            "losses": losses,
            "motions": motions,
            "motion_per_movement": per_movement,
            "days_since_movement": since,
            "close_date_pushes": pushes,
            "days_pushed": days_pushed,
            "close_date_pulls": pulls,
        }
    )


def deal_period_pieces(
    log: SalesLog, as_of=None, period: str = "M", motions: pd.DataFrame | None = None, amounts: bool = False
):
    """One row per deal and period: movement counts, motions and waterfall flows (0/1 each).

    Returns columns ``deal_id, period_index, adds, advances, regressions, wins, losses, movements, motions,
    opening, created, won, lost, pushed_out, pulled_in, reopened, closing``, and with ``amounts`` each flow's
    amount (``opening_amount`` ...): every amount as of the moment it describes (decision 0054), the opening at
    the period's start, the closing at its end (or as_of), each flow at its event (a close-date change before an
    amount change at the same moment, a stage entry after it, as the waterfall replays them). Summing rows of a
    group gives the group's scores. ``motions`` may be given precomputed as a frame ``deal_id, period_index,
    motions`` (the fast path counts ten million activities in DuckDB).

    A deal is in a period's pipeline when its stage is open and its expected close date falls before the end
    of the period (``docs/decisions/0007-waterfall.md``); each event that moves it in or out is one flow, so
    ``closing = opening + created + pulled_in + reopened - won - lost - pushed_out`` for every deal and period.
    """
    check_period(period)
    as_of = resolve_as_of(log, as_of)
    log = truncate(log, as_of)
    ids = log.deals["deal_id"]
    last_period = int(period_index(local_us(pd.Series([as_of]))[:1], period)[0])

    entries = _entries(log, as_of)
    e_codes = _codes(entries["deal_id"], ids)
    kind = entries["kind"].to_numpy()
    e_local = local_us(entries["changed_at"])
    e_period = period_index(e_local, period)

    # movement counts per deal and period
    frames = []
    if len(entries):
        counts = pd.DataFrame(
            {
                "code": e_codes,
                "period_index": e_period,
                "adds": kind == "add",
                "advances": kind == "advance",
                "regressions": kind == "regression",
                "wins": entries["is_win"].to_numpy(bool),
                "losses": kind == "loss",
            }
        )
        frames.append(counts.groupby(["code", "period_index"], sort=False).sum().astype(np.int64))
    if motions is None:
        a = log.activities
        frames.append(_motions(_codes(a["deal_id"], ids), period_index(local_us(a["occurred_at"]), period)))
    else:
        m = motions.assign(code=_codes(motions["deal_id"], ids))
        m = m[m["code"] >= 0]  # deals not known at as_of have no pieces
        frames.append(m.groupby(["code", "period_index"], sort=False)["motions"].sum().to_frame())
    frames.append(_waterfall_pieces(log, entries, e_codes, e_local, e_period, ids, period, last_period))
    frames = [f for f in frames if len(f)]
    money = [f"{f}_amount" for f in FLOWS]
    if frames:
        pieces = pd.concat(frames, axis=1).fillna(0)
        counted = [c for c in pieces.columns if c not in money]
        pieces[counted] = pieces[counted].astype(np.int64)
    else:
        pieces = pd.DataFrame(
            {c: pd.Series([], dtype=np.int64) for c in (*COUNTS, *FLOWS)},
            index=pd.MultiIndex.from_arrays([[], []], names=["code", "period_index"]),
        )
    for column in (*COUNTS, *FLOWS, *money):
        if column not in pieces:
            pieces[column] = 0.0 if column in money else 0
    pieces["movements"] = pieces["adds"] + pieces["advances"] + pieces["regressions"] + pieces["losses"]
    pieces = pieces.reset_index().sort_values(["code", "period_index"], kind="stable").reset_index(drop=True)
    deal_ids = ids.astype("str").iloc[pieces["code"].to_numpy(np.int64)].reset_index(drop=True)
    pieces.insert(0, "deal_id", deal_ids)
    pieces["period_index"] = pieces["period_index"].astype(np.int64)
    columns = ["deal_id", "period_index", *COUNTS, *FLOWS, *(money if amounts else [])]
    return pieces.drop(columns="code")[columns].reset_index(drop=True)


def _motions(codes: np.ndarray, periods: np.ndarray) -> pd.DataFrame:
    """Activities per deal and period: ``groupby(["code", "period_index"]).size()``, counted on one integer key.

    ``codes`` are positions of the activities' deals (all known: the log is truncated, so every activity's
    deal is kept). Ten million activities fall into far fewer (deal, period) pairs: when the pairs that can
    occur are not many more than the rows, an array counts them (``np.bincount``), else a sort does.
    """
    names = ["code", "period_index"]
    if not len(codes):
        return pd.DataFrame({"motions": np.zeros(0, np.int64)}, index=pd.MultiIndex.from_arrays([[], []], names=names))
    first = periods.min()
    span = int(periods.max() - first) + 1
    key = codes.astype(np.int64) * span + (periods - first)
    if (int(codes.max()) + 1) * span <= 4 * len(key):
        counts = np.bincount(key)
        keys = np.flatnonzero(counts)
        counts = counts[keys]
    else:
        keys, counts = np.unique(key, return_counts=True)
    index = pd.MultiIndex.from_arrays([keys // span, keys % span + first], names=names)
    return pd.DataFrame({"motions": counts.astype(np.int64)}, index=index)


def _waterfall_pieces(log, entries, e_codes, e_local, e_period, ids, period, last_period) -> pd.DataFrame:
    """Per deal and period: opening and closing membership of the period's pipeline, and each flow."""
    model = log.model
    cdc = log.close_date_changes
    c_codes = _codes(cdc["deal_id"], ids)
    c_local = local_us(cdc["changed_at"])
    c_days = _day_numbers(cdc["close_date"])
    n_e, n_c = len(entries), len(cdc)
    # one event stream: at the same moment a close-date change is applied before a stage entry, except a date
    # stamped later at the close, after it (decision 0062)
    code = np.r_[e_codes, c_codes].astype(np.int64)
    local = np.r_[e_local, c_local].astype(np.int64)
    is_stage = np.r_[np.ones(n_e, bool), np.zeros(n_c, bool)]
    seq = np.r_[np.arange(n_e), np.arange(n_c)]
    when = np.r_[epoch_us(entries["changed_at"]), epoch_us(cdc["changed_at"])].astype(np.int64)
    placed = np.r_[np.ones(n_e, np.int64), np.where(stamped_at_close(log), 2, 0)]
    order = np.lexsort((seq, placed, when, code))
    code, local, is_stage, when = code[order], local[order], is_stage[order], when[order]
    if not len(code):
        return pd.DataFrame()
    stage_open = np.r_[entries["stage"].isin(model.stages).to_numpy(bool), np.zeros(n_c, bool)][order]
    e_add = np.r_[(entries["kind"] == "add").to_numpy(bool), np.zeros(n_c, bool)][order]
    e_win = np.r_[entries["is_win"].to_numpy(bool), np.zeros(n_c, bool)][order]
    new_day = np.r_[np.zeros(n_e, np.int64), c_days][order].astype(np.int64)
    # state after each event: open stage? expected close day? (carried forward within the deal from its
    # latest stage entry and its latest close-date change; the stream is sorted by deal)
    never = np.iinfo(np.int64).max  # an unknown close date is later than any period
    first = np.r_[True, code[1:] != code[:-1]]
    position = np.arange(len(code))
    deal_start = np.maximum.accumulate(np.where(first, position, 0))
    last_stage = np.maximum.accumulate(np.where(is_stage, position, -1))
    last_close = np.maximum.accumulate(np.where(is_stage, -1, position))
    open_after = np.where(last_stage >= deal_start, stage_open[np.maximum(last_stage, 0)], False)
    day_after = np.where(last_close >= deal_start, new_day[np.maximum(last_close, 0)], never)
    open_before = np.where(first, False, np.r_[False, open_after[:-1]])
    day_before = np.where(first, never, np.r_[never, day_after[:-1]])
    ev_period = period_index(local, period)
    end_day = period_start_day(ev_period + 1, period)  # in the period's pipeline: close day before this day
    in_before = open_before & (day_before < end_day)
    in_after = open_after & (day_after < end_day)
    up, down = in_after & ~in_before, in_before & ~in_after
    masks = {
        "created": up & is_stage & e_add,
        "reopened": up & is_stage & ~e_add,
        "pulled_in": up & ~is_stage,
        "won": down & is_stage & e_win,
        "lost": down & is_stage & ~e_win,
        "pushed_out": down & ~is_stage,
    }
    # each flow at the amount of its moment: a close-date change sees an amount change of the same moment
    # after it (1 microsecond earlier), a stage entry before it
    priced = _priced(log, ids, code, when - (~is_stage).astype(np.int64))
    flows = pd.DataFrame({"code": code, "period_index": ev_period, **masks})
    flows = flows.groupby(["code", "period_index"], sort=False).sum().astype(np.int64)
    money = pd.DataFrame({"code": code, "period_index": ev_period})
    for name, mask in masks.items():
        money[f"{name}_amount"] = np.where(mask, priced, 0.0)
    money = money.groupby(["code", "period_index"], sort=False).sum()

    # opening and closing: the state after the deal's last event of each period, carried to later periods
    last_in_period = np.r_[(code[1:] != code[:-1]) | (ev_period[1:] != ev_period[:-1]), True]
    s_code, s_period = code[last_in_period], ev_period[last_in_period]
    s_open, s_day = open_after[last_in_period], day_after[last_in_period]
    next_same = np.r_[s_code[1:] == s_code[:-1], False]
    until = np.where(next_same, np.r_[s_period[1:], 0], last_period + 1)  # state holds for [s_period, until)
    span = np.where(s_open, until - s_period, 1)  # closed states only matter in their own period
    rows = np.repeat(np.arange(len(s_code)), span)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(span) - span, span)
    p = s_period[rows] + offset
    day = s_day[rows]
    end = period_start_day(p + 1, period)
    state = pd.DataFrame(
        {
            "code": s_code[rows],
            "period_index": p,
            # closing of p: the state held at its end; opening of p+1 is the same state under p+1's horizon
            "closing": s_open[rows] & (day < end),
        }
    )
    carried = offset > 0
    opening = pd.DataFrame(
        {
            "code": s_code[rows][carried],
            "period_index": p[carried],
            "opening": s_open[rows][carried] & (day[carried] < end[carried]),
        }
    )
    # a period with events opens with the state carried from before it
    prev_state = np.r_[False, s_open[:-1]] & np.r_[False, next_same[:-1]]
    prev_day = np.r_[never, s_day[:-1]]
    ev_open = pd.DataFrame(
        {
            "code": s_code,
            "period_index": s_period,
            "opening": prev_state & (prev_day < period_start_day(s_period + 1, period)),
        }
    )
    opening = pd.concat([opening, ev_open]).groupby(["code", "period_index"], sort=False)["opening"].max()
    closing = state.groupby(["code", "period_index"], sort=False)["closing"].max()
    out = pd.concat([flows, opening.astype(np.int64), closing.astype(np.int64)], axis=1).fillna(0).astype(np.int64)
    out = out[[*list(FLOWS[1:-1]), "opening", "closing"]]
    # the opening at the amount of the period's start (the latest row of an earlier period), the closing at its end
    keys = out.index.to_frame(index=False)
    by_period = _amounts_by_period(log, ids, period)
    p_codes, p_index = keys["code"].to_numpy(np.int64), keys["period_index"].to_numpy(np.int64)
    out["opening_amount"] = out["opening"].to_numpy() * by_period(p_codes, p_index - 1)
    out["closing_amount"] = out["closing"].to_numpy() * by_period(p_codes, p_index)
    return out.join(money).fillna({c: 0.0 for c in money.columns})


def _priced(log: SalesLog, ids: pd.Series, codes: np.ndarray, moments_us: np.ndarray) -> np.ndarray:
    """Each deal's amount at a moment (microseconds since the epoch) by :func:`amount_at`; 0 when it has none."""
    if not len(codes):
        return np.zeros(0)
    return np.nan_to_num(amount_at(log, ids.iloc[codes].to_numpy(), np.asarray(moments_us, np.int64)), nan=0.0)


def _amounts_by_period(log: SalesLog, ids: pd.Series, period: str):
    """A function of (deal codes, period indexes): each deal's amount at the end of that period, its latest
    ``amount_changes`` row in it or before (ties: file order), else :func:`amount_at`'s fallbacks (the first row,
    else the deal's amount), 0 when none."""
    history = getattr(log, "amount_changes", None)
    rows = pd.DataFrame(columns=["code", "p", "amount"])
    if history is not None and len(history):
        rows = pd.DataFrame(
            {
                "code": _codes(history["deal_id"], ids),
                "t": epoch_us(history["changed_at"]),
                "p": period_index(local_us(history["changed_at"]), period),
                "amount": pd.to_numeric(history["amount"], errors="coerce").to_numpy(float),
                "seq": np.arange(len(history)),
            }
        ).sort_values(["code", "t", "seq"], kind="stable")
        rows = rows.groupby(["code", "p"], sort=False, as_index=False)["amount"].last()

    def at_end(codes: np.ndarray, periods: np.ndarray) -> np.ndarray:
        fallback = _priced(log, ids, codes, np.full(len(codes), -(10**17)))  # before any row (year 1653)
        if not len(rows) or not len(codes):
            return fallback
        asked = pd.DataFrame({"code": codes, "p": periods.astype(np.int64), "i": np.arange(len(codes))})
        found = pd.merge_asof(
            asked.sort_values("p", kind="stable"),
            rows.astype({"p": np.int64}).sort_values("p", kind="stable"),
            on="p",
            by="code",
            direction="backward",
        ).sort_values("i")
        value = found["amount"].to_numpy(float)
        return np.where(np.isnan(value), fallback, value)

    return at_end


def group_scores(pieces: pd.DataFrame, deals: pd.DataFrame, by: str, period: str, last_period: int) -> pd.DataFrame:
    """Sum per deal and period pieces into one row per group and period, with rates and amounts.

    ``pieces`` carry each flow's amount (``deal_period_pieces(..., amounts=True)``); ``deals`` gives each deal's
    group (``owner`` or ``team``). Every group gets every period from its first piece to ``last_period`` (the
    period of ``as_of``).
    """
    position = _codes(pieces["deal_id"], deals["deal_id"]) if len(pieces) else np.zeros(0, np.int64)
    known = position >= 0
    take = np.where(known, position, 0)
    frame = pieces[["period_index", *COUNTS, *FLOWS]].copy()
    if len(deals):
        group = deals[by].astype("str").iloc[take].where(known).set_axis(frame.index)
    else:
        group = pd.Series(np.nan, index=frame.index, dtype="str")
    frame.insert(0, by, group)
    for flow in FLOWS:
        frame[f"{flow}_amount"] = np.where(known, pieces[f"{flow}_amount"].to_numpy(float), 0.0)
    frame = frame.rename(columns={f: f"{f}_count" for f in FLOWS})
    summed = frame.groupby([by, "period_index"], dropna=False, sort=True).sum()
    # every group gets every period from its first piece to the period of as_of
    full = []
    for name, first in summed.reset_index().groupby(by, dropna=False, sort=True)["period_index"].min().items():
        for p in range(int(first), last_period + 1):
            full.append((name, p))
    index = pd.MultiIndex.from_tuples(full, names=[by, "period_index"]) if full else summed.index[:0]
    summed = summed.reindex(index, fill_value=0).reset_index()
    count_columns = [*COUNTS, *(f"{f}_count" for f in FLOWS)]
    summed[count_columns] = summed[count_columns].astype(np.int64)
    p_index = summed["period_index"].to_numpy(np.int64)
    summed.insert(1, "period", pd.Series(period_labels(p_index, period), dtype="str"))
    with np.errstate(divide="ignore", invalid="ignore"):
        motions = summed["motions"].to_numpy(float)
        decided = (summed["wins"] + summed["losses"]).to_numpy(float)
        summed["movement_per_motion"] = np.where(motions > 0, summed["movements"] / np.maximum(motions, 1), np.nan)
        summed["win_rate"] = np.where(decided > 0, summed["wins"] / np.maximum(decided, 1), np.nan)
    flow_columns = [f"{f}_{u}" for f in FLOWS for u in ("count", "amount")]
    columns = [by, "period", "period_index", *COUNTS, "movement_per_motion", "win_rate", *flow_columns]
    return summed[columns].reset_index(drop=True)


@as_of_after_log("by", "period", "as_of", "motions", not_as_of=("owner", "team"))
def score_groups(log: SalesLog, as_of=None, *, by: str = "owner", period: str = "M", motions=None) -> pd.DataFrame:
    """Scores per owner or team and period, with the pipeline waterfall.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> g = score_groups(sm.read_log("datasets/demo"), by="team", period="Q", as_of="2024-06-30")
    >>> flows = g["opening_count"] + g["created_count"] + g["pulled_in_count"] + g["reopened_count"]
    >>> flows -= g["won_count"] + g["lost_count"] + g["pushed_out_count"]
    >>> bool((flows == g["closing_count"]).all()), list(g["period"].unique())
    (True, ['2024Q1', '2024Q2'])
    """
    if by not in ("owner", "team"):
        raise UsageError(f"by {by!r} is not allowed for group scores; use 'owner' or 'team'.")
    check_period(period)
    if by not in log.deals.columns or not log.deals[by].notna().any():
        raise no_group_error(by)
    if not len(log.close_date_changes):
        note_no_close_date_changes(stacklevel=3)  # the caller of score_groups, past the as_of_after_log wrapper
    as_of = resolve_as_of(log, as_of)
    pieces = deal_period_pieces(log, as_of, period, motions=motions, amounts=True)
    last_period = int(period_index(local_us(pd.Series([as_of])), period)[0])
    scores = group_scores(pieces, log.deals, by, period, last_period)
    if scores.empty:
        note_empty(f"{as_of:%Y-%m-%d %H:%M}", stacklevel=3)
    return scores
