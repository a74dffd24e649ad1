"""Snapshot presets: public datasets read in their published shape.

``maven`` (Maven Analytics CRM Sales Opportunities), ``ibm`` (IBM Watson Analytics Sales Win-Loss sample) and
``olist`` (Olist marketing funnel). Each preset finds its files by their columns, reads them and returns a
:class:`~salesmetrics.adapters._snapshot_log.Snapshot`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.text import agree, plural
from salesmetrics.adapters._columns import attributes, find_column, parse_amounts, parse_times
from salesmetrics.adapters._snapshot_log import SNAPSHOT_STAGE, Dated, Snapshot, stage_model
from salesmetrics.adapters._source import read_source
from salesmetrics.exceptions import UsageError


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
    """Maven Analytics CRM Sales Opportunities: the pipeline table, with its teams and products when given."""
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
    model = stage_model(
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
    """IBM Watson Analytics Sales Win-Loss: one row per opportunity, its result and elapsed days."""
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
    model = stage_model(
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
    """Olist marketing funnel: qualified leads, and the closed deals that some of them became."""
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
    model = stage_model(
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


PRESET_BUILDERS = {"maven": _maven, "ibm": _ibm, "olist": _olist}
