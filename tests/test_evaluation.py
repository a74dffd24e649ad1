"""Evaluation: time-ordered splits, metrics with bootstrap intervals, censored rows, and the CRM baselines."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from salesmetrics.exceptions import UsageError
from salesmetrics.models.baselines import (
    FLAG_COLUMN,
    STALL_QUANTILE,
    DaysInStageRule,
    StageRate,
    StalledInStageFlag,
    completed_stays,
    momentum_stall_flags,
)
from salesmetrics.models.evaluation import (
    bootstrap_metrics,
    calibration_table,
    evaluate,
    lift_top_decile,
    repeated_metrics,
    time_split,
)

T0 = pd.Timestamp("2024-01-07 23:59:59.999999", tz="UTC")


def weekly_frame(n_deals: int = 120, n_weeks: int = 40, seed: int = 0) -> pd.DataFrame:
    """Snapshot-shaped rows: every deal every week, stall risk rising with days in stage; some labels censored."""
    rng = np.random.default_rng(seed)
    deal = np.tile(np.arange(n_deals), n_weeks)
    week = np.repeat(np.arange(n_weeks), n_deals)
    days = rng.exponential(20, len(deal))
    frame = pd.DataFrame(
        {
            "deal_id": [f"D{d:03d}" for d in deal],
            "as_of": T0 + pd.to_timedelta(week * 7, unit="D"),
            "stage": rng.choice(["Lead", "Proposal", "Commit"], len(deal)),
            "days_in_stage": days,
            "x": days + rng.normal(0, 5, len(deal)),
        }
    )
    p = 1 / (1 + np.exp(-(days - 25) / 8))
    stalled = pd.array(rng.random(len(deal)) < p, dtype="boolean")
    stalled[week >= n_weeks - 4] = pd.NA  # the last four weeks: the horizon runs past the end of the log
    frame["stalled"] = stalled
    frame.attrs["horizon_days"] = 30.0
    return frame


class ColumnModel:
    """A minimal classifier: the logistic of one column (sklearn's clone only needs get_params)."""

    def __init__(self, column="x"):
        self.column = column

    def get_params(self, deep=True):
        return {"column": self.column}

    def set_params(self, **params):
        self.column = params.get("column", self.column)
        return self

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.fitted_on_ = X.copy()
        return self

    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-(X[self.column].to_numpy() - 25) / 8))
        return np.column_stack([1 - p, p])


# ------------------------------------------------------------------------------------------------ time split


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 400), min_size=2, max_size=60),
    cut=st.integers(1, 400),
    gap=st.integers(0, 90),
)
def test_time_split_never_puts_a_test_row_within_gap_of_train(offsets, cut, gap):
    frame = pd.DataFrame({"as_of": T0 + pd.to_timedelta(offsets, unit="D")})
    cutoff = T0 + pd.Timedelta(days=cut)
    try:
        train, test = time_split(frame, cutoff=cutoff, gap_days=gap)
    except UsageError:
        assert (frame["as_of"] >= cutoff + pd.Timedelta(days=gap)).sum() == 0 or (frame["as_of"] < cutoff).sum() == 0
        return
    assert test["as_of"].min() - train["as_of"].max() > pd.Timedelta(days=gap)
    assert len(train) + len(test) + train.attrs["n_gap"] == len(frame)
    assert set(train.index).isdisjoint(test.index)


def test_time_split_default_cutoff_and_gap():
    frame = weekly_frame(n_deals=5, n_weeks=20)
    train, test = time_split(frame)
    assert train.attrs["gap_days"] == 30.0  # the snapshots' horizon
    assert len(train) == 14 * 5  # 70 % of the rows are before the cutoff
    assert test["as_of"].min() >= train.attrs["cutoff"] + pd.Timedelta(days=30)
    with pytest.raises(UsageError, match="No snapshot is at or after"):
        time_split(frame, cutoff="2024-05-01", gap_days=60)
    with pytest.raises(UsageError, match="before the cutoff"):
        time_split(frame, cutoff="2023-01-01")


# --------------------------------------------------------------------------------------------------- metrics


def test_lift_top_decile_by_hand():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])  # base rate 0.15
    score = np.linspace(1, 0, 20)  # the top two rows are positives
    assert lift_top_decile(y, score) == pytest.approx(1 / 0.15)
    # a flag that ties 4 rows (2 positives) at the top: the top 2 hold one positive on average
    flag = np.r_[np.ones(4), np.zeros(16)]
    y2 = np.r_[1, 0, 1, 0, np.zeros(16)]
    assert lift_top_decile(y2, flag) == pytest.approx(0.5 / 0.1)
    assert np.isnan(lift_top_decile(np.zeros(5), np.arange(5)))


