"""Lengths of time in microseconds, the unit every timestamp of a log is held in (``datetime64[us]``).

>>> US_PER_DAY // US_PER_MINUTE
1440
"""

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_DAY = 86_400 * US_PER_SECOND
