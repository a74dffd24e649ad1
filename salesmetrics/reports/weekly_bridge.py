"""The weekly review's bridge: the open pipeline from the start of the window to its end, in money.

Every open deal whatever its close date (``pipeline="all"``), each flow of a deal a step (``classify="flows"``),
each amount as of its moment; :func:`window_bridge` returns the table the ``weekly_review`` report shows.
Definitions: ``docs/metrics.md`` ("Pipeline waterfall and bridge"); the choice: decision 0054.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from salesmetrics.exceptions import CurrencyError, DataNote
from salesmetrics.log.coverage import Note
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.flows import waterfall

# the bridge's steps, in the order a finance reader adds them up: the flows that change the open pipeline
BRIDGE_STEPS = (
    ("created", "created"),
    ("reopened", "reopened"),
    ("expanded", "amount raised"),
    ("contracted", "amount lowered"),
    ("won", "won"),
    ("lost", "lost"),
)


@dataclass(frozen=True)
class WindowBridge:
    """The bridge table (None when there is none), what to say about it, and the currency of its amounts."""

    table: pd.DataFrame | None
    note: str
    currency: str | None = None

    def shown(self):
        """The table, or a :class:`~salesmetrics.log.coverage.Note` saying why there is none."""
        return self.table if self.table is not None else Note(self.note)


def window_bridge(log: SalesLog, start: pd.Timestamp, as_of: pd.Timestamp, rates=None) -> WindowBridge:
    """The open pipeline's bridge over (start, as_of], in money: every open deal whatever its close date, each
    flow of a deal a step (``waterfall(pipeline="all", classify="flows", since=start)``, decision 0054), each
    amount as of its moment. The table has ``step, deals, amount``: the open pipeline at the start and at the
    end, and between them the deals with each step and the amount it added (+) or took away (-).

    ``log`` is the log the review reads (already restricted to an owner or team); ``start`` and ``as_of`` are
    the review's :attr:`~salesmetrics.reports.weekly.WeeklyReview.start` and ``as_of``; ``rates`` converts deals
    in several currencies (the report's ``rates`` parameter, ``"EUR=1.08,GBP=1.25"``, or a dict; as ``waterfall``).
    """
    if "amount" not in log.deals or not log.deals["amount"].notna().any():
        return WindowBridge(None, "The deals have no amount, so there is no bridge in money.")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataNote)
            w = waterfall(log, as_of, pipeline="all", classify="flows", since=start, rates=rates)
    except CurrencyError as exc:  # several currencies and no rates: never added up
        return WindowBridge(None, str(exc))
    said = " ".join(str(c.message) for c in caught if issubclass(c.category, DataNote))
    if w.bridge.empty:
        return WindowBridge(None, "No deal was open in the window.", w.currency)
    b = w.bridge.iloc[0]
    rows = [("open at the start", int(b["opening_count"]), float(b["opening_amount"]))]
    for bucket, words in BRIDGE_STEPS:  # deals with the step; the amount it added (+) or took away (-)
        if b[f"{bucket}_deals"]:
            rows.append((words, int(b[f"{bucket}_deals"]), float(b[f"{bucket}_amount"])))
    rows.append(("open at the end", int(b["closing_count"]), float(b["closing_amount"])))
    return WindowBridge(pd.DataFrame(rows, columns=["step", "deals", "amount"]), said, w.currency)


__all__ = ["BRIDGE_STEPS", "WindowBridge", "window_bridge"]
