"""Velocity: how fast pipeline turns into revenue, how fast a verbal yes becomes a signature, and how fast
sellers answer their buyers. How long deals sit in each stage is :mod:`salesmetrics.metrics.stage_times`.

Every function is a pure function of a log, an ``as_of`` moment and its parameters. Each starts by cutting the
log at ``as_of`` (:func:`salesmetrics.log.prepare.cut_at`), so no later event is ever seen, and takes stage
movements from :func:`salesmetrics.metrics.stays.stage_movements` (repeats of the current stage are not
movements and neither start nor end a stay). Definitions, worked examples and the choices behind them:
``docs/metrics.md`` and ``docs/decisions/0012``, ``0013``. The ``velocity`` report notebook's logic is
:mod:`salesmetrics.reports.velocity` (``docs/decisions/0024``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import as_of_after_log
from salesmetrics.exceptions import DataNote, UsageError
from salesmetrics.log.prepare import amount_at, cut_at
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.stage_times import km_median
from salesmetrics.metrics.stays import (
    GROUPS,
    UNKNOWN_DEAL,
    check_by,
    days_between,
    group_of,
    label_groups,
    lookup,
    stage_movements,
)

PERIODS = {"M": "M", "Q": "Q", "W": "W"}
HOUR = pd.Timedelta(hours=1)


# --------------------------------------------------------------------------------------------- sales velocity


def _period_grid(log: SalesLog, moves: pd.DataFrame, period: str | None, as_of: pd.Timestamp):
    """Period labels, starts and measurement points (period end, capped at as_of), in the log's time zone."""
    tz = log.model.timezone
    firsts = [moves["changed_at"].min()] if len(moves) else []
    if log.deals["created_at"].notna().any():
        firsts.append(log.deals["created_at"].min())
    first = min(firsts) if firsts else as_of
    if period is None:
        return ["all"], pd.DatetimeIndex([first]), pd.DatetimeIndex([as_of])
    freq = PERIODS[period]
    local = pd.period_range(first.tz_localize(None).to_period(freq), as_of.tz_localize(None).to_period(freq))
    starts = local.start_time.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    ends = (local + 1).start_time.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward") - pd.Timedelta(
        microseconds=1
    )
    ends = ends.where(ends < as_of, as_of)
    # one week label everywhere: the Monday's date, as score and waterfall write it (movement.period_labels)
    labels = [str(p.start_time.date()) if period == "W" else str(p) for p in local]
    return labels, starts, pd.DatetimeIndex(ends)


