"""Running the report notebooks: parameters checked first, papermill to execute, one HTML file out.

A report is a notebook in ``notebooks/`` with one cell tagged ``parameters``: one typed, commented line per
parameter, ``name: type = default  # help``. Two prefixes of the comment declare the values a parameter
accepts, so bad values are rejected before anything executes (``docs/reports.md``):

- ``# one of W, M, Q: the period length``: the value must be one of the listed values (comma-separated);
- ``# at least 1: the number of ...``: a number no smaller than the one given;
- ``# between 0.01 and 0.99: a probability``: a number in that closed range.

Parameters named ``owner`` and ``team`` filter the log's deals (a value must match at least one deal),
``as_of`` must be a date or time not before the log's first event (when not given, it is set to the latest
event of the whole log, so the reports of a batch are all as of the same moment), and ``log_path`` is filled in
from the log given to :func:`run_report`. All of this is checked against the log before the notebook runs.

:func:`run_report` then injects the parameters (papermill), runs the notebook in a Python kernel and renders
one self-contained HTML file (code hidden, figures embedded, no script, nothing fetched from the network).
:func:`run_batch` runs one report per owner or team in one kernel (cleared between reports) and writes
``index.html``. Every file is written atomically, so an interrupted run leaves
no half-written report, and a finished report made from the same parameters and log is kept (resume).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salesmetrics._util.atomic import write_text_atomic, writing
from salesmetrics._util.suggest import _norm, close_matches
from salesmetrics.exceptions import SalesmetricsError, UsageError

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
FORMATS = ("html", "ipynb", "both")
LOG_FILTERS = ("owner", "team")  # parameters that keep only the deals with this value in the deals table
_KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]  # no start-up chatter from the kernel on the terminal


class ReportExecutionError(SalesmetricsError):
    """A report notebook raised an error while executing; the message names the cell and the error."""


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
            allowed = f", between {_number(self.minimum)} and {_number(self.maximum)}"
        elif self.minimum is not None:
            allowed = f", at least {_number(self.minimum)}"
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
        lines += [f"    {p.describe()}" for p in self.parameters.values() if p.name != "log_path"]
        return "\n".join(lines)


class ReportFiles(list):
    """The files a run wrote or kept, as a list of paths; ``kept`` lists those that were already there.

    A report is kept (not run again) when its files exist and were made from the same report, parameters
    and log; ``force=True`` runs it again.
    """

    def __init__(self, files=(), kept=()):
        super().__init__(files)
        self.kept = list(kept)


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


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _title(nb, path: Path) -> str:
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
    return Report(path.stem, path, _title(nbformat.read(path, as_version=4), path), params)


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


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _split_optional(kind: str) -> tuple[str, bool]:
    kind = kind.replace(" ", "")
    match = re.fullmatch(r"(?:typing\.)?Optional\[(.+)\]", kind)
    if match:
        return match[1], True
    parts = kind.split("|")
    if "None" in parts and len(parts) > 1:
        return "|".join(p for p in parts if p != "None"), True
    return kind, kind in ("None", "")


def _convert(value: Any, base: str, optional: bool) -> Any:
    """``value`` as type ``base``; raises ValueError when it is not one."""
    if value is None:
        if optional or base in ("None", ""):
            return None
        raise ValueError(value)
    if isinstance(value, str) and optional and value.strip().lower() in ("none", "null"):
        return None
    if base == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, dt.date):  # YAML reads 2024-03-31 as a date
            return value.isoformat()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ValueError(value)
    if base == "int":
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) else int(str(value).strip())
    if base == "float":
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value) if isinstance(value, int | float) else float(str(value).strip())
    if base == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in _TRUE | _FALSE:
            raise ValueError(value)
        return text in _TRUE
    if base.startswith(("list", "dict")):
        if isinstance(value, str):
            import yaml

            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise ValueError(value) from None
        if not isinstance(value, list if base.startswith("list") else dict):
            raise ValueError(value)
        return value
    return value  # a type this runner does not know: the notebook gets the value as given


def coerce_parameters(report: Report, given: dict[str, Any]) -> dict[str, Any]:
    """Check parameter names, types and allowed values; convert text (from the command line) to each type.

    Examples
    --------
    >>> period = ReportParameter("period", "str", '"M"', "the period length", ("W", "M", "Q"))
    >>> report = Report("demo", Path("demo.ipynb"), "Demo", {"period": period})
    >>> coerce_parameters(report, {"period": "Q"})
    {'period': 'Q'}
    >>> coerce_parameters(report, {"period": "Y"})
    Traceback (most recent call last):
    ...
    salesmetrics.exceptions.UsageError: Parameter 'period' of report 'demo' must be one of W, M, Q, not 'Y'.
    """
    out = {}
    for key, value in given.items():
        if key not in report.parameters:
            hint = close_matches(key, list(report.parameters), n=1)
            did = f" Did you mean '{hint[0]}'?" if hint else ""
            known = ", ".join(report.parameters)
            raise UsageError(f"Report '{report.name}' has no parameter '{key}'.{did} Its parameters: {known}.")
        param = report.parameters[key]
        base, optional = _split_optional(param.type)
        try:
            converted = _convert(value, base, optional)
        except (ValueError, TypeError):
            raise UsageError(
                f"Parameter '{key}' of report '{report.name}' must be {param.type.replace(' ', '')}, "
                f"not {value!r} ({param.help})."
            ) from None
        if converted is not None and param.choices and str(converted) not in param.choices:
            hint = close_matches(str(converted), list(param.choices), n=1)
            did = f" Did you mean '{hint[0]}'?" if hint else ""
            raise UsageError(
                f"Parameter '{key}' of report '{report.name}' must be one of {', '.join(param.choices)}, "
                f"not {value!r}.{did}"
            )
        number = converted is not None and isinstance(converted, int | float)
        below = number and param.minimum is not None and converted < param.minimum
        if below or (number and param.maximum is not None and converted > param.maximum):
            allowed = f"at least {_number(param.minimum)}"
            if param.maximum is not None:
                allowed = f"between {_number(param.minimum)} and {_number(param.maximum)}"
            raise UsageError(
                f"Parameter '{key}' of report '{report.name}' must be {allowed}, not {value!r} ({param.help})."
            )
        out[key] = converted
    return out


def check_against_log(report: Report, values: dict[str, Any], log, where: str = "the log"):
    """Check the parameters whose valid values depend on the log; returns the deals the filters keep.

    ``owner`` and ``team`` must match at least one deal (together, when both are given); ``as_of`` must
    be a date or time not before the log's first event. ``where`` names the log in messages.
    """
    deals = log.deals
    for column in LOG_FILTERS:
        value = values.get(column)
        if column not in report.parameters or value in (None, ""):
            continue
        everyone = sorted(map(str, log.deals[column].dropna().unique())) if column in log.deals else []
        kept = deals[deals[column].astype("string") == str(value)] if column in deals else deals.iloc[:0]
        if kept.empty:
            start = f"Parameter '{column}' of report '{report.name}':"
            if str(value) in everyone:
                others = ", ".join(f"{c} {values[c]!r}" for c in LOG_FILTERS if c != column and values.get(c))
                raise UsageError(f"{start} no deal in {where} has {column} {value!r} and {others}.")
            hint = close_matches(str(value), everyone, n=3)
            if hint and _norm(hint[0]) == _norm(str(value)):  # the same name but for case or punctuation
                hint = hint[:1]
            close = f" Close matches: {', '.join(map(repr, hint))}." if hint else ""
            shown = ", ".join(everyone[:12]) + (f" and {len(everyone) - 12} more" if len(everyone) > 12 else "")
            raise UsageError(
                f"{start} no deal in {where} has {column} {value!r}.{close} "
                f"{column.capitalize()}s ({len(everyone)}): {shown or 'none'}."
            )
        deals = kept
    as_of = values.get("as_of")
    if "as_of" in report.parameters and as_of not in (None, ""):
        import pandas as pd

        from salesmetrics.log.prepare import resolve_as_of

        try:
            stamp = resolve_as_of(log, as_of)
            last = resolve_as_of(log, None)
        except UsageError as exc:
            raise UsageError(f"Parameter 'as_of' of report '{report.name}': {exc}") from None
        first = log.deals["created_at"].min() if len(log.deals) else None
        if first is not None and not pd.isna(first) and stamp < first:
            raise UsageError(
                f"Parameter 'as_of' of report '{report.name}': {as_of} is before the first deal in {where} "
                f"({first:%Y-%m-%d}); choose a date from {first:%Y-%m-%d} to {last:%Y-%m-%d}."
            )
    return deals


_CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --soft: #f6f8fa; --accent: #0b5cad; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 2.2rem 2rem 1rem; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.8em 0 .5em; font-weight: 650; }
h1 { font-size: 2rem; margin-top: 0; padding-bottom: .35em; border-bottom: 2px solid var(--ink); }
h2 { font-size: 1.45rem; padding-bottom: .25em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.15rem; }
p, ul, ol { margin: .5em 0 .9em; max-width: 52rem; }
a { color: var(--accent); }
code { font: .88em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: .05em .3em; }
pre { font: .85em/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .7em .9em;
  overflow-x: auto; margin: .6em 0; }
pre code { background: none; border: 0; padding: 0; font-size: 1em; }
img { max-width: 100%; height: auto; display: block; margin: .8em 0 1.2em; }
.output_png, .output_jpeg, .output_svg { overflow-x: auto; }
.output_subarea { overflow-x: auto; }
table.dataframe { border-collapse: collapse; margin: .6em 0 1.4em; font-size: .86rem;
  font-variant-numeric: tabular-nums; border: 0; }
table.dataframe th, table.dataframe td { padding: .25em .7em; border: 0; border-bottom: 1px solid var(--line);
  text-align: right; white-space: nowrap; }
table.dataframe thead th { border-bottom: 2px solid var(--ink); font-weight: 600; vertical-align: bottom; }
table.dataframe tbody th { color: var(--muted); font-weight: 400; }
table.dataframe .text { text-align: left; }
.sm-table { overflow-x: auto; max-width: 100%; margin: .6em 0 1.4em; }
.sm-table table.dataframe { margin: 0; }
.sm-table thead th { white-space: normal; min-width: 4.5rem; max-width: 11rem; }
table.dataframe td.wrap { white-space: normal; min-width: 16rem; max-width: 34rem; }
table.dataframe tbody tr:nth-child(even) { background: var(--soft); }
table.dataframe tbody tr:hover { background: #eef4fb; }
.output_stderr pre, .output_error pre { background: #fff5f5; border-color: #f1c4c4; }
.input { margin: 1em 0 .3em; }
.input pre { background: #f8f9fb; }
.report-meta { color: var(--muted); font-size: .85rem; }
header.report-meta { margin-bottom: 1.2rem; }
footer.report-meta { max-width: 1080px; margin: 2.5rem auto 2rem; padding: .8rem 2rem 0;
  border-top: 1px solid var(--line); }
@media print { main { max-width: none; padding: 0; } table.dataframe tbody tr:hover { background: none; } }
"""


