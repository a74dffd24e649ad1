"""The flags every command shares, spelled one way (decision 0040), and the old spellings that still work.

- ``LOG``, a positional: the log folder, in every command that reads one (``--log`` is an old spelling for ``report``);
- ``--overwrite``: replace outputs that exist, in every command that writes (``--force`` is an old spelling);
- ``--quiet``: no progress bar and no status lines such as ``Wrote ...``, in every command; what a command was
  asked to print (a summary, a table, JSON) and every error, warning and data note still show;
- ``--format``: the format of the files a command writes, nothing else (``validate`` and ``exercises progress``
  print JSON with ``--json``; their ``--format json`` is an old spelling);
- ``--scheduler ADDRESS`` | ``--workers N``: run the heavy part on a Dask cluster (``score``, ``model train``,
  ``evaluate``, ``predict`` and ``backtest``, and ``report pipeline_health`` of a partitioned log;
  ``docs/scale.md``), and say where it ran.

An old spelling does what the new one does and says on stderr that it is deprecated; it goes in 0.4.0.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from salesmetrics.exceptions import UsageError
from salesmetrics.log.partitioned import is_partitioned

#: The release in which the old spellings stop working.
REMOVED_IN = "0.4.0"


class DeprecatedSpelling(argparse.Action):
    """An old spelling of a flag: sets what the new one sets, and says on stderr which one to use instead."""

    def __init__(self, option_strings, dest, *, new: str, value=None, **kwargs):
        self.new = new
        self.value = value  # the value a flag without an argument stands for (None: the flag takes one)
        kwargs.setdefault("help", argparse.SUPPRESS)  # hidden from --help: users learn the new spelling
        super().__init__(option_strings, dest, nargs=0 if value is not None else None, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(
            f"{parser.prog}: warning: {option_string} is deprecated and goes in {REMOVED_IN}; use {self.new}.",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, self.value if self.value is not None else values)


def add_log(parser: argparse.ArgumentParser, *, optional: bool = False, old_option: bool = False) -> None:
    """The ``LOG`` positional; ``optional`` when the command has a mode without one (``report --list``).

    ``old_option`` adds the deprecated ``--log LOG`` too; :func:`log_from_old_option` settles the two.
    """
    parser.add_argument(
        "log",
        type=Path,
        nargs="?" if optional else None,
        metavar="LOG",
        help="log folder (salesmetrics.yaml + deals + stage_changes ...)",
    )
    if old_option:
        parser.add_argument("--log", dest="old_log", type=Path, action=DeprecatedSpelling, new="the LOG positional")


def log_from_old_option(args: argparse.Namespace) -> None:
    """Take a log given with the deprecated ``--log`` as the ``LOG`` positional; both at once is a usage error."""

    old = getattr(args, "old_log", None)
    if old is None:
        return
    if args.log is not None and Path(args.log) != Path(old):
        raise UsageError(f"two logs were given ({args.log} and --log {old}); give one, as the LOG positional.")
    args.log = old


def add_overwrite(parser: argparse.ArgumentParser, help: str) -> None:
    """``--overwrite`` (what it replaces, in ``help``) and its old spelling ``--force``."""
    parser.add_argument("--overwrite", action="store_true", help=help)
    parser.add_argument("--force", dest="overwrite", action=DeprecatedSpelling, new="--overwrite", value=True)


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bar, no status lines; answers, errors, warnings and notes still show."""
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no status lines (errors still show)")


def add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...], default: str, what: str) -> None:
    """``--format``: the format of the files the command writes (``what`` names them)."""
    parser.add_argument("--format", choices=choices, default=default, help=f"file format of {what} (default {default})")


def add_json(parser: argparse.ArgumentParser) -> None:
    """``--json``: print JSON instead of text; ``--format json`` and ``--format text`` are its old spellings."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--format", dest="json", choices=("text", "json"), action=_OldFormat, new="--json (or nothing, for text)"
    )


class _OldFormat(DeprecatedSpelling):
    """``--format text|json`` of the commands that print: ``json`` is ``--json`` now, ``text`` the default."""

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        setattr(namespace, self.dest, values == "json")


def add_cluster(parser: argparse.ArgumentParser, doing: str) -> None:
    """``--scheduler ADDRESS`` or ``--workers N`` (one of them): where ``doing`` (``score``, ``build the
    snapshots``) runs; :func:`on_cluster` connects or starts the cluster."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help=f"{doing} on the running Dask cluster at ADDRESS, e.g. tcp://host:8786"
    )
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"{doing} on a local Dask cluster of N worker processes started for the run",
    )


@contextlib.contextmanager
def on_cluster(args: argparse.Namespace, doing: str, whole: str):
    """The cluster of :func:`add_cluster`'s flags (:class:`salesmetrics.metrics.scale.Cluster`: its ``client``,
    and what ``str`` of it says: the scheduler's address and the number of workers), or None without them. Says
    ``{doing} on the Dask cluster at ADDRESS (N workers)``, and that one worker ``whole`` (``scores it whole``)
    when the log is not partitioned."""
    if args.scheduler is None and args.workers is None:
        yield None
        return
    from salesmetrics.metrics.scale import cluster

    with cluster(args.scheduler, args.workers) as where:
        say(args, f"{doing} on the Dask cluster at {where}")
        if not is_partitioned(args.log):
            say(
                args,
                f"{args.log} is not partitioned, so one worker {whole}: split it with `salesmetrics "
                "partition LOG --out DIR --partitions N` (docs/scale.md).",
            )
        yield where


def say(args: argparse.Namespace, *lines: str) -> None:
    """Print status lines (``Wrote ...``, a summary of what was done) unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        for line in lines:
            print(line)


def key_values(items: list[str] | None, flag: str) -> dict[str, str]:
    """``KEY=VALUE`` arguments of a repeatable flag (``-p``, ``--option``, ``--rate``) as a dict."""

    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} expects key=value, got {item!r}.")
        out[key.strip()] = value.strip()
    return out
