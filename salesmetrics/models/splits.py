"""Time-ordered splits of snapshots: train before a cutoff, test after a gap at least as long as the labels look.

A snapshot's label looks ``horizon_days`` ahead, so a training row just before the cutoff would know what
happened in the test period; :func:`time_split` leaves a gap of that length between the two parts. Choices:
``docs/decisions/0020-evaluation-split.md``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from salesmetrics.exceptions import UsageError


def as_of_column(frame: pd.DataFrame) -> pd.Series:
    """The ``as_of`` column of a snapshots table as timestamps (a UsageError when there is none)."""
    if "as_of" not in frame.columns:
        raise UsageError("The snapshots need an 'as_of' column; build them with salesmetrics.snapshots.")
    as_of = frame["as_of"]
    if not isinstance(as_of.dtype, pd.DatetimeTZDtype | np.dtypes.DateTime64DType):
        as_of = pd.to_datetime(as_of)
    return as_of


def _timestamp(value, like: pd.Series, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{name} {value!r} is not a date or time; use e.g. '2024-09-30'.") from exc
    tz = getattr(like.dtype, "tz", None)
    if tz is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz)
    elif tz is None and stamp.tzinfo is not None:
        stamp = stamp.tz_convert(None)
    return stamp


def _when(stamp) -> str:
    """A moment for a message: ``2025-06-01`` at midnight, else ``2025-06-01 14:30`` (seconds when there are any).

    Examples
    --------
    >>> _when(pd.Timestamp("2025-06-01", tz="UTC")), _when(pd.Timestamp("2025-06-01 14:30:05.25"))
    ('2025-06-01', '2025-06-01 14:30:05')
    """
    stamp = pd.Timestamp(stamp)
    if stamp == stamp.normalize():
        return f"{stamp:%Y-%m-%d}"
    return f"{stamp:%Y-%m-%d %H:%M}" if stamp.second == 0 and stamp.microsecond == 0 else f"{stamp:%Y-%m-%d %H:%M:%S}"


def default_gap_days(snapshots: pd.DataFrame, estimator=None) -> float:
    """The label horizon: ``snapshots.attrs['horizon_days']``, else the estimator's ``horizon_days``, else 30."""
    for source in (snapshots.attrs.get("horizon_days"), getattr(estimator, "horizon_days", None)):
        if source is not None:
            return float(source)
    return 30.0


