"""The rolling-origin backtest of every log the project can turn into dated snapshots (docs/models.md, issue 19).

The same code as ``salesmetrics model backtest LOG --cutoffs 3 --horizon-days 14`` (``rolling_origin``), run on
the demo log, every simulator scenario and every real dataset of ``../shared/datasets`` that an adapter turns
into a log with dates; the others are listed with the reason they are out. Each evaluation scores, on the same
test rows, the default model, the three CRM baselines and the alternative learners and calibrations measured
for the defaults (scikit-learn's own defaults as the reference), so every figure shares one split.

    .venv/bin/python benchmarks/models_results.py --part backtests            # every log, writes docs/models.md
    .venv/bin/python benchmarks/models_results.py --part backtests --quick    # smaller scenarios, fewer variants

The figures per log, target, model and cutoff are kept in a CSV (``--backtest-cache``) so that the tables can be
rewritten without fitting again (``--reuse``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from doc_markers import write_blocks

from salesmetrics._util.atomic import write_text_atomic
from salesmetrics.adapters.snapshot import import_snapshot
from salesmetrics.exceptions import UsageError
from salesmetrics.log.reading import read_log
from salesmetrics.models.baselines import FLAG_COLUMN, default_baselines
from salesmetrics.models.close import CloseLikelihood
from salesmetrics.models.rolling import rolling_origin, rolling_table
from salesmetrics.models.stall import StallPredictor
from salesmetrics.simulation.params import SCENARIOS
from salesmetrics.simulation.simulator import simulate

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
DOC = REPO / "docs" / "models.md"
HORIZON_DAYS = 14  # as in the issue-19 audit: Maven's pipeline moves in weeks
CUTOFFS = 3
MODEL = "model"  # evaluate's name for the estimator under test

#: Alternatives scored beside the default on the same split: name -> constructor options. The learner's own
#: scikit-learn defaults are the reference (HistGradientBoostingClassifier(), LogisticRegression(C=1)). Since
#: decision 0065 the default boosting has no calibration step; the sigmoid it had before is an alternative.
VARIANTS: dict[str, dict] = {
    "logistic learner (C=1)": {"model": "logistic"},
    "boosting, scikit-learn defaults": {
        "learning_rate": 0.1,
        "max_depth": None,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
    },
    "boosting, isotonic calibration": {"calibration": "isotonic"},
    "boosting, sigmoid on a held-out fifth (the default before 0065)": {"calibration": "sigmoid"},
    "with the activity-mix features": {"include": "all"},  # opt-in since decision 0064
}
QUICK_VARIANTS = ("logistic learner (C=1)", "boosting, scikit-learn defaults", "with the activity-mix features")
KINDS = ("demo", "simulated", "real")

#: Datasets of ../shared/datasets that give no dated snapshot, and why (checked where an adapter exists).
OUT = {
    "ibm_sales_win_loss": "no date at all (lifetime aggregates per closed opportunity); the adapter's log has no "
    "dated stage change",
    "uci_bank_marketing": "a call's day and month without a year, one row per contact: no dated stage change",
    "x_education_leads": "no date column (one row per lead with visit counts and the outcome)",
}


@dataclass(frozen=True)
class LogCase:
    """One log of the backtest: its name in the tables, what it is, and how it was made."""

    name: str
    kind: str  # "demo", "simulated" or "real"
    made_by: str


def logs(quick: bool, kinds=KINDS):
    """(case, log) for every log with dates of ``kinds``: the demo, each scenario, Maven and Olist."""
    if "demo" in kinds:
        yield LogCase("demo", "demo", "datasets/demo (2,000 deals)"), read_log(REPO / "datasets" / "demo")
    deals, owners, months = (600, 8, 12) if quick else (1500, 15, 18)
    for scenario in SCENARIOS if "simulated" in kinds else ():
        made = f"simulate(n_deals={deals}, n_owners={owners}, seed=7, months={months}, scenario={scenario!r})"
        sim = simulate(n_deals=deals, n_owners=owners, seed=7, months=months, scenario=scenario)
        yield LogCase(f"sim {scenario}", "simulated", made), sim.log
    real = (("Maven", "maven", "maven_crm_sales"), ("Olist", "olist", "olist_marketing_funnel"))
    for name, preset, folder in real if "real" in kinds else ():
        path = DATASETS / folder
        if not path.is_dir():
            print(f"{name}: {path} is absent, left out")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the adapter's notes on what the export lacks
            log = import_snapshot(path, preset=preset)
        yield LogCase(name, "real", f"import_snapshot('{folder}', preset='{preset}')"), log


def check_out() -> dict[str, str]:
    """The datasets that are out, with the reason; IBM's is checked through its adapter."""
    reasons = dict(OUT)
    ibm = DATASETS / "ibm_sales_win_loss"
    if ibm.is_dir():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            log = import_snapshot(ibm, preset="ibm")
        if log.stage_changes["changed_at"].notna().any():  # the reason above would be wrong: say so
            reasons["ibm_sales_win_loss"] = "has dated stage changes now: add it to the backtest"
    return reasons


