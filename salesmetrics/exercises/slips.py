"""Slips: the mistakes a checker names in any number, Series or table answer, whatever the question (decision
0059): percent instead of share, wrong sign, rounded, whole days (``.dt.days``), off by one. An exercise's own
mistakes (``Mistake``) are matched before these; :mod:`salesmetrics.exercises.compare` adds a slip's message to
what differs.

>>> find_slip([50.0], [0.5]), SLIPS["wrong sign"][0][:28]
('percent instead of share', 'It has the wrong sign: check')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SLIPS = {
    "percent instead of share": (
        "It looks like a percentage: give a share between 0 and 1 (do not multiply by 100).",
        "They look like percentages: give shares between 0 and 1 (do not multiply by 100).",
    ),
    "wrong sign": (
        "It has the wrong sign: check which value you subtract from which.",
        "They have the wrong sign: check which value you subtract from which.",
    ),
    "whole days (.dt.days)": (
        "It is a whole number cut down from the right one: `.dt.days` drops the fraction of a day (and `int()` or "
        "rounding any fraction). Keep the fraction: divide a Timedelta by `pd.Timedelta(days=1)`.",
        "They are whole numbers cut down from the right ones: `.dt.days` drops the fraction of a day (and `int()` "
        "or rounding any fraction). Keep the fraction: divide Timedeltas by `pd.Timedelta(days=1)`.",
    ),
    "rounded": (
        "It is rounded: keep every decimal (round only when you display a number).",
        "They are rounded: keep every decimal (round only when you display a number).",
    ),
    "off by one": (
        "It is exactly 1 away from the right one: an off-by-one (a day counted at both ends or at neither, a count "
        "that starts at 1 instead of 0, or `>` where `>=` was meant).",
        "They are exactly 1 away from the right ones: an off-by-one (a day counted at both ends or at neither, a "
        "count that starts at 1 instead of 0, or `>` where `>=` was meant).",
    ),
}
"""Slips a checker names in numbers, Series and table columns, whatever the question: name -> (the message
about one number, about several). An exercise's own mistakes (``Mistake``) are matched first."""


def _all_close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return bool(np.all(np.abs(a - b) <= atol + max(rtol, 1e-9) * np.abs(b)))


def find_slip(answer, expected, rtol: float = 1e-6, atol: float = 1e-9) -> str:
    """The name of the slip (a key of :data:`SLIPS`) that turns every ``expected`` number into the ``answer`` one,
    or ``""``. Only the numbers that differ are looked at; they must be finite (missing in both is left out).

    >>> find_slip([21.0, 50.0], [0.21, 0.5]), find_slip([-2.5], [2.5]), find_slip([0.21], [0.2105263])
    ('percent instead of share', 'wrong sign', 'rounded')
    >>> find_slip([2.0, 5.0], [2.75, 5.25]), find_slip([4.0, 8.5], [3.0, 7.5]), find_slip([4.0], [3.1])
    ('whole days (.dt.days)', 'off by one', '')
    >>> find_slip([3.0], [2.75]), find_slip([0.0], [0.25]), find_slip([0.0], [0.0049])
    ('rounded', 'whole days (.dt.days)', 'rounded')
    """
    a = np.asarray(answer, dtype="float64").ravel()
    e = np.asarray(expected, dtype="float64").ravel()
    if a.shape != e.shape:
        return ""
    both_missing = np.isnan(a) & np.isnan(e)  # missing matches missing
    a, e = a[~both_missing], e[~both_missing]
    if not a.size or not (np.isfinite(a).all() and np.isfinite(e).all()):
        return ""
    differ = np.abs(a - e) > atol + rtol * np.abs(e)
    if not differ.any():
        return ""
    a, e = a[differ], e[differ]
    nonzero = e != 0
    if nonzero.all() and (np.abs(e) <= 1).all() and _all_close(a, 100 * e, max(rtol, 1e-3), atol):
        return "percent instead of share"
    if nonzero.all() and _all_close(a, -e, rtol, atol):
        return "wrong sign"

    def rounded(digits: int) -> bool:
        return _all_close(a, np.round(e, digits), 0, 1e-9 * max(1.0, float(np.abs(e).max())))

    if any(rounded(digits) for digits in range(1, 5)):  # 2.04 given as 2.0 is rounded, whatever else it could be
        return "rounded"
    whole = np.abs(a - np.round(a)) <= 1e-9
    if whole.all() and _all_close(a, np.floor(e + 1e-9), 0, 1e-9):
        return "whole days (.dt.days)"
    if rounded(0):
        return "rounded"
    if _all_close(np.abs(a - e), np.ones_like(e), 0, 1e-9) and len(set(np.sign(a - e))) == 1:
        return "off by one"
    return ""


def column_slip(got: pd.Series, want: pd.Series, rtol: float, atol: float) -> str:
    """The slip (:func:`find_slip`) of a numeric column, or ``""`` (for a column of text, dates or True/False)."""
    numeric = pd.api.types.is_numeric_dtype(got) and pd.api.types.is_numeric_dtype(want)
    if not numeric or pd.api.types.is_bool_dtype(got) or pd.api.types.is_bool_dtype(want):
        return ""
    return find_slip(
        got.to_numpy(dtype="float64", na_value=np.nan), want.to_numpy(dtype="float64", na_value=np.nan), rtol, atol
    )


__all__ = ["SLIPS", "column_slip", "find_slip"]
