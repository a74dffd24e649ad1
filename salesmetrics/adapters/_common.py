"""Helpers shared by the adapters: reading export files, finding columns, parsing cells, and building a log.

Every problem an adapter finds names the *export* file, the line a person sees in it (the header is line 1,
and a quoted cell spanning several lines is counted as the file counts it), the export's column, the value and
what was expected. Problems the log validator finds in the tables an adapter built are translated back to the
export rows they came from (:class:`Provenance`), so a user never has to look inside a temporary file.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.timezones import EXPECTED_TIMEZONE, is_timezone, timezone_hint
from salesmetrics.exceptions import LogValidationError, Problem, ProblemList, UsageError
from salesmetrics.log.config import StageModel
from salesmetrics.log.parsing import EXPECTED_TIMESTAMP, MAX_SHOWN, parse_numbers, parse_timestamps
from salesmetrics.log.readers import read_raw_table
from salesmetrics.log.saleslog import SalesLog, check_output_folder, write_log

#: The owner written for deals whose export names no owner; the log's notes say how many there are.
UNKNOWN_OWNER = "(unknown)"
#: Column names of the log's deals table; an export column with one of these names is kept with a prefix.
LOG_DEAL_COLUMNS = ("deal_id", "owner", "created_at", "amount", "team")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def normalise(name: str) -> str:
    """A column name reduced to lower-case letters and digits, so ``Close Date`` matches ``CloseDate``."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def as_names(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """Stage names from a list, or from ``"A,B,C"`` text (``|`` separates instead when present)."""
    if value is None:
        return None
    if isinstance(value, str):
        sep = "|" if "|" in value else ","
        names = [part.strip() for part in value.split(sep)]
    else:
        names = [str(part).strip() for part in value]
    names = [n for n in names if n]
    return tuple(dict.fromkeys(names))


def as_merges(value: str | dict[str, str] | None) -> dict[str, str]:
    """Stage names to merge, ``{old: new}``, from a dict or from ``"Old:New,Older:New"`` text (``|`` separates
    the pairs instead when present, as in :func:`as_names`).

    >>> as_merges("Demo Scheduled:Demo Completed, Intro:Discovery")
    {'Demo Scheduled': 'Demo Completed', 'Intro': 'Discovery'}
    """
    if value is None:
        return {}
    if isinstance(value, dict):
        pairs = [(str(k).strip(), str(v).strip()) for k, v in value.items()]
    else:
        pairs = []
        for part in as_names(value) or ():
            old, sep, new = part.partition(":")
            if not sep:
                raise UsageError(
                    f"merge_stages takes Old:New pairs separated by commas (e.g. 'Demo Scheduled:Demo Completed'); "
                    f"{part!r} has no ':'."
                )
            pairs.append((old.strip(), new.strip()))
    merges: dict[str, str] = {}
    for old, new in pairs:
        if not old or not new:
            raise UsageError(f"merge_stages: {old!r}:{new!r} needs a stage name on both sides of ':'.")
        if old in merges and merges[old] != new:
            raise UsageError(f"merge_stages names {old!r} twice, as {merges[old]!r} and as {new!r}.")
        merges[old] = new
    chained = sorted(set(merges) & set(merges.values()))
    if chained:
        raise UsageError(
            f"merge_stages: {', '.join(map(repr, chained))} is merged into another stage and also receives one; "
            "merge each old name straight into the final name."
        )
    return merges


def check_merges(merges: dict[str, str], found: Iterable[str], where: str) -> None:
    """A usage error when a stage to merge is not among the stage names ``found`` in the export."""
    found = list(dict.fromkeys(found))
    missing = [old for old in merges if old not in found]
    if missing:
        hints = []
        for old in missing:
            close = difflib.get_close_matches(old, found, n=1)
            hints.append(f"{old!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UsageError(
            f"merge_stages names {', '.join(hints)}, which {where} does not hold. Stages found: {', '.join(found)}."
        )


def check_timezone(tz: str) -> str:
    """``tz`` if it is an IANA time zone name, else a usage error suggesting the name that was probably meant."""
    name = str(tz).strip()
    if not is_timezone(name):
        raise UsageError(f"Unknown time zone {name!r}: expected {EXPECTED_TIMEZONE}.{timezone_hint(name)}")
    return name


def check_date_order(date_order: str) -> str:
    """``date_order`` if it is one the date parser knows, else a usage error."""
    if date_order not in ("auto", "dmy", "mdy"):
        raise UsageError(f"date_order must be 'auto', 'dmy' or 'mdy', not {date_order!r}.")
    return date_order


def check_output(out: str | Path | None, format: str, overwrite: bool, inputs: Iterable[str | Path] = ()) -> None:
    """Fail before any work is done when the output cannot be written (or would delete one of ``inputs``)."""
    if out is None:
        if format not in ("parquet", "csv"):
            raise UsageError(f"format must be 'parquet' or 'csv', not {format!r}.")
        return
    check_output_folder(Path(out), format=format, overwrite=overwrite, inputs=inputs)


@dataclass
class Collector:
    """Problems found while reading an export, errors and warnings together."""

    kind: str
    files: list[str] = field(default_factory=list)
    items: list[Problem] = field(default_factory=list)
    #: Sentences for the log's notes about what reading the files changed (rows dropped, ids generated, ...).
    notes: list[str] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.items.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    def error(self, code: str, message: str, **where) -> None:
        self.items.append(Problem(code, "error", message, **where))

    def warn(self, code: str, message: str, **where) -> None:
        self.items.append(Problem(code, "warning", message, **where))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.items)

    def failure(self, extra: Iterable[Problem] = ()) -> LogValidationError:
        problems = ProblemList([*self.items, *extra])
        where = ", ".join(self.files) or self.kind
        err = LogValidationError(where, problems)
        n = len(problems.errors)
        noun = "problem" if n == 1 else "problems"
        err.args = (f"Cannot import the {self.kind} export ({where}): {n} {noun}:\n{problems.numbered()}",)
        return err

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise self.failure()


@dataclass
class SourceTable:
    """One export file: its cells as text, and for each row the line a person sees it on."""

    path: Path
    file: str
    frame: pd.DataFrame
    lines: np.ndarray
    delimiter: str | None = None

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def lines_of(self, index: pd.Index) -> tuple[int, ...]:
        return tuple(int(n) for n in self.lines[np.asarray(index, dtype="int64")[:MAX_SHOWN]])

    def text(self, column: str) -> pd.Series:
        """A column's cells as trimmed text; empty cells are missing."""
        values = self.frame[column]
        out = values.astype("str").str.strip()
        return out.where(values.notna() & out.ne(""))


