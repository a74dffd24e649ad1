"""Simulate a sales log whose ground truth is known.

Owners differ in activity volume, decision rate (the chance an interaction ends with a client decision),
responsiveness and steps per decision. Deals move only when the client decides; without decisions they
stall, their close dates are pushed, and the chance of losing them grows. The log is written in the
canonical format, with the truth (parameters, owner traits, deal quality, true win probability over time)
in a ``truth/`` subfolder. See ``docs/simulator.md`` and ``docs/decisions/0003-simulator-model.md``.

Examples
--------
>>> from salesmetrics.simulation.simulator import simulate
>>> sim = simulate(n_deals=200, n_owners=10, seed=7, scenario="motion_heavy", months=6)
>>> sorted(sim.log.tables)
['activities', 'amount_changes', 'close_date_changes', 'deals', 'stage_changes']
>>> sim.truth.parameters["run"]["scenario"]
'motion_heavy'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from salesmetrics.simulation.engine import run as _run
from salesmetrics.simulation.frames import GroundTruth, Simulation, build
from salesmetrics.simulation.params import DEFAULTS, SCENARIOS, SPEC, check_run, resolve_params

DEMO = {"n_deals": 2000, "n_owners": 20, "seed": 2024, "scenario": "baseline", "start": "2024-01-01", "months": 18}


def simulate(
    n_deals: int = 2000,
    n_owners: int = 20,
    *,
    seed: int = 0,
    scenario: str = "baseline",
    config: dict | str | Path | None = None,
    start: str = "2024-01-01",
    months: int = 18,
    progress: bool = False,
) -> Simulation:
    """Simulate ``n_deals`` deals of ``n_owners`` owners created over ``months`` months from ``start``.

    Parameters
    ----------
    n_deals, n_owners : int
        Size of the log. Owners are grouped into teams of ``owners.team_size`` (default 5).
    seed : int
        The same seed and parameters give the same tables, and byte-identical files.
    scenario : str
        One of :data:`SCENARIOS`.
    config : dict, path to a YAML file, or None
        Parameter overrides, nested as in ``truth/parameters.yaml`` (``{"owners": {"decision_rate": 0.3}}``);
        a ``truth/parameters.yaml`` from an earlier run is accepted as is. Unknown keys and out-of-range
        values raise :class:`~salesmetrics.exceptions.UsageError`.
    start, months : str, int
        The window: deals are created in it, and nothing happens after its end (open deals stay open).
    progress : bool
        Show a progress bar.

    Returns
    -------
    Simulation
        ``.log`` (a :class:`~salesmetrics.log.SalesLog`), ``.truth`` (:class:`GroundTruth`) and ``.write(out)``.

    Examples
    --------
    >>> sim = simulate(n_deals=100, n_owners=5, seed=3, months=4)
    >>> len(sim.log.deals), len(sim.truth.owners)
    (100, 5)
    """
    settings = check_run(n_deals, n_owners, seed, scenario, start, months)
    params = resolve_params(scenario, config)
    raw = _run(settings.n_deals, settings.n_owners, settings.seed, settings.start, settings.months, params, progress)
    run_info = {
        "n_deals": settings.n_deals,
        "n_owners": settings.n_owners,
        "seed": settings.seed,
        "scenario": settings.scenario,
        "start": settings.start,
        "months": settings.months,
        "window_days": raw.window_days,
    }
    return build(raw, run_info, params)


def main_demo(out: str | Path = "datasets/demo", *, overwrite: bool = True) -> Path:
    """Regenerate the demo log (2,000 deals, 20 owners, 18 months, CSV) with its truth in ``out/truth``.

    Examples
    --------
    >>> main_demo("datasets/demo")  # doctest: +SKIP
    PosixPath('datasets/demo')
    """
    settings = dict(DEMO)
    return simulate(**settings).write(out, format="csv", overwrite=overwrite)


__all__ = [
    "DEFAULTS",
    "SCENARIOS",
    "SPEC",
    "GroundTruth",
    "Simulation",
    "main_demo",
    "simulate",
]


def _describe(params: dict[str, Any] | None = None) -> str:  # pragma: no cover - a helper for the docs
    rows = [f"| `{key}` | {spec[3]} |" for key, spec in SPEC.items()]
    return "\n".join(["| parameter | meaning |", "|---|---|", *rows])