_NUMERIC = re.compile(
    r"^\s*(?:[-+\u2212]?[$\u20ac\u00a3]?\s*[\d.,]+(?:e[-+]?\d+)?\s*%?|nan|NaN|None|<NA>|NaT|-?inf)?\s*$"
)
_CELL = re.compile(r"<(t[hd])\b([^>]*)>(.*?)</\1>", re.DOTALL)
_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.DOTALL)


def _align_table(table: str) -> str:
    """Left-align the text columns of a pandas table (numbers stay right-aligned, as pandas has them)."""
    head, sep, body = table.partition("<tbody>")
    if not sep:
        return table
    rows = [_CELL.findall(r) for r in _ROW.findall(body)]
    if not rows or len({len(r) for r in rows}) != 1:
        return table
    text_cols = {
        i
        for i in range(len(rows[0]))
        if all(r[i][0] == "td" for r in rows)
        and not all(_NUMERIC.match(html.unescape(re.sub(r"<[^>]+>", "", r[i][2]))) for r in rows)
    }
    if not text_cols:
        return table

    def mark(row_html: str) -> str:
        cells = iter(range(10**6))

        def one(m):
            i = next(cells)
            return f'<{m[1]} class="text"{m[2]}>{m[3]}</{m[1]}>' if i in text_cols else m[0]

        return _CELL.sub(one, row_html)

    body = _ROW.sub(lambda m: mark(m[0]), body)
    header_rows = list(_ROW.finditer(head))
    if header_rows and len(_CELL.findall(header_rows[-1][1])) == len(rows[0]):
        last = header_rows[-1]
        head = head[: last.start()] + mark(last[0]) + head[last.end() :]
    return head + sep + body


