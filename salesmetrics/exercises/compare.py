"""Comparing a trainee's answer with the expected one, with a message that says what differs.

Every function returns a :class:`Comparison`: ``ok`` and, when not ok, a message for the trainee. Messages name
what is wrong (a type, a missing column, the rows that differ) but never the expected values themselves, so
a message can be shown without giving the answer away. Numbers are compared with a tolerance; tables can
ignore the order of their columns and rows.

Examples
--------
>>> compare_value(0.3333, 1 / 3, rtol=1e-3).ok
True
>>> print(compare_value("12", 12).message)
Expected a number, got text ('12').
>>> import pandas as pd
>>> expected = pd.DataFrame({"owner": ["ann", "bob"], "movements": [3, 2]})
>>> print(compare_frame(expected[["movements", "owner"]], expected).ok)  # column order ignored by default
True
>>> print(compare_frame(expected.assign(movements=[3, 5]), expected).message)
Column 'movements' differs in 1 of 2 rows (first: row 1).
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesmetrics._util.text import agree, plural
from salesmetrics.exercises.slips import SLIPS, column_slip, find_slip

MAX_NAMED = 3  # how many offending labels a message names


@dataclass(frozen=True)
class Comparison:
    """The outcome of a comparison: ``ok`` and, when not ok, what differs (without the expected value)."""

    ok: bool
    message: str = ""
    slip: str = ""  # the name of a slip the answer shows (see :data:`SLIPS`), when one explains every difference

    def __bool__(self) -> bool:
        return self.ok


OK = Comparison(True)


def _fail(message: str, slip: str = "") -> Comparison:
    return Comparison(False, message, slip)


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars turned into Python ones (also inside lists, tuples, sets and dicts), so a
    message shows ``0.42`` and ``'regression'``, not ``np.float64(0.42)`` and ``np.str_('regression')``."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value) if type(value) in (list, tuple) else value
    if isinstance(value, set | frozenset):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def short_repr(value: Any, limit: int = 60) -> str:
    """A one-line description of a value for a message: short values in full, tables by their shape.

    >>> short_repr(pd.Series([1, 2], name="x"))
    "a Series 'x' of 2 values"
    >>> short_repr("a" * 100)[:10]
    "'aaaaaaaaa"
    >>> short_repr([np.float64(0.5), np.str_("loss")])
    "[0.5, 'loss']"
    >>> short_repr(0.21052631578947367)  # long floats are rounded in messages
    '0.210526'
    """
    if isinstance(value, pd.DataFrame):
        cols = ", ".join(map(str, value.columns[:6])) + (", ..." if value.shape[1] > 6 else "")
        return f"a DataFrame of {len(value)} rows with columns [{cols}]"
    if isinstance(value, pd.Series):
        name = f" {value.name!r}" if value.name is not None else ""
        return f"a Series{name} of {len(value)} values"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if callable(value) and not isinstance(value, type):
        return f"the function {getattr(value, '__name__', repr(value))}"
    text = repr(_rounded(_plain(value)))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _rounded(value: Any) -> Any:
    """``value`` with its floats (also inside lists, tuples and dicts) cut to 6 significant digits, for messages."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.6g}")
    if type(value) in (list, tuple):
        return type(value)(_rounded(v) for v in value)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool | np.bool_):
        return "a True/False value"
    if isinstance(value, numbers.Number):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, pd.DataFrame):
        return "a DataFrame"
    if isinstance(value, pd.Series):
        return "a Series"
    if isinstance(value, Mapping):
        return "a dict"
    if isinstance(value, set | frozenset):
        return "a set"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool | np.bool_)


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    if isinstance(a, complex) or isinstance(b, complex):
        return abs(a - b) <= atol + rtol * abs(b)
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


def _labels(values, limit: int = MAX_NAMED) -> str:
    items = [repr(v.item() if isinstance(v, np.generic) else v) for v in list(values)[:limit]]
    more = len(values) - limit
    return ", ".join(items) + (f" and {more} more" if more > 0 else "")


