"""``score``: movement, motion and slippage per deal, or per owner or team and period (``salesmetrics score``).

Definitions: ``docs/metrics.md``. Heavy libraries are imported inside the functions, so the
command line starts fast; a Parquet log goes through DuckDB fast paths (:mod:`salesmetrics.metrics._engine`: the
whole per-deal query, or the activity counts of group scores) that give the same numbers as the pandas path.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from salesmetrics._util.atomic import writing
from salesmetrics.exceptions import OutputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from salesmetrics.log.saleslog import SalesLog

BY = ("deal", "owner", "team")
PERIODS = ("W", "M", "Q")
FORMATS = {".csv": "csv", ".parquet": "parquet"}
LONG_WORK_BYTES = 20_000_000  # show a progress bar when the log's files are larger than this


def _check_by_period(by: str, period: str | None) -> None:
    if by not in BY:
        raise UsageError(f"by {by!r} is not allowed; use one of: {', '.join(BY)}.")
    if period is not None and period not in PERIODS:
        raise UsageError(f"period {period!r} is not allowed; use one of: W (week), M (month), Q (quarter).")


def score(log: SalesLog, by: str = "deal", period: str = "M", as_of=None, **params) -> pd.DataFrame:
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
    """
    from salesmetrics.log.prepare import resolve_as_of
    from salesmetrics.metrics import movement

    if params:
        raise UsageError(f"score() got unknown parameters: {', '.join(sorted(params))}.")
    _check_by_period(by, period)
    as_of = resolve_as_of(log, as_of)  # once: everything below gets the moment itself
    if by == "deal":
        scores = movement.deal_scores(log, as_of)
        deals = log.deals
        undated = deals["created_at"].isna() & ~deals["deal_id"].isin(log.stage_changes["deal_id"])
        movement.note_deals_left_out(len(deals), len(scores), int(undated.sum()), as_of)
        return scores
    return movement.score_groups(log, by=by, period=period or "M", as_of=as_of)


def as_of_microseconds(as_of, timezone: str) -> int | None:
    """An ``as_of`` text as microseconds since the epoch, read by the rules of
    :func:`salesmetrics.log.prepare.resolve_as_of` (:func:`~salesmetrics._util.limits.as_of_from_text`; a date alone
    is the end of that day) but without loading pandas: the DuckDB paths of ``salesmetrics score`` use it.

    None for None, and for a value that is not text (a date or timestamp object): the caller then takes the pandas
    path, which reads it with ``resolve_as_of``.

    >>> as_of_microseconds("1970-01-01", "UTC")
    86399999999
    """
    import zoneinfo

    from salesmetrics._util.limits import US_PER_DAY, as_of_from_text, is_bare_date

    if not isinstance(as_of, str):
        return None
    moment = as_of_from_text(as_of)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(timezone))
    us = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return us + US_PER_DAY - 1 if is_bare_date(as_of) else us


def _check_out(log_path: Path, out: Path, overwrite: bool) -> str:
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"out {str(out)!r} must end in .csv or .parquet, not {out.suffix or 'no suffix'!r}.")
    from salesmetrics._util.output import check_output_file

    check_output_file(out, overwrite=overwrite, flag="--overwrite", logs=[log_path])
    return fmt


