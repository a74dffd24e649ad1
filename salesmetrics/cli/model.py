"""``salesmetrics model train | evaluate | predict | backtest``: the command line over snapshots and the estimators.

Thin: each action reads the log, builds :func:`salesmetrics.snapshots`, and calls the estimator, persistence
and reasons functions. Outputs are written atomically and never replace a file without ``--overwrite``; CSV files
are safe to open in a spreadsheet (:mod:`salesmetrics._util.csv_safe`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from salesmetrics._util.output import check_output_file
from salesmetrics._util.suggest import close_matches
from salesmetrics.cli.flags import add_cluster, add_log, add_overwrite, add_quiet, on_cluster, say
from salesmetrics.cli.model_inputs import (
    as_of_moment,
    check_as_of,
    check_window,
    included,
    note_in_sample,
    opt_in_feature,
    read_here,
    require_dates,
    stage_model,
)
from salesmetrics.exceptions import DataNote, UsageError
from salesmetrics.features.registry import OPT_IN
from salesmetrics.models import LEAK_AUC

TARGETS = {"stall": "stalled", "won": "won", "close": "close_outcome"}
BACKTEST_TARGETS = ("stall", "won")
MAX_SEED = 2**32 - 1  # scikit-learn's largest integer random_state


def _whole(low: int, high: int | None = None, what: str = "a whole number"):
    """An argparse type: a whole number from ``low`` (to ``high``); anything else is a usage error (exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give {what}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range; give {what}")
        return value

    return parse


def _leak_auc(text: str) -> float:
    """An argparse type: a ROC AUC above 0.5 and at most 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a ROC AUC such as 0.98") from None
    if not 0.5 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value:g} is out of range; give a ROC AUC above 0.5 and at most 1")
    return value


def _feature(text: str) -> str:
    """An argparse type: a snapshot feature name (close matches suggested)."""
    from salesmetrics.features.build import FEATURES

    if text in FEATURES:
        return text
    near = close_matches(text, FEATURES)
    hint = f"did you mean {' or '.join(near)}?" if near else f"choose from {', '.join(FEATURES)}"
    raise argparse.ArgumentTypeError(f"{text!r} is not a snapshot feature; {hint}")


def _fit_options(p) -> None:
    """``--min-closed --random-state --jobs --exclude --leak-auc`` of ``train`` and ``backtest``."""
    p.add_argument(
        "--min-closed",
        type=_whole(0, what="0 or more closed deals"),
        default=200,
        help="fewer closed deals: regularised fallback (default 200)",
    )
    _censoring_option(p)
    p.add_argument(
        "--random-state", type=_whole(0, MAX_SEED, f"a seed from 0 to {MAX_SEED}"), default=0, help="seed (default 0)"
    )
    p.add_argument("--jobs", type=_whole(1, what="1 or more threads"), help="threads for fitting (default: every core)")
    p.add_argument(
        "--exclude",
        metavar="FEATURE",
        type=_feature,
        action="append",
        help="leave this snapshot feature out of the model (repeat for more), e.g. one that leaks the outcome",
    )
    p.add_argument(
        "--include",
        metavar="FEATURE",
        type=opt_in_feature,
        action="append",
        help="learn from this opt-in snapshot feature too (repeat for more; 'all' for every one), e.g. "
        "motion_trend (decision 0064)",
    )
    p.add_argument(
        "--leak-auc",
        type=_leak_auc,
        default=LEAK_AUC,
        help="warn when one feature alone reaches this ROC AUC on the training labels (default 0.98; decision 0030)",
    )


def register(subparsers) -> None:
    """Add the ``model`` command and its actions to the main parser's subparsers."""
    model = subparsers.add_parser("model", help="train, evaluate and apply stall and close-likelihood models")
    actions = model.add_subparsers(dest="model_action", metavar="ACTION", parser_class=type(model))
    model.set_defaults(func=_missing_action(model))

    p = actions.add_parser("train", help="fit a model on a log's snapshots and save it (skops + model card)")
    add_log(p)
    p.add_argument("--target", choices=tuple(TARGETS), required=True, help="stall, won, or close (won/lost/slipped)")
    p.add_argument("--out", type=Path, required=True, help="model file to write (.skops)")
    p.add_argument("--model", choices=("hgb", "logistic"), default="hgb", help="learner (default hgb)")
    p.add_argument("--horizon-days", type=float, default=30, help="stall horizon in days (default 30)")
    _losses_option(p)
    p.add_argument("--freq", default="W", help="snapshot frequency: D, W, M or Q (default W)")
    p.add_argument("--start", help="first as-of date (default: the log's first event)")
    p.add_argument("--end", help="last as-of date, and the end of what labels may see (default: last event)")
    _fit_options(p)
    add_cluster(p, "build the snapshots")
    add_overwrite(p, "replace an existing model file")
    add_quiet(p)
    p.set_defaults(func=_cmd_train)

    p = actions.add_parser("evaluate", help="score a saved model on a log's labelled snapshots")
    add_log(p)
    p.add_argument("--model", dest="model_file", type=Path, required=True, help="model file (.skops)")
    p.add_argument(
        "--since", help="only as-of dates after this (default: after the last moment the training labels saw)"
    )
    p.add_argument("--freq", default="W", help="snapshot frequency (default W)")
    p.add_argument("--out", type=Path, help="write the metrics as CSV")
    _ignore_stages_option(p)
    add_cluster(p, "build the snapshots")
    add_overwrite(p, "replace an existing output file")
    add_quiet(p)
    p.set_defaults(func=_cmd_evaluate)

    p = actions.add_parser("predict", help="score the deals open at a date, with their top reasons, to CSV")
    add_log(p)
    p.add_argument("--model", dest="model_file", type=Path, required=True, help="model file (.skops)")
    p.add_argument("--as-of", dest="as_of", help="score the deals open at this date (default: latest event)")
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.add_argument(
        "--reasons",
        type=_whole(0, what="0 or more reasons"),
        default=3,
        help="reasons per deal (default 3, 0 for none)",
    )
    p.add_argument(
        "--protective",
        type=_whole(0, what="0 or more factors"),
        default=1,
        help="factors that lower the deal's risk the most, per deal (default 1, 0 for none)",
    )
    _ignore_stages_option(p)
    add_cluster(p, "build the snapshots")
    add_overwrite(p, "replace an existing output file")
    add_quiet(p)
    p.set_defaults(func=_cmd_predict)

    p = actions.add_parser(
        "backtest",
        help="time-split evaluation of a fresh model beside the CRM baselines, with bootstrap intervals",
    )
    add_log(p)
    p.add_argument("--target", choices=BACKTEST_TARGETS, required=True, help="stall or won")
    p.add_argument("--model", choices=("hgb", "logistic"), default="hgb", help="learner (default hgb)")
    p.add_argument("--cutoff", help="train on as-of dates before this (default: 70%% of the labelled snapshots)")
    p.add_argument(
        "--cutoffs",
        type=_whole(1, what="1 or more origins"),
        default=3,
        help="rolling origin: this many cutoffs, each testing up to the next (the last at --cutoff or the default); "
        "per-cutoff figures and their spread are printed (default 3; 1: a single split)",
    )
    p.add_argument("--gap-days", type=float, help="days between cutoff and test start (default: the horizon)")
    p.add_argument("--horizon-days", type=float, default=30, help="stall horizon in days (default 30)")
    _losses_option(p)
    p.add_argument(
        "--bootstrap",
        type=_whole(0, what="0 or more draws"),
        default=200,
        help="bootstrap draws of whole deals (default 200)",
    )
    p.add_argument(
        "--follow-up",
        choices=("complete", "all", "ipcw"),
        default="complete",
        help="which test dates are scored: only those where at least 90%% of the rows have a label (complete, "
        "the default), every one (all), or every one with inverse-probability-of-censoring weights (ipcw); "
        "decision 0056",
    )
    _fit_options(p)
    p.add_argument("--out", type=Path, help="write the table (model, metric, value, ci_low, ci_high) as CSV")
    p.add_argument("--plot", type=Path, help="write the calibration plot (PNG, SVG or PDF by the suffix)")
    add_cluster(p, "build the snapshots")
    add_overwrite(p, "replace existing output files")
    add_quiet(p)
    p.set_defaults(func=_cmd_backtest)


def _losses_option(p) -> None:
    p.add_argument(
        "--losses",
        choices=("movement", "excluded"),
        default="movement",
        help="stall only: a deal lost within the horizon counts as a movement (the label 'stalled', the default) "
        "or is left out (the label 'stalled_excluding_losses'); decision 0057",
    )


def _censoring_option(p) -> None:
    p.add_argument(
        "--censoring",
        choices=("none", "ipcw", "maturity", "competing"),
        help="won only: how outcomes not yet known are handled (decisions 0027 and 0028; default: the model's)",
    )


def _ignore_stages_option(p) -> None:
    p.add_argument(
        "--ignore-stage-model",
        action="store_true",
        help="score even when the log's stages, won or lost stages differ from the model's (not recommended)",
    )


def _check_stages(model, model_file: Path, stages, log_path: Path, ignore: bool) -> None:
    """Refuse a model trained on another stage model than the log's (``stages``), unless ``--ignore-stage-model``.

    The stages come from the model's fitted state (``stage_model_``), never from its card (decision 0032).
    """
    from salesmetrics.models.persistence import check_stage_model, model_card

    if not ignore:
        check_stage_model(model_card(model), stages, model_file, log_path)


def _fit_quietly(fit):
    """Run ``fit()``; small-data notices are dropped (the fallback is printed), data notes are passed on."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit()
    for w in caught:
        if issubclass(w.category, DataNote):
            warnings.warn(str(w.message), DataNote, stacklevel=2)
    return result


def _missing_action(parser):
    def run(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return run


def _check_out(path: Path, args: argparse.Namespace) -> None:
    """Refuse, before the work, an output inside the log folder or equal to the model file (whatever --overwrite
    says) and an existing file without --overwrite (:mod:`salesmetrics._util.output`)."""
    model_file = getattr(args, "model_file", None)
    check_output_file(path, overwrite=args.overwrite, flag="--overwrite", logs=[args.log], inputs=[model_file])


def _estimator(target: str, args: argparse.Namespace):
    from salesmetrics.models import CloseLikelihood, StallPredictor

    common = {
        "model": args.model,
        "min_closed": args.min_closed,
        "random_state": args.random_state,
        "n_jobs": args.jobs,
        "exclude": list(dict.fromkeys(args.exclude)) if args.exclude else None,
        "include": included(args.include),
        "leak_auc": args.leak_auc,
    }
    if target == "stall":
        return StallPredictor(horizon_days=args.horizon_days, losses=getattr(args, "losses", "movement"), **common)
    if getattr(args, "censoring", None) is not None:
        common["censoring"] = args.censoring
    return CloseLikelihood(target=TARGETS[target], **common)


#: What ``train`` and ``backtest`` say when their snapshot tables are built on a Dask cluster.
BUILDING, BUILT_WHOLE = "Building the snapshots", "builds its snapshots whole"


def _built_on(where) -> str:
    """`` (snapshots built on ADDRESS (N workers))`` after a file written from a cluster's tables; else nothing."""
    return "" if where is None else f" (snapshots built on {where})"


def _cmd_train(args: argparse.Namespace) -> int:
    from salesmetrics.features.build import snapshots
    from salesmetrics.models.persistence import read_model_card, save_model

    _check_out(args.out, args)  # before the work, not after
    with on_cluster(args, BUILDING, BUILT_WHOLE) as where:  # the fit below runs here
        # on a cluster the workers read the parts, and the date checks come from a pass over them
        given = read_here(args.log, where)
        require_dates(given.span, args.log, "train on")
        check_window(given.span, args.start, args.end)
        snap = snapshots(
            given.source,
            freq=args.freq,
            horizon_days=args.horizon_days,
            start=args.start,
            end=args.end,
            observed_until=args.end,
            client=given.client,
        )
    estimator = _estimator(args.target, args)
    _fit_quietly(lambda: estimator.fit(snap))  # the fallback notice is printed below and kept in the model card
    extra = {
        "source_log": str(args.log),
        "snapshots": {"freq": args.freq, "rows": len(snap), "horizon_days": args.horizon_days},
    }
    path = save_model(estimator, args.out, overwrite=args.overwrite, extra=extra)
    card = read_model_card(path)
    if not args.quiet:
        _print_card(card, args.log)
    if card["notice"]:
        print(f"NOTICE: {card['notice']}")
    if card.get("leak_warning"):
        print(f"WARNING: do not trust this model yet. {card['leak_warning']}")
    say(args, f"Wrote {path} (model card inside: model_card.json){_built_on(where)}")
    return 0


def _print_card(card: dict, log_path) -> None:
    """What was trained, on what, and its training metrics: the model card in a few lines."""
    window = card["training_window"] or {}
    print(f"Trained {card['model_class']} ({card['model']}) on {card['rows']:,} snapshot rows of {log_path}")
    words = f" ({card['target_words']})" if card.get("target_words") else ""
    print(f"  target: {card['target']}{words}; as-of dates {window.get('first_as_of')} to {window.get('last_as_of')}")
    print(f"  labels see events up to {window.get('labels_until')}")
    censored = card["censored_rows_left_out"]
    if str(card.get("censoring") or "").startswith("competing"):  # decision 0028: open deals are at risk
        print(f"  closed deals: {card['closed_deals']:,}; rows of deals still open, used as at risk: {censored:,}")
    else:
        print(f"  closed deals: {card['closed_deals']:,}; censored rows left out: {censored:,}")
    print(f"  censoring: {card.get('censoring') or 'none'}")
    print(f"  calibration: {card['calibration']}")
    for key, value in card["metrics"].items():
        print(f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}")
    if card.get("excluded_features"):
        print(f"  left out: {', '.join(card['excluded_features'])}")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import pandas as pd

    from salesmetrics._util.csv_safe import write_csv
    from salesmetrics.features.build import snapshots
    from salesmetrics.models.holdout import holdout_metrics, labelled_rows
    from salesmetrics.models.persistence import load_model, model_card, model_horizon

    if args.out is not None:
        _check_out(args.out, args)
    model = load_model(args.model_file)
    with on_cluster(args, BUILDING, BUILT_WHOLE) as where:  # the snapshots there, the scoring here
        given = read_here(args.log, where)
        require_dates(given.span, args.log, "evaluate on")
        _check_stages(model, args.model_file, stage_model(given.log, args.log), args.log, args.ignore_stage_model)
        # horizon and training window from the model's own fitted state, never from its card (decision 0032)
        horizon = model_horizon(model) or 30
        window = model_card(model).get("training_window") or {}
        since = args.since or window.get("labels_until") or window.get("last_as_of")
        start = None if since is None else given.span.resolve(since) + pd.Timedelta(microseconds=1)
        snap = snapshots(given.source, freq=args.freq, horizon_days=horizon, client=given.client)
    if start is not None:
        snap = snap[snap["as_of"] >= start]
    rows = labelled_rows(model, snap)
    if not len(rows):
        raise UsageError(
            f"No labelled snapshot rows after {since} in {args.log}; give an earlier --since, or a log that "
            "goes on after the model's training window."
        )
    note_in_sample(rows, window, args.since)
    metrics = holdout_metrics(model, rows)
    print(f"Evaluated {args.model_file} on {args.log}: {metrics['rows']:,} labelled snapshot rows")
    for key, value in metrics.items():
        print(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")
    if args.out is not None:
        table = pd.DataFrame({"metric": list(metrics), "value": [str(v) for v in metrics.values()]})
        write_csv(table, args.out, overwrite=args.overwrite)
        say(args, f"Wrote {args.out}{_built_on(where)}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from salesmetrics._util.csv_safe import write_csv
    from salesmetrics.features.build import snapshots
    from salesmetrics.models.close import CloseLikelihood
    from salesmetrics.models.persistence import load_model, model_horizon

    _check_out(args.out, args)
    model = load_model(args.model_file)
    with on_cluster(args, BUILDING, BUILT_WHOLE) as where:  # the snapshots there, the scores and reasons here
        given = read_here(args.log, where)
        _check_stages(model, args.model_file, stage_model(given.log, args.log), args.log, args.ignore_stage_model)
        as_of = as_of_moment(args.as_of, given.span, given.log, path=args.log, client=given.client)
        horizon = model_horizon(model) or 30  # the model's own, never its card's (decision 0032)
        check_as_of(given.span, as_of, args.as_of, float(horizon or 30))
        snap = snapshots(given.source, as_of=[as_of], horizon_days=horizon, client=given.client)
    keep = [c for c in ("deal_id", "owner", "team", "stage", "amount", "expected_close_date") if c in snap]
    out = snap[keep].copy()
    out.insert(1, "as_of", snap["as_of"])
    if len(snap):
        proba = model.predict_proba(snap)
        if isinstance(model, CloseLikelihood):
            named = model.predict_outcomes(snap)
            for column in named:
                out[column] = named[column].to_numpy()
        else:
            out["p_stall"] = proba[:, -1] if proba.shape[1] > 1 else model.risk(snap)
        out["risk"] = model._risk_from_proba(proba)
        if args.reasons or args.protective:
            table = model.reasons(snap, top_n=max(args.reasons, 1), protective=args.protective)
            for k in range(1, args.reasons + 1):
                if f"reason_{k}" in table:
                    out[f"reason_{k}"] = table[f"reason_{k}"].to_numpy()
            for k in range(1, args.protective + 1):
                if f"protective_{k}" in table:
                    out[f"protective_{k}"] = table[f"protective_{k}"].to_numpy()
        # ties in risk by deal id: the same file whatever order the deals came in (a partitioned log's come by part)
        out = out.sort_values(["risk", "deal_id"], ascending=[False, True], kind="stable")
    else:
        out["risk"] = pd.Series([], dtype=np.float64)
    write_csv(out, args.out, overwrite=args.overwrite)
    say(args, f"Scored {len(out):,} deals open at {as_of} with {args.model_file}")
    words = getattr(model, "label_words", None)
    if callable(words):  # which stall label the risk is (decision 0057)
        say(args, f"risk = the probability of a {words()}")
    if len(out):
        say(args, json.dumps({"mean_risk": round(float(out["risk"].mean()), 4)}))
    say(args, f"Wrote {args.out}{_built_on(where)}")
    return 0


def _save_figure(fig, path: Path) -> None:
    """Save a matplotlib figure atomically: a temporary file in the same folder, then ``os.replace``."""
    from salesmetrics._util.atomic import atomic_path

    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=120, bbox_inches="tight")


def _cmd_backtest(args: argparse.Namespace) -> int:
    from salesmetrics._util.csv_safe import write_csv
    from salesmetrics.cli.model_backtest import print_rolling, rolling_origin, share_line, side_by_side

    if args.bootstrap < 0:
        raise UsageError(f"--bootstrap must be 0 or more, not {args.bootstrap}.")
    outputs = [p for p in (args.out, args.plot) if p is not None]
    if len(outputs) == 2 and args.out.resolve() == args.plot.resolve():
        raise UsageError(f"--out and --plot are the same file {args.out}; give them different names.")
    for path in outputs:  # before the work, not after
        _check_out(path, args)
    if args.plot is not None and args.plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"--plot {args.plot} must end in .png, .svg or .pdf.")
    estimator = _estimator(args.target, args)
    target = estimator._label_column()  # stall: 'stalled' or 'stalled_excluding_losses' (--losses)
    with on_cluster(args, BUILDING, BUILT_WHOLE) as where:  # the snapshot tables and momentum flags there, fits here
        # on a cluster the log is never read here: its dates, tables and flags come from passes over its parts
        given = read_here(args.log, where)
        require_dates(given.span, args.log, "backtest")
        on = {} if where is None else {"client": where.client}
        origins = _fit_quietly(  # small-data notices: the model's fallback is printed below
            lambda: rolling_origin(
                estimator,
                given.source,
                args.cutoffs,
                target=target,
                cutoff=args.cutoff,
                gap_days=args.gap_days,
                n_bootstrap=args.bootstrap,
                random_state=args.random_state,
                snapshot_options={"horizon_days": args.horizon_days},
                follow_up=args.follow_up,
                **on,
            )
        )
    ev = origins[-1]
    import pandas as pd

    fitted = ev.estimators.get("model")
    print(f"Backtest of {type(estimator).__name__} ({args.model}) on {args.log}")
    print(ev._summary_line())
    for name in ("model_", "calibration_", "censoring_", "fallback_"):
        value = getattr(fitted, name, None)
        if value:
            print(f"  {name.rstrip('_')}: {value}")
    if getattr(fitted, "exclude", None):
        print(f"  left out: {', '.join(fitted._excluded())}")
    if getattr(fitted, "include", None):  # opt-in features asked for (decision 0064)
        print(f"  also learns from: {', '.join(f for f in fitted.used_features() if f in OPT_IN)}")
    leaks = getattr(fitted, "leaky_features_", None) or []
    if leaks:
        named = ", ".join(f"{e['feature']} (AUC {e['auc']:.3f} alone)" for e in leaks)
        print(f"WARNING: do not trust these figures: {named} probably leaks the outcome; rerun with --exclude.")
    with pd.option_context("display.width", 250, "display.max_columns", 12):
        print(side_by_side(ev).to_string())
    print(share_line(ev))
    if len(origins) > 1:
        print_rolling(origins)
    if args.out is not None:
        table = ev.table.assign(
            target=target, cutoff=str(ev.cutoff), test_start=str(ev.test_start), follow_up=ev.follow_up
        )
        write_csv(table, args.out, overwrite=args.overwrite)
        say(args, f"Wrote {args.out}{_built_on(where)}")
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 5.5))
        ev.plot_calibration(ax)
        _save_figure(fig, args.plot)
        plt.close(fig)
        say(args, f"Wrote {args.plot}")
    return 0


__all__ = ["BACKTEST_TARGETS", "TARGETS", "register"]
