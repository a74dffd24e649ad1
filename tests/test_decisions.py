"""Decision increments (section 3): hand-computed logs, properties, and the simulator's ground truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from builders import log_from_rows, rows_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import truncate
from salesmetrics.metrics.decisions import decision_increments
from salesmetrics.simulation.simulator import simulate

MODEL = sm.StageModel(stages=("Lead", "Qualified", "Proposal", "Commit"), won=("Won",), lost=("Lost",))


def make_log(deals, changes, activities=(), close_dates=(), model=MODEL):
    """A validated log (written and read back), for the hand-computed tests."""
    return log_from_rows(model, deals, changes, activities, close_dates)


def direct_log(deals, changes, activities=(), close_dates=(), model=MODEL):
    """The same log built in memory with the reader's dtypes (fast enough for property tests)."""
    d, c, a, cd = rows_frames(deals, changes, activities, close_dates)

    def ts(s):
        return (
            pd.to_datetime(s.astype("str")).dt.tz_localize(model.timezone).astype(f"datetime64[us, {model.timezone}]")
        )

    d = d.assign(created_at=ts(d["created_at"]), amount=d["amount"].astype("float64"), team=None)
    c = c.assign(changed_at=ts(c["changed_at"]))
    a = a.assign(occurred_at=ts(a["occurred_at"]), direction=None)
    cd = cd.assign(changed_at=ts(cd["changed_at"]), close_date=ts(cd["close_date"]))
    d, c, a, cd = (t.astype({k: "str" for k in ("deal_id", "owner", "stage", "kind") if k in t}) for t in (d, c, a, cd))
    return sm.SalesLog(model, d, c, a, cd)


# D1 (ann): Lead -> Qualified -> Commit (skips Proposal: 2 steps) -> Won.
# D2 (bob): Lead -> Qualified -> Lead (regression) -> Lost.  D3 (ann): Lead, no interactions.
DEALS = [
    ("D1", "ann", "2024-01-01 09:00", 1000.0),
    ("D2", "bob", "2024-01-01 09:00", 500.0),
    ("D3", "ann", "2024-01-01 09:00", None),
]
CHANGES = [
    ("D1", "2024-01-01 09:00", "Lead"),
    ("D1", "2024-01-03 10:00", "Qualified"),
    ("D1", "2024-01-10 12:00", "Commit"),
    ("D1", "2024-01-20 09:00", "Won"),
    ("D2", "2024-01-01 09:00", "Lead"),
    ("D2", "2024-01-05 09:00", "Qualified"),
    ("D2", "2024-01-07 09:00", "Lead"),
    ("D2", "2024-01-25 09:00", "Lost"),
    ("D3", "2024-01-01 09:00", "Lead"),
]
ACTIVITIES = [
    # a1: its horizon ends at a2 (01-03 10:00), so the Qualified entry at that moment is a2's: stayed
    ("D1", "2024-01-02 09:00", "meeting", "stayed"),
    # a2: Qualified at the same moment: advanced, 1 step
    ("D1", "2024-01-03 10:00", "call", "advanced"),
    # not an interaction kind: neither counted nor ending a horizon
    ("D1", "2024-01-05 09:00", "email", None),
    # a3: horizon 14 days (next interaction 01-30): Commit (+2) then Won (+1): advanced, 3 steps
    ("D1", "2024-01-08 09:00", "meeting", "advanced"),
    # a4: nothing follows: stayed
    ("D1", "2024-01-30 09:00", "demo", None),
    # b1: Qualified on 01-05 before b2: advanced (and an exact duplicate row, which changes nothing)
    ("D2", "2024-01-04 09:00", "call", "advanced"),
    ("D2", "2024-01-04 09:00", "call", "advanced"),
    # b2: regression on 01-07: regressed, though the seller recorded stayed
    ("D2", "2024-01-06 09:00", "meeting", "stayed"),
    # b3, b4 at the same moment share the horizon: the loss on 01-25 makes both regressed
    ("D2", "2024-01-24 10:00", "meeting", "regressed"),
    ("D2", "2024-01-24 10:00", "call", None),
]
AS_OF = "2024-02-29"


@pytest.fixture(scope="module")
def hand_log():
    return make_log(DEALS, CHANGES, ACTIVITIES)


