"""Momentum flags: which open deals have lost their pace, and why.

Each flag is a plain rule with its threshold as a parameter, and the result shows the number behind each flag
beside the threshold it was compared with, so a report can say why a deal was flagged. Definitions and
choices: ``docs/metrics.md`` and ``docs/decisions/0014-momentum-flags.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics._util.fast import index_in
from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import cut_at
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.stays import DAY, UNKNOWN_DEAL, check_by, group_of, lookup, open_stage_stays

COLUMNS = (
    "deal_id",
    "owner",
    "team",
    "stage",
    "entered_stage_at",
    "days_in_stage",
    "stall_threshold_days",
    "stall_basis",
    "stall_reference_stays",
    "stalled",
    "last_activity_at",
    "days_since_activity",
    "no_activity_days",
    "no_activity",
    "last_movement_at",
    "activities_since_movement",
    "motion_without_movement_threshold",
    "motion_without_movement",
    "expected_close_date",
    "close_date_past",
    "n_flags",
)


@dataclass(frozen=True)
class StallThresholds:
    """The "stalled in stage" thresholds of a log: the quantile of completed stays per stage (``overall_q``,
    with ``overall_n`` stays behind it) and per group and stage (``group_q``, ``group_n``; empty without groups)."""

    by_stage: pd.DataFrame
    by_group: pd.DataFrame


def stall_thresholds(completed: pd.DataFrame, group: str | None, quantile: float) -> StallThresholds:
    """The thresholds from completed stays (columns ``stage``, ``days`` and, with a ``group``, ``grp``: what
    :func:`completed_stays` gives). The stays of logs of different deals put end to end give the thresholds of
    the log they make together: a quantile depends only on the values, not on their order."""
    by_stage = completed.groupby("stage")["days"].agg(overall_q=lambda s: s.quantile(quantile), overall_n="size")
    if group is None:
        return StallThresholds(by_stage, by_stage.iloc[0:0])
    by_group = completed.groupby(["grp", "stage"])["days"].agg(group_q=lambda s: s.quantile(quantile), group_n="size")
    return StallThresholds(by_stage, by_group)


def completed_stays(log: SalesLog, as_of=None, *, group: str | None = "owner", with_end: bool = False) -> pd.DataFrame:
    """The stays in open stages that ended by ``as_of`` (``stage``, ``days`` and, with a ``group``, the deal's
    group ``grp``): what :func:`stall_thresholds` reads, one row per stay. ``with_end`` adds when each ended
    (``left_at``): those that ended by an earlier moment are the completed stays at that moment (a stay's end and
    length do not depend on later events), so one call serves many moments.

    >>> import salesmetrics as sm
    >>> stays = completed_stays(sm.read_log("datasets/demo"), "2024-12-31")
    >>> list(stays.columns), bool((stays["days"] >= 0).all())
    (['grp', 'stage', 'days'], True)
    """
    group = check_by(group, "group")
    as_of, log = cut_at(log, as_of)
    stays = _stays(log, as_of, group)
    columns = ["grp", "stage", "days"] if group is not None else ["stage", "days"]
    return stays.loc[~stays["censored"], columns + ["left_at"] * with_end].reset_index(drop=True)


def _stays(log: SalesLog, as_of: pd.Timestamp, group: str | None) -> pd.DataFrame:
    """The open-stage stays of a log cut at ``as_of``, each with its deal's group ``grp`` when there is a group."""
    stays = open_stage_stays(log, as_of)
    if group is not None:
        stays["grp"] = stays["deal_id"].map(group_of(log, group)).fillna(UNKNOWN_DEAL)
    return stays


