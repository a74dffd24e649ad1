"""Exercise 6, predicting stalls: leak-free snapshots, a stall model, a time-split evaluation, one deal explained.

The notebook is ``exercises/06-predicting-stalls.ipynb``. Snapshots and their censored labels come from
:func:`salesmetrics.snapshots` (``docs/decisions/0015-snapshot-labels.md``, the stall definition in
``0016-stall-definition.md``); the model is :class:`salesmetrics.models.StallPredictor` (``0017``); the split,
the baselines, the intervals and the calibration table from :func:`salesmetrics.models.evaluation.time_split`
and :func:`~salesmetrics.models.evaluation.evaluate` (``0020``); the reasons from
:mod:`salesmetrics.models.reasons` (``0018``). The only thing computed here with scikit-learn directly is the
random split the exercise warns against (``train_test_split`` of the rows) and its ROC AUC.

The snapshots, splits, models, scores and reasons are computed in :mod:`salesmetrics.exercises.ex6_models`.

Examples
--------
>>> ex = setup(seed=3, trainee="Ana", progress=False)  # nothing is simulated until an answer is checked
>>> [q.kind for q in ex]
['value', 'choice', 'value', 'value', 'choice', 'choice', 'value', 'reflection']
>>> "_data" in ex._cache
False
>>> stall_model()
StallPredictor(n_jobs=1, random_state=0)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed
from salesmetrics.exercises.ex6_models import (
    HORIZON_DAYS,
    MODEL,
    REASON_FEATURES,
    RULE,
    TRAIN_SHARE,
    any_share,
    calibration_answer,
    calibration_gap,
    censored_rows,
    earlier_share,
    evaluation,
    hard_auc,
    in_sample_auc,
    labelled_rows,
    last_reasons,
    last_test_rows,
    later_share,
    lowest_reasons,
    one_thread,
    prediction_answer,
    random_auc,
    random_model,
    random_parts,
    reasons_row,
    riskiest_reasons,
    riskiest_words,
    roc_auc,
    rule_answer,
    snapshot_table,
    split_comparison,
    stall_model,
    tied_reasons,
    time_auc,
    time_model,
    time_parts,
)
from salesmetrics.exercises.exercise import Exercise
from salesmetrics.exercises.feedback import State
from salesmetrics.exercises.kinds import ChoiceQuestion, ReflectionQuestion, ValueQuestion
from salesmetrics.exercises.question import Mistake
from salesmetrics.models.reasons import explain

ID = "06-predicting-stalls"
TITLE = "Predicting stalls"
DEFAULT_DATA = "slipping_quarter"
NEEDS = ()  # what the log must record (see variants.NEEDS); checked by `make` and on load
# 1,200 deals over 9 months: some 2,000 to 3,000 training rows, enough for the boosted model's regularised defaults
# (at least 500 rows per leaf: on half this size it often learns nothing and predicts one risk for every deal) and
# about 1,000 test rows; a fit takes a second or two on one core.
SIZE = {"n_deals": 1200, "n_owners": 10, "months": 9}


# ------------------------------------------------------------------------------------------------------------
# Plots


def plot_labels(snap: pd.DataFrame, train=None, test=None, ax=None):
    """Snapshot rows per week by their stall label (moved, stalled, not known yet), with the time split's
    cutoff and test start when ``train``/``test`` are given. Returns the figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    label = snap["stalled"]
    kind = np.where(label.isna().to_numpy(), "censored", np.where(label.fillna(False).to_numpy(bool), "stall", "move"))
    days = snap["as_of"].dt.tz_localize(None).dt.normalize()
    counts = pd.crosstab(days, kind).reindex(columns=["move", "stall", "censored"], fill_value=0)
    names = {
        "move": ("moved within 30 days (stalled = False)", "tab:green"),
        "stall": ("no movement for 30 days (stalled = True)", "tab:red"),
        "censored": ("not known yet (stalled = <NA>)", "tab:gray"),
    }
    bottom = np.zeros(len(counts))
    for column in counts.columns:
        name, colour = names[column]
        ax.bar(counts.index, counts[column], bottom=bottom, width=5, color=colour, alpha=0.8, label=name)
        bottom += counts[column].to_numpy()
    for part, key, text in ((train, "cutoff", "cutoff"), (test, "test_start", "test start")):
        if part is not None and key in part.attrs:
            moment = pd.Timestamp(part.attrs[key]).tz_localize(None)
            ax.axvline(moment, color="black", linestyle="--", linewidth=1)
            ax.annotate(text, (moment, bottom.max() * 1.02), ha="center", fontsize=8)
    if train is not None and test is not None and "cutoff" in train.attrs:
        start, end = (pd.Timestamp(train.attrs[k]).tz_localize(None) for k in ("cutoff", "test_start"))
        ax.axvspan(start, end, color="tab:orange", alpha=0.12, label="gap: rows used by neither part")
    ax.set_ylim(0, bottom.max() * 1.12 if len(bottom) else 1)
    ax.set_title("Weekly snapshots of the open deals, by their stall label")
    ax.set_xlabel("as-of date (end of each week)")
    ax.set_ylabel("snapshot rows (open deals)")
    ax.legend(fontsize=8, loc="upper left")
    ax.figure.autofmt_xdate()
    return ax.figure


