"""Evaluate a stall or close model on a time-ordered split, beside the baselines a CRM already has.

:func:`~salesmetrics.models.splits.time_split` trains on snapshots before a cutoff and tests on snapshots at
least ``gap_days`` after it (the gap is at least the label horizon, so no training label looks into the test
period). :func:`evaluate` fits a copy of the estimator and of each baseline (:mod:`salesmetrics.models.baselines`)
on the training snapshots, and reports on the test snapshots ROC AUC, PR AUC (average precision), the Brier
score and the lift in the top decile, each with a bootstrap interval that resamples whole deals, and a
calibration table (:mod:`salesmetrics.models.bootstrap`). Rows whose label is censored (``<NA>``) are left out
and counted. Choices: ``docs/decisions/0020-evaluation-split.md``.
"""

from __future__ import annotations

import html
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone

from salesmetrics.exceptions import UsageError
from salesmetrics.features.build import snapshots as build
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.models.baselines import FLAG_COLUMN, default_baselines
from salesmetrics.models.bootstrap import (
    METRIC_LABELS,
    METRICS,
    bootstrap_metrics,
    calibration_summary,
    calibration_table,
    lift_top_decile,
    repeated_metrics,
)
from salesmetrics.models.momentum_parts import with_momentum_flags
from salesmetrics.models.splits import as_of_column, default_gap_days, time_split
from salesmetrics.models.stall import stall_words

TARGETS = ("stalled", "stalled_excluding_losses", "won")
MODEL = "model"
FOLLOW_UP = ("complete", "all", "ipcw")
MIN_LABELLED_SHARE = 0.9  # follow_up="complete": a test date counts when this share of its rows has a label


def _learns_from_censored_rows(estimator) -> bool:
    """Whether ``estimator`` uses snapshots whose label is not known yet (it says so with a method)."""
    ask = getattr(estimator, "learns_from_censored_rows", None)
    return bool(ask()) if callable(ask) else False


# ------------------------------------------------------------------------------------------------ evaluation


