"""Exercise 2, decision increments: did each client interaction move the deal forward, back, or nowhere?

The notebook is ``exercises/02-decision-increments.ipynb``. The outcomes and rates come from
:func:`salesmetrics.metrics.decisions.decision_increments` (the inference rule is ``docs/decisions/0009``); the stalled
deals and their next decision follow ``docs/decisions/0022-next-decision.md``.

Examples
--------
>>> classify(["regression", "advance"])
'regressed'
>>> ex = setup(seed=3, trainee="Ana", progress=False)
>>> [q.kind for q in ex]
['choice', 'function', 'frame', 'frame', 'choice', 'value', 'reflection']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed
from salesmetrics.exercises.exercise import Exercise
from salesmetrics.exercises.kinds import (
    Case,
    ChoiceQuestion,
    FrameQuestion,
    FunctionQuestion,
    ReflectionQuestion,
    ValueQuestion,
)
from salesmetrics.exercises.question import Mistake
from salesmetrics.exercises.variants import memo
from salesmetrics.log.prepare import stage_entries
from salesmetrics.metrics.decisions import decision_increments
from salesmetrics.metrics.scoring import score

ID = "02-decision-increments"
TITLE = "Decision increments"
DEFAULT_DATA = "baseline"
NEEDS = ("activities",)  # what the log must record (see variants.NEEDS); checked by `make` and on load
SIZE = {"n_deals": 300, "n_owners": 10, "months": 6}  # enough closed deals for owners' win rates
N_STALLED = 3
CLEAR_RELATION = 0.3  # |Spearman rho| from which the plot shows a rising or falling relation
OUTCOMES = ("advanced", "regressed", "stayed")

#: What the client decides when a deal enters each stage of the simulator's pipeline (other logs: "enter <stage>").
DECISIONS = {
    "Qualified": "agrees there is a problem worth a proper conversation",
    "Discovery": "opens up: a working session with the people who feel the problem",
    "Proposal": "asks for a proposal",
    "Negotiation": "engages on terms: price, scope, conditions",
    "Commit": "says yes, informally: intends to buy",
    "Won": "signs",
}


# ------------------------------------------------------------------------------------------------------------
# Reference answers


def classify(movements: list[str]) -> str:
    """The outcome of an interaction from the kinds of the movements in its horizon, in time order.

    The first movement decides: an advance (a win is one) gives ``advanced``, a regression or a loss
    ``regressed``; no movement (an empty list, or only repeats and adds) gives ``stayed``.

    >>> classify([]), classify(["repeat", "advance", "loss"]), classify(["loss"])
    ('stayed', 'advanced', 'regressed')
    """
    for kind in movements:
        if kind == "advance":
            return "advanced"
        if kind in ("regression", "loss"):
            return "regressed"
    return "stayed"


def increments(log):
    """:func:`~salesmetrics.metrics.decisions.decision_increments` with its defaults (meetings, calls, demos;
    14 days)."""
    return memo(log, "ex2.increments", lambda: decision_increments(log))


def _owners(log) -> pd.DataFrame:
    """The owners table of decision_increments, for owners with at least one interaction."""
    owners = increments(log).owners
    return owners[owners["interactions"] > 0]


def outcome_counts(log) -> pd.DataFrame:
    """Interactions per owner and outcome: columns ``advanced, regressed, stayed``, indexed by owner."""
    return _owners(log)[list(OUTCOMES)]


def decision_rates(log) -> pd.Series:
    """Per owner: advanced interactions / all interactions (the ``decision_rate`` of decision_increments)."""
    return _owners(log)["decision_rate"]


def owner_table(log) -> pd.DataFrame:
    """Per owner: decision rate, interactions per deal, wins, losses and win rate (closed deals only)."""
    scores = _deal_scores(log)
    owners = increments(log).owners
    closed = scores.groupby("owner")[["wins", "losses"]].sum()
    table = pd.DataFrame(
        {
            "decision_rate": owners["decision_rate"],
            "interactions_per_deal": owners["interactions"] / scores.groupby("owner").size(),
            "wins": closed["wins"],
            "losses": closed["losses"],
        }
    )
    table["win_rate"] = table["wins"] / (table["wins"] + table["losses"]).replace(0, np.nan)
    return table


def _deal_scores(log) -> pd.DataFrame:
    return memo(log, "ex2.deal_scores", lambda: score(log))


def overall_rate_answer(log) -> str:
    """The letter of the band holding the share of interactions that advanced the deal."""
    rate = float((increments(log).interactions["outcome"] == "advanced").mean())
    return "A" if rate < 0.10 else "B" if rate < 0.25 else "C" if rate < 0.50 else "D"


def plot_answer(log) -> str:
    """A: win rate rises with the decision rate; B: falls; C: no clear relation (|Spearman rho| < 0.3)."""
    table = owner_table(log).dropna(subset=["win_rate", "decision_rate"])
    rho = table["decision_rate"].corr(table["win_rate"], method="spearman") if len(table) > 2 else np.nan
    if not np.isfinite(rho) or abs(rho) < CLEAR_RELATION:
        return "C"
    return "A" if rho > 0 else "B"


@renamed(n="top_n")
def stalled_deals(log, top_n: int = N_STALLED) -> pd.DataFrame:
    """The ``top_n`` open deals with the most interactions since their last movement (ties: most days since it,
    then deal id). Columns: ``owner, current_stage, interactions_since_movement, days_since_movement,
    last_movement``; indexed by ``deal_id``."""
    scores = _deal_scores(log).set_index("deal_id")
    entries = stage_entries(log)
    moves = entries[entries["kind"] != "repeat"]
    last = moves.groupby("deal_id").tail(1).set_index("deal_id")
    inter = increments(log).interactions
    since = inter.join(last["changed_at"], on="deal_id")
    counts = since[since["occurred_at"] > since["changed_at"]].groupby("deal_id").size()
    table = scores[scores["is_open"]][["owner", "current_stage", "days_since_movement"]].copy()
    table["interactions_since_movement"] = counts.reindex(table.index).fillna(0).astype("int64")
    table["last_movement"] = last["kind"].reindex(table.index)
    table = table[table["interactions_since_movement"] > 0]
    table = table.sort_values(
        ["interactions_since_movement", "days_since_movement"], ascending=[False, False], kind="stable"
    )
    table = table.head(top_n)[
        ["owner", "current_stage", "interactions_since_movement", "days_since_movement", "last_movement"]
    ]
    return table.round({"days_since_movement": 1})


def next_stage(model, stage: str) -> str:
    """The stage one decision further: the next open stage, or the first won stage from the last open stage."""
    stages = list(model.stages)
    i = stages.index(stage)
    return stages[i + 1] if i + 1 < len(stages) else model.won[0]


def next_decisions(log) -> dict[str, str]:
    """For each stalled deal, the stage its next decision would take it to."""
    return {deal: next_stage(log.model, row["current_stage"]) for deal, row in stalled_deals(log).iterrows()}


def decision_menu(log) -> pd.DataFrame:
    """The decision a client takes to enter each stage after the first (for the notebook)."""
    model = log.model
    rows = [(s, DECISIONS.get(s, f"enters {s}")) for s in [*model.stages[1:], model.won[0]]]
    return pd.DataFrame(rows, columns=["stage", "the client ..."]).set_index("stage")


# ------------------------------------------------------------------------------------------------------------
# Plot


def plot_owners(log):
    """Two panels per owner against the win rate: the decision rate (left) and interactions per deal (right)."""
    import matplotlib.pyplot as plt

    table = owner_table(log).dropna(subset=["win_rate"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    panels = [
        ("decision_rate", "decision rate (advanced / interactions)"),
        ("interactions_per_deal", "interactions per deal (count)"),
    ]
    for ax, (column, label) in zip(axes, panels, strict=True):
        ax.scatter(table[column], table["win_rate"], s=60, color="#0b5cad")
        for owner, row in table.iterrows():
            ax.annotate(
                str(owner), (row[column], row["win_rate"]), fontsize=8, xytext=(4, 3), textcoords="offset points"
            )
        if len(table) > 2 and table[column].nunique() > 1:
            slope, intercept = np.polyfit(table[column], table["win_rate"], 1)
            xs = np.linspace(table[column].min(), table[column].max(), 2)
            ax.plot(xs, slope * xs + intercept, "--", color="grey")
        ax.set_xlabel(label)
        ax.set_title(f"Win rate against {label.split(' (')[0]}")
    axes[0].set_ylabel("win rate (wins / closed deals)")
    fig.suptitle("Per owner: what goes with winning?")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------------------
# Test inputs for classify


def _cases(ex: Exercise) -> list[Case]:
    fixed = [
        ([], "no movement at all"),
        (["advance"], "one advance"),
        (["loss"], "a loss"),
        (["regression", "advance", "advance"], "a step back, then two advances"),
        (["advance", "regression"], "an advance, then a step back"),
        (["repeat"], "only a repeat of the current stage"),
        (["repeat", "regression"], "a repeat, then a step back"),
        (["advance", "advance", "loss"], "two advances, then a loss"),
    ]
    rng = np.random.default_rng(ex.seed if ex is not None else 0)
    kinds = np.array(["advance", "regression", "loss", "repeat"])
    drawn = []
    for i in range(6):
        size = int(rng.integers(1, 5))
        drawn.append((list(rng.choice(kinds, size=size, p=[0.45, 0.25, 0.1, 0.2])), f"random list {i + 1}"))
    return [Case((movements,), label=f"{label} {movements!r}") for movements, label in fixed + drawn]


def _net_effect(movements):
    net = movements.count("advance") - movements.count("regression") - movements.count("loss")
    return "advanced" if net > 0 else "regressed" if net < 0 else "stayed"


def _last_decides(movements):
    return classify([m for m in movements if m != "repeat"][-1:])


# ------------------------------------------------------------------------------------------------------------
# The exercise


def setup(data: str = DEFAULT_DATA, seed: int | None = None, trainee: str = "", *, progress=None) -> Exercise:
    """The questions of exercise 2 for one variant (see :class:`~salesmetrics.exercises.exercise.Exercise`)."""
    ex = Exercise(ID, TITLE, data=data, seed=seed, trainee=trainee, size=SIZE, progress=progress, needs=NEEDS)
    log = lambda: ex.log  # noqa: E731 - the log loads on first use, not here
    result = lambda: ex.cached("increments", lambda: increments(log()))  # noqa: E731
    stalled = lambda: ex.cached("stalled", lambda: stalled_deals(log()))  # noqa: E731

    def counts_of(column: str) -> pd.DataFrame:
        inter = result().interactions
        table = pd.crosstab(inter["owner"], inter[column]).reindex(columns=list(OUTCOMES), fill_value=0)
        return table.reindex(outcome_counts(log()).index, fill_value=0)

    ex.add(
        ChoiceQuestion(
            "q1",
            "Predict: how often does an interaction move the deal forward?",
            options={
                "A": "Fewer than 1 in 10 interactions.",
                "B": "Between 1 in 10 and 1 in 4.",
                "C": "Between 1 in 4 and 1 in 2.",
                "D": "More than half of them.",
            },
            variable="prediction",
            predict=True,
            expected=lambda ex: overall_rate_answer(log()),
            hints=[
                "Go with your instinct: think of your own last ten client meetings. How many ended with a yes to a "
                "next step?"
            ],
            explanation=(
                "Question 4 computes the rate per owner; the overall share is the advanced interactions over all "
                "of them."
            ),
            success="Right. Keep in mind what that means: most interactions, even good ones, do not move the deal.",
        ),
        FunctionQuestion(
            "q2",
            "Classify an interaction",
            reference=classify,
            cases=_cases,
            hints=[
                "Walk through the list in order and stop at the first entry that is a real movement.",
                "A repeat is not a movement: skip it. An advance means 'advanced'; a regression or a loss means "
                "'regressed'. Nothing found: 'stayed'.",
            ],
            solution='''
                def classify(movements):
                    """advanced, regressed or stayed: the first movement after the interaction decides."""
                    for kind in movements:
                        if kind == "advance":
                            return "advanced"
                        if kind in ("regression", "loss"):
                            return "regressed"
                    return "stayed"
            ''',
            wrong="""
                def classify(movements):
                    net = movements.count("advance") - movements.count("regression") - movements.count("loss")
                    return "advanced" if net > 0 else "regressed" if net < 0 else "stayed"
            """,
            explanation=(
                "The interaction is credited with what the client decided right after it: the first movement in its "
                "horizon. Netting advances against steps back would hide the decision the client actually took "
                "after this conversation; what follows belongs to the later conversations."
            ),
            mistakes=[
                Mistake(
                    "net effect",
                    "Your function weighs advances against steps back. The first movement after the interaction is "
                    "the client's decision; what comes later belongs to later interactions.",
                    _net_effect,
                ),
                Mistake(
                    "last movement",
                    "Your function looks at the last movement. The first one is the decision this interaction led to.",
                    _last_decides,
                ),
                Mistake(
                    "repeat counted",
                    "A repeat (re-entering the stage the deal is in) is not a movement: skip it.",
                    lambda movements: classify(["advance" if m == "repeat" else m for m in movements]),
                ),
            ],
            success="The first movement decides; a repeat is no movement at all.",
        ),
        FrameQuestion(
            "q3",
            "Outcomes per owner",
            expected=lambda ex: outcome_counts(log()),
            hints=[
                "Use the `outcome` column of `interactions` (inferred from the stage history, for every interaction).",
                "`pd.crosstab(rows, columns)` counts every combination of two columns.",
            ],
            solution="""
                outcomes = pd.crosstab(interactions["owner"], interactions["outcome"])
            """,
            wrong="""
                outcomes = pd.crosstab(interactions["owner"], interactions["recorded"])
            """,
            mistakes=[
                Mistake(
                    "recorded outcomes",
                    "You counted the outcomes sellers recorded (`recorded`). They are missing on some interactions "
                    "and disagree with the stage history on others: count the `outcome` column, which every "
                    "interaction has.",
                    lambda ex: counts_of("recorded"),
                ),
            ],
            success="Look down the `stayed` column: for every owner, most interactions leave the deal where it was.",
        ),
        FrameQuestion(
            "q4",
            "Decision rate per owner",
            expected=lambda ex: decision_rates(log()),
            hints=[
                "The decision rate is the share of an owner's interactions that advanced the deal.",
                "Every interaction counts in the denominator, the ones that stayed included.",
            ],
            solution="""
                decision_rate = (interactions["outcome"] == "advanced").groupby(interactions["owner"]).mean()
            """,
            wrong="""
                counts = pd.crosstab(interactions["owner"], interactions["outcome"])
                decision_rate = counts["advanced"] / (counts["advanced"] + counts["regressed"])
            """,
            mistakes=[
                Mistake(
                    "stayed left out",
                    "You left the interactions that stayed out of the denominator. A meeting after which nothing was "
                    "decided was still a chance to decide: it counts.",
                    lambda ex: (lambda c: c["advanced"] / (c["advanced"] + c["regressed"]))(outcome_counts(log())),
                ),
                Mistake(
                    "interactions per advance",
                    "That is interactions per advance, the inverse: divide the advanced interactions by all of them.",
                    lambda ex: 1 / decision_rates(log()),
                ),
            ],
            success=lambda ex: (
                f"Decision rates run from {decision_rates(log()).min():.0%} to {decision_rates(log()).max():.0%}: "
                "the same number of meetings buys very different progress."
            ),
        ),
        ChoiceQuestion(
            "q5",
            "Read the plot",
            options={
                "A": "It rises: owners with a higher decision rate tend to win more of their closed deals.",
                "B": "It falls: owners with a higher decision rate tend to win less.",
                "C": "No clear relation: the points scatter without a trend.",
            },
            variable="plot_reading",
            expected=lambda ex: plot_answer(log()),
            hints=[
                "Look at the left panel only: as you go right (a higher decision rate), do the points go up or down?"
            ],
            wrong_message=(
                "Look again at the left panel: follow the points from left to right, and the dashed trend line."
            ),
            explanation=(
                "The left panel is read with a rank correlation: a trend counts as clear from 0.3 up. Compare with the "
                "right panel: how much an owner does per deal says much less about how often they win."
            ),
            success="Right. Now compare the right panel: does more activity per deal go with winning as clearly?",
        ),
        ValueQuestion(
            "q6",
            "The next decision for three stalled deals",
            expected=lambda ex: next_decisions(log()),
            hints=[
                "Aim for the next step, not for the signature: which single decision would move each deal out of the "
                "stage it is stuck in?",
                "Look up each deal's `current_stage` and take the stage right after it in the pipeline (see the table "
                "of decisions).",
            ],
            solution="""
                stages = [*log.model.stages, log.model.won[0]]
                next_decision = {
                    deal: stages[stages.index(stage) + 1] for deal, stage in stalled["current_stage"].items()
                }
            """,
            wrong="""
                next_decision = {deal: "Won" for deal in stalled.index}
            """,
            mistakes=[
                Mistake(
                    "aimed at the signature",
                    "You aimed every deal at the signature. A stalled deal needs the next, smaller decision first: "
                    "the one that takes it one stage further.",
                    lambda ex: dict.fromkeys(stalled().index, log().model.won[0]),
                ),
                Mistake(
                    "current stage",
                    "Those are the stages the deals are already in. The next decision takes each one a stage further.",
                    lambda ex: stalled()["current_stage"].to_dict(),
                ),
            ],
            explanation=(
                "A stalled deal has had interactions without a decision. Planning the next meeting around the one "
                "decision that moves it a stage (not around 'closing') gives the client something they can say yes "
                "to now. See docs/decisions/0022-next-decision.md for why one stage, not the close."
            ),
            success="Plan the next meeting around that one decision: what does the client need to be able to say yes?",
        ),
        ReflectionQuestion(
            "q7",
            "Planning the next increment",
            solution=(
                "For a deal I know, I would write down the one decision the client has to take next (for example, "
                "to bring the budget holder to a session) and plan the next meeting so that saying yes to it is "
                "easy: the right people invited, the question asked plainly, the next date proposed. A meeting "
                "without a decision to aim for tends to end with 'let's keep in touch', which is motion. When a "
                "deal keeps stalling at the same decision, that is information too: maybe the client cannot take it."
            ),
            hints=["Pick a real deal. What is the next thing the client must agree to, and what would make that easy?"],
        ),
    )
    return ex


__all__ = [
    "DECISIONS",
    "DEFAULT_DATA",
    "ID",
    "TITLE",
    "classify",
    "decision_menu",
    "decision_rates",
    "increments",
    "next_decisions",
    "next_stage",
    "outcome_counts",
    "owner_table",
    "plot_owners",
    "setup",
    "stalled_deals",
]
