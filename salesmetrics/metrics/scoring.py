"""``score``: movement, motion and slippage per deal, or per owner or team and period (``salesmetrics score``).

Definitions: ``docs/metrics.md``. Per deal, every log goes through the engine's one DuckDB query
(:mod:`salesmetrics.metrics._engine`): a log folder straight from its files (:mod:`salesmetrics.log.core`), an
in-memory log through Arrow. Group scores too: per-deal-and-period pieces summed per owner or team
(:mod:`salesmetrics.metrics._engine_groups`). Heavy libraries are imported inside the functions, so the command
line starts fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from salesmetrics._util.atomic import writing
from salesmetrics._util.renamed import as_of_after_log, warn_old_spelling
from salesmetrics.exceptions import OutputError, UsageError
from salesmetrics.metrics._engine import deal_scores_frame, deal_scores_to_file, write_frame
from salesmetrics.metrics._engine_groups import group_scores_frame, group_scores_to_file
from salesmetrics.metrics._group_notes import no_group_error, note_empty, note_no_close_date_changes

# PERIODS and as_of_microseconds lived here first and are still imported from here (explicit re-exports)
from salesmetrics.metrics.score_inputs import BY, check_by_period, undated_deals
from salesmetrics.metrics.score_inputs import PERIODS as PERIODS
from salesmetrics.metrics.score_inputs import as_of_microseconds as as_of_microseconds

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from salesmetrics.log.saleslog import SalesLog

FORMATS = {".csv": "csv", ".parquet": "parquet"}


@as_of_after_log("by", "period", "as_of", not_as_of=BY)
def score(log: SalesLog, as_of=None, *, by: str = "deal", period: str = "M", client=None, **params) -> pd.DataFrame:
    """Score a log per deal, or per owner or team and period (``W``, ``M`` or ``Q`` in the log's time zone).

    ``by="deal"`` gives one row per deal known at ``as_of`` (``period`` is not used); ``by="owner"`` or
    ``"team"`` gives one row per group and period with movement counts, rates and the pipeline waterfall.
    ``as_of`` (default: the latest event) is the moment of scoring: nothing after it is seen.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.read_log("datasets/demo")
    >>> deals = score(log, as_of="2024-06-30")
    >>> list(deals.columns[:5])
    ['deal_id', 'owner', 'current_stage', 'is_open', 'age_days']
    >>> teams = score(log, by="team", period="Q", as_of="2024-06-30")
    >>> int(teams["movements"].sum()) == int(deals["movements"].sum())
    True

    ``log`` may also be the path of a log folder, typically a partitioned one (``salesmetrics partition``): its
    parts are scored one by one by the same engine, on the workers of ``client`` (a ``dask.distributed.Client``)
    when one is given, and combined (:func:`salesmetrics.metrics.scale.score_parts`, ``docs/scale.md``).

    >>> import tempfile, pathlib
    >>> from salesmetrics.log.partition import partition_log
    >>> parts = partition_log("datasets/demo", pathlib.Path(tempfile.mkdtemp()) / "parts", 2).folder
    >>> int(score(parts, "2024-06-30", by="team", period="Q")["movements"].sum()) == int(deals["movements"].sum())
    True
    """
    if params:
        raise UsageError(f"score() got unknown parameters: {', '.join(sorted(params))}.")
    check_by_period(by, period)
    if isinstance(log, (str, os.PathLike)):
        from salesmetrics.metrics.scale import score_parts

        return score_parts(log, as_of, by=by, period=period, client=client)
    if client is not None:
        raise UsageError("a client scores a log folder's parts: pass the folder's path (salesmetrics partition).")
    from salesmetrics.log.prepare import resolve_as_of
    from salesmetrics.metrics import movement

    as_of = resolve_as_of(log, as_of)  # once: everything below gets the moment itself
    if by == "deal":  # the engine's query over the log's frames (its pandas oracle: tests/oracle_movement.py)
        scores = deal_scores_frame(log, as_of.value // 1000)
        deals = log.deals
        if len(scores) < len(deals):  # rare: only then are the reasons counted
            # stacklevel 4: the caller of score, past the as_of_after_log wrapper
            movement.note_deals_left_out(len(deals), len(scores), undated_deals(log), as_of, stacklevel=4)
        return scores
    # per owner or team, the engine's queries too (their pandas oracle: tests/oracle_movement.py)
    if by not in log.deals.columns or not log.deals[by].notna().any():
        raise no_group_error(by)
    if not len(log.close_date_changes):
        note_no_close_date_changes(stacklevel=3)  # the caller of score, past the as_of_after_log wrapper
    scores = group_scores_frame(log, by, period or "M", as_of.value // 1000)
    if scores.empty:
        note_empty(f"{as_of:%Y-%m-%d %H:%M}", stacklevel=3)
    return scores


def deal_scores(log: SalesLog, as_of=None) -> pd.DataFrame:
    """Deprecated: ``score(log, as_of)``, the one name of per-deal scores (decision 0061); goes in 0.4.0."""
    warn_old_spelling("deal_scores(log, as_of) is now score(log, as_of)")
    return score(log, as_of)


@as_of_after_log("by", "period", "as_of", not_as_of=("owner", "team"))
def score_groups(log: SalesLog, as_of=None, *, by: str = "owner", period: str = "M") -> pd.DataFrame:
    """Deprecated: ``score(log, as_of, by=..., period=...)``, the one name of group scores (decision 0061); goes in
    0.4.0."""
    old = "score_groups(log, as_of, by=..., period=...) is now score(log, as_of, by=..., period=...)"
    warn_old_spelling(old, depth=2)  # past the as_of_after_log wrapper
    if by not in ("owner", "team"):
        raise UsageError(f"by {by!r} is not allowed; use owner or team (score(log) scores each deal).")
    return score(log, as_of, by=by, period=period)


def write_scores_fast(log_path: Path, model, *, by: str, period: str, as_of, as_of_us, out: Path, fmt: str) -> bool:
    """Score a Parquet log folder straight through DuckDB and write ``out``; False when the fast path steps aside.

    ``model`` is the log's stage model and ``as_of_us`` the moment of scoring in microseconds (None: the latest
    event). False means nothing was written: the caller reads the log with pandas and calls :func:`score`.
    """
    if by == "deal":
        with writing(out):
            done = _fast(deal_scores_to_file, log_path, model, as_of_us, out, fmt)
        return done is not None
    return _group_scores_fast(log_path, model, by, period, as_of, as_of_us, out, fmt)


def write_scores(result, out: Path, fmt: str) -> None:
    """Write the scores atomically; a full disk or a read-only folder is an OutputError naming ``out``."""
    import duckdb

    try:
        write_frame(result, out, fmt)
    except (OSError, duckdb.IOException) as exc:
        raise (exc if isinstance(exc, OutputError) else OutputError(out, exc)) from exc


def _fast(function, *args):
    """Run a fast-path function; a file DuckDB cannot read sends the caller to full validation (None)."""
    import duckdb

    try:
        return function(*args)
    except duckdb.Error:
        return None


def _group_scores_fast(
    log_path: Path, model, by: str, period: str, as_of, as_of_us: int | None, out: Path, fmt: str
) -> bool:
    """Score a log folder per owner or team and period in DuckDB and write ``out``; False when not possible.

    DuckDB loads and checks the log as validation would (:mod:`salesmetrics.log.core`), builds the per-deal and
    period pieces and sums them per group (:mod:`salesmetrics.metrics._engine_groups`); the pandas path
    (``score_groups`` of ``tests/oracle_movement.py``) is its test oracle. False (nothing written) when the
    engine cannot vouch for the log, or ``as_of`` is not text (the pandas path reads it).
    """
    if as_of is not None and as_of_us is None:
        return False
    with writing(out):
        done = _fast(group_scores_to_file, log_path, model, by, period, as_of_us, out, fmt, None, 3)
    return done is not None
