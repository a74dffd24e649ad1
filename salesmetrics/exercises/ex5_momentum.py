"""Exercise 5, part: momentum measured in the simulator (question 3b). The simulator knows each deal's true chance
of winning at every movement and every week after it (``sim.truth.win_probability``); comparing a deal's chance a
week after its last movement with its chance at that movement measures what waiting alone costs, deal by deal.
Question 3b asks for that cost per stage; exercise 5's lesson check (``lesson_problems``) requires the commit stage,
the verbal yes, to lose clearly the most.

>>> truth = pd.DataFrame({"deal_id": ["D1"] * 3, "event": ["created", "weekly", "weekly"],
...     "stage": ["Commit"] * 3, "days_since_movement": [0.0, 7.0, 14.0], "win_probability": [0.9, 0.8, 0.7]})
>>> week_cost(truth).round(6).to_dict()
{'Commit': 10.0}
"""

from __future__ import annotations

import pandas as pd

from salesmetrics.exercises.exercise import Exercise
from salesmetrics.exercises.kinds import FrameQuestion
from salesmetrics.exercises.question import Mistake

DEFAULT_DATA = "slow_responders"  # as exercise 5
SIZE = {"n_deals": 300, "n_owners": 10, "months": 6}  # as exercise 5
WEEK_LATER = (7, 14)  # question 3b: the weekly rows from 7 up to (not including) 14 days after the last movement
CLEARLY_FASTER = 2.0  # the lesson: a week costs a committed deal at least twice what it costs in any other stage


def momentum_simulation(ex: Exercise):
    """The simulation whose truth question 3b reads: the variant's own when its data is simulated, else (a log
    folder) the default scenario simulated with the trainee's seed (kept as a what-if)."""
    if ex.simulation is not None:
        return ex.simulation
    return ex.what_if("momentum", None, size=SIZE, scenario=DEFAULT_DATA)


def _drops(truth: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each row's drop of the true chance since the deal's last movement (in points), and the weekly rows."""
    at_move = truth["win_probability"].where(truth["event"] != "weekly").groupby(truth["deal_id"]).ffill()
    return 100 * (at_move - truth["win_probability"]), truth["event"] == "weekly"


def week_cost(truth: pd.DataFrame) -> pd.Series:
    """Per open stage: how many percentage points a deal's true chance of winning has lost a week after its last
    movement (the mean over the weekly rows of the simulator's truth ``win_probability`` from 7 up to 14 days
    after the movement; the table is in time order per deal).

    >>> truth = pd.DataFrame({"deal_id": ["D1"] * 3, "event": ["created", "weekly", "weekly"],
    ...     "stage": ["Commit"] * 3, "days_since_movement": [0.0, 7.0, 14.0], "win_probability": [0.9, 0.8, 0.7]})
    >>> week_cost(truth).round(6).to_dict()
    {'Commit': 10.0}
    """
    drop, weekly = _drops(truth)
    since = truth["days_since_movement"]
    keep = weekly & (since >= WEEK_LATER[0]) & (since < WEEK_LATER[1])
    return drop[keep].groupby(truth.loc[keep, "stage"]).mean().rename_axis("stage")


def _week_cost_any_wait(truth: pd.DataFrame) -> pd.Series:
    drop, weekly = _drops(truth)
    return drop[weekly].groupby(truth.loc[weekly, "stage"]).mean().rename_axis("stage")


def _week_chance(truth: pd.DataFrame) -> pd.Series:
    since = truth["days_since_movement"]
    keep = (truth["event"] == "weekly") & (since >= WEEK_LATER[0]) & (since < WEEK_LATER[1])
    return (100 * truth.loc[keep, "win_probability"]).groupby(truth.loc[keep, "stage"]).mean().rename_axis("stage")


def _week_cost_success(ex: Exercise) -> str:
    cost = week_cost(momentum_simulation(ex).truth.win_probability)
    commit = ex.log.model.commit_stage
    others = cost.drop(index=commit, errors="ignore")
    return (
        f"A week of waiting costs a deal in {commit} {cost.get(commit, float('nan')):.1f} points of its chance of "
        f"winning; in no other stage more than {others.max():.1f}. That is momentum, measured: the yes cools "
        "fastest of all."
    )


def momentum_question(ex: Exercise) -> FrameQuestion:
    """Question 3b of exercise 5: what a week of waiting costs, per stage, in points of the true chance of winning."""

    def truth():
        return momentum_simulation(ex).truth.win_probability

    return FrameQuestion(
        "q3b",
        "What a week of waiting costs",
        expected=lambda ex: week_cost(truth()),
        hints=[
            "A row whose `event` is not `weekly` is a movement (or the deal's creation): its `win_probability` is "
            "the chance at that moment. Carry it down to the weekly rows that follow, deal by deal: "
            "`truth['win_probability'].where(truth['event'] != 'weekly').groupby(truth['deal_id']).ffill()`.",
            "Subtract each row's own `win_probability` and multiply by 100 (points). Then keep the weekly rows "
            "whose `days_since_movement` is at least 7 and less than 14.",
            "`drop[week_later].groupby(truth['stage'][week_later]).mean()`",
        ],
        solution="""
            at_move = truth["win_probability"].where(truth["event"] != "weekly").groupby(truth["deal_id"]).ffill()
            drop = 100 * (at_move - truth["win_probability"])
            since = truth["days_since_movement"]
            week_later = (truth["event"] == "weekly") & (since >= 7) & (since < 14)
            week_cost = drop[week_later].groupby(truth["stage"][week_later]).mean()
        """,
        wrong="""
            at_move = truth["win_probability"].where(truth["event"] != "weekly").groupby(truth["deal_id"]).ffill()
            drop = 100 * (at_move - truth["win_probability"])
            weekly = truth["event"] == "weekly"
            week_cost = drop[weekly].groupby(truth["stage"][weekly]).mean()
        """,
        explanation=(
            "The simulator knows each deal's true chance of winning at every moment. Comparing a deal's chance a "
            "week after its last movement with its chance at that movement measures what the wait alone cost "
            "it, deal by deal, so it is not mixed up with which deals happen to wait."
        ),
        mistakes=[
            Mistake(
                "any wait",
                "You kept every weekly row, however long the deal had waited. The question asks about one week: "
                "the rows 7 to 14 days after the last movement.",
                lambda ex: _week_cost_any_wait(truth()),
            ),
            Mistake(
                "chance, not its drop",
                "That is the chance itself a week after the movement, not what it lost. Subtract it from the "
                "chance at the movement (carried down from the last row that is not `weekly`).",
                lambda ex: _week_chance(truth()),
            ),
            Mistake(
                "fraction, not points",
                "That is the drop as a fraction (0.01 for one point). Multiply by 100 to get points.",
                lambda ex: week_cost(truth()) / 100,
            ),
        ],
        success=lambda ex: _week_cost_success(ex),
    )


__all__ = ["CLEARLY_FASTER", "WEEK_LATER", "momentum_question", "momentum_simulation", "week_cost"]
