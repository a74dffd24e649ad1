"""What comes first for an open deal within ``horizon_days``: a stage movement, a loss, or nothing.

The label is ``next_step`` of :func:`salesmetrics.snapshots` (``moved``, ``lost``, ``no movement``; decision
0057). A stall model folds a loss into "moved"; this one keeps the three apart, with probabilities that sum to one.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from salesmetrics.models import LEAK_AUC
from salesmetrics.models.stall import StallPredictor

#: The classes of ``next_step`` and the column each probability gets in :meth:`NextStepPredictor.predict_steps`.
STEPS = {"moved": "p_moved", "lost": "p_lost", "no movement": "p_no_movement"}


class NextStepPredictor(StallPredictor):
    """Probabilities of the next step within the horizon: ``moved`` (an advance, a step back or a win), ``lost``,
    or ``no movement``; each row sums to one.

    Parameters are those of :class:`~salesmetrics.models.StallPredictor` but ``losses`` (a loss is a class of its
    own here); fitted attributes too, with ``classes_`` the steps seen in training (sorted: ``lost``, ``moved``,
    ``no movement``). The risk its reasons explain is the probability of ``no movement``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3))
    >>> y = np.array(["moved", "lost", "no movement"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 1)]
    >>> model = NextStepPredictor(min_closed=100, max_iter=30, n_jobs=1, random_state=0).fit(X, y)
    >>> model.classes_.tolist(), bool(np.allclose(model.predict_proba(X[:5]).sum(axis=1), 1))
    (['lost', 'moved', 'no movement'], True)
    >>> model.predict_steps(X[:2]).columns.tolist()
    ['p_moved', 'p_lost', 'p_no_movement']
    """

    _parameter_constraints: ClassVar[dict] = {
        k: v for k, v in StallPredictor._parameter_constraints.items() if k != "losses"
    }
    _target_column = "next_step"

    def __init__(
        self,
        *,
        horizon_days=30,
        model="hgb",
        calibration="auto",
        min_closed=200,
        max_iter=100,
        learning_rate=0.05,
        max_depth=2,
        min_samples_leaf="auto",
        l2_regularization=20.0,
        C=1.0,
        fallback_C=0.1,
        holdout=0.2,
        n_jobs=None,
        random_state=None,
        exclude=None,
        include=None,
        leak_auc=LEAK_AUC,
    ):
        super().__init__(
            horizon_days=horizon_days,
            model=model,
            calibration=calibration,
            min_closed=min_closed,
            max_iter=max_iter,
            learning_rate=learning_rate,
            max_depth=max_depth,
            min_samples_leaf=min_samples_leaf,
            l2_regularization=l2_regularization,
            C=C,
            fallback_C=fallback_C,
            holdout=holdout,
            n_jobs=n_jobs,
            random_state=random_state,
            exclude=exclude,
            include=include,
            leak_auc=leak_auc,
        )
        del self.losses  # not a parameter here: the class attribute of StallPredictor says "movement"

    def _label_column(self) -> str:
        return self._target_column

    def label_words(self) -> str:
        """The label in plain words.

        >>> NextStepPredictor(horizon_days=14).label_words()
        'next step within 14 days: a stage movement, a loss, or no movement'
        """
        return f"next step within {float(self.horizon_days):g} days: a stage movement, a loss, or no movement"

    def _risk_from_proba(self, proba: np.ndarray) -> np.ndarray:
        hits = np.flatnonzero(self.classes_.astype(str) == "no movement")
        return proba[:, hits[0]] if len(hits) else np.zeros(len(proba))

    def predict_steps(self, X) -> pd.DataFrame:
        """The probability of each step as a named column (``p_moved``, ``p_lost``, ``p_no_movement``; 0 for a
        step never seen in training); rows keep the order of ``X`` and sum to one."""
        proba = self.predict_proba(X)
        names = self.classes_.astype(str)
        out = {column: proba[:, names == step].sum(axis=1) for step, column in STEPS.items()}
        return pd.DataFrame(out, index=X.index if isinstance(X, pd.DataFrame) else None)


__all__ = ["STEPS", "NextStepPredictor"]
