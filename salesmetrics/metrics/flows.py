"""The pipeline waterfall as finance and RevOps define it: chained periods, exclusive buckets, amount history.

``waterfall(log, period="M", by=None, pipeline="due", classify="flows")`` returns a :class:`Waterfall` with
two tables: ``moves`` (one row per deal, period and bucket) and ``bridge`` (per group and period: opening,
each bucket's change, closing). Definitions and a worked example: ``docs/metrics.md`` ("Pipeline waterfall
and bridge"); the choices: ``docs/decisions/0038-waterfall-bridge.md``.

- ``pipeline="due"`` is the pipeline of ``docs/decisions/0007-waterfall.md``: the open deals expected to close
  by the end of the period. With ``classify="flows"`` its counts and amounts are those of
  ``score(by=...)`` (a test holds it to that).
- ``pipeline="all"`` is every open deal whatever its close date, so a period opens where the last one closed.
- ``classify="flows"`` keeps every flow of a deal in a period; ``"exclusive"`` gives each deal at most one
  bucket per period, by :data:`PRECEDENCE`, carrying the deal's whole change.

Every row carries ``bridge_count`` and ``bridge_amount``: the change the row brings to the pipeline, signed.
The bridge sums them per bucket, so ``closing = opening + the sum of every bucket's change`` holds exactly,
in counts and in amounts, for every group and period, whatever the classification.

An amount is the amount as of the moment it describes: the latest ``amount_changes`` row at or before that
moment (before a deal's first row, that first row's amount), or the deal's ``amount`` when the log has no
amount history for it. A missing amount counts 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import as_of_after_log
from salesmetrics.exceptions import CurrencyError, DataNote, UsageError
from salesmetrics.log.prepare import resolve_as_of, subset_deals, truncate
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.metrics.flow_deals import (
    CURRENCY_COLUMNS,
    DELETED_COLUMNS,
    CurrencyFacts,
    currency_facts,
    currency_of,
    deal_column,
    deal_rates,
    deleted_deals,
    parse_rates,
    rates_of_deals,
    rates_table,
)
from salesmetrics.metrics.flow_replay import NAMED, PRECEDENCE, calendar_of, replay_deals
from salesmetrics.metrics.movement import PERIODS, check_period

BUCKETS = (
    "created",
    "won",
    "lost",
    "reopened",
    "pushed",
    "pulled_in",
    "slipped",
    "advanced",
    "expanded",
    "contracted",
)
PIPELINES = ("due", "all")
CLASSIFICATIONS = ("flows", "exclusive")
GROUPS = ("owner", "team")
MOVE_COLUMNS = ("deal_id", "period", "bucket", "amount", "bridge_count", "bridge_amount")
STAMPS = ("close", "move")


@dataclass(frozen=True)
class Waterfall:
    """The result of :func:`waterfall`: the moves, the bridge, and the parameters used."""

    moves: pd.DataFrame
    bridge: pd.DataFrame
    as_of: pd.Timestamp
    period: str
    by: str | None
    pipeline: str
    classify: str
    currency: str | None
    stamp: str = "close"

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        import html

        title = html.escape(f"Pipeline bridge ({self.pipeline}, {self.classify}, {self.period})")
        return f"<p><b>{title}</b></p>" + self.bridge.to_html(index=False, escape=True)


def _check_arguments(period: str, by: str | None, pipeline: str, classify: str) -> None:
    check_period(period)
    if by is not None and by not in GROUPS:
        raise UsageError(f"by {by!r} is not allowed for the waterfall; use 'owner', 'team', or leave it out.")
    if pipeline not in PIPELINES:
        raise UsageError(
            f"pipeline {pipeline!r} is not allowed; use 'due' (deals expected to close by the period's end) "
            "or 'all' (every open deal)."
        )
    if classify not in CLASSIFICATIONS:
        raise UsageError(
            f"classify {classify!r} is not allowed; use 'flows' (every flow of a deal) or 'exclusive' (one "
            "bucket per deal and period)."
        )


def amount_changes(log: SalesLog) -> pd.DataFrame:
    """The log's ``amount_changes`` table (empty when the log has none)."""
    frame = getattr(log, "amount_changes", None)
    if frame is None:
        return pd.DataFrame({"deal_id": pd.Series([], dtype="str"), "changed_at": [], "amount": []})
    return frame