def _record_lines(text: str, delimiter: str, n_rows: int) -> np.ndarray | None:
    """The first line of every data record, counting lines inside quoted cells as the file does."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    starts: list[int] = []
    end = 0
    for record in reader:
        start, end = end + 1, reader.line_num
        if record:
            starts.append(start)
    starts = starts[1:]  # the header
    return np.asarray(starts, dtype="int64") if len(starts) == n_rows else None


def read_source(path: str | Path, collector: Collector, role: str = "export") -> SourceTable | None:
    """Read an export (CSV or Parquet). A missing path is a usage error; unreadable content a problem."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"The {role} file {path} does not exist.")
    if path.is_dir():
        raise UsageError(f"The {role} file {path} is a folder; give the exported file itself.")
    if path.suffix.lower() in (".xlsx", ".xls"):
        raise UsageError(
            f"{path.name} is a spreadsheet workbook; save it as CSV (UTF-8) first, or export to CSV from the CRM."
        )
    collector.files.append(path.name)
    raw, problems = read_raw_table(path, path.stem)
    collector.extend(problems)
    if raw is None:
        return None
    frame = raw.frame.reset_index(drop=True)
    lines = None
    if raw.delimiter is not None and raw.encoding is not None and len(frame):
        try:
            text = path.read_bytes().decode(raw.encoding)
            lines = _record_lines(text, raw.delimiter, len(frame))
        except (UnicodeDecodeError, LookupError, csv.Error):
            lines = None
    if lines is None:
        lines = np.arange(len(frame), dtype="int64") + raw.row_offset
    if frame.columns.size == 0:
        collector.error("empty_table", "The file is empty: it has no header and no rows.", file=path.name)
        return None
    if raw.delimiter is not None and len(frame):
        keep = _without_clutter(frame, lines, path.name, collector)
        if not keep.all():
            frame = frame[keep].reset_index(drop=True)
            lines = lines[keep]
    return SourceTable(path, path.name, frame, lines, raw.delimiter)


# The footer Salesforce (Classic) appends to a report exported as CSV, after one or two empty lines: the report
# name, "Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved.", "Confidential Information - Do Not
# Distribute", "Generated By:  Name  3/14/2024 9:30 AM" and the company name, each alone in the first column.
FOOTER_MARKERS = re.compile(
    r"^(confidential information\b|copyright\s*(\(c\)|©).*salesforce\.com|generated by\b|grand totals?\s*\()",
    re.IGNORECASE,
)


