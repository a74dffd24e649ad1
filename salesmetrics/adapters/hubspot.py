"""HubSpot: a deals export with ``Date entered "<stage> (<pipeline>)"`` columns -> a sales log."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.text import plural
from salesmetrics.adapters._build import Provenance, empty_stage_changes, events_frame, finish
from salesmetrics.adapters._columns import attributes, find_column, parse_amounts, parse_times
from salesmetrics.adapters._settings import (
    as_merges,
    as_names,
    check_date_order,
    check_merges,
    check_output,
    check_stage_lists,
    check_timezone,
)
from salesmetrics.adapters._source import Collector, read_source
from salesmetrics.exceptions import UsageError
from salesmetrics.log.config import StageModel
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.log.schemas import UNKNOWN_OWNER

FIELDS = {
    "Record ID": ("Deal ID", "hs_object_id", "dealId", "Record ID - Deal"),
    "Deal owner": ("Deal Owner", "Owner", "hubspot_owner_id"),
    "Create Date": ("Created Date", "createdate", "Create date"),
    "Amount": ("amount", "Amount in company currency"),
    "Pipeline": ("pipeline",),
    "Deal Stage": ("dealstage", "Stage"),
    "Close Date": ("closedate",),
}
HISTORY_FIELDS = {  # a deal property history export, one row per value a property took (long form)
    "Record ID": ("Deal ID", "dealId", "hs_object_id", "objectId", "Record ID - Deal"),
    "Property": ("property", "Property name", "propertyName", "Property internal name"),
    "Value": ("value", "New value", "Property value"),
    "Timestamp": ("timestamp", "Updated at", "Change date", "Date", "Last updated"),
}
_AMOUNT_PROPERTY = {"amount", "amount in company currency", "amount_in_home_currency"}
_CLOSE_PROPERTY = {"closedate", "close date"}
_ENTERED = re.compile(r'^date entered\s+"?(?P<label>.+?)"?\s*$', re.IGNORECASE)
_PIPELINE = re.compile(r"^(?P<stage>.+?)\s*\((?P<pipeline>[^()]*)\)$")
_DERIVED = re.compile(r"^(date entered|date exited|cumulative time in|latest time in|time in)\b", re.IGNORECASE)
_WON = re.compile(r"\bwon\b|closedwon", re.IGNORECASE)
_LOST = re.compile(r"\blost\b|closedlost", re.IGNORECASE)


@dataclass(frozen=True)
class EnteredColumn:
    column: str
    stage: str
    pipeline: str | None


def entered_columns(columns: Iterable[str]) -> list[EnteredColumn]:
    """The ``Date entered`` columns, in file order, with the stage and pipeline labels they name."""
    found = []
    for column in columns:
        m = _ENTERED.match(str(column).strip())
        if not m:
            continue
        label = m.group("label").strip().strip('"').strip()
        p = _PIPELINE.match(label)
        if p:
            found.append(EnteredColumn(str(column), p.group("stage").strip(), p.group("pipeline").strip()))
        else:
            found.append(EnteredColumn(str(column), label, None))
    return found


def import_hubspot(
    deals_csv: str | Path,
    history_csv: str | Path | None = None,
    *,
    out: str | Path | None = None,
    stage_order: str | Iterable[str] | None = None,
    won: str | Iterable[str] | None = None,
    lost: str | Iterable[str] | None = None,
    pipeline: str | None = None,
    timezone: str = "UTC",
    name: str | None = None,
    currency: str | None = None,
    commit_stage: str | None = None,
    merge_stages: str | dict[str, str] | None = None,
    date_order: str = "auto",
    format: str = "parquet",
    overwrite: bool = False,
) -> SalesLog:
    """Build a sales log from a HubSpot deals export that includes the ``Date entered ...`` columns.

    Deals come from ``Record ID``, ``Deal owner``, ``Create Date`` and ``Amount`` (other columns are kept as
    attributes, except the ``Date entered/exited`` and ``Cumulative time in`` columns). Each non-empty
    ``Date entered "<stage> (<pipeline>)"`` cell becomes a stage change. Stage order is the order of those
    columns unless ``stage_order`` is given; stages named like "Closed won" / "Closed lost" are terminal
    unless ``won``/``lost`` say otherwise. HubSpot keeps one entry time per stage, so the log is marked
    ``history: partial`` (see ``docs/adapters.md``).

    Parameters
    ----------
    deals_csv : path
        The export (CSV or Parquet).
    history_csv : path, optional
        A deal property history export (one row per value a property took: ``Record ID``, ``Property``,
        ``Value``, ``Timestamp``, or the API's ``dealId, property, value, timestamp``). Its ``amount`` rows
        become ``amount_changes``, its ``closedate`` rows ``close_date_changes``; other properties are ignored.
    pipeline : str, optional
        Which pipeline to import when the export holds several.
    merge_stages : dict or "Old:New,...", optional
        Read stage ``Old`` as ``New``: a stage renamed in the portal has a ``Date entered`` column under each
        name. The merged stage takes the place of its first column; of two entries with nothing in between,
        the earlier is kept. ``stage_order``, ``won`` and ``lost`` use the new names.
    timezone : str
        The HubSpot account's time zone: the export writes local times without an offset.
    date_order : {"auto", "dmy", "mdy"}
        How to read dates like ``03/04/2024`` (report exports in a local format); ``auto`` decides from the
        values and warns when they cannot tell.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.import_hubspot("hubspot-deals.csv", timezone="Europe/Berlin", out="crm-log")  # doctest: +SKIP
    """
    check_output(out, format, overwrite, inputs=(deals_csv,) if history_csv is None else (deals_csv, history_csv))
    tz = check_timezone(timezone)
    check_date_order(date_order)
    stage_order, won, lost = as_names(stage_order), as_names(won), as_names(lost)
    merges = as_merges(merge_stages)
    c = Collector("HubSpot")
    src = read_source(deals_csv, c, "HubSpot deals")
    c.raise_if_errors()
    assert src is not None
    col = {f: find_column(src, f, a, required=False) for f, a in FIELDS.items()}
    for required in ("Record ID", "Deal owner", "Create Date"):
        if col[required] is None:
            find_column(src, required, FIELDS[required], collector=c)
    entries = entered_columns(src.columns)
    if not entries:
        c.error(
            "missing_column",
            "No 'Date entered \"<stage> (<pipeline>)\"' columns: export the deals with those properties "
            f"(docs/adapters.md). Columns found: {', '.join(src.columns[:40])}.",
            file=src.file,
            column='Date entered "<stage> (<pipeline>)"',
            expected="one 'Date entered' column per stage",
        )
    c.raise_if_errors()

    rows = src.frame.index
    pipelines_in_rows = src.text(col["Pipeline"]) if col["Pipeline"] else None
    pipelines_in_columns = list(dict.fromkeys(e.pipeline for e in entries if e.pipeline is not None))
    if pipeline is None:
        present = pipelines_in_rows.dropna().value_counts() if pipelines_in_rows is not None else None
        if present is not None and len(present) > 1:
            listed = ", ".join(f"'{p}' ({n} deals)" for p, n in present.items())
            raise UsageError(
                f"{src.file} holds deals of {len(present)} pipelines: {listed}. A log has one stage model; "
                "import one pipeline at a time with pipeline=NAME."
            )
        if present is not None and len(present) == 1:
            pipeline = str(present.index[0])
        elif present is None and len(pipelines_in_columns) > 1:
            raise UsageError(
                f"{src.file} has 'Date entered' columns for {len(pipelines_in_columns)} pipelines "
                f"({', '.join(pipelines_in_columns)}) and no Pipeline column; choose one with pipeline=NAME."
            )
    if pipeline is not None:
        if pipelines_in_rows is not None:
            if not pipelines_in_rows.eq(pipeline).any():
                raise UsageError(
                    f"No deal in {src.file} is in pipeline {pipeline!r}; pipelines found: "
                    f"{', '.join(pipelines_in_rows.dropna().unique()) or 'none'}."
                )
            rows = rows[pipelines_in_rows.eq(pipeline).fillna(False).to_numpy()]
        matching = [e for e in entries if e.pipeline in (None, pipeline)]
        if not matching:
            raise UsageError(
                f"No 'Date entered' column of {src.file} names pipeline {pipeline!r}; pipelines named: "
                f"{', '.join(pipelines_in_columns)}."
            )
        entries = matching
    names = [e.stage for e in entries]
    if len(set(names)) < len(names):  # two pipelines share a label and no pipeline was chosen
        entries = [
            EnteredColumn(e.column, f"{e.stage} ({e.pipeline})" if e.pipeline else e.stage, e.pipeline) for e in entries
        ]
    if merges:
        check_merges(merges, (e.stage for e in entries), f"the 'Date entered' columns of {src.file}")
        merged = [e.column for e in entries if e.stage in merges]
        entries = [EnteredColumn(e.column, merges.get(e.stage, e.stage), e.pipeline) for e in entries]
        c.notes.append(
            "Stages merged (merge_stages): "
            + "; ".join(f"'{old}' is read as '{new}'" for old, new in merges.items())
            + f" (columns {', '.join(merged)}). A merged stage takes the place of its first column."
        )
    labels = list(dict.fromkeys(e.stage for e in entries))

    # --- stage model
    won_ = won if won is not None else tuple(s for s in labels if _WON.search(s))
    lost_ = lost if lost is not None else tuple(s for s in labels if _LOST.search(s) and s not in won_)
    if set(won_) & set(lost_):
        raise UsageError(f"Stages {sorted(set(won_) & set(lost_))} are given as both won and lost.")
    terminal = set(won_) | set(lost_)
    opens = tuple(s for s in (stage_order if stage_order is not None else labels) if s not in terminal)
    check_stage_lists(opens, won_, lost_)
    if commit_stage is not None and commit_stage not in opens:
        raise UsageError(f"commit_stage {commit_stage!r} is not one of the open stages: {', '.join(opens)}.")
    model_probe = StageModel(stages=opens, won=won_, lost=lost_)
    column_stages = pd.Series([e.stage for e in entries], dtype=object)
    unknown = column_stages[~column_stages.isin(model_probe.all_stages)]
    if len(unknown):
        c.error(
            "unknown_stage",
            f"{len(unknown)} 'Date entered' columns name stages that are not in stage_order, won or lost. "
            "List them there, or leave stage_order out to use the column order.",
            file=src.file,
            column=entries[unknown.index[0]].column,
            values=tuple(unknown.iloc[:5]),
            count=len(unknown),
            expected="one of: " + ", ".join(model_probe.all_stages),
        )

    # --- stage changes from the non-empty 'Date entered' cells
    rank = {s: i for i, s in enumerate(model_probe.stages)}
    rank.update({s: len(model_probe.stages) + i for i, s in enumerate(won_ + lost_)})
    ids = src.text(col["Record ID"])[rows]
    parts = []
    for e in entries:
        times = parse_times(src, e.column, c, tz=tz, date_order=date_order, rows=rows)
        present = times.notna()
        if present.any():
            parts.append(
                pd.DataFrame(
                    {
                        "_deal": ids[present],
                        "_time": times[present],
                        "_stage": e.stage,
                        "_column": e.column,
                        "_rank": rank.get(e.stage, len(rank)),
                        "_row": np.flatnonzero(present.to_numpy()),
                        "_line": src.lines[np.asarray(rows[present.to_numpy()], dtype="int64")],
                    }
                )
            )
    created = parse_times(src, col["Create Date"], c, tz=tz, date_order=date_order, rows=rows)
    amount = parse_amounts(src, col["Amount"], c)[rows] if col["Amount"] else None
    c.raise_if_errors()
    if parts:
        events = pd.concat(parts, ignore_index=True).sort_values(["_row", "_time", "_rank"], kind="stable")
        if merges:  # a merged stage dated in two columns, with nothing in between: one entry, the earlier
            again = events.groupby("_row", sort=False)["_stage"].shift().eq(events["_stage"])
            if again.any():
                c.notes.append(
                    f"{plural(int(again.sum()), 'deal')} entered a merged stage under both names with no other "
                    "stage in between; the earlier entry is kept."
                )
            events = events[~again]
        stage_changes = events_frame(events["_deal"], events["_time"], events["_stage"])
        prov_events = Provenance(
            np.full(len(events), src.file, dtype=object),
            events["_line"].to_numpy(),
            {
                "deal_id": col["Record ID"],
                "changed_at": events["_column"].to_numpy(),
                "stage": events["_column"].to_numpy(),
            },
            src.file,
        )
    else:
        events = pd.DataFrame(columns=["_deal", "_stage"])
        stage_changes = empty_stage_changes(tz)
        prov_events = Provenance(np.array([], dtype=object), np.array([], dtype="int64"), {}, src.file)

    # --- deals
    owner = src.text(col["Deal owner"])[rows]
    no_owner = owner.isna()
    deals = pd.DataFrame({"deal_id": ids, "owner": owner.fillna(UNKNOWN_OWNER), "created_at": created}, index=rows)
    if amount is not None:
        deals["amount"] = amount
    skip = [col["Record ID"], col["Deal owner"], col["Create Date"], col["Amount"]]
    skip += [c_ for c_ in src.columns if _DERIVED.match(c_)]
    deals = pd.concat([deals, attributes(src, skip, rows)], axis=1)
    prov = {
        "deals": Provenance.rows_of(
            src,
            rows,
            {
                "deal_id": col["Record ID"],
                "owner": col["Deal owner"],
                "created_at": col["Create Date"],
                "amount": col["Amount"] or "Amount",
            },
        ),
        "stage_changes": prov_events,
    }

    notes = [
        "HubSpot exports one 'Date entered' time per stage: when a deal entered a stage more than once, only "
        "one of those entries is known, so repeated entries and moves back to an earlier stage are missing.",
        "Close date changes are not in a deals export; close_date_changes is empty (the current Close Date is "
        "kept as a deal attribute).",
    ]
    if no_owner.any():
        notes.append(f"{plural(int(no_owner.sum()), 'deal')} had no Deal owner; their owner is '{UNKNOWN_OWNER}'.")
        c.warn(
            "missing_owner",
            f"{int(no_owner.sum())} deals have no owner; they are given the owner '{UNKNOWN_OWNER}'.",
            file=src.file,
            column=col["Deal owner"],
            rows=src.lines_of(no_owner[no_owner].index),
            count=int(no_owner.sum()),
        )
    if pipeline is not None and len(rows) < len(src.frame):
        notes.append(f"Only pipeline '{pipeline}' was imported ({plural(len(rows), 'deal')} of {len(src.frame):,}).")
    if col["Deal Stage"] and len(events):
        last = events.groupby("_deal", sort=False)["_stage"].last()
        now = src.text(col["Deal Stage"])[rows].replace(merges)
        now.index = ids.to_numpy()
        now = now[now.notna() & now.index.isin(last.index)]
        now = now[~now.index.duplicated()]
        differ = now.index[now.to_numpy() != last[now.index].to_numpy()]
        if len(differ):
            c.warn(
                "stage_mismatch",
                f"{len(differ)} deals' Deal Stage is not the last stage they entered by the 'Date entered' "
                "columns; the dated entries are used.",
                file=src.file,
                column=col["Deal Stage"],
                values=tuple(str(d) for d in list(differ)[:5]),
                count=len(differ),
            )
    amount_changes = close_date_changes = None
    if history_csv is not None:
        amount_changes, close_date_changes = _property_history(
            history_csv, c, ids, src_ids=src.text(col["Record ID"]), tz=tz, prov=prov
        )
        notes.append(
            f"amount_changes comes from the property history export ({plural(len(amount_changes), 'amount row')})."
        )
        if len(close_date_changes):
            notes[1] = (
                "close_date_changes comes from the property history export's closedate rows "
                f"({plural(len(close_date_changes), 'row')})."
            )
        else:
            close_date_changes = None
    model = StageModel(
        stages=opens,
        won=won_,
        lost=lost_,
        commit_stage=commit_stage,
        timezone=tz,
        currency=currency,
        name=name,
        history="partial",
        notes=tuple(notes),
    )
    return finish(
        c,
        model,
        deals,
        stage_changes,
        prov,
        close_date_changes=close_date_changes,
        amount_changes=amount_changes,
        out=out,
        format=format,
        overwrite=overwrite,
    )


def _property_history(
    path, c: Collector, ids: pd.Series, *, src_ids: pd.Series, tz: str, prov: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``amount_changes`` and ``close_date_changes`` from a property history export: its ``amount`` and
    ``closedate`` rows for the imported deals, in time order.

    Rows of deals that are in the deals export but not imported (another pipeline) are left out; rows of
    deals that are not in the deals export at all are an error naming them. Repeats of the same value are kept
    once (the earliest). A close date is the day of its value (HubSpot stores a date as midnight).
    """
    hist = read_source(path, c, "HubSpot property history")
    c.raise_if_errors()
    assert hist is not None
    hc = {f: find_column(hist, f, a, required=False) for f, a in HISTORY_FIELDS.items()}
    for field_name, aliases in HISTORY_FIELDS.items():
        if hc[field_name] is None:
            find_column(hist, field_name, aliases, collector=c)
    c.raise_if_errors()
    prop = hist.text(hc["Property"]).str.lower()
    known, imported = set(src_ids.dropna()), set(ids.dropna())
    parsed = []
    for column, names, what in (("amount", _AMOUNT_PROPERTY, "amount"), ("close_date", _CLOSE_PROPERTY, "close date")):
        rows = hist.frame.index[prop.isin(names).to_numpy()]
        deal = hist.text(hc["Record ID"])[rows]
        bad = deal[deal.notna() & ~deal.isin(known)]
        if len(bad):
            c.error(
                "unknown_deal",
                f"{len(bad)} {what} rows refer to {bad.nunique()} deals that are not in the deals export. Export "
                "the property history of the same deals.",
                file=hist.file,
                column=hc["Record ID"],
                rows=hist.lines_of(bad.index),
                values=tuple(bad.drop_duplicates().iloc[:5]),
                count=len(bad),
                expected="a Record ID listed in the deals export",
            )
        rows = rows[deal.isin(imported).to_numpy()]
        when = parse_times(hist, hc["Timestamp"], c, tz=tz, required=True, rows=rows)
        if column == "amount":
            value = parse_amounts(hist, hc["Value"], c, rows=rows)
        else:
            value = parse_times(hist, hc["Value"], c, tz=tz, rows=rows).dt.normalize()
        parsed.append((column, rows, when, value))
    c.raise_if_errors()
    tables = []
    for column, rows, when, value in parsed:
        frame = pd.DataFrame(
            {"_deal": hist.text(hc["Record ID"])[rows], "_time": when, "_value": value, "_pos": np.arange(len(rows))},
            index=rows,
        )
        frame = frame[frame["_value"].notna()].sort_values(["_deal", "_time", "_pos"], kind="stable")
        previous = frame.groupby("_deal", sort=False)["_value"].shift()
        frame = frame[previous.isna() | previous.ne(frame["_value"])]
        prov[f"{column}_changes"] = Provenance.rows_of(
            hist, frame.index, {"deal_id": hc["Record ID"], "changed_at": hc["Timestamp"], column: hc["Value"]}
        )
        values = frame["_value"].to_numpy(float) if column == "amount" else frame["_value"].reset_index(drop=True)
        tables.append(
            pd.DataFrame(
                {
                    "deal_id": pd.Series(frame["_deal"].to_numpy(dtype=object), dtype="str"),
                    "changed_at": frame["_time"].reset_index(drop=True),
                    column: values,
                }
            )
        )
    return tables[0], tables[1]
