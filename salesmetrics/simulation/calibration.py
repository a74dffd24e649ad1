"""Simulated against real statistics: the targets the defaults were tuned to, with their tolerances.

The real figures come from the public datasets described in ``../shared/datasets`` (each folder's
PROVENANCE.md); :func:`real_statistics` recomputes them from those files, and ``REAL`` holds the values so
the report works without the files. Why these targets and not others: ``docs/simulator.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesmetrics.simulation.simulator import simulate

if TYPE_CHECKING:  # pragma: no cover
    from salesmetrics.log.saleslog import SalesLog
    from salesmetrics.simulation.frames import Simulation


@dataclass(frozen=True)
class Target:
    """One real statistic, where it comes from, and how close the simulation must be."""

    name: str
    source: str
    real: float
    tolerance: float  # absolute when relative is False, else a share of ``real``
    relative: bool
    asserted: bool
    unit: str
    meaning: str


TARGETS: tuple[Target, ...] = (
    Target("win_rate_closed", "IBM win-loss", 0.2259, 0.04, False, True, "share",
           "won / closed, all deals from their first stage (IBM: from 'Identified')"),
    Target("win_rate_engaged", "Maven CRM", 0.6315, 0.05, False, True, "share",
           "won / closed, deals that reached the second stage (Maven: has an engage date)"),
    Target("cycle_engaged_median_days", "Maven CRM", 45.0, 0.25, True, True, "days",
           "median days from reaching the second stage to closing, closed deals"),
    Target("cycle_won_engaged_median_days", "Maven CRM", 57.0, 0.25, True, True, "days",
           "median days from reaching the second stage to winning, won deals"),
    Target("stage_changes_per_closed_deal", "IBM win-loss", 2.956, 0.6, False, True, "changes",
           "mean stage changes per closed deal (rows in stage_changes minus the first)"),
    Target("amount_won_median", "Maven CRM", 1117.0, 0.2, True, True, "USD",
           "median amount of won deals"),
    Target("amount_won_p75_over_p25", "Maven CRM", 8.552, 0.3, True, True, "ratio",
           "75th over 25th percentile of won amounts"),
    Target("cycle_closed_median_days", "IBM win-loss", 12.0, 0.5, True, False, "days",
           "median days from creation to closing, closed deals (reference only)"),
    Target("cycle_lost_engaged_median_days", "Maven CRM", 14.0, 0.5, True, False, "days",
           "median days from reaching the second stage to losing (reference only)"),
    Target("cycle_won_median_days", "Olist funnel", 14.65, 0.5, True, False, "days",
           "median days from creation (first contact) to winning (reference only)"),
)  # fmt: skip

REAL: dict[str, float] = {t.name: t.real for t in TARGETS}


def real_statistics(datasets: str | os.PathLike = "../shared/datasets") -> pd.Series:
    """Recompute the real statistics from the dataset files (each row of :data:`TARGETS`).

    Examples
    --------
    >>> real_statistics("../shared/datasets")["win_rate_closed"]  # doctest: +SKIP
    0.2259...
    """
    root = Path(datasets)
    maven = pd.read_csv(root / "maven_crm_sales" / "sales_pipeline.csv")
    closed = maven[maven["deal_stage"].isin(["Won", "Lost"])]
    won = closed["deal_stage"] == "Won"
    days = (pd.to_datetime(closed["close_date"]) - pd.to_datetime(closed["engage_date"])).dt.days
    value = closed.loc[won, "close_value"]
    ibm = pd.read_csv(root / "ibm_sales_win_loss" / "WA_Fn-UseC_-Sales-Win-Loss.csv", keep_default_na=False)
    olist_mql = pd.read_csv(root / "olist_marketing_funnel" / "olist_marketing_qualified_leads_dataset.csv")
    olist_won = pd.read_csv(root / "olist_marketing_funnel" / "olist_closed_deals_dataset.csv")
    joined = olist_won.merge(olist_mql, on="mql_id")
    olist_gap = pd.to_datetime(joined["won_date"]) - pd.to_datetime(joined["first_contact_date"])
    olist_days = olist_gap / pd.Timedelta(days=1)
    return pd.Series(
        {
            "win_rate_closed": float((ibm["Opportunity Result"] == "Won").mean()),
            "win_rate_engaged": float(won.mean()),
            "cycle_engaged_median_days": float(days.median()),
            "cycle_won_engaged_median_days": float(days[won].median()),
            "stage_changes_per_closed_deal": float(ibm["Sales Stage Change Count"].mean()),
            "amount_won_median": float(value.median()),
            "amount_won_p75_over_p25": float(value.quantile(0.75) / value.quantile(0.25)),
            "cycle_closed_median_days": float(ibm["Total Days Identified Through Closing"].median()),
            "cycle_lost_engaged_median_days": float(days[~won].median()),
            "cycle_won_median_days": float(olist_days.median()),
        }
    )


def log_statistics(log: SalesLog) -> pd.Series:
    """The calibration statistics of a log, computed from its tables alone."""
    model = log.model
    changes = log.stage_changes.sort_values(["deal_id", "changed_at"], kind="stable")
    last = changes.groupby("deal_id", sort=False).tail(1).set_index("deal_id")
    closed = last[last["stage"].isin(model.won + model.lost)]
    won = closed["stage"].isin(model.won)
    later = changes[changes["stage"].isin(model.stages[1:] + model.won)]
    engaged_at = later.groupby("deal_id")["changed_at"].min()
    engaged = closed.index.isin(engaged_at.index)
    created = log.deals.set_index("deal_id")["created_at"]
    day = pd.Timedelta(days=1)
    from_engage = (closed["changed_at"][engaged] - engaged_at.reindex(closed.index[engaged])) / day
    from_create = (closed["changed_at"] - created.reindex(closed.index)) / day
    rows = changes.groupby("deal_id").size().reindex(closed.index)
    amounts = log.deals.set_index("deal_id")["amount"].reindex(closed.index[won])
    won_e = won[engaged]
    return pd.Series(
        {
            "win_rate_closed": float(won.mean()),
            "win_rate_engaged": float(won_e.mean()),
            "cycle_engaged_median_days": float(from_engage.median()),
            "cycle_won_engaged_median_days": float(from_engage[won_e.to_numpy()].median()),
            "stage_changes_per_closed_deal": float((rows - 1).mean()),
            "amount_won_median": float(amounts.median()),
            "amount_won_p75_over_p25": float(amounts.quantile(0.75) / amounts.quantile(0.25)),
            "cycle_closed_median_days": float(from_create.median()),
            "cycle_lost_engaged_median_days": float(from_engage[~won_e.to_numpy()].median()),
            "cycle_won_median_days": float(from_create[won.to_numpy()].median()),
        }
    )


def calibration_report(
    sim: Simulation | SalesLog | None = None, *, n_deals: int = 8000, n_owners: int = 100, seed: int = 0
) -> pd.DataFrame:
    """Simulated against real statistics with tolerances; ``within`` says whether each is inside.

    Without ``sim``, the defaults are simulated with many owners, so the figures reflect the parameters
    rather than the draw of a few owners' traits. Rows with ``asserted`` False are shown for reference:
    they come from datasets whose process differs from the simulated one, and the defaults are not tuned
    to them.

    Examples
    --------
    >>> report = calibration_report(n_deals=3000, seed=0)  # doctest: +SKIP
    >>> report.loc[report["asserted"], "within"].all()  # doctest: +SKIP
    True
    """
    if sim is None:
        sim = simulate(n_deals=n_deals, n_owners=n_owners, seed=seed)
    log = getattr(sim, "log", sim)
    stats = log_statistics(log)
    rows = []
    for t in TARGETS:
        width = t.tolerance * abs(t.real) if t.relative else t.tolerance
        simulated = stats[t.name]
        rows.append(
            {
                "statistic": t.name,
                "source": t.source,
                "unit": t.unit,
                "real": t.real,
                "simulated": simulated,
                "tolerance": f"±{t.tolerance:.0%}" if t.relative else f"±{t.tolerance:g}",
                "low": t.real - width,
                "high": t.real + width,
                "within": bool(t.real - width <= simulated <= t.real + width),
                "asserted": t.asserted,
                "meaning": t.meaning,
            }
        )
    return pd.DataFrame(rows)


def plot_calibration(report: pd.DataFrame, path: str | os.PathLike | None = None):
    """A chart of simulated / real for every statistic, with the tolerance band; saved when ``path`` is given.

    Examples
    --------
    >>> fig = plot_calibration(calibration_report(n_deals=2000))  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.2))
    y = np.arange(len(report))[::-1]
    ratio = report["simulated"] / report["real"]
    low = report["low"] / report["real"]
    high = report["high"] / report["real"]
    for yi, lo, hi, asserted in zip(y, low, high, report["asserted"], strict=True):
        ax.plot([lo, hi], [yi, yi], color="tab:blue" if asserted else "lightgray", lw=8, alpha=0.35,
                solid_capstyle="butt")  # fmt: skip
    colors = np.where(report["within"], "tab:green", "tab:red")
    colors = np.where(report["asserted"], colors, "gray")
    ax.scatter(ratio, y, color=colors, zorder=3, s=40)
    ax.axvline(1.0, color="black", lw=0.8)
    labels = [f"{s} ({src})" for s, src in zip(report["statistic"], report["source"], strict=True)]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("simulated / real (1 = exact; bar = tolerance; gray = reference only)")
    ax.set_title("Simulator defaults against real pipeline statistics")
    ax.set_xscale("log")
    ax.set_xlim(0.1, 10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
