"""Running the report notebooks: parameters checked first, papermill to execute, one HTML file out.

A report is a notebook in ``notebooks/`` with one cell tagged ``parameters`` (one typed, commented line per
parameter). :func:`run_report` checks the parameters and the log before anything executes, runs the
notebook with papermill, and renders a self-contained HTML file (code hidden, figures embedded). Every file
is written atomically, so an interrupted run leaves no half-written report.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._suggest import close_matches
from .exceptions import SalesmetricsError, UsageError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FORMATS = ("html", "ipynb", "both")


class ReportExecutionError(SalesmetricsError):
    """A report notebook raised an error while executing; the message names the cell and the error."""


@dataclass(frozen=True)
class ReportParameter:
    """One line of a report's ``parameters`` cell."""

    name: str
    type: str
    default: Any
    help: str


@dataclass(frozen=True)
class Report:
    """A report notebook and its parameters."""

    name: str
    path: Path
    title: str
    parameters: dict[str, ReportParameter] = field(default_factory=dict)

    def describe(self) -> str:
        lines = [f"{self.name}: {self.title}"]
        for p in self.parameters.values():
            lines.append(f"    {p.name} ({p.type}, default {p.default}): {p.help}")
        return "\n".join(lines)


def _title(path: Path) -> str:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem.replace("_", " ")


def list_reports(folder: Path = NOTEBOOKS) -> dict[str, Report]:
    """The report notebooks in ``folder`` with their parameters, read from each ``parameters`` cell.

    Examples
    --------
    >>> "pipeline_health" in list_reports()  # doctest: +SKIP
    True
    """
    import papermill

    reports = {}
    for path in sorted(folder.glob("*.ipynb")):
        params = {
            name: ReportParameter(name, str(info.get("inferred_type_name") or "str"), info["default"], info["help"])
            for name, info in papermill.inspect_notebook(str(path)).items()
        }
        reports[path.stem] = Report(path.stem, path, _title(path), params)
    return reports


def get_report(name: str, folder: Path = NOTEBOOKS) -> Report:
    reports = list_reports(folder)
    if name not in reports:
        hint = close_matches(name, list(reports), n=1)
        did = f" Did you mean '{hint[0]}'?" if hint else ""
        raise UsageError(f"No report named '{name}'.{did} Reports: {', '.join(reports) or 'none'}.")
    return reports[name]


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def coerce_parameters(report: Report, given: dict[str, Any]) -> dict[str, Any]:
    """Check parameter names and convert text values (from the command line) to each parameter's type."""
    out = {}
    for key, value in given.items():
        if key not in report.parameters:
            hint = close_matches(key, list(report.parameters), n=1)
            did = f" Did you mean '{hint[0]}'?" if hint else ""
            known = ", ".join(report.parameters)
            raise UsageError(f"Report '{report.name}' has no parameter '{key}'.{did} Its parameters: {known}.")
        kind = report.parameters[key].type.replace(" ", "")
        if not isinstance(value, str) or kind in ("str", "None", "", "Optional[str]", "str|None"):
            out[key] = value
            continue
        text = value.strip()
        try:
            if text.lower() in ("none", "null") and "None" in kind:
                out[key] = None
            elif kind.startswith("int"):
                out[key] = int(text)
            elif kind.startswith("float"):
                out[key] = float(text)
            elif kind.startswith("bool"):
                if text.lower() not in _TRUE | _FALSE:
                    raise ValueError(text)
                out[key] = text.lower() in _TRUE
            elif kind.startswith(("list", "dict")):
                import yaml

                out[key] = yaml.safe_load(text)
            else:
                out[key] = value
        except ValueError:
            raise UsageError(
                f"Parameter '{key}' of report '{report.name}' must be {kind}, not {value!r} "
                f"({report.parameters[key].help})."
            ) from None
    return out


