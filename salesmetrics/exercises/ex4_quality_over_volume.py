"""Exercise 4, quality over volume: does activity volume or decision rate go with an owner's win rate?

The notebook is ``exercises/04-quality-over-volume.ipynb``. The per-owner table, the rank correlations and their
bootstrap intervals come from :func:`salesmetrics.metrics.volume.volume_vs_yield` (the choice of Spearman's rho and of
resampling owners is ``docs/decisions/0011-volume-vs-yield.md``); win rates from
:func:`salesmetrics.metrics.volume.owner_table`. The real-data part uses the UCI bank-marketing calls (the only public
dataset beside the repository that records how often a seller contacted each client); it is optional and says
so when the dataset is not there.

The outcome is a rate, the owner's win rate (won out of decided deals), not the number of wins: a count grows with
the number of deals an owner has, and so does the number of activities, so volume would go with wins for that
reason alone (issue 20; decision 0060). The lesson's claim, that the decision rate goes with the win rate clearly
more than activity volume does, is checked in every variant (:func:`lesson_problems`); a variant where it does
not hold is re-drawn. The pipeline datasets (Maven, IBM, Olist) record no activities, so they
cannot answer this question: a log folder without activities is refused with a clear message.

Examples
--------
>>> ex = setup(seed=3, trainee="Ana", progress=False)  # nothing is simulated until an answer is checked
>>> [q.kind for q in ex]
['choice', 'frame', 'value', 'value', 'choice', 'choice', 'reflection']
>>> "_data" in ex._cache
False
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.renamed import renamed
from salesmetrics.exercises.exercise import Exercise
from salesmetrics.exercises.kinds import ChoiceQuestion, FrameQuestion, ReflectionQuestion, ValueQuestion
from salesmetrics.exercises.question import Mistake
from salesmetrics.exercises.variants import check_needs
from salesmetrics.log.coverage import note_axes
from salesmetrics.metrics.volume import deal_outcomes, owner_table, rank_correlations, volume_vs_yield

ID = "04-quality-over-volume"
TITLE = "Quality over volume"
DEFAULT_DATA = "baseline"
NEEDS = ("activities",)  # what the log must record (see variants.NEEDS); checked by `make` and on load
SIZE = {"n_deals": 400, "n_owners": 20, "months": 6}  # 20 owners: enough for a rank correlation over owners
X = ("motions", "decision_rate")  # the explanatory columns: activity volume and decision quality
Y = "win_rate"  # the outcome: a rate, so that it does not grow with the number of deals (decision 0060)
ABOUT_EQUAL = 0.10  # in the prediction, rhos within 0.1 of each other are "about equal"
WIDER = 0.10  # in the sample-size prediction, intervals within 10% of each other are "about as wide"
N_HALVES = 40  # question 5 averages the interval width over this many random halves of the owners
REAL_DATASET = "uci_bank_marketing"
REAL_SAMPLE = 5000  # clients drawn for the rank correlation on real data (keeps the bootstrap quick)


# ------------------------------------------------------------------------------------------------------------
# Reference answers


def result(log):
    """:func:`salesmetrics.metrics.volume.volume_vs_yield` with the win rate as the outcome (2,000 resamples,
    ``random_state=0``), exactly as the notebook calls it."""
    check_needs(log, ("activities",), ID)
    return volume_vs_yield(log, y=(Y,))


def win_rates(log) -> pd.Series:
    """Per owner: won / (won + lost) deals, the ``win_rate`` of :func:`salesmetrics.metrics.volume.owner_table`."""
    check_needs(log, ("activities",), ID)
    return owner_table(log)["win_rate"]


def rho(correlations: pd.DataFrame, x: str, y: str = Y) -> float:
    """Spearman's rho of ``x`` and ``y`` from a correlation table of
    :func:`~salesmetrics.metrics.volume.rank_correlations`."""
    row = correlations[(correlations["x"] == x) & (correlations["y"] == y)]
    return float(row["rho"].iloc[0])


def clear_of_zero(correlations: pd.DataFrame, y: str = Y) -> list[str]:
    """The ``x`` columns whose interval for ``y`` lies entirely above or entirely below 0."""
    rows = correlations[correlations["y"] == y]
    clear = (rows["ci_low"] > 0) | (rows["ci_high"] < 0)
    return rows.loc[clear, "x"].tolist()


def containing_zero(correlations: pd.DataFrame, y: str = Y) -> list[str]:
    """The ``x`` columns whose interval for ``y`` contains 0 (the typical misreading of question 4)."""
    rows = correlations[correlations["y"] == y]
    return rows.loc[~((rows["ci_low"] > 0) | (rows["ci_high"] < 0)), "x"].tolist()


def lesson_problems(ex) -> list[str]:
    """What of the lesson does not hold in ``ex``'s variant (empty when all does): the decision rate goes with the
    win rate clearly more than activity volume (rho higher by more than :data:`ABOUT_EQUAL`), and its interval
    stays clear of 0. The exercise re-draws a variant where this fails."""
    corr = ex.cached("result", lambda: result(ex.log)).correlations
    volume, quality = rho(corr, "motions"), rho(corr, "decision_rate")
    problems = []
    if not quality > volume + ABOUT_EQUAL:
        problems.append(
            f"lesson: the decision rate's rho with the win rate ({quality:.2f}) is not clearly above activity "
            f"volume's ({volume:.2f})"
        )
    if "decision_rate" not in clear_of_zero(corr):
        problems.append("lesson: the decision rate's interval for the win rate holds 0")
    return problems


def prediction_answer(log) -> str:
    """A: activity volume goes with the win rate more strongly; B: decision rate does; C: within 0.1 of each
    other."""
    corr = result(log).correlations
    volume, quality = rho(corr, "motions"), rho(corr, "decision_rate")
    if abs(volume - quality) <= ABOUT_EQUAL or not np.isfinite(volume - quality):
        return "C"
    return "A" if volume > quality else "B"


@renamed(seed="random_state")
def half_owners(owners: pd.DataFrame, random_state: int = 0) -> pd.DataFrame:
    """A random half of the owners (drawn with ``random_state``, kept in name order): one "half as many owners"
    of question 5."""
    rng = np.random.default_rng(random_state)
    table = owners.sort_index()
    keep = np.sort(rng.choice(len(table), len(table) // 2, replace=False))
    return table.iloc[keep]


def _width(owners: pd.DataFrame, random_state: int = 0) -> float:
    corr = rank_correlations(owners, x=["decision_rate"], y=[Y], random_state=random_state)
    return float(corr["ci_high"].iloc[0] - corr["ci_low"].iloc[0])


def half_widths(owners: pd.DataFrame, n_halves: int = N_HALVES) -> np.ndarray:
    """Widths of the decision-rate interval for the win rate over ``n_halves`` random halves of the owners (halves drawn
    with random states 0, 1, ...; the same bootstrap settings as for all owners)."""
    return np.array([_width(half_owners(owners, random_state=k), random_state=k) for k in range(n_halves)])


def interval_widths(log) -> tuple[float, float]:
    """Width of the decision-rate interval for the win rate: all owners, and the average over :data:`N_HALVES` random
    halves of them. One half alone is noisy (it may happen to hold owners who agree closely); the average says
    what halving the owners does."""
    owners = result(log).owners
    return _width(owners), float(np.nanmean(half_widths(owners)))


def half_table(log) -> pd.DataFrame:
    """The decision-rate interval's width with all owners and with half of them (average over random halves),
    as the notebook shows it after question 5."""
    owners = result(log).owners
    halves = half_widths(owners)
    return pd.DataFrame(
        {
            "owners": [len(owners), len(owners) // 2],
            "interval width": [_width(owners), float(np.nanmean(halves))],
            "narrowest": [np.nan, float(np.nanmin(halves))],
            "widest": [np.nan, float(np.nanmax(halves))],
        },
        index=pd.Index(["all owners", f"half of them ({len(halves)} random halves, average)"], name="sample"),
    )


def half_answer(log) -> str:
    """A: the half-owner interval is narrower; B: about as wide (within 10%); C: wider (averaged over halves)."""
    full, half = interval_widths(log)
    if not np.isfinite(full) or not np.isfinite(half) or abs(half - full) <= WIDER * full:
        return "B"
    return "C" if half > full else "A"


# ------------------------------------------------------------------------------------------------------------
# Real data: the UCI bank-marketing calls


def dataset_folders() -> list[Path]:
    """Where a shared dataset may be: ``../shared/datasets`` beside the repository, or beside or above the
    working directory (a notebook runs in ``exercises/``)."""
    repo = Path(__file__).resolve().parents[2]
    candidates = [repo.parent / "shared" / "datasets", Path.cwd() / "../shared/datasets"]
    candidates.append(Path.cwd() / "../../shared/datasets")
    seen, out = set(), []
    for path in candidates:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def real_contacts(folder: str | Path | None = None) -> pd.DataFrame | None:
    """The UCI bank-marketing calls, one row per client: ``contacts`` (calls in the campaign, the last one
    included) and ``subscribed`` (1 if the client took the term deposit). None, with a printed note, when the
    dataset is not found (``folder``: the datasets folder; default: :func:`dataset_folders`)."""
    folders = [Path(folder)] if folder is not None else dataset_folders()
    for base in folders:
        path = base / REAL_DATASET / "bank-full.csv"
        if path.is_file():
            table = pd.read_csv(path, sep=";", usecols=["campaign", "y"])
            return pd.DataFrame(
                {"contacts": table["campaign"].astype("int64"), "subscribed": (table["y"] == "yes").astype("int64")}
            )
    print(
        f"The real dataset {REAL_DATASET} is not here (looked in: {', '.join(str(f) for f in folders)}). "
        "This section is optional: read it, skip the two cells, and answer question 6 from the text."
    )
    return None


def contacts_table(bank: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """Per number of contacts (``top`` and more in one row): clients, subscribed, and the conversion rate with
    a 95% normal-approximation interval."""
    band = bank["contacts"].clip(upper=top)
    grouped = bank.groupby(band)["subscribed"].agg(clients="size", subscribed="sum")
    rate = grouped["subscribed"] / grouped["clients"]
    half = 1.96 * np.sqrt(rate * (1 - rate) / grouped["clients"])
    grouped["conversion"] = rate
    grouped["low"], grouped["high"] = (rate - half).clip(lower=0), (rate + half).clip(upper=1)
    grouped.index = [f"{i}+" if i == top else str(i) for i in grouped.index]
    grouped.index.name = "contacts"
    return grouped


def contacts_correlation(bank: pd.DataFrame | None) -> pd.DataFrame | None:
    """Spearman's rho of contacts and subscribing over a sample of clients, with the package's bootstrap
    interval (:func:`salesmetrics.metrics.volume.rank_correlations`); None without the dataset."""
    if bank is None:
        print("No real data loaded: nothing to correlate.")
        return None
    sample = bank.sample(n=min(REAL_SAMPLE, len(bank)), random_state=0)
    table = rank_correlations(sample, x=["contacts"], y=["subscribed"], n_bootstrap=500)
    return table.rename(columns={"n_owners": "n_clients"})


# ------------------------------------------------------------------------------------------------------------
# Plots


def plot_bootstrap(rhos, x: str, y: str = Y, ax=None):
    """Histogram of bootstrap rhos with the 2.5% and 97.5% percentiles and zero marked. Returns the figure."""
    import matplotlib.pyplot as plt

    rhos = np.asarray(rhos, dtype="float64")
    rhos = rhos[np.isfinite(rhos)]
    low, high = np.quantile(rhos, [0.025, 0.975])
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    ax.hist(rhos, bins=np.linspace(-1, 1, 41), color="tab:blue", alpha=0.7)
    ax.axvspan(low, high, color="gold", alpha=0.25, label=f"95% interval: {low:.2f} to {high:.2f}")
    ax.axvline(0, color="black", linewidth=1, label="no relation (0)")
    ax.set_xlim(-1, 1)
    ax.set_title(f"Bootstrap: Spearman's rho of {x} and {y}, owners resampled {len(rhos):,} times")
    ax.set_xlabel("rank correlation over owners (Spearman's rho, -1 to 1)")
    ax.set_ylabel("resamples (count)")
    ax.legend(fontsize=8, loc="upper left")
    return ax.figure


def plot_contacts(bank: pd.DataFrame | None, ax=None):
    """Conversion rate by number of contacts in the UCI bank-marketing calls, with 95% intervals and the number
    of clients per bar. Returns the figure (a note when the dataset is absent)."""
    import matplotlib.pyplot as plt

    title = "Real calls (UCI bank marketing): conversion by number of contacts"
    if bank is None:
        return note_axes(ax, title, "The dataset is not here, so there is nothing to draw. Read on.").figure
    table = contacts_table(bank)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(table))
    rate = table["conversion"] * 100
    ax.bar(x, rate, color="tab:green", alpha=0.75)
    ax.errorbar(
        x,
        rate,
        yerr=[rate - table["low"] * 100, table["high"] * 100 - rate],
        fmt="none",
        color="black",
        capsize=3,
        label="95% interval",
    )
    for xi, (top, n) in enumerate(zip(table["high"] * 100, table["clients"], strict=True)):
        ax.annotate(f"{n:,}", (xi, top), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7)
    ax.set_ylim(0, float(table["high"].max()) * 100 * 1.15)
    ax.set_xticks(x, table.index)
    ax.set_title(title)
    ax.set_xlabel("contacts with the client in the campaign (calls, the last one included)")
    ax.set_ylabel("clients who subscribed (%)")
    ax.legend(fontsize=8, loc="upper right", title="numbers above bars: clients", title_fontsize=7)
    return ax.figure


# ------------------------------------------------------------------------------------------------------------
# The exercise


def setup(data: str = DEFAULT_DATA, seed: int | None = None, trainee: str = "", *, progress=None) -> Exercise:
    """The questions of exercise 4 for one variant (see :class:`~salesmetrics.exercises.exercise.Exercise`)."""
    ex = Exercise(
        ID,
        TITLE,
        data=data,
        seed=seed,
        trainee=trainee,
        size=SIZE,
        progress=progress,
        needs=NEEDS,
        lesson=lesson_problems,
    )
    log = lambda: ex.log  # noqa: E731 - the log loads on first use, not here
    res = lambda: ex.cached("result", lambda: result(log()))  # noqa: E731

    def outcomes():
        return ex.cached("outcomes", lambda: deal_outcomes(log()))

    def owners():
        return res().owners

    ex.add(
        ChoiceQuestion(
            "q1",
            "Predict: volume or decisions?",
            options={
                "A": "Activity volume: the owners who log the most activities win the largest share of their "
                "decided deals.",
                "B": "Decision rate: the owners whose interactions most often end in a client decision win the "
                "largest share of their decided deals.",
                "C": "About equally: neither stands out (their rank correlations with the win rate within 0.1 of "
                "each other).",
            },
            variable="prediction",
            predict=True,
            expected=lambda ex: prediction_answer(log()),
            hints=[
                "Nothing to compute yet: go with your experience, then find out in questions 3 and 4.",
                "Think of the best seller you know. Were they the busiest, or the one whose meetings ended with "
                "the client agreeing to something?",
            ],
            explanation=(
                "Questions 3 and 4 compute it for your data: each rank correlation with the win rate, and whether "
                "its interval stays clear of 0 (the numbers are not given here: question 3 asks for one of them)."
            ),
            success="Right. Questions 3 and 4 measure it, with an interval that says how sure we can be.",
        ),
        FrameQuestion(
            "q2",
            "Win rate per owner",
            expected=lambda ex: win_rates(log()),
            hints=[
                "A win rate compares wins with the deals that were decided: won or lost. Open deals are not decided "
                "yet.",
                "Add up `won` and `lost` per owner with `groupby('owner')`, then divide.",
                "`by_owner = outcomes.groupby('owner')[['won', 'lost']].sum()`, then "
                "`by_owner['won'] / (by_owner['won'] + by_owner['lost'])`.",
            ],
            solution="""
                by_owner = outcomes.groupby("owner")[["won", "lost"]].sum()
                win_rate = by_owner["won"] / (by_owner["won"] + by_owner["lost"])
            """,
            wrong="""
                win_rate = outcomes.groupby("owner")["won"].mean()
            """,
            mistakes=[
                Mistake(
                    "open deals counted",
                    "You divided the wins by all of the owner's deals, open ones included. An open deal has not "
                    "been decided yet: divide by the won and lost deals only.",
                    lambda ex: outcomes().groupby("owner")["won"].mean(),
                ),
                Mistake(
                    "wins per loss",
                    "That is wins per loss. The win rate is wins out of all decided deals: wins / (wins + losses).",
                    lambda ex: outcomes().groupby("owner")["won"].sum() / outcomes().groupby("owner")["lost"].sum(),
                ),
                Mistake(
                    "loss rate",
                    "That is the share of decided deals that were *lost*. Put the wins on top.",
                    lambda ex: 1 - win_rates(log()),
                ),
            ],
            success="An owner with many open deals is not a worse seller: their deals are not decided yet.",
        ),
        ValueQuestion(
            "q3",
            "Rank correlation of activity and the win rate",
            expected=lambda ex: rho(res().correlations, "motions"),
            rtol=1e-6,
            hints=[
                "Across owners, do the ones who rank high on `motions` also rank high on `win_rate`? That is a "
                "rank correlation (Spearman's rho).",
                "Series have a `.corr()` method; its default is Pearson's correlation of the values, not the ranks.",
                "`owners['motions'].corr(owners['win_rate'], method='spearman')`",
            ],
            solution="""
                rho_motions = owners["motions"].corr(owners["win_rate"], method="spearman")
            """,
            wrong="""
                rho_motions = owners["motions"].corr(owners["win_rate"])
            """,
            explanation=(
                "Activity counts are skewed and win rates of owners with few decided deals jump around: one very "
                "busy owner or one with a lucky quarter would pull Pearson's correlation of the raw values around. "
                "Ranks ask the plain question: do the owners who do more also win a larger share? The win rate, "
                "not the number of wins: an owner with more deals logs more activities *and* wins more deals, so "
                "counts would go together for that reason alone."
            ),
            mistakes=[
                Mistake(
                    "Pearson",
                    "That is Pearson's correlation of the raw values (the default of `.corr`). Use the ranks: "
                    "`method='spearman'`.",
                    lambda ex: float(owners()["motions"].corr(owners()["win_rate"])),
                ),
                Mistake(
                    "motions per deal",
                    "You used activities *per deal*. The question is about volume: the owner's total `motions`.",
                    lambda ex: float(owners()["motions_per_deal"].corr(owners()["win_rate"], method="spearman")),
                ),
                Mistake(
                    "wins, not win rate",
                    "You correlated with the number of wins. An owner with more deals has more activities and more "
                    "wins, so counts go together for that reason alone: use the win rate, `win_rate`.",
                    lambda ex: float(owners()["motions"].corr(owners()["wins"], method="spearman")),
                ),
            ],
            success=lambda ex: (
                f"rho = {rho(res().correlations, 'motions'):.2f} for activity volume, against "
                f"{rho(res().correlations, 'decision_rate'):.2f} for the decision rate. How sure can we be with "
                f"{len(owners())} owners? That is what the bootstrap below tells you."
            ),
        ),
        ValueQuestion(
            "q4",
            "Which intervals exclude zero?",
            expected=lambda ex: clear_of_zero(res().correlations),
            ordered=False,
            hints=[
                "In `result.correlations`, keep the rows whose `y` is `win_rate`.",
                "An interval excludes 0 when it lies entirely above it (`ci_low > 0`) or entirely below it "
                "(`ci_high < 0`).",
                "Filter with `(c['y'] == 'win_rate') & ((c['ci_low'] > 0) | (c['ci_high'] < 0))` and take "
                "`['x'].tolist()`; an empty list is a possible answer.",
            ],
            solution="""
                c = result.correlations
                clear = c[(c["y"] == "win_rate") & ((c["ci_low"] > 0) | (c["ci_high"] < 0))]["x"].tolist()
            """,
            wrong="""
                c = result.correlations
                clear = c[(c["y"] == "win_rate") & (c["ci_low"] <= 0) & (c["ci_high"] >= 0)]["x"].tolist()
            """,
            mistakes=[
                Mistake(
                    "intervals containing zero",
                    "You listed the columns whose interval *contains* 0: for those, no relation at all is still "
                    "plausible. The question asks for the ones whose interval lies entirely on one side of 0.",
                    lambda ex: containing_zero(res().correlations),
                ),
                Mistake(
                    "positive rho",
                    "You picked the columns with a positive rho. A positive estimate is not enough: with few owners "
                    "it may be chance. Look at the interval: does it stay clear of 0?",
                    lambda ex: res().correlations.query("y == @Y and rho > 0")["x"].tolist(),
                ),
            ],
            explanation=(
                "Each interval comes from resampling owners 2,000 times and recomputing rho: the middle 95% of "
                "those rhos. If 0 is inside, the data are consistent with no relation at all."
            ),
            success=lambda ex: _interval_success(res().correlations),
        ),
        ChoiceQuestion(
            "q5",
            "Predict: fewer owners",
            options={
                "A": "Narrower: fewer owners, less noise.",
                "B": "About as wide (within 10%).",
                "C": "Wider: fewer owners, less certainty.",
            },
            variable="prediction_half",
            predict=True,
            expected=lambda ex: half_answer(log()),
            hints=[
                "Each resample draws owners with replacement. With half as many owners, how much can one "
                "unusual owner change the result?",
            ],
            explanation=lambda ex: (
                "With all owners the interval for the decision rate is {:.2f} wide; with half of them it is {:.2f} "
                "wide on average over {} random halves. One half alone can come out narrower by luck (owners "
                "who happen to agree closely): that is why we average.".format(*interval_widths(log()), N_HALVES)
            ),
            success="Right: the fewer owners, the more one of them can swing the correlation, and the wider the "
            "interval.",
        ),
        ChoiceQuestion(
            "q6",
            "Real calls: why not call less?",
            options={
                "A": "The bank stops calling a client who says yes, so the count of contacts partly depends on "
                "the outcome: clients who agree early never reach many contacts.",
                "B": "The sample is too small to tell.",
                "C": "A rank correlation cannot be used with a yes/no outcome.",
            },
            variable="real_reading",
            expected="A",
            hints=[
                "How many clients are there, and how wide are the intervals? Is size the problem?",
                "The contacts include the last call. What happens to the calling once a client has said yes?",
            ],
            mistakes=[
                Mistake(
                    "too small",
                    "Tens of thousands of clients, with narrow intervals: size is not the problem. Think about "
                    "what stops the calls.",
                    "B",
                ),
                Mistake(
                    "not for yes/no",
                    "Ranks work with a 0/1 outcome (the ties are averaged); the correlation is well defined. The "
                    "problem is which way the cause runs.",
                    "C",
                ),
            ],
            explanation=(
                "Contact counts are recorded up to the final call, and calling stops once a client subscribes. "
                "A client who agrees on the first call has 1 contact; a reluctant one collects many. So a falling "
                "conversion rate says at least as much about reluctant clients as about the calls, and calling "
                "less would not turn reluctant clients into eager ones. Observational data about activity rarely "
                "tells cause from effect: that is why the simulator, where the cause is known, is useful."
            ),
            success="Exactly: here the outcome shapes the count of contacts as much as the contacts shape the outcome.",
        ),
        ReflectionQuestion(
            "q7",
            "Your own measures",
            solution=(
                "Our team is still ranked on calls and meetings logged, because those are easy to count. The "
                "owners I would learn from are the ones whose meetings end with the client agreeing to a next "
                "step, and that rarely shows on an activity dashboard. I would add the decision rate next to the "
                "activity count in our weekly review, with an interval, so that a small difference between two "
                "sellers is not read as a verdict."
            ),
            hints=[
                "Which number is your team judged on today? Would it rank the same people first as the decision "
                "rate does?"
            ],
        ),
    )
    return ex


def _interval_success(correlations: pd.DataFrame) -> str:
    clear = clear_of_zero(correlations)
    volume = "motions" in clear
    quality = "decision_rate" in clear
    if quality and not volume:
        return (
            "The decision rate's interval stays clear of 0; activity volume's does not. Quality of the "
            "conversations goes with winning; how many there were may be chance."
        )
    if quality and volume:
        return (
            "Both intervals stay clear of 0 here. Compare their positions: which relation is stronger? And "
            "remember that volume also changes how many deals get decided at all within the period."
        )
    if volume:
        return "Only activity volume's interval stays clear of 0 in this variant: look at the plots to see why."
    return "Neither interval stays clear of 0: with this many owners, the data cannot tell either relation from chance."


__all__ = [
    "DEFAULT_DATA",
    "ID",
    "NEEDS",
    "SIZE",
    "TITLE",
    "clear_of_zero",
    "contacts_correlation",
    "contacts_table",
    "half_answer",
    "half_owners",
    "half_table",
    "half_widths",
    "interval_widths",
    "lesson_problems",
    "plot_bootstrap",
    "plot_contacts",
    "real_contacts",
    "result",
    "setup",
    "win_rates",
]