def _without_clutter(frame: pd.DataFrame, lines: np.ndarray, file: str, collector: Collector) -> np.ndarray:
    """Rows to keep: not the empty rows spreadsheets write (``,,,,``) nor a Salesforce report footer.

    What was left out is said in ``collector.notes``.
    """
    filled = frame.notna().to_numpy()
    if frame.shape[1] > 1:
        text = frame.iloc[:, 0].astype("str").str.strip().where(frame.iloc[:, 0].notna(), "")
        filled[:, 0] &= text.ne("").to_numpy()
    blank = ~filled.any(axis=1)
    keep = ~blank
    only_first = ~filled[:, 1:].any(axis=1)
    # The footer: the run of rows at the end that fill at most the first column, when it holds a footer marker.
    tail = len(frame)
    while tail > 0 and only_first[tail - 1]:
        tail -= 1
    footer = 0
    if tail < len(frame):
        first = frame.iloc[tail:, 0].astype("str").str.strip()
        marked = np.flatnonzero(first.str.match(FOOTER_MARKERS).to_numpy() & ~blank[tail:])
        if len(marked):
            start = tail
            footer = len(frame) - start
            keep[start:] = False
            collector.notes.append(
                f"{file}: the report footer (lines {int(lines[start])}-{int(lines[-1])}: "
                + ", ".join(repr(v[:50]) for v in first.iloc[marked].tolist()[:3])
                + ") was left out."
            )
    n_blank = int(blank[: len(frame) - footer].sum())
    if n_blank:
        collector.notes.append(
            f"{file}: {plural(n_blank, 'empty row')} (no value in any cell, as spreadsheets write them: ',,,,') "
            f"{agree(n_blank, 'was', 'were')} left out."
        )
    return keep


def combine_repeated_rows(
    src: SourceTable, id_column: str, collector: Collector, *, must_agree: Iterable[str | None], what: str
) -> SourceTable:
    """``src`` with one row per id: exact repeats dropped, and rows sharing an id read as one record's line items.

    Reports such as Salesforce's "Opportunities with Products" repeat the opportunity on one row per product.
    Rows of one id that agree on every ``must_agree`` column are combined into the first of them (its line
    stays the one problems name); a column whose values differ between them gets the distinct values joined
    with " | ". Rows of one id that disagree on a ``must_agree`` column are an error (two records share an id).
    What was done is said in ``collector.notes``.
    """
    frame = src.frame
    exact = frame.duplicated().to_numpy()
    ids = src.text(id_column).where(~exact)
    repeated = (ids.duplicated(keep=False) & ids.notna()).to_numpy()
    if not exact.any() and not repeated.any():
        return src
    keep = ~exact
    if exact.any():
        n = int(exact.sum())
        collector.notes.append(
            f"{src.file}: {plural(n, 'row')} repeating an earlier row exactly {agree(n, 'was', 'were')} left out."
        )
    if repeated.any():
        sub = frame[repeated]
        groups = ids[repeated].to_numpy()
        counts = sub.astype(object).groupby(groups, sort=False).nunique(dropna=False)
        agreeing = [c for c in dict.fromkeys(must_agree) if c]
        clash = counts[agreeing].gt(1) if agreeing else counts.iloc[:, :0]
        if clash.to_numpy().any():
            bad = clash.index[clash.any(axis=1)]
            columns = [c for c in agreeing if clash[c].any()]
            rows = sub.index[pd.Series(groups).isin(bad).to_numpy()]
            collector.error(
                "duplicate_id",
                f"{plural(len(bad), what + ' id')} {agree(len(bad), 'appears', 'appear')} on several rows that differ "
                f"in {', '.join(repr(c) for c in columns)}: two records cannot share an id. Remove the extra rows, "
                f"or export one row per {what}.",
                file=src.file,
                column=id_column,
                rows=src.lines_of(rows),
                values=tuple(str(v) for v in bad[:MAX_SHOWN]),
                count=len(rows),
                expected=f"one row per {what} (rows of one {what} as line items must agree on those columns)",
            )
            return src
        first = ~pd.Series(groups).duplicated().to_numpy()
        keep[np.flatnonzero(repeated)[~first]] = False
        differ = [c for c in counts.columns if counts[c].gt(1).any()]
        frame = frame.copy()
        if differ:
            for column in differ:  # joined values are text, so the whole column is (numeric Parquet columns too)
                frame[column] = frame[column].astype("str").where(frame[column].notna()).astype(object)
            joined = (
                sub[differ]
                .astype(object)
                .groupby(groups, sort=False)
                .agg(lambda s: " | ".join(dict.fromkeys(str(v) for v in s if pd.notna(v))) or None)
            )
            first_rows = sub.index[first]
            frame.loc[first_rows, differ] = joined.loc[groups[first]].to_numpy()
        n_ids, n_rows = len(counts), int(repeated.sum())
        collector.notes.append(
            f"{src.file}: {plural(n_ids, what)} {agree(n_ids, 'appears', 'appear')} on {n_rows:,} rows (one per line "
            f"item, as in an 'Opportunities with Products' report); each is read as one {what}"
            + (f", with the differing values of {', '.join(differ[:6])} joined by ' | '." if differ else ".")
        )
    return dataclasses.replace(src, frame=frame[keep].reset_index(drop=True), lines=src.lines[keep])