def _activity_counts(activities: pd.DataFrame, deal_ids: pd.Series, last_movement: pd.Series):
    """Per deal of ``deal_ids``: the time of its latest activity (NaT when none) and the number of its activities
    after ``last_movement`` (the deal's time, same order).

    The same as ``activities.groupby("deal_id")["occurred_at"].max()`` and counting ``occurred_at >
    last_movement`` per deal, on integer positions: ten million activities never become Python strings.
    """
    codes = index_in(activities["deal_id"], deal_ids)  # -1: an activity of a deal not in deal_ids
    times = activities["occurred_at"]
    known = codes >= 0
    latest = np.full(len(deal_ids), np.iinfo(np.int64).min, dtype=np.int64)  # the int64 minimum is NaT
    np.maximum.at(latest, codes[known], times.array.asi8[known])
    last_activity = pd.Series(latest.view(f"datetime64[{times.dt.unit}]"))
    if times.dt.tz is not None:
        last_activity = last_activity.dt.tz_localize("UTC").dt.tz_convert(times.dt.tz)
    after = times.array > last_movement.array.take(codes, allow_fill=True)  # NaT (no such deal): False
    since = np.bincount(codes[after], minlength=len(deal_ids)).astype("int64")
    return last_activity.array, since


def _latest_close_dates(dates: pd.DataFrame, deal_ids: pd.Series):
    """Per deal of ``deal_ids``: its latest expected close date (NaT when none).

    The last close-date change by time, and at equal change times the later date: the same as sorting by
    deal, ``changed_at`` and ``close_date`` and taking ``groupby("deal_id")["close_date"].last()``, on integer
    positions rather than text.
    """
    codes = index_in(dates["deal_id"], deal_ids)
    close = dates["close_date"]
    rows = np.flatnonzero((codes >= 0) & close.notna().to_numpy())  # last() skips missing dates
    order = rows[np.lexsort((close.array.asi8[rows], dates["changed_at"].array.asi8[rows], codes[rows]))]
    deal = codes[order]
    is_last = np.r_[deal[1:] != deal[:-1], True] if len(deal) else np.zeros(0, bool)
    latest = np.full(len(deal_ids), -1, dtype=np.int64)  # -1: no close date
    latest[deal[is_last]] = order[is_last]
    return close.array.take(latest, allow_fill=True)


