"""Exercise 1, motion vs movement: count movements (each worth 1) and motions; find motion without movement.

The notebook is ``exercises/01-motion-vs-movement.ipynb``. Every expected answer is computed from the variant's
log by the package's own metrics (:func:`salesmetrics.metrics.scoring.score`,
:func:`salesmetrics.metrics.scoring.score`, :func:`salesmetrics.log.prepare.stage_entries`), so each trainee is checked
against their own numbers.

Examples
--------
>>> ex = setup(seed=3, trainee="Ana", progress=False)  # nothing is simulated until an answer is checked
>>> [q.id for q in ex]
['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7']
>>> "_data" in ex._cache
False
"""

from __future__ import annotations

import pandas as pd

from salesmetrics.exercises.exercise import Exercise
from salesmetrics.exercises.kinds import Case, ChoiceQuestion, FrameQuestion, FunctionQuestion, ReflectionQuestion
from salesmetrics.exercises.question import Mistake
from salesmetrics.exercises.teaching_cases import add_repeats, ensure_single_motion_week
from salesmetrics.exercises.variants import memo
from salesmetrics.log.prepare import stage_entries
from salesmetrics.metrics.scoring import score

ID = "01-motion-vs-movement"
TITLE = "Motion vs movement"
DEFAULT_DATA = "motion_heavy"
NEEDS = ("activities", "teams")  # what the log must record (see variants.NEEDS); checked by `make` and on load
MOVEMENT_KINDS = ("add", "advance", "regression", "loss")  # every stage entry but a repeat (decision 0006)
SAME_WITHIN = 0.10  # "about the same" in the prediction: within 10%
CLEARLY_MORE = 1.2  # the lesson's "clearly more activity": the busiest team logs at least 20% more than any other
N_REPEATS = 6  # repeated stage entries added to each variant (at least one per team), see with_teaching_cases


# ------------------------------------------------------------------------------------------------------------
# Teaching cases added to the variant's data


def with_teaching_cases(log, seed: int):
    """The variant's log with :data:`N_REPEATS` repeated stage entries
    (:func:`~salesmetrics.exercises.teaching_cases.add_repeats`) and a week of a single motion
    (:func:`~salesmetrics.exercises.teaching_cases.ensure_single_motion_week`)."""
    return ensure_single_motion_week(add_repeats(log, seed, N_REPEATS), seed)


# ------------------------------------------------------------------------------------------------------------
# The tables the notebook builds in its given (non-answer) cells


def entries_table(log) -> pd.DataFrame:
    """Classified stage entries (:func:`~salesmetrics.log.prepare.stage_entries`) with each deal's owner and team."""
    return stage_entries(log).merge(log.deals[["deal_id", "owner", "team"]], on="deal_id", how="left")


def activity_table(log) -> pd.DataFrame:
    """Activities (motions) with each deal's owner and team."""
    return log.activities.merge(log.deals[["deal_id", "owner", "team"]], on="deal_id", how="left")


def weekly_table(log) -> pd.DataFrame:
    """Per owner and calendar week: :func:`salesmetrics.metrics.scoring.score` with ``by="owner", period="W"``."""
    return memo(log, "ex1.weekly", lambda: score(log, by="owner", period="W"))


# ------------------------------------------------------------------------------------------------------------
# Reference answers


def count_movements(entries: pd.DataFrame) -> int:
    """Movements in a table of classified stage entries: every entry but a repeat counts exactly 1.

    >>> count_movements(pd.DataFrame({"kind": ["add", "advance", "repeat", "loss"], "steps": [0, 2, 0, 0]}))
    3
    """
    return int(entries["kind"].isin(MOVEMENT_KINDS).sum())


def per_owner(log) -> pd.DataFrame:
    """Movements and motions per owner (sums of the per-deal :func:`salesmetrics.metrics.scoring.score`), by owner."""
    return memo(log, "ex1.per_owner", lambda: score(log).groupby("owner")[["movements", "motions"]].sum())


