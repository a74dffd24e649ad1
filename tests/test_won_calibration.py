"""The won model's competing-risks option (decision 0028): the hazard combination, the intervals, calibration."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmetrics.features.build import snapshots
from salesmetrics.models import CloseLikelihood
from salesmetrics.models._base import SmallDataWarning
from salesmetrics.models.close import DAY, EVENTS, deal_intervals, win_incidence
from salesmetrics.simulation.simulator import simulate

# ------------------------------------------------------------------------------------------- hand-checked


def test_win_incidence_by_hand():
    # interval 0: won 0.1, lost 0.3, open 0.6; interval 1: won 0.2 of the 0.6 still open -> 0.1 + 0.12
    assert win_incidence([[0.1, 0.2]], [[0.3, 0.2]], tail=False) == pytest.approx([0.22])
    # still open after both: 0.6 * 0.6 = 0.36, shared 0.2 : 0.2 like the last interval -> + 0.18
    assert win_incidence([[0.1, 0.2]], [[0.3, 0.2]]) == pytest.approx([0.40])
    # certain loss first, certain win later: never won; no closing at all: no win, even with the tail
    assert win_incidence([[0.0, 1.0]], [[1.0, 0.0]]) == pytest.approx([0.0])
    assert win_incidence([[0.0, 0.0]], [[0.0, 0.0]]) == pytest.approx([0.0])
    # several rows at once
    out = win_incidence([[0.5], [0.2]], [[0.5], [0.0]], tail=False)
    assert out == pytest.approx([0.5, 0.2])


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.0, 0.6),
    st.floats(0.0, 0.4),
    st.integers(1, 8),
)
def test_constant_hazards_give_their_share(h_won, h_lost, k):
    """With the same hazards in every interval (and the tail), P(won) is the win share of the closing hazard."""
    p = win_incidence(np.full((1, k), h_won), np.full((1, k), h_lost))[0]
    expected = h_won / (h_won + h_lost) if h_won + h_lost > 0 else 0.0
    assert p == pytest.approx(expected, abs=1e-12)
    # P(won) + P(lost) + P(still open) = 1 without the tail
    p_won = win_incidence(np.full((1, k), h_won), np.full((1, k), h_lost), tail=False)[0]
    p_lost = win_incidence(np.full((1, k), h_lost), np.full((1, k), h_won), tail=False)[0]
    assert p_won + p_lost + (1 - h_won - h_lost) ** k == pytest.approx(1.0)


def test_deal_intervals_by_hand():
    t = pd.Timestamp("2024-06-01", tz="UTC")
    as_of = [t - 100 * DAY, t - 70 * DAY, t - 50 * DAY, t - 20 * DAY, t - 200 * DAY]
    # won after 45 days; open; lost after 40 days (in interval 1, which ends after t: left out); lost after 5
    # days but the row was seen for only 20 days (no whole interval); lost after 100 days, horizon 90 days
    rows, k, event = deal_intervals(
        as_of, [45.0, np.nan, 40.0, 5.0, 100.0], ["won", "open", "lost", "lost", "lost"], t, 30, 90
    )
    got = list(zip(rows.tolist(), k.tolist(), [EVENTS[e] for e in event], strict=True))
    assert got == [
        (0, 0, "continuing"),
        (0, 1, "won"),
        (1, 0, "continuing"),
        (1, 1, "continuing"),
        (2, 0, "continuing"),
        (4, 0, "continuing"),
        (4, 1, "continuing"),
        (4, 2, "continuing"),
    ]


# ------------------------------------------------------------------------------------------- simulated


@pytest.fixture(scope="module")
def split():
    """A time split whose test outcomes are followed up (almost all known): train labels read at the test start."""
    log = simulate(n_deals=1500, n_owners=12, seed=7, months=20).log
    full = snapshots(log, freq="2W")
    end = full["as_of"].max()
    cutoff = end - pd.Timedelta(days=360)
    test_start = cutoff + pd.Timedelta(days=30)
    train = snapshots(log, freq="2W", observed_until=test_start)
    train = train[(train["as_of"] < cutoff).to_numpy()]
    test = full[((full["as_of"] >= test_start) & (full["as_of"] <= end - pd.Timedelta(days=240))).to_numpy()]
    test = test[test["won"].notna().to_numpy()]
    return train, test


@pytest.mark.slow
def test_competing_is_calibrated_in_the_large_in_a_time_split(split):
    train, test = split
    model = CloseLikelihood(censoring="competing", max_iter=40, n_jobs=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        model.fit(train)
    assert model.censoring_.startswith("competing risks")
    assert model.n_censored_ == int((train["outcome"] == "open").sum()) > 0
    assert model.classes_.tolist() == [0, 1]
    p = model.predict_proba(test)[:, 1]
    y = test["won"].astype(int).to_numpy()
    assert abs(p.mean() - y.mean()) < 0.05, (p.mean(), y.mean())
    out = model.predict_outcomes(test.head(5))
    assert out.columns.tolist() == ["p_won"] and out["p_won"].between(0, 1).all()
    assert np.allclose(model.risk(test.head(5)), 1 - out["p_won"].to_numpy())
    reasons = model.reasons(test.head(3))
    assert len(reasons) == 3


def test_competing_falls_back_where_it_cannot_apply(split):
    train, _ = split
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        array_model = CloseLikelihood(censoring="competing", n_jobs=1).fit(X, y)
        outcome_model = CloseLikelihood(target="close_outcome", censoring="competing", model="logistic", n_jobs=1)
        outcome_model.fit(train)
    assert array_model.censoring_.startswith("none (competing risks need a snapshots table")
    assert outcome_model.censoring_.startswith("none (competing risks apply to target='won'")
    assert set(outcome_model.predict_outcomes(train.head(3)).columns) == {"p_won", "p_lost", "p_slipped"}


def test_competing_warns_when_open_deals_were_left_out(split):
    train, _ = split
    known = train[train["won"].notna().to_numpy()]
    model = CloseLikelihood(censoring="competing", model="logistic", n_jobs=1)
    with pytest.warns(UserWarning, match="open deals included"):
        model.fit(known)
    assert "pass the whole snapshots table" in model.censoring_


def test_evaluate_fits_the_competing_model_on_open_deals_too(split):
    """evaluate() leaves censored rows out of every other model, but competing risks learn from them."""
    from salesmetrics.models import evaluate

    train, test = split
    frame = pd.concat([train, test], ignore_index=True)
    frame.attrs = dict(train.attrs)
    cutoff = test["as_of"].min() - pd.Timedelta(days=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(
            CloseLikelihood(censoring="competing", model="logistic", n_jobs=1),
            frame,
            target="won",
            cutoff=cutoff,
            train_snapshots=train,
            n_bootstrap=20,
            random_state=0,
        )
        plain = evaluate(
            CloseLikelihood(model="logistic", n_jobs=1),
            frame,
            target="won",
            cutoff=cutoff,
            train_snapshots=train,
            n_bootstrap=20,
            random_state=0,
        )
    competing, known_only = result.estimators["model"], plain.estimators["model"]
    assert competing.censoring_.startswith("competing risks")
    assert competing.n_censored_ == result.counts["train_censored"] > 0
    assert known_only.n_censored_ == 0
    assert "the model learned from them as at risk" in str(result)
    assert "at risk" not in str(plain) and "train_at_risk" not in plain.counts