def momentum_flags(
    log: SalesLog,
    as_of=None,
    *,
    stall_quantile: float = 0.9,
    no_activity_days: float = 14,
    motion_without_movement: int = 5,
    group: str | None = "owner",
    min_stays: int = 10,
    thresholds: StallThresholds | None = None,
) -> pd.DataFrame:
    """Momentum flags for every deal open at ``as_of`` (its latest movement is into an open stage).

    - ``stalled``: ``days_in_stage`` (since the movement into the current stage) is above the
      ``stall_quantile`` quantile of completed stays in that stage, computed from stays that ended by ``as_of``
      for the deal's group (``group="owner"`` or ``"team"``; ``None`` pools everyone). When the group has fewer
      than ``min_stays`` completed stays in the stage, the pooled stays of that stage are used
      (``stall_basis="all"``); when even those are fewer, there is no threshold and the deal is not flagged
      (``stall_basis="too few stays"``).
    - ``no_activity``: ``days_since_activity`` (since the last activity, or since the deal was created when it
      has none) is at least ``no_activity_days``.
    - ``motion_without_movement``: at least ``motion_without_movement`` activities after the last movement.
    - ``close_date_past``: the latest expected close date (the last close-date change by ``as_of``; at equal
      change times the later date) is before the day of ``as_of``.

    ``n_flags`` counts the raised flags. Rows are sorted by ``deal_id``.

    ``thresholds``: the stall thresholds to compare with (:func:`stall_thresholds`, computed with the same
    ``group`` and ``stall_quantile``), for a log that is one part of a larger one (the thresholds of the whole);
    default: those of ``log`` itself.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> f = momentum_flags(sm.read_log("datasets/demo"), as_of="2024-12-31")
    >>> len(f), int(f["stalled"].sum()), int(f["no_activity"].sum()), int(f["close_date_past"].sum())
    (148, 31, 4, 3)
    """
    group = check_by(group, "group")
    if not 0 < stall_quantile < 1:
        raise UsageError(f"stall_quantile must be between 0 and 1, not {stall_quantile!r}.")
    if no_activity_days < 0 or motion_without_movement < 0 or min_stays < 1:
        raise UsageError("no_activity_days and motion_without_movement must be 0 or more, and min_stays 1 or more.")
    as_of, log = cut_at(log, as_of)
    stays = _stays(log, as_of, group)
    info = log.deals.set_index("deal_id")

    # the current stay of each open deal: its last movement is into an open stage and still going
    current = stays[stays["censored"]].reset_index(drop=True)
    out = pd.DataFrame({"deal_id": current["deal_id"].astype("str")})
    out["owner"] = out["deal_id"].map(info["owner"]).astype("str")
    out["team"] = out["deal_id"].map(info["team"]).astype("str")
    out["stage"] = current["stage"].astype("str")
    out["entered_stage_at"] = current["entered_at"]
    out["days_in_stage"] = current["days"]

    if thresholds is None:
        thresholds = stall_thresholds(stays[~stays["censored"]], group, stall_quantile)
    by_stage, by_group = thresholds.by_stage, thresholds.by_group
    overall_q = out["stage"].map(by_stage["overall_q"])
    overall_n = out["stage"].map(by_stage["overall_n"]).fillna(0).astype("int64")
    if group is not None:
        index = pd.MultiIndex.from_arrays([current["grp"], current["stage"]])
        group_q = pd.Series(by_group["group_q"].reindex(index).to_numpy(), index=out.index)
        group_n = pd.Series(by_group["group_n"].reindex(index).fillna(0).to_numpy(), index=out.index).astype("int64")
        use_group = group_n >= min_stays
    else:
        group_q, group_n = overall_q, overall_n
        use_group = pd.Series(False, index=out.index)
    use_all = ~use_group & (overall_n >= min_stays)
    out["stall_threshold_days"] = np.where(use_group, group_q, np.where(use_all, overall_q, np.nan))
    out["stall_basis"] = pd.Series(
        np.where(use_group, group or "all", np.where(use_all, "all", "too few stays")), dtype="str"
    )
    out["stall_reference_stays"] = np.where(use_group, group_n, np.where(use_all, overall_n, 0)).astype("int64")
    out["stalled"] = (out["days_in_stage"] > out["stall_threshold_days"]).fillna(False).astype(bool)

    # the last movement of an open deal is the movement into its current stage
    out["last_movement_at"] = out["entered_stage_at"]
    last_activity, since = _activity_counts(log.activities, out["deal_id"], out["last_movement_at"])
    out["last_activity_at"] = last_activity
    first_entry = stays.groupby("deal_id")["entered_at"].min()
    created = lookup(out["deal_id"], info["created_at"]).fillna(lookup(out["deal_id"], first_entry))
    out["days_since_activity"] = (as_of - out["last_activity_at"].fillna(created)) / DAY
    out["no_activity_days"] = float(no_activity_days)
    out["no_activity"] = (out["days_since_activity"] >= no_activity_days).astype(bool)

    out["activities_since_movement"] = since
    out["motion_without_movement_threshold"] = int(motion_without_movement)
    out["motion_without_movement"] = (out["activities_since_movement"] >= motion_without_movement).astype(bool)

    out["expected_close_date"] = _latest_close_dates(log.close_date_changes, out["deal_id"])
    out["close_date_past"] = (out["expected_close_date"] < as_of.normalize()).fillna(False).astype(bool)

    flags = ["stalled", "no_activity", "motion_without_movement", "close_date_past"]
    out["n_flags"] = out[flags].sum(axis=1).astype("int64")
    return out[list(COLUMNS)].sort_values("deal_id", kind="stable").reset_index(drop=True)


__all__ = ["StallThresholds", "completed_stays", "momentum_flags", "stall_thresholds"]