@as_of_after_log("period", "by", "pipeline", "classify", "as_of", "rates", not_as_of=PERIODS)
def waterfall(
    log: SalesLog,
    as_of=None,
    *,
    period: str = "M",
    by: str | None = None,
    pipeline: str = "due",
    classify: str = "flows",
    rates: dict[str, float] | None = None,
    since=None,
    stamp: str = "close",
) -> Waterfall:
    """The pipeline waterfall per period: moves (one row per deal, period and bucket) and the bridge.

    Parameters
    ----------
    log : SalesLog
    as_of : date, time or None
        Nothing after it is seen (default: the latest event).
    period : {"W", "M", "Q"}
        Calendar periods in the log's time zone.
    by : {"owner", "team"} or None
        One bridge per group (the deal's owner or team in ``deals``), or one for the whole log.
    pipeline : {"due", "all"}
        ``due``: open deals expected to close by the period's end (decision 0007); ``all``: every open deal.
    classify : {"flows", "exclusive"}
        ``flows``: every flow of a deal; ``exclusive``: at most one bucket per deal and period.
    rates : dict, str or None
        Value of one unit of each deal currency in the log's currency; needed when deals carry several. Text
        as a report parameter has it is read too: ``"EUR:1.08,GBP:1.25"``.
    since : date, time or None
        Instead of calendar periods, one window from just after ``since`` to ``as_of`` (the weekly review's
        week): the bridge has one row per group, labelled ``2025-06-23 to 2025-06-30``; ``period`` is unused.
    stamp : {"close", "move"}
        A close date moved later at the very moment the deal is won or lost (CRMs stamp it at the close):
        ``close`` reads it as part of the close, so the deal is won or lost from the pipeline it was due in and
        is not pushed (decision 0062; score's columns read it so); ``move`` reads it as a forecast move made
        just before the close (decision 0007). A date moved earlier at the close is a pull-in either way.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> w = waterfall(sm.read_log("datasets/demo"), "2024-06-30", period="Q", pipeline="all")
    >>> b = w.bridge
    >>> change = b[[f"{x}_count" for x in BUCKETS]].sum(axis=1)
    >>> bool((b["opening_count"] + change == b["closing_count"]).all())
    True
    >>> bool((b["opening_count"].iloc[1:].to_numpy() == b["closing_count"].iloc[:-1].to_numpy()).all())
    True
    """
    _check_arguments(period, by, pipeline, classify)
    _check_stamp(stamp)
    if by is not None:
        _check_grouped(by, _grouped(log.deals, by))
    as_of = resolve_as_of(log, as_of)
    history = amount_changes(log)
    log, facts = _seen(log, as_of)
    _note_seen(facts, pipeline, as_of, stacklevel=4)  # the caller of waterfall, past the as_of_after_log wrapper
    rates = parse_rates(rates)
    table = rates_table(facts.currencies, rates, log.model.currency)
    currency = currency_of(facts.currencies, rates, log.model.currency, stacklevel=4)
    calendar = calendar_of(as_of, period, since, log)
    replay = replay_deals(
        log, history, as_of, rates_of_deals(log.deals, facts.currencies, table), pipeline, classify, stamp, calendar
    )
    _note_unpriced(len(replay.unpriced), replay.unpriced_names, stacklevel=4)
    deals = log.deals
    result = _result(deals, replay.move_rows, replay.state_rows, as_of, calendar.labels, by, pipeline, classify,
                     calendar.last_period, currency)  # fmt: skip
    if len(replay.unpriced):
        missing = np.isin(result.moves["deal_id"].to_numpy(str), replay.ids[replay.unpriced].to_numpy(str))
        result.moves.loc[missing, "amount"] = np.nan
    if since is None:
        return replace(result, period=period, stamp=stamp)
    moves = result.moves[result.moves["period"] != "before"].reset_index(drop=True)
    bridge = result.bridge[result.bridge["period_index"] == 1].reset_index(drop=True)
    return replace(result, moves=moves, bridge=bridge, period="window", stamp=stamp)


