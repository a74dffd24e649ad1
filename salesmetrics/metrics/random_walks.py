"""Random walks and slippage: deals that go back and forth between stages, and close dates that keep moving.

A deal that is really progressing moves one way through the stages and keeps its expected close date. A deal
on a random walk bounces between two stages (A -> B -> A), loses ground as often as it gains it, and has its
close date pushed out again and again, often by about a month each time. The per-deal numbers here make those
patterns countable.

Definitions are in ``docs/metrics.md``; what counts as a push is argued in
``docs/decisions/0010-pushes.md``. :func:`close_date_changes_classified` is the one place a close-date change
is classified; other metrics (``close_date_pushes`` in the per-deal score) should reuse it.
The ``slippage`` report notebook's logic is :mod:`salesmetrics.reports.slippage` (``docs/decisions/0023``).
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed
from salesmetrics._util.time_units import US_PER_DAY
from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import resolve_as_of, stage_entries, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.movement import local_us

CHANGE_KINDS = ("first", "push", "pull", "same")
DEFAULT_EDGES = (0, 7, 14, 21, 27, 34, 45, 60, 90, 180, np.inf)


def _days(times: pd.Series) -> np.ndarray:
    """Calendar days since 1970-01-01 of each (midnight, tz-aware) close date, as int64; DST-safe."""
    return np.floor_divide(local_us(times), US_PER_DAY)


def close_date_changes_classified(log: SalesLog, as_of=None) -> pd.DataFrame:
    """Every close-date change up to ``as_of``, in time order per deal (ties keep file order), classified.

    Columns: ``deal_id, changed_at, close_date, prev_close_date, kind, days``. ``kind`` is ``first`` (the deal's
    first expected close date: not a push), ``push`` (a later date than the previous expected close date),
    ``pull`` (an earlier one) or ``same`` (the same day again, e.g. a re-saved record or a duplicate row).
    ``days`` is the new date minus the previous one in calendar days (0 for ``first``).
    Each change counts on its own, even several on one day: D -> D+30 -> D+31 is two pushes of 30 and 1 days.
    Exact duplicate rows (same deal, time and date) are read once.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> changes = close_date_changes_classified(sm.read_log("datasets/demo"), as_of="2025-06-30")
    >>> changes["kind"].value_counts().to_dict()
    {'first': 2000, 'pull': 1815, 'push': 918}
    """
    as_of = resolve_as_of(log, as_of)
    return classify_close_date_changes(truncate(log, as_of))


def classify_close_date_changes(log: SalesLog) -> pd.DataFrame:
    """:func:`close_date_changes_classified` of every change in ``log`` as it is (no ``as_of`` cut: pass a log
    already truncated, or the whole history as the snapshot features do)."""
    cd = log.close_date_changes.drop_duplicates(["deal_id", "changed_at", "close_date"])
    order = np.lexsort((np.arange(len(cd)), cd["changed_at"].dt.as_unit("us").array.asi8, cd["deal_id"].to_numpy()))
    cd = cd.iloc[order][["deal_id", "changed_at", "close_date"]].reset_index(drop=True)
    day = _days(cd["close_date"])
    dealv = cd["deal_id"].to_numpy()
    first = np.r_[True, dealv[1:] != dealv[:-1]] if len(cd) else np.zeros(0, bool)
    prev_day = np.r_[0, day[:-1]] if len(cd) else day
    diff = np.where(first, 0, day - prev_day)
    cd["prev_close_date"] = cd["close_date"].shift(1).where(~first)
    kind = np.select([first, diff > 0, diff < 0], ["first", "push", "pull"], default="same")
    cd["kind"] = pd.Series(kind, dtype="str")
    cd["days"] = diff.astype("int64")
    return cd


def push_lengths(log: SalesLog, as_of=None) -> pd.DataFrame:
    """Only the pushes of :func:`close_date_changes_classified`, with their length in ``days``.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> pushes = push_lengths(sm.read_log("datasets/demo"), as_of="2025-06-30")
    >>> int(pushes["days"].median())
    29
    """
    changes = close_date_changes_classified(log, as_of)
    return changes[changes["kind"] == "push"].reset_index(drop=True)


def bin_push_lengths(days, edges=DEFAULT_EDGES) -> pd.DataFrame:
    """Counts and shares of push lengths in bins ``[edges[i], edges[i+1])`` days.

    The default edges put pushes of 27 to 33 days, "about a month", in one bin.

    Examples
    --------
    >>> bins = bin_push_lengths([30, 31, 5, 60])
    >>> bins.loc[["[0, 7)", "[27, 34)", "[60, 90)"], "share"].tolist()
    [0.25, 0.5, 0.25]
    """
    days = np.asarray(days, dtype="float64")
    edges = np.asarray(edges, dtype="float64")
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise UsageError("edges must be at least two increasing numbers of days.")
    counts, _ = np.histogram(days[np.isfinite(days)], bins=edges)
    # np.histogram closes the last bin on the right; recount it half-open so every bin is [lo, hi)
    counts[-1] -= int(np.sum(days == edges[-1]))
    labels = [f"[{_fmt(lo)}, {_fmt(hi)})" for lo, hi in itertools.pairwise(edges)]
    total = counts.sum()
    share = counts / total if total else np.full(len(counts), np.nan)
    out = pd.DataFrame({"count": counts.astype("int64"), "share": share, "cumulative_share": np.cumsum(share)})
    out.index = pd.Index(labels, name="days")
    return out


def share_near(days, target: float = 30, tolerance: float = 3) -> float:
    """Share of push lengths within ``tolerance`` days of ``target`` (default: 27 to 33 days).

    Examples
    --------
    >>> share_near([30, 31, 5, 60])
    0.5
    """
    days = np.asarray(days, dtype="float64")
    if not len(days):
        return float("nan")
    return float(np.mean(np.abs(days - target) <= tolerance))


def _fmt(x: float) -> str:
    return "inf" if np.isinf(x) else f"{x:g}"


def deal_slippage(log: SalesLog, as_of=None, serial_threshold: int = 3) -> pd.DataFrame:
    """Per deal: movements, regressions and their share, back-and-forth count, and close-date pushes.

    Columns (indexed by ``deal_id``): ``owner, movements, regressions, regression_share, back_and_forth,
    close_date_changes, close_date_pushes, days_pushed, close_date_pulls, longest_push, serial_pusher``.

    - ``movements`` are the stage entries that are not repeats (adds, advances, regressions, losses);
      ``regression_share = regressions / movements`` (NaN for a deal without movements).
    - ``back_and_forth`` counts movements that return the deal to the stage it held two movements before, after
      a different one in between (A -> B -> A); a deal bouncing Lead, Qualified, Lead, Qualified has two.
    - ``close_date_pushes`` and ``close_date_pulls`` count the ``push`` and ``pull`` changes of
      :func:`close_date_changes_classified`; ``days_pushed`` sums the pushes' days.
    - ``serial_pusher`` is True when ``close_date_pushes >= serial_threshold``.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> deals = deal_slippage(sm.read_log("datasets/demo"), as_of="2025-06-30")
    >>> int(deals["back_and_forth"].sum()), int(deals["serial_pusher"].sum())
    (318, 127)
    """
    if int(serial_threshold) != serial_threshold or serial_threshold < 1:
        raise UsageError(f"serial_threshold must be a whole number of pushes, 1 or more, not {serial_threshold!r}.")
    as_of = resolve_as_of(log, as_of)
    return deals_and_changes(truncate(log, as_of), as_of, serial_threshold)[0]


def deals_and_changes(log: SalesLog, as_of: pd.Timestamp, serial_threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-deal table of :func:`deal_slippage`, classified close-date changes) on a log already truncated at
    ``as_of``."""
    entries = stage_entries(log, as_of)
    moves = entries[entries["kind"] != "repeat"]
    dealv = moves["deal_id"].to_numpy()
    stage = moves["stage"].to_numpy()
    n = len(moves)
    if n >= 3:
        same_deal2 = np.r_[False, False, dealv[2:] == dealv[:-2]]
        back = same_deal2 & np.r_[False, False, stage[2:] == stage[:-2]] & np.r_[False, stage[1:] != stage[:-1]]
    else:
        back = np.zeros(n, bool)
    per_move = pd.DataFrame(
        {
            "deal_id": moves["deal_id"].to_numpy(),
            "movements": 1,
            "regressions": (moves["kind"] == "regression").to_numpy().astype("int64"),
            "back_and_forth": back.astype("int64"),
        }
    )
    stage_counts = per_move.groupby("deal_id", sort=False)[["movements", "regressions", "back_and_forth"]].sum()

    changes = classify_close_date_changes(log)
    kind = changes["kind"].to_numpy()
    per_change = pd.DataFrame(
        {
            "deal_id": changes["deal_id"].to_numpy(),
            "close_date_changes": (kind != "first").astype("int64"),
            "close_date_pushes": (kind == "push").astype("int64"),
            "days_pushed": np.where(kind == "push", changes["days"].to_numpy(), 0),
            "close_date_pulls": (kind == "pull").astype("int64"),
            "longest_push": np.where(kind == "push", changes["days"].to_numpy(), 0),
        }
    )
    grouped = per_change.groupby("deal_id", sort=False)
    close_counts = grouped[["close_date_changes", "close_date_pushes", "days_pushed", "close_date_pulls"]].sum()
    close_counts["longest_push"] = grouped["longest_push"].max()

    table = log.deals[["deal_id", "owner"]].set_index("deal_id").join(stage_counts).join(close_counts)
    counts = [c for c in table.columns if c != "owner"]
    table[counts] = table[counts].fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        table["regression_share"] = np.where(
            table["movements"] > 0, table["regressions"] / table["movements"].where(table["movements"] > 0), np.nan
        )
    table["serial_pusher"] = table["close_date_pushes"] >= serial_threshold
    columns = [
        "owner",
        "movements",
        "regressions",
        "regression_share",
        "back_and_forth",
        "close_date_changes",
        "close_date_pushes",
        "days_pushed",
        "close_date_pulls",
        "longest_push",
        "serial_pusher",
    ]
    return table[columns].sort_index(kind="stable"), changes


