"""Exercise 5, velocity and momentum: the velocity equation, commit to signature, and what faster answers buy.

The notebook is ``exercises/05-velocity-and-momentum.ipynb``. Velocity and its factors come from
:func:`salesmetrics.metrics.velocity.sales_velocity` (``docs/decisions/0012-velocity-factors.md``), commit to
signature from :func:`salesmetrics.metrics.velocity.commit_to_signature`, answer times from
:func:`salesmetrics.metrics.velocity.responsiveness`.
What a week of waiting costs in each stage (question 3b) is in :mod:`salesmetrics.exercises.ex5_momentum`.
The what-if (the simulator run three times with the trainee's seed, compared by the simulator's *true* chance of
winning) is in :mod:`salesmetrics.exercises.ex5_what_if`.

Examples
--------
>>> ex = setup(seed=3, trainee="Ana", progress=False)  # nothing is simulated until an answer is checked
>>> [q.kind for q in ex]
['frame', 'choice', 'frame', 'frame', 'frame', 'choice', 'value', 'value', 'reflection']
>>> faster_config()
{'owners': {'response_hours': 3.2}}
>>> nested({"owners.response_hours": 3.2})
{'owners': {'response_hours': 3.2}}
"""

from __future__ import annotations

import pandas as pd

from salesmetrics.exceptions import UsageError
from salesmetrics.exercises.ex5_momentum import CLEARLY_FASTER, momentum_question, momentum_simulation, week_cost
from salesmetrics.exercises.ex5_what_if import (
    FASTER,
    WHAT_IF_SIZE,
    ConfigQuestion,
    default_hours,
    faster_config,
    nested,
    observed_change_points,
    observed_table,
    plot_what_if,
    prediction_answer,
    true_chance,
    true_change_points,
    what_if_sims,
)
from salesmetrics.exercises.exercise import Exercise
from salesmetrics.exercises.kinds import ChoiceQuestion, FrameQuestion, ReflectionQuestion, ValueQuestion
from salesmetrics.exercises.question import Mistake
from salesmetrics.exercises.teaching_cases import add_recommits
from salesmetrics.exercises.variants import check_needs
from salesmetrics.log.prepare import stage_entries
from salesmetrics.metrics.velocity import commit_to_signature, response_times, responsiveness, sales_velocity

ID = "05-velocity-and-momentum"
TITLE = "Velocity and momentum"
DEFAULT_DATA = "slow_responders"
NEEDS = (
    "activities",
    "activity_direction",
    "commit_stage",
    "teams",
)  # what the log must record (see variants.NEEDS); checked by `make` and on load
SIZE = {"n_deals": 300, "n_owners": 10, "months": 6}  # two teams, enough committed deals per team
FACTORS = {"A": "open_deals", "B": "win_rate", "C": "avg_won_amount", "D": "avg_cycle_days"}


# ------------------------------------------------------------------------------------------------------------
# Reference answers


def factor_table(log) -> pd.DataFrame:
    """Per team, over the whole log: the four factors of :func:`salesmetrics.metrics.velocity.sales_velocity` and the
    velocity, indexed by team."""
    v = sales_velocity(log, by="team", period=None).set_index("team")
    return v[[*FACTORS.values(), "velocity"]]


def team_velocity(log) -> pd.Series:
    """Per team: open deals × win rate × average won amount ÷ average cycle (amount per day)."""
    return factor_table(log)["velocity"]


def slow_and_fast(log) -> tuple[str, str]:
    """The teams with the lowest and the highest velocity."""
    v = team_velocity(log).dropna()
    if len(v) < 2:
        raise UsageError("At least two teams need a velocity (wins with amounts) to compare them.")
    return str(v.idxmin()), str(v.idxmax())


def factor_ratios(log) -> pd.Series:
    """Each factor of the slowest team over the fastest team's (the cycle inverted: fast ÷ slow), so a ratio
    below 1 always holds the slower team back; their product is the ratio of the velocities."""
    table = factor_table(log)
    slow, fast = slow_and_fast(log)
    ratios = table.loc[slow] / table.loc[fast]
    ratios["avg_cycle_days"] = 1 / ratios["avg_cycle_days"]
    return ratios


