"""Finding an export's columns and parsing their cells: dates and times, amounts, flags, stages, other columns.

Each parser reads a column of a :class:`~salesmetrics.adapters._source.SourceTable`, adds a problem naming the
file's lines for every cell it cannot read, and returns the parsed values indexed like the table.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from salesmetrics._util.suggest import close_matches, normalise
from salesmetrics._util.text import plural
from salesmetrics.adapters._source import Collector, SourceTable
from salesmetrics.exceptions import MAX_SHOWN, Problem
from salesmetrics.log.config import StageModel
from salesmetrics.log.parsing import EXPECTED_TIMESTAMP, parse_numbers, parse_timestamps
from salesmetrics.log.schemas import DEALS

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def find_column(
    src: SourceTable,
    wanted: str,
    aliases: Sequence[str] = (),
    *,
    collector: Collector | None = None,
    required: bool = True,
    why: str = "",
) -> str | None:
    """The column of ``src`` holding ``wanted``: an exact name, else an alias, else the same letters and digits.

    When it is missing and ``required``, a problem lists the columns found and the closest matches.
    """
    found = src.columns
    for name in (wanted, *aliases):
        if name in found:
            return name
    by_norm = {}
    for column in found:
        by_norm.setdefault(normalise(column), column)
    for name in (wanted, *aliases):
        if normalise(name) in by_norm:
            return by_norm[normalise(name)]
    if required and collector is not None:
        collector.add(missing_column(src, wanted, aliases, why))
    return None


def missing_column(src: SourceTable, wanted: str, aliases: Sequence[str] = (), why: str = "") -> Problem:
    found = src.columns
    close: list[str] = []
    for name in (wanted, *aliases):
        for match in difflib.get_close_matches(name, found, n=2, cutoff=0.6):
            if match not in close:
                close.append(match)
    by_norm = {normalise(c): c for c in found}
    for name in (wanted, *aliases):
        for match in difflib.get_close_matches(normalise(name), list(by_norm), n=2, cutoff=0.75):
            if by_norm[match] not in close:
                close.append(by_norm[match])
    hint = f" Did you mean {' or '.join(repr(c) for c in close[:3])}?" if close else ""
    also = f" (or {', '.join(repr(a) for a in aliases)})" if aliases else ""
    shown = ", ".join(found[:40]) + (f", ... ({len(found)} columns)" if len(found) > 40 else "")
    return Problem(
        "missing_column",
        "error",
        f"Required column '{wanted}'{also} is missing{why}. Columns found: {shown}.{hint}",
        file=src.file,
        column=wanted,
        expected=f"a column named '{wanted}'",
    )


def _by_line(src: SourceTable, series: pd.Series) -> pd.Series:
    """The series re-indexed by file line, so problems from the core parsers name the lines directly."""
    return series.set_axis(pd.Index(src.lines[np.asarray(series.index, dtype="int64")]))


def parse_times(
    src: SourceTable,
    column: str,
    collector: Collector,
    *,
    tz: str,
    date_order: str = "auto",
    required: bool = False,
    rows: pd.Index | None = None,
) -> pd.Series:
    """A column parsed into timestamps in zone ``tz`` (missing cells stay NaT), indexed like the frame."""
    values = src.frame[column] if rows is None else src.frame.loc[rows, column]
    try:
        parsed, problems = parse_timestamps(
            _by_line(src, values), tz=tz, file=src.file, column=column, offset=0, date_order=date_order
        )
    except TypeError:
        # parse_timestamps fails on an offset-carrying column with an impossible date (2024-02-31T10:00Z);
        # report the cells that do not parse instead of crashing.
        parsed, problems = _parse_iso_strictly(_by_line(src, values), tz=tz, file=src.file, column=column)
    collector.extend(problems)
    parsed = parsed.set_axis(values.index)
    if required:
        text = values.astype("str").str.strip()
        blank = values.isna() | text.eq("")
        if blank.any():
            collector.error(
                "missing_value",
                f"{int(blank.sum())} rows have no {column}.",
                file=src.file,
                column=column,
                rows=src.lines_of(blank[blank].index),
                count=int(blank.sum()),
                expected="a date or time in every row",
            )
    return parsed


def _parse_iso_strictly(values: pd.Series, *, tz: str, file: str, column: str) -> tuple[pd.Series, list[Problem]]:
    text = values.astype("str").str.strip().where(values.notna())
    text = text.where(text.ne(""))
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True).dt.tz_convert(tz)
    bad = text.notna() & parsed.isna()
    problems = []
    if bad.any():
        problems.append(
            Problem(
                "unparseable_timestamp",
                "error",
                f"{int(bad.sum())} cells are not dates or times.",
                file=file,
                column=column,
                rows=tuple(int(i) for i in bad[bad].index[:MAX_SHOWN]),
                values=tuple(str(v) for v in text[bad].iloc[:MAX_SHOWN]),
                count=int(bad.sum()),
                expected=EXPECTED_TIMESTAMP,
            )
        )
    return parsed.astype(f"datetime64[us, {tz}]"), problems


def parse_amounts(
    src: SourceTable, column: str, collector: Collector, *, percent: bool = False, rows: pd.Index | None = None
) -> pd.Series:
    """A column parsed into numbers (``1,200.50``, ``$1200``; missing cells stay NaN); ``rows``: only those."""
    values = src.frame[column] if rows is None else src.frame.loc[rows, column]
    if percent and not pd.api.types.is_numeric_dtype(values.dtype):
        values = values.astype("str").str.strip().str.rstrip("%").where(values.notna())
    parsed, problems = parse_numbers(
        _by_line(src, values), file=src.file, column=column, offset=0, decimal_comma=src.delimiter == ";"
    )
    collector.extend(problems)
    return parsed.set_axis(values.index)


def parse_flags(src: SourceTable, column: str, collector: Collector) -> pd.Series:
    """``true``/``false`` cells (also 1/0, yes/no) as a nullable boolean column."""
    values = src.frame[column]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean")
    text = values.astype("str").str.strip().str.lower().where(values.notna())
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    bad = text.notna() & text.ne("") & out.isna()
    if bad.any():
        collector.error(
            "not_a_flag",
            f"{int(bad.sum())} cells are not true or false.",
            file=src.file,
            column=column,
            rows=src.lines_of(bad[bad].index),
            values=tuple(str(v) for v in values[bad].iloc[:MAX_SHOWN]),
            count=int(bad.sum()),
            expected="true or false (also 1/0, yes/no)",
        )
    return out


def unknown_stage_problem(
    src: SourceTable, stages: pd.Series, model: StageModel, column: str, hint: str
) -> Problem | None:
    """An error listing each stage value not in the model, with its count, rows and close matches."""
    present = stages.notna()
    unknown = present & ~stages.isin(model.all_stages)
    if not unknown.any():
        return None
    counts = stages[unknown].value_counts()
    listed = "; ".join(f"'{s}' ({plural(n, 'row')})" for s, n in counts.items())
    close = []
    for stage in counts.index:
        match = close_matches(str(stage), model.all_stages, n=1)
        if match:
            close.append(f"'{stage}' may be '{match[0]}'")
    message = f"{plural(len(counts), 'stage', verb=('is', 'are'))} not in the stage model: {listed}."
    if close:
        message += " " + "; ".join(close) + "."
    return Problem(
        "unknown_stage",
        "error",
        message + " " + hint,
        file=src.file,
        column=column,
        rows=src.lines_of(unknown[unknown].index),
        values=tuple(str(s) for s in counts.index[:MAX_SHOWN]),
        count=int(unknown.sum()),
        expected="one of: " + ", ".join(model.all_stages),
    )


def attributes(src: SourceTable, used: Iterable[str | None], rows: pd.Index | None = None) -> pd.DataFrame:
    """The export's other columns, kept as deal attributes (text); names clashing with log columns get a prefix."""
    skip = {c for c in used if c}
    frame = src.frame if rows is None else src.frame.loc[rows]
    keep = {}
    for column in frame.columns:
        if column in skip:
            continue
        name = f"source_{column}" if column in DEALS.columns else str(column)
        keep[name] = frame[column]
    return pd.DataFrame(keep, index=frame.index)
