"""Volume versus yield (section 6): hand-computed owners, the correlation statistics, properties, simulator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from builders import log_from_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import truncate
from salesmetrics.metrics.volume import VolumeVsYield, deal_outcomes, owner_table, rank_correlations, volume_vs_yield
from salesmetrics.simulation.simulator import simulate

MODEL = sm.StageModel(stages=("Lead", "Qualified", "Proposal", "Commit"), won=("Won",), lost=("Lost",))


def make_log(deals, changes, activities):
    return log_from_rows(MODEL, deals, changes, activities)


DEALS = [
    ("D1", "ann", "2024-01-01", 1000.0),
    ("D2", "ann", "2024-01-01", 400.0),
    ("D3", "bob", "2024-01-01", 2500.0),
    ("D4", "bob", "2024-01-02", 700.0),
    ("D5", "cid", "2024-01-01", 300.0),
]
CHANGES = [
    ("D1", "2024-01-01 09:00", "Lead"),
    ("D1", "2024-01-05 09:00", "Qualified"),
    ("D1", "2024-01-20 09:00", "Won"),
    ("D2", "2024-01-01 09:00", "Lead"),
    ("D2", "2024-01-10 09:00", "Lost"),
    ("D3", "2024-01-01 09:00", "Lead"),
    ("D3", "2024-01-03 09:00", "Proposal"),
    ("D3", "2024-01-08 09:00", "Won"),
    ("D4", "2024-01-02 09:00", "Lead"),
    ("D5", "2024-01-01 09:00", "Lead"),
    ("D5", "2024-01-15 09:00", "Lost"),
]
ACTIVITIES = [
    ("D1", "2024-01-04 09:00", "meeting"),  # advanced (Qualified next day)
    ("D1", "2024-01-19 09:00", "meeting"),  # advanced (Won)
    ("D2", "2024-01-02 09:00", "email"),
    ("D2", "2024-01-03 09:00", "call"),  # regressed (Lost on 01-10)
    ("D2", "2024-01-04 09:00", "email"),
    ("D2", "2024-01-06 09:00", "email"),
    ("D3", "2024-01-02 08:00", "meeting"),  # advanced: Lead -> Proposal -> Won, 3 steps
    ("D4", "2024-01-03 09:00", "demo"),  # stayed
    ("D4", "2024-01-04 09:00", "email"),
    ("D5", "2024-01-02 09:00", "call"),  # stayed: its horizon ends at the next call
    ("D5", "2024-01-03 09:00", "call"),  # regressed (Lost on 01-15, inside 14 days)
]
AS_OF = "2024-03-31"


@pytest.fixture(scope="module")
def hand_log():
    return make_log(DEALS, CHANGES, ACTIVITIES)


def test_deal_outcomes_by_hand(hand_log):
    d = deal_outcomes(hand_log, AS_OF)
    assert d["motions"].tolist() == [2, 4, 1, 2, 2]
    assert d["movements"].tolist() == [3, 2, 3, 1, 2]
    assert d["won"].tolist() == [True, False, True, False, False]
    assert d["lost"].tolist() == [False, True, False, False, True]
    assert d["revenue"].tolist() == [1000.0, 0.0, 2500.0, 0.0, 0.0]


def test_revenue_is_the_amount_at_the_win(hand_log):
    """Decision 0054: a won deal's revenue is its amount when it entered the won stage, not its latest amount."""
    history = pd.DataFrame(
        [
            ("D1", "2024-01-01 09:00", 900.0),
            ("D1", "2024-01-20 09:00", 1100.0),  # set at the win: counts
            ("D1", "2024-02-01 09:00", 1000.0),  # after the win: does not
            ("D3", "2024-01-01 09:00", 2000.0),
            ("D3", "2024-01-09 09:00", 2500.0),  # the day after the win
        ],
        columns=["deal_id", "changed_at", "amount"],
    )
    history["changed_at"] = pd.to_datetime(history["changed_at"], utc=True)
    log = dataclasses.replace(hand_log, amount_changes=history)
    assert deal_outcomes(log, AS_OF)["revenue"].tolist() == [1100.0, 0.0, 2000.0, 0.0, 0.0]
    assert owner_table(log, AS_OF)["revenue"].tolist() == [1100.0, 2000.0, 0.0]


