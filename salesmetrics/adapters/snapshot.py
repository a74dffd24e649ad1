"""One-row-per-deal snapshot tables -> a log holding only what can be known (``history: partial``).

A snapshot records each deal's *current* stage and, at best, a few dates (created, closed). The log built from
it dates a stage entry only where a date says when it happened, keeps the current stage of every deal in the
``snapshot_stage`` attribute, and states in the stage model's ``notes`` what is missing. Nothing is invented:
no date, no intermediate stage, no owner. See ``docs/decisions/0005-snapshot-logs.md``.

Presets read public datasets in their published shape: ``maven`` (Maven Analytics CRM Sales Opportunities),
``ibm`` (IBM Watson Analytics Sales Win-Loss sample) and ``olist`` (Olist marketing funnel).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.text import agree, plural
from salesmetrics.adapters._build import Provenance, empty_stage_changes, events_frame, finish
from salesmetrics.adapters._columns import attributes, find_column, parse_amounts, parse_times, unknown_stage_problem
from salesmetrics.adapters._settings import (
    as_merges,
    as_names,
    check_date_order,
    check_merges,
    check_output,
    check_stage_lists,
    check_timezone,
)
from salesmetrics.adapters._source import (
    ID_RULES,
    Collector,
    SourceTable,
    combine_repeated_rows,
    generated_ids,
    read_source,
)
from salesmetrics.exceptions import UsageError
from salesmetrics.log.config import StageModel
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.log.schemas import UNKNOWN_OWNER

PRESETS = ("maven", "ibm", "olist")
SNAPSHOT_STAGE = "snapshot_stage"
_WON = re.compile(r"\bwon\b|closedwon", re.IGNORECASE)
_LOST = re.compile(r"\blost\b|\bloss\b|closedlost", re.IGNORECASE)


@dataclass
class Dated:
    """Dates of one kind of stage entry: into a fixed ``stage``, or (``stage=None``) into the deal's current stage."""

    times: pd.Series
    stage: str | None
    file: str
    lines: np.ndarray
    column: str
    terminal_only: bool = False


@dataclass
class Snapshot:
    """What a snapshot table says about each deal, aligned on the deal rows of ``src``."""

    src: SourceTable
    model: StageModel
    ids: pd.Series
    owner: pd.Series
    current: pd.Series
    created: pd.Series | None
    attrs: pd.DataFrame
    columns: dict[str, str | None]
    amount: pd.Series | None = None
    team: pd.Series | None = None
    dated: list[Dated] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.lines is None:
            self.lines = self.src.lines[np.asarray(self.ids.index, dtype="int64")]


