"""Survival: time to close with competing outcomes (hand-computed), and the Cox model of the next movement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.models.survival import (
    _censor_at,
    concordance,
    deal_lifetimes,
    km_and_incidence,
    next_movement_cox,
    time_to_close,
)

T0 = pd.Timestamp("2024-01-01", tz="UTC")
AS_OF = "2024-02-20 00:00"  # day 50


def day(n: float) -> str:
    return str(T0 + pd.Timedelta(days=n))


@pytest.fixture(scope="module")
def seven() -> sm.SalesLog:
    """Seven deals with hand-checkable times to close (days since creation, as_of = day 50).

    D1 won at 10, D2 lost at 20, D3 open (censored at 50), D4 won at 40, D5 lost at 30, D6 won at 45,
    D7 created at day 40 and open (censored at age 10).
    """
    model = sm.StageModel(stages=("Lead", "Qualified", "Proposal"), won=("Won",), lost=("Lost",))
    created = {"D1": 0, "D2": 0, "D3": 0, "D4": 0, "D5": 0, "D6": 0, "D7": 40}
    deals = pd.DataFrame(
        {
            "deal_id": list(created),
            "owner": ["ann", "ann", "bob", "bob", "ann", "bob", "ann"],
            "created_at": [day(d) for d in created.values()],
        }
    )
    rows = [
        ("D1", 0, "Lead"),
        ("D1", 10, "Won"),
        ("D2", 0, "Lead"),
        ("D2", 20, "Lost"),
        ("D3", 0, "Lead"),
        ("D3", 5, "Qualified"),
        ("D4", 0, "Lead"),
        ("D4", 10, "Qualified"),
        ("D4", 40, "Won"),
        ("D5", 0, "Lead"),
        ("D5", 30, "Lost"),
        ("D6", 0, "Lead"),
        ("D6", 25, "Proposal"),
        ("D6", 45, "Won"),
        ("D7", 40, "Lead"),
        ("D7", 60, "Lost"),  # after as_of: never seen
    ]
    changes = pd.DataFrame(
        {"deal_id": [r[0] for r in rows], "changed_at": [day(r[1]) for r in rows], "stage": [r[2] for r in rows]}
    )
    return sm.SalesLog.from_frames(model, deals, changes)


def test_lifetimes_are_read_at_as_of(seven):
    d = deal_lifetimes(seven, as_of=AS_OF).set_index("deal_id")
    assert d["status"].to_dict() == {
        "D1": "won",
        "D2": "lost",
        "D3": "open",
        "D4": "won",
        "D5": "lost",
        "D6": "won",
        "D7": "open",
    }
    assert d["days"].round(6).tolist() == [10, 20, 50, 40, 30, 45, 10]


def test_km_and_cumulative_incidence_by_hand(seven):
    """Times 10W 10C 20L 30L 40W 45W 50C: worked out by hand, events before censoring at a tie."""
    t = time_to_close(seven, as_of=AS_OF, by=None)
    c = t.curves
    assert c["days"].tolist() == [10, 20, 30, 40, 45, 50]
    assert c["at_risk"].tolist() == [7, 5, 4, 3, 2, 1]
    np.testing.assert_allclose(c["still_open"], [6 / 7, 24 / 35, 18 / 35, 12 / 35, 6 / 35, 6 / 35])
    np.testing.assert_allclose(c["cif_won"], [5 / 35, 5 / 35, 5 / 35, 11 / 35, 17 / 35, 17 / 35])
    np.testing.assert_allclose(c["cif_lost"], [0, 6 / 35, 12 / 35, 12 / 35, 12 / 35, 12 / 35])
    np.testing.assert_allclose(c["still_open"] + c["cif_won"] + c["cif_lost"], 1.0)
    row = t.summary.iloc[0]
    assert (row.n_deals, row.n_won, row.n_lost, row.n_open) == (7, 3, 2, 2)
    assert row.km_median_days == 40  # first time the share still open is at most one half (12/35)
    assert row.won_within_30d == pytest.approx(5 / 35)
    assert np.isnan(row.won_within_90d)  # beyond the longest follow-up (50 days) the curve says nothing


def test_conditional_on_deal_age(seven):
    """Deals still open at 15 days: D2 20L, D5 30L, D4 40W, D6 45W, D3 50C (D1 closed, D7 too young)."""
    t = time_to_close(seven, as_of=AS_OF, by=None, min_age_days=15)
    assert t.excluded == {"without stage history": 0, "closed before 15 days": 1, "open but younger than 15 days": 1}
    c = t.curves
    assert c["days"].tolist() == [20, 30, 40, 45, 50]
    np.testing.assert_allclose(c["still_open"], [4 / 5, 3 / 5, 2 / 5, 1 / 5, 1 / 5])
    np.testing.assert_allclose(c["cif_won"], [0, 0, 1 / 5, 2 / 5, 2 / 5])
    np.testing.assert_allclose(c["cif_lost"], [1 / 5, 2 / 5, 2 / 5, 2 / 5, 2 / 5])
    # probabilities within h days after age 15
    row = t.summary.iloc[0]
    assert row.won_within_30d == pytest.approx(2 / 5)  # by age 45
    assert row.lost_within_30d == pytest.approx(2 / 5)


def test_grouped_by_stage_at_age(seven):
    t = time_to_close(seven, as_of=AS_OF, by="stage", min_age_days=15)
    assert t.summary["group"].tolist() == ["Lead", "Qualified"]  # pipeline order
    members = t.deals.groupby("group")["deal_id"].apply(sorted).to_dict()
    assert members == {"Lead": ["D2", "D5", "D6"], "Qualified": ["D3", "D4"]}
    lead = t.curves[t.curves["group"] == "Lead"]
    np.testing.assert_allclose(lead["cif_lost"], [1 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(lead["cif_won"], [0, 0, 1 / 3])
    # one kind of close only (Qualified: a win and a censored deal): incidence of won is 1 - KM
    qual = t.curves[t.curves["group"] == "Qualified"]
    np.testing.assert_allclose(qual["cif_won"], 1 - qual["still_open"])
    assert (qual["cif_lost"] == 0).all()


def test_grouped_by_owner_and_plot(seven):
    t = time_to_close(seven, as_of=AS_OF, by="owner")
    assert t.summary.set_index("group")["n_deals"].to_dict() == {"ann": 4, "bob": 3}
    assert "Time to close" in t._repr_html_()
    import matplotlib

    matplotlib.use("Agg")
    axes = t.plot()
    assert axes[0].get_xlabel().startswith("Deal age")
    import matplotlib.pyplot as plt

    plt.close("all")


def test_usage_errors(seven):
    with pytest.raises(UsageError, match="by must be"):
        time_to_close(seven, by="region")
    with pytest.raises(UsageError, match="min_age_days"):
        time_to_close(seven, min_age_days=-1)
    with pytest.raises(UsageError, match="status must be"):
        km_and_incidence([1, 2], ["won", "pending"])


def test_km_matches_velocity_helper():
    """The same Kaplan–Meier as velocity.kaplan_meier (its doctest case)."""
    from salesmetrics.metrics.stage_times import kaplan_meier

    days, finished = [2, 3, 4, 5, 6], [True, False, True, False, True]
    status = ["won" if f else "open" for f in finished]
    np.testing.assert_allclose(km_and_incidence(days, status)["still_open"], kaplan_meier(days, finished)[1])


def test_training_times_are_censored_at_the_cutoff():
    as_of = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-25"], utc=True))
    cutoff = pd.Timestamp("2024-01-31", tz="UTC")
    days = np.array([10.0, 20.0, 3.0])
    observed = np.array([True, True, False])
    t, e = _censor_at(days, observed, as_of, cutoff)
    # seen by the cutoff; movement after the cutoff (11 days of room); censored already
    assert t.tolist() == [10.0, 11.0, 3.0]
    assert e.tolist() == [True, False, False]


def test_cox_finds_the_effect_and_scores_a_holdout():
    rng = np.random.default_rng(1)
    n = 1500
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "as_of": T0 + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
            "fast": x,
            "noise": rng.normal(size=n),
            "days_to_next_movement": rng.exponential(10 * np.exp(-x)),
            "next_movement_observed": True,
        }
    )
    cox = next_movement_cox(frame, features=["fast", "noise"], gap_days=10)
    coef = cox.coefficients.set_index("feature")["coef"]
    assert coef["fast"] == pytest.approx(1.0, abs=0.15)  # one SD of x is about one unit
    assert abs(coef["noise"]) < 0.15
    assert 0.65 < cox.concordance < 0.8
    assert cox.n_train + cox.n_test < n  # the gap is dropped
    assert "concordance" in cox._repr_html_()


def test_cox_on_a_log():
    from salesmetrics.simulation.simulator import simulate

    log = simulate(n_deals=300, n_owners=6, seed=5, months=12).log
    cox = next_movement_cox(log)
    assert 0.5 < cox.concordance < 1
    assert cox.events_test > 0 and cox.cutoff is not None
    with pytest.raises(UsageError, match="SalesLog or a snapshot DataFrame"):
        next_movement_cox([1, 2, 3])


# ------------------------------------------------------------------------------------- fixes of session 3


def test_concordance_by_hand():
    # times 1, 2, 3, 4; the row at 3 censored. Comparable pairs (event first): (1,2) (1,3) (1,4) (2,3) (2,4);
    # risks 4, 1, 1, 2: (1,*) all right (3), (2,3) tied (1/2), (2,4) wrong: 3.5 of 5
    assert concordance([1, 1, 0, 1], [1.0, 2.0, 3.0, 4.0], [4.0, 1.0, 1.0, 2.0]) == pytest.approx(0.7)
    # an event and a censored row at the same time are comparable; two events at the same time are not
    assert concordance([1, 0], [2.0, 2.0], [1.0, 0.0]) == 1.0
    assert np.isnan(concordance([1, 1], [2.0, 2.0], [1.0, 0.0]))
    assert np.isnan(concordance([0, 0, 0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]))


def test_concordance_equals_scikit_survival_with_ties():
    from sksurv.exceptions import NoComparablePairException
    from sksurv.metrics import concordance_index_censored

    rng = np.random.default_rng(11)
    for _ in range(100):
        n = int(rng.integers(2, 70))
        time = rng.integers(1, 9, n).astype(float)  # many tied times
        event = rng.random(n) < rng.uniform(0.2, 1.0)
        risk = np.round(rng.normal(size=n), 1)  # many tied risks
        risk[: n // 4] += 1e-9  # within scikit-survival's 1e-8 tolerance of a tie
        if not event.any():
            continue
        try:
            want = concordance_index_censored(event, time, risk)[0]
        except NoComparablePairException:
            want = np.nan
        assert concordance(event, time, risk) == pytest.approx(want, abs=1e-12, nan_ok=True)


def test_next_movement_cox_concordance_is_scikit_survivals():
    from sksurv.metrics import concordance_index_censored

    rng = np.random.default_rng(2)
    n = 600
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "as_of": T0 + pd.to_timedelta(np.arange(n) % 40 * 7, unit="D"),
            "x": x,
            "days_to_next_movement": np.ceil(rng.exponential(20 * np.exp(-x))),
            "next_movement_observed": rng.random(n) < 0.8,
        }
    )
    cox = next_movement_cox(frame, features=["x"], holdout=False)
    risk = cox.model.predict(frame[["x"]])
    days = np.maximum(frame["days_to_next_movement"].to_numpy(), 1e-6)
    want = concordance_index_censored(frame["next_movement_observed"].to_numpy(), days, risk)[0]
    assert cox.concordance == cox.concordance_train == pytest.approx(want, abs=1e-12)
