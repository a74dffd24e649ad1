"""Reading a log folder: through the relational core when it vouches for the log, else through validation.

:func:`read_log` is what ``sm.read_log`` runs. When the relational core (:mod:`salesmetrics.log.core`) vouches for
the log and the quick check (:mod:`salesmetrics.log.quick_check`) finds exactly the warnings validation would, the
tables come from DuckDB through Arrow, typed and deduplicated as validation types them, with the same warnings;
otherwise (the core declines, the log has errors, the answer could differ) pandas reads and validates it as before
(:func:`~salesmetrics.log.saleslog.check_log`), naming each problem with file, row, column and value. Either way
the log is the same, frame for frame (decision 0049).

:func:`log_for_report` is the reports' pre-flight check: the log's deals and latest event without the activities
as pandas frames.
"""

from __future__ import annotations

import os
from contextlib import suppress

import pandas as pd

from salesmetrics.exceptions import LogValidationError, UsageError
from salesmetrics.log.prepare import resolve_as_of
from salesmetrics.log.quick_check import core_tables
from salesmetrics.log.saleslog import SalesLog, check_log, log_from_tables


def _through_core(path: str | os.PathLike, activities: bool) -> tuple[SalesLog, int | None] | None:
    """The log as validation would read it (without its activities unless ``activities``) and its latest event
    (microseconds since the epoch), from the relational core; None when the core cannot vouch for it."""
    read = core_tables(path, activities=activities)
    if read is None:
        return None
    model, frames, problems, latest = read
    return log_from_tables(model, frames, str(path), tuple(problems)), latest


def read_log(path: str | os.PathLike) -> SalesLog:
    """Read and validate a sales log folder.

    Raises :class:`~salesmetrics.exceptions.LogValidationError` listing every error (with file, row, column,
    value and what was expected) when the log cannot be used. Warnings are kept in ``log.problems``.

    A log the relational core vouches for is read by DuckDB (one pass over each file) and handed to pandas through
    Arrow; any other is read by pandas. The result is the same either way.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.read_log("datasets/demo")
    >>> [p.code for p in log.problems]
    []
    """
    read = _through_core(path, activities=True)
    if read is not None:
        return read[0]
    log, problems = check_log(path)
    if log is None:
        raise LogValidationError(str(path), problems)
    return log


def log_for_report(path: str | os.PathLike) -> tuple[SalesLog, pd.Timestamp | None]:
    """The reports' pre-flight check: the log, possibly without its activities (an empty table), and its latest
    event (created_at, stage, close-date and activity times) in the log's zone, None when nothing is dated.

    From the relational core when it vouches for the log, so ten million activities are not made into pandas
    frames only to be dropped again; else from :func:`~salesmetrics.log.saleslog.check_log`. Raises
    :class:`~salesmetrics.exceptions.LogValidationError` (every error, located) when the log cannot be used.
    """
    read = _through_core(path, activities=False)
    if read is not None:
        log, latest = read
        if latest is None:
            return log, None
        return log, pd.Timestamp(latest, unit="us", tz="UTC").tz_convert(log.model.timezone)
    log, problems = check_log(path)
    if log is None:
        raise LogValidationError(str(path), problems)
    with suppress(UsageError):  # no dated event at all
        return log, resolve_as_of(log, None)
    return log, None