def test_point_values_match_scikit_learn_and_intervals_contain_them():
    frame = weekly_frame()
    y = frame["stalled"].dropna().astype(int).to_numpy()
    p = 1 / (1 + np.exp(-(frame.loc[frame["stalled"].notna(), "x"].to_numpy() - 25) / 8))
    table = bootstrap_metrics(y, {"m": p}, frame.loc[frame["stalled"].notna(), "deal_id"], n_bootstrap=100)
    t = table.set_index("metric")
    assert t.loc["roc_auc", "value"] == pytest.approx(roc_auc_score(y, p))
    assert t.loc["pr_auc", "value"] == pytest.approx(average_precision_score(y, p))
    assert t.loc["brier", "value"] == pytest.approx(brier_score_loss(y, p))
    assert ((t["ci_low"] <= t["value"]) & (t["value"] <= t["ci_high"])).all()
    assert (t["ci_high"] - t["ci_low"] > 0).all()


def test_bootstrap_draws_whole_deals_and_is_reproducible():
    rng = np.random.default_rng(0)
    deal = np.arange(100) // 10  # ten deals of ten weekly rows each, the rows of a deal alike
    y = (deal % 2 == 0).astype(int)
    p = np.clip(0.5 + 0.3 * (2 * y - 1) * rng.random(10)[deal], 0, 1)
    one = bootstrap_metrics(y, {"m": p}, deal, n_bootstrap=30, random_state=3)
    two = bootstrap_metrics(y, {"m": p}, deal, n_bootstrap=30, random_state=3)
    pd.testing.assert_frame_equal(one, two)
    # drawing whole deals: ten independent units, so wider intervals than a hundred independent rows
    rows = bootstrap_metrics(y, {"m": p}, None, n_bootstrap=100, random_state=3).set_index("metric")
    deals = bootstrap_metrics(y, {"m": p}, deal, n_bootstrap=100, random_state=3).set_index("metric")
    width = lambda t: t.loc["brier", "ci_high"] - t.loc["brier", "ci_low"]  # noqa: E731
    assert width(deals) > 1.5 * width(rows)


def test_calibration_table_by_hand():
    c = calibration_table([0, 0, 1, 1, 1], {"m": [0.1, 0.12, 0.8, 0.85, 1.0]}, n_bins=5)
    assert c["bin"].tolist() == [0, 4]
    assert c["n"].tolist() == [2, 3]
    assert c["mean_predicted"].round(3).tolist() == [0.11, 0.883]
    assert c["observed_rate"].tolist() == [0.0, 1.0]


# ------------------------------------------------------------------------------------------------ evaluate


def test_evaluate_excludes_and_counts_censored_rows():
    frame = weekly_frame()
    ev = evaluate(ColumnModel(), frame, cutoff=T0 + pd.Timedelta(weeks=24), gap_days=30, n_bootstrap=30)
    # weeks 0-23 train, 24-28 in the gap (cutoff + 30 days is week 28.3), weeks 29-35 labelled test, 36-39 censored
    assert ev.counts == {
        "gap": 5 * 120,
        "train_censored": 0,
        "test_censored": 4 * 120,
        "train": 24 * 120,
        "test": 7 * 120,
        "not_followed_up": 0,  # the censored weeks hold no label: no labelled row is left out with them
    }
    assert ev.follow_up == "complete"
    share = ev.labelled_share.set_index("as_of")
    assert share["labelled_share"].tolist() == [1.0] * 7 + [0.0] * 4 and share["used"].sum() == 7
    assert ev.predictions["y"].isin([0, 1]).all() and len(ev.predictions) == 7 * 120
    assert ev.models == ["model", "stage default rate", "days in stage > 30", "stalled-in-stage flag"]
    assert set(ev.table.columns) == {"model", "metric", "value", "ci_low", "ci_high"}
    t = ev.table.set_index(["model", "metric"])["value"]
    assert t[("model", "roc_auc")] > t[("stage default rate", "roc_auc")] + 0.2  # the stage carries nothing here
    assert t[("days in stage > 30", "roc_auc")] > 0.6


