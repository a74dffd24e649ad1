"""Benchmark the models: fit on 1,000,000 snapshot rows (goal under 120 s on 2 cores), score 100,000 open deals
(goal under 10 s), and the cost of building the snapshots themselves.

    python benchmarks/bench_models.py                     # simulate 100,000 deals, weekly snapshots
    python benchmarks/bench_models.py --deals 20000       # quicker

The snapshot rows come from a simulated log (``salesmetrics.simulate``); when they number fewer than
``--rows``, whole rows are drawn again at random (with replacement) up to that many, so the fit sees the real
feature distribution at the requested size. Scoring means ``predict_proba`` plus the top three reasons in plain
words for each deal. ``CloseLikelihood (competing)`` is the competing-risks won model (decision 0028): it
expands each row into up to six 30-day intervals, open deals included. Memory is the process's resident set:
its level before each case and its peak during it (sampled every 20 ms), and the peak of the whole run.
Prints the figures; it writes nothing.

    OMP_WAIT_POLICY=passive python benchmarks/bench_models.py --cases "CloseLikelihood (competing)"
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time
import warnings
from contextlib import contextmanager

import numpy as np


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mib() -> float:
    with open("/proc/self/statm") as f:  # pages: size resident shared ...
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextmanager
def rss_peak():
    """Yield a dict that holds ``before`` and, after the block, ``peak``: the resident set sampled every 20 ms."""
    out = {"before": rss_mib(), "peak": 0.0}
    out["peak"] = out["before"]
    stop = threading.Event()

    def watch():
        while not stop.wait(0.02):
            out["peak"] = max(out["peak"], rss_mib())

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()
        out["peak"] = max(out["peak"], rss_mib())


CASES = (
    "StallPredictor (hgb, calibrated)",
    "CloseLikelihood (hgb, calibrated)",
    "CloseLikelihood (competing)",
    "StallPredictor (logistic)",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000, help="simulated deals (default 100,000)")
    parser.add_argument("--months", type=int, default=18, help="simulated months (default 18)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="snapshot rows to fit on (default 1,000,000)")
    parser.add_argument("--score", type=int, default=100_000, help="open deals to score (default 100,000)")
    parser.add_argument("--jobs", type=int, default=2, help="threads (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="models to fit (default all)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")

    from salesmetrics.features.build import snapshots
    from salesmetrics.models import CloseLikelihood, StallPredictor
    from salesmetrics.simulation.simulator import simulate

    t = time.perf_counter()
    log = simulate(args.deals, max(20, args.deals // 500), seed=args.seed, months=args.months).log
    print(
        f"simulate {args.deals:,} deals: {time.perf_counter() - t:.1f} s "
        f"({len(log.activities):,} activities, {len(log.stage_changes):,} stage changes)"
    )

    t = time.perf_counter()
    snap = snapshots(log, freq="W")
    build = time.perf_counter() - t
    print(f"snapshots (weekly, {snap['as_of'].nunique()} dates): {len(snap):,} rows in {build:.1f} s")

    t = time.perf_counter()
    one_date = snapshots(log, as_of=[snap["as_of"].iloc[len(snap) // 2]])
    print(f"snapshots at one date: {len(one_date):,} open deals in {time.perf_counter() - t:.2f} s")

    rng = np.random.default_rng(args.seed)
    attrs = dict(snap.attrs)
    labelled = snap[snap["stalled"].notna()]  # fit on rows the stall model can use: all of them count
    if len(labelled) < args.rows:
        snap = labelled.iloc[rng.integers(0, len(labelled), args.rows)].reset_index(drop=True)
        print(f"resampled {len(labelled):,} stall-labelled rows to {len(snap):,}")
    else:
        snap = labelled.iloc[: args.rows].reset_index(drop=True)
    snap.attrs.update(attrs)

    models = {
        "StallPredictor (hgb, calibrated)": lambda: StallPredictor(random_state=0, n_jobs=args.jobs),
        "CloseLikelihood (hgb, calibrated)": lambda: CloseLikelihood(random_state=0, n_jobs=args.jobs),
        "CloseLikelihood (competing)": lambda: CloseLikelihood(censoring="competing", random_state=0, n_jobs=args.jobs),
        "StallPredictor (logistic)": lambda: StallPredictor(model="logistic", random_state=0, n_jobs=args.jobs),
    }
    results = {}
    for name in args.cases:
        model = models[name]()
        with warnings.catch_warnings(), rss_peak() as memory:
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            model.fit(snap)
            fit = time.perf_counter() - t
        score_rows = snap.iloc[rng.integers(0, len(snap), args.score)]
        t = time.perf_counter()
        model.predict_proba(score_rows)
        proba = time.perf_counter() - t
        t = time.perf_counter()
        table = model.reasons(score_rows, n=3)
        scored = proba + time.perf_counter() - t
        results[name] = (fit, proba, scored)
        used = (
            f"{model.n_rows_:,} rows ({model.n_censored_:,} of open deals)"
            if "competing" in name
            else (f"{model.n_rows_:,} labelled rows")
        )
        print(
            f"{name}: fit {used} in {fit:.1f} s ({model.calibration_}; {getattr(model, 'censoring_', '')}); "
            f"RSS {memory['before']:,.0f} MiB before, peak {memory['peak']:,.0f} MiB during the fit; "
            f"score {len(score_rows):,}: predict_proba {proba:.2f} s, with reasons {scored:.2f} s "
            f"({table['reason_1'].notna().mean():.0%} with a reason)",
            flush=True,
        )
    print(f"peak RSS of the run {peak_mib():,.0f} MiB")
    for name, (fit, _, scored) in results.items():
        print(
            f"goals, {name}: fit 1M rows < 120 s: {'met' if fit < 120 else 'NOT met'} ({fit:.1f} s); "
            f"score 100k < 10 s: {'met' if scored < 10 else 'NOT met'} ({scored:.2f} s)"
        )


if __name__ == "__main__":
    main()
