"""The weekly review: what changed since last week, deal by deal and in money, and what needs a look now.

:func:`weekly_review` compares the log at ``as_of`` with the log ``days`` earlier (a week by default) and
returns a :class:`WeeklyReview`: every deal that changed in the window (created, advanced, sent back, pushed,
pulled in, won, lost), each with its name and account when the log has them as deal attributes, owner,
stage, amount and close date; totals in counts and money; the open pipeline by stage this week against last
week; open deals past their close date; neglected deals (no activity for ``neglect_days``); deals that moved
without any recorded interaction in the window; and motion against movement per owner for the week.

Amount changes come from the log's optional ``amount_changes`` table (a deal's first row sets its amount;
each later row that differs is a change, totalled as the net change in money); without one the review says
so (:data:`AMOUNT_CHANGES_PENDING`) instead of guessing. Definitions: ``docs/metrics.md`` (weekly review), ADR 0037.

Examples
--------
>>> import salesmetrics as sm
>>> w = weekly_review(sm.read_log("datasets/demo"), as_of="2025-06-30")
>>> w.start < w.as_of
True
>>> sorted(w.totals["change"])[:3]
['advanced', 'amount changed', 'created']
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed
from salesmetrics._util.text import plural
from salesmetrics.exceptions import UsageError
from salesmetrics.log.coverage import LogCoverage, Note, log_coverage, note_axes
from salesmetrics.log.prepare import amount_at, resolve_as_of, stage_entries, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.reports.tables import first
from salesmetrics.reports.weekly_owners import owner_motion, rep_beside_team

CHANGES = ("created", "advanced", "sent back", "won", "lost", "pushed", "pulled in", "amount changed")
# the deal-by-deal list starts with what moves the forecast most
LISTED_FIRST = ("won", "lost", "sent back", "advanced", "pushed", "pulled in", "amount changed", "created")
# the deal attributes shown as its name and account, first match wins (case-insensitive)
NAME_COLUMNS = ("deal_name", "name", "opportunity_name", "opportunity", "title", "subject")
ACCOUNT_COLUMNS = (
    "account",
    "account_name",
    "company",
    "company_name",
    "customer",
    "client",
    "organization",
    "accountid",
    "account_id",
)
# a CRM's forecast category (Salesforce: ForecastCategoryName, or the history's ForecastCategory)
FORECAST_COLUMNS = ("forecast_category", "forecastcategoryname", "forecastcategory", "forecast_category_name")
AMOUNT_CHANGES_PENDING = (
    "Amount changes are not shown: the log holds each deal's current amount only, not its history "
    "(add an amount_changes table, docs/log-format.md)."
)


def _attribute(deals: pd.DataFrame, candidates: tuple[str, ...]) -> str | None:
    lower = {re.sub(r"[\s.\-]+", "_", str(c).strip().lower()): c for c in deals.columns}  # "Deal Name": deal_name
    return next((lower[c] for c in candidates if c in lower and deals[lower[c]].notna().any()), None)


def _money(value: float, currency: str | None) -> str:
    return f"{currency + ' ' if currency else ''}{value:,.0f}"


@dataclass(frozen=True)
class WeeklyReview:
    """What :func:`weekly_review` found; tables are DataFrames, shown through
    :func:`salesmetrics.reports.tables.readable`.

    ``changes`` has one row per change of a deal in the window (``deal_id, change, at, detail, days``);
    ``deals_changed`` one row per changed deal with what changed in words; ``totals`` counts and money per
    kind of change; ``by_stage`` the open pipeline per stage at ``start`` and at ``as_of``; ``past_due``,
    ``neglected`` and ``moved_untouched`` open or moved deals that need a look; ``owners`` motion against
    movement per owner in the window.
    """

    as_of: pd.Timestamp
    start: pd.Timestamp
    days: int
    neglect_days: int
    currency: str | None
    changes: pd.DataFrame
    deals_changed: pd.DataFrame
    totals: pd.DataFrame
    by_stage: pd.DataFrame
    past_due: pd.DataFrame
    neglected: pd.DataFrame
    moved_untouched: pd.DataFrame
    owners: pd.DataFrame
    coverage: LogCoverage
    notes: tuple[str, ...] = ()
    quota: pd.DataFrame | None = None  # quota_coverage of the quotas whose period holds as_of; None: no quotas table
    by_forecast: pd.DataFrame | None = None  # open deals per forecast category at as_of; None: the log has none
    dated: bool = True  # False: the log has no dated event, so no week can be placed in time (as_of is a stand-in)
    stage_counts: dict[str, int] | None = None  # deals per current stage, for a log without dated events
    owner: str | None = None  # the owner of an owner page: ``owners`` then sets the rep beside the team

    @property
    def window(self) -> str:
        """The week reviewed in words, for the page's first line (or why there is none)."""
        if not self.dated:
            return "no dated events, so no week to review"
        return f"{self.start:%Y-%m-%d %H:%M} to {self.as_of:%Y-%m-%d %H:%M %Z}".rstrip()

    def _money(self, value: float) -> str:
        return _money(value, self.currency)

    def narrative(self) -> str:
        """The week in a few sentences: what changed, the pipeline against last week, what needs a look."""
        if not self.dated:  # nothing can be placed in time: say what is known, the current stages
            counts = self.stage_counts or {}
            known = ", ".join(f"{int(v):,} {k}" for k, v in counts.items()) or "none"
            return " ".join(
                [
                    "The log has no dated events, so no week can be reviewed: nothing it holds can be placed in "
                    f"time. Current stages of its {plural(int(sum(counts.values())), 'deal')}: {known}.",
                    *[n for n in self.notes if n not in self.coverage.missing("dates")],
                ]
            )
        window = f"In the {plural(self.days, 'day')} to {self.as_of:%Y-%m-%d}"
        t = self.totals.set_index("change")
        amounts = self.coverage.has("amounts")
        parts = []
        for change in CHANGES:
            n = int(t.loc[change, "deals"]) if change in t.index else 0
            if not n:
                continue
            text = f"{n:,} {change}"
            if change == "pushed":
                text += f" (by {int(t.loc[change, 'days']):,} days in all)"
            elif amounts and change in ("created", "won", "lost"):
                text += self._money_of(t.loc[change])
            elif change == "amount changed":
                net = float(t.loc[change, "amount"])
                text = f"{n:,} changed amount (net {'+' if net >= 0 else '-'}{self._money(abs(net))})"
            parts.append(text)
        if parts:
            lines = [f"{window}, deals changed: {', '.join(parts)}."]
        else:
            lines = [f"{window}, no deal was created, moved, won, lost or had its close date changed."]
        s = self.by_stage
        now_n, before_n = int(s["deals_now"].sum()), int(s["deals_before"].sum())
        pipe = f"The open pipeline holds {plural(now_n, 'deal')}"
        if amounts:
            now_a, before_a = float(s["amount_now"].sum()), float(s["amount_before"].sum())
            pipe += f" worth {self._money(now_a)}, against {self._money(before_a)} a week before"
            if before_a:
                pipe += f" ({(now_a - before_a) / before_a:+.0%})"
        else:
            pipe += f", against {before_n:,} a week before"
        lines.append(pipe + ".")
        look = []
        if self.coverage.has("close_dates"):
            n = len(self.past_due)
            look.append(
                f"{plural(n, 'open deal')} past {'its' if n == 1 else 'their'} close date"
                if n
                else "no open deal past its close date"
            )
        if self.coverage.has("activities"):
            n, m = len(self.neglected), len(self.moved_untouched)
            look.append(f"{n:,} without any activity for {self.neglect_days} days or more" if n else
                        f"none without an activity for {self.neglect_days} days")  # fmt: skip
            look.append(f"{m:,} moved this week with no recorded interaction" if m else
                        "none moved without a recorded interaction")  # fmt: skip
        if look:
            lines.append("Needs a look: " + "; ".join(look) + ".")
        lines += self._owner_sentence()
        lines += self._quota_sentence()
        return " ".join([*lines, *self.notes])

    def _money_of(self, row: pd.Series) -> str:
        """The money of a kind of change in brackets, saying how many of its deals have no amount."""
        missing = int(row.get("deals_unpriced", 0) or 0)
        if pd.isna(row["amount"]):
            return " (no amount given)"
        text = self._money(float(row["amount"]))
        return f" ({text}; {missing:,} without an amount)" if missing else f" ({text})"

    def _owner_sentence(self) -> list[str]:
        """On an owner page: the rep's week beside the median of the other owners."""
        o = self.owners
        if self.owner is None or not self.coverage.has("activities") or len(o) < 2:
            return []
        rep, peers = o.iloc[0], o.iloc[1]
        if not str(peers["owner"]).startswith("median"):
            return []
        return [
            f"{self.owner} logged {int(rep['activities']):,} activities and {int(rep['movements']):,} movements "
            f"this week; {peers['owner']}: {peers['activities']:,.0f} and {peers['movements']:,.0f}."
        ]

    def _quota_sentence(self) -> list[str]:
        q = self.quota
        if q is None:
            return []
        if not len(q):
            return [f"The log's quotas have no period that holds {self.as_of:%Y-%m-%d}."]
        short = q[q["coverage"] < 1]
        text = (
            f"Against quota ({plural(len(q), 'quota')} for the current period): attainment so far from "
            f"{q['attainment'].min():.0%} to {q['attainment'].max():.0%}"
        )
        if len(short):
            names = ", ".join(short["for"].astype(str).head(3)) + (" and more" if len(short) > 3 else "")
            text += f"; the open pipeline due does not cover the gap for {names}"
        return [text + "."]

    @renamed(n="top_n")
    def table(self, name: str, top_n: int = 25):
        """A table of the review, its first ``top_n`` rows, or a :class:`~salesmetrics.log.coverage.Note` saying why it
        is empty: ``changes`` (deal by deal: won, lost, sent back, advanced, pushed, pulled in, then created),
        ``totals``, ``by_stage``, ``past_due``, ``neglected``, ``moved_untouched``, ``owners``, ``quota`` or
        ``by_forecast``."""
        no_close = " ".join(self.coverage.missing("close_dates"))
        no_acts = " ".join(self.coverage.missing("activities"))
        tables = {
            "changes": (self.deals_changed, "No deal changed in the window."),
            "totals": (self.totals[self.totals["deals"] > 0], "No deal changed in the window."),
            "by_stage": (self.by_stage, "No deal is open now or a week before."),
            "past_due": (self.past_due, no_close or "No open deal is past its close date."),
            "neglected": (
                self.neglected,
                no_acts or f"Every open deal had an activity in the last {self.neglect_days} days.",
            ),
            "moved_untouched": (self.moved_untouched, no_acts or "Every deal that moved had an interaction."),
            "owners": (self.owners, "No owner had activity or movement in the window."),
            "by_forecast": (
                self.by_forecast if self.by_forecast is not None else self.owners.iloc[0:0],
                "The deals have no forecast category (a forecast_category column, or Salesforce's "
                "ForecastCategoryName)."
                if self.by_forecast is None
                else "No deal is open.",
            ),
            "quota": (
                self.quota if self.quota is not None else self.owners.iloc[0:0],
                "The log has no quotas table (quotas.csv: owner or team, period, amount; docs/log-format.md)."
                if self.quota is None
                else f"No quota period holds {self.as_of:%Y-%m-%d}.",
            ),
        }
        if name not in tables:
            raise UsageError(f"No table {name!r}; tables: {', '.join(tables)}.")
        if not self.dated:
            return Note("Not shown: the log has no dated events.")
        frame, empty = tables[name]
        if name == "totals":  # no column that the log cannot fill
            gone = [c for c, need in (("amount", "amounts"), ("days", "close_dates")) if not self.coverage.has(need)]
            if "deals_unpriced" in frame and not frame["deals_unpriced"].any():
                gone.append("deals_unpriced")
            frame = frame.drop(columns=[c for c in gone if c in frame])
        if name == "owners" and not self.coverage.has("activities"):  # no activity recorded is not 0 activities
            frame = frame.drop(columns=[c for c in ("activities", "motion_per_movement", "reading") if c in frame])
        if name in ("past_due", "neglected") and (no_close if name == "past_due" else no_acts):
            return Note(empty)
        if name == "moved_untouched" and no_acts:
            return Note(empty)
        if not len(frame):
            return Note(empty)
        return first(frame.reset_index(drop=True), top_n)

    def plot_by_stage(self, ax=None):
        """Open pipeline per stage, a week before beside now (money when the log has amounts, else deals)."""
        import matplotlib.pyplot as plt
        import matplotlib.ticker as mticker

        s = self.by_stage
        title = "Open pipeline by stage: a week before and now"
        if not self.dated or not len(s):
            why = " ".join(self.coverage.missing("dates")) or "No deal is open now or a week before."
            return note_axes(ax, title, why)
        money = self.coverage.has("amounts")
        before, now = ("amount_before", "amount_now") if money else ("deals_before", "deals_now")
        ax = ax or plt.subplots(figsize=(8, max(2.5, 0.45 * len(s) + 1)))[1]
        y = np.arange(len(s))
        ax.barh(y + 0.2, s[before], height=0.4, color="tab:gray", label=f"{self.start:%Y-%m-%d}")
        ax.barh(y - 0.2, s[now], height=0.4, color="tab:blue", label=f"{self.as_of:%Y-%m-%d}")
        ax.set_yticks(y, s["stage"].astype(str))
        ax.invert_yaxis()
        unit = (self.currency or "amount") if money else "open deals"
        ax.set(title=title, xlabel=unit)
        ax.xaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
        ax.legend(loc="lower right", fontsize="small")
        ax.figure.tight_layout()
        return ax

    def plot_owners(self, ax=None):
        """Activities against movements per owner in the window: motion vs movement for the week."""
        import matplotlib.pyplot as plt

        o = self.owners
        title = f"Motion vs movement, {self.start:%Y-%m-%d} to {self.as_of:%Y-%m-%d}"
        if not self.dated:
            return note_axes(ax, "Motion vs movement", " ".join(self.coverage.missing("dates")))
        why = " ".join(self.coverage.missing("activities"))
        if why or not len(o):
            return note_axes(ax, title, why or "No owner had activity or movement in the window.")
        ax = ax or plt.subplots(figsize=(7, 4.5))[1]
        ax.scatter(o["activities"], o["movements"], color="tab:blue")
        for _, r in o.iterrows():
            ax.annotate(str(r["owner"]), (r["activities"], r["movements"]), fontsize="x-small", xytext=(3, 3),
                        textcoords="offset points")  # fmt: skip
        ax.set(title=title, xlabel="activities (motion)", ylabel="movements")
        ax.figure.tight_layout()
        return ax

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.narrative())}</p>"


