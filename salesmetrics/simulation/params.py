"""Simulator parameters: defaults, scenarios, and validation of user overrides.

Every parameter lives in one nested dictionary (the same shape as ``truth/parameters.yaml``). A scenario is a
small set of overrides of the defaults; a user ``config`` overrides the scenario. Each leaf has a range, and
:func:`resolve_params` raises :class:`~salesmetrics.exceptions.UsageError` naming the key, the value and the
range when a value is unknown or out of range.

Time is in calendar days unless a name says otherwise (``_hours``, ``_per_week``).
"""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from salesmetrics._util.timezones import EXPECTED_TIMEZONE, is_timezone, timezone_hint
from salesmetrics.exceptions import UsageError

KINDS = ("call", "email", "meeting", "demo", "proposal")

DEFAULTS: dict[str, Any] = {
    "stages": ["Lead", "Qualified", "Discovery", "Proposal", "Negotiation", "Commit"],
    "won": "Won",
    "lost": "Lost",
    "commit_stage": "Commit",
    "timezone": "UTC",
    "currency": "USD",
    "name": "salesmetrics simulated pipeline",
    "owners": {
        "team_size": 5,
        "volume_per_week": 2.5,
        "volume_spread": 0.45,
        "decision_rate": 0.22,
        "decision_spread": 0.45,
        "response_hours": 4.0,
        "response_spread": 0.5,
        "steps_per_decision": 1.1,
        "steps_spread": 0.08,
        "outcome_missing_share": 0.25,
        "outcome_missing_spread": 0.1,
    },
    "deals": {
        "quality_mean": 0.45,
        "quality_concentration": 3.0,
        "amount_median": 1117.0,
        "amount_spread": 1.59,
        "amount_quality_slope": 0.15,
    },
    "process": {
        "interaction_multiplier": [1.0, 1.0, 1.0, 1.0, 1.0, 1.2],
        "decision_multiplier": [1.3, 0.85, 0.85, 0.85, 0.85, 1.0],
        "advance_bias": [-0.1, 2.4, 2.4, 2.2, 2.2, 2.6],
        "reject_share": [1.0, 0.05, 0.05, 0.1, 0.1, 0.2],
        "fatigue": [0.045, 0.008, 0.008, 0.008, 0.008, 0.008],
        "stall_growth": [0.001, 0.0005, 0.0005, 0.0005, 0.0005, 0.003],
        "inbound_share": [0.15, 0.3, 0.3, 0.3, 0.35, 0.5],
        "response_decay_hours": 24.0,
    },
    "kinds": {
        "Lead": [0.5, 0.4, 0.1, 0.0, 0.0],
        "Qualified": [0.35, 0.35, 0.25, 0.05, 0.0],
        "Discovery": [0.25, 0.3, 0.3, 0.15, 0.0],
        "Proposal": [0.2, 0.35, 0.2, 0.1, 0.15],
        "Negotiation": [0.3, 0.4, 0.25, 0.0, 0.05],
        "Commit": [0.35, 0.55, 0.1, 0.0, 0.0],
    },
    "close_dates": {
        "first_forecast_days": 60.0,
        "first_forecast_spread": 0.4,
        "push_days": 30.0,
        "push_spread": 0.3,
        "push_lag_days": 3.0,
        "record_close": True,
    },
    "focus_team": {
        "volume_multiplier": 1.0,
        "decision_multiplier": 1.0,
        "steps_multiplier": 1.0,
        "response_multiplier": 1.0,
    },
    "slip": {
        "quarter": 0,
        "decision_multiplier": 0.35,
        "push_days": 14.0,
    },
}

SCENARIOS: dict[str, str] = {
    "baseline": "Owners differ in decision rate and activity volume; decisions drive wins, volume does not.",
    "motion_heavy": "Team A logs three times the activity but gets far fewer decisions: busy, yet it wins least.",
    "compressed": "Team A advances several stages per client decision: shorter cycles, skipped stages, more wins.",
    "slow_responders": "Team A answers inbound messages after days, not hours: deals cool off and stall.",
    "slipping_quarter": "In the window's third quarter clients stop deciding: close dates are pushed and pile up.",
}

