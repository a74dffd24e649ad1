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
from salesmetrics._util.text import plural
from salesmetrics.cli import exercises as exercises_commands
from salesmetrics.cli import model as model_commands
from salesmetrics.cli import report as report_command
from salesmetrics.cli import score as score_command
from salesmetrics.cli import waterfall as waterfall_command
from salesmetrics.cli.flags import (
    add_format,
    add_json,
    add_log,
    add_overwrite,
    add_quiet,
    key_values,
    log_from_old_option,
    say,
)
from salesmetrics.exceptions import DataNote, LogValidationError, ProblemList, SalesmetricsError, UsageError
from salesmetrics.log.partition import MEMORY_FRACTION, partition_log

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors; keep its message short and clear
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _cmd_validate(args: argparse.Namespace) -> int:
    from salesmetrics.log.reading import validate_log

    summary, problems = validate_log(args.log)  # a log the relational core vouches for is answered in DuckDB
    if args.json:
        payload = {
            "log": str(args.log),
            "valid": summary is not None,
            "errors": len(problems.errors),
            "warnings": len(problems.warnings),
            "problems": [p.to_dict() for p in problems],
        }
        if summary is not None:
            s = summary
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
        return EXIT_OK if summary is not None else EXIT_PROBLEMS
    if summary is None:
        n = len(problems.errors)
        print(f"{args.log}: {plural(n, 'error')}, {plural(len(problems.warnings), 'warning')}\n")
        print(problems.numbered())
        return EXIT_PROBLEMS
    say(args, str(summary))
    _print_warnings(problems)
    say(args, "\nOK: the log is valid.")
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
        options=key_values(args.option, "--option"),
    )
    say(args, str(log.summary()))
    _print_warnings(log.problems)
    say(args, f"\nWrote {args.out}")
    return EXIT_OK


def _cmd_partition(args: argparse.Namespace) -> int:
    result = partition_log(
        args.log, args.out, args.partitions, overwrite=args.overwrite, memory_limit=args.memory_limit
    )
    rows = ", ".join(f"{sum(counts):,} {name}" for name, counts in result.rows.items())
    empty = result.rows["deals"].count(0)
    say(args, f"Wrote {result.folder}: {result.partitions} parts by deal id ({rows}).")
    if empty:
        print(f"Note: {plural(empty, 'part')} got no deal; fewer parts than deals keeps every part busy.")
    return EXIT_OK


def _print_warnings(problems) -> None:
    """Warnings of a log that loaded: they matter most when nothing failed (e.g. how dates were read)."""
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
    say(args, str(sim.log.summary()), f"\nWrote {out} (ground truth in {Path(out) / 'truth'})")
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
    """The ``salesmetrics`` parser: every command, with the shared flags of :mod:`salesmetrics.cli.flags`."""
    parser = _Parser(
        prog="salesmetrics",
        description="Tell motion (activity) from movement (deals passing stage gates) in sales logs.",
    )
    parser.add_argument("--version", action="version", version=f"salesmetrics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="check a log folder and print its summary or every problem")
    add_log(p)
    add_json(p)
    add_quiet(p)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("import", help="make a log folder from a CRM export")
    p.add_argument("kind", choices=("salesforce", "hubspot", "snapshot", "mapping"), help="export kind")
    p.add_argument("sources", nargs="+", help="export files (Salesforce: opportunities then history)")
    p.add_argument("--out", required=True, type=Path, help="log folder to write")
    p.add_argument("--mapping", type=Path, help="YAML column mapping (kind 'mapping')")
    add_format(p, ("parquet", "csv"), "parquet", "the log's tables")
    p.add_argument("--option", "-o", action="append", metavar="KEY=VALUE", help="adapter option, repeatable")
    add_overwrite(p, "replace an existing output folder")
    add_quiet(p)
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("partition", help="split a log folder by deal id into parts a cluster scores in parallel")
    add_log(p)
    p.add_argument("--out", required=True, type=Path, help="folder to write the partitioned log into")
    p.add_argument("--partitions", required=True, type=int, metavar="N", help="number of parts (docs/scale.md)")
    p.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help=f"DuckDB's memory while splitting, e.g. 4GB (default: {MEMORY_FRACTION:.0%}% of the machine's memory); "
        "beyond it, it spills to disk in the output's temporary folder",
    )
    add_overwrite(p, "replace a non-empty output folder")
    add_quiet(p)
    p.set_defaults(func=_cmd_partition)

    score_command.register(sub)  # salesmetrics score ...
    waterfall_command.register(sub)  # salesmetrics waterfall ...
    report_command.register(sub)  # salesmetrics report ...

    p = sub.add_parser("simulate", help="simulate a pipeline with known ground truth")
    p.add_argument("--deals", type=int, default=2000, help="number of deals (default 2000)")
    p.add_argument("--owners", type=int, default=20, help="number of owners (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--scenario", default="baseline", help="scenario name (see docs/simulator.md)")
    p.add_argument("--config", type=Path, help="YAML file of parameters that override the scenario's")
    p.add_argument("--start", default="2024-01-01", help="first day of the simulated window")
    p.add_argument("--months", type=int, default=18, help="length of the window in months")
    p.add_argument("--out", required=True, type=Path, help="log folder to write")
    add_format(p, ("parquet", "csv"), "parquet", "the log's tables")
    add_overwrite(p, "replace an existing output folder")
    add_quiet(p)
    p.set_defaults(func=_cmd_simulate)
    exercises_commands.register(sub)  # salesmetrics exercises ...
    model_commands.register(sub)  # salesmetrics model ...
    return parser


def show_caught(command: str, caught) -> None:
    """Show the warnings a command raised, after its work: each note about the data once (two passes over the same
    parts may raise the same one), an old spelling as a warning, the rest as Python shows them."""
    shown = set()
    for warning in caught:
        if issubclass(warning.category, DataNote):
            text = str(warning.message)
            if text not in shown:
                shown.add(text)
                print(f"salesmetrics {command}: note: {text}", file=sys.stderr)
        elif issubclass(warning.category, FutureWarning) and "salesmetrics" in Path(warning.filename).parts:
            # an old spelling the package still takes (a report parameter's old name, decision 0040)
            print(f"salesmetrics {command}: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    try:
        log_from_old_option(args)  # report --log LOG, the old spelling of report NAME LOG
    except UsageError as exc:
        print(f"salesmetrics {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
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
        show_caught(args.command, caught)
        sys.stdout.flush()  # here, so a reader that stopped early (`| head`) is handled below, not at exit
        return code
    except BrokenPipeError:
        # the reader closed the pipe (e.g. `salesmetrics validate LOG | head`): stop quietly, as other tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
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
