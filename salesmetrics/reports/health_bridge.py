"""The bridge in money of the pipeline health page: the latest period's pipeline, what each kind of move added or
took away, and what it closed with, per owner or team (``waterfall(...).bridge``), with the notes the waterfall
raised or the reason it could not add the amounts up.

One machine computes it from the log (:func:`~salesmetrics.metrics.flows.waterfall`); a Dask cluster from the
parts' pieces (:func:`~salesmetrics.metrics.flows.bridge_of_pieces`, in
:func:`~salesmetrics.reports.health_parts.report_parts`). Both go through :func:`money_bridge`, so the page shows
the same thing either way.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from salesmetrics.exceptions import CurrencyError, DataNote
from salesmetrics.log.coverage import LogCoverage
from salesmetrics.metrics.flows import BUCKETS


@dataclass(frozen=True)
class MoneyBridge:
    """The latest period's bridge in money (``table``: the group, the period, the opening amount, the amount of each
    kind of move that happened, the closing amount), its ``currency`` and the waterfall's ``notes``; or, when the
    deals' amounts cannot be added up (several currencies), ``refused``: why."""

    pipeline: str
    table: pd.DataFrame | None = None
    currency: str | None = None
    notes: tuple[str, ...] = ()
    refused: str | None = None


def bridge_pipeline(coverage: LogCoverage) -> str | None:
    """The pipeline the page's bridge shows: ``due`` (deals expected to close by the period's end), ``all`` when the
    log has no close dates (no deal is ever due: decision 0054), None when it has no dates or no amounts (no bridge).

    >>> from salesmetrics.log.coverage import LogCoverage
    >>> bridge_pipeline(LogCoverage(3, 4, 5, 1, 0, 2, 3, None, "full", True))
    'all'
    """
    if coverage.missing("dates", "amounts"):
        return None
    return "due" if coverage.has("close_dates") else "all"


def money_bridge(waterfall: Callable[[], object], by: str, pipeline: str) -> MoneyBridge:
    """The :class:`MoneyBridge` of the waterfall ``waterfall()`` computes (anything with ``bridge`` and
    ``currency``): its notes about the data kept as text, a :class:`CurrencyError` kept as the reason."""
    try:
        with warnings.catch_warnings(record=True) as caught:  # notes about the data are shown, not printed
            warnings.simplefilter("always", DataNote)
            w = waterfall()
    except CurrencyError as exc:  # deals in several currencies: say so instead of adding them up
        return MoneyBridge(pipeline, refused=str(exc))
    bridge = w.bridge
    latest = bridge[bridge["period_index"] == bridge["period_index"].max()]
    moves = [f"{b}_amount" for b in BUCKETS if latest[f"{b}_amount"].any()]
    table = latest[[by, "period", "opening_amount", *moves, "closing_amount"]].reset_index(drop=True)
    notes = tuple(str(n.message) for n in caught if issubclass(n.category, DataNote))
    return MoneyBridge(pipeline, table, w.currency, notes)


__all__ = ["MoneyBridge", "bridge_pipeline", "money_bridge"]
