"""Adapters: turn real CRM exports into a sales log (``salesmetrics import KIND SRC... --out LOG``).

- :func:`import_salesforce`: an Opportunity export plus an OpportunityHistory export.
- :func:`import_hubspot`: a HubSpot deals export with ``Date entered "<stage> (<pipeline>)"`` columns.
- :func:`import_snapshot`: one row per deal, current state only (presets ``maven``, ``ibm``, ``olist``).
- :func:`import_mapped`: anything else, through a small YAML column mapping.

Each returns a validated :class:`~salesmetrics.log.SalesLog` and writes it when ``out`` is given. Bad
arguments raise :class:`~salesmetrics.exceptions.UsageError`; problems in the exported data raise
:class:`~salesmetrics.exceptions.LogValidationError`, each problem naming the export file, the line as seen
in it, the column, the value and what was expected. How to export from each CRM is in ``docs/adapters.md``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

from salesmetrics.adapters.hubspot import import_hubspot
from salesmetrics.adapters.mapping import import_mapped
from salesmetrics.adapters.salesforce import import_salesforce
from salesmetrics.adapters.snapshot import PRESETS, import_snapshot
from salesmetrics.exceptions import UsageError
from salesmetrics.log.saleslog import SalesLog

KINDS = ("salesforce", "hubspot", "snapshot", "mapping")

_COMMON = ("stage_order", "won", "lost", "timezone", "date_order", "name", "currency")
OPTIONS = {
    "salesforce": (*_COMMON, "team_column", "commit_stage", "merge_stages"),
    "hubspot": (*_COMMON, "pipeline", "commit_stage", "merge_stages"),
    "snapshot": (
        *_COMMON,
        "preset",
        "snapshot_date",
        "deal_id",
        "owner",
        "stage",
        "created_at",
        "first_stage",
        "closed_at",
        "entered_at",
        "amount",
        "team",
        "generate_id",
        "merge_stages",
    ),
    "mapping": (),
}
_ALIASES = {"stages": "stage_order", "tz": "timezone"}


def _options(kind: str, options: dict[str, str] | None) -> dict[str, str]:
    allowed = OPTIONS[kind]
    out: dict[str, str] = {}
    for key, value in (options or {}).items():
        key = _ALIASES.get(str(key).strip(), str(key).strip())
        if key not in allowed:
            if not allowed:
                raise UsageError(f"The {kind} import takes no --option; put settings in the mapping file.")
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"Unknown option {key!r} for a {kind} import.{hint} Options: {', '.join(allowed)}.")
        out[key] = str(value).strip()
    return out


def run_import(
    kind: str,
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    mapping: str | Path | None = None,
    format: str = "parquet",
    overwrite: bool = False,
    options: dict[str, str] | None = None,
) -> SalesLog:
    """Run one adapter as ``salesmetrics import KIND SRC... --out LOG [--mapping M] [--option key=value]`` does.

    ``sources`` are the export files in the order the kind expects: Salesforce takes the Opportunity export
    then the OpportunityHistory export; HubSpot one deals export (then, optionally, a deal property history
    export); a snapshot its table (for a preset, the
    dataset's files or folder); a mapping the files its YAML names. ``options`` holds the ``--option``
    settings as text, for example ``{"stage_order": "Lead,Demo,Proposal", "timezone": "Europe/Berlin"}``.

    Examples
    --------
    >>> from salesmetrics.adapters import run_import
    >>> run_import("snapshot", ["datasets/maven"], "maven-log", options={"preset": "maven"})  # doctest: +SKIP
    <SalesLog ...>
    """
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind), KINDS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise UsageError(f"Unknown import kind {kind!r}.{hint} Kinds: {', '.join(KINDS)}.")
    if isinstance(sources, (str, Path)):
        sources = [sources]
    sources = [Path(s) for s in sources]
    if mapping is not None and kind != "mapping":
        raise UsageError(f"--mapping is for the 'mapping' kind, not {kind!r}.")
    opts = _options(kind, options)
    common = {"out": out, "format": format, "overwrite": overwrite}
    if kind == "salesforce":
        if len(sources) != 2:
            raise UsageError(
                f"A Salesforce import takes two files, the Opportunity export then the OpportunityHistory export; "
                f"{len(sources)} given."
            )
        return import_salesforce(sources[0], sources[1], **opts, **common)
    if kind == "hubspot":
        if len(sources) not in (1, 2):
            raise UsageError(
                f"A HubSpot import takes the deals export, optionally followed by a deal property history export "
                f"(for amount_changes); {len(sources)} files given."
            )
        return import_hubspot(sources[0], sources[1] if len(sources) == 2 else None, **opts, **common)
    if kind == "snapshot":
        if not sources:
            raise UsageError("A snapshot import needs the snapshot table (or, for a preset, the dataset's files).")
        if "preset" in opts and opts["preset"] not in PRESETS:
            raise UsageError(f"Unknown preset {opts['preset']!r}: expected one of {', '.join(PRESETS)}.")
        return import_snapshot(sources, **opts, **common)
    if mapping is None:
        raise UsageError("A mapping import needs the YAML mapping file: --mapping FILE (format in docs/adapters.md).")
    return import_mapped(sources, mapping, **common)


__all__ = ["KINDS", "import_hubspot", "import_mapped", "import_salesforce", "import_snapshot", "run_import"]
