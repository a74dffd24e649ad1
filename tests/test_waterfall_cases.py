"""Issue 18 audit: the hand-computed cases of the "Done when" line that tests/test_waterfall.py did not hold for
both pipelines and both classifications, and what the audit found on real-shaped exports.

Every expected number below is worked out by hand in the comment above it (UTC, calendar months).
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_waterfall import MODEL, _reconciles, bridge_row, make_log, moves_of

import salesmetrics as sm
from salesmetrics.cli.main import main
from salesmetrics.exceptions import CurrencyError
from salesmetrics.metrics.flows import BUCKETS, waterfall

BOTH = [(p, c) for p in ("due", "all") for c in ("flows", "exclusive")]
FIXTURES = Path(__file__).parent / "fixtures" / "adapters"


def quiet(log, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.DataNote)
        return waterfall(log, **kwargs)


def test_a_regression_inside_the_due_pipeline():
    # D3: Proposal on 2 Jan, due 20 Feb, 10; sent back to Qualified on 5 Feb. D4: Lead on 2 Jan, due 20 Feb, 20;
    # advanced to Proposal on 6 Feb. Under `due` neither is in January's pipeline (due after 31 Jan); both open
    # February (due by its end). D3's regression is no bucket: being due in February, open and past 20 Feb at
    # as_of 29 Feb with nothing else happening, it `slipped` (0, 0). D4 `advanced` (0, 0). Under `all` both are
    # created in January (+1 +10, +1 +20) and February is the same. Both classifications agree: one bucket each.
    log = make_log(
        [
            {"deal_id": "D3", "owner": "ann", "created_at": "2024-01-02", "amount": 10.0},
            {"deal_id": "D4", "owner": "ann", "created_at": "2024-01-02", "amount": 20.0},
        ],
        [
            ("D3", "2024-01-02", "Proposal"),
            ("D3", "2024-02-05", "Qualified"),
            ("D4", "2024-01-02", "Lead"),
            ("D4", "2024-02-06", "Proposal"),
        ],
        [("D3", "2024-01-02", "2024-02-20"), ("D4", "2024-01-02", "2024-02-20")],
    )
    february = [("D3", "2024-02", "slipped", 10.0, 0, 0.0), ("D4", "2024-02", "advanced", 20.0, 0, 0.0)]
    for pipeline, classify in BOTH:
        w = waterfall(log, pipeline=pipeline, classify=classify, as_of="2024-02-29")
        assert moves_of(w, "2024-02") == february, (pipeline, classify)
        feb = bridge_row(w, "2024-02")
        assert (feb.opening_count, feb.opening_amount, feb.closing_count, feb.closing_amount) == (2, 30.0, 2, 30.0)
        assert (feb.slipped_deals, feb.advanced_deals, feb.slipped_count, feb.advanced_amount) == (1, 1, 0, 0.0)
        if pipeline == "due":
            assert list(w.bridge["period"]) == ["2024-02"]  # not due by the end of January
        else:
            assert moves_of(w, "2024-01") == [
                ("D3", "2024-01", "created", 10.0, 1, 10.0),
                ("D4", "2024-01", "created", 20.0, 1, 20.0),
            ]
        _reconciles(w.bridge)


def test_a_deal_due_later_than_the_period_joins_the_due_pipeline_when_its_period_comes():
    # D7: created 3 Jan at 40, due 15 March, still open at as_of 31 March. `due`: not in January's nor February's
    # pipeline; March opens with it (1, 40: judged by March's horizon, so March's opening is not February's
    # closing), and it slipped (due 15 March, past, open). `all`: created in January (+1 +40), carried through
    # February (opening = closing = 1, 40), slipped in March.
    log = make_log(
        [{"deal_id": "D7", "owner": "ann", "created_at": "2024-01-03", "amount": 40.0}],
        [("D7", "2024-01-03", "Lead")],
        [("D7", "2024-01-03", "2024-03-15")],
    )
    for pipeline, classify in BOTH:
        w = waterfall(log, pipeline=pipeline, classify=classify, as_of="2024-03-31")
        b = w.bridge.set_index("period")
        if pipeline == "due":
            assert moves_of(w) == [("D7", "2024-03", "slipped", 40.0, 0, 0.0)]
            assert list(b.index) == ["2024-03"] and (
                b.loc["2024-03", "opening_count"],
                b.loc["2024-03", "opening_amount"],
            ) == (1, 40.0)
        else:
            assert moves_of(w) == [
                ("D7", "2024-01", "created", 40.0, 1, 40.0),
                ("D7", "2024-03", "slipped", 40.0, 0, 0.0),
            ]
            assert list(b["opening_count"]) == [0, 1, 1] and list(b["closing_amount"]) == [40.0, 40.0, 40.0]
    # won before its period under `due`: no bucket anywhere, in both classifications (today's definition)
    won = make_log(
        [{"deal_id": "D6", "owner": "ann", "created_at": "2024-01-03", "amount": 70.0}],
        [("D6", "2024-01-03", "Lead"), ("D6", "2024-01-25", "Won")],
        [("D6", "2024-01-03", "2024-03-15")],
    )
    for classify in ("flows", "exclusive"):
        w = waterfall(won, pipeline="due", classify=classify, as_of="2024-03-31")
        assert moves_of(w) == [] and w.bridge.empty


def _two_currencies(amounts=None):
    deals = [
        {"deal_id": "E1", "owner": "ann", "created_at": "2024-01-03", "amount": 100.0, "currency": "EUR"},
        {"deal_id": "U1", "owner": "bob", "created_at": "2024-01-03", "amount": 100.0, "currency": "USD"},
    ]
    stages = [("E1", "2024-01-03", "Lead"), ("U1", "2024-01-03", "Lead"), ("U1", "2024-01-25", "Won")]
    closes = [("E1", "2024-01-03", "2024-01-31"), ("U1", "2024-01-03", "2024-01-31")]
    return make_log(deals, stages, closes, amounts, model=dataclasses.replace(MODEL, currency="USD"))


def test_mixed_currencies_in_both_pipelines_and_classifications():
    # E1 (EUR) 100, raised to 200 on 10 Jan; U1 (USD) 100, won 25 Jan. Rates: EUR 1.10, USD 1.
    # flows: E1 created +1 +110 (USD), expanded +110; U1 created +1 +100, won -1 -100; closing 1, 220.
    # exclusive: E1 is `expanded` (above created) with its whole change +1 +220; U1 `won` with 0 (created and won).
    log = _two_currencies([("E1", "2024-01-03", 100), ("E1", "2024-01-10", 200)])
    for pipeline, classify in BOTH:
        with pytest.raises(CurrencyError, match=r"2 currencies .*--rate EUR="):
            waterfall(log, pipeline=pipeline, classify=classify, as_of="2024-01-31")
        w = waterfall(log, pipeline=pipeline, classify=classify, as_of="2024-01-31", rates={"EUR": 1.1, "USD": 1})
        assert w.currency == "USD"
        if classify == "flows":
            assert moves_of(w) == [
                ("E1", "2024-01", "created", 110.0, 1, 110.0),
                ("E1", "2024-01", "expanded", 110.0, 0, 110.0),
                ("U1", "2024-01", "created", 100.0, 1, 100.0),
                ("U1", "2024-01", "won", 100.0, -1, -100.0),
            ]
        else:
            assert moves_of(w) == [
                ("E1", "2024-01", "expanded", 110.0, 1, 220.0),
                ("U1", "2024-01", "won", 100.0, 0, 0.0),
            ]
        jan = bridge_row(w, "2024-01")
        assert (jan.opening_count, jan.closing_count, jan.closing_amount) == (0, 1, 220.0)
        _reconciles(w.bridge)


def test_every_deal_in_another_currency_is_summed_and_labelled_with_it(tmp_path, capsys):
    # one code, EUR, in a USD log: nothing to convert, so it adds up, but the amounts are EUR, not USD
    log = _two_currencies()
    log = dataclasses.replace(log, deals=log.deals.assign(currency="eur"))
    for pipeline, classify in BOTH:
        with pytest.warns(sm.DataNote, match=r"Every deal is in EUR, not in the log's currency \(USD\)"):
            w = waterfall(log, pipeline=pipeline, classify=classify, as_of="2024-01-31")
        assert w.currency == "EUR" and bridge_row(w, "2024-01").closing_amount == 100.0
    folder = sm.write_log(log, tmp_path / "eur", format="csv")
    out = ["--out", str(tmp_path / "m.csv"), "--bridge", str(tmp_path / "b.csv")]
    assert main(["waterfall", str(folder), *out]) == 0
    said = capsys.readouterr()
    assert "amounts in EUR" in said.out and "Every deal is in EUR" in said.err


def test_a_deal_without_an_amount_counts_but_its_amount_is_empty(tmp_path):
    # N1 has no amount: +1 in the counts, 0 in the amounts, an empty amount in MOVES (not 0.0), and a note
    deals = [
        {"deal_id": "P1", "owner": "ann", "created_at": "2024-01-03", "amount": 50.0},
        {"deal_id": "N1", "owner": "ann", "created_at": "2024-01-04", "amount": np.nan},
    ]
    log = make_log(
        deals,
        [("P1", "2024-01-03", "Lead"), ("N1", "2024-01-04", "Lead")],
        [("P1", "2024-01-03", "2024-01-31"), ("N1", "2024-01-04", "2024-01-31")],
    )
    for pipeline, classify in BOTH:
        with pytest.warns(sm.DataNote, match=r"1 deals in the waterfall have no amount \(e.g. N1\)"):
            w = waterfall(log, pipeline=pipeline, classify=classify, as_of="2024-01-31")
        m = w.moves.set_index("deal_id")
        assert np.isnan(m.loc["N1", "amount"]) and m.loc["N1", "bridge_amount"] == 0.0
        assert m.loc["P1", "amount"] == 50.0
        jan = bridge_row(w, "2024-01")
        assert (jan.created_count, jan.created_amount, jan.closing_count, jan.closing_amount) == (2, 50.0, 2, 50.0)
    folder = sm.write_log(log, tmp_path / "log", format="csv")
    moves, bridge = tmp_path / "m.csv", tmp_path / "b.csv"
    assert main(["waterfall", str(folder), "--out", str(moves), "--bridge", str(bridge), "--quiet"]) == 0
    assert "N1,2024-01,created,,1,0.0" in moves.read_text() and "nan" not in moves.read_text().lower()


def test_a_window_is_the_calendar_period_when_it_spans_one():
    # since = the last moment of December, as_of = end of January: the window is January (the docs' example)
    log = make_log(
        [
            {"deal_id": "D1", "owner": "ann", "created_at": "2024-01-05", "amount": 150.0},
            {"deal_id": "D2", "owner": "bob", "created_at": "2023-12-10", "amount": 300.0},
        ],
        [("D1", "2024-01-05", "Lead"), ("D1", "2024-01-20", "Won"), ("D2", "2023-12-10", "Lead")],
        [("D1", "2024-01-05", "2024-01-31"), ("D2", "2023-12-10", "2024-01-25"), ("D2", "2024-01-15", "2024-02-20")],
        [("D1", "2024-01-05", 100), ("D1", "2024-01-15", 150), ("D2", "2023-12-10", 200), ("D2", "2024-01-10", 300)],
    )
    since = pd.Timestamp("2023-12-31 23:59:59.999999", tz="UTC")
    values = ["opening_count", "opening_amount", "closing_count", "closing_amount"]
    values += [f"{b}_{x}" for b in BUCKETS for x in ("deals", "count", "amount")]
    for pipeline, classify in BOTH:
        for by in (None, "owner"):
            month = waterfall(log, pipeline=pipeline, classify=classify, by=by, as_of="2024-01-31")
            window = waterfall(log, pipeline=pipeline, classify=classify, by=by, as_of="2024-01-31", since=since)
            keys = [by] if by else []
            jan = month.bridge[month.bridge["period"] == "2024-01"].reset_index(drop=True)
            assert set(window.bridge["period"]) == {"2023-12-31 to 2024-01-31"} and window.period == "window"
            pd.testing.assert_frame_equal(window.bridge[keys + values], jan[keys + values])
            pd.testing.assert_frame_equal(
                window.moves.drop(columns="period"),
                month.moves[month.moves["period"] == "2024-01"].drop(columns="period").reset_index(drop=True),
            )
    with pytest.raises(sm.UsageError, match=r"since .* must be before as_of"):
        waterfall(log, as_of="2024-01-31", since="2024-02-05")


def test_a_salesforce_export_with_a_deleted_opportunity_and_two_currencies(tmp_path, capsys):
    # the importer keeps Salesforce's IsDeleted and CurrencyIsoCode as they are named: the waterfall reads both
    opps = (FIXTURES / "salesforce" / "Opportunity.csv").read_text()
    opps = opps.replace('"0065g00000AAAAAAA3","false"', '"0065g00000AAAAAAA3","true"')
    opps = opps.replace('"USD","0055g00000OWNER02"', '"EUR","0055g00000OWNER02"')
    (tmp_path / "Opportunity.csv").write_text(opps)
    log = sm.import_salesforce(tmp_path / "Opportunity.csv", FIXTURES / "salesforce" / "OpportunityHistory.csv")
    assert {"IsDeleted", "CurrencyIsoCode"} <= set(log.deals.columns)
    with pytest.raises(CurrencyError, match=r"2 currencies \(EUR \(2 deals\), USD \(2 deals\)\)"):
        quiet(log, pipeline="all")
    with pytest.warns(sm.DataNote, match=r"1 soft-deleted deals \(IsDeleted true; e.g. 0065g00000AAAAAAA3\)"):
        w = waterfall(log, pipeline="all", rates={"EUR": 1.1, "USD": 1})
    assert "0065g00000AAAAAAA3" not in set(w.moves["deal_id"])
    # A2 (EUR 5000) created in January and lost in February, A5 (EUR 30000) created in March: both at 1.1
    assert moves_of(w, "2024-03") == [("0065g00000AAAAAAA5", "2024-03", "created", 33000.0, 1, 33000.0)]
    assert bridge_row(w, "2024-02").lost_amount == -5500.0
    _reconciles(w.bridge)


def test_the_weekly_review_shows_the_bridge_of_its_window_in_money():
    from salesmetrics.reports.weekly import weekly_review
    from salesmetrics.reports.weekly_bridge import window_bridge

    log = _two_currencies([("E1", "2024-01-03", 100), ("E1", "2024-01-10", 200)])
    log = dataclasses.replace(log, deals=log.deals.drop(columns="currency"))
    # the week (18 Jan, 25 Jan]: E1 open at 200 throughout; U1 open at 100, won on 25 Jan
    week = weekly_review(log, as_of=pd.Timestamp("2024-01-25 12:00", tz="UTC"))
    bridge = window_bridge(log, week.start, week.as_of)
    assert bridge.currency == "USD" and bridge.note == ""
    assert bridge.table.to_dict("list") == {
        "step": ["open at the start", "won", "open at the end"],
        "deals": [2, 1, 1],
        "amount": [300.0, -100.0, 200.0],
    }
    # twenty days (5 Jan, 25 Jan]: E1's raise on 10 Jan is in the window; both creations (3 Jan) are not
    table = window_bridge(log, week.as_of - pd.Timedelta(days=20), week.as_of).table
    assert table["step"].tolist() == ["open at the start", "amount raised", "won", "open at the end"]
    assert table["amount"].tolist() == [200.0, 100.0, -100.0, 200.0]
    mixed = window_bridge(_two_currencies(), week.start, week.as_of)
    assert mixed.table is None and "2 currencies" in str(mixed.shown())
    unpriced = window_bridge(dataclasses.replace(log, deals=log.deals.drop(columns="amount")), week.start, week.as_of)
    assert "no amount" in str(unpriced.shown())


def test_amount_at_is_the_waterfalls_rule_for_any_moment():
    from salesmetrics.metrics.flow_deals import amount_at

    # D1: 100 from 5 Jan, 150 from 15 Jan; D2: no history, deals amount 300; D3: no amount at all
    log = make_log(
        [
            {"deal_id": "D1", "owner": "ann", "created_at": "2024-01-05", "amount": 150.0},
            {"deal_id": "D2", "owner": "bob", "created_at": "2024-01-05", "amount": 300.0},
            {"deal_id": "D3", "owner": "bob", "created_at": "2024-01-05", "amount": np.nan},
        ],
        [("D1", "2024-01-05", "Lead"), ("D2", "2024-01-05", "Lead"), ("D3", "2024-01-05", "Lead")],
        amounts=[("D1", "2024-01-05", 100), ("D1", "2024-01-15", 150)],
    )
    got = amount_at(log, ["D1", "D1", "D1", "D1", "D2", "D3"], ["2024-01-01", "2024-01-05", "2024-01-14 23:59",
                                                                "2024-01-15", "2024-01-01", "2024-01-20"])  # fmt: skip
    np.testing.assert_array_equal(got, [100.0, 100.0, 100.0, 150.0, 300.0, np.nan])
    # the simulator's history ends at each deal's amount: far enough ahead, amount_at is deals.amount
    from salesmetrics.simulation.simulator import simulate

    sim = simulate(n_deals=60, n_owners=3, seed=5, months=4).log
    np.testing.assert_array_equal(amount_at(sim, sim.deals["deal_id"], "2100-01-01"), sim.deals["amount"].to_numpy())


def test_pulled_in_and_contracted_in_one_period():
    # D9: created 2 Jan in Lead at 500, due 20 March; on 10 Feb its close date is pulled in to 25 Feb, on 12 Feb
    # its amount is cut to 400; as_of 29 Feb. `due`: not in January's nor (at its start) February's pipeline;
    # the pull-in brings it in at 500 (+1 +500), the cut is -100 while in; closing 1, 400. `all`: created in
    # January (+1 +500); in February the pull-in moves nothing (0, 0) and the cut is -100. `exclusive` keeps
    # `pulled_in` (above contracted) with the deal's whole change: +1 +400 (`due`), 0 -100 (`all`); its amount
    # is the amount at the pull-in, 500.
    log = make_log(
        [{"deal_id": "D9", "owner": "ann", "created_at": "2024-01-02", "amount": 400.0}],
        [("D9", "2024-01-02", "Lead")],
        [("D9", "2024-01-02", "2024-03-20"), ("D9", "2024-02-10", "2024-02-25")],
        [("D9", "2024-01-02", 500), ("D9", "2024-02-12", 400)],
    )
    expected = {
        ("due", "flows"): [
            ("D9", "2024-02", "pulled_in", 500.0, 1, 500.0),
            ("D9", "2024-02", "contracted", -100.0, 0, -100.0),
        ],
        ("due", "exclusive"): [("D9", "2024-02", "pulled_in", 500.0, 1, 400.0)],
        ("all", "flows"): [
            ("D9", "2024-02", "pulled_in", 500.0, 0, 0.0),
            ("D9", "2024-02", "contracted", -100.0, 0, -100.0),
        ],
        ("all", "exclusive"): [("D9", "2024-02", "pulled_in", 500.0, 0, -100.0)],
    }
    for (pipeline, classify), rows in expected.items():
        w = waterfall(log, pipeline=pipeline, classify=classify, as_of="2024-02-29")
        assert moves_of(w, "2024-02") == rows, (pipeline, classify)
        feb = bridge_row(w, "2024-02")
        opening = (0, 0.0) if pipeline == "due" else (1, 500.0)
        assert (feb.opening_count, feb.opening_amount) == opening and (feb.closing_count, feb.closing_amount) == (
            1,
            400.0,
        )
        assert moves_of(w, "2024-01") == ([] if pipeline == "due" else [("D9", "2024-01", "created", 500.0, 1, 500.0)])
        _reconciles(w.bridge)


def test_the_empty_due_pipeline_note_says_whether_the_log_or_as_of_lacks_close_dates():
    dated = make_log(
        [{"deal_id": "D7", "owner": "ann", "created_at": "2024-01-01", "amount": 40.0}],
        [("D7", "2024-01-01", "Lead")],
        [("D7", "2024-01-03", "2024-03-15")],
    )
    with pytest.warns(sm.DataNote, match="No close-date change is known by 2024-01-02 23:59, so"):
        waterfall(dated, as_of="2024-01-02")
    undated = make_log([{"deal_id": "D7", "owner": "ann", "created_at": "2024-01-01", "amount": 40.0}],
                       [("D7", "2024-01-01", "Lead")])  # fmt: skip
    with pytest.warns(sm.DataNote, match="The log has no close-date changes, so"):
        waterfall(undated, as_of="2024-01-02")