@as_of_after_log("by", "period", "as_of", not_as_of=GROUPS)
def sales_velocity(log: SalesLog, as_of=None, *, by: str | None = "owner", period: str | None = "M") -> pd.DataFrame:
    """Sales velocity per group and period, with its four factors.

    ``velocity = open_deals × win_rate × avg_won_amount / avg_cycle_days`` (an amount per day):

    - ``open_deals``: deals whose latest movement at the period's end (or at ``as_of`` for the current period)
      is into an open stage;
    - ``win_rate``: ``wins / (wins + losses)`` over closing movements (an advance into a won stage, or a
      movement into a lost stage) dated in the period;
    - ``avg_won_amount``: mean amount of the wins in the period, each at the moment it was won (its latest
      ``amount_changes`` row by then, :func:`~salesmetrics.log.prepare.amount_at`; deals without an amount are
      left out);
    - ``avg_cycle_days``: mean days from creation (``created_at``, else the first stage entry) to the win, over
      the wins in the period.

    A factor with nothing to average is NaN, never 0, and so is the velocity; ``open_deals`` is a count and is 0
    when nothing is open. ``period=None`` gives one row per group: open deals at ``as_of`` and every close up
    to it. Periods are calendar weeks (Monday to Sunday), months or quarters in the log's time zone, from the
    first event to ``as_of``; every group gets every period.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> v = sales_velocity(sm.read_log("datasets/demo"), "2024-12-31", by=None, period="Q")
    >>> v[["period", "open_deals", "wins", "losses"]].tail(2).to_string(index=False)
    'period  open_deals  wins  losses\\n2024Q3         140    65     246\\n2024Q4         148    90     254'
    """
    by = check_by(by)
    if period is not None and period not in PERIODS:
        raise UsageError(f"period must be 'W', 'M', 'Q' or None, not {period!r}.")
    as_of, log = cut_at(log, as_of)
    moves = stage_movements(log, as_of)
    groups = group_of(log, by)
    labels, starts, ends = _period_grid(log, moves, period, as_of)
    n_periods = len(labels)
    ends_ns = ends.as_unit("ns").asi8

    def period_index(times: pd.Series) -> np.ndarray:
        # period k holds the times in (end[k-1], end[k]]
        return np.searchsorted(ends_ns, pd.DatetimeIndex(times).as_unit("ns").asi8, side="left")

    group_names = sorted(groups.unique().tolist()) if by is not None else ["all"]
    if by is not None:
        unknown = ~moves["deal_id"].isin(groups.index)
        if unknown.any():
            group_names.append(UNKNOWN_DEAL)
    code_of = {name: i for i, name in enumerate(group_names)}

    def group_codes(deal_ids: pd.Series) -> np.ndarray:
        if by is None:
            return np.zeros(len(deal_ids), dtype="int64")
        names = deal_ids.map(groups).fillna(UNKNOWN_DEAL)
        return names.map(code_of).to_numpy(dtype="int64")

    # open deals at each measurement point: a segment [entered, next movement) covers end[k] when it starts at
    # or before it and ends after it; counted with +1/-1 marks and a running sum per group.
    segments = moves[moves["stage"].isin(log.model.stages)]
    counts = np.zeros((len(group_names), n_periods + 1), dtype="int64")
    if len(segments):
        k0 = period_index(segments["changed_at"])
        nxt = segments["next_at"]
        k1 = np.where(nxt.isna(), n_periods, period_index(nxt.fillna(as_of)))
        g = group_codes(segments["deal_id"])
        np.add.at(counts, (g, k0), 1)
        np.add.at(counts, (g, k1), -1)
    open_deals = np.cumsum(counts, axis=1)[:, :n_periods]

    closes = moves[moves["is_win"] | (moves["kind"] == "loss")].reset_index(drop=True)
    closes["g"] = group_codes(closes["deal_id"])
    closes["k"] = period_index(closes["changed_at"])
    deals = log.deals.set_index("deal_id")
    first_entry = moves.groupby("deal_id", sort=False)["changed_at"].min()
    created = lookup(closes["deal_id"], deals["created_at"]).fillna(lookup(closes["deal_id"], first_entry))
    won_amount = amount_at(log, closes["deal_id"], closes["changed_at"]) if len(closes) else np.zeros(0)
    closes["won_amount"] = np.where(closes["is_win"], won_amount, np.nan)  # the amount when won (decision 0054)
    closes["cycle_days"] = np.where(closes["is_win"], days_between(closes["changed_at"], created), np.nan)
    closes["win"] = closes["is_win"].astype("int64")
    closes["loss"] = (~closes["is_win"]).astype("int64")
    agg = closes.groupby(["g", "k"]).agg(
        wins=("win", "sum"),
        losses=("loss", "sum"),
        avg_won_amount=("won_amount", "mean"),
        avg_cycle_days=("cycle_days", "mean"),
    )
    grid = pd.MultiIndex.from_product([range(len(group_names)), range(n_periods)], names=["g", "k"])
    out = agg.reindex(grid)
    out["wins"] = out["wins"].fillna(0).astype("int64")
    out["losses"] = out["losses"].fillna(0).astype("int64")
    out = out.reset_index()
    out["open_deals"] = open_deals[out["g"].to_numpy(), out["k"].to_numpy()]
    closed = out["wins"] + out["losses"]
    out["win_rate"] = (out["wins"] / closed).where(closed > 0)
    out["velocity"] = out["open_deals"] * out["win_rate"] * out["avg_won_amount"] / out["avg_cycle_days"]
    out["velocity"] = out["velocity"].where(out["avg_cycle_days"] > 0)
    result = pd.DataFrame({by: np.asarray(group_names, dtype=object)[out["g"]]} if by else {})
    result["period"] = np.asarray(labels, dtype=object)[out["k"]]
    result["period_start"] = starts[out["k"].to_numpy()]
    result["period_end"] = ends[out["k"].to_numpy()]
    for column in ("open_deals", "wins", "losses", "win_rate", "avg_won_amount", "avg_cycle_days", "velocity"):
        result[column] = out[column].to_numpy()
    for column in [c for c in (by, "period") if c]:
        result[column] = result[column].astype("str")
    return result