@renamed(n="serial_threshold")
def serial_pushers(log: SalesLog, as_of=None, serial_threshold: int = 3) -> pd.DataFrame:
    """The deals whose close date was pushed at least ``serial_threshold`` times by ``as_of`` (rows of
    :func:`deal_slippage`); ``n`` is its name before 0.2.0 (the threshold is ``serial_threshold`` everywhere).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> len(serial_pushers(sm.read_log("datasets/demo"), as_of="2025-06-30", serial_threshold=5))
    42
    """
    deals = deal_slippage(log, as_of, serial_threshold=serial_threshold)
    return deals[deals["serial_pusher"]]


@dataclass(frozen=True)
class Slippage:
    """The result of :func:`slippage`: per-deal table, per-owner sums, every push, and the push-length bins."""

    deals: pd.DataFrame
    owners: pd.DataFrame
    pushes: pd.DataFrame
    distribution: pd.DataFrame
    share_near_30: float
    as_of: pd.Timestamp
    serial_threshold: int

    @property
    def serial_pushers(self) -> pd.DataFrame:
        return self.deals[self.deals["serial_pusher"]]

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>Slippage</b> at {html.escape(str(self.as_of))}: {len(self.pushes):,} pushes, "
            f"{len(self.serial_pushers):,} deals pushed {self.serial_threshold}+ times, "
            f"{self.share_near_30:.0%} of pushes about 30 days.</p>"
        )
        return head + self.owners.to_html(float_format=lambda v: f"{v:.3f}") + self.distribution.to_html()


