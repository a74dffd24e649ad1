"""Survival views of a pipeline: how long deals take to close, how they close, and what speeds up movement.

- :func:`time_to_close`: time from a deal's creation to its first close, with two competing outcomes (won,
  lost) and open deals censored at ``as_of``. Kaplan–Meier curves of "still open" and Aalen–Johansen
  cumulative incidence of won and of lost, per stage (or owner, team), conditional on the deal having reached
  an age of ``min_age_days`` while open.
- :func:`next_movement_cox`: a Cox proportional-hazards model of the time from a snapshot to the deal's next
  movement, fitted on snapshot features (:mod:`salesmetrics.features.build`), with its concordance index on a
  time-ordered holdout.

Estimators come from scikit-survival (``kaplan_meier_estimator``, ``cumulative_incidence_competing_risks``,
``CoxPHSurvivalAnalysis``); the concordance index is :func:`concordance`, scikit-survival's
``concordance_index_censored`` computed in O(n log n). Choices: ``docs/decisions/0020-evaluation-split.md``
and ``docs/models.md``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.features.build import snapshots
from salesmetrics.features.registry import DEFAULT_FEATURES, FEATURES
from salesmetrics.log.prepare import cut_at
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.stays import DAY, group_of, stage_movements
from salesmetrics.models.splits import time_split

WON, LOST, OPEN = "won", "lost", "open"
EVENT_CODES = {OPEN: 0, WON: 1, LOST: 2}
GROUPINGS = ("stage", "owner", "team")
DEFAULT_HORIZONS = (30, 90, 180)


# ------------------------------------------------------------------------------------------- estimators


def km_and_incidence(days, status) -> pd.DataFrame:
    """Kaplan–Meier "still open" and Aalen–Johansen cumulative incidence of won and lost at each distinct time.

    ``days`` are times to the first close (or to the last look for an open deal); ``status`` is ``"won"``,
    ``"lost"`` or ``"open"`` (censored). Returns ``days, at_risk, won, lost, censored, still_open, cif_won,
    cif_lost``; ``still_open + cif_won + cif_lost == 1`` at every time.

    Examples
    --------
    >>> c = km_and_incidence([1, 2, 3, 4, 5, 6], ["won", "lost", "open", "won", "lost", "won"])
    >>> c[["days", "still_open", "cif_won", "cif_lost"]].round(3).values.tolist()[3]
    [4.0, 0.444, 0.389, 0.167]
    """
    from sksurv.nonparametric import cumulative_incidence_competing_risks, kaplan_meier_estimator

    days = np.asarray(days, dtype="float64")
    status = np.asarray(status, dtype=object)
    unknown = sorted(set(status.tolist()) - set(EVENT_CODES))
    if unknown:
        raise UsageError(f"status must be 'won', 'lost' or 'open', not {unknown[:3]}.")
    if len(days) != len(status):
        raise UsageError(f"days and status must have the same length ({len(days)} and {len(status)}).")
    columns = ["days", "at_risk", "won", "lost", "censored", "still_open", "cif_won", "cif_lost"]
    if len(days) == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    if np.isnan(days).any() or (days < 0).any():
        raise UsageError("days must be 0 or more and not missing.")
    event = np.array([EVENT_CODES[s] for s in status], dtype="int64")
    times, still_open = kaplan_meier_estimator(event > 0, days)
    present = set(event[event > 0].tolist())
    if present == {1, 2}:
        cif_times, cif = cumulative_incidence_competing_risks(event, days)
        assert np.array_equal(cif_times, times)
        cif_won, cif_lost = cif[1], cif[2]
    else:
        # with one kind of close only, its incidence is 1 - KM (scikit-survival needs every risk present)
        closed = 1.0 - still_open
        cif_won = closed if present == {1} else np.zeros_like(closed)
        cif_lost = closed if present == {2} else np.zeros_like(closed)
    order = np.searchsorted(times, days)
    counts = {name: np.bincount(order[event == code], minlength=len(times)) for name, code in EVENT_CODES.items()}
    leaving = np.bincount(order, minlength=len(times))
    at_risk = len(days) - np.r_[0, np.cumsum(leaving)[:-1]]
    return pd.DataFrame(
        {
            "days": times,
            "at_risk": at_risk.astype("int64"),
            "won": counts[WON].astype("int64"),
            "lost": counts[LOST].astype("int64"),
            "censored": counts[OPEN].astype("int64"),
            "still_open": still_open,
            "cif_won": cif_won,
            "cif_lost": cif_lost,
        }
    )


def _step_at(times: np.ndarray, values: np.ndarray, at: float, before: float) -> float:
    """A right-continuous step function's value at ``at`` (``before`` when ``at`` precedes every time)."""
    i = np.searchsorted(times, at, side="right") - 1
    return float(values[i]) if i >= 0 else before


