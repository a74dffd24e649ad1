"""Exercise 3, random walks and compression: close dates that keep moving, and deals that skip stages.

The notebook is ``exercises/03-random-walks.ipynb``. Pushes and serial pushers come from
:mod:`salesmetrics.metrics.random_walks` (what counts as a push: ``docs/decisions/0010-pushes.md``), steps
per advance from :func:`salesmetrics.log.prepare.stage_entries`, and cycle length from
:func:`salesmetrics.metrics.velocity.sales_velocity`.
The "what if" compares two simulations that differ in one parameter only (``owners.steps_per_decision``), drawn
with the trainee's seed, so every trainee sees the effect on their own numbers.

Examples
--------
>>> ex = setup(seed=3, trainee="Ana", progress=False)  # nothing is simulated until an answer is checked
>>> [q.kind for q in ex]
['frame', 'frame', 'choice', 'choice', 'frame', 'function', 'reflection']
>>> "_data" in ex._cache
False
>>> push_band([3, 30, 31, 29, 60])
'C'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed
from salesmetrics.exceptions import UsageError
from salesmetrics.exercises.exercise import Exercise
from salesmetrics.exercises.kinds import Case, ChoiceQuestion, FrameQuestion, FunctionQuestion, ReflectionQuestion
from salesmetrics.exercises.question import Mistake
from salesmetrics.exercises.teaching_cases import add_repeats, add_restated_dates
from salesmetrics.exercises.variants import check_needs, memo
from salesmetrics.log.prepare import stage_entries, subset_deals
from salesmetrics.metrics.random_walks import deal_slippage, push_lengths, slippage
from salesmetrics.metrics.velocity import sales_velocity
from salesmetrics.simulation.params import DEFAULTS

ID = "03-random-walks"
TITLE = "Random walks and compression"
DEFAULT_DATA = "compressed"
NEEDS = ("close_date_changes",)  # what the log must record (see variants.NEEDS); checked by `make` and on load
SIZE = {"n_deals": 300, "n_owners": 10, "months": 9}  # long enough for close dates to be pushed several times
SERIAL = 3  # a serial pusher: a deal whose close date was pushed at least this many times
WHAT_IF_SIZE = {"n_deals": 600, "n_owners": 10, "months": 9}
MUCH_SHORTER = 0.20  # prediction bands for the what-if: more than 20% shorter / shorter / not shorter

#: Where a push can land, by its length in days: [low, high).
PUSH_BANDS = {"A": (0, 7), "B": (7, 21), "C": (21, 46), "D": (46, np.inf)}


def compressed_config() -> dict:
    """The what-if: every owner moves twice the default number of stages per advancing decision."""
    return {"owners": {"steps_per_decision": 2 * DEFAULTS["owners"]["steps_per_decision"]}}


# ------------------------------------------------------------------------------------------------------------
# Teaching cases added to the variant's data

N_RESTATED = 3  # close dates saved again unchanged, added to each variant (see with_teaching_cases)
N_REPEATS = 3  # repeated stage entries added to each variant (see with_teaching_cases)


def with_teaching_cases(log, seed: int):
    """The variant's log with restated close dates (:func:`~salesmetrics.exercises.teaching_cases.add_restated_dates`)
    and repeated stage entries (:func:`~salesmetrics.exercises.teaching_cases.add_repeats`), so that counting every
    row is caught in questions 1 and 5."""
    return add_repeats(add_restated_dates(log, seed, N_RESTATED), seed, N_REPEATS)


# ------------------------------------------------------------------------------------------------------------
# Tables and reference answers


def close_date_table(log) -> pd.DataFrame:
    """The log's close-date changes in time order per deal (ties keep file order)."""
    changes = log.close_date_changes[["deal_id", "changed_at", "close_date"]]
    return changes.sort_values(["deal_id", "changed_at"], kind="stable").reset_index(drop=True)


def pushes_per_deal(log) -> pd.Series:
    """Pushes per deal (``close_date_pushes`` of :func:`salesmetrics.metrics.random_walks.deal_slippage`), for the deals
    that have at least one close-date change."""
    check_needs(log, ("close_date_changes",), ID)
    pushes = deal_slippage(log)["close_date_pushes"]
    return pushes[pushes.index.isin(log.close_date_changes["deal_id"])]


