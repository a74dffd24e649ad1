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


def require_dates(log, path, what: str) -> None:
    """Refuse a log without any dated stage change (a win-loss export) in words: it has no snapshots to ``what``
    (train on, evaluate on, backtest), whatever ``--as-of`` or ``--start`` would say."""
    if not log.stage_changes["changed_at"].notna().any():
        raise UsageError(
            f"{path} has no dated stage change, so it has no snapshots to {what}: a stall or won model "
            "learns from deals as they stood at past dates. Win rates by segment need no dates: salesmetrics "
            f"report pipeline_health {path} --out DIR."
        )


def event_range(log):
    """(first, last) dated stage change of the log, or (None, None)."""
    times = log.stage_changes["changed_at"].dropna() if len(log.stage_changes) else None
    if times is None or not len(times):
        return None, None
    return times.min(), times.max()


def check_window(log, start, end) -> None:
    """Refuse ``--end`` before the log's first stage change and ``--start`` after its last, naming them."""
    import pandas as pd

    from salesmetrics.log.prepare import resolve_as_of

    first, last = event_range(log)
    if first is None:
        return
    if end is not None and resolve_as_of(log, end) < first:
        raise UsageError(
            f"--end {end} is before the log's first stage change ({first:%Y-%m-%d}); give an --end after it."
        )
    if start is not None and resolve_as_of(log, start) - pd.Timedelta(days=1) > last:
        raise UsageError(
            f"--start {start} is after the log's last stage change ({last:%Y-%m-%d}); give a --start before it."
        )


__all__ = ["check_window", "event_range", "included", "opt_in_feature", "require_dates"]