_HEADING_OR_IMG = re.compile(r"<h([1-3])\b[^>]*>(.*?)</h\1>|<img\b[^>]*>", re.DOTALL)
_NO_ALT = 'alt="No description has been provided for this image"'


def _describe_figures(body: str) -> str:
    """Give each figure without a description the alt text 'Figure: <its section's heading>'."""
    section = ""

    def one(m):
        nonlocal section
        if m[1]:
            section = html.unescape(re.sub(r"<[^>]+>", "", m[2])).strip()
            return m[0]
        alt = f'alt="{html.escape("Figure: " + section if section else "Figure")}"'
        return m[0].replace(_NO_ALT, alt)

    return _HEADING_OR_IMG.sub(one, body)


def render_html(
    notebook_path,
    *,
    show_code: bool = False,
    title: str | None = None,
    footer: str | None = None,
    made_from: str | None = None,
) -> str:
    """One self-contained HTML page: figures embedded as data, styles inline, no script, nothing fetched.

    ``notebook_path`` is an executed notebook's file, or the notebook itself (an nbformat node).
    ``title`` is the page title (default: the notebook's first heading), ``footer`` a line of text shown
    under the report, and ``made_from`` a digest of the report's parameters and log, kept in a ``<meta>`` tag
    (the runner compares it to decide whether a finished report can be kept).
    """
    import nbformat
    from nbconvert import HTMLExporter

    if isinstance(notebook_path, str | os.PathLike):
        nb = nbformat.read(notebook_path, as_version=4)
    else:
        nb, notebook_path = notebook_path, Path("report.ipynb")
    exporter = HTMLExporter(template_name="basic")
    exporter.exclude_input = not show_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    body, _ = exporter.from_notebook_node(nb)
    # reports are static pages: drop every script (nbconvert's mermaid loader imports from a CDN)
    body = re.sub(r"<script\b[^>]*>.*?</script\s*>", "", body, flags=re.DOTALL | re.IGNORECASE)
    body = re.sub(r"<script\b[^>]*/>", "", body, flags=re.IGNORECASE)
    body = re.sub(r'<table\b[^>]*class="dataframe".*?</table>', lambda m: _align_table(m[0]), body, flags=re.DOTALL)
    body = re.sub(r'<a class="anchor-link" href="#[^"]*">\u00b6</a>', "", body)
    body = _describe_figures(body)
    css = _CSS
    if show_code:
        from pygments.formatters import HtmlFormatter

        css += HtmlFormatter(style="default").get_style_defs(".highlight")
    title = title or _title(nb, Path(notebook_path))
    meta_tag = f'<meta name="salesmetrics-made-from" content="{html.escape(made_from)}">\n' if made_from else ""
    foot = f'<footer class="report-meta">{html.escape(footer)}</footer>\n' if footer else ""
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{meta_tag}<title>{html.escape(title)}</title>\n<style>{css}</style>\n</head>\n"
        f'<body>\n<main class="report">\n{body}\n</main>\n{foot}</body>\n</html>\n'
    )


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ARROW = re.compile(r"^\s*-+>\s*(\d+)\s(.*)$")


