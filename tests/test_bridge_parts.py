"""The bridge in money of a log split by deal, part by part (``waterfall_piece`` on each part, ``bridge_of_pieces``
on the client): the same bridge, currency, notes and refusals as ``waterfall`` of the whole log, on any split that
keeps each deal's rows together. Win rates likewise (``win_counts`` / ``win_rates_of_counts``)."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import T0, waterfall_logs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesmetrics as sm
from salesmetrics.exceptions import CurrencyError, UsageError
from salesmetrics.log.prepare import resolve_as_of, subset_deals
from salesmetrics.metrics.flows import bridge_of_pieces, waterfall, waterfall_piece
from salesmetrics.metrics.outcomes import win_counts, win_rates, win_rates_of_counts

DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"


def split(log: sm.SalesLog, cuts) -> list[sm.SalesLog]:
    """The log as parts of consecutive deals (each deal's rows in one part), cut before the deal positions ``cuts``."""
    bounds = [0, *sorted(set(cuts)), len(log.deals)]
    return [subset_deals(log, log.deals.iloc[a:b]) for a, b in itertools.pairwise(bounds) if b > a]


def noted(compute):
    """What ``compute()`` gives (or the text of the error it raises) and the texts of the DataNotes it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", sm.DataNote)
        try:
            value = compute()
        except (CurrencyError, UsageError) as exc:
            value = f"{type(exc).__name__}: {exc}"
    return value, [str(w.message) for w in caught if issubclass(w.category, sm.DataNote)]


def whole_and_parts(log, parts, as_of, **options):
    whole, whole_notes = noted(lambda: waterfall(log, as_of=as_of, **options))
    pieces = [waterfall_piece(part, as_of, **options) for part in parts]
    combined, notes = noted(lambda: bridge_of_pieces(pieces, as_of, log.model, **options))
    return whole, whole_notes, combined, notes


def assert_same_bridge(log, parts, as_of, **options):
    whole, whole_notes, combined, notes = whole_and_parts(log, parts, as_of, **options)
    assert notes == whole_notes
    if isinstance(whole, str):
        assert combined == whole
        return
    pd.testing.assert_frame_equal(combined.bridge, whole.bridge, check_exact=True)
    assert combined.currency == whole.currency


@pytest.fixture(scope="module")
def demo() -> sm.SalesLog:
    return sm.read_log(DEMO)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    waterfall_logs(),
    st.sampled_from(["W", "M", "Q"]),
    st.sampled_from([None, "owner", "team"]),
    st.sampled_from(["due", "all"]),
    st.sampled_from(["flows", "exclusive"]),
    st.integers(0, 24 * 400),
    st.lists(st.integers(1, 4), max_size=3),
)
def test_the_bridge_of_any_split_is_the_whole_logs(log, period, by, pipeline, classify, cut_hours, cuts):
    as_of = T0 + pd.Timedelta(hours=cut_hours)
    options = {"period": period, "by": by, "pipeline": pipeline, "classify": classify}
    assert_same_bridge(log, split(log, [c for c in cuts if c < len(log.deals)]), as_of, **options)


@pytest.mark.parametrize(
    "options",
    [
        {"period": "Q", "by": "owner"},
        {"period": "M", "by": "team", "pipeline": "all"},
        {"period": "W", "by": None, "classify": "exclusive"},
    ],
)
def test_the_demo_logs_bridge_in_three_parts_is_the_whole_logs(demo, options):
    as_of = resolve_as_of(demo, "2025-03-31")
    whole, _, combined, _ = whole_and_parts(demo, split(demo, [500, 1400]), as_of, **options)
    assert len(whole.bridge) > 5 and whole.bridge["closing_amount"].sum() > 0
    pd.testing.assert_frame_equal(combined.bridge, whole.bridge, check_exact=True)


def odd_deals(demo: sm.SalesLog, currencies) -> sm.SalesLog:
    """The demo log with soft-deleted deals, deals without an amount and a currency per deal (``currencies``
    cycled), in every part."""
    deals = demo.deals.copy()
    n = len(deals)
    deals["is_deleted"] = np.where(np.arange(n) % 97 == 3, "true", "false")
    deals.loc[np.arange(n) % 89 == 5, "amount"] = np.nan
    deals["currency"] = [currencies[i % len(currencies)] for i in range(n)]
    amounts = demo.amount_changes  # a deal without an amount has no amount history either
    amounts = amounts[~amounts["deal_id"].isin(deals.loc[deals["amount"].isna(), "deal_id"])]
    return sm.SalesLog(demo.model, deals, demo.stage_changes, demo.activities, demo.close_date_changes, demo.source,
                       demo.problems, amounts)  # fmt: skip


@pytest.mark.parametrize(
    ("currencies", "rates", "said"),
    [
        (["EUR"], None, "Every deal is in EUR"),
        (["EUR", "USD", "GBP"], None, "The deals carry 3 currencies"),
        (["EUR", "USD", "GBP"], "EUR:1.08", "No rate for GBP"),
        (["EUR", "USD", ""], "EUR:1.08", "Some deals have no currency"),
        (["EUR", "USD"], "EUR:1.08,USD:1", "soft-deleted deals"),
    ],
)
def test_notes_and_refusals_of_parts_are_the_whole_logs(demo, currencies, rates, said):
    log = odd_deals(demo, currencies)
    as_of = resolve_as_of(log, None)
    parts = split(log, [700, 1300])
    whole, whole_notes, _, notes = whole_and_parts(log, parts, as_of, period="Q", by="owner", rates=rates)
    assert said in " ".join([*whole_notes, whole if isinstance(whole, str) else ""])
    assert_same_bridge(log, parts, as_of, period="Q", by="owner", rates=rates)
    if not isinstance(whole, str):  # every kind of note, counted over all parts
        assert any("soft-deleted" in n for n in notes) and any("have no amount" in n for n in notes)


def test_a_group_no_deal_has_is_refused_as_for_the_whole_log(demo):
    log = sm.SalesLog(demo.model, demo.deals.assign(team=None), demo.stage_changes, demo.activities,
                      demo.close_date_changes, demo.source, demo.problems, demo.amount_changes)  # fmt: skip
    as_of = resolve_as_of(log, None)
    whole, _, combined, _ = whole_and_parts(log, split(log, [1000]), as_of, by="team")
    assert whole.startswith("UsageError: No deal in this log has a team") and combined == whole


@settings(max_examples=25, deadline=None)
@given(waterfall_logs(), st.sampled_from(["owner", "team"]), st.lists(st.integers(1, 4), max_size=3))
def test_win_rates_of_any_split_are_the_whole_logs(log, by, cuts):
    parts = split(log, [c for c in cuts if c < len(log.deals)])
    combined = win_rates_of_counts([win_counts(part, by) for part in parts], by)
    pd.testing.assert_frame_equal(combined, win_rates(log, by=by), check_exact=True)
