"""``win_rates``: won and lost deals per segment, from each deal's outcome alone (no dates needed).

Win-loss tables (the IBM sample), campaign results (UCI bank marketing) and other snapshots without dates give
no movement, velocity or slippage, but every deal's outcome is known, so the win rate of each segment is. A
deal's stage is its latest dated stage, else the stage the export gave (``snapshot_stage``), as
``SalesLog.summary()`` counts them. Definitions: ``docs/adapters.md`` ("Logs without dates").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from salesmetrics._util.suggest import close_matches
from salesmetrics.exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from salesmetrics.log.saleslog import SalesLog

COLUMNS = ("deals", "open", "won", "lost", "decided", "win_rate")
_COUNTS = ("deals", "open", "won", "lost")


def deal_stages(log: SalesLog) -> pd.Series:
    """Each deal's stage as ``summary()`` counts it (latest dated stage, else ``snapshot_stage``), by deal_id.

    Not to be confused with :func:`salesmetrics.metrics.volume.deal_outcomes`, the per-deal table of motions,
    movements, won, lost and revenue at an ``as_of`` moment.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> stages = deal_stages(sm.read_log("datasets/demo"))
    >>> len(stages), stages.index[0] == sm.read_log("datasets/demo").deals["deal_id"].iloc[0]
    (2000, True)
    """
    current = log.current_stage()
    ids = log.deals["deal_id"]
    stage = ids.map(current)
    if "snapshot_stage" in log.deals:
        snapshot = log.deals["snapshot_stage"].where(log.deals["snapshot_stage"].isin(log.model.all_stages))
        stage = stage.where(stage.notna(), snapshot)
    return stage.set_axis(ids.to_numpy())


def win_rates(log: SalesLog, by: str | Sequence[str]) -> pd.DataFrame:
    """Deals, open, won and lost deals and the win rate, won / (won + lost), per value of the ``by`` columns.

    ``by`` names deal columns: ``owner``, ``team`` or any attribute the import kept (``Region``,
    ``Supplies Group``, ``job``, ...). A deal whose stage is unknown counts in ``deals`` only; ``win_rate`` is
    NaN for a segment without a decided deal. Missing segment values form their own group, ``(missing)``.
    Rows are sorted by ``decided`` deals, largest first.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> rates = win_rates(sm.read_log("datasets/demo"), by="team")
    >>> list(rates.columns)
    ['team', 'deals', 'open', 'won', 'lost', 'decided', 'win_rate']
    >>> bool(((rates["won"] + rates["lost"]) == rates["decided"]).all())
    True
    """
    columns = [by] if isinstance(by, str) else list(by)
    return win_rates_of_counts([win_counts(log, columns)], columns)


def win_counts(log: SalesLog, by: str | Sequence[str]) -> pd.DataFrame:
    """Deals, open, won and lost deals per value of the ``by`` columns, in the order the values first appear: what
    :func:`win_rates` adds up. Counts of the parts of a log split by deal add up to the whole's
    (:func:`win_rates_of_counts`)."""
    import numpy as np
    import pandas as pd

    columns = [by] if isinstance(by, str) else list(by)
    if not columns:
        raise UsageError("win_rates needs at least one column to group by, e.g. by='team'.")
    found = [str(c) for c in log.deals.columns]
    for column in columns:
        if column not in found:
            close = close_matches(column, found)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise UsageError(f"The deals table has no column {column!r}.{hint} Columns: {', '.join(found)}.")
    stage = deal_stages(log).to_numpy()
    frame = pd.DataFrame(
        {
            **{c: log.deals[c].astype(object).where(log.deals[c].notna(), "(missing)").to_numpy() for c in columns},
            "deals": 1,
            "open": np.isin(stage, log.model.stages).astype(int),
            "won": np.isin(stage, log.model.won).astype(int),
            "lost": np.isin(stage, log.model.lost).astype(int),
        }
    )
    return frame.groupby(columns, sort=False, dropna=False)[list(_COUNTS)].sum().reset_index()


def win_rates_of_counts(counts: list[pd.DataFrame], by: str | Sequence[str]) -> pd.DataFrame:
    """:func:`win_rates` of a log whose parts gave ``counts`` (:func:`win_counts`, in the parts' order).

    >>> import tempfile, pathlib
    >>> import salesmetrics as sm
    >>> from salesmetrics.log.partition import partition_log
    >>> folder = partition_log("datasets/demo", pathlib.Path(tempfile.mkdtemp()) / "parts", 3).folder
    >>> parts = [win_counts(sm.read_log(p), "team") for p in sorted(folder.glob("part-*"))]
    >>> win_rates_of_counts(parts, "team").equals(win_rates(sm.read_log(folder), by="team"))
    True
    """
    import pandas as pd

    columns = [by] if isinstance(by, str) else list(by)
    out = counts[0] if len(counts) == 1 else pd.concat(counts, ignore_index=True)
    out = out.groupby(columns, sort=False, dropna=False)[list(_COUNTS)].sum().reset_index()
    out["decided"] = out["won"] + out["lost"]
    out["win_rate"] = (out["won"] / out["decided"].where(out["decided"] > 0)).astype("float64")
    out = out.sort_values(["decided", *columns], ascending=[False, *([True] * len(columns))], kind="stable")
    return out.reset_index(drop=True)[[*columns, *COLUMNS]]


__all__ = ["deal_stages", "win_counts", "win_rates", "win_rates_of_counts"]
