"""CSV files that are safe to open in a spreadsheet.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, so a deal name or owner
like ``=HYPERLINK("http://evil", "click")`` coming from a CRM export would run when an analyst opens the
file ("CSV injection"). Text cells that start with one of these characters, or with a tab or carriage return,
are written with a leading apostrophe, which spreadsheets show as plain text. Numeric columns are written as
numbers (a negative number is a number, not a formula). Files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._atomic import atomic_path
from ._output import check_output_file

DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value):
    """``value`` with a leading apostrophe when it is text a spreadsheet would read as a formula.

    Examples
    --------
    >>> escape_cell("=1+2"), escape_cell("-cmd"), escape_cell("Ann"), escape_cell(-5)
    ("'=1+2", "'-cmd", 'Ann', -5)
    """
    if isinstance(value, str) and value.startswith(DANGEROUS_STARTS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are escaped with :func:`escape_cell`.

    Examples
    --------
    >>> safe_frame(pd.DataFrame({"owner": ["@bob", "ann"], "p": [-0.5, 0.2]}))["owner"].tolist()
    ["'@bob", 'ann']
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(escape_cell, na_action="ignore").astype(series.dtype)
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path, *, overwrite: bool = False, index: bool = False) -> Path:
    """Write ``frame`` as spreadsheet-safe CSV (UTF-8), atomically; refuses to replace a file unless asked."""
    path = check_output_file(path, overwrite=overwrite, flag="--force")
    with atomic_path(path) as tmp:
        safe_frame(frame).to_csv(tmp, index=index, encoding="utf-8")
    return path


__all__ = ["DANGEROUS_STARTS", "escape_cell", "safe_frame", "write_csv"]
