"""Time zone names: whether one is known, and the IANA name a person probably meant ("Pacific", "PST").

One place for the rule, used by the stage-model config, the importers and the simulator.

Examples
--------
>>> is_timezone("Europe/Berlin"), is_timezone("Pacific"), is_timezone("../etc")
(True, False, False)
>>> timezone_hint("Pacific")
" Did you mean 'America/Los_Angeles' or 'Canada/Pacific' or 'US/Pacific'?"
"""

from __future__ import annotations

import difflib
import re
import zoneinfo

from salesmetrics._util.time_units import US_PER_DAY

EXPECTED_TIMEZONE = "an IANA name such as 'America/Los_Angeles', 'Europe/Berlin' or 'UTC'"

# Names people and CRMs use for a zone that are not IANA names (or are IANA folders, like "Pacific").
_ZONE_WORDS = {
    "pacific": "America/Los_Angeles",
    "pacific time": "America/Los_Angeles",
    "pacific standard time": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "mountain": "America/Denver",
    "mountain time": "America/Denver",
    "mountain standard time": "America/Denver",
    "mdt": "America/Denver",
    "arizona": "America/Phoenix",
    "central": "America/Chicago",
    "central time": "America/Chicago",
    "central standard time": "America/Chicago",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "eastern": "America/New_York",
    "eastern time": "America/New_York",
    "eastern standard time": "America/New_York",
    "edt": "America/New_York",
    "alaska": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
    "bst": "Europe/London",
    "british summer time": "Europe/London",
    "cest": "Europe/Berlin",
    "central european time": "Europe/Berlin",
    "ist": "Asia/Kolkata",
    "india standard time": "Asia/Kolkata",
    "aest": "Australia/Sydney",
    "jst": "Asia/Tokyo",
}


def is_timezone(name: str) -> bool:
    """Whether ``name`` is a time zone the zone database knows (a folder of it, such as "Pacific", is not)."""
    try:
        zoneinfo.ZoneInfo(str(name).strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder (IsADirectoryError)
        return False
    return True


def suggest_timezones(name: str) -> list[str]:
    """IANA zone names that ``name`` probably meant (a common word such as "Pacific", a zone in parentheses as
    Salesforce shows it, a different case, the city alone, or a close spelling)."""
    text = str(name).strip()
    zones = sorted(zoneinfo.available_timezones())
    found: list[str] = []
    inner = re.findall(r"\(([A-Za-z_]+/[A-Za-z0-9_+\-/]+)\)", text)  # "(GMT-08:00) Pacific ... (America/Los_Angeles)"
    found += [z for z in inner if z in zones]
    word = re.sub(r"\s+", " ", re.sub(r"\(.*?\)", "", text)).strip().lower()
    if word in _ZONE_WORDS:
        found.append(_ZONE_WORDS[word])
    by_lower = {z.lower(): z for z in zones}
    key = text.lower().replace(" ", "_")
    if key in by_lower:
        found.append(by_lower[key])
    found += [z for z in zones if key and z.lower().rsplit("/", 1)[-1] == key]
    found += [by_lower[m] for m in difflib.get_close_matches(key, list(by_lower), n=2, cutoff=0.75)]
    return list(dict.fromkeys(found))[:3]


def timezone_hint(name: str) -> str:
    """ " Did you mean ...?" for an unknown zone name, or an empty string when nothing is close."""
    close = suggest_timezones(name)
    return f" Did you mean {' or '.join(repr(z) for z in close)}?" if close else ""


def utc_offsets(timezone: str, first_us: int, last_us: int) -> list[tuple[int, int]]:
    """The UTC offsets of ``timezone`` between two instants: ``[(from_us, offset_us), ...]`` in time order.

    Each offset holds from its instant (microseconds since the epoch) until the next one; the first holds from
    before ``first_us``. Found with Python's zoneinfo (the time zone data pandas uses), day by day and then to
    the microsecond, so a column's wall-clock time is plain arithmetic in SQL.

    >>> utc_offsets("UTC", 0, 10**15)
    [(-9223372036854775808, 0)]
    >>> [(t, o // 3_600_000_000) for t, o in utc_offsets("Europe/Berlin", 1_704_067_200_000_000, 1_717_200_000_000_000)]
    [(-9223372036854775808, 1), (1711846800000000, 2)]
    """
    from datetime import UTC, datetime, timedelta

    zone = zoneinfo.ZoneInfo(timezone)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def offset(us: int) -> int:
        return (epoch + timedelta(microseconds=us)).astimezone(zone).utcoffset() // timedelta(microseconds=1)

    day = US_PER_DAY
    out = [(-(2**63), offset(first_us))]
    at = first_us
    while at < last_us:
        nxt = min(at + day, last_us)
        if offset(nxt) != out[-1][1]:
            low, high = at, nxt  # offset(low) is the current one, offset(high) the next
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == out[-1][1] else (low, middle)
            out.append((high, offset(high)))
        at = nxt
    return out
