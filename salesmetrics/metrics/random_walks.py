"""Random walks and slippage: deals that go back and forth between stages, and close dates that keep moving.

A deal that is really progressing moves one way through the stages and keeps its expected close date. A deal
on a random walk bounces between two stages (A -> B -> A), loses ground as often as it gains it, and has its
close date pushed out again and again, often by about a month each time. The per-deal numbers here make those
patterns countable.

Definitions are in ``docs/metrics.md``; what counts as a push is argued in
``docs/decisions/0010-pushes.md``. :func:`close_date_changes_classified` is the one place a close-date change
is classified; other metrics (``close_date_pushes`` in the per-deal score) should reuse it.
:func:`slippage_report` gathers everything the ``slippage`` report notebook shows (``docs/decisions/0023``).
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.log.coverage import LogCoverage, log_coverage, note_axes, table_or_note
from salesmetrics.log.prepare import resolve_as_of, stage_entries, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.reports.tables import first

CHANGE_KINDS = ("first", "push", "pull", "same")
DEFAULT_EDGES = (0, 7, 14, 21, 27, 34, 45, 60, 90, 180, np.inf)
_DAY_US = 86_400_000_000


def _days(times: pd.Series) -> np.ndarray:
    """Calendar days since 1970-01-01 of each (midnight, tz-aware) close date, as int64; DST-safe."""
    local = times.dt.tz_localize(None).dt.as_unit("us").array.asi8
    return np.floor_divide(local, _DAY_US)


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
    return _classified(truncate(log, as_of))


def _classified(log: SalesLog) -> pd.DataFrame:
    """:func:`close_date_changes_classified` on a log already truncated at ``as_of``."""
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
    return _deal_slippage(truncate(log, as_of), as_of, serial_threshold)[0]


def _deal_slippage(log: SalesLog, as_of: pd.Timestamp, serial_threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-deal table, classified close-date changes) on a log already truncated at ``as_of``."""
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

    changes = _classified(log)
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


def serial_pushers(log: SalesLog, as_of=None, n: int = 3) -> pd.DataFrame:
    """The deals whose close date was pushed at least ``n`` times by ``as_of`` (rows of :func:`deal_slippage`).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> len(serial_pushers(sm.read_log("datasets/demo"), as_of="2025-06-30", n=5))
    42
    """
    deals = deal_slippage(log, as_of, serial_threshold=n)
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
    deals, changes = _deal_slippage(truncate(log, as_of), as_of, serial_threshold)
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


# ---------------------------------------------------------------------------------------------- the report


NO_TEAM = "(no team)"
STATUSES = ("open", "won", "lost", "no stage history")
PERIOD_NAMES = {"W": "week", "M": "month", "Q": "quarter"}


