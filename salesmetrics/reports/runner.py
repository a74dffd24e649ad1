"""Running the report notebooks: parameters checked first, papermill to execute, one HTML file out.

The reports and their parameters are read from the notebooks (:mod:`~salesmetrics.reports.catalog`) and checked,
against the log too, before anything executes (:mod:`~salesmetrics.reports.parameters`). When ``as_of`` is not
given, it is set to the latest event of the whole log, so the reports of a batch are all as of the same moment, and
``log_path`` is filled in from the log given to :func:`run_report`.

:func:`run_report` then injects the parameters (papermill), runs the notebook in a Python kernel
(:mod:`~salesmetrics.reports.kernel`) and renders one self-contained HTML file (code hidden, figures embedded, no
script, nothing fetched from the network: :mod:`~salesmetrics.reports.pages`). :func:`run_batch` runs one report
per owner or team in one kernel (cleared between reports) and writes ``index.html``. Every file is written
atomically, so an interrupted run leaves no half-written report, and a finished report made from the same
parameters and log is kept (resume).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from salesmetrics._util.atomic import write_text_atomic, writing
from salesmetrics._util.files import not_a_file
from salesmetrics._util.output import check_output_folder
from salesmetrics._util.renamed import renamed
from salesmetrics.exceptions import SalesmetricsError, UsageError
from salesmetrics.log.partitioned import is_partitioned
from salesmetrics.reports.catalog import (
    FILLED_BY_RUNNER,
    Report,
    ReportParameter,
    get_report,
    list_reports,
    parse_help,
)
from salesmetrics.reports.kernel import ReportKernel, failed_cell
from salesmetrics.reports.on_cluster import computed_on_cluster, refuse_on_cluster
from salesmetrics.reports.pages import render_html, write_index
from salesmetrics.reports.parameters import LOG_FILTERS, check_against_log, coerce_parameters

FORMATS = ("html", "ipynb", "both")

__all__ = [
    "FORMATS",
    "Report",
    "ReportExecutionError",
    "ReportFiles",
    "ReportParameter",
    "check_against_log",
    "coerce_parameters",
    "get_report",
    "list_reports",
    "parse_help",
    "refuse_on_cluster",
    "render_html",
    "run_batch",
    "run_report",
    "slug",
    "write_index",
]


class ReportExecutionError(SalesmetricsError):
    """A report notebook raised an error while executing; the message names the cell and the error."""


class ReportFiles(list):
    """The files a run wrote or kept, as a list of paths; ``kept`` lists those that were already there.

    A report is kept (not run again) when its files exist and were made from the same report, parameters
    and log; ``overwrite=True`` runs it again.
    """

    def __init__(self, files=(), kept=()):
        super().__init__(files)
        self.kept = list(kept)


def _log_state(log: str | Path) -> dict[str, list[int]]:
    """Size and modification time of each file of the log folder: a new export means a new report."""
    folder = Path(log)
    if is_partitioned(folder):  # every part's files too, named inside the log (part-00003/activities.parquet)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        return {p.relative_to(folder).as_posix(): [p.stat().st_size, p.stat().st_mtime_ns] for p in files}
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


def _existing_state(wanted: list[Path], record: str, overwrite: bool) -> bool:
    """True when every wanted file exists and was made the same way (keep them); raises when a file there was
    made another way and ``overwrite`` is false; False when the report must run."""
    there = [t for t in wanted if t.exists()]
    if overwrite or not there:
        return False
    other = [t for t in there if _made_with(t) != record]
    if not other:
        return len(there) == len(wanted)  # a missing file (say the .ipynb of --format both): run again
    there = other[0]
    raise UsageError(
        f"{there} already exists and was made from other parameters or another version of the log. "
        "Use --overwrite (overwrite=True) to replace it, or choose another --out folder."
    )


def _prepare(name, log, out, parameters, format, folder, client=None):
    """Everything checked before a report runs: the format, the output folder, the report, the parameters
    and the log (with a Dask ``client``: only its deals are kept here, its latest event comes from the workers)."""
    if format not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}, not {format!r}.")
    what = not_a_file(Path(out))  # None for a regular file, "a folder" for a folder
    if Path(out).exists() and what != "a folder":
        raise UsageError(f"--out {out} is {what or 'a file'}; give the folder to write the reports into.")
    # never into the log folder; a read-only folder or a full disk is found now, not after the notebook ran
    check_output_folder(out, logs=[log], what="the reports", replaces=False)
    report = get_report(name, folder)
    values = coerce_parameters(report, dict(parameters or {}))
    if "log_path" in values:
        raise UsageError("Give the log as the LOG argument (log=...), not as the parameter log_path.")
    if "log_path" in report.parameters:
        values["log_path"] = str(Path(log).resolve())
    if values.get("health_path") not in (None, ""):
        raise UsageError("The parameter health_path is filled in by the runner on a Dask cluster; do not give it.")
    if values.get("model_path"):  # named from the caller's folder; the notebook runs in its own
        values["model_path"] = str(Path(values["model_path"]).resolve())
    from salesmetrics.log.reading import deals_of_parts, log_for_report

    # the deals and the latest event; the activities stay in DuckDB when the relational core vouches for the log
    if client is not None:  # a partitioned log: its deals here, its latest event from the workers
        from salesmetrics.reports import on_cluster

        checked, latest = deals_of_parts(log), on_cluster.latest_on_cluster(log, client)
    else:
        checked, latest = log_for_report(log)
    deals = check_against_log(report, values, checked, where=str(log), latest=latest)
    if "as_of" in report.parameters and values.get("as_of") in (None, "") and latest is not None:
        # the latest event of the whole log, not of the deals an owner or team filter keeps: every report
        # of a batch (and a filtered report beside an unfiltered one) is then as of the same moment (with no
        # dated event at all, the notebook says so itself)
        values["as_of"] = latest.isoformat()
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

    # not where the runner put what a cluster computed: the same page on one machine or a cluster is kept
    given = {k: v for k, v in values.items() if k != "health_path"}
    made_from = {"report": report.name, "parameters": given, "log": _log_state(log)}
    text = json.dumps(made_from, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _readable(value) -> str:
    """A parameter as the footer shows it: a time with an offset (the default as_of, the log's latest event) as
    ``2025-06-30 17:05 UTC`` or ``2025-06-30 17:05 UTC+02:00``, not ``2025-06-30T17:05:00.123456+00:00``; the rest
    as given.

    >>> _readable("2025-06-30T17:05:09.123456+02:00"), _readable("2025-06-30"), _readable(3)
    ('2025-06-30 17:05 UTC+02:00', '2025-06-30', '3')
    """
    if isinstance(value, str) and "T" in value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            offset = moment.strftime("%z")
            zone = "UTC" if offset == "+0000" else f"UTC{offset[:3]}:{offset[3:]}"
            return f"{moment:%Y-%m-%d %H:%M} {zone}"
    return str(value)


def _footer(report: Report, values: dict, log) -> str:
    from salesmetrics import __version__

    shown = [f"{k}={_readable(v)}" for k, v in values.items() if k not in FILLED_BY_RUNNER and v is not None]
    params = f" with {', '.join(shown)}" if shown else ""
    made = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f"Report '{report.name}' on the log {Path(log).name}{params}. Made {made} by salesmetrics {__version__}."


def _execute(
    kernel: ReportKernel,
    report: Report,
    values: dict,
    log,
    out: Path,
    stem: str,
    format: str,
    show_code: bool,
    record: str,
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
        failed = failed_cell(nb)
        where = f"in {failed}" if failed else f": {type(exc).__name__}: {str(exc).strip().splitlines()[-1]}"
        raise ReportExecutionError(
            f"Report '{report.name}' failed {where}. Nothing was written. "
            "Run the notebook in Jupyter with the same parameters to see the cell."
        ) from None
    failed = failed_cell(nb)
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


@renamed(force="overwrite")  # its name before 0.2.0 (decision 0040)
def run_report(
    name: str,
    *,
    log: str | Path,
    out: str | Path,
    parameters: dict[str, Any] | None = None,
    format: str = "html",
    overwrite: bool = False,
    stem: str | None = None,
    show_code: bool = False,
    folder: Path | None = None,
    client=None,
) -> ReportFiles:
    """Run report ``name`` on the log at ``log`` and write it into the folder ``out``.

    ``client``: a ``dask.distributed.Client`` whose workers compute the report's heavy part before the notebook
    runs (``pipeline_health`` of a partitioned log only: :mod:`~salesmetrics.reports.on_cluster`).

    Returns the files written, or the existing files (listed in ``.kept`` too) when the report was already
    made from the same parameters and log and ``overwrite`` is false (``force=`` is its old name). Raises
    :class:`UsageError` for bad parameters (names, types, allowed values, owners or teams not in the log),
    ``LogValidationError`` for an invalid log (in both cases before anything executes), and
    :class:`ReportExecutionError` when a cell fails.

    Examples
    --------
    >>> run_report("pipeline_health", log="datasets/demo", out="reports")  # doctest: +SKIP
    [PosixPath('reports/pipeline_health.html')]
    """
    import tempfile

    if client is not None:
        refuse_on_cluster(name, log, parameters or {})
    report, values, _ = _prepare(name, log, out, parameters, format, folder, client=client)
    _release_memory()
    out = Path(out)
    stem = stem or name
    wanted = _targets(out, stem, format)
    with tempfile.TemporaryDirectory(prefix="salesmetrics-report-") as work:
        if client is not None:
            values = computed_on_cluster(report, values, log, client, Path(work))
        record = _record(report, values, log)
        if _existing_state(wanted, record, overwrite):
            return ReportFiles(wanted, kept=wanted)
        with ReportKernel(report.path.parent) as kernel:
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


@renamed(force="overwrite")  # its name before 0.2.0 (decision 0040)
def run_batch(
    name: str,
    *,
    log: str | Path,
    out: str | Path,
    for_each: str,
    parameters: dict[str, Any] | None = None,
    format: str = "html",
    overwrite: bool = False,
    progress: bool = True,
    show_code: bool = False,
    folder: Path | None = None,
) -> ReportFiles:
    """Run report ``name`` once per owner or team (``for_each``), then write ``index.html`` linking them.

    The parameters and the log are checked once, before the first report runs. Finished reports (same
    parameters, same log) are kept unless ``overwrite`` (``force=``: its old name), so an interrupted batch
    resumes where it stopped. A report that fails does not stop the others: the index names it and a
    :class:`ReportExecutionError` is raised at the end. Returns the index followed by the reports.
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
        plans.append((group, group_values, record, wanted, _existing_state(wanted, record, overwrite)))
    from tqdm.auto import tqdm

    entries, kept, failed = [], [], {}
    todo = [p for p in plans if not p[4]]
    for group, _, _, wanted, _ in (p for p in plans if p[4]):
        entries.append((group, wanted[0]))
        kept += wanted
    with ReportKernel(report.path.parent) as kernel:  # one kernel for the whole batch
        for group, group_values, record, wanted, _ in tqdm(
            todo, desc=f"{name} per {for_each}", unit="report", disable=not progress or not todo
        ):
            try:
                _execute(kernel, report, group_values, log, out, stems[group], format, show_code, record)
            except ReportExecutionError as exc:
                failed[group] = str(exc)
                continue
            entries.append((group, wanted[0]))
    shown = [f"{k}={_readable(v)}" for k, v in values.items() if k not in FILLED_BY_RUNNER and v is not None]
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
