"""Salesforce: an Opportunity export plus an OpportunityHistory export -> a sales log.

What a history row means, how stage order is derived and what is kept are recorded in
``docs/decisions/0004-salesforce-history.md``; how to export the two files is in ``docs/adapters.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.text import agree, plural
from salesmetrics.adapters._build import Provenance, empty_stage_changes, events_frame, finish
from salesmetrics.adapters._columns import (
    attributes,
    find_column,
    parse_amounts,
    parse_flags,
    parse_times,
    unknown_stage_problem,
)
from salesmetrics.adapters._settings import (
    as_merges,
    as_names,
    check_date_order,
    check_merges,
    check_output,
    check_stage_lists,
    check_timezone,
)
from salesmetrics.adapters._source import Collector, combine_repeated_rows, read_source
from salesmetrics.exceptions import UsageError
from salesmetrics.log.config import StageModel
from salesmetrics.log.saleslog import SalesLog

# API field name -> labels the same field has in report exports and the Data Loader.
OPPORTUNITY_FIELDS = {
    "Id": ("Opportunity ID", "Opportunity Id", "Opportunity 18-Digit ID"),
    "OwnerId": ("Opportunity Owner", "Owner ID", "Owner", "Owner Name", "Owner.Name", "Opportunity Owner ID"),
    "CreatedDate": ("Created Date", "Opportunity Created Date", "Create Date"),
    "StageName": ("Stage",),
    "Amount": ("Amount (converted)",),
    "Probability": ("Probability (%)",),
    "IsClosed": ("Closed",),
    "IsWon": ("Won",),
    "CurrencyIsoCode": ("Opportunity Currency", "Currency"),
}
HISTORY_FIELDS = {
    "OpportunityId": ("Opportunity ID", "Opportunity Id", "Opportunity 18-Digit ID"),
    "CreatedDate": ("Created Date", "Edit Date", "Last Modified Date", "Date"),
    "StageName": ("Stage", "To Stage"),
    "CloseDate": ("Close Date",),
    "Probability": ("Probability (%)",),
    "IsDeleted": ("Deleted",),
    "Amount": ("Amount (converted)",),
    "ForecastCategory": ("Forecast Category", "ForecastCategoryName", "Forecast Category Name"),
}
_LOST_NAME = re.compile(r"lost|clos|dead|disqualif|cancel|reject", re.IGNORECASE)


def _stage_rank_hint(history: pd.DataFrame) -> pd.Series:
    """Median position at which each stage is first entered within a deal's history (for ordering ties)."""
    first = history.drop_duplicates(["_deal", "_stage"])
    position = first.groupby("_deal", sort=False).cumcount()
    return position.groupby(first["_stage"]).median()


