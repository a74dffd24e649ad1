"""Volume versus yield: does activity volume or decision quality explain an owner's results?

Per owner: activity volume (``motions``), movements, the decision rate of :mod:`salesmetrics.metrics.decisions`, won
and lost deals, win rate and revenue. Then the Spearman rank correlation of each explanatory column (by default
``motions`` and ``decision_rate``) with each result (``wins`` and ``revenue``), with a bootstrap confidence
interval from resampling owners. A user can see on their own data whether the busiest sellers or the ones whose
meetings end in decisions are the ones who win.

Definitions are in ``docs/metrics.md``; the choice of statistic is argued in
``docs/decisions/0011-volume-vs-yield.md``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed
from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import amount_at, resolve_as_of, stage_entries, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.decisions import DEFAULT_KINDS, decision_increments

OWNER_COLUMNS = (
    "deals",
    "motions",
    "motions_per_deal",
    "movements",
    "interactions",
    "decisions",
    "decision_rate",
    "wins",
    "losses",
    "win_rate",
    "revenue",
)


def deal_outcomes(log: SalesLog, as_of=None) -> pd.DataFrame:
    """Per deal at ``as_of``: ``owner, motions, movements, won, lost, revenue`` (indexed by ``deal_id``).

    ``motions`` counts the deal's activities of any kind; ``movements`` its stage entries that are not repeats;
    ``won`` and ``lost`` say whether its latest stage is a won or a lost stage; ``revenue`` is its amount at the
    moment it entered that won stage (:func:`~salesmetrics.log.prepare.amount_at`; 0 otherwise; a won deal
    without an amount adds 0).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> d = deal_outcomes(sm.read_log("datasets/demo"), as_of="2025-06-30")
    >>> int(d["won"].sum()), int(d["motions"].sum())
    (420, 30292)
    """
    as_of = resolve_as_of(log, as_of)
    return _deal_outcomes(truncate(log, as_of), as_of)


def _deal_outcomes(log: SalesLog, as_of: pd.Timestamp) -> pd.DataFrame:
    """:func:`deal_outcomes` on a log already truncated at ``as_of``."""
    model = log.model
    entries = stage_entries(log, as_of)
    motions = log.activities.drop_duplicates().groupby("deal_id", sort=False).size().rename("motions")
    movements = (entries["kind"] != "repeat").groupby(entries["deal_id"], sort=False).sum().rename("movements")
    last = entries.groupby("deal_id", sort=False)["stage"].last()
    table = log.deals[["deal_id", "owner", "amount"]].set_index("deal_id")
    table = table.join(motions).join(movements)
    table[["motions", "movements"]] = table[["motions", "movements"]].fillna(0).astype("int64")
    stage = last.reindex(table.index)
    table["won"] = stage.isin(model.won).to_numpy()
    table["lost"] = stage.isin(model.lost).to_numpy()
    won = table.index[table["won"]]
    won_at = entries[entries["kind"] != "repeat"].groupby("deal_id", sort=False)["changed_at"].last().reindex(won)
    table["revenue"] = 0.0
    if len(won):  # the amount at the win: the deal's entry into its won stage (decision 0054)
        table.loc[won, "revenue"] = np.nan_to_num(amount_at(log, won, won_at), nan=0.0)
    return table.drop(columns="amount").sort_index(kind="stable")


def owner_table(
    log: SalesLog,
    as_of=None,
    kinds: Iterable[str] | None = DEFAULT_KINDS,
    window_days: float | None = 14,
    source: str = "inferred",
) -> pd.DataFrame:
    """Per owner: deals, motions, motions per deal, movements, interactions, decisions, decision rate, wins,
    losses, win rate (won / closed deals) and revenue (sum of won amounts). Sums of per-deal figures.

    ``kinds``, ``window_days`` and ``source`` are passed to :func:`salesmetrics.metrics.decisions.decision_increments`.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> t = owner_table(sm.read_log("datasets/demo"), as_of="2025-06-30")
    >>> t.loc["Tara M.", ["wins", "losses"]].tolist()
    [23, 73]
    """
    decisions = decision_increments(log, as_of, kinds, window_days, source)  # checks its arguments first
    as_of = decisions.as_of
    deals = _deal_outcomes(truncate(log, as_of), as_of)
    dec = decisions.deals
    frame = deals.join(dec[["known", "advanced"]]).assign(deals=1)
    frame["wins"] = frame.pop("won").astype("int64")
    frame["losses"] = frame.pop("lost").astype("int64")
    frame = frame.rename(columns={"known": "interactions", "advanced": "decisions"})
    sums = ["deals", "motions", "movements", "interactions", "decisions", "wins", "losses", "revenue"]
    owners = frame.groupby("owner", sort=True)[sums].sum()
    owners["motions_per_deal"] = owners["motions"] / owners["deals"]
    owners["decision_rate"] = owners["decisions"] / owners["interactions"].where(owners["interactions"] > 0)
    closed = owners["wins"] + owners["losses"]
    owners["win_rate"] = owners["wins"] / closed.where(closed > 0)
    return owners[list(OWNER_COLUMNS)]


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair of two 2-D arrays (average ranks for ties); NaN where a row is constant."""
    from scipy.stats import rankdata

    rx = rankdata(x, axis=1)
    ry = rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    num = (rx * ry).sum(axis=1)
    den = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


