"""The ``velocity`` report: velocity and its factors per period, time in stage, commit to signature and
responsiveness, computed once (:func:`velocity_report`) and put into words and figures for the notebook
(``docs/decisions/0024-velocity-report.md``). The metrics themselves are in :mod:`salesmetrics.metrics.velocity`
and :mod:`salesmetrics.metrics.stage_times`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed, renamed_attribute
from salesmetrics._util.text import plural
from salesmetrics.exceptions import DataNote, UsageError
from salesmetrics.log.coverage import LogCoverage, log_coverage, note_axes, table_or_note
from salesmetrics.log.prepare import filter_log, resolve_as_of, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.movement import PERIOD_NAMES
from salesmetrics.metrics.stage_times import TimeInStage, time_in_stage
from salesmetrics.metrics.stays import DAY, GROUPS
from salesmetrics.metrics.velocity import (
    NO_INBOUND,
    PERIODS,
    CommitToSignature,
    commit_to_signature,
    responsiveness,
    sales_velocity,
)
from salesmetrics.reports.tables import MIN_DENOMINATOR, SHORT_CYCLE_DAYS, beside_peers, first

FACTORS = (
    ("open_deals", "open deals", 1),
    ("win_rate", "win rate", 1),
    ("avg_won_amount", "average won amount", 1),
    ("avg_cycle_days", "average cycle", -1),
)


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
    by: str
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
    owner: str | None = None  # an owner page: group_velocity is the rep, the median of the others and the team
    response_peers: pd.DataFrame | None = None  # an owner page: the rep's responsiveness beside the team's

    group_by = renamed_attribute("group_by", "by")

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
        return slow.sort_values(["_km", self.by], ascending=[False, True], na_position="first").drop(columns="_km")

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
        g = self.by
        if self.response_peers is not None:  # an owner page: the rep against the other owners, not "every owner"
            text += f", {'over' if len(slow) else 'within'} the {self.response_hours:g}-hour target"
            peers = self.response_peers.set_index(g)["km_median_hours"]
            median = [str(i) for i in peers.index if str(i).startswith("median of the ")]
            if median and pd.notna(peers.get(median[0])):
                text += f"; {median[0]}: {peers[median[0]]:.1f} hours"
            return [text + "."]
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

    @renamed(n="top_n")
    def table(self, name: str, top_n: int = 24):
        """A table of the report for a notebook: ``velocity`` (last ``top_n`` periods), ``time_in_stage``,
        ``commit``, ``responsiveness`` or ``groups``, or a :class:`~salesmetrics.log.coverage.Note` saying why it
        is empty."""
        g = self.by
        no_stages = " ".join(self.coverage.missing("dates", "stage_changes"))
        velocity_columns = ["open_deals", "wins", "losses", "win_rate", "avg_won_amount", "avg_cycle_days", "velocity"]
        if self.response_peers is not None:  # the rep, the other owners' median, the team: in that order
            response = self.response_peers
        elif self.responsiveness.empty:
            response = self.responsiveness
        else:
            km = pd.to_numeric(self.responsiveness["km_median_hours"], errors="coerce")
            response = self.responsiveness.assign(_km=km.fillna(np.inf))
            response = response.sort_values(["_km", g], ascending=[False, True]).drop(columns="_km")
        tables = {
            "velocity": (
                self.velocity[["period", *velocity_columns, "full_period"]].tail(top_n),
                no_stages or "No period to show.",
            ),
            "time_in_stage": (self.time_in_stage.summary, no_stages or "No deal entered an open stage."),
            "commit": (
                self.commit.summary if self.commit is not None else self.velocity.iloc[0:0],
                " ".join(self.coverage.missing("dates", "commit_stage")) or "No deal reached the commit stage.",
            ),
            "responsiveness": (
                first(response, top_n),
                " ".join(self.coverage.missing("dates", "direction")) or self._no_request(),
            ),
            "groups": (
                first(
                    self.group_velocity
                    if self.owner is not None  # the rep, the other owners' median, the team: in that order
                    else self.group_velocity.sort_values("velocity", ascending=False, na_position="last"),
                    top_n,
                ),
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

    @renamed(top="top_n")
    def plot_responsiveness(self, ax=None, top_n: int = 25):
        """Median hours to answer a buyer per owner or team: answered requests, and Kaplan–Meier with the open ones."""
        import matplotlib.pyplot as plt

        title = f"Responsiveness by {self.by}"
        r = self.responsiveness
        if self.as_of is None or r.empty:
            why = " ".join(self.coverage.missing("dates", "direction")) or self._no_request()
            return note_axes(ax, title, why)
        km = pd.to_numeric(r["km_median_hours"], errors="coerce")
        r = r.assign(_km=km.fillna(np.inf)).sort_values(["_km", self.by], ascending=[True, False]).tail(top_n)
        ax = ax or plt.subplots(figsize=(8, max(2.5, 0.3 * len(r) + 1)))[1]
        names = r[self.by].astype(str)
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
            ylabel=self.by,
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


@renamed(group_by="by")
def velocity_report(
    log: SalesLog,
    as_of=None,
    *,
    owner: str | None = None,
    team: str | None = None,
    period: str = "M",
    by: str = "owner",
    response_hours: float = 24,
) -> VelocityReport:
    """Everything the velocity report shows: velocity and its factors per period, time in stage, commit to
    signature and responsiveness.

    ``owner``/``team`` restrict the log (:func:`salesmetrics.log.prepare.filter_log`); ``by`` is how
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
    if period not in PERIODS:
        raise UsageError(f"period must be 'W', 'M' or 'Q', not {period!r}.")
    if by not in GROUPS:
        raise UsageError(f"by must be 'owner' or 'team', not {by!r}.")
    if not response_hours > 0:
        raise UsageError(f"response_hours must be above 0 (e.g. 24), not {response_hours!r}.")
    full = log
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
    group_velocity = sales_velocity(cut, by=by, period=None, as_of=cut_at).drop(
        columns=["period", "period_start", "period_end"]
    )
    page_of = owner if owner not in (None, "") and by == "owner" and stamp is not None and full is not log else None
    response_peers = None
    if page_of is not None:  # an owner page compares the rep with the team, never with itself (ADR 0037)
        team_cut = truncate(full, cut_at)
        everyone = sales_velocity(team_cut, by="owner", period=None, as_of=cut_at)
        whole = sales_velocity(team_cut, by=None, period=None, as_of=cut_at).iloc[0]
        periods = ["period", "period_start", "period_end"]
        group_velocity = beside_peers(everyone.drop(columns=periods), "owner", page_of, total=whole)
    stages = time_in_stage(cut, as_of=cut_at)
    commit = commit_to_signature(cut, as_of=cut_at) if cut.model.commit_stage else None
    inbound = cover.has("direction") and bool((log.activities["direction"] == "inbound").any())
    if cover.has("direction") and not inbound:
        notes.append(NO_INBOUND)
    if inbound:
        with warnings.catch_warnings():  # no request before as_of yet: the table's own note says so
            warnings.simplefilter("ignore", DataNote)
            by_group = responsiveness(cut, as_of=cut_at, by=by)
            overall = responsiveness(cut, as_of=cut_at, by=None)
            if page_of is not None and len(by_group):
                team_cut = truncate(full, cut_at)
                whole = responsiveness(team_cut, as_of=cut_at, by=None).iloc[0]
                everyone = responsiveness(team_cut, as_of=cut_at, by="owner")
                response_peers = beside_peers(everyone, "owner", page_of, total=whole)
    else:
        columns = [by, "n_requests", "n_answered", "n_unanswered", "median_hours", "km_median_hours", "p90_hours"]
        by_group = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        overall = by_group.drop(columns=by)
    return VelocityReport(
        as_of=stamp,
        period=period,
        by=by,
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
        owner=page_of,
        response_peers=response_peers,
    )


__all__ = ["VelocityReport", "velocity_report"]
