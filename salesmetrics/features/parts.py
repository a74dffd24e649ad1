"""The snapshot table of a partitioned log, part by part, on a Dask cluster or on this machine (``docs/scale.md``).

A partitioned log (:mod:`salesmetrics.log.partitioned`) keeps each deal's rows in one part. A deal's snapshot rows
depend on its own events and on four values of the whole log, so :func:`snapshot_parts` runs in three passes, each
one task per part (read and validated on the worker as :func:`~salesmetrics.log.reading.read_log` reads a part):

1. **The log's span**: each part's first and latest event, its stage changes and whether its deals name a team
   (:class:`PartSpan`). Combined here: the moment labels are read up to (``observed``: the latest event, or
   ``observed_until``), the as-of moments (:func:`~salesmetrics.features.dates.resolve_dates`) and whether the
   table has a ``team`` column.
2. **The owners' record**: the ``owner_*`` features count the closes, interactions and decisions of *all* an
   owner's deals, whichever part holds them. Each part sends its counts per owner and as-of moment
   (:func:`~salesmetrics.features.rows.owner_history`: at most owners x moments rows); they are summed here.
3. **The rows**: each part's rows by :func:`~salesmetrics.features.rows.snapshot_rows`, the code
   :func:`~salesmetrics.features.build.snapshots` runs on a whole log, given those values; sent back here and put
   in the whole table's order (by as-of moment, then the deals table's order: the parts end to end).

Everything else is a deal's own (stage entries, interactions and their outcomes, close-date changes, amounts), and
the stage order and time zone come from the config every part carries. So the table equals
``snapshots(read_log(path), ...)``: same rows, order, dtypes and ``attrs``. With a ``dask.distributed.Client`` the
tasks run on its workers (a worker lost mid-run has its tasks run again elsewhere: each task only reads files);
without one they run here, one after another, by the same functions (:class:`~salesmetrics.metrics.scale.Runner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.features.dates import first_event, resolve_dates
from salesmetrics.features.rows import (
    NO_STAGE_CHANGES,
    add_owner_histories,
    check_horizon,
    owner_history,
    rows_per_as_of,
    snapshot_rows,
)
from salesmetrics.log.prepare import NO_DATED_EVENTS, latest_event, resolve_in_zone, truncate
from salesmetrics.metrics.scale import Refused, Runner, parts_and_model, validated_part


def snapshot_parts(
    path,
    as_of=None,
    freq: str = "W",
    horizon_days: float = 30,
    start=None,
    end=None,
    *,
    observed_until=None,
    client=None,
) -> pd.DataFrame:
    """:func:`~salesmetrics.features.build.snapshots` of the partitioned log ``path`` (a plain log folder is one
    part), built part by part: the table ``snapshots(read_log(path), ...)`` gives, row for row.

    ``client``: a ``dask.distributed.Client`` whose workers build the parts' rows (they must see ``path`` at the
    same place, e.g. a shared file system); None builds them here. The rows come back to the caller: the table
    must fit in its memory (``docs/scale.md`` gives its size per row).

    >>> import tempfile, pathlib
    >>> from salesmetrics.log.partition import partition_log
    >>> parts = partition_log("datasets/demo", pathlib.Path(tempfile.mkdtemp()) / "parts", 3).folder
    >>> snapshot_parts(parts, as_of=["2024-06-30", "2024-12-31"]).groupby("as_of").size().tolist()
    [124, 148]
    """
    horizon = check_horizon(horizon_days)
    path = Path(path)
    parts, model = parts_and_model(path)
    tz = model.timezone
    cut = None if observed_until is None else resolve_in_zone(observed_until, tz)
    run = Runner(client)
    spans = run(_part_span, [(part, cut) for part in parts])
    if cut is not None:
        observed = cut
    elif any(s.latest is not None for s in spans):
        observed = max(s.latest for s in spans if s.latest is not None)
    else:
        raise UsageError(NO_DATED_EVENTS)
    if not sum(s.stage_changes for s in spans):
        raise UsageError(NO_STAGE_CHANGES)
    firsts = [s.first for s in spans if s.first is not None]
    latests = [s.latest for s in spans if s.latest is not None]
    dates = resolve_dates(tz, min(firsts, default=None), max(latests, default=None), as_of, freq, start, end)
    owners = add_owner_histories(run(_part_owners, [(part, cut, dates, observed) for part in parts]))
    with_team = any(s.with_team for s in spans)
    shared = run.share(owners)
    frames = run(_part_rows, [(part, cut, dates, horizon, observed, shared, with_team) for part in parts])
    run.show_notes(stacklevel=2)
    return in_table_order(frames)


def in_table_order(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts' snapshot rows as one table in the order of the whole log's: by as-of moment, then the parts end to
    end (each part's rows are already in its deals table's order), with its ``attrs``."""
    rows = [frame for frame in frames if len(frame)] or frames[:1]  # an empty part's columns may lack dtypes
    table = pd.concat(rows, ignore_index=True) if len(rows) > 1 else rows[0].copy()
    table = table.sort_values("as_of", kind="stable", ignore_index=True)
    table.attrs = {**frames[0].attrs, "rows_per_as_of": rows_per_as_of(table)}
    return table


@dataclass(frozen=True)
class PartSpan:
    """What pass 1 needs of a part (cut at ``observed_until`` when one is given): its first and latest events
    (None without), its stage changes, and whether any of its deals names a team."""

    first: pd.Timestamp | None
    latest: pd.Timestamp | None
    stage_changes: int
    with_team: bool


def _part(part: Path, cut):
    """The part read and validated (or :class:`Refused`), cut at ``cut`` as ``snapshots`` cuts a whole log."""
    log = validated_part(part)
    if isinstance(log, Refused) or cut is None:
        return log
    return truncate(log, cut)


def _part_span(part: Path, cut):
    log = _part(part, cut)
    if isinstance(log, Refused):
        return log
    team = "team" in log.deals and bool(log.deals["team"].notna().any())
    return PartSpan(first_event(log), latest_event(log), len(log.stage_changes), team)


def _part_owners(part: Path, cut, dates, observed):
    log = _part(part, cut)
    return log if isinstance(log, Refused) else owner_history(log, dates, observed)


def _part_rows(part: Path, cut, dates, horizon, observed, owners, with_team):
    log = _part(part, cut)
    if isinstance(log, Refused):
        return log
    return snapshot_rows(log, dates, horizon, observed, owners=owners, with_team=with_team)


__all__ = ["PartSpan", "in_table_order", "snapshot_parts"]
