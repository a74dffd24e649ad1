"""Checks of what ``salesmetrics model`` is given: the opt-in features of ``--include`` (decision 0064), and a
log that has dates to build snapshots from."""

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


__all__ = ["included", "opt_in_feature", "require_dates"]
