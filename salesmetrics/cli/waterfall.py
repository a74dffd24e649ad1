"""``salesmetrics waterfall LOG --out MOVES --bridge BRIDGE``: the pipeline waterfall of a log folder, as two CSV files.

:func:`run_waterfall` checks both outputs before any work, then calls :func:`salesmetrics.metrics.flows.waterfall`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from salesmetrics._util.output import check_output_file
from salesmetrics.cli.flags import add_log, add_overwrite, add_quiet, key_values, say
from salesmetrics.exceptions import UsageError


def register(subparsers) -> None:
    """Add ``salesmetrics waterfall`` to the main parser's subparsers."""
    p = subparsers.add_parser("waterfall", help="the pipeline waterfall per period: moves per deal and the bridge")
    add_log(p)
    p.add_argument("--period", choices=("W", "M", "Q"), default="M", help="calendar period (default M)")
    p.add_argument("--by", choices=("owner", "team"), help="one bridge per owner or team (default: whole log)")
    p.add_argument("--pipeline", choices=("due", "all"), default="due", help="due by the period's end, or all open")
    p.add_argument("--classify", choices=("flows", "exclusive"), default="flows", help="every flow, or one per deal")
    p.add_argument("--as-of", dest="as_of", help="as known at this date or time (default: latest event)")
    p.add_argument("--rate", action="append", metavar="CODE=VALUE", help="currency rate into the log's, repeatable")
    p.add_argument(
        "--stamp",
        choices=("close", "move"),
        default="close",
        help="a close date moved later at the close: part of it (default), or a push (decision 0062)",
    )
    p.add_argument("--out", required=True, type=Path, help="MOVES file (.csv): one row per deal, period, bucket")
    p.add_argument("--bridge", required=True, type=Path, help="BRIDGE file (.csv): per group and period")
    add_overwrite(p, "replace existing output files")
    add_quiet(p)
    p.set_defaults(func=_cmd_waterfall)


def _cmd_waterfall(args: argparse.Namespace) -> int:
    rates = {}
    for key, value in key_values(args.rate, "--rate").items():
        try:
            rates[key] = float(value)
        except ValueError:
            raise UsageError(f"--rate {key}={value!r}: the rate must be a number, e.g. {key}=1.08.") from None
    result = run_waterfall(
        args.log,
        moves_out=args.out,
        bridge_out=args.bridge,
        period=args.period,
        by=args.by,
        pipeline=args.pipeline,
        classify=args.classify,
        as_of=args.as_of,
        rates=rates or None,
        overwrite=args.overwrite,
        stamp=args.stamp,
    )
    money = f"; amounts in {result.currency}" if result.currency else ""
    say(args, f"Wrote {args.out} ({len(result.moves):,} moves) and {args.bridge} ({len(result.bridge):,} rows){money}")
    return 0


def run_waterfall(
    log_path,
    *,
    moves_out,
    bridge_out,
    period: str = "M",
    by: str | None = None,
    pipeline: str = "due",
    classify: str = "flows",
    as_of=None,
    rates: dict[str, float] | None = None,
    overwrite: bool = False,
    stamp: str = "close",
):
    """Compute the waterfall of the log folder ``log_path`` and write MOVES and BRIDGE as CSV, atomically.

    The outputs must end in ``.csv``, differ from each other and from every input, and are never written over
    unless ``overwrite=True``. A log that does not validate raises
    :class:`~salesmetrics.exceptions.LogValidationError` with every problem. Returns the
    :class:`~salesmetrics.metrics.flows.Waterfall`.
    """
    from salesmetrics._util.csv_safe import write_csv
    from salesmetrics.log.reading import read_log
    from salesmetrics.metrics.flows import waterfall

    log_path, moves_out, bridge_out = Path(log_path), Path(moves_out), Path(bridge_out)
    for path, flag in ((moves_out, "--out"), (bridge_out, "--bridge")):
        if path.suffix.lower() != ".csv":
            raise UsageError(f"{flag} {str(path)!r} must end in .csv, not {path.suffix or 'no suffix'!r}.")
    if moves_out.resolve() == bridge_out.resolve():
        raise UsageError(f"--out and --bridge are the same file ({moves_out}); give two different files.")
    for path in (moves_out, bridge_out):
        check_output_file(path, overwrite=overwrite, flag="--overwrite", logs=[log_path])
    result = waterfall(
        read_log(log_path), period=period, by=by, pipeline=pipeline, classify=classify, as_of=as_of, rates=rates,
        stamp=stamp,
    )  # fmt: skip
    write_csv(result.moves, moves_out, overwrite=True)
    write_csv(result.bridge.drop(columns="period_index"), bridge_out, overwrite=True)
    return result
