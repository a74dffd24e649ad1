"""``salesmetrics report NAME LOG --out DIR``: run a report notebook on a log and write HTML (``--list``: the reports).

The runner is :mod:`salesmetrics.reports.runner`; this module reads the arguments and the parameters file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from salesmetrics.cli.flags import add_cluster, add_log, add_overwrite, add_quiet, key_values, on_cluster, say
from salesmetrics.exceptions import UsageError


def register(subparsers) -> None:
    """Add ``salesmetrics report`` to the main parser's subparsers."""
    p = subparsers.add_parser("report", help="run a report notebook on a log and write HTML")
    p.add_argument("name", nargs="?", help="report name (see --list)")
    add_log(p, optional=True, old_option=True)
    p.add_argument("--list", action="store_true", help="list the reports and their parameters")
    p.add_argument("--out", type=Path, help="output folder")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="report parameter, repeatable")
    p.add_argument("-f", "--params-file", type=Path, help="YAML file of report parameters")
    p.add_argument("--for-each", choices=("owner", "team"), help="one report per owner or team, with an index")
    p.add_argument(
        "--format", choices=("html", "ipynb", "both"), default="html", help="file format of the reports (default html)"
    )
    add_overwrite(p, "run reports again and replace the ones that exist")
    p.add_argument("--show-code", action="store_true", help="keep the code cells in the HTML")
    add_quiet(p)
    add_cluster(p, "compute the pipeline health of a partitioned log")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from salesmetrics.reports import runner as reports

    if args.list:
        for report in reports.list_reports().values():
            print(report.describe())
        return 0
    if not args.name or not args.log or not args.out:
        raise UsageError("give a report NAME, a LOG folder and --out DIR (or --list to see the reports).")
    parameters = _parameters_file(args.params_file) if args.params_file else {}
    parameters.update(key_values(args.param, "-p"))
    cluster = args.scheduler is not None or args.workers is not None
    if cluster:  # refused before a cluster starts, for what cannot run there
        if args.for_each:
            raise UsageError("--for-each cannot be used with --scheduler/--workers yet: run the batch without them.")
        reports.refuse_on_cluster(args.name, args.log, parameters)
    if args.for_each:
        written = reports.run_batch(
            args.name,
            log=args.log,
            out=args.out,
            for_each=args.for_each,
            parameters=parameters,
            format=args.format,
            overwrite=args.overwrite,
            progress=not args.quiet,
            show_code=args.show_code,
        )
    else:  # on a cluster, the pipeline health of the parts is computed there before the notebook runs
        with on_cluster(args, "Computing the pipeline health", "reads it whole") as where:
            written = reports.run_report(
                args.name,
                log=args.log,
                out=args.out,
                parameters=parameters,
                format=args.format,
                overwrite=args.overwrite,
                show_code=args.show_code,
                client=where.client if where else None,
            )
    for path in written:
        if path in written.kept:
            say(args, f"Kept {path} (already made from these parameters and this log; --overwrite runs it again)")
        else:
            say(args, f"Wrote {path}")
    return 0


def _parameters_file(path: Path) -> dict:
    """The report parameters in a YAML file (a mapping of parameter: value)."""
    import yaml

    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: a date like 2024-13-45
        raise UsageError(f"cannot read parameters file {path}: {exc}") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"{path} must hold a mapping of parameter: value.")
    return loaded
