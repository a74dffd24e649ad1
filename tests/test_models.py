"""StallPredictor and CloseLikelihood: the scikit-learn contract, fitting on snapshots, fallback, reasons."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from salesmetrics.exceptions import UsageError
from salesmetrics.features.build import snapshots
from salesmetrics.features.registry import DEFAULT_FEATURES, FEATURES, OPT_IN
from salesmetrics.models import CloseLikelihood, NextStepPredictor, StallPredictor
from salesmetrics.models._base import SmallDataWarning
from salesmetrics.models.reasons import MIN_EFFECT, TEMPLATES, describe, explain
from salesmetrics.simulation.simulator import simulate


@pytest.fixture(scope="module")
def snap():
    """Weekly snapshots of a simulated log with enough closed deals for the boosted model (about 2,500 rows)."""
    return snapshots(simulate(n_deals=500, n_owners=8, seed=11, months=9).log)


def quiet_fit(model, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        return model.fit(*args)


# ------------------------------------------------------------------------------------------- sklearn contract


@parametrize_with_checks(
    [
        # always the small-data fallback (regularised logistic regression)
        StallPredictor(min_closed=10**9, n_jobs=1),
        # the boosted path with calibration left out for small data; fewer, smaller trees keep the checks fast
        CloseLikelihood(min_closed=0, min_samples_leaf=5, max_iter=20, n_jobs=1, random_state=0),
        # three classes on the boosted path (the next step: moved, lost, no movement)
        NextStepPredictor(min_closed=0, min_samples_leaf=5, max_iter=20, n_jobs=1, random_state=0),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        check(estimator)


# ------------------------------------------------------------------------------------------- fitting on snapshots


def test_stall_predictor_on_snapshots(snap):
    model = StallPredictor(random_state=0, n_jobs=1, max_iter=60).fit(snap)
    assert model.fallback_ is None and model.model_ == "hgb"
    assert model.classes_.tolist() == [0, 1]
    assert list(model.feature_names_in_) == list(DEFAULT_FEATURES) and model.n_features_in_ == len(DEFAULT_FEATURES)
    assert model.n_censored_ == int(snap["stalled"].isna().sum())
    assert model.n_rows_ == int(snap["stalled"].notna().sum())
    assert model.n_closed_ >= 200
    assert model.training_window_[0] == str(snap["as_of"].min())
    assert model.calibration_.startswith("none (the default for boosting: trees fitted on every training row")
    proba = model.predict_proba(snap)
    assert proba.shape == (len(snap), 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(model.predict(snap)) <= {0, 1}
    assert model.metrics_ == {"training_base_rate": pytest.approx(snap["stalled"].dropna().astype(float).mean())}
    sigmoid = StallPredictor(random_state=0, n_jobs=1, max_iter=60, calibration="sigmoid", holdout=0.5).fit(snap)
    assert sigmoid.calibration_.startswith("sigmoid on ") and 0 <= sigmoid.metrics_["holdout_auc"] <= 1


def test_default_boosting_fits_every_row_with_no_calibration_step():
    """Decision 0065: the default's trees are the plain boosted model fitted on every training row (no row held
    out), raised off 0 and 1 by the floor; the probabilities stay many distinct values and log loss is finite."""
    from sklearn.metrics import log_loss

    from salesmetrics.models._base import off_the_edges

    rng = np.random.default_rng(7)
    n = 1500
    X = rng.normal(size=(n, 3))
    y = ((X.sum(axis=1) + 0.5 * rng.normal(size=n)) > 0).astype(int)  # every feature counts: many leaf sums
    model = StallPredictor(min_closed=0, max_iter=20, n_jobs=1, random_state=0).fit(X, y)
    assert model.calibration_ == (
        "none (the default for boosting: trees fitted on every training row, no held-out step; decision 0065)"
    )
    reference = _reference("hgb", X, y, n).predict_proba(X)  # every row, nothing held out
    np.testing.assert_allclose(model.predict_proba(X), off_the_edges(reference, 1 / (n + 2)))
    assert model.metrics_ == {"training_base_rate": pytest.approx(y.mean())}
    p = model.predict_proba(X)[:, 1]
    assert (p > 0).all() and (p < 1).all() and len(np.unique(p)) == len(np.unique(reference[:, 1])) > 100
    assert np.isfinite(log_loss(y, p))
    # labels a single feature separates perfectly: the trees' raw scores come near 0 and 1, the floor holds
    sure = (X[:, 0] > 0).astype(int)
    p = StallPredictor(min_closed=0, max_iter=100, learning_rate=1.0, n_jobs=1, random_state=0, leak_auc=None)
    p = p.fit(X, sure).predict_proba(X)
    assert p.min() >= 1 / (n + 2) / (1 + 2 / (n + 2)) and p.max() < 1 and np.isfinite(log_loss(sure, p[:, 1]))


def test_opt_in_features_are_learned_only_when_included(snap):
    """The activity mix is in every snapshot but learned from only with include (decision 0064)."""
    assert set(OPT_IN) <= set(FEATURES) and not set(OPT_IN) & set(DEFAULT_FEATURES)
    model = StallPredictor(model="logistic", n_jobs=1, random_state=0, include=["motion_trend"]).fit(snap)
    assert list(model.feature_names_in_) == [f for f in FEATURES if f in DEFAULT_FEATURES or f == "motion_trend"]
    every = StallPredictor(model="logistic", n_jobs=1, random_state=0, include="all").fit(snap)
    assert list(every.feature_names_in_) == list(FEATURES)
    assert every.predict_proba(snap.head(4)).shape == (4, 2)
    reasons = every.reasons(snap.tail(50), top_n=3)
    named = set(reasons[["feature_1", "feature_2", "feature_3"]].stack().dropna())
    assert named <= set(FEATURES)
    with pytest.raises(UsageError, match="learned from by default"):
        StallPredictor(include=["amount"]).fit(snap)
    with pytest.raises(UsageError, match="not a snapshot feature"):
        StallPredictor(include=["motion_trnd"]).fit(snap)


def test_close_likelihood_ranks_and_is_calibrated_on_unseen_deals():
    """Fit on half the deals, test on the other half: better than chance, mean probability near the base rate."""
    snap = snapshots(simulate(n_deals=900, n_owners=10, seed=3, months=12).log)
    deals = snap["deal_id"].unique()
    test_deals = set(np.random.default_rng(0).choice(deals, size=len(deals) // 2, replace=False))
    test_mask = snap["deal_id"].isin(test_deals)
    model = CloseLikelihood(random_state=0, n_jobs=1, max_iter=100).fit(snap[~test_mask])
    test = snap[test_mask & snap["won"].notna()]
    y = test["won"].astype(int).to_numpy()
    p = model.predict_proba(test)[:, 1]
    assert roc_auc_score(y, p) > 0.7
    assert abs(p.mean() - y.mean()) < 0.06
    assert brier_score_loss(y, p) < brier_score_loss(y, np.full(len(y), y.mean()))


def test_logistic_baseline_option(snap):
    model = CloseLikelihood(model="logistic", random_state=0, n_jobs=1).fit(snap)
    assert model.model_ == "logistic" and model.fallback_ is None
    assert model.estimator_.predict_proba(snap[list(DEFAULT_FEATURES)].to_numpy(float)).shape[1] == 2


def test_close_outcome_three_classes(snap):
    model = CloseLikelihood(target="close_outcome", random_state=0, n_jobs=1, max_iter=40).fit(snap)
    assert model.classes_.tolist() == ["lost", "slipped", "won"]
    table = model.predict_outcomes(snap.head(20))
    assert table.columns.tolist() == ["p_won", "p_lost", "p_slipped"]
    assert np.allclose(table.sum(axis=1), 1) and table.index.equals(snap.head(20).index)
    assert np.allclose(model.risk(snap.head(20)), 1 - table["p_won"])


def test_small_data_falls_back_and_says_so():
    small = snapshots(simulate(n_deals=60, n_owners=3, seed=2, months=6).log)
    with pytest.warns(SmallDataWarning, match=r"only \d+ closed deals \(fewer than min_closed=200\)"):
        model = StallPredictor(n_jobs=1).fit(small)
    assert model.model_ == "logistic (fallback)" and "regularised logistic" in model.fallback_
    assert model.n_closed_ < 200
    p = model.predict_proba(small)[:, 1]
    assert ((p > 0) & (p < 1)).all()


def test_one_class_never_refuses():
    X = np.random.default_rng(0).normal(size=(30, 4))
    with pytest.warns(SmallDataWarning, match="only one class"):
        model = CloseLikelihood(n_jobs=1).fit(X, np.ones(30))
    assert model.model_ == "constant" and (model.predict(X) == 1).all()
    assert np.allclose(model.predict_outcomes(X)["p_won"], 1.0)


def test_horizon_mismatch_is_a_usage_error(snap):
    with pytest.raises(UsageError, match=r"built with horizon_days=30 but the StallPredictor has horizon_days=14"):
        StallPredictor(horizon_days=14).fit(snap)


def test_all_labels_censored_is_a_usage_error(snap):
    censored = snap.assign(won=pd.array([pd.NA] * len(snap), dtype="Int64"))
    with pytest.raises(UsageError, match="all are censored"):
        CloseLikelihood().fit(censored)


def test_bad_parameter_is_reported():
    with pytest.raises(ValueError, match="'model' parameter"):
        StallPredictor(model="forest").fit(np.zeros((4, 2)), [0, 1, 0, 1])


# ------------------------------------------------------------------------------------------- reasons


def test_reason_wording():
    assert describe("close_date_pushes", 3, 0) == "close date pushed 3 times"
    assert describe("close_date_pushes", 1, 0) == "close date pushed once"
    assert describe("interactions_since_decision", 4, 1) == "no client decision in the last 4 meetings"
    assert describe("days_since_commit", 14.4, 3) == "14 days past commit without signature"
    assert describe("days_since_commit", np.nan, 3) == "not yet at commit"
    assert describe("days_past_close", 5, -20) == "5 days past its expected close date"
    assert describe("stage_rank", 1, 2, stage="Qualified") == "still in Qualified"
    assert describe("owner_win_rate", 0.1, 0.3) == "owner's win rate so far 10% (typical 30%)"
    assert describe("motions_14d", 0, 4) == "no activity in the last 14 days"
    assert describe("x3", 2.5, 1.0) == "x3 = 2.5 (typical 1)"
    assert set(TEMPLATES) == set(FEATURES)


def _synthetic(n=3000, seed=0):
    """Snapshot-like rows where close-date pushes and days past commit drive the risk, nothing else."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(10, 2, n) for name in FEATURES})
    frame["close_date_pushes"] = rng.poisson(0.5, n).astype(float)
    frame["days_since_commit"] = np.where(rng.random(n) < 0.5, rng.uniform(0, 30, n), np.nan)
    logit = -2 + 1.2 * frame["close_date_pushes"] + 0.08 * frame["days_since_commit"].fillna(0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame["deal_id"] = [f"D{i}" for i in range(n)]
    frame["stage"] = "Proposal"
    return frame, y


def test_reasons_do_not_depend_on_the_order_of_the_training_rows():
    """A partitioned log's snapshots come part by part: the same rows in another order give the same reasons."""
    from salesmetrics.models.reasons import SAMPLE_ROWS, prepare_reasons

    frame, y = _synthetic(n=2 * SAMPLE_ROWS)
    model = StallPredictor(model="logistic", min_closed=0, random_state=0, n_jobs=1).fit(frame, y)
    curve, missing = model.reason_curve_.copy(), model.reason_missing_.copy()
    matrix = frame[list(model.feature_names_in_)].to_numpy(dtype=float)
    for seed in range(3):
        prepare_reasons(model, matrix[np.random.default_rng(seed).permutation(len(matrix))])
        np.testing.assert_array_equal(model.reason_curve_, curve)
        np.testing.assert_array_equal(model.reason_missing_, missing)


def test_reasons_point_at_the_features_that_drive_risk():
    frame, y = _synthetic()
    model = StallPredictor(model="logistic", min_closed=0, random_state=0, n_jobs=1).fit(frame, y)
    deal = frame.iloc[[0]].copy()
    deal[list(DEFAULT_FEATURES)] = model.reason_reference_  # typical on everything else
    deal["close_date_pushes"] = 3.0
    deal["days_since_commit"] = 40.0
    table = explain(model, deal)
    reasons = table.iloc[0][["reason_1", "reason_2"]].tolist()
    assert set(reasons) == {"close date pushed 3 times", "40 days past commit without signature"}
    assert (table.iloc[0][["effect_1", "effect_2"]] >= MIN_EFFECT).all()
    assert pd.isna(table.iloc[0]["reason_3"])
    assert table.iloc[0]["risk"] == pytest.approx(model.predict_proba(deal)[0, 1])
    # a deal at the typical values has no strong reason at all
    typical = frame.iloc[[1]].copy()
    typical[list(DEFAULT_FEATURES)] = model.reason_reference_
    assert pd.isna(explain(model, typical).iloc[0]["reason_1"])


def test_reasons_on_snapshots_are_cheap_and_complete(snap):
    # lighter regularisation than the defaults, so that this small table's model has effects worth naming
    model = StallPredictor(
        random_state=0, n_jobs=1, max_iter=60, max_depth=3, min_samples_leaf=50, l2_regularization=1.0
    ).fit(snap)
    table = model.reasons(snap, top_n=3, protective=1)
    assert len(table) == len(snap) and table.index.equals(snap.index)
    assert table.columns[:5].tolist() == ["deal_id", "as_of", "owner", "stage", "risk"]
    with_reason = table["reason_1"].notna()
    # a missing value is no reason (issue 19): fewer rows have a risk factor, nearly all a factor either way
    assert with_reason.mean() > 0.1 and (with_reason | table["protective_1"].notna()).mean() > 0.9
    assert (table["lowers_by_1"].dropna() < 0).all()
    assert (table.loc[with_reason, "effect_1"] >= table.loc[with_reason, "effect_2"].fillna(0)).all()
    assert table.loc[with_reason, "feature_1"].isin(FEATURES).all()
    with pytest.raises(UsageError, match="top_n must be 1 or more"):
        model.reasons(snap, top_n=0)


# ------------------------------------------------------------------------------- censoring of won (ADR 0027)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from salesmetrics.models.close import censoring_weights  # noqa: E402

DAY = pd.Timedelta(days=1)


def test_censoring_weights_by_hand():
    """Three as-of days 60, 30 and 10 days before the labels were read, with 2, 1 and 1 rows (censored ones too).

    G(t) = share of the 4 rows followed up at least t days: G(5) = 1, G(20) = 3/4, G(45) = 2/4.
    Weights 1/G = 1, 4/3, 2, scaled to mean 1 over the labelled rows.
    """
    end = pd.Timestamp("2024-06-30", tz="UTC")
    rows = {str(end - 60 * DAY): 2, str(end - 30 * DAY): 1, str(end - 10 * DAY): 1}
    as_of = [end - 60 * DAY, end - 60 * DAY, end - 30 * DAY, end - 10 * DAY]
    w = censoring_weights(as_of, [45.0, 20.0, 5.0, 5.0], end, rows)
    raw = np.array([2, 4 / 3, 1, 1])
    assert np.allclose(w, raw / raw.mean())
    capped = censoring_weights(as_of, [45.0, 20.0, 5.0, 5.0], end, rows, max_weight=1.5)
    assert np.allclose(capped, np.array([1.5, 4 / 3, 1, 1]) / np.mean([1.5, 4 / 3, 1, 1]))
    # as-of dates outside the rows' window do not enter G
    wider = {**rows, str(end - 400 * DAY): 50}
    assert np.allclose(censoring_weights(as_of, [45.0, 20.0, 5.0, 5.0], end, wider), w)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 200), st.floats(0.01, 1.0)), min_size=1, max_size=30))