@dataclass(frozen=True)
class SlippageReport:
    """Everything the ``slippage`` report shows, computed once (see :func:`slippage_report`).

    ``deals`` is :func:`deal_slippage` plus the group, the ``status`` at ``as_of`` (one of :data:`STATUSES`),
    the latest ``expected_close_date``, ``pulled_in`` (pulls made while the deal was open) and
    ``random_walk`` (at least one A -> B -> A). ``changes`` is every classified close-date change with the
    group, the ``period`` and ``deal_state`` (``open`` or ``closed`` at the moment of the change). ``periods``
    counts pushes and pulls per period; ``groups`` per owner or team. ``notes`` say what the log cannot show.
    ``as_of`` is None only for a log without any dated event.
    """

    as_of: pd.Timestamp | None
    period: str
    group_by: str
    serial_threshold: int
    target_days: float
    tolerance_days: float
    top_n: int
    deals: pd.DataFrame
    changes: pd.DataFrame
    periods: pd.DataFrame
    groups: pd.DataFrame
    distribution: pd.DataFrame
    share_near_target: float
    notes: tuple[str, ...]
    coverage: LogCoverage

    # ------------------------------------------------------------------ derived tables

    @property
    def pushes(self) -> pd.DataFrame:
        """Every push (a later expected close date), with its ``days``."""
        return self.changes[self.changes["kind"] == "push"].reset_index(drop=True)

    @property
    def serial_pushers(self) -> pd.DataFrame:
        """Deals pushed ``serial_threshold`` or more times, open deals first, most pushes first."""
        d = self.deals[self.deals["serial_pusher"]]
        return self._worst_first(d)

    @property
    def pulled_in_deals(self) -> pd.DataFrame:
        """Deals whose expected close date was brought forward while they were open, most pulls first."""
        d = self.deals[self.deals["pulled_in"] > 0]
        return d.sort_values(["pulled_in", "deal_id"], ascending=[False, True], kind="stable")

    @property
    def random_walkers(self) -> pd.DataFrame:
        """Deals that went back and forth between two stages (A -> B -> A), most back-and-forths first."""
        d = self.deals[self.deals["back_and_forth"] > 0]
        return d.sort_values(["back_and_forth", "deal_id"], ascending=[False, True], kind="stable")

    @property
    def walk_deals(self) -> pd.DataFrame:
        """The ``top_n`` most-pushed deals (open deals first) shown in the random-walk view."""
        return self._worst_first(self.deals[self.deals["close_date_pushes"] > 0]).head(self.top_n)

    @staticmethod
    def _worst_first(d: pd.DataFrame) -> pd.DataFrame:
        key = d.assign(_open=d["status"] == "open").reset_index()
        key = key.sort_values(
            ["_open", "close_date_pushes", "days_pushed", "deal_id"], ascending=[False, False, False, True]
        )
        return d.loc[key["deal_id"]]

    @property
    def window(self) -> tuple[float, float]:
        """The push lengths counted as "about a month": ``target_days`` plus or minus ``tolerance_days``."""
        return self.target_days - self.tolerance_days, self.target_days + self.tolerance_days

    # ------------------------------------------------------------------ words

    def narrative(self) -> str:
        """A few plain sentences computed from the numbers; what cannot be shown is said, not hidden."""
        if self.as_of is None:
            return " ".join(self.notes)
        d = self.deals
        open_deals = d[d["status"] == "open"]
        lines = []
        g = self.group_by
        if self.coverage.has("close_dates"):
            serial = d[d["serial_pusher"]]
            serial_open = serial[serial["status"] == "open"]
            lines.append(
                f"As of {self.as_of:%Y-%m-%d}, {len(serial_open):,} of {len(open_deals):,} open deals were pushed "
                f"{self.serial_threshold} or more times ({len(serial):,} of {len(d):,} deals in all)."
            )
            pushes = self.pushes
            if len(pushes):
                lo, hi = self.window
                lines.append(
                    f"{self.share_near_target:.0%} of the {len(pushes):,} pushes were {lo:g} to {hi:g} days long "
                    f"(a date moved out by about {self.target_days:g} days at a time); the median push is "
                    f"{pushes['days'].median():g} days."
                )
            else:
                lines.append("No close date was pushed out.")
            who = self.groups[self.groups["open_serial_pushers"] > 0]
            column = "open_serial_pushers"
            if who.empty:
                who, column = self.groups[self.groups["serial_pushers"] > 0], "serial_pushers"
            if len(who):
                who = who.sort_values([column, g], ascending=[False, True])
                top = ", ".join(f"{row[g]} ({row[column]})" for _, row in who.head(3).iterrows())
                kind = "open serial pushers" if column == "open_serial_pushers" else "serial pushers"
                lines.append(f"The {kind} sit with {len(who)} of {_n(len(self.groups), g)}; most with {top}.")
            pulls = self.changes[self.changes["kind"] == "pull"]
            pulled = d[d["pulled_in"] > 0]
            at_close = int((pulls["deal_state"] == "closed").sum())
            if len(pulled):
                more = f"; {_n(at_close, 'more pull')} came at the close, setting the date to the day the deal closed"
                lines.append(
                    f"{_n(len(pulled), 'deal')} had the close date brought forward while open (pulled in), "
                    f"{_n(int(d['pulled_in'].sum()), 'time')} in all{more if at_close else ''}."
                )
            elif at_close:
                lines.append(
                    f"No deal had its close date brought forward while open; {'all ' if at_close > 1 else ''}"
                    f"{_n(at_close, 'pull')} came at the close, setting the date to the day the deal closed."
                )
            else:
                lines.append("No close date was brought forward.")
        else:
            lines.append(f"As of {self.as_of:%Y-%m-%d}, {len(open_deals):,} of {len(d):,} deals are open.")
        if self.coverage.has("stage_changes"):
            walkers = d[d["back_and_forth"] > 0]
            if len(walkers):
                still = int((walkers["status"] == "open").sum())
                lines.append(
                    f"{_n(len(walkers), 'deal')} went back and forth between two stages (A to B and back to A), "
                    f"{_n(int(walkers['back_and_forth'].sum()), 'time')} in all; {still:,} of them still open."
                )
            elif self.coverage.history == "partial":
                lines.append("With a partial stage history, deals going back and forth between stages cannot be seen.")
            else:
                lines.append("No deal went back and forth between two stages.")
        return " ".join([*lines, *self.notes])

    def table(self, name: str, n: int = 20):
        """A table of the report for a notebook: ``serial_pushers``, ``pulled_in``, ``random_walkers`` or
        ``groups`` (first ``n`` rows), or a :class:`~salesmetrics.log.coverage.Note` saying why it is empty."""
        g = self.group_by
        no_dates = " ".join(self.coverage.missing("dates", "close_dates"))
        tables = {
            "serial_pushers": (
                self.serial_pushers,
                [g, "status", "close_date_pushes", "days_pushed", "longest_push", "expected_close_date"],
                no_dates or f"No deal was pushed {self.serial_threshold} or more times.",
            ),
            "pulled_in": (
                self.pulled_in_deals,
                [g, "status", "pulled_in", "close_date_pulls", "close_date_pushes", "expected_close_date"],
                no_dates or "No deal had its close date brought forward while it was open.",
            ),
            "random_walkers": (
                self.random_walkers,
                [g, "status", "back_and_forth", "regressions", "movements", "regression_share"],
                " ".join(self.coverage.missing("dates", "stage_changes"))
                or (
                    "With a partial stage history, deals going back and forth between stages cannot be seen."
                    if self.coverage.history == "partial"
                    else "No deal went back and forth between two stages."
                ),
            ),
            "groups": (
                self.groups.sort_values(["open_serial_pushers", "serial_pushers", g], ascending=[False, False, True]),
                list(self.groups.columns),
                "The report holds no deals.",
            ),
        }
        if name not in tables:
            raise UsageError(f"No table {name!r}; tables: {', '.join(tables)}.")
        frame, columns, message = tables[name]
        out = first(frame[list(dict.fromkeys(columns))], n)  # the table says "20 of 66"
        if "expected_close_date" in out:
            out = out.assign(expected_close_date=out["expected_close_date"].dt.strftime("%Y-%m-%d"))
        return table_or_note(out, message)

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.narrative())}</p>" + self.groups.to_html(
            index=False, float_format=lambda v: f"{v:.2f}"
        )

    # ------------------------------------------------------------------ figures

    def _note(self, ax, title: str) -> object | None:
        """A note in place of a figure about close dates when the log cannot show it, else None."""
        if self.as_of is None or not self.coverage.has("close_dates"):
            return note_axes(ax, title, " ".join(self.coverage.missing("dates", "close_dates")))
        return None

    def plot_periods(self, ax=None):
        """Close-date pushes and pulls per period (pulls split into pulled in while open and set at the close)."""
        import matplotlib.pyplot as plt

        title = f"Close-date changes per {PERIOD_NAMES[self.period]}"
        if (note := self._note(ax, title)) is not None:
            return note
        ax = ax or plt.subplots(figsize=(9, 4))[1]
        per = self.periods
        x = np.arange(len(per))
        ax.bar(x, per["pushes"], color="tab:red", label="pushed out")
        ax.bar(x, -per["pulled_in"], color="tab:green", label="pulled in while open")
        ax.bar(
            x,
            -per["pulls_at_close"],
            bottom=-per["pulled_in"],
            color="tab:gray",
            alpha=0.5,
            label="pulled in at the close",
        )
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(x, per["period"], rotation=45, ha="right")
        ax.set(
            title=title,
            xlabel=f"{PERIOD_NAMES[self.period]} of the change",
            ylabel="close-date changes (count; pulls below 0)",
        )
        ax.legend(loc="upper left", fontsize="small")
        ax.figure.tight_layout()
        return ax

    def plot_push_lengths(self, ax=None, max_days: int = 120):
        """Histogram of push lengths in days, the "about a month" window shaded."""
        import matplotlib.pyplot as plt

        title = "Push lengths"
        if (note := self._note(ax, title)) is not None:
            return note
        days = self.pushes["days"]
        if days.empty:
            return note_axes(ax, title, "No close date was pushed out, so there are no push lengths to show.")
        ax = ax or plt.subplots(figsize=(8, 4))[1]
        shown = days[days <= max_days]
        right = int(min(max_days, max(shown.max() if len(shown) else 0, self.target_days + self.tolerance_days)))
        edges = np.arange(0.5, right + 1.5)  # one bar per whole day
        ax.hist(shown.to_numpy(), bins=edges, color="tab:red", alpha=0.8, edgecolor="white", linewidth=0.3)
        lo, hi = self.window
        ax.axvspan(
            lo - 0.5,
            hi + 0.5,
            color="gold",
            alpha=0.3,
            label=f"{lo:g} to {hi:g} days: {self.share_near_target:.0%} of pushes",
        )
        ax.axvline(self.target_days, color="black", linestyle="--", linewidth=1)
        over = int((days > max_days).sum())
        extra = f" ({over} longer than {max_days} days not shown)" if over else ""
        ax.set(title=f"{title}: {len(days):,} pushes{extra}", xlabel="push length (days)", ylabel="pushes (count)")
        ax.legend(loc="upper right", fontsize="small")
        return ax

    def plot_groups(self, ax=None, top: int = 20):
        """Serial pushers per owner or team (open and closed deals), the ``top`` groups with the most."""
        import matplotlib.pyplot as plt

        title = f"Serial pushers by {self.group_by} (deals pushed {self.serial_threshold}+ times)"
        if (note := self._note(ax, title)) is not None:
            return note
        g = self.groups[self.groups["serial_pushers"] > 0]
        if g.empty:
            return note_axes(ax, title, f"No deal was pushed {self.serial_threshold} or more times.")
        g = g.sort_values(["serial_pushers", self.group_by], ascending=[True, False]).tail(top)
        ax = ax or plt.subplots(figsize=(8, max(2.5, 0.3 * len(g) + 1)))[1]
        names = g[self.group_by].astype(str)
        ax.barh(names, g["open_serial_pushers"], color="tab:red", label="still open")
        ax.barh(
            names,
            g["serial_pushers"] - g["open_serial_pushers"],
            left=g["open_serial_pushers"],
            color="tab:gray",
            alpha=0.6,
            label="closed",
        )
        ax.set(title=title, xlabel="serial-pusher deals (count)", ylabel=self.group_by)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="lower right", fontsize="small")
        ax.figure.tight_layout()
        return ax

    def plot_walks(self, ax=None):
        """A random-walk view: each of the most-pushed deals' expected close date over time, as it was changed."""
        import matplotlib.pyplot as plt

        title = "Expected close date over time: the most-pushed deals"
        if (note := self._note(ax, title)) is not None:
            return note
        deals = self.walk_deals
        if deals.empty:
            return note_axes(ax, title, "No close date was pushed out, so no deal's date walked away.")
        ax = ax or plt.subplots(figsize=(9, 5))[1]
        changes = self.changes[self.changes["deal_id"].isin(deals.index)]
        for deal_id in deals.index:
            one = changes[changes["deal_id"] == deal_id]
            times = pd.concat([one["changed_at"], pd.Series([self.as_of])], ignore_index=True)
            dates = pd.concat([one["close_date"], one["close_date"].tail(1)], ignore_index=True)
            row = deals.loc[deal_id]
            ax.step(
                times.dt.tz_localize(None),
                dates.dt.tz_localize(None),
                where="post",
                marker="o",
                markersize=3,
                label=f"{deal_id} ({row['status']}, {row['close_date_pushes']} pushes)",
            )
        lo = changes["changed_at"].min().tz_localize(None)
        hi = self.as_of.tz_localize(None)
        ax.plot([lo, hi], [lo, hi], color="gray", linestyle=":", label="close date = date of the change")
        ax.set(title=f"{title} ({len(deals)})", xlabel="date of the change", ylabel="expected close date")
        ax.legend(loc="upper left", fontsize="x-small")
        ax.tick_params(axis="x", rotation=30)
        ax.figure.tight_layout()
        return ax


