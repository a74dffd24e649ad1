"""Close likelihood: the probability that an open deal is eventually won, or won / lost / slipped by its date.

``target="won"`` learns the ``won`` label of :func:`salesmetrics.snapshots` (the deal's final outcome; deals
still open at the end of the log are left out, ``docs/decisions/0015-snapshot-labels.md``).
``target="close_outcome"`` learns three classes: won or lost by the expected close date known at the as-of
moment, or slipped past it.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import StrOptions

from ._base import SnapshotClassifier

TARGETS = ("won", "close_outcome")


class CloseLikelihood(SnapshotClassifier):
    """Probability that an open deal is won (or won / lost / slipped by its expected close date).

    Parameters
    ----------
    target : {"won", "close_outcome"}, default "won"
        ``won``: classes ``[0, 1]`` (1 = won eventually). ``close_outcome``: classes
        ``["lost", "slipped", "won"]`` (by the expected close date as known at the as-of moment; when that date
        has passed, within ``horizon_days`` of the snapshots).
    model, calibration, min_closed, max_iter, learning_rate, max_depth, min_samples_leaf, l2_regularization, C, \
fallback_C, holdout, n_jobs, random_state
        As in :class:`~salesmetrics.models.StallPredictor`.

    Attributes
    ----------
    classes_, estimator_, model_, fallback_, calibration_, n_rows_, n_closed_, n_censored_, training_window_,
    metrics_, n_features_in_, feature_names_in_
        As in :class:`~salesmetrics.models.StallPredictor`.

    Examples
    --------
    >>> snap = sm.snapshots(log)  # doctest: +SKIP
    >>> CloseLikelihood(target="close_outcome").fit(snap).predict_outcomes(snap)  # doctest: +SKIP

    With a numeric array and text labels:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> y = np.where(X[:, 0] > 0.5, "won", np.where(X[:, 1] > 0, "lost", "slipped"))
    >>> model = CloseLikelihood(target="close_outcome", model="logistic", min_closed=100, n_jobs=1).fit(X, y)
    >>> model.classes_.tolist(), model.predict_outcomes(X[:2]).columns.tolist()
    (['lost', 'slipped', 'won'], ['p_won', 'p_lost', 'p_slipped'])
    """

    _parameter_constraints: ClassVar[dict] = {
        **SnapshotClassifier._parameter_constraints,
        "target": [StrOptions(set(TARGETS))],
    }
    _kind = "close"

    def __init__(
        self,
        *,
        target="won",
        model="hgb",
        calibration="auto",
        min_closed=200,
        max_iter=200,
        learning_rate=0.05,
        max_depth=3,
        min_samples_leaf=100,
        l2_regularization=1.0,
        C=1.0,
        fallback_C=0.1,
        holdout=0.2,
        n_jobs=None,
        random_state=None,
    ):
        self.target = target
        self.model = model
        self.calibration = calibration
        self.min_closed = min_closed
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.C = C
        self.fallback_C = fallback_C
        self.holdout = holdout
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _label_column(self) -> str:
        return self.target

    def _won_index(self) -> int:
        """Column of the winning class: ``"won"`` when present, else the last class (1 of ``[0, 1]``)."""
        labels = list(self.classes_)
        for i, c in enumerate(labels):
            if isinstance(c, str) and c == "won":
                return i
        return len(labels) - 1

    def _risk_from_proba(self, proba: np.ndarray) -> np.ndarray:
        if proba.shape[1] == 1:  # one class seen: risk 0 if it is the winning class
            single = self.classes_[0]
            winning = single == "won" if isinstance(single, str) else bool(single == 1)
            return np.full(len(proba), 0.0 if winning else 1.0)
        return 1.0 - proba[:, self._won_index()]

    def predict_outcomes(self, X) -> pd.DataFrame:
        """Probabilities as named columns: ``p_won`` (and ``p_lost``, ``p_slipped`` for ``close_outcome``).

        Rows keep the order of ``X``.
        """
        proba = self.predict_proba(X)
        out = {"p_won": 1.0 - self._risk_from_proba(proba)}
        for name in ("lost", "slipped"):
            hits = np.flatnonzero(self.classes_.astype(str) == name)
            if len(hits):
                out[f"p_{name}"] = proba[:, hits[0]]
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(out, index=index)


__all__ = ["TARGETS", "CloseLikelihood"]
