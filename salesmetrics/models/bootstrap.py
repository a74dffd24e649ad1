"""How well predicted probabilities rank and fit the labels: ROC AUC, PR AUC, Brier score and top-decile lift,
each with a bootstrap interval that draws whole deals, and a calibration table.

:func:`bootstrap_metrics` scores all its draws at once through :func:`repeated_metrics`, so 200 draws cost about
as much as a few metric calls; :func:`~salesmetrics.models.evaluation.evaluate` reports them for a model and
its baselines.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

METRICS = ("roc_auc", "pr_auc", "brier", "lift_top_decile")
METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "brier": "Brier score",
    "lift_top_decile": "Lift, top decile",
    "base_rate": "Base rate",
}


def lift_top_decile(y, score, share: float = 0.1) -> float:
    """Rate of positives among the ``share`` highest scores over the overall rate (ties shared fairly).

    Snapshots tied with the last one taken count in proportion, so a score with few distinct values (a
    flag) gets the lift a random tie-break would give on average.

    Examples
    --------
    >>> lift_top_decile([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    10.0
    >>> lift_top_decile([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0.5] * 10)
    1.0
    """
    y = np.asarray(y, dtype="float64")
    score = np.asarray(score, dtype="float64")
    base = y.mean() if len(y) else np.nan
    if not len(y) or base == 0:
        return float("nan")
    k = share * len(y)
    order = np.argsort(-score, kind="stable")
    cut = score[order[max(math.ceil(k) - 1, 0)]]
    above = score > cut
    tied = score == cut
    need = k - above.sum()
    hits = y[above].sum() + need * y[tied].mean()
    return float(hits / k / base)


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    two = 0 < y.sum() < len(y)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if two else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if two else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "lift_top_decile": lift_top_decile(y, p),
    }


def repeated_metrics(y, p, weights) -> dict[str, np.ndarray]:
    """Every metric for many resamples at once: row ``d`` of ``weights`` repeats row ``i`` ``weights[d, i]`` times.

    With whole-number weights each value equals the scikit-learn metric (``roc_auc_score`` with ties counted
    half, ``average_precision_score``, ``brier_score_loss``) and :func:`lift_top_decile` on the rows repeated
    so (``np.repeat(y, w)``), up to rounding; NaN where a metric is undefined (one class only, no rows). One
    sort of the scores serves every resample, so 200 bootstrap draws cost about as much as a few metric calls.

    Examples
    --------
    >>> y, p = np.array([0, 1, 1, 0]), np.array([0.2, 0.8, 0.4, 0.4])
    >>> m = repeated_metrics(y, p, np.array([[1, 1, 1, 1], [2, 1, 0, 1]]))
    >>> m["roc_auc"].tolist(), m["brier"].round(3).tolist()
    ([0.875, 1.0], [0.15, 0.07])
    """
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    w = np.atleast_2d(np.asarray(weights, dtype="float64"))
    if not len(y):
        nan = np.full(len(w), np.nan)
        return {"roc_auc": nan, "pr_auc": nan.copy(), "brier": nan.copy(), "lift_top_decile": nan.copy()}
    order = np.argsort(p, kind="stable")
    sorted_p = p[order]
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])  # one block per distinct score
    w_sorted = w[:, order]
    pos = np.add.reduceat(w_sorted * y[order], starts, axis=1)  # weight of positives at each score, ascending
    count = np.add.reduceat(w_sorted, starts, axis=1)
    neg = count - pos
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    total = n_pos + n_neg
    both = (n_pos > 0) & (n_neg > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # ROC AUC: the share of (positive, negative) pairs ordered right, ties counting half (Mann-Whitney)
        below = np.cumsum(neg, axis=1) - neg
        auc = (pos * (below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
        # average precision: precision at each distinct threshold (highest first) times the recall it adds
        pos_d, count_d = pos[:, ::-1], count[:, ::-1]
        hits = np.cumsum(pos_d, axis=1)
        taken = np.cumsum(count_d, axis=1)
        precision = np.divide(hits, taken, out=np.zeros_like(hits), where=taken > 0)
        ap = (pos_d * precision).sum(axis=1) / n_pos
        brier = (w * (p - y) ** 2).sum(axis=1) / total
        # lift: the top share of rows by score, the rows tied at the cut counted in proportion
        k = 0.1 * total
        at = np.argmax(taken >= np.maximum(np.ceil(k), 1.0)[:, None], axis=1)
        rows = np.arange(len(w))
        above = taken[rows, at] - count_d[rows, at]
        positives_above = hits[rows, at] - pos_d[rows, at]
        tied_rate = pos_d[rows, at] / count_d[rows, at]
        lift = (positives_above + (k - above) * tied_rate) / k / (n_pos / total)
    return {
        "roc_auc": np.where(both, auc, np.nan),
        "pr_auc": np.where(both, ap, np.nan),
        "brier": np.where(total > 0, brier, np.nan),
        "lift_top_decile": np.where(n_pos > 0, lift, np.nan),
    }


def bootstrap_metrics(
    y,
    scores: dict[str, np.ndarray],
    groups=None,
    n_bootstrap: int = 200,
    random_state=0,
    level: float = 0.95,
    weights=None,
) -> pd.DataFrame:
    """Point values and percentile bootstrap intervals of every metric, for several score columns at once.

    Each replicate draws whole ``groups`` (deals) with replacement, the same draw for every score, so
    differences between scores are compared on the same samples. The draws pick groups by their place in the
    sorted group ids, and the rows are put in one order (by group, label, weight and scores) first, so the table
    does not depend on the order of the rows: the same deals' rows in another order (a partitioned log's
    snapshots, say) give the same bytes. Returns ``model, metric, value, ci_low,
    ci_high`` (metrics ``roc_auc, pr_auc, brier, lift_top_decile``). A draw is held as how many times it took
    each row, and :func:`repeated_metrics` scores all draws together. ``weights`` (one per row, e.g.
    inverse-probability-of-censoring weights) multiply every draw's counts and the point values.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(300) < 0.3
    >>> p = 1 / (1 + np.exp(-(y + rng.normal(0, 1, 300))))
    >>> t = bootstrap_metrics(y, {"m": p}, n_bootstrap=50)
    >>> row = t.set_index("metric").loc["roc_auc"]
    >>> bool(row.ci_low <= row.value <= row.ci_high)
    True
    """
    y = np.asarray(y, dtype="float64")
    row_weights = None if weights is None else np.asarray(weights, dtype="float64")
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)  # a draw picks groups in the order of their ids
    n_groups = len(uniques)
    rng = np.random.default_rng(random_state)
    scores = {name: np.asarray(p, dtype="float64") for name, p in scores.items()}
    order = _canonical_order(codes, y, scores, row_weights)  # so no figure depends on the rows' order
    codes, y = codes[order], y[order]
    scores = {name: p[order] for name, p in scores.items()}
    row_weights = None if row_weights is None else row_weights[order]
    reps: dict[str, dict[str, list[np.ndarray]]] = {name: {m: [] for m in METRICS} for name in scores}
    block = max(1, 2_000_000 // max(len(y), n_groups, 1))  # draws held in memory at once
    done = 0
    while done < int(n_bootstrap):
        b = min(block, int(n_bootstrap) - done)
        done += b
        # the same stream as one rng.integers(0, n_groups, n_groups) call per draw
        drawn = rng.integers(0, n_groups, (b, n_groups)) if n_groups else np.zeros((b, 0), dtype=np.int64)
        taken = np.bincount((np.arange(b)[:, None] * n_groups + drawn).ravel(), minlength=b * n_groups)
        drawn_weights = taken.reshape(b, n_groups)[:, codes]  # times each row is in each draw
        if row_weights is not None:
            drawn_weights = drawn_weights * row_weights[None, :]
        for name, p in scores.items():
            for metric, values in repeated_metrics(y, p, drawn_weights).items():
                reps[name][metric].append(values)
    alpha = (1 - level) / 2
    out = []
    for name, p in scores.items():
        if row_weights is None:
            point = _metrics(y, p)
        else:
            point = {m: float(v[0]) for m, v in repeated_metrics(y, p, row_weights[None, :]).items()}
        for metric in METRICS:
            values = np.concatenate(reps[name][metric]) if reps[name][metric] else np.zeros(0)
            values = values[~np.isnan(values)]
            low, high = np.quantile(values, [alpha, 1 - alpha]) if len(values) else (np.nan, np.nan)
            out.append({"model": name, "metric": metric, "value": point[metric], "ci_low": low, "ci_high": high})
    return pd.DataFrame(out, columns=["model", "metric", "value", "ci_low", "ci_high"])


def _canonical_order(codes: np.ndarray, y: np.ndarray, scores: dict[str, np.ndarray], weights) -> np.ndarray:
    """The rows sorted by group code, then label, weight and each score: rows that tie on all of them are alike,
    so every sum over the rows adds the same numbers in the same order whatever order the rows came in."""
    keys = list(reversed(list(scores.values())))
    if weights is not None:
        keys.append(weights)
    return np.lexsort([*keys, y, codes])  # the last key sorts first


def calibration_table(y, scores: dict[str, np.ndarray], n_bins: int = 10, weights=None) -> pd.DataFrame:
    """Per score and probability bin (equal width on [0, 1]): ``n``, mean predicted and observed rate.

    With ``weights`` (one per row), the mean predicted and the observed rate are weighted means (``n`` stays the
    count of rows).

    Examples
    --------
    >>> c = calibration_table([0, 1, 1, 0], {"m": [0.05, 0.95, 0.9, 0.15]}, n_bins=2)
    >>> c[["bin", "n", "observed_rate"]].to_dict("list")
    {'bin': [0, 1], 'n': [2, 2], 'observed_rate': [0.0, 1.0]}
    """
    y = np.asarray(y, dtype="float64")
    edges = np.linspace(0, 1, n_bins + 1)
    parts = []
    for name, p in scores.items():
        p = np.clip(np.asarray(p, dtype="float64"), 0, 1)
        bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
        w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype="float64")
        frame = pd.DataFrame({"bin": bins, "wp": w * p, "wy": w * y, "w": w})
        agg = frame.groupby("bin").agg(n=("w", "size"), wp=("wp", "sum"), wy=("wy", "sum"), w=("w", "sum"))
        agg = agg.assign(mean_predicted=agg["wp"] / agg["w"], observed_rate=agg["wy"] / agg["w"])
        agg = agg[["n", "mean_predicted", "observed_rate"]].reset_index()
        agg.insert(0, "model", name)
        agg["bin_low"] = edges[agg["bin"]]
        agg["bin_high"] = edges[agg["bin"] + 1]
        parts.append(agg)
    columns = ["model", "bin", "bin_low", "bin_high", "n", "mean_predicted", "observed_rate"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def calibration_summary(calibration: pd.DataFrame) -> pd.DataFrame:
    """Per model: ``mean_predicted``, ``observed_rate`` and ``calibration_error`` (the mean absolute gap between
    predicted and observed rate over the bins, weighted by rows) from a :func:`calibration_table`.

    Examples
    --------
    >>> c = calibration_table([0, 0, 1, 1], {"m": [0.1, 0.3, 0.6, 0.9]}, n_bins=2)
    >>> calibration_summary(c).round(3).to_dict("records")
    [{'model': 'm', 'mean_predicted': 0.475, 'observed_rate': 0.5, 'calibration_error': 0.225}]
    """
    rows = []
    for name, one in calibration.groupby("model", sort=False):
        n = one["n"].to_numpy(dtype="float64")
        total = n.sum()
        if not total:
            continue
        gap = np.abs(one["mean_predicted"] - one["observed_rate"]).to_numpy()
        rows.append(
            {
                "model": name,
                "mean_predicted": float((n * one["mean_predicted"]).sum() / total),
                "observed_rate": float((n * one["observed_rate"]).sum() / total),
                "calibration_error": float((n * gap).sum() / total),
            }
        )
    return pd.DataFrame(rows, columns=["model", "mean_predicted", "observed_rate", "calibration_error"])


__all__ = [
    "METRICS",
    "METRIC_LABELS",
    "bootstrap_metrics",
    "calibration_summary",
    "calibration_table",
    "lift_top_decile",
    "repeated_metrics",
]