# ---------------------------------------------------------------------------------------------- time to close


@dataclass(frozen=True)
class TimeToClose:
    """Time from creation to close with competing outcomes (see :func:`time_to_close`).

    Attributes
    ----------
    deals : DataFrame
        One row per deal in the analysis: ``deal_id, group, created_at, closed_at, status, days``.
    curves : DataFrame
        Per group and distinct age: ``days`` (deal age), ``at_risk``, counts, ``still_open`` (Kaplan–Meier),
        ``cif_won`` and ``cif_lost`` (Aalen–Johansen), all conditional on reaching ``min_age_days`` open.
    summary : DataFrame
        Per group: ``n_deals, n_won, n_lost, n_open, km_median_days`` (age when half have closed), and for
        each horizon ``h``: ``won_within_{h}d`` and ``lost_within_{h}d`` (probability of closing that way
        within ``h`` days after ``min_age_days``).
    """

    deals: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    as_of: pd.Timestamp
    by: str | None
    min_age_days: float
    horizons: tuple[int, ...] = DEFAULT_HORIZONS
    excluded: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:
        scope = f"by {self.by}" if self.by else "all deals"
        left = ", ".join(f"{v:,} {k}" for k, v in self.excluded.items() if v)
        head = (
            f"<p><b>Time to close</b> ({scope}) as of {html.escape(str(self.as_of))}, deals still open at age "
            f"{self.min_age_days:g} days: {len(self.deals):,} deals"
            + (f"; left out: {html.escape(left)}" if left else "")
            + ". Open deals are censored at as_of; won and lost compete.</p>"
        )
        return head + self.summary.to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def plot(self, axes=None, groups=None):
        """Two panels: Kaplan–Meier share still open, and cumulative incidence of won (solid) and lost (dashed)."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharex=True)
        ax_open, ax_cif = axes
        names = list(groups) if groups is not None else self.summary["group"].tolist()
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        start = float(self.min_age_days)
        for i, name in enumerate(names):
            one = self.curves[self.curves["group"] == name]
            if not len(one):
                continue
            color = colors[i % len(colors)]
            x = np.r_[start, one["days"].to_numpy()]
            ax_open.step(x, np.r_[1.0, one["still_open"]], where="post", color=color, label=str(name))
            ax_cif.step(x, np.r_[0.0, one["cif_won"]], where="post", color=color, label=f"{name} won")
            ax_cif.step(x, np.r_[0.0, one["cif_lost"]], where="post", color=color, linestyle="--")
        age = f", open at {start:g}+ days" if start else ""
        ax_open.set_title(f"Deals still open (Kaplan–Meier){age}")
        ax_open.set_ylabel("Share still open")
        ax_cif.set_title("Cumulative incidence: won (solid), lost (dashed)")
        ax_cif.set_ylabel("Probability of closing this way by that age")
        for ax in axes:
            ax.set_xlabel("Deal age (days since creation)")
            ax.set_ylim(0, 1.02)
        ax_open.legend(title=self.by or "", fontsize="small")
        return axes


def _check_horizons(horizons) -> tuple[int, ...]:
    try:
        values = tuple(int(h) for h in horizons)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"horizons must be whole numbers of days, e.g. (30, 90), not {horizons!r}.") from exc
    if any(h <= 0 for h in values):
        raise UsageError(f"horizons must be positive numbers of days, not {horizons!r}.")
    return values


def deal_lifetimes(log: SalesLog, as_of=None, min_age_days: float = 0) -> pd.DataFrame:
    """Per deal with stage history: its start, first close (won or lost) by ``as_of``, and stage at an age.

    ``created_at`` is the deal's creation (its first stage entry when missing); ``closed_at`` is its first
    movement into a won or lost stage by ``as_of`` (a deal reopened later still counts its first close);
    ``status`` is ``won``, ``lost`` or ``open``; ``days`` is the age at the close, or at ``as_of`` when open
    (censored). ``stage_at_age`` is the open stage it was in at ``min_age_days`` (the last movement into an
    open stage at or before that age; the stage it was added in when none). Deals without stage entries
    are left out.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> d = deal_lifetimes(sm.read_log("datasets/demo"), as_of="2024-12-31")
    >>> d["status"].value_counts().to_dict()
    {'lost': 952, 'won': 256, 'open': 148}
    """
    as_of, log = cut_at(log, as_of)
    moves = stage_movements(log, as_of)
    if min_age_days < 0:
        raise UsageError(f"min_age_days must be 0 or more, not {min_age_days!r}.")
    columns = ["deal_id", "created_at", "closed_at", "status", "days", "stage_at_age"]
    if not len(moves):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    first = moves.groupby("deal_id", sort=False).agg(first_at=("changed_at", "first"), first_stage=("stage", "first"))
    created = log.deals.set_index("deal_id")["created_at"].reindex(first.index)
    start = created.fillna(first["first_at"])
    start = start.where(start <= first["first_at"], first["first_at"])  # a stage entered before creation
    closing = moves[moves["is_win"] | (moves["kind"] == "loss")]
    close = closing.groupby("deal_id", sort=False).agg(closed_at=("changed_at", "first"), won=("is_win", "first"))
    out = pd.DataFrame({"deal_id": first.index.astype("str"), "created_at": start.to_numpy()})
    out["created_at"] = pd.Series(start.array, index=out.index)
    out["closed_at"] = pd.Series(close["closed_at"].reindex(first.index).array, index=out.index)
    won = close["won"].reindex(first.index).to_numpy()
    closed = out["closed_at"].notna().to_numpy()
    out["status"] = pd.Series(
        np.where(~closed, OPEN, np.where(won.astype("bool") & closed, WON, LOST)), dtype="str", index=out.index
    )
    out["days"] = ((out["closed_at"].fillna(as_of) - out["created_at"]) / DAY).clip(lower=0.0)

    # stage at age min_age_days: the last movement into an open stage at or before created + age
    opens = moves[moves["stage"].isin(log.model.stages)]
    at = out.set_index("deal_id")["created_at"] + pd.Timedelta(days=float(min_age_days))
    limit = pd.Series(at.reindex(opens["deal_id"]).array, index=opens.index)
    reached = opens[(opens["changed_at"] <= limit).to_numpy()]
    stage = reached.groupby("deal_id", sort=False)["stage"].last()
    fallback = first["first_stage"]
    out["stage_at_age"] = out["deal_id"].map(stage).fillna(out["deal_id"].map(fallback)).astype("str")
    return out[columns].sort_values("deal_id", kind="stable").reset_index(drop=True)


def time_to_close(
    log: SalesLog,
    as_of=None,
    by: str | None = "stage",
    min_age_days: float = 0,
    horizons=DEFAULT_HORIZONS,
) -> TimeToClose:
    """Time from creation to the first close, won and lost competing, open deals censored at ``as_of``.

    Only deals still open at an age of ``min_age_days`` enter (a deal whose close, or whose age at
    ``as_of``, is below it is left out), so every curve is conditional on that age: "of deals still open
    after 60 days, how many are ever won, and when?". ``by="stage"`` groups deals by the open stage they were
    in at that age (pipeline order); ``"owner"`` and ``"team"`` by the deal's owner or team; ``None`` pools
    them. Within a group, ``still_open`` is the Kaplan–Meier estimate (any close is the event) and ``cif_won``
    and ``cif_lost`` the Aalen–Johansen cumulative incidences, which add up to ``1 - still_open``; a naive
    ``1 - KM`` per outcome would overstate both, since a lost deal can never be won.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> t = time_to_close(sm.read_log("datasets/demo"), as_of="2024-12-31", min_age_days=30)
    >>> t.summary[["group", "n_deals", "n_won", "n_lost", "n_open"]].head(2).values.tolist()
    [['Lead', 66, 13, 37, 16], ['Qualified', 133, 53, 46, 34]]
    """
    if by is not None and by not in GROUPINGS:
        raise UsageError(f"by must be 'stage', 'owner', 'team' or None, not {by!r}.")
    if not np.isfinite(min_age_days) or min_age_days < 0:
        raise UsageError(f"min_age_days must be a number of days, 0 or more, not {min_age_days!r}.")
    horizons = _check_horizons(horizons)
    as_of, log = cut_at(log, as_of)
    deals = deal_lifetimes(log, as_of, min_age_days)
    n_all = len(log.deals)
    young = deals["days"] < min_age_days
    excluded = {
        "without stage history": n_all - len(deals),
        f"closed before {min_age_days:g} days": int((young & (deals["status"] != OPEN)).sum()),
        f"open but younger than {min_age_days:g} days": int((young & (deals["status"] == OPEN)).sum()),
    }
    deals = deals[~young].reset_index(drop=True)
    if by == "stage":
        deals["group"] = deals["stage_at_age"]
        order = [s for s in log.model.stages if (deals["group"] == s).any()]
    elif by is None:
        deals["group"] = "all"
        order = ["all"] if len(deals) else []
    else:
        deals["group"] = deals["deal_id"].map(group_of(log, by)).fillna("(unknown deal)").astype("str")
        order = sorted(deals["group"].unique().tolist())
    deals = deals[["deal_id", "group", "created_at", "closed_at", "status", "days"]]

    rows, curves = [], []
    for name in order:
        one = deals[deals["group"] == name]
        curve = km_and_incidence(one["days"], one["status"])
        times = curve["days"].to_numpy()
        still = curve["still_open"].to_numpy()
        reached = np.flatnonzero(still <= 0.5)
        row = {
            "group": name,
            "n_deals": len(one),
            "n_won": int((one["status"] == WON).sum()),
            "n_lost": int((one["status"] == LOST).sum()),
            "n_open": int((one["status"] == OPEN).sum()),
            "km_median_days": float(times[reached[0]]) if len(reached) else np.nan,
        }
        last_seen = float(one["days"].max())
        for h in horizons:
            at = float(min_age_days) + h
            known = at <= last_seen  # beyond the longest follow-up the curve says nothing
            row[f"won_within_{h}d"] = _step_at(times, curve["cif_won"].to_numpy(), at, 0.0) if known else np.nan
            row[f"lost_within_{h}d"] = _step_at(times, curve["cif_lost"].to_numpy(), at, 0.0) if known else np.nan
        rows.append(row)
        curves.append(curve.assign(group=name))
    summary_columns = ["group", "n_deals", "n_won", "n_lost", "n_open", "km_median_days"]
    summary_columns += [f"{k}_within_{h}d" for h in horizons for k in (WON, LOST)]
    summary = pd.DataFrame(rows, columns=summary_columns)
    curve_columns = ["group", "days", "at_risk", "won", "lost", "censored", "still_open", "cif_won", "cif_lost"]
    curve_frame = pd.concat(curves, ignore_index=True)[curve_columns] if curves else pd.DataFrame(columns=curve_columns)
    return TimeToClose(deals, curve_frame, summary, as_of, by, float(min_age_days), horizons, excluded)


# ---------------------------------------------------------------------------------------- next movement (Cox)


@dataclass(frozen=True)
class NextMovementCox:
    """A Cox model of the time from a snapshot to the deal's next movement (see :func:`next_movement_cox`).

    ``coefficients`` has per feature: ``coef`` (log hazard ratio per standard deviation of the feature in the
    training rows) and ``hazard_ratio``; above 1 means the next movement comes sooner. ``concordance`` is
    Harrell's C on the test rows (0.5 is chance, 1 a perfect ordering of who moves first);
    ``concordance_train`` is the same on the training rows.
    """

    model: object
    features: tuple[str, ...]
    coefficients: pd.DataFrame
    concordance: float
    concordance_train: float
    n_train: int
    n_test: int
    events_train: int
    events_test: int
    cutoff: pd.Timestamp | None
    gap_days: float

    def _repr_html_(self) -> str:
        split = (
            f"trained on snapshots before {self.cutoff:%Y-%m-%d} (times censored there), tested on snapshots "
            f"from {self.gap_days:g} days later"
            if self.cutoff is not None
            else "fitted and scored on the same snapshots (no holdout)"
        )
        head = (
            f"<p><b>Time to next movement</b>, Cox proportional hazards: concordance {self.concordance:.3f} "
            f"on {self.n_test:,} test snapshots ({self.events_test:,} movements seen), "
            f"{self.concordance_train:.3f} on {self.n_train:,} training snapshots; {html.escape(split)}.</p>"
        )
        return head + self.coefficients.to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def plot(self, ax=None):
        """Hazard ratio per standard deviation of each feature (log scale), with 1 (no effect) marked."""
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

        coef = self.coefficients.sort_values("coef")
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.35 * len(coef) + 1.5))
        colors = np.where(coef["coef"] > 0, "tab:green", "tab:red")
        ax.barh(coef["feature"], coef["hazard_ratio"] - 1.0, left=1.0, color=colors)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        low, high = float(coef["hazard_ratio"].min()), float(coef["hazard_ratio"].max())
        ticks = [t for t in (0.25, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0) if low / 1.3 <= t <= high * 1.3]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("Hazard ratio of the next movement per SD of the feature (log scale; >1 moves sooner)")
        ax.set_title(f"Time to next movement, Cox model (test concordance {self.concordance:.3f})")
        return ax


def _snapshot_features(frame: pd.DataFrame, features) -> list[str]:
    if features is None:  # the features the estimators learn from by default (opt-in ones left out: 0064)
        features = [f for f in frame.attrs.get("features") or FEATURES if f in DEFAULT_FEATURES]
    features = [f for f in features if f in frame.columns and pd.api.types.is_numeric_dtype(frame[f])]
    if not features:
        raise UsageError("None of the features is a numeric column of the snapshots; pass features=[...].")
    return features


def concordance(event, time, estimate, tied_tol: float = 1e-8) -> float:
    """Harrell's concordance index of right-censored times, in O(n log n).

    The same number as ``sksurv.metrics.concordance_index_censored(event, time, estimate)[0]``: over the
    comparable pairs (a row with an event, and a row whose time is later, or equal and censored), the share
    where the event row has the higher risk ``estimate``, risks within ``tied_tol`` counting half. scikit-survival
    compares each event with every later row (a Python loop over events, quadratic: 40,000 rows take seconds,
    400,000 minutes); here each row's count comes from a merge-sort tree over the risks, so a million rows
    take about a second. NaN when no pair is comparable.

    Examples
    --------
    Times 1, 2, 3 (all events) and risks 3, 1, 2: of the pairs (1, 2), (1, 3) and (2, 3), two are ordered right.

    >>> round(concordance([True, True, True], [1.0, 2.0, 3.0], [3.0, 1.0, 2.0]), 4)
    0.6667
    """
    event = np.asarray(event, dtype=bool)
    time = np.asarray(time, dtype="float64")
    estimate = np.asarray(estimate, dtype="float64")
    n = len(time)
    if not (len(event) == n == len(estimate)):
        raise UsageError(f"event, time and estimate must have the same length ({len(event)}, {n}, {len(estimate)}).")
    if n == 0 or not event.any():
        return float("nan")
    # insertion order: latest time first; at equal times the censored rows before the events, since an event is
    # comparable with a censored row at its time but not with another event at it
    order = np.lexsort((event, -time))
    t_o, e_o = time[order], event[order]
    # each event row is compared with the rows inserted before the first event at its time
    later = np.searchsorted(-t_o, -t_o, side="left")  # rows with a later time
    censored_same = np.searchsorted(-t_o, -t_o, side="right") - later - _events_at_time(t_o, e_o)
    cut = (later + censored_same)[e_o]
    # risks as ranks: r_j < lo_i  <=>  est_j < est_i - tol (concordant); r_j < hi_i  <=>  est_j <= est_i + tol
    sorted_est = np.sort(estimate)
    rank = np.searchsorted(sorted_est, estimate[order], side="left")
    est_events = estimate[order][e_o]
    lo = np.searchsorted(sorted_est, est_events - tied_tol, side="left")
    hi = np.searchsorted(sorted_est, est_events + tied_tol, side="right")
    below_lo = _prefix_rank_counts(rank, cut, lo)
    below_hi = _prefix_rank_counts(rank, cut, hi)
    pairs = cut.sum()
    if pairs == 0:
        return float("nan")
    return float((below_lo.sum() + 0.5 * (below_hi - below_lo).sum()) / pairs)


def _events_at_time(t_sorted: np.ndarray, e_sorted: np.ndarray) -> np.ndarray:
    """For each row of time-sorted arrays, the number of events at its time."""
    starts = np.flatnonzero(np.r_[True, t_sorted[1:] != t_sorted[:-1]])
    per_block = np.add.reduceat(e_sorted.astype(np.int64), starts)
    return np.repeat(per_block, np.diff(np.r_[starts, len(t_sorted)]))


def _prefix_rank_counts(rank: np.ndarray, cut: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """For each query ``q``: how many of ``rank[:cut[q]]`` are below ``bound[q]`` (a merge-sort tree, vectorised).

    The prefix ``[0, cut)`` splits into at most one aligned block of each size ``2**k`` (the set bits of
    ``cut``); each level holds its blocks' ranks sorted, so one ``searchsorted`` per level counts them all.
    """
    n = len(rank)
    out = np.zeros(len(cut), dtype=np.int64)
    span = int(max(rank.max(initial=0), bound.max(initial=0))) + 1
    level = 0
    while (1 << level) <= n:
        size = 1 << level
        block = np.arange(n) // size
        keys = np.sort(block.astype(np.int64) * span + rank)
        use = (cut >> level) & 1 == 1
        if use.any():
            first = (cut[use] >> (level + 1)) << 1  # the block that starts where the higher bits end
            base = np.searchsorted(keys, first * span, side="left")
            out[use] += np.searchsorted(keys, first * span + bound[use], side="left") - base
        level += 1
    return out


def _censor_at(days: np.ndarray, observed: np.ndarray, as_of: pd.Series, cutoff: pd.Timestamp):
    """Times and events as they were known at ``cutoff``: a movement after it is not yet seen."""
    room = ((cutoff - as_of) / DAY).to_numpy(dtype="float64")
    seen = observed & (days <= room)
    return np.where(seen, days, np.minimum(days, room)), seen


def next_movement_cox(
    data,
    *,
    features=None,
    cutoff=None,
    gap_days: float = 0.0,
    train_share: float = 0.7,
    alpha: float = 0.01,
    holdout: bool = True,
    **snapshot_options,
) -> NextMovementCox:
    """Fit a Cox model of the days from each snapshot to the deal's next movement, and score it.

    ``data`` is a snapshot frame from :func:`salesmetrics.snapshots` (columns ``as_of``,
    ``days_to_next_movement``, ``next_movement_observed`` and numeric features), or a
    :class:`~salesmetrics.log.SalesLog`, which is turned into snapshots with ``snapshot_options``.
    Features default to the frame's ``attrs["features"]`` that the estimators learn from by default (the opt-in
    activity mix left out, decision 0064); missing values are filled with the training
    median and features are standardised, so coefficients are per standard deviation; ``alpha`` is a small
    ridge penalty that keeps correlated features stable.

    With ``holdout=True`` (default) the model is trained on snapshots before ``cutoff`` (by default the time
    below which ``train_share`` of the snapshots fall), with their times censored at the cutoff (a movement
    after it was not yet known), and the concordance index (:func:`concordance`, equal to
    ``sksurv.metrics.concordance_index_censored``) is measured on snapshots at least ``gap_days`` after the
    cutoff; ``concordance_train`` on every training snapshot. Repeated snapshots of one deal are not
    independent: treat the concordance as a summary, not a test.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 400
    >>> x = rng.normal(size=n)
    >>> frame = pd.DataFrame({
    ...     "as_of": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n) % 40 * 7, unit="D"),
    ...     "x": x, "noise": rng.normal(size=n),
    ...     "days_to_next_movement": rng.exponential(20 * np.exp(-x)),
    ...     "next_movement_observed": rng.random(n) < 0.8})
    >>> cox = next_movement_cox(frame, features=["x", "noise"])
    >>> cox.coefficients.set_index("feature")["hazard_ratio"].gt(1.5).to_dict(), cox.concordance > 0.6
    ({'x': True, 'noise': False}, True)
    """
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    if isinstance(data, SalesLog):
        frame = snapshots(data, **snapshot_options)
    elif isinstance(data, pd.DataFrame):
        if snapshot_options:
            raise UsageError(f"Options {sorted(snapshot_options)} apply to a log, not to a snapshot frame.")
        frame = data
    else:
        raise UsageError(f"data must be a SalesLog or a snapshot DataFrame, not {type(data).__name__}.")
    needed = {"as_of", "days_to_next_movement", "next_movement_observed"}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise UsageError(f"The snapshots lack column(s) {missing}; build them with salesmetrics.snapshots.")
    feats = _snapshot_features(frame, features)
    frame = frame[frame["days_to_next_movement"].notna()].reset_index(drop=True)
    days = frame["days_to_next_movement"].to_numpy(dtype="float64")
    observed = frame["next_movement_observed"].fillna(False).to_numpy(dtype=bool)
    as_of = pd.to_datetime(frame["as_of"])

    if holdout:
        train, test = time_split(frame, cutoff=cutoff, gap_days=gap_days, train_share=train_share)
        cut = train.attrs["cutoff"]
        tr, te = train.index.to_numpy(), test.index.to_numpy()
        t_train, e_train = _censor_at(days[tr], observed[tr], as_of.iloc[tr], cut)
        t_test, e_test = days[te], observed[te]
    else:
        cut = None
        tr = te = np.arange(len(frame))
        t_train, e_train = days, observed
        t_test, e_test = days, observed
    if e_train.sum() < 2:
        raise UsageError("Fewer than 2 movements are seen in the training snapshots; move the cutoff later.")
    # scikit-survival needs positive times; a movement on the snapshot's day counts as a tiny positive time
    tiny = 1e-6
    y_train = Surv.from_arrays(e_train, np.maximum(t_train, tiny))
    x_train = frame.loc[tr, feats].astype("float64")
    keep = [f for f in feats if x_train[f].nunique(dropna=True) > 1]
    if not keep:
        raise UsageError("Every feature is constant in the training snapshots; there is nothing to fit.")
    model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), CoxPHSurvivalAnalysis(alpha=alpha))
    model.fit(x_train[keep], y_train)
    risk_train = model.predict(x_train[keep])
    risk_test = model.predict(frame.loc[te, keep].astype("float64"))
    c_train = concordance(e_train, np.maximum(t_train, tiny), risk_train)
    c_test = concordance(e_test, np.maximum(t_test, tiny), risk_test) if e_test.any() else float("nan")
    coef = model[-1].coef_
    coefficients = pd.DataFrame({"feature": keep, "coef": coef, "hazard_ratio": np.exp(coef)})
    coefficients = coefficients.sort_values("coef", key=np.abs, ascending=False, kind="stable").reset_index(drop=True)
    return NextMovementCox(
        model=model,
        features=tuple(keep),
        coefficients=coefficients,
        concordance=float(c_test),
        concordance_train=float(c_train),
        n_train=len(tr),
        n_test=len(te),
        events_train=int(e_train.sum()),
        events_test=int(e_test.sum()),
        cutoff=cut,
        gap_days=float(gap_days),
    )


__all__ = [
    "NextMovementCox",
    "TimeToClose",
    "concordance",
    "deal_lifetimes",
    "km_and_incidence",
    "next_movement_cox",
    "time_to_close",
]
