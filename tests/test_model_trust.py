"""Checks that keep a model from being trusted when it should not be (decision 0030): an outcome leak, another
stage model, in-sample evaluation, as-of dates outside the log, bad fit options, and the advice errors give."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

import salesmetrics as sm
from salesmetrics.cli.main import main
from salesmetrics.exceptions import DataNote, UsageError
from salesmetrics.features.build import snapshots
from salesmetrics.features.registry import DEFAULT_FEATURES
from salesmetrics.models import CloseLikelihood, StallPredictor, evaluate, save_model
from salesmetrics.models.persistence import read_model_card
from salesmetrics.reports.stall_risk import stall_risk_report

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "datasets" / "demo"
NOTEBOOK = REPO / "salesmetrics" / "reports" / "notebooks" / "stall_risk.ipynb"


@pytest.fixture(scope="module")
def demo_log():
    return sm.read_log(DEMO)


@pytest.fixture(scope="module")
def monthly(demo_log):
    return snapshots(demo_log, freq="M")


def _leaky(snap: pd.DataFrame, label: str) -> pd.DataFrame:
    """``amount`` filled only for the rows whose label is 1: what an export that fills it only for wins does."""
    out = snap.assign(amount=snap["amount"].where(snap[label].astype("Float64").fillna(0).to_numpy() == 1))
    out.attrs.update(snap.attrs)
    return out


def _fit(estimator, frame):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(frame)
    return [str(w.message) for w in caught if issubclass(w.category, DataNote)]


# ------------------------------------------------------------------------------------------ 1. outcome leaks


def test_a_feature_missing_exactly_for_lost_deals_is_named_as_a_leak(monthly):
    model = CloseLikelihood(model="logistic", n_jobs=1, random_state=0)
    notes = _fit(model, _leaky(monthly, "won"))
    assert [e["feature"] for e in model.leaky_features_] == ["amount"]
    assert model.leaky_features_[0]["auc"] == 1.0 and model.leaky_features_[0]["by"] == "missing"
    assert len(notes) == 1
    assert "amount alone separates the 'won' label" in notes[0]
    assert "ROC AUC 1.000" in notes[0] and "it probably leaks the outcome; check how the export fills it" in notes[0]


def test_the_demo_log_has_no_leak_and_the_threshold_is_a_parameter(monthly):
    model = StallPredictor(model="logistic", n_jobs=1, random_state=0)
    assert _fit(model, monthly) == [] and model.leaky_features_ == []
    # days past the close date ranks stalls at about 0.6 alone: a threshold that low names it
    low = StallPredictor(model="logistic", n_jobs=1, random_state=0, leak_auc=0.55)
    assert _fit(low, monthly) and low.leaky_features_
    off = CloseLikelihood(model="logistic", n_jobs=1, leak_auc=None)
    assert _fit(off, _leaky(monthly, "won")) == [] and off.leaky_features_ == []


def test_exclude_leaves_the_feature_out_and_the_card_records_it(monthly, tmp_path):
    model = CloseLikelihood(model="logistic", n_jobs=1, random_state=0, exclude=["amount"])
    assert _fit(model, _leaky(monthly, "won")) == []
    assert model.n_features_in_ == len(DEFAULT_FEATURES) - 1 and "amount" not in model.feature_names_in_
    assert model.predict_proba(monthly.head(3)).shape == (3, 2)
    card = read_model_card(save_model(model, tmp_path / "m.skops"))
    assert card["excluded_features"] == ["amount"] and card["leaky_features"] == [] and card["leak_warning"] is None
    leaky = CloseLikelihood(model="logistic", n_jobs=1, random_state=0)
    _fit(leaky, _leaky(monthly, "won"))
    card = read_model_card(save_model(leaky, tmp_path / "leaky.skops"))
    assert card["leaky_features"][0]["feature"] == "amount" and "leaks the outcome" in card["leak_warning"]


def test_exclude_names_are_checked_with_close_matches(monthly):
    with pytest.raises(UsageError, match="'amout', which is not a snapshot feature; did you mean amount"):
        StallPredictor(exclude=["amout"], n_jobs=1).fit(monthly)


@pytest.mark.slow
def test_cli_backtest_warns_and_exclude_removes_the_leak(tmp_path, capsys):
    code = main(
        [
            "model",
            "backtest",
            str(DEMO),
            "--target",
            "won",
            "--bootstrap",
            "5",
            "--jobs",
            "1",
            "--model",
            "logistic",
            "--exclude",
            "amount",
            "--exclude",
            "owner_closed",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "left out: amount, owner_closed" in out.out and "WARNING" not in out.out
    with pytest.raises(SystemExit) as exc:  # argparse: a usage error
        main(["model", "backtest", str(DEMO), "--target", "won", "--exclude", "amout"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "'amout' is not a snapshot feature; did you mean amount?" in err


def test_stall_risk_narrative_says_first_that_the_ranking_is_not_to_be_trusted(demo_log, monthly, tmp_path):
    model = StallPredictor(model="logistic", n_jobs=1, random_state=0)
    _fit(model, _leaky(monthly, "stalled"))
    path = save_model(model, tmp_path / "leaky.skops")
    report = stall_risk_report(demo_log, as_of="2024-06-30", model_path=path)
    text = report.narrative()
    assert text.startswith("Do not trust this ranking: amount alone separates the training labels")
    assert "it probably leaks the outcome" in text


def test_stall_risk_exclude_is_checked_and_passed_on(demo_log):
    with pytest.raises(UsageError, match="did you mean amount"):
        stall_risk_report(demo_log, as_of="2024-06-30", exclude="amout")
    report = stall_risk_report(demo_log, as_of="2024-06-30", model="logistic", freq="M", exclude="amount")
    assert report.source.excluded == ("amount",) and "Left out on purpose: amount." in report.narrative()


# ------------------------------------------------------------------------------------- 2. stall_risk polish


def test_reasons_are_shown_in_full_and_ties_are_said(demo_log):
    report = stall_risk_report(demo_log, as_of="2024-06-30", model="logistic", freq="M")
    full = report.table()["top_reasons"]
    longest = max(full, key=len)
    assert len(longest) > 50 and longest in report._repr_html_()
    d = report.deals.copy()
    d.loc[:4, "risk"] = 0.36  # five deals tied at the top
    tied = report.__class__(**{**report.__dict__, "deals": d})
    assert "The top 5 deals are tied at 36%" in tied.narrative()
    assert (
        "tied at" not in report.narrative()
        or report.deals["risk"].round(3).iloc[1] == report.deals["risk"].round(3).iloc[0]
    )


def test_notebook_links_the_models_doc_and_shows_reasons_in_full():
    nb = json.loads(NOTEBOOK.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "docs/models-estimators.md" not in text and "models guide (docs/models.md in the source)" in text
    assert (REPO / "docs" / "models.md").is_file()
    assert "readable(report.table()" in text  # tables.readable writes every cell in full (never cut at 50)
    from salesmetrics.reports.tables import readable

    reasons = "; ".join(["close date pushed 3 times", "no stage movement for 45 days"] * 4)
    assert readable(pd.DataFrame({"top_reasons": [reasons]})).cells == [[reasons]]
    assert sum("parameters" in c.get("metadata", {}).get("tags", []) for c in nb["cells"]) == 1
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


# ------------------------------------------------------------------------------------------ 3. stage model


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory, monthly):
    model = StallPredictor(model="logistic", n_jobs=1, random_state=0)
    _fit(model, monthly)
    return save_model(model, tmp_path_factory.mktemp("m") / "stall.skops")


def test_predict_and_evaluate_refuse_another_stage_model(demo_model, tiny_log_dir, tmp_path, capsys):
    for action in (["predict", "--out", str(tmp_path / "p.csv")], ["evaluate", "--since", "2024-01-01"]):
        code = main(["model", action[0], str(tiny_log_dir), "--model", str(demo_model), *action[1:]])
        err = capsys.readouterr().err
        assert code == 2, err
        assert "was trained on another stage model" in err
        assert "open stages Lead > Qualified > Discovery > Proposal > Negotiation > Commit (model)" in err
        assert "Lead > Qualified > Proposal > Commit (log)" in err and "--ignore-stage-model" in err
    assert not (tmp_path / "p.csv").exists()
    code = main(
        [
            "model",
            "predict",
            str(tiny_log_dir),
            "--model",
            str(demo_model),
            "--out",
            str(tmp_path / "p.csv"),
            "--ignore-stage-model",
        ]
    )
    assert code == 0, capsys.readouterr().err


# --------------------------------------------------------------------------------------- 4. in-sample scores


def test_evaluate_inside_the_training_window_says_how_many_rows(tmp_path, capsys):
    model_file = tmp_path / "stall.skops"
    code = main(
        [
            "model",
            "train",
            str(DEMO),
            "--target",
            "stall",
            "--model",
            "logistic",
            "--freq",
            "M",
            "--end",
            "2024-12-31",
            "--jobs",
            "1",
            "--out",
            str(model_file),
        ]
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["model", "evaluate", str(DEMO), "--model", str(model_file), "--since", "2024-06-01"])
    err = capsys.readouterr().err
    assert code == 0
    note = re.search(r"note: ([\d,]+) of the ([\d,]+) evaluated snapshot rows have as-of dates inside", err)
    assert note, err
    assert "--since 2024-12-31 or later" in err


def test_evaluate_target_follows_the_estimator(monthly):
    ev = evaluate(
        CloseLikelihood(model="logistic", n_jobs=1), monthly, n_bootstrap=0, baselines=None, train_snapshots=monthly
    )
    assert ev.target == "won"
    with pytest.raises(UsageError, match="target='stalled' does not match the CloseLikelihood, which learns 'won'"):
        evaluate(CloseLikelihood(n_jobs=1), monthly, target="stalled", n_bootstrap=0)


# ------------------------------------------------------------------------------------- 5. as-of out of range


def test_predict_before_the_log_refuses_and_long_after_notes(demo_model, tmp_path, capsys):
    out = tmp_path / "p.csv"
    code = main(["model", "predict", str(DEMO), "--model", str(demo_model), "--out", str(out), "--as-of", "2020-01-01"])
    err = capsys.readouterr().err
    assert code == 2 and "before the log's first stage change (2024-01-01)" in err, err
    assert not out.exists()
    code = main(["model", "predict", str(DEMO), "--model", str(demo_model), "--out", str(out), "--as-of", "2027-01-01"])
    err = capsys.readouterr().err
    assert code == 0 and "note:" in err and "features are extrapolated past the data" in err


# ------------------------------------------------------------------------------------------ 6. fit options


@pytest.mark.parametrize(
    "option",
    [["--jobs", "0"], ["--min-closed", "-1"], ["--random-state", "-3"], ["--jobs", "x"], ["--leak-auc", "0.3"]],
)
@pytest.mark.parametrize("action", ["train", "backtest"])
def test_bad_fit_options_are_usage_errors(action, option, tmp_path, capsys):
    extra = ["--out", str(tmp_path / "m.skops")] if action == "train" else []
    try:
        code = main(["model", action, str(DEMO), "--target", "stall", *extra, *option])
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "InvalidParameterError" not in err
    assert option[0] in err


# ---------------------------------------------------------------------------------------------- 7. advice


def test_no_closed_deal_says_so(demo_log):
    snap = snapshots(demo_log, freq="M", observed_until="2024-01-15")
    assert not snap["outcome"].isin(["won", "lost"]).any()
    with pytest.raises(UsageError, match=r"No deal in the snapshots reached a won or lost stage \(Won, Lost\)"):
        CloseLikelihood(n_jobs=1).fit(snap)


def test_train_end_before_the_log_names_its_first_event(tmp_path, capsys):
    code = main(
        ["model", "train", str(DEMO), "--target", "stall", "--end", "2023-01-01", "--out", str(tmp_path / "m.skops")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--end 2023-01-01 is before the log's first stage change (2024-01-01)" in err, err


def test_leak_check_on_a_sample_still_finds_the_leak_and_counts_every_row():
    # beyond max_rows a fixed random sample is ranked (a million rows of 27 features took 12 s, as long as the fit)
    import numpy as np

    from salesmetrics.models._base import leaky_features

    rng = np.random.default_rng(1)
    y = (rng.random(5_000) < 0.3).astype(int)
    leak = np.where(y == 1, rng.uniform(1, 2, len(y)), np.nan)
    noise = rng.normal(size=len(y))
    hits = leaky_features(np.c_[noise, leak], y, ["noise", "leak"], "stalled", max_rows=500)
    assert [(h["feature"], h["auc"], h["by"], h["rows"]) for h in hits] == [("leak", 1.0, "missing", 5_000)]
    again = leaky_features(np.c_[noise, leak], y, ["noise", "leak"], "stalled", max_rows=500)
    assert again == hits  # the sample is fixed: the same table gives the same answer