def test_inferred_outcomes_by_hand(hand_log):
    res = decision_increments(hand_log, as_of=AS_OF)
    inter = res.interactions
    assert inter["inferred"].tolist() == [
        "stayed",
        "advanced",
        "advanced",
        "stayed",
        "advanced",
        "regressed",
        "regressed",
        "regressed",
    ]
    assert inter["steps"].tolist() == [0, 1, 3, 0, 1, 0, 0, 0]
    assert inter["kind"].tolist()[:4] == ["meeting", "call", "meeting", "demo"]
    assert inter["owner"].tolist() == ["ann"] * 4 + ["bob"] * 4
    assert inter["settled"].all()
    assert inter.loc[2, "horizon_end"] == pd.Timestamp("2024-01-22 09:00", tz="UTC")
    # recorded outcomes on 6 interactions; 5 agree (b2 recorded stayed, inferred regressed)
    assert res.compared == 6
    assert res.agreement == pytest.approx(5 / 6)
    assert res.confusion.loc["stayed", "regressed"] == 1
    assert int(res.confusion.to_numpy().sum()) == 6


def test_rates_by_hand(hand_log):
    res = decision_increments(hand_log, as_of=AS_OF)
    d = res.deals
    assert d.loc["D1", ["interactions", "advanced", "regressed", "stayed", "steps_gained"]].tolist() == [4, 2, 0, 2, 4]
    assert d.loc["D1", "decision_rate"] == 0.5
    assert d.loc["D1", "interactions_per_advance"] == 2.0
    assert d.loc["D1", "steps_per_advance"] == 2.0  # (1 + 3) / 2: process compression
    assert d.loc["D2", ["decision_rate", "interactions_per_advance", "steps_per_advance"]].tolist() == [0.25, 4, 1]
    assert d.loc["D3", "interactions"] == 0 and np.isnan(d.loc["D3", "decision_rate"])
    o = res.owners
    assert o.loc["ann", "decision_rate"] == 0.5 and o.loc["ann", "steps_per_advance"] == 2.0
    assert o.loc["bob", "decision_rate"] == 0.25
    # owners are sums of deals
    sums = d.groupby("owner")[["interactions", "advanced", "steps_gained"]].sum()
    pd.testing.assert_frame_equal(sums, o[["interactions", "advanced", "steps_gained"]])


def test_sources(hand_log):
    rec = decision_increments(hand_log, as_of=AS_OF, source="recorded")
    # D1 recorded: stayed, advanced, advanced (a4 unknown); D2: advanced, stayed, regressed (b4 unknown)
    assert rec.deals.loc["D1", ["known", "advanced"]].tolist() == [3, 2]
    assert rec.deals.loc["D1", "decision_rate"] == pytest.approx(2 / 3)
    assert rec.deals.loc["D2", "decision_rate"] == pytest.approx(1 / 3)
    assert rec.deals.loc["D1", "steps_per_advance"] == 2.0
    first = decision_increments(hand_log, as_of=AS_OF, source="recorded_first")
    assert first.interactions["outcome"].tolist()[4:] == ["advanced", "stayed", "regressed", "regressed"]
    assert first.deals.loc["D2", "decision_rate"] == 0.25
    assert first.deals.loc["D2", "stayed"] == 1
    with pytest.raises(UsageError):
        decision_increments(hand_log, as_of=AS_OF, source="guess")
    with pytest.raises(UsageError):
        decision_increments(hand_log, as_of=AS_OF, window_days=0)


def test_window_and_kinds(hand_log):
    short = decision_increments(hand_log, as_of=AS_OF, window_days=2).interactions
    assert short.loc[2, "inferred"] == "stayed"  # Commit came 2 days 3 hours after a3
    assert short.loc[5, "inferred"] == "regressed"  # b2: the regression came 1 day later, inside the window
    # the window is half-open: a movement exactly window_days later is outside it
    assert decision_increments(hand_log, as_of=AS_OF, window_days=1).interactions.loc[5, "inferred"] == "stayed"
    wide = decision_increments(hand_log, as_of=AS_OF, window_days=None).interactions
    assert wide.loc[2, "steps"] == 3 and pd.isna(wide.loc[3, "horizon_end"])
    # emails as interactions: a3's horizon is unchanged, the email on 01-05 gets nothing (Commit is after a3)
    with_email = decision_increments(hand_log, as_of=AS_OF, kinds=("meeting", "call", "demo", "email"))
    assert len(with_email.interactions) == 9
    assert with_email.interactions.loc[2, "inferred"] == "stayed"


def test_as_of_open_horizon(hand_log):
    res = decision_increments(hand_log, as_of="2024-01-09")
    a3 = res.interactions[res.interactions["occurred_at"] == pd.Timestamp("2024-01-08 09:00", tz="UTC")].iloc[0]
    assert a3["inferred"] == "stayed" and not a3["settled"]
    assert len(res.interactions) == 5  # a4 and b3, b4 are after as_of


# ---- properties ---------------------------------------------------------------------------------------------

