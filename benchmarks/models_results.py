"""Reproduce every table and figure of docs/models.md: one command, a few minutes on 2 cores.

    .venv/bin/python benchmarks/models_results.py              # prints Markdown tables, writes docs/img/models_*.png
    .venv/bin/python benchmarks/models_results.py --quick      # smaller log, fewer bootstrap draws (a smoke run)

Each part writes what it prints into docs/models.md between its markers (``doc_markers``; blocks ``simulated``,
``truth``, ``importance``, ``survival``, ``ibm``, ``backtests``). ``--no-write`` only prints; the simulated and
IBM parts never write the page with ``--quick`` (their PNGs then go to a temp folder) nor with ``--img``
elsewhere than docs/img.

Parts:

1. Simulated log (known truth): stall and close models against the CRM baselines on a time-ordered split; the
   close model's AUC beside the AUC of the true win probabilities on the same test snapshots; grouped
   permutation importance (decision features against motion-volume features).
2. Survival on the same log: time to close by stage (Kaplan–Meier, Aalen–Johansen, deals open at 30 days),
   and the Cox model of the time to the next movement with its concordance on a time-ordered holdout.
3. IBM win-loss (``../shared/datasets/ibm_sales_win_loss``): 5-fold cross-validated ROC AUC, Brier score,
   accuracy and calibration of a calibrated gradient-boosting model, with and without the columns that leak the
   outcome, against the 0.774 accuracy of always predicting a loss. Skipped with a message when absent.
4. Rolling-origin backtests (``models_backtests.py``): ``salesmetrics model backtest``'s code on the demo log,
   every simulator scenario, Maven and Olist, the default model beside the CRM baselines and the alternative
   learners and calibrations; written between the markers of docs/models.md (``--part backtests``; ``--quick``
   uses smaller scenarios and two alternatives, and the doc says which mode wrote it).

Every random step is seeded and OpenMP runs one thread, so the numbers in docs/models.md are this script's output.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

# One OpenMP thread: gradient boosting's threads spin-wait when the cores are shared (ten times slower on a
# busy 2-core machine), and one thread gives the same numbers on every machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from salesmetrics.features.build import FEATURES, snapshots  # noqa: E402
from salesmetrics.models.baselines import FLAG_COLUMN, default_baselines  # noqa: E402
from salesmetrics.models.close import CloseLikelihood  # noqa: E402
from salesmetrics.models.evaluation import METRIC_LABELS, bootstrap_metrics, calibration_table, evaluate  # noqa: E402
from salesmetrics.models.stall import StallPredictor  # noqa: E402
from salesmetrics.models.survival import next_movement_cox, time_to_close  # noqa: E402
from salesmetrics.reports.study import FEATURE_GROUPS, grouped_permutation_importance  # noqa: E402
from salesmetrics.simulation.simulator import simulate  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_markers import write_blocks  # noqa: E402
from models_backtests import DOC, backtests_part  # noqa: E402

IMG = REPO / "docs" / "img"
TARGET_TITLES = {"stalled": "Stall within 30 days", "won": "Won eventually"}
IBM = REPO.parent / "shared" / "datasets" / "ibm_sales_win_loss" / "WA_Fn-UseC_-Sales-Win-Loss.csv"

#: IBM columns measured over the opportunity's whole, already closed life (docs/decisions/0019)
IBM_LEAKY = [
    "Elapsed Days In Sales Stage",
    "Sales Stage Change Count",
    "Total Days Identified Through Closing",
    "Total Days Identified Through Qualified",
    "Ratio Days Identified To Total Days",
    "Ratio Days Validated To Total Days",
    "Ratio Days Qualified To Total Days",
]
IBM_CATEGORICAL = ["Supplies Subgroup", "Supplies Group", "Region", "Route To Market", "Competitor Type"]


def markdown(frame: pd.DataFrame, floats: str = "{:.3f}", index: bool = False) -> str:
    """A GitHub Markdown table (no extra dependency)."""
    frame = frame.reset_index() if index else frame

    def cell(v):
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else floats.format(v)
        if isinstance(v, int | np.integer):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def section(title: str) -> None:
    """A heading of the printed output only (docs/models.md has its own headings around the blocks)."""
    print(f"\n## {title}\n", flush=True)


class Blocks:
    """What a part prints, kept per block of docs/models.md (``doc_markers``): each ``emit`` prints its text and
    adds it to the block being written, so the page holds exactly what the run printed."""

    def __init__(self) -> None:
        self.text: dict[str, list[str]] = {}
        self.current: str | None = None

    def start(self, name: str) -> None:
        self.current = name
        self.text[name] = []

    def emit(self, text: str = "") -> None:
        print(text, flush=True)
        self.text[self.current].append(text)

    def joined(self) -> dict[str, str]:
        return {name: "\n".join(lines) for name, lines in self.text.items()}


def save(fig, name: str, blocks: Blocks, alt: str) -> None:
    """Write the figure to IMG and emit its Markdown image (the path written is printed, not kept)."""
    IMG.mkdir(parents=True, exist_ok=True)
    path = IMG / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    blocks.emit(f"\n![{alt}](img/{name})")
    print(f"(written {shown})")


# --------------------------------------------------------------------------------------------- part 1: simulated


def true_probability(predictions: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """The simulator's true win probability of each test snapshot: its latest value at or before ``as_of``."""
    left = predictions[["deal_id", "as_of"]].reset_index().sort_values("as_of")
    right = truth[["deal_id", "at", "win_probability"]].sort_values("at")
    right["at"] = right["at"].astype(left["as_of"].dtype)
    merged = pd.merge_asof(left, right, left_on="as_of", right_on="at", by="deal_id", direction="backward")
    return merged.sort_values("index")["win_probability"].to_numpy()


