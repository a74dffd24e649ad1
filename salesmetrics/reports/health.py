"""Pipeline health: motion against movement by owner and period, the waterfall, and deals that are busy but
not moving. The ``pipeline_health`` report notebook is a thin layer over these functions.

Computing and plotting are separate: :func:`pipeline_health` returns a :class:`PipelineHealth` value
(:mod:`salesmetrics.reports.health_result`), whose ``plot_*`` methods draw it.
"""

from __future__ import annotations

import os
import warnings

from salesmetrics._util.renamed import renamed
from salesmetrics.exceptions import DataNote, UsageError
from salesmetrics.log.prepare import latest_event, resolve_as_of
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.momentum import momentum_flags
from salesmetrics.metrics.scoring import score
from salesmetrics.reports.health_parts import health_parts
from salesmetrics.reports.health_result import (
    FLAG_GROUP,
    STALL_QUANTILE,
    HealthScope,
    PipelineHealth,
    health_of_tables,
    undated_as_of,
)


@renamed(group_by="by")
def pipeline_health(
    log: SalesLog,
    *,
    as_of=None,
    period: str = "M",
    by: str = "owner",
    min_motions: int = 5,
    client=None,
) -> PipelineHealth:
    """Everything the pipeline health report shows, computed once.

    ``min_motions`` is the number of activities since a deal's last movement from which an open deal counts as
    busy but not moving.

    ``log`` may also be the path of a log folder, typically a partitioned one (``salesmetrics partition``): its
    parts are then worked on one by one, on the workers of ``client`` (a ``dask.distributed.Client``) when one is
    given, and the tables are those of the log the parts make (:func:`salesmetrics.reports.health_parts.health_parts`,
    ``docs/scale.md``).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> health = pipeline_health(sm.read_log("datasets/demo"), period="Q")
    >>> health.narrative().startswith("As of 2025-06-30, 20 owners")
    True
    """
    if by not in ("owner", "team"):
        raise UsageError(f"by must be 'owner' or 'team', not {by!r}.")
    if isinstance(log, (str, os.PathLike)):
        return health_parts(log, as_of=as_of, period=period, by=by, min_motions=min_motions, client=client)
    if client is not None:
        raise UsageError("a client works on a log folder's parts: pass the folder's path (salesmetrics partition).")
    dated = as_of is not None or latest_event(log) is not None
    # A log without a single date (a snapshot export without dates) can only tell current stages; it is
    # scored as of now, which places nothing, and the narrative says so.
    as_of = resolve_as_of(log, as_of) if dated else undated_as_of(log.model.timezone)
    with warnings.catch_warnings():  # the report says in its own words what the log lacks (coverage notes)
        warnings.simplefilter("ignore", DataNote)
        deals = score(log, by="deal", as_of=as_of)
        periods = score(log, by=by, period=period, as_of=as_of)
    return health_of_tables(
        HealthScope(as_of, by, period, min_motions, log.model.currency, dated),
        deals=deals,
        periods=periods,
        labels=log.deals[["deal_id", by]],
        flags=momentum_flags(
            log, as_of, stall_quantile=STALL_QUANTILE, motion_without_movement=min_motions, group=FLAG_GROUP
        ),
        stage_counts=None if dated else log.summary().current_stages,
    )


__all__ = ["PipelineHealth", "pipeline_health"]