def _failed_cell(nb) -> str | None:
    """'cell 4, line 8 (`health = pipeline_health(...`): ValueError: ...' for the first error, or None."""
    for i, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            where, code = f"cell {i}", next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
            for frame in output.get("traceback", []):  # the cell's own frame comes first
                lines = [_ARROW.match(line) for line in _ANSI.sub("", frame).splitlines()]
                found = next((m for m in lines if m), None)
                if found:
                    where, code = f"cell {i}, line {found[1]}", found[2].strip()
                    break
            code = code if len(code) <= 70 else code[:67] + "..."
            evalue = str(output.get("evalue")).rstrip(".")
            return f"{where} (`{code}`): {output.get('ename')}: {evalue}"
    return None


def _log_state(log: str | Path) -> dict[str, list[int]]:
    """Size and modification time of each file of the log folder: a new export means a new report."""
    folder = Path(log)
    files = [folder] if folder.is_file() else sorted(p for p in folder.iterdir() if p.is_file())
    return {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in files}


def _made_with(path: Path) -> str | None:
    """The digest of what an existing report file was made from (see :func:`_record`), or None."""
    try:
        if path.suffix == ".ipynb":
            made = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("salesmetrics", {})
            return made.get("made_from") if isinstance(made, dict) else None
        with path.open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except (OSError, ValueError):
        return None
    match = re.search(r'<meta name="salesmetrics-made-from" content="([^"]*)"', head)
    return match[1] if match else None