def _value_and_interval(row) -> str:
    """A metric as people read it: ``"0.812 [0.790, 0.833]"``, the value alone without a bootstrap interval
    (``n_bootstrap=0``), "not defined" when the test rows cannot give it (one class only)."""
    if pd.isna(row.value):
        return "not defined"
    if pd.isna(row.ci_low) or pd.isna(row.ci_high):
        return f"{row.value:.3f}"
    return f"{row.value:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


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
    follow_up : str
        Which test rows were scored: ``"complete"`` (only test dates where at least ``min_labelled_share`` of the
        rows have a label), ``"all"`` (every labelled test row) or ``"ipcw"`` (every labelled test row, weighted
        by the inverse labelled share of its date and stage; ``predictions["weight"]``). Decision 0056.
    labelled_share : DataFrame
        Per test date (``as_of`` at or after the test start): ``rows``, ``labelled``, ``labelled_share`` and
        ``used`` (whether its rows were scored).
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
    follow_up: str = "all"
    labelled_share: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    min_labelled_share: float = MIN_LABELLED_SHARE
    horizon: float | None = None

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.table["model"]))

    def wide(self, with_ci: bool = True) -> pd.DataFrame:
        """One row per model, one column per metric (``"0.812 [0.790, 0.833]"`` text when ``with_ci``)."""
        t = self.table
        if with_ci:
            t = t.assign(value=t.apply(_value_and_interval, axis=1))
        out = t.pivot(index="model", columns="metric", values="value").reindex(index=self.models, columns=METRICS)
        out.columns = [METRIC_LABELS[c] for c in out.columns]
        out.columns.name = None
        return out

    def follow_up_line(self) -> str:
        """Which test dates were scored, and the labelled share over them, in words (the headline's second part)."""
        share = self.labelled_share
        if share.empty:
            return "test rows as given"
        used, left = share[share["used"]], share[~share["used"]]

        def span(frame) -> str:
            low, high = frame["labelled_share"].min(), frame["labelled_share"].max()
            return f"{low:.0%}" if round(low, 2) == round(high, 2) else f"{low:.0%} to {high:.0%}"

        dates = f"{len(used):,} test date{'s' if len(used) != 1 else ''}"
        if self.follow_up == "complete":
            text = (
                f"complete follow-up only: {dates} where at least {self.min_labelled_share:.0%} of the rows have a "
                f"{self.target!r} label (labelled share {span(used)})"
            )
            if len(left):
                text += f"; {len(left):,} later or less followed-up test dates left out (labelled share {span(left)})"
            return text
        if self.follow_up == "ipcw":
            return (
                f"every test date ({dates}, labelled share {span(used)}), labelled rows weighted by the inverse "
                "labelled share of their date and stage (IPCW)"
            )
        return (
            f"every test date ({dates}, labelled share {span(used)}); where the share is low, the labelled rows "
            "are the quickly closed deals"
        )

    def calibration_summary(self) -> pd.DataFrame:
        """Per model: mean predicted probability, observed rate and calibration error on the test rows."""
        return calibration_summary(self.calibration)

    def _summary_line(self) -> str:
        c = self.counts
        if len(self.predictions):
            rate = float(np.average(self.predictions["y"], weights=self.predictions.get("weight")))
        else:
            rate = float("nan")
        at_risk = ""
        if c.get("train_at_risk"):  # competing risks (decision 0028)
            at_risk = " (the model learned from them as at risk; the baselines left them out)"
        lost = ""
        if "test_lost_left_out" in c:
            lost = (
                f"lost within the horizon, left out: {c.get('train_lost_left_out', 0):,} train, "
                f"{c['test_lost_left_out']:,} test; "
            )
        words = target_words(self.target, self.gap_days if self.horizon is None else self.horizon)
        return (
            f"target {self.target!r} ({words}): "
            f"trained on {c.get('train', 0):,} snapshots before {self.cutoff:%Y-%m-%d}, "
            f"tested on {c.get('test', 0):,} from {self.test_start:%Y-%m-%d} (gap {self.gap_days:g} days, "
            f"base rate {rate:.3f}); censored labels left out: {c.get('train_censored', 0):,} train"
            f"{at_risk}, "
            f"{c.get('test_censored', 0):,} test; {lost}{self.n_bootstrap} bootstrap draws of whole deals, "
            "95% intervals; "
            f"{self.follow_up_line()}"
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


def target_words(target: str, horizon_days=None) -> str:
    """What a target label means, in words, named on every evaluation output (decisions 0016, 0057).

    >>> target_words("won")
    'won eventually: the outcome read at the end of the log'
    """
    if target == "won":
        return "won eventually: the outcome read at the end of the log"
    return stall_words(target, horizon_days) or target


def _observed(frame: pd.DataFrame, target: str) -> np.ndarray:
    """Rows whose outcome is followed up: the label is known, or (``stalled_excluding_losses``) the deal was lost
    within the horizon, which leaves it out by definition rather than by censoring."""
    if target == "stalled_excluding_losses" and "next_step" in frame.columns:
        return frame["next_step"].notna().to_numpy()
    return _labels(frame, target).notna().to_numpy()


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
    follow_up: str = "complete",
    min_labelled_share: float = MIN_LABELLED_SHARE,
    test_until=None,
    client=None,
    parts=None,
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
        the log itself (recommended): then the test rows are ``snapshots(log, **snapshot_options)`` (with the
        estimator's own ``horizon_days`` unless the options give one) and the
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
        See :func:`time_split`; ``gap_days`` defaults to the label horizon (a shorter one warns: the last
        training labels would look into the test period), ``cutoff`` to the time below which ``train_share`` of
        the *labelled* snapshots fall.
    n_bootstrap, random_state
        Bootstrap replicates (whole deals are drawn, so a deal's snapshots stay together) and their random state.
    baselines : "default", dict or None
        Name → estimator; ``"default"`` is :func:`~salesmetrics.models.baselines.default_baselines`. A
        baseline whose columns are missing from the snapshots is skipped with a warning.
    follow_up : {"complete", "all", "ipcw"}, default "complete"
        Which test rows are scored (decision 0056). A ``won`` label is known only for deals closed by the end of
        the log, so late test dates keep mostly the quickly closed deals and the labelled rows misstate the
        rate. ``"complete"``: only test dates where at least ``min_labelled_share`` (0.9) of the rows have a
        label (the default ``cutoff`` is placed among those dates); ``"all"``: every labelled test row;
        ``"ipcw"``: every labelled test row, weighted by the inverse labelled share of its date and stage.
        ``Evaluation.labelled_share`` gives the share per test date, and the headline says which was used.
    train_snapshots : DataFrame or None
        With a frame, the rows to train on (those before the cutoff are used), e.g.
        ``snapshots(log, observed_until=test_start)``. Without it the training labels come from
        ``snapshots`` and, for ``target="won"``, a warning says they were read after the test start.
    client, parts
        With a ``dask.distributed.Client``, the snapshot tables are built on its workers from the log folder
        ``parts`` (a partitioned log: ``salesmetrics partition``; ``docs/scale.md``), the same tables as on this
        machine; the log itself (``snapshots``, read here) serves the rest. ``snapshots`` may be that folder's path,
        which is also ``parts``: then it is never read here whole, and the momentum flags come from its parts too
        (:func:`~salesmetrics.models.momentum_parts.momentum_stall_flags_of_parts`). Without a client, ``parts``
        builds the tables part by part here.

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
    target = _target_for(estimator, target)
    if target not in TARGETS:
        raise UsageError(f"target must be one of {', '.join(map(repr, TARGETS))}, not {target!r}.")
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise UsageError(f"n_bootstrap must be a whole number, 0 or more, not {n_bootstrap!r}.")
    folder = isinstance(snapshots, (str, os.PathLike))  # its tables and momentum flags from its parts, not read here
    if folder:
        parts = snapshots if parts is None else parts
    log = snapshots if isinstance(snapshots, SalesLog) else None
    from_log = log is not None or folder
    if log is not None and client is not None and parts is None:
        raise UsageError(
            "a client builds the snapshot tables from a log folder's parts: pass the folder's path as the log, or "
            "parts=FOLDER (the folder the log was read from)."
        )
    source = log if parts is None else parts  # where the snapshot tables are built from
    if from_log:
        options = dict(snapshot_options or {})
        own = getattr(estimator, "horizon_days", None)  # StallPredictor(horizon_days=14): snapshots to match
        if own is not None and "horizon_days" not in options:
            options["horizon_days"] = own
        frame = build(source, **options, client=client)
    elif isinstance(snapshots, pd.DataFrame):
        if snapshot_options or client is not None or parts is not None:
            raise UsageError(
                "snapshot_options, client and parts apply when a log is passed; this is already a snapshot frame."
            )
        frame = snapshots
    else:
        raise UsageError(
            f"snapshots must be a DataFrame from salesmetrics.snapshots or a SalesLog, not {type(snapshots).__name__}."
        )
    if gap_days is None:
        gap_days = default_gap_days(frame, estimator)
    horizon = frame.attrs.get("horizon_days")
    if horizon is not None and float(gap_days) < float(horizon):
        warnings.warn(
            f"gap_days={float(gap_days):g} is shorter than the snapshots' label horizon ({float(horizon):g} days): "
            f"the last training labels (stalled, close_outcome) look into the test period, so the figures are "
            f"optimistic. Leave gap_days out (it defaults to the horizon) or pass gap_days={float(horizon):g}.",
            UserWarning,
            stacklevel=2,
        )
    if follow_up not in FOLLOW_UP:
        raise UsageError(f"follow_up must be one of {', '.join(map(repr, FOLLOW_UP))}, not {follow_up!r}.")
    if not 0 < float(min_labelled_share) <= 1:
        raise UsageError(f"min_labelled_share must be above 0 and at most 1, not {min_labelled_share!r}.")
    labelled = _observed(frame, target)  # followed up: the label is known, or the row is excluded by definition
    share = _share_by_date(frame, labelled)
    complete_dates = share.index[share["labelled_share"] >= float(min_labelled_share)]
    on_complete = as_of_column(frame).isin(complete_dates).to_numpy()
    if cutoff is None and labelled.any():  # 70% of the *labelled* snapshots, so the test part has labels
        pool = labelled & on_complete if follow_up == "complete" and (labelled & on_complete).any() else labelled
        cutoff = time_split(frame[pool], None, 0.0, train_share=train_share)[0].attrs["cutoff"]
        last_complete = as_of_column(frame)[labelled & on_complete].max() if follow_up == "complete" else None
        if last_complete is not None and pd.notna(last_complete):
            # the test period must reach a followed-up date: at the latest, it starts on the last one
            cutoff = min(cutoff, last_complete - pd.Timedelta(days=float(gap_days)))
    train, test = time_split(frame, cutoff, gap_days, train_share=train_share)
    if test_until is not None:  # a rolling origin's test window (rolling_origin)
        until = pd.Timestamp(test_until)
        test = test[(as_of_column(test) < until).to_numpy()]
    cut, test_start = train.attrs["cutoff"], train.attrs["test_start"]
    counts = {"gap": train.attrs["n_gap"]}
    if from_log:
        train_source = build(source, observed_until=test_start, **options, client=client)
        train = train_source[as_of_column(train_source) < cut]
    elif train_snapshots is not None:
        train = train_snapshots[as_of_column(train_snapshots) < cut]
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
    if from_log and momentum_flag:
        momentum = {} if momentum_flag is True else dict(momentum_flag)
        train, test = with_momentum_flags(log if log is not None else parts, [train, test], client, **momentum)
    share = share[share.index >= test_start]
    if test_until is not None:
        share = share[share.index < pd.Timestamp(test_until)]
    share = share.assign(used=share.index.isin(complete_dates) if follow_up == "complete" else True)
    if follow_up == "complete":
        kept = as_of_column(test).isin(complete_dates).to_numpy()
        if not kept.any() and share["labelled"].sum() > 0:  # no label at all: the check below says so
            raise UsageError(
                f"No test date from {test_start:%Y-%m-%d} has a {target!r} label for at least "
                f"{float(min_labelled_share):.0%} of its deals (the labelled share runs from "
                f"{share['labelled_share'].max():.0%} down to {share['labelled_share'].min():.0%}): the outcomes of "
                "the test period are not followed up. Pass an earlier cutoff, or follow_up='ipcw' (weights) or "
                "'all' (labelled rows as they are; on the command line --follow-up ipcw|all)."
            )
        if kept.any():
            labelled_left_out = (~kept) & _observed(test, target)
            counts["not_followed_up"] = int(labelled_left_out.sum())  # labelled rows on dates left out
            counts["test_censored_left_out_dates"] = int((~kept).sum() - labelled_left_out.sum())
            test = test[kept]
    y_train, y_test = _labels(train, target), _labels(test, target)
    # an estimator that learns from still-open deals (competing risks, decision 0028) is fitted on every
    # training snapshot, censored ones included, with labels read from the table; the rest see labelled rows
    whole_train = train if _learns_from_censored_rows(estimator) else None
    counts["train_censored"] = int((~_observed(train, target)).sum())
    if target == "stalled_excluding_losses":  # lost within the horizon: neither a stall nor a movement
        counts["train_lost_left_out"] = int((_observed(train, target) & y_train.isna().to_numpy()).sum())
        counts["test_lost_left_out"] = int((_observed(test, target) & y_test.isna().to_numpy()).sum())
    if whole_train is not None and fit:
        counts["train_at_risk"] = counts["train_censored"]  # fitted on them: see whole_train below
    counts["test_censored"] = int((~_observed(test, target)).sum()) + counts.pop("test_censored_left_out_dates", 0)
    test_all = test.assign(_observed=_observed(test, target), _labelled=y_test.notna().to_numpy())
    train, y_train = train[y_train.notna().to_numpy()], _binary(y_train.dropna())
    test, y_test = test[y_test.notna().to_numpy()], _binary(y_test.dropna())
    counts["train"], counts["test"] = len(train), len(test)
    for part, y, censored in (("training", y_train, "train_censored"), ("test", y_test, "test_censored")):
        if len(y) == 0 or y.min() == y.max():
            what = "no labelled rows" if len(y) == 0 else f"{len(y):,} labelled rows, all of one class"
            hint = ""
            if follow_up == "complete" and part == "training" and len(complete_dates):
                hint = (
                    f" The test dates with complete follow-up (at least {float(min_labelled_share):.0%} labelled) end "
                    f"on {pd.Timestamp(complete_dates.max()):%Y-%m-%d}, too early to leave labelled rows to train "
                    "on; the outcomes of later dates are not followed up. Pass follow_up='ipcw' or 'all' (on the "
                    "command line --follow-up ipcw|all) to score them anyway, said in the headline."
                )
            raise UsageError(
                f"The {part} snapshots have {what} ({counts[censored]:,} censored); move the cutoff "
                f"(now {cut:%Y-%m-%d}) or use a longer log.{hint}"
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
        baselines = default_baselines(
            FLAG_COLUMN if FLAG_COLUMN in train.columns else None, horizon_days=float(horizon or 30.0)
        )
    for name, baseline in (baselines or {}).items():
        try:
            models[name] = clone(baseline).fit(train, y_train)
        except UsageError as exc:
            warnings.warn(f"Baseline {name!r} skipped: {exc}", UserWarning, stacklevel=2)
    if not models:
        raise UsageError("There is nothing to evaluate: pass an estimator or baselines.")
    scores = {name: _probability(model, test) for name, model in models.items()}

    groups = test["deal_id"].to_numpy() if "deal_id" in test.columns else None
    weights = _ipcw_weights(test_all) if follow_up == "ipcw" else None
    table = bootstrap_metrics(y_test, scores, groups, n_bootstrap, random_state, weights=weights)
    calibration = calibration_table(y_test, scores, n_bins, weights=weights)
    keep = [c for c in ("deal_id", "as_of") if c in test.columns]
    predictions = test[keep].reset_index(drop=True).assign(y=y_test)
    if weights is not None:
        predictions["weight"] = weights
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
        follow_up=follow_up,
        labelled_share=share.reset_index(),
        horizon=float(horizon) if horizon is not None else None,
        min_labelled_share=float(min_labelled_share),
    )


def _share_by_date(frame: pd.DataFrame, labelled: np.ndarray) -> pd.DataFrame:
    """Per as-of date: ``rows``, ``labelled`` and ``labelled_share``, indexed by ``as_of``."""
    counts = pd.DataFrame({"as_of": as_of_column(frame).to_numpy(), "labelled": labelled}).groupby("as_of")
    out = counts["labelled"].agg(rows="size", labelled="sum")
    out["labelled"] = out["labelled"].astype("int64")
    out["labelled_share"] = out["labelled"] / out["rows"]
    return out


def _ipcw_weights(test: pd.DataFrame) -> np.ndarray:
    """Inverse-probability-of-censoring weights of the labelled test rows (``_labelled``): the rows of their date
    and stage over the followed-up ones (``_observed``; the date alone when there is no stage column), scaled to
    a mean of 1.

    The assumption (decision 0056): within a date and a stage, whether a deal's outcome is known by the end of
    the log does not depend on the outcome itself.
    """
    keys = [as_of_column(test).rename("as_of")]
    if "stage" in test.columns:
        keys.append(test["stage"].astype(object).fillna("(none)").rename("stage"))
    grouped = test.reset_index(drop=True).groupby([k.reset_index(drop=True) for k in keys], sort=False)["_observed"]
    inverse = grouped.transform("size") / grouped.transform("sum").where(lambda x: x > 0)
    w = inverse.to_numpy(dtype="float64")[test["_labelled"].to_numpy(dtype=bool)]
    return w / w.mean() if len(w) else w


__all__ = [
    "METRICS",
    "METRIC_LABELS",
    "Evaluation",
    "bootstrap_metrics",
    "calibration_table",
    "default_gap_days",
    "evaluate",
    "lift_top_decile",
    "repeated_metrics",
    "time_split",
]