def test_censoring_weights_positive_mean_one_and_growing_with_time_to_outcome(pairs):
    end = pd.Timestamp("2025-01-01", tz="UTC")
    as_of = [end - follow * DAY for follow, _ in pairs]
    t = [share * follow for follow, share in pairs]  # an outcome is only labelled if it came by `end`
    w = censoring_weights(as_of, t, end)
    assert np.all(w > 0) and np.isclose(w.mean(), 1.0)
    order = np.argsort(t, kind="stable")
    assert np.all(np.diff(w[order]) >= -1e-12)


def test_snapshots_days_to_outcome_and_rows_per_as_of(snap):
    known = snap["won"].notna().to_numpy()
    assert np.array_equal(known, snap["days_to_outcome"].notna().to_numpy())
    assert (snap.loc[known, "days_to_outcome"] > 0).all()
    rows = snap.attrs["rows_per_as_of"]
    assert sum(rows.values()) == len(snap) and len(rows) == snap["as_of"].nunique()
    # a deal's time to its close shrinks by exactly the days between two of its snapshots
    one = snap[known & (snap["deal_id"] == snap.loc[known, "deal_id"].iloc[0])]
    passed = (one["as_of"] - one["as_of"].iloc[0]) / DAY
    assert np.allclose(one["days_to_outcome"].iloc[0] - one["days_to_outcome"], passed)


