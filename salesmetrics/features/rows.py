"""The rows of a snapshot table (:func:`salesmetrics.features.build.snapshots`): :func:`snapshot_rows` computes
every feature and label of the deals open at each as-of moment, given the values of the whole log it needs.

The features are computed for all as-of moments at once: each event table is sorted by deal and time once, and
"the state of deal *d* at moment *a*" becomes a binary search, so thousands of dates cost about as much as one.
The movement classification comes from :func:`salesmetrics.log.prepare.stage_entries`, interaction outcomes from
:func:`salesmetrics.metrics.decisions.decision_increments`, close-date changes from
:func:`salesmetrics.metrics.random_walks.close_date_changes_classified`: each decided in one place.

A deal's rows depend on its own events and on these values of the whole log only: the as-of moments, the moment
labels are read up to, whether the log has teams, and the owners' record (:func:`owner_history`: the ``owner_*``
features count the events of all an owner's deals). So a log split by deal is built part by part
(:mod:`salesmetrics.features.parts`) by this same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics._util.fast import index_in
from salesmetrics._util.time_units import US_PER_DAY
from salesmetrics.exceptions import UsageError
from salesmetrics.features.registry import FEATURES, snapshot_columns
from salesmetrics.log.prepare import amount_at, stage_entries
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.decisions import decision_increments
from salesmetrics.metrics.random_walks import classify_close_date_changes

#: Activity kinds with a "days since the last one" feature, and the log's kinds each covers (lower case).
ACTIVITY_KINDS = {"email": ("email",), "call": ("call",), "meeting": ("meeting", "demo")}
#: The kinds whose share among a deal's activities is a feature (calls are the rest, mostly).
SHARE_KINDS = ("email", "meeting")


class _Timeline:
    """Events sorted by (group, time), answering "how many of group g's events are at or before t" in bulk.

    Times are replaced by their rank among the table's distinct times, so (group, rank) packs into one int64
    key and a query is one ``np.searchsorted``. Ties keep the order the events were given in.
    """

    def __init__(self, groups: np.ndarray, times: np.ndarray, n_groups: int):
        self.order = np.lexsort((times, groups))
        self.groups = groups[self.order]
        self.times = times[self.order]
        self.universe = _unique(self.times)
        self.width = np.int64(len(self.universe) + 1)
        self.keys = self.groups * self.width + np.searchsorted(self.universe, self.times)
        self.start = np.searchsorted(self.groups, np.arange(n_groups + 1))

    def upto(self, groups: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Global position p with ``events[start[g]:p]`` the group's events at or before ``times``."""
        rank = np.searchsorted(self.universe, times, side="right")
        return np.searchsorted(self.keys, groups * self.width + rank - 1, side="right")

    def count(self, groups: np.ndarray, times: np.ndarray) -> np.ndarray:
        return self.upto(groups, times) - self.start[groups]

    def cumulative(self, values: np.ndarray) -> np.ndarray:
        """Prefix sums of ``values`` (given in the original event order) in sorted order, with a leading 0."""
        return np.r_[0, np.cumsum(np.asarray(values)[self.order])]

    def sum_upto(self, prefix: np.ndarray, groups: np.ndarray, pos: np.ndarray) -> np.ndarray:
        return prefix[pos] - prefix[self.start[groups]]

    def next_after(self, groups: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Time of each group's first event strictly after ``times`` (int64 max when none)."""
        pos = self.upto(groups, times)
        has = pos < self.start[groups + 1]
        out = np.full(len(groups), np.iinfo(np.int64).max, dtype=np.int64)
        out[has] = self.times[pos[has]]
        return out


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values by sorting (NumPy 2's hash-based ``np.unique`` is several times slower here)."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _us(series: pd.Series) -> np.ndarray:
    """Tz-aware timestamps as int64 microseconds since the epoch (UTC)."""
    if not len(series):
        return np.zeros(0, np.int64)
    return series.dt.as_unit("us").array.asi8.astype(np.int64)


def _local_day(us: np.ndarray, tz: str) -> np.ndarray:
    """Calendar day (days since 1970-01-01) in ``tz`` of UTC microseconds."""
    if not len(us):
        return np.zeros(0, np.int64)
    local = pd.Series(pd.to_datetime(us, unit="us", utc=True)).dt.tz_convert(tz).dt.tz_localize(None)
    return np.floor_divide(local.dt.as_unit("us").array.asi8, US_PER_DAY)


def _end_of_day_us(days: np.ndarray, tz: str) -> np.ndarray:
    """The last microsecond of each calendar day (days since 1970-01-01) in ``tz``, as UTC microseconds."""
    if not len(days):
        return np.zeros(0, np.int64)
    wall = pd.Series(pd.to_datetime((days + 1) * US_PER_DAY - 1, unit="us"))
    local = wall.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_backward")
    return _us(local)


def _stamps(us: np.ndarray, tz: str) -> pd.Series:
    """Int64 UTC microseconds (int64 min or max as missing) as a tz-aware Series."""
    us = np.asarray(us, dtype=np.int64)
    missing = (us == np.iinfo(np.int64).min) | (us == np.iinfo(np.int64).max)
    stamps = pd.Series(pd.to_datetime(np.where(missing, 0, us), unit="us", utc=True)).dt.tz_convert(tz)
    return stamps.where(~missing)


def check_horizon(horizon_days) -> float:
    """``horizon_days`` as a float, or a UsageError when it is not a positive number of days."""
    if not isinstance(horizon_days, (int, float, np.integer, np.floating)) or not (
        np.isfinite(horizon_days) and horizon_days > 0
    ):
        raise UsageError(f"horizon_days must be a positive number of days, not {horizon_days!r}.")
    return float(horizon_days)


#: What :func:`snapshots` says of a log without stage changes.
NO_STAGE_CHANGES = "The log has no stage changes, so no deal is open at any date; snapshots need them."


@dataclass(frozen=True)
class _Events:
    """A log's events as :func:`snapshot_rows` and :func:`owner_history` read them: stage entries classified once
    (a prefix of a deal's entries classifies the same way) and interactions with the moment each outcome became
    known, as deal codes (positions in the deals table) and UTC microseconds."""

    entries: pd.DataFrame
    e_code: np.ndarray
    e_time: np.ndarray
    ent: _Timeline
    created: np.ndarray
    created_known: np.ndarray
    first_entry: np.ndarray
    i_code: np.ndarray
    i_time: np.ndarray
    advanced: np.ndarray
    decided_at: np.ndarray

    @classmethod
    def of(cls, log: SalesLog, observed: pd.Timestamp) -> _Events:
        deals = log.deals
        ids = deals["deal_id"]
        n = len(deals)
        entries = stage_entries(log, observed)
        e_code = index_in(entries["deal_id"], ids)
        keep = e_code >= 0
        entries, e_code = entries[keep].reset_index(drop=True), e_code[keep]
        e_time = _us(entries["changed_at"])
        ent = _Timeline(e_code, e_time, n)
        # per deal: when it becomes known (created, or its first entry when created is unknown)
        created = _us(deals["created_at"]) if n else np.zeros(0, np.int64)
        first_entry = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        has_entry = ent.start[1:] > ent.start[:-1]
        first_entry[has_entry] = ent.times[ent.start[:-1][has_entry]]
        inter = decision_increments(log, as_of=observed).interactions
        i_code = index_in(inter["deal_id"], ids) if len(inter) else np.zeros(0, np.int64)
        i_time = _us(inter["occurred_at"])
        # an outcome becomes known with the first movement (not an add) at or after the interaction
        kind = entries["kind"].to_numpy(dtype=object)
        outcome_moves = (kind == "advance") | (kind == "regression") | (kind == "loss")
        decided_at = _Timeline(e_code[outcome_moves], e_time[outcome_moves], n).next_after(i_code, i_time - 1)
        return cls(
            entries,
            e_code,
            e_time,
            ent,
            created,
            deals["created_at"].notna().to_numpy(),
            first_entry,
            i_code,
            i_time,
            (inter["inferred"] == "advanced").to_numpy(bool),
            decided_at,
        )

    @property
    def visible(self) -> np.ndarray:
        """When each deal becomes visible to its owner's record (as truncate keeps it): created, else first entry."""
        return np.where(self.created_known, self.created, self.first_entry)


def _moments(dates: list[pd.Timestamp]) -> np.ndarray:
    return np.array([int(_us(pd.Series([d]))[0]) for d in dates], dtype=np.int64)


#: The columns of :func:`owner_history`: per owner and as-of moment, what happened since the moment before.
OWNER_COUNTS = ("closed", "wins", "interactions", "decisions")


def owner_history(log: SalesLog, dates: list[pd.Timestamp], observed: pd.Timestamp) -> pd.DataFrame:
    """The owners' record at ``dates`` from this log's deals: per owner and as-of moment ``at`` (UTC
    microseconds), the deals closed and won, the interactions and the decisions (advances) that became known after
    the moment before and at or before ``at`` (:data:`OWNER_COUNTS`; moments with none are left out).

    The ``owner_*`` features are the only ones that look across deals (an owner's other deals); they are sums of
    these counts, so the histories of logs holding different deals add up (:func:`add_owner_histories`) to the
    history of the log they make together, which :func:`snapshot_rows` takes as ``owners``.
    """
    return _owner_history(log.deals["owner"], _Events.of(log, observed), _moments(dates))


def _owner_history(owners: pd.Series, ev: _Events, at: np.ndarray) -> pd.DataFrame:
    names = owners.to_numpy(dtype=object)
    kind = ev.entries["kind"].to_numpy(dtype=object)
    is_win = ev.entries["is_win"].to_numpy(bool)
    closing = is_win | (kind == "loss")
    visible = ev.visible
    c_code, adv_code = ev.e_code[closing], ev.i_code[ev.advanced]
    pieces = (  # (deals, times, counts): an event counts once both it and its deal are known
        (c_code, np.maximum(ev.e_time[closing], visible[c_code]), {"closed": 1, "wins": is_win[closing]}),
        (ev.i_code, np.maximum(ev.i_time, visible[ev.i_code]), {"interactions": 1}),
        (adv_code, np.maximum(ev.decided_at[ev.advanced], visible[adv_code]), {"decisions": 1}),
    )
    frames = []
    for code, times, counts in pieces:
        slot = np.searchsorted(at, times, side="left")  # the first as-of moment that sees the event
        seen = slot < len(at)
        frame = pd.DataFrame({"owner": names[code[seen]], "at": at[slot[seen]]})
        for column in OWNER_COUNTS:
            value = counts.get(column, 0)
            frame[column] = (value[seen] if isinstance(value, np.ndarray) else np.full(seen.sum(), value)).astype(
                np.int64
            )
        frames.append(frame)
    return add_owner_histories(frames)


def add_owner_histories(histories) -> pd.DataFrame:
    """The :func:`owner_history` of a log made of logs with different deals: their counts summed per owner and
    moment, sorted by owner and moment."""
    whole = pd.concat(list(histories), ignore_index=True)
    whole = whole.astype({"owner": object, "at": np.int64, **dict.fromkeys(OWNER_COUNTS, np.int64)})
    summed = whole.groupby(["owner", "at"], sort=True, dropna=False)[list(OWNER_COUNTS)].sum()
    return summed.reset_index()


def snapshot_rows(
    log: SalesLog,
    dates: list[pd.Timestamp],
    horizon: float,
    observed: pd.Timestamp,
    *,
    owners: pd.DataFrame | None = None,
    with_team: bool | None = None,
) -> pd.DataFrame:
    """The rows of :func:`snapshots` at the resolved moments ``dates``, with labels read up to ``observed``.

    Each deal's rows depend on its own events and on these values of the whole log: ``dates``, ``observed``, the
    owners' record (``owners``, an :func:`owner_history` at ``dates``; default: this log's) and whether the log
    has teams (``with_team``; default: whether this log's deals name any). Given those of a whole log, a log that
    holds some of its deals gets their rows of the whole log's table (``features.parts`` builds a partitioned log's
    table so, part by part).
    """
    model = log.model
    tz = model.timezone
    deals = log.deals
    ids = deals["deal_id"]
    n = len(deals)
    big = np.iinfo(np.int64).max
    t_end = int(_us(pd.Series([observed]))[0])

    ev = _Events.of(log, observed)
    entries, e_code, e_time, ent = ev.entries, ev.e_code, ev.e_time, ev.ent
    kind = entries["kind"].to_numpy(dtype=object)
    is_win = entries["is_win"].to_numpy(bool)
    stage = entries["stage"].to_numpy(dtype=object)
    rank = entries["rank"].to_numpy(np.int64)
    moved = kind != "repeat"
    created, created_known, first_entry = ev.created, ev.created_known, ev.first_entry
    has_entry = ent.start[1:] > ent.start[:-1]
    known_from = np.where(created_known, np.maximum(created, first_entry), first_entry)
    last_pos = ent.start[1:] - 1
    final_stage = np.full(n, None, dtype=object)
    final_stage[has_entry] = stage[ent.order][last_pos[has_entry]]
    final_terminal = pd.Series(final_stage).isin(model.won + model.lost).to_numpy()
    open_until = np.full(n, big, dtype=np.int64)  # a deal whose final entry closes it is closed from then on
    open_until[has_entry & final_terminal] = ent.times[last_pos[has_entry & final_terminal]]

    # candidate rows: each deal at every date between becoming known and its final close
    a_us = _moments(dates)
    lo = np.searchsorted(a_us, known_from, side="left")
    hi = np.searchsorted(a_us, open_until, side="left")
    span = np.maximum(hi - lo, 0)
    q = np.repeat(np.arange(n, dtype=np.int64), span)
    date_idx = np.repeat(lo, span) + (np.arange(len(q)) - np.repeat(np.cumsum(span) - span, span))
    a = a_us[date_idx] if len(q) else np.zeros(0, np.int64)

    # open at a: the latest entry at or before a is into an open stage
    p = ent.upto(q, a)
    has = p > ent.start[q]
    last = np.where(has, p - 1, 0)
    open_stage = np.isin(stage[ent.order], np.array(model.stages, dtype=object)) if len(stage) else np.zeros(0, bool)
    is_open = has & open_stage[last] if len(stage) else has
    q, a, p, last, date_idx = q[is_open], a[is_open], p[is_open], last[is_open], date_idx[is_open]
    order = np.lexsort((q, date_idx))
    q, a, p, last = q[order], a[order], p[order], last[order]
    rows = len(q)

    out: dict[str, object] = {}
    out["deal_id"] = pd.Series(ids.to_numpy(dtype=object)[q], dtype="str")
    out["as_of"] = _stamps(a, tz)
    out["owner"] = pd.Series(deals["owner"].to_numpy(dtype=object)[q], dtype="str")
    if with_team is None:
        with_team = "team" in deals and bool(deals["team"].notna().any())
    if with_team:
        out["team"] = pd.Series(deals["team"].to_numpy(dtype=object)[q], dtype="str")
    out["stage"] = pd.Series(stage[ent.order][last], dtype="str")
    f: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ movement
    s_kind = kind[ent.order]
    s_moved = moved[ent.order]
    f["stage_rank"] = rank[ent.order][last].astype(np.float64)
    counts = {}
    for name, mask in (
        ("movements", moved),
        ("advances", kind == "advance"),
        ("regressions", kind == "regression"),
    ):
        counts[name] = ent.sum_upto(ent.cumulative(mask.astype(np.int64)), q, p)
        f[name] = counts[name]
    # back-and-forth: a movement into the stage held two movements earlier, with another stage in between
    mv_idx = np.flatnonzero(s_moved)
    mv_stage = stage[ent.order][mv_idx]
    mv_deal = ent.groups[mv_idx]
    back = np.zeros(len(mv_idx), dtype=bool)
    if len(mv_idx) >= 3:
        back[2:] = (mv_deal[2:] == mv_deal[:-2]) & (mv_stage[2:] == mv_stage[:-2]) & (mv_stage[1:-1] != mv_stage[2:])
    back_sorted = np.zeros(len(stage), dtype=np.int64)
    back_sorted[mv_idx] = back
    back_prefix = np.r_[0, np.cumsum(back_sorted)]
    f["back_and_forth"] = back_prefix[p] - back_prefix[ent.start[q]]
    # the last movement: every deal's first entry is an add (a movement), so a running max never crosses deals
    last_move_idx = np.maximum.accumulate(np.where(s_moved, np.arange(len(s_moved)), -1)) if len(s_moved) else s_moved
    last_move_t = ent.times[last_move_idx[last]] if rows else np.zeros(0, np.int64)
    f["days_since_movement"] = (a - last_move_t) / US_PER_DAY
    del s_kind

    # ------------------------------------------------------------------ motion
    acts = log.activities
    a_code = index_in(acts["deal_id"], ids) if len(acts) else np.zeros(0, np.int64)
    a_keep = a_code >= 0
    act = _Timeline(a_code[a_keep], _us(acts["occurred_at"])[a_keep], n)
    pa_ = act.upto(q, a)
    motions = pa_ - act.start[q]
    f["motions"] = motions
    f["motions_14d"] = motions - act.count(q, a - 14 * US_PER_DAY)
    f["motions_30d"] = motions - act.count(q, a - 30 * US_PER_DAY)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["motion_per_movement"] = np.where(counts["movements"] > 0, motions / counts["movements"], np.nan)
    last_act = np.where(motions > 0, act.times[np.maximum(pa_ - 1, 0)] if len(act.times) else 0, 0)
    since_ref = np.where(motions > 0, last_act, np.where(created_known[q], created[q], first_entry[q]))
    f["days_since_activity"] = (a - since_ref) / US_PER_DAY
    f["activities_since_movement"] = motions - act.count(q, last_move_t)
    f.update(_activity_mix(acts, a_code, a_keep, q, a, motions, n))
    older = act.count(q, a - 14 * US_PER_DAY) - act.count(q, a - 28 * US_PER_DAY)
    f["motion_trend"] = f["motions_14d"] - older  # the last 14 days against the 14 before

    # ------------------------------------------------------------------ client decisions
    i_code, i_time, advanced, decided_at = ev.i_code, ev.i_time, ev.advanced, ev.decided_at
    ints = _Timeline(i_code, i_time, n)
    interactions = ints.count(q, a)
    adv = _Timeline(i_code[advanced], decided_at[advanced], n)
    padv = adv.upto(q, a)
    decisions = padv - adv.start[q]
    f["interactions"] = interactions
    f["decisions"] = decisions
    with np.errstate(divide="ignore", invalid="ignore"):
        f["decision_rate"] = np.where(interactions > 0, decisions / interactions, np.nan)
    adv_interaction_t = i_time[advanced][adv.order] if advanced.any() else np.zeros(0, np.int64)
    last_decided = np.where(decisions > 0, adv_interaction_t[np.maximum(padv - 1, 0)] if advanced.any() else 0, 0)
    f["interactions_since_decision"] = np.where(decisions > 0, interactions - ints.count(q, last_decided), interactions)
    f["decisions_30d"] = decisions - adv.count(q, a - 30 * US_PER_DAY)

    # ------------------------------------------------------------------ slippage
    changes = classify_close_date_changes(log)
    c_code = index_in(changes["deal_id"], ids) if len(changes) else np.zeros(0, np.int64)
    c_time = _us(changes["changed_at"])
    ckind = changes["kind"].to_numpy(dtype=object)
    cdc = _Timeline(c_code, c_time, n)
    pc = cdc.upto(q, a)
    f["close_date_pushes"] = cdc.sum_upto(cdc.cumulative((ckind == "push").astype(np.int64)), q, pc)
    f["days_pushed"] = cdc.sum_upto(
        cdc.cumulative(np.where(ckind == "push", changes["days"].to_numpy(np.int64), 0)), q, pc
    )
    f["close_date_pulls"] = cdc.sum_upto(cdc.cumulative((ckind == "pull").astype(np.int64)), q, pc)
    has_close = pc > cdc.start[q]
    close_day_all = _local_day(_us(changes["close_date"]), tz)[cdc.order] if len(changes) else np.zeros(0, np.int64)
    close_day = np.where(has_close, close_day_all[np.maximum(pc - 1, 0)] if len(changes) else 0, 0)
    as_of_day = _local_day(a, tz)
    f["days_past_close"] = np.where(has_close, (as_of_day - close_day).astype(np.float64), np.nan)
    close_eod = _end_of_day_us(close_day, tz)
    out["expected_close_date"] = _stamps(
        np.where(has_close, _us(_day_stamps(close_day, tz)), np.iinfo(np.int64).min), tz
    )

    # ------------------------------------------------------------------ commit
    if model.commit_stage is not None:
        into_commit = moved & (stage == model.commit_stage)
        first_commit = np.full(n, big, dtype=np.int64)
        np.minimum.at(first_commit, e_code[into_commit], e_time[into_commit])
        fc = first_commit[q]
        f["days_since_commit"] = np.where(fc <= a, (a - fc) / US_PER_DAY, np.nan)
    else:
        f["days_since_commit"] = np.full(rows, np.nan)

    # ------------------------------------------------------------------ the deal
    if "amount" in deals and log.has_amount_changes:  # as known at each as_of, never later (decision 0054)
        f["amount"] = amount_at(log, deals["deal_id"].to_numpy()[q], np.asarray(a, dtype=np.int64))
    else:
        f["amount"] = (deals["amount"].to_numpy(np.float64) if "amount" in deals else np.full(n, np.nan))[q]
    f["age_days"] = np.where(created_known[q], (a - created[q]) / US_PER_DAY, np.nan)

    # ------------------------------------------------------------------ the owner, up to a
    # the one look across deals: an owner's record counts the events of all the owner's deals
    record = _owner_history(deals["owner"], ev, a_us) if owners is None else owners
    known = pd.Index(pd.unique(record["owner"]))
    deal_owner = known.get_indexer(deals["owner"])
    deal_owner[deal_owner < 0] = len(known)  # an owner without any record: an empty group
    oq = deal_owner[q].astype(np.int64)
    record_owner = known.get_indexer(record["owner"]).astype(np.int64)
    line = _Timeline(record_owner, record["at"].to_numpy(np.int64), len(known) + 1)
    seen = line.upto(oq, a)
    total = {c: line.sum_upto(line.cumulative(record[c].to_numpy(np.int64)), oq, seen) for c in OWNER_COUNTS}
    owner_closed = total["closed"]
    with np.errstate(divide="ignore", invalid="ignore"):
        f["owner_win_rate"] = np.where(owner_closed > 0, total["wins"] / owner_closed, np.nan)
    f["owner_closed"] = owner_closed
    o_ints, o_adv = total["interactions"], total["decisions"]
    with np.errstate(divide="ignore", invalid="ignore"):
        f["owner_decision_rate"] = np.where(o_ints > 0, o_adv / o_ints, np.nan)

    out["days_in_stage"] = f["days_since_movement"].copy()
    for name, value in _in_registry_order(f).items():
        value = np.asarray(value)
        out[name] = value.astype(np.int64) if value.dtype.kind in "iub" else value.astype(np.float64)

    # ------------------------------------------------------------------ labels
    h_us = round(horizon * US_PER_DAY)
    movers = _Timeline(e_code[moved], e_time[moved], n)
    next_move = movers.next_after(q, a)
    observed_next = next_move <= t_end
    out["days_to_next_movement"] = (np.where(observed_next, next_move, np.maximum(t_end, a)) - a) / US_PER_DAY
    out["next_movement_observed"] = observed_next
    horizon_end = a + h_us
    stalled = pd.array(next_move > horizon_end, dtype="boolean")
    stalled[horizon_end > t_end] = pd.NA
    out["stalled"] = stalled
    # what the next movement within the horizon was: a loss is a movement for `stalled` (decision 0016); the
    # three-way `next_step` and `stalled_excluding_losses` say it apart (decision 0057)
    next_pos = movers.upto(q, a)
    has_next = next_pos < movers.start[q + 1]
    next_is_loss = np.zeros(rows, dtype=bool)
    next_is_loss[has_next] = (kind[moved][movers.order] == "loss")[next_pos[has_next]]
    lost_within = next_is_loss & (next_move <= horizon_end)
    censored = horizon_end > t_end
    step = np.where(next_move > horizon_end, "no movement", np.where(lost_within, "lost", "moved")).astype(object)
    step[censored] = None
    out["next_step"] = pd.Series(step, dtype="str")
    excluding = pd.array(next_move > horizon_end, dtype="boolean")
    excluding[censored | lost_within] = pd.NA
    out["stalled_excluding_losses"] = excluding

    final = final_stage[q]
    won_final = pd.Series(final).isin(model.won).to_numpy()
    lost_final = pd.Series(final).isin(model.lost).to_numpy()
    out["outcome"] = pd.Series(np.where(won_final, "won", np.where(lost_final, "lost", "open")), dtype="str")
    won = pd.array(won_final.astype(np.int64), dtype="Int64")
    won[~(won_final | lost_final)] = pd.NA
    out["won"] = won
    # days from as_of to the close that settles `won` (NaN while open): what censoring weights need (ADR 0027)
    closed_at = open_until[q]
    out["days_to_outcome"] = np.where(won_final | lost_final, (closed_at - a) / US_PER_DAY, np.nan)

    closing = is_win | (kind == "loss")
    closers = _Timeline(e_code[closing], e_time[closing], n)
    next_close_pos = closers.upto(q, a)
    has_next_close = next_close_pos < closers.start[q + 1]
    next_close_t = np.full(rows, big, dtype=np.int64)
    next_close_won = np.zeros(rows, dtype=bool)
    next_close_t[has_next_close] = closers.times[next_close_pos[has_next_close]]
    next_close_won[has_next_close] = is_win[closing][closers.order][next_close_pos[has_next_close]]
    deadline = np.where(has_close & (close_eod > a), close_eod, a + h_us)
    by_deadline = next_close_t <= deadline
    close_outcome = np.where(
        by_deadline, np.where(next_close_won, "won", "lost"), np.where(deadline <= t_end, "slipped", None)
    )
    out["close_deadline"] = _stamps(deadline, tz)
    out["close_outcome"] = pd.Series(close_outcome, dtype="str")
    slipped = pd.array(close_outcome == "slipped", dtype="boolean")
    slipped[pd.isna(close_outcome)] = pd.NA
    out["slipped"] = slipped

    frame = pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v) for k, v in out.items()})
    frame = frame[snapshot_columns(with_team="team" in frame)]
    frame.attrs.update(
        {
            "features": list(FEATURES),
            "horizon_days": horizon,
            "observed_until": str(observed),
            "stages": list(model.stages),
            "commit_stage": model.commit_stage,
            "won": list(model.won),
            "lost": list(model.lost),
            "timezone": tz,
            # rows per as-of moment, censored ones included: the censoring distribution of `won` (ADR 0027)
            "rows_per_as_of": rows_per_as_of(frame),
        }
    )
    return frame