def run_score(
    log_path,
    *,
    by: str = "deal",
    period: str | None = None,
    as_of=None,
    out,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Score the log folder ``log_path`` and write ``out`` (``.csv`` or ``.parquet``) atomically.

    Bad arguments raise :class:`~salesmetrics.exceptions.UsageError`; a log that does not validate raises
    :class:`~salesmetrics.exceptions.LogValidationError` with every problem. ``out`` is never written over
    unless ``overwrite=True``, and never inside the log folder. Returns ``out``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "deals.csv"
    >>> run_score("datasets/demo", by="deal", as_of="2024-06-30", out=out, progress=False).name
    'deals.csv'
    """
    from salesmetrics.log.config import load_config

    _check_by_period(by, period)
    if by == "deal" and period is not None:
        raise UsageError(f"period {period!r} applies to owner or team scores; leave it out with by='deal'.")
    if isinstance(as_of, str):  # one reading of as_of for both paths: ISO, in the years a log may hold
        from salesmetrics._util.limits import as_of_from_text

        as_of_from_text(as_of)
    elif as_of is not None:
        from salesmetrics.log.prepare import parse_as_of

        parse_as_of(as_of)
    log_path, out = Path(log_path), Path(out)
    fmt = _check_out(log_path, out, overwrite)
    model = None
    if log_path.is_dir():
        model, problems = load_config(log_path)
        if any(p.severity == "error" for p in problems):
            model = None
    as_of_us = None
    if as_of is not None:
        if model is not None:
            as_of_us = as_of_microseconds(as_of, model.timezone)
        if as_of_us is None:
            import pandas as pd

            try:
                if pd.isna(pd.Timestamp(as_of)):
                    raise ValueError
            except (ValueError, TypeError) as exc:
                raise UsageError(
                    f"as_of {as_of!r} is not a date or time; use e.g. 2024-03-31 or 2024-03-31T17:00."
                ) from exc

    size = sum(p.stat().st_size for p in log_path.iterdir() if p.is_file()) if log_path.is_dir() else 0
    bar = _progress(progress and size >= LONG_WORK_BYTES)
    try:
        if model is not None and (as_of is None or as_of_us is not None):
            bar.set_postfix_str("DuckDB")
            if by == "deal":
                from salesmetrics.metrics._engine import deal_scores_to_file

                with writing(out):
                    done = _fast(deal_scores_to_file, log_path, model, as_of_us, out, fmt)
                if done is not None:
                    bar.update(3)
                    return out
            else:
                result = _group_scores_fast(log_path, model, by, period or "M", as_of, as_of_us)
                if result is not None:
                    bar.update(2)
                    bar.set_postfix_str("writing")
                    _write_frame(result, out, fmt)
                    bar.update(1)
                    return out
        from salesmetrics.log.saleslog import read_log

        bar.set_postfix_str("reading the log")
        log = read_log(log_path)
        bar.update(1)
        bar.set_postfix_str("scoring")
        result = score(log, by=by, period=period or "M", as_of=as_of)
        bar.update(1)
        bar.set_postfix_str("writing")
        _write_frame(result, out, fmt)
        bar.update(1)
        return out
    finally:
        bar.close()


def _write_frame(result, out: Path, fmt: str) -> None:
    """Write the scores atomically; a full disk or a read-only folder is an OutputError naming ``out``."""
    import duckdb

    from salesmetrics.metrics._engine import write_frame

    try:
        write_frame(result, out, fmt)
    except (OSError, duckdb.IOException) as exc:
        raise (exc if isinstance(exc, OutputError) else OutputError(out, exc)) from exc


class _NoProgress:
    """Stands in for a tqdm bar when none is shown (tqdm is then not even imported)."""

    def set_postfix_str(self, text: str) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(show: bool):
    if not show:
        return _NoProgress()
    from tqdm import tqdm

    return tqdm(total=3, desc="score", unit="step", leave=False)


def _fast(function, *args):
    """Run a fast-path function; a file DuckDB cannot read sends the caller to full validation (None)."""
    import duckdb

    try:
        return function(*args)
    except duckdb.Error:
        return None


def _group_scores_fast(log_path: Path, model, by: str, period: str, as_of, as_of_us: int | None):
    """Group scores of a Parquet log without loading its activities into pandas; None when not possible.

    DuckDB checks the activities as validation would and counts them per deal and period; the other tables
    are read and validated as usual, and the scores come from the same per-deal pieces as the pandas path
    (:func:`salesmetrics.metrics.movement.score_groups` with the motions given).
    """
    from salesmetrics.metrics._engine import motions_by_period

    counted = _fast(motions_by_period, log_path, model, as_of_us, period)
    if counted is None:
        return None
    latest_us, motions = counted
    import pandas as pd

    from salesmetrics.log.prepare import resolve_as_of
    from salesmetrics.log.saleslog import _check_log
    from salesmetrics.metrics import movement

    log, _ = _check_log(log_path, skip=("activities",))
    if log is None:
        return None
    if as_of is None:
        stamp = pd.Timestamp(latest_us, unit="us", tz="UTC").tz_convert(model.timezone)
    else:
        stamp = resolve_as_of(log, as_of)
        if stamp.value // 1000 != latest_us:  # DuckDB counted up to another moment: let the pandas path decide
            return None
    return movement.score_groups(log, by=by, period=period, as_of=stamp, motions=motions)