@renamed(n_boot="n_bootstrap")  # its name before 0.2.0 (one name everywhere, as in evaluate)
def rank_correlations(
    owners: pd.DataFrame,
    x: Iterable[str] = ("motions", "decision_rate"),
    y: Iterable[str] = ("wins", "revenue"),
    n_bootstrap: int = 2000,
    ci: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Spearman's rho of each ``x`` column with each ``y`` column over owners, with a percentile bootstrap CI.

    Each bootstrap sample draws owners with replacement (the same draw for every pair); owners missing either
    value are left out of that pair. Columns: ``x, y, n_owners, rho, ci_low, ci_high, n_bootstrap``.
    ``n_boot`` is the name ``n_bootstrap`` had before 0.2.0; it still works, with a warning.

    Examples
    --------
    >>> t = pd.DataFrame({"motions": [5, 3, 8, 1], "wins": [2, 1, 3, 0], "decision_rate": [0.1, 0.3, 0.2, 0.4]})
    >>> rank_correlations(t, y=["wins"], n_bootstrap=200)[["x", "rho"]]
                   x  rho
    0        motions  1.0
    1  decision_rate -0.8
    """
    if not 0 < ci < 1:
        raise UsageError(f"ci must be between 0 and 1, not {ci!r}.")
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 1:
        raise UsageError(f"n_bootstrap must be a whole number, 1 or more, not {n_bootstrap!r}.")
    x, y = list(x), list(y)
    missing = [c for c in x + y if c not in owners.columns]
    if missing:
        raise UsageError(f"The owner table has no column {', '.join(map(repr, missing))}.")
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    n = len(owners)
    uniform = rng.random((int(n_bootstrap), n))  # one draw, shared by every pair
    alpha = (1 - ci) / 2
    rows = []
    for xc in x:
        for yc in y:
            a = owners[xc].to_numpy(dtype="float64")
            b = owners[yc].to_numpy(dtype="float64")
            ok = np.isfinite(a) & np.isfinite(b)
            m = int(ok.sum())
            rho = float(_spearman_rows(a[ok][None, :], b[ok][None, :])[0]) if m >= 2 else float("nan")
            lo = hi = float("nan")
            if m >= 3:
                # resample among the owners that have both values, keeping the sample size
                idx = np.flatnonzero(ok)[(uniform[:, :m] * m).astype("int64")]
                boot = _spearman_rows(a[idx], b[idx])
                if np.isfinite(boot).any():
                    lo, hi = (float(v) for v in np.nanquantile(boot, [alpha, 1 - alpha]))
            rows.append(
                {"x": xc, "y": yc, "n_owners": m, "rho": rho, "ci_low": lo, "ci_high": hi, "n_bootstrap": n_bootstrap}
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class VolumeVsYield:
    """The result of :func:`volume_vs_yield`: the per-owner table and the correlation table."""

    owners: pd.DataFrame
    correlations: pd.DataFrame
    as_of: pd.Timestamp
    ci: float

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>Volume versus yield</b> at {html.escape(str(self.as_of))}: {len(self.owners)} owners; "
            f"Spearman's rho with {self.ci:.0%} bootstrap intervals (owners resampled).</p>"
        )
        fmt = lambda v: f"{v:.3f}"  # noqa: E731
        return head + self.correlations.to_html(index=False, float_format=fmt) + self.owners.to_html(float_format=fmt)

    def plot(self, y: str = "wins", x: tuple[str, ...] = ("motions", "decision_rate"), ax=None):
        """Scatter each ``x`` against ``y`` over owners, one panel each, rho and interval in the panel titles.

        Returns the matplotlib Figure. Nothing is drawn until this is called.
        """
        import matplotlib.pyplot as plt

        x = tuple(x)
        if ax is None:
            fig, axes = plt.subplots(1, len(x), figsize=(4.5 * len(x), 4), squeeze=False)
            axes = axes[0]
        else:
            axes = np.atleast_1d(ax)
            fig = axes[0].figure
        labels = {
            "motions": "Activities (motions)",
            "motions_per_deal": "Activities per deal",
            "decision_rate": "Decision rate (share of interactions that advanced)",
            "wins": "Won deals",
            "revenue": "Revenue (won amounts)",
            "win_rate": "Win rate",
        }
        for axis, column in zip(axes, x, strict=False):
            axis.scatter(self.owners[column], self.owners[y], alpha=0.8)
            row = self.correlations[(self.correlations["x"] == column) & (self.correlations["y"] == y)]
            title = column
            if len(row):
                r = row.iloc[0]
                title = f"rho = {r['rho']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
            axis.set_title(title)
            axis.set_xlabel(labels.get(column, column))
            axis.set_ylabel(labels.get(y, y))
        fig.suptitle(f"Volume versus yield per owner, as of {self.as_of:%Y-%m-%d}")
        fig.tight_layout()
        return fig


@renamed(n_boot="n_bootstrap")
def volume_vs_yield(
    log: SalesLog,
    as_of=None,
    x: Iterable[str] = ("motions", "decision_rate"),
    y: Iterable[str] = ("wins", "revenue"),
    n_bootstrap: int = 2000,
    ci: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
    kinds: Iterable[str] | None = DEFAULT_KINDS,
    window_days: float | None = 14,
    source: str = "inferred",
) -> VolumeVsYield:
    """Per-owner table (:func:`owner_table`) and rank correlations (:func:`rank_correlations`) at ``as_of``.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> res = volume_vs_yield(sm.read_log("datasets/demo"), as_of="2025-06-30", n_bootstrap=500)
    >>> res.correlations[["x", "y", "rho"]].round(2)
                   x        y   rho
    0        motions     wins -0.20
    1        motions  revenue -0.46
    2  decision_rate     wins  0.65
    3  decision_rate  revenue  0.68
    """
    as_of = resolve_as_of(log, as_of)
    owners = owner_table(log, as_of, kinds=kinds, window_days=window_days, source=source)
    corr = rank_correlations(owners, x, y, n_bootstrap=n_bootstrap, ci=ci, random_state=random_state)
    return VolumeVsYield(owners=owners, correlations=corr, as_of=as_of, ci=ci)


__all__ = ["OWNER_COLUMNS", "VolumeVsYield", "deal_outcomes", "owner_table", "rank_correlations", "volume_vs_yield"]