# ----------------------------------------------------------------------------------------- commit to signature


@dataclass(frozen=True)
class CommitToSignature:
    """Per committed deal, the days from its first commit entry to a win (see :func:`commit_to_signature`)."""

    deals: pd.DataFrame
    summary: pd.DataFrame
    commit_stage: str
    as_of: pd.Timestamp


def commit_to_signature(log: SalesLog, as_of=None, by: str | None = None) -> CommitToSignature:
    """Days from a deal's first entry into ``commit_stage`` (the verbal yes) to its signature (a win).

    Per deal that entered the commit stage by ``as_of``: ``committed_at`` (first entry), ``commit_entries``,
    ``status`` (``won``, ``lost`` or ``open``: the first closing movement after that entry, or none yet),
    ``closed_at``, ``days`` (to the close, or to ``as_of`` for open deals), ``censored`` (True unless won: for a
    lost or open deal the time to signature is not observed) and ``days_to_win`` (won deals only).
    ``summary`` (one row, or one per group): ``n_committed, n_won, n_lost, n_open, win_rate_closed,
    median_days_to_win, p75_days_to_win, median_days_open``.

    Raises :class:`~salesmetrics.exceptions.UsageError` when the stage model has no ``commit_stage``.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> c = commit_to_signature(sm.read_log("datasets/demo"), as_of="2024-12-31")
    >>> c.summary[["n_committed", "n_won", "n_lost", "n_open"]].iloc[0].tolist()
    [300, 256, 26, 18]
    """
    by = check_by(by)
    commit = log.model.commit_stage
    if commit is None:
        raise UsageError(
            "The stage model has no commit stage, so there is no verbal yes to measure from. Set 'commit_stage' "
            f"in salesmetrics.yaml to one of the open stages ({', '.join(log.model.stages)})."
        )
    as_of, log = cut_at(log, as_of)
    moves = stage_movements(log, as_of)
    moves["pos"] = np.arange(len(moves))
    into = moves[moves["stage"] == commit]
    first = into.groupby("deal_id", sort=False).agg(
        committed_at=("changed_at", "first"), commit_pos=("pos", "first"), commit_entries=("pos", "size")
    )
    after = lookup(moves["deal_id"], first["commit_pos"])
    closing = moves[(moves["is_win"] | (moves["kind"] == "loss")) & (moves["pos"] > after)]
    ends = closing.groupby("deal_id", sort=False).agg(closed_at=("changed_at", "first"), won=("is_win", "first"))
    deals = first.join(ends, how="left").reset_index()
    deals["status"] = np.where(deals["won"].isna(), "open", np.where(deals["won"].fillna(False), "won", "lost"))
    deals["status"] = deals["status"].astype("str")
    deals["days"] = days_between(deals["closed_at"].fillna(as_of), deals["committed_at"])
    deals["censored"] = deals["status"] != "won"
    deals["days_to_win"] = deals["days"].where(deals["status"] == "won")
    info = log.deals.set_index("deal_id")
    deals["owner"] = deals["deal_id"].map(info["owner"]).astype("str")
    deals["team"] = deals["deal_id"].map(info["team"]).astype("str")
    columns = ["deal_id", "owner", "team", "committed_at", "commit_entries", "status", "closed_at", "days"]
    deals = deals[[*columns, "censored", "days_to_win"]].sort_values("deal_id").reset_index(drop=True)
    deals["commit_entries"] = deals["commit_entries"].astype("int64")

    keys = [by] if by else []
    frame = deals.assign(
        _won=deals["status"] == "won",
        _lost=deals["status"] == "lost",
        _open=deals["status"] == "open",
        _open_days=deals["days"].where(deals["status"] == "open"),
    )
    grouped = frame.groupby(keys) if keys else frame.groupby(np.zeros(len(frame), dtype="int64"))
    summary = grouped.agg(
        n_committed=("deal_id", "size"),
        n_won=("_won", "sum"),
        n_lost=("_lost", "sum"),
        n_open=("_open", "sum"),
        median_days_to_win=("days_to_win", "median"),
        p75_days_to_win=("days_to_win", lambda s: s.quantile(0.75)),
        median_days_open=("_open_days", "median"),
    )
    if not keys:
        summary = summary.reindex([0]).fillna({"n_committed": 0, "n_won": 0, "n_lost": 0, "n_open": 0})
    summary = summary.reset_index(drop=not keys)
    for column in ("n_committed", "n_won", "n_lost", "n_open"):
        summary[column] = summary[column].astype("int64")
    closed = summary["n_won"] + summary["n_lost"]
    summary.insert(len(keys) + 4, "win_rate_closed", (summary["n_won"] / closed).where(closed > 0))
    return CommitToSignature(deals, summary, commit, as_of)