def derive_stage_model(
    history: pd.DataFrame,
    current: pd.DataFrame,
    *,
    stage_order: tuple[str, ...] | None,
    won: tuple[str, ...] | None,
    lost: tuple[str, ...] | None,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], list[str]]:
    """Open, won and lost stages, and sentences saying how they were decided.

    ``history`` has columns ``_deal``, ``_stage``, ``_prob``; ``current`` has ``_stage``, ``_prob``, ``_won``,
    ``_closed`` (one row per opportunity; missing values where the export has no such column).
    """
    how: list[str] = []
    both = pd.concat([history[["_stage", "_prob"]], current[["_stage", "_prob"]]], ignore_index=True)
    both = both[both["_stage"].notna()]
    seen = list(dict.fromkeys(both["_stage"]))
    median = both.groupby("_stage", sort=False)["_prob"].median()

    in_stage = current[current["_stage"].notna()]
    closed_any = in_stage.groupby("_stage")["_closed"].agg(lambda s: bool(s.fillna(False).any()))
    known_closed = in_stage.groupby("_stage")["_closed"].agg(lambda s: bool(s.notna().any()))
    won_any = in_stage.groupby("_stage")["_won"].agg(lambda s: bool(s.fillna(False).any()))

    if won is None:
        derived = [s for s in seen if won_any.get(s, False)]
        derived += [s for s in seen if median.get(s, np.nan) >= 100 and s not in derived]
        won = tuple(derived)
        how.append(f"Won stages ({', '.join(won) or 'none'}) were taken from IsWon and Probability 100.")
    if lost is None:
        derived = []
        for s in seen:
            if s in won:
                continue
            closed_not_won = closed_any.get(s, False) and not won_any.get(s, False)
            zero_and_closed_name = (
                not known_closed.get(s, False) and median.get(s, np.nan) == 0 and bool(_LOST_NAME.search(s))
            )
            if closed_not_won or zero_and_closed_name:
                derived.append(s)
        lost = tuple(derived)
        how.append(
            f"Lost stages ({', '.join(lost) or 'none'}) were taken from IsClosed without IsWon, "
            "and Probability 0 for closed-sounding stages."
        )
    terminal = set(won) | set(lost)
    if stage_order is not None:
        stages = tuple(s for s in stage_order if s not in terminal)
        return stages, won, lost, how
    open_seen = [s for s in seen if s not in terminal]
    no_prob = [s for s in open_seen if pd.isna(median.get(s, np.nan))]
    if no_prob:
        raise UsageError(
            f"Cannot place stages {', '.join(map(repr, no_prob))} in order: no row gives their Probability. "
            "List the open stages in pipeline order with stage_order=A,B,C."
        )
    hint = _stage_rank_hint(history)
    stages = tuple(sorted(open_seen, key=lambda s: (median[s], hint.get(s, np.inf), s)))
    how.append(
        "Open stages were ordered by their median Probability (ties by where deals usually enter them): "
        + ", ".join(f"{s} {median[s]:g}%" for s in stages)
        + "."
    )
    return stages, won, lost, how


def _reconcile_ids(opp_ids: pd.Series, hist_ids: pd.Series) -> tuple[pd.Series, bool]:
    """History ids in the form the Opportunity export uses (15- and 18-character ids name the same record)."""
    known = set(opp_ids.dropna())
    if hist_ids.dropna().isin(known).all():
        return hist_ids, False
    lengths_opp = set(opp_ids.dropna().str.len())
    lengths_hist = set(hist_ids.dropna().str.len())
    if lengths_opp | lengths_hist <= {15, 18} and lengths_opp != lengths_hist:
        by_prefix = {i[:15]: i for i in opp_ids.dropna()}
        mapped = hist_ids.str.slice(0, 15).map(by_prefix)
        return mapped.where(mapped.notna(), hist_ids), True
    return hist_ids, False