def compare_value(
    answer: Any,
    expected: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    ordered: bool = True,
    case_sensitive: bool = False,
    what: str = "Your answer",
) -> Comparison:
    """Compare plain values: numbers (with tolerance), text, True/False, lists, sets, dicts, pandas objects.

    Numbers match within ``atol + rtol * |expected|`` (an integer answer ``12.0`` matches ``12``). Text ignores
    surrounding spaces and, unless ``case_sensitive``, case. Lists compare in order unless ``ordered=False``;
    tuples and lists are interchangeable. Dicts compare key by key. DataFrames and Series go to
    :func:`compare_frame`.

    Examples
    --------
    >>> compare_value(12.0, 12).ok, compare_value(" team a", "Team A").ok
    (True, True)
    >>> print(compare_value({"b", "c"}, {"a", "b"}).message)
    Your answer holds 1 item that does not belong ('c'), and 1 item is missing.
    """
    if isinstance(expected, pd.DataFrame | pd.Series):
        return compare_frame(answer, expected, rtol=rtol, atol=atol)
    if isinstance(expected, bool | np.bool_):
        if not isinstance(answer, bool | np.bool_):
            return _fail(f"Expected True or False, got {_kind(answer)} ({short_repr(answer)}).")
        return OK if bool(answer) == bool(expected) else _fail(f"{what}, {bool(answer)}, is not right.")
    if _is_number(expected):
        if isinstance(answer, np.ndarray) and answer.size == 1:
            answer = answer.item()
        if isinstance(answer, pd.Series | pd.DataFrame) and answer.size == 1:
            answer = answer.to_numpy().ravel()[0]
        if not _is_number(answer):
            return _fail(f"Expected a number, got {_kind(answer)} ({short_repr(answer)}).")
        if _close(answer, expected, rtol, atol):
            return OK
        slip = "" if isinstance(answer, complex) else find_slip([answer], [expected], rtol, atol)
        note = ""
        finite = not math.isnan(float(answer.real if isinstance(answer, complex) else answer))
        if slip:
            note = " " + SLIPS[slip][0]
        elif finite and float(expected) != 0 and abs(float(answer) - float(expected)) <= 0.05 * abs(float(expected)):
            note = " It is close: check rounding, or which rows you kept."
        return _fail(f"{what}, {short_repr(answer)}, is not right.{note}", slip)
    if isinstance(expected, str):
        if not isinstance(answer, str):
            return _fail(f"Expected text, got {_kind(answer)} ({short_repr(answer)}).")
        a, e = answer.strip(), expected.strip()
        if not case_sensitive:
            a, e = a.casefold(), e.casefold()
        return OK if a == e else _fail(f"{what}, {short_repr(answer)}, is not right.")
    if isinstance(expected, set | frozenset) or (isinstance(expected, list | tuple) and not ordered):
        if not isinstance(answer, set | frozenset | list | tuple | pd.Series | pd.Index | np.ndarray):
            return _fail(f"Expected a collection of items (a list or set), got {_kind(answer)}.")
        got, want = _normal_items(answer, case_sensitive), _normal_items(expected, case_sensitive)
        extra = [a for a in got if a not in want]
        missing = [w for w in want if w not in got]
        if not extra and not missing:
            if isinstance(expected, list | tuple) and len(list(answer)) != len(expected):
                return _fail(f"{what} lists some items more than once.")
            return OK
        parts = []
        if extra:
            does = agree(len(extra), "does", "do")
            parts.append(f"holds {plural(len(extra), 'item')} that {does} not belong ({_labels(extra)})")
        if missing:
            parts.append(f"{plural(len(missing), 'item', verb=('is', 'are'))} missing")
        if not extra:  # "Your answer is missing 2 items.": a sentence that reads on its own
            return _fail(f"{what} is missing {plural(len(missing), 'item')}.")
        return _fail(f"{what} " + ", and ".join(parts) + ".")
    if isinstance(expected, list | tuple):
        if not isinstance(answer, list | tuple | pd.Series | pd.Index | np.ndarray):
            return _fail(f"Expected a list, got {_kind(answer)} ({short_repr(answer)}).")
        answer = list(answer)
        if len(answer) != len(expected):
            return _fail(
                f"{what} has {len(answer)} items; that is too {'many' if len(answer) > len(expected) else 'few'}."
            )
        for i, (a, e) in enumerate(zip(answer, expected, strict=True)):
            item = f"Item {i + 1} of the list"
            c = compare_value(a, e, rtol=rtol, atol=atol, case_sensitive=case_sensitive, what=item)
            if not c:
                return _fail(c.message if c.message.startswith(item) else f"{item}: {c.message}")
        return OK
    if isinstance(expected, Mapping):
        if not isinstance(answer, Mapping):
            return _fail(f"Expected a dict, got {_kind(answer)} ({short_repr(answer)}).")
        missing = [k for k in expected if k not in answer]
        extra = [k for k in answer if k not in expected]
        if missing:
            return _fail(f"{what} has no entry for {_labels(missing)}.")
        if extra:
            return _fail(f"{what} has entries that do not belong: {_labels(extra)}.")
        wrong = [
            k
            for k in expected
            if not compare_value(answer[k], expected[k], rtol=rtol, atol=atol, case_sensitive=case_sensitive)
        ]
        if wrong:
            return _fail(
                f"The {agree(len(wrong), 'entry', 'entries')} for {_labels(wrong)} "
                f"{agree(len(wrong), 'is', 'are')} not right."
            )
        return OK
    if expected is None:
        return OK if answer is None else _fail(f"{what}, {short_repr(answer)}, is not right.")
    try:
        equal = bool(answer == expected)
    except (TypeError, ValueError):
        equal = False
    return OK if equal else _fail(f"{what}, {short_repr(answer)}, is not right.")


