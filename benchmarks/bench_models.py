"""Benchmark the models: fit on 1,000,000 snapshot rows (goal under 120 s on 2 cores), score 100,000 open deals
(goal under 10 s), and the cost of building the snapshots themselves.

    python benchmarks/bench_models.py                     # simulate 100,000 deals, weekly snapshots
    python benchmarks/bench_models.py --deals 20000       # quicker

The snapshot rows come from a simulated log (``salesmetrics.simulate``); when they number fewer than
``--rows``, whole rows are drawn again at random (with replacement) up to that many, so the fit sees the real
feature distribution at the requested size. Scoring means ``predict_proba`` plus the top three reasons in plain
words for each deal. Prints the figures; it writes nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import warnings

import numpy as np


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000, help="simulated deals (default 100,000)")
    parser.add_argument("--months", type=int, default=18, help="simulated months (default 18)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="snapshot rows to fit on (default 1,000,000)")
    parser.add_argument("--score", type=int, default=100_000, help="open deals to score (default 100,000)")
    parser.add_argument("--jobs", type=int, default=2, help="threads (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")

    from salesmetrics.models import CloseLikelihood, StallPredictor
    from salesmetrics.simulate import simulate
    from salesmetrics.snapshots import snapshots

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

    results = {}
    for name, model in (
        ("StallPredictor (hgb, calibrated)", StallPredictor(random_state=0, n_jobs=args.jobs)),
        ("CloseLikelihood (hgb, calibrated)", CloseLikelihood(random_state=0, n_jobs=args.jobs)),
        ("StallPredictor (logistic)", StallPredictor(model="logistic", random_state=0, n_jobs=args.jobs)),
    ):
        with warnings.catch_warnings():
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
        print(
            f"{name}: fit {model.n_rows_:,} labelled rows in {fit:.1f} s ({model.calibration_}); "
            f"score {len(score_rows):,}: predict_proba {proba:.2f} s, with reasons {scored:.2f} s "
            f"({table['reason_1'].notna().mean():.0%} with a reason)"
        )
    print(f"peak RSS {peak_mib():,.0f} MiB")
    fit, _, scored = results["StallPredictor (hgb, calibrated)"]
    print(
        f"goals: fit 1M rows < 120 s: {'met' if fit < 120 else 'NOT met'} ({fit:.1f} s); "
        f"score 100k < 10 s: {'met' if scored < 10 else 'NOT met'} ({scored:.2f} s)"
    )


if __name__ == "__main__":
    main()