STAGES = ["Lead", "Qualified", "Proposal", "Commit", "Won", "Lost"]


@st.composite
def random_logs(draw):
    """Small logs; stage changes and close-date changes have distinct times within a deal (ties keep file
    order by definition, so only activities may tie)."""
    n = draw(st.integers(1, 4))
    deals, changes, acts, cds = [], [], [], []
    base = pd.Timestamp("2024-01-01 08:00")
    for i in range(n):
        deal = f"D{i}"
        deals.append((deal, draw(st.sampled_from(["ann", "bob"])), str(base), draw(st.sampled_from([100.0, 250.0]))))
        hours = sorted(draw(st.sets(st.integers(0, 60 * 24), min_size=1, max_size=6)))
        for h in hours:
            changes.append((deal, str(base + pd.Timedelta(hours=h)), draw(st.sampled_from(STAGES))))
        for h in draw(st.lists(st.integers(0, 60 * 24), max_size=8)):
            kind = draw(st.sampled_from(["meeting", "call", "demo", "email"]))
            outcome = draw(st.sampled_from([None, "advanced", "stayed", "regressed"]))
            acts.append((deal, str(base + pd.Timedelta(hours=h)), kind, outcome))
        for h in sorted(draw(st.sets(st.integers(0, 60 * 24), max_size=5))):
            cds.append(
                (
                    deal,
                    str(base + pd.Timedelta(hours=h)),
                    str((base + pd.Timedelta(days=draw(st.integers(1, 120)))).date()),
                )
            )
    return direct_log(deals, changes, acts, cds)


def shuffled(log, seed):
    rng = np.random.default_rng(seed)
    tables = {k: v.iloc[rng.permutation(len(v))].reset_index(drop=True) for k, v in log.tables.items()}
    return dataclasses.replace(log, **tables)


def duplicated(log, seed):
    rng = np.random.default_rng(seed)
    tables = {}
    for name, t in log.tables.items():
        if name == "deals" or not len(t):
            tables[name] = t
            continue
        extra = t.iloc[rng.integers(0, len(t), size=3)]
        tables[name] = pd.concat([t, extra]).sort_index(kind="stable").reset_index(drop=True)
    return dataclasses.replace(log, **tables)


def canonical(res):
    inter = res.interactions.sort_values(["deal_id", "occurred_at", "kind", "recorded"], na_position="first")
    return inter.reset_index(drop=True), res.deals, res.owners


def assert_same(a, b):
    for x, y in zip(canonical(a), canonical(b), strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert a.agreement == b.agreement or (np.isnan(a.agreement) and np.isnan(b.agreement))


PROPERTY = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(random_logs(), st.integers(0, 2**32 - 1), st.integers(0, 60 * 24))
def test_properties(log, seed, cut_hours):
    as_of = pd.Timestamp("2024-01-01 08:00", tz="UTC") + pd.Timedelta(hours=cut_hours)
    base = decision_increments(log, as_of=as_of)
    assert_same(base, decision_increments(shuffled(log, seed), as_of=as_of))
    assert_same(base, decision_increments(duplicated(log, seed), as_of=as_of))
    assert_same(base, decision_increments(truncate(log, as_of), as_of=as_of))
    # per deal: the same on a subset of deals
    keep = log.deals["deal_id"].iloc[::2]
    sub = dataclasses.replace(log, **{k: v[v["deal_id"].isin(keep)] for k, v in log.tables.items()})
    pd.testing.assert_frame_equal(decision_increments(sub, as_of=as_of).deals, base.deals.loc[keep.sort_values()])
    counts = base.interactions.groupby("inferred").size()
    assert counts.sum() == base.deals["interactions"].sum()


# ---- the simulator's ground truth ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline():
    return simulate(2000, 40, seed=1, scenario="baseline", months=12)


def test_decision_rate_tracks_true_rate(baseline):
    owners = decision_increments(baseline.log).owners
    truth = baseline.truth.owners.set_index("owner")["decision_rate"]
    assert owners["decision_rate"].corr(truth.reindex(owners.index), method="spearman") > 0.8
    res = decision_increments(baseline.log)
    assert res.agreement > 0.75


def test_compressed_has_more_steps_per_advance(baseline):
    compressed = simulate(2000, 40, seed=1, scenario="compressed", months=12)

    def team_a(sim):
        owners = decision_increments(sim.log).owners
        team = sim.truth.owners.set_index("owner")["team"]
        a = owners[team.reindex(owners.index) == "Team A"]
        return a["steps_gained"].sum() / a["advances_seen"].sum()

    assert team_a(compressed) > team_a(baseline) + 0.2
