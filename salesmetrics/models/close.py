"""Close likelihood: the probability that an open deal is eventually won, or won / lost / slipped by its date.

``target="won"`` learns the ``won`` label of :func:`salesmetrics.snapshots` (the deal's final outcome; deals
still open at the end of the log are left out, ``docs/decisions/0015-snapshot-labels.md``).
``target="close_outcome"`` learns three classes: won or lost by the expected close date known at the as-of
moment, or slipped past it.
"""

from __future__ import annotations

import warnings
from numbers import Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from salesmetrics.models import LEAK_AUC
from salesmetrics.models._base import DEFAULT_FLOOR, SnapshotClassifier, _iterations, _tidy_labels
from salesmetrics.models.reasons import prepare_reasons

TARGETS = ("won", "close_outcome")
DAY = pd.Timedelta(days=1)
#: Classes of the competing-risks hazard model, in the order of its ``predict_proba`` columns.
EVENTS = ("continuing", "lost", "won")
PREDICT_CHUNK = 20_000  # snapshot rows expanded into intervals at a time when predicting


def win_incidence(h_won, h_lost, tail: bool = True) -> np.ndarray:
    """Probability of a win from discrete-time hazards of a win and a loss in each interval (decision 0028).

    ``h_won[:, k]`` and ``h_lost[:, k]`` are the chances that a deal still open at the start of interval ``k``
    is won, or lost, in it. The cumulative incidence of a win is
    ``sum_k h_won(k) * prod_{j<k} (1 - h_won(j) - h_lost(j))``. With ``tail`` the deals still open after the
    last interval are shared between win and loss as that interval's hazards share them (the hazards are
    taken to stay as they are), so that ``P(won) + P(lost) = 1`` unless a deal can never close.

    Examples
    --------
    Two intervals: a win with chance 0.1 in the first; open (0.6) then won with 0.2 in the second; still open
    after both 0.6 * 0.6 = 0.36, shared 0.2 : 0.2 as the second interval shares them.

    >>> win_incidence([[0.1, 0.2]], [[0.3, 0.2]], tail=False).round(3).tolist()
    [0.22]
    >>> win_incidence([[0.1, 0.2]], [[0.3, 0.2]]).round(3).tolist()
    [0.4]
    """
    h_won = np.atleast_2d(np.asarray(h_won, dtype=np.float64))
    h_lost = np.atleast_2d(np.asarray(h_lost, dtype=np.float64))
    stay = np.clip(1.0 - h_won - h_lost, 0.0, 1.0)
    open_before = np.cumprod(np.c_[np.ones(len(stay)), stay], axis=1)  # S_0 = 1, ..., S_K
    p = (h_won * open_before[:, :-1]).sum(axis=1)
    if tail:
        closing = h_won[:, -1] + h_lost[:, -1]
        share = np.divide(h_won[:, -1], closing, out=np.zeros(len(closing)), where=closing > 0)
        p = p + open_before[:, -1] * share
    return np.clip(p, 0.0, 1.0)


def deal_intervals(as_of, days_to_outcome, outcome, observed_until, interval_days=30.0, max_horizon_days=360.0):
    """Expand snapshot rows into the intervals after ``as_of`` that were watched to their end (decision 0028).

    Interval ``k`` covers days ``(k * w, (k + 1) * w]`` after ``as_of`` (``w = interval_days``), for ``k``
    below ``ceil(max_horizon_days / w)``. A row is in interval ``k`` when its deal was still open at its start
    and the whole interval lies before ``observed_until``; the event is ``"won"`` or ``"lost"`` when the deal
    closed in it, else ``"continuing"``. A deal still open at ``observed_until`` (``days_to_outcome`` NaN)
    contributes its watched intervals as ``"continuing"``: censored rows count as at risk, never as losses.
    Intervals cut by ``observed_until`` are left out whatever happened in them, so quick closes are not
    favoured.

    Returns ``(row, interval, event)``: the row's position, the interval index and the event (``EVENTS``
    index: 0 continuing, 1 lost, 2 won).

    Examples
    --------
    Read 100 days after the first row's as-of (won 45 days in) and 70 days after the second's (still open):

    >>> t = pd.Timestamp("2024-06-01", tz="UTC")
    >>> rows, k, event = deal_intervals(
    ...     [t - 100 * DAY, t - 70 * DAY], [45.0, np.nan], ["won", "open"], t, interval_days=30)
    >>> rows.tolist(), k.tolist(), [EVENTS[e] for e in event]
    ([0, 0, 1, 1], [0, 1, 0, 1], ['continuing', 'won', 'continuing', 'continuing'])
    """
    as_of = pd.to_datetime(pd.Series(as_of)).reset_index(drop=True)
    follow = ((pd.Timestamp(observed_until) - as_of) / DAY).to_numpy(dtype=np.float64)
    t = np.asarray(days_to_outcome, dtype=np.float64)
    outcome = np.asarray(outcome, dtype=object).astype(str)
    closed = np.isfinite(t) & np.isin(outcome, ["won", "lost"])
    t = np.where(closed, t, np.inf)
    w = float(interval_days)
    n_k = max(int(np.ceil(float(max_horizon_days) / w - 1e-9)), 1)
    start = np.arange(n_k) * w
    end = start + w
    watched = end[None, :] <= follow[:, None]
    at_risk = start[None, :] < t[:, None]
    rows, k = np.nonzero(watched & at_risk)
    closes_in = t[rows] <= end[k]
    code = np.where(outcome[rows] == "won", 2, 1)
    return rows, k, np.where(closes_in, code, 0).astype(np.int64)


