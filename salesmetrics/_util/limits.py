"""Bounds on the times of a sales log that no schema states, and the one reading of an ``as_of`` text: ISO 8601
only (:func:`as_of_from_text`), in :data:`YEAR_RANGE`, a date alone meaning the end of that day (:func:`is_bare_date`).

Kept free of heavy imports: the DuckDB fast path of ``score`` uses them before pandas is loaded. Times outside
:data:`YEAR_RANGE` are typos or placeholders (0001-01-01, 9999-12-31), not events of a sales pipeline; the
bounds also keep every later step clear of the limits of 64-bit time (``docs/decisions/0033-hostile-input.md``).
"""

from __future__ import annotations

import re
from datetime import datetime

from salesmetrics._util.text import shorten
from salesmetrics._util.time_units import US_PER_DAY  # noqa: F401 (re-exported; defined once there)
from salesmetrics.exceptions import UsageError

YEAR_RANGE = (1900, 2199)  # the first and the last year a time of a log may lie in (UTC for zoned times)

AS_OF_EXAMPLE = "use an ISO date or time such as 2024-03-31 or 2024-03-31T17:00"
_SLASHED = re.compile(r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{2,4})")


def check_year(year: int, as_of) -> None:
    """A UsageError unless ``year`` (of the as_of moment ``as_of``) lies in :data:`YEAR_RANGE`."""
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise UsageError(
            f"as_of {shorten(str(as_of))!r} is in the year {year}; a log's times lie between "
            f"{YEAR_RANGE[0]} and {YEAR_RANGE[1]}, so {AS_OF_EXAMPLE}."
        )


def as_of_from_text(text: str) -> datetime:
    """An as_of text as a datetime (zone as written); a UsageError unless it is ISO 8601 in :data:`YEAR_RANGE`.

    ``03/04/2025`` is 3 April in most of the world and 4 March in the United States, so it is refused with both
    readings, as are words such as ``today`` (a different moment every run).

    >>> as_of_from_text("2025-04-03")
    datetime.datetime(2025, 4, 3, 0, 0)
    >>> as_of_from_text("03/04/2025")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    salesmetrics.exceptions.UsageError: as_of '03/04/2025' is not an ISO date: it could be 2025-04-03 (day first) ...
    """
    stripped = text.strip()
    slashed = _SLASHED.match(stripped)
    if slashed:
        first, second, year = (int(g) for g in slashed.groups())
        year += 2000 if year < 100 else 0
        readings = []
        if second <= 12 and first <= 31:
            readings.append(f"{year:04d}-{second:02d}-{first:02d} (day first)")
        if first <= 12 and second <= 31:
            readings.append(f"{year:04d}-{first:02d}-{second:02d} (month first)")
        if len(readings) == 2:
            how = f"it could be {' or '.join(readings)}; write the one you mean."
        elif readings:
            how = f"write it as {readings[0].split()[0]}."
        else:
            how = f"{AS_OF_EXAMPLE}."
        raise UsageError(f"as_of {shorten(text)!r} is not an ISO date: {how}")
    try:
        moment = datetime.fromisoformat(stripped)
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"as_of {shorten(text)!r} is not a date or time in ISO 8601 form; {AS_OF_EXAMPLE}.") from exc
    check_year(moment.year, text)
    return moment


def is_bare_date(text: str) -> bool:
    """True when an as_of text is a date without a time (``2024-03-31``): it then means the end of that day.

    >>> is_bare_date(" 2024-03-31 "), is_bare_date("2024-03-31T17:00")
    (True, False)
    """
    return len(text.strip()) <= 10


def local_instant(wall: datetime, tz: str, what: str) -> datetime:
    """A wall-clock time of zone ``tz`` as an aware datetime; a UsageError when clocks skip or repeat that time.

    >>> local_instant(datetime(2024, 3, 31, 2, 30), "Europe/Berlin", "as_of")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    salesmetrics.exceptions.UsageError: as_of 2024-03-31 02:30 does not exist in Europe/Berlin: clocks skip ...
    """
    import zoneinfo
    from datetime import UTC

    zone = zoneinfo.ZoneInfo(tz)
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    shown = wall.strftime("%Y-%m-%d %H:%M")
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise UsageError(
            f"{what} {shown} does not exist in {tz}: clocks skip that hour. Give a time outside it, or one with a "
            "UTC offset."
        )
    raise UsageError(
        f"{what} {shown} happens twice in {tz}: clocks go back over that hour. Write it with a UTC offset, "
        f"such as {wall.strftime('%Y-%m-%dT%H:%M')}{first.strftime('%z')[:3]}:{first.strftime('%z')[3:]}."
    )


def as_of_instant(text: str, tz: str) -> datetime:
    """An as_of text as an aware datetime, read in zone ``tz`` when it has no offset: the one reading of both the
    engine and the pandas path. A date alone is the end of that day (its last microsecond, also on a day when
    clocks change); a time skipped or repeated by a clock change is a UsageError.

    >>> as_of_instant("2024-03-31", "Europe/Berlin").isoformat()
    '2024-03-31T23:59:59.999999+02:00'
    """
    from datetime import timedelta

    moment = as_of_from_text(text)
    if moment.tzinfo is not None:
        return moment
    if is_bare_date(text):
        import zoneinfo

        midnight = (moment + timedelta(days=1)).replace(tzinfo=zoneinfo.ZoneInfo(tz))
        return (midnight - timedelta(microseconds=1)).astimezone(zoneinfo.ZoneInfo(tz))
    return local_instant(moment, tz, "as_of")