def _status_and_stage(entries: pd.DataFrame, model, at: pd.Timestamp) -> pd.DataFrame:
    """Each deal's stage and status (open, won, lost) at ``at`` from its stage entries."""
    e = entries[entries["changed_at"] <= at]
    last = e.groupby("deal_id", sort=False).tail(1).set_index("deal_id")["stage"]
    status = np.where(last.isin(model.won), "won", np.where(last.isin(model.lost), "lost", "open"))
    return pd.DataFrame({"stage": last, "status": status}, index=last.index)


def _amount_history(log: SalesLog) -> pd.DataFrame | None:
    """The log's amount changes with each row's previous amount, only rows that change it; None without a history."""
    history = getattr(log, "amount_changes", None)
    if history is None or not len(history):
        return None
    h = history.sort_values(["deal_id", "changed_at"], kind="stable").copy()
    h["prev_amount"] = h.groupby("deal_id")["amount"].shift()
    return h[h["prev_amount"].notna() & (h["amount"] != h["prev_amount"])]


def _close_dates(log: SalesLog, at: pd.Timestamp) -> pd.Series:
    cd = log.close_date_changes[log.close_date_changes["changed_at"] <= at].sort_values("changed_at", kind="stable")
    return cd.groupby("deal_id", sort=False)["close_date"].last()