def rows_per_as_of(frame: pd.DataFrame) -> dict[str, int]:
    """The rows of a snapshot table at each as-of moment, in the table's order (``attrs["rows_per_as_of"]``)."""
    return {str(k): int(v) for k, v in frame["as_of"].value_counts(sort=False).items()}


def _activity_mix(acts, a_code, a_keep, q, a, motions, n) -> dict[str, np.ndarray]:
    """Per row, from the deal's activities at or before its as-of moment only: the share of each kind in
    :data:`SHARE_KINDS` among them (NaN without any), and the days since the last activity of each kind of
    :data:`ACTIVITY_KINDS` (NaN before the first)."""
    kinds = acts["kind"].astype("str").str.lower().to_numpy(dtype=object)[a_keep] if len(acts) else np.zeros(0, object)
    codes, times = a_code[a_keep], _us(acts["occurred_at"])[a_keep] if len(acts) else np.zeros(0, np.int64)
    out = {}
    for name, members in ACTIVITY_KINDS.items():
        mask = np.isin(kinds, np.array(members, dtype=object))
        line = _Timeline(codes[mask], times[mask], n)
        pos = line.upto(q, a)
        seen = pos - line.start[q]
        last = line.times[np.maximum(pos - 1, 0)] if len(line.times) else np.zeros(len(q), np.int64)
        out[f"days_since_{name}"] = np.where(seen > 0, (a - last) / US_PER_DAY, np.nan)
        if name in SHARE_KINDS:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[f"{name}_share"] = np.where(motions > 0, seen / motions, np.nan)
    return out


def _in_registry_order(computed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The computed features in the order of :data:`FEATURES`; a RuntimeError when a feature is computed here but
    has no entry in :mod:`salesmetrics.features.registry`, or has an entry but is not computed."""
    unregistered = [name for name in computed if name not in FEATURES]
    uncomputed = [name for name in FEATURES if name not in computed]
    if unregistered or uncomputed:
        raise RuntimeError(
            "The snapshot features and the feature registry disagree: "
            f"computed but not registered {unregistered}, registered but not computed {uncomputed}; "
            "add or remove the entry in salesmetrics/features/registry.py."
        )
    return {name: computed[name] for name in FEATURES}


def _day_stamps(days: np.ndarray, tz: str) -> pd.Series:
    """Midnight of each calendar day in ``tz`` (as the log stores ``close_date``)."""
    wall = pd.Series(pd.to_datetime(np.asarray(days, dtype=np.int64) * US_PER_DAY, unit="us"))
    return wall.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")


__all__ = [
    "NO_STAGE_CHANGES",
    "OWNER_COUNTS",
    "add_owner_histories",
    "check_horizon",
    "owner_history",
    "rows_per_as_of",
    "snapshot_rows",
]