def test_ipcw_moves_the_won_rate_toward_the_eventual_one():
    """Labels read early lean to quick outcomes; the weighted rate is nearer the rate once all are known."""
    log = simulate(n_deals=900, n_owners=10, seed=5, months=12).log
    early = snapshots(log, observed_until="2024-08-31")
    final = snapshots(log)
    late = early[early["won"].notna().to_numpy()]
    w = censoring_weights(
        late["as_of"], late["days_to_outcome"], early.attrs["observed_until"], early.attrs["rows_per_as_of"]
    )
    seen = late["won"].astype(float).to_numpy()
    eventual = final[final["as_of"] <= early["as_of"].max()]["won"].astype("Float64").mean()
    assert abs(np.average(seen, weights=w) - eventual) < abs(seen.mean() - eventual)

    model = CloseLikelihood(censoring="ipcw", random_state=0, n_jobs=1, max_iter=30).fit(early)
    assert model.censoring_.startswith("ipcw (weights") and "rows per as-of date" in model.censoring_
    plain = CloseLikelihood(censoring="none", random_state=0, n_jobs=1, max_iter=30).fit(early)
    assert plain.censoring_ == "none"
    assert model.predict_proba(early)[:, 1].mean() > plain.predict_proba(early)[:, 1].mean() - 0.005