def _atomic_write_text(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; a report is meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_html(notebook_path: Path, *, show_code: bool = False) -> str:
    """One self-contained HTML page: figures embedded as data, no script or font fetched from the network."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook_path, as_version=4)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = not show_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    exporter.mathjax_url = ""
    exporter.require_js_url = ""
    exporter.widget_renderer_url = ""
    body, _ = exporter.from_notebook_node(nb)
    # the lab template links MathJax and require.js from a CDN; reports need neither, so drop the tags
    body = re.sub(r'<script[^>]+src="https?://[^"]+"[^>]*>\s*</script>', "", body)
    return body


def _failed_cell(nb) -> str | None:
    for i, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {i}: {output.get('ename')}: {output.get('evalue')}"
    return None


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
    check_log_first: bool = True,
    folder: Path = NOTEBOOKS,
) -> list[Path]:
    """Run report ``name`` on the log at ``log`` and write it into the folder ``out``.

    Returns the files written (or the existing files when the report was already there and ``force`` is
    false). Raises :class:`UsageError` for bad parameters, ``LogValidationError`` for an invalid log (in both
    cases before anything executes) and :class:`ReportExecutionError` when a cell fails.

    Examples
    --------
    >>> run_report("pipeline_health", log="datasets/demo", out="reports")  # doctest: +SKIP
    [PosixPath('reports/pipeline_health.html')]
    """
    if format not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}, not {format!r}.")
    report = get_report(name, folder)
    values = coerce_parameters(report, dict(parameters or {}))
    if "log_path" in values:
        raise UsageError("Give the log with --log (log=...), not as the parameter log_path.")
    if "log_path" in report.parameters:
        values["log_path"] = str(Path(log).resolve())
    if check_log_first:
        from .exceptions import LogValidationError
        from .log import check_log

        checked, problems = check_log(log)
        if checked is None:
            raise LogValidationError(str(log), problems)
    out = Path(out)
    stem = stem or name
    targets = {"html": [out / f"{stem}.html"], "ipynb": [out / f"{stem}.ipynb"]}
    targets["both"] = targets["html"] + targets["ipynb"]
    wanted = targets[format]
    if not force and all(t.exists() for t in wanted):
        return wanted
    import nbformat
    import papermill

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".salesmetrics-report-", dir=out) as tmp:
        executed = Path(tmp) / f"{stem}.ipynb"
        try:
            papermill.execute_notebook(
                str(report.path),
                str(executed),
                parameters=values,
                kernel_name="python3",
                progress_bar=False,
                cwd=str(report.path.parent),
            )
        except papermill.PapermillExecutionError as exc:
            raise ReportExecutionError(
                f"Report '{name}' failed in cell {exc.exec_count}: {exc.ename}: {str(exc.evalue).rstrip('.')}. "
                "Nothing was written. Run it with --format ipynb --show-code to see the cell."
            ) from None
        nb = nbformat.read(executed, as_version=4)
        failed = _failed_cell(nb)
        if failed:
            raise ReportExecutionError(f"Report '{name}' had an error in {failed}. Nothing was written.")
        written = []
        if format in ("ipynb", "both"):
            _atomic_write_text(out / f"{stem}.ipynb", executed.read_text(encoding="utf-8"))
            written.append(out / f"{stem}.ipynb")
        if format in ("html", "both"):
            _atomic_write_text(out / f"{stem}.html", render_html(executed, show_code=show_code))
            written.append(out / f"{stem}.html")
    return written


def slug(value: str) -> str:
    """A file-name-safe form of an owner or team name: ``'Anna Lee'`` -> ``'anna-lee'``."""
    text = re.sub(r"[^A-Za-z0-9]+", "-", str(value)).strip("-").lower()
    return text or "unnamed"


def write_index(out: Path, entries: list[tuple[str, Path]], title: str) -> Path:
    """An ``index.html`` linking the reports of a batch run."""
    items = "\n".join(
        f'<li><a href="{html.escape(p.name)}">{html.escape(label)}</a></li>' for label, p in sorted(entries)
    )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}li{margin:.3em 0}</style>"
        f"</head><body><h1>{html.escape(title)}</h1><ul>\n{items}\n</ul></body></html>\n"
    )
    target = out / "index.html"
    _atomic_write_text(target, page)
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
    folder: Path = NOTEBOOKS,
) -> list[Path]:
    """Run report ``name`` once per owner or team (``for_each``), then write ``index.html`` linking them.

    Finished reports are skipped unless ``force`` (so an interrupted batch resumes where it stopped).
    """
    if for_each not in ("owner", "team"):
        raise UsageError(f"--for-each must be 'owner' or 'team', not {for_each!r}.")
    from .exceptions import LogValidationError
    from .log import check_log

    checked, problems = check_log(log)
    if checked is None:
        raise LogValidationError(str(log), problems)
    report = get_report(name, folder)
    if for_each not in report.parameters:
        raise UsageError(f"Report '{name}' cannot be split by {for_each}: it has no '{for_each}' parameter.")
    coerce_parameters(report, dict(parameters or {}))  # fail on bad parameters before the first run
    groups = sorted(str(g) for g in checked.deals[for_each].dropna().unique())
    if not groups:
        raise UsageError(f"The log has no {for_each} values to split by.")
    from tqdm.auto import tqdm

    out = Path(out)
    entries = []
    for group in tqdm(groups, desc=f"{name} per {for_each}", unit="report", disable=not progress):
        files = run_report(
            name,
            log=log,
            out=out,
            parameters={**(parameters or {}), for_each: group},
            format=format,
            force=force,
            stem=f"{name}-{slug(group)}",
            check_log_first=False,
            folder=folder,
        )
        entries.append((group, next((f for f in files if f.suffix == ".html"), files[0])))
    index = write_index(out, entries, f"{report.title}: one report per {for_each}")
    return [index] + [p for _, p in entries]
