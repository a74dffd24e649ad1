"""Stall risk of the open deals, ranked, with the reasons behind each risk: the logic of the ``stall_risk`` report.

:func:`stall_risk_report` scores every deal open at ``as_of`` with a :class:`~salesmetrics.models.StallPredictor`
(the probability of no stage movement within ``horizon_days``) and its three strongest reasons
(:mod:`salesmetrics.models.reasons`). The model is either a saved one (``model_path``: loaded with
:func:`~salesmetrics.models.persistence.load_model`, its card checked against the log) or one fitted on the
spot on the log's snapshots before ``as_of``, whose labels are cut at ``as_of`` (``observed_until``) so that no
training label knows what happened after the moment of the report. The model learns from every deal of the
log; ``owner`` and ``team`` only narrow the deals that are ranked (``docs/decisions/0026-model-reports.md``).

Small logs fall back to a regularised model (and say so); a log where no stall label can be known yet, or one
without dated events, still gives a report that says what cannot be shown. Where the model comes from is
:mod:`salesmetrics.reports.stall_model`; what this report shares with the study, :mod:`salesmetrics.reports.fitting`.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed, renamed_attribute
from salesmetrics._util.text import join_words, plural
from salesmetrics.exceptions import UsageError
from salesmetrics.features.build import snapshots
from salesmetrics.features.registry import labels
from salesmetrics.log.coverage import LogCoverage, Note, log_coverage, note_axes, table_or_note
from salesmetrics.log.prepare import filter_log, resolve_as_of
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.momentum import momentum_flags
from salesmetrics.models import LEAK_AUC, StallPredictor
from salesmetrics.reports.fitting import (
    FREQS,
    LEARNERS,
    CollectedWarnings,
    empty_features,
    fill_features,
    thin_snapshots,
)
from salesmetrics.reports.stall_model import ModelSource, fitted_model, protective_sentence, saved_model
from salesmetrics.reports.tables import first

GROUPS = ("owner", "team")
#: Activities since the last movement from which pipeline_health lists an open deal as busy but not moving (its
#: min_motions default); the stall report says where those deals rank, so the two lists never contradict silently.
BUSY_MOTIONS = 5

#: A short noun phrase per feature, for counting reasons across deals ("close-date pushes (5 deals)").
FEATURE_LABELS = labels()


# ------------------------------------------------------------------------------------------------ helpers


def _risk_text(risk: float, threshold: float) -> str:
    """A risk as a whole percentage, with one decimal when that would read as the threshold itself."""
    text = f"{risk:.0%}"
    return f"{risk:.1%}" if text == f"{threshold:.0%}" else text


# ------------------------------------------------------------------------------------------------ the report


@dataclass(frozen=True)
class StallRiskReport:
    """Everything the ``stall_risk`` report shows, computed once (see :func:`stall_risk_report`).

    ``deals``: one row per open deal in scope at ``as_of``, riskiest first: ``deal_id, owner, team, stage,
    amount, days_in_stage, expected_close_date, risk`` (probability of no stage movement within
    ``horizon_days``; NaN when no model could be had), ``reason_i, feature_i, effect_i`` for i = 1..3, and the
    factor that lowers the risk the most: ``protective_1, protective_feature_1, lowers_by_1``.
    ``source``: the model used (:class:`ModelSource`). ``notes``: what the log cannot show.
    """

    as_of: pd.Timestamp | None
    horizon_days: float
    threshold: float
    top_n: int
    by: str
    currency: str | None
    stages: tuple[str, ...]
    deals: pd.DataFrame
    source: ModelSource
    notes: tuple[str, ...]
    coverage: LogCoverage
    unscored: int = 0
    busy: tuple[str, ...] = ()  # open deals in scope with BUSY_MOTIONS or more activities since their last movement

    group_by = renamed_attribute("group_by", "by")
    top = renamed_attribute("top", "top_n")

    @property
    def scored(self) -> bool:
        """Whether the deals carry a risk (a model was fitted or loaded)."""
        return self.source.kind != "none" and bool(len(self.deals))

    @property
    def at_risk(self) -> pd.DataFrame:
        """The open deals whose risk is above ``threshold``, riskiest first."""
        if not self.scored:
            return self.deals.iloc[0:0]
        return self.deals[self.deals["risk"] > self.threshold]

    def _reason_pool(self) -> tuple[pd.DataFrame, str]:
        """The deals whose reasons are counted: those above the threshold, else the ``top_n`` riskiest."""
        if len(self.at_risk):
            return self.at_risk, f"the {plural(len(self.at_risk), 'deal')} above {self.threshold:.0%}"
        head = self.deals.head(self.top_n)
        return head, f"the {plural(len(head), 'riskiest deal')}"

    def reason_counts(self, deals: pd.DataFrame | None = None) -> pd.DataFrame:
        """How many ``deals`` (default: those above the threshold, else the ``top_n`` riskiest) have each feature
        among their three reasons: ``feature, reason, deals``, most frequent first."""
        if deals is None:
            deals = self._reason_pool()[0]
        columns = [c for c in ("feature_1", "feature_2", "feature_3") if c in deals]
        if not columns or not len(deals):
            return pd.DataFrame({"feature": [], "reason": [], "deals": []}).astype({"deals": "int64"})
        stacked = pd.concat([deals[c] for c in columns], ignore_index=True).dropna()
        stacked = stacked[stacked.astype("str").isin(list(FEATURE_LABELS))]
        counts = stacked.astype("str").value_counts()
        out = pd.DataFrame({"feature": counts.index.astype("str"), "deals": counts.to_numpy(dtype="int64")})
        out.insert(1, "reason", out["feature"].map(FEATURE_LABELS))
        return out.sort_values(["deals", "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)

    # ------------------------------------------------------------------ words

    def _risk_sentences(self) -> list[str]:
        d, h, pct = self.deals, f"{self.horizon_days:g}", f"{self.threshold:.0%}"
        n = len(d)
        high = self.at_risk
        if len(high):
            text = (
                f"{len(high):,} of {plural(n, 'open deal')} {'has' if len(high) == 1 else 'have'} a stall risk "
                f"above {pct} ({self.source.label_phrase()})"
            )
            reasons = self.reason_counts(high).head(3)
            if len(reasons):
                word = "reason is" if len(reasons) == 1 else "reasons are"
                parts = [f"{r.reason} ({plural(int(r.deals), 'deal')})" for r in reasons.itertuples()]
                text += f"; the top {word} {join_words(parts)}"
            out = [text + "."]
            g = self.by
            if g in high and high[g].notna().any():
                counts = high[g].astype("str").value_counts()
                if len(counts) > 1:
                    shared = counts[counts == counts.iloc[0]].index.tolist()
                    who = join_words([str(s) for s in shared[:3]])
                    out.append(
                        f"{who} {'holds' if len(shared) == 1 else 'each hold'} the most of them "
                        f"({counts.iloc[0]:,} of {len(high):,}); {plural(len(counts), g)} have at least one."
                    )
                else:
                    out.append(f"All of them belong to {g} {counts.index[0]}.")
        elif n == 1:
            r = d.iloc[0]
            why = f": {r['reason_1']}" if isinstance(r.get("reason_1"), str) and r["reason_1"] else ""
            out = [
                f"The only open deal, {r['deal_id']} ({r['owner']}, in {r['stage']}), has a stall risk of "
                f"{_risk_text(r['risk'], self.threshold)}, not above {pct} ({self.source.label_phrase()})"
                f"{why}."
            ]
        else:
            r = d.iloc[0]
            why = f": {r['reason_1']}" if isinstance(r.get("reason_1"), str) and r["reason_1"] else ""
            out = [
                f"None of the {plural(n, 'open deal')} has a stall risk above {pct} ({self.source.label_phrase()}); "
                f"the highest is {_risk_text(r['risk'], self.threshold)} ({r['deal_id']}, "
                f"{r['owner']}, in {r['stage']}{why})."
            ]
        tie = self._tie_sentence()
        if tie:
            out.append(tie)
        busy = self._busy_sentence()
        if busy:
            out.append(busy)
        median = float(d["risk"].median())
        text = f"The median risk is {median:.0%}"
        if self.source.base_rate is not None and np.isfinite(self.source.base_rate):
            text += (
                f"; in the training snapshots, {self.source.base_rate:.0%} of open deals made no stage movement "
                f"within {h} days"
            )
        out.append(text + ".")
        protective = protective_sentence(self.deals)
        if protective:
            out.append(protective)
        return out

    def _tie_sentence(self) -> str | None:
        """When several of the riskiest deals share the same risk (as the table shows it), say that their order
        among themselves means nothing."""
        shown = (self.deals["risk"].astype("float64") * 100).round(1)
        if len(shown) < 2 or not np.isfinite(shown.iloc[0]):
            return None
        tied = int((shown == shown.iloc[0]).sum())
        if tied < 2:
            return None
        everyone = tied == len(shown)
        who = f"All {tied:,} open deals are" if everyone else f"The top {tied:,} deals are"
        return (
            f"{who} tied at {_risk_text(float(self.deals['risk'].iloc[0]), self.threshold)}: the model cannot tell "
            "them apart, so their order in the table (longest in their stage first) is not a ranking."
        )

    def _busy_sentence(self) -> str | None:
        """Where pipeline_health's busy-but-not-moving deals rank here, and why the two lists can differ."""
        if not self.scored or not self.busy:
            return None
        risk = self.deals.loc[self.deals["deal_id"].astype("str").isin(set(self.busy)), "risk"]
        if not len(risk):
            return None
        n, above, pct = len(risk), int((risk > self.threshold).sum()), f"{self.threshold:.0%}"
        split = (
            f"all {'of them ' if n > 1 else ''}above {pct} here"
            if above == n
            else f"none above {pct} here"
            if not above
            else f"{above:,} above {pct} here and {n - above:,} below"
        )
        return (
            f"{plural(n, 'open deal')} {'is' if n == 1 else 'are'} busy but not moving ({BUSY_MOTIONS} or more "
            f"activities since the last stage movement, the pipeline_health list): {split}. The lists answer "
            "different questions: that one counts touches since the last movement, this one is the model's chance "
            f"of no movement in the next {self.horizon_days:g} days from all its features, so a deal worked hard "
            "can rank low here and one nobody works can rank high."
        )

    def narrative(self) -> str:
        """A few plain sentences computed from the numbers; what cannot be shown is said, not hidden."""
        if self.as_of is None:
            return " ".join(self.notes)
        lines: list[str] = []
        if not len(self.deals):
            lines.append("No deal is open at the as-of date, so there is nothing to rank.")
            if self.source.kind != "none":
                lines.append(self.source.sentence())
        elif self.source.kind == "none":
            r = self.deals.iloc[0]
            n = len(self.deals)
            lines.append(
                f"{plural(n, 'open deal')} {'is' if n == 1 else 'are'} listed, longest without a stage movement "
                f"first ({r['deal_id']}: {r['days_in_stage']:,.0f} days in {r['stage']})."
            )
            lines.append(self.source.sentence())
        else:
            lines += self.source.leak_sentences()  # first: nothing after it is to be trusted
            lines += self._risk_sentences()
            lines.append(self.source.sentence())
        if self.unscored:
            lines.append(
                f"{plural(self.unscored, 'deal')} in scope {'has' if self.unscored == 1 else 'have'} no dated "
                "stage entry, so whether they are open cannot be known and they are not ranked."
            )
        return " ".join([*lines, *self.notes])

    # ------------------------------------------------------------------ tables

    @renamed(n="top_n")
    def table(self, top_n: int | None = None):
        """The ``top_n`` (default: the report's ``top_n``) riskiest open deals with the risk in percent and their
        top three reasons in one column (``top_reasons``, strongest first), then what lowers the risk the most
        (``lowers_risk``, when a model gave one), or a :class:`~salesmetrics.log.coverage.Note` saying why there
        are none."""
        n = self.top_n if top_n is None else top_n
        d = self.deals
        base = ["deal_id", *[c for c in ("owner", "team", "stage", "amount", "days_in_stage") if d[c].notna().any()]]
        if self.scored:
            reasons = d[["reason_1", "reason_2", "reason_3"]].astype("object")
            joined = reasons.apply(lambda r: "; ".join(v for v in r if isinstance(v, str) and v), axis=1)
            d = d.assign(stall_risk_pct=(d["risk"] * 100).round(1), top_reasons=joined if len(d) else [])
            columns = [*base, "stall_risk_pct", "top_reasons"]
            if "protective_1" in d and d["protective_1"].notna().any():
                d = d.assign(lowers_risk=d["protective_1"])
                columns.append("lowers_risk")
        else:
            columns = base
        if self.as_of is None:
            return Note(" ".join(self.notes))
        return table_or_note(first(d[columns], n).reset_index(drop=True), "No deal is open at the as-of date.", 1)

    def _repr_html_(self) -> str:
        table = self.table()
        if isinstance(table, Note):
            body = table._repr_html_()
        else:
            with pd.option_context("display.max_colwidth", None):  # reasons in full, never cut at 50 characters
                body = table.to_html(index=False)
        return f"<p>{html.escape(self.narrative())}</p>" + body

    # ------------------------------------------------------------------ figures

    def _why_not(self) -> str | None:
        if self.as_of is None:
            return " ".join(self.coverage.missing("dates", "stage_changes")) or " ".join(self.notes)
        if not len(self.deals):
            return "No deal is open at the as-of date."
        if self.source.kind == "none":
            return self.source.sentence()
        return None

    def _x_max(self) -> float:
        """Right end of a risk axis in percent: the largest risk or the threshold, with room, at most 100."""
        top = max(float(self.deals["risk"].max()), self.threshold) * 100
        return float(min(100, np.ceil((top + 5) / 10) * 10))

    def plot_distribution(self, ax=None):
        """Histogram of the open deals' stall risks, with the threshold marked."""
        import matplotlib.pyplot as plt

        title = f"Stall risk of the open deals (no stage movement within {self.horizon_days:g} days)"
        why = self._why_not()
        if why:
            return note_axes(ax, title, why)
        ax = ax or plt.subplots(figsize=(8, 4))[1]
        risk = self.deals["risk"].to_numpy(dtype="float64") * 100
        right = self._x_max()
        ax.hist(risk, bins=np.linspace(0, right, int(right // 2.5) + 1), color="tab:blue", alpha=0.8, edgecolor="white")
        ax.axvline(self.threshold * 100, color="tab:red", linestyle="--", label=f"threshold {self.threshold:.0%}")
        ax.axvline(np.median(risk), color="black", linestyle=":", label=f"median {np.median(risk):.0f}%")
        ax.set(title=title, xlabel="stall risk (%)", ylabel="open deals (count)", xlim=(0, right))
        ax.legend(loc="upper right", fontsize="small")
        return ax

    def plot_groups(self, fig=None, max_groups: int = 20):
        """Stall risk of each open deal by owner (or team) and by stage: boxes with every deal as a dot."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        title = f"Stall risk by {self.by} and by stage"
        why = self._why_not()
        if why:
            return note_axes(None, title, why).figure
        d = self.deals.assign(risk_pct=self.deals["risk"].astype("float64") * 100)
        g = self.by
        has_group = g in d and d[g].notna().any()
        if has_group:
            d[g] = d[g].astype("str")
            counts = d[g].value_counts()
            keep = counts.index[:max_groups]
            order = d[d[g].isin(keep)].groupby(g)["risk_pct"].median().sort_values(ascending=False).index.tolist()
        stages = [s for s in self.stages if (d["stage"] == s).any()]
        rows = max(len(order) if has_group else 1, len(stages))
        fig = fig or plt.figure(figsize=(12, max(3.5, 0.32 * rows + 1.8)))
        ax_group, ax_stage = fig.subplots(1, 2)
        xlabel = f"stall risk within {self.horizon_days:g} days (%)"
        panels = [(ax_stage, "stage", stages, "By stage (pipeline order)")]
        if has_group:
            shown = f" ({len(keep)} of {len(counts)} with the most open deals)" if len(counts) > len(keep) else ""
            panels.insert(0, (ax_group, g, order, f"By {g}{shown}, highest median first"))
        else:
            note_axes(ax_group, f"By {g}", f"No open deal has a {g} in this log.")
        for ax, column, names, name in panels:
            part = d[d[column].isin(names)]
            with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib 3.11's deprecated ``vert``
                warnings.filterwarnings("ignore", message=".*vert.*deprecated", category=DeprecationWarning)
                sns.boxplot(
                    data=part,
                    x="risk_pct",
                    y=column,
                    order=names,
                    ax=ax,
                    color="lightsteelblue",
                    fliersize=0,
                    width=0.6,
                )
            sns.stripplot(data=part, x="risk_pct", y=column, order=names, ax=ax, color="black", size=3, alpha=0.5)
            ax.axvline(self.threshold * 100, color="tab:red", linestyle="--", linewidth=1)
            ax.set(title=name, xlabel=xlabel, ylabel=column, xlim=(0, self._x_max()))
        fig.suptitle(f"{title} ({len(d):,} open deals; dashed line: threshold {self.threshold:.0%})")
        fig.tight_layout()
        return fig

    @renamed(n="top_n")
    def plot_reasons(self, ax=None, top_n: int = 10):
        """How often each feature is among the three reasons of the high-risk deals (else of the riskiest)."""
        import matplotlib.pyplot as plt

        why = self._why_not()
        pool, who = self._reason_pool() if not why else (None, "")
        title = f"Reasons behind {who}" if not why else "Reasons behind the stall risks"
        if why:
            return note_axes(ax, title, why)
        counts = self.reason_counts(pool).head(top_n)
        if not len(counts):
            return note_axes(ax, title, "No feature moves these deals' risk by half a percentage point or more.")
        ax = ax or plt.subplots(figsize=(8, max(2.5, 0.35 * len(counts) + 1.2)))[1]
        ax.barh(counts["reason"][::-1], counts["deals"][::-1], color="tab:orange")
        ax.set(
            title=title,
            xlabel="deals with it among their top three reasons (count)",
            ylabel="reason (feature)",
        )
        ax.figure.tight_layout()
        return ax


@renamed(group_by="by", top="top_n")
def stall_risk_report(
    log: SalesLog,
    as_of=None,
    *,
    model_path=None,
    horizon_days: float = 30,
    owner: str | None = None,
    team: str | None = None,
    by: str = "owner",
    threshold: float = 0.3,
    top_n: int = 25,
    freq: str = "W",
    model: str = "hgb",
    max_rows: int | None = 100_000,
    n_jobs: int | None = 1,
    random_state=0,
    exclude=None,
    leak_auc: float | None = LEAK_AUC,
) -> StallRiskReport:
    """Open deals at ``as_of`` ranked by their risk of no stage movement within ``horizon_days``, with reasons.

    Parameters
    ----------
    log : SalesLog
    as_of : date, time or None
        The moment of the report (None: the log's latest event).
    model_path : path or None
        A model saved by ``salesmetrics model train --target stall`` (or ``save_model``). Its card must name a
        ``StallPredictor`` trained on the features this version computes and, when the card records them, on
        the log's stages; otherwise a :class:`~salesmetrics.exceptions.UsageError` says so. ``None``: a
        ``StallPredictor`` is fitted on the spot on the log's ``freq`` snapshots with labels cut at ``as_of``.
    horizon_days : float
        The look-ahead of a stall (a saved model keeps its own, and the narrative says so when they differ).
    owner, team : str or None
        Rank only these deals (the model still learns from the whole log).
    by : {"owner", "team"}
        How the high-risk deals are counted and drawn.
    threshold : float
        Risks above it count as high (0 < threshold < 1; default 0.3, about twice the share of open deals that
        stall within 30 days on the demo log: the narrative gives that share beside it).
    top_n : int
        Deals in the table (and whose reasons are counted when none is above ``threshold``).
    freq : {"W", "M"}
        Spacing of the training snapshots of a model fitted on the spot.
    model : {"hgb", "logistic"}
        Learner of a model fitted on the spot (fewer than 200 closed deals: the regularised fallback).
    max_rows : int or None
        Most training snapshots of a model fitted on the spot: above it, every k-th as-of date is kept.
    n_jobs, random_state
        Threads and random state of the fitting.
    exclude : list of str, str or None
        Features a model fitted on the spot leaves out (a comma-separated string is split), e.g. one the
        narrative names as a probable leak.
    leak_auc : float or None
        A feature that alone ranks the training labels with this ROC AUC or more is named, first thing in the
        narrative, as a probable leak that makes the ranking untrustworthy (decision 0030; None: no check).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.read_log("datasets/demo")
    >>> r = stall_risk_report(log, as_of="2024-06-30", model="logistic", freq="M")  # doctest: +SKIP
    >>> len(r.deals), r.source.kind, r.narrative().split(" (")[0]  # doctest: +SKIP
    (124, 'fitted', '18 of 124 open deals have a stall risk above 30%')
    >>> r.table().columns.tolist()  # doctest: +SKIP
    ['deal_id', 'owner', 'team', 'stage', 'amount', 'days_in_stage', 'stall_risk_pct', 'top_reasons']

    A log where no stall can be known yet still gives a report, ranked by days in stage (no model needed):

    >>> r = stall_risk_report(log, as_of="2024-01-20")
    >>> r.source.kind, r.narrative().split(" (")[0]
    ('none', '51 open deals are listed, longest without a stage movement first')
    """
    if by not in GROUPS:
        raise UsageError(f"by must be 'owner' or 'team', not {by!r}.")
    if freq not in FREQS:
        raise UsageError(f"freq must be 'W' or 'M', not {freq!r}.")
    if model not in LEARNERS:
        raise UsageError(f"model must be 'hgb' or 'logistic', not {model!r}.")
    if not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise UsageError(f"threshold must be a probability between 0 and 1 (e.g. 0.5), not {threshold!r}.")
    if max_rows is not None and (not isinstance(max_rows, (int, np.integer)) or max_rows < 100):
        raise UsageError(f"max_rows must be a whole number of 100 or more (or None), not {max_rows!r}.")
    if not isinstance(top_n, (int, np.integer)) or top_n < 1:
        raise UsageError(f"top_n must be a whole number of deals, 1 or more, not {top_n!r}.")
    if not isinstance(horizon_days, (int, float)) or not horizon_days > 0:
        raise UsageError(f"horizon_days must be a positive number of days (e.g. 30), not {horizon_days!r}.")
    if model_path in ("",):
        model_path = None
    exclude = _exclude_list(exclude)
    if model_path is not None and not Path(model_path).is_file():
        raise UsageError(f"Model file {model_path} does not exist; train one with 'salesmetrics model train'.")
    scope = filter_log(log, owner=owner, team=team)
    cover = log_coverage(scope)
    notes = cover.missing("dates", "stage_changes", "activities", "close_dates")
    if cover.partial_note:
        notes.append(cover.partial_note)
    with_stages = set(scope.stage_changes["deal_id"].astype("str"))
    unscored = int((~scope.deals["deal_id"].astype("str").isin(with_stages)).sum())
    columns = ["deal_id", "owner", "team", "stage", "amount", "days_in_stage", "expected_close_date", "risk"]
    columns += [f"{k}_{i}" for i in (1, 2, 3) for k in ("reason", "feature", "effect")]
    columns += ["protective_1", "protective_feature_1", "lowers_by_1"]
    empty_deals = pd.DataFrame({c: pd.Series(dtype="float64" if c == "risk" else "object") for c in columns})
    common = dict(
        threshold=float(threshold),
        top_n=int(top_n),
        by=by,
        currency=log.model.currency,
        stages=tuple(log.model.stages),
        coverage=cover,
        unscored=unscored,
    )
    if not cover.dated or not len(log.stage_changes):
        source = ModelSource(kind="none", horizon_days=float(horizon_days), reason="the log has no dated stage entry")
        stamp = None if not cover.dated else _resolve(log, as_of)
        return StallRiskReport(
            as_of=stamp,
            horizon_days=float(horizon_days),
            deals=empty_deals,
            source=source,
            notes=tuple(notes),
            **common,
        )
    stamp = _resolve(log, as_of)
    current = snapshots(log, as_of=[stamp], horizon_days=horizon_days, observed_until=stamp)
    current = current[current["deal_id"].astype("str").isin(set(scope.deals["deal_id"].astype("str")))]
    estimator, empty = None, []
    if model_path is not None:
        estimator, source, empty = saved_model(model_path, log, stamp, horizon_days)
    elif not len(current):
        source = ModelSource(kind="none", horizon_days=float(horizon_days), reason="no deal is open to score")
    else:
        try:
            estimator, source, empty = fitted_model(
                log, stamp, float(horizon_days), freq, model, n_jobs, random_state, max_rows, exclude, leak_auc
            )
        except UsageError as exc:
            source = ModelSource(
                kind="none", horizon_days=float(horizon_days), reason=str(exc).rstrip(".").split("; ")[0]
            )
    keep = [c for c in ("deal_id", "owner", "team", "stage", "amount", "days_in_stage", "expected_close_date")]
    deals = current.reindex(columns=keep)
    if estimator is not None and len(current):
        with CollectedWarnings():
            reasons = estimator.reasons(fill_features(current, empty), top_n=3, protective=1)
        deals = deals.join(reasons.drop(columns=[c for c in ("deal_id", "as_of", "owner", "stage") if c in reasons]))
        deals = deals.sort_values(["risk", "days_in_stage", "deal_id"], ascending=[False, False, True], kind="stable")
    else:
        deals = deals.sort_values(["days_in_stage", "deal_id"], ascending=[False, True], kind="stable")
    deals = deals.reindex(columns=columns).reset_index(drop=True)
    busy: tuple[str, ...] = ()
    if estimator is not None and len(deals) and cover.has("activities"):
        flags = momentum_flags(scope, as_of=stamp, motion_without_movement=BUSY_MOTIONS)
        busy = tuple(flags.loc[flags["motion_without_movement"], "deal_id"].astype("str"))
    return StallRiskReport(
        as_of=stamp,
        horizon_days=float(source.horizon_days),
        deals=deals,
        source=source,
        notes=tuple(notes),
        busy=busy,
        **common,
    )


def _exclude_list(exclude) -> tuple[str, ...]:
    """``exclude`` as a tuple of feature names, checked now (a bad name is a usage error, not a missing model)."""
    if exclude is None or (isinstance(exclude, str) and not exclude.strip()):
        return ()
    names = [n.strip() for n in exclude.split(",")] if isinstance(exclude, str) else [str(n) for n in exclude]
    names = [n for n in names if n]
    if names:
        StallPredictor(exclude=names).used_features()  # raises a UsageError naming the close matches
    return tuple(dict.fromkeys(names))


def _resolve(log: SalesLog, as_of) -> pd.Timestamp:
    return resolve_as_of(log, as_of)


__all__ = [
    "FEATURE_LABELS",
    "ModelSource",
    "StallRiskReport",
    "empty_features",
    "fill_features",
    "stall_risk_report",
    "thin_snapshots",
]
