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