def _check_stamp(stamp: str) -> None:
    if stamp not in STAMPS:
        raise UsageError(f"stamp {stamp!r} is not allowed; use 'close' (a close date stamped at the close is part "
                         "of it) or 'move' (it is a forecast move).")  # fmt: skip


def _grouped(deals: pd.DataFrame, by: str | None) -> bool:
    """Whether some deal has a value in the ``by`` column (always without ``by``)."""
    return by is None or (by in deals.columns and bool(deals[by].notna().any()))


def _check_grouped(by: str, grouped: bool) -> None:
    if not grouped:
        raise UsageError(
            f"No deal in this log has a {by} (deals column '{by}' is missing or empty), so there is nothing to "
            f"group by; leave --by out, or give the deals a {by}."
        )


@dataclass(frozen=True)
class FlowFacts:
    """What a waterfall's checks and notes read of a log beyond each deal's own rows. The facts of the parts of a
    log add up to the whole's (:meth:`combined`; names are the first few, in the parts' order)."""

    grouped: bool  # some deal has a value in the `by` column
    deleted: int  # soft-deleted deals left out
    deleted_names: tuple[str, ...]
    deleted_column: str | None
    close_changes: int  # close-date changes in the log
    known_close_changes: int  # of them, those known by as_of, of the deals kept
    currencies: CurrencyFacts
    unpriced: int = 0  # deals with moves but no amount
    unpriced_names: tuple[str, ...] = ()

    @staticmethod
    def combined(facts: list[FlowFacts]) -> FlowFacts:
        def names(field):
            return tuple(n for f in facts for n in getattr(f, field))[:NAMED]

        return FlowFacts(
            grouped=any(f.grouped for f in facts),
            deleted=sum(f.deleted for f in facts),
            deleted_names=names("deleted_names"),
            deleted_column=next((f.deleted_column for f in facts if f.deleted_column), None),
            close_changes=sum(f.close_changes for f in facts),
            known_close_changes=sum(f.known_close_changes for f in facts),
            currencies=CurrencyFacts.combined([f.currencies for f in facts]),
            unpriced=sum(f.unpriced for f in facts),
            unpriced_names=names("unpriced_names"),
        )


def _seen(log: SalesLog, as_of, grouped: bool = True) -> tuple[SalesLog, FlowFacts]:
    """The log as the waterfall replays it (cut at ``as_of``, soft-deleted deals out) and its :class:`FlowFacts`."""
    close_changes = len(log.close_date_changes)
    log = truncate(log, as_of)
    deleted = deleted_deals(log.deals)
    names = log.deals.loc[deleted.to_numpy(), "deal_id"].astype(str).head(NAMED)
    column = deal_column(log.deals, DELETED_COLUMNS) if deleted.any() else None
    if deleted.any():
        log = subset_deals(log, log.deals[~deleted.to_numpy()])
    facts = FlowFacts(
        grouped=grouped,
        deleted=int(deleted.sum()),
        deleted_names=tuple(names),
        deleted_column=column,
        close_changes=close_changes,
        known_close_changes=len(log.close_date_changes),
        currencies=currency_facts(log.deals),
    )
    return log, facts