def weekly_review(
    log: SalesLog,
    as_of=None,
    *,
    days: int = 7,
    owner: str | None = None,
    team: str | None = None,
    neglect_days: int = 14,
    currency: str | None = None,
) -> WeeklyReview:
    """What changed in the ``days`` before ``as_of``, and what needs a look now.

    ``owner``/``team`` restrict the deals (:func:`salesmetrics.log.prepare.filter_log`); ``neglect_days`` is how
    long an open deal may go without an activity before it counts as neglected; ``currency`` labels money
    (default: the log's). A log without activities, close dates or amounts still gives a review; the parts it
    cannot fill are empty and ``notes`` say why.
    """
    from salesmetrics.log.prepare import filter_log
    from salesmetrics.metrics.random_walks import close_date_changes_classified

    if not days >= 1:
        raise UsageError(f"days must be at least 1 (the comparison window, e.g. 7), not {days!r}.")
    if not neglect_days >= 1:
        raise UsageError(f"neglect_days must be at least 1 (e.g. 14), not {neglect_days!r}.")
    full = log
    log = filter_log(log, owner=owner, team=team)
    cover = log_coverage(log)
    # A log without a single date (a win-loss table) has no week to review: the review says so and gives the
    # current stages; its as_of is a stand-in that places nothing, as in pipeline_health.
    dated = as_of is not None or cover.dated or (full is not log and log_coverage(full).dated)
    if dated:
        as_of = resolve_as_of(log if cover.dated else full, as_of)
    else:
        as_of = pd.Timestamp.now(tz=log.model.timezone).floor("D")
    start = as_of - pd.Timedelta(days=days)
    model = log.model
    cut = truncate(log, as_of)
    deals = cut.deals.set_index("deal_id")
    name_col, account_col = _attribute(cut.deals, NAME_COLUMNS), _attribute(cut.deals, ACCOUNT_COLUMNS)
    forecast_col = _attribute(cut.deals, FORECAST_COLUMNS)
    entries = stage_entries(cut, as_of)
    in_window = entries[(entries["changed_at"] > start) & (entries["changed_at"] <= as_of)]

    rows = []
    created = deals[(deals["created_at"] > start) & (deals["created_at"] <= as_of)]
    rows += [(d, "created", t, "", 0) for d, t in created["created_at"].items()]
    for kind, change in (("advance", "advanced"), ("regression", "sent back"), ("loss", "lost")):
        part = in_window[in_window["kind"] == kind]
        if kind == "advance":
            won = part[part["is_win"]]
            rows += [(r.deal_id, "won", r.changed_at, f"{r.prev_stage} → {r.stage}", 0) for r in won.itertuples()]
            part = part[~part["is_win"]]
        rows += [(r.deal_id, change, r.changed_at, f"{r.prev_stage} → {r.stage}", 0) for r in part.itertuples()]
    if cover.has("close_dates"):
        cd = close_date_changes_classified(cut, as_of)
        cd = cd[(cd["changed_at"] > start) & (cd["changed_at"] <= as_of)]
        state = _status_and_stage(entries, model, as_of)
        for r in cd[cd["kind"].isin(["push", "pull"])].itertuples():
            if r.kind == "pull" and state["status"].get(r.deal_id, "open") != "open":
                continue  # a date set back to the day the deal closed is not a pull-in
            detail = f"{r.prev_close_date:%Y-%m-%d} → {r.close_date:%Y-%m-%d}"
            rows.append((r.deal_id, "pushed" if r.kind == "push" else "pulled in", r.changed_at, detail, r.days))
    history = _amount_history(cut)
    if history is not None:  # a deal's first row sets its amount; each later row that differs is a change
        moved = history[(history["changed_at"] > start) & (history["changed_at"] <= as_of)]
        for r in moved.itertuples():
            detail = f"{r.prev_amount:,.0f} → {r.amount:,.0f}"
            rows.append((r.deal_id, "amount changed", r.changed_at, detail, 0, r.amount - r.prev_amount))
    rows = [row if len(row) == 6 else (*row, np.nan) for row in rows]
    changes = pd.DataFrame(rows, columns=["deal_id", "change", "at", "detail", "days", "delta"])
    changes = changes.sort_values(["at", "deal_id"], kind="stable").reset_index(drop=True)

    now = _status_and_stage(entries, model, as_of)
    close_now = _close_dates(cut, as_of) if cover.has("close_dates") else pd.Series(dtype="datetime64[ns]")
    amount = deals["amount"] if "amount" in deals else pd.Series(np.nan, index=deals.index)

    def describe(ids) -> pd.DataFrame:
        ids = pd.Index(ids)
        out = pd.DataFrame({"deal_id": ids})
        if name_col:
            out["deal_name"] = deals[name_col].reindex(ids).to_numpy()
        if account_col:
            out["account"] = deals[account_col].reindex(ids).to_numpy()
        out["owner"] = deals["owner"].reindex(ids).to_numpy()
        if forecast_col:
            out["forecast_category"] = deals[forecast_col].reindex(ids).to_numpy()
        out["stage"] = now["stage"].reindex(ids).to_numpy()
        if cover.has("amounts"):
            out["amount"] = amount.reindex(ids).to_numpy()
        if cover.has("close_dates"):
            out["close_date"] = close_now.reindex(ids).to_numpy()
        return out

    order = {c: i for i, c in enumerate(LISTED_FIRST)}
    if len(changes):
        words = changes.assign(_o=changes["change"].map(order)).sort_values(["deal_id", "at", "_o"], kind="stable")
        words["text"] = [
            f"{c} {int(d)} days ({x})" if c == "pushed" else f"{c} ({x})" if x else c
            for c, d, x in zip(words["change"], words["days"], words["detail"], strict=True)
        ]
        what = words.groupby("deal_id", sort=False)["text"].agg("; ".join)
        last = changes.groupby("deal_id")["at"].max()
        first_kind = words.groupby("deal_id", sort=False)["_o"].min()
        deals_changed = describe(what.index).assign(
            what_changed=what.to_numpy(), last_change=last.reindex(what.index).to_numpy()
        )
        deals_changed["_o"] = first_kind.reindex(what.index).to_numpy()
        deals_changed = deals_changed.sort_values(["_o", "last_change"], ascending=[True, False]).drop(columns="_o")
    else:
        deals_changed = describe([]).assign(what_changed=pd.Series(dtype="str"), last_change=pd.Series(dtype="str"))

    priced = pd.Series(amount_at(cut, changes["deal_id"], changes["at"]) if len(changes) else [], changes.index, float)
    totals = []
    for change in CHANGES:
        part = changes[changes["change"] == change]
        ids = part["deal_id"].unique()
        known = priced[part.drop_duplicates("deal_id", keep="last").index]  # at its (latest) change: 0054
        totals.append(
            {
                "change": change,
                "deals": len(ids),
                "amount": (
                    float(part["delta"].sum())  # the net change in money, not the deals' amounts
                    if change == "amount changed"
                    else float(known.sum(min_count=1))  # no amount given is empty, not 0
                    if cover.has("amounts")
                    else np.nan
                ),
                "deals_unpriced": int(known.isna().sum()) if cover.has("amounts") and change != "amount changed" else 0,
                "days": int(part["days"].abs().sum()) if change in ("pushed", "pulled in") else np.nan,
            }
        )
    totals = pd.DataFrame(totals)

    before = _status_and_stage(entries, model, start)
    existed_before = deals.index[(deals["created_at"] <= start) | deals["created_at"].isna()]
    before = before[before.index.isin(existed_before)]
    stages = list(model.stages)
    open_now, open_before = now[now["status"] == "open"], before[before["status"] == "open"]
    by_stage = pd.DataFrame({"stage": stages})
    by_stage["deals_before"] = [int((open_before["stage"] == s).sum()) for s in stages]
    by_stage["deals_now"] = [int((open_now["stage"] == s).sum()) for s in stages]
    if cover.has("amounts"):  # a week before at the amounts of then, now at today's (decision 0054)
        then = pd.Series(amount_at(cut, open_before.index, start), open_before.index, float)
        by_stage["amount_before"] = [float(then[open_before["stage"] == s].sum()) for s in stages]
        by_stage["amount_now"] = [float(amount.reindex(open_now.index[open_now["stage"] == s]).sum()) for s in stages]
        by_stage["amount_change"] = by_stage["amount_now"] - by_stage["amount_before"]
    by_stage = by_stage[(by_stage["deals_before"] > 0) | (by_stage["deals_now"] > 0)].reset_index(drop=True)

    past_due = describe([])
    if cover.has("close_dates"):
        due = close_now.reindex(open_now.index)
        today = as_of.normalize().tz_localize(None)
        overdue = due.dropna()
        overdue = overdue[overdue.dt.tz_localize(None) < today] if len(overdue) else overdue
        past_due = describe(overdue.index)
        past_due["days_overdue"] = [(today - d.tz_localize(None)).days for d in overdue]
        past_due = past_due.sort_values("days_overdue", ascending=False)

    acts = cut.activities
    neglected, moved_untouched = describe([]), describe([])
    if cover.has("activities"):
        last_act = acts.groupby("deal_id")["occurred_at"].max()
        since = deals["created_at"].reindex(open_now.index).fillna(start)
        last_touch = last_act.reindex(open_now.index).fillna(since)
        idle = (as_of - last_touch) / pd.Timedelta(days=1)
        idle = idle[idle >= neglect_days]
        neglected = describe(idle.index)
        neglected["last_activity_at"] = last_act.reindex(idle.index).to_numpy()
        neglected["days_without_activity"] = np.floor(idle.to_numpy())
        neglected = neglected.sort_values("days_without_activity", ascending=False)
        moves = in_window[in_window["kind"].isin(["advance", "regression", "loss"])]
        touched = set(acts.loc[(acts["occurred_at"] > start) & (acts["occurred_at"] <= as_of), "deal_id"])
        untouched = [d for d in moves["deal_id"].unique() if d not in touched]
        moved_untouched = describe(untouched)
        moved_untouched["moves"] = [
            "; ".join(f"{a} → {b}" for a, b in moves.loc[moves["deal_id"] == d, ["prev_stage", "stage"]].to_numpy())
            for d in untouched
        ]

    owners = owner_motion(deals, acts, in_window, start, as_of, cover.has("activities"))
    if owner not in (None, "") and full is not log and dated:  # an owner page: the rep beside the team
        team_cut = truncate(full, as_of)
        team_entries = stage_entries(team_cut, as_of)
        team_window = team_entries[(team_entries["changed_at"] > start) & (team_entries["changed_at"] <= as_of)]
        everyone = owner_motion(team_cut.deals.set_index("deal_id"), team_cut.activities, team_window, start,
                                 as_of, cover.has("activities"))  # fmt: skip
        owners = rep_beside_team(everyone, owner)

    by_forecast = None
    if forecast_col:
        category = deals[forecast_col].reindex(open_now.index).astype("object").fillna("(none)")
        by_forecast = (
            pd.DataFrame({"forecast_category": category, "amount": amount.reindex(open_now.index)})
            .groupby("forecast_category", sort=True)
            .agg(deals=("amount", "size"), amount=("amount", "sum"))
            .reset_index()
        )
        if not cover.has("amounts"):
            by_forecast = by_forecast.drop(columns="amount")
    quota = None
    if dated and log.source and Path(log.source).is_dir():
        from salesmetrics.log.quotas import check_quotas, quota_coverage

        table, _ = check_quotas(log.source)  # its problems were listed when the log was read
        if table is not None:
            if owner not in (None, ""):
                table = table[table["owner"] == owner]
            if team not in (None, ""):
                table = table[(table["team"] == team) | table["owner"].isin(set(deals["owner"].astype(str)))]
            wins = entries[entries["is_win"]].groupby("deal_id")["changed_at"].max()
            frame = pd.DataFrame(
                {
                    "owner": deals["owner"].astype("string"),
                    "team": deals["team"].astype("string") if "team" in deals else pd.NA,
                    "status": now["status"].reindex(deals.index).fillna("open"),
                    "amount": amount.fillna(0.0),
                    "won_at": wins.reindex(deals.index),
                    "won_amount": amount_at(cut, deals.index, wins.reindex(deals.index).fillna(as_of)),
                    "close_date": close_now.reindex(deals.index) if len(close_now) else pd.NaT,
                },
                index=deals.index,
            )
            quota = quota_coverage(table, frame, as_of)

    notes = []
    if cover.has("amounts") and history is None and dated:
        notes.append(AMOUNT_CHANGES_PENDING)
    notes += cover.missing("dates", "activities", "close_dates", "amounts")
    if cover.partial_note:
        notes.append(cover.partial_note)
    return WeeklyReview(
        as_of=as_of,
        start=start,
        days=int(days),
        neglect_days=int(neglect_days),
        currency=currency or model.currency,
        changes=changes,
        deals_changed=deals_changed.reset_index(drop=True),
        totals=totals,
        by_stage=by_stage,
        past_due=past_due.reset_index(drop=True),
        neglected=neglected.reset_index(drop=True),
        moved_untouched=moved_untouched.reset_index(drop=True),
        owners=owners,
        coverage=cover,
        notes=tuple(notes),
        quota=quota,
        by_forecast=by_forecast,
        dated=dated,
        stage_counts=None if dated else dict(log.summary().current_stages),
        owner=None if owner in (None, "") else owner,
    )


__all__ = ["AMOUNT_CHANGES_PENDING", "CHANGES", "WeeklyReview", "weekly_review"]
