"""Exercise 6's reference computations: the weekly snapshots, the random and the time split, the stall model fitted
on each, their scores beside the CRM's rules, and the reasons of the riskiest deal.

Every model is fitted with ``random_state=0`` and ``n_jobs=1``, so a trainee who fits the same model gets the
same numbers, and nothing waits for threads on a shared machine. Fitted models and the evaluation are kept per
log (:func:`~salesmetrics.exercises.variants.memo`): the notebook and the checks share them. The only thing
computed here with scikit-learn directly is the random split the exercise warns against (``train_test_split`` of
the rows) and its ROC AUC.

>>> stall_model()
StallPredictor(n_jobs=1, random_state=0)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics.exercises.variants import memo
from salesmetrics.features.build import snapshots
from salesmetrics.models.evaluation import evaluate, time_split

HORIZON_DAYS = 30  # the stall label's look-ahead (and so the gap of the time split)
FREQ = "W"  # weekly snapshots
TRAIN_SHARE = 0.6  # share of the labelled rows before the cutoff (the test period then spans about five weeks)
RANDOM_TEST_SIZE = 0.3  # the random split the exercise warns against
RANDOM_STATE = 0
N_BOOTSTRAP = 100  # bootstrap draws of whole deals for the intervals (200 is the package default; 100 is quicker)
SAME_WITHIN = 0.02  # in the prediction, ROC AUCs within 0.02 of each other are "about the same"
CALIBRATED_WITHIN = 0.03  # mean predicted and observed share of stalls within 3 points: "about as many"
RULE = "days in stage > 30"  # the days-in-stage baseline's name in the evaluation table
MODEL = "model"  # the stall model's name in the evaluation table
REASON_WORDS = ["reason_1", "reason_2", "reason_3"]
REASON_FEATURES = ["feature_1", "feature_2", "feature_3"]


# ------------------------------------------------------------------------------------------------------------
# The tables the notebook builds in its given cells


def snapshot_table(log) -> pd.DataFrame:
    """Weekly snapshots with a 30-day stall horizon, as the notebook builds them:
    ``snapshots(log, freq="W", horizon_days=30)``."""
    return memo(log, "ex6.snapshots", lambda: snapshots(log, freq=FREQ, horizon_days=HORIZON_DAYS))


def censored_rows(log) -> int:
    """Snapshot rows whose ``stalled`` label is ``<NA>``: their 30-day window runs past the end of the log."""
    return int(snapshot_table(log)["stalled"].isna().sum())


def labelled_rows(log) -> pd.DataFrame:
    """The snapshot rows whose stall label is known (``stalled`` not ``<NA>``)."""
    snap = snapshot_table(log)
    return memo(log, "ex6.labelled", lambda: snap[snap["stalled"].notna()])


def random_parts(log) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The random split the exercise warns against: 70% / 30% of the labelled rows, shuffled
    (``train_test_split(labelled, test_size=0.3, random_state=0)``)."""
    from sklearn.model_selection import train_test_split

    rows = labelled_rows(log)
    return memo(
        log, "ex6.random", lambda: tuple(train_test_split(rows, test_size=RANDOM_TEST_SIZE, random_state=RANDOM_STATE))
    )


def time_parts(log) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`~salesmetrics.models.evaluation.time_split` of the labelled rows: train before the cutoff (60% of
    the rows), test from the cutoff plus the 30-day gap."""
    rows = labelled_rows(log)
    return memo(log, "ex6.time", lambda: time_split(rows, train_share=TRAIN_SHARE))


def later_share(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """Share of the test rows whose deal has a training row *later* than the test row: the training set holds
    that deal's future."""
    last_train = train.groupby("deal_id")["as_of"].max()
    return float((test["deal_id"].map(last_train) > test["as_of"]).mean())