def _normal_items(items, case_sensitive: bool) -> list:
    out = []
    for item in items:
        if isinstance(item, np.generic):
            item = item.item()
        if isinstance(item, str):
            item = item.strip() if case_sensitive else item.strip().casefold()
        if isinstance(item, list):
            item = tuple(item)
        out.append(item)
    return out


def _values_equal(a: pd.Series, b: pd.Series, rtol: float, atol: float) -> np.ndarray:
    """Element-wise equality of two aligned columns: numbers within tolerance, missing equals missing."""
    a_na, b_na = a.isna().to_numpy(), b.isna().to_numpy()
    numeric = pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b)
    numeric = numeric and not pd.api.types.is_bool_dtype(a) and not pd.api.types.is_bool_dtype(b)
    if numeric:
        x = a.to_numpy(dtype="float64", na_value=np.nan)
        y = b.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            same = np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=True)
        return same | (a_na & b_na)
    try:
        same = (a.astype(object).to_numpy() == b.astype(object).to_numpy()).astype(bool)
    except (TypeError, ValueError):
        same = np.array([x == y for x, y in zip(a.astype(object), b.astype(object), strict=True)], dtype=bool)
    return (same & ~a_na & ~b_na) | (a_na & b_na)


def _as_frame(value: Any) -> pd.DataFrame | None:
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, pd.Series):
        return value.to_frame(name=value.name if value.name is not None else 0)
    return None


