"""Motion vs movement for the week, per owner, and an owner page's rep beside the team.

Part of the weekly review (:mod:`salesmetrics.reports.weekly`): activities against movements per owner in the
window, a reading in words ("activity, no movement", "moved deals with few touches", "many touches per movement"
against twice the team's ratio), owners without a name listed last; on one owner's page the rep is set beside the
median of the other named owners and the whole team (:func:`salesmetrics.reports.tables.beside_peers`), never
against themselves. Decision: ADR 0037.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics.reports.tables import UNASSIGNED, beside_peers


def owner_motion(deals: pd.DataFrame, acts: pd.DataFrame, in_window: pd.DataFrame, start, as_of,
                 activities: bool) -> pd.DataFrame:  # fmt: skip
    """Activities against movements per owner in the window (``deals`` indexed by deal, ``in_window`` the stage
    entries of the window), with a reading in words when the log has activities. Owners without a name last."""
    week_acts = acts[(acts["occurred_at"] > start) & (acts["occurred_at"] <= as_of)]
    moves_all = in_window[in_window["kind"].isin(["add", "advance", "regression", "loss"])]
    owner_of = deals["owner"]
    o_acts = week_acts["deal_id"].map(owner_of).value_counts()
    o_moves = moves_all["deal_id"].map(owner_of).value_counts()
    names = sorted(set(o_acts.index) | set(o_moves.index), key=str)
    owners = pd.DataFrame({"owner": names})
    owners["activities"] = [int(o_acts.get(n, 0)) for n in names]
    owners["movements"] = [int(o_moves.get(n, 0)) for n in names]
    pairs = zip(owners["activities"], owners["movements"], strict=True)
    owners["motion_per_movement"] = [a / m if m else np.nan for a, m in pairs]
    if activities:
        team_ratio = owners["activities"].sum() / max(int(owners["movements"].sum()), 1)
        verdict = []
        for a, m in zip(owners["activities"], owners["movements"], strict=True):
            if a and not m:
                verdict.append("activity, no movement")
            elif m and a < m:
                verdict.append("moved deals with few touches")
            elif m and a / m > 2 * team_ratio:
                verdict.append("many touches per movement")
            else:
                verdict.append("")
        owners["reading"] = verdict
    owners = owners.sort_values(["movements", "activities"], ascending=[True, False]).reset_index(drop=True)
    unassigned = owners["owner"].astype(str).str.strip().str.lower().isin(UNASSIGNED)
    return pd.concat([owners[~unassigned], owners[unassigned]], ignore_index=True)


def rep_beside_team(everyone: pd.DataFrame, owner: str) -> pd.DataFrame:
    """An owner page's motion table: the rep, the median of the other named owners and the whole team (never the
    rep against itself). A rep without activity or movement in the window counts as zero of each."""
    if str(owner) not in set(everyone["owner"].astype(str)):
        zero = {"owner": owner, "activities": 0, "movements": 0, "motion_per_movement": np.nan}
        everyone = pd.concat([everyone, pd.DataFrame([zero])], ignore_index=True)
    ratio = {"motion_per_movement": ("activities", "movements")}
    out = beside_peers(everyone.drop(columns="reading", errors="ignore"), "owner", owner, ratio)
    if "reading" in everyone:
        own = everyone.loc[everyone["owner"].astype(str) == str(owner), "reading"]
        out["reading"] = [own.iloc[0] if len(own) else "", *[""] * (len(out) - 1)]
    return out


__all__ = ["owner_motion", "rep_beside_team"]
