"""Leak-free snapshots: one row per deal open at each as-of date, its features then, and what happened next.

A model that predicts stalls or wins must be trained on what was *known* at the moment of the prediction.
:func:`snapshots` takes a list of as-of moments (or a frequency), finds the deals open at each, and computes
every feature only from events at or before that moment, exactly as the metric functions would on the log cut
there (:func:`salesmetrics.log.prepare.truncate`); tests hold the two to equality and prove that changing any
later event leaves the features unchanged. The labels look forward from the as-of moment and say when they
cannot be known yet (censoring).

The rows are computed by :mod:`salesmetrics.features.rows`, the as-of moments by
:mod:`salesmetrics.features.dates`; a partitioned log's table is built part by part, here or on a Dask cluster,
by :mod:`salesmetrics.features.parts` with the same code.

Every column, and for each feature its group, label, reason and precision, is listed once in
:mod:`salesmetrics.features.registry`. Labels and censoring are argued in ``docs/decisions/0015-snapshot-labels.md``,
the stall definition in ``docs/decisions/0016-stall-definition.md``.
"""

from __future__ import annotations

import os

import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.features.dates import FREQS as FREQS  # explicit re-exports: imported from here first
from salesmetrics.features.dates import as_of_dates as as_of_dates
from salesmetrics.features.dates import first_event, resolve_dates
from salesmetrics.features.parts import snapshot_parts
from salesmetrics.features.registry import FEATURES as FEATURES
from salesmetrics.features.registry import LABELS as LABELS
from salesmetrics.features.rows import NO_STAGE_CHANGES, check_horizon, snapshot_rows
from salesmetrics.log.prepare import latest_event, resolve_as_of, truncate
from salesmetrics.log.saleslog import SalesLog


def snapshots(
    log: SalesLog,
    as_of=None,
    freq: str = "W",
    horizon_days: float = 30,
    start=None,
    end=None,
    *,
    observed_until=None,
    client=None,
) -> pd.DataFrame:
    """One row per deal open at each as-of moment: features known then, and labels from what happened next.

    Parameters
    ----------
    log : SalesLog
    as_of : date, list of dates, or None
        The as-of moments (a bare date means the end of that day). ``None``: one per ``freq`` period from
        ``start`` to ``end`` (:func:`as_of_dates`).
    freq : str
        ``D``, ``W`` (default, weeks ending Sunday), ``M`` or ``Q``; used when ``as_of`` is None.
    horizon_days : float
        The look-ahead of the ``stalled`` label and the fallback deadline of ``close_outcome``.
    start, end : date or None
        First and last as-of day for ``freq`` (default: the log's first and last event).
    observed_until : date or None
        The moment the log is known until (default: its last event). Events after it are ignored and labels
        whose outcome falls after it are censored. ``snapshots(log, observed_until=T)`` equals
        ``snapshots(truncate(log, T), ...)`` with the end moment ``T``: use it to build a training set for a
        time-split evaluation whose labels cannot see the test period.
    client : dask.distributed.Client or None
        With a log folder's path as ``log`` (a partitioned log, from ``salesmetrics partition``), the workers of
        ``client`` build each part's rows and send them back here; without a client the parts are built here, one
        after another. The same table either way (:func:`salesmetrics.features.parts.snapshot_parts`,
        ``docs/scale.md``).

    Returns
    -------
    DataFrame
        Sorted by ``as_of`` then the deals table's order. Columns: ``deal_id, as_of, owner, team`` (when the log
        has teams), ``stage, expected_close_date, days_in_stage``, every column of :data:`FEATURES`, and the
        labels:

        - ``next_step`` (``moved``, ``lost``, ``no movement`` or ``<NA>`` when censored): what came first in
          ``(as_of, as_of + horizon_days]``: a movement other than a loss (advance, regression or win), a loss,
          or nothing; and ``stalled_excluding_losses`` (nullable boolean): ``stalled`` with the rows lost within
          the horizon left out (``<NA>``), so a loss is neither a stall nor a movement (decision 0057).
        - ``stalled`` (nullable boolean): no movement (advance, regression, win or loss) in
          ``(as_of, as_of + horizon_days]``; ``<NA>`` when that window runs past ``observed_until``.
        - ``days_to_next_movement`` (float) and ``next_movement_observed`` (bool): days to the next movement,
          or to ``observed_until`` when none was seen (censored: ``next_movement_observed`` False).
        - ``outcome`` (``won``, ``lost``, ``open``) and ``won`` (nullable 1/0): the deal's final state at
          ``observed_until``; ``won`` is ``<NA>`` for deals still open then (censored; models leave them out).
          ``days_to_outcome`` (float): days from ``as_of`` to that close (NaN while open), which
          :class:`~salesmetrics.models.CloseLikelihood` uses to undo the censoring of ``won`` (decision 0027).
        - ``close_deadline``, ``close_outcome`` (``won``, ``lost``, ``slipped`` or ``<NA>``) and ``slipped``
          (nullable boolean): was the deal won or lost by its expected close date as known at ``as_of``, or did
          it slip past it? When that date has already passed at ``as_of`` (or there is none), the deadline is
          ``as_of + horizon_days``. ``<NA>`` when the deadline is after ``observed_until`` and the deal was
          still open then.

        ``frame.attrs`` holds ``features`` (the :data:`FEATURES` list), ``horizon_days``, ``observed_until``,
        ``rows_per_as_of`` (rows at each as-of moment, censored ones included),
        ``stages`` and ``commit_stage``.

    Notes
    -----
    Deal attributes (``owner``, ``team``) come from the deals table, which holds their latest value only; they
    are taken as known throughout. ``amount`` is the amount at each as-of moment when the log has an amount
    history (:func:`~salesmetrics.log.prepare.amount_at`, decision 0054), else the deals table's. Everything else
    is computed from events at or before each as-of moment: the features of a row equal those of the metric
    functions run on ``truncate(log, as_of)``.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.read_log("datasets/demo")
    >>> snap = snapshots(log, as_of=["2024-06-30", "2024-12-31"])
    >>> snap.groupby("as_of").size().tolist()
    [124, 148]
    >>> row = snap.iloc[0]
    >>> row["deal_id"], row["stage"], int(row["close_date_pushes"]), bool(row["stalled"]), row["outcome"]
    ('D000001', 'Commit', 5, False, 'won')
    """
    if isinstance(log, (str, os.PathLike)):  # a folder's path: built part by part, here or on the client's workers
        options = {"as_of": as_of, "freq": freq, "horizon_days": horizon_days, "start": start, "end": end}
        return snapshot_parts(log, **options, observed_until=observed_until, client=client)
    if client is not None:
        raise UsageError("a client builds the snapshots of a log folder's parts: pass the folder's path, not a log.")
    horizon = check_horizon(horizon_days)
    if observed_until is not None:
        observed = resolve_as_of(log, observed_until)
        log = truncate(log, observed)
    else:
        observed = resolve_as_of(log, None)
    if not len(log.stage_changes):
        raise UsageError(NO_STAGE_CHANGES)
    dates = resolve_dates(log.model.timezone, first_event(log), latest_event(log), as_of, freq, start, end)
    return snapshot_rows(log, dates, horizon, observed)


__all__ = ["FEATURES", "FREQS", "LABELS", "as_of_dates", "snapshots"]
