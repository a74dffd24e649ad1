"""Scores of a partitioned log, part by part, on a Dask cluster or on this machine (``docs/scale.md``).

A partitioned log (:mod:`salesmetrics.log.partitioned`) keeps each deal's rows in one part, and each part is a log
folder the engine scores on its own. :func:`score_parts` runs in three steps:

1. **First pass** (only when ``as_of`` is not given): the latest event of each part
   (:func:`~salesmetrics.metrics._engine.latest_event_of_folder`); the largest is the log's default as_of. It is the
   only value the per-deal scores need from the whole log: the stage order and vocabularies come from the config
   every part carries, and nothing else in ``score`` looks across deals (no percentile or threshold).
2. **One task per part** at that as_of: the engine's per-deal query
   (:func:`~salesmetrics.metrics._engine.deal_scores_of_folder`), or for owner and team scores the engine's
   per-deal-and-period pieces (:func:`~salesmetrics.metrics._engine_groups.group_pieces_of_folder`). A part the
   core cannot vouch for is read and validated with pandas on the worker, as a whole log would be: its errors are
   raised on the client, each located in its part's file; its warnings are not shown, as a run on the whole log
   shows none (decision 0067).
3. **Combine**: per deal, the parts' rows end to end (the order of a log that holds the parts end to end, which is
   how :func:`~salesmetrics.log.reading.read_log` reads a partitioned log); per group, the parts' pieces summed by
   the whole log's own queries (:func:`~salesmetrics.metrics._engine_groups.group_scores_of_pieces`) on the client.

Every warning a task raises (a :class:`~salesmetrics.exceptions.DataNote` a metric raises) is caught where it
runs and sent back with the result; the client shows each once, however many passes or parts raised it.
With a ``dask.distributed.Client`` the tasks run on its workers (a worker lost mid-run has its tasks run again
elsewhere: each task only reads files); without one they run here, one after another, by the same functions. So
the two give the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from salesmetrics.exceptions import ClusterError, DataNote, LogValidationError, ProblemList, UsageError
from salesmetrics.log.config import load_config
from salesmetrics.log.partitioned import is_partitioned, read_manifest
from salesmetrics.log.prepare import (
    NO_DATED_EVENTS,
    StageChangeRange,
    latest_event,
    resolve_as_of,
    stage_change_range,
)
from salesmetrics.log.reading import in_part, read_log
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics._engine import (
    deal_scores_of_folder,
    deal_scores_table,
    latest_event_of_folder,
    stage_change_range_of_folder,
)
from salesmetrics.metrics._engine_groups import (
    as_of_text,
    group_pieces_of_folder,
    group_pieces_of_log,
    group_scores_of_pieces,
)
from salesmetrics.metrics._group_notes import no_group_error, note_empty, note_no_close_date_changes
from salesmetrics.metrics.movement import note_deals_left_out
from salesmetrics.metrics.score_inputs import as_of_microseconds, check_by_period, undated_deals

CONNECT_SECONDS = 10  # how long to try to reach a scheduler before saying it cannot be reached


@dataclass(frozen=True)
class Cluster:
    """Where a run goes: the Dask client, the scheduler's address and its number of workers."""

    client: object
    address: str
    workers: int

    def __str__(self) -> str:
        return f"{self.address} ({self.workers} worker{'s' if self.workers != 1 else ''})"


@contextlib.contextmanager
def cluster(scheduler: str | None = None, workers: int | None = None) -> Iterator[Cluster]:
    """A Dask client for a run: connected to the running scheduler at ``scheduler`` (``tcp://host:8786``), or to a
    LocalCluster of ``workers`` processes (one thread each) started for the run and stopped after it.

    A scheduler that cannot be reached within :data:`CONNECT_SECONDS` is a :class:`ClusterError` naming it.
    """
    if (scheduler is None) == (workers is None):
        raise UsageError("give either a scheduler address (--scheduler tcp://host:8786) or a number of workers.")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UsageError(f"workers must be a whole number of at least 1, not {workers!r}.")
    try:
        import distributed
    except ImportError as exc:
        raise UsageError("running on a cluster needs dask: pip install 'salesmetrics[scale]'.") from exc
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)  # the run's own lines, not the cluster's chatter
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_SECONDS} s ({exc}). Start one with "
                "`dask scheduler` and `dask worker ADDRESS`, check the address, or use --workers N for a local one."
            ) from exc
        with client:
            yield Cluster(client, scheduler, len(client.scheduler_info()["workers"]))
        return
    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # no dashboard; the scheduler's own HTTP server on a free local port, not 8787
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as local,
        distributed.Client(local, set_as_default=False) as client,
    ):
        yield Cluster(client, local.scheduler_address, workers)


