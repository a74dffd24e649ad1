"""Evaluate a stall or close model on a time-ordered split, beside the baselines a CRM already has.

:func:`time_split` trains on snapshots before a cutoff and tests on snapshots at least ``gap_days`` after it
(the gap is at least the label horizon, so no training label looks into the test period).
:func:`evaluate` fits a copy of the estimator and of each baseline (:mod:`salesmetrics.models.baselines`) on
the training snapshots, and reports on the test snapshots ROC AUC, PR AUC (average precision), the Brier
score and the lift in the top decile, each with a bootstrap interval that resamples whole deals, and a
calibration table. Rows whose label is censored (``<NA>``) are left out and counted. Choices:
``docs/decisions/0020-evaluation-split.md``.
"""

from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesmetrics.exceptions import UsageError

METRICS = ("roc_auc", "pr_auc", "brier", "lift_top_decile")
METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "brier": "Brier score",
    "lift_top_decile": "Lift, top decile",
    "base_rate": "Base rate",
}
TARGETS = ("stalled", "won")
MODEL = "model"
DAY = pd.Timedelta(days=1)


# ------------------------------------------------------------------------------------------------- splitting


def _as_of(frame: pd.DataFrame) -> pd.Series:
    if "as_of" not in frame.columns:
        raise UsageError("The snapshots need an 'as_of' column; build them with salesmetrics.snapshots.")
    as_of = frame["as_of"]
    if not isinstance(as_of.dtype, pd.DatetimeTZDtype | np.dtypes.DateTime64DType):
        as_of = pd.to_datetime(as_of)
    return as_of


def _timestamp(value, like: pd.Series, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{name} {value!r} is not a date or time; use e.g. '2024-09-30'.") from exc
    tz = getattr(like.dtype, "tz", None)
    if tz is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz)
    elif tz is None and stamp.tzinfo is not None:
        stamp = stamp.tz_convert(None)
    return stamp


def _when(stamp) -> str:
    """A moment for a message: ``2025-06-01`` at midnight, else ``2025-06-01 14:30`` (seconds when there are any).

    Examples
    --------
    >>> _when(pd.Timestamp("2025-06-01", tz="UTC")), _when(pd.Timestamp("2025-06-01 14:30:05.25"))
    ('2025-06-01', '2025-06-01 14:30:05')
    """
    stamp = pd.Timestamp(stamp)
    if stamp == stamp.normalize():
        return f"{stamp:%Y-%m-%d}"
    return f"{stamp:%Y-%m-%d %H:%M}" if stamp.second == 0 and stamp.microsecond == 0 else f"{stamp:%Y-%m-%d %H:%M:%S}"


def _learns_from_censored_rows(estimator) -> bool:
    """Whether ``estimator`` uses snapshots whose label is not known yet (it says so with a method)."""
    ask = getattr(estimator, "learns_from_censored_rows", None)
    return bool(ask()) if callable(ask) else False


def default_gap_days(snapshots: pd.DataFrame, estimator=None) -> float:
    """The label horizon: ``snapshots.attrs['horizon_days']``, else the estimator's ``horizon_days``, else 30."""
    for source in (snapshots.attrs.get("horizon_days"), getattr(estimator, "horizon_days", None)):
        if source is not None:
            return float(source)
    return 30.0