def any_share(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """Share of the test rows whose deal has any row in training."""
    return float(test["deal_id"].isin(train["deal_id"]).mean())


# ------------------------------------------------------------------------------------------------------------
# Models and their scores


def stall_model():
    """The stall model of the exercise: :class:`~salesmetrics.models.StallPredictor` with its defaults, a fixed
    ``random_state`` and one thread."""
    from salesmetrics.models import StallPredictor

    return StallPredictor(random_state=RANDOM_STATE, n_jobs=1)


def time_model(log):
    """:func:`stall_model` fitted on the training part of the time split (kept per log)."""
    return memo(log, "ex6.time_model", lambda: stall_model().fit(time_parts(log)[0]))


def random_model(log):
    """:func:`stall_model` fitted on the training part of the random split (kept per log)."""
    return memo(log, "ex6.random_model", lambda: stall_model().fit(random_parts(log)[0]))


def _y(rows: pd.DataFrame) -> np.ndarray:
    return rows["stalled"].astype("int64").to_numpy()


def roc_auc(model, rows: pd.DataFrame, column: int = 1) -> float:
    """ROC AUC of ``model``'s probability (column 1: a stall) against the rows' ``stalled`` label."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(_y(rows), model.predict_proba(rows)[:, column]))


def random_auc(log) -> float:
    """Test ROC AUC of the model fitted and tested on the random split."""
    return memo(log, "ex6.random_auc", lambda: roc_auc(random_model(log), random_parts(log)[1]))


def evaluation(log):
    """The evaluation of the time-split model beside the CRM baselines, kept per log: exactly

    ``evaluate(model, labelled, train_share=0.6, n_bootstrap=100, random_state=0, fit=False)``

    with ``model`` the :func:`time_model` (already fitted on the same training rows ``evaluate`` takes), so the
    model in ``evaluation(log).estimators["model"]`` is the one the checks use."""
    return memo(
        log,
        "ex6.evaluation",
        lambda: evaluate(
            time_model(log),
            labelled_rows(log),
            train_share=TRAIN_SHARE,
            n_bootstrap=N_BOOTSTRAP,
            random_state=RANDOM_STATE,
            fit=False,
        ),
    )


def _metric(log, model: str, metric: str = "roc_auc", what: str = "value") -> float:
    table = evaluation(log).table.set_index(["model", "metric"])
    return float(table.loc[(model, metric), what])


def time_auc(log) -> float:
    """Test ROC AUC of the stall model on the time split (from :func:`evaluation`)."""
    return _metric(log, MODEL)


def split_comparison(log) -> pd.DataFrame:
    """The two splits side by side: rows, the share of test rows whose deal has a later training row, and the
    model's test ROC AUC."""
    rows = {}
    for name, (train, test), auc in (
        ("random split of the rows", random_parts(log), random_auc(log)),
        ("time split (30-day gap)", time_parts(log), time_auc(log)),
    ):
        rows[name] = {
            "training rows": len(train),
            "test rows": len(test),
            "test rows with a later training row of the same deal (share)": round(later_share(train, test), 3),
            "test ROC AUC": round(auc, 3),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


# ------------------------------------------------------------------------------------------------------------
# Answers to the choice questions, computed from the data


def prediction_answer(log) -> str:
    """A: the random split scores higher (by more than 0.02), B: about the same, C: lower."""
    gap = random_auc(log) - time_auc(log)
    return "A" if gap > SAME_WITHIN else "C" if gap < -SAME_WITHIN else "B"


def rule_answer(log) -> str:
    """A: the model beats the days-in-stage rule and the rule lies below the model's interval; B: the model is
    ahead but the rule lies inside its interval; C: the rule ranks as well or better."""
    model, low, rule = _metric(log, MODEL), _metric(log, MODEL, what="ci_low"), _metric(log, RULE)
    if model <= rule:
        return "C"
    return "A" if rule < low else "B"


def calibration_gap(log) -> float:
    """Observed share of stalls minus the model's mean predicted probability, over the test rows."""
    predictions = evaluation(log).predictions
    return float(predictions["y"].mean() - predictions[MODEL].mean())


def calibration_answer(log) -> str:
    """A: more stalls predicted than happened; B: fewer; C: about as many (within 3 points)."""
    gap = calibration_gap(log)
    return "C" if abs(gap) <= CALIBRATED_WITHIN else "B" if gap > 0 else "A"


# ------------------------------------------------------------------------------------------------------------
# Explaining one deal


def last_test_rows(log) -> pd.DataFrame:
    """The test rows at the last as-of date of the test part."""
    test = time_parts(log)[1]
    return test[test["as_of"] == test["as_of"].max()]


def one_thread():
    """Limit OpenMP/BLAS to one thread. ``model.reasons`` does not apply the model's ``n_jobs`` (it predicts
    outside that limit), and the boosted model's many small predictions are then seconds slower on a busy
    machine."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def last_reasons(log) -> pd.DataFrame:
    """``model.reasons(last)`` of the time-split model for the rows of the last test date (kept per log)."""

    def compute():
        with one_thread():
            return evaluation(log).estimators[MODEL].reasons(last_test_rows(log))

    return memo(log, "ex6.reasons", compute)


def reasons_row(log, pick: str = "idxmax") -> pd.Series:
    """The row of :func:`last_reasons` with the highest risk (``pick="idxmin"``: the lowest)."""
    why = last_reasons(log)
    return why.loc[getattr(why["risk"], pick)()]


def tied_reasons(log) -> list[list[str]]:
    """The reasons in words of every deal tied at the highest risk on the last test date (a shallow model gives
    many deals the same risk; any of them is the riskiest)."""
    why = last_reasons(log)
    top = why[np.isclose(why["risk"], why["risk"].max(), rtol=0, atol=1e-12)]
    return [row[REASON_WORDS].dropna().tolist() for _, row in top.iterrows()]


def lowest_reasons(log) -> list[str]:
    """The typical mistake of question 7, exactly as the trainee writes it: ``sort_values`` is ascending."""
    return last_reasons(log).sort_values("risk").iloc[0][REASON_WORDS].dropna().tolist()


def riskiest_reasons(log) -> list[str]:
    """The reasons in words (``reason_1..3``, strongest first, empty ones left out) of the riskiest deal on the
    last test date (the first of the deals tied at the highest risk, as ``idxmax`` picks it)."""
    return reasons_row(log)[REASON_WORDS].dropna().tolist()


def riskiest_words(log) -> str:
    """The riskiest deal on the last test date, its stage and risk, and its reasons in words, on one line."""
    row = reasons_row(log)
    return f"{row['deal_id']} ({row['stage']}, stall risk {row['risk']:.0%}): " + "; ".join(riskiest_reasons(log))


# ------------------------------------------------------------------------------------------------------------
# The values of typical mistakes


def earlier_share(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """Share of the test rows whose deal's training rows all lie *before* them (question 3 compared the wrong way)."""
    last_train = train.groupby("deal_id")["as_of"].max()
    return float((test["deal_id"].map(last_train) < test["as_of"]).mean())


def in_sample_auc(log) -> float:
    """ROC AUC of the time-split model on its own training rows (question 4 scored on the wrong rows)."""
    return roc_auc(time_model(log), time_parts(log)[0])


def hard_auc(log) -> float:
    """ROC AUC of the time-split model's 0/1 predictions on the test rows (question 4 with ``predict``)."""
    from sklearn.metrics import roc_auc_score

    test = time_parts(log)[1]
    return float(roc_auc_score(_y(test), time_model(log).predict(test)))


__all__ = [
    "CALIBRATED_WITHIN",
    "FREQ",
    "HORIZON_DAYS",
    "MODEL",
    "N_BOOTSTRAP",
    "RANDOM_STATE",
    "RANDOM_TEST_SIZE",
    "REASON_FEATURES",
    "REASON_WORDS",
    "RULE",
    "SAME_WITHIN",
    "TRAIN_SHARE",
    "any_share",
    "calibration_answer",
    "calibration_gap",
    "censored_rows",
    "earlier_share",
    "evaluation",
    "hard_auc",
    "in_sample_auc",
    "labelled_rows",
    "last_reasons",
    "last_test_rows",
    "later_share",
    "lowest_reasons",
    "one_thread",
    "prediction_answer",
    "random_auc",
    "random_model",
    "random_parts",
    "reasons_row",
    "riskiest_reasons",
    "riskiest_words",
    "roc_auc",
    "rule_answer",
    "snapshot_table",
    "split_comparison",
    "stall_model",
    "tied_reasons",
    "time_auc",
    "time_model",
    "time_parts",
]
