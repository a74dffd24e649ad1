"""The stall_risk report's logic: hand-checked numbers on the tiny log, saved models and their cards, fallbacks."""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
import zipfile
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from builders import write_undated_log

import salesmetrics as sm
from salesmetrics.exceptions import UsageError
from salesmetrics.features.build import FEATURES, snapshots
from salesmetrics.log.coverage import Note, log_coverage
from salesmetrics.log.prepare import resolve_as_of, truncate
from salesmetrics.models import CloseLikelihood, StallPredictor
from salesmetrics.models.persistence import save_model
from salesmetrics.reports.health import pipeline_health
from salesmetrics.reports.stall_risk import (
    FEATURE_LABELS,
    ModelSource,
    StallRiskReport,
    empty_features,
    fill_features,
    stall_risk_report,
    thin_snapshots,
)

matplotlib.use("Agg")
DEMO = Path(__file__).resolve().parents[1] / "datasets" / "demo"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _check_figures(report: StallRiskReport) -> None:
    """Every figure is titled, and either drawn with labelled axes or a note saying why not."""
    for ax in (report.plot_distribution(), report.plot_reasons(), *report.plot_groups().axes):
        assert ax.get_title()
        assert ax.texts or (ax.get_xlabel() and ax.get_ylabel())


def _copy_without(src: Path, dst: Path, *names: str) -> Path:
    shutil.copytree(src, dst)
    for name in names:
        (dst / name).unlink()
    return dst


# ------------------------------------------------------------------------------------- the tiny log, by hand


def test_tiny_log_with_a_7_day_horizon_gives_the_hand_counted_training_set(tiny_log_dir):
    # As of 3 Feb 08:00 (D3's loss, the last event). Weekly snapshots: D1 and D2 on 7, 14, 21 and 28 January.
    # A 7-day label is known when its window ends by 3 Feb 08:00: 7, 14 and 21 January (6 rows); the two rows of
    # 28 January are censored. Stalled: D2 on 7 Jan (next move 15 Jan) and D1 on 21 Jan (next move 1 Feb): 2 of 6.
    # Open at the as-of moment: only D2 (D1 won on 1 Feb, D3 lost on 3 Feb), in Lead since 25 Jan 10:00.
    report = stall_risk_report(sm.read_log(tiny_log_dir), horizon_days=7)
    source = report.source
    assert source.kind == "fitted" and source.learner == "logistic (fallback)"
    assert (source.rows, source.deals, source.censored) == (6, 2, 2)
    assert source.base_rate == pytest.approx(2 / 6)
    assert report.deals["deal_id"].tolist() == ["D2"]
    assert report.deals.loc[0, "days_in_stage"] == pytest.approx(8 + 22 / 24)
    text = report.narrative()
    assert text.startswith("The only open deal, D2 (bob, in Lead), has a stall risk of ")
    assert "in the training snapshots, 33% of open deals made no stage movement within 7 days" in text
    assert (
        "fitted on the spot on 6 weekly snapshots of 2 deals of the whole log (as-of dates 2024-01-07 to "
        "2024-01-21); its labels see nothing after the as-of date (2 snapshots whose 7 days were not over then "
        "were left out)."
    ) in text
    assert "Small-data fallback: only 1 closed deal (fewer than" in text
    assert 0 <= report.deals.loc[0, "risk"] <= 1
    _check_figures(report)


def test_training_labels_never_look_past_as_of(tiny_log_dir):
    # As of the end of 25 January: labels are known for 7 and 14 January only (4 rows); 21 January is censored
    # although D2 did move on 25 January, since its window runs to 28 January. Read at the end of the log, 6 rows.
    log = sm.read_log(tiny_log_dir)
    report = stall_risk_report(log, as_of="2024-01-25", horizon_days=7)
    source = report.source
    assert (source.rows, source.censored) == (4, 2)
    assert source.base_rate == pytest.approx(1 / 4)
    assert pd.Timestamp(source.labels_until) == resolve_as_of(log, "2024-01-25")
    assert pd.Timestamp(source.last_as_of) <= report.as_of
    # the same training set as the log cut at as_of gives
    cut = snapshots(truncate(log, report.as_of), horizon_days=7)
    assert int(cut["stalled"].notna().sum()) == source.rows
    assert sorted(report.deals["deal_id"]) == ["D1", "D2"]


