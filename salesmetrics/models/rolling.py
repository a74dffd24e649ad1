"""Rolling-origin backtests: :func:`~salesmetrics.models.evaluation.evaluate` at several cutoffs, each testing
on the window up to the next, with the figures per cutoff and their spread (issue 19)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.scale import stage_change_range_of
from salesmetrics.models.evaluation import Evaluation, evaluate


def rolling_origin(estimator, log: SalesLog, n_cutoffs: int = 3, **options) -> list[Evaluation]:
    """:func:`evaluate` at ``n_cutoffs`` origins, each testing on the window up to the next, for the spread.

    The last origin is :func:`evaluate`'s default cutoff (or ``options["cutoff"]``), testing to the end of the
    log; the earlier ones step back by a share of the training period (the first ``n_cutoffs + 1`` parts of it:
    the earliest still trains on two parts), each testing on the ``step`` days after its gap. Every option of
    :func:`evaluate` applies to each (``follow_up``, ``gap_days``, ``client`` and ``parts`` to build the snapshot
    tables on a Dask cluster, ...). ``log`` may be a log folder's path (also ``parts``): it is never read here whole.
    :func:`rolling_table` summarises them.
    """
    if int(n_cutoffs) != n_cutoffs or n_cutoffs < 1:
        raise UsageError(f"n_cutoffs must be a whole number, 1 or more, not {n_cutoffs!r}.")
    if isinstance(log, (str, os.PathLike)):  # never read here whole: every origin's tables and flags from its parts
        options = {"parts": log, **options}
    last = evaluate(estimator, log, **options)
    if n_cutoffs == 1:
        return [last]
    frame_start = _first_as_of(last, log, options)
    step = (last.cutoff - frame_start) / (int(n_cutoffs) + 1)
    gap = pd.Timedelta(days=last.gap_days)
    out = []
    for k in range(int(n_cutoffs) - 1, 0, -1):
        cut = (last.cutoff - k * step).normalize()  # a day's start, as a person would name the origin
        one = {**options, "cutoff": cut, "test_until": cut + gap + step}
        try:
            out.append(evaluate(estimator, log, **one))
        except UsageError as exc:  # an early window without labels or of one class: said, not fatal
            warnings.warn(f"The origin {cut:%Y-%m-%d} is left out: {exc}", UserWarning, stacklevel=2)
    return [*out, last]


def _first_as_of(ev: Evaluation, log, options: dict) -> pd.Timestamp:
    """The first as-of date the evaluation's snapshots could start at (the log's first stage change)."""
    start = (options.get("snapshot_options") or {}).get("start")
    # a log folder's first stage change comes from a pass over its parts
    first = pd.Timestamp(start) if start is not None else stage_change_range_of(log, client=options.get("client")).first
    if ev.cutoff.tzinfo is None:
        return first.tz_localize(None) if first.tzinfo is not None else first
    return first.tz_convert(ev.cutoff.tz) if first.tzinfo is not None else first.tz_localize(ev.cutoff.tz)


def rolling_table(evaluations: list[Evaluation]) -> pd.DataFrame:
    """Per model and origin: ROC AUC, Brier score, calibration error and the labelled share scored, one row each;
    :func:`rolling_spread` gives their mean, spread and range."""
    rows = []
    for ev in evaluations:
        point = ev.table.set_index(["model", "metric"])["value"]
        calib = ev.calibration_summary().set_index("model")
        used = ev.labelled_share[ev.labelled_share["used"]] if not ev.labelled_share.empty else ev.labelled_share
        share = float(used["labelled"].sum() / used["rows"].sum()) if len(used) else float("nan")
        for name in ev.models:
            rows.append(
                {
                    "cutoff": ev.cutoff,
                    "model": name,
                    "test_rows": ev.counts.get("test", 0),
                    "labelled_share": share,
                    "roc_auc": point.get((name, "roc_auc"), np.nan),
                    "brier": point.get((name, "brier"), np.nan),
                    "calibration_error": calib["calibration_error"].get(name, np.nan),
                }
            )
    return pd.DataFrame(rows)


def rolling_spread(table: pd.DataFrame) -> pd.DataFrame:
    """Per model (in first-seen order): mean, standard deviation, lowest and highest of each figure over the
    origins of a :func:`rolling_table`."""
    figures = ["roc_auc", "brier", "calibration_error"]
    grouped = table.groupby("model", sort=False)[figures]
    out = pd.concat(
        {"mean": grouped.mean(), "sd": grouped.std(ddof=1), "min": grouped.min(), "max": grouped.max()}, axis=1
    )
    out.columns = [f"{figure}_{stat}" for stat, figure in out.columns]
    return out


__all__ = ["rolling_origin", "rolling_spread", "rolling_table"]