def _targets(out: Path, stem: str, format: str) -> list[Path]:
    return [out / f"{stem}.{ext}" for ext in {"html": ["html"], "ipynb": ["ipynb"], "both": ["html", "ipynb"]}[format]]


def _existing_state(wanted: list[Path], record: str, force: bool) -> bool:
    """True when every wanted file exists and was made the same way (keep them); raises when a file there was
    made another way and ``force`` is false; False when the report must run."""
    there = [t for t in wanted if t.exists()]
    if force or not there:
        return False
    other = [t for t in there if _made_with(t) != record]
    if not other:
        return len(there) == len(wanted)  # a missing file (say the .ipynb of --format both): run again
    there = other[0]
    raise UsageError(
        f"{there} already exists and was made from other parameters or another version of the log. "
        "Use --force (force=True) to replace it, or choose another --out folder."
    )


def _prepare(name, log, out, parameters, format, folder):
    """Everything checked before a report runs: the format, the output folder, the report, the parameters
    and the log."""
    if format not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}, not {format!r}.")
    if Path(out).exists() and not Path(out).is_dir():
        raise UsageError(f"--out {out} is a file; give the folder to write the reports into.")
    from salesmetrics._util.output import check_output_folder

    # never into the log folder; a read-only folder or a full disk is found now, not after the notebook ran
    check_output_folder(out, logs=[log], what="the reports", replaces=False)
    report = get_report(name, folder)
    values = coerce_parameters(report, dict(parameters or {}))
    if "log_path" in values:
        raise UsageError("Give the log with --log (log=...), not as the parameter log_path.")
    if "log_path" in report.parameters:
        values["log_path"] = str(Path(log).resolve())
    if values.get("model_path"):  # named from the caller's folder; the notebook runs in its own
        values["model_path"] = str(Path(values["model_path"]).resolve())
    from salesmetrics.exceptions import LogValidationError
    from salesmetrics.log.saleslog import check_log

    checked, problems = check_log(log)
    if checked is None:
        raise LogValidationError(str(log), problems)
    deals = check_against_log(report, values, checked, where=str(log))
    if "as_of" in report.parameters and values.get("as_of") in (None, ""):
        # the latest event of the whole log, not of the deals an owner or team filter keeps: every report
        # of a batch (and a filtered report beside an unfiltered one) is then as of the same moment
        from contextlib import suppress

        from salesmetrics.log.prepare import resolve_as_of

        with suppress(UsageError):  # no dated event at all: the notebook says so itself
            values["as_of"] = resolve_as_of(checked, None).isoformat()
    return report, values, deals