def time_split(
    snapshots: pd.DataFrame,
    cutoff=None,
    gap_days: float | None = None,
    *,
    train_share: float = 0.7,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split snapshots by time: train ``as_of < cutoff``, test ``as_of >= cutoff + gap_days``, drop the gap.

    ``cutoff`` defaults to the ``as_of`` below which ``train_share`` of the snapshots fall; ``gap_days``
    defaults to the snapshots' label horizon (``attrs['horizon_days']``, else 30). Both parts keep the
    original index; their ``attrs`` hold ``cutoff``, ``test_start``, ``gap_days`` and ``n_gap`` (rows dropped).

    Examples
    --------
    >>> s = pd.DataFrame({"as_of": pd.date_range("2024-01-07", periods=20, freq="W", tz="UTC")})
    >>> train, test = time_split(s, cutoff="2024-03-01", gap_days=30)
    >>> train["as_of"].max() < train.attrs["cutoff"], test["as_of"].min() >= train.attrs["cutoff"] + pd.Timedelta("30D")
    (True, True)
    >>> len(train), len(test), train.attrs["n_gap"]
    (8, 8, 4)
    """
    as_of = _as_of(snapshots)
    if gap_days is None:
        gap_days = default_gap_days(snapshots)
    if not np.isfinite(gap_days) or gap_days < 0:
        raise UsageError(f"gap_days must be 0 or more days, not {gap_days!r}.")
    if not len(snapshots):
        raise UsageError("There are no snapshots to split.")
    if cutoff is None:
        if not 0 < train_share < 1:
            raise UsageError(f"train_share must be between 0 and 1, not {train_share!r}.")
        ordered = np.sort(as_of.to_numpy())
        cutoff = pd.Timestamp(ordered[min(math.ceil(train_share * len(ordered)), len(ordered) - 1)])
        if as_of.dt.tz is not None and cutoff.tzinfo is None:
            cutoff = cutoff.tz_localize("UTC").tz_convert(as_of.dt.tz)
    else:
        cutoff = _timestamp(cutoff, as_of, "cutoff")
    test_start = cutoff + pd.Timedelta(days=float(gap_days))
    train_mask = (as_of < cutoff).to_numpy()
    test_mask = (as_of >= test_start).to_numpy()
    first, last = as_of.min(), as_of.max()
    if not train_mask.any():
        raise UsageError(
            f"No snapshot is before the cutoff {_when(cutoff)}; the snapshots run from {_when(first)} to "
            f"{_when(last)}. Pass a later cutoff."
        )
    if not test_mask.any():
        raise UsageError(
            f"No snapshot is at or after {_when(test_start)} (cutoff {_when(cutoff)} + {gap_days:g} days gap); "
            f"the snapshots end at {_when(last)}. Pass an earlier cutoff or a shorter gap_days."
        )
    train, test = snapshots[train_mask], snapshots[test_mask]
    info = {"cutoff": cutoff, "test_start": test_start, "gap_days": float(gap_days)}
    info["n_gap"] = int(len(snapshots) - train_mask.sum() - test_mask.sum())
    train.attrs.update(info)
    test.attrs.update(info)
    return train, test


# --------------------------------------------------------------------------------------------------- metrics


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
    y, scores: dict[str, np.ndarray], groups=None, n_bootstrap: int = 200, random_state=0, level: float = 0.95
) -> pd.DataFrame:
    """Point values and percentile bootstrap intervals of every metric, for several score columns at once.

    Each replicate draws whole ``groups`` (deals) with replacement, the same draw for every score, so
    differences between scores are compared on the same samples. Returns ``model, metric, value, ci_low,
    ci_high`` (metrics ``roc_auc, pr_auc, brier, lift_top_decile``). A draw is held as how many times it took
    each row, and :func:`repeated_metrics` scores all draws together.

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
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    codes, uniques = pd.factorize(pd.Series(groups), sort=False)
    n_groups = len(uniques)
    rng = np.random.default_rng(random_state)
    scores = {name: np.asarray(p, dtype="float64") for name, p in scores.items()}
    reps: dict[str, dict[str, list[np.ndarray]]] = {name: {m: [] for m in METRICS} for name in scores}
    block = max(1, 2_000_000 // max(len(y), n_groups, 1))  # draws held in memory at once
    done = 0
    while done < int(n_bootstrap):
        b = min(block, int(n_bootstrap) - done)
        done += b
        # the same stream as one rng.integers(0, n_groups, n_groups) call per draw
        drawn = rng.integers(0, n_groups, (b, n_groups)) if n_groups else np.zeros((b, 0), dtype=np.int64)
        taken = np.bincount((np.arange(b)[:, None] * n_groups + drawn).ravel(), minlength=b * n_groups)
        weights = taken.reshape(b, n_groups)[:, codes]  # times each row is in each draw
        for name, p in scores.items():
            for metric, values in repeated_metrics(y, p, weights).items():
                reps[name][metric].append(values)
    alpha = (1 - level) / 2
    out = []
    for name, p in scores.items():
        point = _metrics(y, p)
        for metric in METRICS:
            values = np.concatenate(reps[name][metric]) if reps[name][metric] else np.zeros(0)
            values = values[~np.isnan(values)]
            low, high = np.quantile(values, [alpha, 1 - alpha]) if len(values) else (np.nan, np.nan)
            out.append({"model": name, "metric": metric, "value": point[metric], "ci_low": low, "ci_high": high})
    return pd.DataFrame(out, columns=["model", "metric", "value", "ci_low", "ci_high"])


def calibration_table(y, scores: dict[str, np.ndarray], n_bins: int = 10) -> pd.DataFrame:
    """Per score and probability bin (equal width on [0, 1]): ``n``, mean predicted and observed rate.

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
        frame = pd.DataFrame({"bin": bins, "p": p, "y": y})
        agg = frame.groupby("bin").agg(n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
        agg = agg.reset_index()
        agg.insert(0, "model", name)
        agg["bin_low"] = edges[agg["bin"]]
        agg["bin_high"] = edges[agg["bin"] + 1]
        parts.append(agg)
    columns = ["model", "bin", "bin_low", "bin_high", "n", "mean_predicted", "observed_rate"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


# ------------------------------------------------------------------------------------------------ evaluation


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`.

    Attributes
    ----------
    table : DataFrame
        ``model, metric, value, ci_low, ci_high``: one row per model (``"model"`` first, then each baseline)
        and metric (``roc_auc, pr_auc, brier, lift_top_decile``) on the test snapshots.
    calibration : DataFrame
        Per model and probability bin: ``n, mean_predicted, observed_rate``.
    predictions : DataFrame
        The test snapshots' ``deal_id, as_of``, label ``y`` and one probability column per model.
    counts : dict
        Rows used and left out: ``train``, ``test``, ``gap`` (between cutoff and test start),
        ``train_censored`` and ``test_censored`` (label ``<NA>``, left out).
    estimators : dict
        The fitted model and baselines by name (for permutation importance or reasons on the test rows).
    """

    target: str
    table: pd.DataFrame
    calibration: pd.DataFrame
    predictions: pd.DataFrame
    cutoff: pd.Timestamp
    test_start: pd.Timestamp
    gap_days: float
    n_bootstrap: int
    counts: dict = field(default_factory=dict)
    estimators: dict = field(default_factory=dict, repr=False)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.table["model"]))

    def wide(self, with_ci: bool = True) -> pd.DataFrame:
        """One row per model, one column per metric (``"0.812 [0.790, 0.833]"`` text when ``with_ci``)."""
        t = self.table
        if with_ci:
            text = t.apply(lambda r: f"{r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]", axis=1)
            t = t.assign(value=text)
        out = t.pivot(index="model", columns="metric", values="value").reindex(index=self.models, columns=METRICS)
        out.columns = [METRIC_LABELS[c] for c in out.columns]
        out.columns.name = None
        return out

    def _summary_line(self) -> str:
        c = self.counts
        rate = self.predictions["y"].mean() if len(self.predictions) else float("nan")
        at_risk = ""
        if c.get("train_at_risk"):  # competing risks (decision 0028)
            at_risk = " (the model learned from them as at risk; the baselines left them out)"
        return (
            f"target {self.target!r}: trained on {c.get('train', 0):,} snapshots before {self.cutoff:%Y-%m-%d}, "
            f"tested on {c.get('test', 0):,} from {self.test_start:%Y-%m-%d} (gap {self.gap_days:g} days, "
            f"base rate {rate:.3f}); censored labels left out: {c.get('train_censored', 0):,} train"
            f"{at_risk}, "
            f"{c.get('test_censored', 0):,} test; {self.n_bootstrap} bootstrap draws of whole deals, 95% intervals"
        )

    def __str__(self) -> str:
        return "Evaluation, " + self._summary_line() + "\n" + self.wide().to_string()

    def _repr_html_(self) -> str:
        return f"<p><b>Evaluation</b>, {html.escape(self._summary_line())}.</p>" + self.wide().to_html()

    def plot_calibration(self, ax=None, models=None):
        """Observed rate against mean predicted probability per bin, one line per model, diagonal for reference."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 5))
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
        for name in models or self.models:
            one = self.calibration[self.calibration["model"] == name]
            ax.plot(one["mean_predicted"], one["observed_rate"], marker="o", label=name)
        ax.set_xlabel("Mean predicted probability in the bin")
        ax.set_ylabel(f"Observed share {self.target}")
        ax.set_title(f"Calibration on the test snapshots ({self.target})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(fontsize="small")
        return ax

    def plot(self, axes=None, models=None):
        """Three panels: ROC curves, precision-recall curves and calibration, one line per model."""
        import matplotlib.pyplot as plt
        from sklearn.metrics import precision_recall_curve, roc_curve

        if axes is None:
            _, axes = plt.subplots(1, 3, figsize=(16, 5))
        ax_roc, ax_pr, ax_cal = axes
        y = self.predictions["y"].to_numpy()
        auc = self.table.set_index(["model", "metric"])["value"]
        for name in models or self.models:
            p = self.predictions[name].to_numpy()
            fpr, tpr, _ = roc_curve(y, p)
            ax_roc.plot(fpr, tpr, label=f"{name} ({auc[(name, 'roc_auc')]:.3f})")
            precision, recall, _ = precision_recall_curve(y, p)
            ax_pr.step(recall, precision, where="post", label=f"{name} ({auc[(name, 'pr_auc')]:.3f})")
        ax_roc.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax_roc.set_xlabel("False positive rate")
        ax_roc.set_ylabel("True positive rate")
        ax_roc.set_title(f"ROC on the test snapshots ({self.target})")
        ax_pr.axhline(y.mean(), color="grey", linestyle=":", label=f"base rate {y.mean():.3f}")
        ax_pr.set_xlabel("Recall")
        ax_pr.set_ylabel("Precision")
        ax_pr.set_title("Precision-recall (legend: PR AUC)")
        for ax in (ax_roc, ax_pr):
            ax.legend(fontsize="small", title="legend: AUC" if ax is ax_roc else None)
        self.plot_calibration(ax_cal, models)
        return axes


def _labels(frame: pd.DataFrame, target: str) -> pd.Series:
    if target not in frame.columns:
        raise UsageError(f"The snapshots have no {target!r} label column; build them with salesmetrics.snapshots.")
    return frame[target].astype("Float64")


def _probability(estimator, frame: pd.DataFrame) -> np.ndarray:
    proba = np.asarray(estimator.predict_proba(frame))
    if proba.ndim == 2:
        classes = list(getattr(estimator, "classes_", [0, 1]))
        column = classes.index(1) if 1 in classes else proba.shape[1] - 1
        proba = proba[:, column]
    return proba.astype("float64")


def _binary(labels: pd.Series) -> np.ndarray:
    return labels.to_numpy(dtype="float64").astype("int64")


def _target_for(estimator, target: str | None) -> str:
    """The label to evaluate on: ``target``, or the estimator's own; refuse an estimator asked about another label.

    >>> from salesmetrics.models import CloseLikelihood
    >>> _target_for(CloseLikelihood(), None), _target_for(None, None)
    ('won', 'stalled')
    """
    own = estimator._label_column() if hasattr(estimator, "_label_column") else None
    if target is None:
        return own or "stalled"
    if own is not None and own != target:
        raise UsageError(
            f"target={target!r} does not match the {type(estimator).__name__}, which learns {own!r}; leave target "
            f"out (it follows the estimator) or pass target={own!r}."
        )
    return target


def evaluate(
    estimator,
    snapshots,
    target: str | None = None,
    cutoff=None,
    gap_days: float | None = None,
    n_bootstrap: int = 200,
    random_state=0,
    *,
    baselines="default",
    train_share: float = 0.7,
    n_bins: int = 10,
    train_snapshots: pd.DataFrame | None = None,
    snapshot_options: dict | None = None,
    momentum_flag: bool = True,
    fit: bool = True,
) -> Evaluation:
    """Fit ``estimator`` and the CRM baselines before a cutoff; score them all after a gap.

    Parameters
    ----------
    estimator : scikit-learn style classifier or None
        Cloned and fitted on the training snapshots with ``fit(X, y)`` (``X`` the snapshot rows, ``y`` the
        0/1 label), then ``predict_proba(X)[:, 1]`` on the test rows. ``fit=False`` uses it as already
        fitted. ``None`` evaluates the baselines only.
    snapshots : DataFrame or SalesLog
        A frame from :func:`salesmetrics.snapshots` (``deal_id``, ``as_of``, features, labels), or
        the log itself (recommended): then the test rows are ``snapshots(log, **snapshot_options)`` and the
        training rows are rebuilt with ``observed_until`` at the test start, so no training label (above all
        ``won``, which is read at the end of the log) uses anything seen after the test period began; and the
        momentum flag is computed for every row (:func:`~salesmetrics.models.baselines.momentum_stall_flags`,
        unless ``momentum_flag=False``).
    target : {"stalled", "won"} or None
        The label column; None: the estimator's own (``"won"`` for a ``CloseLikelihood``, ``"stalled"`` for a
        ``StallPredictor`` and for baselines only). A target other than the estimator's raises a
        :class:`~salesmetrics.exceptions.UsageError`. Rows where it is ``<NA>`` (censored: the horizon or the
        outcome is not observed yet) are left out of both parts and counted.
    cutoff, gap_days, train_share
        See :func:`time_split`; ``gap_days`` defaults to the label horizon, ``cutoff`` to the time below which
        ``train_share`` of the *labelled* snapshots fall.
    n_bootstrap, random_state
        Bootstrap replicates (whole deals are drawn, so a deal's snapshots stay together) and seed.
    baselines : "default", dict or None
        Name → estimator; ``"default"`` is :func:`~salesmetrics.models.baselines.default_baselines`. A
        baseline whose columns are missing from the snapshots is skipped with a warning.
    train_snapshots : DataFrame or None
        With a frame, the rows to train on (those before the cutoff are used), e.g.
        ``snapshots(log, observed_until=test_start)``. Without it the training labels come from
        ``snapshots`` and, for ``target="won"``, a warning says they were read after the test start.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 600
    >>> frame = pd.DataFrame({
    ...     "deal_id": np.arange(n) % 150, "as_of": pd.Timestamp("2024-01-07", tz="UTC")
    ...     + pd.to_timedelta((np.arange(n) // 150) * 60, unit="D"),
    ...     "stage": rng.choice(["Lead", "Proposal"], n), "days_in_stage": rng.exponential(20, n)})
    >>> frame["stalled"] = pd.array(rng.random(n) < 0.2 + 0.5 * (frame["days_in_stage"] > 30), dtype="boolean")
    >>> ev = evaluate(None, frame, cutoff="2024-05-01", gap_days=30, n_bootstrap=20)
    >>> ev.wide(with_ci=False)["ROC AUC"].round(2).to_dict()
    {'stage default rate': 0.44, 'days in stage > 30': 0.68, 'stalled-in-stage flag': 0.59}
    """
    from sklearn.base import clone

    from salesmetrics.log.saleslog import SalesLog
    from salesmetrics.models.baselines import FLAG_COLUMN, default_baselines, momentum_stall_flags

    target = _target_for(estimator, target)
    if target not in TARGETS:
        raise UsageError(f"target must be 'stalled' or 'won', not {target!r}.")
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise UsageError(f"n_bootstrap must be a whole number, 0 or more, not {n_bootstrap!r}.")
    log = snapshots if isinstance(snapshots, SalesLog) else None
    if log is not None:
        from salesmetrics.features.build import snapshots as build

        options = dict(snapshot_options or {})
        frame = build(log, **options)
    elif isinstance(snapshots, pd.DataFrame):
        if snapshot_options:
            raise UsageError("snapshot_options apply when a log is passed; this is already a snapshot frame.")
        frame = snapshots
    else:
        raise UsageError(
            f"snapshots must be a DataFrame from salesmetrics.snapshots or a SalesLog, not {type(snapshots).__name__}."
        )
    if gap_days is None:
        gap_days = default_gap_days(frame, estimator)
    labelled = _labels(frame, target).notna().to_numpy()
    if cutoff is None and labelled.any():  # 70% of the *labelled* snapshots, so the test part has labels
        cutoff = time_split(frame[labelled], None, 0.0, train_share=train_share)[0].attrs["cutoff"]
    train, test = time_split(frame, cutoff, gap_days, train_share=train_share)
    cut, test_start = train.attrs["cutoff"], train.attrs["test_start"]
    counts = {"gap": train.attrs["n_gap"]}
    if log is not None:
        train_source = build(log, observed_until=test_start, **options)
        train = train_source[_as_of(train_source) < cut]
    elif train_snapshots is not None:
        train = train_snapshots[_as_of(train_snapshots) < cut]
    elif target == "won":
        seen = frame.attrs.get("observed_until")
        if seen is None or pd.Timestamp(seen) >= test_start:
            warnings.warn(
                f"The 'won' labels of the training snapshots were read at {seen or 'the end of the log'}, after "
                f"the test start {test_start:%Y-%m-%d}, so they know outcomes the test period had not seen. Pass "
                "the log (evaluate(estimator, log, ...)) or train_snapshots=snapshots(log, "
                "observed_until=test_start) for an honest split.",
                UserWarning,
                stacklevel=2,
            )
    if log is not None and momentum_flag:
        momentum = {} if momentum_flag is True else dict(momentum_flag)
        train = train.assign(**{FLAG_COLUMN: momentum_stall_flags(log, train, **momentum)})
        test = test.assign(**{FLAG_COLUMN: momentum_stall_flags(log, test, **momentum)})
    y_train, y_test = _labels(train, target), _labels(test, target)
    # an estimator that learns from still-open deals (competing risks, decision 0028) is fitted on every
    # training snapshot, censored ones included, with labels read from the table; the rest see labelled rows
    whole_train = train if _learns_from_censored_rows(estimator) else None
    counts["train_censored"] = int(y_train.isna().sum())
    if whole_train is not None and fit:
        counts["train_at_risk"] = counts["train_censored"]  # fitted on them: see whole_train below
    counts["test_censored"] = int(y_test.isna().sum())
    train, y_train = train[y_train.notna().to_numpy()], _binary(y_train.dropna())
    test, y_test = test[y_test.notna().to_numpy()], _binary(y_test.dropna())
    counts["train"], counts["test"] = len(train), len(test)
    for part, y, censored in (("training", y_train, "train_censored"), ("test", y_test, "test_censored")):
        if len(y) == 0 or y.min() == y.max():
            what = "no labelled rows" if len(y) == 0 else f"{len(y):,} labelled rows, all of one class"
            raise UsageError(
                f"The {part} snapshots have {what} ({counts[censored]:,} censored); move the cutoff "
                f"(now {cut:%Y-%m-%d}) or use a longer log."
            )

    models: dict[str, object] = {}
    if estimator is not None:
        if not fit:
            models[MODEL] = estimator
        elif whole_train is not None:
            models[MODEL] = clone(estimator).fit(whole_train)
        else:
            models[MODEL] = clone(estimator).fit(train, y_train)
    if isinstance(baselines, str) and baselines == "default":
        baselines = default_baselines(FLAG_COLUMN if FLAG_COLUMN in train.columns else None)
    for name, baseline in (baselines or {}).items():
        try:
            models[name] = clone(baseline).fit(train, y_train)
        except UsageError as exc:
            warnings.warn(f"Baseline {name!r} skipped: {exc}", UserWarning, stacklevel=2)
    if not models:
        raise UsageError("There is nothing to evaluate: pass an estimator or baselines.")
    scores = {name: _probability(model, test) for name, model in models.items()}

    groups = test["deal_id"].to_numpy() if "deal_id" in test.columns else None
    table = bootstrap_metrics(y_test, scores, groups, n_bootstrap, random_state)
    calibration = calibration_table(y_test, scores, n_bins)
    keep = [c for c in ("deal_id", "as_of") if c in test.columns]
    predictions = test[keep].reset_index(drop=True).assign(y=y_test)
    for name, p in scores.items():
        predictions[name] = p
    return Evaluation(
        target=target,
        table=table,
        calibration=calibration,
        predictions=predictions,
        cutoff=cut,
        test_start=test_start,
        gap_days=float(gap_days),
        n_bootstrap=int(n_bootstrap),
        counts=counts,
        estimators=models,
    )


__all__ = [
    "METRICS",
    "Evaluation",
    "bootstrap_metrics",
    "calibration_table",
    "default_gap_days",
    "evaluate",
    "lift_top_decile",
    "repeated_metrics",
    "time_split",
]