def test_no_label_known_yet_ranks_by_days_in_stage_and_says_why(tiny_log_dir):
    # With the default 30-day horizon no window is over by 3 February: no model, no risk, still a report.
    report = stall_risk_report(sm.read_log(tiny_log_dir))
    assert report.source.kind == "none" and not report.scored
    assert report.narrative().startswith(
        "1 open deal is listed, longest without a stage movement first (D2: 9 days in Lead). No stall model could "
        "be fitted (no open deal's next 30 days were over by the as-of date, so no stall label is known yet)"
    )
    table = report.table()
    assert list(table.columns) == ["deal_id", "owner", "team", "stage", "amount", "days_in_stage"]
    assert report.deals["risk"].isna().all()
    _check_figures(report)


def test_an_owner_without_open_deals_gets_a_sentence_not_a_model(tiny_log_dir):
    report = stall_risk_report(sm.read_log(tiny_log_dir), owner="ann", horizon_days=7)
    assert report.narrative() == "No deal is open at the as-of date, so there is nothing to rank."
    assert isinstance(report.table(), Note)
    _check_figures(report)


def test_a_log_without_activities_or_close_dates_says_so(tiny_log_dir, tmp_path):
    folder = _copy_without(tiny_log_dir, tmp_path / "bare", "activities.csv", "close_date_changes.csv")
    report = stall_risk_report(sm.read_log(folder), horizon_days=7)
    text = report.narrative()
    assert "The log has no activities, so motion (calls, emails, meetings) cannot be counted." in text
    assert "The log has no close-date changes" in text
    assert "have no value in this log and carry nothing" in text
    assert {"decision_rate", "days_past_close"} <= set(report.source.empty)


def test_a_log_without_dated_events_still_gives_a_report(tmp_path):
    folder = write_undated_log(tmp_path / "undated")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = sm.read_log(folder)
    report = stall_risk_report(log)
    assert report.as_of is None and report.source.kind == "none"
    assert report.narrative().startswith("The log has no dated events")
    assert isinstance(report.table(), Note)
    _check_figures(report)


# ------------------------------------------------------------------------------------ words, checked by hand


def _report(risks, owners, features, threshold=0.5) -> StallRiskReport:
    n = len(risks)
    deals = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(n)],
            "owner": owners,
            "team": ["t"] * n,
            "stage": ["Lead"] * n,
            "amount": [100.0] * n,
            "days_in_stage": [10.0] * n,
            "expected_close_date": [pd.NaT] * n,
            "risk": risks,
        }
    )
    for i in (1, 2, 3):
        deals[f"feature_{i}"] = [f[i - 1] if len(f) >= i else None for f in features]
        deals[f"reason_{i}"] = [f"words for {f[i - 1]}" if len(f) >= i else None for f in features]
        deals[f"effect_{i}"] = [0.1 if len(f) >= i else np.nan for f in features]
    source = ModelSource(
        kind="fitted", horizon_days=30, learner="hgb", rows=500, deals=80, first_as_of="2024-01-07",
        last_as_of="2024-06-30", base_rate=0.25, freq="W",
    )  # fmt: skip
    return StallRiskReport(
        as_of=pd.Timestamp("2024-07-31", tz="UTC"),
        horizon_days=30,
        threshold=threshold,
        top_n=25,
        by="owner",
        currency=None,
        stages=("Lead",),
        deals=deals,
        source=source,
        notes=(),
        coverage=log_coverage(sm.read_log(DEMO)),
    )


