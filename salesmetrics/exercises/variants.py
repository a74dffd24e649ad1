"""A trainee's variant of an exercise: its seed (from the name), its data (simulated, or a share of a log folder's
deals), re-draws of data that would not teach, what an exercise needs from its log, and tables kept per log.

>>> seed_for("Ana Silva") == seed_for("  ana   silva ")
True
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from salesmetrics.exceptions import UsageError
from salesmetrics.log.prepare import subset_deals
from salesmetrics.log.reading import read_log
from salesmetrics.simulation.params import SCENARIOS

SIZE = {"n_deals": 200, "n_owners": 10, "months": 4}  # small: a notebook runs in seconds
REAL_DATA_SHARE = 0.8  # with a log folder, each variant keeps this share of the deals, drawn by its seed


REDRAWS = 12  # at most this many re-draws of a variant in which a typical mistake gives the right answer


def redraw_seed(seed: int, attempt: int) -> int:
    """The seed of re-draw ``attempt`` (1, 2, ...) of the variant ``seed``: stable, so a variant is reproducible.

    >>> redraw_seed(5, 1) == redraw_seed(5, 1), redraw_seed(5, 1) != redraw_seed(5, 2)
    (True, True)
    """
    digest = hashlib.sha256(f"redraw\n{int(seed)}\n{int(attempt)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 1_000_000


_MEMO: dict[int, dict[str, Any]] = {}


def memo(owner: Any, key: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per ``owner`` object (e.g. a log) and ``key``, kept while the owner lives.

    Reference functions are plain functions of a log; several questions and plots need the same derived
    table, so they share it through this. Do not modify what it returns.

    >>> class Log: ...
    >>> log, calls = Log(), []
    >>> [memo(log, "n", lambda: calls.append(1) or 42) for _ in range(2)], len(calls)
    ([42, 42], 1)
    """
    slot = _MEMO.get(id(owner))
    if slot is None:
        slot = _MEMO[id(owner)] = {}
        weakref.finalize(owner, _MEMO.pop, id(owner), None)
    if key not in slot:
        slot[key] = compute()
    return slot[key]


def seed_for(trainee: str, cohort: str = "") -> int:
    """A stable seed for a trainee's variant, from the name (case and spacing ignored) and an optional cohort.

    >>> seed_for("Ana Silva") == seed_for("  ana   silva "), seed_for("Ana Silva") != seed_for("Ben Okafor")
    (True, True)
    >>> 0 <= seed_for("Ana Silva") < 1_000_000
    True
    """
    name = " ".join(str(trainee).split()).casefold()
    digest = hashlib.sha256(f"{cohort.strip()}\n{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 1_000_000


def load_data(data: str, seed: int, *, n_deals: int, n_owners: int, months: int, start: str = "2024-01-01"):
    """The log of a variant: a simulator scenario (simulated with ``seed``) or a log folder (a share of its
    deals drawn with ``seed``, so variants differ). Returns ``(log, simulation_or_None)``."""
    if data in SCENARIOS:
        from salesmetrics.simulation.simulator import simulate  # here: importing an exercise simulates nothing

        sim = simulate(n_deals, n_owners, seed=int(seed), scenario=data, months=months, start=start)
        return sim.log, sim
    path = Path(data).expanduser()
    if not path.is_dir():
        raise UsageError(
            f"data {data!r} is neither a simulator scenario ({', '.join(SCENARIOS)}) nor a log folder; "
            "give a scenario name or the path of a log folder."
        )
    log = read_log(path)
    rng = np.random.default_rng(int(seed))
    keep = rng.random(len(log.deals)) < REAL_DATA_SHARE
    return subset_deals(log, log.deals[keep]), None


NEEDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "activities": ("activities", lambda log: len(log.activities) > 0),
    "activity_direction": (
        "activities with a direction (inbound/outbound)",
        lambda log: "direction" in log.activities and bool(log.activities["direction"].notna().any()),
    ),
    "close_date_changes": ("close-date changes", lambda log: len(log.close_date_changes) > 0),
    "commit_stage": ("a commit stage in its stage model", lambda log: log.model.commit_stage is not None),
    "teams": ("deals in at least two teams", lambda log: log.deals["team"].dropna().nunique() >= 2),
}
"""What an exercise may need from its log (an exercise module's ``NEEDS``): key -> (what is needed, test)."""


def missing_needs(log, needs: Iterable[str]) -> list[str]:
    """The descriptions of what ``log`` lacks among ``needs`` (keys of :data:`NEEDS`); empty when it has all.

    >>> import salesmetrics as sm
    >>> missing_needs(sm.simulate(20, 2, seed=1).log, ["activities", "close_date_changes"])
    []
    """
    unknown = [n for n in needs if n not in NEEDS]
    if unknown:
        raise ValueError(f"unknown needs {unknown}; known: {sorted(NEEDS)}")
    return [NEEDS[n][0] for n in needs if not NEEDS[n][1](log)]


def check_needs(log, needs: Iterable[str], exercise: str, data: str = "") -> None:
    """Raise :class:`~salesmetrics.exceptions.UsageError` when ``log`` lacks what exercise ``exercise`` needs."""
    lacks = missing_needs(log, needs)
    if lacks:
        where = f"The log {data}" if data else "This log"
        raise UsageError(
            f"{where} lacks {' and '.join(lacks)}, which exercise {exercise} needs; run it with a simulator scenario "
            "(leave `data` at its default) or a log folder that records them."
        )


__all__ = [
    "NEEDS",
    "REAL_DATA_SHARE",
    "REDRAWS",
    "SIZE",
    "check_needs",
    "load_data",
    "memo",
    "missing_needs",
    "redraw_seed",
    "seed_for",
]
