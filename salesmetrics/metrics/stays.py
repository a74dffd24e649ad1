"""Stage movements, stays in open stages, and deals grouped by owner or team: the pieces that velocity, time in
stage, momentum flags and the survival models share.

A *movement* is a stage entry that is not a repeat (:func:`salesmetrics.log.prepare.stage_entries`); a *stay*
runs from a movement into an open stage to the deal's next movement, or to ``as_of`` when it is still going
(censored). Every function here takes a log already cut at ``as_of`` (:func:`salesmetrics.log.prepare.cut_at`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import stage_entries
from salesmetrics.log.saleslog import SalesLog

GROUPS = ("owner", "team")
DAY = pd.Timedelta(days=1)
NO_TEAM = "(no team)"
UNKNOWN_DEAL = "(unknown deal)"


def check_by(by: str | None, name: str = "by") -> str | None:
    """``by`` when it is ``owner``, ``team`` or None; else a UsageError naming the argument ``name``."""
    if by is not None and by not in GROUPS:
        raise UsageError(f"{name} must be 'owner', 'team' or None, not {by!r}.")
    return by


def group_of(log: SalesLog, by: str | None) -> pd.Series | None:
    """The group label of every deal (indexed by deal_id), or None when results are not grouped."""
    if by is None:
        return None
    labels = log.deals.set_index("deal_id")[by] if by in log.deals else pd.Series(dtype="str")
    if by == "team":
        labels = labels.fillna(NO_TEAM)
    return labels.astype("str")


def lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``keys.map(values)`` that keeps ``values``' dtype even when ``keys`` is empty (``values`` has unique keys)."""
    return pd.Series(values.reindex(keys.to_numpy()).array, index=keys.index)


def label_groups(frame: pd.DataFrame, groups: pd.Series | None, by: str | None) -> pd.DataFrame:
    """``frame`` with a ``by`` column: the group of each row's ``deal_id`` (unchanged when ``by`` is None)."""
    if by is not None:
        frame[by] = frame["deal_id"].map(groups).fillna(UNKNOWN_DEAL).astype("str")
    return frame


def days_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """``later - earlier`` in days (fractional)."""
    return (later - earlier) / DAY


def stage_movements(log: SalesLog, as_of: pd.Timestamp) -> pd.DataFrame:
    """Stage entries that are movements (repeats dropped), sorted by deal then time, with the next movement."""
    if len(log.stage_changes):
        entries = stage_entries(log, as_of)
    else:  # stage_entries fails on an empty table (reported upstream); an empty log has no entries
        changes = log.stage_changes
        entries = pd.DataFrame(
            {
                "deal_id": changes["deal_id"],
                "changed_at": changes["changed_at"],
                "stage": changes["stage"],
                "rank": pd.Series(dtype="int64"),
                "prev_stage": pd.Series(dtype="str"),
                "prev_rank": pd.Series(dtype="Int64"),
                "kind": pd.Series(dtype="str"),
                "is_win": pd.Series(dtype=bool),
                "steps": pd.Series(dtype="int64"),
            }
        ).reset_index(drop=True)
    moves = entries[entries["kind"] != "repeat"].reset_index(drop=True)
    deal = moves["deal_id"].to_numpy()
    same_next = np.r_[deal[1:] == deal[:-1], False] if len(deal) else np.zeros(0, bool)
    moves["next_at"] = moves["changed_at"].shift(-1).where(same_next)
    moves["next_stage"] = moves["stage"].shift(-1).where(same_next)
    moves["next_kind"] = moves["kind"].shift(-1).where(same_next)
    moves["is_last"] = ~same_next
    return moves


def open_stage_stays(log: SalesLog, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per stay in an open stage: from a movement into it to the deal's next movement (or as_of)."""
    moves = stage_movements(log, as_of)
    stays = moves[moves["stage"].isin(log.model.stages)]
    out = pd.DataFrame(
        {
            "deal_id": stays["deal_id"].to_numpy(),
            "stage": stays["stage"].to_numpy(),
            "entered_at": stays["changed_at"].to_numpy(),
            "left_at": stays["next_at"].to_numpy(),
            "next_stage": stays["next_stage"].to_numpy(),
            "exit_kind": stays["next_kind"].to_numpy(),
        }
    )
    out["entered_at"] = stays["changed_at"].reset_index(drop=True)
    out["left_at"] = stays["next_at"].reset_index(drop=True)
    out["censored"] = out["left_at"].isna()
    out["days"] = days_between(out["left_at"].fillna(as_of), out["entered_at"])
    for column in ("deal_id", "stage", "next_stage", "exit_kind"):
        out[column] = out[column].astype("str")
    return out


__all__ = [
    "DAY",
    "GROUPS",
    "NO_TEAM",
    "UNKNOWN_DEAL",
    "check_by",
    "days_between",
    "group_of",
    "label_groups",
    "lookup",
    "open_stage_stays",
    "stage_movements",
]