def test_owner_table_by_hand(hand_log):
    t = owner_table(hand_log, AS_OF)
    assert t.index.tolist() == ["ann", "bob", "cid"]
    cols = ["deals", "motions", "movements", "interactions", "decisions", "wins", "losses"]
    assert t.loc["ann", cols].tolist() == [2, 6, 5, 3, 2, 1, 1]
    assert t.loc["bob", cols].tolist() == [2, 3, 4, 2, 1, 1, 0]
    assert t.loc["cid", cols].tolist() == [1, 2, 2, 2, 0, 0, 1]
    assert t["decision_rate"].tolist() == pytest.approx([2 / 3, 0.5, 0.0])
    assert t["win_rate"].tolist() == [0.5, 1.0, 0.0]
    assert t["revenue"].tolist() == [1000.0, 2500.0, 0.0]
    assert t["motions_per_deal"].tolist() == [3.0, 1.5, 2.0]
    # at an earlier moment: D1 is not yet won, D5 not yet lost
    early = owner_table(hand_log, "2024-01-12")
    assert early.loc["ann", ["wins", "losses"]].tolist() == [0, 1]
    assert np.isnan(early.loc["cid", "win_rate"])


def test_volume_vs_yield_by_hand(hand_log):
    res = volume_vs_yield(hand_log, AS_OF, n_bootstrap=300, random_state=1)
    corr = res.correlations.set_index(["x", "y"])
    t = res.owners
    for x in ("motions", "decision_rate"):
        for y in ("wins", "revenue"):
            assert corr.loc[(x, y), "rho"] == pytest.approx(spearmanr(t[x], t[y]).statistic)
            assert corr.loc[(x, y), "n_owners"] == 3
    assert corr.loc[("decision_rate", "wins"), "rho"] == pytest.approx(np.sqrt(3) / 2)  # ranks 3,2,1 vs 2.5,2.5,1
    again = volume_vs_yield(hand_log, AS_OF, n_bootstrap=300, random_state=1)
    pd.testing.assert_frame_equal(res.correlations, again.correlations)
    assert "Volume versus yield" in res._repr_html_()


def test_rank_correlations_statistics():
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    t = pd.DataFrame({"v": np.round(x, 1), "w": np.round(x + rng.normal(scale=0.5, size=60), 1)})
    t.loc[[3, 7], "v"] = np.nan
    r = rank_correlations(t, x=["v"], y=["w"], n_bootstrap=1000, random_state=np.random.default_rng(5)).iloc[0]
    ok = t.dropna()
    assert r["n_owners"] == 58
    assert r["rho"] == pytest.approx(spearmanr(ok["v"], ok["w"]).statistic)
    assert r["ci_low"] < r["rho"] < r["ci_high"] and r["ci_low"] > 0.5
    wider = rank_correlations(t, x=["v"], y=["w"], n_bootstrap=1000, ci=0.99, random_state=5).iloc[0]
    assert wider["ci_low"] <= r["ci_low"] + 0.02 and wider["ci_high"] >= r["ci_high"] - 0.02
    for bad in ({"ci": 1.0}, {"n_bootstrap": 0}, {"x": ["nope"]}):
        with pytest.raises(UsageError):
            rank_correlations(t, **({"x": ["v"], "y": ["w"]} | bad))


