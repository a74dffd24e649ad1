"""The pipeline health and the log's coverage in a folder of files, for a report notebook to read: what the runner
computed on a Dask cluster before the kernel started (``salesmetrics report pipeline_health PARTS --workers N``).

Tables as Parquet (types, time zones and the index kept), the rest as JSON; nothing is pickled, so reading the
folder runs no code from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import pandas as pd

from salesmetrics._util.atomic import write_text_atomic
from salesmetrics.log.coverage import LogCoverage
from salesmetrics.reports.health_result import PipelineHealth

TABLES = ("groups", "periods", "deals", "stuck_deals")
SETTINGS = "health.json"
COUNTS = "count"  # the column of the stage counts in their file (the series' own name, often None, in SETTINGS)


def write_health(folder, health: PipelineHealth, coverage: LogCoverage) -> Path:
    """Write ``health`` and ``coverage`` into the folder ``folder`` (made if needed); returns the folder.

    >>> import tempfile
    >>> import salesmetrics as sm
    >>> from salesmetrics.log.coverage import log_coverage
    >>> from salesmetrics.reports.health import pipeline_health
    >>> log = sm.read_log("datasets/demo")
    >>> folder = write_health(tempfile.mkdtemp(), pipeline_health(log, period="Q"), log_coverage(log))
    >>> health, coverage = read_health(folder)
    >>> health.narrative() == pipeline_health(log, period="Q").narrative(), coverage.activities
    (True, 30292)
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        getattr(health, name).to_parquet(folder / f"{name}.parquet")
    if health.stage_counts is not None:
        health.stage_counts.to_frame(COUNTS).to_parquet(folder / "stage_counts.parquet")
    settings = {
        "as_of": health.as_of.isoformat(),
        "zone": str(health.as_of.tz) if health.as_of.tz is not None else None,
        "by": health.by,
        "period": health.period,
        "min_motions": health.min_motions,
        "currency": health.currency,
        "dated": health.dated,
        "stage_counts_name": None if health.stage_counts is None else health.stage_counts.name,
        "coverage": asdict(coverage),
    }
    write_text_atomic(folder / SETTINGS, json.dumps(settings, indent=1))
    return folder


def read_health(folder) -> tuple[PipelineHealth, LogCoverage]:
    """The pipeline health and the coverage :func:`write_health` wrote into ``folder``."""
    folder = Path(folder)
    settings = json.loads((folder / SETTINGS).read_text(encoding="utf-8"))
    as_of = pd.Timestamp(settings["as_of"])
    if settings["zone"] is not None:  # the zone by name (Europe/Berlin), not only its offset at that moment
        as_of = as_of.tz_convert(settings["zone"])
    counts = folder / "stage_counts.parquet"
    health = PipelineHealth(
        as_of=as_of,
        by=settings["by"],
        period=settings["period"],
        **{name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES},
        min_motions=settings["min_motions"],
        currency=settings["currency"],
        dated=settings["dated"],
        stage_counts=pd.read_parquet(counts)[COUNTS].rename(settings["stage_counts_name"]) if counts.exists() else None,
    )
    coverage = settings["coverage"]
    return health, LogCoverage(**{f.name: coverage[f.name] for f in fields(LogCoverage)})


__all__ = ["read_health", "write_health"]
