"""Stall prediction: the probability that an open deal makes no stage movement in the next ``horizon_days``.

The label is ``stalled`` of :func:`salesmetrics.snapshots` (``docs/decisions/0016-stall-definition.md``).
"""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from salesmetrics.exceptions import UsageError
from salesmetrics.models import LEAK_AUC
from salesmetrics.models._base import SnapshotClassifier


class StallPredictor(SnapshotClassifier):
    """Probability that an open deal stalls: no movement (advance, regression, win or loss) within the horizon.

    Parameters
    ----------
    horizon_days : float, default 30
        The horizon the training snapshots were built with (``snapshots(log, horizon_days=...)``); fitting on a
        snapshots table built with another horizon raises a :class:`~salesmetrics.exceptions.UsageError`.
    losses : {"movement", "excluded"}, default "movement"
        What a loss within the horizon is. ``"movement"``: the label ``stalled`` (decision 0016), a deal lost
        next week did not stall. ``"excluded"``: the label ``stalled_excluding_losses``, the rows lost within the
        horizon are left out, so the model answers "will it move, if it is not lost?" (decision 0057).
        ``label_words()`` says which, and every output of the model names it.
    model : {"hgb", "logistic"}, default "hgb"
        Histogram gradient boosting, or the logistic-regression baseline.
    calibration : {"auto", "isotonic", "sigmoid", "none"}, default "auto"
        ``auto``: for boosting, no calibration step, the trees are fitted on every training row (across every
        log this ranked as well and had the lower Brier score on most; decision 0065); for ``model="logistic"``,
        a sigmoid. ``sigmoid`` or ``isotonic`` (whose steps give few distinct values; decision 0058): the model is
        fitted outside a held-out share of the deals (``holdout``) and calibrated on it. No calibration with
        fewer than 200 held-out rows, or fewer than 30 held-out rows of the rarest class; a fitted sigmoid that
        would reverse the model's ranking is refused. Then the uncalibrated model is kept and ``calibration_``
        says why. Probabilities are never exactly 0 or 1 (``probability_floor_``: 1 / (training rows + 2)).
    min_closed : int, default 200
        With fewer closed (won or lost) deals in the training rows, a strongly regularised logistic regression
        is fitted instead, with a :class:`~salesmetrics.models._base.SmallDataWarning` and ``fallback_`` set.
    max_iter, learning_rate, max_depth, min_samples_leaf, l2_regularization
        Gradient boosting settings (``model="hgb"``): by default 100 trees of depth 2 (``min_samples_leaf=
        "auto"``: an eighth of the training rows per leaf, at least 20 and at most 500; L2 penalty 20) with
        learning rate 0.05: strongly regularised, because the signal is weak and
        drifts over time. Chosen on time-split evaluations of simulated logs other than the ones
        ``docs/models.md`` reports (``benchmarks/tune_models.py``); the earlier 200 trees of depth 3 (leaf 100,
        L2 1) ranked test snapshots up to 0.02 AUC worse.
    C, fallback_C : float, default 1.0 and 0.1
        Inverse L2 penalty of the logistic baseline and of the small-data fallback.
    holdout : float, default 0.2
        Share of deals held out for calibration (when there is a calibration step).
    exclude : list of str or None
        Snapshot features to leave out (e.g. ``["amount"]`` when the export fills it only for some outcomes);
        unknown names raise a :class:`~salesmetrics.exceptions.UsageError` with the closest feature names.
    include : list of str, "all" or None
        Opt-in snapshot features to learn from as well (``salesmetrics.features.registry.OPT_IN``: the activity
        mix by kind, the days since each kind, recent against older motion; ``"all"`` for every one). They are
        off by default: they did not rank better on the rolling-origin backtests of every log (decision 0064).
    leak_auc : float or None, default 0.98
        When one feature alone (its values, or whether it is missing) ranks the training labels with a ROC AUC
        of this or more, either way, fitting warns with a :class:`~salesmetrics.DataNote` that it probably
        leaks the outcome and records it in ``leaky_features_`` and the model card (None: no check; decision
        0030).
    n_jobs : int or None
        Threads for the boosting (None: every core). On a machine shared with other jobs, 1 is often faster.
    random_state : int, RandomState or None
        Seeds the held-out split (if any) and the boosting.

    Attributes
    ----------
    classes_ : ndarray
        ``[0, 1]`` (1 = stalled) when fitted on snapshots.
    estimator_ : estimator
        The fitted (and possibly calibrated) model.
    model_ : str
        What was fitted: ``hgb``, ``logistic``, ``logistic (fallback)`` or ``constant``.
    fallback_ : str or None
        Why the fallback was used, in words; None when it was not.
    calibration_ : str
        The calibration applied, or why none was.
    stage_model_ : dict or None
        The stages the training snapshots were built on (``stages``, and ``commit_stage``, ``won``, ``lost`` when
        the table's ``attrs`` record them), carried to the model card; None when fitted on an array.
    horizon_days_ : float or None
        The ``horizon_days`` of the snapshots table fitted on (what its labels looked ahead); None when fitted
        on an array. Commands read it from the model, never from the model card (decision 0032).
    n_rows_, n_closed_, n_censored_ : int
        Training rows, closed deals among them, rows left out because their label was censored.
    training_window_ : tuple of str or None
        First and last as-of moment of the training rows.
    metrics_ : dict
        Held-out figures (``holdout_auc``, Brier scores, base rate) when a held-out set was used; with no
        calibration step on two classes, ``training_base_rate`` (the weighted share of the class ``classes_[1]``).
    leaky_features_ : list of dict
        Features that alone separate the training labels almost perfectly (``feature``, ``auc``, ``by``:
        ``"value"`` or ``"missing"``); empty when none does or when fitted on an array.
    n_features_in_, feature_names_in_
        As in scikit-learn.

    Examples
    --------
    On a snapshots table (``snapshots(log)``) the label is read from its ``stalled`` column:

    >>> snap = sm.snapshots(log)  # doctest: +SKIP
    >>> model = StallPredictor(random_state=0).fit(snap)  # doctest: +SKIP
    >>> model.reasons(sm.snapshots(log, as_of="2025-03-31"))  # doctest: +SKIP

    Like any scikit-learn classifier it also takes a numeric array and ``y``:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    >>> model = StallPredictor(min_closed=100, max_iter=50, n_jobs=1, random_state=0).fit(X, y)
    >>> model.model_, model.classes_.tolist(), model.predict_proba(X[:2]).shape
    ('hgb', [0, 1], (2, 2))
    """

    _parameter_constraints: ClassVar[dict] = {
        **SnapshotClassifier._parameter_constraints,
        "horizon_days": [Interval(Real, 0, None, closed="neither")],
        "losses": [StrOptions({"movement", "excluded"})],
    }
    _target_column = "stalled"
    _kind = "stall"
    losses = "movement"  # models saved before the parameter existed

    def __init__(
        self,
        *,
        horizon_days=30,
        losses="movement",
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
        self.horizon_days = horizon_days
        self.losses = losses
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
        self.exclude = exclude
        self.include = include
        self.leak_auc = leak_auc

    def _label_column(self) -> str:
        return "stalled_excluding_losses" if self.losses == "excluded" else "stalled"

    def label_words(self) -> str:
        """The label in plain words, for headlines and model cards.

        >>> StallPredictor(horizon_days=14).label_words()
        'stall: no stage movement within 14 days (a loss counts as a movement)'
        >>> StallPredictor(losses="excluded").label_words()
        'stall: no stage movement within 30 days, deals lost within them left out'
        """
        return stall_words(self._label_column(), self.horizon_days)

    def _check_snapshot_frame(self, X: pd.DataFrame) -> None:
        built = X.attrs.get("horizon_days")
        if built is not None and not np.isclose(float(built), float(self.horizon_days)):
            raise UsageError(
                f"These snapshots were built with horizon_days={built:g} but the StallPredictor has "
                f"horizon_days={self.horizon_days:g}; build them with snapshots(log, horizon_days="
                f"{self.horizon_days:g}) or set StallPredictor(horizon_days={built:g})."
            )

    def _risk_from_proba(self, proba: np.ndarray) -> np.ndarray:
        return proba[:, -1] if proba.shape[1] > 1 else np.full(len(proba), float(self.classes_[0] in (1, True)))


def stall_words(label: str, horizon_days) -> str | None:
    """A stall label's meaning in words (None for another label); see :meth:`StallPredictor.label_words`."""
    days = f"{float(horizon_days):g} days" if horizon_days is not None else "the horizon"
    if label == "stalled":
        return f"stall: no stage movement within {days} (a loss counts as a movement)"
    if label == "stalled_excluding_losses":
        return f"stall: no stage movement within {days}, deals lost within them left out"
    return None


__all__ = ["StallPredictor", "stall_words"]