def team_of(log) -> pd.Series:
    """Each owner's team (the team of the owner's deals)."""
    return log.deals.drop_duplicates("owner").set_index("owner")["team"]


def team_rate(log) -> pd.Series:
    """Movements per motion per team: the team's movements divided by the team's motions."""
    totals = per_owner(log).groupby(team_of(log)).sum()
    rate = totals["movements"] / totals["motions"]
    rate.index.name = "team"
    return rate


def busiest_team(log) -> str:
    """The team with the most motions."""
    totals = per_owner(log).groupby(team_of(log)).sum()
    return str(totals["motions"].idxmax())


def motion_without_movement(log) -> pd.DataFrame:
    """Owner-weeks with at least one motion and no movement: columns ``owner, period, motions``."""
    weekly = weekly_table(log)
    rows = weekly[(weekly["motions"] > 0) & (weekly["movements"] == 0)]
    return rows[["owner", "period", "motions"]].reset_index(drop=True)


def prediction_answer(log) -> str:
    """A: the busiest team turns more of its motion into movement than the rest; B: less; C: about the same."""
    totals = per_owner(log).groupby(team_of(log)).sum()
    busy = busiest_team(log)
    own = totals.loc[busy, "movements"] / totals.loc[busy, "motions"]
    rest = totals.drop(index=busy)
    others = rest["movements"].sum() / rest["motions"].sum()
    if own > others * (1 + SAME_WITHIN):
        return "A"
    if own < others * (1 - SAME_WITHIN):
        return "B"
    return "C"


def lesson_problems(ex) -> list[str]:
    """What of the lesson does not hold in ``ex``'s variant (empty when all does): one team logged clearly more
    activity than any other (:data:`CLEARLY_MORE`), and that busiest team turns *less* of its motion into movement
    than the rest (the answer to the prediction is B), with most of its owners below the group's line (the plot
    reading is A). The exercise re-draws a variant where this fails."""
    log = ex.log
    motions = per_owner(log).groupby(team_of(log)).sum()["motions"].sort_values(ascending=False)
    problems = []
    if len(motions) < 2 or motions.iloc[0] < CLEARLY_MORE * motions.iloc[1]:
        problems.append("lesson: no team logged clearly more activity than the others")
    if prediction_answer(log) != "B":
        problems.append("lesson: the busiest team does not turn less of its motion into movement")
    if plot_answer(log) != "A":
        problems.append("lesson: most of the busiest team's owners are not below the group's line")
    return problems


def plot_answer(log) -> str:
    """Where the busiest team's owners sit against the line of the whole group's movements per motion."""
    owners = per_owner(log)
    overall = owners["movements"].sum() / owners["motions"].sum()
    busy = owners[team_of(log).reindex(owners.index) == busiest_team(log)]
    rate = busy["movements"] / busy["motions"]
    below, above = int((rate < overall).sum()), int((rate > overall).sum())
    return "A" if below > above else "B" if above > below else "C"


# ------------------------------------------------------------------------------------------------------------
# Plots


def plot_owners(log, ax=None):
    """Motions (x) against movements (y) per owner, coloured by team, with the whole group's movements per
    motion as a dashed line through the origin. Returns the figure."""
    import matplotlib.pyplot as plt

    owners = per_owner(log).join(team_of(log))
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    for team, rows in owners.groupby("team"):
        ax.scatter(rows["motions"], rows["movements"], s=60, label=str(team))
        for owner, row in rows.iterrows():
            ax.annotate(
                str(owner), (row["motions"], row["movements"]), fontsize=8, xytext=(4, 3), textcoords="offset points"
            )
    overall = owners["movements"].sum() / owners["motions"].sum()
    top = owners["motions"].max() * 1.1
    ax.plot([0, top], [0, overall * top], "--", color="grey", label=f"whole group: {overall:.2f} movements per motion")
    ax.set_xlim(0, top)
    ax.set_ylim(0, max(owners["movements"].max(), overall * top) * 1.1)
    ax.set_xlabel("motions (activities logged, count)")
    ax.set_ylabel("movements (stage gates passed, count)")
    ax.set_title("Motion vs movement per owner")
    ax.legend(loc="upper left", fontsize=8)
    return ax.figure


