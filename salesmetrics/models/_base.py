"""What :class:`~salesmetrics.models.StallPredictor` and :class:`~salesmetrics.models.CloseLikelihood` share.

Both are scikit-learn classifiers that take either a snapshots table (:func:`salesmetrics.snapshots`; the
:data:`~salesmetrics.features.registry.FEATURES` columns are used and the label column is read from the table) or a
plain numeric array with ``y``. The fitting recipe (``docs/decisions/0017-small-data-fallback.md``):

1. With fewer than ``min_closed`` closed deals, or ``model="logistic"``'s baseline asked for, the learner is a
   logistic regression on signed-log, median-imputed, standardised features; the fallback uses the strong
   penalty ``fallback_C`` and says so (``fallback_``, a :class:`SmallDataWarning`, the model card).
2. Otherwise a histogram gradient boosting classifier is fitted. By default (``calibration="auto"``) its trees
   see every training row and no calibration step follows: across every log, a sigmoid fitted on a held-out
   fifth of the deals ranked no better and had the higher Brier score on most (decision 0065). With
   ``calibration="sigmoid"`` or ``"isotonic"`` (and by default for ``model="logistic"``, a sigmoid) the learner
   is fitted on the deals outside a held-out fifth and its probabilities are calibrated on that fifth; holding
   out whole deals keeps one deal's near-identical weekly rows from sitting on both sides. Calibration is
   skipped when the fifth holds fewer than 30 rows of its rarest class, and a fitted sigmoid that would reverse
   the model's ranking is refused (``calibration_`` says why); the uncalibrated model is kept then.
3. One class only: a constant model that predicts it (the estimators never refuse to fit).

Reasons are prepared at fit time (a partial-dependence table per feature, :mod:`salesmetrics.models.reasons`).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from salesmetrics._util.renamed import renamed
from salesmetrics._util.text import plural as _plural
from salesmetrics.exceptions import DataNote, UsageError
from salesmetrics.features.registry import FEATURES
from salesmetrics.features.selection import excluded_features, learned_features
from salesmetrics.models import LEAK_AUC
from salesmetrics.models.leaks import leak_message, leaky_features
from salesmetrics.models.reasons import explain, prepare_reasons
from salesmetrics.models.threads import limit_threads

MIN_CALIBRATION_ROWS = 200  # fewer held-out rows than this: no calibration step
MIN_CALIBRATION_MINORITY = 30  # fewer held-out rows of the rarest class than this: no calibration step
# calibration="auto": no held-out step for boosting (decision 0065: across 14 log-targets as good a ranking, a lower
# Brier score on 9); a sigmoid for the logistic learner. Isotonic only on request: its steps gave a few dozen distinct
# probabilities and exact 0s and 1s even on 12,449 held-out rows (Maven; decision 0058)
AUTO_CALIBRATION = {"hgb": "none", "logistic": "sigmoid"}
AUTO_NONE = "none (the default for boosting: trees fitted on every training row, no held-out step; decision 0065)"
AUTO_LEAF_MAX = 500  # min_samples_leaf="auto": rows // 8, at least 20, at most this


class SmallDataWarning(UserWarning):
    """A model was fitted on fewer closed deals than ``min_closed`` and fell back to a regularised model."""


class SignedLog1p(TransformerMixin, BaseEstimator):
    """``sign(x) * log1p(|x|)``: tames long-tailed counts, days and amounts for a linear model; keeps NaN.

    Examples
    --------
    >>> SignedLog1p().fit_transform(np.array([[-9.0], [0.0], [np.nan]])).round(3).ravel().tolist()
    [-2.303, 0.0, nan]
    """

    def fit(self, X, y=None):
        validate_data(self, X, ensure_all_finite="allow-nan", reset=True)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=False)
        return np.sign(X) * np.log1p(np.abs(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def linear_pipeline(C: float, random_state=None) -> Pipeline:
    """Signed log, median imputation with missing-value indicators, scaling, L2 logistic regression."""
    return Pipeline(
        [
            ("log", SignedLog1p()),
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("logistic", LogisticRegression(C=C, max_iter=2000, random_state=random_state)),
        ]
    )


class _ConstantModel(BaseEstimator):
    """Predicts the single class seen in training (used when ``y`` has one class)."""

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        return np.ones((len(X), 1))


class SnapshotClassifier(ClassifierMixin, BaseEstimator):
    """Base class; use :class:`StallPredictor` or :class:`CloseLikelihood`."""

    _parameter_constraints: ClassVar[dict] = {
        "model": [StrOptions({"hgb", "logistic"})],
        "calibration": [StrOptions({"auto", "isotonic", "sigmoid", "none"})],
        "min_closed": [Interval(Integral, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "l2_regularization": [Interval(Real, 0, None, closed="left")],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
        "C": [Interval(Real, 0, None, closed="neither")],
        "fallback_C": [Interval(Real, 0, None, closed="neither")],
        "holdout": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "exclude": [str, list, tuple, None],
        "include": [str, list, tuple, None],
        "leak_auc": [Interval(Real, 0.5, 1, closed="right"), None],
    }
    _target_column: str = ""
    _kind: str = ""
    # defaults for models saved before these parameters existed (skops restores only the attributes it saved)
    exclude = None
    include = None
    leak_auc = LEAK_AUC

    # ----------------------------------------------------------------------------------------- inputs
    def _label_column(self) -> str:
        return self._target_column

    def _check_snapshot_frame(self, X: pd.DataFrame) -> None:
        """Hook: subclasses check the table's attributes (e.g. the stall horizon)."""

    @staticmethod
    def _is_snapshots(X) -> bool:
        return isinstance(X, pd.DataFrame) and all(c in X.columns for c in FEATURES)

    def _excluded(self) -> list[str]:
        """The feature names in ``exclude``, checked (:func:`~salesmetrics.features.selection.excluded_features`)."""
        return excluded_features(self.exclude)

    def used_features(self) -> list[str]:
        """The snapshot features the model learns from: the registry's default ones, the opt-in ones named by
        ``include`` (decision 0064), but none in ``exclude``; in model order.

        >>> from salesmetrics.models import StallPredictor
        >>> "amount" in StallPredictor(exclude=["amount"]).used_features()
        False
        >>> "motion_trend" in StallPredictor(include="all").used_features()
        True
        """
        return learned_features(self.exclude, self.include)

    def _features(self, X):
        return X[self.used_features()] if self._is_snapshots(X) else X

    def _matrix(self, X, reset: bool):
        frame = self._features(X)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*DataFrame is highly fragmented.*")
            return validate_data(self, frame, ensure_all_finite="allow-nan", dtype=np.float64, reset=reset)

    def _training_data(self, X, y):
        """(matrix, y, deal groups or None, closed deals, training window) from a snapshots table or an array."""
        if self._is_snapshots(X):
            self._check_snapshot_frame(X)
            column = self._label_column()
            if y is None:
                if column not in X.columns:
                    raise UsageError(
                        f"The snapshots table has no {column!r} column to learn from; build it with "
                        "salesmetrics.snapshots(log) or pass y."
                    )
                y = X[column]
            y = pd.Series(np.asarray(y, dtype=object) if not isinstance(y, pd.Series) else y.to_numpy(object))
            keep = y.notna().to_numpy()
            if not keep.any():
                raise UsageError(_no_label_message(X, column))
            frame = X.loc[keep] if not keep.all() else X
            labels = y[keep].to_numpy(object)
            labels = _tidy_labels(labels)
            groups = frame["deal_id"].to_numpy(object) if "deal_id" in frame else None
            if "outcome" in frame:
                closed = int(frame.loc[frame["outcome"].isin(["won", "lost"]), "deal_id"].nunique())
            else:
                closed = len(np.unique(groups)) if groups is not None else len(frame)
            window = (str(frame["as_of"].min()), str(frame["as_of"].max())) if "as_of" in frame else None
            self.n_censored_ = int((~keep).sum())
            self.labels_observed_until_ = X.attrs.get("observed_until")
            weights = self._censoring_weights(frame, X.attrs)
            matrix = self._matrix(frame, reset=True)
            self._check_leaks(matrix, labels, column)
            return matrix, labels, groups, closed, window, weights
        if self.exclude:
            raise UsageError(
                f"exclude={self.exclude!r} names snapshot features, but X is not a snapshots table; pass only the "
                "columns to learn from, or a table from salesmetrics.snapshots(log)."
            )
        self.leaky_features_ = []
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None (X is not a snapshots "
                "table, so the labels cannot be read from it)."
            )
        matrix, labels = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64, reset=True)
        self.n_censored_ = 0
        self.labels_observed_until_ = None
        self._censoring_weights(None, {})
        return matrix, labels, None, len(labels), None, None

    def _check_leaks(self, matrix: np.ndarray, labels, column: str) -> None:
        """Set ``leaky_features_`` and warn (:class:`~salesmetrics.DataNote`) for each feature that alone ranks the
        training labels almost perfectly (:func:`leaky_features`); nothing when ``leak_auc`` is None."""
        self.leaky_features_ = []
        if self.leak_auc is None or matrix.ndim != 2 or not len(matrix):
            return
        names = [str(n) for n in getattr(self, "feature_names_in_", [f"x{j}" for j in range(matrix.shape[1])])]
        self.leaky_features_ = leaky_features(matrix, labels, names, column, threshold=float(self.leak_auc))
        for entry in self.leaky_features_:
            warnings.warn(leak_message(entry), DataNote, stacklevel=5)

    def _censoring_weights(self, frame, attrs) -> np.ndarray | None:
        """Hook: per-row training weights that undo label censoring (None: equal weights); sets ``censoring_``."""
        self.censoring_ = "none"
        return None

    # ----------------------------------------------------------------------------------------- fitting
    def fit(self, X, y=None):
        """Learn from a snapshots table (labels read from it) or from a numeric array and ``y``.

        Returns
        -------
        self
        """
        self._validate_params()
        with limit_threads(self.n_jobs):
            self._fit(X, y)
        self.stage_model_ = _stage_model(X)
        horizon = (getattr(X, "attrs", None) or {}).get("horizon_days")
        self.horizon_days_ = float(horizon) if horizon is not None else None  # the snapshots' horizon (labels)
        return self

    def _fit(self, X, y):
        matrix, labels, groups, closed, window, weights = self._training_data(X, y)
        check_classification_targets(labels)
        self.classes_, encoded = np.unique(labels, return_inverse=True)
        self.n_rows_ = len(labels)
        self.n_closed_ = int(closed)
        self.training_window_ = window
        self.metrics_ = {}
        self.calibration_ = "none"
        if len(self.classes_) == 1:
            single = self.classes_[0].item() if isinstance(self.classes_[0], np.generic) else self.classes_[0]
            self.fallback_ = f"only one class ({single!r}) in the training labels: it is always predicted"
            self.model_ = "constant"
            self.estimator_ = _ConstantModel().fit(matrix)
            warnings.warn(self.fallback_, SmallDataWarning, stacklevel=2)
        else:
            self.estimator_ = self._fit_learner(matrix, encoded, groups, closed, weights)
        self.n_iter_ = _iterations(self.estimator_)
        # no model fitted on n rows can tell a probability below about 1 / (n + 2) (Laplace) from zero
        self.probability_floor_ = max(1.0 / (len(labels) + 2.0), DEFAULT_FLOOR)
        prepare_reasons(self, matrix)
        return self

    def _fit_learner(self, matrix, encoded, groups, closed: int, weights=None):
        """The fitted model: the chosen learner (calibrated on held-out deals when asked), or with fewer than
        ``min_closed`` closed deals the regularised logistic fallback (``fallback_`` and a :class:`SmallDataWarning`
        say so)."""
        if closed >= self.min_closed:
            self.fallback_ = None
            self.model_ = self.model
            return self._fit_calibrated(matrix, encoded, groups, weights)
        self.fallback_ = (
            f"only {_plural(closed, 'closed deal')} (fewer than min_closed={self.min_closed}): a strongly "
            f"regularised logistic regression (C={self.fallback_C}) was fitted instead of {self.model!r}; treat "
            "its probabilities as cautious (pulled toward the base rate)"
        )
        self.model_ = "logistic (fallback)"
        fallback = linear_pipeline(self.fallback_C, self.random_state)
        fitted = fallback.fit(matrix, encoded, logistic__sample_weight=weights)
        warnings.warn(self.fallback_, SmallDataWarning, stacklevel=4)
        return fitted

    def _leaf(self, n_rows: int) -> int:
        """``min_samples_leaf``; ``"auto"``: an eighth of the rows the trees see, between 20 and 500."""
        if self.min_samples_leaf == "auto":
            return int(min(AUTO_LEAF_MAX, max(20, n_rows // 8)))
        return int(self.min_samples_leaf)

    def _base(self, n_rows: int = 0):
        if self.model == "logistic":
            return linear_pipeline(self.C, self.random_state)
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            min_samples_leaf=self._leaf(n_rows),
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            random_state=self.random_state,
        )

    def _fit_base(self, matrix, encoded, weights):
        """Fit a fresh learner, passing the sample weights the way each learner takes them."""
        base = self._base(len(encoded))
        if isinstance(base, HistGradientBoostingClassifier):
            empty = np.isnan(matrix).all(axis=0)
            if empty.any():  # scikit-learn 1.9's binning fails on an all-NaN column; a constant is never split on
                matrix = matrix.copy()
                matrix[:, empty] = 0.0
        if weights is None:
            return base.fit(matrix, encoded)
        if isinstance(base, Pipeline):
            return base.fit(matrix, encoded, logistic__sample_weight=weights)
        return base.fit(matrix, encoded, sample_weight=weights)

    def _fit_calibrated(self, matrix, encoded, groups, weights=None):
        method = AUTO_CALIBRATION[self.model] if self.calibration == "auto" else self.calibration
        if method == "none":
            self.calibration_ = "none" if self.calibration == "none" else AUTO_NONE
            if len(self.classes_) == 2:
                usable = None if weights is None or weights.sum() <= 0 else weights
                self.metrics_ = {"training_base_rate": float(np.average(encoded, weights=usable))}
            return self._fit_base(matrix, encoded, weights)
        rng = np.random.default_rng(
            self.random_state if isinstance(self.random_state, (int, np.integer)) or self.random_state is None else 0
        )
        hold = _holdout_mask(len(encoded), groups, self.holdout, rng)
        n_hold = int(hold.sum())
        n_classes = len(self.classes_)
        counted = hold if weights is None else hold & (weights > 0)  # rows that weigh in the calibration
        rarest = int(np.bincount(encoded[counted], minlength=n_classes).min()) if n_hold else 0
        if n_hold < MIN_CALIBRATION_ROWS:
            self.calibration_ = f"none (only {_plural(n_hold, 'held-out row')})"
            return self._fit_base(matrix, encoded, weights)
        if len(np.unique(encoded[~hold])) < n_classes:
            self.calibration_ = "none (a class is missing from the rows outside the held-out part)"
            return self._fit_base(matrix, encoded, weights)
        if rarest < MIN_CALIBRATION_MINORITY:
            # a handful of one class cannot pin a calibration curve down; a sigmoid fitted on them may even slope
            # the wrong way and reverse the ranking
            self.calibration_ = (
                f"none (too few held-out rows: {_plural(rarest, 'row')} of the rarest class among "
                f"{n_hold:,}, fewer than {MIN_CALIBRATION_MINORITY})"
            )
            return self._fit_base(matrix, encoded, weights)
        w_fit = None if weights is None else weights[~hold]
        w_hold = None if weights is None or weights[hold].sum() <= 0 else weights[hold]
        base = self._fit_base(matrix[~hold], encoded[~hold], w_fit)
        calibrated = CalibratedClassifierCV(FrozenEstimator(base), method=method)
        with warnings.catch_warnings():  # the weights are meant for the calibration only: the base is fitted
            warnings.filterwarnings("ignore", message=".*FrozenEstimator does not appear to accept sample_weight")
            calibrated.fit(matrix[hold], encoded[hold], sample_weight=w_hold)
        where = f"{n_hold:,} held-out rows of {'deals' if groups is not None else 'rows'}"
        slopes = _sigmoid_slopes(calibrated)
        reversing = slopes is not None and bool((slopes >= 0).any())
        if reversing:
            # _SigmoidCalibration predicts 1 / (1 + exp(a * f + b)): it rises with the score f only when a < 0
            self.calibration_ = (
                f"none (a sigmoid fitted on {where} had slope {-float(slopes.max()):.3g}, which would reverse or "
                "flatten the model's ranking; the uncalibrated model is kept)"
            )
        else:
            self.calibration_ = f"{method} on {where}"
        raw = base.predict_proba(matrix[hold])
        cal = raw if reversing else calibrated.predict_proba(matrix[hold])
        metrics = {"holdout_rows": n_hold}
        if n_classes == 2:
            y_hold = encoded[hold]
            metrics["holdout_auc"] = float(roc_auc_score(y_hold, raw[:, 1], sample_weight=w_hold))
            metrics["holdout_brier_uncalibrated"] = float(brier_score_loss(y_hold, raw[:, 1], sample_weight=w_hold))
            if not reversing:
                metrics["holdout_brier_calibrated_in_sample"] = float(
                    brier_score_loss(y_hold, cal[:, 1], sample_weight=w_hold)
                )
            metrics["holdout_base_rate"] = float(np.average(y_hold, weights=w_hold))
        self.metrics_ = metrics
        return base if reversing else calibrated

    # ----------------------------------------------------------------------------------------- predicting
    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``; each row sums to one, and with two classes or
        more none is exactly 0 or 1 (a floor of ``probability_floor_``, decision 0058)."""
        check_is_fitted(self)
        matrix = self._matrix(X, reset=False)
        with limit_threads(self.n_jobs):
            proba = self.estimator_.predict_proba(matrix)
        return off_the_edges(proba, getattr(self, "probability_floor_", DEFAULT_FLOOR))

    def predict(self, X):
        """The most probable class of each row."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def labelled(self, X, y=None) -> tuple:
        """``(rows, labels)``: the rows of ``X`` whose label is known, and those labels.

        With a snapshots table and no ``y``, the labels are the table's own label column (``stalled``, ``won`` or
        ``close_outcome``, the one :meth:`fit` reads); rows whose label is censored (``<NA>``) are left out. With
        ``y``, rows whose ``y`` is missing are left out. This is how :meth:`score` and
        :func:`~salesmetrics.models.scoring.snapshot_scorer` read labels, so ``cross_val_score(StallPredictor(),
        snapshots)`` needs no ``y``.
        """
        if y is None:
            if not self._is_snapshots(X):
                raise ValueError(
                    f"{type(self).__name__}.score requires y, unless X is a snapshots table whose "
                    f"{self._label_column()!r} column holds the labels."
                )
            column = self._label_column()
            if column not in X.columns:
                raise UsageError(
                    f"The snapshots table has no {column!r} column to score against; build it with "
                    "salesmetrics.snapshots(log) or pass y."
                )
            y = X[column]
        values = y.to_numpy(object) if isinstance(y, pd.Series) else np.asarray(y, dtype=object)
        keep = pd.notna(values)
        if not keep.any():
            raise UsageError(
                f"No row has a known {self._label_column() or 'label'!r} label (all {len(values):,} are censored); "
                "score on earlier as-of dates."
            )
        rows = X[keep] if isinstance(X, pd.DataFrame) else np.asarray(X)[keep]
        labels = _tidy_labels(values[keep])
        if len(self.classes_) and isinstance(self.classes_[0], str):
            labels = labels.astype(str)
        return rows, labels

    def score(self, X, y=None, sample_weight=None) -> float:
        """Mean accuracy on the rows whose label is known (scikit-learn's classifier score).

        ``y`` may be left out for a snapshots table: the labels are read from it and censored rows are left out
        (:meth:`labelled`). For ROC AUC, Brier score or log loss in ``cross_val_score`` or ``GridSearchCV``, pass
        ``scoring=snapshot_scorer("roc_auc")`` (:mod:`salesmetrics.models.scoring`).
        """
        from sklearn.metrics import accuracy_score

        check_is_fitted(self)
        if y is not None and not self._is_snapshots(X):
            return float(super().score(X, y, sample_weight=sample_weight))
        rows, labels = self.labelled(X, y)
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=float)
            y_values = y.to_numpy(object) if isinstance(y, pd.Series) else y
            keep = (
                pd.notna(np.asarray(y_values, dtype=object))
                if y is not None
                else pd.notna(X[self._label_column()].to_numpy(object))
            )
            sample_weight = weights[keep]
        return float(accuracy_score(labels, self.predict(rows), sample_weight=sample_weight))

    def risk(self, X) -> np.ndarray:
        """The probability of the bad outcome (a stall; not winning), the quantity reasons explain."""
        return self._risk_from_proba(self.predict_proba(X))

    def _risk_from_proba(self, proba: np.ndarray) -> np.ndarray:  # pragma: no cover - subclasses define it
        raise NotImplementedError

    @renamed(n="top_n")
    def reasons(self, X, top_n: int = 3, protective: int = 0) -> pd.DataFrame:
        """The ``top_n`` features that push each row's risk up the most, in plain words (:func:`explain`), and
        with ``protective`` > 0 the features that pull it down the most."""
        return explain(self, X, top_n=top_n, protective=protective)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


DEFAULT_FLOOR = 1e-6  # the smallest floor, and the floor of models saved before it was recorded


def off_the_edges(proba: np.ndarray, floor: float) -> np.ndarray:
    """Probabilities raised to at least ``floor`` and each row scaled back to a sum of one (one class: as is).

    Keeps the ranking within each column and makes log loss finite.

    >>> off_the_edges(np.array([[1.0, 0.0], [0.3, 0.7]]), 0.01).round(4).tolist()
    [[0.9901, 0.0099], [0.3, 0.7]]
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] < 2:
        return proba
    raised = np.maximum(proba, float(floor))
    return raised / raised.sum(axis=1, keepdims=True)


def _iterations(estimator) -> int:
    """Boosting iterations or solver iterations of the fitted learner (1 for the constant model)."""
    if isinstance(estimator, CalibratedClassifierCV):
        estimator = estimator.calibrated_classifiers_[0].estimator
    if isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    if isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    n_iter = getattr(estimator, "n_iter_", 1)
    return max(int(np.max(n_iter)), 1)


def _sigmoid_slopes(calibrated: CalibratedClassifierCV) -> np.ndarray | None:
    """The fitted sigmoid slopes ``a`` (one per calibrated class) of a sigmoid calibration; None for isotonic.

    ``_SigmoidCalibration`` maps a score ``f`` to ``1 / (1 + exp(a * f + b))``, so ``a < 0`` keeps the order of
    the scores and ``a >= 0`` reverses it (or makes every probability equal).
    """
    calibrators = calibrated.calibrated_classifiers_[0].calibrators
    if not all(hasattr(c, "a_") for c in calibrators):
        return None
    return np.array([float(c.a_) for c in calibrators])


def _stage_model(X) -> dict | None:
    """The stage model a snapshots table was built with, from its ``attrs`` (None for a plain array).

    ``stages`` (open stages in pipeline order, what ``stage_rank`` counts), and ``commit_stage``, ``won`` and
    ``lost`` when the table records them; the model card carries them so a model is not used on another pipeline.
    """
    attrs = getattr(X, "attrs", None) or {}
    if not attrs.get("stages"):
        return None
    out: dict = {"stages": [str(s) for s in attrs["stages"]]}
    if attrs.get("commit_stage") is not None:
        out["commit_stage"] = str(attrs["commit_stage"])
    for key in ("won", "lost"):
        if attrs.get(key) is not None:
            out[key] = [str(s) for s in attrs[key]]
    return out


def _tidy_labels(labels: np.ndarray) -> np.ndarray:
    """Nullable booleans and integers as plain int 0/1; text stays text."""
    values = [v for v in labels[:1000]]
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return labels.astype(bool).astype(np.int64)
    if all(isinstance(v, (int, np.integer, bool, np.bool_)) for v in values):
        return labels.astype(np.int64)
    return labels.astype(str)


def _holdout_mask(n: int, groups, share: float, rng: np.random.Generator) -> np.ndarray:
    """A random ``share`` of rows held out, whole deals at a time when ``groups`` is given."""
    if groups is None:
        return rng.random(n) < share
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    held = rng.random(len(uniques)) < share
    return held[codes]


def _no_label_message(X: pd.DataFrame, column: str) -> str:
    """Why no training row has a known ``column`` label, and what to do (a UsageError's text)."""
    if column in ("won", "close_outcome") and "outcome" in X.columns and not X["outcome"].isin(["won", "lost"]).any():
        ends = [str(s) for key in ("won", "lost") for s in (X.attrs.get(key) or [])]
        names = f" ({', '.join(ends)})" if ends else ""
        return (
            f"No deal in the snapshots reached a won or lost stage{names}, so no {column!r} label is known; "
            "check that the log's stage model names the closing stages, or use a log with closed deals."
        )
    return (
        f"No snapshot row has a known {column!r} label (all are censored); use a longer log, a shorter "
        "horizon_days, or earlier as-of dates."
    )