@renamed(n="serial_threshold")  # its name before 0.2.0 (decision 0046)
def serial_share(log, serial_threshold: int = SERIAL) -> pd.Series:
    """Per owner: the share of their deals pushed at least ``serial_threshold`` times (``serial_pusher_share`` of
    :func:`salesmetrics.metrics.random_walks.slippage`)."""
    check_needs(log, ("close_date_changes",), ID)
    return slippage(log, serial_threshold=serial_threshold).owners["serial_pusher_share"]


def push_band(days) -> str:
    """The letter of the :data:`PUSH_BANDS` band holding the most push lengths (ties: the shorter band)."""
    days = np.asarray(days, dtype="float64")
    counts = [np.sum((days >= lo) & (days < hi)) for lo, hi in PUSH_BANDS.values()]
    return list(PUSH_BANDS)[int(np.argmax(counts))]


def push_band_answer(log) -> str:
    check_needs(log, ("close_date_changes",), ID)
    days = push_lengths(log)["days"]
    if days.empty:
        raise UsageError("No close date in this log was pushed out, so there is no push length to read.")
    return push_band(days)


def entries_table(log) -> pd.DataFrame:
    """Classified stage entries (:func:`~salesmetrics.log.prepare.stage_entries`) with each deal's owner and team."""
    return stage_entries(log).merge(log.deals[["deal_id", "owner", "team"]], on="deal_id", how="left")


def steps_per_advance(log) -> pd.Series:
    """Per team: the mean ``steps`` (stages gained) of the advances, i.e. how far one client yes moves a deal."""
    entries = entries_table(log)
    return entries[entries["kind"] == "advance"].groupby("team")["steps"].mean()


def avg_cycle_days(log) -> float:
    """Mean days from creation to the win, over won deals: ``avg_cycle_days`` of
    :func:`salesmetrics.metrics.velocity.sales_velocity` for the whole log (kept per log: the lesson check, the
    prediction and the explanations ask for the what-ifs' cycles several times)."""
    return memo(
        log, "ex3.avg_cycle_days", lambda: float(sales_velocity(log, by=None, period=None)["avg_cycle_days"].iloc[0])
    )


def what_if(ex: Exercise, compressed: bool) -> object:
    """The what-if simulation of the trainee's seed: baseline, or with :func:`compressed_config` (kept)."""
    name = "what_if_compressed" if compressed else "what_if_base"
    return ex.what_if(name, compressed_config() if compressed else None, size=WHAT_IF_SIZE)


def what_if_logs(ex: Exercise):
    """``(base_log, compressed_log)``: the two what-if logs (simulated once per exercise)."""
    return what_if(ex, False).log, what_if(ex, True).log


def cycle_change(ex: Exercise) -> float:
    """Relative change of the average cycle, compressed against baseline (-0.3 is 30% shorter)."""
    base, compressed = what_if_logs(ex)
    return avg_cycle_days(compressed) / avg_cycle_days(base) - 1


def lesson_problems(ex: Exercise) -> list[str]:
    """What of the lesson does not hold in ``ex``'s variant (empty when all does): the compressed what-if shortens
    the average cycle. The what-ifs are simulated with the trainee's seed, so a re-draw of the data cannot change
    them: a failure here is kept in ``variant_problems_`` and the class harness reports it."""
    change = cycle_change(ex)
    return [] if change < 0 else [f"lesson: the compressed what-if does not shorten the cycle ({change:+.0%})"]


def prediction_answer(ex: Exercise) -> str:
    change = cycle_change(ex)
    return "A" if change < -MUCH_SHORTER else "B" if change < 0 else "C"


