"""Velocity: how fast pipeline turns into revenue, how long deals sit in each stage, how fast a verbal yes
becomes a signature, and how fast sellers answer their buyers.

Every function is a pure function of a log, an ``as_of`` moment and its parameters. Each starts by cutting the
log at ``as_of`` (:func:`salesmetrics.log.prepare.truncate`), so no later event is ever seen, and takes stage
movements from :func:`salesmetrics.log.prepare.stage_entries` (repeats of the current stage are not movements and
neither start nor end a stay). Definitions, worked examples and the choices behind them:
``docs/metrics.md`` and ``docs/decisions/0012``, ``0013``. :func:`velocity_report` gathers
everything the ``velocity`` report notebook shows (``docs/decisions/0024``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics._util.text import plural
from salesmetrics.exceptions import DataNote, UsageError
from salesmetrics.log.coverage import LogCoverage, log_coverage, note_axes, table_or_note
from salesmetrics.log.prepare import resolve_as_of, stage_entries, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.reports.tables import MIN_DENOMINATOR, SHORT_CYCLE_DAYS, first

PERIODS = {"M": "M", "Q": "Q", "W": "W"}
GROUPS = ("owner", "team")
DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)
NO_TEAM = "(no team)"


# --------------------------------------------------------------------------------------------------- helpers


def _prepare(log: SalesLog, as_of) -> tuple[pd.Timestamp, SalesLog]:
    as_of = resolve_as_of(log, as_of)
    return as_of, truncate(log, as_of)


def _check_by(by: str | None, name: str = "by") -> str | None:
    if by is not None and by not in GROUPS:
        raise UsageError(f"{name} must be 'owner', 'team' or None, not {by!r}.")
    return by


def _group_of(log: SalesLog, by: str | None) -> pd.Series | None:
    """The group label of every deal (indexed by deal_id), or None when results are not grouped."""
    if by is None:
        return None
    labels = log.deals.set_index("deal_id")[by] if by in log.deals else pd.Series(dtype="str")
    if by == "team":
        labels = labels.fillna(NO_TEAM)
    return labels.astype("str")


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``keys.map(values)`` that keeps ``values``' dtype even when ``keys`` is empty (``values`` has unique keys)."""
    return pd.Series(values.reindex(keys.to_numpy()).array, index=keys.index)


def _label(frame: pd.DataFrame, groups: pd.Series | None, by: str | None) -> pd.DataFrame:
    if by is not None:
        frame[by] = frame["deal_id"].map(groups).fillna("(unknown deal)").astype("str")
    return frame


def _movements(log: SalesLog, as_of: pd.Timestamp) -> pd.DataFrame:
    """Stage entries that are movements (repeats dropped), sorted by deal then time, with the next movement."""
    if len(log.stage_changes):
        entries = stage_entries(log, as_of)
    else:  # stage_entries fails on an empty table (reported upstream); an empty log has no entries
        changes = log.stage_changes
        entries = pd.DataFrame(
            {
                "deal_id": changes["deal_id"],
                "changed_at": changes["changed_at"],
                "stage": changes["stage"],
                "rank": pd.Series(dtype="int64"),
                "prev_stage": pd.Series(dtype="str"),
                "prev_rank": pd.Series(dtype="Int64"),
                "kind": pd.Series(dtype="str"),
                "is_win": pd.Series(dtype=bool),
                "steps": pd.Series(dtype="int64"),
            }
        ).reset_index(drop=True)
    moves = entries[entries["kind"] != "repeat"].reset_index(drop=True)
    deal = moves["deal_id"].to_numpy()
    same_next = np.r_[deal[1:] == deal[:-1], False] if len(deal) else np.zeros(0, bool)
    moves["next_at"] = moves["changed_at"].shift(-1).where(same_next)
    moves["next_stage"] = moves["stage"].shift(-1).where(same_next)
    moves["next_kind"] = moves["kind"].shift(-1).where(same_next)
    moves["is_last"] = ~same_next
    return moves


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier) / DAY


