"""A close-likelihood study for researchers: the logic of the ``close_likelihood_study`` report.

:func:`close_likelihood_study` puts in one result what ``docs/models.md`` argues a model must show before it is
trusted: a time-split evaluation beside the CRM baselines with bootstrap intervals
(:func:`salesmetrics.models.evaluation.evaluate`), calibration, which features carry the weight (permutation
importance of movement and client-decision features against motion features, whole groups shuffled together),
and survival views (Kaplan–Meier and cumulative incidence of won and lost,
:func:`salesmetrics.models.survival.time_to_close`; a Cox model of the time to the next movement,
:func:`~salesmetrics.models.survival.next_movement_cox`).

The training labels never see past the test start (``observed_until``), and the log is cut at ``as_of``. Each
part that a log cannot support (too few snapshots, one class only, no dates, no activities) is left out with a
sentence saying why; the study never refuses a valid log (``docs/decisions/0026-model-reports.md``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesmetrics._util.text import join_words, plural
from salesmetrics.log.coverage import LogCoverage, Note, log_coverage, note_axes, table_or_note
from salesmetrics.exceptions import UsageError
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.models import LEAK_AUC
from salesmetrics.reports.stall_risk import FREQS, LEARNERS, _Warnings, empty_features, fill_features
from salesmetrics.features.build import FEATURES
from salesmetrics.reports.tables import first

TARGETS = ("won", "stalled")
COX_MAX_ROWS = 15_000  # the concordance index costs about the square of the rows: above this, dates are thinned
COX_MIN_EVENTS = 20  # movements needed in the training snapshots (half as many in the test snapshots)
SMALL_TEST_ROWS, SMALL_TEST_CLASS = 100, 20  # fewer test snapshots (or of the rarer class): said to be anecdotes
SURVIVAL_GROUPS = ("stage", "owner", "team")

#: Feature groups for the permutation importance; every feature in exactly one group (as in docs/models.md).
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "movement and stage": (
        "stage_rank",
        "movements",
        "advances",
        "regressions",
        "back_and_forth",
        "days_since_movement",
        "days_since_commit",
    ),
    "client decisions": (
        "decisions",
        "decision_rate",
        "interactions_since_decision",
        "decisions_30d",
        "owner_decision_rate",
    ),
    "motion volume": (
        "motions",
        "motions_14d",
        "motions_30d",
        "motion_per_movement",
        "activities_since_movement",
        "interactions",
        "days_since_activity",
    ),
    "close-date slippage": ("close_date_pushes", "days_pushed", "close_date_pulls", "days_past_close"),
    "deal and owner record": ("amount", "age_days", "owner_win_rate", "owner_closed"),
}
#: The contrast the study is about: movement and decisions (shuffled together) against motion volume.
CONTRAST: dict[str, tuple[str, ...]] = {
    "movement and decisions": FEATURE_GROUPS["movement and stage"] + FEATURE_GROUPS["client decisions"],
    "motion": FEATURE_GROUPS["motion volume"],
}
GROUP_COLORS = {
    "movement and stage": "tab:blue",
    "client decisions": "tab:green",
    "motion volume": "tab:orange",
    "close-date slippage": "tab:purple",
    "deal and owner record": "tab:gray",
}
TARGET_WORDS = {"won": "won", "stalled": "stalled (no stage movement within the horizon)"}


def grouped_permutation_importance(model, X: pd.DataFrame, y, groups: dict, n_repeats: int = 5, random_state=0):
    """Drop in ROC AUC when every column of a group is shuffled together (the same row permutation).

    Shuffling a group jointly keeps correlated features inside it from standing in for each other, so the drop
    is what the whole group carries; a group of one feature gives scikit-learn's ``permutation_importance``.
    Columns that are constant in ``X`` are not shuffled (it would change nothing); a group of constants drops 0.
    Returns ``group, features, auc_drop, sd`` (mean and standard deviation over ``n_repeats`` shuffles),
    largest drop first.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    >>> y = (X["a"] + 0.3 * rng.normal(size=400) > 0).astype(int)
    >>> t = grouped_permutation_importance(LogisticRegression().fit(X, y), X, y, {"A": ["a"], "B": ["b"]})
    >>> t["group"].tolist(), bool(t["auc_drop"].iloc[0] > 0.3), bool(abs(t["auc_drop"].iloc[1]) < 0.02)
    (['A', 'B'], True, True)
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    rng = np.random.default_rng(random_state)
    base = roc_auc_score(y, model.predict_proba(X)[:, 1])
    rows = []
    for name, columns in groups.items():
        columns = [c for c in columns if c in X.columns]
        varying = [c for c in columns if X[c].nunique(dropna=False) > 1]  # shuffling a constant changes nothing
        drops = [0.0] if not varying else []
        for _ in range(int(n_repeats) if varying else 0):
            shuffled = X.copy()
            shuffled[varying] = X[varying].to_numpy()[rng.permutation(len(X))]
            drops.append(base - roc_auc_score(y, model.predict_proba(shuffled)[:, 1]))
        rows.append({"group": name, "features": len(columns), "auc_drop": float(np.mean(drops)), "sd": np.std(drops)})
    out = pd.DataFrame(rows, columns=["group", "features", "auc_drop", "sd"])
    return out.sort_values("auc_drop", ascending=False, kind="stable").reset_index(drop=True)


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
                f"A ROC AUC this close to 1 usually means a feature leaks the outcome: shuffling {top['feature']} "
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
            text += f". The single most important feature is {top['feature'].iloc[0]} ({top['group'].iloc[0]})"
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

    def table(self, name: str, n: int = 15):
        """``evaluation`` (the model beside the baselines), ``calibration``, ``groups`` (grouped importance),
        ``importance`` (top ``n`` features), ``survival`` or ``cox`` (top ``n`` hazard ratios); a
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
            frame = self.group_importance if name == "groups" else first(self.importance, n)
            return Note(ev_note) if ev_note else table_or_note(frame, "No importance was computed.", 3)
        if name == "survival":
            if self.survival is None:
                return Note(f"No survival curves: {self.survival_note}.")
            return table_or_note(self.survival.summary, "No deal is left for the survival curves.", 3)
        if self.cox is None:
            return Note(f"No Cox model: {self.cox_note}.")
        return table_or_note(first(self.cox.coefficients, n), "No coefficient.", 3)

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

    def plot_importance(self, fig=None, n: int = 12):
        """Drop in test ROC AUC when each feature group (left) or feature (right, top ``n``) is shuffled."""
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
        top = self.importance.head(n)
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


def _learner(target: str, learner: str, horizon_days: float, n_jobs, random_state):
    from salesmetrics.models import CloseLikelihood, StallPredictor

    if target == "won":
        return CloseLikelihood(target="won", model=learner, n_jobs=n_jobs, random_state=random_state)
    return StallPredictor(horizon_days=horizon_days, model=learner, n_jobs=n_jobs, random_state=random_state)


def _reason(exc: Exception) -> str:
    """An error message as a clause: no final full stop, first letter in lower case."""
    text = str(exc).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def close_likelihood_study(
    log: SalesLog,
    cutoff=None,
    horizon_days: float = 30,
    *,
    as_of=None,
    target: str = "won",
    owner: str | None = None,
    team: str | None = None,
    freq: str = "W",
    model: str = "hgb",
    gap_days: float | None = None,
    n_bootstrap: int = 100,
    n_repeats: int = 5,
    survival_by: str | None = "stage",
    min_age_days: float = 30,
    max_rows: int | None = 100_000,
    random_state=0,
    n_jobs: int | None = 1,
) -> Study:
    """Evaluate a close (or stall) model on a time split beside the baselines, and study what drives it.

    Parameters
    ----------
    log : SalesLog
    cutoff : date or None
        Train on snapshots before it, test on snapshots from ``cutoff + gap_days`` (None: the moment below which
        70% of the snapshots fall).
    horizon_days : float
        The snapshots' label horizon (the stall window, and the default gap).
    as_of : date or None
        The log is cut here (None: its latest event).
    target : {"won", "stalled"}
        ``won``: a :class:`~salesmetrics.models.CloseLikelihood`; ``stalled``: a
        :class:`~salesmetrics.models.StallPredictor`.
    owner, team : str or None
        Study only these deals.
    freq : {"W", "M"}
        Spacing of the snapshots.
    model : {"hgb", "logistic"}
        The learner (fewer than 200 closed deals: the regularised fallback, said in the narrative).
    gap_days, n_bootstrap
        As in :func:`~salesmetrics.models.evaluation.evaluate`.
    n_repeats : int
        Shuffles per feature and per group for the permutation importance.
    survival_by : {"stage", "owner", "team"} or None
        Grouping of the survival curves; ``min_age_days`` conditions them on deals still open at that age.
    max_rows : int or None
        Most snapshots used: above it, every k-th as-of date is kept (the latest always).
    random_state, n_jobs
        Seed and threads.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> s = close_likelihood_study(sm.read_log("datasets/demo"), model="logistic", freq="M",
    ...                            n_bootstrap=0, n_repeats=1)  # doctest: +SKIP
    >>> s.evaluation.wide(with_ci=False)["ROC AUC"].round(2).to_dict()  # doctest: +SKIP
    {'model': 0.75, 'stage default rate': 0.76, 'days in stage > 30': 0.52, 'stalled-in-stage flag': 0.5}
    >>> s.narrative().split(";")[0]  # doctest: +SKIP
    'Trained on 1,327 snapshots before 2024-12-31 and tested on 484 from 2025-01-30 (a 30-day gap'
    >>> s.plot_importance()  # doctest: +SKIP
    """
    from salesmetrics.log.prepare import filter_log
    from salesmetrics.models.evaluation import evaluate, time_split
    from salesmetrics.models.survival import next_movement_cox, time_to_close
    from salesmetrics.log.prepare import resolve_as_of
    from salesmetrics.reports.stall_risk import thin_snapshots
    from salesmetrics.features.build import snapshots

    if target not in TARGETS:
        raise UsageError(f"target must be 'won' or 'stalled', not {target!r}.")
    if freq not in FREQS:
        raise UsageError(f"freq must be 'W' or 'M', not {freq!r}.")
    if model not in LEARNERS:
        raise UsageError(f"model must be 'hgb' or 'logistic', not {model!r}.")
    if survival_by is not None and survival_by not in SURVIVAL_GROUPS:
        raise UsageError(f"survival_by must be 'stage', 'owner', 'team' or None, not {survival_by!r}.")
    if not isinstance(horizon_days, (int, float)) or not horizon_days > 0:
        raise UsageError(f"horizon_days must be a positive number of days (e.g. 30), not {horizon_days!r}.")
    if not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise UsageError(f"n_repeats must be a whole number, 1 or more, not {n_repeats!r}.")
    if max_rows is not None and (not isinstance(max_rows, (int, np.integer)) or max_rows < 100):
        raise UsageError(f"max_rows must be a whole number of 100 or more (or None), not {max_rows!r}.")
    scope = filter_log(log, owner=owner, team=team)
    cover = log_coverage(scope)
    notes = cover.missing("dates", "stage_changes", "activities", "close_dates")
    if cover.partial_note:
        notes.append(cover.partial_note)
    entered = scope.stage_changes["stage"]
    for kind, stages, other in (("lost", log.model.lost, "wins"), ("won", log.model.won, "losses")):
        if target == "won" and cover.stage_changes and not entered.isin(stages).any():
            notes.append(f"The log records no {kind} deal, so a model of winning would see only {other}.")
    common = dict(
        target=target, horizon_days=float(horizon_days), freq=freq, learner=model, coverage=cover, notes=tuple(notes)
    )
    if not cover.dated:
        return Study(as_of=None, **common)
    stamp = resolve_as_of(log, as_of)
    parts: dict = {}

    # ------------------------------------------------------------------ evaluation and importance
    frame = None
    try:
        built = snapshots(scope, freq=freq, horizon_days=horizon_days, observed_until=stamp)
        frame, parts["every"] = thin_snapshots(built, max_rows)
        parts["n_snapshots"] = len(frame)
        train_part, _ = time_split(frame, cutoff, gap_days, train_share=0.7)
        cut, test_start = train_part.attrs["cutoff"], train_part.attrs["test_start"]
        train = snapshots(scope, freq=freq, horizon_days=horizon_days, observed_until=test_start)
        train = train[train["as_of"].isin(frame["as_of"].unique())]
        used = train[(train["as_of"] < cut).to_numpy() & train[target].notna().to_numpy()]
        empty = empty_features(used) if len(used) else []
        parts["empty"] = tuple(empty)
        frame, train = fill_features(frame, empty), fill_features(train, empty)
        estimator = _learner(target, model, float(horizon_days), n_jobs, random_state)
        with _Warnings() as caught:
            ev = evaluate(
                estimator,
                frame,
                target=target,
                cutoff=cut,
                gap_days=gap_days,
                n_bootstrap=n_bootstrap,
                random_state=random_state,
                train_snapshots=train,
            )
        skipped = [m for m in caught.messages() if m.startswith("Baseline")]
        notes.extend(f"{m}." for m in skipped)
        parts["evaluation"] = ev
        fitted = ev.estimators["model"]
        parts["fallback"] = getattr(fitted, "fallback_", None)
        parts["model_used"] = getattr(fitted, "model_", None)
        test = frame[(frame["as_of"] >= ev.test_start).to_numpy() & frame[target].notna().to_numpy()]
        X, y = test[list(FEATURES)], test[target].astype("float64").astype("int64").to_numpy()
        if len(X) != len(ev.predictions):  # pragma: no cover - evaluate's test rows are these rows
            raise UsageError("the test rows could not be matched to the evaluation's")
        with _Warnings():
            single = grouped_permutation_importance(
                fitted, X, y, {f: (f,) for f in FEATURES}, n_repeats, random_state
            ).rename(columns={"group": "feature"})
            group_of = {f: g for g, cols in FEATURE_GROUPS.items() for f in cols}
            single.insert(1, "group", single["feature"].map(group_of))
            parts["importance"] = single.drop(columns="features")
            parts["group_importance"] = grouped_permutation_importance(
                fitted, X, y, FEATURE_GROUPS, n_repeats, random_state
            )
            parts["contrast"] = grouped_permutation_importance(fitted, X, y, CONTRAST, n_repeats, random_state)
    except UsageError as exc:
        parts["evaluation_note"] = _reason(exc)

    # ------------------------------------------------------------------ survival
    try:
        with _Warnings():
            parts["survival"] = time_to_close(scope, as_of=stamp, by=survival_by, min_age_days=min_age_days)
    except UsageError as exc:
        parts["survival_note"] = _reason(exc)
    if frame is None:
        parts["cox_note"] = parts.get("evaluation_note", "there are no snapshots")
    else:
        try:
            cox_cut = parts["evaluation"].cutoff if "evaluation" in parts else cutoff
            cox_frame, parts["cox_every"] = thin_snapshots(frame, COX_MAX_ROWS)
            with _Warnings():
                cox = next_movement_cox(cox_frame, cutoff=cox_cut, gap_days=0.0)
            if cox.events_train < COX_MIN_EVENTS or cox.events_test < COX_MIN_EVENTS // 2:
                parts["cox_note"] = (
                    f"only {cox.events_train:,} movements are seen in the training snapshots and "
                    f"{cox.events_test:,} in the test snapshots, too few for a Cox model (it needs "
                    f"{COX_MIN_EVENTS} and {COX_MIN_EVENTS // 2})"
                )
            else:
                parts["cox"] = cox
        except (UsageError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            parts["cox_note"] = _reason(exc)
    return Study(as_of=stamp, **{**common, "notes": tuple(notes)}, **parts)


__all__ = ["CONTRAST", "FEATURE_GROUPS", "Study", "close_likelihood_study", "grouped_permutation_importance"]