def factor_answer(log) -> str:
    """The letter of the factor that holds the slower team back the most (the smallest ratio)."""
    ratios = factor_ratios(log)[list(FACTORS.values())]
    worst = ratios.idxmin()
    return next(letter for letter, column in FACTORS.items() if column == worst)


def commit_days(log) -> pd.Series:
    """Per team: median days from the first commit entry to the win, over won deals
    (``median_days_to_win`` of :func:`salesmetrics.metrics.velocity.commit_to_signature`)."""
    return commit_to_signature(log, by="team").summary.set_index("team")["median_days_to_win"]


def answer_hours(log) -> pd.Series:
    """Per team: median hours from a buyer's request to the seller's answer, answered requests only
    (``median_hours`` of :func:`salesmetrics.metrics.velocity.responsiveness`)."""
    check_needs(log, ("activity_direction",), ID)
    return responsiveness(log, by="team").set_index("team")["median_hours"].astype("float64")


def requests_table(log) -> pd.DataFrame:
    """:func:`salesmetrics.metrics.velocity.response_times` with each deal's team."""
    check_needs(log, ("activity_direction",), ID)
    return response_times(log).merge(log.deals[["deal_id", "team"]], on="deal_id", how="left")


# ------------------------------------------------------------------------------------------------------------
# Plots