def test_censoring_not_applied_where_it_does_not_fit(snap):
    three = CloseLikelihood(target="close_outcome", censoring="ipcw", random_state=0, n_jobs=1, max_iter=20).fit(snap)
    assert three.censoring_.startswith("none (censoring weights apply to target='won')")
    X = snap[list(FEATURES)].to_numpy(float)[:600]
    y = np.arange(600) % 2
    arrays = quiet_fit(CloseLikelihood(censoring="ipcw", min_closed=0, random_state=0, n_jobs=1, max_iter=20), X, y)
    assert arrays.censoring_.startswith("none (needs a snapshots table")
    with pytest.raises(ValueError, match="censoring"):
        CloseLikelihood(censoring="km").fit(snap)


def test_boosting_survives_a_feature_that_is_always_missing(snap):
    """scikit-learn 1.9's binning fails on an all-NaN column (e.g. days_since_commit before any commit)."""
    frame = snap.assign(days_since_commit=np.nan)
    model = StallPredictor(min_closed=0, random_state=0, n_jobs=1, max_iter=20).fit(frame)
    assert np.isfinite(model.predict_proba(frame)).all()


def test_defaults_are_the_regularised_ones():
    params = StallPredictor().get_params()
    assert (params["max_iter"], params["max_depth"], params["min_samples_leaf"]) == (100, 2, "auto")
    leaf = StallPredictor()._leaf
    assert (leaf(100), leaf(2_000), leaf(5_000), leaf(1_000_000)) == (20, 250, 500, 500)
    assert params["l2_regularization"] == 20.0 and CloseLikelihood().get_params()["censoring"] == "none"


