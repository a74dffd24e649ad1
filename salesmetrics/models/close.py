"""Close likelihood: the probability that an open deal is eventually won, or won / lost / slipped by its date.

``target="won"`` learns the ``won`` label of :func:`salesmetrics.snapshots` (the deal's final outcome; deals
still open at the end of the log are left out, ``docs/decisions/0015-snapshot-labels.md``).
``target="close_outcome"`` learns three classes: won or lost by the expected close date known at the as-of
moment, or slipped past it.
"""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import SnapshotClassifier

TARGETS = ("won", "close_outcome")
DAY = pd.Timedelta(days=1)


def censoring_weights(as_of, days_to_outcome, observed_until, rows_per_as_of=None, max_weight=20.0) -> np.ndarray:
    """Inverse-probability-of-censoring weights for ``won`` labels read at ``observed_until`` (decision 0027).

    A row at ``as_of`` has its outcome known only if the deal closed within ``C = observed_until - as_of``
    days. Censoring is administrative, so ``C`` is known for every row, open ones included, and the chance
    that an outcome ``t`` days ahead is seen is ``G(t)``, the share of all rows (``rows_per_as_of``: counts
    per as-of moment, censored rows included) with ``C >= t``: the Kaplan–Meier curve of the censoring
    times, with no censoring of its own. Each labelled row gets ``1 / G(days_to_outcome)``, capped at
    ``max_weight`` and scaled to mean 1, so slow outcomes count for the rows like them that are still open.
    Without ``rows_per_as_of`` every distinct as-of moment of the labelled rows counts once (a steady pipeline).

    Examples
    --------
    Two as-of days, 10 and 40 days before the labels were read, with 4 rows each: an outcome 20 days ahead
    is seen only from the earlier day (G = 1/2), one 5 days ahead from both (G = 1).

    >>> t = pd.Timestamp("2024-03-01", tz="UTC")
    >>> as_of = pd.Series([t - 40 * DAY, t - 40 * DAY, t - 10 * DAY])
    >>> rows = {str(t - 40 * DAY): 4, str(t - 10 * DAY): 4}
    >>> censoring_weights(as_of, [5.0, 20.0, 5.0], t, rows).round(3).tolist()
    [0.75, 1.5, 0.75]
    """
    as_of = pd.to_datetime(pd.Series(as_of)).reset_index(drop=True)
    t = np.asarray(days_to_outcome, dtype=np.float64)
    end = pd.Timestamp(observed_until)
    if rows_per_as_of:
        dates = pd.to_datetime(pd.Series(list(rows_per_as_of)))
        counts = np.asarray(list(rows_per_as_of.values()), dtype=np.float64)
        inside = ((dates >= as_of.min()) & (dates <= as_of.max())).to_numpy()  # the training window only
        dates, counts = dates[inside], counts[inside]
    else:
        dates = pd.Series(as_of.unique())
        counts = np.ones(len(dates))
    follow = ((end - dates) / DAY).to_numpy(dtype=np.float64)
    order = np.argsort(follow)
    follow, counts = follow[order], counts[order]
    # G(t) = share of rows whose follow-up C is at least t
    at_least = np.cumsum(counts[::-1])[::-1] / counts.sum()
    pos = np.searchsorted(follow, t, side="left")
    g = np.where(pos < len(follow), at_least[np.minimum(pos, len(follow) - 1)], 0.0)
    w = 1.0 / np.maximum(g, 1.0 / float(max_weight))
    return w / w.mean()


class CloseLikelihood(SnapshotClassifier):
    """Probability that an open deal is won (or won / lost / slipped by its expected close date).

    Parameters
    ----------
    target : {"won", "close_outcome"}, default "won"
        ``won``: classes ``[0, 1]`` (1 = won eventually). ``close_outcome``: classes
        ``["lost", "slipped", "won"]`` (by the expected close date as known at the as-of moment; when that date
        has passed, within ``horizon_days`` of the snapshots).
    censoring : {"none", "ipcw", "maturity"}, default "none"
        ``won`` is known only for deals closed by the moment the labels were read, which favours quick outcomes
        (often losses). ``ipcw`` weights each labelled row by the inverse chance that an outcome that far ahead
        was seen (:func:`censoring_weights`); ``maturity`` trains only on as-of dates at least
        ``maturity_days`` before that moment (decision 0027). Both need a snapshots table
        (``days_to_outcome``, ``attrs``) and ``target="won"``, otherwise every row weighs 1 and ``censoring_``
        says why. Neither beat no correction reliably on simulated logs (the features carry calendar time, so
        the most recent rows lack slow outcomes whatever the weights), hence the default ``none``.
    max_weight : float, default 20
        Cap of the censoring weights (before they are scaled to mean 1).
    maturity_days : float, default 180
        With ``censoring="maturity"``: the age a label must have reached to be used.
    model, calibration, min_closed, max_iter, learning_rate, max_depth, min_samples_leaf, l2_regularization, C, \
fallback_C, holdout, n_jobs, random_state
        As in :class:`~salesmetrics.models.StallPredictor`.

    Attributes
    ----------
    classes_, estimator_, model_, fallback_, calibration_, n_rows_, n_closed_, n_censored_, training_window_,
    metrics_, n_features_in_, feature_names_in_
        As in :class:`~salesmetrics.models.StallPredictor`.
    censoring_ : str
        The censoring correction applied (weights' range), or why none was.

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
        "censoring": [StrOptions({"ipcw", "maturity", "none"})],
        "max_weight": [Interval(Real, 1, None, closed="left")],
        "maturity_days": [Interval(Real, 0, None, closed="left")],
    }
    _kind = "close"

    def __init__(
        self,
        *,
        target="won",
        censoring="none",
        max_weight=20.0,
        maturity_days=180.0,
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
    ):
        self.target = target
        self.censoring = censoring
        self.max_weight = max_weight
        self.maturity_days = maturity_days
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

    def _censoring_weights(self, frame, attrs) -> np.ndarray | None:
        self.censoring_ = "none"
        if self.censoring == "none":
            return None
        if self.target != "won":
            self.censoring_ = "none (censoring weights apply to target='won')"
            return None
        if frame is None or "days_to_outcome" not in frame or not attrs.get("observed_until"):
            self.censoring_ = "none (needs a snapshots table with days_to_outcome and attrs['observed_until'])"
            return None
        if self.censoring == "maturity":
            follow = (pd.Timestamp(attrs["observed_until"]) - pd.to_datetime(frame["as_of"])) / DAY
            mature = (follow >= self.maturity_days).to_numpy()
            if mature.sum() < 2 or len(np.unique(frame["won"].to_numpy()[mature])) < 2:
                self.censoring_ = f"none (fewer than two classes in rows at least {self.maturity_days:g} days old)"
                return None
            self.censoring_ = (
                f"maturity: {int(mature.sum()):,} of {len(mature):,} labelled rows at least "
                f"{self.maturity_days:g} days before the labels were read"
            )
            return mature.astype(np.float64)
        rows = attrs.get("rows_per_as_of")
        w = censoring_weights(frame["as_of"], frame["days_to_outcome"], attrs["observed_until"], rows, self.max_weight)
        source = "rows per as-of date" if rows else "distinct as-of dates (no rows_per_as_of in attrs)"
        self.censoring_ = f"ipcw (weights {w.min():.2f} to {w.max():.2f}, mean 1; G from {source})"
        return w

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


__all__ = ["TARGETS", "CloseLikelihood", "censoring_weights"]
