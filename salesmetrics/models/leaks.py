"""Leak checks: features that alone rank the training labels almost perfectly, and the sentence that names one.

A feature that separates won from lost deals on its own usually says how the export fills it (an amount filled
only once a deal is won), not what will happen. The estimators run :func:`leaky_features` on their training rows
and warn with :func:`leak_message`; the model card and the stall_risk report repeat it. See
``docs/decisions/0030-model-trust-checks.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics.models import LEAK_AUC

LEAK_MIN_ROWS = 30  # the leak check runs only with at least this many training rows of each class
LEAK_SAMPLE_ROWS = 100_000  # the leak check ranks at most this many training rows (a fixed random sample)


def _auc_by_rank(ranks: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """ROC AUC of each column from its average ranks (Mann-Whitney), ``positive`` the boolean label."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    return (ranks[positive].sum(axis=0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def leaky_features(
    matrix,
    labels,
    names,
    label: str = "label",
    threshold: float = LEAK_AUC,
    min_rows: int = LEAK_MIN_ROWS,
    max_rows: int = LEAK_SAMPLE_ROWS,
) -> list[dict]:
    """Features that alone rank the labels almost perfectly: a ROC AUC of ``threshold`` or more, either way.

    Each feature is scored three ways on the training rows: its values with missing values ranked lowest, with
    them ranked highest, and whether it is missing at all. With more than two classes each class is taken
    against the rest. Classes with fewer than ``min_rows`` rows are not checked. Beyond ``max_rows`` rows a
    fixed random sample of that size is checked (ranking a million rows of every feature would cost as much
    as the fit; the AUC of a sample of 100,000 is within about 0.003 of the whole). A hit is
    ``{"feature", "auc", "by", "label", "class", "rows"}``: ``auc`` is the separation (at least 0.5),
    ``by`` is ``"missing"`` when whether the value is missing separates the label on its own, else ``"value"``.
    See ``docs/decisions/0030-model-trust-checks.md``.

    Examples
    --------
    A feature present exactly when the deal was won (an export that fills ``amount`` only then):

    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(50), np.zeros(50)].astype(int)
    >>> amount = np.where(y == 1, rng.uniform(100, 900, 100), np.nan)
    >>> hits = leaky_features(np.c_[amount, rng.normal(size=100)], y, ["amount", "noise"], "won")
    >>> [(h["feature"], h["auc"], h["by"]) for h in hits]
    [('amount', 1.0, 'missing')]
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    labels = np.asarray(labels)
    rows = len(labels)
    if rows > max_rows:
        pick = np.sort(np.random.default_rng(0).choice(len(labels), size=max_rows, replace=False))
        matrix, labels = matrix[pick], labels[pick]
    classes = np.unique(labels)
    if len(classes) < 2 or matrix.ndim != 2:
        return []
    targets = [classes[-1]] if len(classes) == 2 else list(classes)
    missing = np.isnan(matrix)
    low = pd.DataFrame(np.where(missing, -np.inf, matrix)).rank().to_numpy()
    high = pd.DataFrame(np.where(missing, np.inf, matrix)).rank().to_numpy()
    found: dict[str, dict] = {}
    for cls in targets:
        positive = labels == cls
        n_pos = int(positive.sum())
        if min(n_pos, len(labels) - n_pos) < min_rows:
            continue
        by_value = np.maximum(*(np.abs(_auc_by_rank(r, positive) - 0.5) for r in (low, high))) + 0.5
        share_pos = missing[positive].mean(axis=0)
        share_neg = missing[~positive].mean(axis=0)
        by_missing = np.abs(share_pos - share_neg) / 2 + 0.5  # AUC of a 0/1 score: (1 + tpr - fpr) / 2
        for j, name in enumerate(names):
            best, by = (by_missing[j], "missing") if by_missing[j] >= threshold else (by_value[j], "value")
            if best >= threshold and best > found.get(name, {}).get("auc", 0):
                what = cls.item() if isinstance(cls, np.generic) else cls
                found[name] = {
                    "feature": name,
                    "auc": round(float(best), 4),
                    "by": by,
                    "label": label,
                    "class": what if len(classes) > 2 else None,
                    "rows": rows,
                }
    return sorted(found.values(), key=lambda h: (-h["auc"], h["feature"]))


def leak_message(entry: dict) -> str:
    """One sentence about a feature :func:`leaky_features` found, with how to check it and how to leave it out.

    >>> leak_message({"feature": "amount", "auc": 1.0, "by": "missing", "label": "won", "rows": 1200})
    "amount alone separates the 'won' label of the 1,200 training rows almost perfectly (ROC AUC 1.000, from \
whether it is missing): it probably leaks the outcome; check how the export fills it, or leave it out \
(exclude=['amount'], --exclude amount)."
    """
    name = entry["feature"]
    how = "whether it is missing" if entry.get("by") == "missing" else "its values"
    which = f"'{entry['label']}' label"
    if entry.get("class"):
        which += f" (class {entry['class']!r} against the rest)"
    return (
        f"{name} alone separates the {which} of the {int(entry.get('rows', 0)):,} training rows almost perfectly "
        f"(ROC AUC {float(entry['auc']):.3f}, from {how}): it probably leaks the outcome; check how the export "
        f"fills it, or leave it out (exclude=['{name}'], --exclude {name})."
    )


__all__ = ["LEAK_MIN_ROWS", "LEAK_SAMPLE_ROWS", "leak_message", "leaky_features"]
