"""The pipeline health and the log's coverage in a folder of files, for a report notebook to read: what the runner
computed on a Dask cluster before the kernel started (``salesmetrics report pipeline_health PARTS --workers N``).

Tables as Parquet (types, time zones and the index kept), the rest as JSON; nothing is pickled, so reading the
folder runs no code from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd

from salesmetrics._util.atomic import write_text_atomic
from salesmetrics.log.coverage import LogCoverage
from salesmetrics.reports.health_bridge import MoneyBridge
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


@dataclass(frozen=True)
class HealthPage:
    """Everything the pipeline health page reads of a log (:func:`~salesmetrics.reports.health_parts.report_parts`):
    the health, the coverage, the stage model's name, the bridge in money (None without dates or amounts) and the
    win rates (a log without dates only)."""

    health: PipelineHealth
    coverage: LogCoverage
    model_name: str | None = None
    money: MoneyBridge | None = None
    win_rates: pd.DataFrame | None = None


PAGE = "page.json"


def write_page(folder, page: HealthPage) -> Path:
    """Write ``page`` into the folder ``folder`` (:func:`write_health`, and the rest beside it); returns the folder."""
    folder = write_health(folder, page.health, page.coverage)
    money = None
    if page.money is not None:
        money = {name: getattr(page.money, name) for name in ("pipeline", "currency", "notes", "refused")}
        if page.money.table is not None:
            page.money.table.to_parquet(folder / "money.parquet")
    if page.win_rates is not None:
        page.win_rates.to_parquet(folder / "win_rates.parquet")
    write_text_atomic(folder / PAGE, json.dumps({"model_name": page.model_name, "money": money}, indent=1))
    return folder


def read_page(folder) -> HealthPage:
    """The :class:`HealthPage` :func:`write_page` wrote into ``folder``.

    >>> import tempfile, pathlib
    >>> from salesmetrics.log.partition import partition_log
    >>> from salesmetrics.reports.health_parts import report_parts
    >>> parts = partition_log("datasets/demo", pathlib.Path(tempfile.mkdtemp()) / "parts", 2).folder
    >>> page = read_page(write_page(tempfile.mkdtemp(), report_parts(parts, period="Q")))
    >>> page.model_name, page.money.pipeline, page.money.table.columns[0], page.win_rates
    ('salesmetrics simulated pipeline', 'due', 'owner', None)
    """
    folder = Path(folder)
    health, coverage = read_health(folder)
    settings = json.loads((folder / PAGE).read_text(encoding="utf-8"))
    money = settings["money"]
    if money is not None:
        table = folder / "money.parquet"
        money = MoneyBridge(
            money["pipeline"],
            pd.read_parquet(table) if table.exists() else None,
            money["currency"],
            tuple(money["notes"]),
            money["refused"],
        )
    wins = folder / "win_rates.parquet"
    return HealthPage(health, coverage, settings["model_name"], money, pd.read_parquet(wins) if wins.exists() else None)


__all__ = ["HealthPage", "read_health", "read_page", "write_health", "write_page"]
