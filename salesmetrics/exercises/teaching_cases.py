"""Teaching cases: a few rows added to a variant's data so that a typical mistake gives a different answer.

The simulator writes clean logs: no stage saved twice, no close date restated, few deals committed twice. Real CRMs
record all of these, and without them counting every row would give the right answer. Each exercise adds the cases
it teaches with (its ``prepare``, see :class:`~salesmetrics.exercises.exercise.Exercise`); the rows are drawn with
the variant's seed, so a variant is reproducible. All of them go through :func:`with_added_rows`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from salesmetrics.log.prepare import stage_entries
from salesmetrics.metrics.movement import local_us, period_index, period_labels
from salesmetrics.metrics.scoring import score


def with_added_rows(log, table: str, rows: pd.DataFrame):
    """The log with ``rows`` added to its table ``table`` (``"stage_changes"``, ``"close_date_changes"``), in deal and
    time order: rows at the same moment keep their order, the added ones after the log's own. Columns the rows lack
    are left empty; the log itself is not changed.

    >>> import salesmetrics as sm
    >>> log = sm.simulate(20, 2, seed=1).log
    >>> first = log.stage_changes.iloc[[0]]
    >>> len(with_added_rows(log, "stage_changes", first).stage_changes) - len(log.stage_changes)
    1
    """
    old = getattr(log, table)
    rows = rows.astype({"changed_at": old["changed_at"].dtype})
    both = pd.concat([old, rows[old.columns.intersection(rows.columns)]], ignore_index=True)
    both = both.sort_values(["deal_id", "changed_at"], kind="stable").reset_index(drop=True)
    return dataclasses.replace(log, **{table: both})


def add_repeats(log, seed: int, n: int):
    """The log with ``n`` repeated stage entries added (at least one in each team's deals, when it has a deal
    that moves twice): a row re-entering the stage the deal is already in, halfway to its next entry.

    Real CRMs record such rows (a stage saved twice, an import that re-sends the current stage); they are not
    movements. The simulator writes none, so without them counting every row would give the right answer
    (exercises 1 and 3).

    >>> import salesmetrics as sm
    >>> log = sm.simulate(20, 2, seed=1).log
    >>> int((stage_entries(add_repeats(log, seed=1, n=3))["kind"] == "repeat").sum())
    3
    """
    entries = stage_entries(log).merge(log.deals[["deal_id", "team"]], on="deal_id", how="left")
    following = entries["deal_id"].shift(-1) == entries["deal_id"]
    gap = entries["changed_at"].shift(-1) - entries["changed_at"]
    candidates = entries[
        following & (gap >= pd.Timedelta(minutes=2)) & entries["kind"].isin(["add", "advance", "regression"])
    ].copy()
    candidates["at"] = (candidates["changed_at"] + gap[candidates.index] / 2).dt.floor("min")
    if candidates.empty or n <= 0:
        return log
    rng = np.random.default_rng([int(seed), 1])
    chosen: list[int] = []
    for _, rows in candidates.groupby("team", sort=True):
        chosen.append(int(rng.choice(rows.index.to_numpy())))
    rest = candidates.index.difference(chosen).to_numpy()
    extra = max(0, min(n - len(chosen), len(rest)))
    chosen += [int(i) for i in rng.choice(rest, extra, replace=False)] if extra else []
    new = candidates.loc[sorted(chosen[: max(n, 1)]), ["deal_id", "at", "stage"]].rename(columns={"at": "changed_at"})
    return with_added_rows(log, "stage_changes", new)


def ensure_single_motion_week(log, seed: int):
    """The log, with (if it has none) one owner-week of exactly one motion and no movement: the other motions
    of one such week of two or more are left out. Then ``motions > 1`` and ``motions > 0`` differ in exercise 1's
    question 5."""
    weekly = score(log, by="owner", period="W")
    idle = weekly["movements"] == 0
    if (idle & (weekly["motions"] == 1)).any():
        return log
    candidates = weekly[idle & (weekly["motions"] >= 2)].sort_values(["owner", "period"])
    if candidates.empty:
        return log
    rng = np.random.default_rng([int(seed), 2])
    row = candidates.iloc[int(rng.integers(len(candidates)))]
    acts = log.activities.merge(log.deals[["deal_id", "owner"]], on="deal_id", how="left")
    acts = acts[acts["occurred_at"].notna()]
    monday = np.array(period_labels(period_index(local_us(acts["occurred_at"]), "W"), "W"))  # as score labels weeks
    week = acts.index[(acts["owner"] == row["owner"]).to_numpy() & (monday == row["period"])]
    if len(week) < 2:
        return log
    first = acts.loc[week, "occurred_at"].idxmin()
    return dataclasses.replace(log, activities=log.activities.drop(index=week.difference([first])))


def add_restated_dates(log, seed: int, n: int):
    """The log with ``n`` close-date changes that restate the date already expected (a row saved again with
    the same close date), each halfway between two changes of a deal.

    Real CRMs record such rows (a form saved twice, a sync); they are not pushes. The simulator writes none, so
    without them "every change after the first" and "every change that moved the date" would be the same count
    (exercise 3).

    >>> import salesmetrics as sm
    >>> log = sm.simulate(40, 2, seed=1, months=6).log
    >>> before = len(log.close_date_changes)
    >>> len(add_restated_dates(log, seed=1, n=2).close_date_changes) - before
    2
    """
    changes = log.close_date_changes.sort_values(["deal_id", "changed_at"], kind="stable").reset_index(drop=True)
    following = changes["deal_id"].shift(-1) == changes["deal_id"]
    gap = changes["changed_at"].shift(-1) - changes["changed_at"]
    candidates = changes[following & (gap >= pd.Timedelta(minutes=2))]
    if candidates.empty or n <= 0:
        return log
    rng = np.random.default_rng([int(seed), 3])
    chosen = rng.choice(candidates.index.to_numpy(), min(n, len(candidates)), replace=False)
    new = changes.loc[sorted(int(i) for i in chosen)].copy()
    new["changed_at"] = (new["changed_at"] + gap[new.index] / 2).dt.floor("min")
    return with_added_rows(log, "close_date_changes", new)


def add_recommits(log, seed: int):
    """The log with, in each team, the won deal that waited longest from commit to signature sent back one
    stage halfway through that wait and committed again shortly before its win.

    Real deals do this (a yes that wavers, then holds). The simulator rarely writes it, and without it
    measuring from the *last* commit entry (exercise 5, question 3) would give the right answer. ``seed`` is not
    used (the deals are chosen by their waits); it is there so every teaching case is called alike.

    >>> import salesmetrics as sm
    >>> log = sm.simulate(120, 4, seed=2, months=6).log
    >>> len(add_recommits(log, seed=2).stage_changes) - len(log.stage_changes) in (0, 2, 4)
    True
    """
    commit = log.model.commit_stage
    if commit is None or log.model.rank(commit) == 0:
        return log
    before = log.model.stages[log.model.rank(commit) - 1]
    entries = stage_entries(log)
    commits = entries[entries["stage"] == commit].groupby("deal_id")["changed_at"].agg(["first", "count"])
    won_at = entries[entries["is_win"]].groupby("deal_id")["changed_at"].first()
    waits = commits[commits["count"] == 1].join(won_at.rename("won"), how="inner")
    waits = waits[waits["won"] - waits["first"] >= pd.Timedelta(minutes=10)]
    waits = waits.join(log.deals.set_index("deal_id")["team"])
    rows = []
    for _, team in waits.groupby("team", sort=True):
        deal_id = (team["won"] - team["first"]).idxmax()
        first, won = team.loc[deal_id, "first"], team.loc[deal_id, "won"]
        wait = won - first
        rows.append({"deal_id": deal_id, "changed_at": (first + wait / 2).floor("min"), "stage": before})
        rows.append({"deal_id": deal_id, "changed_at": (won - wait / 10).floor("min"), "stage": commit})
    if not rows:
        return log
    return with_added_rows(log, "stage_changes", pd.DataFrame(rows))


__all__ = ["add_recommits", "add_repeats", "add_restated_dates", "ensure_single_motion_week", "with_added_rows"]
