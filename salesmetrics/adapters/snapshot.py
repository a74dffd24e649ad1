"""One-row-per-deal snapshot tables -> a log holding only what can be known (``history: partial``).

A snapshot records each deal's *current* stage and, at best, a few dates (created, closed). The log built from
it dates a stage entry only where a date says when it happened, keeps the current stage of every deal in the
``snapshot_stage`` attribute, and states in the stage model's ``notes`` what is missing. Nothing is invented:
no date, no intermediate stage, no owner. See ``docs/decisions/0005-snapshot-logs.md``.

Presets read public datasets in their published shape: ``maven`` (Maven Analytics CRM Sales Opportunities),
``ibm`` (IBM Watson Analytics Sales Win-Loss sample) and ``olist`` (Olist marketing funnel).

This module reads a generic snapshot table and is the entry point; ``_snapshot_presets`` reads the presets'
files and ``_snapshot_log`` builds the log from what either read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from salesmetrics.adapters._columns import attributes, find_column, parse_amounts, parse_times
from salesmetrics.adapters._settings import (
    as_merges,
    as_names,
    check_date_order,
    check_merges,
    check_output,
    check_timezone,
)
from salesmetrics.adapters._snapshot_log import SNAPSHOT_STAGE, Dated, Snapshot, build_log, stage_model
from salesmetrics.adapters._snapshot_presets import PRESET_BUILDERS
from salesmetrics.adapters._source import ID_RULES, Collector, combine_repeated_rows, generated_ids, read_source
from salesmetrics.exceptions import UsageError
from salesmetrics.log.saleslog import SalesLog

PRESETS = tuple(PRESET_BUILDERS)


def _generic(
    paths: Sequence[Path],
    c: Collector,
    *,
    tz: str,
    name: str | None,
    currency: str | None,
    stage_order,
    won,
    lost,
    date_order: str,
    deal_id: str | None,
    owner: str | None,
    stage: str | None,
    created_at: str | None,
    first_stage: str | None,
    closed_at: str | None,
    entered_at: str | None,
    amount: str | None,
    team: str | None,
    generate_id: str | None = None,
    merge_stages: str | dict[str, str] | None = None,
) -> Snapshot:
    """What a generic snapshot table says, its columns named by the caller."""
    if len(paths) != 1:
        raise UsageError(f"A snapshot import without a preset reads one table; {len(paths)} files were given.")
    if generate_id is not None and deal_id:
        raise UsageError("Give either deal_id=COLUMN or generate_id=row|content, not both.")
    if generate_id is not None and generate_id not in ID_RULES:
        raise UsageError(f"generate_id must be one of {', '.join(ID_RULES)}, not {generate_id!r}.")
    if not ((deal_id or generate_id) and stage):
        raise UsageError(
            "Name the snapshot's columns: deal_id=COLUMN (or, for a table without ids, generate_id=row or "
            "generate_id=content) and stage=COLUMN are required; owner, created_at, first_stage, closed_at, "
            "entered_at, amount and team are optional."
        )
    src = read_source(paths[0], c, "snapshot")
    c.raise_if_errors()
    assert src is not None
    named = {
        "deal_id": deal_id,
        "owner": owner,
        "stage": stage,
        "created_at": created_at,
        "closed_at": closed_at,
        "entered_at": entered_at,
        "amount": amount,
        "team": team,
    }
    col = {}
    for key, wanted in named.items():
        col[key] = find_column(src, wanted, collector=c, why=f" (named by {key}=)") if wanted else None
    c.raise_if_errors()
    if col["deal_id"]:
        src = combine_repeated_rows(
            src, col["deal_id"], c, must_agree=[v for k, v in col.items() if k != "deal_id"], what="deal"
        )
        c.raise_if_errors()
        ids = src.text(col["deal_id"])
    else:
        ids = generated_ids(src, str(generate_id), c)
    current = src.text(col["stage"])
    merges = as_merges(merge_stages)
    if merges:
        check_merges(merges, current.dropna(), f"column {col['stage']!r}")
        current = current.replace(merges)
        c.notes.append(
            "Stages merged (merge_stages): " + "; ".join(f"'{o}' is read as '{n}'" for o, n in merges.items()) + "."
        )
    model = stage_model(current, stage_order, won, lost, tz=tz, name=name, currency=currency, date_order=date_order)
    if first_stage is not None and first_stage not in model.all_stages:
        raise UsageError(f"first_stage {first_stage!r} is not a stage: {', '.join(model.all_stages)}.")
    created = parse_times(src, col["created_at"], c, tz=tz, date_order=date_order) if col["created_at"] else None
    dated = []
    if created is not None and first_stage is not None:
        dated.append(Dated(created, first_stage, src.file, src.lines, col["created_at"]))
    notes = []
    if created is not None and first_stage is None:
        notes.append(
            "The stage deals were created in is unknown (first_stage was not given), so creation adds no stage entry."
        )
    if col["entered_at"]:
        times = parse_times(src, col["entered_at"], c, tz=tz, date_order=date_order)
        dated.append(Dated(times, None, src.file, src.lines, col["entered_at"]))
    if col["closed_at"]:
        times = parse_times(src, col["closed_at"], c, tz=tz, date_order=date_order)
        dated.append(Dated(times, None, src.file, src.lines, col["closed_at"], terminal_only=True))
    value = parse_amounts(src, col["amount"], c) if col["amount"] else None
    no_stage = current.isna()
    if no_stage.any():
        c.warn(
            "missing_stage",
            f"{int(no_stage.sum())} deals have no stage; their stage is unknown.",
            file=src.file,
            column=col["stage"],
            rows=src.lines_of(no_stage[no_stage].index),
            count=int(no_stage.sum()),
        )
    used = [v for v in col.values() if v]
    return Snapshot(
        src=src,
        model=model,
        ids=ids,
        owner=src.text(col["owner"]) if col["owner"] else pd.Series(None, index=src.frame.index, dtype=object),
        current=current,
        created=created,
        attrs=attributes(src, used),
        columns={**{k: v for k, v in col.items() if v}, SNAPSHOT_STAGE: col["stage"]},
        amount=value,
        team=src.text(col["team"]) if col["team"] else None,
        dated=dated,
        notes=notes,
    )


def import_snapshot(
    table: str | Path | Sequence[str | Path],
    *,
    out: str | Path | None = None,
    preset: str | None = None,
    deal_id: str | None = None,
    owner: str | None = None,
    stage: str | None = None,
    created_at: str | None = None,
    first_stage: str | None = None,
    closed_at: str | None = None,
    entered_at: str | None = None,
    amount: str | None = None,
    team: str | None = None,
    generate_id: str | None = None,
    merge_stages: str | dict[str, str] | None = None,
    stage_order: str | Iterable[str] | None = None,
    won: str | Iterable[str] | None = None,
    lost: str | Iterable[str] | None = None,
    timezone: str = "UTC",
    name: str | None = None,
    currency: str | None = None,
    snapshot_date: str | None = None,
    date_order: str = "auto",
    format: str = "parquet",
    overwrite: bool = False,
) -> SalesLog:
    """Build a ``history: partial`` log from a one-row-per-deal table of current deal states.

    Without a preset, name the columns: ``deal_id`` and ``stage`` (the current stage) are required; ``owner``
    (else ``(unknown)``), ``created_at`` (with ``first_stage``, the stage deals are created in, it dates an entry
    into that stage), ``entered_at`` (when the current stage was entered), ``closed_at`` (when a won or lost deal
    closed), ``amount`` and ``team`` are optional, and ``stage_order`` lists the open stages. A table without an
    id column takes ``generate_id="row"`` or ``"content"`` instead of ``deal_id`` (the notes say so). A stage
    entry is written only where a date says when it happened (a won or lost deal without a close date gets
    none); every deal keeps its current stage in ``snapshot_stage``, and the log's notes say what is missing.
    Rows repeating a deal id are combined as line items, or refused when they disagree (``docs/adapters.md``).

    Presets: ``"maven"`` (``sales_pipeline.csv``, optionally ``sales_teams.csv`` and ``products.csv``, or their
    folder), ``"ibm"`` (``WA_Fn-UseC_-Sales-Win-Loss.csv``) and ``"olist"`` (the marketing-qualified-leads
    file and the closed-deals file).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.import_snapshot("datasets/maven_crm_sales", preset="maven", out="maven-log")  # doctest: +SKIP
    >>> log.summary().history  # doctest: +SKIP
    'partial'
    """
    check_output(out, format, overwrite, inputs=[table] if isinstance(table, (str, Path)) else table)
    tz = check_timezone(timezone)
    check_date_order(date_order)
    paths = [Path(table)] if isinstance(table, (str, Path)) else [Path(p) for p in table]
    if not paths:
        raise UsageError("No snapshot file was given.")
    stage_order, won, lost = as_names(stage_order), as_names(won), as_names(lost)
    when = None
    if snapshot_date is not None:
        try:
            when = pd.Timestamp(snapshot_date)
        except (ValueError, TypeError):
            raise UsageError(f"snapshot_date {snapshot_date!r} is not a date such as 2017-12-31.") from None
        when = when.tz_localize(tz) if when.tzinfo is None else when.tz_convert(tz)
    c = Collector("snapshot")
    if preset is not None:
        if preset not in PRESET_BUILDERS:
            raise UsageError(f"Unknown preset {preset!r}: expected one of {', '.join(PRESETS)}.")
        given = {
            k: v
            for k, v in dict(
                deal_id=deal_id,
                owner=owner,
                stage=stage,
                created_at=created_at,
                first_stage=first_stage,
                closed_at=closed_at,
                entered_at=entered_at,
                amount=amount,
                team=team,
                currency=currency,
                generate_id=generate_id,
                merge_stages=merge_stages,
            ).items()
            if v is not None
        }
        if given:
            raise UsageError(f"Preset {preset!r} names its own columns; do not pass {', '.join(sorted(given))}.")
        c.kind = f"snapshot ({preset})"
        snap = PRESET_BUILDERS[preset](
            paths, c, tz=tz, name=name, stage_order=stage_order, won=won, lost=lost, date_order=date_order
        )
    else:
        for p in paths:
            if p.is_dir():
                raise UsageError(f"{p} is a folder; without a preset give the snapshot file itself.")
        snap = _generic(
            paths,
            c,
            tz=tz,
            name=name,
            currency=currency,
            stage_order=stage_order,
            won=won,
            lost=lost,
            date_order=date_order,
            deal_id=deal_id,
            owner=owner,
            stage=stage,
            created_at=created_at,
            first_stage=first_stage,
            closed_at=closed_at,
            entered_at=entered_at,
            amount=amount,
            team=team,
            generate_id=generate_id,
            merge_stages=merge_stages,
        )
    return build_log(c, snap, snapshot_date=when, out=out, format=format, overwrite=overwrite)