def compare_frame(
    answer: Any,
    expected: pd.DataFrame | pd.Series,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    check_column_order: bool = False,
    check_row_order: bool = False,
    check_index: bool = True,
    check_names: bool = False,
) -> Comparison:
    """Compare a DataFrame or Series with the expected one.

    Parameters
    ----------
    rtol, atol : float
        Tolerance for numeric columns (missing values match missing values).
    check_column_order : bool
        When False (default) the columns may come in any order.
    check_row_order : bool
        When False (default) rows are matched by index label (``check_index=True``) or, when the index does
        not matter, by sorting both tables on their values.
    check_index : bool
        When True (default) the index labels are part of the answer (e.g. one row per owner). When False the
        index is ignored and the rows are compared as records (e.g. a filtered table).
    check_names : bool
        When True, a Series' name must match too.

    A Series answer for a one-column DataFrame (or the reverse) is accepted; dtypes are not compared (an
    ``int`` column matches a ``float`` one with the same values).

    Examples
    --------
    >>> s = pd.Series([2, 1], index=pd.Index(["ann", "bob"], name="owner"))
    >>> compare_frame(s.iloc[::-1], s).ok
    True
    >>> print(compare_frame(s.reset_index(drop=True), s).message)  # doctest: +NORMALIZE_WHITESPACE
    The index should hold the owner labels (e.g. 'ann', 'bob'), not 0, 1, 2, ...:
    use groupby('owner') or set_index('owner').
    """
    expected_series = isinstance(expected, pd.Series)
    if not isinstance(answer, pd.DataFrame | pd.Series):
        want = "a Series" if expected_series else "a DataFrame"
        return _fail(f"Expected {want}, got {_kind(answer)} ({short_repr(answer)}).")
    if expected_series:
        if isinstance(answer, pd.DataFrame):
            if answer.shape[1] != 1:
                cols = ", ".join(map(repr, answer.columns[:6]))
                return _fail(f"Expected a Series (one value per row), got a DataFrame with columns [{cols}].")
            answer = answer.iloc[:, 0]
        if check_names and answer.name != expected.name:
            return _fail(f"The Series should be named {expected.name!r}, not {answer.name!r}.")
        got, want = answer.to_frame(name="value"), expected.to_frame(name="value")
    else:
        if isinstance(answer, pd.Series):
            if expected.shape[1] != 1:
                cols = ", ".join(map(repr, expected.columns))
                return _fail(
                    f"Expected a DataFrame with columns [{cols}], got a Series; use .to_frame() or build a DataFrame."
                )
            answer = answer.to_frame(name=expected.columns[0])
        got, want = answer, expected
        missing = [c for c in want.columns if c not in got.columns]
        if missing:
            by_index = [c for c in missing if c in (got.index.names or [])]
            hint = f" ({_labels(by_index)} is in the index: use .reset_index())" if by_index else ""
            return _fail(f"Missing {agree(len(missing), 'column', 'columns')} {_labels(missing, 6)}{hint}.")
        extra = [c for c in got.columns if c not in want.columns]
        if extra:
            return _fail(
                f"Unexpected {agree(len(extra), 'column', 'columns')} {_labels(extra, 6)}: "
                f"keep only {_labels(list(want.columns), 8)}."
            )
        if check_column_order and list(got.columns) != list(want.columns):
            return _fail(f"The columns are in the wrong order: put them as {_labels(list(want.columns), 8)}.")
        got = got[list(want.columns)]
    if len(got) != len(want):
        return _fail(f"The table has {len(got)} rows; that is too {'many' if len(got) > len(want) else 'few'}.")
    if check_index:
        return _compare_indexed(got, want, rtol, atol, check_row_order)
    return _compare_records(got, want, rtol, atol, check_row_order)


def _index_message(got: pd.DataFrame, want: pd.DataFrame) -> Comparison | None:
    if not got.index.is_unique:
        dupes = got.index[got.index.duplicated()].unique()
        return _fail(f"The index has repeated labels ({_labels(dupes)}); each row should appear once.")
    got_range = isinstance(got.index, pd.RangeIndex)
    if got_range and not isinstance(want.index, pd.RangeIndex):
        name = want.index.name or "the row labels"
        ex = _labels(want.index[:2], 2)
        how = f": use groupby({name!r}) or set_index({name!r})" if want.index.name else ""
        return _fail(f"The index should hold the {name} labels (e.g. {ex}), not 0, 1, 2, ...{how}.")
    missing = want.index.difference(got.index, sort=False)
    extra = got.index.difference(want.index, sort=False)
    if len(extra) or len(missing):
        parts = []
        if len(extra):
            parts.append(f"rows that do not belong ({_labels(extra)})")
        if len(missing):
            parts.append(f"no row for {_labels(missing)}")
        return _fail("The table has " + " and ".join(parts) + ".")
    return None


def _compare_indexed(got, want, rtol, atol, check_row_order) -> Comparison:
    problem = _index_message(got, want)
    if problem is not None:
        return problem
    if check_row_order and not got.index.equals(want.index):
        return _fail("The rows are in the wrong order.")
    got = got.loc[want.index]
    positions = isinstance(want.index, pd.RangeIndex)  # plain row numbers, not labels
    return _compare_columns(got, want, rtol, atol, labels=None if positions else list(want.index))


