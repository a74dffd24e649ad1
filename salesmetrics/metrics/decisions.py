"""Decision increments: did each client interaction end with the deal moving forward, back, or nowhere?

An interaction (a meeting, call or demo by default) is a chance for the client to decide something. If the
deal's stage moves forward soon after it, before the next interaction, the interaction is counted as a
decision that *advanced* the deal; a step back or a loss is *regressed*; no movement is *stayed*. Sellers
who turn a larger share of their interactions into decisions (a higher ``decision_rate``) move deals with
fewer interactions, and sellers who get several stages agreed at once show ``steps_per_advance`` above 1.

Definitions are in ``docs/metrics.md``; the inference rule is argued in
``docs/decisions/0009-decision-inference.md``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmetrics._util.fast import index_in
from salesmetrics._util.time_units import US_PER_DAY
from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import resolve_as_of, stage_entries, truncate
from salesmetrics.log.saleslog import SalesLog

OUTCOMES = ("advanced", "regressed", "stayed")
SOURCES = ("inferred", "recorded", "recorded_first")
DEFAULT_KINDS = ("meeting", "call", "demo")

_NEVER = np.iinfo("int64").max
_DEAL_COUNTS = ("interactions", "known", "advanced", "regressed", "stayed", "steps_gained", "advances_seen")


@dataclass(frozen=True)
class DecisionIncrements:
    """The result of :func:`decision_increments`.

    Attributes
    ----------
    interactions : DataFrame
        One row per interaction: ``deal_id, owner, occurred_at, kind, recorded, inferred, steps,
        horizon_end, settled, outcome``. ``recorded`` is the seller's ``outcome`` (missing when not recorded),
        ``inferred`` the outcome read from the stage history, ``steps`` the stages gained when the inferred
        outcome is an advance (0 otherwise), ``outcome`` the one used for the rates (per ``source``).
        Rows follow the deals table's order, then time.
    deals, owners : DataFrame
        Counts (``interactions, known, advanced, regressed, stayed, steps_gained, advances_seen``) and the rates
        ``decision_rate, interactions_per_advance, steps_per_advance``; owners are sums of deals.
    agreement : float
        Share of interactions with a recorded outcome whose inferred outcome is the same (NaN when none).
    compared : int
        How many interactions the agreement is computed on.
    confusion : DataFrame
        Recorded outcome (rows) against inferred outcome (columns), counts.
    as_of, source, kinds, window_days
        The parameters used.
    """

    interactions: pd.DataFrame
    deals: pd.DataFrame
    owners: pd.DataFrame
    agreement: float
    compared: int
    confusion: pd.DataFrame
    as_of: pd.Timestamp
    source: str
    kinds: tuple[str, ...]
    window_days: float | None

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>Decision increments</b> at {html.escape(str(self.as_of))}; source={html.escape(self.source)}, "
            f"kinds={html.escape(', '.join(self.kinds))}, window={self.window_days} days. "  # kinds from the log
            f"{len(self.interactions):,} interactions; recorded and inferred outcomes agree on "
            f"{self.agreement:.1%} of {self.compared:,} compared.</p>"
        )
        return head + self.owners.to_html(float_format=lambda v: f"{v:.3f}")


def _rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Add the three rates to a table of counts (per deal or per owner)."""
    out = counts.copy()
    known = out["known"].to_numpy(dtype="float64")
    adv = out["advanced"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["decision_rate"] = np.where(known > 0, adv / known, np.nan)
        out["interactions_per_advance"] = np.where(known > 0, np.where(adv > 0, known / adv, np.inf), np.nan)
        seen = out["advances_seen"].to_numpy(dtype="float64")
        out["steps_per_advance"] = np.where(seen > 0, out["steps_gained"].to_numpy(dtype="float64") / seen, np.nan)
    return out


def _check(source: str, window_days) -> None:
    if source not in SOURCES:
        raise UsageError(f"source must be one of {', '.join(SOURCES)}, not {source!r}.")
    if window_days is not None and not (np.isfinite(window_days) and window_days > 0):
        raise UsageError(f"window_days must be a positive number of days or None, not {window_days!r}.")


def decision_increments(
    log: SalesLog,
    as_of=None,
    kinds: Iterable[str] | None = DEFAULT_KINDS,
    window_days: float | None = 14,
    source: str = "inferred",
) -> DecisionIncrements:
    """The outcome of every interaction, and decision rates per deal and per owner, at ``as_of``.

    Parameters
    ----------
    log : SalesLog
    as_of : date, time or None
        Nothing after it is seen (see :func:`salesmetrics.log.prepare.resolve_as_of`).
    kinds : iterable of str or None
        Activity kinds that count as interactions; ``None`` means every kind.
    window_days : float or None
        An interaction's *horizon* runs from its time up to (not including) the deal's next interaction at a
        later time, and at most ``window_days`` days. ``None`` removes the cap.
    source : {"inferred", "recorded", "recorded_first"}
        Which outcome the rates use: the one inferred from stage changes (every interaction has one); only
        the seller's recorded ``outcome`` (interactions without one are left out of the rates); or the recorded
        one where present and the inferred one otherwise.

    The inferred outcome is the kind of the deal's first movement (``prepare.stage_entries``, adds and repeats
    excluded) inside the horizon: an advance (including a win) gives ``advanced``, a regression or a loss
    ``regressed``, none ``stayed``. Interactions of a deal at the same moment share one horizon and outcome.
    ``steps`` adds the stages gained by the run of advances that starts the horizon (a deal taken from Lead to
    Proposal in two entries right after one meeting gains 2). ``settled`` is False while the horizon is still
    open at ``as_of`` and no movement has been seen yet: such a ``stayed`` may still turn into something else.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> res = decision_increments(sm.read_log("datasets/demo"), as_of="2025-06-30")
    >>> res.interactions["inferred"].value_counts().index.tolist()
    ['stayed', 'advanced', 'regressed']
    >>> round(res.agreement, 2), int(res.owners.loc["Ava M.", "interactions"])
    (0.87, 796)
    """
    _check(source, window_days)
    as_of = resolve_as_of(log, as_of)
    return _decision_increments(truncate(log, as_of), as_of, kinds, window_days, source)


def _decision_increments(log: SalesLog, as_of: pd.Timestamp, kinds, window_days, source) -> DecisionIncrements:
    """:func:`decision_increments` on a log already truncated at ``as_of``."""
    acts = log.activities.drop_duplicates()
    if kinds is not None:
        acts = acts[acts["kind"].isin(list(kinds))]
    deals = log.deals[["deal_id", "owner"]]
    # deals as integer codes (position in the deals table): sorting and comparing ints beats strings
    code = index_in(acts["deal_id"], deals["deal_id"]) if len(acts) else np.zeros(0, "int64")
    keep = code >= 0
    acts, code = acts[keep], code[keep]
    t = _us(acts["occurred_at"])
    order = np.lexsort((t, code))
    acts = acts.iloc[order].reset_index(drop=True)
    dealv, t = code[order], t[order]
    n = len(acts)

    # Slots: one per (deal, moment); interactions at the same moment share a horizon.
    new_slot = np.r_[True, (dealv[1:] != dealv[:-1]) | (t[1:] != t[:-1])] if n else np.zeros(0, bool)
    slot_of = np.cumsum(new_slot) - 1
    s_idx = np.flatnonzero(new_slot)
    s_deal, s_t = dealv[s_idx], t[s_idx]
    same_next = np.r_[s_deal[1:] == s_deal[:-1], False] if len(s_idx) else np.zeros(0, bool)
    nxt = np.where(same_next, np.r_[s_t[1:], 0], _NEVER)
    end = nxt if window_days is None else np.minimum(nxt, s_t + round(window_days * US_PER_DAY))

    # Movements other than adds, in stage_entries order, matched to the slot whose horizon holds them.
    entries = stage_entries(log, as_of)
    moves = entries[entries["kind"].isin(["advance", "regression", "loss"])][["deal_id", "changed_at", "kind", "steps"]]
    m_code = index_in(moves["deal_id"], deals["deal_id"]) if len(moves) else np.zeros(0, "int64")
    moves = pd.DataFrame(
        {
            "_deal": m_code,
            "_t": _us(moves["changed_at"]),
            "kind": moves["kind"].to_numpy(),
            "steps": moves["steps"].to_numpy(),
            "_pos": np.arange(len(moves)),
        }
    )
    slots = pd.DataFrame({"_deal": s_deal, "_t": s_t, "_slot": np.arange(len(s_idx)), "_end": end})
    if len(moves) and len(slots):
        matched = pd.merge_asof(
            moves.sort_values("_t", kind="stable"),
            slots.sort_values("_t", kind="stable"),
            on="_t",
            by="_deal",
            direction="backward",
            allow_exact_matches=True,
        )
        matched = matched[matched["_slot"].notna() & (matched["_t"] < matched["_end"])]
        matched = matched.sort_values(["_slot", "_pos"], kind="stable")
    else:
        matched = pd.DataFrame({"_slot": [], "kind": [], "steps": []})
    slot_outcome = np.full(len(s_idx), "stayed", dtype=object)
    slot_steps = np.zeros(len(s_idx), dtype="int64")
    if len(matched):
        ms = matched["_slot"].to_numpy().astype("int64")
        mk = matched["kind"].to_numpy()
        first = np.r_[True, ms[1:] != ms[:-1]]
        slot_outcome[ms[first]] = np.where(mk[first] == "advance", "advanced", "regressed")
        not_adv = (mk != "advance").astype("int64")
        # cumulative count of non-advances within each slot: the opening run of advances has 0
        csum = np.cumsum(not_adv)
        start = np.maximum.accumulate(np.where(first, np.arange(len(ms)), 0))
        before = csum[start] - not_adv[start]
        run = (csum - before) == 0
        np.add.at(slot_steps, ms[run], matched["steps"].to_numpy().astype("int64")[run])

    tz = log.model.timezone
    out = pd.DataFrame(
        {
            "deal_id": acts["deal_id"],
            "occurred_at": acts["occurred_at"],
            "kind": acts["kind"],
            "recorded": acts["outcome"] if "outcome" in acts else pd.Series(None, index=acts.index, dtype="str"),
            "inferred": pd.Series(slot_outcome[slot_of], dtype="str"),
            "steps": slot_steps[slot_of],
        }
    )
    end_i = end[slot_of]
    out["horizon_end"] = pd.to_datetime(np.where(end_i == _NEVER, np.iinfo("int64").min, end_i), unit="us", utc=True)
    out["horizon_end"] = out["horizon_end"].dt.tz_convert(tz)
    out["settled"] = (out["inferred"] != "stayed").to_numpy() | (end_i <= _us(pd.Series([as_of]))[0])
    recorded = out["recorded"]
    if source == "inferred":
        out["outcome"] = out["inferred"]
    elif source == "recorded":
        out["outcome"] = recorded
    else:
        out["outcome"] = recorded.where(recorded.notna(), out["inferred"])
    out.insert(1, "owner", pd.Series(deals["owner"].to_numpy()[dealv], dtype="str"))

    both = out[recorded.notna().to_numpy()]
    compared = len(both)
    agreement = float((both["recorded"] == both["inferred"]).mean()) if compared else float("nan")
    cells = np.zeros((len(OUTCOMES), len(OUTCOMES)), dtype="int64")
    rec_code = pd.Categorical(both["recorded"], categories=OUTCOMES).codes
    inf_code = pd.Categorical(both["inferred"], categories=OUTCOMES).codes
    np.add.at(cells, (rec_code, inf_code), 1)
    confusion = pd.DataFrame(
        cells, index=pd.Index(OUTCOMES, name="recorded"), columns=pd.Index(OUTCOMES, name="inferred")
    )

    deal_table = _per_deal(out, deals)
    owner_table = _rates(deal_table.groupby("owner", sort=True)[list(_DEAL_COUNTS)].sum())
    return DecisionIncrements(
        interactions=out,
        deals=deal_table,
        owners=owner_table,
        agreement=agreement,
        compared=compared,
        confusion=confusion,
        as_of=as_of,
        source=source,
        kinds=tuple(kinds) if kinds is not None else ("(all)",),
        window_days=window_days,
    )


def _us(times: pd.Series) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch, whatever the column's unit."""
    return times.dt.as_unit("us").array.asi8


def _per_deal(out: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    """Counts and rates per deal; every deal of the (truncated) log gets a row, owners' sums use these."""
    used = out["outcome"]
    frame = pd.DataFrame(
        {
            "deal_id": out["deal_id"],
            "interactions": 1,
            "known": used.notna().astype("int64"),
            "advanced": (used == "advanced").astype("int64"),
            "regressed": (used == "regressed").astype("int64"),
            "stayed": (used == "stayed").astype("int64"),
            "steps_gained": np.where((used == "advanced") & (out["steps"] > 0), out["steps"], 0),
            "advances_seen": ((used == "advanced") & (out["steps"] > 0)).astype("int64"),
        }
    )
    sums = frame.groupby("deal_id", sort=False)[list(_DEAL_COUNTS)].sum()
    table = deals.set_index("deal_id").join(sums, how="left")
    table[list(_DEAL_COUNTS)] = table[list(_DEAL_COUNTS)].fillna(0).astype("int64")
    table = table.sort_index(kind="stable")
    return _rates(table)


__all__ = ["DEFAULT_KINDS", "OUTCOMES", "SOURCES", "DecisionIncrements", "decision_increments"]