#: How ``generate_id`` makes an id for a table without one (campaign contacts, survey rows).
ID_RULES = ("row", "content")


def generated_ids(src: SourceTable, rule: str, collector: Collector) -> pd.Series:
    """An id for every row of a table that has none: ``row`` or ``content`` (see ``docs/adapters.md``).

    ``row`` is ``row-<line>``, the line the row is on in the file (stable while the file keeps its order).
    ``content`` is ``c-`` and the first 12 hex digits of the SHA-1 of the row's cells (stable when rows are
    re-sorted or added); rows with identical cells get ``-2``, ``-3``, ... in file order.

    >>> import numpy as np
    >>> src = SourceTable(Path("c.csv"), "c.csv", pd.DataFrame({"a": ["x", "y", "x"]}), np.array([2, 3, 4]))
    >>> generated_ids(src, "row", Collector("t")).tolist(), generated_ids(src, "content", Collector("t")).tolist()
    (['row-2', 'row-3', 'row-4'], ['c-11f6ad8ec52a', 'c-95cb0bfd2977', 'c-11f6ad8ec52a-2'])
    """
    if rule not in ID_RULES:
        raise UsageError(f"generate_id must be one of {', '.join(ID_RULES)}, not {rule!r}.")
    if rule == "row":
        ids = pd.Series([f"row-{n}" for n in src.lines], index=src.frame.index, dtype=object)
        how = "row-<line>, the line of the row in the file: the same only while the file keeps its rows in order"
    else:
        cells = src.frame.astype("str").where(src.frame.notna(), "").to_numpy(dtype=object)
        digest = pd.Series(
            ["c-" + hashlib.sha1("\x1f".join(row).encode("utf-8")).hexdigest()[:12] for row in cells],
            index=src.frame.index,
            dtype=object,
        )
        repeat = digest.groupby(digest).cumcount() + 1
        ids = digest.where(repeat.eq(1), digest + "-" + repeat.astype("str")).astype(object)
        how = (
            "c- and a hash of the row's cells: the same when rows are re-sorted or added, different when a cell "
            "or a column changes; identical rows are told apart by -2, -3, ... in file order"
        )
    collector.notes.append(f"{src.file} has no id column: each row was given a generated deal_id ({how}).")
    return ids


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
    listed = "; ".join(f"'{s}' ({n} rows)" for s, n in counts.items())
    close = []
    for stage in counts.index:
        match = difflib.get_close_matches(str(stage), list(model.all_stages), n=1, cutoff=0.6)
        if match:
            close.append(f"'{stage}' may be '{match[0]}'")
    message = f"{len(counts)} stages are not in the stage model: {listed}."
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
        name = f"source_{column}" if column in LOG_DEAL_COLUMNS else str(column)
        keep[name] = frame[column]
    return pd.DataFrame(keep, index=frame.index)


@dataclass
class Provenance:
    """Where each row of a built table came from: the export file and line, and the export column of each column.

    ``columns`` maps a log column to an export column, or to an array giving the export column row by row.
    """

    files: np.ndarray
    lines: np.ndarray
    columns: dict[str, object] = field(default_factory=dict)
    default_file: str | None = None

    @classmethod
    def rows_of(cls, src: SourceTable, index: pd.Index, columns: dict[str, object] | None = None) -> Provenance:
        lines = src.lines[np.asarray(index, dtype="int64")]
        return cls(np.full(len(lines), src.file, dtype=object), lines, dict(columns or {}), src.file)

    @classmethod
    def concat(cls, parts: Sequence[Provenance], default_file: str | None = None) -> Provenance:
        if not parts:
            return cls(np.array([], dtype=object), np.array([], dtype="int64"), {}, default_file)
        keys = {k for p in parts for k in p.columns}
        columns: dict[str, object] = {}
        for key in keys:
            pieces = []
            for p in parts:
                value = p.columns.get(key, key)
                pieces.append(
                    np.asarray(value, dtype=object)
                    if not isinstance(value, str)
                    else np.full(len(p.lines), value, dtype=object)
                )
            columns[key] = np.concatenate(pieces)
        return cls(
            np.concatenate([p.files for p in parts]),
            np.concatenate([p.lines for p in parts]),
            columns,
            default_file or parts[0].default_file,
        )

    def take(self, positions: np.ndarray) -> Provenance:
        positions = np.asarray(positions, dtype="int64")
        columns = {
            k: (v if isinstance(v, str) else np.asarray(v, dtype=object)[positions]) for k, v in self.columns.items()
        }
        return Provenance(self.files[positions], self.lines[positions], columns, self.default_file)


