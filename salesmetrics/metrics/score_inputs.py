"""What :func:`salesmetrics.metrics.scoring.score` reads from its arguments, shared with the part-by-part scores of
:mod:`salesmetrics.metrics.scale` (which ``score`` calls for a log folder): the allowed ``by`` and ``period``, an
``as_of`` text as microseconds, the deals no as_of includes. No pandas at import."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from salesmetrics.exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from salesmetrics.log.saleslog import SalesLog

BY = ("deal", "owner", "team")
PERIODS = ("W", "M", "Q")


def check_by_period(by: str, period: str | None) -> None:
    """Refuse a ``by`` or ``period`` that :func:`score` does not know."""
    if by not in BY:
        raise UsageError(f"by {by!r} is not allowed; use one of: {', '.join(BY)}.")
    if period is not None and period not in PERIODS:
        raise UsageError(f"period {period!r} is not allowed; use one of: W (week), M (month), Q (quarter).")


def undated_deals(log: SalesLog) -> int:
    """The deals of a log that no as_of includes: no created_at and no stage entry."""
    deals = log.deals
    return int((deals["created_at"].isna() & ~deals["deal_id"].isin(log.stage_changes["deal_id"])).sum())


def as_of_microseconds(as_of, timezone: str) -> int | None:
    """An ``as_of`` text as microseconds since the epoch, read by :func:`~salesmetrics._util.limits.as_of_instant`
    (the rule :func:`salesmetrics.log.prepare.resolve_as_of` follows too) without loading pandas.

    None for None, and for a value that is not text (a date or timestamp object): the caller then takes the pandas
    path, which reads it with ``resolve_as_of``.

    >>> as_of_microseconds("1970-01-01", "UTC")
    86399999999
    """
    from salesmetrics._util.limits import as_of_instant

    if not isinstance(as_of, str):
        return None
    return (as_of_instant(as_of, timezone) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