def _release_memory() -> None:
    """Give the memory of the checked log back to the system before the kernel reads the log again."""
    import gc
    import sys

    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


def _record(report: Report, values: dict, log) -> str:
    """A digest of what a report is made from: the report, its parameters and the log's files (sizes, times)."""
    import hashlib

    made_from = {"report": report.name, "parameters": values, "log": _log_state(log)}
    text = json.dumps(made_from, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _footer(report: Report, values: dict, log) -> str:
    from salesmetrics import __version__

    shown = [f"{k}={v}" for k, v in values.items() if k != "log_path" and v is not None]
    params = f" with {', '.join(shown)}" if shown else ""
    made = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f"Report '{report.name}' on the log {Path(log).name}{params}. Made {made} by salesmetrics {__version__}."


_RESET = """\
get_ipython().run_line_magic("reset", "-f")
import matplotlib.pyplot
matplotlib.pyplot.close("all")
del matplotlib
"""


class _Kernel:
    """One Python kernel that runs report notebooks one after another.

    A batch starts the kernel once, so each further report costs only its own cells (no kernel start-up, no
    imports). Between two reports every variable is deleted (``%reset -f``) and every figure closed; modules
    stay imported. A report that fails or is interrupted shuts the kernel down, and the next starts a new one.
    """

    def __init__(self, cwd: Path):
        self.cwd = str(cwd)
        self.client = None
        self.runs = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _client(self, nb):
        from contextlib import asynccontextmanager

        from jupyter_client.manager import AsyncKernelManager
        from nbclient import NotebookClient

        class Client(NotebookClient):
            @asynccontextmanager
            async def async_setup_kernel(self, **kwargs):
                # nbclient's own version installs SIGINT/SIGTERM handlers that outlive the run (Ctrl-C would then
                # only stop the current report's kernel, and the batch would go on); start and keep the kernel
                if not self.km.has_kernel:
                    await self.async_start_new_kernel(**kwargs)
                if self.kc is None:
                    await self.async_start_new_kernel_client()
                yield

        if self.client is None:
            self.client = Client(
                nb,
                km=AsyncKernelManager(kernel_name="python3"),
                kernel_name="python3",
                timeout=None,
                startup_timeout=120,
                extra_arguments=_KERNEL_ARGS,
                resources={"metadata": {"path": self.cwd}},
            )
        self.client.nb = nb
        return self.client

    def execute(self, nb):
        """Run every cell of ``nb`` in place; raises nbclient's CellExecutionError when a cell fails."""
        from nbformat.v4 import new_code_cell, new_notebook

        try:
            if self.runs:
                self._client(new_notebook(cells=[new_code_cell(_RESET)])).execute()
            self._client(nb).execute()
        except BaseException:
            self.close()  # nothing of a failed or interrupted report is left for the next one
            raise
        self.runs += 1
        return nb

    def close(self):
        client, self.client, self.runs = self.client, None, 0
        if client is None:
            return
        import asyncio

        from jupyter_core.utils import ensure_event_loop, run_sync

        try:
            loop = ensure_event_loop()
            left = [t for t in asyncio.all_tasks(loop) if not t.done()]  # an interrupted run's cells
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            if client.kc is not None:
                client.kc.stop_channels()
            if client.km is not None and client.km.has_kernel:
                run_sync(client.km.shutdown_kernel)(now=True)
        except Exception:  # shutting down a kernel that is already gone
            pass


def _execute(
    kernel: _Kernel, report: Report, values: dict, log, out: Path, stem: str, format: str, show_code: bool, record: str
):
    """Run the notebook and write its files atomically; nothing is written when a cell fails."""
    import nbformat
    from nbclient.exceptions import CellExecutionError, DeadKernelError
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(report.path)), values, kernel_name="python3", language="python")
    try:
        kernel.execute(nb)
    except (CellExecutionError, DeadKernelError) as exc:
        failed = _failed_cell(nb)
        where = f"in {failed}" if failed else f": {type(exc).__name__}: {str(exc).strip().splitlines()[-1]}"
        raise ReportExecutionError(
            f"Report '{report.name}' failed {where}. Nothing was written. "
            "Run the notebook in Jupyter with the same parameters to see the cell."
        ) from None
    failed = _failed_cell(nb)
    if failed:
        raise ReportExecutionError(f"Report '{report.name}' had an error in {failed}. Nothing was written.")
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
    written = []
    if format in ("ipynb", "both"):
        nb.metadata["salesmetrics"] = {"made_from": record}
        write_text_atomic(out / f"{stem}.ipynb", nbformat.writes(nb))
        written.append(out / f"{stem}.ipynb")
    if format in ("html", "both"):
        scope = next((str(values[c]) for c in LOG_FILTERS if values.get(c)), None)
        title = f"{report.title}: {scope}" if scope else report.title
        footer = _footer(report, values, log)
        page = render_html(nb, show_code=show_code, title=title, footer=footer, made_from=record)
        write_text_atomic(out / f"{stem}.html", page)
        written.append(out / f"{stem}.html")
    return written


