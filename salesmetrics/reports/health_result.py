"""The value the pipeline health report shows (:class:`PipelineHealth`, with its narrative and plots), and how it is
made from a log's tables (:func:`health_of_tables`): what :func:`~salesmetrics.reports.health.pipeline_health` of
a log read whole and :func:`~salesmetrics.reports.health_parts.health_parts` of a partitioned one share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed_attribute
from salesmetrics._util.text import plural
from salesmetrics.exceptions import UsageError

#: How the "stalled in stage" flags of the busy-but-stuck table are set: the quantile of completed stays per
#: owner and stage (decision 0014's defaults).
FLAG_GROUP = "owner"
STALL_QUANTILE = 0.9


@dataclass(frozen=True)
class PipelineHealth:
    """Motion and movement per group, per group and period (with the waterfall), and busy-but-stuck deals."""

    as_of: pd.Timestamp
    by: str
    period: str
    groups: pd.DataFrame
    periods: pd.DataFrame
    deals: pd.DataFrame
    stuck_deals: pd.DataFrame
    min_motions: int
    currency: str | None
    dated: bool = True
    stage_counts: pd.Series | None = None

    group_by = renamed_attribute("group_by", "by")

    @property
    def motion_without_movement(self) -> pd.DataFrame:
        """Groups with activity but no movement in the latest period."""
        latest = self.periods[self.periods["period_index"] == self.periods["period_index"].max()]
        return latest[(latest["motions"] > 0) & (latest["movements"] == 0)]

    def narrative(self) -> str:
        """Three or four plain sentences a sales leader reads first, computed from the numbers."""
        g = self.groups
        n = len(g)
        latest = self.periods[self.periods["period_index"] == self.periods["period_index"].max()]
        label = latest["period"].iloc[0] if len(latest) else "the latest period"
        idle = self.motion_without_movement
        ratio = g["motions"].sum() / g["movements"].sum() if g["movements"].sum() else float("nan")
        if not self.dated:  # nothing can be placed in time: say what is known, the current stages
            counts = self.stage_counts if self.stage_counts is not None else pd.Series(dtype="int64")
            known = ", ".join(f"{int(v):,} {k}" for k, v in counts.items()) or "none"
            return (
                "The log has no dated events, so movement, motion and the waterfall cannot be placed in time. "
                f"Current stages of its {plural(int(counts.sum()), 'deal')}: {known}."
            )
        lines = [
            f"As of {self.as_of:%Y-%m-%d}, {plural(n, self.by)} logged {int(g['motions'].sum()):,} activities "
            f"and {int(g['movements'].sum()):,} movements: {ratio:.1f} activities per movement.",
        ]
        if not g["motions"].sum():  # a log without activities: say so instead of comparing nothing
            lines[0] = (
                f"As of {self.as_of:%Y-%m-%d}, {plural(n, self.by)} made {int(g['movements'].sum()):,} "
                "movements; the log has no activities, so motion cannot be set against movement."
            )
        elif len(idle):
            names = ", ".join(idle[self.by].astype(str).head(5))
            more = "" if len(idle) <= 5 else f" and {len(idle) - 5} more"
            lines.append(
                f"{len(idle)} of {plural(len(latest), self.by)} "
                f"{'shows' if len(idle) == 1 else 'show'} motion without movement in {label}: {names}{more}."
            )
        else:
            lines.append(f"Every {self.by} with activity in {label} also moved at least one deal.")
        open_deals = int(self.deals["is_open"].sum())
        if g["motions"].sum():
            lines.append(
                f"{len(self.stuck_deals)} of {plural(open_deals, 'open deal')} had at least "
                f"{plural(self.min_motions, 'activity', 'activities')} "
                "since their last movement (busy, not moving)."
            )
        if len(latest) and self.periods[["opening_count", "created_count", "closing_count"]].to_numpy().any():
            row = latest[[c for c in latest.columns if c.endswith("_count")]].sum().astype(int)
            moved = row["pulled_in_count"] + row.get("reopened_count", 0) - row["pushed_out_count"]
            lines.append(
                f"Pipeline due in {label}: {row['opening_count']} deals at the start, {row['created_count']} "
                f"created, {row['won_count']} won, {row['lost_count']} lost, {moved:+d} pulled in or pushed out "
                f"(net), {row['closing_count']} still open at the end."
            )
        return " ".join(lines)

    def plot_motion_vs_movement(self, ax=None, label_limit: int = 8):
        """Scatter of activities against movements per group: the lower right is motion without movement.

        Names the ``label_limit`` groups furthest from the average line (every group when there are no more).
        """
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(7, 5))[1]
        g = self.groups
        ax.scatter(g["motions"], g["movements"], color="tab:blue")
        slope = g["movements"].sum() / g["motions"].sum() if g["motions"].sum() > 0 else 0.0
        # Name the groups furthest from the average line (all of them when there are few): names of
        # twenty owners on one small scatter overlap and none can be read.
        distance = (g["movements"] - slope * g["motions"]).abs()
        named = distance.nlargest(label_limit).index if len(g) > label_limit else g.index
        for i in named:
            row = g.loc[i]
            ax.annotate(
                str(row[self.by]),
                (row["motions"], row["movements"]),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=8,
            )
        if g["motions"].sum() > 0:
            xs = np.array([0, g["motions"].max()])
            ax.plot(xs, slope * xs, "--", color="gray", label=f"average: {slope:.2f} movements per activity")
            ax.legend(loc="upper left")
        ax.set(
            title=f"Motion vs movement by {self.by}",
            xlabel="activities logged (motion, count)",
            ylabel="stage movements (count)",
        )
        return ax

    def plot_periods(self, ax=None):
        """Movements and activities per period, all groups together."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(8, 4))[1]
        per = self.periods.groupby(["period_index", "period"], as_index=False)[["movements", "motions"]].sum()
        ax.plot(per["period"], per["movements"], marker="o", label="movements")
        ax.set(title=f"Movement and motion per period ({self.period})", xlabel="period", ylabel="movements (count)")
        twin = ax.twinx()
        twin.plot(per["period"], per["motions"], marker="s", color="tab:orange", label="activities")
        twin.set_ylabel("activities (count)")
        lines = ax.get_lines() + twin.get_lines()
        ax.legend(lines, [ln.get_label() for ln in lines], loc="upper left")
        ax.tick_params(axis="x", rotation=45)
        ax.figure.tight_layout()
        return ax

    def plot_waterfall(self, period: str | None = None, ax=None):
        """The pipeline waterfall of one period (default: the latest), in deal counts."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(8, 4))[1]
        per = self.periods
        period = period or per.loc[per["period_index"].idxmax(), "period"]
        rows = per[per["period"] == period]
        if rows.empty:
            raise UsageError(f"No period {period!r}; periods: {', '.join(per['period'].unique())}.")
        total = rows.sum(numeric_only=True)
        steps = [
            ("opening", total["opening_count"]),
            ("+ created", total["created_count"]),
            ("+ pulled in", total["pulled_in_count"]),
            ("+ reopened", total.get("reopened_count", 0)),
            ("- won", -total["won_count"]),
            ("- lost", -total["lost_count"]),
            ("- pushed out", -total["pushed_out_count"]),
        ]
        level = top = 0.0
        for i, (label, value) in enumerate(steps):
            if i == 0:
                ax.bar(label, value, color="tab:gray")
                level = value
                continue
            bottom = level if value >= 0 else level + value
            ax.bar(label, abs(value), bottom=bottom, color="tab:green" if value >= 0 else "tab:red")
            level += value
            top = max(top, level)
        ax.bar("closing", total["closing_count"], color="tab:blue")
        ax.set_ylim(0, max(top, total["opening_count"], total["closing_count"], 1) * 1.08)
        ax.set(title=f"Pipeline waterfall, {period} (deals due in the period)", xlabel="", ylabel="deals (count)")
        ax.tick_params(axis="x", rotation=30)
        ax.figure.tight_layout()
        return ax


@dataclass(frozen=True)
class HealthScope:
    """What a :class:`PipelineHealth` is of: its moment, grouping, period, threshold, currency and whether the log
    has dated events."""

    as_of: pd.Timestamp
    by: str
    period: str
    min_motions: int
    currency: str | None
    dated: bool


def undated_as_of(timezone: str) -> pd.Timestamp:
    """The moment a log without a single dated event is scored at: today's start, which places nothing."""
    return pd.Timestamp.now(tz=timezone).floor("D")