def _n(count: int, word: str) -> str:
    """``1 deal``, ``2 deals``, ``1,200 deals``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _status(entries: pd.DataFrame, model, deal_ids: pd.Index) -> pd.Series:
    """Each deal's status at the end of ``entries``: open, won, lost or no stage history."""
    moves = entries[entries["kind"] != "repeat"]
    last = moves.groupby("deal_id", sort=False)["stage"].last()
    status = pd.Series(
        np.select([last.isin(model.won), last.isin(model.lost)], ["won", "lost"], default="open"), index=last.index
    )
    return status.reindex(deal_ids).fillna("no stage history").astype("str")


def _state_at_change(changes: pd.DataFrame, entries: pd.DataFrame, model) -> np.ndarray:
    """``open`` or ``closed``: the deal's state when each change was made (a change at the closing moment is
    made on a closed deal; one before the first stage entry on an open one)."""
    if not len(changes):
        return np.zeros(0, dtype=object)
    moves = entries.loc[entries["kind"] != "repeat", ["deal_id", "changed_at", "stage"]]
    left = changes[["deal_id", "changed_at"]].assign(_row=np.arange(len(changes))).sort_values("changed_at")
    if len(moves):
        right = moves.rename(columns={"changed_at": "moved_at"}).sort_values("moved_at")
        merged = pd.merge_asof(
            left, right, left_on="changed_at", right_on="moved_at", by="deal_id", allow_exact_matches=True
        )
        closed = merged["stage"].isin([*model.won, *model.lost]).to_numpy()
    else:
        merged, closed = left, np.zeros(len(left), bool)
    out = np.empty(len(changes), dtype=object)
    out[merged["_row"].to_numpy()] = np.where(closed, "closed", "open")
    return out


