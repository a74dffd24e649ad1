"""Issue 19: the scikit-learn contract on snapshots (cross_val_score, GridSearchCV, a time-aware splitter) and
evaluate()'s horizon checks. Small logs and few trees: every test here fits in seconds on one core."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV, cross_val_score

from salesmetrics.exceptions import UsageError
from salesmetrics.features.build import snapshots
from salesmetrics.models import CloseLikelihood, StallPredictor
from salesmetrics.models._base import SmallDataWarning
from salesmetrics.models.evaluation import evaluate
from salesmetrics.models.scoring import snapshot_scorer
from salesmetrics.models.splits import SnapshotSplit
from salesmetrics.simulation.simulator import simulate

FAST = {"max_iter": 15, "n_jobs": 1, "random_state": 0, "min_closed": 0}


@pytest.fixture(scope="module")
def log():
    return simulate(n_deals=300, n_owners=6, seed=5, months=8).log


@pytest.fixture(scope="module")
def snap(log):
    return snapshots(log, horizon_days=14)


def test_cross_val_score_reads_labels_from_the_frame_and_never_returns_nan(snap):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a "Scoring failed" warning would fail the test
        warnings.simplefilter("ignore", SmallDataWarning)
        accuracy = cross_val_score(StallPredictor(horizon_days=14, **FAST), snap, cv=SnapshotSplit(3))
        auc = cross_val_score(
            StallPredictor(horizon_days=14, **FAST), snap, cv=SnapshotSplit(3), scoring=snapshot_scorer("roc_auc")
        )
        loss = cross_val_score(
            CloseLikelihood(**FAST), snap, cv=SnapshotSplit(3), scoring=snapshot_scorer("neg_log_loss")
        )
    assert np.isfinite(accuracy).all() and np.isfinite(auc).all() and np.isfinite(loss).all()
    assert ((accuracy > 0) & (accuracy <= 1)).all() and ((auc > 0.4) & (auc < 1)).all() and (loss < 0).all()


def test_score_without_y_equals_accuracy_on_the_labelled_rows(snap):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        model = StallPredictor(horizon_days=14, **FAST).fit(snap)
    labelled = snap[snap["stalled"].notna()]
    by_hand = float((model.predict(labelled) == labelled["stalled"].astype(int).to_numpy()).mean())
    assert model.score(snap) == pytest.approx(by_hand)
    assert model.score(snap, snap["stalled"]) == pytest.approx(by_hand)  # a y with <NA> left out the same way
    with pytest.raises(UsageError, match="censored"):
        model.score(snap[snap["stalled"].isna()])


def test_grid_search_gives_finite_scores_and_a_best_setting(snap):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        grid = GridSearchCV(
            StallPredictor(horizon_days=14, **FAST),
            {"max_depth": [1, 2]},
            cv=SnapshotSplit(2),
            scoring=snapshot_scorer("neg_brier_score"),
        ).fit(snap)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_params_["max_depth"] in (1, 2)


def test_a_fold_with_one_class_fails_loudly_not_silently(snap):
    one_class = snap[snap["stalled"].notna()].copy()
    one_class["stalled"] = pd.array([True] * len(one_class), dtype="boolean")
    one_class.iloc[0, one_class.columns.get_loc("stalled")] = False
    scorer = snapshot_scorer("roc_auc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        model = StallPredictor(horizon_days=14, **FAST).fit(snap)
    with pytest.raises(UsageError, match="one class"):
        scorer(model, one_class.iloc[1:])


@settings(max_examples=25, deadline=None)
@given(
    n_dates=st.integers(4, 30),
    n_splits=st.integers(1, 3),
    gap=st.sampled_from([0, 7, 14, 30]),
    seed=st.integers(0, 10_000),
)
def test_snapshot_split_keeps_the_gap_and_the_deals_apart(n_dates, n_splits, gap, seed):
    rng = np.random.default_rng(seed)
    n = n_dates * 5
    frame = pd.DataFrame(
        {
            "deal_id": rng.integers(0, 12, n),
            "as_of": pd.Timestamp("2024-01-07", tz="UTC") + pd.to_timedelta(rng.integers(0, n_dates, n) * 7, "D"),
        }
    )
    frame.attrs["horizon_days"] = gap
    if frame["as_of"].nunique() < n_splits + 1:
        with pytest.raises(UsageError, match="distinct as-of dates"):
            list(SnapshotSplit(n_splits).split(frame))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # folds with no training row are skipped, with a warning
        folds = list(SnapshotSplit(n_splits).split(frame))
        assert SnapshotSplit(n_splits).get_n_splits(frame) == len(folds)
    for train, test in folds:
        assert len(train) and len(test)
        assert frame["as_of"].iloc[train].max() < frame["as_of"].iloc[test].min() - pd.Timedelta(days=gap)
        assert not set(frame["deal_id"].iloc[train]) & set(frame["deal_id"].iloc[test])


def test_snapshot_split_warns_on_a_gap_shorter_than_the_horizon(snap):
    with pytest.warns(UserWarning, match="shorter than the snapshots' label horizon"):
        list(SnapshotSplit(2, gap_days=7).split(snap))


def test_evaluate_builds_snapshots_with_the_estimators_horizon(log):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        ev = evaluate(StallPredictor(horizon_days=14, **FAST), log, n_bootstrap=0)
    assert ev.gap_days == 14
    assert ev.estimators["model"].horizon_days_ == 14


def test_evaluate_warns_when_the_gap_is_shorter_than_the_horizon(snap):
    for estimator in (StallPredictor(horizon_days=14, **FAST), CloseLikelihood(**FAST), None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallDataWarning)
            warnings.filterwarnings("ignore", message="The 'won' labels of the training snapshots")
            with pytest.warns(UserWarning, match="shorter than the snapshots' label horizon"):
                evaluate(estimator, snap, gap_days=7, n_bootstrap=0)


# ------------------------------------------------------------------------------ censoring-honest evaluation


def _censored_won_frame() -> pd.DataFrame:
    """10 weekly dates of the same 40 deals; deal i is won when i is odd; from week 6 on only the first
    40 * share deals have a known outcome (share 0.8, 0.6, 0.4, 0.2): later dates lose the slow deals."""
    t0 = pd.Timestamp("2024-01-07", tz="UTC")
    rows = []
    shares = [1.0] * 6 + [0.8, 0.6, 0.4, 0.2]
    for k, share in enumerate(shares):
        for i in range(40):
            rows.append(
                {
                    "deal_id": i,
                    "as_of": t0 + pd.Timedelta(weeks=k),
                    "stage": "A" if i < 20 else "B",
                    "days_in_stage": float((i * 7 + k) % 50),
                    "won": (i % 2) if i < 40 * share else pd.NA,
                }
            )
    frame = pd.DataFrame(rows)
    frame["won"] = frame["won"].astype("Int64")
    return frame


def _evaluate_won(frame, follow_up):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The 'won' labels of the training snapshots")
        return evaluate(
            None,
            frame,
            target="won",
            cutoff=frame["as_of"].min() + pd.Timedelta(weeks=2),
            gap_days=7,
            n_bootstrap=0,
            follow_up=follow_up,
        )


def test_labelled_share_per_test_date_and_the_complete_follow_up_default():
    frame = _censored_won_frame()
    ev = _evaluate_won(frame, "complete")
    share = ev.labelled_share
    assert share["labelled_share"].round(2).tolist() == [1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2]  # weeks 3 to 9
    assert share["rows"].tolist() == [40] * 7 and share["used"].tolist() == [True] * 3 + [False] * 4
    assert ev.counts["test"] == 3 * 40 and ev.counts["not_followed_up"] == 32 + 24 + 16 + 8
    line = ev._summary_line()
    assert "complete follow-up only: 3 test dates" in line and "4 later or less followed-up" in line
    every = _evaluate_won(frame, "all")
    assert every.counts["test"] == 120 + 80 and every.labelled_share["used"].all()
    assert "every test date (7 test dates, labelled share 20% to 100%)" in every._summary_line()


def test_ipcw_weights_are_the_inverse_labelled_share_of_the_date_and_stage():
    frame = _censored_won_frame()
    ev = _evaluate_won(frame, "ipcw")
    pred = ev.predictions.merge(frame[["deal_id", "as_of", "stage"]], on=["deal_id", "as_of"])
    assert ev.follow_up == "ipcw" and "(IPCW)" in ev._summary_line()
    assert pred["weight"].mean() == pytest.approx(1.0)
    week6 = pred[pred["as_of"] == frame["as_of"].min() + pd.Timedelta(weeks=6)]
    w_a, w_b = week6.groupby("stage")["weight"].agg(["min", "max"]).to_numpy()
    assert w_a[0] == pytest.approx(w_a[1]) and w_b[0] == pytest.approx(w_b[1])
    assert w_b[0] / w_a[0] == pytest.approx(20 / 12)  # stage B: 12 of 20 labelled that week; stage A: all 20
    # the weighted base rate is the mean of the weighted labels
    rate = float(np.average(pred["y"], weights=pred["weight"]))
    assert f"base rate {rate:.3f}" in ev._summary_line()


def test_follow_up_refuses_an_unknown_choice_and_a_period_never_followed_up():
    frame = _censored_won_frame()
    with pytest.raises(UsageError, match="follow_up must be one of"):
        _evaluate_won(frame, "some")
    late = frame[frame["as_of"] >= frame["as_of"].min() + pd.Timedelta(weeks=5)]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The 'won' labels of the training snapshots")
        with pytest.raises(UsageError, match="not followed up"):
            evaluate(None, late, target="won", cutoff=late["as_of"].min() + pd.Timedelta(weeks=1), gap_days=7)


# ------------------------------------------------------------------------------ probabilities (decision 0058)


def test_probabilities_are_never_0_or_1_are_many_and_give_a_finite_log_loss(snap):
    from sklearn.metrics import log_loss

    labelled = snap[snap["stalled"].notna()]
    y = labelled["stalled"].astype(int).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        # the default: no calibration step (0065), and its 100 trees (15 trees on these 871 rows, each leaf holding
        # an eighth of them, add up to only ten distinct scores; 100 give 710)
        stall = StallPredictor(horizon_days=14, **{**FAST, "max_iter": 100}).fit(snap)
        three = CloseLikelihood(target="close_outcome", **FAST).fit(snap)
        # enough held-out rows to calibrate
        sigmoid = StallPredictor(horizon_days=14, calibration="sigmoid", holdout=0.35, **{**FAST, "max_iter": 100})
        sigmoid.fit(snap)
        isotonic = StallPredictor(horizon_days=14, calibration="isotonic", holdout=0.35, **FAST).fit(snap)
    for model in (stall, three, sigmoid, isotonic):
        p = model.predict_proba(snap)
        assert (p > 0).all() and (p < 1).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
        assert p.min() >= model.probability_floor_ * (1 - 1e-9) / (1 + p.shape[1] * model.probability_floor_)
    assert stall.calibration_.startswith("none (the default for boosting") and three.calibration_.startswith("none")
    assert sigmoid.calibration_.startswith("sigmoid") and isotonic.calibration_.startswith("isotonic")
    for model, base in (
        (stall, stall.estimator_),  # the trees themselves
        (sigmoid, sigmoid.estimator_.calibrated_classifiers_[0].estimator),  # the boosted model before the sigmoid
    ):
        p = model.predict_proba(labelled)[:, 1]
        raw = base.predict_proba(model._matrix(labelled, reset=False))[:, 1]
        assert len(np.unique(p)) == len(np.unique(raw)) > 100  # every distinct score kept apart: no steps
        assert np.isfinite(log_loss(y, p))
    assert np.isfinite(log_loss(y, isotonic.predict_proba(labelled)[:, 1]))
    assert stall.probability_floor_ == pytest.approx(1 / (stall.n_rows_ + 2))


def test_off_the_edges_keeps_order_and_sums():
    from salesmetrics.models._base import off_the_edges

    raw = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    out = off_the_edges(raw, 0.01)
    assert (out > 0).all() and (out < 1).all()
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert (np.argsort(out[:, 2]) == np.argsort(raw[:, 2], kind="stable")).all()
    assert off_the_edges(np.ones((3, 1)), 0.01).tolist() == [[1.0]] * 3  # one class: nothing to spread


# ------------------------------------------------------------------------------ outcomes said plainly (0057)


def test_next_step_and_the_stall_label_without_losses_by_hand(tiny_log_dir):
    import salesmetrics as sm

    log = sm.read_log(tiny_log_dir)
    early = snapshots(log, as_of="2024-01-12", horizon_days=7)  # D1 moves on 20 Jan (after), D2 on 15 Jan
    assert early["next_step"].tolist() == ["no movement", "moved"]
    assert early["stalled_excluding_losses"].tolist() == [True, False]
    late = snapshots(log, as_of="2024-02-01", horizon_days=2, observed_until="2024-02-10")
    d3 = late[late["deal_id"] == "D3"].iloc[0]  # lost on 3 February, within the two days
    assert d3["next_step"] == "lost" and not d3["stalled"] and pd.isna(d3["stalled_excluding_losses"])


def test_the_three_stall_labels_agree(snap):
    step, stalled, excluding = snap["next_step"], snap["stalled"], snap["stalled_excluding_losses"]
    assert (step.isna() == stalled.isna()).all()
    known = step.notna()
    assert ((step[known] == "no movement") == stalled[known].astype(bool)).all()
    assert (excluding.isna() == (step.isna() | (step == "lost"))).all()
    assert (excluding.dropna().astype(bool) == stalled[excluding.notna()].astype(bool)).all()


def test_the_label_is_named_on_the_evaluation_and_the_model_card(log, tmp_path):
    from salesmetrics.models.persistence import read_model_card, save_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        ev = evaluate(StallPredictor(horizon_days=14, losses="excluded", **FAST), log, n_bootstrap=0)
        model = StallPredictor(horizon_days=14, losses="excluded", **FAST).fit(snapshots(log, horizon_days=14))
    line = ev._summary_line()
    assert ev.target == "stalled_excluding_losses"
    assert "no stage movement within 14 days, deals lost within them left out" in line
    assert f"{ev.counts['test_lost_left_out']:,} test" in line and ev.counts["test_lost_left_out"] > 0
    assert ev.labelled_share["labelled_share"].max() == 1.0  # a loss is left out by definition, not censored
    card = read_model_card(save_model(model, tmp_path / "m.skops"))
    assert card["target"] == "stalled_excluding_losses" and "lost within them left out" in card["target_words"]
    assert "a loss counts as a movement" in StallPredictor().label_words()


# ------------------------------------------------------------------------------ reasons


def _reason_model():
    rng = np.random.default_rng(3)
    n = 800
    pushes = rng.poisson(1.0, n).astype(float)
    commit = np.where(rng.random(n) < 0.8, np.nan, rng.exponential(10, n))  # missing for most deals
    risk = 0.1 + 0.15 * np.clip(pushes, 0, 4) + 0.3 * np.isnan(commit)
    y = (rng.random(n) < np.clip(risk, 0, 0.95)).astype(int)
    X = pd.DataFrame({"close_date_pushes": pushes, "days_since_commit": commit})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        return StallPredictor(model="logistic", min_closed=100, n_jobs=1).fit(X, y), X


def test_no_reason_comes_from_a_missing_value():
    model, X = _reason_model()
    table = model.reasons(X, top_n=2, protective=2)
    gap = X["days_since_commit"].isna().to_numpy()
    named = table[[c for c in table.columns if "feature_" in c]].to_numpy()
    assert not (named[gap] == "days_since_commit").any()  # its missing value raises the risk, but is no reason
    assert (table.loc[gap, "reason_1"].dropna().str.contains("close date pushed")).all()


def test_protective_factors_lower_the_risk_in_words():
    model, _ = _reason_model()
    deal = pd.DataFrame({"close_date_pushes": [0.0, 4.0], "days_since_commit": [np.nan, np.nan]})
    table = model.reasons(deal, top_n=1, protective=1)
    assert table["lowers_by_1"].iloc[0] < 0 and table["protective_feature_1"].iloc[0] == "close_date_pushes"
    assert table["protective_1"].iloc[0] == "close date never pushed"
    assert pd.isna(table["protective_1"].iloc[1]) and table["reason_1"].iloc[1] == "close date pushed 4 times"
    with pytest.raises(UsageError, match="protective"):
        model.reasons(deal, protective=-1)


# ------------------------------------------------------------------------------ rolling origin


def test_rolling_origin_gives_separate_windows_and_a_spread(log):
    from salesmetrics.models.rolling import rolling_origin, rolling_spread, rolling_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        origins = rolling_origin(
            StallPredictor(horizon_days=14, **FAST), log, 3, n_bootstrap=0, snapshot_options={"horizon_days": 14}
        )
    assert len(origins) == 3
    cutoffs = [ev.cutoff for ev in origins]
    assert cutoffs == sorted(cutoffs) and len(set(cutoffs)) == 3
    for early, late in itertools.pairwise(origins):  # each window ends before the next test start
        assert early.predictions["as_of"].max() < late.test_start
    table = rolling_table(origins)
    assert set(table["model"]) == {"model", "stage default rate", "days in stage > 14", "stalled-in-stage flag"}
    spread = rolling_spread(table)
    model = table[table["model"] == "model"]["roc_auc"]
    assert spread.loc["model", "roc_auc_mean"] == pytest.approx(model.mean())
    assert spread.loc["model", "roc_auc_min"] == model.min() and spread.loc["model", "roc_auc_sd"] >= 0


def test_rolling_origin_takes_a_bare_start_date_and_one_cutoff(log):
    from salesmetrics.models.rolling import _first_as_of, rolling_origin

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        one = rolling_origin(StallPredictor(horizon_days=14, **FAST), log, 1, n_bootstrap=0)
    assert len(one) == 1
    first = _first_as_of(one[0], log, {"snapshot_options": {"start": "2024-02-01"}})
    assert first.tzinfo is not None and f"{first:%Y-%m-%d}" == "2024-02-01"
    with pytest.raises(UsageError, match="n_cutoffs"):
        rolling_origin(None, log, 0)