class _WinIncidence:
    """The fitted won model of ``censoring="competing"``: hazards per interval, combined by :func:`win_incidence`.

    ``predict_proba(matrix)`` takes the snapshot features and returns ``[P(not won), P(won)]``.
    """

    def __init__(self, hazard, n_intervals: int, tail: bool = True):
        self.hazard = hazard
        self.n_intervals = int(n_intervals)
        self.tail = tail
        self.n_iter_ = _iterations(hazard)

    def hazards(self, matrix: np.ndarray) -> np.ndarray:
        """Array ``(rows, intervals, 3)``: chances of continuing, a loss and a win in each interval."""
        n_k = self.n_intervals
        parts = []
        for lo in range(0, len(matrix), PREDICT_CHUNK):
            block = matrix[lo : lo + PREDICT_CHUNK]
            expanded = np.c_[np.repeat(block, n_k, axis=0), np.tile(np.arange(n_k, dtype=np.float64), len(block))]
            parts.append(self.hazard.predict_proba(expanded).reshape(len(block), n_k, -1))
        return np.concatenate(parts) if parts else np.zeros((0, n_k, len(EVENTS)))

    def predict_proba(self, matrix) -> np.ndarray:
        h = self.hazards(np.asarray(matrix, dtype=np.float64))
        p = win_incidence(h[:, :, 2], h[:, :, 1], tail=self.tail)
        return np.c_[1.0 - p, p]


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
    censoring : {"none", "competing", "ipcw", "maturity"}, default "none"
        ``won`` is known only for deals closed by the moment the labels were read, which favours quick outcomes
        (often losses), so the plain model tends to under-predict wins. ``competing`` (decision 0028) keeps
        every row, open deals included: it expands each snapshot into the ``interval_days`` intervals after
        its as-of that were watched to their end (:func:`deal_intervals`), learns the chances of a win, a loss
        or neither in an interval from the features and the interval's index with one multi-class learner,
        and combines them into the probability of an eventual win (:func:`win_incidence`). Pass the whole
        snapshots table: given only the rows with a known outcome it warns, as open deals then no longer count
        as at risk. ``ipcw`` weights each labelled row by the inverse chance that an outcome that far ahead was
        seen (:func:`censoring_weights`); ``maturity`` trains only on as-of dates at least ``maturity_days``
        before that moment (decision 0027). All need a snapshots table (``days_to_outcome``, ``outcome``,
        ``attrs``) and ``target="won"``, otherwise the plain model is fitted and ``censoring_`` says why.
    max_weight : float, default 20
        Cap of the censoring weights (before they are scaled to mean 1).
    maturity_days : float, default 180
        With ``censoring="maturity"``: the age a label must have reached to be used.
    interval_days, max_horizon_days : float, default 30 and 180
        With ``censoring="competing"``: the width of the intervals and how far ahead they run; deals still
        open after the last interval are shared between win and loss as that interval's hazards share them.
    model, calibration, min_closed, max_iter, learning_rate, max_depth, min_samples_leaf, l2_regularization, C, \
