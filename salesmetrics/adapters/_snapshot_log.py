"""What a snapshot table says about each deal, and the ``history: partial`` log built from it.

A preset or the generic reader fills a :class:`Snapshot`; :func:`build_log` turns it into a log that dates a
stage entry only where a date says when it happened, keeps each deal's current stage in ``snapshot_stage`` and
says in the stage model's notes what is missing. :func:`stage_model` derives the stage model from the stage
names found. See ``docs/decisions/0005-snapshot-logs.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesmetrics._util.text import agree, plural
from salesmetrics.adapters._build import Provenance, empty_stage_changes, events_frame, finish
from salesmetrics.adapters._columns import unknown_stage_problem
from salesmetrics.adapters._settings import check_stage_lists
from salesmetrics.adapters._source import Collector, SourceTable
from salesmetrics.exceptions import UsageError
from salesmetrics.log.config import StageModel
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.log.schemas import UNKNOWN_OWNER

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


def stage_rows(snap: Snapshot) -> tuple[pd.DataFrame, Provenance, list[str]]:
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


def build_log(
    c: Collector,
    snap: Snapshot,
    *,
    snapshot_date: pd.Timestamp | None,
    out,
    format: str,
    overwrite: bool,
) -> SalesLog:
    """The log a snapshot gives: deals, the stage entries its dates tell, and notes on what the data lacks."""
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
    stage_changes, prov_changes, dated_notes = stage_rows(snap)
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


def stage_model(
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
    """The stage model of a snapshot: won and lost stages as given, else the defaults, else guessed by name."""
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
