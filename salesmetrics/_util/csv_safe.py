"""CSV files that are safe to open in a spreadsheet: the one rule, for pandas, the csv module and DuckDB.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, so a deal name or owner
like ``=HYPERLINK("http://evil", "click")`` coming from a CRM export would run when an analyst opens the
file ("CSV injection"). Text cells that start with one of these characters, or with a tab, carriage return,
line feed or NUL (which some spreadsheets skip before reading a formula), are written with a leading
apostrophe, which spreadsheets show as plain text (``docs/decisions/0031-csv-and-html-escaping.md``):

- numeric columns are written as numbers (a negative number is a number, not a formula);
- a text cell that is a plain number (``-5``, ``+1.5``, ``-1.5e3``) is left as it is: a spreadsheet reads it
  as that number, and nothing in it can call a function;
- a text cell that starts with apostrophes followed by a formula character gets one more apostrophe, so
  :func:`unescape_cell` gives back exactly the original text of every cell (``trainees.csv`` is read back).

The same rule in SQL (:func:`sql_escape`) keeps DuckDB's fast CSV writer of ``salesmetrics score``. Files are
written atomically. The files of a sales log itself (``write_log``) are data, not reports, and stay raw.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from salesmetrics._util.atomic import atomic_path
from salesmetrics._util.output import check_output_file

DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
# ASCII digits only: a spreadsheet reads these as a number (Python's \d would also match other scripts' digits)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _needs_escape(text: str) -> bool:
    core = text.lstrip("'")
    return core.startswith(DANGEROUS_STARTS) and _PLAIN_NUMBER.fullmatch(core) is None


def escape_cell(value):
    """``value`` with a leading apostrophe when it is text a spreadsheet would read as a formula.

    Examples
    --------
    >>> escape_cell("=1+2"), escape_cell("-cmd"), escape_cell("Ann"), escape_cell(-5), escape_cell("-5")
    ("'=1+2", "'-cmd", 'Ann', -5, '-5')
    >>> escape_cell("-1+2"), escape_cell("'=x"), escape_cell("'quoted")
    ("'-1+2", "''=x", "'quoted")
    """
    if isinstance(value, str) and _needs_escape(value):
        return "'" + value
    return value


def unescape_cell(value):
    """The text :func:`escape_cell` was given: ``unescape_cell(escape_cell(x)) == x`` for every ``x``.

    Examples
    --------
    >>> unescape_cell("'=1+2"), unescape_cell("''=x"), unescape_cell("'quoted"), unescape_cell("-5")
    ('=1+2', "'=x", "'quoted", '-5')
    """
    if isinstance(value, str) and value.startswith("'") and _needs_escape(value[1:]):
        return value[1:]
    return value


def sql_escape(column: str) -> str:
    """A DuckDB expression for the VARCHAR ``column`` (already quoted) escaped as :func:`escape_cell` does.

    Examples
    --------
    >>> import duckdb
    >>> duckdb.sql(f"SELECT {sql_escape('v')} AS v FROM (VALUES ('=1'), ('-5'), ('ann'), (NULL)) t(v)").fetchall()
    [("'=1",), ('-5',), ('ann',), (None,)]
    """
    starts = "".join(f"\\x{ord(c):02x}" for c in DANGEROUS_STARTS)  # an anchored RE2 class: almost free
    number = _PLAIN_NUMBER.pattern.replace("'", "''")
    return (
        f"CASE WHEN regexp_matches({column}, '^''*[{starts}]') "
        f"AND NOT regexp_full_match(ltrim({column}, ''''), '{number}') THEN '''' || {column} ELSE {column} END"
    )


def _is_text(dtype) -> bool:
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def _safe_values(values):
    """A Series or Index with its text values escaped; categories are renamed (escaping never merges two)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        if not _is_text(values.dtype.categories.dtype):
            return values
        if isinstance(values, pd.Index):
            return values.rename_categories(escape_cell)
        return values.cat.rename_categories(escape_cell)
    if _is_text(values.dtype):
        return values.map(escape_cell, na_action="ignore").astype(values.dtype)
    return values


def safe_frame(frame: pd.DataFrame, *, index: bool = False) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (object, string and category columns) and column names are escaped
    with :func:`escape_cell`; with ``index``, the index values and names too.

    Examples
    --------
    >>> safe_frame(pd.DataFrame({"owner": ["@bob", "ann"], "p": [-0.5, 0.2]}))["owner"].tolist()
    ["'@bob", 'ann']
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        out.isetitem(i, _safe_values(out.iloc[:, i]))
    out.columns = [escape_cell(str(c)) for c in out.columns]
    if index:
        if isinstance(out.index, pd.MultiIndex):
            out.index = out.index.set_levels([_safe_values(level) for level in out.index.levels])
        else:
            out.index = _safe_values(out.index)
        out.index.names = [None if n is None else escape_cell(str(n)) for n in out.index.names]
    return out


def write_csv(frame: pd.DataFrame, path, *, overwrite: bool = False, index: bool = False) -> Path:
    """Write ``frame`` as spreadsheet-safe CSV (UTF-8), atomically; refuses to replace a file unless asked."""
    path = check_output_file(path, overwrite=overwrite, flag="--force")
    with atomic_path(path) as tmp:
        safe_frame(frame, index=index).to_csv(tmp, index=index, encoding="utf-8")
    return path


def csv_rows(rows) -> list[list]:
    """Rows for :mod:`csv` writers with every cell escaped (:func:`escape_cell`)."""
    return [[escape_cell(v) for v in row] for row in rows]


__all__ = ["DANGEROUS_STARTS", "csv_rows", "escape_cell", "safe_frame", "sql_escape", "unescape_cell", "write_csv"]