def survival_names(column: str) -> str:
    """A readable header for a column of ``time_to_close(...).summary``."""
    fixed = {"group": "stage at 30 days", "km_median_days": "KM median age at close (days)"}
    if column in fixed:
        return fixed[column]
    if column.startswith("n_"):
        return column[2:]
    outcome, _, days = column.partition("_within_")
    return f"{outcome} ≤{days.removesuffix('d')} d" if days else column


IMPORTANCE_NAMES = {"auc_drop": "AUC drop", "sum_of_single_drops": "sum of single drops"}


def per_feature_permutation(model, X: pd.DataFrame, y: np.ndarray, n_repeats: int, seed: int) -> pd.DataFrame:
    """scikit-learn's permutation importance (ROC AUC) per feature, with the feature's group."""
    from sklearn.inspection import permutation_importance

    result = permutation_importance(model, X, y, scoring="roc_auc", n_repeats=n_repeats, random_state=seed, n_jobs=1)
    group_of = {f: g for g, cols in FEATURE_GROUPS.items() for f in cols}
    out = pd.DataFrame(
        {
            "feature": X.columns,
            "group": [group_of[f] for f in X.columns],
            "auc_drop": result.importances_mean,
            "sd": result.importances_std,
        }
    )
    return out.sort_values("auc_drop", ascending=False).reset_index(drop=True)


