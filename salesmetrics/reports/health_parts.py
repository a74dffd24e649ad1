"""The pipeline health of a partitioned log, part by part, on a Dask cluster or on this machine (``docs/scale.md``).

:func:`~salesmetrics.reports.health.pipeline_health` reads four things of a log: its scores per deal and per group
and period, each deal's group, the momentum flags of its open deals, and (for a log without dates) its deals per
current stage. A deal's values depend on its own events and on these values of the whole log:

- **the as-of moment** (when none is given: the latest event) and **whether the log has dated events**;
- **the "stalled in stage" thresholds**: the 90th percentile of completed stays per stage and per owner and stage
  (:func:`~salesmetrics.metrics.momentum.stall_thresholds`). A percentile is not a sum, so each part sends its
  completed stays (a stage, an owner and a number of days each: one row per stay, far fewer than activities) and
  the thresholds are computed here from them all, by the same function, giving the same numbers;
- **the currency** and the stage order, from the config every part carries.

So :func:`health_parts` runs in passes, each one task per part (read and validated on the worker as
:func:`~salesmetrics.log.reading.read_log` reads a part), through :class:`~salesmetrics.metrics.scale.Runner`:

1. **Facts** (only when ``as_of`` is not given): each part's latest event and deals per current stage; combined
   here into the as-of moment, whether the log is dated, and the stage counts.
2. **Scores**: :func:`~salesmetrics.metrics.scoring.score` of the folder's path per deal and per group and period,
   as ``score`` runs on a cluster (its own passes).
3. **Completed stays** at that moment, combined here into the thresholds (sent to every worker once).
4. **Flags**: each part's momentum flags with those thresholds, and its deals' groups; put end to end here in
   deal order.

The tables equal ``pipeline_health(read_log(path), ...)``'s, and only these tables reach the client: no table of
activities is read here.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salesmetrics.exceptions import DataNote
from salesmetrics.log.coverage import LogCoverage, coverage_of_parts, log_coverage
from salesmetrics.log.prepare import latest_event, resolve_in_zone
from salesmetrics.log.saleslog import stage_counts_in_order
from salesmetrics.metrics.flows import WaterfallPiece, bridge_of_pieces, waterfall_piece
from salesmetrics.metrics.momentum import completed_stays, momentum_flags, stall_thresholds
from salesmetrics.metrics.outcomes import win_counts, win_rates_of_counts
from salesmetrics.metrics.scale import Refused, Runner, parts_and_model, validated_part
from salesmetrics.metrics.scoring import score
from salesmetrics.reports.health_bridge import bridge_pipeline, money_bridge
from salesmetrics.reports.health_file import HealthPage
from salesmetrics.reports.health_result import (
    FLAG_GROUP,
    STALL_QUANTILE,
    HealthScope,
    PipelineHealth,
    health_of_tables,
    undated_as_of,
)


def health_parts(
    path, *, as_of=None, period: str = "M", by: str = "owner", min_motions: int = 5, client=None
) -> PipelineHealth:
    """:func:`~salesmetrics.reports.health.pipeline_health` of the partitioned log ``path`` (a plain log folder is
    one part), part by part: the value ``pipeline_health(read_log(path), ...)`` gives, table for table.

    ``client``: a ``dask.distributed.Client`` whose workers read the parts (they must see ``path`` at the same
    place); None reads them here, one after another.

    >>> import tempfile, pathlib
    >>> from salesmetrics.log.partition import partition_log
    >>> parts = partition_log("datasets/demo", pathlib.Path(tempfile.mkdtemp()) / "parts", 3).folder
    >>> health_parts(parts, period="Q").narrative().startswith("As of 2025-06-30, 20 owners")
    True
    """
    return _passes(path, as_of, period, by, min_motions, client, report=False, rates=None).health


def report_parts(
    path, *, as_of=None, period: str = "M", by: str = "owner", min_motions: int = 5, rates=None, client=None
) -> HealthPage:
    """Everything the pipeline health page reads of the partitioned log ``path``, part by part: the health (as
    :func:`health_parts`), the coverage, the bridge in money (``waterfall`` at the health's moment, with its notes;
    ``rates`` as the report's parameter) and, for a log without dates, the win rates. The coverage and the win
    counts come from the completed-stays pass and the bridge from the flags pass: no pass of their own.
    """
    return _passes(path, as_of, period, by, min_motions, client, report=True, rates=rates)


def _passes(path, as_of, period: str, by: str, min_motions: int, client, *, report: bool, rates) -> HealthPage:
    path = Path(path)
    parts, model = parts_and_model(path)
    run = Runner(client)
    stage_counts = None
    if as_of is not None:
        as_of, dated = resolve_in_zone(as_of, model.timezone), True
    else:
        facts = run(_part_facts, [(part,) for part in parts])
        latests = [f.latest for f in facts if f.latest is not None]
        dated = bool(latests)
        as_of = max(latests) if dated else undated_as_of(model.timezone)
        if not dated:
            counts = sum((Counter(f.stage_counts) for f in facts), Counter())
            stage_counts = stage_counts_in_order(counts, model.all_stages)
    with warnings.catch_warnings():  # as pipeline_health: the report says in its own words what the log lacks
        warnings.simplefilter("ignore", DataNote)
        deals = score(path, by="deal", as_of=as_of, client=client)
        periods = score(path, by=by, period=period, as_of=as_of, client=client)
    win_by = by if report and not dated else None
    stayed = run(_part_stays, [(part, as_of, report, win_by) for part in parts])
    stays = pd.concat([s.stays for s in stayed], ignore_index=True)
    coverage = coverage_of_parts([s.coverage for s in stayed]) if report else None
    pipeline = bridge_pipeline(coverage) if report else None
    bridge = {"period": period, "by": by, "pipeline": pipeline, "rates": rates} if pipeline else None
    thresholds = run.share(stall_thresholds(stays, FLAG_GROUP, STALL_QUANTILE))
    flagged = run(_part_flags, [(part, as_of, by, min_motions, thresholds, bridge) for part in parts])
    run.show_notes(stacklevel=4)  # the caller of pipeline_health
    health = health_of_tables(
        HealthScope(as_of, by, period, min_motions, model.currency, dated),
        deals=deals,
        periods=periods,
        labels=pd.concat([f.labels for f in flagged], ignore_index=True),
        flags=in_deal_order([f.flags for f in flagged]),
        stage_counts=stage_counts,
    )
    money = None
    if bridge:
        pieces = [f.piece for f in flagged]
        money = money_bridge(lambda: bridge_of_pieces(pieces, as_of, model, **bridge), by, pipeline)
    wins = win_rates_of_counts([s.win_counts for s in stayed], by) if win_by else None
    return HealthPage(health, coverage, model.name, money, wins)


def coverage_parts(path, *, client=None) -> LogCoverage:
    """:func:`~salesmetrics.log.coverage.log_coverage` of the partitioned log ``path`` (what its report can show),
    counted part by part on the workers of ``client`` (here without one) and added up: the coverage of
    ``read_log(path)``."""
    parts, _ = parts_and_model(path)
    run = Runner(client)
    counted = run(_part_coverage, [(part,) for part in parts])
    run.show_notes(stacklevel=3)
    return coverage_of_parts(counted)


def in_deal_order(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts' momentum flags as one table sorted by ``deal_id``, as ``momentum_flags`` sorts a whole log's (a
    deal has one row, so the order is the same whichever part comes first)."""
    rows = [frame for frame in frames if len(frame)] or frames[:1]  # an empty part's columns may lack dtypes
    table = pd.concat(rows, ignore_index=True) if len(rows) > 1 else rows[0]
    return table.sort_values("deal_id", kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class PartFacts:
    """What pass 1 needs of a part: its latest event (None without dated events) and its deals per current stage."""

    latest: pd.Timestamp | None
    stage_counts: dict[str, int]


def _part_facts(part: Path):
    log = validated_part(part)
    return log if isinstance(log, Refused) else PartFacts(latest_event(log), log.summary().current_stages)


def _part_coverage(part: Path):
    log = validated_part(part)
    return log if isinstance(log, Refused) else log_coverage(log)


@dataclass(frozen=True)
class PartStays:
    """What the completed-stays pass sends back of a part: its stays, and for a report its coverage and (a log
    without dates) its win counts."""

    stays: pd.DataFrame
    coverage: LogCoverage | None
    win_counts: pd.DataFrame | None


def _part_stays(part: Path, as_of: pd.Timestamp, report: bool = False, win_by: str | None = None):
    log = validated_part(part)
    if isinstance(log, Refused):
        return log
    return PartStays(
        completed_stays(log, as_of, group=FLAG_GROUP),
        log_coverage(log) if report else None,
        win_counts(log, win_by) if win_by else None,
    )


@dataclass(frozen=True)
class PartFlags:
    """What the flags pass sends back of a part: its momentum flags, its deals' groups and, for a report with a
    bridge in money, its piece of the waterfall."""

    flags: pd.DataFrame
    labels: pd.DataFrame
    piece: WaterfallPiece | None


def _part_flags(part: Path, as_of: pd.Timestamp, by: str, min_motions: int, thresholds, bridge: dict | None = None):
    log = validated_part(part)
    if isinstance(log, Refused):
        return log
    flags = momentum_flags(
        log,
        as_of,
        stall_quantile=STALL_QUANTILE,
        motion_without_movement=min_motions,
        group=FLAG_GROUP,
        thresholds=thresholds,
    )
    piece = waterfall_piece(log, as_of, **bridge) if bridge else None
    return PartFlags(flags, log.deals[["deal_id", by]], piece)


__all__ = ["HealthPage", "PartFacts", "coverage_parts", "health_parts", "in_deal_order", "report_parts"]
