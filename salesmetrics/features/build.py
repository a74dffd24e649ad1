"""Leak-free snapshots: one row per deal open at each as-of date, its features then, and what happened next.

A model that predicts stalls or wins must be trained on what was *known* at the moment of the prediction.
:func:`snapshots` takes a list of as-of moments (or a frequency), finds the deals open at each, and computes
every feature only from events at or before that moment, exactly as the metric functions would on the log cut
there (:func:`salesmetrics.log.prepare.truncate`); tests hold the two to equality and prove that changing any
later event leaves the features unchanged. The labels look forward from the as-of moment and say when they
cannot be known yet (censoring).

The features are computed for all as-of moments at once: each event table is sorted by deal and time once, and
"the state of deal *d* at moment *a*" becomes a binary search, so thousands of dates cost about as much as one.
The movement classification comes from :func:`salesmetrics.log.prepare.stage_entries`, interaction outcomes from
:func:`salesmetrics.metrics.decisions.decision_increments`, close-date changes from
:func:`salesmetrics.metrics.random_walks.close_date_changes_classified`: each decided in one place.

Every column, and for each feature its group, label, reason and precision, is listed once in
:mod:`salesmetrics.features.registry`. Labels and censoring are argued in ``docs/decisions/0015-snapshot-labels.md``,
the stall definition in ``docs/decisions/0016-stall-definition.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics._util.fast import index_in
from salesmetrics._util.time_units import US_PER_DAY
from salesmetrics.exceptions import UsageError
from salesmetrics.features.registry import FEATURES, LABELS, snapshot_columns
from salesmetrics.log.prepare import amount_at, resolve_as_of, stage_entries, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.decisions import decision_increments
from salesmetrics.metrics.random_walks import classify_close_date_changes

FREQS = {"D": "D", "W": "W-SUN", "M": "ME", "Q": "QE"}
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


def as_of_dates(log: SalesLog, freq: str = "W", start=None, end=None) -> list[pd.Timestamp]:
    """The as-of moments :func:`snapshots` uses for ``freq``: the end of each period's last day.

    ``freq`` is ``D`` (days), ``W`` (weeks, ending Sunday), ``M`` (months), ``Q`` (quarters) or any pandas
    offset alias such as ``2W``. ``start`` and ``end`` default to the log's first and last event; each moment is
    the end of a calendar day in the log's time zone.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> dates = as_of_dates(sm.read_log("datasets/demo"), freq="M", end="2024-03-31")
    >>> [str(d.date()) for d in dates], str(dates[0].time())
    (['2024-01-31', '2024-02-29', '2024-03-31'], '23:59:59.999999')
    """
    last = resolve_as_of(log, None) if end is None else resolve_as_of(log, end)
    if start is None:
        times = [
            t.min()
            for t in (log.stage_changes["changed_at"], log.activities["occurred_at"], log.deals["created_at"])
            if len(t) and t.notna().any()
        ]
        if not times:
            raise UsageError("The log has no dated events, so give the as-of dates with as_of=[...].")
        first = min(times)
    else:
        first = resolve_as_of(log, start)
    if first > last:
        raise UsageError(f"start ({first.date()}) is after end ({last.date()}); give a start before the end.")
    alias = FREQS.get(freq, freq)
    try:
        days = pd.date_range(first.tz_localize(None).normalize(), last.tz_localize(None).normalize(), freq=alias)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"freq {freq!r} is not a frequency; use D, W, M or Q (or a pandas alias such as 2W).") from exc
    moments = [resolve_as_of(log, str(d.date())) for d in days]
    return [m for m in moments if m <= last or end is not None]


def _resolve_dates(log: SalesLog, as_of, freq, start, end) -> list[pd.Timestamp]:
    if as_of is None:
        return as_of_dates(log, freq, start, end)
    values = [as_of] if isinstance(as_of, (str, pd.Timestamp)) or not hasattr(as_of, "__iter__") else list(as_of)
    if not values:
        raise UsageError("as_of is an empty list; give at least one date, or as_of=None with freq='W'.")
    return sorted({resolve_as_of(log, v) for v in values})


def snapshots(
    log: SalesLog,
    as_of=None,
    freq: str = "W",
    horizon_days: float = 30,
    start=None,
    end=None,
    *,
    observed_until=None,
) -> pd.DataFrame:
    """One row per deal open at each as-of moment: features known then, and labels from what happened next.

    Parameters
    ----------
    log : SalesLog
    as_of : date, list of dates, or None
        The as-of moments (a bare date means the end of that day). ``None``: one per ``freq`` period from
        ``start`` to ``end`` (:func:`as_of_dates`).
    freq : str
        ``D``, ``W`` (default, weeks ending Sunday), ``M`` or ``Q``; used when ``as_of`` is None.
    horizon_days : float
        The look-ahead of the ``stalled`` label and the fallback deadline of ``close_outcome``.
    start, end : date or None
        First and last as-of day for ``freq`` (default: the log's first and last event).
    observed_until : date or None
        The moment the log is known until (default: its last event). Events after it are ignored and labels
        whose outcome falls after it are censored. ``snapshots(log, observed_until=T)`` equals
        ``snapshots(truncate(log, T), ...)`` with the end moment ``T``: use it to build a training set for a
        time-split evaluation whose labels cannot see the test period.

    Returns
    -------
    DataFrame
        Sorted by ``as_of`` then the deals table's order. Columns: ``deal_id, as_of, owner, team`` (when the log
        has teams), ``stage, expected_close_date, days_in_stage``, every column of :data:`FEATURES`, and the
        labels:

        - ``next_step`` (``moved``, ``lost``, ``no movement`` or ``<NA>`` when censored): what came first in
          ``(as_of, as_of + horizon_days]``: a movement other than a loss (advance, regression or win), a loss,
          or nothing; and ``stalled_excluding_losses`` (nullable boolean): ``stalled`` with the rows lost within
          the horizon left out (``<NA>``), so a loss is neither a stall nor a movement (decision 0057).
        - ``stalled`` (nullable boolean): no movement (advance, regression, win or loss) in
          ``(as_of, as_of + horizon_days]``; ``<NA>`` when that window runs past ``observed_until``.
        - ``days_to_next_movement`` (float) and ``next_movement_observed`` (bool): days to the next movement,
          or to ``observed_until`` when none was seen (censored: ``next_movement_observed`` False).
        - ``outcome`` (``won``, ``lost``, ``open``) and ``won`` (nullable 1/0): the deal's final state at
          ``observed_until``; ``won`` is ``<NA>`` for deals still open then (censored; models leave them out).
          ``days_to_outcome`` (float): days from ``as_of`` to that close (NaN while open), which
          :class:`~salesmetrics.models.CloseLikelihood` uses to undo the censoring of ``won`` (decision 0027).
        - ``close_deadline``, ``close_outcome`` (``won``, ``lost``, ``slipped`` or ``<NA>``) and ``slipped``
          (nullable boolean): was the deal won or lost by its expected close date as known at ``as_of``, or did
          it slip past it? When that date has already passed at ``as_of`` (or there is none), the deadline is
          ``as_of + horizon_days``. ``<NA>`` when the deadline is after ``observed_until`` and the deal was
          still open then.

        ``frame.attrs`` holds ``features`` (the :data:`FEATURES` list), ``horizon_days``, ``observed_until``,
        ``rows_per_as_of`` (rows at each as-of moment, censored ones included),
        ``stages`` and ``commit_stage``.

    Notes
    -----
    Deal attributes (``owner``, ``team``) come from the deals table, which holds their latest value only; they
    are taken as known throughout. ``amount`` is the amount at each as-of moment when the log has an amount
    history (:func:`~salesmetrics.log.prepare.amount_at`, decision 0054), else the deals table's. Everything else
    is computed from events at or before each as-of moment: the features of a row equal those of the metric
    functions run on ``truncate(log, as_of)``.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.read_log("datasets/demo")
    >>> snap = snapshots(log, as_of=["2024-06-30", "2024-12-31"])
    >>> snap.groupby("as_of").size().tolist()
    [124, 148]
    >>> row = snap.iloc[0]
    >>> row["deal_id"], row["stage"], int(row["close_date_pushes"]), bool(row["stalled"]), row["outcome"]
    ('D000001', 'Commit', 5, False, 'won')
    """
    if not isinstance(horizon_days, (int, float, np.integer, np.floating)) or not (
        np.isfinite(horizon_days) and horizon_days > 0
    ):
        raise UsageError(f"horizon_days must be a positive number of days, not {horizon_days!r}.")
    if observed_until is not None:
        observed = resolve_as_of(log, observed_until)
        log = truncate(log, observed)
    else:
        observed = resolve_as_of(log, None)
    if not len(log.stage_changes):
        raise UsageError("The log has no stage changes, so no deal is open at any date; snapshots need them.")
    dates = _resolve_dates(log, as_of, freq, start, end)
    return _build(log, dates, float(horizon_days), observed)


def _build(log: SalesLog, dates: list[pd.Timestamp], horizon: float, observed: pd.Timestamp) -> pd.DataFrame:
    model = log.model
    tz = model.timezone
    deals = log.deals
    ids = deals["deal_id"]
    n = len(deals)
    big = np.iinfo(np.int64).max
    t_end = int(_us(pd.Series([observed]))[0])

    # stage entries, classified once on the whole log: a prefix of a deal's entries classifies the same way
    entries = stage_entries(log, observed)
    e_code = index_in(entries["deal_id"], ids)
    keep = e_code >= 0
    entries, e_code = entries[keep].reset_index(drop=True), e_code[keep]
    e_time = _us(entries["changed_at"])
    kind = entries["kind"].to_numpy(dtype=object)
    is_win = entries["is_win"].to_numpy(bool)
    stage = entries["stage"].to_numpy(dtype=object)
    rank = entries["rank"].to_numpy(np.int64)
    moved = kind != "repeat"
    ent = _Timeline(e_code, e_time, n)

    # per deal: when it becomes known (created, or its first entry when created is unknown) and its final state
    created = _us(deals["created_at"]) if n else np.zeros(0, np.int64)
    created_known = deals["created_at"].notna().to_numpy()
    first_entry = np.full(n, big, dtype=np.int64)
    has_entry = ent.start[1:] > ent.start[:-1]
    first_entry[has_entry] = ent.times[ent.start[:-1][has_entry]]
    known_from = np.where(created_known, np.maximum(created, first_entry), first_entry)
    last_pos = ent.start[1:] - 1
    final_stage = np.full(n, None, dtype=object)
    final_stage[has_entry] = stage[ent.order][last_pos[has_entry]]
    final_terminal = pd.Series(final_stage).isin(model.won + model.lost).to_numpy()
    open_until = np.full(n, big, dtype=np.int64)  # a deal whose final entry closes it is closed from then on
    open_until[has_entry & final_terminal] = ent.times[last_pos[has_entry & final_terminal]]

    # candidate rows: each deal at every date between becoming known and its final close
    a_us = np.array([int(_us(pd.Series([d]))[0]) for d in dates], dtype=np.int64)
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
    if "team" in deals and deals["team"].notna().any():
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
    inter = decision_increments(log, as_of=observed).interactions
    i_code = index_in(inter["deal_id"], ids) if len(inter) else np.zeros(0, np.int64)
    i_time = _us(inter["occurred_at"])
    advanced = (inter["inferred"] == "advanced").to_numpy(bool)
    # an outcome becomes known with the first movement (not an add) at or after the interaction
    outcome_moves = (kind == "advance") | (kind == "regression") | (kind == "loss")
    omv = _Timeline(e_code[outcome_moves], e_time[outcome_moves], n)
    decided_at = omv.next_after(i_code, i_time - 1)
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
    owner_code, _ = pd.factorize(deals["owner"], use_na_sentinel=False)
    owner_code = owner_code.astype(np.int64)
    n_owners = int(owner_code.max()) + 1 if n else 0
    oq = owner_code[q]
    closing = is_win | (kind == "loss")
    # an owner's history counts a deal's events only once the deal itself is known (as truncate keeps it)
    visible = np.where(created_known, created, first_entry)
    closes = _Timeline(owner_code[e_code[closing]], np.maximum(e_time[closing], visible[e_code[closing]]), n_owners)
    pcl = closes.upto(oq, a)
    owner_closed = pcl - closes.start[oq]
    owner_wins = closes.sum_upto(closes.cumulative(is_win[closing].astype(np.int64)), oq, pcl)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["owner_win_rate"] = np.where(owner_closed > 0, owner_wins / owner_closed, np.nan)
    f["owner_closed"] = owner_closed
    o_ints = _Timeline(owner_code[i_code], np.maximum(i_time, visible[i_code]), n_owners).count(oq, a)
    adv_code = i_code[advanced]
    o_adv = _Timeline(owner_code[adv_code], np.maximum(decided_at[advanced], visible[adv_code]), n_owners).count(oq, a)
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
            "rows_per_as_of": {str(k): int(v) for k, v in frame["as_of"].value_counts(sort=False).items()},
        }
    )
    return frame


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


__all__ = ["FEATURES", "FREQS", "LABELS", "as_of_dates", "snapshots"]
