"""The backtest's momentum flag of a partitioned log's snapshot rows, part by part (``docs/scale.md``).

:func:`~salesmetrics.models.baselines.momentum_stall_flags` reads a whole log: a row is flagged when its deal's
days in stage exceed the ``stall_quantile`` of the stays that ended by the row's as-of moment, per owner and stage
(per stage for owners with few stays). A quantile is not a sum, so :func:`momentum_stall_flags_of_parts` runs two
passes, one task per part each:

1. **Completed stays**: each part's stays that ended by the last as-of moment, with when each ended (one row per
   stay: a stage, an owner, days and a time; far fewer than activities). Here, the thresholds at each as-of moment
   come from the stays that ended by then (:func:`~salesmetrics.metrics.momentum.stall_thresholds`, the function
   the whole log's flags call), and are sent to every worker once.
2. **Flags**: each part's momentum flags at each as-of moment with those thresholds
   (:func:`~salesmetrics.metrics.momentum.momentum_flags`); only the stalled deals come back.

So the flags equal those of the log the parts make, with the client holding stays and flags, never a part's log.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.momentum import completed_stays, momentum_flags, stall_thresholds
from salesmetrics.metrics.scale import Refused, Runner, parts_and_model, validated_part
from salesmetrics.models.baselines import FLAG_COLUMN, momentum_stall_flags

#: momentum_flags' defaults for the options the thresholds depend on.
STALL_QUANTILE, GROUP = 0.9, "owner"


def momentum_stall_flags_of_parts(path, snapshots: pd.DataFrame, *, client=None, **momentum_options) -> pd.Series:
    """:func:`~salesmetrics.models.baselines.momentum_stall_flags` of the partitioned log ``path`` (a plain log
    folder is one part): the momentum ``stalled`` flag of each row of ``snapshots`` (columns ``deal_id`` and
    ``as_of``), computed on the workers of ``client`` (here without one), the same values as from the whole log.

    >>> import tempfile, pathlib
    >>> from salesmetrics.features.build import snapshots
    >>> from salesmetrics.log.partition import partition_log
    >>> parts = partition_log("datasets/demo", pathlib.Path(tempfile.mkdtemp()) / "parts", 3).folder
    >>> snap = snapshots(parts, as_of=["2024-12-31"])
    >>> int(momentum_stall_flags_of_parts(parts, snap).sum())
    31
    """
    out = pd.Series(False, index=snapshots.index, dtype=bool)
    if not len(snapshots):
        return out
    quantile = momentum_options.get("stall_quantile", STALL_QUANTILE)
    group = momentum_options.get("group", GROUP)
    moments = sorted(snapshots["as_of"].unique())
    parts, _ = parts_and_model(path)
    run = Runner(client)
    stays = pd.concat(run(_part_stays, [(part, moments[-1], group) for part in parts]), ignore_index=True)
    thresholds = {
        as_of: stall_thresholds(stays[(stays["left_at"] <= as_of).to_numpy()], group, quantile) for as_of in moments
    }
    shared = run.share(thresholds)
    stalled = run(_part_stalled, [(part, shared, momentum_options) for part in parts])
    run.show_notes(stacklevel=2)
    flagged = pd.concat(stalled, ignore_index=True)
    keys = pd.MultiIndex.from_arrays([flagged["as_of"], flagged["deal_id"]])
    rows = pd.MultiIndex.from_arrays([snapshots["as_of"], snapshots["deal_id"].astype("str")])
    out[:] = rows.isin(keys)
    return out


def with_momentum_flags(source, frames: list[pd.DataFrame], client=None, **momentum_options) -> list[pd.DataFrame]:
    """``frames`` (snapshot rows) with the momentum flag column :data:`~salesmetrics.models.baselines.FLAG_COLUMN`,
    from ``source``: a ``SalesLog`` (:func:`~salesmetrics.models.baselines.momentum_stall_flags`, per frame), or a
    log folder's path (:func:`momentum_stall_flags_of_parts`, one pass for all the frames)."""
    if isinstance(source, SalesLog):
        flags = [momentum_stall_flags(source, frame, **momentum_options) for frame in frames]
    else:
        rows = pd.concat([frame[["deal_id", "as_of"]] for frame in frames], ignore_index=True)
        every = momentum_stall_flags_of_parts(source, rows, client=client, **momentum_options).to_numpy()
        ends = np.cumsum([len(frame) for frame in frames])
        pieces = np.split(every, ends[:-1])
        flags = [pd.Series(one, index=frame.index) for one, frame in zip(pieces, frames, strict=True)]
    return [frame.assign(**{FLAG_COLUMN: flag}) for frame, flag in zip(frames, flags, strict=True)]


def _part_stays(part: Path, last, group):
    log = validated_part(part)
    return log if isinstance(log, Refused) else completed_stays(log, last, group=group, with_end=True)


def _part_stalled(part: Path, thresholds: dict, options: dict):
    """The part's stalled deals at each moment of ``thresholds``: ``as_of`` and ``deal_id``."""
    log = validated_part(part)
    if isinstance(log, Refused):
        return log
    frames = []
    for as_of, at in thresholds.items():
        flags = momentum_flags(log, as_of, thresholds=at, **options)
        frames.append(pd.DataFrame({"as_of": as_of, "deal_id": flags.loc[flags["stalled"], "deal_id"].to_numpy()}))
    return pd.concat(frames, ignore_index=True)


__all__ = ["momentum_stall_flags_of_parts", "with_momentum_flags"]