# ------------------------------------------------------------------------------------------------ responsiveness


def response_times(log: SalesLog, as_of=None) -> pd.DataFrame:
    """One row per buyer request: a run of inbound activities on a deal, answered by the next outbound one.

    The clock starts at the first inbound activity after an outbound one (or the deal's first inbound), so
    three messages in a row are one request, timed from the first. ``answered_at`` is the next outbound
    activity on the same deal at or after it; a request unanswered at ``as_of`` is censored and its ``hours``
    run to ``as_of``. Activities without a direction are ignored; at equal times inbound sorts first.
    Columns: ``deal_id, requested_at, inbound_count, answered_at, hours, censored``.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> r = response_times(sm.read_log("datasets/demo"), as_of="2024-12-31")
    >>> int(r["censored"].sum()) < len(r)
    True
    """
    as_of, log = cut_at(log, as_of)
    columns = ["deal_id", "requested_at", "inbound_count", "answered_at", "hours", "censored"]
    acts = log.activities
    if "direction" not in acts or not acts["direction"].notna().any():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    acts = acts.loc[acts["direction"].isin(["inbound", "outbound"]), ["deal_id", "occurred_at", "direction"]]
    inbound = (acts["direction"] == "inbound").to_numpy()
    deal = acts["deal_id"].to_numpy()
    order = np.lexsort((~inbound, acts["occurred_at"].array.asi8, deal))
    deal, inbound = deal[order], inbound[order]
    times = acts["occurred_at"].iloc[order].reset_index(drop=True)
    n = len(deal)
    new_deal = np.r_[True, deal[1:] != deal[:-1]] if n else np.zeros(0, bool)
    prev_inbound = np.r_[False, inbound[:-1]] if n else np.zeros(0, bool)
    starts = np.flatnonzero(inbound & (new_deal | ~prev_inbound))
    outbound_pos = np.flatnonzero(~inbound)
    # next outbound position after each run start, if it belongs to the same deal
    nxt = np.searchsorted(outbound_pos, starts, side="left")
    answer = outbound_pos[np.minimum(nxt, len(outbound_pos) - 1)] if len(outbound_pos) else np.zeros_like(starts)
    deal_ids = deal[starts]
    answered = (nxt < len(outbound_pos)) & (deal[answer] == deal_ids)
    # inbound messages in the run: up to the answer, or to the deal's end
    deal_end = np.r_[np.flatnonzero(new_deal)[1:], n] if n else np.zeros(0, "int64")
    run_end = np.where(answered, answer, deal_end[np.cumsum(new_deal)[starts] - 1]) if len(starts) else starts
    requested_at = times.iloc[starts].reset_index(drop=True)
    answered_at = times.iloc[answer].reset_index(drop=True).where(pd.Series(answered))
    out = pd.DataFrame(
        {
            "deal_id": pd.Series(deal_ids, dtype="str"),
            "requested_at": requested_at,
            "inbound_count": (run_end - starts).astype("int64"),
            "answered_at": answered_at,
        }
    )
    out["hours"] = (out["answered_at"].fillna(as_of) - out["requested_at"]) / HOUR
    out["censored"] = ~answered
    return out[columns]


