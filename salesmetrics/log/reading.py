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
from dataclasses import replace
from pathlib import Path

import pandas as pd

from salesmetrics.exceptions import LogValidationError, ProblemList, UsageError
from salesmetrics.log.partitioned import is_partitioned, read_manifest
from salesmetrics.log.prepare import resolve_as_of
from salesmetrics.log.quick_check import core_tables, validate
from salesmetrics.log.saleslog import LogSummary, SalesLog, check_log, log_from_tables, summary_of_parts


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

    A partitioned log (``salesmetrics partition``, :mod:`salesmetrics.log.partitioned`) is read part by part and
    its parts put end to end, in part order.
    """
    if is_partitioned(path):
        return _read_parts(path)
    read = _through_core(path, activities=True)
    if read is not None:
        return read[0]
    log, problems = check_log(path)
    if log is None:
        raise LogValidationError(str(path), problems)
    return log


def in_part(problem, part) -> object:
    """``problem`` with its file named inside the part folder ``part`` (``part-00003/deals.parquet``)."""
    return replace(problem, file=f"{Path(part).name}/{problem.file}") if problem.file else problem


def _read_parts(path, read_part=None) -> SalesLog:
    """The partitioned log ``path``: every part read and validated by ``read_part`` (:func:`read_log` when None;
    every error of every part reported, each located in its part's file), then their tables put end to end, each
    table's index its position in the whole."""
    read_part = read_part or read_log
    manifest = read_manifest(path)
    logs, problems = [], ProblemList()
    for part in manifest.parts:
        try:
            log = read_part(part)
        except LogValidationError as exc:
            for problem in exc.problems:
                problems.add(in_part(problem, part))
            continue
        logs.append(log)
        for problem in log.problems:
            problems.add(in_part(problem, part))
    if problems.errors or not logs:
        raise LogValidationError(str(path), problems)

    def joined(name: str):
        frames = [getattr(log, name) for log in logs if getattr(log, name) is not None]
        return pd.concat(frames, ignore_index=True) if frames else None

    tables = {name: joined(name) for name in ("deals", "stage_changes", "activities", "close_date_changes")}
    return SalesLog(
        logs[0].model, **tables, source=str(path), problems=tuple(problems), amount_changes=joined("amount_changes")
    )


def read_log_without_activities(path: str | os.PathLike) -> SalesLog:
    """The log ``path`` validated as :func:`read_log` validates it, with an empty table of activities: for a reader
    that needs no activities (a bridge in money, the deals' owners), since they are the big table. A partitioned
    log is read part by part, every part's problems located in its files, and put end to end.

    Each part's activities are read and checked by the relational core (not kept) when it vouches for the part;
    else by pandas, and then dropped.

    >>> log = read_log_without_activities("datasets/demo")
    >>> len(log.activities), len(log.stage_changes) == len(read_log("datasets/demo").stage_changes)
    (0, True)
    """
    if is_partitioned(path):
        return _read_parts(path, read_log_without_activities)
    read = _through_core(path, activities=False)
    if read is not None:
        return read[0]
    log = read_log(path)
    return replace(log, activities=log.activities.iloc[:0])


def validate_log(folder) -> tuple[LogSummary | None, ProblemList]:
    """What ``salesmetrics validate`` reports of a log folder: its summary (None when the log has errors) and its
    problems (:func:`salesmetrics.log.quick_check.validate`); a partitioned log part by part, each problem located
    in its part's file."""
    if not is_partitioned(folder):
        return validate(folder)
    summaries, problems = [], ProblemList()
    for part in read_manifest(folder).parts:  # one part at a time: the whole log is never in memory
        summary, found = validate(part)
        for problem in found:
            problems.add(in_part(problem, part))
        if summary is not None:
            summaries.append(summary)
    if problems.errors or not summaries:
        return None, problems
    return summary_of_parts(summaries, problems), problems


def deals_of_parts(path: str | os.PathLike) -> SalesLog:
    """The partitioned log ``path``'s deals, every part checked as :func:`log_for_report` checks a log (each
    problem located in its part's file), its other tables empty: what a report's parameters are checked against
    when a cluster computes the page, without holding the log's events here."""

    def read_part(part):
        log, _ = log_for_report(part)
        return replace(
            log,
            stage_changes=log.stage_changes.iloc[:0],
            close_date_changes=log.close_date_changes.iloc[:0],
            amount_changes=None,
        )

    return _read_parts(path, read_part)


def log_for_report(path: str | os.PathLike) -> tuple[SalesLog, pd.Timestamp | None]:
    """The reports' pre-flight check: the log, possibly without its activities (an empty table), and its latest
    event (created_at, stage, close-date and activity times) in the log's zone, None when nothing is dated.

    From the relational core when it vouches for the log, so ten million activities are not made into pandas
    frames only to be dropped again; else from :func:`~salesmetrics.log.saleslog.check_log`. Raises
    :class:`~salesmetrics.exceptions.LogValidationError` (every error, located) when the log cannot be used.
    """
    if is_partitioned(path):  # each part checked as a log is here, without its activities, put end to end
        moments = []

        def read_part(part):
            log, latest = log_for_report(part)
            moments.append(latest)
            return replace(log, activities=log.activities.iloc[:0])

        log = _read_parts(path, read_part)
        dated = [moment for moment in moments if moment is not None]
        return log, max(dated) if dated else None
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