def test_evaluate_fits_on_training_rows_only():
    frame = weekly_frame()
    model = ColumnModel()
    ev = evaluate(model, frame, cutoff=T0 + pd.Timedelta(weeks=24), gap_days=30, n_bootstrap=0)
    assert not hasattr(model, "fitted_on_")  # a clone was fitted, the estimator passed in is untouched
    assert ev.predictions["as_of"].min() >= ev.cutoff + pd.Timedelta(days=30)
    assert ev.table["ci_low"].isna().all()  # no bootstrap, no interval
    cells = ev.wide().to_numpy().ravel()
    assert not any("nan" in str(c) or "[" in str(c) for c in cells)  # the value alone, as people read it
    brier = ev.table.set_index(["model", "metric"])["value"]["model", "brier"]
    assert ev.wide().loc["model", "Brier score"] == f"{brier:.3f}"


def test_evaluate_report_renders():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = evaluate(ColumnModel(), weekly_frame(), n_bootstrap=20)
    html = ev._repr_html_()
    assert "ROC AUC" in html and "Brier score" in html and "censored labels left out" in html
    assert "[" in ev.wide().iloc[0, 0]
    axes = ev.plot()
    assert axes[2].get_xlabel() == "Mean predicted probability in the bin"
    ax = ev.plot_calibration()
    assert ax.get_ylabel() == "Observed share stalled"
    plt.close("all")


def test_evaluate_usage_errors():
    frame = weekly_frame(n_deals=10, n_weeks=20)
    with pytest.raises(UsageError, match="target must be"):
        evaluate(None, frame, target="slipped")
    with pytest.raises(UsageError, match="no 'won' label"):
        evaluate(None, frame, target="won")
    cutoff = T0 + pd.Timedelta(weeks=8)
    with pytest.raises(UsageError, match="nothing to evaluate"):
        evaluate(None, frame, cutoff=cutoff, baselines=None, n_bootstrap=0)
    with pytest.raises(UsageError, match=r"test snapshots have no labelled rows \(40 censored\)"):
        evaluate(None, frame, n_bootstrap=0, follow_up="all")
    # by default (follow_up="complete") the cutoff moves back so that the test period reaches a labelled date
    ev = evaluate(None, frame, n_bootstrap=0)
    assert ev.counts["test"] > 0 and ev.labelled_share["used"].any()
    assert ev.test_start <= ev.labelled_share.loc[ev.labelled_share["used"], "as_of"].max()
    with pytest.raises(UsageError, match="DataFrame from salesmetrics"):
        evaluate(None, [1, 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ev = evaluate(None, frame.drop(columns="stage"), cutoff=cutoff, n_bootstrap=0)
    assert "stage default rate" not in ev.models
    assert any("skipped" in str(w.message) for w in caught)


def test_won_labels_read_after_the_test_start_are_warned_about():
    frame = weekly_frame(n_deals=30, n_weeks=30)
    frame["won"] = pd.array(np.arange(len(frame)) % 3 == 0, dtype="Int64")
    with pytest.warns(UserWarning, match="honest split"):
        evaluate(None, frame, target="won", n_bootstrap=0)


# ------------------------------------------------------------------------------------------------ baselines


def test_stage_rate_by_hand():
    X = pd.DataFrame({"stage": ["Lead", "Lead", "Lead", "Commit", "Commit"]})
    model = StageRate().fit(X, [0, 0, 1, 1, 1])
    assert model.rates_.to_dict() == pytest.approx({"Commit": 1.0, "Lead": 1 / 3})
    p = model.predict_proba(pd.DataFrame({"stage": ["Lead", "Negotiation"]}))[:, 1]
    assert p.tolist() == pytest.approx([1 / 3, 0.6])  # an unseen stage gets the overall rate
    with pytest.raises(UsageError, match="censored"):
        StageRate().fit(X, pd.array([0, 1, None, 1, 1], dtype="Int64"))


def test_days_in_stage_rule_by_hand():
    X = pd.DataFrame({"days_in_stage": [1.0, 29.9, 30.0, 31.0, 90.0]})
    model = DaysInStageRule(threshold_days=30).fit(X, [0, 0, 1, 1, 0])
    assert model.predict_proba(X)[:, 1].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0.5, 0.5])