def run_report(
    name: str,
    *,
    log: str | Path,
    out: str | Path,
    parameters: dict[str, Any] | None = None,
    format: str = "html",
    force: bool = False,
    stem: str | None = None,
    show_code: bool = False,
    folder: Path | None = None,
) -> ReportFiles:
    """Run report ``name`` on the log at ``log`` and write it into the folder ``out``.

    Returns the files written, or the existing files (listed in ``.kept`` too) when the report was already
    made from the same parameters and log and ``force`` is false. Raises :class:`UsageError` for bad
    parameters (names, types, allowed values, owners or teams not in the log), ``LogValidationError`` for an
    invalid log (in both cases before anything executes), and :class:`ReportExecutionError` when a cell fails.

    Examples
    --------
    >>> run_report("pipeline_health", log="datasets/demo", out="reports")  # doctest: +SKIP
    [PosixPath('reports/pipeline_health.html')]
    """
    report, values, _ = _prepare(name, log, out, parameters, format, folder)
    _release_memory()
    out = Path(out)
    stem = stem or name
    wanted = _targets(out, stem, format)
    record = _record(report, values, log)
    if _existing_state(wanted, record, force):
        return ReportFiles(wanted, kept=wanted)
    with _Kernel(report.path.parent) as kernel:
        return ReportFiles(_execute(kernel, report, values, log, out, stem, format, show_code, record))


def slug(value: str) -> str:
    """A file-name-safe form of an owner or team name.

    Examples
    --------
    >>> slug("Anna Lee")
    'anna-lee'
    """
    text = re.sub(r"[^A-Za-z0-9]+", "-", str(value)).strip("-").lower()
    return text or "unnamed"


_INDEX_CSS = (
    "body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;color:#1f2328;"
    "max-width:50rem;margin:2.5rem auto;padding:0 1.5rem}h1{font-size:1.7rem;border-bottom:2px solid #1f2328;"
    "padding-bottom:.3em}ul{columns:2 16rem;padding-left:1.2em;margin-top:0}li{margin:0 0 .45em;break-inside:avoid}"
    "a{color:#0b5cad}"
    ".meta{color:#59636e;font-size:.9rem}.failed{color:#a40e26}"
)


def write_index(
    out: Path, entries: list[tuple[str, Path]], title: str, failed: dict[str, str] | None = None, note: str = ""
) -> Path:
    """An ``index.html`` linking the reports of a batch run (and naming those that failed); ``note`` is a line
    of text under the title."""
    items = "\n".join(
        f'<li><a href="{html.escape(p.name)}">{html.escape(label)}</a></li>' for label, p in sorted(entries)
    )
    gone = ""
    if failed:
        rows = "\n".join(f"<li>{html.escape(g)}: {html.escape(msg)}</li>" for g, msg in sorted(failed.items()))
        gone = f"<h2>Not made</h2><ul class='failed'>\n{rows}\n</ul>"
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_INDEX_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='meta'>{html.escape(note or f'{len(entries)} reports')}</p>"
        f"<ul>\n{items}\n</ul>{gone}"
        "</body></html>\n"
    )
    target = Path(out) / "index.html"
    write_text_atomic(target, page)
    return target


