"""A report whose heavy part runs on a Dask cluster before its notebook starts (``salesmetrics report
pipeline_health PARTS --out DIR --workers N``; ``docs/scale.md``).

The runner computes everything the page reads of the log (:func:`~salesmetrics.reports.health_parts.report_parts`:
the pipeline health, the log's coverage, the bridge in money and, without dates, the win rates) part by part on the
cluster, writes it into its work folder (:mod:`~salesmetrics.reports.health_file`: Parquet and JSON) and names that
folder in the notebook's ``health_path`` parameter, as it fills ``log_path``. The notebook then reads it instead of
computing it: it does not read the log. Before that, the runner's pre-flight check keeps only the log's deals here
(each part checked as a log is) and takes the latest event from a pass on the workers (:func:`latest_on_cluster`).

Only ``pipeline_health`` runs this way, only on a partitioned log, and not for one owner or team: an owner's page
compares the owner with the others of a filtered log, which the parts cannot give yet.
"""

from __future__ import annotations

import ast
from pathlib import Path

from salesmetrics.exceptions import UsageError
from salesmetrics.log.partitioned import is_partitioned
from salesmetrics.metrics.scale import latest_event_of
from salesmetrics.reports.health_file import write_page
from salesmetrics.reports.health_parts import report_parts

#: The reports that can run on a Dask cluster.
CLUSTER_REPORTS = ("pipeline_health",)


def refuse_on_cluster(name: str, log, parameters: dict) -> None:
    """Raise a :class:`UsageError` when report ``name`` on ``log`` with ``parameters`` cannot run on a cluster.

    >>> refuse_on_cluster("slippage", "datasets/demo", {})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    salesmetrics.exceptions.UsageError: Only the pipeline_health report runs on a Dask cluster ..., not 'slippage'...
    """
    if name not in CLUSTER_REPORTS:
        raise UsageError(
            f"Only the {', '.join(CLUSTER_REPORTS)} report runs on a Dask cluster (--scheduler/--workers), not "
            f"{name!r}: run it without those flags."
        )
    if not is_partitioned(log):
        raise UsageError(
            f"{log} is not a partitioned log: a report runs on a Dask cluster (--scheduler/--workers) only part by "
            "part. Split it with `salesmetrics partition LOG --out DIR --partitions N` and give DIR, or run the "
            "report without those flags."
        )
    filters = [f"{key}={parameters[key]!r}" for key in ("owner", "team") if parameters.get(key) not in (None, "")]
    if filters:
        raise UsageError(
            f"The parameter {' and '.join(filters)} cannot be used on a Dask cluster: the page of one owner or team "
            "is computed from the filtered log (and compared with its peers), which is not done part by part yet. "
            "Run it without --scheduler/--workers, or drop the filter."
        )


def latest_on_cluster(log, client):
    """The latest event of the partitioned log ``log`` (a timestamp in its zone), from a pass on ``client``'s
    workers; None when nothing is dated, as the reports' pre-flight check on one machine says it."""
    try:
        return latest_event_of(log, client=client)
    except UsageError:
        return None


def computed_on_cluster(report, values: dict, log, client, work: Path) -> dict:
    """``values`` with ``health_path`` naming the folder in ``work`` where the page's tables of ``log``
    (:func:`~salesmetrics.reports.health_parts.report_parts`), computed on ``client``'s workers, were written;
    ``as_of`` set to the health's moment when not given (the latest event of the whole log, as on one machine)."""

    def given(name):  # the value given, else the notebook's default: one source for both paths
        value = values.get(name)
        return ast.literal_eval(report.parameters[name].default) if value is None else value

    as_of = values.get("as_of") or None
    page = report_parts(
        log,
        as_of=as_of,
        period=given("period"),
        by=given("by"),
        min_motions=given("min_motions"),
        rates=given("rates"),
        client=client,
    )
    folder = write_page(Path(work) / "health", page)
    out = {**values, "health_path": str(folder)}
    health = page.health
    if as_of is None and health.dated:
        out["as_of"] = health.as_of.isoformat()
    return out


__all__ = ["CLUSTER_REPORTS", "computed_on_cluster", "latest_on_cluster", "refuse_on_cluster"]