def test_stalled_flag_learns_momentum_style_thresholds():
    # ten finished Lead stays of 1..10 days (deal moves to Proposal next week); the 0.9 quantile is 9.1 days
    rows = []
    for d in range(10):
        rows += [(f"D{d}", 0, "Lead", d + 1.0), (f"D{d}", 1, "Proposal", 0.5)]
    X = pd.DataFrame(rows, columns=["deal_id", "week", "stage", "days_in_stage"])
    X["as_of"] = T0 + pd.to_timedelta(X["week"] * 7, unit="D")
    stays = completed_stays(X)
    assert sorted(stays["days"]) == [float(d) for d in range(1, 11)]
    assert (stays["stage"] == "Lead").all()
    assert STALL_QUANTILE == 0.9
    model = StalledInStageFlag().fit(X, np.r_[np.zeros(19), 1])
    assert model.thresholds_.to_dict() == pytest.approx({"Lead": 9.1})
    probe = pd.DataFrame({"stage": ["Lead", "Lead", "Proposal"], "days_in_stage": [9.0, 9.2, 500.0]})
    groups = model._groups(probe).tolist()
    assert groups == ["moving", "stalled", "moving"]  # Proposal has no finished stays: never flagged


def test_momentum_flags_feed_the_flag_baseline():
    import salesmetrics as sm
    from salesmetrics.features.build import snapshots
    from salesmetrics.metrics.momentum import momentum_flags

    log = sm.simulate(n_deals=200, n_owners=4, seed=2, months=8).log
    snap = snapshots(log, as_of=["2024-06-30", "2024-07-31"])
    flags = momentum_stall_flags(log, snap)
    june = snap["as_of"] == snap["as_of"].min()
    expected = momentum_flags(log, as_of="2024-06-30").set_index("deal_id")["stalled"]
    assert flags[june].tolist() == snap.loc[june, "deal_id"].map(expected).tolist()
    model = StalledInStageFlag(flag_column=FLAG_COLUMN).fit(
        snap.assign(**{FLAG_COLUMN: flags}), np.arange(len(snap)) % 2
    )
    assert model.predict_proba(snap.assign(**{FLAG_COLUMN: flags})).shape == (len(snap), 2)


def test_evaluate_a_log_rebuilds_training_labels_at_the_test_start():
    import salesmetrics as sm

    log = sm.simulate(n_deals=400, n_owners=6, seed=4, months=12).log
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning about won labels from the future
        ev = evaluate(None, log, target="won", n_bootstrap=10, momentum_flag=False)
    # the training labels are those known at the test start: deals open then are censored
    assert ev.counts["train_censored"] > 0
    from salesmetrics.features.build import snapshots

    full = snapshots(log)
    train_rows = full[full["as_of"] < ev.cutoff]
    assert ev.counts["train_censored"] > int(train_rows["won"].isna().sum())
    assert ev.counts["train"] + ev.counts["train_censored"] == len(train_rows)


def test_evaluate_the_package_estimators_end_to_end():
    import salesmetrics as sm
    from salesmetrics.models import CloseLikelihood, StallPredictor

    log = sm.simulate(n_deals=300, n_owners=5, seed=6, months=10).log
    opts = {"freq": "2W"}  # fortnightly snapshots keep the test quick
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # small data: the estimators fall back and say so
        stall = evaluate(
            StallPredictor(model="logistic", random_state=0),
            log,
            n_bootstrap=10,
            momentum_flag=False,
            snapshot_options=opts,
        )
        close = evaluate(
            CloseLikelihood(model="logistic", random_state=0), log, target="won", n_bootstrap=10, snapshot_options=opts
        )
    for ev in (stall, close):
        t = ev.table.set_index(["model", "metric"])
        assert 0 <= t.loc[("model", "roc_auc"), "value"] <= 1
        assert ev.predictions["model"].between(0, 1).all()
    assert "stalled-in-stage flag" in close.models  # computed from momentum_flags at each as_of


# ------------------------------------------------------------------------------------- fixes of session 3


def test_time_split_messages_show_dates_without_midnight():
    frame = pd.DataFrame({"as_of": pd.date_range("2024-01-07", periods=20, freq="W", tz="UTC")})
    with pytest.raises(UsageError) as info:
        time_split(frame, cutoff="2023-01-01")
    assert str(info.value) == (
        "No snapshot is before the cutoff 2023-01-01; the snapshots run from 2024-01-07 to 2024-05-19. Pass a "
        "later cutoff."
    )
    with pytest.raises(UsageError) as info:
        time_split(frame, cutoff="2024-05-01", gap_days=60)
    assert str(info.value) == (
        "No snapshot is at or after 2024-06-30 (cutoff 2024-05-01 + 60 days gap); the snapshots end at "
        "2024-05-19. Pass an earlier cutoff or a shorter gap_days."
    )
    afternoon = frame.assign(as_of=frame["as_of"] + pd.Timedelta(hours=14, minutes=30))
    with pytest.raises(UsageError, match=r"the snapshots run from 2024-01-07 14:30 to 2024-05-19 14:30\."):
        time_split(afternoon, cutoff="2023-01-01")