def simulated_part(args) -> dict[str, str]:
    """Part 1 and 2; returns the blocks of docs/models.md it printed (simulated, truth, importance, survival)."""
    section("1. Simulated log: models against the CRM baselines and against the truth")
    t0 = time.time()
    blocks = Blocks()
    blocks.start("simulated")
    sim = simulate(n_deals=args.deals, n_owners=args.owners, seed=args.seed, months=args.months)
    log = sim.log
    s = log.summary()
    blocks.emit(
        f"`simulate(n_deals={args.deals}, n_owners={args.owners}, seed={args.seed}, months={args.months})`: "
        f"{s.deals:,} deals, {s.won_deals:,} won, {s.lost_deals:,} lost, {s.open_deals:,} open at the end; "
        f"weekly snapshots, horizon 30 days; split: train before the cutoff (70% of the labelled snapshots), 30-day "
        f"gap, test after; {args.bootstrap} bootstrap draws of whole deals (95% intervals). "
        '"model, logistic learner" is the same estimator with `model="logistic"`, for reference.'
    )
    evaluations = {}
    for target, estimator, logistic in (
        ("stalled", StallPredictor(random_state=0), StallPredictor(model="logistic", random_state=0)),
        ("won", CloseLikelihood(random_state=0), CloseLikelihood(model="logistic", random_state=0)),
    ):
        # the three CRM baselines, and the same estimator with its logistic learner for reference
        baselines = {**default_baselines(FLAG_COLUMN), "model, logistic learner": logistic}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ev = evaluate(
                estimator, log, target=target, n_bootstrap=args.bootstrap, random_state=0, baselines=baselines
            )
        evaluations[target] = ev
        blocks.emit(f"\n**{TARGET_TITLES[target]}** (`evaluate(..., target={target!r})`): {ev._summary_line()}.\n")
        blocks.emit(markdown(ev.wide(), index=True))
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
        ev.plot(axes=axes)
        fig.suptitle(f"Simulated log, target '{target}': model and CRM baselines on the test snapshots")
        alt = f"{TARGET_TITLES[target]}: ROC, precision-recall and calibration of the model and the baselines"
        save(fig, f"models_{target}_evaluation.png", blocks, alt)

    # why the close model's probabilities run low in the test period: outcomes known at the test start
    ev = evaluations["won"]
    full = snapshots(log)
    known = snapshots(log, observed_until=ev.test_start)
    recent = lambda f: f[(f["as_of"] < ev.cutoff) & (f["as_of"] >= ev.cutoff - pd.Timedelta(days=60))]  # noqa: E731
    blocks.emit(
        f"\nTraining snapshots of the 60 days before the cutoff: {recent(known)['won'].astype('Float64').mean():.1%} "
        f"of those with an outcome known at the test start were won; {recent(full)['won'].astype('Float64').mean():.1%}"
        " once every outcome is known (end of the log)."
    )

    # the competing-risks option (decision 0028) on the same split: evaluate passes it the open training deals
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        competing = evaluate(
            CloseLikelihood(censoring="competing", random_state=0), log, target="won", n_bootstrap=0, baselines=None
        )
    same = competing.predictions[["deal_id", "as_of"]].equals(ev.predictions[["deal_id", "as_of"]])
    assert same, "the competing model must be scored on the same test snapshots"
    blocks.emit(
        f"\n`CloseLikelihood(censoring='competing')` on the same split: {competing.estimators['model'].censoring_}."
    )

    # the close model against the true win probabilities, on the same test snapshots
    pred = ev.predictions.assign(competing=competing.predictions["model"].to_numpy())
    truth = true_probability(pred, sim.truth.win_probability)
    ok = ~np.isnan(truth)
    scores = {
        "true win probability": truth[ok],
        "model (CloseLikelihood)": pred["model"].to_numpy()[ok],
        "model, censoring='competing'": pred["competing"].to_numpy()[ok],
        "model, logistic learner": pred["model, logistic learner"].to_numpy()[ok],
        "stage default rate": pred["stage default rate"].to_numpy()[ok],
    }
    table = bootstrap_metrics(pred["y"].to_numpy()[ok], scores, pred["deal_id"].to_numpy()[ok], args.bootstrap, 0)
    wide = table.assign(value=table.apply(lambda r: f"{r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]", axis=1)).pivot(
        index="model", columns="metric", values="value"
    )
    wide = wide.reindex(index=list(scores), columns=["roc_auc", "pr_auc", "brier", "lift_top_decile"])
    wide.columns = [METRIC_LABELS[c] for c in wide.columns]
    blocks.start("truth")
    corr = np.corrcoef(scores["true win probability"], scores["model (CloseLikelihood)"])[0, 1]
    mad = np.mean(np.abs(scores["true win probability"] - scores["model (CloseLikelihood)"]))
    blocks.emit(
        f"The close model against the truth, on the same test snapshots and their realised outcomes: "
        f"{ok.sum():,} test snapshots with a true probability; correlation of model and true probabilities "
        f"{corr:.3f}, mean absolute difference {mad:.3f}.\n"
    )
    blocks.emit(markdown(wide, index=True))
    calib = calibration_table(pred["y"].to_numpy()[ok], scores, n_bins=10)
    gaps = calib.assign(gap=(calib["mean_predicted"] - calib["observed_rate"]).abs() * calib["n"])
    level = pd.DataFrame(
        {
            "mean predicted": {name: float(np.mean(p)) for name, p in scores.items()},
            "observed rate": float(pred["y"].to_numpy()[ok].mean()),
            "mean true probability": float(truth[ok].mean()),
            "calibration error": gaps.groupby("model", sort=False)["gap"].sum() / ok.sum(),
        }
    ).rename_axis("scores")
    blocks.emit(
        "\nMean prediction against the observed rate and the mean true probability of the same rows; calibration "
        "error = mean |predicted - observed| over ten equal-width bins, weighted by rows:\n"
    )
    blocks.emit(markdown(level, index=True))
    fig, (ax_scatter, ax_cal) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    ax_scatter.scatter(scores["true win probability"], scores["model (CloseLikelihood)"], s=4, alpha=0.3)
    ax_scatter.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax_scatter.set_xlabel("True win probability (simulator)")
    ax_scatter.set_ylabel("Model probability (CloseLikelihood)")
    ax_scatter.set_title(f"Test snapshots: model vs truth (correlation {corr:.2f})")
    ax_cal.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    for name in scores:
        if name == "model, logistic learner":
            continue  # four lines are enough to read
        one = calib[calib["model"] == name]
        ax_cal.plot(one["mean_predicted"], one["observed_rate"], marker="o", label=name)
    ax_cal.set_xlabel("Mean predicted probability in the bin")
    ax_cal.set_ylabel("Observed share won")
    ax_cal.set_title("Calibration against realised outcomes")
    ax_cal.legend(fontsize="small")
    save(fig, "models_truth.png", blocks, "Model against true win probabilities, and calibration of the models")

    # which features carry the weight: permutation importance on the test snapshots
    blocks.start("importance")
    blocks.emit("Permutation importance on the test snapshots (drop in ROC AUC).\n")
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), layout="constrained")
    for ax, target in zip(axes, ("won", "stalled"), strict=True):
        ev = evaluations[target]
        model = ev.estimators["model"]
        full = snapshots(log)
        test = full.loc[full["as_of"] >= ev.test_start]
        test = test[test[target].notna()]
        X, y = test[list(FEATURES)], test[target].astype("float64").astype(int).to_numpy()
        grouped = grouped_permutation_importance(model, X, y, FEATURE_GROUPS, n_repeats=args.repeats)
        single = per_feature_permutation(model, X, y, args.repeats, 0)
        summed = single.groupby("group")["auc_drop"].sum().rename("sum_of_single_drops")
        grouped = grouped.join(summed, on="group")
        blocks.emit(f"Target `{target}`, {len(X):,} test snapshots, {args.repeats} shuffles per group:\n")
        blocks.emit(markdown(grouped.rename(columns=IMPORTANCE_NAMES)))
        blocks.emit(f"\nTop features (scikit-learn `permutation_importance`, target `{target}`):\n")
        blocks.emit(markdown(single.head(8).rename(columns=IMPORTANCE_NAMES)))
        blocks.emit()
        ax.barh(grouped["group"][::-1], grouped["auc_drop"][::-1], xerr=grouped["sd"][::-1], color="tab:blue")
        ax.set_xlabel("Drop in test ROC AUC when the group is shuffled")
        ax.set_title(f"Target '{target}': which features carry the weight")
    save(fig, "models_importance.png", blocks, "Grouped permutation importance for the close and the stall model")

    # ------------------------------------------------------------------------------------------- survival
    section("2. Survival on the simulated log")
    blocks.start("survival")
    ttc = time_to_close(log, by="stage", min_age_days=30)
    blocks.emit(
        "`time_to_close(log, by='stage', min_age_days=30)`: deals still open at 30 days, grouped by the stage they "
        f"were in then; left out: {', '.join(f'{n:,} {why}' for why, n in ttc.excluded.items())}. Probabilities "
        "of a win or a loss within 30, 90 and 180 days (empty: the horizon runs past the group's longest "
        "follow-up).\n"
    )
    blocks.emit(markdown(ttc.summary.rename(columns=survival_names)))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharex=True)
    ttc.plot(axes=axes)
    alt = "Time to close by stage at 30 days: Kaplan–Meier and cumulative incidence of won and lost"
    save(fig, "models_time_to_close.png", blocks, alt)

    frame = snapshots(log)
    cox = next_movement_cox(frame, gap_days=0)
    blocks.emit(
        f"\n`next_movement_cox(snapshots(log))`: trained on {cox.n_train:,} snapshots before "
        f"{cox.cutoff:%Y-%m-%d} (times censored there, {cox.events_train:,} movements), concordance "
        f"**{cox.concordance:.3f}** on {cox.n_test:,} later snapshots ({cox.events_test:,} movements); "
        f"{cox.concordance_train:.3f} on the training snapshots. Largest effects (per SD):\n"
    )
    blocks.emit(markdown(cox.coefficients.head(10)))
    fig, ax = plt.subplots(figsize=(8, 8))
    cox.plot(ax=ax)
    save(fig, "models_next_movement_cox.png", blocks, "Hazard ratios of the next movement per SD of each feature")
    print(f"\n(simulated part: {time.time() - t0:.0f} s)")
    return blocks.joined()


