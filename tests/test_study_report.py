"""The close_likelihood_study report's logic: hand-checked words, leak-free training labels, small-log fallbacks."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from builders import write_undated_log

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.features.build import FEATURES
from salesmetrics.features.registry import DEFAULT_FEATURES
from salesmetrics.log.coverage import Note, log_coverage
from salesmetrics.models.evaluation import Evaluation
from salesmetrics.models.survival import TimeToClose
from salesmetrics.reports.study import (
    CONTRAST,
    FEATURE_GROUPS,
    Study,
    close_likelihood_study,
    grouped_permutation_importance,
)

matplotlib.use("Agg")
DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def demo_study():
    """One quick study of the demo log (logistic learner, monthly snapshots, few draws), cut at the end of 2024."""
    return close_likelihood_study(
        sm.read_log(DEMO), as_of="2024-12-31", model="logistic", freq="M", n_bootstrap=20, n_repeats=2
    )


def _figures(study: Study) -> list:
    axes = [study.plot_calibration(), study.plot_cox()]
    for fig in (study.plot_evaluation(), study.plot_importance(), study.plot_survival()):
        axes += fig.axes
    return axes


def _check_figures(study: Study) -> None:
    for ax in _figures(study):
        assert ax.get_title()
        assert ax.texts or (ax.get_xlabel() and ax.get_ylabel())


# ---------------------------------------------------------------------------------------------- the demo log


def test_demo_study_has_every_part(demo_study):
    s = demo_study
    ev = s.evaluation
    assert ev.models == ["model", "stage default rate", "days in stage > 30", "stalled-in-stage flag"]
    assert s.as_of == pd.Timestamp("2024-12-31 23:59:59.999999", tz="UTC")
    assert ev.predictions["as_of"].max() <= s.as_of
    assert set(s.group_importance["group"]) == set(FEATURE_GROUPS)
    assert s.contrast["group"].tolist() == sorted(
        CONTRAST, key=lambda g: -s.contrast.set_index("group").loc[g, "auc_drop"]
    )
    assert sorted(s.importance["feature"]) == sorted(DEFAULT_FEATURES)  # what the model learns from (0064)
    assert s.survival is not None and s.survival.by == "stage" and s.survival.min_age_days == 30
    assert s.cox is not None and 0 <= s.cox.concordance <= 1
    text = s.narrative()
    for words in ("the model reaches a ROC AUC of", "Shuffling the movement and client-decision features", "Cox model"):
        assert words in text
    assert "cannot" not in text
    for name in ("evaluation", "calibration", "groups", "importance", "survival", "cox"):
        assert not isinstance(s.table(name), Note), name
    _check_figures(s)


def test_training_labels_are_read_at_the_test_start(demo_study):
    # A deal still open when the test period began has no 'won' label in training: the labels were read then.
    ev = demo_study.evaluation
    model = ev.estimators["model"]
    assert pd.Timestamp(model.labels_observed_until_) <= ev.test_start + pd.Timedelta(days=1)
    assert pd.Timestamp(model.training_window_[1]) < ev.cutoff


def test_feature_groups_cover_every_feature_once():
    listed = [f for columns in FEATURE_GROUPS.values() for f in columns]
    assert sorted(listed) == sorted(FEATURES)
    assert set(CONTRAST["movement and decisions"]) | set(CONTRAST["motion"]) < set(FEATURES)
    assert not set(CONTRAST["movement and decisions"]) & set(CONTRAST["motion"])


# ------------------------------------------------------------------------------------ words, checked by hand


def _evaluation() -> Evaluation:
    rows = []
    for model, auc, low, high in (("model", 0.8, 0.7, 0.9), ("stage default rate", 0.6, 0.5, 0.68)):
        rows.append({"model": model, "metric": "roc_auc", "value": auc, "ci_low": low, "ci_high": high})
        rows.append({"model": model, "metric": "brier", "value": 0.15, "ci_low": 0.1, "ci_high": 0.2})
    calibration = pd.DataFrame(
        {"model": ["model", "model"], "bin": [0, 9], "bin_low": [0.0, 0.9], "bin_high": [0.1, 1.0], "n": [30, 10],
         "mean_predicted": [0.05, 0.95], "observed_rate": [0.15, 0.85]}
    )  # fmt: skip
    predictions = pd.DataFrame({"y": [1] * 100 + [0] * 300})
    return Evaluation(
        target="won",
        table=pd.DataFrame(rows),
        calibration=calibration,
        predictions=predictions,
        cutoff=pd.Timestamp("2024-03-01", tz="UTC"),
        test_start=pd.Timestamp("2024-03-31", tz="UTC"),
        gap_days=30,
        n_bootstrap=0,
        counts={"train": 1000, "test": 400, "gap": 12, "train_censored": 3, "test_censored": 5},
    )


def _survival() -> TimeToClose:
    summary = pd.DataFrame(
        {"group": ["Lead", "Proposal"], "n_deals": [20, 10], "n_won": [2, 6], "n_lost": [15, 2], "n_open": [3, 2],
         "km_median_days": [40.0, 60.0], "won_within_30d": [0.05, 0.3], "lost_within_30d": [0.5, 0.1],
         "won_within_90d": [0.1, 0.6], "lost_within_90d": [0.7, 0.2], "won_within_180d": [np.nan, np.nan],
         "lost_within_180d": [np.nan, np.nan]}
    )  # fmt: skip
    return TimeToClose(pd.DataFrame(), pd.DataFrame(), summary, pd.Timestamp("2024-06-30", tz="UTC"), "stage", 30.0)


def test_narrative_numbers_by_hand():
    cover = log_coverage(sm.read_log(DEMO))
    study = Study(
        as_of=pd.Timestamp("2024-06-30", tz="UTC"),
        target="won",
        horizon_days=30,
        freq="W",
        learner="hgb",
        coverage=cover,
        notes=(),
        evaluation=_evaluation(),
        contrast=pd.DataFrame({"group": ["movement and decisions", "motion"], "auc_drop": [0.21, 0.01]}),
        importance=pd.DataFrame({"feature": ["stage_rank"], "group": ["movement and stage"], "auc_drop": [0.2]}),
        survival=_survival(),
        cox_note="only 3 movements are seen in the training snapshots",
    )
    # calibration gap: (30 x 0.10 + 10 x 0.10) / 40 = 0.10
    assert study.calibration_gap == pytest.approx(0.10)
    assert study.narrative() == (
        "Trained on 1,000 snapshots before 2024-03-01 and tested on 400 from 2024-03-31 (a 30-day gap; 5 test "
        "snapshots without a known outcome left out; 25% of the test snapshots won), the model reaches a ROC AUC of "
        "0.80 [0.70, 0.90]; the best baseline ('stage default rate') reaches 0.60 [0.50, 0.68]: the model ranks "
        "clearly better. Its Brier score is 0.150, and its predicted probabilities differ from the observed rates by "
        "10.0 percentage points on average over the calibration bins. Shuffling the movement and client-decision "
        "features together lowers the test ROC AUC by 0.210; shuffling the motion (activity volume) features by "
        "0.010: on this log, whether a deal is won rests more on movement and decisions than on motion. The single "
        "most important feature is the stage reached (movement and stage). Of 30 deals still open at 30 days, 60% of "
        "those then in Proposal are won within the next 90 days, against 10% of those in Lead (cumulative "
        "incidence, losses competing). The Cox model of the time to the next movement cannot be fitted: only 3 "
        "movements are seen in the training snapshots."
    )


def test_a_near_perfect_score_is_named_as_a_probable_leak():
    ev = _evaluation()
    table = ev.table.copy()
    table.loc[(table["model"] == "model") & (table["metric"] == "roc_auc"), ["value", "ci_low", "ci_high"]] = 0.99
    study = Study(
        as_of=pd.Timestamp("2024-06-30", tz="UTC"), target="won", horizon_days=30, freq="W", learner="hgb",
        coverage=log_coverage(sm.read_log(DEMO)), notes=(), evaluation=Evaluation(**{**ev.__dict__, "table": table}),
        importance=pd.DataFrame({"feature": ["amount"], "group": ["deal and owner record"], "auc_drop": [0.45]}),
    )  # fmt: skip
    assert (
        "usually means a feature leaks the outcome: shuffling the amount (amount) alone lowers it by 0.45"
        in study.narrative()
    )


def test_grouped_permutation_skips_constant_columns():
    class ByA:
        def predict_proba(self, X):
            p = 1 / (1 + np.exp(-X["a"].to_numpy()))
            return np.column_stack([1 - p, p])

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300), "zero": 0.0})
    y = (X["a"] > 0).astype(int)
    t = grouped_permutation_importance(ByA(), X, y, {"A": ["a"], "B": ["b"], "Z": ["zero"]}, n_repeats=3)
    drops = t.set_index("group")["auc_drop"]
    assert drops["A"] > 0.3  # the model reads only a: a perfect ranking falls to about chance
    assert drops["B"] == 0 and drops["Z"] == 0 and t.set_index("group").loc["Z", "sd"] == 0
    assert t["features"].tolist() == [1, 1, 1]


# ----------------------------------------------------------------------------------------- small and bare logs


def test_tiny_log_falls_back_part_by_part(tiny_log_dir):
    study = close_likelihood_study(sm.read_log(tiny_log_dir), n_bootstrap=5, n_repeats=1)
    assert study.evaluation is None and study.cox is None
    text = study.narrative()
    assert text.startswith("The time-split evaluation cannot be made: no snapshot is at or after 2024-02-27")
    assert "too few for a Cox model" in text
    for name in ("evaluation", "calibration", "groups", "importance", "cox"):
        assert isinstance(study.table(name), Note)
    _check_figures(study)


def test_one_class_only_is_said_not_raised(tiny_log_dir, tmp_path):
    # Nobody ever wins in this log: every known 'won' label is 0, so there is nothing to rank.
    folder = tmp_path / "nowin"
    shutil.copytree(tiny_log_dir, folder)
    changes = (folder / "stage_changes.csv").read_text().replace("D1,2024-02-01 12:00,Won", "D1,2024-02-01 12:00,Lost")
    (folder / "stage_changes.csv").write_text(changes)
    study = close_likelihood_study(sm.read_log(folder), cutoff="2024-01-10", horizon_days=3, freq="W")
    assert study.evaluation is None
    assert "all of one class" in study.evaluation_note or "no labelled rows" in study.evaluation_note
    assert "The log records no won deal, so a model of winning would see only losses." in study.narrative()


def test_log_without_activities_says_motion_cannot_count(tiny_log_dir, tmp_path):
    folder = tmp_path / "bare"
    shutil.copytree(tiny_log_dir, folder)
    (folder / "activities.csv").unlink()
    study = close_likelihood_study(sm.read_log(folder), n_bootstrap=0, n_repeats=1)
    assert "The log has no activities, so motion (calls, emails, meetings) cannot be counted." in study.narrative()


def test_log_without_dated_events_still_gives_a_study(tmp_path):
    folder = write_undated_log(tmp_path / "undated")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = sm.read_log(folder)
    study = close_likelihood_study(log)
    assert study.as_of is None
    assert study.narrative().startswith("The log has no dated events")
    assert isinstance(study.table("survival"), Note)
    _check_figures(study)


def test_bad_arguments_are_usage_errors():
    log = sm.read_log(DEMO)
    for kwargs, match in (
        ({"target": "slipped"}, "target must be 'won' or 'stalled'"),
        ({"freq": "D"}, "freq must be 'W' or 'M'"),
        ({"survival_by": "region"}, "survival_by must be"),
        ({"n_repeats": 0}, "n_repeats must be a whole number"),
        ({"max_rows": 10}, "max_rows must be a whole number of 100 or more"),
    ):
        with pytest.raises(UsageError, match=match):
            close_likelihood_study(log, **kwargs)
    with pytest.raises(UsageError, match="No table 'roc'"):
        Study(as_of=None, target="won", horizon_days=30, freq="W", learner="hgb",
              coverage=log_coverage(log), notes=()).table("roc")  # fmt: skip


def test_tiny_stall_study_counts_by_hand_and_calls_them_anecdotes(tiny_log_dir):
    # Horizon 3 days, cutoff 10 January: training = the two snapshots of 7 January; test = 14, 21 and 28 January
    # (D1 and D2 each). Stalled in the test rows: all but D2 on 14 January (it moved on 15 January): 5 of 6.
    study = close_likelihood_study(
        sm.read_log(tiny_log_dir), target="stalled", horizon_days=3, cutoff="2024-01-10", n_bootstrap=5
    )
    ev = study.evaluation
    assert (ev.counts["train"], ev.counts["test"], ev.counts["test_censored"]) == (2, 6, 0)
    assert ev.predictions["y"].tolist() == [1, 0, 1, 1, 1, 1]
    text = study.narrative()
    assert text.startswith(
        "Trained on 2 snapshots before 2024-01-10 and tested on 6 from 2024-01-13 (a 3-day gap; 0 test snapshots "
        "without a known outcome left out; 83% of the test snapshots stalled)"
    )
    assert "With 6 test snapshots, 1 of them in the rarer class, these figures are anecdotes" in text
    assert "Small-data fallback: only 0 closed deals" in text
