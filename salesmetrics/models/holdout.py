"""How well a saved, fitted model scores labelled snapshots (``salesmetrics model evaluate``).

:func:`salesmetrics.models.evaluate` fits a fresh model before a cutoff and compares it with the CRM baselines;
:func:`holdout_metrics` takes a model as it is, for example one loaded with
:func:`~salesmetrics.models.load_model`, and scores the snapshot rows it is given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics.models._base import _tidy_labels


def labelled_rows(model, snapshots: pd.DataFrame) -> pd.DataFrame:
    """The snapshot rows whose label for the model's target is known (not censored)."""
    return snapshots[snapshots[model._label_column()].notna()]


def holdout_metrics(model, rows: pd.DataFrame) -> dict[str, object]:
    """Metrics of ``model`` on the labelled snapshot ``rows`` (from :func:`labelled_rows`), in print order.

    Always ``rows``, ``first_as_of`` and ``last_as_of``. A yes/no target adds ``base_rate``,
    ``mean_predicted``, ``auc`` (NaN with one class only), ``brier`` and ``log_loss``; an outcome with more
    classes adds ``brier_multiclass``, ``log_loss`` and, per class, ``share_<class>`` and ``mean_p_<class>``.
    """
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    labels = _tidy_labels(rows[model._label_column()].to_numpy(object))
    proba = model.predict_proba(rows)
    classes = list(model.classes_)
    known = np.isin(labels, classes)
    metrics: dict[str, object] = {
        "rows": len(rows),
        "first_as_of": str(rows["as_of"].min()),
        "last_as_of": str(rows["as_of"].max()),
    }
    if len(classes) == 2:
        y = (labels == classes[1]).astype(int)
        p = proba[:, 1]
        metrics["base_rate"] = float(y.mean())
        metrics["mean_predicted"] = float(p.mean())
        metrics["auc"] = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
        metrics["brier"] = float(brier_score_loss(y, p))
        metrics["log_loss"] = float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1]))
    elif known.any():
        onehot = (np.asarray(labels)[known][:, None] == np.asarray(classes)[None, :]).astype(float)
        metrics["brier_multiclass"] = float(np.mean(np.sum((proba[known] - onehot) ** 2, axis=1)))
        metrics["log_loss"] = float(log_loss(labels[known], np.clip(proba[known], 1e-6, 1), labels=classes))
        for i, name in enumerate(classes):
            metrics[f"share_{name}"] = float(onehot[:, i].mean())
            metrics[f"mean_p_{name}"] = float(proba[known, i].mean())
    return metrics