def estimators(target: str, variants) -> tuple[object, dict[str, object]]:
    """The default estimator for ``target`` and the alternatives to score beside it (name -> estimator)."""
    if target == "stall":
        make = partial(StallPredictor, horizon_days=HORIZON_DAYS, random_state=0, n_jobs=1)
    else:
        make = partial(CloseLikelihood, random_state=0, n_jobs=1)
    return make(), {name: make(**VARIANTS[name]) for name in variants}


def backtest(log, target: str, variants) -> pd.DataFrame:
    """``rolling_origin`` of the default model with the CRM baselines and the variants on the same splits: one
    row per cutoff and model with ROC AUC, Brier score, calibration error, labelled share, mean predicted and
    observed rate."""
    default, alternatives = estimators(target, variants)
    baselines = {**default_baselines(FLAG_COLUMN, horizon_days=HORIZON_DAYS), **alternatives}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-data notices and left-out early origins: the table shows them
        origins = rolling_origin(
            default,
            log,
            CUTOFFS,
            target="stalled" if target == "stall" else "won",
            n_bootstrap=0,
            random_state=0,
            baselines=baselines,
            snapshot_options={"horizon_days": HORIZON_DAYS},
        )
    table = rolling_table(origins)
    calibration = pd.concat(
        ev.calibration_summary().assign(cutoff=ev.cutoff)[["cutoff", "model", "mean_predicted", "observed_rate"]]
        for ev in origins
    )
    return table.merge(calibration, on=["cutoff", "model"], how="left")


