"""Exercise 5's what-if: the simulator run three times with the trainee's seed (as is, 20% faster answers for
everyone, the focus team at everyone's speed), and the simulator config the trainee writes for it.

The runs are compared by the simulator's *true* chance of winning each deal at its creation: the owners and deals
are drawn from their own random streams, so they are the same in the three runs and the difference in true chance
is the effect itself, free of the noise that moves the observed win rate.

>>> faster_config()
{'owners': {'response_hours': 3.2}}
>>> nested({"owners.response_hours": 3.2})
{'owners': {'response_hours': 3.2}}
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from salesmetrics.exercises.exercise import Exercise
from salesmetrics.exercises.kinds import ValueQuestion
from salesmetrics.metrics.velocity import response_times, sales_velocity
from salesmetrics.simulation.params import DEFAULTS, SCENARIOS

WHAT_IF_SIZE = {"n_deals": 1000, "n_owners": 10, "months": 9}
FASTER = 0.8  # "20% faster": answers take 80% of the time
SETTINGS = ("as is", "20% faster answers", "focus team at everyone's speed")


def default_hours() -> float:
    """The simulator's default median answer time (``owners.response_hours``)."""
    return float(DEFAULTS["owners"]["response_hours"])


def faster_config() -> dict:
    """Every owner answers in 80% of the default time (``owners.response_hours``)."""
    return {"owners": {"response_hours": round(FASTER * default_hours(), 6)}}


def nested(config):
    """A config dict with dotted keys (``{"owners.response_hours": 3.2}``, as SPEC names parameters) in the
    nested form (``{"owners": {"response_hours": 3.2}}``); anything else is returned unchanged."""
    if not isinstance(config, Mapping) or not any(isinstance(k, str) and "." in k for k in config):
        return config
    out: dict = {}
    for key, value in config.items():
        parts = str(key).split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                return config
        node[parts[-1]] = value
    return out


class ConfigQuestion(ValueQuestion):
    """A simulator config dict: nested or with SPEC's dotted names, compared in the nested form."""

    def _compare(self, answer, expected):
        return super()._compare(nested(answer), expected)


def base_scenario(ex: Exercise) -> str:
    """The scenario of the what-if: the exercise's data when it is a scenario, else ``baseline``."""
    return ex.data if ex.data in SCENARIOS else "baseline"


def what_if_sims(ex: Exercise):
    """The three what-if simulations (as is, 20% faster answers, focus team at everyone's speed), kept."""
    configs = (None, faster_config(), {"focus_team": {"response_multiplier": 1.0}})
    scenario = base_scenario(ex)
    return tuple(ex.what_if(f"what_if_{i}", c, size=WHAT_IF_SIZE, scenario=scenario) for i, c in enumerate(configs))


def true_chance(sim) -> float:
    """The mean true chance of winning at creation over the deals of a simulation (0 to 1)."""
    return float(sim.truth.deals["win_probability_at_creation"].mean())


def true_change_points(ex: Exercise) -> float:
    """Percentage points the mean true chance of winning rises with 20% faster answers."""
    base, faster, _ = what_if_sims(ex)
    return 100 * (true_chance(faster) - true_chance(base))


def observed_win_rate(sim) -> float:
    """The observed win rate (won / closed deals) of a simulation's log."""
    return float(sales_velocity(sim.log, by=None, period=None)["win_rate"].iloc[0])


def observed_change_points(ex: Exercise) -> float:
    """Percentage points the *observed* win rate moves with 20% faster answers (the effect plus chance)."""
    base, faster, _ = what_if_sims(ex)
    return 100 * (observed_win_rate(faster) - observed_win_rate(base))


def prediction_answer(ex: Exercise) -> str:
    """A: the true chance rises by less than 1 point with 20% faster answers; B: by 1 to 5 points; C: more."""
    change = true_change_points(ex)
    return "A" if change < 1 else "B" if change <= 5 else "C"


def observed_table(ex: Exercise) -> pd.DataFrame:
    """What the three what-if logs show: mean hours to answer (answered requests), win rate, cycle, velocity
    (observed, so noisy)."""
    rows = {}
    for name, sim in zip(SETTINGS, what_if_sims(ex), strict=True):
        v = sales_velocity(sim.log, by=None, period=None).iloc[0]
        r = response_times(sim.log)
        rows[name] = {
            "mean answer (hours)": float(r.loc[~r["censored"].astype(bool), "hours"].mean()),
            "win rate (won / closed)": v["win_rate"],
            "average cycle (days)": v["avg_cycle_days"],
            "velocity (amount per day)": v["velocity"],
        }
    return pd.DataFrame(rows).T.round(3)


def plot_what_if(ex: Exercise, ax=None):
    """Observed win rate and mean true chance of winning in the three what-if runs. Returns the figure."""
    import matplotlib.pyplot as plt

    sims = what_if_sims(ex)
    observed = [100 * sales_velocity(s.log, by=None, period=None)["win_rate"].iloc[0] for s in sims]
    truth = [100 * true_chance(s) for s in sims]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(SETTINGS))
    ax.bar(x - 0.2, observed, width=0.4, color="tab:gray", label="observed win rate (won / closed deals)")
    ax.bar(x + 0.2, truth, width=0.4, color="tab:blue", label="true chance of winning at creation (mean)")
    for xi, (o, t) in enumerate(zip(observed, truth, strict=True)):
        ax.annotate(f"{o:.1f}", (xi - 0.2, o), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
        ax.annotate(f"{t:.1f}", (xi + 0.2, t), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(x, SETTINGS)
    ax.set_ylim(0, max(observed + truth) * 1.25)
    ax.set_title(f"What faster answers buy: three runs of the simulator ({base_scenario(ex)}, seed {ex.seed})")
    ax.set_xlabel("what-if setting")
    ax.set_ylabel("win rate / chance of winning (%)")
    ax.legend(fontsize=8, loc="upper left")
    return ax.figure


__all__ = [
    "FASTER",
    "SETTINGS",
    "WHAT_IF_SIZE",
    "ConfigQuestion",
    "base_scenario",
    "default_hours",
    "faster_config",
    "nested",
    "observed_change_points",
    "observed_table",
    "observed_win_rate",
    "plot_what_if",
    "prediction_answer",
    "true_chance",
    "true_change_points",
    "what_if_sims",
]
