"""Turning text cells into timestamps and numbers, with a problem for every cell that will not go.

Timestamps are accepted as ISO 8601 (with or without a UTC offset), as the text spreadsheets write
(``3/14/2024 9:05 AM``, ``14.03.2024``) and as spreadsheet serial day numbers (``45365.5``). The choices
are recorded in ``docs/decisions/0002-timestamps.md``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from salesmetrics._util.limits import YEAR_RANGE
from salesmetrics._util.text import agree, plural
from salesmetrics._util.time_units import US_PER_DAY
from salesmetrics.exceptions import MAX_SHOWN, Problem

# an offset: Z, +01:00, +0100, or +01 as DuckDB and PostgreSQL write it
_AWARE = re.compile(r"(?:\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT))$", re.IGNORECASE)
_SLASHED = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b")
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_SERIAL = re.compile(r"^\d{4,5}(?:\.\d+)?$")
# Spreadsheet serial days: 1 is 1900-01-01, with Lotus' leap-year bug, hence the 1899-12-30 origin.
SERIAL_ORIGIN = pd.Timestamp("1899-12-30")
SERIAL_RANGE = (18264, 73051)  # 1950-01-01 .. 2099-12-31
TIME_RANGE = (pd.Timestamp(f"{YEAR_RANGE[0]}-01-01", tz="UTC"), pd.Timestamp(f"{YEAR_RANGE[1] + 1}-01-01", tz="UTC"))
_WORDS = re.compile(r"^(?:now|today|tomorrow|yesterday)$", re.IGNORECASE)  # pandas reads these as the clock's time
EXPECTED_TIMESTAMP = (
    "a date or time such as 2024-03-14, 2024-03-14 09:30, 2024-03-14T09:30:00+01:00, "
    "3/14/2024 9:30 AM or a spreadsheet day number"
)


def _rows(index: pd.Index, offset: int) -> tuple[int, ...]:
    return tuple(int(i) + offset for i in index[:MAX_SHOWN])


def _values(series: pd.Series) -> tuple[str, ...]:
    return tuple(str(v) for v in series.iloc[:MAX_SHOWN])


def _to_zone(parsed: pd.Series, tz: str) -> pd.Series:
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    else:
        parsed = parsed.dt.tz_convert(tz)
    return parsed.astype(f"datetime64[us, {tz}]")


def parse_timestamps(
    series: pd.Series, *, tz: str, file: str, column: str, offset: int, date_order: str = "auto"
) -> tuple[pd.Series, list[Problem]]:
    """Parse a column into timestamps in zone ``tz``; missing cells stay missing (NaT).

    Returns the parsed column and the problems found: unparseable cells (error), naive and zone-aware
    cells mixed in one column (error), guesses made for spreadsheet formats (warning).

    Examples
    --------
    >>> s = pd.Series(["2024-03-14", "2024-03-15 09:30"])
    >>> parsed, problems = parse_timestamps(s, tz="UTC", file="deals.csv", column="created_at", offset=2)
    >>> parsed.dt.strftime("%Y-%m-%d %H:%M").tolist(), problems
    (['2024-03-14 00:00', '2024-03-15 09:30'], [])
    """
    problems: list[Problem] = []
    where = {"file": file, "column": column}
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series.dtype):
        series = _in_range(series, None, tz, file, column, offset, problems)
        zoned = _to_zone(series, tz)
        _repeated_hour(series.notna() & zoned.isna(), series, tz, where, offset, problems)
        return zoned, problems
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return _from_serial(series.astype("float64"), tz, file, column, offset, problems), problems

    text = series.astype("str").str.strip()
    present = series.notna() & text.ne("")
    text = text.where(present)
    if not present.any():
        return pd.Series(pd.NaT, index=series.index, dtype=f"datetime64[us, {tz}]"), problems

    values = text[present]
    if values.str.fullmatch(_SERIAL.pattern).all():
        return _from_serial(text.astype("float64"), tz, file, column, offset, problems), problems

    aware = values.str.contains(_AWARE, regex=True)
    n_aware = int(aware.sum())
    # cells that are not dates at all are reported as unparseable below, not as naive timestamps
    naive = ~aware & values.str.contains(_DATE_LIKE, regex=True)
    if n_aware and naive.any():  # '31/02/2024' looks like a date without a zone, but is no date: reported below
        naive &= _real_dates(values.where(naive))
    n_naive = int(naive.sum())
    if n_aware and n_naive:
        minority = aware[aware] if n_aware <= n_naive else naive[naive]
        kind = "with a time zone" if n_aware <= n_naive else "without a time zone"
        problems.append(
            Problem(
                "mixed_timezones",
                "error",
                f"Timestamps with and without a time zone are mixed ({len(minority)} of {n_aware + n_naive} are "
                f"{kind}), so their order against the others is unclear. Give every timestamp an offset, "
                "or none (the log's 'timezone' setting is then applied).",
                rows=_rows(minority.index, offset),
                values=_values(values[minority.index]),
                count=len(minority),
                expected="all timestamps with an offset, or all without",
                **where,
            )
        )
        return pd.Series(pd.NaT, index=series.index, dtype=f"datetime64[us, {tz}]"), problems

    utc = n_aware > 0
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    words = values.str.fullmatch(_WORDS.pattern, case=False)
    if words.any():  # 'now' and 'today' would be read as the moment of reading: a different log every run
        parsed[words[words].index] = pd.NaT
    failed = present & parsed.isna()
    if failed.any():
        retry, order_problems = _parse_spreadsheet_text(text[failed], date_order, utc, file, column, offset)
        problems.extend(order_problems)
        if len(retry):
            parsed = parsed.astype("datetime64[us, UTC]" if utc else "datetime64[us]")
            parsed.loc[retry.index] = retry.astype(parsed.dtype)
        failed = present & parsed.isna()
    if failed.any():
        bad = text[failed]
        hint = ""
        if bad.str.fullmatch(_WORDS.pattern, case=False).any():
            hint = " Words such as 'now' or 'today' change meaning with the day the log is read: write the date."
        problems.append(
            Problem(
                "unparseable_timestamp",
                "error",
                f"{plural(len(bad), 'cell')} {agree(len(bad), 'is not a date or time', 'are not dates or times')}."
                + hint,
                rows=_rows(bad.index, offset),
                values=_values(bad),
                count=len(bad),
                expected=EXPECTED_TIMESTAMP,
                **where,
            )
        )
    parsed = _in_range(parsed, text, tz, file, column, offset, problems)
    zoned = _to_zone(parsed, tz)
    _repeated_hour(parsed.notna() & zoned.isna(), text, tz, where, offset, problems)
    return zoned, problems


def _repeated_hour(lost: pd.Series, text: pd.Series, tz: str, where: dict, offset: int, problems: list) -> None:
    """An error for times without a zone that fall in the hour repeated when clocks go back: each names two
    instants, so localizing gave none."""
    if not lost.any():
        return
    problems.append(
        Problem(
            "ambiguous_local_time",
            "error",
            f"{int(lost.sum())} times fall in the hour that repeats when clocks go back in {tz}, so the "
            "instant is unclear. Write them with a UTC offset.",
            rows=_rows(lost[lost].index, offset),
            values=_values(text[lost].astype("str")),  # only the cells named: formatting 10M times takes 10 s
            count=int(lost.sum()),
            expected="a time with an offset, such as 2024-10-27T02:30:00+01:00",
            **where,
        )
    )


def _real_dates(cells: pd.Series) -> pd.Series:
    """Whether each cell is a date that exists (read month-first or day-first); missing cells are not.

    >>> _real_dates(pd.Series(["2024-02-29", "31/02/2024", "15/01/2024", None])).tolist()
    [True, False, True, False]
    """
    month_first = pd.to_datetime(cells, format="mixed", dayfirst=False, errors="coerce")
    day_first = pd.to_datetime(cells, format="mixed", dayfirst=True, errors="coerce")
    return month_first.notna() | day_first.notna()


def _in_range(
    parsed: pd.Series, text: pd.Series | None, tz: str, file: str, column: str, offset: int, problems: list[Problem]
) -> pd.Series:
    """``parsed`` with times outside :data:`YEAR_RANGE` made missing, and a problem naming them.

    ``text`` holds the cells as written; None for a column that was typed in its file (Parquet).
    """
    present = parsed.notna()
    if not present.any():
        return parsed
    years = parsed.dt.year
    if parsed.dt.tz is None:  # a naive time may cross a year boundary in its zone: bound by year, with margin
        outside = present & ((years < YEAR_RANGE[0]) | (years > YEAR_RANGE[1]))
    else:
        utc = parsed.dt.tz_convert("UTC")
        outside = present & ((utc < TIME_RANGE[0]) | (utc >= TIME_RANGE[1]))
    if not outside.any():
        return parsed
    n = int(outside.sum())
    if text is None:  # NumPy writes any year; pandas and the standard library stop at 9999
        shown = parsed[outside].iloc[:MAX_SHOWN]
        if shown.dt.tz is not None:
            shown = shown.dt.tz_convert("UTC").dt.tz_localize(None)
        text = pd.Series(shown.to_numpy().astype("datetime64[us]").astype("str"), index=shown.index)
    problems.append(
        Problem(
            "timestamp_out_of_range",
            "error",
            f"{plural(n, 'time', verb=('lies', 'lie'))} outside the years {YEAR_RANGE[0]} to {YEAR_RANGE[1]}: "
            "a typo, or a placeholder such as 0001-01-01 or 9999-12-31. Correct the year, or leave the cell empty "
            "where the column allows it.",
            file=file,
            column=column,
            rows=_rows(outside[outside].index, offset),
            values=_values(text[outside]),
            count=n,
            expected=f"a time between {YEAR_RANGE[0]}-01-01 and {YEAR_RANGE[1]}-12-31",
        )
    )
    return parsed.where(~outside)


def _parse_spreadsheet_text(
    text: pd.Series, date_order: str, utc: bool, file: str, column: str, offset: int
) -> tuple[pd.Series, list[Problem]]:
    """Parse ``3/14/2024``-style cells, deciding day-first or month-first from the values themselves."""
    problems: list[Problem] = []
    parts = text.str.extract(_SLASHED)
    slashed = parts[0].notna()
    if not slashed.any():
        return pd.Series(dtype="datetime64[ns]"), problems
    first = parts.loc[slashed, 0].astype(int)
    second = parts.loc[slashed, 1].astype(int)
    dayfirst: bool
    if date_order == "dmy":
        dayfirst = True
    elif date_order == "mdy":
        dayfirst = False
    elif (first > 12).any() and (second > 12).any():
        problems.append(
            Problem(
                "ambiguous_dates",
                "error",
                "Some dates put the day first and others the month first, so none can be trusted.",
                file=file,
                column=column,
                rows=_rows(first[first > 12].index, offset) + _rows(second[second > 12].index, offset),
                values=_values(text[first[first > 12].index]) + _values(text[second[second > 12].index]),
                count=int((first > 12).sum() + (second > 12).sum()),
                expected="one date order throughout the column",
            )
        )
        return pd.Series(dtype="datetime64[ns]"), problems
    elif (first > 12).any():
        dayfirst = True
    elif (second > 12).any():
        dayfirst = False
    else:
        dayfirst = False
        problems.append(
            Problem(
                "ambiguous_dates",
                "warning",
                "Dates such as 03/04/2024 could be day-first or month-first; they were read month-first. "
                "If they are day-first, set date_order to dmy: 'date_order: dmy' in salesmetrics.yaml or in an "
                "import mapping, or '-o date_order=dmy' on 'salesmetrics import'.",
                file=file,
                column=column,
                rows=_rows(first.index, offset),
                values=_values(text[first.index]),
                count=len(first),
            )
        )
    cells = text[slashed]
    parsed = pd.to_datetime(cells, format="mixed", dayfirst=dayfirst, errors="coerce", utc=utc)
    return parsed, problems


def _from_serial(
    numbers: pd.Series, tz: str, file: str, column: str, offset: int, problems: list[Problem]
) -> pd.Series:
    present = numbers.notna()
    low, high = SERIAL_RANGE
    outside = present & ~numbers.between(low, high)
    if outside.any():
        problems.append(
            Problem(
                "unparseable_timestamp",
                "error",
                f"{int(outside.sum())} numbers cannot be spreadsheet day numbers (1950 to 2099).",
                file=file,
                column=column,
                rows=_rows(outside[outside].index, offset),
                values=_values(numbers[outside]),
                count=int(outside.sum()),
                expected=EXPECTED_TIMESTAMP,
            )
        )
    else:
        problems.append(
            Problem(
                "spreadsheet_serial_dates",
                "warning",
                "Numbers were read as spreadsheet day numbers (days since 1899-12-30) in the log's time zone.",
                file=file,
                column=column,
                rows=_rows(numbers[present].index, offset),
                values=_values(numbers[present]),
                count=int(present.sum()),
            )
        )
    usable = numbers.where(present & ~outside)
    micros = np.round(usable.to_numpy(dtype="float64") * US_PER_DAY)
    parsed = SERIAL_ORIGIN + pd.to_timedelta(micros, unit="us")
    return _to_zone(pd.Series(parsed, index=numbers.index), tz)


_CURRENCY = re.compile(r"[\s$€£¥]|USD|EUR|GBP", re.IGNORECASE)
_THOUSANDS_COMMA = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_THOUSANDS_DOT = re.compile(r"^-?\d{1,3}(?:\.\d{3})+(?:,\d+)?$")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


def parse_numbers(
    series: pd.Series, *, file: str, column: str, offset: int, decimal_comma: bool = False
) -> tuple[pd.Series, list[Problem]]:
    """Parse a column of amounts into floats; accepts ``1,234.50``, ``$1200`` and, in semicolon files, ``1.234,50``.

    Examples
    --------
    >>> parsed, _ = parse_numbers(pd.Series(["1,200.5", "$30", None]), file="f", column="amount", offset=2)
    >>> parsed.tolist()
    [1200.5, 30.0, nan]
    """
    problems: list[Problem] = []
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        numbers = series.astype("float64")  # NaN in a Parquet float column is a missing value, as in pandas
        return _finite(numbers, None, file, column, offset, problems), problems
    text = series.astype("str").str.strip()
    text = text.where(series.notna() & text.ne(""))  # an empty Parquet string is missing, as an empty CSV cell
    parsed = pd.to_numeric(text, errors="coerce")
    failed = text.notna() & parsed.isna()
    if failed.any():
        cleaned = text[failed].str.replace(_CURRENCY, "", regex=True)
        comma_thousands = cleaned.str.fullmatch(_THOUSANDS_COMMA.pattern)
        cleaned = cleaned.where(~comma_thousands, cleaned.str.replace(",", "", regex=False))
        if decimal_comma:
            dot_thousands = cleaned.str.fullmatch(_THOUSANDS_DOT.pattern)
            cleaned = cleaned.where(~dot_thousands, cleaned.str.replace(".", "", regex=False))
            decimal = cleaned.str.fullmatch(_DECIMAL_COMMA.pattern) | dot_thousands
            cleaned = cleaned.where(~decimal, cleaned.str.replace(",", ".", regex=False))
        parsed.loc[cleaned.index] = pd.to_numeric(cleaned, errors="coerce")
        failed = text.notna() & parsed.isna()
    if failed.any():
        bad = text[failed]
        problems.append(
            Problem(
                "not_a_number",
                "error",
                f"{len(bad)} cells are not numbers.",
                file=file,
                column=column,
                rows=_rows(bad.index, offset),
                values=_values(bad),
                count=len(bad),
                expected="a number such as 1200 or 1200.50",
            )
        )
    return _finite(parsed.astype("float64"), text, file, column, offset, problems), problems


def _finite(
    numbers: pd.Series, text: pd.Series | None, file: str, column: str, offset: int, problems: list[Problem]
) -> pd.Series:
    """``numbers`` with infinite values (``inf``, ``1e309``) made missing, and a problem naming them.

    ``text`` holds the cells as written; None for a column that was typed in its file (Parquet).
    """
    infinite = pd.Series(np.isinf(numbers.to_numpy(dtype="float64", na_value=np.nan)), index=numbers.index)
    if infinite.any():
        n = int(infinite.sum())
        text = numbers.astype("str") if text is None else text
        problems.append(
            Problem(
                "not_a_number",
                "error",
                f"{plural(n, 'cell', verb=('is', 'are'))} infinite or too large for a number "
                "(such as inf or 1e309). Write the amount, or leave the cell empty.",
                file=file,
                column=column,
                rows=_rows(infinite[infinite].index, offset),
                values=_values(text[infinite]),
                count=n,
                expected="a finite number such as 1200 or 1200.50",
            )
        )
        numbers = numbers.where(~infinite)
    return numbers