def _stage_rows(snap: Snapshot) -> tuple[pd.DataFrame, Provenance, list[str]]:
    """Dated stage entries, one per date the snapshot gives, in time order within each deal."""
    model = snap.model
    current = snap.current
    terminal = current.isin(model.won + model.lost)
    parts, notes = [], []
    position = pd.Series(np.arange(len(snap.ids)), index=snap.ids.index)
    for rule, d in enumerate(snap.dated):
        present = d.times.notna()
        if d.stage is None:
            if d.terminal_only:
                ignored = present & ~terminal & current.notna()
                present &= terminal
                if ignored.any():
                    notes.append(
                        f"{plural(int(ignored.sum()), 'open deal', verb=('has', 'have'))} a {d.column} value; "
                        "it was ignored "
                        "(only closed deals' dates are read as the day they closed)."
                    )
            stages = current
        else:
            reached = current.isna() | ~current.isin(model.stages)
            reached |= current.map(lambda s: model.stages.index(s) if s in model.stages else -1) >= (
                model.stages.index(d.stage) if d.stage in model.stages else -1
            )
            present &= reached
            stages = pd.Series(d.stage, index=current.index)
        n = int(present.sum())
        what = f"'{d.stage}'" if d.stage else ("the won or lost stage" if d.terminal_only else "the current stage")
        notes.append(f"Entry into {what} is dated by {d.column} ({plural(n, 'deal')}).")
        if not present.any():
            continue
        parts.append(
            pd.DataFrame(
                {
                    "_deal": snap.ids[present].to_numpy(),
                    "_time": d.times[present].to_numpy(),
                    "_stage": stages[present].to_numpy(),
                    "_rule": rule,
                    "_pos": position[present].to_numpy(),
                    "_file": d.file,
                    "_line": d.lines[present.to_numpy()],
                    "_column": d.column,
                }
            )
        )
    if not parts:
        empty = Provenance(np.array([], dtype=object), np.array([], dtype="int64"), {}, snap.src.file)
        return empty_stage_changes(model.timezone), empty, notes
    events = pd.concat(parts, ignore_index=True)
    events["_time"] = pd.to_datetime(events["_time"]).dt.tz_convert(model.timezone)
    events = events.sort_values(["_pos", "_time", "_rule"], kind="stable")
    previous = events.groupby("_pos", sort=False)["_stage"].shift()
    events = events[previous.isna() | previous.ne(events["_stage"])]
    # A won or lost deal whose close is not dated would look open from its other dated entries (created in
    # first_stage, never closed): it gets no stage_changes row; its outcome stays in snapshot_stage (ADR 0034).
    closed_at = set(events.loc[events["_stage"].isin(model.won + model.lost), "_pos"])
    undated = terminal.to_numpy() & ~position.isin(closed_at).to_numpy()
    if undated.any():
        dropped = events["_pos"].isin(np.flatnonzero(undated))
        n, by_stage = int(undated.sum()), current[undated].value_counts()
        listed = ", ".join(f"{s} {k:,}" for s, k in by_stage.items())
        notes.append(
            f"{plural(n, 'won or lost deal', verb=('has', 'have'))} no close date ({listed}): "
            f"{agree(n, 'it gets', 'they get')} no stage_changes row (their other dated entries, "
            f"{int(dropped.sum()):,}, are left out), so that no metric counts them as open; their outcome is in "
            f"'{SNAPSHOT_STAGE}' (name the close date column with closed_at= to date it)."
        )
        events = events[~dropped.to_numpy()]
        if events.empty:
            empty = Provenance(np.array([], dtype=object), np.array([], dtype="int64"), {}, snap.src.file)
            return empty_stage_changes(model.timezone), empty, notes
    changes = events_frame(events["_deal"], events["_time"], events["_stage"])
    prov = Provenance(
        events["_file"].to_numpy(dtype=object),
        events["_line"].to_numpy(dtype="int64"),
        {
            "deal_id": snap.columns.get("deal_id") or "deal_id",
            "changed_at": events["_column"].to_numpy(dtype=object),
            "stage": events["_column"].to_numpy(dtype=object),
        },
        snap.src.file,
    )
    return changes, prov, notes