def _stays(log: SalesLog, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per stay in an open stage: from a movement into it to the deal's next movement (or as_of)."""
    moves = _movements(log, as_of)
    stays = moves[moves["stage"].isin(log.model.stages)]
    out = pd.DataFrame(
        {
            "deal_id": stays["deal_id"].to_numpy(),
            "stage": stays["stage"].to_numpy(),
            "entered_at": stays["changed_at"].to_numpy(),
            "left_at": stays["next_at"].to_numpy(),
            "next_stage": stays["next_stage"].to_numpy(),
            "exit_kind": stays["next_kind"].to_numpy(),
        }
    )
    out["entered_at"] = stays["changed_at"].reset_index(drop=True)
    out["left_at"] = stays["next_at"].reset_index(drop=True)
    out["censored"] = out["left_at"].isna()
    out["days"] = _days(out["left_at"].fillna(as_of), out["entered_at"])
    for column in ("deal_id", "stage", "next_stage", "exit_kind"):
        out[column] = out[column].astype("str")
    return out


def kaplan_meier(days, finished) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier survival: the share of stays still going after each distinct duration.

    ``finished`` is False for a censored duration (still going when observed). Returns ``(days, survival)``.

    Examples
    --------
    >>> kaplan_meier([2, 3, 4, 5, 6], [True, False, True, False, True])[1].round(3).tolist()
    [0.8, 0.8, 0.533, 0.533, 0.0]
    """
    days = np.asarray(days, dtype="float64")
    finished = np.asarray(finished, dtype=bool)
    if len(days) == 0:
        return np.zeros(0), np.zeros(0)
    from sksurv.nonparametric import kaplan_meier_estimator

    times, survival = kaplan_meier_estimator(finished, days)
    return np.asarray(times, dtype="float64"), np.asarray(survival, dtype="float64")


def km_median(days, finished) -> float:
    """The first duration at which the Kaplan–Meier survival reaches 0.5 or less; NaN when it never does."""
    times, survival = kaplan_meier(days, finished)
    reached = np.flatnonzero(survival <= 0.5)
    return float(times[reached[0]]) if len(reached) else float("nan")


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
    return [str(p) for p in local], starts, pd.DatetimeIndex(ends)


def sales_velocity(log: SalesLog, by: str | None = "owner", period: str | None = "M", as_of=None) -> pd.DataFrame:
    """Sales velocity per group and period, with its four factors.

    ``velocity = open_deals × win_rate × avg_won_amount / avg_cycle_days`` (an amount per day):

    - ``open_deals``: deals whose latest movement at the period's end (or at ``as_of`` for the current period)
      is into an open stage;
    - ``win_rate``: ``wins / (wins + losses)`` over closing movements (an advance into a won stage, or a
      movement into a lost stage) dated in the period;
    - ``avg_won_amount``: mean ``amount`` of the wins in the period (deals without an amount are left out);
    - ``avg_cycle_days``: mean days from creation (``created_at``, else the first stage entry) to the win, over
      the wins in the period.

    A factor with nothing to average is NaN, never 0, and so is the velocity; ``open_deals`` is a count and is 0
    when nothing is open. ``period=None`` gives one row per group: open deals at ``as_of`` and every close up
    to it. Periods are calendar weeks (Monday to Sunday), months or quarters in the log's time zone, from the
    first event to ``as_of``; every group gets every period.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> v = sales_velocity(sm.read_log("datasets/demo"), by=None, period="Q", as_of="2024-12-31")
    >>> v[["period", "open_deals", "wins", "losses"]].tail(2).to_string(index=False)
    'period  open_deals  wins  losses\\n2024Q3         140    65     246\\n2024Q4         148    90     254'
    """
    by = _check_by(by)
    if period is not None and period not in PERIODS:
        raise UsageError(f"period must be 'W', 'M', 'Q' or None, not {period!r}.")
    as_of, log = _prepare(log, as_of)
    moves = _movements(log, as_of)
    groups = _group_of(log, by)
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
            group_names.append("(unknown deal)")
    code_of = {name: i for i, name in enumerate(group_names)}

    def group_codes(deal_ids: pd.Series) -> np.ndarray:
        if by is None:
            return np.zeros(len(deal_ids), dtype="int64")
        names = deal_ids.map(groups).fillna("(unknown deal)")
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
    created = _lookup(closes["deal_id"], deals["created_at"]).fillna(_lookup(closes["deal_id"], first_entry))
    closes["won_amount"] = np.where(closes["is_win"], _lookup(closes["deal_id"], deals["amount"]), np.nan)
    closes["cycle_days"] = np.where(closes["is_win"], _days(closes["changed_at"], created), np.nan)
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


# ----------------------------------------------------------------------------------------------- time in stage


@dataclass(frozen=True)
class TimeInStage:
    """Stays in open stages, a per-stage summary and Kaplan–Meier curves (see :func:`time_in_stage`)."""

    stays: pd.DataFrame
    summary: pd.DataFrame
    curves: pd.DataFrame
    as_of: pd.Timestamp
    by: str | None = None

    def plot(self, ax=None, group: str | None = None, stages=None):
        """Kaplan–Meier curves, one step line per stage (for one ``group`` when the result is grouped)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        curves = self.curves
        if self.by is not None:
            if group is None:
                raise UsageError(f"This result is grouped by {self.by}; pass group=... (one of its values).")
            curves = curves[curves[self.by] == group]
        for stage in stages or curves["stage"].unique():
            one = curves[curves["stage"] == stage]
            if len(one):
                ax.step(np.r_[0.0, one["days"]], np.r_[1.0, one["survival"]], where="post", label=stage)
        scope = f" ({self.by} {group})" if self.by is not None else ""
        ax.set_title(f"Time in stage{scope}, Kaplan–Meier, as of {self.as_of:%Y-%m-%d}")
        ax.set_xlabel("Days since entering the stage")
        ax.set_ylabel("Share of stays still in the stage")
        ax.set_ylim(0, 1.02)
        ax.legend(title="Stage", fontsize="small")
        return ax


def time_in_stage(log: SalesLog, as_of=None, by: str | None = None) -> TimeInStage:
    """How long deals stay in each open stage.

    A stay runs from a movement into an open stage to the deal's next movement; a stay still going at ``as_of``
    is censored (its ``days`` run to ``as_of``). ``summary`` has, per stage (and group): ``n_stays``,
    ``n_closed``, ``n_censored``, ``median_days_closed`` (finished stays only) and ``km_median_days`` (the
    Kaplan–Meier median, which counts censored stays as at risk until they were last seen; NaN when the curve
    never falls to one half). ``curves`` has ``stage, days, survival`` (and the group).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> t = time_in_stage(sm.read_log("datasets/demo"), as_of="2024-12-31")
    >>> t.summary.set_index("stage").loc["Commit", ["n_stays", "n_censored"]].tolist()
    [307, 18]
    """
    by = _check_by(by)
    as_of, log = _prepare(log, as_of)
    stays = _label(_stays(log, as_of), _group_of(log, by), by)
    keys = [by, "stage"] if by else ["stage"]
    stage_order = {s: i for i, s in enumerate(log.model.stages)}
    rows, curves = [], []
    for key, one in stays.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        label = dict(zip(keys, key, strict=True))
        finished = ~one["censored"].to_numpy()
        days = one["days"].to_numpy()
        times, survival = kaplan_meier(days, finished)
        reached = np.flatnonzero(survival <= 0.5)
        rows.append(
            {
                **label,
                "n_stays": len(one),
                "n_closed": int(finished.sum()),
                "n_censored": int((~finished).sum()),
                "median_days_closed": float(np.median(days[finished])) if finished.any() else np.nan,
                "km_median_days": float(times[reached[0]]) if len(reached) else np.nan,
            }
        )
        curves.append(pd.DataFrame({**label, "days": times, "survival": survival}))
    columns = [*keys, "n_stays", "n_closed", "n_censored", "median_days_closed", "km_median_days"]
    summary = pd.DataFrame(rows, columns=columns)
    curve_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=[*keys, "days", "survival"])
    sort_keys = ([by] if by else []) + ["_order"]
    summary = (
        summary.assign(_order=summary["stage"].map(stage_order))
        .sort_values(sort_keys, kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    curve_frame = (
        curve_frame.assign(_order=curve_frame["stage"].map(stage_order))
        .sort_values([*sort_keys, "days"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    stays = stays.sort_values(["deal_id", "entered_at"], kind="stable").reset_index(drop=True)
    return TimeInStage(stays, summary, curve_frame, as_of, by)


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
    by = _check_by(by)
    commit = log.model.commit_stage
    if commit is None:
        raise UsageError(
            "The stage model has no commit stage, so there is no verbal yes to measure from. Set 'commit_stage' "
            f"in salesmetrics.yaml to one of the open stages ({', '.join(log.model.stages)})."
        )
    as_of, log = _prepare(log, as_of)
    moves = _movements(log, as_of)
    moves["pos"] = np.arange(len(moves))
    into = moves[moves["stage"] == commit]
    first = into.groupby("deal_id", sort=False).agg(
        committed_at=("changed_at", "first"), commit_pos=("pos", "first"), commit_entries=("pos", "size")
    )
    after = _lookup(moves["deal_id"], first["commit_pos"])
    closing = moves[(moves["is_win"] | (moves["kind"] == "loss")) & (moves["pos"] > after)]
    ends = closing.groupby("deal_id", sort=False).agg(closed_at=("changed_at", "first"), won=("is_win", "first"))
    deals = first.join(ends, how="left").reset_index()
    deals["status"] = np.where(deals["won"].isna(), "open", np.where(deals["won"].fillna(False), "won", "lost"))
    deals["status"] = deals["status"].astype("str")
    deals["days"] = _days(deals["closed_at"].fillna(as_of), deals["committed_at"])
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
    as_of, log = _prepare(log, as_of)
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
    by = _check_by(by)
    as_of, log = _prepare(log, as_of)
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
    requests = _label(response_times(log, as_of), _group_of(log, by), by)
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


# ------------------------------------------------------------------------------------------------- the report

FACTORS = (
    ("open_deals", "open deals", 1),
    ("win_rate", "win rate", 1),
    ("avg_won_amount", "average won amount", 1),
    ("avg_cycle_days", "average cycle", -1),
)
PERIOD_NAMES = {"W": "week", "M": "month", "Q": "quarter"}


def _money(value: float, currency: str | None) -> str:
    return f"{currency + ' ' if currency else ''}{value:,.0f}"


def _days_text(value: float) -> str:
    """Days with at most one decimal: ``12.5``, ``10``."""
    return f"{value:,.1f}".removesuffix(".0")


def _factor_text(column: str, value: float, currency: str | None) -> str:
    if column == "open_deals":
        return f"{value:,.0f}"
    if column == "win_rate":
        return f"{value:.0%}"
    if column == "avg_won_amount":
        return _money(value, currency)
    return f"{value:,.0f} days"


@dataclass(frozen=True)
class VelocityReport:
    """Everything the ``velocity`` report shows, computed once (see :func:`velocity_report`).

    ``velocity``: :func:`sales_velocity` per period for the whole scope, with ``full_period`` (False for a
    period ``as_of`` cuts short by more than a day). ``group_velocity``: the same per owner or team over the
    whole history. ``time_in_stage``: :func:`time_in_stage`. ``commit``: :func:`commit_to_signature`, None
    without a commit stage. ``responsiveness``: :func:`responsiveness` per group, ``response_overall`` for
    everyone (both empty without ``direction`` data). ``notes`` say what the log cannot show.
    """

    as_of: pd.Timestamp | None
    period: str
    group_by: str
    response_hours: float
    currency: str | None
    velocity: pd.DataFrame
    group_velocity: pd.DataFrame
    time_in_stage: TimeInStage
    commit: CommitToSignature | None
    responsiveness: pd.DataFrame
    response_overall: pd.DataFrame
    notes: tuple[str, ...]
    coverage: LogCoverage

    @property
    def latest_full(self) -> pd.DataFrame:
        """The last two full periods (fewer when the log is younger), oldest first."""
        return self.velocity[self.velocity["full_period"]].tail(2)

    @property
    def slow_groups(self) -> pd.DataFrame:
        """Groups whose Kaplan–Meier median response time is above ``response_hours`` (or never reached)."""
        r = self.responsiveness
        if r.empty:
            return r
        km = pd.to_numeric(r["km_median_hours"], errors="coerce")
        slow = r.assign(_km=km)[(km.isna() | (km > self.response_hours)).to_numpy()]
        return slow.sort_values(["_km", self.group_by], ascending=[False, True], na_position="first").drop(
            columns="_km"
        )

    # ------------------------------------------------------------------ words

    def _label(self, row) -> str:
        """``2024-02``, ``2024Q1``, or ``the week of 2024-01-01`` for weeks."""
        return f"the week of {row['period_start']:%Y-%m-%d}" if self.period == "W" else str(row["period"])

    def _velocity_sentence(self) -> list[str]:
        rows = self.latest_full
        if rows.empty:
            return ["No full period has passed yet, so velocity per period cannot be compared."]
        r1 = rows.iloc[-1]
        label = self._label(r1)
        cur = self.currency
        if np.isfinite(r1["velocity"]):
            out = [
                f"In {label}, sales velocity was {_money(r1['velocity'], cur)} per day: {r1['open_deals']:,} open "
                f"deals × {r1['win_rate']:.0%} win rate × {_money(r1['avg_won_amount'], cur)} average won amount "
                f"÷ {r1['avg_cycle_days']:,.0f} days average cycle."
            ]
            if len(rows) == 2 and np.isfinite(rows.iloc[0]["velocity"]) and rows.iloc[0]["velocity"] > 0:
                r0 = rows.iloc[0]
                change = r1["velocity"] / r0["velocity"] - 1
                logs = {c: sign * np.log(r1[c] / r0[c]) for c, _, sign in FACTORS if r0[c] > 0 and r1[c] > 0}
                direction = "up" if change >= 0 else "down"
                text = f"That is {direction} {abs(change):.0%} on {self._label(r0)}"
                same_way = {c: v for c, v in logs.items() if (v >= 0) == (change >= 0)}
                if same_way and change != 0:
                    column = max(same_way, key=lambda c: abs(same_way[c]))
                    name = dict((c, n) for c, n, _ in FACTORS)[column]
                    text += (
                        f"; the largest part of the change is the {name} ({_factor_text(column, r0[column], cur)} "
                        f"then, {_factor_text(column, r1[column], cur)} now)"
                    )
                out.append(text + ".")
            out += self._plausibility(r1)
            return out
        closed = r1["wins"] + r1["losses"]
        if closed == 0:
            reason = "no deal was won or lost in it"
        elif r1["wins"] == 0:
            reason = "no deal was won in it"
        elif not np.isfinite(r1["avg_won_amount"]):
            reason = "its won deals have no amount"
        else:
            reason = "the cycle length of its wins is zero or unknown"
        known = [
            f"{name} {_factor_text(c, r1[c], cur)}" for c, name, _ in FACTORS if pd.notna(r1[c]) and np.isfinite(r1[c])
        ]
        return [f"In {label}, sales velocity cannot be computed: {reason}. Its known factors: {', '.join(known)}."]

    def _plausibility(self, row) -> list[str]:
        """Sentences that qualify the latest velocity: a very short cycle, or a win rate on a handful of deals."""
        out = []
        cycles = pd.to_numeric(self.velocity["avg_cycle_days"], errors="coerce")
        if row["avg_cycle_days"] < SHORT_CYCLE_DAYS or row["avg_cycle_days"] < cycles.median() / 4:
            out.append(
                f"Read it with care: an average cycle of {row['avg_cycle_days']:,.0f} days (the median period's is "
                f"{cycles.median():,.0f}) makes velocity, an amount per day, jump."
            )
        closed = int(row["wins"] + row["losses"])
        if closed < MIN_DENOMINATOR:
            out.append(f"Its win rate rests on {plural(closed, 'closed deal')}, too few to compare.")
        elif not row["losses"] and not self.velocity["losses"].sum():
            out.append("No loss is recorded at all: the win rate of 100% means lost deals are not in the data.")
        return out

    def _stage_sentence(self) -> list[str]:
        s = self.time_in_stage.summary
        if s.empty:
            return []
        km = s["km_median_days"].fillna(np.inf)
        row = s.loc[km.idxmax()]
        if np.isfinite(row["km_median_days"]):
            text = (
                f"Deals stay longest in {row['stage']}: half of its {row['n_stays']:,} stays last "
                f"{_days_text(row['km_median_days'])} days or more (Kaplan–Meier, "
                + (
                    f"counting the {row['n_censored']:,} stays still running)"
                    if row["n_censored"]
                    else "no stay still running)"
                )
            )
        else:
            text = (
                f"In {row['stage']}, {row['n_censored']:,} of {row['n_stays']:,} stays are still running and the "
                "Kaplan–Meier curve never falls to one half, so half of the stays last longer than any yet seen"
            )
        if pd.notna(row["median_days_closed"]):
            text += f"; finished stays alone give a median of {_days_text(row['median_days_closed'])} days"
        return [text + "."]

    def _commit_sentence(self) -> list[str]:
        if self.commit is None:
            return []
        c = self.commit.summary.iloc[0] if len(self.commit.summary) else None
        stage = self.commit.commit_stage
        if c is None or not c["n_committed"]:
            return [f"No deal has reached {stage} yet, so commit to signature cannot be measured."]
        c = {k: (int(v) if k.startswith("n_") else v) for k, v in c.items()}
        text = f"{c['n_won']:,} of {c['n_committed']:,} deals that reached {stage} were signed"
        if c["n_won"]:
            text += (
                f", half of them within {_days_text(c['median_days_to_win'])} days of their first commit "
                f"(three quarters within {_days_text(c['p75_days_to_win'])})"
            )
        text += f"; of the others, {c['n_lost']:,} lost and {c['n_open']:,} still open"
        if c["n_open"]:
            text += f" (a median of {_days_text(c['median_days_open'])} days since the commit)"
        return [text + "."]

    def _no_request(self) -> str:
        """Why the responsiveness table is empty when the log has directions."""
        return NO_INBOUND if NO_INBOUND in self.notes else "No buyer request was logged before the as-of date."

    def _response_sentence(self) -> list[str]:
        o = self.response_overall
        if o.empty or not o["n_requests"].sum():
            return []
        row = o.iloc[0]
        km = pd.to_numeric(row["km_median_hours"], errors="coerce")
        wait = (
            f"a median of {km:.1f} hours" if pd.notna(km) else "longer than half of the requests have been answered in"
        )
        text = (
            f"Buyers waited {wait} for the seller's answer ({int(row['n_unanswered']):,} of "
            f"{int(row['n_requests']):,} requests unanswered at the as-of date)"
        )
        slow = self.slow_groups
        g = self.group_by
        if len(slow):
            names = ", ".join(
                f"{r[g]} ({r['km_median_hours']:.0f} h)"
                if pd.notna(r["km_median_hours"])
                else f"{r[g]} (over half unanswered)"
                for _, r in slow.head(3).iterrows()
            )
            text += (
                f"; {len(slow)} of {len(self.responsiveness)} {g}s take longer than {self.response_hours:g} hours: "
                f"{names}{' and more' if len(slow) > 3 else ''}"
            )
        else:
            text += f"; every {g} answers within {self.response_hours:g} hours (median)"
        return [text + "."]

    def narrative(self) -> str:
        """A few plain sentences computed from the numbers; what cannot be shown is said, not hidden."""
        if self.as_of is None:
            return " ".join(self.notes)
        lines = []
        if self.coverage.has("stage_changes"):
            lines += self._velocity_sentence() + self._stage_sentence() + self._commit_sentence()
        lines += self._response_sentence()
        return " ".join([*lines, *self.notes])

    def table(self, name: str, n: int = 24):
        """A table of the report for a notebook: ``velocity`` (last ``n`` periods), ``time_in_stage``,
        ``commit``, ``responsiveness`` or ``groups``, or a :class:`~salesmetrics.log.coverage.Note` saying why it
        is empty."""
        g = self.group_by
        no_stages = " ".join(self.coverage.missing("dates", "stage_changes"))
        velocity_columns = ["open_deals", "wins", "losses", "win_rate", "avg_won_amount", "avg_cycle_days", "velocity"]
        if self.responsiveness.empty:
            response = self.responsiveness
        else:
            km = pd.to_numeric(self.responsiveness["km_median_hours"], errors="coerce")
            response = self.responsiveness.assign(_km=km.fillna(np.inf))
            response = response.sort_values(["_km", g], ascending=[False, True]).drop(columns="_km")
        tables = {
            "velocity": (
                self.velocity[["period", *velocity_columns, "full_period"]].tail(n),
                no_stages or "No period to show.",
            ),
            "time_in_stage": (self.time_in_stage.summary, no_stages or "No deal entered an open stage."),
            "commit": (
                self.commit.summary if self.commit is not None else self.velocity.iloc[0:0],
                " ".join(self.coverage.missing("dates", "commit_stage")) or "No deal reached the commit stage.",
            ),
            "responsiveness": (
                first(response, n),
                " ".join(self.coverage.missing("dates", "direction")) or self._no_request(),
            ),
            "groups": (
                first(self.group_velocity.sort_values("velocity", ascending=False, na_position="last"), n),
                no_stages or "No deals.",
            ),
        }
        if name not in tables:
            raise UsageError(f"No table {name!r}; tables: {', '.join(tables)}.")
        frame, message = tables[name]
        if name == "commit" and len(frame) and not frame["n_committed"].sum():
            frame = frame.iloc[0:0]
        return table_or_note(frame.reset_index(drop=True), message)

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(self.narrative())}</p>" + self.velocity.tail(6).to_html(
            index=False, float_format=lambda v: f"{v:,.2f}"
        )

    # ------------------------------------------------------------------ figures

    def plot_factors(self, fig=None):
        """Velocity and its four factors per period, one panel each (a panel that cannot be drawn says why)."""
        import matplotlib.pyplot as plt

        title = f"Sales velocity and its four factors per {PERIOD_NAMES[self.period]}"
        if self.as_of is None or not self.coverage.has("stage_changes"):
            return note_axes(None, title, " ".join(self.coverage.missing("dates", "stage_changes"))).figure
        v = self.velocity
        unit = self.currency or "amount"
        panels = [
            ("velocity", "velocity", f"{unit} per day"),
            ("open_deals", "open deals at the period end", "deals (count)"),
            ("win_rate", "win rate of the deals closed in the period", "won / closed (%)"),
            ("avg_won_amount", "average won amount", unit),
            ("avg_cycle_days", "average cycle of the deals won in the period", "days"),
        ]
        fig = fig or plt.figure(figsize=(9, 11))
        axes = fig.subplots(len(panels), 1, sharex=True)
        x = np.arange(len(v))
        for ax, (column, name, ylabel) in zip(axes, panels, strict=True):
            values = v[column].astype("float64") * (100 if column == "win_rate" else 1)
            if not np.isfinite(values).any():
                if column in ("velocity", "avg_won_amount") and not self.coverage.has("amounts"):
                    why = " ".join(self.coverage.missing("amounts"))
                else:
                    why = f"No period has a value for the {name}."
                note_axes(ax, name.capitalize(), why)
                continue
            ax.plot(x, values, marker="o", color="tab:blue" if column != "velocity" else "tab:purple")
            partial = ~v["full_period"].to_numpy()
            if partial.any():
                ax.plot(x[partial], values[partial], "o", mfc="white", color="gray", label="period cut short by as_of")
                ax.legend(loc="upper left", fontsize="x-small")
            ax.set_title(name.capitalize(), fontsize="medium")
            ax.set_ylabel(ylabel)
        axes[-1].set_xticks(x, v["period"], rotation=45, ha="right")
        axes[-1].set_xlabel(PERIOD_NAMES[self.period])
        for ax in axes:
            if ax.axison:
                ax.tick_params(axis="x", labelbottom=ax is axes[-1])
        fig.suptitle(f"{title}\nvelocity = open deals × win rate × average won amount ÷ average cycle")
        fig.tight_layout()
        return fig

    def plot_time_in_stage(self, ax=None):
        """Kaplan–Meier curves of time in each open stage (stays still running are censored, not dropped)."""

        title = "Time in stage (Kaplan–Meier)"
        if self.as_of is None or self.time_in_stage.curves.empty:
            why = " ".join(self.coverage.missing("dates", "stage_changes")) or "No deal entered an open stage."
            return note_axes(ax, title, why)
        return self.time_in_stage.plot(ax=ax)

    def plot_commit(self, ax=None, max_days: float | None = None):
        """Days from the first commit entry to the win (won deals), beside days since commit of open ones."""
        import matplotlib.pyplot as plt

        title = "Commit to signature"
        if self.as_of is None or self.commit is None:
            return note_axes(ax, title, " ".join(self.coverage.missing("dates", "commit_stage")))
        deals = self.commit.deals
        won = deals.loc[deals["status"] == "won", "days"]
        still = deals.loc[deals["status"] == "open", "days"]
        if won.empty and still.empty:
            return note_axes(ax, title, f"No deal that reached {self.commit.commit_stage} has been won or is open.")
        ax = ax or plt.subplots(figsize=(8, 4))[1]
        top = max_days or float(np.nanmax(np.r_[won.to_numpy(), still.to_numpy()]))
        bins = np.linspace(0, max(top, 1), 31)
        if len(won):
            ax.hist(won.clip(upper=top), bins=bins, color="tab:green", alpha=0.8, label=f"won ({len(won):,})")
            ax.axvline(
                won.median(), color="black", linestyle="--", linewidth=1, label=f"median {won.median():.0f} days"
            )
        if len(still):
            ax.hist(
                still.clip(upper=top),
                bins=bins,
                histtype="step",
                color="tab:orange",
                linewidth=2,
                label=f"still open: days so far ({len(still):,})",
            )
        ax.set(
            title=f"{title}: days from the first {self.commit.commit_stage} entry to the win",
            xlabel="days since the first commit entry",
            ylabel="deals (count)",
        )
        ax.legend(loc="upper right", fontsize="small")
        return ax

    def plot_responsiveness(self, ax=None, top: int = 25):
        """Median hours to answer a buyer per owner or team: answered requests, and Kaplan–Meier with the open ones."""
        import matplotlib.pyplot as plt

        title = f"Responsiveness by {self.group_by}"
        r = self.responsiveness
        if self.as_of is None or r.empty:
            why = " ".join(self.coverage.missing("dates", "direction")) or self._no_request()
            return note_axes(ax, title, why)
        km = pd.to_numeric(r["km_median_hours"], errors="coerce")
        r = r.assign(_km=km.fillna(np.inf)).sort_values(["_km", self.group_by], ascending=[True, False]).tail(top)
        ax = ax or plt.subplots(figsize=(8, max(2.5, 0.3 * len(r) + 1)))[1]
        names = r[self.group_by].astype(str)
        ax.barh(
            names,
            pd.to_numeric(r["median_hours"], errors="coerce"),
            color="tab:blue",
            alpha=0.7,
            label="median of answered requests",
        )
        ax.plot(
            pd.to_numeric(r["km_median_hours"], errors="coerce"),
            names,
            "D",
            color="black",
            label="Kaplan–Meier median (unanswered counted)",
        )
        ax.axvline(self.response_hours, color="tab:red", linestyle="--", label=f"{self.response_hours:g} hours")
        ax.set(
            title=f"{title}: hours from a buyer's message to the seller's answer",
            xlabel="hours (median)",
            ylabel=self.group_by,
        )
        ax.legend(loc="lower right", fontsize="x-small")
        ax.figure.tight_layout()
        return ax


def _full_periods(v: pd.DataFrame, period: str, as_of: pd.Timestamp) -> np.ndarray:
    """True for each period whose calendar end is at most a day after ``as_of`` (not cut short)."""
    if not len(v):
        return np.zeros(0, bool)
    tz = as_of.tz
    freq = {"W": "W-SUN", "M": "M", "Q": "Q"}[period]
    ends = [
        (pd.Period(s.tz_localize(None), freq=freq) + 1).start_time.tz_localize(
            tz, ambiguous="NaT", nonexistent="shift_forward"
        )
        for s in v["period_start"]
    ]
    return np.array([e is not pd.NaT and e <= as_of + DAY for e in ends], dtype=bool)


def velocity_report(
    log: SalesLog,
    as_of=None,
    *,
    owner: str | None = None,
    team: str | None = None,
    period: str = "M",
    group_by: str = "owner",
    response_hours: float = 24,
) -> VelocityReport:
    """Everything the velocity report shows: velocity and its factors per period, time in stage, commit to
    signature and responsiveness.

    ``owner``/``team`` restrict the log (:func:`salesmetrics.reports.health.filter_log`); ``group_by`` is how
    responsiveness and whole-history velocity are compared; ``period`` (W, M, Q) buckets velocity;
    ``response_hours`` is the answer time above which a group counts as slow (on the Kaplan–Meier median,
    so unanswered requests count). The narrative compares the last two *full* periods: a period ``as_of``
    cuts short by more than a day is drawn but not compared (``docs/decisions/0024-velocity-report.md``).
    A log without amounts, activities, directions, a commit stage or any date still gives a report; the
    parts it cannot fill are empty or None and ``notes`` say why.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> r = velocity_report(sm.read_log("datasets/demo"), as_of="2025-06-30", period="Q")
    >>> r.latest_full["period"].tolist()
    ['2025Q1', '2025Q2']
    """
    from salesmetrics.reports.health import filter_log

    if period not in PERIODS:
        raise UsageError(f"period must be 'W', 'M' or 'Q', not {period!r}.")
    if group_by not in GROUPS:
        raise UsageError(f"group_by must be 'owner' or 'team', not {group_by!r}.")
    if not response_hours > 0:
        raise UsageError(f"response_hours must be above 0 (e.g. 24), not {response_hours!r}.")
    log = filter_log(log, owner=owner, team=team)
    cover = log_coverage(log)
    notes = cover.missing("dates", "stage_changes", "amounts", "commit_stage", "direction")
    if cover.partial_note:
        notes.append(cover.partial_note)
    if as_of is None and not cover.dated:
        stamp, cut_at = None, pd.Timestamp(0, tz=log.model.timezone)  # nothing is dated: empty tables
    else:
        stamp = cut_at = resolve_as_of(log, as_of)
    cut = truncate(log, cut_at)
    velocity = sales_velocity(cut, by=None, period=period, as_of=cut_at)
    velocity["full_period"] = _full_periods(velocity, period, cut_at) if stamp is not None else False
    group_velocity = sales_velocity(cut, by=group_by, period=None, as_of=cut_at).drop(
        columns=["period", "period_start", "period_end"]
    )
    stages = time_in_stage(cut, as_of=cut_at)
    commit = commit_to_signature(cut, as_of=cut_at) if cut.model.commit_stage else None
    inbound = cover.has("direction") and bool((log.activities["direction"] == "inbound").any())
    if cover.has("direction") and not inbound:
        notes.append(NO_INBOUND)
    if inbound:
        with warnings.catch_warnings():  # no request before as_of yet: the table's own note says so
            warnings.simplefilter("ignore", DataNote)
            by_group = responsiveness(cut, as_of=cut_at, by=group_by)
            overall = responsiveness(cut, as_of=cut_at, by=None)
    else:
        columns = [group_by, "n_requests", "n_answered", "n_unanswered", "median_hours", "km_median_hours", "p90_hours"]
        by_group = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        overall = by_group.drop(columns=group_by)
    return VelocityReport(
        as_of=stamp,
        period=period,
        group_by=group_by,
        response_hours=float(response_hours),
        currency=log.model.currency,
        velocity=velocity,
        group_velocity=group_velocity,
        time_in_stage=stages,
        commit=commit,
        responsiveness=by_group,
        response_overall=overall,
        notes=tuple(notes),
        coverage=cover,
    )


__all__ = [
    "CommitToSignature",
    "TimeInStage",
    "VelocityReport",
    "commit_to_signature",
    "kaplan_meier",
    "km_median",
    "response_times",
    "responsiveness",
    "sales_velocity",
    "time_in_stage",
    "velocity_report",
]
