"""Checks of what ``salesmetrics model`` is given: the opt-in features of ``--include`` (decision 0064), a log
that has dates to build snapshots from, ``--start``/``--end`` within its stage changes, ``--as-of`` against them,
and evaluated rows inside the model's training window. On a Dask cluster the log is not read here: the checks take
the few values they need from passes over its parts (``docs/scale.md``)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from salesmetrics.exceptions import DataNote, UsageError
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


@dataclass(frozen=True)
class LogInputs:
    """What a model command holds of its log (:func:`read_here`): the log read here, or None on a Dask cluster,
    whose workers read the parts; the span of its dated stage changes (:func:`stage_span`); the client, if any;
    and what the snapshot builder is given (the log, or on a cluster the folder's path)."""

    log: object
    span: object
    client: object
    source: object


def read_here(path, where) -> LogInputs:
    """The log ``path`` as a model command needs it: read on this machine (``read_log``), or on a cluster
    (``where``, :func:`~salesmetrics.cli.flags.on_cluster`) not read at all, the checks here taking small values
    from passes over its parts (:func:`stage_span`, :func:`stage_model`, :func:`as_of_moment`)."""
    client = None if where is None else where.client
    log = None
    if where is None:
        from salesmetrics.log.reading import read_log

        log = read_log(path)
    span = stage_span(log, path=path, client=client)
    return LogInputs(log, span, client, path if log is None else log)


def stage_model(log, path):
    """The log's stage model: the log's own, or (``log`` None) that of the config every part of ``path`` carries."""
    if log is not None:
        return log.model
    from salesmetrics.metrics.scale import parts_and_model

    return parts_and_model(path)[1]


def as_of_moment(text, span, log, *, path, client):
    """``--as-of`` as the log reads it: a given moment in its zone; without one, its latest event (of the log read
    here, or from a pass over the parts of ``path`` on the workers of ``client``)."""
    if text is not None:
        return span.resolve(text)
    from salesmetrics.metrics.scale import latest_event_of

    return latest_event_of(path if log is None else log, client=client)


def note_in_sample(rows, window: dict, since) -> None:
    """A data note when some evaluated rows have as-of dates inside the model's training window (decision 0030)."""
    import warnings

    import pandas as pd

    first, last = window.get("first_as_of"), window.get("last_as_of")
    if since is None or first is None or last is None or not len(rows):
        return
    as_of = pd.to_datetime(rows["as_of"])
    lo, hi = pd.Timestamp(first), pd.Timestamp(last)
    if as_of.dt.tz is not None:
        lo = lo.tz_localize("UTC") if lo.tzinfo is None else lo
        hi = hi.tz_localize("UTC") if hi.tzinfo is None else hi
    inside = int(((as_of >= lo) & (as_of <= hi)).sum())
    if inside:
        clean = window.get("labels_until") or last
        warnings.warn(
            f"{inside:,} of the {len(rows):,} evaluated snapshot rows have as-of dates inside the model's training "
            f"window ({lo:%Y-%m-%d} to {hi:%Y-%m-%d}), so they score rows the model learned from and flatter it; "
            f"for an out-of-sample score use --since {pd.Timestamp(clean):%Y-%m-%d} or later (the default).",
            DataNote,
            stacklevel=2,
        )


def check_as_of(span, as_of, text, horizon_days: float) -> None:
    """Refuse an as-of before the log's first stage change; note one far past its last (extrapolated features)."""
    import warnings

    import pandas as pd

    first, last = span.first, span.last
    if first is None or text is None:
        return
    if as_of < first:
        raise UsageError(
            f"--as-of {text} is before the log's first stage change ({first:%Y-%m-%d}), so no deal is open then; "
            f"give a date from {first:%Y-%m-%d} to {last:%Y-%m-%d}."
        )
    days = (as_of - last) / pd.Timedelta(days=1)
    if days > horizon_days:
        warnings.warn(
            f"--as-of {text} is {days:,.0f} days after the log's last stage change ({last:%Y-%m-%d}), more than the "
            f"model's {horizon_days:g}-day horizon: the features are extrapolated past the data (days since the "
            "last movement or activity keep growing with no data behind them), so the risks are not a forecast.",
            DataNote,
            stacklevel=2,
        )


__all__ = [
    "LogInputs",
    "as_of_moment",
    "check_as_of",
    "check_window",
    "included",
    "note_in_sample",
    "opt_in_feature",
    "read_here",
    "require_dates",
    "stage_model",
    "stage_span",
]