def test_maturity_rule_drops_young_labels():
    log = simulate(n_deals=900, n_owners=10, seed=5, months=12).log
    early = snapshots(log, observed_until="2024-10-31")
    model = CloseLikelihood(censoring="maturity", maturity_days=90, random_state=0, n_jobs=1, max_iter=20).fit(early)
    known = early[early["won"].notna().to_numpy()]
    old = ((pd.Timestamp(early.attrs["observed_until"]) - known["as_of"]) / DAY >= 90).sum()
    assert model.censoring_.startswith(f"maturity: {old:,} of {len(known):,} labelled rows at least 90 days")


def test_reason_counts_read_as_words():
    from salesmetrics.models.reasons import describe

    assert describe("motions", 13, 5) == "13 activities logged"
    assert describe("motions", 1, 5) == "only 1 activity logged"


# ------------------------------------------------------------------------------------- fixes of session 3


def test_explain_runs_under_the_models_thread_limit():
    """explain (and .reasons) call the model under n_jobs threads, like fit and predict_proba do."""
    from threadpoolctl import threadpool_info

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    model = StallPredictor(model="logistic", min_closed=10, n_jobs=1).fit(X, y)
    limit = max(pool["num_threads"] for pool in threadpool_info()) + 1  # differs from every library's default
    model.set_params(n_jobs=limit)
    seen = []

    class Spy:
        def __init__(self, inner):
            self.inner = inner

        def predict_proba(self, matrix):
            seen.append({pool["num_threads"] for pool in threadpool_info()})
            return self.inner.predict_proba(matrix)

    model.estimator_ = Spy(model.estimator_)
    explain(model, X[:5], top_n=1)
    model.reasons(X[:5], top_n=1)
    assert seen == [{limit}, {limit}]