def run(quick: bool, cache: Path, reuse: bool, kinds=KINDS) -> pd.DataFrame:
    """The logs of ``kinds``, both targets; the figures merged into ``cache`` (the rows of other logs kept, so the
    kinds can run one at a time), or read back from it with ``reuse``."""
    if reuse and cache.is_file():
        print(f"Reusing {cache} (no fitting)")
        return pd.read_csv(cache)
    variants = QUICK_VARIANTS if quick else tuple(VARIANTS)
    parts = []
    for case, log in logs(quick, kinds):
        for target in ("stall", "won"):
            try:
                table = backtest(log, target, variants)
            except UsageError as exc:  # a refusal (no labelled row, one class): said in the table
                reason = str(exc).split("; ")[0].rstrip(".")
                print(f"{case.name}, {target}: refused: {reason}", flush=True)
                table = pd.DataFrame({"model": [MODEL], "refused": [reason]})
            parts.append(table.assign(log=case.name, kind=case.kind, made_by=case.made_by, target=target))
            best = table[table["model"] == MODEL].get("roc_auc", pd.Series(dtype=float))
            if best.notna().any():
                print(f"{case.name}, {target}: model ROC AUC over the cutoffs {best.round(3).tolist()}", flush=True)
    out = pd.concat(parts, ignore_index=True).assign(mode="quick" if quick else "full")
    out["cutoff"] = out["cutoff"].astype("str")
    if cache.is_file():  # keep the other logs' rows, in the order of KINDS
        kept = pd.read_csv(cache)
        out = pd.concat([kept[~kept["log"].isin(set(out["log"]))], out], ignore_index=True)
        out = out.sort_values("kind", key=lambda k: k.map(KINDS.index), kind="stable").reset_index(drop=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(cache, out.to_csv(index=False))
    print(f"Wrote {cache}")
    return out


# ------------------------------------------------------------------------------------------------ tables


def _spread(values: pd.Series) -> str:
    values = values.dropna()
    if not len(values):
        return ""
    if len(values) == 1:
        return f"{values.iloc[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def side_by_side(results: pd.DataFrame, target: str, models) -> str:
    """One Markdown row per log and model: ROC AUC over the cutoffs, and at the last cutoff the Brier score,
    mean predicted, observed rate, calibration error and labelled share."""
    lines = [
        "| log | model | ROC AUC, mean ± sd over the cutoffs | Brier (last cutoff) | mean predicted | observed | "
        "calibration error | labelled share scored |",
        "|---|---|---|---|---|---|---|---|",
    ]
    part = results[results["target"] == target]
    for name, rows in part.groupby("log", sort=False):
        if "refused" in rows and rows["refused"].notna().any():
            reason = str(rows["refused"].dropna().iloc[0]).split(": ")[0]  # the first clause says it
            lines.append(f"| {name} | refused: {reason} | | | | | | |")
            continue
        last = rows[rows["cutoff"] == rows["cutoff"].max()].set_index("model")
        shown = name
        for model in models(rows):
            if model not in last.index:
                continue
            r = last.loc[model]
            auc = _spread(rows.loc[rows["model"] == model, "roc_auc"])
            lines.append(
                f"| {shown} | {'model (default)' if model == MODEL else model} | {auc} | {r['brier']:.3f} | "
                f"{r['mean_predicted']:.3f} | {r['observed_rate']:.3f} | {r['calibration_error']:.3f} | "
                f"{r['labelled_share']:.0%} |"
            )
            shown = ""
    return "\n".join(lines)


def crm_models(rows: pd.DataFrame) -> list[str]:
    """The default model and the CRM baselines, in the order evaluated."""
    return [m for m in rows["model"].drop_duplicates() if m not in VARIANTS]


def variants_table(results: pd.DataFrame) -> str:
    """Per log and target, ROC AUC (mean over the cutoffs) and calibration error (mean) of the default and each
    variant; then how often each variant is at least as good as the default."""
    present = [v for v in VARIANTS if v in set(results["model"])]
    ok = results[results.get("refused", pd.Series(index=results.index, dtype=object)).isna()]
    mean = ok.groupby(["target", "log", "model"], sort=False)[["roc_auc", "calibration_error", "brier"]].mean()
    header = "| target | log | default: ROC AUC / calib. error | " + " | ".join(present) + " |"
    lines = [header, "|---|---|---|" + "---|" * len(present)]
    tally = {v: [] for v in present}  # per log-target: (AUC, calibration error, Brier) minus the default's
    for (target, log), rows in mean.groupby(level=[0, 1], sort=False):
        rows = rows.droplevel([0, 1])
        if MODEL not in rows.index:
            continue
        d = rows.loc[MODEL]
        cells = [f"{d['roc_auc']:.3f} / {d['calibration_error']:.3f}"]
        for v in present:
            if v not in rows.index or np.isnan(rows.loc[v, "roc_auc"]):
                cells.append("")
                continue
            r = rows.loc[v]
            cells.append(f"{r['roc_auc']:.3f} / {r['calibration_error']:.3f}")
            tally[v].append(
                (r["roc_auc"] - d["roc_auc"], r["calibration_error"] - d["calibration_error"], r["brier"] - d["brier"])
            )
        lines.append(f"| {target} | {log} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Against the default, over every log and target (differences: variant minus default; mean over the cutoffs):",
        "",
        "| variant | log-targets | ROC AUC within 0.005 or above | ROC AUC lower by more than 0.01 | mean ROC AUC "
        "difference | calibration error as low or lower | mean calibration error difference | Brier as low or "
        "lower | mean Brier difference |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v, diffs in tally.items():
        if not diffs:
            continue
        auc, calib, brier = (np.array(col) for col in zip(*diffs, strict=True))
        lines.append(
            f"| {v} | {len(auc)} | {int((auc >= -0.005).sum())} | {int((auc < -0.01).sum())} | {auc.mean():+.3f} | "
            f"{int((calib <= 0).sum())} | {calib.mean():+.3f} | {int((brier <= 0).sum())} | {brier.mean():+.4f} |"
        )
    return "\n".join(lines)


def markdown(results: pd.DataFrame, quick: bool, out_reasons: dict[str, str]) -> str:
    """The Markdown written between the markers of docs/models.md."""
    made = results.drop_duplicates("log")[["log", "made_by"]]
    modes = set(results["mode"]) if "mode" in results else {"quick" if quick else "full"}  # what made the cache
    quick_words = "`--quick` (scenarios of 600 deals over 12 months, three variants)"
    mode = "the full run" if modes == {"full"} else quick_words if modes == {"quick"} else "full and quick runs mixed"
    text = [
        f"Written by `benchmarks/models_results.py --part backtests` ({mode}); the same code as `salesmetrics "
        f"model backtest LOG --target stall|won --horizon-days {HORIZON_DAYS} --cutoffs {CUTOFFS}` "
        "(complete follow-up, the default), with no bootstrap (the spread over the cutoffs is the uncertainty "
        "shown). Logs: " + "; ".join(f"{r.log}: {r.made_by}" for r in made.itertuples()) + ".",
        "",
        "Out, with the reason: " + "; ".join(f"`{k}`: {v}" for k, v in out_reasons.items()) + ".",
        "",
        f"**Stall within {HORIZON_DAYS} days** (a loss counts as a movement):",
        "",
        side_by_side(results, "stall", crm_models),
        "",
        "**Won** (`CloseLikelihood`, deals whose outcome is known by the test start):",
        "",
        side_by_side(results, "won", crm_models),
        "",
        "**Alternatives on the same splits** (ROC AUC / calibration error, each the mean over the cutoffs). The "
        "default is the regularised boosting with no calibration step, its trees fitted on every training row "
        "(decision 0065); scikit-learn's own defaults are `HistGradientBoostingClassifier()`, also with no "
        "calibration step, and `LogisticRegression(C=1)` after the same scaling, with a sigmoid fitted on a "
        "held-out fifth of the deals (the logistic learner's `auto`); the calibrated boosting variants are "
        "fitted on four fifths of the deals and calibrated on the fifth held out:",
        "",
        variants_table(results),
    ]
    return "\n".join(text)


def backtests_part(args) -> None:
    """Run (or reuse) every backtest, print the tables, and write them into docs/models.md."""
    results = run(args.quick, args.backtest_cache, args.reuse, tuple(args.logs.split(",")))
    text = markdown(results, args.quick, check_out())
    print(text)
    if args.write_doc:
        write_blocks({"backtests": text}, DOC)