NO_INBOUND = (
    "No activity is inbound (a buyer reaching out): every activity with a direction is the seller's, so there is "
    "no buyer request to time and responsiveness cannot be measured."
)


def responsiveness(log: SalesLog, as_of=None, by: str | None = "owner") -> pd.DataFrame:
    """Median hours from a buyer's inbound activity to the seller's next outbound one, per owner or team.

    Built on :func:`response_times` (a run of inbound activities is one request, timed from its first).
    Columns: the group, ``n_requests``, ``n_answered``, ``n_unanswered`` (censored at ``as_of``),
    ``median_hours`` (answered requests only), ``km_median_hours`` (Kaplan–Meier median counting unanswered
    requests as censored; never below ``median_hours``' information, and NaN when under half are answered)
    and ``p90_hours`` (answered). When the log has no ``direction`` data, or no inbound activity (every
    activity is outbound), the result is empty and a warning says so.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> r = responsiveness(sm.read_log("datasets/demo"), as_of="2024-12-31", by="team")
    >>> r["team"].tolist()
    ['Team A', 'Team B', 'Team C', 'Team D']
    """
    by = check_by(by)
    as_of, log = cut_at(log, as_of)
    keys = [by] if by else []
    columns = [*keys, "n_requests", "n_answered", "n_unanswered", "median_hours", "km_median_hours", "p90_hours"]
    if "direction" not in log.activities or not log.activities["direction"].notna().any():
        warnings.warn(
            "The log's activities have no 'direction' (inbound/outbound) values, so responsiveness cannot be "
            "measured; the result is empty. Add a direction column to activities to get it.",
            DataNote,
            stacklevel=2,
        )
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    requests = label_groups(response_times(log, as_of), group_of(log, by), by)
    if requests.empty:  # every activity is outbound (or none is dated yet): no buyer request to time
        warnings.warn(NO_INBOUND, DataNote, stacklevel=2)
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    requests["answered_hours"] = requests["hours"].where(~requests["censored"])
    grouped = requests.groupby(keys) if keys else requests.groupby(np.zeros(len(requests), dtype="int64"))
    summary = grouped.agg(
        n_requests=("hours", "size"),
        n_unanswered=("censored", "sum"),
        median_hours=("answered_hours", "median"),
        p90_hours=("answered_hours", lambda s: s.quantile(0.9)),
    )
    km = grouped[["hours", "censored"]].apply(lambda g: km_median(g["hours"], ~g["censored"].to_numpy()))
    summary["km_median_hours"] = km
    summary["n_unanswered"] = summary["n_unanswered"].astype("int64")
    summary["n_answered"] = summary["n_requests"] - summary["n_unanswered"]
    summary = summary.reset_index(drop=not keys)
    return summary[columns]


__all__ = [
    "NO_INBOUND",
    "CommitToSignature",
    "commit_to_signature",
    "response_times",
    "responsiveness",
    "sales_velocity",
]