def test_plot_only_when_asked(hand_log, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")

    def fail(*args, **kwargs):
        raise AssertionError("plot() must not run while computing")

    monkeypatch.setattr(VolumeVsYield, "plot", fail)
    res = volume_vs_yield(hand_log, AS_OF, n_bootstrap=50)
    monkeypatch.undo()
    fig = res.plot(y="revenue")
    axes = fig.axes
    assert len(axes) == 2 and axes[0].get_xlabel() and axes[1].get_ylabel() == "Revenue (won amounts)"
    assert fig._suptitle.get_text().startswith("Volume versus yield")
    assert axes[1].get_title().startswith("rho = ")
    import matplotlib.pyplot as plt

    plt.close(fig)


# ---- properties ---------------------------------------------------------------------------------------------

STAGES = ["Lead", "Qualified", "Proposal", "Commit", "Won", "Lost"]
BASE = pd.Timestamp("2024-01-01 08:00", tz="UTC")


@st.composite
def random_logs(draw):
    n = draw(st.integers(1, 5))
    deals, changes, acts = [], [], []
    for i in range(n):
        deal = f"D{i}"
        deals.append((deal, draw(st.sampled_from(["ann", "bob", "cid"])), BASE, draw(st.sampled_from([10.0, 99.0]))))
        for h in sorted(draw(st.sets(st.integers(0, 24 * 40), min_size=1, max_size=6))):
            changes.append((deal, BASE + pd.Timedelta(hours=h), draw(st.sampled_from(STAGES))))
        for h in draw(st.lists(st.integers(0, 24 * 40), max_size=8)):
            acts.append((deal, BASE + pd.Timedelta(hours=h), draw(st.sampled_from(["meeting", "call", "email"]))))
    us = "datetime64[us, UTC]"
    d = pd.DataFrame(deals, columns=["deal_id", "owner", "created_at", "amount"]).astype({"created_at": us})
    d = d.astype({"deal_id": "str", "owner": "str"}).assign(team=pd.Series(None, index=d.index, dtype="str"))
    c = pd.DataFrame(changes, columns=["deal_id", "changed_at", "stage"]).astype({"changed_at": us})
    c = c.astype({"deal_id": "str", "stage": "str"})
    a = pd.DataFrame(acts, columns=["deal_id", "occurred_at", "kind"]).astype({"occurred_at": us})
    a = a.astype({"deal_id": "str", "kind": "str"}).assign(
        outcome=pd.Series(None, index=a.index, dtype="str"), direction=pd.Series(None, index=a.index, dtype="str")
    )
    cd = pd.DataFrame({"deal_id": pd.Series([], dtype="str"), "changed_at": [], "close_date": []})
    cd = cd.astype({"changed_at": us, "close_date": us})
    return sm.SalesLog(MODEL, d, c, a, cd)


def _replace(log, fn):
    return dataclasses.replace(log, **{name: fn(name, t) for name, t in log.tables.items()})


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_logs(), st.integers(0, 2**32 - 1), st.integers(0, 24 * 40))
def test_properties(log, seed, cut_hours):
    rng = np.random.default_rng(seed)
    as_of = BASE + pd.Timedelta(hours=cut_hours)
    base = owner_table(log, as_of)
    shuffled = _replace(log, lambda _, t: t.iloc[rng.permutation(len(t))].reset_index(drop=True))
    pd.testing.assert_frame_equal(owner_table(shuffled, as_of), base)

    def dup(name, t):
        if name == "deals" or not len(t):
            return t
        return pd.concat([t, t.iloc[rng.integers(0, len(t), 3)]]).reset_index(drop=True)

    pd.testing.assert_frame_equal(owner_table(_replace(log, dup), as_of), base)
    pd.testing.assert_frame_equal(owner_table(truncate(log, as_of), as_of), base)
    deals = deal_outcomes(log, as_of)
    keep = log.deals["deal_id"].iloc[::2]
    sub = _replace(log, lambda _, t: t[t["deal_id"].isin(keep)])
    pd.testing.assert_frame_equal(deal_outcomes(sub, as_of), deals.loc[keep.sort_values()])
    sums = deals.groupby("owner")[["motions", "movements", "revenue"]].sum()
    pd.testing.assert_frame_equal(sums, base[["motions", "movements", "revenue"]])


# ---- simulator: decisions explain wins, volume does not -------------------------------------------------------


def test_baseline_decision_rate_beats_volume():
    sim = simulate(2000, 40, seed=1, scenario="baseline", months=12)
    corr = volume_vs_yield(sim.log, n_bootstrap=1000, random_state=0).correlations.set_index(["x", "y"])
    dec, vol = corr.loc[("decision_rate", "wins")], corr.loc[("motions", "wins")]
    assert dec["ci_low"] > 0
    assert dec["rho"] > vol["rho"] + 0.2
    assert vol["ci_low"] < 0 < vol["ci_high"]


def test_n_boot_is_the_old_name_of_n_bootstrap():
    t = pd.DataFrame({"motions": [5, 3, 8, 1, 4], "wins": [2, 1, 3, 0, 2]})
    new = rank_correlations(t, x=["motions"], y=["wins"], n_bootstrap=50, random_state=3)
    with pytest.warns(DeprecationWarning, match="n_bootstrap="):
        old = rank_correlations(t, x=["motions"], y=["wins"], n_boot=50, random_state=3)
    pd.testing.assert_frame_equal(new, old)
    assert new["n_bootstrap"].tolist() == [50]