def plot_factors(log, ax=None):
    """Each velocity factor of the slowest team as a ratio to the fastest team's (log scale, 1 marked).
    Returns the figure."""
    import matplotlib.pyplot as plt

    ratios = factor_ratios(log)
    slow, fast = slow_and_fast(log)
    names = {
        "open_deals": "open deals",
        "win_rate": "win rate",
        "avg_won_amount": "average won amount",
        "avg_cycle_days": "cycle (inverted: shorter is better)",
        "velocity": "velocity (the product)",
    }
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.8))
    order = list(names)[::-1]
    values = ratios[order]
    colours = ["tab:purple" if k == "velocity" else "tab:red" if v < 1 else "tab:green" for k, v in values.items()]
    ax.barh([names[k] for k in order], values, color=colours, alpha=0.8)
    ax.axvline(1, color="black", linewidth=1)
    ax.set_xscale("log")
    low, high = float(values.min()), float(values.max())
    ax.set_xlim(min(low, 1) / 1.3, max(high, 1) * 1.3)
    for y, v in enumerate(values):
        ax.annotate(f"{v:.2f}", (v, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    lo, hi = ax.get_xlim()
    ticks = [t for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 5, 10) if lo <= t <= hi]
    ticks = ticks if len(ticks) <= 8 else ticks[::2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title(f"What puts {slow} behind {fast}?\nEach velocity factor as a ratio {slow} ÷ {fast}")
    ax.set_xlabel(f"ratio {slow} ÷ {fast} (no unit, log scale; below 1 holds {slow} back)")
    ax.figure.tight_layout()
    return ax.figure


# ------------------------------------------------------------------------------------------------------------
# The exercise


def _commit_days_lost_included(log) -> pd.Series:
    deals = commit_to_signature(log).deals
    closed = deals[deals["status"] != "open"]
    return closed.groupby("team")["days"].median()


def _commit_days_last_entry(log) -> pd.Series:
    """Question 3 measured from the *last* commit entry instead of the first (the typical ``.last()`` slip)."""
    entries = stage_entries(log)
    last_commit = entries[entries["stage"] == log.model.commit_stage].groupby("deal_id")["changed_at"].last()
    won_at = entries[entries["is_win"]].groupby("deal_id")["changed_at"].first()
    days = ((won_at - last_commit) / pd.Timedelta(days=1)).dropna()
    return days.groupby(log.deals.set_index("deal_id")["team"]).median()


def _commit_days_whole(log) -> pd.Series:
    """Question 3 with each wait cut to whole days (``.dt.days``) before the median: the typical truncation slip."""
    entries = stage_entries(log)
    first_commit = entries[entries["stage"] == log.model.commit_stage].groupby("deal_id")["changed_at"].first()
    won_at = entries[entries["is_win"]].groupby("deal_id")["changed_at"].first()
    days = (won_at - first_commit).dropna().dt.days
    return days.groupby(log.deals.set_index("deal_id")["team"]).median()


def _commit_days_mean(log) -> pd.Series:
    deals = commit_to_signature(log).deals
    return deals[deals["status"] == "won"].groupby("team")["days"].mean()


def lesson_problems(ex: Exercise) -> list[str]:
    """What of the lesson does not hold in ``ex``'s variant (empty when all does): a week of waiting costs a
    committed deal at least :data:`CLEARLY_FASTER` times what it costs a deal in any other stage (question 3b), and
    faster answers raise the mean true chance of winning in the what-if. The what-ifs are simulated with the
    trainee's seed, so a re-draw of the data cannot change them: a failure of that claim is kept in
    ``variant_problems_`` and the class harness reports it."""
    problems = []
    change = true_change_points(ex)
    if not change > 0:
        problems.append(f"lesson: faster answers do not raise the true chance ({change:+.2f} points)")
    cost = week_cost(momentum_simulation(ex).truth.win_probability)
    commit = ex.log.model.commit_stage
    others = cost.drop(index=commit, errors="ignore")
    if commit not in cost or not (others < cost[commit] / CLEARLY_FASTER).all():
        problems.append("lesson: a week of waiting does not cost a committed deal clearly more than other deals")
    return problems


def setup(data: str = DEFAULT_DATA, seed: int | None = None, trainee: str = "", *, progress=None) -> Exercise:
    """The questions of exercise 5 for one variant (see :class:`~salesmetrics.exercises.exercise.Exercise`)."""
    ex = Exercise(
        ID,
        TITLE,
        data=data,
        seed=seed,
        trainee=trainee,
        size=SIZE,
        progress=progress,
        needs=NEEDS,
        prepare=add_recommits,  # a deal committed twice per team (see teaching_cases)
        lesson=lesson_problems,
    )
    log = lambda: ex.log  # noqa: E731 - the log loads on first use, not here
    factors = lambda: ex.cached("factors", lambda: factor_table(log()))  # noqa: E731
    requests = lambda: ex.cached("requests", lambda: requests_table(log()))  # noqa: E731

    def truth_means():
        base, faster, _ = what_if_sims(ex)
        return true_chance(base), true_chance(faster)

    ex.add(
        FrameQuestion(
            "q1",
            "Velocity per team",
            expected=lambda ex: team_velocity(log()),
            hints=[
                "Velocity multiplies the three factors that make more revenue and divides by the one that delays it.",
                "More open deals, a higher win rate and bigger wins raise it; a longer cycle lowers it.",
                "`factors['open_deals'] * factors['win_rate'] * factors['avg_won_amount'] / factors['avg_cycle_days']`",
            ],
            solution="""
                velocity = (
                    factors["open_deals"] * factors["win_rate"] * factors["avg_won_amount"] / factors["avg_cycle_days"]
                )
            """,
            wrong="""
                velocity = (
                    factors["open_deals"] * factors["win_rate"] * factors["avg_won_amount"] * factors["avg_cycle_days"]
                )
            """,
            mistakes=[
                Mistake(
                    "multiplied by the cycle",
                    "You multiplied by the cycle length. A longer cycle means the revenue arrives later: divide by "
                    "it, so velocity is an amount per day.",
                    lambda ex: (
                        factors()["open_deals"]
                        * factors()["win_rate"]
                        * factors()["avg_won_amount"]
                        * factors()["avg_cycle_days"]
                    ),
                ),
                Mistake(
                    "cycle left out",
                    "You left the cycle out: that is the revenue the open pipeline should bring, but not how fast. "
                    "Divide by the average cycle in days.",
                    lambda ex: factors()["open_deals"] * factors()["win_rate"] * factors()["avg_won_amount"],
                ),
                Mistake(
                    "win rate left out",
                    "You left the win rate out: not every open deal will be won. Multiply by the win rate too.",
                    lambda ex: factors()["open_deals"] * factors()["avg_won_amount"] / factors()["avg_cycle_days"],
                ),
            ],
            success="Velocity is the revenue the pipeline turns out per day. Next: which factor makes the gap?",
        ),
        ChoiceQuestion(
            "q2",
            "Read the plot: what holds the slower team back?",
            options={
                "A": "Open deals: it has fewer deals in play.",
                "B": "Win rate: it wins a smaller share of its decided deals.",
                "C": "Average won amount: its wins are smaller.",
                "D": "Cycle length: its wins take longer to arrive.",
            },
            variable="plot_reading",
            expected=lambda ex: factor_answer(log()),
            hints=[
                "Each bar is a ratio of the slower team's factor to the faster team's. 1 means no difference.",
                "The factor that holds the slower team back most is the bar furthest *below* 1 (the axis is "
                "logarithmic: 0.5 is as far below 1 as 2 is above).",
            ],
            wrong_message=(
                "Look again: the factor that holds the team back most is the bar that reaches furthest below 1 "
                "(to the left of the black line)."
            ),
            explanation=(
                "Because velocity is a product, the ratios multiply: the velocity bar is the product of the four "
                "factor bars. A team can be ahead on three factors and still behind because of the fourth."
            ),
            success=lambda ex: (
                "Right. The gap has a name now, and a question for the team: "
                + {
                    "A": "why are fewer deals in play?",
                    "B": "why do fewer of the decided deals end in a yes?",
                    "C": "are the wins smaller by choice, or by chance (a few big deals move this a lot)?",
                    "D": "where do the wins wait?",
                }[factor_answer(log())]
            ),
        ),
        FrameQuestion(
            "q3",
            "Commit to signature",
            expected=lambda ex: commit_days(log()),
            hints=[
                "For each deal: when did it first enter the commit stage, and when was it won? Deals never won "
                "have no time to signature.",
                "`entries[entries['stage'] == commit].groupby('deal_id')['changed_at'].first()` gives the first "
                "commit entry; do the same with `entries['is_win']` for the win.",
                "Subtract (the Series align on deal_id), turn into days with `/ pd.Timedelta(days=1)`, drop the "
                "missing values, then `.groupby(team).median()` with `team = log.deals.set_index('deal_id')['team']`.",
            ],
            solution="""
                commit = log.model.commit_stage
                first_commit = entries[entries["stage"] == commit].groupby("deal_id")["changed_at"].first()
                won_at = entries[entries["is_win"]].groupby("deal_id")["changed_at"].first()
                days = ((won_at - first_commit) / pd.Timedelta(days=1)).dropna()
                commit_days = days.groupby(log.deals.set_index("deal_id")["team"]).median()
            """,
            wrong="""
                commit = log.model.commit_stage
                first_commit = entries[entries["stage"] == commit].groupby("deal_id")["changed_at"].first()
                won_at = entries[entries["is_win"]].groupby("deal_id")["changed_at"].first()
                days = ((won_at - first_commit) / pd.Timedelta(days=1)).dropna()
                commit_days = days.groupby(log.deals.set_index("deal_id")["team"]).mean()
            """,
            mistakes=[
                Mistake(
                    "mean",
                    "That is the mean. A few deals that wait very long pull the mean up; use the median, the "
                    "typical wait.",
                    lambda ex: _commit_days_mean(log()),
                ),
                Mistake(
                    "losses included",
                    "You measured the days to any close, losses included. A signature is a win: measure the days "
                    "from the first commit to the win, over won deals only.",
                    lambda ex: _commit_days_lost_included(log()),
                ),
                Mistake(
                    "last commit entry",
                    "You measured from the *last* time a deal entered the commit stage. Some deals were committed, "
                    "went back, and were committed again: the verbal yes was the *first* entry (`.first()`, with "
                    "the entries in time order).",
                    lambda ex: _commit_days_last_entry(log()),
                ),
                Mistake(
                    "whole days (.dt.days)",
                    "Each wait was cut to whole days before the median: `.dt.days` drops the hours, and a signature "
                    "the day after the yes is often less than a day later. Divide by `pd.Timedelta(days=1)` instead.",
                    lambda ex: _commit_days_whole(log()),
                ),
            ],
            success=lambda ex: (
                "Median days from the verbal yes to the signature: "
                + ", ".join(f"{team} {days:.1f}" for team, days in commit_days(log()).items())
                + ". Every one of those days is a day in which the yes can cool into a maybe."
            ),
        ),
        momentum_question(ex),
        FrameQuestion(
            "q4",
            "Hours to answer a buyer",
            expected=lambda ex: answer_hours(log()),
            hints=[
                "Some requests were never answered (`censored` is True): their `hours` only run to the end of the "
                "log, so they are not answer times.",
                "Keep the answered requests, then take the median of `hours` per team.",
                "`requests[~requests['censored']].groupby('team')['hours'].median()`",
            ],
            solution="""
                answered = requests[~requests["censored"]]
                response_hours = answered.groupby("team")["hours"].median()
            """,
            wrong="""
                response_hours = requests.groupby("team")["hours"].median()
            """,
            mistakes=[
                Mistake(
                    "unanswered included",
                    "You included the requests that were never answered. Their `hours` stop at the end of the log, "
                    "not at an answer: keep only the rows whose `censored` is False.",
                    lambda ex: requests().groupby("team")["hours"].median(),
                ),
                Mistake(
                    "mean",
                    "That is the mean. One request answered after a weekend pulls the mean far up; use the median.",
                    lambda ex: requests()[~requests()["censored"]].groupby("team")["hours"].mean(),
                ),
            ],
            success=lambda ex: (
                "Median hours to answer: "
                + ", ".join(f"{team} {hours:.1f}" for team, hours in answer_hours(log()).items())
                + ". Compare with the velocity factors above: where the answers are slow, what else is?"
            ),
        ),
        ChoiceQuestion(
            "q5",
            "Predict: what do 20% faster answers buy?",
            options={
                "A": "It rises by less than 1 percentage point.",
                "B": "It rises by 1 to 5 percentage points.",
                "C": "It rises by more than 5 percentage points.",
            },
            variable="prediction",
            predict=True,
            expected=lambda ex: prediction_answer(ex),
            hints=[
                "No calculation yet: go with your instinct, then find out in question 7.",
                "How long do the sellers take to answer now, and how long does a buyer's interest last?",
            ],
            explanation=(
                "Question 7 measures it in your what-if, from the simulator's true chances (the number is not given "
                "here: it is question 7's answer)."
            ),
            success="Right. Question 7 measures it.",
        ),
        ConfigQuestion(
            "q6",
            "Find the parameter",
            expected=lambda ex: faster_config(),
            hints=[
                "Look in the list printed above for the parameter that sets how long an owner takes to answer an "
                "inbound message, and read its default in `DEFAULTS`.",
                "It is `owners.response_hours`. 20% faster means the answer takes 80% of the time.",
                "`{'owners': {'response_hours': 0.8 * DEFAULTS['owners']['response_hours']}}`",
            ],
            solution="""
                faster = {"owners": {"response_hours": 0.8 * DEFAULTS["owners"]["response_hours"]}}
            """,
            wrong="""
                faster = {"owners": {"response_hours": 1.2 * DEFAULTS["owners"]["response_hours"]}}
            """,
            mistakes=[
                Mistake(
                    "slower",
                    "That makes the answers take 20% *longer*. Faster answers take less time: 80% of the default.",
                    lambda ex: {"owners": {"response_hours": 1.2 * default_hours()}},
                ),
                Mistake(
                    "speed, not time",
                    "That divides the time by 1.2 (20% more speed). The question asks for 20% less time: multiply "
                    "the default by 0.8.",
                    lambda ex: {"owners": {"response_hours": default_hours() / 1.2}},
                ),
                Mistake(
                    "decay",
                    "`process.response_decay_hours` is how long a buyer's interest lasts, not how fast the sellers "
                    "answer. Change the sellers' answer time.",
                    lambda ex: {"process": {"response_decay_hours": 24.0 * FASTER}},
                ),
                Mistake(
                    "focus team only",
                    "`focus_team.response_multiplier` changes only Team A (and replaces the scenario's own "
                    "multiplier). The question is about every seller: change the owners' answer time.",
                    lambda ex: {"focus_team": {"response_multiplier": FASTER}},
                ),
            ],
            success="That is the setting the next cell runs. Every parameter, its range and meaning is in SPEC.",
        ),
        ValueQuestion(
            "q7",
            "The true effect, in points",
            expected=lambda ex: true_change_points(ex),
            rtol=1e-6,
            atol=1e-6,
            hints=[
                "The true chance of each deal is the column `win_probability_at_creation` of `sim.truth.deals`.",
                "Average it over the deals of each run, subtract, and express the difference in percentage points "
                "(0.01 is 1 point).",
                "`100 * (faster_sim.truth.deals['win_probability_at_creation'].mean() - "
                "base_sim.truth.deals['win_probability_at_creation'].mean())`",
            ],
            solution="""
                base_chance = base_sim.truth.deals["win_probability_at_creation"].mean()
                faster_chance = faster_sim.truth.deals["win_probability_at_creation"].mean()
                change = 100 * (faster_chance - base_chance)
            """,
            wrong="""
                base_chance = base_sim.truth.deals["win_probability_at_creation"].mean()
                faster_chance = faster_sim.truth.deals["win_probability_at_creation"].mean()
                change = 100 * (faster_chance / base_chance - 1)
            """,
            mistakes=[
                Mistake(
                    "relative change",
                    "That is the relative change in percent. The question asks for percentage points: the "
                    "difference of the two chances, times 100.",
                    lambda ex: 100 * (truth_means()[1] / truth_means()[0] - 1),
                ),
                Mistake(
                    "fraction, not points",
                    "That is the difference as a fraction (0.01 for one point). Multiply by 100 to get points.",
                    lambda ex: truth_means()[1] - truth_means()[0],
                ),
                Mistake(
                    "observed win rate",
                    "That is the change in the *observed* win rate, which also moves with chance: which deals "
                    "happened to close in the window. Use the true chance of each deal from `.truth.deals`.",
                    lambda ex: observed_change_points(ex),
                ),
            ],
            success=lambda ex: (
                f"{true_change_points(ex):+.2f} points. Now compare it with the plot below: how much does the "
                "observed win rate move between runs, for reasons that have nothing to do with the change?"
            ),
        ),
        ReflectionQuestion(
            "q8",
            "Momentum after the yes",
            solution=(
                "Shaving minutes off replies that already come within a few hours buys almost nothing; what costs "
                "deals is the answer that takes days, and the wait between the verbal yes and the signature. After "
                "a client says yes I would send the order form and the answers to their last questions the same "
                "day, agree the date of the signature in the call itself, and check the commit-stage deals every "
                "morning until they are signed, instead of speeding up every email."
            ),
            hints=["Think of a verbal yes that took long to turn into a signature. What was the client waiting for?"],
        ),
    )
    return ex


__all__ = [
    "DEFAULT_DATA",
    "FACTORS",
    "ID",
    "SIZE",
    "TITLE",
    "WHAT_IF_SIZE",
    "ConfigQuestion",
    "answer_hours",
    "commit_days",
    "factor_answer",
    "factor_ratios",
    "factor_table",
    "faster_config",
    "lesson_problems",
    "momentum_simulation",
    "nested",
    "observed_table",
    "plot_factors",
    "plot_what_if",
    "requests_table",
    "setup",
    "team_velocity",
    "true_chance",
    "true_change_points",
    "week_cost",
    "what_if_sims",
]