def _note_seen(facts: FlowFacts, pipeline: str, as_of, stacklevel: int) -> None:
    """The notes on deals left out and on a 'due' pipeline without close dates."""
    if facts.deleted:
        warnings.warn(
            f"{facts.deleted:,} soft-deleted deals ({facts.deleted_column} true; e.g. "
            f"{', '.join(facts.deleted_names)}) are left out of the waterfall.",
            DataNote,
            stacklevel=stacklevel,
        )
    if pipeline == "due" and not facts.known_close_changes:
        what = (
            "The log has no close-date changes"
            if not facts.close_changes
            else f"No close-date change is known by {as_of:%Y-%m-%d %H:%M}"
        )
        warnings.warn(
            f"{what}, so no deal is expected to close in any period and the 'due' "
            "pipeline is empty; use pipeline 'all' (--pipeline all) for every open deal.",
            DataNote,
            stacklevel=stacklevel,
        )


def _note_unpriced(count: int, names, stacklevel: int) -> None:
    if count:
        warnings.warn(
            f"{count:,} deals in the waterfall have no amount (e.g. {', '.join(names)}): they count in the deal "
            "counts, add nothing to the amounts, and their amount in the moves is empty.",
            DataNote,
            stacklevel=stacklevel,
        )


@dataclass(frozen=True)
class WaterfallPiece:
    """A part's share of a log's bridge: per group and period, the sums of its deals' states and moves (in cents,
    before every group is given every period), and its :class:`FlowFacts`. ``sums`` is None when the part's deals
    cannot be added up (several currencies): the whole log's check then says why (:func:`bridge_of_pieces`)."""

    sums: pd.DataFrame | None
    facts: FlowFacts


def waterfall_piece(
    log: SalesLog, as_of, *, period: str = "M", by: str | None = None, pipeline: str = "due",
    classify: str = "flows", rates=None, stamp: str = "close",
) -> WaterfallPiece:  # fmt: skip
    """The :class:`WaterfallPiece` of ``log``, a part of a log split by deal, at the whole log's ``as_of``.

    :func:`bridge_of_pieces` adds the pieces of every part up to the bridge ``waterfall`` gives of the whole log
    (a deal's moves depend on its own events only; sums of whole cents are exact in any order).
    """
    _check_arguments(period, by, pipeline, classify)
    _check_stamp(stamp)
    as_of = resolve_as_of(log, as_of)
    history = amount_changes(log)
    log, facts = _seen(log, as_of, _grouped(log.deals, by))
    try:
        table = rates_table(facts.currencies, parse_rates(rates), log.model.currency)
    except (CurrencyError, UsageError):  # said of the whole log, by bridge_of_pieces
        return WaterfallPiece(None, facts)
    calendar = calendar_of(as_of, period, None, log)
    rate = rates_of_deals(log.deals, facts.currencies, table)
    replay = replay_deals(log, history, as_of, rate, pipeline, classify, stamp, calendar)
    moves = pd.DataFrame(
        replay.move_rows, columns=["code", "period_index", "bucket", "amount", "bridge_count", "bridge_amount"]
    )
    states = pd.DataFrame(
        replay.state_rows, columns=["code", "period_index", "opening", "opening_amount", "closing", "closing_amount"]
    )
    facts = replace(facts, unpriced=len(replay.unpriced), unpriced_names=replay.unpriced_names)
    return WaterfallPiece(_bridge_sums(log.deals, moves, states, by), facts)


@dataclass(frozen=True)
class Bridge:
    """The bridge of a log made of parts (:func:`bridge_of_pieces`): ``waterfall(...).bridge`` and its currency."""

    bridge: pd.DataFrame
    as_of: pd.Timestamp
    period: str
    by: str | None
    pipeline: str
    classify: str
    currency: str | None