def _build(
    c: Collector,
    snap: Snapshot,
    *,
    snapshot_date: pd.Timestamp | None,
    out,
    format: str,
    overwrite: bool,
) -> SalesLog:
    model = snap.model
    src = snap.src
    problem = unknown_stage_problem(
        src,
        snap.current.set_axis(snap.current.index),
        model,
        snap.columns.get("stage") or "stage",
        "List each in stage_order, won or lost.",
    )
    if problem is not None:
        c.add(problem)
    c.raise_if_errors()

    no_owner = snap.owner.isna()
    owner = snap.owner.fillna(UNKNOWN_OWNER)
    notes = list(snap.notes)
    when = f" taken on {snapshot_date.strftime('%Y-%m-%d')}" if snapshot_date is not None else ""
    notes.insert(
        0,
        f"Built from a one-row-per-deal snapshot{when}: only each deal's current stage is known (deal attribute "
        f"'{SNAPSHOT_STAGE}'); the stages a deal passed through, and when, are not in the data.",
    )
    if snapshot_date is None:
        notes.insert(
            1, "The date the snapshot was taken is not stated, so how long open deals had been open is unknown."
        )
    stage_changes, prov_changes, dated_notes = _stage_rows(snap)
    notes.extend(dated_notes)
    if len(stage_changes):
        closing = stage_changes["stage"].isin(model.won + model.lost)
        last_time = stage_changes.groupby("deal_id", sort=False)["changed_at"].transform("max")
        early = stage_changes.loc[closing & (stage_changes["changed_at"] < last_time), "deal_id"].nunique()
        if early:
            notes.append(
                f"{plural(early, 'deal')} closed (won or lost) earlier than another of their dated entries; both "
                f"dates are kept as recorded, so by time their last stage is not their '{SNAPSHOT_STAGE}'."
            )
    with_rows = snap.ids.isin(set(stage_changes["deal_id"]))
    if (~with_rows).any():
        by_stage = snap.current[~with_rows].fillna("no stage").value_counts()
        listed = ", ".join(f"{s} {n:,}" for s, n in by_stage.items())
        notes.append(
            f"{plural(int((~with_rows).sum()), 'deal', verb=('has', 'have'))} no dated stage entry "
            f"({listed}): no "
            f"stage_changes row; their current stage is in '{SNAPSHOT_STAGE}'."
        )
    decided = int(snap.current.isin(model.won + model.lost).sum())
    if stage_changes.empty and decided:
        notes.append(
            "No deal has a dated stage entry, so movement, velocity and slippage cannot be measured, but "
            f"{plural(decided, 'deal')} {agree(decided, 'has', 'have')} a known outcome: win rates by segment "
            "need no dates (salesmetrics.metrics.outcomes.win_rates(log, by=COLUMN); docs/adapters.md, 'Logs without "
            "dates')."
        )
    if snap.created is None:
        notes.append("The export has no creation date: created_at is missing for every deal.")
        created = pd.Series(pd.NaT, index=snap.ids.index, dtype=f"datetime64[us, {model.timezone}]")
    else:
        created = snap.created
        missing = int(created.isna().sum())
        if missing:
            notes.append(f"created_at is missing for {plural(missing, 'deal')} (no {snap.columns.get('created_at')}).")
    if no_owner.any():
        notes.append(
            f"{plural(int(no_owner.sum()), 'deal', verb=('has', 'have'))} no owner in the data; "
            f"their owner is '{UNKNOWN_OWNER}'."
        )
    if snapshot_date is not None:
        times = [t for t in (created, stage_changes["changed_at"]) if len(t)]
        later = sum(int((t > snapshot_date + pd.Timedelta(days=1)).sum()) for t in times)
        if later:
            c.warn(
                "after_snapshot",
                f"{later} dates fall after the snapshot date {snapshot_date.strftime('%Y-%m-%d')}.",
                file=src.file,
                expected="dates on or before the snapshot date",
                count=later,
            )

    deals = pd.DataFrame({"deal_id": snap.ids, "owner": owner, "created_at": created}, index=snap.ids.index)
    if snap.amount is not None:
        deals["amount"] = snap.amount
    if snap.team is not None:
        deals["team"] = snap.team
    deals[SNAPSHOT_STAGE] = snap.current
    deals = pd.concat([deals, snap.attrs.drop(columns=[SNAPSHOT_STAGE], errors="ignore")], axis=1)
    prov_deals = Provenance(
        np.full(len(deals), src.file, dtype=object),
        np.asarray(snap.lines, dtype="int64"),
        {k: v for k, v in snap.columns.items() if v},
        src.file,
    )
    final = StageModel(
        stages=model.stages,
        won=model.won,
        lost=model.lost,
        commit_stage=model.commit_stage,
        timezone=model.timezone,
        currency=model.currency,
        name=model.name,
        history="partial",
        notes=tuple(notes),
        date_order=model.date_order,
    )
    return finish(
        c,
        final,
        deals,
        stage_changes,
        {"deals": prov_deals, "stage_changes": prov_changes},
        out=out,
        format=format,
        overwrite=overwrite,
    )


def _model(
    values: pd.Series,
    stage_order: tuple[str, ...] | None,
    won: tuple[str, ...] | None,
    lost: tuple[str, ...] | None,
    *,
    tz: str,
    name: str | None,
    currency: str | None,
    date_order: str,
    default_stages: tuple[str, ...] | None = None,
    default_won: tuple[str, ...] | None = None,
    default_lost: tuple[str, ...] | None = None,
) -> StageModel:
    found = list(dict.fromkeys(values.dropna()))
    won = (
        won
        if won is not None
        else (default_won if default_won is not None else tuple(s for s in found if _WON.search(s)))
    )
    lost = (
        lost
        if lost is not None
        else (default_lost if default_lost is not None else tuple(s for s in found if _LOST.search(s) and s not in won))
    )
    if set(won) & set(lost):
        raise UsageError(f"Stages {sorted(set(won) & set(lost))} are given as both won and lost.")
    order = stage_order if stage_order is not None else default_stages
    if order is None:
        counts = values.value_counts()
        listed = ", ".join(f"'{s}' ({n})" for s, n in counts.items())
        raise UsageError(
            "A snapshot does not show the order of the stages: list the open stages in pipeline order with "
            f"stage_order=A,B,C (and won=/lost= for the closed ones). Stages found: {listed}."
        )
    opens = tuple(s for s in order if s not in set(won) | set(lost))
    check_stage_lists(opens, won, lost)
    return StageModel(
        stages=opens, won=won, lost=lost, timezone=tz, name=name, currency=currency, date_order=date_order
    )


