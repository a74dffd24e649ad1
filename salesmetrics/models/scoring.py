"""Scoring snapshot models in ``cross_val_score`` and ``GridSearchCV`` with labels read from the snapshots table.

scikit-learn's scorers need ``y``; a snapshots table carries its labels (``stalled``, ``won``,
``close_outcome``) and marks the censored ones ``<NA>``. :func:`snapshot_scorer` wraps any scikit-learn scorer
so that it reads the labels from the table when ``y`` is not given, and leaves the censored rows out either way::

    from sklearn.model_selection import cross_val_score
    from salesmetrics.models import StallPredictor
    from salesmetrics.models.scoring import snapshot_scorer
    from salesmetrics.models.splits import SnapshotSplit

    snap = sm.snapshots(log, horizon_days=14)
    cross_val_score(StallPredictor(horizon_days=14), snap, cv=SnapshotSplit(5), scoring=snapshot_scorer("roc_auc"))

Without ``scoring`` the estimators' own :meth:`~salesmetrics.models._base.SnapshotClassifier.score` (accuracy on
the labelled rows) is used, which needs no ``y`` either. A scoring name given as a plain string with no ``y``
cannot read the labels: scikit-learn then warns "Scoring failed" and returns NaN for each fold, so pass the
scorer made here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.models._base import _tidy_labels


class SnapshotScorer:
    """A scikit-learn scorer (``scorer(estimator, X, y=None)``) that reads labels from a snapshots table."""

    def __init__(self, metric: str = "roc_auc"):
        from sklearn.metrics import get_scorer, get_scorer_names

        if metric not in get_scorer_names():
            raise UsageError(f"{metric!r} is not a scikit-learn scoring name; e.g. 'roc_auc', 'neg_brier_score'.")
        self.metric = metric
        self._scorer = get_scorer(metric)

    def __repr__(self) -> str:
        return f"snapshot_scorer({self.metric!r})"

    def __call__(self, estimator, X, y=None, sample_weight=None) -> float:
        rows, labels = _labelled(estimator, X, y)
        if len(np.unique(labels)) < 2 and self.metric not in ("accuracy", "neg_brier_score", "neg_log_loss"):
            raise UsageError(
                f"The {len(labels):,} labelled rows scored here are all of one class, so {self.metric} is not "
                "defined; use fewer or longer folds (SnapshotSplit(n_splits=...))."
            )
        if sample_weight is not None:
            return float(self._scorer(estimator, rows, labels, sample_weight=sample_weight))
        return float(self._scorer(estimator, rows, labels))


def _labelled(estimator, X, y):
    labelled = getattr(estimator, "labelled", None)
    if callable(labelled):
        return labelled(X, y)
    if y is None:
        raise UsageError(f"{type(estimator).__name__} cannot read labels from X; pass y.")
    values = y.to_numpy(object) if hasattr(y, "to_numpy") else np.asarray(y, dtype=object)
    keep = pd.notna(values)
    rows = X[keep] if isinstance(X, pd.DataFrame) else np.asarray(X)[keep]
    return rows, _tidy_labels(values[keep])


def snapshot_scorer(metric: str = "roc_auc") -> SnapshotScorer:
    """A scorer for ``cross_val_score``/``GridSearchCV`` that reads the labels from the snapshots table.

    ``metric`` is any scikit-learn scoring name (``"roc_auc"``, ``"neg_brier_score"``, ``"neg_log_loss"``,
    ``"average_precision"``, ``"roc_auc_ovr"`` for the three-class close outcome ...). Censored rows are left
    out; a fold whose labelled rows are all of one class raises a clear error (scikit-learn shows it in its
    "Scoring failed" warning) instead of a silent NaN.

    Examples
    --------
    >>> snapshot_scorer("neg_brier_score")
    snapshot_scorer('neg_brier_score')
    """
    return SnapshotScorer(metric)


__all__ = ["SnapshotScorer", "snapshot_scorer"]