def bridge_of_pieces(
    pieces: list[WaterfallPiece], as_of: pd.Timestamp, model, *, period: str = "M", by: str | None = None,
    pipeline: str = "due", classify: str = "flows", rates=None,
) -> Bridge:  # fmt: skip
    """The bridge of the log whose parts gave ``pieces`` (:func:`waterfall_piece`, at this ``as_of``, in the
    parts' order), with the checks and notes :func:`waterfall` gives of the whole log, raised here.

    >>> import tempfile, pathlib
    >>> import salesmetrics as sm
    >>> from salesmetrics.log.partition import partition_log
    >>> folder = partition_log("datasets/demo", pathlib.Path(tempfile.mkdtemp()) / "parts", 3).folder
    >>> whole = sm.read_log(folder)
    >>> as_of = resolve_as_of(whole, "2024-12-31")
    >>> parts = [sm.read_log(p) for p in sorted(folder.glob("part-*"))]
    >>> pieces = [waterfall_piece(p, as_of, period="Q", by="team") for p in parts]
    >>> bridge = bridge_of_pieces(pieces, as_of, whole.model, period="Q", by="team").bridge
    >>> bridge.equals(waterfall(whole, as_of, period="Q", by="team").bridge)
    True
    """
    _check_arguments(period, by, pipeline, classify)
    facts = FlowFacts.combined([piece.facts for piece in pieces])
    if by is not None:
        _check_grouped(by, facts.grouped)
    _note_seen(facts, pipeline, as_of, stacklevel=3)
    rates = parse_rates(rates)
    rates_table(facts.currencies, rates, model.currency)  # the whole log's check: raises what waterfall raises
    currency = currency_of(facts.currencies, rates, model.currency, stacklevel=3)
    _note_unpriced(facts.unpriced, facts.unpriced_names, stacklevel=3)
    calendar = calendar_of(as_of, period, None, None)
    keys = ["period_index"] if by is None else [by, "period_index"]
    sums = [piece.sums for piece in pieces if len(piece.sums)] or [pieces[0].sums]
    summed = pd.concat(sums).groupby(keys, dropna=False, sort=True).sum() if len(sums) > 1 else sums[0]
    bridge = _bridge_of_sums(summed, by, calendar.labels, calendar.last_period)
    return Bridge(bridge, as_of, period, by, pipeline, classify, currency)


def _result(deals, move_rows, state_rows, as_of, labels, by, pipeline, classify, last_period, currency) -> Waterfall:
    ids = deals["deal_id"].astype(str).to_numpy(object)
    moves = pd.DataFrame(
        move_rows, columns=["code", "period_index", "bucket", "amount", "bridge_count", "bridge_amount"]
    )
    moves["bucket"] = pd.Categorical(moves["bucket"], categories=list(BUCKETS))
    moves = moves.sort_values(["period_index", "code", "bucket"], kind="stable").reset_index(drop=True)
    moves.insert(0, "deal_id", pd.Series(ids[moves["code"].to_numpy(np.int64)], dtype="str"))
    moves.insert(1, "period", pd.Series(labels(moves["period_index"].to_numpy(np.int64)), dtype="str"))
    moves["bucket"] = moves["bucket"].astype("str")
    moves["bridge_count"] = moves["bridge_count"].astype(np.int64)
    moves["amount"] = moves["amount"].astype(np.int64)
    moves["bridge_amount"] = moves["bridge_amount"].astype(np.int64)
    for column in GROUPS:
        if column in deals.columns:
            moves[column] = pd.Series(deals[column].to_numpy(object)[moves["code"].to_numpy(np.int64)], dtype="str")
    states = pd.DataFrame(
        state_rows, columns=["code", "period_index", "opening", "opening_amount", "closing", "closing_amount"]
    )
    bridge = _bridge(deals, moves, states, by, labels, last_period)
    moves = moves.drop(columns=["code", "period_index"])
    moves["amount"] = moves["amount"] / 100  # cents to the currency's unit, once, at the end
    moves["bridge_amount"] = moves["bridge_amount"] / 100
    return Waterfall(moves, bridge, as_of, "", by, pipeline, classify, currency)


