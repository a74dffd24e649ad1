"""Turning the engine's arrays into the four log tables and the ground-truth tables, and writing both."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from salesmetrics._util.atomic import atomic_folder
from salesmetrics._util.time_units import US_PER_DAY, US_PER_MINUTE
from salesmetrics.log.config import StageModel
from salesmetrics.log.saleslog import TRUTH_FOLDER, SalesLog, check_output_folder, write_log
from salesmetrics.simulation.engine import KIND_NAMES, LOST_CODE, Raw

_OUTCOMES = ("stayed", "advanced", "regressed")
_EVENTS = ("created", "weekly", "stage_change")
_REASONS = ("open", "signed", "rejected", "stalled")


def _text(values: pa.Array) -> pd.Series:
    """An Arrow string array as a pandas ``str`` column, without making Python strings."""
    return pd.Series(pd.array(values, dtype="str"))


def _take(names: list[str] | tuple[str, ...], codes: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    indices = pa.array(codes.astype(np.int32), mask=missing)
    return _text(pa.array(list(names), type=pa.string()).take(indices))


def _timestamps(start: pd.Timestamp, days: np.ndarray, tz: str, groups: np.ndarray | None = None) -> pd.Series:
    """Float days since ``start`` as local times: the day is kept, the time of day squeezed into 07:00-19:00.

    The squeeze is monotone, so the order of events is kept; times are cut to the minute. With ``groups``
    (sorted deal codes, times sorted within each), rows of one deal that would share a minute are moved a
    minute apart, so no two rows of a deal are identical.
    """
    day = np.floor(days)
    minutes = day.astype(np.int64) * 1440 + np.floor(7 * 60 + (days - day) * 12 * 60).astype(np.int64)
    if groups is not None and minutes.size:
        i = np.arange(minutes.size, dtype=np.int64)
        key = groups.astype(np.int64) * (1 << 34) + (minutes - i + (1 << 31))
        minutes = np.maximum.accumulate(key) - groups.astype(np.int64) * (1 << 34) - (1 << 31) + i
    us = minutes * US_PER_MINUTE
    base = start.value // 1_000  # start is naive midnight: nanoseconds since epoch, as if UTC
    naive = pd.DatetimeIndex((us + base).astype("datetime64[us]"))
    if tz == "UTC":
        return pd.Series(naive.tz_localize("UTC"))
    return pd.Series(
        naive.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").astype(f"datetime64[us, {tz}]")
    )


def _days(start: pd.Timestamp, days: np.ndarray, tz: str) -> pd.Series:
    us = days.astype(np.int64) * US_PER_DAY + start.value // 1_000
    naive = pd.DatetimeIndex(us.astype("datetime64[us]"))
    return pd.Series(
        naive.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").astype(f"datetime64[us, {tz}]")
    )


@dataclass(frozen=True)
class GroundTruth:
    """What the log does not say: every parameter, each owner's traits, each deal's quality and true odds.

    Attributes
    ----------
    parameters : dict
        ``{"run": {...seed, scenario, sizes, window...}, "parameters": {...every model parameter...}}``.
    owners : DataFrame
        One row per owner: team and latent traits (``volume_per_week``, ``decision_rate``,
        ``response_hours``, ``steps_per_decision``, ``outcome_missing_share``) and ``n_deals``.
    deals : DataFrame
        One row per deal: latent ``quality``, ``outcome`` (won, lost or open at the window end),
        ``reason`` (signed, rejected, stalled, open), ``closed_at``, ``decisions``, ``regressions`` and
        ``win_probability_at_creation``.
    win_probability : DataFrame
        The true chance each deal is eventually won (``deal_id``, ``at``, ``event``, ``stage``,
        ``days_since_movement``, ``win_probability``): at creation, weekly while open, at every stage change.
    """

    parameters: dict[str, Any]
    owners: pd.DataFrame
    deals: pd.DataFrame
    win_probability: pd.DataFrame

    def write(self, folder: str | os.PathLike) -> Path:
        """Write ``parameters.yaml`` and three Parquet tables into ``folder`` (created)."""
        import pyarrow.parquet as pq

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=False)
        (folder / "parameters.yaml").write_text(
            yaml.safe_dump(self.parameters, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        for name in ("owners", "deals", "win_probability"):
            table = pa.Table.from_pandas(getattr(self, name), preserve_index=False)
            pq.write_table(table, folder / f"{name}.parquet", compression="zstd")
        return folder


@dataclass(frozen=True)
class Simulation:
    """A simulated sales log and the ground truth that produced it.

    Examples
    --------
    >>> from salesmetrics.simulation.simulator import simulate
    >>> sim = simulate(n_deals=50, n_owners=5, seed=1, months=6)
    >>> sim.log.summary().deals, sorted(sim.truth.owners.columns)[:2]
    (50, ['decision_rate', 'n_deals'])
    """

    log: SalesLog
    truth: GroundTruth

    def write(
        self, out: str | os.PathLike, *, format: Literal["parquet", "csv"] = "parquet", overwrite: bool = False
    ) -> Path:
        """Write the log with :func:`salesmetrics.write_log` and the truth into its ``truth/`` subfolder.

        Both are written into a temporary folder beside ``out`` and renamed into place together, so a
        reader never sees a log without its truth, and a failed or interrupted rename puts the old folder
        back (:func:`salesmetrics._util.atomic.atomic_folder`). An existing non-empty folder is replaced only with
        ``overwrite=True``. Returns the folder written.
        """
        target = Path(out).absolute()  # "." has no parent to stage beside
        check_output_folder(target, format=format, overwrite=overwrite)
        with atomic_folder(target) as staged:
            built = write_log(self.log, staged, format=format)
            self.truth.write(built / TRUTH_FOLDER)
        return target


_FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam", "Maya",
    "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wes", "Xena", "Yusuf", "Zoe",
)  # fmt: skip
_INITIALS = "MKTRBLSNDPGHWCFJ"


def _owner_names(n: int) -> list[str]:
    """``n`` distinct owner names: a first name and an initial ("Ava M."), numbered once they run out."""
    names = []
    for i in range(n):
        first = _FIRST_NAMES[i % len(_FIRST_NAMES)]
        initial = _INITIALS[(i // len(_FIRST_NAMES)) % len(_INITIALS)]
        base = f"{first} {initial}."
        cycle = i // (len(_FIRST_NAMES) * len(_INITIALS))
        names.append(base if cycle == 0 else f"{base} {cycle + 1}")
    return names


def _team_names(n: int) -> list[str]:
    """``n`` team names: Team A, B, ... Z, AA, AB, ..."""
    out = []
    for i in range(n):
        label, j = "", i
        while True:
            label = chr(ord("A") + j % 26) + label
            j = j // 26 - 1
            if j < 0:
                break
        out.append(f"Team {label}")
    return out


def build(raw: Raw, run: dict[str, Any], p: dict[str, Any]) -> Simulation:
    """The log tables and truth tables from one engine run."""
    tz = p["timezone"]
    start = pd.Timestamp(run["start"])
    k = len(p["stages"])
    stage_names = [*p["stages"], p["won"], p["lost"]]  # engine code K is won; LOST_CODE maps to the last
    n = raw.deals["owner"].size
    width = max(6, len(str(n)))
    deal_ids = pa.array([f"D{i:0{width}d}" for i in range(1, n + 1)], type=pa.string())
    n_owners = raw.owners["team"].size
    owner_names = _owner_names(n_owners)
    team_names = _team_names(int(raw.owners["team"].max()) + 1)
    owner_of = raw.deals["owner"]

    def ids(codes: np.ndarray) -> pd.Series:
        return _text(deal_ids.take(pa.array(codes.astype(np.int64))))

    def stage_text(codes: np.ndarray) -> pd.Series:
        return _take(stage_names, np.where(codes == LOST_CODE, k + 1, codes))

    deals = pd.DataFrame(
        {
            "deal_id": ids(np.arange(n)),
            "owner": _take(owner_names, owner_of),
            "created_at": _timestamps(start, raw.deals["created"], tz),
            "amount": raw.deals["amount"].astype("float64"),
            "team": _take(team_names, raw.owners["team"][owner_of]),
        }
    )

    ch = raw.changes
    order = np.lexsort((ch["t"], ch["deal"]))
    stage_changes = pd.DataFrame(
        {
            "deal_id": ids(ch["deal"][order]),
            "changed_at": _timestamps(start, ch["t"][order], tz),
            "stage": stage_text(ch["stage"][order]),
        }
    )

    act = raw.activities
    act_deal = act["deal"]
    order = np.lexsort((act["t"], act_deal))
    outcome = act["outcome"][order]
    activities = pd.DataFrame(
        {
            "deal_id": ids(act_deal[order]),
            "occurred_at": _timestamps(start, act["t"][order], tz, groups=act_deal[order]),
            "kind": _take(KIND_NAMES, act["kind"][order]),
            "outcome": _take(_OUTCOMES, outcome, missing=act["missing"][order]),
            "direction": _take(("outbound", "inbound"), act["inbound"][order].astype(np.int8)),
        }
    )

    cc = raw.close_changes
    order = np.lexsort((cc["t"], cc["deal"]))
    close_date_changes = pd.DataFrame(
        {
            "deal_id": ids(cc["deal"][order]),
            "changed_at": _timestamps(start, cc["t"][order], tz),
            "close_date": _days(start, cc["day"][order], tz),
        }
    )

    model = StageModel(
        stages=tuple(p["stages"]),
        won=(p["won"],),
        lost=(p["lost"],),
        commit_stage=p["commit_stage"],
        timezone=tz,
        currency=p["currency"],
        name=p["name"],
        notes=(
            f"Simulated by salesmetrics (scenario {run['scenario']}, seed {run['seed']}); "
            "the ground truth is in the truth/ folder.",
        ),
    )
    amount_changes = None
    if raw.amount_changes is not None:
        ac = raw.amount_changes
        order = np.lexsort((ac["t"], ac["deal"]))
        amount_changes = pd.DataFrame(
            {
                "deal_id": ids(ac["deal"][order]),
                "changed_at": _timestamps(start, ac["t"][order], tz),
                "amount": ac["amount"][order].astype("float64"),
            }
        )
    log = SalesLog(model, deals, stage_changes, activities, close_date_changes, amount_changes=amount_changes)

    o = raw.owners
    owners = pd.DataFrame(
        {
            "owner": pd.Series(owner_names, dtype="str"),
            "team": _take(team_names, o["team"]),
            "volume_per_week": o["volume_per_week"],
            "decision_rate": o["decision_rate"],
            "response_hours": o["response_hours"],
            "steps_per_decision": o["steps_per_decision"],
            "outcome_missing_share": o["outcome_missing_share"],
            "n_deals": o["n_deals"].astype("int64"),
        }
    )
    final = raw.deals["final_stage"]
    outcome_code = np.where(final == k, 1, np.where(final == LOST_CODE, 2, 0))
    closed = outcome_code > 0
    closed_at = _timestamps(start, raw.deals["end"], tz).where(closed)
    truth_deals = pd.DataFrame(
        {
            "deal_id": ids(np.arange(n)),
            "owner": deals["owner"],
            "team": deals["team"],
            "quality": raw.deals["quality"],
            "amount": deals["amount"],
            "outcome": _take(("open", "won", "lost"), outcome_code),
            "reason": _take(_REASONS, raw.close_reason),
            "closed_at": closed_at,
            "decisions": raw.decisions,
            "regressions": raw.regressions,
            "win_probability_at_creation": raw.deals["win_probability_at_creation"],
        }
    )
    wp = raw.truth_wp
    order = np.lexsort((wp["event"], wp["t"], wp["deal"]))
    win_probability = pd.DataFrame(
        {
            "deal_id": ids(wp["deal"][order]),
            "at": _timestamps(start, wp["t"][order], tz),
            "event": _take(_EVENTS, wp["event"][order]),
            "stage": stage_text(wp["stage"][order]),
            "days_since_movement": np.round(wp["since"][order], 4),
            "win_probability": wp["p"][order],
        }
    )
    truth = GroundTruth(
        parameters={"run": run, "parameters": p},
        owners=owners,
        deals=truth_deals,
        win_probability=win_probability,
    )
    return Simulation(log=log, truth=truth)
