"""``salesmetrics model train | evaluate | predict`` end to end on a small simulated log, and safe CSV output."""

from __future__ import annotations

import csv
import json
import zipfile

import pandas as pd
import pytest

from salesmetrics._util.csv_safe import escape_cell, safe_frame, write_csv
from salesmetrics.cli.main import main
from salesmetrics.exceptions import UsageError
from salesmetrics.models import read_model_card
from salesmetrics.simulation.simulator import simulate


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    """A simulated CSV log; one owner renamed to a formula, as a hostile CRM export might hold."""
    folder = tmp_path_factory.mktemp("cli") / "log"
    simulate(n_deals=400, n_owners=5, seed=9, months=8).write(folder, format="csv")
    deals = pd.read_csv(folder / "deals.csv", dtype=str)
    first = deals["owner"].iloc[0]
    deals["owner"] = deals["owner"].replace(first, '=HYPERLINK("http://x","y")')
    deals.to_csv(folder / "deals.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def stall_model(log_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "stall.skops"
    code = main(
        [
            "model",
            "train",
            str(log_dir),
            "--target",
            "stall",
            "--out",
            str(out),
            "--end",
            "2024-06-30",
            "--jobs",
            "1",
            "--min-closed",
            "100",
        ]
    )
    assert code == 0
    return out


def test_train_writes_model_and_card(stall_model, capsys):
    card = read_model_card(stall_model)
    assert card["model_class"] == "StallPredictor" and card["target"] == "stalled"
    window = card["training_window"]
    assert window["labels_until"].startswith("2024-06-30 23:59:59")
    # the last training rows are the last Sunday whose 30-day stall label is known by 30 June: 26 May
    assert window["last_as_of"].startswith("2024-05-26 23:59:59")
    assert card["snapshots"]["freq"] == "W" and card["source_log"].endswith("log")


def test_train_prints_summary_and_fallback_notice(log_dir, tmp_path, capsys):
    out = tmp_path / "won.skops"
    code = main(
        [
            "model",
            "train",
            str(log_dir),
            "--target",
            "won",
            "--out",
            str(out),
            "--model",
            "logistic",
            "--jobs",
            "1",
            "--min-closed",
            "1000",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0 and "Trained CloseLikelihood" in text and f"Wrote {out}" in text
    assert "NOTICE: Small-data fallback: only" in text and "min_closed=1000" in text
    assert json.loads(zipfile.ZipFile(out).read("model_card.json"))["model"] == "logistic (fallback)"


def test_train_won_with_competing_risks_records_it_in_the_card(log_dir, tmp_path, capsys):
    out = tmp_path / "won-competing.skops"
    args = ["model", "train", str(log_dir), "--target", "won", "--censoring", "competing", "--out", str(out)]
    assert main([*args, "--model", "logistic", "--jobs", "1", "--min-closed", "50"]) == 0
    card = json.loads(zipfile.ZipFile(out).read("model_card.json"))
    assert card["censoring"].startswith("competing risks")
    text = capsys.readouterr().out
    assert "rows of deals still open, used as at risk" in text and "left out" not in text
    with pytest.raises(SystemExit) as stopped:
        main(["model", "train", str(log_dir), "--target", "won", "--censoring", "sometimes", "--out", "x"])
    assert stopped.value.code == 2 and "invalid choice: 'sometimes'" in capsys.readouterr().err


def test_predict_writes_risks_with_reasons_sorted(log_dir, stall_model, tmp_path, capsys):
    out = tmp_path / "risks.csv"
    code = main(
        ["model", "predict", str(log_dir), "--model", str(stall_model), "--as-of", "2024-07-31", "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    assert "risk = the probability of a stall: no stage movement within" in capsys.readouterr().out
    risks = pd.read_csv(out)
    assert risks.columns[:2].tolist() == ["deal_id", "as_of"]
    assert {"p_stall", "risk", "reason_1", "reason_2", "reason_3"} <= set(risks.columns)
    assert risks["risk"].is_monotonic_decreasing and risks["as_of"].str.startswith("2024-07-31").all()
    for _, tied in risks.groupby("risk"):  # deals tied in risk by deal id: the same file whatever their order
        assert tied["deal_id"].is_monotonic_increasing
    assert risks["reason_1"].notna().mean() > 0.5
    assert "protective_1" in risks.columns and risks["protective_1"].notna().any()  # what keeps a deal moving
    # spreadsheet-safe: the formula-looking owner is written with a leading apostrophe
    with out.open(newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "@"))]
    assert '\'=HYPERLINK("http://x","y")' in cells


def test_predict_refuses_to_overwrite(log_dir, stall_model, tmp_path, capsys):
    out = tmp_path / "risks.csv"
    out.write_text("keep me")
    code = main(["model", "predict", str(log_dir), "--model", str(stall_model), "--out", str(out)])
    assert code == 2 and "already exists" in capsys.readouterr().err and out.read_text() == "keep me"
    assert main(["model", "predict", str(log_dir), "--model", str(stall_model), "--out", str(out), "--overwrite"]) == 0


def test_evaluate_after_the_training_window(log_dir, stall_model, tmp_path, capsys):
    out = tmp_path / "metrics.csv"
    code = main(["model", "evaluate", str(log_dir), "--model", str(stall_model), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "labelled snapshot rows" in text
    metrics = pd.read_csv(out).set_index("metric")["value"]
    assert metrics["first_as_of"] > "2024-06-30" and 0 <= float(metrics["auc"]) <= 1
    assert float(metrics["brier"]) < 0.5


def test_close_model_predicts_three_probabilities(log_dir, tmp_path, capsys):
    model = tmp_path / "close.skops"
    assert (
        main(
            [
                "model",
                "train",
                str(log_dir),
                "--target",
                "close",
                "--out",
                str(model),
                "--jobs",
                "1",
                "--min-closed",
                "100",
                "--model",
                "logistic",
            ]
        )
        == 0
    )
    out = tmp_path / "close.csv"
    assert main(["model", "predict", str(log_dir), "--model", str(model), "--out", str(out), "--reasons", "0"]) == 0
    table = pd.read_csv(out)
    assert {"p_won", "p_lost", "p_slipped", "risk"} <= set(table.columns) and "reason_1" not in table
    assert ((table["p_won"] + table["p_lost"] + table["p_slipped"]).round(6) == 1).all()


def test_usage_errors_exit_2(log_dir, tmp_path, capsys):
    foreign = tmp_path / "foreign.skops"
    foreign.write_bytes(b"not a zip")
    assert main(["model", "predict", str(log_dir), "--model", str(foreign), "--out", str(tmp_path / "o.csv")]) == 2
    assert "not a skops model file" in capsys.readouterr().err
    assert (
        main(
            [
                "model",
                "predict",
                str(log_dir),
                "--model",
                str(tmp_path / "none.skops"),
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["model", "train", str(log_dir), "--target", "forest", "--out", str(tmp_path / "m.skops")])
    assert exit_info.value.code == 2


def test_csv_safe_helpers(tmp_path):
    assert [escape_cell(v) for v in ("+1+1", "@a", "-x", "\tx", "ok", 3)] == ["'+1+1", "'@a", "'-x", "'\tx", "ok", 3]
    frame = pd.DataFrame({"=name": ["=1+1", None], "value": [-1.5, 2.0]})
    safe = safe_frame(frame)
    assert safe.columns.tolist() == ["'=name", "value"] and safe.iloc[0, 0] == "'=1+1" and pd.isna(safe.iloc[1, 0])
    path = write_csv(frame, tmp_path / "x.csv")
    assert path.read_text().splitlines() == ["'=name,value", "'=1+1,-1.5", ",2.0"]
    with pytest.raises(UsageError, match="already exists"):
        write_csv(frame, path)


# ------------------------------------------------------------------------------------------------ backtest


def _backtest(log_dir, *extra):
    cutoffs = [] if "--cutoffs" in extra else ["--cutoffs", "1"]  # one split keeps these tests cheap
    return main(
        ["model", "backtest", str(log_dir), "--bootstrap", "20", "--jobs", "1", "--min-closed", "50", *cutoffs, *extra]
    )


@pytest.mark.slow
def test_backtest_prints_model_beside_baselines_and_writes_outputs(log_dir, tmp_path, capsys):
    out, plot = tmp_path / "table.csv", tmp_path / "calibration.png"
    assert _backtest(log_dir, "--target", "won", "--censoring", "ipcw", "--out", str(out), "--plot", str(plot)) == 0
    text = capsys.readouterr().out
    assert "target 'won'" in text and "bootstrap draws of whole deals" in text
    assert "censoring: ipcw" in text  # the won model corrects for outcomes not yet known (ADR 0027)
    for name in ("model", "stage default rate", "days in stage > 30", "stalled-in-stage flag"):
        assert name in text
    # calibration beside the ranking metrics, the labelled share per test date, and which test dates were scored
    assert "Mean predicted" in text and "Observed" in text and "Calibration error" in text
    assert "Labelled share per test date: " in text and "complete follow-up only" in text
    table = pd.read_csv(out)
    assert set(table["follow_up"]) == {"complete"}
    assert list(table.columns[:5]) == ["model", "metric", "value", "ci_low", "ci_high"]
    assert table["model"].iloc[0] == "model" and set(table["target"]) == {"won"}
    auc = table[(table["model"] == "model") & (table["metric"] == "roc_auc")].iloc[0]
    assert auc.ci_low <= auc.value <= auc.ci_high and 0.5 < auc.value <= 1
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left behind


@pytest.mark.slow
def test_backtest_rolling_origin_prints_each_cutoff_and_the_spread(log_dir, capsys):
    assert _backtest(log_dir, "--target", "stall", "--horizon-days", "14", "--cutoffs", "2", "--bootstrap", "0") == 0
    text = capsys.readouterr().out
    assert "Rolling origin: 2 cutoffs" in text and "Mean ± standard deviation [lowest, highest]" in text
    assert "days in stage > 14" in text and "days in stage > 30" not in text  # the rule follows the horizon
    block = text.split("Rolling origin:")[1]
    assert block.count("  model: ROC AUC") == 1 and "Labelled share" in block


@pytest.mark.slow
def test_backtest_follow_up_choices_are_named_in_the_headline(log_dir, capsys):
    assert _backtest(log_dir, "--target", "won", "--follow-up", "ipcw", "--bootstrap", "0") == 0
    assert "weighted by the inverse labelled share of their date and stage (IPCW)" in capsys.readouterr().out
    assert _backtest(log_dir, "--target", "won", "--follow-up", "all", "--bootstrap", "0") == 0
    text = capsys.readouterr().out
    assert "every test date (" in text and "(left out)" not in text


def test_backtest_stall_logistic_with_cutoff(log_dir, capsys):
    assert _backtest(log_dir, "--target", "stall", "--model", "logistic", "--cutoff", "2024-06-01") == 0
    text = capsys.readouterr().out
    assert "target 'stalled'" in text and "before 2024-06-01" in text and "from 2024-07-01" in text


def test_backtest_refuses_overwrite_and_bad_arguments(log_dir, tmp_path, capsys):
    out = tmp_path / "table.csv"
    out.write_text("keep me")
    assert _backtest(log_dir, "--target", "won", "--out", str(out)) == 2
    assert out.read_text() == "keep me" and "--overwrite" in capsys.readouterr().err
    assert _backtest(log_dir, "--target", "won", "--plot", str(tmp_path / "c.gif")) == 2
    assert _backtest(log_dir, "--target", "won", "--out", str(log_dir / "new.csv")) == 2  # never inside the input
    assert not (log_dir / "new.csv").exists()
    assert _backtest(log_dir, "--target", "won", "--cutoff", "2030-01-01") == 2
    assert _backtest(log_dir, "--target", "won", "--cutoff", "not a date") == 2
    with pytest.raises(SystemExit):
        main(["model", "backtest", str(log_dir), "--target", "close"])


def test_backtest_refuses_a_log_without_dates_in_words(tmp_path, capsys):
    import dataclasses

    import salesmetrics as sm
    from salesmetrics.simulation.simulator import simulate

    log = simulate(n_deals=40, n_owners=2, seed=7, months=3).log
    last = log.stage_changes.sort_values("changed_at", kind="stable").groupby("deal_id")["stage"].last()
    deals = log.deals.assign(created_at=pd.NaT, snapshot_stage=log.deals["deal_id"].map(last))
    model = dataclasses.replace(log.model, history="partial")
    undated = sm.SalesLog.from_frames(model, deals, log.stage_changes.iloc[0:0], None, None)
    path = sm.write_log(undated, tmp_path / "win-loss", format="csv")
    assert main(["model", "backtest", str(path), "--target", "won"]) == 2
    err = capsys.readouterr().err
    assert "has no dated stage change, so it has no snapshots to backtest" in err and "--as-of" not in err
    # train and evaluate say the same, not prepare's generic "--as-of" advice
    assert main(["model", "train", str(path), "--target", "won", "--out", str(tmp_path / "m.skops")]) == 2
    err = capsys.readouterr().err
    assert "has no dated stage change, so it has no snapshots to train on" in err and "--as-of" not in err
    assert not (tmp_path / "m.skops").exists()
    dated = sm.write_log(log, tmp_path / "dated", format="csv")
    assert main(["model", "train", str(dated), "--target", "won", "--out", str(tmp_path / "m.skops"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["model", "evaluate", str(path), "--model", str(tmp_path / "m.skops")]) == 2
    err = capsys.readouterr().err
    assert "has no dated stage change, so it has no snapshots to evaluate on" in err and "--as-of" not in err


def test_include_adds_opt_in_features_and_refuses_the_others(tmp_path, capsys):
    import salesmetrics as sm

    log_dir = sm.write_log(simulate(n_deals=40, n_owners=2, seed=7, months=3).log, tmp_path / "log", format="csv")
    out = tmp_path / "m.skops"
    args = ["model", "train", str(log_dir), "--target", "stall", "--out", str(out), "--jobs", "1", "--quiet"]
    assert main([*args, "--include", "motion_trend"]) == 0
    features = read_model_card(out)["features"]
    assert "motion_trend" in features and "email_share" not in features  # only what was asked for (0064)
    with pytest.raises(SystemExit):
        main([*args, "--include", "amount", "--overwrite"])  # learned by default: not an opt-in feature
    assert "'amount' is not an opt-in feature; choose from all, email_share" in capsys.readouterr().err


def test_predict_writes_the_same_file_for_the_log_and_its_parts(log_dir, stall_model, tmp_path, capsys):
    """The deals of a partitioned log come part by part; deals tied in risk are written by deal id, so the file
    is the unsplit log's, byte for byte."""
    from salesmetrics.log.partition import partition_log

    parts = partition_log(log_dir, tmp_path / "parts", 4).folder
    written = []
    for log in (log_dir, parts):
        out = tmp_path / f"{log.name}.csv"
        command = ["model", "predict", str(log), "--model", str(stall_model), "--as-of", "2024-07-31"]
        assert main([*command, "--out", str(out)]) == 0, capsys.readouterr().err
        written.append(out.read_bytes())
    assert written[0] == written[1]
    assert pd.read_csv(tmp_path / "log.csv")["risk"].duplicated().any()  # ties are there to be ordered