def score_parts(path, as_of=None, *, by: str = "deal", period: str = "M", client=None):
    """Score the partitioned log ``path`` (a plain log folder is one part) per deal, or per owner or team and
    period, as :func:`salesmetrics.metrics.scoring.score` scores the log the parts make end to end. A pandas frame.

    ``client``: a ``dask.distributed.Client`` whose workers score the parts (they must see ``path`` at the same
    place, e.g. a shared or network file system); None scores them here. ``as_of``: ISO 8601 text, a date or a
    timestamp (default: the latest event of the whole log).

    >>> import tempfile, pathlib
    >>> from salesmetrics.log.partition import partition_log
    >>> parts = partition_log("datasets/demo", pathlib.Path(tempfile.mkdtemp()) / "parts", 3).folder
    >>> len(score_parts(parts, "2024-06-30"))
    677
    """
    check_by_period(by, period)
    parts, model = parts_and_model(path)
    run = Runner(client)
    scores = _score(run, parts, model, as_of, by, period)
    run.show_notes(stacklevel=2)  # the caller of score_parts, as the notes _score raises
    return scores


def stage_change_range_of(log, *, client=None) -> StageChangeRange:
    """The :class:`~salesmetrics.log.prepare.StageChangeRange` of a ``SalesLog``, or of a log folder's path by
    :func:`stage_change_range_of_parts` (on the workers of ``client``; the log is not read here whole)."""
    if isinstance(log, SalesLog):
        return stage_change_range(log)
    return stage_change_range_of_parts(log, client=client)


def latest_event_of(log, *, client=None):
    """``resolve_as_of(log, None)``, the latest event, of a ``SalesLog``, or of a log folder's path from
    :func:`score_parts`' first pass (each part's latest event, on the workers of ``client``; the log is not read
    here whole). A log without any dated event is the UsageError ``resolve_as_of`` raises."""
    if isinstance(log, SalesLog):
        return resolve_as_of(log, None)
    parts, model = parts_and_model(log)
    run = Runner(client)
    latest = _latest_of_parts(run, parts, model)
    run.show_notes(stacklevel=2)
    return _instant(latest, model.timezone)


def _latest_of_parts(run, parts: list[Path], model) -> int:
    """The latest event of the parts together (microseconds since the epoch), from a pass of ``run``; the
    UsageError :func:`~salesmetrics.log.prepare.resolve_as_of` raises when no part has a dated event (a part
    without one is no error when another has)."""
    found = [t for t in run(_latest_event_or_none, [(part, model) for part in parts]) if t is not None]
    if not found:
        raise UsageError(NO_DATED_EVENTS)
    return max(found)


def stage_change_range_of_parts(path, *, client=None) -> StageChangeRange:
    """The :class:`~salesmetrics.log.prepare.StageChangeRange` of the partitioned log ``path`` (a plain log folder
    is one part): that of ``read_log(path)``, from a small pass that sends two times per part to the caller. Each
    part is loaded and checked by the relational core on a worker of ``client`` (here without one), or read and
    validated with pandas there when the core cannot vouch for it; its notes are shown here.

    >>> import tempfile, pathlib
    >>> from salesmetrics.log.partition import partition_log
    >>> parts = partition_log("datasets/demo", pathlib.Path(tempfile.mkdtemp()) / "parts", 3).folder
    >>> span = stage_change_range_of_parts(parts)
    >>> f"{span.first:%Y-%m-%d} {span.last:%Y-%m-%d}"
    '2024-01-01 2025-06-30'
    """
    parts, model = parts_and_model(path)
    run = Runner(client)
    dated = [times for times in run(_stage_change_range, [(part, model) for part in parts]) if times[0] is not None]
    run.show_notes(stacklevel=2)
    tz = model.timezone
    if not dated:
        return StageChangeRange(None, None, tz)
    first, last = min(t for t, _ in dated), max(t for _, t in dated)
    return StageChangeRange(_instant(first, tz), _instant(last, tz), tz)


def _instant(microseconds: int, tz: str):
    """Microseconds since the epoch as a timestamp in the zone ``tz``."""
    import pandas as pd

    return pd.Timestamp(int(microseconds), unit="us", tz="UTC").tz_convert(tz)


def parts_and_model(path) -> tuple[list[Path], object]:
    """The part folders of the log folder ``path`` (a plain log folder is its one part) and the stage model of
    their config (every part carries the same); a config with errors is reported as any command reports it."""
    path = Path(path)
    parts = read_manifest(path).parts if is_partitioned(path) else [path]
    model, problems = load_config(parts[0])
    if model is None or any(p.severity == "error" for p in problems):
        read_log(parts[0])  # the config's problems, located
    return parts, model


def _score(run, parts: list[Path], model, as_of, by: str, period: str):
    """:func:`score_parts` once the parts, their stage model and the runner are known."""
    if as_of is None:
        as_of_us = _latest_of_parts(run, parts, model)
    else:
        as_of_us = as_of_microseconds(as_of if isinstance(as_of, str) else _as_text(as_of), model.timezone)
    if by == "deal":
        import pyarrow as pa

        scored = run(_part_deal_scores, [(part, model, as_of_us) for part in parts])
        frame = pa.concat_tables([table for table, _, _ in scored]).to_pandas()
        deals = sum(n for _, n, _ in scored)
        if len(frame) < deals:  # as score says it of a whole log
            undated = sum(n for _, _, n in scored)
            note_deals_left_out(deals, len(frame), undated, as_of_text(as_of_us, model.timezone), stacklevel=4)
        return frame
    pieces = run(_part_pieces, [(part, model, by, period, as_of_us) for part in parts])
    if not sum(p.close_date_changes for p in pieces):
        note_no_close_date_changes(stacklevel=3)
    table = group_scores_of_pieces(pieces, by, period)
    if table is None:
        raise no_group_error(by)
    frame = table.to_pandas()
    if frame.empty:
        note_empty(as_of_text(as_of_us, model.timezone), stacklevel=3)
    return frame