def _holdout(n: int, seed: int) -> np.ndarray:
    """The rows the estimators hold out for calibration (array input: a random fifth of rows, seeded)."""
    from salesmetrics.models._base import _holdout_mask

    return _holdout_mask(n, None, 0.2, np.random.default_rng(seed))


def _reference(model_kind: str, X, y, n_rows: int):
    """The uncalibrated base model, fitted independently with the estimators' default settings."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from salesmetrics.models._base import linear_pipeline

    if model_kind == "logistic":
        return linear_pipeline(1.0, 0).fit(X, y)
    leaf = min(500, max(20, n_rows // 8))
    return HistGradientBoostingClassifier(
        max_iter=20,
        learning_rate=0.05,
        max_depth=2,
        min_samples_leaf=leaf,
        l2_regularization=20.0,
        early_stopping=False,
        random_state=0,
    ).fit(X, y)


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic", "auto"])
def test_too_few_held_out_positives_skip_calibration(calibration):
    rng = np.random.default_rng(3)
    n = 1200
    X = rng.normal(size=(n, 2))
    y = (rng.random(n) < 0.03 + 0.03 * (X[:, 0] > 0)).astype(int)
    hold = _holdout(n, 0)
    rarest = int(y[hold].sum())
    assert hold.sum() >= 200 and 2 <= rarest < 30  # enough held-out rows, too few positives among them
    model = StallPredictor(model="logistic", calibration=calibration, min_closed=0, n_jobs=1, random_state=0)
    model.fit(X, y)
    assert model.calibration_ == (
        f"none (too few held-out rows: {rarest} rows of the rarest class among {int(hold.sum()):,}, fewer than 30)"
    )
    # the uncalibrated learner, fitted on every row, ranks (and scores) the rows
    reference = _reference("logistic", X, y, n).predict_proba(X)[:, 1]
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], reference)


@pytest.mark.parametrize("learner", ["logistic", "hgb"])
def test_a_sigmoid_that_reverses_the_ranking_is_refused(learner):
    """Held-out rows whose labels run against the training rows: the fitted sigmoid slopes down."""
    rng = np.random.default_rng(5)
    n = 2000
    X = rng.normal(size=(n, 2))
    hold = _holdout(n, 0)
    noise = rng.random(n) < 0.1
    y = ((X[:, 0] > 0) ^ noise ^ hold).astype(int)  # y follows x on training rows, the opposite when held out
    assert min(y[hold].sum(), (1 - y[hold]).sum()) >= 30 and hold.sum() >= 200
    model = StallPredictor(
        model=learner, calibration="sigmoid", min_closed=0, max_iter=20, n_jobs=1, random_state=0
    ).fit(X, y)
    assert model.calibration_.startswith(f"none (a sigmoid fitted on {int(hold.sum()):,} held-out rows of rows had ")
    assert "would reverse or flatten the model's ranking" in model.calibration_
    base = _reference(learner, X[~hold], y[~hold], int((~hold).sum())).predict_proba(X)[:, 1]
    p = model.predict_proba(X)[:, 1]
    assert np.array_equal(np.argsort(p, kind="stable"), np.argsort(base, kind="stable"))
    assert np.corrcoef(p, X[:, 0])[0, 1] > 0.5  # it still ranks by x, as the training rows say
    assert "holdout_brier_calibrated_in_sample" not in model.metrics_ and model.metrics_["holdout_auc"] < 0.5


def test_an_increasing_sigmoid_is_kept():
    rng = np.random.default_rng(6)
    n = 2000
    X = rng.normal(size=(n, 2))
    y = ((X[:, 0] + rng.normal(size=n)) > 0).astype(int)
    model = StallPredictor(model="logistic", calibration="sigmoid", min_closed=0, n_jobs=1, random_state=0)
    model.fit(X, y)
    hold = _holdout(n, 0)
    assert model.calibration_ == f"sigmoid on {int(hold.sum()):,} held-out rows of rows"
    assert np.corrcoef(model.predict_proba(X)[:, 1], X[:, 0])[0, 1] > 0.9


def _one_closed_deal_frame(n_closed: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame({name: rng.normal(size=n) for name in FEATURES})
    frame.insert(0, "deal_id", [f"d{i % 8}" for i in range(n)])
    frame["outcome"] = np.where(frame["deal_id"].isin([f"d{i}" for i in range(n_closed)]), "won", "open")
    frame["stalled"] = np.arange(n) % 2
    return frame


def test_the_fallback_notice_counts_closed_deals_in_words():
    with pytest.warns(SmallDataWarning, match=r"only 1 closed deal \(fewer than min_closed=200\)"):
        one = StallPredictor(n_jobs=1).fit(_one_closed_deal_frame(1))
    assert one.fallback_.startswith("only 1 closed deal (fewer than min_closed=200): a strongly regularised")
    two = quiet_fit(StallPredictor(n_jobs=1), _one_closed_deal_frame(2))
    assert two.fallback_.startswith("only 2 closed deals (fewer")


def test_next_step_model_gives_three_probabilities_that_sum_to_one(snap, tmp_path):
    from salesmetrics.models import load_model, save_model

    model = NextStepPredictor(random_state=0, n_jobs=1, max_iter=40).fit(snap)
    labelled = snap["next_step"].notna()
    assert model.classes_.tolist() == ["lost", "moved", "no movement"]
    assert model.n_rows_ == int(labelled.sum()) and model.n_censored_ == int((~labelled).sum())
    steps = model.predict_steps(snap.tail(200))
    assert steps.columns.tolist() == ["p_moved", "p_lost", "p_no_movement"]
    assert np.allclose(steps.sum(axis=1), 1.0) and ((steps > 0) & (steps < 1)).all().all()
    # the risk its reasons explain is the chance of no movement, a stall with losses kept apart
    reasons = model.reasons(snap.tail(200), top_n=2)
    assert np.allclose(reasons["risk"].to_numpy(), steps["p_no_movement"].to_numpy())
    assert model.label_words() == "next step within 30 days: a stage movement, a loss, or no movement"
    # the observed shares are matched on average by the predicted ones (training rows, a loose check)
    observed = snap.loc[labelled, "next_step"].value_counts(normalize=True)
    predicted = model.predict_steps(snap[labelled]).mean()
    assert abs(predicted["p_lost"] - observed["lost"]) < 0.05
    assert abs(predicted["p_no_movement"] - observed["no movement"]) < 0.05
    again = load_model(save_model(model, tmp_path / "steps.skops"))
    assert np.allclose(again.predict_proba(snap.tail(50)), model.predict_proba(snap.tail(50)))
    assert "losses" not in model.get_params()
