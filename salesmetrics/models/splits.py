"""Time-ordered splits of snapshots: train before a cutoff, test after a gap at least as long as the labels look.

A snapshot's label looks ``horizon_days`` ahead, so a training row just before the cutoff would know what
happened in the test period; :func:`time_split` leaves a gap of that length between the two parts. Choices:
``docs/decisions/0020-evaluation-split.md``.
"""

from __future__ import annotations

import math

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


__all__ = ["as_of_column", "default_gap_days", "time_split"]
