"""The ``salesmetrics`` command line: a thin layer over the Python functions.

Exit codes: 0 success, 1 the data has problems (they are listed), 2 a usage error (bad arguments).
Heavy libraries are imported inside each command, so ``salesmetrics --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from salesmetrics import __version__
from salesmetrics.cli import exercises as exercises_commands
from salesmetrics.cli import model as model_commands

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors; keep its message short and clear
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _key_values(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _UsageFailure(f"{flag} expects key=value, got {item!r}.")
        out[key.strip()] = value.strip()
    return out


class _UsageFailure(Exception):
    pass


def _cmd_validate(args: argparse.Namespace) -> int:
    from salesmetrics._util.text import plural
    from salesmetrics.log.saleslog import check_log

    log, problems = check_log(args.log)
    if args.format == "json":
        payload = {
            "log": str(args.log),
            "valid": log is not None,
            "errors": len(problems.errors),
            "warnings": len(problems.warnings),
            "problems": [p.to_dict() for p in problems],
        }
        if log is not None:
            s = log.summary()
            payload["summary"] = {
                "name": s.name,
                "deals": s.deals,
                "rows": s.rows,
                "first_event": None if s.first_event is None else s.first_event.isoformat(),
                "last_event": None if s.last_event is None else s.last_event.isoformat(),
                "owners": s.owners,
                "teams": s.teams,
                "open_deals": s.open_deals,
                "won_deals": s.won_deals,
                "lost_deals": s.lost_deals,
                "current_stages": s.current_stages,
                "stages": list(s.stages),
                "won": list(s.won),
                "lost": list(s.lost),
                "timezone": s.timezone,
                "history": s.history,
                "notes": list(s.notes),
            }
        print(json.dumps(payload, indent=2, default=str))
        return EXIT_OK if log is not None else EXIT_PROBLEMS
    if log is None:
        n = len(problems.errors)
        print(f"{args.log}: {plural(n, 'error')}, {plural(len(problems.warnings), 'warning')}\n")
        print(problems.numbered())
        return EXIT_PROBLEMS
    print(log.summary())
    _print_warnings(problems)
    print("\nOK: the log is valid.")
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    from salesmetrics.adapters import run_import

    log = run_import(
        args.kind,
        args.sources,
        args.out,
        mapping=args.mapping,
        format=args.format,
        overwrite=args.overwrite,
        options=_key_values(args.option, "--option"),
    )
    print(log.summary())
    _print_warnings(log.problems)
    print(f"\nWrote {args.out}")
    return EXIT_OK


def _print_warnings(problems) -> None:
    """Warnings of a log that loaded: they matter most when nothing failed (e.g. how dates were read)."""
    from salesmetrics._util.text import plural
    from salesmetrics.exceptions import ProblemList

    found = ProblemList(list(problems)).warnings
    if found:
        print(f"\n{plural(len(found), 'warning')}:")
        print(ProblemList(found).numbered())


def _cmd_simulate(args: argparse.Namespace) -> int:
    from salesmetrics.log.saleslog import check_output_folder
    from salesmetrics.simulation.simulator import simulate

    check_output_folder(args.out, format=args.format, overwrite=args.overwrite)  # before the work, not after
    sim = simulate(
        args.deals,
        args.owners,
        seed=args.seed,
        scenario=args.scenario,
        config=args.config,
        start=args.start,
        months=args.months,
        progress=not args.quiet,
    )
    out = sim.write(args.out, format=args.format, overwrite=args.overwrite)
    print(sim.log.summary())
    print(f"\nWrote {out} (ground truth in {Path(out) / 'truth'})")
    return EXIT_OK


def _cmd_score(args: argparse.Namespace) -> int:
    from salesmetrics.metrics.scoring import run_score

    out = run_score(
        args.log,
        by=args.by,
        period=args.period,
        as_of=args.as_of,
        out=args.out,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(f"Wrote {out}")
    return EXIT_OK


def _cmd_waterfall(args: argparse.Namespace) -> int:
    from salesmetrics.metrics.flows import run_waterfall

    rates = {}
    for key, value in _key_values(args.rate, "--rate").items():
        try:
            rates[key] = float(value)
        except ValueError:
            raise _UsageFailure(f"--rate {key}={value!r}: the rate must be a number, e.g. {key}=1.08.") from None
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
    )
    print(f"Wrote {args.out} ({len(result.moves):,} moves) and {args.bridge} ({len(result.bridge):,} rows)")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from salesmetrics.reports import runner as reports

    if args.list:
        for report in reports.list_reports().values():
            print(report.describe())
        return EXIT_OK
    if not args.name or not args.log or not args.out:
        raise _UsageFailure("give a report NAME, --log LOG and --out DIR (or --list to see the reports).")
    parameters: dict = {}
    if args.params_file:
        import yaml

        try:
            loaded = yaml.safe_load(Path(args.params_file).read_text(encoding="utf-8")) or {}
        except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: a date like 2024-13-45
            raise _UsageFailure(f"cannot read parameters file {args.params_file}: {exc}") from None
        if not isinstance(loaded, dict):
            raise _UsageFailure(f"{args.params_file} must hold a mapping of parameter: value.")
        parameters.update(loaded)
    parameters.update(_key_values(args.param, "-p"))
    if args.for_each:
        written = reports.run_batch(
            args.name,
            log=args.log,
            out=args.out,
            for_each=args.for_each,
            parameters=parameters,
            format=args.format,
            force=args.force,
            progress=not args.quiet,
            show_code=args.show_code,
        )
    else:
        written = reports.run_report(
            args.name,
            log=args.log,
            out=args.out,
            parameters=parameters,
            format=args.format,
            force=args.force,
            show_code=args.show_code,
        )
    for path in written:
        if path in written.kept:
            print(f"Kept {path} (already made from these parameters and this log; --force runs it again)")
        else:
            print(f"Wrote {path}")
    return EXIT_OK


def _os_error_line(exc: OSError) -> str:
    """``cannot use PATH: No space left on device (ENOSPC)``: the path and the system's reason, on one line."""
    import errno

    where = " and ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    reason = exc.strerror or str(exc) or type(exc).__name__
    name = errno.errorcode.get(exc.errno, "") if exc.errno is not None else ""
    what = f"cannot use {where}" if where else "a file could not be read or written"
    return f"{what}: {reason}{f' ({name})' if name else ''}."


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="salesmetrics",
        description="Tell motion (activity) from movement (deals passing stage gates) in sales logs.",
    )
    parser.add_argument("--version", action="version", version=f"salesmetrics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="check a log folder and print its summary or every problem")
    p.add_argument("log", type=Path, help="log folder (salesmetrics.yaml + deals + stage_changes ...)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("import", help="make a log folder from a CRM export")
    p.add_argument("kind", choices=("salesforce", "hubspot", "snapshot", "mapping"), help="export kind")
    p.add_argument("sources", nargs="+", help="export files (Salesforce: opportunities then history)")
    p.add_argument("--out", required=True, type=Path, help="log folder to write")
    p.add_argument("--mapping", type=Path, help="YAML column mapping (kind 'mapping')")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="table file format")
    p.add_argument("--option", "-o", action="append", metavar="KEY=VALUE", help="adapter option, repeatable")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("score", help="movement, motion and slippage metrics per deal, owner or team")
    p.add_argument("log", type=Path, help="log folder")
    p.add_argument("--by", choices=("deal", "owner", "team"), default="deal", help="one row per (default deal)")
    p.add_argument("--period", choices=("W", "M", "Q"), help="period for owner/team scores (default M)")
    p.add_argument(
        "--as-of",
        dest="as_of",
        metavar="ISO_DATE",
        help="score as known at this ISO 8601 date or time, e.g. 2024-06-30 (default: latest event)",
    )
    p.add_argument("--out", required=True, type=Path, help="output file, .csv or .parquet")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("waterfall", help="the pipeline waterfall per period: moves per deal and the bridge")
    p.add_argument("log", type=Path, help="log folder")
    p.add_argument("--period", choices=("W", "M", "Q"), default="M", help="calendar period (default M)")
    p.add_argument("--by", choices=("owner", "team"), help="one bridge per owner or team (default: whole log)")
    p.add_argument("--pipeline", choices=("due", "all"), default="due", help="due by the period's end, or all open")
    p.add_argument("--classify", choices=("flows", "exclusive"), default="flows", help="every flow, or one per deal")
    p.add_argument("--as-of", dest="as_of", help="as known at this date or time (default: latest event)")
    p.add_argument("--rate", action="append", metavar="CODE=VALUE", help="currency rate into the log's, repeatable")
    p.add_argument("--out", required=True, type=Path, help="MOVES file (.csv): one row per deal, period, bucket")
    p.add_argument("--bridge", required=True, type=Path, help="BRIDGE file (.csv): per group and period")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(func=_cmd_waterfall)

    p = sub.add_parser("report", help="run a report notebook on a log and write HTML")
    p.add_argument("name", nargs="?", help="report name (see --list)")
    p.add_argument("--list", action="store_true", help="list the reports and their parameters")
    p.add_argument("--log", type=Path, help="log folder")
    p.add_argument("--out", type=Path, help="output folder")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="report parameter, repeatable")
    p.add_argument("-f", "--params-file", type=Path, help="YAML file of report parameters")
    p.add_argument("--for-each", choices=("owner", "team"), help="one report per owner or team, with an index")
    p.add_argument("--format", choices=("html", "ipynb", "both"), default="html", help="output (default html)")
    p.add_argument("--force", action="store_true", help="re-run reports that already exist")
    p.add_argument("--show-code", action="store_true", help="keep the code cells in the HTML")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("simulate", help="simulate a pipeline with known ground truth")
    p.add_argument("--deals", type=int, default=2000, help="number of deals (default 2000)")
    p.add_argument("--owners", type=int, default=20, help="number of owners (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--scenario", default="baseline", help="scenario name (see docs/simulator.md)")
    p.add_argument("--config", type=Path, help="YAML file of parameters that override the scenario's")
    p.add_argument("--start", default="2024-01-01", help="first day of the simulated window")
    p.add_argument("--months", type=int, default=18, help="length of the window in months")
    p.add_argument("--out", required=True, type=Path, help="log folder to write")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="table file format")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_simulate)
    exercises_commands.register(sub)  # salesmetrics exercises ...
    model_commands.register(sub)  # salesmetrics model ...
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from salesmetrics.exceptions import DataNote, LogValidationError, SalesmetricsError, UsageError

    log = getattr(args, "log", None)
    if isinstance(log, (str, Path)) and not Path(log).exists():  # a path that is not there: a usage error
        print(
            f"salesmetrics {args.command}: error: the log folder {log} does not exist. A log is a folder with "
            "salesmetrics.yaml, deals and stage_changes files (docs/log-format.md); `salesmetrics import` makes "
            "one from a CRM export.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataNote)
            code = args.func(args)
        for warning in caught:  # notes about the data after the work; other warnings as Python shows them
            if issubclass(warning.category, DataNote):
                print(f"salesmetrics {args.command}: note: {warning.message}", file=sys.stderr)
            else:
                warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
        sys.stdout.flush()  # here, so a reader that stopped early (`| head`) is handled below, not at exit
        return code
    except BrokenPipeError:
        # the reader closed the pipe (e.g. `salesmetrics validate LOG | head`): stop quietly, as other tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except _UsageFailure as exc:
        print(f"salesmetrics {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"salesmetrics {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LogValidationError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_PROBLEMS
    except SalesmetricsError as exc:  # e.g. a report cell that failed, an output that could not be written
        print(f"salesmetrics {args.command}: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except OSError as exc:  # a file system error no function above named: one line, never a traceback
        print(f"salesmetrics {args.command}: {_os_error_line(exc)}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        print("Interrupted; nothing half-written was left behind.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
