"""Checks of what ``salesmetrics model`` is given: the opt-in features of ``--include`` (decision 0064), a log
that has dates to build snapshots from, and ``--start``/``--end`` within its stage changes."""

from __future__ import annotations

import argparse

from salesmetrics.exceptions import UsageError
from salesmetrics.features.registry import OPT_IN


def opt_in_feature(text: str) -> str:
    """An argparse type: an opt-in snapshot feature name, or ``all``.

    >>> opt_in_feature("motion_trend")
    'motion_trend'
    """
    if text in OPT_IN or text == "all":
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not an opt-in feature; choose from all, {', '.join(OPT_IN)}")


def included(names):
    """``--include`` as an estimator's ``include``: None, ``"all"``, or the names once each.

    >>> included(None), included(["motion_trend", "all"]), included(["motion_trend", "motion_trend"])
    (None, 'all', ['motion_trend'])
    """
    if not names:
        return None
    return "all" if "all" in names else list(dict.fromkeys(names))


def require_dates(span, path, what: str) -> None:
    """Refuse a log without any dated stage change (a win-loss export) in words: it has no snapshots to ``what``
    (train on, evaluate on, backtest), whatever ``--as-of`` or ``--start`` would say. ``span``: the log's
    :class:`~salesmetrics.log.prepare.StageChangeRange` (:func:`stage_span`)."""
    if span.first is None:
        raise UsageError(
            f"{path} has no dated stage change, so it has no snapshots to {what}: a stall or won model "
            "learns from deals as they stood at past dates. Win rates by segment need no dates: salesmetrics "
            f"report pipeline_health {path} --out DIR."
        )


def stage_span(log=None, *, path=None, client=None):
    """The :class:`~salesmetrics.log.prepare.StageChangeRange` the checks here read: of a log read here, or of
    the log folder ``path`` from a part-by-part pass on the workers of ``client`` (the whole log never comes here).
    """
    from salesmetrics.metrics.scale import stage_change_range_of

    return stage_change_range_of(path if log is None else log, client=client)


def check_window(span, start, end) -> None:
    """Refuse ``--end`` before the log's first stage change and ``--start`` after its last, naming them."""
    import pandas as pd

    first, last = span.first, span.last
    if first is None:
        return
    if end is not None and span.resolve(end) < first:
        raise UsageError(
            f"--end {end} is before the log's first stage change ({first:%Y-%m-%d}); give an --end after it."
        )
    if start is not None and span.resolve(start) - pd.Timedelta(days=1) > last:
        raise UsageError(
            f"--start {start} is after the log's last stage change ({last:%Y-%m-%d}); give a --start before it."
        )


__all__ = ["check_window", "included", "opt_in_feature", "require_dates", "stage_span"]
