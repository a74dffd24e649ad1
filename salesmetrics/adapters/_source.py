"""Reading an export file: its cells as text, each row's line in the file, and the problems found on the way.

Every problem an adapter finds names the *export* file, the line a person sees in it (the header is line 1,
and a quoted cell spanning several lines is counted as the file counts it), the export's column, the value and
what was expected. Reading also leaves out what is not data (blank rows, a report footer), combines rows that
repeat a record, and gives ids to tables without them; :class:`Collector` gathers the problems and notes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.text import agree, plural
from salesmetrics.exceptions import MAX_SHOWN, LogValidationError, Problem, ProblemList, UsageError
from salesmetrics.log.readers import read_raw_table


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
    # The reader numbers CSV rows by the line each record starts on (a quoted cell may span lines).
    start = raw.frame.index.to_numpy(dtype="int64") if raw.delimiter is not None else np.arange(len(raw.frame))
    lines = start + raw.row_offset
    frame = raw.frame.reset_index(drop=True)
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