def _translate(problem: Problem, provenance: dict[str, Provenance]) -> Problem:
    """A problem about a built table, restated in terms of the export rows and columns it came from."""
    table = Path(problem.file).stem if problem.file else None
    prov = provenance.get(table) if table else None
    if prov is None:
        return problem
    positions = [r - 1 for r in problem.rows if 0 <= r - 1 < len(prov.lines)]
    files = list(dict.fromkeys(str(prov.files[i]) for i in positions))
    file = " / ".join(files) if files else (prov.default_file or problem.file)
    rows = tuple(int(prov.lines[i]) for i in positions)
    column = problem.column
    if column is not None and column in prov.columns:
        mapped = prov.columns[column]
        if isinstance(mapped, str):
            column = mapped
        elif positions:
            column = str(np.asarray(mapped, dtype=object)[positions[0]])
    message = problem.message
    if problem.code == "empty_table":
        message = f"No dated rows could be built for the {table} table from this export."
    elif table != "deals" or problem.code not in ("missing_created_at", "duplicate_id", "negative_amount"):
        message = f"[{table}] {message}"
    return dataclasses.replace(problem, file=file, rows=rows, column=column, message=message)


def finish(
    collector: Collector,
    model: StageModel,
    deals: pd.DataFrame,
    stage_changes: pd.DataFrame,
    provenance: dict[str, Provenance],
    *,
    close_date_changes: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
    amount_changes: pd.DataFrame | None = None,
    out: str | Path | None = None,
    format: str = "parquet",
    overwrite: bool = False,
) -> SalesLog:
    """Validate the built tables as a log, restate problems in export terms, and write the log when asked."""
    collector.raise_if_errors()
    if collector.notes:
        model = dataclasses.replace(model, notes=(*model.notes, *collector.notes))
    deals = deals.reset_index(drop=True)
    stage_changes = stage_changes.reset_index(drop=True)
    try:
        log = SalesLog.from_frames(model, deals, stage_changes, activities, close_date_changes, amount_changes)
    except LogValidationError as exc:
        raise collector.failure(_translate(p, provenance) for p in exc.problems) from None
    problems = tuple(collector.items) + tuple(_translate(p, provenance) for p in log.problems)
    log = dataclasses.replace(log, problems=problems)
    if out is not None:
        write_log(log, out, format=format, overwrite=overwrite)
    return log


def empty_stage_changes(tz: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": pd.Series([], dtype="str"),
            "changed_at": pd.Series([], dtype=f"datetime64[us, {tz}]"),
            "stage": pd.Series([], dtype="str"),
        }
    )


def events_frame(deal_ids, times, stages) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": pd.Series(np.asarray(deal_ids, dtype=object), dtype="str"),
            "changed_at": pd.Series(times).reset_index(drop=True),
            "stage": pd.Series(np.asarray(stages, dtype=object), dtype="str"),
        }
    )


def plural(n: int, word: str, many: str | None = None, verb: tuple[str, str] | None = None) -> str:
    """``"1 deal"``, ``"2 deals"``; with ``verb=("has", "have")``: ``"1 deal has"``, ``"2 deals have"``."""
    text = f"{n:,} {word if n == 1 else (many or word + 's')}"
    return text if verb is None else f"{text} {verb[0] if n == 1 else verb[1]}"


def agree(n: int, one: str, many: str) -> str:
    """``one`` when ``n`` is 1, else ``many`` (for verbs: "1 deal has", "2 deals have")."""
    return one if n == 1 else many


def check_stage_lists(stages: Sequence[str], won: Sequence[str], lost: Sequence[str]) -> None:
    """Usage errors for a stage model that cannot be written: no open or won stage, or a name used twice."""
    if not won:
        raise UsageError("No won stage could be determined; name it with won=... (for example won='Closed Won').")
    if not stages:
        raise UsageError("No open stage could be determined; list them in pipeline order with stage_order=A,B,C.")
    names = [*stages, *won, *lost]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(
            f"Stages {', '.join(map(repr, dupes))} are listed more than once across stage_order, won and lost."
        )