def _record_slip(got: pd.DataFrame, want: pd.DataFrame, rtol: float, atol: float) -> Comparison | None:
    """When the rows match on their columns of text (or dates) and a numeric column differs by a slip
    (:data:`SLIPS`), the failure that names it; otherwise None."""
    numeric = [
        c for c in want.columns if pd.api.types.is_numeric_dtype(want[c]) and not pd.api.types.is_bool_dtype(want[c])
    ]
    keys = [c for c in want.columns if c not in numeric]
    if not keys or not numeric:
        return None
    try:
        got = got.sort_values(keys, kind="stable").reset_index(drop=True)
        want = want.sort_values(keys, kind="stable").reset_index(drop=True)
    except TypeError:
        return None
    if not all(_values_equal(got[k], want[k], rtol, atol).all() for k in keys):
        return None
    for column in numeric:
        if not _values_equal(got[column], want[column], rtol, atol).all():
            slip = column_slip(got[column], want[column], rtol, atol)
            if not slip:
                return None
            bad = int((~_values_equal(got[column], want[column], rtol, atol)).sum())
            return _fail(f"Column {column!r} differs in {bad} of {len(want)} rows. {SLIPS[slip][1]}", slip)
    return None


def _compare_records(got, want, rtol, atol, check_row_order) -> Comparison:
    got, want = got.reset_index(drop=True), want.reset_index(drop=True)
    slipped = _record_slip(got, want, rtol, atol)
    if slipped is not None:
        return slipped
    if not check_row_order:
        cols = list(want.columns)
        try:
            want = want.sort_values(cols, kind="stable", na_position="last").reset_index(drop=True)
            got = got.sort_values(cols, kind="stable", na_position="last").reset_index(drop=True)
        except TypeError:
            want = want.astype(str).sort_values(cols, kind="stable").reset_index(drop=True)
            got = got.astype(str).sort_values(cols, kind="stable").reset_index(drop=True)
    same = np.ones(len(want), dtype=bool)
    for column in want.columns:
        result = _compare_columns(got[[column]], want[[column]], rtol, atol, labels=None)
        if not result.ok and "should be numbers" in result.message:
            return result
        same &= _values_equal(got[column], want[column], rtol, atol)
    if same.all():
        return OK
    extra = Counter(_row_keys(got)) - Counter(_row_keys(want))
    wrong = sum(extra.values()) or int((~same).sum())
    position = next((i for i, key in enumerate(_row_keys(got)) if key in extra), int(np.flatnonzero(~same)[0]))
    first = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in got.iloc[position].items()}
    verb = agree(wrong, "does", "do")
    return _fail(f"{wrong} of your {len(got)} rows {verb} not belong (for example {short_repr(first, 120)}).")


def _row_keys(frame: pd.DataFrame) -> list[tuple]:
    """Rows as hashable tuples, floats rounded to 6 significant digits and missing values as None."""

    def key(v):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
            return None
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float):
            return float(f"{v:.6g}")
        return v

    return [tuple(key(v) for v in row) for row in frame.itertuples(index=False, name=None)]


def _compare_columns(got, want, rtol, atol, labels) -> Comparison:
    for column in want.columns:
        g, w = got[column], want[column]
        if (
            pd.api.types.is_numeric_dtype(w)
            and not pd.api.types.is_bool_dtype(w)
            and not pd.api.types.is_numeric_dtype(g)
        ):
            name = "The values" if column == "value" else f"Column {column!r}"
            return _fail(f"{name} should be numbers, not {g.dtype} values.")
        same = _values_equal(g, w, rtol, atol)
        if not same.all():
            bad = np.flatnonzero(~same)
            where = f"first: {_labels([labels[i] for i in bad], 3)}" if labels is not None else f"first: row {bad[0]}"
            name = "The values differ" if column == "value" else f"Column {column!r} differs"
            slip = column_slip(g, w, rtol, atol)
            note = f" {SLIPS[slip][1]}" if slip else ""
            return _fail(f"{name} in {len(bad)} of {len(want)} rows ({where}).{note}", slip)
    return OK


__all__ = ["SLIPS", "Comparison", "compare_frame", "compare_value", "find_slip", "short_repr"]