def test_narrative_counts_high_risk_deals_reasons_and_owners():
    report = _report(
        [0.9, 0.8, 0.6, 0.1],
        ["ann", "ann", "bob", "cy"],
        [["close_date_pushes", "age_days"], ["close_date_pushes"], ["days_since_movement"], ["amount"]],
    )
    assert report.narrative() == (
        "3 of 4 open deals have a stall risk above 50% (no stage movement in the next 30 days; a loss counts as a "
        "movement); the top reasons "
        "are close-date pushes (2 deals), the deal's age (1 deal) and time since the last stage movement (1 deal). "
        "ann holds the most of them (2 of 3); 2 owners have at least one. The median risk is 70%; in the training "
        "snapshots, 25% of open deals made no stage movement within 30 days. Risks come from a gradient-boosting "
        "model fitted on the spot on 500 weekly snapshots of 80 deals of the whole log (as-of dates 2024-01-07 to "
        "2024-06-30); its labels see nothing after the as-of date."
    )
    counts = report.reason_counts()
    assert counts.to_dict("list") == {
        "feature": ["close_date_pushes", "age_days", "days_since_movement"],
        "reason": ["close-date pushes", "the deal's age", "time since the last stage movement"],
        "deals": [2, 1, 1],
    }
    table = report.table()
    assert table["top_reasons"].tolist()[0] == "words for close_date_pushes; words for age_days"
    assert table["stall_risk_pct"].tolist() == [90.0, 80.0, 60.0, 10.0]


def test_narrative_without_any_high_risk_names_the_riskiest_deal():
    report = _report([0.49999, 0.2], ["ann", "bob"], [["amount"], []], threshold=0.5)
    text = report.narrative()
    assert text.startswith(
        "None of the 2 open deals has a stall risk above 50% (no stage movement in the next 30 days; a loss counts "
        "as a movement); the highest is 50.0% (D0, ann, in Lead: words for amount)."
    )
    assert report.reason_counts()["feature"].tolist() == ["amount"]  # of the riskiest, when none is high


def test_protective_factors_are_counted_in_words_and_shown_in_the_table():
    report = _report([0.9, 0.8, 0.6, 0.1], ["ann", "ann", "bob", "cy"], [["amount"]] * 4)
    deals = report.deals.assign(
        protective_1=["close date never pushed", "close date never pushed", "1 activity in the last 14 days", None],
        protective_feature_1=["close_date_pushes", "close_date_pushes", "motions_14d", None],
        lowers_by_1=[-0.05, -0.04, -0.02, np.nan],
    )
    report = dataclasses.replace(report, deals=deals)
    assert report.narrative().endswith(
        "The median risk is 70%; in the training snapshots, 25% of open deals made no stage movement within 30 "
        "days. What lowers a risk the most is most often close-date pushes (2 deals of 4). Risks come from a "
        "gradient-boosting model fitted on the spot on 500 weekly snapshots of 80 deals of the whole log (as-of "
        "dates 2024-01-07 to 2024-06-30); its labels see nothing after the as-of date."
    )
    assert report.table()["lowers_risk"].tolist()[:3] == [
        "close date never pushed",
        "close date never pushed",
        "1 activity in the last 14 days",
    ]


def test_a_model_without_losses_says_so():
    report = _report([0.9, 0.1], ["ann", "bob"], [["amount"], []])
    report = dataclasses.replace(report, source=dataclasses.replace(report.source, losses="excluded"))
    assert report.narrative().startswith(
        "1 of 2 open deals has a stall risk above 50% (no stage movement in the next 30 days; deals lost within "
        "them were left out of training)"
    )


def test_every_feature_has_a_label():
    assert set(FEATURE_LABELS) == set(FEATURES)


# --------------------------------------------------------------------------------------------- saved models