fallback_C, holdout, n_jobs, random_state, exclude, include, leak_auc
        As in :class:`~salesmetrics.models.StallPredictor`.

    Attributes
    ----------
    classes_, estimator_, model_, fallback_, calibration_, n_rows_, n_closed_, n_censored_, training_window_,
    metrics_, n_features_in_, feature_names_in_, stage_model_, leaky_features_, horizon_days_
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
        "censoring": [StrOptions({"competing", "ipcw", "maturity", "none"})],
        "max_weight": [Interval(Real, 1, None, closed="left")],
        "maturity_days": [Interval(Real, 0, None, closed="left")],
        "interval_days": [Interval(Real, 0, None, closed="neither")],
        "max_horizon_days": [Interval(Real, 0, None, closed="neither")],
    }
    _kind = "close"

    def __init__(
        self,
        *,
        target="won",
        censoring="none",
        max_weight=20.0,
        maturity_days=180.0,
        interval_days=30.0,
        max_horizon_days=180.0,
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
        self.target = target
        self.censoring = censoring
        self.max_weight = max_weight
        self.maturity_days = maturity_days
        self.interval_days = interval_days
        self.max_horizon_days = max_horizon_days
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
        return self.target

    def learns_from_censored_rows(self) -> bool:
        """True when fitting uses snapshots of deals still open (``censoring="competing"``, target ``won``).

        :func:`~salesmetrics.models.evaluate` then fits on every training snapshot, not only labelled ones.

        >>> CloseLikelihood(censoring="competing").learns_from_censored_rows()
        True
        """
        return self.censoring == "competing" and self.target == "won"

    # ------------------------------------------------------------------------------- competing risks
    def _competing_problem(self, X) -> str | None:
        """Why ``censoring="competing"`` cannot be used on ``X`` (None when it can)."""
        if self.target != "won":
            return "competing risks apply to target='won'"
        if not self._is_snapshots(X):
            return "competing risks need a snapshots table, not an array"
        missing = [c for c in ("deal_id", "as_of", "outcome", "days_to_outcome") if c not in X.columns]
        if missing or not X.attrs.get("observed_until"):
            what = ", ".join(missing) if missing else "attrs['observed_until']"
            return f"competing risks need the snapshots table's {what}"
        return None

    def _fit(self, X, y):
        problem = self._competing_problem(X) if self.censoring == "competing" else "not asked for"
        if problem is None:
            problem = self._fit_competing(X)
        if problem is None:
            return self
        super()._fit(X, y)
        if self.censoring == "competing":
            self.censoring_ = f"none ({problem}; known outcomes only)"
        return self

    def _fit_competing(self, X) -> str | None:
        """Fit the discrete-time competing-risks model (decision 0028); a reason string if it cannot be."""
        self._check_snapshot_frame(X)
        end = pd.Timestamp(X.attrs["observed_until"])
        outcome = X["outcome"].astype(str).to_numpy()
        rows, k, event = deal_intervals(
            X["as_of"], X["days_to_outcome"], outcome, end, self.interval_days, self.max_horizon_days
        )
        if len(np.unique(event)) < len(EVENTS):
            return "the watched intervals do not hold a win, a loss and a continuing deal"
        n_k = max(int(np.ceil(float(self.max_horizon_days) / float(self.interval_days) - 1e-9)), 1)
        matrix = self._matrix(X, reset=True)
        if "won" in X.columns:  # the leak check looks at the rows whose outcome is known, as the plain model would
            known = X["won"].notna().to_numpy()
            self._check_leaks(matrix[known], _tidy_labels(X["won"].to_numpy(object)[known]), "won")
        else:
            self.leaky_features_ = []
        expanded = np.c_[matrix[rows], k.astype(np.float64)]
        groups = X["deal_id"].to_numpy(object)[rows]
        closed_mask = np.isin(outcome, ["won", "lost"])
        closed = int(X.loc[closed_mask, "deal_id"].nunique())
        open_rows = int((~closed_mask).sum())
        self.n_rows_ = len(X)
        self.n_closed_ = closed
        self.n_censored_ = open_rows
        self.training_window_ = (str(X["as_of"].min()), str(X["as_of"].max()))
        self.labels_observed_until_ = X.attrs.get("observed_until")
        self.metrics_ = {}
        self.calibration_ = "none"
        self.classes_ = np.array(EVENTS)  # while the hazard model is fitted
        hazard = self._fit_learner(expanded, event, groups, closed)
        self.classes_ = np.array([0, 1])
        self.estimator_ = _WinIncidence(hazard, n_k)
        self.n_iter_ = self.estimator_.n_iter_
        counts = np.bincount(event, minlength=len(EVENTS))
        rows_in_window = _rows_in_window(X)
        note = ""
        if open_rows == 0 and rows_in_window > len(X):
            note = (
                f"; the table has no open deals but {rows_in_window - len(X):,} rows were left out of it: pass the "
                "whole snapshots table so that open deals count as at risk"
            )
            warnings.warn(
                "CloseLikelihood(censoring='competing') was given only the snapshots whose outcome is known; the "
                "deals still open were left out, so the late hazards lean toward closing. Fit on the whole "
                "snapshots table (open deals included).",
                UserWarning,
                stacklevel=3,
            )
        self.censoring_ = (
            f"competing risks: {len(rows):,} deal-intervals of {self.interval_days:g} days up to "
            f"{n_k * float(self.interval_days):g} ({counts[2]:,} won, {counts[1]:,} lost, {counts[0]:,} continuing; "
            f"{open_rows:,} rows of deals open at {end:%Y-%m-%d} used as at risk){note}"
        )
        self.probability_floor_ = max(1.0 / (len(X) + 2.0), DEFAULT_FLOOR)
        prepare_reasons(self, matrix)
        return None

    def _censoring_weights(self, frame, attrs) -> np.ndarray | None:
        self.censoring_ = "none"
        if self.censoring in ("none", "competing"):
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


__all__ = ["EVENTS", "TARGETS", "CloseLikelihood", "censoring_weights", "deal_intervals", "win_incidence"]


def _rows_in_window(frame: pd.DataFrame) -> int:
    """Rows the snapshots had between the frame's first and last as-of (``attrs['rows_per_as_of']``), or 0."""
    rows = frame.attrs.get("rows_per_as_of")
    if not rows or not len(frame):
        return 0
    dates = pd.to_datetime(pd.Series(list(rows)))
    counts = np.asarray(list(rows.values()), dtype=np.int64)
    inside = ((dates >= frame["as_of"].min()) & (dates <= frame["as_of"].max())).to_numpy()
    return int(counts[inside].sum())