def _bridge(deals, moves, states, by, labels, last_period) -> pd.DataFrame:
    return _bridge_of_sums(_bridge_sums(deals, moves, states, by), by, labels, last_period)


def _value_columns() -> list[str]:
    columns = ["opening_count", "opening_amount"]
    for b in BUCKETS:
        columns += [f"{b}_deals", f"{b}_count", f"{b}_amount"]
    return [*columns, "closing_count", "closing_amount"]


def _bridge_sums(deals, moves, states, by) -> pd.DataFrame:
    """Per group and period with a state or a move: the states' and moves' counts and amounts (cents) added up."""
    keys = ["period_index"] if by is None else [by, "period_index"]
    s = pd.DataFrame(
        {
            "period_index": states["period_index"].astype(np.int64),
            "opening_count": states["opening"].astype(np.int64),
            "opening_amount": states["opening_amount"].astype(np.int64),
            "closing_count": states["closing"].astype(np.int64),
            "closing_amount": states["closing_amount"].astype(np.int64),
        }
    )
    m = pd.DataFrame({"period_index": moves["period_index"].astype(np.int64)})
    for b in BUCKETS:
        hit = (moves["bucket"] == b).to_numpy()
        m[f"{b}_deals"] = hit.astype(np.int64)
        m[f"{b}_count"] = np.where(hit, moves["bridge_count"], 0).astype(np.int64)
        m[f"{b}_amount"] = np.where(hit, moves["bridge_amount"], 0).astype(np.int64)
    if by is not None:
        group = (deals[by] if by in deals else pd.Series(np.nan, index=deals.index)).astype("str").to_numpy(object)
        s.insert(0, by, pd.Series(group[states["code"].to_numpy(np.int64)], dtype="str"))
        m.insert(0, by, pd.Series(group[moves["code"].to_numpy(np.int64)], dtype="str"))
    both = pd.concat([s, m], ignore_index=True)
    value_columns = _value_columns()
    for column in value_columns:
        both[column] = both[column].fillna(0)
    # whole cents in float64 add up exactly (far below 2**53), in any order: parts' sums add up to the whole's
    return both.groupby(keys, dropna=False, sort=True)[value_columns].sum()


def _bridge_of_sums(summed, by, labels, last_period) -> pd.DataFrame:
    """The bridge from :func:`_bridge_sums`: every group gets every period from its first row to ``last_period``,
    amounts in the currency's unit."""
    keys = ["period_index"] if by is None else [by, "period_index"]
    value_columns = _value_columns()
    if len(summed):
        firsts = summed.reset_index().groupby(keys[:-1], dropna=False)["period_index"].min() if by else None
        if by is None:
            first = int(summed.index.min())
            index = pd.Index(range(first, last_period + 1), name="period_index")
        else:
            index = pd.MultiIndex.from_tuples(
                [(g, p) for g, first in firsts.items() for p in range(int(first), last_period + 1)], names=keys
            )
        summed = summed.reindex(index, fill_value=0)
    bridge = summed.reset_index()
    for column in value_columns:
        bridge[column] = bridge[column].astype(np.int64)
        if column.endswith("_amount"):
            bridge[column] = bridge[column] / 100
    bridge.insert(len(keys) - 1, "period", pd.Series(labels(bridge["period_index"].to_numpy(np.int64)), dtype="str"))
    return bridge[[*keys[:-1], "period", "period_index", *value_columns]]


__all__ = [
    "BUCKETS",
    "CURRENCY_COLUMNS",
    "DELETED_COLUMNS",
    "PRECEDENCE",
    "Bridge",
    "FlowFacts",
    "Waterfall",
    "WaterfallPiece",
    "amount_changes",
    "bridge_of_pieces",
    "deal_column",
    "deal_rates",
    "deleted_deals",
    "waterfall",
    "waterfall_piece",
]
