"""``salesmetrics score LOG --out FILE``: the per-deal or per-group scores of a log folder, written to one file.

:func:`run_score` checks the arguments and the output before any work, then lets
:mod:`salesmetrics.metrics.scoring` score the log: straight through DuckDB when the log allows it, else by reading
the log with pandas. The definitions are in ``docs/metrics.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from salesmetrics._util.limits import as_of_from_text
from salesmetrics._util.output import check_output_file
from salesmetrics.cli.flags import add_cluster, add_log, add_overwrite, add_quiet, on_cluster, say
from salesmetrics.exceptions import UsageError
from salesmetrics.log.config import load_config
from salesmetrics.log.partitioned import is_partitioned

LONG_WORK_BYTES = 20_000_000  # show a progress bar when the log's files are larger than this


def register(subparsers) -> None:
    """Add ``salesmetrics score`` to the main parser's subparsers."""
    p = subparsers.add_parser("score", help="movement, motion and slippage metrics per deal, owner or team")
    add_log(p)
    p.add_argument("--by", choices=("deal", "owner", "team"), default="deal", help="one row per (default deal)")
    p.add_argument("--period", choices=("W", "M", "Q"), help="period for owner/team scores (default M)")
    p.add_argument(
        "--as-of",
        dest="as_of",
        metavar="ISO_DATE",
        help="score as known at this ISO 8601 date or time, e.g. 2024-06-30 (default: latest event)",
    )
    p.add_argument("--out", required=True, type=Path, help="output file; its suffix, .csv or .parquet, is the format")
    add_cluster(p, "score")
    add_overwrite(p, "replace an existing output file")
    add_quiet(p)
    p.set_defaults(func=_cmd_score)


def _cmd_score(args: argparse.Namespace) -> int:
    options = {"by": args.by, "period": args.period, "as_of": args.as_of, "out": args.out, "overwrite": args.overwrite}
    if args.scheduler is None and args.workers is None:
        say(args, f"Wrote {run_score(args.log, **options, progress=not args.quiet)}")
        return 0
    _check_out(args.log, args.out, args.overwrite)  # before a cluster is started or reached
    with on_cluster(args, "Scoring", "scores it whole") as where:
        out = run_score(args.log, **options, progress=False, client=where.client)
    say(args, f"Wrote {out} (ran on {where})")
    return 0


def run_score(
    log_path,
    *,
    by: str = "deal",
    period: str | None = None,
    as_of=None,
    out,
    overwrite: bool = False,
    progress: bool = True,
    client=None,
) -> Path:
    """Score the log folder ``log_path`` and write ``out`` (``.csv`` or ``.parquet``) atomically.

    Bad arguments raise :class:`~salesmetrics.exceptions.UsageError`; a log that does not validate raises
    :class:`~salesmetrics.exceptions.LogValidationError` with every problem. ``out`` is never written over
    unless ``overwrite=True``, and never inside the log folder. Returns ``out``.

    A partitioned log (``salesmetrics partition``) is scored part by part
    (:func:`salesmetrics.metrics.scale.score_parts`), on the workers of ``client`` (a ``dask.distributed.Client``)
    when one is given, else here; a plain log folder with a ``client`` is scored as one part on the cluster.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "deals.csv"
    >>> run_score("datasets/demo", by="deal", as_of="2024-06-30", out=out, progress=False).name
    'deals.csv'
    """
    from salesmetrics.metrics.scoring import as_of_microseconds, check_by_period, score, write_scores, write_scores_fast

    check_by_period(by, period)
    if by == "deal" and period is not None:
        raise UsageError(f"period {period!r} applies to owner or team scores; leave it out with by='deal'.")
    if isinstance(as_of, str):  # one reading of as_of for both paths: ISO, in the years a log may hold
        as_of_from_text(as_of)
    elif as_of is not None:
        from salesmetrics.log.prepare import parse_as_of

        parse_as_of(as_of)
    log_path, out = Path(log_path), Path(out)
    fmt = _check_out(log_path, out, overwrite)
    if client is not None or is_partitioned(log_path):  # part by part (docs/scale.md)
        write_scores(score(log_path, as_of, by=by, period=period or "M", client=client), out, fmt)
        return out
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
            fast = write_scores_fast(
                log_path, model, by=by, period=period or "M", as_of=as_of, as_of_us=as_of_us, out=out, fmt=fmt
            )
            if fast:
                bar.update(3)
                return out
        from salesmetrics.log.reading import read_log

        bar.set_postfix_str("reading the log")
        log = read_log(log_path)
        bar.update(1)
        bar.set_postfix_str("scoring")
        result = score(log, by=by, period=period or "M", as_of=as_of)
        bar.update(1)
        bar.set_postfix_str("writing")
        write_scores(result, out, fmt)
        bar.update(1)
        return out
    finally:
        bar.close()


def _check_out(log_path: Path, out: Path, overwrite: bool) -> str:
    """The file format of ``out`` by its suffix, once ``out`` may be written (never inside the log folder)."""
    from salesmetrics.metrics.scoring import FORMATS

    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"out {str(out)!r} must end in .csv or .parquet, not {out.suffix or 'no suffix'!r}.")
    check_output_file(out, overwrite=overwrite, flag="--overwrite", logs=[log_path])
    return fmt


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