def slippage_report(
    log: SalesLog,
    as_of=None,
    *,
    owner: str | None = None,
    team: str | None = None,
    period: str = "M",
    group_by: str = "owner",
    serial_threshold: int = 3,
    target_days: float = 30,
    tolerance_days: float = 3,
    top_n: int = 8,
) -> SlippageReport:
    """Everything the slippage report shows: pushes, serial pushers, pulled-in deals and random walks.

    ``owner``/``team`` restrict the log (:func:`salesmetrics.reports.health.filter_log`); ``group_by`` (``owner`` or
    ``team``) is how serial pushers are compared; ``period`` (W, M, Q) buckets the close-date changes by the
    day they were made. A pull made while the deal was open counts as *pulled in*; a pull made at (or after)
    the deal's closing movement is the close date set to the day it closed, and is counted apart
    (``docs/decisions/0023-slippage-report.md``). ``target_days`` plus or minus ``tolerance_days`` is the
    "about a month" window of :func:`share_near`. ``top_n`` deals are drawn in the random-walk view.

    A log without close-date changes, stage changes or any date still gives a report: the tables it cannot
    fill are empty and ``notes`` (and the narrative) say why.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> r = slippage_report(sm.read_log("datasets/demo"), as_of="2025-06-30")
    >>> r.narrative().split(".")[0]
    'As of 2025-06-30, 18 of 147 open deals were pushed 3 or more times (127 of 2,000 deals in all)'
    """
    from salesmetrics.metrics.movement import check_period, local_us, period_index, period_labels
    from salesmetrics.reports.health import filter_log

    check_period(period)
    if group_by not in ("owner", "team"):
        raise UsageError(f"group_by must be 'owner' or 'team', not {group_by!r}.")
    if int(serial_threshold) != serial_threshold or serial_threshold < 1:
        raise UsageError(f"serial_threshold must be a whole number of pushes, 1 or more, not {serial_threshold!r}.")
    if not (target_days > 0 and tolerance_days >= 0):
        raise UsageError("target_days must be above 0 and tolerance_days 0 or more (e.g. 30 and 3).")
    if int(top_n) != top_n or top_n < 1:
        raise UsageError(f"top_n must be a whole number of deals, 1 or more, not {top_n!r}.")
    log = filter_log(log, owner=owner, team=team)
    cover = log_coverage(log)
    notes = cover.missing("dates", "stage_changes", "close_dates")
    if cover.partial_note:
        notes.append(cover.partial_note)
    if as_of is None and not cover.dated:
        stamp = None
        cut_at = pd.Timestamp(0, tz=log.model.timezone)  # nothing is dated: every table comes out empty
    else:
        stamp = cut_at = resolve_as_of(log, as_of)
    cut = truncate(log, cut_at)
    deals, changes = _deal_slippage(cut, cut_at, int(serial_threshold))
    entries = stage_entries(cut, cut_at) if len(cut.stage_changes) else cut.stage_changes.assign(kind="")

    labels = cut.deals.set_index("deal_id")[group_by] if group_by in cut.deals else pd.Series(dtype="str")
    labels = labels.fillna(NO_TEAM).astype("str") if group_by == "team" else labels.astype("str")
    if group_by != "owner":
        deals.insert(1, group_by, labels.reindex(deals.index).fillna(NO_TEAM).astype("str"))
    deals["status"] = _status(entries, cut.model, deals.index)
    changes[group_by] = changes["deal_id"].map(labels).fillna("(unknown deal)").astype("str")
    changes["deal_state"] = pd.Series(_state_at_change(changes, entries, cut.model), dtype="str")
    pidx = period_index(local_us(changes["changed_at"]), period)
    changes["period"] = pd.Series(period_labels(pidx, period), dtype="str")
    changes["pulled_in"] = (changes["kind"] == "pull") & (changes["deal_state"] == "open")
    expected = changes.groupby("deal_id", sort=False)["close_date"].last()
    deals["expected_close_date"] = expected.reindex(deals.index)
    pulled = changes[changes["pulled_in"]].groupby("deal_id").size()
    deals["pulled_in"] = pulled.reindex(deals.index).fillna(0).astype("int64")
    deals["random_walk"] = deals["back_and_forth"] > 0

    # per period, every period from the first change to as_of
    if len(changes):
        last = int(period_index(local_us(pd.Series([cut_at])), period)[0])
        grid = np.arange(int(pidx.min()), max(last, int(pidx.max())) + 1)
        frame = changes.assign(
            _k=pidx,
            pushes=changes["kind"] == "push",
            pulled_in=changes["pulled_in"],
            pulls_at_close=(changes["kind"] == "pull") & (changes["deal_state"] == "closed"),
            days_pushed=changes["days"].where(changes["kind"] == "push", 0),
        )
        per = frame.groupby("_k")[["pushes", "pulled_in", "pulls_at_close", "days_pushed"]].sum().reindex(grid)
        per = per.fillna(0).astype("int64")
        per["deals_pushed"] = frame[frame["pushes"]].groupby("_k")["deal_id"].nunique().reindex(grid).fillna(0)
        per["deals_pushed"] = per["deals_pushed"].astype("int64")
        per.insert(0, "period", period_labels(grid, period))
        periods = per.reset_index(drop=True)
    else:
        periods = pd.DataFrame(
            {c: pd.Series(dtype="int64") for c in ("pushes", "pulled_in", "pulls_at_close", "days_pushed")}
        )
        periods.insert(0, "period", pd.Series(dtype="str"))
        periods["deals_pushed"] = pd.Series(dtype="int64")

    # per group
    frame = deals.assign(
        _group=deals[group_by].astype("str"),
        deals=1,
        open_deals=deals["status"] == "open",
        pushed_deals=deals["close_date_pushes"] > 0,
        serial_pushers=deals["serial_pusher"],
        open_serial_pushers=deals["serial_pusher"] & (deals["status"] == "open"),
        random_walkers=deals["random_walk"],
    )
    sums = [
        "deals",
        "open_deals",
        "close_date_pushes",
        "pushed_deals",
        "serial_pushers",
        "open_serial_pushers",
        "pulled_in",
        "back_and_forth",
        "random_walkers",
        "movements",
        "regressions",
    ]
    groups = frame.groupby("_group", sort=True)[sums].sum().astype("int64")
    groups.index.name = group_by
    groups = groups.reset_index()
    groups[group_by] = groups[group_by].astype("str")
    groups["pushes_per_deal"] = groups["close_date_pushes"] / groups["deals"].where(groups["deals"] > 0)
    groups["open_serial_share"] = groups["open_serial_pushers"] / groups["open_deals"].where(groups["open_deals"] > 0)
    groups["regression_share"] = groups["regressions"] / groups["movements"].where(groups["movements"] > 0)

    days = changes.loc[changes["kind"] == "push", "days"]
    return SlippageReport(
        as_of=stamp,
        period=period,
        group_by=group_by,
        serial_threshold=int(serial_threshold),
        target_days=float(target_days),
        tolerance_days=float(tolerance_days),
        top_n=int(top_n),
        deals=deals,
        changes=changes,
        periods=periods,
        groups=groups,
        distribution=bin_push_lengths(days),
        share_near_target=share_near(days, target_days, tolerance_days),
        notes=tuple(notes),
        coverage=cover,
    )


__all__ = [
    "CHANGE_KINDS",
    "DEFAULT_EDGES",
    "STATUSES",
    "Slippage",
    "SlippageReport",
    "bin_push_lengths",
    "close_date_changes_classified",
    "deal_slippage",
    "push_lengths",
    "serial_pushers",
    "share_near",
    "slippage",
    "slippage_report",
]