def run_batch(
    name: str,
    *,
    log: str | Path,
    out: str | Path,
    for_each: str,
    parameters: dict[str, Any] | None = None,
    format: str = "html",
    force: bool = False,
    progress: bool = True,
    show_code: bool = False,
    folder: Path | None = None,
) -> ReportFiles:
    """Run report ``name`` once per owner or team (``for_each``), then write ``index.html`` linking them.

    The parameters and the log are checked once, before the first report runs. Finished reports (same
    parameters, same log) are kept unless ``force``, so an interrupted batch resumes where it stopped. A report
    that fails does not stop the others: the index names it and a :class:`ReportExecutionError` is raised at
    the end. Returns the index followed by the reports.
    """
    if for_each not in LOG_FILTERS:
        raise UsageError(f"--for-each must be 'owner' or 'team', not {for_each!r}.")
    if (parameters or {}).get(for_each) not in (None, ""):
        raise UsageError(f"Give either --for-each {for_each} or the parameter {for_each}, not both.")
    report, values, deals = _prepare(name, log, out, parameters, format, folder)
    if for_each not in report.parameters:
        raise UsageError(f"Report '{name}' cannot be split by {for_each}: it has no '{for_each}' parameter.")
    groups = sorted(str(g) for g in deals[for_each].dropna().unique()) if for_each in deals else []
    del deals
    _release_memory()
    if not groups:
        raise UsageError(f"The log has no {for_each} values to split by.")
    out = Path(out)
    stems, seen = {}, set()
    for group in groups:  # two names with the same slug ('Ann Lee', 'ann-lee') get distinct files
        stem, n = f"{name}-{slug(group)}", 2
        while stem in seen:
            stem, n = f"{name}-{slug(group)}-{n}", n + 1
        seen.add(stem)
        stems[group] = stem
    plans = []
    for group in groups:  # refuse before running anything when a file there was made another way
        group_values = {**values, for_each: group}
        record = _record(report, group_values, log)
        wanted = _targets(out, stems[group], format)
        plans.append((group, group_values, record, wanted, _existing_state(wanted, record, force)))
    from tqdm.auto import tqdm

    entries, kept, failed = [], [], {}
    todo = [p for p in plans if not p[4]]
    for group, _, _, wanted, _ in (p for p in plans if p[4]):
        entries.append((group, wanted[0]))
        kept += wanted
    with _Kernel(report.path.parent) as kernel:  # one kernel for the whole batch
        for group, group_values, record, wanted, _ in tqdm(
            todo, desc=f"{name} per {for_each}", unit="report", disable=not progress or not todo
        ):
            try:
                _execute(kernel, report, group_values, log, out, stems[group], format, show_code, record)
            except ReportExecutionError as exc:
                failed[group] = str(exc)
                continue
            entries.append((group, wanted[0]))
    shown = [f"{k}={v}" for k, v in values.items() if k != "log_path" and v is not None]
    note = f"One report per {for_each} ({len(entries)}) on the log {Path(log).name}"
    note += f" with {', '.join(shown)}." if shown else "."
    index = write_index(out, entries, report.title, failed, note)
    if failed:
        first = next(iter(failed.values()))
        raise ReportExecutionError(
            f"{len(failed)} of {len(groups)} reports failed ({', '.join(failed)}); the others and {index} were "
            f"written, and running the same command again retries only the failed ones. First error: {first}"
        )
    paths = [index] + [p for _, p in sorted(entries)]
    return ReportFiles(paths, kept=[p for p in paths if p in kept])