def what_if_summary(ex: Exercise) -> pd.DataFrame:
    """Side by side for the two what-if logs: stage changes per deal, steps per advance, win rate, cycle."""
    rows = {}
    for name, log in zip(("baseline", "compressed"), what_if_logs(ex), strict=True):
        entries = entries_table(log)
        velocity = sales_velocity(log, by=None, period=None).iloc[0]
        rows[name] = {
            "stage changes per deal": len(log.stage_changes) / len(log.deals),
            "steps per advance": entries.loc[entries["kind"] == "advance", "steps"].mean(),
            "win rate (won / closed)": velocity["win_rate"],
            "average cycle (days to win)": velocity["avg_cycle_days"],
        }
    return pd.DataFrame(rows).round(3)


# ------------------------------------------------------------------------------------------------------------
# Plots


def plot_cycles(base_log, compressed_log, ax=None):
    """Days from creation to the win of each won deal, baseline against compressed, with the means.
    Returns the figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    top = 0.0
    series = []
    for name, log, colour in (("baseline", base_log, "tab:blue"), ("compressed", compressed_log, "tab:orange")):
        entries = stage_entries(log)
        wins = entries[entries["is_win"]].drop_duplicates("deal_id").set_index("deal_id")["changed_at"]
        created = log.deals.set_index("deal_id")["created_at"].reindex(wins.index)
        days = ((wins - created) / pd.Timedelta(days=1)).dropna()
        series.append((name, days, colour))
        top = max(top, float(days.max()) if len(days) else 0.0)
    bins = np.linspace(0, max(top, 1.0), 31)
    for name, days, colour in series:
        ax.hist(days, bins=bins, alpha=0.5, color=colour, label=f"{name}: {len(days)} wins")
        ax.axvline(days.mean(), color=colour, linestyle="--", label=f"{name} mean: {days.mean():.0f} days")
    ax.set_title("Cycle length of won deals: baseline vs compressed process")
    ax.set_xlabel("days from creation to the win")
    ax.set_ylabel("won deals (count)")
    ax.legend(fontsize=8)
    return ax.figure


# ------------------------------------------------------------------------------------------------------------
# The exercise


def _cycle_cases(ex: Exercise) -> list[Case]:
    base, compressed = what_if_logs(ex)
    log = ex.log
    team = sorted(log.deals["team"].dropna().unique())[0]
    return [
        Case((base,), label="the baseline what-if log (base_log)"),
        Case((compressed,), label="the compressed what-if log (compressed_log)"),
        Case((log,), label="your own log"),
        Case((subset_deals(log, log.deals[log.deals["team"] == team]),), label=f"the deals of {team} in your log"),
    ]


def _median_cycle(log) -> float:
    entries = stage_entries(log)
    wins = entries[entries["is_win"]].drop_duplicates("deal_id").set_index("deal_id")["changed_at"]
    created = log.deals.set_index("deal_id")["created_at"].reindex(wins.index)
    return float(((wins - created) / pd.Timedelta(days=1)).median())


def _whole_days_cycle(log) -> float:
    """Question 6 with each cycle cut to whole days (``.dt.days``) before the mean: the typical truncation slip."""
    entries = stage_entries(log)
    wins = entries[entries["is_win"]].drop_duplicates("deal_id").set_index("deal_id")["changed_at"]
    created = log.deals.set_index("deal_id")["created_at"].reindex(wins.index)
    return float((wins - created).dt.days.mean())


def _closed_cycle(log) -> float:
    entries = stage_entries(log)
    closes = entries[entries["is_win"] | (entries["kind"] == "loss")].drop_duplicates("deal_id")
    closes = closes.set_index("deal_id")["changed_at"]
    created = log.deals.set_index("deal_id")["created_at"].reindex(closes.index)
    return float(((closes - created) / pd.Timedelta(days=1)).mean())


def _steps_success(steps: pd.Series) -> str:
    said = ", ".join(f"{team} {value:.2f}" for team, value in steps.items())
    if steps.max() >= 1.2 * steps.min():
        return (
            f"Stages per advance: {said}. One team's yeses move deals clearly further: that is compression, "
            "several steps of the process done in one conversation."
        )
    return (
        f"Stages per advance: {said}. The teams are alike: nobody here compresses the process much, one yes "
        "moves a deal about one stage."
    )


def setup(data: str = DEFAULT_DATA, seed: int | None = None, trainee: str = "", *, progress=None) -> Exercise:
    """The questions of exercise 3 for one variant (see :class:`~salesmetrics.exercises.exercise.Exercise`)."""
    ex = Exercise(
        ID,
        TITLE,
        data=data,
        seed=seed,
        trainee=trainee,
        size=SIZE,
        progress=progress,
        needs=NEEDS,
        prepare=with_teaching_cases,
        lesson=lesson_problems,
    )
    log = lambda: ex.log  # noqa: E731 - the log loads on first use, not here
    changes = lambda: ex.cached("changes", lambda: close_date_table(log()))  # noqa: E731
    entries = lambda: ex.cached("entries", lambda: entries_table(log()))  # noqa: E731

    def slip():
        return ex.cached("slip", lambda: deal_slippage(log()))

    def step_between_dates():
        c = changes()
        return c.groupby("deal_id")["close_date"].diff(), c["deal_id"]

    ex.add(
        FrameQuestion(
            "q1",
            "Pushes per deal",
            expected=lambda ex: pushes_per_deal(log()),
            hints=[
                "Within each deal, compare every expected close date with the one before it: a push is a later date.",
                "`changes.groupby('deal_id')['close_date'].diff()` gives, per row, how far the date moved (NaT for "
                "a deal's first date).",
                "Keep the moves greater than `pd.Timedelta(0)`, then count them per deal: "
                "`(step > pd.Timedelta(0)).groupby(changes['deal_id']).sum()`.",
            ],
            solution="""
                step = changes.groupby("deal_id")["close_date"].diff()
                pushes = (step > pd.Timedelta(0)).groupby(changes["deal_id"]).sum()
            """,
            wrong="""
                pushes = changes.groupby("deal_id").size() - 1
            """,
            explanation=(
                "A deal's first expected close date is a forecast, not a push. After that, each later date is a "
                "push, each earlier date a pull (often the date set to the real day when the deal closed early), "
                "and the same date again is no change at all."
            ),
            mistakes=[
                Mistake(
                    "pulls counted",
                    "You counted every change of date, including the ones that moved it *earlier* (pulls). A push "
                    "moves the expected close date later: keep only the positive moves.",
                    lambda ex: (lambda step, deal: (step.notna() & (step != pd.Timedelta(0))).groupby(deal).sum())(
                        *step_between_dates()
                    ),
                ),
                Mistake(
                    "every change counted",
                    "That counts every change after the first date, in both directions. A push moves the expected "
                    "close date later; a date pulled in (or set to the day the deal closed) is not a push.",
                    lambda ex: changes().groupby("deal_id").size() - 1,
                ),
                Mistake(
                    "first date counted",
                    "That counts every row, the first forecast included. The first expected close date is not a "
                    "push: nothing was moved yet.",
                    lambda ex: changes().groupby("deal_id").size(),
                ),
            ],
            success=lambda ex: (
                f"{(pushes_per_deal(log()) == 0).mean():.0%} of your deals were never pushed, and "
                f"{int((pushes_per_deal(log()) >= SERIAL).sum())} were pushed {SERIAL} times or more: those are the "
                "ones whose close date is walking."
            ),
        ),
        FrameQuestion(
            "q2",
            "Serial pushers per owner",
            expected=lambda ex: serial_share(log()),
            hints=[
                f"A serial pusher is a deal whose close date was pushed at least {SERIAL} times: use the "
                "`close_date_pushes` column of `slip`.",
                "The mean of a True/False column is the share of True values: group it by `slip['owner']`.",
                f"`(slip['close_date_pushes'] >= {SERIAL}).groupby(slip['owner']).mean()`",
            ],
            solution=f"""
                serial_share = (slip["close_date_pushes"] >= {SERIAL}).groupby(slip["owner"]).mean()
            """,
            wrong=f"""
                serial_share = (slip["close_date_pushes"] > {SERIAL}).groupby(slip["owner"]).mean()
            """,
            mistakes=[
                Mistake(
                    "more than three",
                    f"You kept deals pushed *more than* {SERIAL} times. A deal pushed exactly {SERIAL} times is a "
                    f"serial pusher too: use `>= {SERIAL}`.",
                    lambda ex: (slip()["close_date_pushes"] > SERIAL).groupby(slip()["owner"]).mean(),
                ),
                Mistake(
                    "count, not share",
                    "That is the number of serial pushers per owner. The question asks for the share of each "
                    "owner's deals: divide by the owner's deals (or take the mean of the True/False column).",
                    lambda ex: (slip()["close_date_pushes"] >= SERIAL).groupby(slip()["owner"]).sum(),
                ),
                Mistake(
                    "share of pushed deals",
                    "You divided by the deals that were pushed at least once. The share is out of all the owner's "
                    "deals, pushed or not.",
                    lambda ex: (
                        (slip()["close_date_pushes"] >= SERIAL).groupby(slip()["owner"]).sum()
                        / (slip()["close_date_pushes"] > 0).groupby(slip()["owner"]).sum()
                    ),
                ),
            ],
            success=(
                "A high share is a question for a pipeline review, not a verdict: whose deals keep slipping, and "
                "what decision is each of them waiting for?"
            ),
        ),
        ChoiceQuestion(
            "q3",
            "Read the plot: where do pushes land?",
            options={
                "A": "Within a week of the old date (less than 7 days).",
                "B": "One to three weeks later (7 to 20 days).",
                "C": "About a month later (21 to 45 days).",
                "D": "More than six weeks later (46 days or more).",
            },
            variable="plot_reading",
            expected=lambda ex: push_band_answer(log()),
            hints=[
                "Look at the histogram of push lengths: which range of days holds the most pushes in total?",
                "Add up the bars inside each range; the shaded window marks 27 to 33 days.",
            ],
            wrong_message=(
                "Look again: add up the bars inside each range of days. The ranges have different widths, so "
                "compare totals, not the height of one bar."
            ),
            explanation=(
                "When a close date comes due and nothing has been decided, the date is usually moved by a round "
                "amount, most often 'next month'. A push of a standard size says the seller does not know the "
                "date; it is a guess that moves with the calendar."
            ),
            success="Yes. A push by a round month is a forecast moving with the calendar, not with the client.",
        ),
        ChoiceQuestion(
            "q4",
            "Predict: what does compression do to the cycle?",
            options={
                "A": "The average cycle gets more than 20% shorter.",
                "B": "The average cycle gets shorter, but by 20% or less.",
                "C": "The average cycle stays about the same or gets longer.",
            },
            variable="prediction",
            predict=True,
            expected=lambda ex: prediction_answer(ex),
            hints=[
                "No calculation yet: go with your reasoning, then find out in question 6.",
                "If one yes moves a deal two stages instead of one, how many decisions does a deal need to reach "
                "the signature? And what happens to a deal while it waits for the next decision?",
            ],
            explanation=lambda ex: (
                f"In your what-if the average cycle changed by {cycle_change(ex):+.0%}: fewer decisions to wait "
                "for means less time waiting, and fewer gaps in which a deal can stall."
            ),
            success="Right. Question 6 measures it; keep your reason in mind.",
        ),
        FrameQuestion(
            "q5",
            "Steps per advance, per team",
            expected=lambda ex: steps_per_advance(log()),
            hints=[
                "An advance is a row of `entries` whose `kind` is `advance`; its `steps` is how many stages it gained.",
                "Keep only the advances, then average `steps` per team.",
                "`entries[entries['kind'] == 'advance'].groupby('team')['steps'].mean()`",
            ],
            solution="""
                advances = entries[entries["kind"] == "advance"]
                steps_per_advance = advances.groupby("team")["steps"].mean()
            """,
            wrong="""
                moves = entries[entries["kind"] != "repeat"]
                steps_per_advance = moves.groupby("team")["steps"].mean()
            """,
            mistakes=[
                Mistake(
                    "all movements",
                    "You averaged over every movement. Adds and losses have 0 steps and regressions count steps "
                    "*back*: keep only the advances, the client's yeses.",
                    lambda ex: entries()[entries()["kind"] != "repeat"].groupby("team")["steps"].mean(),
                ),
                Mistake(
                    "every row",
                    "You averaged over every stage entry. Keep only the advances: `kind == 'advance'`.",
                    lambda ex: entries().groupby("team")["steps"].mean(),
                ),
                Mistake(
                    "summed steps",
                    "That is the total of stages gained per team. The question asks for the average per advance.",
                    lambda ex: entries()[entries()["kind"] == "advance"].groupby("team")["steps"].sum(),
                ),
            ],
            success=lambda ex: _steps_success(steps_per_advance(log())),
        ),
        FunctionQuestion(
            "q6",
            "Average cycle length",
            reference=avg_cycle_days,
            cases=_cycle_cases,
            hints=[
                "A deal's cycle runs from `created_at` (in `log.deals`) to its win: the entry whose `is_win` is True "
                "in `stage_entries(log)`.",
                "Index the win times and the creation times by `deal_id`, subtract, and turn the Timedeltas into "
                "days with `/ pd.Timedelta(days=1)`.",
                "Return the *mean* over the won deals as a plain float: `float(days.mean())`.",
            ],
            solution='''
                def avg_cycle_days(log):
                    """Mean days from creation to the win, over the won deals of a log."""
                    stages = stage_entries(log)
                    wins = stages[stages["is_win"]].groupby("deal_id")["changed_at"].first()
                    created = log.deals.set_index("deal_id")["created_at"]
                    days = (wins - created.reindex(wins.index)) / pd.Timedelta(days=1)
                    return float(days.mean())
            ''',
            wrong="""
                def avg_cycle_days(log):
                    stages = stage_entries(log)
                    wins = stages[stages["is_win"]].groupby("deal_id")["changed_at"].first()
                    created = log.deals.set_index("deal_id")["created_at"]
                    return float(((wins - created.reindex(wins.index)) / pd.Timedelta(days=1)).median())
            """,
            explanation=(
                "The cycle is measured on won deals only: a lost deal has no cycle to signature. It is the mean "
                "(the velocity equation divides by the average cycle), in days."
            ),
            mistakes=[
                Mistake(
                    "median",
                    "That is the median cycle. Here we want the mean (the velocity equation of exercise 5 uses the "
                    "average cycle).",
                    _median_cycle,
                ),
                Mistake(
                    "losses included",
                    "You measured the days to *any* close, losses included. The cycle is measured to the win: "
                    "keep only the entries whose `is_win` is True.",
                    _closed_cycle,
                ),
                Mistake(
                    "whole days (.dt.days)",
                    "Each cycle was cut to whole days before the mean: `.dt.days` drops the hours. Divide by "
                    "`pd.Timedelta(days=1)` instead, which keeps the fraction of a day.",
                    _whole_days_cycle,
                ),
            ],
            success=lambda ex: (
                f"In your what-if the average cycle went from {avg_cycle_days(what_if_logs(ex)[0]):.0f} to "
                f"{avg_cycle_days(what_if_logs(ex)[1]):.0f} days. Look back at your prediction in question 4."
            ),
        ),
        ReflectionQuestion(
            "q7",
            "Your own process",
            solution=(
                "The deals I have seen slip were ones where the next step was 'send more information' and the "
                "close date was simply moved to next month when it came due. Pushing the date changed nothing "
                "about the deal. Before my next call on such a deal I would list the next two or three steps of "
                "our process (meet the budget holder, agree the evaluation criteria, schedule the proposal review) "
                "and ask for as many of them as the client can agree to in that one conversation, so each call "
                "moves the deal more than one step and the date stops walking."
            ),
            hints=["Think of one deal whose date moved more than once. What was it waiting for each time?"],
        ),
    )
    return ex


__all__ = [
    "DEFAULT_DATA",
    "ID",
    "NEEDS",
    "PUSH_BANDS",
    "SERIAL",
    "SIZE",
    "TITLE",
    "WHAT_IF_SIZE",
    "avg_cycle_days",
    "close_date_table",
    "compressed_config",
    "cycle_change",
    "entries_table",
    "lesson_problems",
    "plot_cycles",
    "push_band",
    "pushes_per_deal",
    "serial_share",
    "setup",
    "steps_per_advance",
    "what_if_logs",
    "what_if_summary",
]