def health_of_tables(
    scope: HealthScope,
    *,
    deals: pd.DataFrame,
    periods: pd.DataFrame,
    labels: pd.DataFrame,
    flags: pd.DataFrame,
    stage_counts: dict[str, int] | None,
) -> PipelineHealth:
    """The :class:`PipelineHealth` of a log from its scores per deal and per group and period, each deal's group
    (``labels``: ``deal_id`` and the ``by`` column of the deals table), its momentum flags and, for an undated log,
    its deals per current stage (:attr:`~salesmetrics.log.saleslog.LogSummary.current_stages`)."""
    by = scope.by
    groups = (
        deals.merge(labels, on="deal_id", how="left", suffixes=("", "_"))
        .groupby(by, as_index=False)[["movements", "motions", "wins", "losses", "advances", "regressions"]]
        .sum()
    )
    groups["motion_per_movement"] = groups["motions"] / groups["movements"].where(groups["movements"] > 0)
    stuck = flags[flags["motion_without_movement"]].sort_values("activities_since_movement", ascending=False)
    return PipelineHealth(
        as_of=scope.as_of,
        by=by,
        period=scope.period,
        groups=groups.sort_values("motion_per_movement", ascending=False, na_position="first"),
        periods=periods,
        deals=deals,
        stuck_deals=stuck.reset_index(drop=True),
        min_motions=scope.min_motions,
        currency=scope.currency,
        dated=scope.dated,
        stage_counts=None if scope.dated else pd.Series(stage_counts, dtype="int64"),
    )


__all__ = ["FLAG_GROUP", "STALL_QUANTILE", "HealthScope", "PipelineHealth", "health_of_tables", "undated_as_of"]
