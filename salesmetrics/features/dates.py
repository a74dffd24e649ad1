"""The as-of moments of a snapshot table: one per period of a frequency between the log's first and last events,
or the moments given (:func:`salesmetrics.features.build.snapshots`)."""

from __future__ import annotations

import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import NO_DATED_EVENTS, latest_event, resolve_in_zone
from salesmetrics.log.saleslog import SalesLog

FREQS = {"D": "D", "W": "W-SUN", "M": "ME", "Q": "QE"}


def as_of_dates(log: SalesLog, freq: str = "W", start=None, end=None) -> list[pd.Timestamp]:
    """The as-of moments :func:`snapshots` uses for ``freq``: the end of each period's last day.

    ``freq`` is ``D`` (days), ``W`` (weeks, ending Sunday), ``M`` (months), ``Q`` (quarters) or any pandas
    offset alias such as ``2W``. ``start`` and ``end`` default to the log's first and last event; each moment is
    the end of a calendar day in the log's time zone.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> dates = as_of_dates(sm.read_log("datasets/demo"), freq="M", end="2024-03-31")
    >>> [str(d.date()) for d in dates], str(dates[0].time())
    (['2024-01-31', '2024-02-29', '2024-03-31'], '23:59:59.999999')
    """
    return dates_between(log.model.timezone, first_event(log), latest_event(log), freq, start, end)


def first_event(log: SalesLog) -> pd.Timestamp | None:
    """The log's first stage change, activity or deal creation (the default ``start`` of :func:`as_of_dates`), or
    None when it has none dated."""
    times = [
        t.min()
        for t in (log.stage_changes["changed_at"], log.activities["occurred_at"], log.deals["created_at"])
        if len(t) and t.notna().any()
    ]
    return min(times) if times else None


def dates_between(tz: str, first, latest, freq: str = "W", start=None, end=None) -> list[pd.Timestamp]:
    """:func:`as_of_dates` of a log whose first and latest events are ``first`` and ``latest`` (timestamps, or
    None when it has none) and whose time zone is ``tz``: what a log split in parts shares (``features.parts``)."""
    if end is None:
        if latest is None:
            raise UsageError(NO_DATED_EVENTS)
        last = latest
    else:
        last = resolve_in_zone(end, tz)
    if start is None:
        if first is None:
            raise UsageError("The log has no dated events, so give the as-of dates with as_of=[...].")
    else:
        first = resolve_in_zone(start, tz)
    if first > last:
        raise UsageError(f"start ({first.date()}) is after end ({last.date()}); give a start before the end.")
    alias = FREQS.get(freq, freq)
    try:
        days = pd.date_range(first.tz_localize(None).normalize(), last.tz_localize(None).normalize(), freq=alias)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"freq {freq!r} is not a frequency; use D, W, M or Q (or a pandas alias such as 2W).") from exc
    moments = [resolve_in_zone(str(d.date()), tz) for d in days]
    return [m for m in moments if m <= last or end is not None]


def resolve_dates(tz: str, first, latest, as_of=None, freq: str = "W", start=None, end=None) -> list[pd.Timestamp]:
    """The as-of moments of :func:`snapshots`: those given in ``as_of`` (sorted, once each), else
    :func:`dates_between` the log's ``first`` and ``latest`` events."""
    if as_of is None:
        return dates_between(tz, first, latest, freq, start, end)
    values = [as_of] if isinstance(as_of, (str, pd.Timestamp)) or not hasattr(as_of, "__iter__") else list(as_of)
    if not values:
        raise UsageError("as_of is an empty list; give at least one date, or as_of=None with freq='W'.")
    return sorted({resolve_in_zone(v, tz) for v in values})


__all__ = ["FREQS", "as_of_dates", "dates_between", "first_event", "resolve_dates"]