def time_split(
    snapshots: pd.DataFrame,
    cutoff=None,
    gap_days: float | None = None,
    *,
    train_share: float = 0.7,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split snapshots by time: train ``as_of < cutoff``, test ``as_of >= cutoff + gap_days``, drop the gap.

    ``cutoff`` defaults to the ``as_of`` below which ``train_share`` of the snapshots fall; ``gap_days``
    defaults to the snapshots' label horizon (``attrs['horizon_days']``, else 30). Both parts keep the
    original index; their ``attrs`` hold ``cutoff``, ``test_start``, ``gap_days`` and ``n_gap`` (rows dropped).

    Examples
    --------
    >>> s = pd.DataFrame({"as_of": pd.date_range("2024-01-07", periods=20, freq="W", tz="UTC")})
    >>> train, test = time_split(s, cutoff="2024-03-01", gap_days=30)
    >>> train["as_of"].max() < train.attrs["cutoff"], test["as_of"].min() >= train.attrs["cutoff"] + pd.Timedelta("30D")
    (True, True)
    >>> len(train), len(test), train.attrs["n_gap"]
    (8, 8, 4)
    """
    as_of = as_of_column(snapshots)
    if gap_days is None:
        gap_days = default_gap_days(snapshots)
    if not np.isfinite(gap_days) or gap_days < 0:
        raise UsageError(f"gap_days must be 0 or more days, not {gap_days!r}.")
    if not len(snapshots):
        raise UsageError("There are no snapshots to split.")
    if cutoff is None:
        if not 0 < train_share < 1:
            raise UsageError(f"train_share must be between 0 and 1, not {train_share!r}.")
        ordered = np.sort(as_of.to_numpy())
        cutoff = pd.Timestamp(ordered[min(math.ceil(train_share * len(ordered)), len(ordered) - 1)])
        if as_of.dt.tz is not None and cutoff.tzinfo is None:
            cutoff = cutoff.tz_localize("UTC").tz_convert(as_of.dt.tz)
    else:
        cutoff = _timestamp(cutoff, as_of, "cutoff")
    test_start = cutoff + pd.Timedelta(days=float(gap_days))
    train_mask = (as_of < cutoff).to_numpy()
    test_mask = (as_of >= test_start).to_numpy()
    first, last = as_of.min(), as_of.max()
    if not train_mask.any():
        raise UsageError(
            f"No snapshot is before the cutoff {_when(cutoff)}; the snapshots run from {_when(first)} to "
            f"{_when(last)}. Pass a later cutoff."
        )
    if not test_mask.any():
        raise UsageError(
            f"No snapshot is at or after {_when(test_start)} (cutoff {_when(cutoff)} + {gap_days:g} days gap); "
            f"the snapshots end at {_when(last)}. Pass an earlier cutoff or a shorter gap_days."
        )
    train, test = snapshots[train_mask], snapshots[test_mask]
    info = {"cutoff": cutoff, "test_start": test_start, "gap_days": float(gap_days)}
    info["n_gap"] = int(len(snapshots) - train_mask.sum() - test_mask.sum())
    train.attrs.update(info)
    test.attrs.update(info)
    return train, test


class SnapshotSplit:
    """Rolling-origin cross-validation over snapshots, for ``cross_val_score`` and ``GridSearchCV``.

    Like scikit-learn's ``TimeSeriesSplit``, but by as-of date and by deal: the distinct ``as_of`` dates are cut
    into ``n_splits + 1`` consecutive blocks; fold ``k`` tests on block ``k + 1`` and trains on the snapshots
    more than ``gap_days`` before its first date (as :func:`time_split`), so no training label (which looks
    ``horizon_days`` ahead) sees the test period. With ``separate_deals`` (the default) a deal that has a test
    row in the fold is left out of that fold's training rows: its training label would otherwise be its test
    label (above all ``won``, read at the end of the log).

    Parameters
    ----------
    n_splits : int, default 5
        Folds (test blocks); each trains on everything before its own test block minus the gap.
    gap_days : float or None
        Days between the last training date and the first test date; None: the snapshots' ``horizon_days``
        (``X.attrs``), else 30. A gap shorter than the horizon warns.
    separate_deals : bool, default True
        Leave out of the training rows the deals that are in the test rows.
    min_train_rows : int, default 1
        A fold with fewer training rows is skipped (with a warning), so an early fold with nothing to learn from
        does not stop ``cross_val_score``.

    ``split(X, y=None, groups=None)`` reads ``as_of`` (and ``deal_id``, unless ``groups`` gives the deal of each
    row) from the snapshots table ``X``. Censored rows stay in the indices; the estimators and
    :func:`snapshot_scorer` leave them out.

    Examples
    --------
    >>> s = pd.DataFrame({"deal_id": [1, 2, 1, 2, 1, 3, 3, 3],
    ...                   "as_of": pd.to_datetime(["2024-01-07", "2024-01-07", "2024-01-14", "2024-01-14",
    ...                                            "2024-01-21", "2024-01-21", "2024-01-28", "2024-02-04"])})
    >>> [(tr.tolist(), te.tolist()) for tr, te in SnapshotSplit(n_splits=2, gap_days=7).split(s)]
    [([1], [4, 5, 6]), ([0, 1, 2, 3, 4], [7])]
    """

    def __init__(
        self, n_splits: int = 5, *, gap_days: float | None = None, separate_deals: bool = True, min_train_rows: int = 1
    ):
        if int(n_splits) != n_splits or n_splits < 1:
            raise UsageError(f"n_splits must be a whole number, 1 or more, not {n_splits!r}.")
        if gap_days is not None and (not np.isfinite(gap_days) or gap_days < 0):
            raise UsageError(f"gap_days must be 0 or more days, not {gap_days!r}.")
        self.n_splits = int(n_splits)
        self.gap_days = gap_days
        self.separate_deals = bool(separate_deals)
        self.min_train_rows = int(min_train_rows)

    def __repr__(self) -> str:
        return (
            f"SnapshotSplit(n_splits={self.n_splits}, gap_days={self.gap_days!r}, "
            f"separate_deals={self.separate_deals}, min_train_rows={self.min_train_rows})"
        )

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The folds :meth:`split` yields on ``X`` (``n_splits`` less the skipped ones); ``n_splits`` without X."""
        if X is None:
            return self.n_splits
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return len(self._folds(X, groups))

    def _gap(self, X) -> float:
        horizon = (getattr(X, "attrs", None) or {}).get("horizon_days")
        gap = float(self.gap_days) if self.gap_days is not None else float(horizon if horizon is not None else 30)
        if horizon is not None and gap < float(horizon):
            warnings.warn(
                f"SnapshotSplit's gap ({gap:g} days) is shorter than the snapshots' label horizon "
                f"({float(horizon):g} days): the last training labels look into the test period.",
                UserWarning,
                stacklevel=3,
            )
        return gap

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` positional indices, one pair per fold, earliest test block first."""
        yield from self._folds(X, groups)

    def _folds(self, X, groups) -> list[tuple[np.ndarray, np.ndarray]]:
        if not isinstance(X, pd.DataFrame):
            raise UsageError("SnapshotSplit splits a snapshots table (salesmetrics.snapshots): it needs 'as_of'.")
        as_of = as_of_column(X).reset_index(drop=True)
        gap = pd.Timedelta(days=self._gap(X))
        if groups is not None:
            deals = pd.Series(np.asarray(groups))
        elif "deal_id" in X.columns:
            deals = X["deal_id"].reset_index(drop=True)
        else:
            deals = None
        dates = np.sort(as_of.dropna().unique())
        if len(dates) < self.n_splits + 1:
            raise UsageError(
                f"SnapshotSplit(n_splits={self.n_splits}) needs at least {self.n_splits + 1} distinct as-of dates; "
                f"the snapshots have {len(dates)}. Use fewer splits or more frequent snapshots."
            )
        blocks = np.array_split(np.arange(len(dates)), self.n_splits + 1)
        positions = np.arange(len(X))
        folds = []
        for block in blocks[1:]:
            first, last = pd.Timestamp(dates[block[0]]), pd.Timestamp(dates[block[-1]])
            test_mask = ((as_of >= first) & (as_of <= last)).to_numpy().copy()
            train_mask = (as_of < first - gap).to_numpy().copy()  # as time_split: train < cutoff, test >= cutoff + gap
            if self.separate_deals and deals is not None:
                train_mask &= ~deals.isin(set(deals[test_mask])).to_numpy()
            if train_mask.sum() < max(self.min_train_rows, 1):
                warnings.warn(
                    f"SnapshotSplit: the fold testing from {_when(first)} has "
                    f"{int(train_mask.sum())} training rows; it is skipped.",
                    UserWarning,
                    stacklevel=4,
                )
                continue
            folds.append((positions[train_mask], positions[test_mask]))
        return folds


__all__ = ["SnapshotSplit", "as_of_column", "default_gap_days", "time_split"]
