"""Time in stage: how long deals stay in each open stage, with Kaplan–Meier curves that count the stays still
going at ``as_of`` (censored) instead of dropping them.

Definitions and the censoring choice: ``docs/metrics.md`` and ``docs/decisions/0013-time-in-stage-censoring.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import cut_at
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.stays import check_by, group_of, label_groups, open_stage_stays


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
    by = check_by(by)
    as_of, log = cut_at(log, as_of)
    stays = label_groups(open_stage_stays(log, as_of), group_of(log, by), by)
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


__all__ = ["TimeInStage", "kaplan_meier", "km_median", "time_in_stage"]
