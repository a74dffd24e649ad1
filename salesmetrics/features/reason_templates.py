"""How a feature's value reads as a reason, in plain words: the builders of the registry's reason templates.

A template takes ``(value, reference, stage)``: the deal's value, the typical value (the training median) and
the deal's stage (only ``stage_rank`` uses it), and returns words such as "close date pushed 3 times". The
registry (:mod:`salesmetrics.features.registry`) gives each feature one template.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from salesmetrics._util.text import plural as _plural

#: A reason template: (the deal's value, the typical value, the deal's stage or None) -> words.
Template = Callable[[float, float, "str | None"], str]


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n:,} times")


def _i(v: float) -> int:
    return round(v)


def _pct(v: float) -> str:
    return f"{v:.0%}"


def count(word: str, zero: str, low: str, high: str) -> Template:
    """A template for a count: ``zero`` when 0, ``low``/``high`` (formatted with the count) otherwise.

    ``low`` is used when the value is at most the typical one, ``high`` when it is above; both may name the count
    with its noun (``{n}``), as a number of times (``{times}``) or bare (``{k}``).

    >>> count("day", "moved today", "moved only {n} ago", "no movement for {n}")(12, 3, None)
    'no movement for 12 days'
    """

    def render(v, ref, stage):
        n = _i(v)
        if n == 0:
            return zero
        return (high if v > ref else low).format(n=_plural(n, word), times=_times(n), k=n)

    return render


def rate(what: str, typical: bool = True) -> Template:
    """A template for a share: ``what`` and the share in percent, with the typical share when ``typical``.

    >>> rate("client decisions in")(0.25, 0.5, None)
    'client decisions in 25% (typical 50%)'
    """

    def render(v, ref, stage):
        tail = f" (typical {_pct(ref)})" if typical and math.isfinite(ref) else ""
        return f"{what} {_pct(v)}{tail}"

    return render


def stage_rank(v, ref, stage):
    """The stage a deal is still in (its name when known)."""
    return f"still in {stage}" if stage else f"still at stage {_i(v) + 1}"


def days_past_close(v, ref, stage):
    """Days past the expected close date, or how far away it still is."""
    n = _i(v)
    if n > 0:
        return f"{_plural(n, 'day')} past its expected close date"
    if n == 0:
        return "expected to close today"
    return f"expected close date {_plural(-n, 'day')} away"


def amount(v, ref, stage):
    """The amount, above or below the typical one."""
    side = "above" if v > ref else "below"
    return f"amount {v:,.0f}, {side} the typical {ref:,.0f}" if math.isfinite(ref) else f"amount {v:,.0f}"


def per_movement(v, ref, stage):
    """Activities per stage movement, as people write it: a whole number when it is one, else one decimal.

    >>> per_movement(7.0, 3, None), per_movement(1.0, 3, None), per_movement(2.25, 3, None)
    ('7 activities per stage movement', '1 activity per stage movement', '2.2 activities per stage movement')
    """
    text = f"{v:,.1f}".removesuffix(".0")
    return f"{text} {'activity' if text == '1' else 'activities'} per stage movement"


def motion_trend(v, ref, stage):
    """Activities in the last 14 days minus those in the 14 days before.

    >>> motion_trend(3, 0, None), motion_trend(-1, 0, None), motion_trend(0, 1, None)
    ('3 more activities in the last 14 days than in the 14 before', '1 fewer activity in the last 14 days than \
in the 14 before', 'as many activities in the last 14 days as in the 14 before')
    """
    n = _i(v)
    if n == 0:
        return "as many activities in the last 14 days as in the 14 before"
    noun = "activity" if abs(n) == 1 else "activities"
    return f"{abs(n):,} {'more' if n > 0 else 'fewer'} {noun} in the last 14 days than in the 14 before"


def meetings_since_decision(v, ref, stage):
    """Client meetings since the last client decision."""
    n = _i(v)
    if n > 0:
        return f"no client decision in the last {_plural(n, 'meeting')}"
    return "a client decision at the last meeting"


def past_commit(v, ref, stage):
    """Days since the deal reached the commit stage."""
    return f"{_plural(_i(v), 'day')} past commit without signature"


__all__ = [
    "Template",
    "amount",
    "count",
    "days_past_close",
    "meetings_since_decision",
    "motion_trend",
    "past_commit",
    "per_movement",
    "rate",
    "stage_rank",
]