_SCENARIO_OVERRIDES: dict[str, dict[str, Any]] = {
    "baseline": {},
    "motion_heavy": {"focus_team": {"volume_multiplier": 3.0, "decision_multiplier": 0.4}},
    "compressed": {"focus_team": {"steps_multiplier": 2.0}},
    "slow_responders": {"focus_team": {"response_multiplier": 12.0}},
    "slipping_quarter": {"slip": {"quarter": 3}},
}

# leaf key -> (kind, low, high, meaning). kind: float, int, bool, str, stages (list of names),
# per_stage (list of floats, one per open stage), kinds (mapping stage -> 5 weights).
SPEC: dict[str, tuple[str, float | None, float | None, str]] = {
    "stages": ("stages", None, None, "open stages in pipeline order (2 to 20 names)"),
    "won": ("str", None, None, "name of the won stage"),
    "lost": ("str", None, None, "name of the lost stage"),
    "commit_stage": ("str", None, None, "the open stage that stands for a verbal yes (the last open stage)"),
    "timezone": ("str", None, None, "IANA time zone of every timestamp"),
    "currency": ("str", None, None, "currency label of amounts"),
    "name": ("str", None, None, "name written to salesmetrics.yaml"),
    "owners.team_size": ("int", 1, 1000, "owners per team"),
    "owners.volume_per_week": ("float", 0.05, 100.0, "median interactions per week on each open deal"),
    "owners.volume_spread": ("float", 0.0, 3.0, "log-normal sigma of activity volume across owners"),
    "owners.decision_rate": ("float", 0.001, 0.95, "median chance that an interaction ends with a decision"),
    "owners.decision_spread": ("float", 0.0, 3.0, "sd of the decision rate across owners, on the logit scale"),
    "owners.response_hours": ("float", 0.0, 1000.0, "median hours an owner takes to answer an inbound message"),
    "owners.response_spread": ("float", 0.0, 3.0, "log-normal sigma of response hours across owners"),
    "owners.steps_per_decision": ("float", 1.0, 10.0, "mean stages one advancing decision moves a deal"),
    "owners.steps_spread": ("float", 0.0, 3.0, "sd of steps per decision across owners"),
    "owners.outcome_missing_share": ("float", 0.0, 1.0, "mean share of activities with no recorded outcome"),
    "owners.outcome_missing_spread": ("float", 0.0, 0.5, "sd of that share across owners"),
    "deals.quality_mean": ("float", 0.01, 0.99, "mean latent deal quality (Beta distributed)"),
    "deals.quality_concentration": ("float", 0.1, 1000.0, "alpha + beta of the deal quality Beta distribution"),
    "deals.amount_median": ("float", 0.0, 1e12, "median deal amount"),
    "deals.amount_spread": ("float", 0.0, 5.0, "log-normal sigma of deal amounts"),
    "deals.amount_quality_slope": ("float", -5.0, 5.0, "logit quality lost per sd of log amount"),
    "process.interaction_multiplier": ("per_stage", 0.0, 100.0, "interaction rate multiplier by stage"),
    "process.decision_multiplier": ("per_stage", 0.0, 20.0, "decision chance multiplier by stage"),
    "process.advance_bias": ("per_stage", -20.0, 20.0, "logit added to quality: chance a decision advances"),
    "process.reject_share": ("per_stage", 0.0, 1.0, "share of non-advancing decisions that lose the deal"),
    "process.fatigue": ("per_stage", 0.0, 1.0, "chance the client drops out after an interaction with no decision"),
    "process.stall_growth": ("per_stage", 0.0, 1.0, "growth of that chance per interaction since the last move"),
    "process.inbound_share": ("per_stage", 0.0, 1.0, "share of interactions the client starts (inbound)"),
    "process.response_decay_hours": ("float", 0.01, 10000.0, "response delay at which inbound decisions drop to 37%"),
    "kinds": ("kinds", 0.0, None, f"per open stage, weights of the activity kinds {', '.join(KINDS)}"),
    "close_dates.first_forecast_days": ("float", 1.0, 3650.0, "median days from creation to the first close date"),
    "close_dates.first_forecast_spread": ("float", 0.0, 3.0, "log-normal sigma of the first close date"),
    "close_dates.push_days": ("float", 1.0, 3650.0, "median days a lapsed close date is pushed"),
    "close_dates.push_spread": ("float", 0.0, 3.0, "log-normal sigma of push sizes"),
    "close_dates.push_lag_days": ("float", 0.0, 365.0, "maximum days between a lapse and its push"),
    "close_dates.record_close": ("bool", None, None, "set the close date to the day a deal closes"),
    "focus_team.volume_multiplier": ("float", 0.01, 100.0, "Team A's activity volume multiplier"),
    "focus_team.decision_multiplier": ("float", 0.0, 100.0, "Team A's decision rate multiplier"),
    "focus_team.steps_multiplier": ("float", 0.1, 10.0, "Team A's steps-per-decision multiplier"),
    "focus_team.response_multiplier": ("float", 0.0, 1000.0, "Team A's response time multiplier"),
    "slip.quarter": ("int", 0, 40, "which quarter of the window slips (1 = first; 0 = none)"),
    "slip.decision_multiplier": ("float", 0.0, 1.0, "decision rate multiplier during the slipping quarter"),
    "slip.push_days": (
        "float",
        1.0,
        3650.0,
        "median push of close dates in the slipping quarter (short pushes pile up)",
    ),
}


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if path in SPEC:
            out[path] = value
        elif isinstance(value, Mapping):
            out.update(_flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        tree = tree.setdefault(part, {})
    tree[parts[-1]] = value


def _range_text(low: float | None, high: float | None) -> str:
    return f"a number from {low:g} to {high:g}"


def _bad(key: str, value: Any, expected: str) -> UsageError:
    return UsageError(f"Simulator parameter '{key}' = {value!r} is out of range: expected {expected}.")


def _check_leaf(key: str, value: Any, params: dict[str, Any]) -> Any:
    kind, low, high, _ = SPEC[key]
    if kind in ("float", "int"):
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not is_number or (kind == "int" and float(value) != int(value)) or not math.isfinite(value):
            raise _bad(key, value, ("a whole number" if kind == "int" else "a number") + f" from {low:g} to {high:g}")
        if not low <= value <= high:
            raise _bad(key, value, _range_text(low, high))
        return int(value) if kind == "int" else float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(key, value, "true or false")
        return value
    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise _bad(key, value, "a non-empty text")
        return value
    if kind == "stages":
        ok = isinstance(value, list) and 2 <= len(value) <= 20 and all(isinstance(v, str) and v for v in value)
        if not ok or len(set(value)) != len(value):
            raise _bad(key, value, "a list of 2 to 20 distinct stage names")
        return list(value)
    n = len(params["stages"])
    if kind == "per_stage":
        ok = isinstance(value, list) and len(value) == n
        ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if not ok:
            raise _bad(key, value, f"a list of {n} numbers, one per open stage")
        for v in value:
            if not (math.isfinite(v) and low <= v <= high):
                raise _bad(key, value, f"a list of {n} numbers, each from {low:g} to {high:g}")
        return [float(v) for v in value]
    # kinds: mapping stage -> weights
    if not isinstance(value, Mapping) or set(value) != set(params["stages"]):
        raise _bad(key, value, f"a mapping with one entry per open stage ({', '.join(params['stages'])})")
    out = {}
    for stage in params["stages"]:
        weights = value[stage]
        ok = isinstance(weights, list) and len(weights) == len(KINDS)
        ok = ok and all(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for w in weights)
        if not ok or sum(weights) <= 0:
            raise _bad(f"{key}.{stage}", weights, f"{len(KINDS)} weights >= 0 for {', '.join(KINDS)}, not all 0")
        out[stage] = [float(w) for w in weights]
    return out


def load_config(config: Mapping[str, Any] | str | Path | None) -> dict[str, Any]:
    """A config as a dictionary: given as one, or read from a YAML file."""
    if config is None:
        return {}
    if isinstance(config, (str, Path)):
        path = Path(config)
        if not path.is_file():
            raise UsageError(f"Simulator config file {path} does not exist.")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise UsageError(f"Cannot read simulator config {path} as YAML: {exc}") from exc
        loaded = loaded or {}
        if isinstance(loaded, Mapping) and "parameters" in loaded and "run" in loaded:
            loaded = loaded["parameters"]  # a truth/parameters.yaml written by an earlier run
        config = loaded
    if not isinstance(config, Mapping):
        raise UsageError(f"The simulator config must be a mapping of parameters, not {type(config).__name__}.")
    return dict(config)


def resolve_params(scenario: str, config: Mapping[str, Any] | str | Path | None = None) -> dict[str, Any]:
    """Defaults, then the scenario's overrides, then ``config``; every leaf checked against its range.

    Examples
    --------
    >>> p = resolve_params("motion_heavy", {"owners": {"decision_rate": 0.3}})
    >>> p["owners"]["decision_rate"], p["focus_team"]["volume_multiplier"]
    (0.3, 3.0)
    >>> resolve_params("baseline", {"owners": {"decision_rate": 2}})
    Traceback (most recent call last):
    ...
    salesmetrics.exceptions.UsageError: Simulator parameter 'owners.decision_rate' = 2 is out of range: \
expected a number from 0.001 to 0.95.
    """
    if scenario not in SCENARIOS:
        raise UsageError(f"Unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}.")
    params = copy.deepcopy(DEFAULTS)
    overrides = _flatten(_SCENARIO_OVERRIDES[scenario])
    user = _flatten(load_config(config))
    for key in user:
        if key not in SPEC:
            close = difflib.get_close_matches(key, list(SPEC), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"Unknown simulator parameter '{key}'.{hint} Known parameters: {', '.join(SPEC)}.")
    overrides.update(user)
    if "stages" in overrides:
        params["stages"] = _check_leaf("stages", overrides["stages"], params)
        n = len(params["stages"])
        if n != len(DEFAULTS["stages"]):
            missing = [k for k, v in SPEC.items() if v[0] in ("per_stage", "kinds") and k not in overrides]
            if missing:
                raise UsageError(
                    f"Simulator parameter 'stages' has {n} stages, so these per-stage parameters must be given "
                    f"too, one value per stage: {', '.join(missing)}."
                )
        if "kinds" not in overrides:
            params["kinds"] = dict(zip(params["stages"], DEFAULTS["kinds"].values(), strict=True))
        if "commit_stage" not in overrides:
            params["commit_stage"] = params["stages"][-1]
    for key, value in overrides.items():
        if key != "stages":
            _set(params, key, _check_leaf(key, value, params))
    if params["commit_stage"] != params["stages"][-1]:
        raise UsageError(
            f"Simulator parameter 'commit_stage' = {params['commit_stage']!r} must be the last open stage "
            f"({params['stages'][-1]!r}): the simulator treats the last stage as the verbal yes."
        )
    terminal = {params["won"], params["lost"]}
    if len(terminal) < 2 or terminal & set(params["stages"]):
        raise UsageError(
            f"Simulator parameters 'won' = {params['won']!r} and 'lost' = {params['lost']!r} must differ from "
            "each other and from every open stage."
        )
    if not is_timezone(params["timezone"]):
        raise UsageError(
            f"Simulator parameter 'timezone' = {params['timezone']!r} is not a known time zone: expected "
            f"{EXPECTED_TIMEZONE}.{timezone_hint(params['timezone'])}"
        )
    return params


@dataclass(frozen=True)
class RunSettings:
    """The size, window and seed of one run (validated by :func:`check_run`)."""

    n_deals: int
    n_owners: int
    seed: int
    scenario: str
    start: str
    months: int


def check_run(n_deals: Any, n_owners: Any, seed: Any, scenario: Any, start: Any, months: Any) -> RunSettings:
    """Check the run arguments, raising UsageError with the argument, value and expected range."""
    import pandas as pd

    def whole(name: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise UsageError(
                f"Simulator argument '{name}' = {value!r} is out of range: expected a whole number "
                f"from {low:,} to {high:,}."
            )
        return int(value)

    n_deals = whole("n_deals", n_deals, 1, 20_000_000)
    n_owners = whole("n_owners", n_owners, 1, 100_000)
    seed = whole("seed", seed, 0, 2**63 - 1)
    months = whole("months", months, 1, 240)
    if scenario not in SCENARIOS:
        raise UsageError(f"Unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}.")
    try:
        stamp = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"Simulator argument 'start' = {start!r} is not a date such as '2024-01-01'.") from exc
    if stamp.tz is not None or stamp != stamp.normalize() or not 1950 <= stamp.year <= 2090:
        raise UsageError(f"Simulator argument 'start' = {start!r} must be a day (no time, no zone) from 1950 to 2090.")
    return RunSettings(n_deals, n_owners, seed, scenario, stamp.strftime("%Y-%m-%d"), months)
