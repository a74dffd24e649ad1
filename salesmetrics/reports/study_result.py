"""The close-likelihood study's result: its numbers in plain sentences, tables and figures.

:func:`~salesmetrics.reports.study.close_likelihood_study` computes a :class:`Study`; this module says what the
numbers mean (``narrative``), shows them (``table``) and draws them (``plot_*``). Each part the log could not
support is a sentence saying why, never an error.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed
from salesmetrics._util.text import join_words, plural
from salesmetrics.exceptions import UsageError
from salesmetrics.features.registry import labels as feature_labels
from salesmetrics.log.coverage import LogCoverage, Note, note_axes, table_or_note
from salesmetrics.models import LEAK_AUC
from salesmetrics.reports.fitting import FREQS
from salesmetrics.reports.tables import first

SMALL_TEST_ROWS, SMALL_TEST_CLASS = 100, 20  # fewer test snapshots (or of the rarer class): said to be anecdotes
GROUP_COLORS = {
    "movement and stage": "tab:blue",
    "client decisions": "tab:green",
    "motion volume": "tab:orange",
    "close-date slippage": "tab:purple",
    "deal and owner record": "tab:gray",
}
TARGET_WORDS = {"won": "won", "stalled": "stalled (no stage movement within the horizon)"}


@dataclass(frozen=True)
class Study:
    """Everything the ``close_likelihood_study`` report shows (see :func:`close_likelihood_study`).

    ``evaluation``: the :class:`~salesmetrics.models.evaluation.Evaluation` (None, with ``evaluation_note``,
    when the log cannot support a time split). ``importance``: per feature ``feature, group, auc_drop, sd``
    (scikit-learn's permutation importance on the test snapshots); ``group_importance`` per feature group and
    ``contrast`` for movement and decisions against motion, each group shuffled as a whole. ``survival``:
    :func:`~salesmetrics.models.survival.time_to_close`; ``cox``:
    :func:`~salesmetrics.models.survival.next_movement_cox` (None with a note when they cannot be made).
    """

    as_of: pd.Timestamp | None
    target: str
    horizon_days: float
    freq: str
    learner: str
    coverage: LogCoverage
    notes: tuple[str, ...]
    evaluation: object = None
    evaluation_note: str | None = None
    fallback: str | None = None
    model_used: str | None = None
    importance: pd.DataFrame = field(default_factory=pd.DataFrame)
    group_importance: pd.DataFrame = field(default_factory=pd.DataFrame)
    contrast: pd.DataFrame = field(default_factory=pd.DataFrame)
    survival: object = None
    survival_note: str | None = None
    cox: object = None
    cox_note: str | None = None
    n_snapshots: int = 0
    every: int = 1
    cox_every: int = 1
    empty: tuple[str, ...] = ()

    # ------------------------------------------------------------------ numbers the words use

    def _metric(self, model: str, metric: str) -> pd.Series | None:
        t = self.evaluation.table
        row = t[(t["model"] == model) & (t["metric"] == metric)]
        return row.iloc[0] if len(row) else None

    @property
    def calibration_gap(self) -> float:
        """Mean absolute gap between predicted and observed rates over the model's calibration bins, weighted by
        rows (the expected calibration error); NaN without an evaluation."""
        if self.evaluation is None:
            return float("nan")
        c = self.evaluation.calibration
        c = c[c["model"] == "model"]
        if not len(c) or not c["n"].sum():
            return float("nan")
        return float((c["n"] * (c["mean_predicted"] - c["observed_rate"]).abs()).sum() / c["n"].sum())

    # ------------------------------------------------------------------ words

    def _evaluation_sentences(self) -> list[str]:
        if self.evaluation is None:
            return [f"The time-split evaluation cannot be made: {self.evaluation_note}."]
        ev = self.evaluation
        c = ev.counts
        rate = float(ev.predictions["y"].mean())
        text = (
            f"Trained on {c['train']:,} snapshots before {ev.cutoff:%Y-%m-%d} and tested on {c['test']:,} from "
            f"{ev.test_start:%Y-%m-%d} (a {ev.gap_days:g}-day gap; {c['test_censored']:,} test snapshots without a "
            f"known outcome left out; {rate:.0%} of the test snapshots {TARGET_WORDS[self.target].split(' (')[0]})"
        )
        auc = self._metric("model", "roc_auc")
        baselines = [m for m in ev.models if m != "model"]
        best = None
        for name in baselines:
            row = self._metric(name, "roc_auc")
            if row is not None and np.isfinite(row["value"]) and (best is None or row["value"] > best["value"]):
                best = row
        text += f", the model reaches a ROC AUC of {auc['value']:.2f} [{auc['ci_low']:.2f}, {auc['ci_high']:.2f}]"
        if best is not None:
            text += (
                f"; the best baseline ('{best['model']}') reaches {best['value']:.2f} "
                f"[{best['ci_low']:.2f}, {best['ci_high']:.2f}]"
            )
            if auc["ci_low"] > best["ci_high"]:
                text += ": the model ranks clearly better"
            elif auc["value"] > best["value"]:
                text += ": the model ranks a little better, within the intervals"
            else:
                text += ": the model ranks no better than this rule"
        out = [text + "."]
        if not ev.labelled_share.empty:
            out.append(f"Test rows scored: {ev.follow_up_line()}.")
        y = ev.predictions["y"]
        few = min(int(y.sum()), int((y == 0).sum()))
        if c["test"] < SMALL_TEST_ROWS or few < SMALL_TEST_CLASS:
            out.append(
                f"With {c['test']:,} test snapshots, {few:,} of them in the rarer class, these figures are anecdotes "
                f"rather than estimates (a steady estimate needs some {SMALL_TEST_ROWS} snapshots and "
                f"{SMALL_TEST_CLASS} of each class)."
            )
        if auc["value"] >= LEAK_AUC and len(self.importance):
            top = self.importance.iloc[0]
            out.append(
                f"A ROC AUC this close to 1 usually means a feature leaks the outcome: shuffling "
                f"{_plain(top['feature'])} ({top['feature']}) "
                f"alone lowers it by {top['auc_drop']:.2f}; check whether the export fills it only once a deal is "
                "closed."
            )
        brier = self._metric("model", "brier")
        gap = self.calibration_gap
        if brier is not None and np.isfinite(gap):
            out.append(
                f"Its Brier score is {brier['value']:.3f}, and its predicted probabilities differ from the observed "
                f"rates by {gap * 100:.1f} percentage points on average over the calibration bins."
            )
        return out

    def _importance_sentences(self) -> list[str]:
        if self.contrast.empty:
            return []
        d = self.contrast.set_index("group")["auc_drop"]
        move, motion = float(d["movement and decisions"]), float(d["motion"])
        text = (
            f"Shuffling the movement and client-decision features together lowers the test ROC AUC by {move:.3f}; "
            f"shuffling the motion (activity volume) features by {motion:.3f}"
        )
        if not self.coverage.has("activities"):
            text += ", which are empty here: the log has no activities"
        elif max(move, motion) <= 0.005:
            text += ": neither side carries measurable weight on the test snapshots"
        elif move > motion + 0.005:
            text += (
                f": on this log, whether a deal is {self.target} rests more on movement and decisions than on motion"
            )
        elif motion > move + 0.005:
            text += f": on this log, activity volume carries more of whether a deal is {self.target} than movement"
        else:
            text += ": neither side carries clearly more"
        top = self.importance.head(1)
        if len(top) and top["auc_drop"].iloc[0] > 0:
            text += f". The single most important feature is {_plain(top['feature'].iloc[0])} ({top['group'].iloc[0]})"
        return [text + "."]

    def _survival_sentences(self) -> list[str]:
        if self.survival is None:
            return [f"Survival curves cannot be drawn: {self.survival_note}."] if self.survival_note else []
        s = self.survival.summary
        if not len(s):
            return ["No deal is left for the survival curves."]
        n = int(s["n_deals"].sum())
        age = self.survival.min_age_days
        who = f"{plural(n, 'deal')} still open at {age:g} days" if age else plural(n, "deal")
        horizons = [h for h in self.survival.horizons if s[f"won_within_{h}d"].notna().any()]
        if not horizons:
            return [f"Time to close ({who}): every horizon runs past the longest follow-up, so no share is given."]
        h = 90 if 90 in horizons else horizons[-1]
        col = f"won_within_{h}d"
        known = s[s[col].notna()]
        lo, hi = known.loc[known[col].idxmin()], known.loc[known[col].idxmax()]
        by = self.survival.by
        then = "then " if age else "at first "
        if by is None or len(known) == 1:
            text = f"Of {who}, {hi[col]:.0%} are won within the next {h} days"
        elif by == "stage":
            text = (
                f"Of {who}, {hi[col]:.0%} of those {then}in {hi['group']} are won within the next {h} days, against "
                f"{lo[col]:.0%} of those in {lo['group']}"
            )
        else:
            text = (
                f"Of {who}, {hi[col]:.0%} of {hi['group']}'s are won within the next {h} days, against "
                f"{lo[col]:.0%} of {lo['group']}'s"
            )
        return [text + " (cumulative incidence, losses competing)."]

    def _cox_sentences(self) -> list[str]:
        if self.cox is None:
            return [f"The Cox model of the time to the next movement cannot be fitted: {self.cox_note}."]
        cox = self.cox
        if not np.isfinite(cox.concordance):
            return []
        top = cox.coefficients.iloc[0]
        way = "sooner" if top["hazard_ratio"] > 1 else "later"
        thinned = f", one as-of date in {self.cox_every}" if self.cox_every > 1 else ""
        return [
            f"A Cox model of the time to the next movement orders who moves first with a concordance of "
            f"{cox.concordance:.2f} on {cox.n_test:,} later snapshots{thinned} (0.5 is chance); its largest effect "
            f"is {top['feature']} (hazard ratio {top['hazard_ratio']:.2f} per standard deviation: moves {way})."
        ]

    def narrative(self) -> str:
        """A few plain sentences computed from the numbers; each part that cannot be made says why."""
        if self.as_of is None:
            return " ".join(self.notes)
        lines = self._evaluation_sentences()
        if self.fallback:
            lines.append(f"Small-data fallback: {self.fallback}.")
        lines += self._importance_sentences() + self._survival_sentences() + self._cox_sentences()
        if self.empty:
            shown = list(self.empty)[:6] + ([f"{len(self.empty) - 6} more"] if len(self.empty) > 6 else [])
            lines.append(
                f"{plural(len(self.empty), 'feature')} have no value in this log and carry nothing: "
                f"{join_words(shown)}."
            )
        if self.every > 1:
            lines.append(f"To keep the study quick, one {FREQS[self.freq]} as-of date in {self.every} is used.")
        return " ".join([*lines, *self.notes])

    # ------------------------------------------------------------------ tables

    @renamed(n="top_n")
    def table(self, name: str, top_n: int = 15):
        """``evaluation`` (the model beside the baselines), ``calibration``, ``groups`` (grouped importance),
        ``importance`` (top ``top_n`` features), ``survival`` or ``cox`` (top ``top_n`` hazard ratios); a
        :class:`~salesmetrics.log.coverage.Note` saying why when it is empty."""
        names = ("evaluation", "calibration", "groups", "importance", "survival", "cox")
        if name not in names:
            raise UsageError(f"No table {name!r}; tables: {', '.join(names)}.")
        if self.as_of is None:
            return Note(" ".join(self.notes))
        ev_note = f"No evaluation: {self.evaluation_note}." if self.evaluation is None else ""
        if name == "evaluation":
            return Note(ev_note) if ev_note else self.evaluation.wide().reset_index()
        if name == "calibration":
            return Note(ev_note) if ev_note else table_or_note(self.evaluation.calibration, "No rows.", 3)
        if name in ("groups", "importance"):
            frame = self.group_importance if name == "groups" else first(self.importance, top_n)
            if name == "importance" and "feature" in frame.columns:  # the feature's words, then its column
                frame = frame.assign(column=frame["feature"], feature=frame["feature"].map(_plain))
            return Note(ev_note) if ev_note else table_or_note(frame, "No importance was computed.", 3)
        if name == "survival":
            if self.survival is None:
                return Note(f"No survival curves: {self.survival_note}.")
            return table_or_note(self.survival.summary, "No deal is left for the survival curves.", 3)
        if self.cox is None:
            return Note(f"No Cox model: {self.cox_note}.")
        return table_or_note(first(self.cox.coefficients, top_n), "No coefficient.", 3)

    def _repr_html_(self) -> str:
        parts = [f"<p>{html.escape(self.narrative())}</p>"]
        table = self.table("evaluation")
        parts.append(table._repr_html_() if isinstance(table, Note) else table.to_html(index=False))
        return "".join(parts)

    # ------------------------------------------------------------------ figures

    def _no_evaluation(self) -> str | None:
        if self.as_of is None:
            return " ".join(self.notes)
        if self.evaluation is None:
            return f"The time-split evaluation cannot be made: {self.evaluation_note}."
        return None

    def plot_evaluation(self, fig=None):
        """ROC and precision-recall curves of the model and the baselines on the test snapshots (calibration:
        :meth:`plot_calibration`)."""
        import matplotlib.pyplot as plt

        title = f"Model against the CRM baselines on later snapshots (target: {self.target})"
        why = self._no_evaluation()
        if why:
            return note_axes(None, title, why).figure
        fig = fig or plt.figure(figsize=(12, 5))
        ax_roc, ax_pr = fig.subplots(1, 2)
        spare = fig.add_axes((0, 0, 0.01, 0.01))  # Evaluation.plot draws calibration too: drawn apart here
        self.evaluation.plot(axes=(ax_roc, ax_pr, spare))
        fig.delaxes(spare)
        ax_roc.set_xlabel("False positive rate (0–1)")
        ax_roc.set_ylabel("True positive rate (0–1)")
        ax_pr.set_xlabel("Recall (0–1)")
        ax_pr.set_ylabel("Precision (0–1)")
        fig.suptitle(title)
        fig.tight_layout()
        return fig

    def plot_calibration(self, ax=None):
        """Observed rate against predicted probability per bin, model and baselines, with the diagonal."""
        why = self._no_evaluation()
        if why:
            return note_axes(ax, f"Calibration on the test snapshots ({self.target})", why)
        ax = self.evaluation.plot_calibration(ax)
        ax.set_xlabel("Mean predicted probability in the bin (0–1)")
        ax.set_ylabel(f"Observed share {self.target} (0–1)")
        return ax

    @renamed(n="top_n")
    def plot_importance(self, fig=None, top_n: int = 12):
        """Drop in test ROC AUC when each feature group (left) or feature (right, top ``top_n``) is shuffled."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        title = f"Which features carry the weight (target: {self.target})"
        why = self._no_evaluation()
        if why or self.group_importance.empty:
            return note_axes(None, title, why or "No importance was computed.").figure
        fig = fig or plt.figure(figsize=(14, 5))
        ax_group, ax_feat = fig.subplots(1, 2)
        g = self.group_importance
        colors = [GROUP_COLORS.get(name, "tab:gray") for name in g["group"]]
        ax_group.barh(g["group"][::-1], g["auc_drop"][::-1], xerr=g["sd"][::-1], color=colors[::-1])
        ax_group.axvline(0, color="black", linewidth=0.8)
        ax_group.set(
            title="Feature groups, each shuffled as a whole",
            xlabel="drop in test ROC AUC (AUC points)",
            ylabel="feature group",
        )
        top = self.importance.head(top_n).assign(feature=lambda t: t["feature"].map(_plain))
        sns.barplot(
            data=top,
            x="auc_drop",
            y="feature",
            hue="group",
            palette=GROUP_COLORS,
            dodge=False,
            ax=ax_feat,
        )
        ax_feat.axvline(0, color="black", linewidth=0.8)
        ax_feat.set(
            title=f"The {len(top)} most important single features",
            xlabel="drop in test ROC AUC (AUC points)",
            ylabel="feature",
        )
        ax_feat.legend(title="group", fontsize="small", loc="lower right")
        fig.suptitle(title)
        fig.tight_layout()
        return fig

    def plot_survival(self, fig=None):
        """Kaplan–Meier share still open and cumulative incidence of won and lost, by the chosen grouping."""
        import matplotlib.pyplot as plt

        title = "Time to close: Kaplan–Meier and cumulative incidence of won and lost"
        if self.as_of is None or self.survival is None or not len(self.survival.summary):
            why = " ".join(self.notes) if self.as_of is None else (self.survival_note or "No deal is left.")
            return note_axes(None, title, why).figure
        fig = fig or plt.figure(figsize=(13, 4.8))
        axes = fig.subplots(1, 2, sharex=True)
        self.survival.plot(axes=axes)
        fig.suptitle(f"{title} ({len(self.survival.deals):,} deals, open deals censored at the as-of date)")
        fig.tight_layout()
        return fig

    def plot_cox(self, ax=None):
        """Hazard ratios of the next movement per standard deviation of each feature (Cox model)."""
        title = "Time to next movement, Cox model"
        if self.as_of is None or self.cox is None:
            return note_axes(ax, title, " ".join(self.notes) if self.as_of is None else f"{self.cox_note}.")
        ax = self.cox.plot(ax=ax)
        ax.set_ylabel("feature (standardised)")
        ax.figure.tight_layout()
        return ax


__all__ = ["GROUP_COLORS", "SMALL_TEST_CLASS", "SMALL_TEST_ROWS", "TARGET_WORDS", "Study"]


def _plain(feature: str) -> str:
    """A feature's label in words (the registry's), the column name when it has none.

    >>> _plain("days_since_movement"), _plain("x0")
    ('time since the last stage movement', 'x0')
    """
    return feature_labels().get(str(feature), str(feature))