# ----------------------------------------------------------------------------------------------- presets


def _locate(paths: Sequence[Path], wanted: dict[str, tuple[str, ...]]) -> dict[str, Path]:
    """Give each role the file whose header has its columns (a folder is searched for CSV files)."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.suffix.lower() in (".csv", ".parquet"))
        elif not p.exists():
            raise UsageError(f"The file {p} does not exist.")
        else:
            files.append(p)
    found: dict[str, Path] = {}
    for f in files:
        if f.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            header = set(pq.read_schema(f).names)
        else:
            with f.open("r", encoding="utf-8-sig", errors="replace") as handle:
                header = {h.strip().strip('"') for h in handle.readline().strip().split(",")}
        for role, columns in wanted.items():
            if role not in found and set(columns) <= header:
                found[role] = f
                break
    return found


def _first(paths: Sequence[Path], role: str, wanted: dict[str, tuple[str, ...]], preset: str) -> dict[str, Path]:
    found = _locate(paths, wanted)
    if role not in found:
        need = ", ".join(wanted[role])
        raise UsageError(
            f"Preset {preset!r} needs a file with columns {need}; none of {', '.join(map(str, paths))} has them."
        )
    return found


def _maven(paths, c, *, tz, name, stage_order, won, lost, date_order) -> Snapshot:
    files = _first(
        paths,
        "pipeline",
        {
            "pipeline": ("opportunity_id", "sales_agent", "deal_stage", "engage_date", "close_date"),
            "teams": ("sales_agent", "manager", "regional_office"),
            "products": ("product", "sales_price"),
        },
        "maven",
    )
    src = read_source(files["pipeline"], c, "sales_pipeline")
    teams = read_source(files["teams"], c, "sales_teams") if "teams" in files else None
    products = read_source(files["products"], c, "products") if "products" in files else None
    c.raise_if_errors()
    assert src is not None
    col = {k: find_column(src, k, collector=c) for k in ("opportunity_id", "sales_agent", "deal_stage")}
    col.update({k: find_column(src, k, collector=c) for k in ("product", "engage_date", "close_date", "close_value")})
    c.raise_if_errors()
    current = src.text(col["deal_stage"])
    model = _model(
        current,
        stage_order,
        won,
        lost,
        tz=tz,
        name=name or "Maven CRM sales pipeline (snapshot)",
        currency="USD",
        date_order=date_order,
        default_stages=("Prospecting", "Engaging"),
        default_won=("Won",),
        default_lost=("Lost",),
    )
    engage = parse_times(src, col["engage_date"], c, tz=tz)
    close = parse_times(src, col["close_date"], c, tz=tz)
    value = parse_amounts(src, col["close_value"], c)
    product = src.text(col["product"])
    renamed = int(product.eq("GTXPro").sum())
    attrs = attributes(
        src, [col["opportunity_id"], col["sales_agent"], col["deal_stage"], col["engage_date"], col["close_date"]]
    )
    attrs["product"] = product.replace({"GTXPro": "GTX Pro"})
    attrs["close_value"] = value  # a number, as in the export: the price paid (0 when lost)
    notes = [
        "Maven CRM Sales Opportunities describes a fictitious company; its licence is unknown.",
        f"created_at is engage_date, the day the deal entered '{model.stages[-1]}'; when deals were first added "
        "as prospects is unknown.",
        "Dates have no time of day; they are read as midnight.",
        "Expected close dates of open deals are not in the data, nor are close date changes.",
    ]
    if renamed:
        notes.append(f"product 'GTXPro' ({renamed:,} deals) was renamed 'GTX Pro' to match products.csv.")
    team = None
    if teams is not None:
        tcol = {k: find_column(teams, k, collector=c) for k in ("sales_agent", "manager", "regional_office")}
        c.raise_if_errors()
        table = pd.DataFrame({k: teams.text(v) for k, v in tcol.items()}).drop_duplicates("sales_agent")
        by_agent = table.set_index("sales_agent")
        agent = src.text(col["sales_agent"])
        team = agent.map(by_agent["manager"])
        attrs["regional_office"] = agent.map(by_agent["regional_office"])
        notes.append("team is the sales agent's manager (sales_teams.csv); regional_office is kept as an attribute.")
        unmatched = int((team.isna() & agent.notna()).sum())
        if unmatched:
            notes.append(
                f"{plural(unmatched, 'deal', verb=('has', 'have'))} a sales agent missing from "
                "sales_teams.csv: no team."
            )
    else:
        notes.append(
            "No sales_teams.csv among the files, so deals have no team; give it too to make each agent's manager "
            "the deal's team (and so score and report by team)."
        )
    if products is not None:
        pcol = {k: find_column(products, k, collector=c) for k in ("product", "sales_price")}
        c.raise_if_errors()
        prices = parse_amounts(products, pcol["sales_price"], c)
        price = pd.Series(prices.to_numpy(), index=products.text(pcol["product"]).to_numpy())
        price = price[~price.index.duplicated()]
        attrs["list_price"] = attrs["product"].map(price)
        if "series" in products.columns:
            series = pd.Series(products.text("series").to_numpy(), index=products.text(pcol["product"]).to_numpy())
            attrs["series"] = attrs["product"].map(series[~series.index.duplicated()])
        # close_value is only known at the end (Won: the price paid; Lost: 0; open: none), so as an amount it
        # would tell models the outcome; the product's list price is known from the start (ADR 0029)
        amount = attrs["list_price"].astype("float64")
        notes.append(
            "amount is the product's list price (products.csv), known from the start; close_value, the price "
            "paid, is kept as an attribute (Lost deals record 0, open deals none) and is not used as amount."
        )
    else:
        amount = pd.Series(float("nan"), index=value.index)
        notes.append(
            "No products.csv among the files, so deals have no amount: close_value is known only once a deal "
            "is won (Lost deals record 0), so it would reveal the outcome; give products.csv for list prices."
        )
    return Snapshot(
        src=src,
        model=model,
        ids=src.text(col["opportunity_id"]),
        owner=src.text(col["sales_agent"]),
        current=current,
        created=engage,
        attrs=attrs,
        columns={
            "deal_id": col["opportunity_id"],
            "owner": col["sales_agent"],
            "created_at": col["engage_date"],
            "amount": col["product"],
            "team": col["sales_agent"],
            "stage": col["deal_stage"],
            SNAPSHOT_STAGE: col["deal_stage"],
        },
        amount=amount,
        team=team,
        dated=[
            Dated(engage, model.stages[-1], src.file, src.lines, col["engage_date"]),
            Dated(close, None, src.file, src.lines, col["close_date"], terminal_only=True),
        ],
        notes=notes,
    )


IBM_AGGREGATES = (
    "Elapsed Days In Sales Stage",
    "Sales Stage Change Count",
    "Total Days Identified Through Closing",
    "Total Days Identified Through Qualified",
    "Ratio Days Identified To Total Days",
    "Ratio Days Validated To Total Days",
    "Ratio Days Qualified To Total Days",
)


def _ibm(paths, c, *, tz, name, stage_order, won, lost, date_order) -> Snapshot:
    files = _first(paths, "table", {"table": ("Opportunity Number", "Opportunity Result")}, "ibm")
    src = read_source(files["table"], c, "win-loss")
    c.raise_if_errors()
    assert src is not None
    id_col = find_column(src, "Opportunity Number", collector=c)
    result_col = find_column(src, "Opportunity Result", collector=c)
    amount_col = find_column(src, "Opportunity Amount USD", collector=c)
    region_col = find_column(src, "Region", collector=c)
    c.raise_if_errors()
    amount_all = parse_amounts(src, amount_col, c)
    c.raise_if_errors()
    frame = src.frame
    exact = frame.duplicated()
    keep = frame.index[~exact.to_numpy()]
    ids_all = src.text(id_col)[keep]
    multi = ids_all.duplicated(keep=False)
    single_rows = keep[~multi.to_numpy()]
    multi_rows = keep[multi.to_numpy()]
    attrs_all = attributes(src, [id_col, result_col, amount_col, region_col])
    # Rows of one opportunity number that differ are read as its line items: one deal, amounts summed.
    first_rows = pd.Index(ids_all[multi].drop_duplicates().index)
    combined_attrs = attrs_all.loc[first_rows].copy()
    combined_amount = amount_all.loc[first_rows].copy()
    if len(multi_rows):
        groups = ids_all[multi]
        summed = amount_all.loc[multi_rows].groupby(groups.to_numpy(), sort=False).sum(min_count=1)
        combined_amount[:] = summed.loc[ids_all[first_rows].to_numpy()].to_numpy()
        for column in attrs_all.columns:
            joined = (
                attrs_all.loc[multi_rows, column]
                .astype(object)
                .groupby(groups.to_numpy(), sort=False)
                .agg(lambda s: " | ".join(dict.fromkeys(str(v) for v in s if pd.notna(v))))
            )
            combined_attrs[column] = joined.loc[ids_all[first_rows].to_numpy()].to_numpy()
    rows = single_rows.append(first_rows).sort_values()
    attrs = pd.concat([attrs_all.loc[single_rows], combined_attrs]).loc[rows]
    amount = pd.concat([amount_all.loc[single_rows], combined_amount]).loc[rows]
    current = src.text(result_col)[rows]
    model = _model(
        current,
        stage_order,
        won,
        lost,
        tz=tz,
        name=name or "IBM Watson sales win-loss sample (snapshot)",
        currency="USD",
        date_order=date_order,
        default_stages=("Identified", "Validated", "Qualified"),
        default_won=("Won",),
        default_lost=("Loss",),
    )
    notes = [
        "IBM Watson Analytics sales win-loss sample: a vendor sample, not known to be real CRM data; licence unknown.",
        "The file has no timestamps at all: no deal has a creation date or a dated stage entry, so stage_changes "
        "is empty and nothing time-based can be measured.",
        "Every deal is closed (Won or Loss, in snapshot_stage). The open stages Identified > Validated > Qualified "
        "are named after the file's column names; no deal's passage through them is recorded.",
        "team is Region; the file names no owner.",
        "Elapsed Days In Sales Stage, Sales Stage Change Count, Total Days ... and the Ratio Days ... columns are "
        "lifetime aggregates known only at close: they leak the outcome.",
    ]
    n_exact = int(exact.sum())
    if n_exact:
        notes.append(
            f"{plural(n_exact, 'row')} repeating an earlier row exactly {agree(n_exact, 'was', 'were')} dropped."
        )
    if len(multi_rows):
        notes.append(
            f"{plural(len(first_rows), 'opportunity number', verb=('appears', 'appear'))} on "
            f"{len(multi_rows):,} rows that differ (in "
            "product and amount); each is read as one deal whose rows are line items: amount is their sum and "
            "differing values are joined with ' | '."
        )
    return Snapshot(
        src=src,
        model=model,
        ids=src.text(id_col)[rows],
        owner=pd.Series(None, index=rows, dtype=object),
        current=current,
        created=None,
        attrs=attrs,
        columns={
            "deal_id": id_col,
            "amount": amount_col,
            "team": region_col,
            "stage": result_col,
            SNAPSHOT_STAGE: result_col,
        },
        amount=amount,
        team=src.text(region_col)[rows],
        notes=notes,
    )


def _olist(paths, c, *, tz, name, stage_order, won, lost, date_order) -> Snapshot:
    files = _first(
        paths,
        "leads",
        {"leads": ("mql_id", "first_contact_date"), "closed": ("mql_id", "won_date")},
        "olist",
    )
    if "closed" not in files:
        raise UsageError(
            "Preset 'olist' needs the closed-deals file (olist_closed_deals_dataset.csv, with mql_id and "
            "won_date) besides the marketing-qualified-leads file."
        )
    src = read_source(files["leads"], c, "marketing qualified leads")
    closed = read_source(files["closed"], c, "closed deals")
    c.raise_if_errors()
    assert src is not None and closed is not None
    id_col = find_column(src, "mql_id", collector=c)
    first_col = find_column(src, "first_contact_date", collector=c)
    cid = find_column(closed, "mql_id", collector=c)
    won_col = find_column(closed, "won_date", collector=c)
    sr_col = find_column(closed, "sr_id", collector=c)
    c.raise_if_errors()
    ids = src.text(id_col)
    closed_ids = closed.text(cid)
    dup = closed_ids.duplicated(keep=False) & closed_ids.notna()
    if dup.any():
        c.error(
            "duplicate_id",
            f"{int(dup.sum())} rows repeat an mql_id; each lead can be won once.",
            file=closed.file,
            column=cid,
            rows=closed.lines_of(dup[dup].index),
            values=tuple(closed_ids[dup].drop_duplicates().iloc[:5]),
            count=int(dup.sum()),
        )
    stray = ~closed_ids.isin(set(ids.dropna()))
    if stray.any():
        c.error(
            "unknown_deal",
            f"{int(stray.sum())} closed deals name an mql_id that is not in {src.file}.",
            file=closed.file,
            column=cid,
            rows=closed.lines_of(stray[stray].index),
            values=tuple(closed_ids[stray].iloc[:5]),
            count=int(stray.sum()),
            expected=f"an mql_id listed in {src.file}",
        )
    first = parse_times(src, first_col, c, tz=tz)
    won_at = parse_times(closed, won_col, c, tz=tz)
    c.raise_if_errors()
    # Align the closed-deals rows on the lead rows.
    where = pd.Series(closed_ids.index, index=closed_ids.to_numpy())
    match = ids.map(where)
    has = match.notna()
    pos = match[has].astype("int64").to_numpy()
    won_time = pd.Series(pd.NaT, index=ids.index, dtype=first.dtype)
    won_time[has] = won_at.to_numpy()[pos]
    won_lines = np.zeros(len(ids), dtype="int64")
    won_lines[has.to_numpy()] = closed.lines[pos]
    stage_lead, stage_won = ("MQL", "Won")
    current = pd.Series(np.where(has, stage_won, stage_lead), index=ids.index, dtype=object)
    model = _model(
        current,
        stage_order,
        won,
        lost,
        tz=tz,
        name=name or "Olist marketing funnel (snapshot)",
        currency=None,
        date_order=date_order,
        default_stages=(stage_lead,),
        default_won=(stage_won,),
        default_lost=(),
    )
    owner = pd.Series(None, index=ids.index, dtype=object)
    owner[has] = closed.text(sr_col).to_numpy()[pos]
    attrs = attributes(src, [id_col, first_col])
    extra = attributes(closed, [cid, won_col, sr_col])
    for column in extra.columns:
        name_ = column if column not in attrs.columns else f"closed_{column}"
        values = pd.Series(None, index=ids.index, dtype=object)
        values[has] = extra[column].to_numpy(dtype=object)[pos]
        attrs[name_] = values
    notes = [
        "Olist marketing funnel: real, anonymised B2B leads (hashed ids); licence reportedly CC BY-NC-SA 4.0.",
        f"created_at and the entry into '{model.stages[0]}' are first_contact_date, a date without time.",
        "Only converted leads have a later stage: 'Won' at won_date. The steps in between (SDR contact, sales "
        "rep meeting) are not in the data.",
        "Leads that did not convert have no loss date: they stay open (right-censored) and no loss is recorded.",
        "owner is the sales rep (sr_id) who closed the deal; leads that did not convert have no rep in the data.",
        "The closed-deal columns (business_segment, lead_type, ...) exist only for converted leads: they leak "
        "the outcome. The time zone of the dates is not stated.",
    ]
    return Snapshot(
        src=src,
        model=model,
        ids=ids,
        owner=owner,
        current=current,
        created=first,
        attrs=attrs,
        columns={"deal_id": id_col, "created_at": first_col, "owner": sr_col, "stage": first_col},
        dated=[
            Dated(first, model.stages[0], src.file, src.lines, first_col),
            Dated(won_time, None, closed.file, won_lines, won_col, terminal_only=True),
        ],
        notes=notes,
    )


_PRESET_BUILDERS = {"maven": _maven, "ibm": _ibm, "olist": _olist}


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
    model = _model(current, stage_order, won, lost, tz=tz, name=name, currency=currency, date_order=date_order)
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
        if preset not in _PRESET_BUILDERS:
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
        snap = _PRESET_BUILDERS[preset](
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
    return _build(c, snap, snapshot_date=when, out=out, format=format, overwrite=overwrite)