@renamed(n="top_n")
def plot_reasons(model, rows: pd.DataFrame, top_n: int = 5, ax=None):
    """The riskiest row of ``rows``: its ``top_n`` strongest reasons as bars (percentage points of stall risk
    each feature adds against a typical deal), in plain words. Returns the figure."""
    import matplotlib.pyplot as plt

    with one_thread():
        why = explain(model, rows, top_n=top_n)
    row = why.loc[why["risk"].idxmax()]
    words = [row[f"reason_{k}"] for k in range(1, top_n + 1)]
    effects = [row[f"effect_{k}"] for k in range(1, top_n + 1)]
    shown = [(w, 100 * e) for w, e in zip(words, effects, strict=True) if isinstance(w, str) and np.isfinite(e)]
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.5 * max(len(shown), 1) + 1.6))
    labels = [w for w, _ in shown][::-1]
    values = [e for _, e in shown][::-1]
    ax.barh(labels, values, color="tab:red", alpha=0.75)
    for y, v in enumerate(values):
        ax.annotate(f"+{v:.1f}", (v, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_xlim(0, max([*values, 1.0]) * 1.2)
    day = pd.Timestamp(row["as_of"]).date()
    ax.set_title(f"Why {row['deal_id']} ({row['stage']}) may stall, as of {day}: stall risk {row['risk']:.0%}")
    ax.set_xlabel("added stall risk against a typical deal (percentage points)")
    ax.figure.tight_layout()
    return ax.figure


# ------------------------------------------------------------------------------------------------------------
# The exercise


class ReasonsQuestion(ValueQuestion):
    """A list of reasons, strongest first. ``alternatives`` (a callable taking the exercise) lists other answers
    that are just as right (the reasons of deals tied at the highest risk); the right reasons in another order get
    their own message."""

    def __init__(self, id, title, *, alternatives=None, **kwargs):
        super().__init__(id, title, **kwargs)
        self._alternatives = alternatives

    def _judge(self, answer):
        alternatives = self._lazy("alternatives", self._alternatives) or []
        for other in alternatives:
            if self._compare(answer, other).ok:
                return self._feedback(State.CORRECT, str(self._lazy("success", self._success) or ""))
        feedback = super()._judge(answer)
        reordered = (
            feedback.state is State.INCORRECT
            and feedback.mistake is None
            and isinstance(answer, list | tuple)
            and sorted(map(str, answer)) == sorted(map(str, self._expected))
        )
        if reordered:
            return self._feedback(
                State.INCORRECT,
                "Those are the right reasons in the wrong order. They come strongest first: keep the order of "
                "`reason_1`, `reason_2`, `reason_3`.",
                "order",
            )
        return feedback


def setup(data: str = DEFAULT_DATA, seed: int | None = None, trainee: str = "", *, progress=None) -> Exercise:
    """The questions of exercise 6 for one variant (see :class:`~salesmetrics.exercises.exercise.Exercise`)."""
    ex = Exercise(ID, TITLE, data=data, seed=seed, trainee=trainee, size=SIZE, progress=progress, needs=NEEDS)
    log = lambda: ex.log  # noqa: E731 - the log loads on first use, not here

    ex.add(
        ValueQuestion(
            "q1",
            "Censored stall labels",
            expected=lambda ex: censored_rows(log()),
            hints=[
                "A row's stall label needs the 30 days after its as-of date. Near the end of the log those days "
                "have not happened yet, and the label says so: it is missing (`<NA>`), not False.",
                "Count the missing values of the `stalled` column: `.isna()`, then `.sum()`.",
                "`int(snap['stalled'].isna().sum())`",
            ],
            solution="""
                n_censored = int(snap["stalled"].isna().sum())
            """,
            wrong="""
                n_censored = int(snap["won"].isna().sum())
            """,
            mistakes=[
                Mistake(
                    "outcome censoring",
                    "You counted the rows whose *final outcome* is unknown (`won` is missing: the deal was still "
                    "open when the log ended). The stall label has its own, shorter window: count the missing "
                    "values of `stalled`.",
                    lambda ex: int(snapshot_table(log())["won"].isna().sum()),
                ),
                Mistake(
                    "stalls counted",
                    "That is the number of rows that stalled. A censored row is neither a stall nor a move: its "
                    "label is missing (`<NA>`).",
                    lambda ex: int(snapshot_table(log())["stalled"].sum()),
                ),
                Mistake(
                    "non-stalls counted",
                    "That counts the rows that moved (`stalled` is False). Censored rows have no label at all: "
                    "count the missing values.",
                    lambda ex: int((snapshot_table(log())["stalled"] == False).sum()),  # noqa: E712
                ),
                Mistake(
                    "share",
                    "That is a share of the rows. The question asks for the number of rows.",
                    lambda ex: float(snapshot_table(log())["stalled"].isna().mean()),
                ),
            ],
            success=lambda ex: (
                f"{censored_rows(log())} of {len(snapshot_table(log()))} rows cannot be labelled yet. Guessing "
                "them as 'no stall' would teach the model that the newest deals never stall; they are left out "
                "instead, and the plot below shows where they sit."
            ),
        ),
        ChoiceQuestion(
            "q2",
            "Predict: a random split against a time split",
            options={
                "A": "Higher: on paper the model looks better with the random split.",
                "B": "About the same (within 0.02).",
                "C": "Lower: on paper the model looks worse with the random split.",
            },
            variable="prediction",
            predict=True,
            expected=lambda ex: prediction_answer(log()),
            hints=[
                "No calculation yet: go with your instinct, then find out after question 4.",
                "In a random split, where do the other weekly rows of a test row's deal end up? And which weeks "
                "does the test part cover in each split?",
            ],
            explanation=lambda ex: (
                f"In your log the random split scores a test ROC AUC of {random_auc(log()):.3f}; question 4 computes "
                "the time split's (its number is not given here)."
            ),
            success=lambda ex: (
                "Right. Questions 3 and 4 show why."
                if prediction_answer(log()) == "A"
                else "Right: in your data the random split does not flatter this strongly regularised model. "
                "Question 3 still measures the leak, and question 4 the honest figure."
            ),
        ),
        ValueQuestion(
            "q3",
            "The deal's future in the training rows",
            expected=lambda ex: later_share(*random_parts(log())),
            rtol=1e-6,
            atol=1e-9,
            hints=[
                "For each deal, find the latest `as_of` among its training rows: `rand_train.groupby('deal_id')"
                "['as_of'].max()`.",
                "Look that date up for every test row (`rand_test['deal_id'].map(...)`) and compare it with the test "
                "row's own `as_of`. Test rows whose deal is not in training get a missing date: they do not count.",
                "`(rand_test['deal_id'].map(last_train) > rand_test['as_of']).mean()`",
            ],
            solution="""
                last_train = rand_train.groupby("deal_id")["as_of"].max()
                share_future = (rand_test["deal_id"].map(last_train) > rand_test["as_of"]).mean()
            """,
            wrong="""
                share_future = rand_test["deal_id"].isin(rand_train["deal_id"]).mean()
            """,
            mistakes=[
                Mistake(
                    "any training row",
                    "That is the share of test rows whose deal has *any* row in training. The question asks for a "
                    "training row *later* than the test row: compare the dates.",
                    lambda ex: any_share(*random_parts(log())),
                ),
                Mistake(
                    "compared the wrong way round",
                    "You compared the wrong way round: that is the share of test rows whose deal's training rows "
                    "all lie *before* them (the deal's past, which a model may use). Look for a training row after "
                    "the test row.",
                    lambda ex: earlier_share(*random_parts(log())),
                ),
                Mistake(
                    "count, not share",
                    "That is a number of rows. The question asks for the share of the test rows (0 to 1): use "
                    "`.mean()` on the True/False values.",
                    lambda ex: int(later_share(*random_parts(log())) * len(random_parts(log())[1]) + 0.5),
                ),
            ],
            success=lambda ex: (
                f"{later_share(*random_parts(log())):.0%} of the random test rows have a later row of the same deal "
                "in training: the model learns from that deal's future, then is tested on its past. In a time "
                "split the share is 0 by construction."
            ),
        ),
        ValueQuestion(
            "q4",
            "Fit on the past, test on the future",
            expected=lambda ex: time_auc(log()),
            rtol=0,
            atol=1e-3,
            hints=[
                "Fit `StallPredictor(random_state=0, n_jobs=1)` on `train`: it reads the label from the `stalled` "
                "column itself.",
                "`model.predict_proba(test)` has two columns, in the order of `model.classes_` (`[0, 1]`): the "
                "second is the probability of a stall. `roc_auc_score(y_true, score)` takes the true labels first.",
                "`roc_auc_score(test['stalled'].astype(int), model.predict_proba(test)[:, 1])`",
            ],
            solution="""
                model = StallPredictor(random_state=0, n_jobs=1).fit(train)
                test_auc = roc_auc_score(test["stalled"].astype(int), model.predict_proba(test)[:, 1])
            """,
            wrong="""
                model = StallPredictor(random_state=0, n_jobs=1).fit(train)
                test_auc = roc_auc_score(test["stalled"].astype(int), model.predict_proba(test)[:, 0])
            """,
            mistakes=[
                Mistake(
                    "probability of not stalling",
                    "You scored with column 0 of `predict_proba`, the probability of *not* stalling, so the ranking "
                    "is upside down (a ROC AUC below 0.5 is the tell). Column 1 is the probability of a stall.",
                    lambda ex: roc_auc(time_model(log()), time_parts(log())[1], column=0),
                ),
                Mistake(
                    "training rows",
                    "That is the ROC AUC on the rows the model was trained on: it has seen their answers. Score the "
                    "`test` rows.",
                    lambda ex: in_sample_auc(log()),
                ),
                Mistake(
                    "hard predictions",
                    "You scored with `predict`, which gives 0 or 1, so the ranking has only two levels. ROC AUC needs "
                    "the probabilities: `predict_proba(test)[:, 1]`.",
                    lambda ex: hard_auc(log()),
                ),
                Mistake(
                    "random split",
                    "That is the ROC AUC of the random split. Fit on `train` and score `test`, the parts of the time "
                    "split.",
                    lambda ex: random_auc(log()),
                ),
            ],
            success=lambda ex: (
                f"Test ROC AUC {time_auc(log()):.3f} on the time split, against {random_auc(log()):.3f} on the "
                "random one. The time split's figure is the one the model would have earned in use. Compare with "
                "your prediction in question 2."
            ),
        ),
        ChoiceQuestion(
            "q5",
            "Better than the rule a CRM already has?",
            options={
                "A": "The model ranks better, and the rule's ROC AUC lies below the model's interval.",
                "B": "The model ranks better, but the rule's ROC AUC lies inside the model's interval.",
                "C": "The rule ranks as well as the model, or better.",
            },
            variable="versus_rule",
            expected=lambda ex: rule_answer(log()),
            hints=[
                "Read the ROC AUC column of the table: the first number is the value, the brackets hold the 95% "
                f"interval. Compare the rows `{MODEL}` and `{RULE}`.",
                "Is the rule's value (its first number) higher than the model's? If not, is it below the model's "
                "interval (smaller than the first number in the model's brackets), or inside it?",
            ],
            wrong_message=(
                f"Look again at the ROC AUC column: compare the `{RULE}` row's first number with the `{MODEL}` row's "
                "value and with the two numbers in its brackets."
            ),
            explanation=(
                "The intervals come from redrawing whole deals from the test part, the same draws for every row, so "
                "they show how much the figures would move with another set of deals. A short test period gives "
                "wide intervals: a model that is ahead on the point value can still be within reach of a simple rule."
            ),
            success=lambda ex: {
                "A": "Right: on this test period the model ranks stalls clearly better than the aging rule.",
                "B": "Right: the model is ahead, but the test period is too short to be sure it beats the rule.",
                "C": "Right: on this test period the simple rule does as well. A model has to earn its place.",
            }[rule_answer(log())],
        ),
        ChoiceQuestion(
            "q6",
            "Read the calibration plot",
            options={
                "A": "More stalls than happened: the points lie mostly below the diagonal.",
                "B": "Fewer stalls than happened: the points lie mostly above the diagonal.",
                "C": "About as many as happened (mean predicted and observed share within 3 points).",
            },
            variable="calibration_reading",
            expected=lambda ex: calibration_answer(log()),
            hints=[
                "In the right-hand panel, each point is a group of test rows with similar predicted probabilities: "
                "across, their mean prediction; up, the share that really stalled. On the dotted diagonal the two "
                "agree.",
                "A point above the diagonal means more of those deals stalled than the model said. The cell under "
                "the plot prints the two overall numbers.",
            ],
            wrong_message=(
                "Look again: compare the observed share of stalls with the mean predicted probability in the cell "
                "under the plot (a point above the diagonal means more stalls than predicted)."
            ),
            explanation=lambda ex: (
                f"Observed share of stalls minus mean predicted probability on your test rows: "
                f"{calibration_gap(log()):+.3f}. The model's probabilities were learned from the training period; "
                "if the test period differs (in the `slipping_quarter` data clients decide far less often in the last "
                "quarter), its probabilities are off by the change, even when its ranking holds up."
            ),
            success=lambda ex: {
                "A": "Right: the model expects more stalls than the test period had. Read its risks as too high.",
                "B": "Right: more deals stalled than the model expected. It learned the rate of stalls of the "
                "training weeks; when the test weeks differ, only a time split shows the gap.",
                "C": "Right: on average the model's probabilities match what happened in the test period.",
            }[calibration_answer(log())],
        ),
        ReasonsQuestion(
            "q7",
            "Explain the riskiest deal",
            expected=lambda ex: riskiest_reasons(log()),
            alternatives=lambda ex: tied_reasons(log()),
            hints=[
                "`model.reasons(last)` gives one row per deal: its `risk` and up to three reasons, strongest first, "
                "in `reason_1..3` (words) and `feature_1..3` (the feature behind each).",
                "Pick the row with the highest `risk`: `why.loc[why['risk'].idxmax()]`.",
                "Then `row[['reason_1', 'reason_2', 'reason_3']].dropna().tolist()`.",
            ],
            solution="""
                why = model.reasons(last)
                riskiest = why.loc[why["risk"].idxmax()]
                top_reasons = riskiest[["reason_1", "reason_2", "reason_3"]].dropna().tolist()
            """,
            wrong="""
                why = model.reasons(last)
                riskiest = why.sort_values("risk").iloc[0]
                top_reasons = riskiest[["reason_1", "reason_2", "reason_3"]].dropna().tolist()
            """,
            mistakes=[
                Mistake(
                    "lowest risk",
                    "Those are the reasons of the deal with the *lowest* risk: `sort_values` sorts from small to "
                    "large. Sort with `ascending=False`, or take `why['risk'].idxmax()`.",
                    lambda ex: lowest_reasons(log()),
                ),
                Mistake(
                    "features, not words",
                    "Those are the features behind the reasons (`feature_1..3`). The question asks for the reasons in "
                    "words, as a seller would hear them: the columns `reason_1`, `reason_2`, `reason_3`.",
                    lambda ex: reasons_row(log())[REASON_FEATURES].dropna().tolist(),
                ),
            ],
            success=lambda ex: (
                f"{riskiest_words(log())}. This is what the model reacts to in this deal, against a typical "
                "deal: questions for the seller, not causes."
            ),
        ),
        ReflectionQuestion(
            "q8",
            "Using a stall model on Monday",
            solution=(
                "Before trusting the risks I would check the model on the most recent months the way we did here: "
                "trained on the past, scored on later weeks, beside the days-in-stage rule the team already uses. "
                "If it ranks better but its probabilities are off, I would use it to order the forecast call, not "
                "to quote percentages. With the seller of the riskiest deal I would read the three reasons as "
                "questions: what decision is the client due to take next, why the close date keeps moving, and "
                "who we have not heard from, and agree one concrete next step instead of more activity."
            ),
            hints=[
                "What would you check before a sales leader sees the risks, and how would you bring the reasons up "
                "with the seller without making them sound like a verdict?"
            ],
        ),
    )
    return ex


__all__ = [
    "DEFAULT_DATA",
    "HORIZON_DAYS",
    "ID",
    "SIZE",
    "TITLE",
    "TRAIN_SHARE",
    "ReasonsQuestion",
    "any_share",
    "calibration_answer",
    "calibration_gap",
    "censored_rows",
    "evaluation",
    "labelled_rows",
    "last_reasons",
    "last_test_rows",
    "later_share",
    "plot_labels",
    "plot_reasons",
    "prediction_answer",
    "random_auc",
    "random_model",
    "random_parts",
    "riskiest_reasons",
    "rule_answer",
    "setup",
    "snapshot_table",
    "split_comparison",
    "stall_model",
    "tied_reasons",
    "time_auc",
    "time_model",
    "time_parts",
]