def plot_weeks(log, team: str | None = None, ax=None):
    """Motions and movements per week for one team (default: the busiest), on two y axes. Returns the figure."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    team = team or busiest_team(log)
    weekly = weekly_table(log)
    weekly = weekly[weekly["owner"].map(team_of(log)) == team]
    totals = weekly.groupby("period")[["motions", "movements"]].sum()
    weeks = pd.to_datetime(totals.index)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    ax.bar(weeks, totals["motions"], width=5, color="#c8d6e5", label="motions")
    ax.set_ylabel("motions per week (count)")
    ax.set_xlabel("week (starting Monday)")
    right = ax.twinx()
    right.plot(weeks, totals["movements"], "o-", color="#b3261e", label="movements")
    right.set_ylabel("movements per week (count)")
    right.set_ylim(0, None)
    ax.set_title(f"{team}: motion and movement per week")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.figure.autofmt_xdate()
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles, ["motions", "movements"], loc="upper left", fontsize=8)
    return ax.figure


# ------------------------------------------------------------------------------------------------------------
# Hand-made test inputs for count_movements


def _entries_frame(rows) -> pd.DataFrame:
    """A classified-entries table from ``(deal, day, stage, kind, steps)`` rows."""
    ranks = {
        "Lead": 0,
        "Qualified": 1,
        "Discovery": 2,
        "Proposal": 3,
        "Negotiation": 4,
        "Commit": 5,
        "Won": 6,
        "Lost": -1,
    }
    frame = pd.DataFrame(rows, columns=["deal_id", "day", "stage", "kind", "steps"])
    frame["changed_at"] = pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(frame.pop("day"), unit="D")
    frame["rank"] = frame["stage"].map(ranks).astype("int64")
    frame["prev_stage"] = frame.groupby("deal_id")["stage"].shift(1)
    frame["is_win"] = (frame["stage"] == "Won") & (frame["kind"] == "advance")
    frame["owner"], frame["team"] = "Sam", "Team Z"
    return frame[["deal_id", "changed_at", "stage", "rank", "prev_stage", "kind", "is_win", "steps", "owner", "team"]]


def _cases(ex: Exercise):
    entries = ex.cached("entries", lambda: entries_table(ex.log))
    owner = sorted(entries["owner"].dropna().unique())[0]
    return [
        Case(
            (_entries_frame([("X1", 0, "Lead", "add", 0), ("X1", 5, "Qualified", "advance", 1)]),),
            label="a deal added in Lead that advanced to Qualified",
        ),
        Case(
            (
                _entries_frame(
                    [("X2", 0, "Lead", "add", 0), ("X2", 3, "Proposal", "advance", 3), ("X2", 9, "Won", "advance", 3)]
                ),
            ),
            label="a deal that jumped from Lead straight to Proposal, then was won",
        ),
        Case(
            (
                _entries_frame(
                    [
                        ("X3", 0, "Lead", "add", 0),
                        ("X3", 2, "Qualified", "advance", 1),
                        ("X3", 6, "Lead", "regression", 1),
                        ("X3", 8, "Lost", "loss", 0),
                    ]
                ),
            ),
            label="a deal that went back from Qualified to Lead, then was lost",
        ),
        Case(
            (
                _entries_frame(
                    [("X4", 0, "Lead", "add", 0), ("X4", 1, "Lead", "repeat", 0), ("X4", 4, "Qualified", "advance", 1)]
                ),
            ),
            label="a deal whose Lead stage was recorded twice (a repeat), then advanced",
        ),
        Case((_entries_frame([]),), label="an empty table (no stage entries)"),
        Case((entries[entries["owner"] == owner].reset_index(drop=True),), label=f"the stage entries of {owner}"),
        Case((entries,), label="all the stage entries of your log"),
    ]


# ------------------------------------------------------------------------------------------------------------
# The exercise


def setup(data: str = DEFAULT_DATA, seed: int | None = None, trainee: str = "", *, progress=None) -> Exercise:
    """The questions of exercise 1 for one variant (see :class:`~salesmetrics.exercises.exercise.Exercise`)."""
    ex = Exercise(
        ID,
        TITLE,
        data=data,
        seed=seed,
        trainee=trainee,
        progress=progress,
        prepare=with_teaching_cases,
        needs=NEEDS,
        lesson=lesson_problems,
    )
    log = lambda: ex.log  # noqa: E731 - the log loads on first use, not here
    entries = lambda: ex.cached("entries", lambda: entries_table(log()))  # noqa: E731
    activity = lambda: ex.cached("activity", lambda: activity_table(log()))  # noqa: E731

    ex.add(
        ChoiceQuestion(
            "q1",
            "Predict: does the busiest team move more?",
            options={
                "A": "Yes: the busiest team turns more of its motion into movement than the other team(s).",
                "B": "No: the busiest team turns less of its motion into movement than the other team(s).",
                "C": "About the same (within 10%).",
            },
            variable="prediction",
            predict=True,
            expected=lambda ex: prediction_answer(log()),
            hints=[
                "There is no calculation to do yet: go with your instinct, then find out in question 4.",
                "Ask yourself: does a call or an email make a client decide anything by itself?",
            ],
            explanation=lambda ex: (
                f"In your data the busiest team is {busiest_team(log())}; its movements per motion against the "
                "other team(s) are computed in question 4."
            ),
            success="Right. Question 4 computes it; keep the reason you gave yourself in mind.",
        ),
        FunctionQuestion(
            "q2",
            "Count movements",
            reference=count_movements,
            cases=_cases,
            hints=[
                "Look at the `kind` column: which kinds are movements, and which one is not?",
                "Every movement counts 1, however many stages it jumps: do not add up `steps`.",
                "Count the rows whose `kind` is not `repeat`, and return a plain int.",
            ],
            solution='''
                def count_movements(entries):
                    """Movements in a table of classified stage entries: every entry but a repeat counts 1."""
                    return int((entries["kind"] != "repeat").sum())
            ''',
            wrong="""
                def count_movements(entries):
                    return int(entries["steps"].sum())
            """,
            explanation=(
                "A movement is a deal passing a stage gate: added, advanced (a win is an advance), sent back or "
                "lost. Each counts 1, so a jump from Lead to Proposal is one movement, not three, and a step back "
                "counts +1, not -1: it is a decision too. A repeat (the stage the deal is already in) changes "
                "nothing, so it is not a movement."
            ),
            mistakes=[
                Mistake(
                    "summed steps",
                    "That looks like the sum of `steps` (stages gained). A movement counts 1 however far it jumps, "
                    "and adds and losses count too.",
                    lambda entries: int(entries["steps"].sum()),
                ),
                Mistake(
                    "counted every row",
                    "That counts every row, repeats included. A repeat (a deal re-entering the stage it is already "
                    "in) is not a movement.",
                    lambda entries: len(entries),
                ),
                Mistake(
                    "advances only",
                    "That counts only advances. Adds, regressions and losses are movements too: each one is a "
                    "decision that changed where the deal stands.",
                    lambda entries: int((entries["kind"] == "advance").sum()),
                ),
                Mistake(
                    "left out adds",
                    "That leaves out the adds. A deal entering the pipeline passes a gate too: it counts 1.",
                    lambda entries: int(entries["kind"].isin(["advance", "regression", "loss"]).sum()),
                ),
            ],
            success="Each movement counts exactly one: a jump, a win, a step back or a loss alike.",
        ),
        FrameQuestion(
            "q3",
            "Movements and motions per owner",
            expected=lambda ex: per_owner(log()),
            hints=[
                "Two counts per owner: movements from `entries` (not repeats), motions from `activity` (every row).",
                "`groupby('owner').size()` counts rows per owner; put the two Series side by side with "
                "`pd.DataFrame({'movements': ..., 'motions': ...})`.",
            ],
            solution="""
                movements = entries[entries["kind"] != "repeat"].groupby("owner").size()
                motions = activity.groupby("owner").size()
                per_owner = pd.DataFrame({"movements": movements, "motions": motions}).fillna(0)
            """,
            wrong="""
                movements = entries[entries["kind"] == "advance"].groupby("owner").size()
                motions = activity.groupby("owner").size()
                per_owner = pd.DataFrame({"movements": movements, "motions": motions})
            """,
            mistakes=[
                Mistake(
                    "repeats counted",
                    "Your `movements` count every row of `entries`, repeats included. A repeat (a deal entering "
                    "the stage it is already in) changes nothing: leave those rows out before counting.",
                    lambda ex: per_owner(log()).assign(movements=entries().groupby("owner").size()),
                ),
                Mistake(
                    "advances only",
                    "Your `movements` count only advances. Adds, regressions and losses count 1 each as well.",
                    lambda ex: per_owner(log()).assign(
                        movements=entries()[entries()["kind"] == "advance"].groupby("owner").size()
                    ),
                ),
                Mistake(
                    "interactions only",
                    "Your `motions` leave some activities out. Motion is every activity logged: emails and "
                    "proposals too, not only meetings, calls and demos.",
                    lambda ex: per_owner(log()).assign(
                        motions=activity()[activity()["kind"].isin(["meeting", "call", "demo"])].groupby("owner").size()
                    ),
                ),
            ],
            success="Compare the two columns owner by owner: the busiest owners are not always the ones who move most.",
        ),
        FrameQuestion(
            "q4",
            "Movements per motion, per team",
            expected=lambda ex: team_rate(log()),
            hints=[
                "A team's rate is the team's movements divided by the team's motions.",
                "Group by `team` first, then divide. Averaging the owners' rates gives each owner the same weight, "
                "however busy: that is a different number.",
            ],
            solution="""
                team_movements = entries[entries["kind"] != "repeat"].groupby("team").size()
                team_motions = activity.groupby("team").size()
                team_rate = team_movements / team_motions
            """,
            wrong="""
                owner_movements = entries[entries["kind"] != "repeat"].groupby("owner").size()
                owner_rate = owner_movements / activity.groupby("owner").size()
                owner_team = log.deals.drop_duplicates("owner").set_index("owner")["team"]
                team_rate = owner_rate.groupby(owner_team).mean()
            """,
            mistakes=[
                Mistake(
                    "repeats counted",
                    "Your team movements count every row of `entries`, repeats included. A repeat is not a "
                    "movement: leave those rows out, then divide by the team's motions.",
                    lambda ex: (entries().groupby("team").size() / activity().groupby("team").size()).rename_axis(
                        "team"
                    ),
                ),
                Mistake(
                    "mean of owner rates",
                    "That is the average of the owners' rates, which weighs a quiet owner as much as a busy one. "
                    "Add up the team's movements and its motions first, then divide.",
                    lambda ex: (
                        (per_owner(log())["movements"] / per_owner(log())["motions"])
                        .groupby(team_of(log()))
                        .mean()
                        .rename_axis("team")
                    ),
                ),
                Mistake(
                    "motions per movement",
                    "That is motions per movement, the other way round: divide movements by motions.",
                    lambda ex: 1 / team_rate(log()),
                ),
            ],
            success=lambda ex: (
                f"The busiest team, {busiest_team(log())}, turns "
                f"{team_rate(log())[busiest_team(log())]:.2f} of each motion into movement. Now look back at your "
                "prediction in question 1."
            ),
        ),
        FrameQuestion(
            "q5",
            "Owners with motion but no movement",
            expected=lambda ex: motion_without_movement(log()),
            check_index=False,
            hints=[
                "In `weekly`, keep the rows with at least one motion and no movement.",
                "Combine two conditions with `&`, each in brackets: `weekly[(...) & (...)]`.",
                "Keep the columns `owner`, `period` and `motions`.",
            ],
            solution="""
                stuck = weekly[(weekly["motions"] > 0) & (weekly["movements"] == 0)]
                busy_but_stuck = stuck[["owner", "period", "motions"]]
            """,
            wrong="""
                stuck = weekly[(weekly["motions"] > 0) & (weekly["advances"] == 0)]
                busy_but_stuck = stuck[["owner", "period", "motions"]]
            """,
            mistakes=[
                Mistake(
                    "no advance instead of no movement",
                    "You kept weeks without an advance. A week with an add, a step back or a loss had movement: "
                    "use the `movements` column.",
                    lambda ex: (
                        weekly_table(log())
                        .query("motions > 0 and advances == 0")[["owner", "period", "motions"]]
                        .reset_index(drop=True)
                    ),
                ),
                Mistake(
                    "single-motion weeks left out",
                    "Your table leaves out the weeks with exactly one motion. The question asks for *at least one* "
                    "motion: check the comparison you used on `motions`.",
                    lambda ex: (
                        weekly_table(log())
                        .query("motions > 1 and movements == 0")[["owner", "period", "motions"]]
                        .reset_index(drop=True)
                    ),
                ),
                Mistake(
                    "idle weeks included",
                    "Some of your weeks have no motion either: an idle week is not motion without movement. Keep "
                    "only weeks with at least one motion.",
                    lambda ex: (
                        weekly_table(log())
                        .query("movements == 0")[["owner", "period", "motions"]]
                        .reset_index(drop=True)
                    ),
                ),
            ],
            success="These are the weeks a leader would ask about: effort that changed no buyer's decision.",
        ),
        ChoiceQuestion(
            "q6",
            "Read the plot",
            options={
                "A": "Mostly below the dashed line: less movement per motion than the group as a whole.",
                "B": "Mostly above the dashed line: more movement per motion than the group as a whole.",
                "C": "As many above the line as below it.",
            },
            variable="plot_reading",
            expected=lambda ex: plot_answer(log()),
            hints=[
                "Find the busiest team's colour in the legend, then count its points above and below the dashed line.",
                "A point below the line is an owner whose movements per motion are lower than the group's.",
            ],
            wrong_message=(
                "Look again: count the busiest team's points on each side of the dashed line. A point below the line "
                "has fewer movements for its motions than the group as a whole."
            ),
            explanation=(
                "The dashed line is the whole group's movements per motion. An activity leaderboard ranks owners by "
                "their x position; the vertical distance to the line tells you whether that activity moved deals."
            ),
            success="Exactly: more dots to the right does not mean more dots up.",
        ),
        ReflectionQuestion(
            "q7",
            "Your own week",
            solution=(
                "Most weeks hold plenty of motion that felt productive: follow-up emails, check-in calls, updating "
                "the CRM. The movements usually trace back to a few conversations in which the client agreed to "
                "something concrete: a meeting with the budget holder, a trial, a proposal review. Counting "
                "movements, each worth one, keeps that visible: it rewards the conversation that changed a decision, "
                "not the volume around it. Planning each activity around the decision it should lead to is the "
                "habit exercise 2 builds."
            ),
            hints=["Think of one activity that moved a deal and one that did not. What was different about them?"],
        ),
    )
    return ex


__all__ = [
    "DEFAULT_DATA",
    "ID",
    "NEEDS",
    "TITLE",
    "activity_table",
    "add_repeats",
    "busiest_team",
    "count_movements",
    "ensure_single_motion_week",
    "entries_table",
    "lesson_problems",
    "motion_without_movement",
    "per_owner",
    "plot_owners",
    "plot_weeks",
    "setup",
    "team_rate",
    "weekly_table",
    "with_teaching_cases",
]
