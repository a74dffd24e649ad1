"""The rules a CRM already has, as estimators, so a model is always shown beside what it must beat.

Each baseline turns a snapshot into a group (its stage; whether it is past a days-in-stage limit; whether it
is stalled in its stage) and predicts the rate of the target in that group over the training snapshots. So
every baseline gives probabilities (for the Brier score and calibration) as well as a ranking (for ROC AUC).

- :class:`StageRate`: the stage default probability: the historical win (or stall) rate of the stage.
- :class:`DaysInStageRule`: "more than N days in the stage is at risk", N fixed (default 30).
- :class:`StalledInStageFlag`: the momentum flag of :func:`salesmetrics.metrics.momentum.momentum_flags`: days in the
  current stage above the ``stall_quantile`` quantile (default 0.9, the same default) of the stage's stays.

They follow scikit-learn (``fit(X, y)``, ``predict_proba``, learned state ending in ``_``) and take the
snapshot frame of :func:`salesmetrics.snapshots` as ``X``.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from salesmetrics.exceptions import UsageError
from salesmetrics.metrics.momentum import momentum_flags

#: the default quantile of :func:`~salesmetrics.metrics.momentum.momentum_flags`, read from its signature
STALL_QUANTILE: float = inspect.signature(momentum_flags).parameters["stall_quantile"].default


def _column(X, name: str, who: str) -> pd.Series:
    if not isinstance(X, pd.DataFrame):
        raise UsageError(f"{who} needs the snapshot DataFrame (with a {name!r} column), not {type(X).__name__}.")
    if name not in X.columns:
        raise UsageError(
            f"{who} needs a {name!r} column in the snapshots; columns are {list(X.columns)[:12]}. "
            f"Pass the right name with {who}(column=...)."
        )
    return X[name]


def _labels(y) -> np.ndarray:
    y = pd.Series(y).astype("float64").to_numpy()
    if np.isnan(y).any():
        raise UsageError("y has missing labels (censored rows); drop them before fitting a baseline.")
    if not set(np.unique(y).tolist()) <= {0.0, 1.0}:
        raise UsageError("y must hold 0/1 (or False/True) labels.")
    return y


class _GroupRate(ClassifierMixin, BaseEstimator):
    """Predict the training rate of the target in each group; unseen groups get the overall rate."""

    def _groups(self, X) -> pd.Series:  # pragma: no cover - abstract
        raise NotImplementedError

    def _learn(self, X, y) -> None:
        """Hook for baselines that learn their grouping (thresholds) before the rates."""

    def fit(self, X, y):
        y = _labels(y)
        if len(y) != len(X):
            raise UsageError(f"X has {len(X)} rows but y has {len(y)}.")
        if len(y) == 0:
            raise UsageError("There are no training rows to learn rates from.")
        self._learn(X, y)
        groups = self._groups(X).astype("str").to_numpy()
        frame = pd.DataFrame({"group": groups, "y": y})
        stats = frame.groupby("group")["y"].agg(["mean", "size"])
        self.rates_ = stats["mean"]
        self.counts_ = stats["size"]
        self.base_rate_ = float(y.mean())
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "rates_")
        groups = self._groups(X).astype("str")
        p = groups.map(self.rates_).astype("float64").fillna(self.base_rate_).to_numpy()
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype("int64")


class StageRate(_GroupRate):
    """Stage default probability: the target's rate per stage in the training snapshots.

    Examples
    --------
    >>> X = pd.DataFrame({"stage": ["Lead", "Lead", "Commit", "Commit", "Proposal"]})
    >>> StageRate().fit(X, [0, 1, 1, 1, 0]).predict_proba(pd.DataFrame({"stage": ["Commit", "Won?"]}))[:, 1]
    array([1. , 0.6])
    """

    def __init__(self, *, column: str = "stage"):
        self.column = column

    def _groups(self, X) -> pd.Series:
        return _column(X, self.column, type(self).__name__)


class DaysInStageRule(_GroupRate):
    """A fixed aging rule: more than ``threshold_days`` in the current stage; predicts each side's rate.

    Examples
    --------
    >>> X = pd.DataFrame({"days_in_stage": [3.0, 10, 45, 60]})
    >>> DaysInStageRule(threshold_days=30).fit(X, [0, 0, 1, 0]).predict_proba(X)[:, 1].tolist()
    [0.0, 0.0, 0.5, 0.5]
    """

    def __init__(self, *, threshold_days: float = 30.0, column: str = "days_in_stage"):
        self.threshold_days = threshold_days
        self.column = column

    def _groups(self, X) -> pd.Series:
        days = _column(X, self.column, type(self).__name__).astype("float64")
        return pd.Series(np.where(days > self.threshold_days, "over", "within"), index=X.index)


class StalledInStageFlag(_GroupRate):
    """The momentum "stalled in stage" flag; predicts the target's rate among flagged and unflagged snapshots.

    With ``flag_column`` set (a boolean column of the snapshots, e.g. the flag computed by
    :func:`salesmetrics.metrics.momentum.momentum_flags` at each snapshot's ``as_of``), that flag is used as it is.
    Otherwise the threshold is learned at ``fit`` like momentum's: the ``stall_quantile`` quantile, per stage,
    of the lengths of the stays that ended in the training snapshots (a stay's length is the largest
    ``days_in_stage`` seen for it, and a stay ended when the deal's next snapshot shows another stage entry).
    Stages with fewer than ``min_stays`` such stays are never flagged (as in momentum).

    Examples
    --------
    >>> X = pd.DataFrame({"stage": ["Lead"] * 4, "days_in_stage": [1.0, 5, 20, 40], "stalled_flag": [0, 0, 1, 1]})
    >>> StalledInStageFlag(flag_column="stalled_flag").fit(X, [0, 0, 1, 0]).predict_proba(X)[:, 1].tolist()
    [0.0, 0.0, 0.5, 0.5]
    """

    def __init__(
        self,
        *,
        stall_quantile: float = STALL_QUANTILE,
        min_stays: int = 10,
        flag_column: str | None = None,
        stage_column: str = "stage",
        days_column: str = "days_in_stage",
    ):
        self.stall_quantile = stall_quantile
        self.min_stays = min_stays
        self.flag_column = flag_column
        self.stage_column = stage_column
        self.days_column = days_column

    def _learn(self, X, y) -> None:
        if self.flag_column is not None:
            _column(X, self.flag_column, type(self).__name__)
            self.thresholds_ = pd.Series(dtype="float64")
            return
        if not 0 < self.stall_quantile < 1:
            raise UsageError(f"stall_quantile must be between 0 and 1, not {self.stall_quantile!r}.")
        stays = completed_stays(X, stage_column=self.stage_column, days_column=self.days_column)
        stats = stays.groupby("stage")["days"].agg(q=lambda s: s.quantile(self.stall_quantile), n="size")
        self.thresholds_ = stats.loc[stats["n"] >= self.min_stays, "q"]

    def _groups(self, X) -> pd.Series:
        who = type(self).__name__
        if self.flag_column is not None:
            flag = _column(X, self.flag_column, who).fillna(False).astype(bool)
        else:
            check_is_fitted(self, "thresholds_")
            stage = _column(X, self.stage_column, who).astype("str")
            days = _column(X, self.days_column, who).astype("float64")
            flag = days > stage.map(self.thresholds_).astype("float64")  # NaN threshold: never flagged
        return pd.Series(np.where(flag.to_numpy(), "stalled", "moving"), index=X.index)


def completed_stays(
    snapshots: pd.DataFrame, *, stage_column: str = "stage", days_column: str = "days_in_stage"
) -> pd.DataFrame:
    """Stays that the snapshots show ending: per deal and stay, its stage and the longest days in stage seen.

    A stay is a run of a deal's snapshots (in ``as_of`` order) in one stage with ``days_in_stage`` growing;
    it ended when a later snapshot of the same deal starts a new stay. The length is a lower bound (the last
    snapshot before the exit), as the snapshots do not see the exit moment.

    Examples
    --------
    >>> s = pd.DataFrame({"deal_id": ["a"] * 4, "as_of": [1, 2, 3, 4], "stage": ["L", "L", "Q", "Q"],
    ...                   "days_in_stage": [2.0, 9, 1, 8]})
    >>> completed_stays(s).to_dict("records")
    [{'deal_id': 'a', 'stage': 'L', 'days': 9.0}]
    """
    for name in ("deal_id", "as_of", stage_column, days_column):
        _column(snapshots, name, "completed_stays")
    s = snapshots[["deal_id", "as_of", stage_column, days_column]].sort_values(["deal_id", "as_of"], kind="stable")
    deal = s["deal_id"].to_numpy()
    stage = s[stage_column].astype("str").to_numpy()
    days = s[days_column].astype("float64").to_numpy()
    same_deal = np.r_[False, deal[1:] == deal[:-1]]
    new_stay = ~same_deal | np.r_[False, stage[1:] != stage[:-1]] | np.r_[False, days[1:] < days[:-1]]
    stay = np.cumsum(new_stay)
    frame = pd.DataFrame({"deal_id": deal, "stage": stage, "days": days, "stay": stay})
    per = frame.groupby("stay", sort=True).agg(
        deal_id=("deal_id", "first"), stage=("stage", "first"), days=("days", "max")
    )
    # a stay ended when the same deal has a later stay
    ended = per["deal_id"].to_numpy()[:-1] == per["deal_id"].to_numpy()[1:]
    per = per.iloc[np.flatnonzero(np.r_[ended, False])]
    return per[["deal_id", "stage", "days"]].reset_index(drop=True)


#: the snapshot column :func:`momentum_stall_flags` fills, used by the default flag baseline when present
FLAG_COLUMN = "stalled_in_stage_flag"


def momentum_stall_flags(log, snapshots: pd.DataFrame, **momentum_options) -> pd.Series:
    """The momentum ``stalled`` flag of each snapshot row, from :func:`~salesmetrics.metrics.momentum.momentum_flags`.

    Runs ``momentum_flags(log, as_of=...)`` once per distinct ``as_of`` of the snapshots (its thresholds come
    from the stays that ended by then, so the flag is leak-free) and aligns its ``stalled`` column to the
    rows. Deals the flags do not list (not open by momentum's reckoning) are False. Costs about a quarter of a
    second per date on the demo log.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> from salesmetrics.features.build import snapshots
    >>> log = sm.read_log("datasets/demo")
    >>> snap = snapshots(log, as_of=["2024-12-31"])
    >>> int(momentum_stall_flags(log, snap).sum())
    31
    """
    for name in ("deal_id", "as_of"):
        _column(snapshots, name, "momentum_stall_flags")
    out = pd.Series(False, index=snapshots.index, dtype=bool)
    for as_of, rows in snapshots.groupby("as_of", sort=True):
        flags = momentum_flags(log, as_of=as_of, **momentum_options).set_index("deal_id")["stalled"]
        out.loc[rows.index] = rows["deal_id"].map(flags).fillna(False).astype(bool).to_numpy()
    return out


def default_baselines(flag_column: str | None = None, horizon_days: float = 30.0) -> dict[str, BaseEstimator]:
    """The three CRM baselines with their default settings, keyed by the name shown in tables.

    ``flag_column`` names a snapshot column holding the momentum flag (:func:`momentum_stall_flags`); without
    it the flag's thresholds are learned from the training snapshots (:class:`StalledInStageFlag`). The aging
    rule's threshold is the label horizon (issue 19: a fixed 30 days against a 14-day horizon ranked Maven's
    stalls worse than chance, ROC AUC 0.39).

    >>> list(default_baselines(horizon_days=14))
    ['stage default rate', 'days in stage > 14', 'stalled-in-stage flag']
    """
    days = float(horizon_days)
    return {
        "stage default rate": StageRate(),
        f"days in stage > {days:g}": DaysInStageRule(threshold_days=days),
        "stalled-in-stage flag": StalledInStageFlag(flag_column=flag_column),
    }


__all__ = [
    "FLAG_COLUMN",
    "STALL_QUANTILE",
    "DaysInStageRule",
    "StageRate",
    "StalledInStageFlag",
    "completed_stays",
    "default_baselines",
    "momentum_stall_flags",
]
