"""The report catalogue: the report notebooks shipped in the package, each with its title and parameters.

A report is a notebook in ``salesmetrics/reports/notebooks/`` with one cell tagged ``parameters``: one typed,
commented line per parameter, ``name: type = default  # help``. Two prefixes of the comment declare the values a
parameter accepts, so bad values are rejected before anything executes (``docs/reports.md``):

- ``# one of W, M, Q: the period length``: the value must be one of the listed values (comma-separated);
- ``# at least 1: the number of ...``: a number no smaller than the one given;
- ``# between 0.01 and 0.99: a probability``: a number in that closed range.

The notebooks ship inside the wheel and are found through :mod:`importlib.resources`, so the reports work from
an installed package as well as from a clone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from salesmetrics._util.suggest import close_matches
from salesmetrics.exceptions import UsageError

#: The folder of the report notebooks, inside the installed package.
NOTEBOOKS = Path(str(files("salesmetrics") / "reports" / "notebooks"))


@dataclass(frozen=True)
class ReportParameter:
    """One line of a report's ``parameters`` cell.

    ``default`` is the default as written in the notebook (source text). ``choices``, ``minimum`` and
    ``maximum`` come from the comment: ``# one of W, M, Q: help``, ``# at least 1: help`` and
    ``# between 0.01 and 0.99: help``; ``help`` is the rest of it.
    """

    name: str
    type: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        allowed = ""
        if self.choices:
            allowed = f", one of {', '.join(self.choices)}"
        elif self.minimum is not None and self.maximum is not None:
            allowed = f", between {number_text(self.minimum)} and {number_text(self.maximum)}"
        elif self.minimum is not None:
            allowed = f", at least {number_text(self.minimum)}"
        return f"{self.name} ({self.type}, default {self.default}{allowed}): {self.help}"


@dataclass(frozen=True)
class Report:
    """A report notebook and its parameters."""

    name: str
    path: Path
    title: str
    parameters: dict[str, ReportParameter] = field(default_factory=dict)

    def describe(self) -> str:
        lines = [f"{self.name}: {self.title}"]
        lines += [f"    {p.describe()}" for p in self.parameters.values() if p.name not in FILLED_BY_RUNNER]
        return "\n".join(lines)


#: Parameters the runner fills in, never the user: the log folder (from the LOG argument) and, on a Dask cluster,
#: the folder of what was computed there before the notebook ran (:mod:`salesmetrics.reports.on_cluster`).
FILLED_BY_RUNNER = ("log_path", "health_path")

_ONE_OF = re.compile(r"^\s*one of\s+(?P<values>[^:]+?)\s*:\s*(?P<help>.*)$", re.IGNORECASE)
_AT_LEAST = re.compile(r"^\s*at least\s+(?P<n>-?\d+(?:\.\d+)?)\s*:\s*(?P<help>.*)$", re.IGNORECASE)
_BETWEEN = re.compile(
    r"^\s*between\s+(?P<lo>-?\d+(?:\.\d+)?)\s+and\s+(?P<hi>-?\d+(?:\.\d+)?)\s*:\s*(?P<help>.*)$", re.IGNORECASE
)


def parse_help(comment: str) -> tuple[str, tuple[str, ...] | None, float | None, float | None]:
    """Split a parameter's comment into its help text, allowed values, minimum and maximum.

    Examples
    --------
    >>> parse_help("one of W, M, Q: the period length")
    ('the period length', ('W', 'M', 'Q'), None, None)
    >>> parse_help("at least 1: histogram bins")
    ('histogram bins', None, 1.0, None)
    >>> parse_help("between 0.01 and 0.99: a probability")
    ('a probability', None, 0.01, 0.99)
    >>> parse_help("folder of the log")
    ('folder of the log', None, None, None)
    """
    comment = (comment or "").strip()
    match = _ONE_OF.match(comment)
    if match:
        values = tuple(v.strip() for v in match["values"].split(",") if v.strip())
        return match["help"].strip(), values or None, None, None
    match = _AT_LEAST.match(comment)
    if match:
        return match["help"].strip(), None, float(match["n"]), None
    match = _BETWEEN.match(comment)
    if match:
        return match["help"].strip(), None, float(match["lo"]), float(match["hi"])
    return comment, None, None, None


def number_text(x: float) -> str:
    """A number as a parameter's comment writes it: ``1`` for 1.0, ``0.5`` for 0.5."""
    return str(int(x)) if float(x).is_integer() else str(x)


def notebook_title(nb, path: Path) -> str:
    """The first markdown heading of a notebook, else its file name in words."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem.replace("_", " ")


def read_report(path: Path) -> Report:
    """The report in one notebook file: its title (first heading) and its parameters."""
    import nbformat
    import papermill

    path = Path(path)
    params = {}
    for name, info in papermill.inspect_notebook(str(path)).items():
        help_text, choices, minimum, maximum = parse_help(info["help"])
        kind = str(info.get("inferred_type_name") or "str")
        params[name] = ReportParameter(name, kind, info["default"], help_text, choices, minimum, maximum)
    return Report(path.stem, path, notebook_title(nbformat.read(path, as_version=4), path), params)


def list_reports(folder: Path | None = None) -> dict[str, Report]:
    """The report notebooks in ``folder`` with their parameters, read from each ``parameters`` cell.

    Examples
    --------
    >>> list_reports()["pipeline_health"].parameters["period"].choices
    ('W', 'M', 'Q')
    """
    folder = Path(folder or NOTEBOOKS)
    return {path.stem: read_report(path) for path in sorted(folder.glob("*.ipynb"))}


def get_report(name: str, folder: Path | None = None) -> Report:
    """The report called ``name``; a :class:`UsageError` names the close matches when there is none."""
    folder = Path(folder or NOTEBOOKS)
    path = folder / f"{name}.ipynb"
    if path.is_file():
        return read_report(path)
    names = sorted(p.stem for p in folder.glob("*.ipynb"))
    hint = close_matches(name, names, n=1)
    did = f" Did you mean '{hint[0]}'?" if hint else ""
    raise UsageError(f"No report named '{name}'.{did} Reports: {', '.join(names) or 'none'}.")
