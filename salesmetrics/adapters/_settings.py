"""An adapter's settings checked before any file is read: stage lists, stage merges, time zone, date order, output.

Options arrive as Python values or as ``--option key=value`` text; each check turns a mistake into a
:class:`~salesmetrics.exceptions.UsageError` that says what was expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path

from salesmetrics._util.timezones import EXPECTED_TIMEZONE, is_timezone, timezone_hint
from salesmetrics.exceptions import UsageError
from salesmetrics.log.config import DATE_ORDERS
from salesmetrics.log.saleslog import check_log_format, check_output_folder


def as_names(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """Stage names from a list, or from ``"A,B,C"`` text (``|`` separates instead when present)."""
    if value is None:
        return None
    if isinstance(value, str):
        sep = "|" if "|" in value else ","
        names = [part.strip() for part in value.split(sep)]
    else:
        names = [str(part).strip() for part in value]
    names = [n for n in names if n]
    return tuple(dict.fromkeys(names))


def as_merges(value: str | dict[str, str] | None) -> dict[str, str]:
    """Stage names to merge, ``{old: new}``, from a dict or from ``"Old:New,Older:New"`` text (``|`` separates
    the pairs instead when present, as in :func:`as_names`).

    >>> as_merges("Demo Scheduled:Demo Completed, Intro:Discovery")
    {'Demo Scheduled': 'Demo Completed', 'Intro': 'Discovery'}
    """
    if value is None:
        return {}
    if isinstance(value, dict):
        pairs = [(str(k).strip(), str(v).strip()) for k, v in value.items()]
    else:
        pairs = []
        for part in as_names(value) or ():
            old, sep, new = part.partition(":")
            if not sep:
                raise UsageError(
                    f"merge_stages takes Old:New pairs separated by commas (e.g. 'Demo Scheduled:Demo Completed'); "
                    f"{part!r} has no ':'."
                )
            pairs.append((old.strip(), new.strip()))
    merges: dict[str, str] = {}
    for old, new in pairs:
        if not old or not new:
            raise UsageError(f"merge_stages: {old!r}:{new!r} needs a stage name on both sides of ':'.")
        if old in merges and merges[old] != new:
            raise UsageError(f"merge_stages names {old!r} twice, as {merges[old]!r} and as {new!r}.")
        merges[old] = new
    chained = sorted(set(merges) & set(merges.values()))
    if chained:
        raise UsageError(
            f"merge_stages: {', '.join(map(repr, chained))} is merged into another stage and also receives one; "
            "merge each old name straight into the final name."
        )
    return merges


def check_merges(merges: dict[str, str], found: Iterable[str], where: str) -> None:
    """A usage error when a stage to merge is not among the stage names ``found`` in the export."""
    found = list(dict.fromkeys(found))
    missing = [old for old in merges if old not in found]
    if missing:
        hints = []
        for old in missing:
            close = difflib.get_close_matches(old, found, n=1)
            hints.append(f"{old!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UsageError(
            f"merge_stages names {', '.join(hints)}, which {where} does not hold. Stages found: {', '.join(found)}."
        )


def check_timezone(tz: str) -> str:
    """``tz`` if it is an IANA time zone name, else a usage error suggesting the name that was probably meant."""
    name = str(tz).strip()
    if not is_timezone(name):
        raise UsageError(f"Unknown time zone {name!r}: expected {EXPECTED_TIMEZONE}.{timezone_hint(name)}")
    return name


def check_date_order(date_order: str) -> str:
    """``date_order`` if it is one the date parser knows, else a usage error."""
    if date_order not in DATE_ORDERS:
        raise UsageError(f"date_order must be 'auto', 'dmy' or 'mdy', not {date_order!r}.")
    return date_order


def check_output(out: str | Path | None, format: str, overwrite: bool, inputs: Iterable[str | Path] = ()) -> None:
    """Fail before any work is done when the output cannot be written (or would delete one of ``inputs``)."""
    if out is None:
        check_log_format(format)
        return
    check_output_folder(Path(out), format=format, overwrite=overwrite, inputs=inputs)


def check_stage_lists(stages: Sequence[str], won: Sequence[str], lost: Sequence[str]) -> None:
    """Usage errors for a stage model that cannot be written: no open or won stage, or a name used twice."""
    if not won:
        raise UsageError("No won stage could be determined; name it with won=... (for example won='Closed Won').")
    if not stages:
        raise UsageError("No open stage could be determined; list them in pipeline order with stage_order=A,B,C.")
    names = [*stages, *won, *lost]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(
            f"Stages {', '.join(map(repr, dupes))} are listed more than once across stage_order, won and lost."
        )