def _sklearn_metrics(y, p) -> dict[str, float]:
    two = 0 < y.sum() < len(y)
    return {
        "roc_auc": roc_auc_score(y, p) if two else np.nan,
        "pr_auc": average_precision_score(y, p) if two else np.nan,
        "brier": brier_score_loss(y, p) if len(y) else np.nan,
        "lift_top_decile": lift_top_decile(y, p) if len(y) else np.nan,
    }


def test_repeated_metrics_equal_sklearn_on_the_repeated_rows():
    """Ties, zero weights and one-class draws included: each draw equals sklearn on np.repeat(rows, weights)."""
    rng = np.random.default_rng(7)
    for _ in range(60):
        n = int(rng.integers(1, 80))
        y = (rng.random(n) < rng.uniform(0.05, 0.6)).astype(int)
        p = np.round(rng.random(n), int(rng.integers(0, 3)))  # 0 decimals: only 0 and 1, many ties
        weights = rng.integers(0, 4, (5, n))
        weights[0] = 1
        got = repeated_metrics(y, p, weights)
        for d, w in enumerate(weights):
            want = _sklearn_metrics(np.repeat(y, w), np.repeat(p, w))
            for metric, value in want.items():
                np.testing.assert_allclose(got[metric][d], value, rtol=1e-12, atol=1e-12, err_msg=metric)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), weighted=st.booleans())
def test_bootstrap_table_does_not_depend_on_the_order_of_the_rows(seed, weighted):
    """The same deals' rows in any order (a partitioned log's snapshots come in another order of deals) give the
    same table, to the last bit: intervals included."""
    rng = np.random.default_rng(seed)
    n = 300
    deal = np.array([f"D{k:03d}" for k in rng.integers(0, 70, n)])
    y = (rng.random(n) < 0.3).astype(int)
    scores = {"m": np.round(rng.random(n), 2), "flag": (rng.random(n) < 0.2) * 1.0}
    weights = rng.uniform(1, 3, n) if weighted else None
    table = bootstrap_metrics(y, scores, deal, n_bootstrap=60, random_state=7, weights=weights)
    shuffled = rng.permutation(n)
    again = bootstrap_metrics(
        y[shuffled],
        {name: p[shuffled] for name, p in scores.items()},
        deal[shuffled],
        n_bootstrap=60,
        random_state=7,
        weights=None if weights is None else weights[shuffled],
    )
    pd.testing.assert_frame_equal(table, again, check_exact=True)


def test_bootstrap_draws_are_those_of_one_sklearn_call_per_draw():
    """The vectorised bootstrap gives the same table as drawing whole deals and calling sklearn per draw."""
    rng = np.random.default_rng(3)
    n = 400
    groups = rng.integers(0, 90, n)
    y = (rng.random(n) < 0.25).astype(int)
    scores = {"m": np.round(1 / (1 + np.exp(-(y + rng.normal(0, 1, n)))), 2), "flag": (rng.random(n) < 0.3) * 1.0}
    table = bootstrap_metrics(y, scores, groups, n_bootstrap=40, random_state=5)
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    draws = np.random.default_rng(5)
    reps = {name: [] for name in scores}
    for _ in range(40):
        drawn = draws.integers(0, len(uniques), len(uniques))
        rows = np.concatenate([np.flatnonzero(codes == g) for g in drawn])
        for name, p in scores.items():
            reps[name].append(_sklearn_metrics(y[rows], p[rows]))
    for name, p in scores.items():
        frame = pd.DataFrame(reps[name])
        for metric in frame.columns:
            row = table[(table["model"] == name) & (table["metric"] == metric)].iloc[0]
            values = frame[metric].dropna().to_numpy()
            np.testing.assert_allclose(row.value, _sklearn_metrics(y, p)[metric], rtol=1e-12)
            np.testing.assert_allclose([row.ci_low, row.ci_high], np.quantile(values, [0.025, 0.975]), rtol=1e-12)