# ----------------------------------------------------------------------------------------------- part 3: IBM


def ibm_part(args) -> dict[str, str]:
    """Part 3; returns the block of docs/models.md it printed (none when the dataset is absent)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    section("3. IBM win-loss: cross-validated, with and without the leaking columns")
    if not IBM.is_file():
        print(f"Skipped: {IBM} is absent (the real datasets live beside the repository in ../shared/datasets).")
        return {}
    t0 = time.time()
    blocks = Blocks()
    blocks.start("ibm")
    data = pd.read_csv(IBM, keep_default_na=False)  # "None" is a Competitor Type, not a missing value
    if args.quick:
        data = data.sample(15000, random_state=0)
    y = (data["Opportunity Result"] == "Won").to_numpy(dtype=int)
    X = data.drop(columns=["Opportunity Number", "Opportunity Result"])
    for column in IBM_CATEGORICAL:
        X[column] = X[column].astype("category")
    majority = 1 - y.mean()
    blocks.emit(
        f"{len(data):,} opportunities, win rate {y.mean():.3f}: always predicting a loss is right {majority:.3f} "
        "of the time. Model: HistGradientBoostingClassifier (native categorical columns), isotonic calibration "
        "by 3-fold CalibratedClassifierCV inside each of 5 stratified folds; out-of-fold probabilities; "
        f"{args.bootstrap} bootstrap draws of opportunities for the intervals.\n"
    )
    blocks.emit("How well each leaking column alone ranks wins (ROC AUC of the raw value, either direction):\n")
    alone = []
    for column in IBM_LEAKY:
        auc = roc_auc_score(y, X[column])
        won, lost = X.loc[y == 1, column].median(), X.loc[y == 0, column].median()
        alone.append({"column": column, "auc_alone": max(auc, 1 - auc), "median_won": won, "median_lost": lost})
    alone_names = {"auc_alone": "ROC AUC alone", "median_won": "median, won", "median_lost": "median, lost"}
    blocks.emit(markdown(pd.DataFrame(alone).rename(columns=alone_names)))

    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    configs = {
        "all columns (leaking)": list(X.columns),
        "without the 7 leaking columns": [c for c in X.columns if c not in IBM_LEAKY],
        "also without Competitor Type": [c for c in X.columns if c not in [*IBM_LEAKY, "Competitor Type"]],
    }
    oof, rows = {}, []
    for name, columns in configs.items():
        model = CalibratedClassifierCV(
            HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0),
            method="isotonic",
            cv=3,
        )
        p = cross_val_predict(model, X[columns], y, cv=cv, method="predict_proba")[:, 1]
        oof[name] = p
        folds = [roc_auc_score(y[test], p[test]) for _, test in cv.split(X, y)]
        rows.append(
            {
                "columns": name,
                "n_columns": len(columns),
                "fold_auc_mean": float(np.mean(folds)),
                "fold_auc_sd": float(np.std(folds)),
                "accuracy_at_0.5": float(np.mean((p >= 0.5) == y)),
            }
        )
    table = bootstrap_metrics(y, oof, None, args.bootstrap, 0)
    wide = table.assign(value=table.apply(lambda r: f"{r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]", axis=1)).pivot(
        index="model", columns="metric", values="value"
    )
    wide = wide.reindex(index=list(configs), columns=["roc_auc", "pr_auc", "brier", "lift_top_decile"])
    wide.columns = [METRIC_LABELS[c] for c in wide.columns]
    summary = pd.DataFrame(rows).set_index("columns")
    summary = summary.join(wide)
    summary.loc["always 'loss' (majority class)"] = {
        "n_columns": 0,
        "accuracy_at_0.5": majority,
        "Brier score": f"{np.mean(y):.3f}",
        "ROC AUC": "0.500",
    }
    summary["n_columns"] = summary["n_columns"].astype(int)
    blocks.emit("\nOut-of-fold results (ROC AUC and the rest on all out-of-fold probabilities, with intervals):\n")
    names = {
        "n_columns": "columns",
        "fold_auc_mean": "ROC AUC, mean of 5 folds",
        "fold_auc_sd": "sd over folds",
        "accuracy_at_0.5": "accuracy at 0.5",
    }
    blocks.emit(markdown(summary.rename(columns=names).rename_axis("columns used"), index=True))

    calib = calibration_table(y, oof, n_bins=10)
    fig, (ax_cal, ax_bar) = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
    ax_cal.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    for name in configs:
        one = calib[calib["model"] == name]
        ax_cal.plot(one["mean_predicted"], one["observed_rate"], marker="o", label=name)
    ax_cal.set_xlabel("Mean predicted win probability in the bin (out of fold)")
    ax_cal.set_ylabel("Observed share won")
    ax_cal.set_title("IBM win-loss: calibration, 5-fold cross-validation")
    ax_cal.legend(fontsize="small")
    accuracy = [r["accuracy_at_0.5"] for r in rows]
    ax_bar.barh(list(configs)[::-1], accuracy[::-1], color="tab:blue")
    ax_bar.axvline(majority, color="tab:red", linestyle="--", label=f"always 'loss' ({majority:.3f})")
    ax_bar.set_xlim(0.7, 1.0)
    ax_bar.set_xlabel("Accuracy at a 0.5 threshold (out of fold)")
    ax_bar.set_title("Accuracy against always predicting a loss")
    ax_bar.legend(fontsize="small", loc="lower right")
    save(fig, "models_ibm.png", blocks, "IBM win-loss: calibration with and without the leaking columns, accuracy")
    print(f"\n(IBM part: {time.time() - t0:.0f} s)")
    return blocks.joined()


def writes_doc(args) -> bool:
    """Whether the simulated and IBM parts write docs/models.md: a full run whose figures went to docs/img (the
    page links there); never ``--quick`` nor ``--no-write``."""
    return args.write_doc and not args.quick and IMG.resolve() == (REPO / "docs" / "img").resolve()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small log and few bootstrap draws (smoke run)")
    parser.add_argument("--part", choices=["all", "simulated", "ibm", "backtests"], default="all")
    parser.add_argument(
        "--backtest-cache",
        type=Path,
        default=Path("/tmp/salesmetrics_backtests.csv"),
        help="CSV of the backtest figures per log, target, model and cutoff (written by each run)",
    )
    parser.add_argument("--reuse", action="store_true", help="backtests: read the cache instead of fitting again")
    parser.add_argument(
        "--logs",
        default="demo,simulated,real",
        help="backtests: which logs to fit (comma-separated: demo, simulated, real); the cache keeps the others",
    )
    parser.add_argument(
        "--no-write", dest="write_doc", action="store_false", help="print only, do not write docs/models.md"
    )
    parser.add_argument(
        "--img", type=Path, default=None, help="folder for the PNGs (default docs/img; --quick: a temp folder)"
    )
    args = parser.parse_args(argv)
    global IMG
    if args.img is not None:
        IMG = args.img
    elif args.quick:
        import tempfile

        IMG = Path(tempfile.mkdtemp(prefix="models_results_"))
    args.deals, args.owners, args.months, args.seed = (1500, 10, 18, 11) if args.quick else (6000, 30, 24, 11)
    args.bootstrap = 30 if args.quick else 200
    args.repeats = 2 if args.quick else 10
    started = time.time()
    print("# Results of benchmarks/models_results.py" + (" (--quick)" if args.quick else ""))
    blocks = {}
    if args.part in ("all", "simulated"):
        blocks.update(simulated_part(args))
    if args.part in ("all", "ibm"):
        blocks.update(ibm_part(args))
    if blocks and writes_doc(args):
        write_blocks(blocks, DOC)
    if args.part in ("all", "backtests"):
        section("4. Rolling-origin backtests on every log with dates")
        backtests_part(args)
    print(f"\nTotal {time.time() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