def import_salesforce(
    opportunities: str | Path,
    history: str | Path,
    *,
    out: str | Path | None = None,
    stage_order: str | Iterable[str] | None = None,
    won: str | Iterable[str] | None = None,
    lost: str | Iterable[str] | None = None,
    timezone: str = "UTC",
    name: str | None = None,
    currency: str | None = None,
    team_column: str | None = None,
    commit_stage: str | None = None,
    merge_stages: str | dict[str, str] | None = None,
    date_order: str = "auto",
    format: str = "parquet",
    overwrite: bool = False,
) -> SalesLog:
    """Build a sales log from a Salesforce Opportunity export and an OpportunityHistory export.

    Deals come from the Opportunity rows (``Id``, ``OwnerId``, ``CreatedDate``, ``Amount``; every other column
    is kept as an attribute). ``stage_changes`` has a row each time ``StageName`` differs from the
    opportunity's previous history row (rows sorted by ``CreatedDate``, ties in file order; ``IsDeleted`` rows
    dropped); ``close_date_changes`` a row each time ``CloseDate`` differs, the first known one included.
    Report-style labels (``Opportunity ID``, ``Stage``, ``Close Date``, ...) are accepted too.

    Parameters
    ----------
    opportunities, history : path
        The two exports (CSV or Parquet).
    out : path, optional
        Write the log to this folder.
    stage_order : list or "A,B,C", optional
        Open stages in pipeline order; else ordered by median ``Probability``.
    won, lost : list or "A,B", optional
        Terminal stages; else from ``IsWon``/``IsClosed`` and ``Probability`` 100/0.
    timezone : str
        Zone of timestamps that carry no offset (report exports); API exports carry ``+0000``.
    date_order : {"auto", "dmy", "mdy"}
        How to read dates like ``03/04/2024`` (report exports in a local format); ``auto`` decides from the
        values and warns when they cannot tell.
    team_column : str, optional
        An Opportunity column to use as the deal's team.
    merge_stages : dict or "Old:New,...", optional
        Read stage ``Old`` as ``New`` in both exports (a picklist value renamed or retired); ``stage_order``,
        ``won`` and ``lost`` use the new names.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.import_salesforce("Opportunity.csv", "OpportunityHistory.csv", out="crm-log")  # doctest: +SKIP
    >>> print(log.summary())  # doctest: +SKIP
    """
    check_output(out, format, overwrite, inputs=(opportunities, history))
    tz = check_timezone(timezone)
    check_date_order(date_order)
    stage_order, won, lost = as_names(stage_order), as_names(won), as_names(lost)
    if won is not None and lost is not None and set(won) & set(lost):
        raise UsageError(f"Stages {sorted(set(won) & set(lost))} are given as both won and lost.")
    merges = as_merges(merge_stages)
    c = Collector("Salesforce")
    opp = read_source(opportunities, c, "Opportunity")
    hist = read_source(history, c, "OpportunityHistory")
    c.raise_if_errors()
    assert opp is not None and hist is not None

    oc = {f: find_column(opp, f, a, required=False) for f, a in OPPORTUNITY_FIELDS.items()}
    hc = {f: find_column(hist, f, a, required=False) for f, a in HISTORY_FIELDS.items()}
    for field_name in ("Id", "OwnerId", "CreatedDate"):
        if oc[field_name] is None:
            find_column(opp, field_name, OPPORTUNITY_FIELDS[field_name], collector=c)
    for field_name in ("OpportunityId", "CreatedDate", "StageName"):
        if hc[field_name] is None:
            find_column(hist, field_name, HISTORY_FIELDS[field_name], collector=c)
    if stage_order is None and hc["Probability"] is None and oc["Probability"] is None:
        c.error(
            "missing_column",
            "Without a Probability column the stage order cannot be derived: add Probability to an export, "
            "or list the open stages with stage_order=A,B,C.",
            file=hist.file,
            column="Probability",
            expected="a column named 'Probability'",
        )
    if oc["Id"] is not None and "OpportunityId" in opp.columns and "IsDeleted" in opp.columns:
        c.warn(
            "swapped_files",
            "This looks like an OpportunityHistory export; give the Opportunity export first, then the history.",
            file=opp.file,
        )
    team_col = None
    if team_column:
        team_col = find_column(opp, team_column, collector=c, why=" (named by team_column)")
    c.raise_if_errors()
    opp = combine_repeated_rows(
        opp,
        oc["Id"],
        c,
        must_agree=[oc[f] for f in ("OwnerId", "CreatedDate", "StageName", "Amount", "IsWon", "IsClosed")],
        what="opportunity",
    )
    c.raise_if_errors()

    # --- opportunities
    ids = opp.text(oc["Id"])
    blank = ids.isna()
    if blank.any():
        c.error(
            "missing_value",
            f"{int(blank.sum())} rows have no opportunity id.",
            file=opp.file,
            column=oc["Id"],
            rows=opp.lines_of(blank[blank].index),
            count=int(blank.sum()),
            expected="an id in every row",
        )
    created = parse_times(opp, oc["CreatedDate"], c, tz=tz, date_order=date_order)
    amount = parse_amounts(opp, oc["Amount"], c) if oc["Amount"] else None
    current = pd.DataFrame(
        {
            "_stage": opp.text(oc["StageName"]) if oc["StageName"] else pd.Series(None, index=opp.frame.index),
            "_prob": parse_amounts(opp, oc["Probability"], c, percent=True) if oc["Probability"] else np.nan,
            "_won": parse_flags(opp, oc["IsWon"], c) if oc["IsWon"] else pd.NA,
            "_closed": parse_flags(opp, oc["IsClosed"], c) if oc["IsClosed"] else pd.NA,
        },
        index=opp.frame.index,
    )
    current["_stage"] = current["_stage"].astype("object")

    # --- history
    frame = pd.DataFrame(
        {
            "_deal_raw": hist.text(hc["OpportunityId"]),
            "_stage": hist.text(hc["StageName"]),
            "_pos": np.arange(len(hist.frame)),
        },
        index=hist.frame.index,
    )
    if hc["IsDeleted"]:
        deleted = parse_flags(hist, hc["IsDeleted"], c).fillna(False).astype(bool)
    else:
        deleted = pd.Series(False, index=frame.index)
    n_deleted = int(deleted.sum())
    frame = frame[~deleted]
    frame["_time"] = parse_times(
        hist, hc["CreatedDate"], c, tz=tz, date_order=date_order, required=True, rows=frame.index
    )
    frame["_close"] = (
        parse_times(hist, hc["CloseDate"], c, tz=tz, date_order=date_order, rows=frame.index).dt.normalize()
        if hc["CloseDate"]
        else pd.NaT
    )
    frame["_prob"] = (
        parse_amounts(hist, hc["Probability"], c, percent=True)[frame.index] if hc["Probability"] else np.nan
    )
    frame["_amount"] = parse_amounts(hist, hc["Amount"], c)[frame.index] if hc["Amount"] else np.nan
    frame["_forecast"] = hist.text(hc["ForecastCategory"])[frame.index] if hc["ForecastCategory"] else None
    no_id = frame["_deal_raw"].isna()
    if no_id.any():
        c.error(
            "missing_value",
            f"{int(no_id.sum())} rows have no OpportunityId.",
            file=hist.file,
            column=hc["OpportunityId"],
            rows=hist.lines_of(no_id[no_id].index),
            count=int(no_id.sum()),
            expected="the id of an opportunity in every row",
        )
    no_stage = frame["_stage"].isna()
    if no_stage.any():
        c.warn(
            "missing_stage",
            f"{int(no_stage.sum())} history rows have no stage; they are used for close dates only.",
            file=hist.file,
            column=hc["StageName"],
            rows=hist.lines_of(no_stage[no_stage].index),
            count=int(no_stage.sum()),
        )
    c.raise_if_errors()
    frame["_deal"], reconciled = _reconcile_ids(ids, frame["_deal_raw"])
    unknown = ~frame["_deal"].isin(set(ids.dropna()))
    if unknown.any():
        bad = frame.loc[unknown, "_deal_raw"]
        c.error(
            "unknown_deal",
            f"{len(bad)} history rows refer to {bad.nunique()} opportunities that are not in {opp.file}. "
            "Export the history for the same opportunities (or export all opportunities).",
            file=hist.file,
            column=hc["OpportunityId"],
            rows=hist.lines_of(bad.index),
            values=tuple(bad.drop_duplicates().iloc[:5]),
            count=len(bad),
            expected=f"an Id listed in {opp.file}",
        )

    if merges:
        check_merges(merges, [*frame["_stage"].dropna(), *current["_stage"].dropna()], "the StageName columns")
        frame["_stage"] = frame["_stage"].replace(merges)
        current["_stage"] = current["_stage"].replace(merges)
        c.notes.append(
            "Stages merged (merge_stages): " + "; ".join(f"'{o}' is read as '{n}'" for o, n in merges.items()) + "."
        )

    # --- stage model
    staged = frame[frame["_stage"].notna()]
    opens, won_, lost_, how = derive_stage_model(
        staged[["_deal", "_stage", "_prob"]], current, stage_order=stage_order, won=won, lost=lost
    )
    check_stage_lists(opens, won_, lost_)
    if commit_stage is not None and commit_stage not in opens:
        raise UsageError(f"commit_stage {commit_stage!r} is not one of the open stages: {', '.join(opens)}.")
    probe = StageModel(stages=opens, won=won_, lost=lost_)
    hint = "List each in stage_order, won or lost (or leave stage_order out to derive the order from Probability)."
    for src, values, column in ((hist, staged["_stage"], hc["StageName"]), (opp, current["_stage"], oc["StageName"])):
        problem = unknown_stage_problem(src, values, probe, column, hint)
        if problem is not None:
            c.add(problem)
    c.raise_if_errors()

    # --- stage_changes and close_date_changes from the sorted history
    frame = frame.sort_values(["_deal", "_time", "_pos"], kind="stable")
    staged = frame[frame["_stage"].notna()]
    previous = staged.groupby("_deal", sort=False)["_stage"].shift()
    changes = staged[previous.isna() | previous.ne(staged["_stage"])]
    order = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    changes = changes.assign(_rank=changes["_deal"].map(order)).sort_values(["_rank", "_time", "_pos"], kind="stable")
    stage_changes = events_frame(changes["_deal"], changes["_time"], changes["_stage"])
    prov = {
        "stage_changes": Provenance.rows_of(
            hist,
            changes.index,
            {"deal_id": hc["OpportunityId"], "changed_at": hc["CreatedDate"], "stage": hc["StageName"]},
        )
    }
    close_date_changes = None
    if hc["CloseDate"]:
        dated = frame[frame["_close"].notna()]
        prev_close = dated.groupby("_deal", sort=False)["_close"].shift()
        moved = dated[prev_close.isna() | prev_close.ne(dated["_close"])]
        moved = moved.assign(_rank=moved["_deal"].map(order)).sort_values(["_rank", "_time", "_pos"], kind="stable")
        close_date_changes = pd.DataFrame(
            {
                "deal_id": pd.Series(moved["_deal"].to_numpy(dtype=object), dtype="str"),
                "changed_at": moved["_time"].reset_index(drop=True),
                "close_date": moved["_close"].reset_index(drop=True),
            }
        )
        prov["close_date_changes"] = Provenance.rows_of(
            hist,
            moved.index,
            {"deal_id": hc["OpportunityId"], "changed_at": hc["CreatedDate"], "close_date": hc["CloseDate"]},
        )
    amount_changes = None
    if hc["Amount"]:  # a row each time the history's Amount differs from the deal's previous known amount
        priced = frame[frame["_amount"].notna()]
        prev_amount = priced.groupby("_deal", sort=False)["_amount"].shift()
        resized = priced[prev_amount.isna() | prev_amount.ne(priced["_amount"])]
        resized = resized.assign(_rank=resized["_deal"].map(order))
        resized = resized.sort_values(["_rank", "_time", "_pos"], kind="stable")
        amount_changes = pd.DataFrame(
            {
                "deal_id": pd.Series(resized["_deal"].to_numpy(dtype=object), dtype="str"),
                "changed_at": resized["_time"].reset_index(drop=True),
                "amount": resized["_amount"].to_numpy(float),
            }
        )
        prov["amount_changes"] = Provenance.rows_of(
            hist,
            resized.index,
            {"deal_id": hc["OpportunityId"], "changed_at": hc["CreatedDate"], "amount": hc["Amount"]},
        )
    if stage_changes.empty:
        stage_changes = empty_stage_changes(tz)

    # --- deals
    owner = opp.text(oc["OwnerId"])
    deals = pd.DataFrame({"deal_id": ids, "owner": owner, "created_at": created}, index=opp.frame.index)
    if amount is not None:
        deals["amount"] = amount
    if team_col:
        deals["team"] = opp.text(team_col)
    used = [oc["Id"], oc["OwnerId"], oc["CreatedDate"], oc["Amount"], team_col]
    deals = pd.concat([deals, attributes(opp, used)], axis=1)
    forecast_known = any(re.sub(r"[\s_]", "", str(col)).lower().startswith("forecastcategory") for col in deals)
    if hc["ForecastCategory"] and not forecast_known:  # the history's latest forecast category, kept for reports
        latest = frame[frame["_forecast"].notna()].groupby("_deal", sort=False)["_forecast"].last()
        deals["forecast_category"] = ids.map(latest).astype("object").where(ids.notna(), None)
    prov["deals"] = Provenance.rows_of(
        opp,
        opp.frame.index,
        {
            "deal_id": oc["Id"],
            "owner": oc["OwnerId"],
            "created_at": oc["CreatedDate"],
            "amount": oc["Amount"] or "Amount",
            "team": team_col or "team",
        },
    )

    # --- what the log does not know, and consistency warnings
    notes: list[str] = []
    with_history = set(changes["_deal"])
    without = ids[ids.notna() & ~ids.isin(with_history)]
    history_kind = "complete"
    if len(without):
        history_kind = "partial"
        notes.append(
            f"{plural(len(without), 'opportunity', 'opportunities', verb=('has', 'have'))} no OpportunityHistory "
            "row: their stage "
            f"history is unknown (their current stage is kept in the {oc['StageName'] or 'StageName'} column)."
        )
    if oc["StageName"] and len(changes):
        last = changes.groupby("_deal", sort=False)["_stage"].last()
        now = pd.Series(current["_stage"].to_numpy(), index=ids.to_numpy())
        both = last.index.intersection(now.dropna().index)
        differ = both[last[both].to_numpy() != now[both].to_numpy()]
        if len(differ):
            rows = ids.index[ids.isin(differ)]
            c.warn(
                "stage_mismatch",
                f"{len(differ)} opportunities have a StageName that differs from their last OpportunityHistory "
                "stage; the history is used. The history export may be older than the Opportunity export.",
                file=opp.file,
                column=oc["StageName"],
                rows=opp.lines_of(rows),
                values=tuple(str(d) for d in list(differ)[:5]),
                count=len(differ),
            )
    if n_deleted:
        notes.append(
            f"{plural(n_deleted, 'deleted history row')} (IsDeleted = true) {agree(n_deleted, 'was', 'were')} left out."
        )
    if reconciled:
        notes.append(
            "Opportunity ids in the history were matched to the Opportunity export on their first 15 characters."
        )
    if oc["CurrencyIsoCode"]:
        codes = opp.text(oc["CurrencyIsoCode"]).dropna().unique()
        if len(codes) == 1 and currency is None:
            currency = str(codes[0])
        elif len(codes) > 1:
            c.warn(
                "mixed_currencies",
                f"Amounts are in {len(codes)} currencies; they are kept as exported, so sums mix currencies. "
                "Export converted amounts to compare deals.",
                file=opp.file,
                column=oc["CurrencyIsoCode"],
                values=tuple(str(v) for v in codes[:5]),
                count=len(codes),
            )
    if hc["Amount"]:
        notes.append(
            "amount is each opportunity's current Amount; amount_changes holds the Amount of each history row "
            "where it changed."
        )
    else:
        notes.append("amount is each opportunity's current Amount; the history export has no Amount column.")
    notes.extend(how)
    model = StageModel(
        stages=opens,
        won=won_,
        lost=lost_,
        commit_stage=commit_stage,
        timezone=tz,
        currency=currency,
        name=name,
        history=history_kind,
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