def _tiny_model(log, **kwargs):
    snap = snapshots(log, horizon_days=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return StallPredictor(horizon_days=7, n_jobs=1, **kwargs).fit(snap)


def test_a_saved_model_is_used_and_described(tiny_log_dir, tmp_path):
    log = sm.read_log(tiny_log_dir)
    path = save_model(_tiny_model(log), tmp_path / "stall.skops", extra={"stages": list(log.model.stages)})
    report = stall_risk_report(log, model_path=path, horizon_days=30)
    assert report.source.kind == "saved" and report.horizon_days == 7
    text = report.narrative()
    assert (
        "Risks come from the saved model stall.skops (a strongly regularised logistic regression (the small-data "
        "fallback) predicting a stall within 7 days), trained on 6 snapshot rows with as-of dates 2024-01-07 to "
        "2024-01-21 and labels seen up to 2024-02-03."
    ) in text
    assert "its own horizon of 7 days, not the 30 days asked for" in text
    assert "does not record the stages" not in text
    assert report.deals["risk"].notna().all()


def test_a_saved_boosted_model_reports_its_training_base_rate(tiny_log_dir, tmp_path):
    # the default boosting holds no deals out (decision 0065): the card's base rate is the training rows' own,
    # 2 stalls in the 6 labelled rows counted by hand above
    log = sm.read_log(tiny_log_dir)
    model = _tiny_model(log, min_closed=0)
    assert model.model_ == "hgb" and model.calibration_.startswith("none (the default for boosting")
    path = save_model(model, tmp_path / "stall.skops", extra={"stages": list(log.model.stages)})
    report = stall_risk_report(log, model_path=path, horizon_days=7)
    assert report.source.kind == "saved" and report.source.base_rate == pytest.approx(2 / 6)
    assert "in the training snapshots, 33% of open deals made no stage movement within 7 days" in report.narrative()


def test_a_saved_model_trained_later_than_as_of_is_flagged(tiny_log_dir, tmp_path):
    log = sm.read_log(tiny_log_dir)
    path = save_model(_tiny_model(log), tmp_path / "stall.skops")
    report = stall_risk_report(log, as_of="2024-01-25", model_path=path, horizon_days=7)
    text = report.narrative()
    assert "after this report's as-of date" in text
    assert "does not record the stages" not in text  # the card carries the stages of the training snapshots


def _rewrite_card(path: Path, out: Path, change) -> Path:
    """A copy of a model file whose card is changed by ``change(card)`` (e.g. to make it look like an old one)."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        card = json.loads(src.read("model_card.json"))
        change(card)
        for item in src.namelist():
            dst.writestr(item, json.dumps(card).encode() if item == "model_card.json" else src.read(item))
    return out


def test_the_card_records_the_training_stages_and_old_cards_still_work(tiny_log_dir, tmp_path):
    log = sm.read_log(tiny_log_dir)
    path = save_model(_tiny_model(log), tmp_path / "stall.skops")
    with zipfile.ZipFile(path) as z:
        assert json.loads(z.read("model_card.json"))["stages"] == ["Lead", "Qualified", "Proposal", "Commit"]

    def nested(card):  # an old card: the stages only under "snapshots"
        del card["stages"]
        card["snapshots"] = {"freq": "W", "stages": ["A", "B"]}

    old = _rewrite_card(path, tmp_path / "nested.skops", nested)
    with pytest.raises(UsageError, match="stages A > B, but this log has Lead > Qualified > Proposal > Commit"):
        stall_risk_report(log, model_path=old)

    def nested_same(card):
        card["snapshots"] = {"stages": card.pop("stages")}

    same = _rewrite_card(path, tmp_path / "same.skops", nested_same)
    assert "does not record the stages" not in stall_risk_report(log, model_path=same, horizon_days=7).narrative()
    older = _rewrite_card(path, tmp_path / "older.skops", lambda card: card.pop("stages"))
    text = stall_risk_report(log, model_path=older, horizon_days=7).narrative()
    assert "Its card does not record the stages it was trained on" in text


def test_a_model_trained_on_other_stages_is_refused_from_its_own_card(tiny_log_dir, tmp_path):
    log = sm.read_log(tiny_log_dir)
    snap = snapshots(log, horizon_days=7)
    snap.attrs["stages"] = ["Discovery", "Demo"]  # as if built on another pipeline
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = StallPredictor(horizon_days=7, n_jobs=1).fit(snap)
    with pytest.raises(UsageError, match="stages Discovery > Demo, but this log has Lead > Qualified"):
        stall_risk_report(log, model_path=save_model(model, tmp_path / "other.skops"))


def test_a_card_without_horizon_or_window_takes_them_from_the_model(tiny_log_dir, tmp_path):
    log = sm.read_log(tiny_log_dir)
    path = save_model(_tiny_model(log), tmp_path / "stall.skops")

    def strip(card):
        card.pop("horizon_days")
        card.pop("training_window")

    stripped = _rewrite_card(path, tmp_path / "stripped.skops", strip)
    report = stall_risk_report(log, model_path=stripped, horizon_days=30)
    assert report.source.horizon_days == 7.0  # the model's own, not the report's parameter
    assert report.source.first_as_of is not None


def test_model_cards_that_do_not_fit_the_log_are_refused(tiny_log_dir, tmp_path):
    log = sm.read_log(tiny_log_dir)
    other = save_model(_tiny_model(log), tmp_path / "other.skops", extra={"stages": ["A", "B"]})
    with pytest.raises(UsageError, match="stages A > B, but this log has Lead > Qualified > Proposal > Commit"):
        stall_risk_report(log, model_path=other)
    snap = snapshots(log, horizon_days=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close = CloseLikelihood(n_jobs=1).fit(snap.assign(won=[1, 0] * (len(snap) // 2)))
    with pytest.raises(UsageError, match="holds a CloseLikelihood model, not a StallPredictor"):
        stall_risk_report(log, model_path=save_model(close, tmp_path / "close.skops"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = StallPredictor(n_jobs=1).fit(np.zeros((20, 3)) + np.arange(20)[:, None], np.r_[[0] * 10, [1] * 10])
    with pytest.raises(UsageError, match="trained on other features than this version"):
        stall_risk_report(log, model_path=save_model(plain, tmp_path / "plain.skops"))
    with pytest.raises(UsageError, match="does not exist"):
        stall_risk_report(log, model_path=tmp_path / "missing.skops")


def test_a_tampered_card_with_a_foreign_class_is_refused(tiny_log_dir, tmp_path):
    log = sm.read_log(tiny_log_dir)
    path = save_model(_tiny_model(log), tmp_path / "stall.skops")
    with zipfile.ZipFile(path) as z:
        card = json.loads(z.read("model_card.json"))
    card["model_class"] = "Pipeline"
    renamed = tmp_path / "tampered.skops"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(renamed, "w") as dst:
        for item in src.namelist():
            data = json.dumps(card).encode() if item == "model_card.json" else src.read(item)
            dst.writestr(item, data)
    with pytest.raises(UsageError, match="holds a Pipeline model"):
        stall_risk_report(log, model_path=renamed)


# ------------------------------------------------------------------------------------------- the demo log


def test_demo_report_ranks_every_open_deal_and_filters_only_the_ranking():
    log = sm.read_log(DEMO)
    as_of = "2024-09-30"
    report = stall_risk_report(log, as_of=as_of, model="logistic", freq="M", top_n=10)
    cut = truncate(log, resolve_as_of(log, as_of))
    last = cut.stage_changes.groupby("deal_id")["stage"].last()
    assert sorted(report.deals["deal_id"]) == sorted(last[last.isin(log.model.stages)].index)
    risk = report.deals["risk"].to_numpy()
    assert ((risk >= 0) & (risk <= 1)).all() and (np.diff(risk) <= 0).all()
    assert len(report.table()) == 10
    assert report.narrative().endswith(".")
    _check_figures(report)

    owner = report.deals["owner"].iloc[0]
    mine = stall_risk_report(log, as_of=as_of, model="logistic", freq="M", owner=owner)
    assert set(mine.deals["owner"]) == {owner}
    assert mine.source.rows == report.source.rows  # the model still learns from every deal
    theirs = report.deals.set_index("deal_id").loc[mine.deals["deal_id"], "risk"].to_numpy()
    np.testing.assert_allclose(mine.deals["risk"].to_numpy(), theirs)


def test_bad_arguments_are_usage_errors():
    log = sm.read_log(DEMO)
    for kwargs, match in (
        ({"threshold": 1.5}, "threshold must be a probability"),
        ({"by": "stage"}, "by must be 'owner' or 'team'"),
        ({"freq": "Q"}, "freq must be 'W' or 'M'"),
        ({"model": "forest"}, "model must be 'hgb' or 'logistic'"),
        ({"top_n": 0}, "top_n must be a whole number"),
        ({"owner": "Nobody"}, "No deals with owner 'Nobody'"),
    ):
        with pytest.raises(UsageError, match=match):
            stall_risk_report(log, **kwargs)


# -------------------------------------------------------------------------------------------------- helpers


def test_empty_features_are_filled_so_gradient_boosting_can_fit(tiny_log_dir, tmp_path):
    folder = _copy_without(tiny_log_dir, tmp_path / "bare", "activities.csv", "close_date_changes.csv")
    snap = snapshots(sm.read_log(folder), horizon_days=7)
    empty = empty_features(snap[snap["stalled"].notna()])
    assert {"decision_rate", "days_past_close", "days_since_commit", "owner_decision_rate"} <= set(empty)
    filled = fill_features(snap, empty)
    assert filled.attrs == snap.attrs and (filled[empty] == 0).all().all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = StallPredictor(horizon_days=7, min_closed=0, n_jobs=1).fit(filled)
    assert model.model_ == "hgb"


def test_thinning_keeps_whole_dates_and_the_latest():
    frame = pd.DataFrame({"as_of": np.repeat(np.arange(12), np.arange(1, 13))})  # date d has d + 1 rows
    rows, k = thin_snapshots(frame, 40)
    assert len(rows) <= 40 and k > 1
    kept = sorted(rows["as_of"].unique())
    assert kept[-1] == 11 and np.all(np.diff(kept) == k)
    assert thin_snapshots(frame, None)[1] == 1 and thin_snapshots(frame, 1000)[0] is frame


def test_a_batch_over_owners_fits_the_model_once(monkeypatch):
    """--for-each owner re-reads the same log for every page; the model learns from all deals, so one fit."""
    import salesmetrics.reports.stall_model as rr

    fits = []
    original = rr._fit_model
    monkeypatch.setattr(rr, "_fit_model", lambda *a, **k: fits.append(1) or original(*a, **k))
    monkeypatch.setattr(rr, "_LAST_FIT", {})
    owners = sorted(sm.read_log("datasets/demo").deals["owner"].unique())[:2]
    reports = [stall_risk_report(sm.read_log("datasets/demo"), owner=o, max_rows=4000) for o in owners]
    assert len(fits) == 1
    fresh = stall_risk_report(sm.read_log("datasets/demo"), owner=owners[1], max_rows=4000, random_state=1)
    assert len(fits) == 2  # other settings: fitted again
    assert set(reports[1].deals["owner"]) == {owners[1]} == set(fresh.deals["owner"])
    # a changed log is a different log
    log = sm.read_log("datasets/demo")
    activities = log.activities.copy()
    other = next(k for k in activities["kind"].unique() if k != activities.loc[0, "kind"])
    activities.loc[0, "kind"] = other  # same size, same dates: only the content differs
    changed = sm.SalesLog.from_frames(log.model, log.deals, log.stage_changes, activities, log.close_date_changes)
    stall_risk_report(changed, owner=owners[0], max_rows=4000)
    assert len(fits) == 3


def test_the_busy_but_not_moving_deals_are_placed_in_the_ranking_and_the_difference_said():
    """pipeline_health's busy-but-not-moving list and this ranking answer different questions: the page says where
    the busy deals rank, so a busy deal at a low risk is not an unexplained contradiction (issue 17)."""
    report = _report([0.9, 0.8, 0.6, 0.1], ["ann", "ann", "bob", "cy"], [["amount"]] * 4)
    assert "busy but not moving" not in report.narrative()  # none is busy: nothing to reconcile
    text = dataclasses.replace(report, busy=("D0", "D3", "X9")).narrative()  # X9: not in scope, not counted
    assert (
        "2 open deals are busy but not moving (5 or more activities since the last stage movement, the "
        "pipeline_health list): 1 above 50% here and 1 below. The lists answer different questions"
    ) in text
    assert "all of them above 50% here" in dataclasses.replace(report, busy=("D0", "D1")).narrative()
    assert "1 open deal is busy but not moving" in dataclasses.replace(report, busy=("D3",)).narrative()
    assert "none above 50% here" in dataclasses.replace(report, busy=("D3",)).narrative()


def test_the_busy_deals_are_those_pipeline_health_lists():
    log = sm.read_log(DEMO)
    report = stall_risk_report(log, as_of="2025-03-31", threshold=0.3)
    stuck = pipeline_health(log, as_of="2025-03-31").stuck_deals["deal_id"].astype("str")
    assert report.busy and set(report.busy) == set(stuck)
