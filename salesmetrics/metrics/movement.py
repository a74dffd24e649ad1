"""What the metrics share about movement: the names of the counts and flows, instants and wall-clock times as
microseconds, and calendar periods (weeks from Monday, months, quarters) in the log's time zone.

Definitions and a worked example: ``docs/metrics.md``; the waterfall flows:
``docs/decisions/0007-waterfall.md``; as_of and periods: ``docs/decisions/0008-as-of-and-periods.md``. The scores
themselves come from the engine (:func:`salesmetrics.metrics.scoring.score`); the pandas implementation they were
first written in is the tests' oracle (``tests/oracle_movement.py``, decision 0061).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from salesmetrics._util.text import plural
from salesmetrics._util.time_units import US_PER_DAY
from salesmetrics.exceptions import DataNote, UsageError

COUNTS = ("adds", "advances", "regressions", "wins", "losses", "movements", "motions")
FLOWS = ("opening", "created", "won", "lost", "pushed_out", "pulled_in", "reopened", "closing")
PERIODS = ("W", "M", "Q")
PERIOD_NAMES = {"W": "week", "M": "month", "Q": "quarter"}
_EPOCH_MONDAY = 4  # 1970-01-05 is the first Monday after the epoch: day 4


def epoch_us(times: pd.Series | pd.Timestamp) -> np.ndarray | int:
    """Tz-aware timestamps as int64 microseconds since the epoch (UTC): an array for a Series, an int for one
    timestamp (such as a resolved ``as_of``).

    >>> epoch_us(pd.Timestamp("1970-01-02", tz="UTC")), epoch_us(pd.Series(pd.to_datetime(["1970-01-01T00:00:01Z"])))
    (86400000000, array([1000000]))
    """
    if isinstance(times, pd.Timestamp):
        return times.value // 1000
    return times.astype(f"datetime64[us, {times.dt.tz}]").array.asi8 if len(times) else np.zeros(0, np.int64)


def local_us(series: pd.Series) -> np.ndarray:
    """Wall-clock microseconds in the series' own time zone (for calendar periods)."""
    if not len(series):
        return np.zeros(0, np.int64)
    return series.dt.tz_localize(None).astype("datetime64[us]").array.asi8


def note_deals_left_out(deals: int, scored: int, undated: int, as_of, stacklevel: int = 3) -> None:
    """Say why per-deal scores have fewer rows than the log has deals, when the reason is not the obvious one.

    Deals created after ``as_of`` are left out by definition; a :class:`~salesmetrics.DataNote` says so when
    that leaves nothing, and names deals that no ``as_of`` can include (no ``created_at``, no stage entry).
    ``stacklevel`` is the frame the note names, as in :func:`warnings.warn` (3: the caller's caller).
    """
    when = f"{as_of:%Y-%m-%d %H:%M}" if hasattr(as_of, "strftime") else str(as_of)
    if deals and not scored:
        warnings.warn(
            f"No deal is known at as_of ({when}): every deal was created or first dated later, so the result is "
            "empty; choose a later as_of (leave it out for the latest event).",
            DataNote,
            stacklevel=stacklevel,
        )
    elif undated:
        warnings.warn(
            f"{plural(undated, 'deal')} of {deals:,} {'has' if undated == 1 else 'have'} no created_at and no "
            "stage entry, so no as_of includes them: they are left out of the scores "
            "(`salesmetrics validate` lists them).",
            DataNote,
            stacklevel=stacklevel,
        )


# ---------------------------------------------------------------------------------------------------------
# periods


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise UsageError(f"period {period!r} is not allowed; use one of W (week), M (month), Q (quarter).")
    return period


def period_index(local_us: np.ndarray, period: str) -> np.ndarray:
    """The calendar period (W weeks from Monday, M months, Q quarters) of wall-clock microseconds.

    >>> period_index(np.array([0]), "M"), period_index(np.array([0]), "Q")
    (array([23640]), array([7880]))
    """
    days = np.floor_divide(local_us, US_PER_DAY)
    if period == "W":
        return np.floor_divide(days - _EPOCH_MONDAY, 7)
    months = _months(days)
    return months if period == "M" else np.floor_divide(months, 3)


def _months(days: np.ndarray) -> np.ndarray:
    """Months since year 0 of day numbers (days since 1970-01-01).

    Ten million activity times fall on a few hundred days: when the days span fewer values than there are
    times, each day of the span is converted once and the times look their day up.
    """
    if len(days) and days.max() - days.min() < len(days) // 2:
        first = days.min()
        table = _months_of_days(np.arange(first, days.max() + 1))
        return table[days - first]
    return _months_of_days(days)


def _months_of_days(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + 1970 * 12


def period_start_day(index: np.ndarray, period: str) -> np.ndarray:
    """First calendar day (days since 1970-01-01) of each period index."""
    index = np.asarray(index, dtype=np.int64)
    if period == "W":
        return index * 7 + _EPOCH_MONDAY
    months = index if period == "M" else index * 3
    return (months - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def period_labels(index: np.ndarray, period: str) -> list[str]:
    """``2024-01`` (M), ``2024Q1`` (Q), or the Monday ``2024-01-01`` (W).

    >>> period_labels(np.array([24288, 24289, 24288]), "M")
    ['2024-01', '2024-02', '2024-01']
    """
    # many rows, few periods: each period is labelled once
    distinct, position = np.unique(np.asarray(index, dtype=np.int64), return_inverse=True)
    return np.array(_labels(distinct, period), dtype=object)[position].tolist()


def _labels(index: np.ndarray, period: str) -> list[str]:
    if period == "W":
        return [str(d) for d in period_start_day(index, "W").astype("datetime64[D]")]
    if period == "M":
        return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in index]
    return [f"{i // 4:04d}Q{i % 4 + 1}" for i in index]
