"""The ``slippage`` report: close-date pushes, serial pushers, pulled-in deals and random walks, computed once
(:func:`slippage_report`) and put into words and figures for the notebook (``docs/decisions/0023-slippage-report.md``).
The metrics themselves are in :mod:`salesmetrics.metrics.random_walks`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed, renamed_attribute
from salesmetrics._util.text import plural
from salesmetrics.exceptions import UsageError
from salesmetrics.log.coverage import LogCoverage, log_coverage, note_axes, table_or_note
from salesmetrics.log.prepare import filter_log, resolve_as_of, stage_entries, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.movement import PERIOD_NAMES, check_period, local_us, period_index, period_labels
from salesmetrics.metrics.random_walks import bin_push_lengths, deals_and_changes, share_near
from salesmetrics.metrics.stays import NO_TEAM, UNKNOWN_DEAL
from salesmetrics.reports.tables import beside_peers, first

STATUSES = ("open", "won", "lost", "no stage history")


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
    by: str
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
    owner: str | None = None  # an owner page: ``peers`` sets the rep beside the other owners and the team
    peers: pd.DataFrame | None = None

    # ------------------------------------------------------------------ derived tables

    group_by = renamed_attribute("group_by", "by")

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
        g = self.by
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
            if self.peers is not None:  # an owner page: the rep beside the team, not "1 of 1 owner"
                lines.append(self._beside_team_sentence())
            elif len(who):
                who = who.sort_values([column, g], ascending=[False, True])
                top = ", ".join(f"{row[g]} ({row[column]})" for _, row in who.head(3).iterrows())
                kind = "open serial pushers" if column == "open_serial_pushers" else "serial pushers"
                lines.append(f"The {kind} sit with {len(who)} of {plural(len(self.groups), g)}; most with {top}.")
            pulls = self.changes[self.changes["kind"] == "pull"]
            pulled = d[d["pulled_in"] > 0]
            at_close = int((pulls["deal_state"] == "closed").sum())
            if len(pulled):
                more = (
                    f"; {plural(at_close, 'more pull')} came at the close, setting the date to the day the deal closed"
                )
                lines.append(
                    f"{plural(len(pulled), 'deal')} had the close date brought forward while open (pulled in), "
                    f"{plural(int(d['pulled_in'].sum()), 'time')} in all{more if at_close else ''}."
                )
            elif at_close:
                lines.append(
                    f"No deal had its close date brought forward while open; {'all ' if at_close > 1 else ''}"
                    f"{plural(at_close, 'pull')} came at the close, setting the date to the day the deal closed."
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
                    f"{plural(len(walkers), 'deal')} went back and forth between two stages (A to B and back to A), "
                    f"{plural(int(walkers['back_and_forth'].sum()), 'time')} in all; {still:,} of them still open."
                )
            elif self.coverage.history == "partial":
                lines.append("With a partial stage history, deals going back and forth between stages cannot be seen.")
            else:
                lines.append("No deal went back and forth between two stages.")
        return " ".join([*lines, *self.notes])

    def _beside_team_sentence(self) -> str:
        """An owner page: the rep's serial pushers against the median of the other owners and the team's total."""
        p = self.peers.set_index(self.by)
        mine = int(p.loc[self.owner, "serial_pushers"]) if self.owner in p.index else 0
        text = f"{self.owner} has {plural(mine, 'serial pusher')}"
        median = [str(i) for i in p.index if str(i).startswith("median of the ")]
        if median:
            value = float(p.loc[median[0], "serial_pushers"])
            text += f", against a median of {value:g} for the {median[0].removeprefix('median of the ')}"
        return text + f" ({float(p.iloc[-1]['serial_pushers']):,.0f} in the whole team)."

    @renamed(n="top_n")
    def table(self, name: str, top_n: int = 20):
        """A table of the report for a notebook: ``serial_pushers``, ``pulled_in``, ``random_walkers`` or
        ``groups`` (first ``top_n`` rows), or a :class:`~salesmetrics.log.coverage.Note` saying why it is empty."""
        g = self.by
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
                self.peers  # the rep, the other owners' median, the team: in that order
                if self.peers is not None
                else self.groups.sort_values(
                    ["open_serial_pushers", "serial_pushers", g], ascending=[False, False, True]
                ),
                list(self.groups.columns),
                "The report holds no deals.",
            ),
        }
        if name not in tables:
            raise UsageError(f"No table {name!r}; tables: {', '.join(tables)}.")
        frame, columns, message = tables[name]
        out = first(frame[list(dict.fromkeys(columns))], top_n)  # the table says "20 of 66"
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

    @renamed(top="top_n")
    def plot_groups(self, ax=None, top_n: int = 20):
        """Serial pushers per owner or team (open and closed deals), the ``top_n`` groups with the most."""
        import matplotlib.pyplot as plt

        title = f"Serial pushers by {self.by} (deals pushed {self.serial_threshold}+ times)"
        if (note := self._note(ax, title)) is not None:
            return note
        g = self.groups[self.groups["serial_pushers"] > 0]
        if g.empty:
            return note_axes(ax, title, f"No deal was pushed {self.serial_threshold} or more times.")
        g = g.sort_values(["serial_pushers", self.by], ascending=[True, False]).tail(top_n)
        ax = ax or plt.subplots(figsize=(8, max(2.5, 0.3 * len(g) + 1)))[1]
        names = g[self.by].astype(str)
        ax.barh(names, g["open_serial_pushers"], color="tab:red", label="still open")
        ax.barh(
            names,
            g["serial_pushers"] - g["open_serial_pushers"],
            left=g["open_serial_pushers"],
            color="tab:gray",
            alpha=0.6,
            label="closed",
        )
        ax.set(title=title, xlabel="serial-pusher deals (count)", ylabel=self.by)
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


@renamed(group_by="by")
def slippage_report(
    log: SalesLog,
    as_of=None,
    *,
    owner: str | None = None,
    team: str | None = None,
    period: str = "M",
    by: str = "owner",
    serial_threshold: int = 3,
    target_days: float = 30,
    tolerance_days: float = 3,
    top_n: int = 8,
) -> SlippageReport:
    """Everything the slippage report shows: pushes, serial pushers, pulled-in deals and random walks.

    ``owner``/``team`` restrict the log (:func:`salesmetrics.log.prepare.filter_log`); ``by`` (``owner`` or
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
    check_period(period)
    if by not in ("owner", "team"):
        raise UsageError(f"by must be 'owner' or 'team', not {by!r}.")
    if int(serial_threshold) != serial_threshold or serial_threshold < 1:
        raise UsageError(f"serial_threshold must be a whole number of pushes, 1 or more, not {serial_threshold!r}.")
    if not (target_days > 0 and tolerance_days >= 0):
        raise UsageError("target_days must be above 0 and tolerance_days 0 or more (e.g. 30 and 3).")
    if int(top_n) != top_n or top_n < 1:
        raise UsageError(f"top_n must be a whole number of deals, 1 or more, not {top_n!r}.")
    full = log
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
    deals, changes = deals_and_changes(cut, cut_at, int(serial_threshold))
    entries = stage_entries(cut, cut_at) if len(cut.stage_changes) else cut.stage_changes.assign(kind="")

    labels = cut.deals.set_index("deal_id")[by] if by in cut.deals else pd.Series(dtype="str")
    labels = labels.fillna(NO_TEAM).astype("str") if by == "team" else labels.astype("str")
    if by != "owner":
        deals.insert(1, by, labels.reindex(deals.index).fillna(NO_TEAM).astype("str"))
    deals["status"] = _status(entries, cut.model, deals.index)
    changes[by] = changes["deal_id"].map(labels).fillna(UNKNOWN_DEAL).astype("str")
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
        _group=deals[by].astype("str"),
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
    groups.index.name = by
    groups = groups.reset_index()
    groups[by] = groups[by].astype("str")
    groups["pushes_per_deal"] = groups["close_date_pushes"] / groups["deals"].where(groups["deals"] > 0)
    groups["open_serial_share"] = groups["open_serial_pushers"] / groups["open_deals"].where(groups["open_deals"] > 0)
    groups["regression_share"] = groups["regressions"] / groups["movements"].where(groups["movements"] > 0)

    days = changes.loc[changes["kind"] == "push", "days"]
    peers = None
    if owner not in (None, "") and by == "owner" and stamp is not None and full is not log:
        # an owner page compares the rep with the team, never with itself (ADR 0037): the team's groups, once more
        team = slippage_report(full, stamp, serial_threshold=serial_threshold, target_days=target_days,
                               tolerance_days=tolerance_days)  # fmt: skip
        shares = {"pushes_per_deal": ("close_date_pushes", "deals"), "open_serial_share": ("open_serial_pushers",
                  "open_deals"), "regression_share": ("regressions", "movements")}  # fmt: skip
        peers = beside_peers(team.groups, "owner", owner, shares)
    return SlippageReport(
        as_of=stamp,
        period=period,
        by=by,
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
        owner=None if peers is None else owner,
        peers=peers,
    )


__all__ = ["STATUSES", "SlippageReport", "slippage_report"]
