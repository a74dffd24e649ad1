"""Shared first steps of every metric: fix the ``as_of`` moment, cut the log there (or to one owner's or team's
deals), classify stage entries.

Every metric is a pure function of a log and an ``as_of`` moment and never sees an event after it. The
classification of stage entries into movements is the one place where "what counts as a movement" is
decided (``docs/decisions/0006-movements.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from salesmetrics._util.fast import contains
from salesmetrics._util.limits import AS_OF_EXAMPLE, as_of_from_text, as_of_instant, check_year, local_instant
from salesmetrics._util.text import shorten
from salesmetrics.exceptions import UsageError
from salesmetrics.log.saleslog import SalesLog

MOVEMENT_KINDS = ("add", "advance", "regression", "loss", "repeat")


def resolve_as_of(log: SalesLog, as_of=None) -> pd.Timestamp:
    """The moment metrics are computed at, as a timestamp in the log's time zone.

    ``None`` means the latest event in the log (the moment the export was taken, as far as the log tells).
    A date without a time means the end of that day: ``as_of="2024-03-31"`` includes everything on 31 March.
    A call resolves ``as_of`` once where it enters the package and passes the timestamp down; a timestamp that is
    already in the log's time zone comes back as it is.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.read_log("datasets/demo")
    >>> resolve_as_of(log, "2024-03-31")
    Timestamp('2024-03-31 23:59:59.999999+0000', tz='UTC')
    """
    if as_of is None:
        latest = latest_event(log)
        if latest is None:
            raise UsageError(NO_DATED_EVENTS)
        return latest
    return resolve_in_zone(as_of, log.model.timezone)


#: What :func:`resolve_as_of` says of a log without any dated event when no as_of is given.
NO_DATED_EVENTS = (
    "The log has no dated events, so as_of must be given (on the command line: --as-of DATE, e.g. --as-of 2024-06-30)."
)


def latest_event(log: SalesLog) -> pd.Timestamp | None:
    """The latest event of the log (stage changes, activities, close-date changes, deals created), or None when it
    has no dated event: the default as_of of :func:`resolve_as_of`."""
    times = [
        t.max()
        for t in (
            log.stage_changes["changed_at"],
            log.activities["occurred_at"],
            log.close_date_changes["changed_at"],
            log.deals["created_at"],
        )
        if len(t) and t.notna().any()
    ]
    return max(times) if times else None


@dataclass(frozen=True)
class StageChangeRange:
    """The first and last dated stage change of a log (both None when it has none) and the log's time zone: what
    the model commands check ``--start``, ``--end`` and ``--as-of`` against."""

    first: pd.Timestamp | None
    last: pd.Timestamp | None
    timezone: str

    def resolve(self, as_of) -> pd.Timestamp:
        """``as_of`` (not None) as :func:`resolve_as_of` reads it for this log (:func:`resolve_in_zone`)."""
        return resolve_in_zone(as_of, self.timezone)


def stage_change_range(log: SalesLog) -> StageChangeRange:
    """The log's :class:`StageChangeRange`.

    >>> import salesmetrics as sm
    >>> span = stage_change_range(sm.read_log("datasets/demo"))
    >>> f"{span.first:%Y-%m-%d} {span.last:%Y-%m-%d} {span.timezone}"
    '2024-01-01 2025-06-30 UTC'
    """
    times = log.stage_changes["changed_at"].dropna()
    if not len(times):
        return StageChangeRange(None, None, log.model.timezone)
    return StageChangeRange(times.min(), times.max(), log.model.timezone)


def resolve_in_zone(as_of, tz: str) -> pd.Timestamp:
    """:func:`resolve_as_of` of a given moment (not None), which needs only the log's time zone ``tz``: what a
    caller holding no log uses (the parts of a partitioned log share one zone).

    >>> resolve_in_zone("2024-03-31", "UTC")
    Timestamp('2024-03-31 23:59:59.999999+0000', tz='UTC')
    """
    if isinstance(as_of, pd.Timestamp) and as_of.tzinfo is not None and str(as_of.tz) == tz:
        check_year(as_of.year, as_of)
        return as_of  # already resolved
    if isinstance(as_of, str):  # the one reading of as_of text (a date alone: the end of that day)
        return pd.Timestamp(as_of_instant(as_of, tz)).tz_convert(tz)
    stamp = parse_as_of(as_of)
    if stamp.tzinfo is None:
        return pd.Timestamp(local_instant(stamp.to_pydatetime(), tz, "as_of")).tz_convert(tz)
    return stamp.tz_convert(tz)


def parse_as_of(as_of) -> pd.Timestamp:
    """``as_of`` (an ISO 8601 text, a date or a timestamp) as a timestamp, zone as given; else a UsageError.

    Text is read by :func:`salesmetrics._util.limits.as_of_from_text` (ISO 8601 only: ``03/04/2025`` is refused with
    both its readings); every as_of must lie in the years a log's times may (``_limits.YEAR_RANGE``).

    >>> parse_as_of("2025-04-03")
    Timestamp('2025-04-03 00:00:00')
    """
    if isinstance(as_of, str):
        return pd.Timestamp(as_of_from_text(as_of))
    if not isinstance(as_of, (pd.Timestamp, datetime, date, np.datetime64)):
        raise UsageError(f"as_of {shorten(repr(as_of))} is not a date or time; {AS_OF_EXAMPLE}.")
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"as_of {as_of!r} is not a usable time; {AS_OF_EXAMPLE}.") from exc
    if stamp is pd.NaT:
        raise UsageError("as_of must be a date or time, not missing.")
    check_year(stamp.year, as_of)
    return stamp


def truncate(log: SalesLog, as_of) -> SalesLog:
    """The log as it was known at ``as_of``: events after it removed, deals created after it removed.

    Scoring a log at ``as_of`` equals scoring ``truncate(log, as_of)`` at ``as_of``; tests hold every metric
    to that.
    """
    as_of = resolve_as_of(log, as_of)
    changes = log.stage_changes[log.stage_changes["changed_at"] <= as_of]
    activities = log.activities[log.activities["occurred_at"] <= as_of]
    close_dates = log.close_date_changes[log.close_date_changes["changed_at"] <= as_of]
    created = log.deals["created_at"]
    seen = contains(log.deals["deal_id"], changes["deal_id"])
    deals = log.deals[((created <= as_of) | (created.isna() & seen)).to_numpy()]
    amounts = log.amount_changes
    if amounts is not None:
        if len(amounts) and "amount" in deals:  # each deal's amount as it was at as_of, not as it is now (0054)
            deals = deals.assign(amount=amount_at(log, deals["deal_id"], as_of))
        amounts = amounts[amounts["changed_at"] <= as_of]
    cut = SalesLog(log.model, deals, changes, activities, close_dates, log.source, log.problems, amounts)
    return subset_deals(cut, deals)


def amount_at(log: SalesLog, deal_ids, at) -> np.ndarray:
    """Each deal's amount as of a moment, by the rule every amount in a metric follows (decision 0054).

    The latest ``amount_changes`` row of the deal at or before ``at`` (one moment, or one per deal; a time
    without a zone is in the log's); before the deal's first row, that row's amount; without any row, the
    deal's ``amount``; NaN when it has none.

    >>> import salesmetrics as sm
    >>> log = sm.read_log("datasets/demo")
    >>> amount_at(log, ["D000021"] * 3, ["2023-01-01", "2024-03-10", "2026-01-01"]).tolist()  # raised, then cut
    [287.59, 314.6, 259.5]
    """
    ids = pd.Series(np.asarray(deal_ids, dtype=object), dtype="str")
    if isinstance(at, np.ndarray) and at.dtype == np.int64:  # microseconds since the epoch, one per deal
        when = pd.Series(at.astype("datetime64[us]")).dt.tz_localize("UTC")
    else:
        when = pd.to_datetime(pd.Series(list(at) if np.ndim(at) else [at] * len(ids)), format="ISO8601")
        if when.dt.tz is None:  # a time without a zone is read in the log's zone, as as_of is
            when = when.dt.tz_localize(log.model.timezone or "UTC")
    when = when.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    deals = log.deals.drop_duplicates("deal_id").set_index(log.deals["deal_id"].drop_duplicates().astype("str"))
    current = pd.to_numeric(deals["amount"], errors="coerce") if "amount" in deals else pd.Series(np.nan, deals.index)
    out = current.reindex(ids).to_numpy(float)
    history = getattr(log, "amount_changes", None)
    if history is None or not len(history):
        return out
    h = pd.DataFrame(
        {
            "deal_id": history["deal_id"].astype("str"),
            "t": pd.to_datetime(history["changed_at"], utc=True).astype("datetime64[us, UTC]"),
            "amount": pd.to_numeric(history["amount"], errors="coerce"),
        }
    ).sort_values("t", kind="stable")
    first = h.groupby("deal_id", sort=False)["amount"].first()
    asked = pd.DataFrame({"deal_id": ids, "t": when, "row": np.arange(len(ids))}).sort_values("t", kind="stable")
    found = pd.merge_asof(asked, h, on="t", by="deal_id", direction="backward").sort_values("row")
    value = found["amount"].to_numpy(float, copy=True)
    before = np.isnan(value)
    value[before] = first.reindex(ids[before]).to_numpy(float)  # before the first row: the first row's amount
    return np.where(np.isnan(value), out, value)


def cut_at(log: SalesLog, as_of=None) -> tuple[pd.Timestamp, SalesLog]:
    """``as_of`` resolved once (:func:`resolve_as_of`) and the log truncated there: the first step of a metric.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> as_of, cut = cut_at(sm.read_log("datasets/demo"), "2024-01-31")
    >>> str(as_of), bool(cut.stage_changes["changed_at"].max() <= as_of)
    ('2024-01-31 23:59:59.999999+00:00', True)
    """
    as_of = resolve_as_of(log, as_of)
    return as_of, truncate(log, as_of)


def subset_deals(log: SalesLog, deals: pd.DataFrame) -> SalesLog:
    """The log restricted to the rows of ``deals`` (a subset of ``log.deals``) and their events."""
    keep = deals["deal_id"]
    return SalesLog(
        log.model,
        deals,
        log.stage_changes[contains(log.stage_changes["deal_id"], keep)],
        log.activities[contains(log.activities["deal_id"], keep)],
        log.close_date_changes[contains(log.close_date_changes["deal_id"], keep)],
        log.source,
        log.problems,
        None if log.amount_changes is None else log.amount_changes[contains(log.amount_changes["deal_id"], keep)],
    )


def filter_log(log: SalesLog, *, owner: str | None = None, team: str | None = None) -> SalesLog:
    """The log restricted to one owner's or one team's deals (``None`` keeps everyone).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> len(filter_log(sm.read_log("datasets/demo"), team="Team A").deals) < 2000
    True
    """
    deals = log.deals
    for column, value in (("owner", owner), ("team", team)):
        if value in (None, ""):
            continue
        known = sorted(deals[column].dropna().unique()) if column in deals else []
        if value not in known:
            shown = ", ".join(map(str, known[:10])) + (" ..." if len(known) > 10 else "")
            raise UsageError(f"No deals with {column} {value!r} in this log. {column.capitalize()}s: {shown}.")
        deals = deals[deals[column] == value]
    if len(deals) == len(log.deals):
        return log
    return subset_deals(log, deals)


def stage_entries(log: SalesLog, as_of=None) -> pd.DataFrame:
    """Stage entries up to ``as_of`` in time order (ties keep file order), each classified as a movement.

    Columns: ``deal_id, changed_at, stage, rank, prev_stage, prev_rank, kind, is_win, steps``.
    ``kind`` is one of ``add`` (the deal's first entry), ``advance`` (a later open stage, or a won stage),
    ``regression`` (an earlier open stage, including reopening a won deal), ``loss`` (a lost stage) and
    ``repeat`` (the stage the deal is already in, or another terminal stage of the same kind: not a movement).
    ``is_win`` marks advances into a won stage. ``steps`` is the rank gained (advances) or lost (regressions).
    Reopening a lost deal into an open stage counts as an advance.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> entries = stage_entries(sm.read_log("datasets/demo"))
    >>> sorted(entries["kind"].unique())
    ['add', 'advance', 'loss', 'regression']
    """
    as_of = resolve_as_of(log, as_of)
    model = log.model
    changes = log.stage_changes[log.stage_changes["changed_at"] <= as_of]
    if log.deals["created_at"].notna().any():
        late = log.deals.loc[log.deals["created_at"] > as_of, "deal_id"]
        if len(late):
            changes = changes[~contains(changes["deal_id"], late)]
    # stable sort: time order within each deal, file order for ties
    order = np.lexsort((np.arange(len(changes)), changes["changed_at"].array.asi8, changes["deal_id"].to_numpy()))
    entries = changes.iloc[order].reset_index(drop=True)
    ranks = {s: model.rank(s) for s in model.all_stages}
    entries["rank"] = entries["stage"].map(ranks).astype("int64")
    ids = entries["deal_id"].to_numpy()
    first = np.r_[True, ids[1:] != ids[:-1]] if len(ids) else np.zeros(0, dtype=bool)
    prev_stage = entries["stage"].shift(1).where(~first)
    prev_rank = entries["rank"].shift(1).where(~first)
    entries["prev_stage"] = prev_stage
    entries["prev_rank"] = prev_rank.astype("Int64")
    lost = entries["stage"].isin(model.lost).to_numpy()
    won = entries["stage"].isin(model.won).to_numpy()
    rank = entries["rank"].to_numpy()
    prank = prev_rank.fillna(-2).to_numpy()
    prev_lost = prev_stage.isin(model.lost).to_numpy()
    same = (entries["stage"] == prev_stage).to_numpy() | (won & prev_stage.isin(model.won).to_numpy())
    same |= lost & prev_lost
    kind = np.select(
        [first, same, lost, rank > prank, rank < prank],
        ["add", "repeat", "loss", "advance", "regression"],
        default="repeat",
    )
    entries["kind"] = pd.Series(kind, dtype="str")
    entries["is_win"] = (kind == "advance") & won
    steps = np.where(kind == "advance", rank - prank, 0)  # a lost stage ranks -1: reopening starts below stage 0
    entries["steps"] = np.where(kind == "regression", prank - rank, steps).astype("int64")
    return entries


def stamped_at_close(log: SalesLog) -> np.ndarray:
    """Per ``close_date_changes`` row: does it move the deal's close date later at the very moment the deal is
    won or lost (a stage entry into a won or lost stage of the same deal at the same time)?

    CRMs stamp the close date when a deal is closed (decision 0062): such a change is part of the close, so the
    waterfall and score's columns apply it after the stage entry, and the close is judged against the date the
    deal had before it. A change that moves the date earlier (a deal closed early, its date set to the close day)
    stays before the entry: the deal is pulled in and then won or lost, so the bridge still adds up.

    >>> import salesmetrics as sm
    >>> int(stamped_at_close(sm.read_log("datasets/demo")).sum())  # of 1,853 closings
    18
    """
    c = log.close_date_changes
    if not len(c):
        return np.zeros(0, dtype=bool)
    frame = pd.DataFrame(
        {
            "deal_id": c["deal_id"].astype("str").to_numpy(),
            "t": c["changed_at"].to_numpy(),
            "day": c["close_date"].dt.tz_localize(None).dt.normalize().to_numpy(),  # its calendar day, local
            "row": np.arange(len(c)),
        }
    ).sort_values(["deal_id", "t", "row"], kind="stable")
    later = (frame["day"] > frame.groupby("deal_id", sort=False)["day"].shift()).to_numpy()
    s = log.stage_changes
    closing = s[~s["stage"].isin(log.model.stages)]  # entries into a won or lost stage
    keys = pd.MultiIndex.from_arrays([closing["deal_id"].astype("str").to_numpy(), closing["changed_at"].to_numpy()])
    at_close = pd.MultiIndex.from_arrays([frame["deal_id"].to_numpy(), frame["t"].to_numpy()]).isin(keys)
    out = np.zeros(len(c), dtype=bool)
    out[frame["row"].to_numpy()] = later & at_close
    return out