def slippage(log: SalesLog, as_of=None, serial_threshold: int = 3, edges=DEFAULT_EDGES) -> Slippage:
    """Everything in this module at once; ``owners`` sums the per-deal counts of each owner.

    Owner columns: ``deals, movements, regressions, regression_share, back_and_forth, close_date_pushes,
    days_pushed, close_date_pulls, serial_pushers, serial_pusher_share, pushes_per_deal``.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> res = slippage(sm.read_log("datasets/demo"), as_of="2025-06-30")
    >>> round(res.share_near_30, 2), len(res.serial_pushers)
    (0.31, 127)
    """
    if int(serial_threshold) != serial_threshold or serial_threshold < 1:
        raise UsageError(f"serial_threshold must be a whole number of pushes, 1 or more, not {serial_threshold!r}.")
    as_of = resolve_as_of(log, as_of)
    deals, changes = deals_and_changes(truncate(log, as_of), as_of, serial_threshold)
    sums = ["movements", "regressions", "back_and_forth", "close_date_pushes", "days_pushed", "close_date_pulls"]
    frame = deals[["owner", *sums]].assign(deals=1, serial_pushers=deals["serial_pusher"].astype("int64"))
    owners = frame.groupby("owner", sort=True)[["deals", *sums, "serial_pushers"]].sum()
    owners["regression_share"] = owners["regressions"] / owners["movements"].where(owners["movements"] > 0)
    owners["serial_pusher_share"] = owners["serial_pushers"] / owners["deals"]
    owners["pushes_per_deal"] = owners["close_date_pushes"] / owners["deals"]
    pushes = changes[changes["kind"] == "push"].reset_index(drop=True)
    return Slippage(
        deals=deals,
        owners=owners,
        pushes=pushes,
        distribution=bin_push_lengths(pushes["days"], edges),
        share_near_30=share_near(pushes["days"]),
        as_of=as_of,
        serial_threshold=int(serial_threshold),
    )


__all__ = [
    "CHANGE_KINDS",
    "DEFAULT_EDGES",
    "Slippage",
    "bin_push_lengths",
    "classify_close_date_changes",
    "close_date_changes_classified",
    "deal_slippage",
    "deals_and_changes",
    "push_lengths",
    "serial_pushers",
    "share_near",
    "slippage",
]