def _as_text(as_of) -> str:
    """A date, datetime or pandas timestamp as ISO text (a date alone stays a date: the end of that day)."""
    return as_of.isoformat() if hasattr(as_of, "isoformat") else str(as_of)


class Runner:
    """``run(function, argument tuples)``: the results in order, from the client's workers or computed here, each
    task run by :func:`_noted` so that its warnings come back either way. :meth:`show_notes` then shows each
    distinct one once (several passes may raise the same note)."""

    def __init__(self, client) -> None:
        self.client = client
        self.notes: dict[tuple, None] = {}  # (category, text), in the order they came

    def __call__(self, function, items) -> list:
        if self.client is None:
            replies = [_noted(function, *item) for item in items]
        else:
            replies = self.client.gather([self.client.submit(_noted, function, *item, pure=False) for item in items])
        return [self._kept(reply) for reply in replies]

    def _kept(self, reply: _Reply):
        """A part's result, its notes kept; a :class:`Refused` part raised as the LogValidationError it was."""
        if isinstance(reply.value, Refused):
            raise LogValidationError(reply.value.path, reply.value.problems)
        self.notes.update(dict.fromkeys(reply.notes))
        return reply.value

    def share(self, value):
        """``value`` for the tasks of a pass that all take it: sent to every worker once (a future the tasks
        receive as the value), not once per task; the value itself without a client."""
        return value if self.client is None else self.client.scatter(value, broadcast=True)

    def show_notes(self, stacklevel: int) -> None:
        for category, text in self.notes:
            warnings.warn(text, category, stacklevel=stacklevel + 1)


@dataclass(frozen=True)
class _Reply:
    """What a task sends back: its result, and the warnings it raised as (category, text) pairs."""

    value: object
    notes: tuple


def _noted(function, *args) -> _Reply:
    """Run a task, catching the warnings it raises (a worker's own would be lost) to send them with its result:
    every DataNote; any other warning as the filters in force let it through (no ignored DeprecationWarning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataNote)
        value = function(*args)
    return _Reply(value, tuple((w.category, str(w.message)) for w in caught))


@dataclass(frozen=True)
class Refused:
    """A part's validation errors, sent back as a value (an exception with its own arguments does not pickle)."""

    path: str
    problems: object


def validated_part(part: Path):
    """The part read and validated with pandas (the core stepped aside): its log, or :class:`Refused` (its errors,
    each located in its part's file: ``part-00001/stage_changes.csv, row 2``). Its warnings stay in the log's
    ``problems`` and are not shown, as a command on the whole log shows none (decision 0067): ``salesmetrics
    validate`` lists them."""
    try:
        return read_log(part)
    except LogValidationError as exc:
        return Refused(str(part.parent), ProblemList([in_part(problem, part) for problem in exc.problems]))


def _threads() -> int:
    """DuckDB threads of a task: the worker's own (Dask sets ``OMP_NUM_THREADS`` per worker), else DuckDB's."""
    return int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or None


def _core_or_pandas(part: Path, found, of_log):
    """A task's answer for ``part``: ``found``, the relational core's (None: the core leaves the part to
    validation), else ``of_log`` of the part read and validated with pandas (or :class:`Refused`)."""
    if found is not None:
        return found
    log = validated_part(part)
    return log if isinstance(log, Refused) else of_log(log)


def _latest_event_or_none(part: Path, model):
    return _core_or_pandas(part, latest_event_of_folder(part, model, _threads()), _latest_microseconds)


def _latest_microseconds(log) -> int | None:
    latest = latest_event(log)
    return None if latest is None else latest.value // 1000


def _stage_change_range(part: Path, model):
    found = stage_change_range_of_folder(part, model, _threads())
    return _core_or_pandas(part, found, _micro_range)


def _micro_range(log) -> tuple[int | None, int | None]:
    span = stage_change_range(log)
    return (None, None) if span.first is None else (span.first.value // 1000, span.last.value // 1000)


def _part_deal_scores(part: Path, model, as_of_us: int):
    found = deal_scores_of_folder(part, model, as_of_us, _threads())
    return _core_or_pandas(
        part, found, lambda log: (deal_scores_table(log, as_of_us), len(log.deals), undated_deals(log))
    )


def _part_pieces(part: Path, model, by: str, period: str, as_of_us: int):
    found = group_pieces_of_folder(part, model, by, period, as_of_us, _threads())
    return _core_or_pandas(part, found, lambda log: group_pieces_of_log(log, by, period, as_of_us))
