"""Benchmark the simulator: 100,000 deals with about 10,000,000 activities.

Prints the time to simulate, to write the log (Parquet) with its truth, and to read it back with
validation, the peak resident memory, and the rows of every table. Writes only into a temporary folder.

Run: ``.venv/bin/python benchmarks/bench_simulate.py [--deals 100000] [--owners 200] [--no-read]``

Activities per deal do not depend on activity volume in this model (busier owners also resolve deals
sooner), so the benchmark reaches about 100 activities per deal by lowering the chance that an interaction
ends with a decision, and lowering the per-interaction loss chances by the same factor, which keeps the
outcomes close to the defaults while producing several times the motion.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

SCALE = 55.0


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def bench_config() -> dict:
    from salesmetrics.simulation.params import DEFAULTS

    proc = DEFAULTS["process"]
    return {
        "owners": {"decision_rate": DEFAULTS["owners"]["decision_rate"] / SCALE},
        "process": {
            "fatigue": [f / SCALE for f in proc["fatigue"]],
            "stall_growth": [g / SCALE**2 for g in proc["stall_growth"]],
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-read", action="store_true", help="skip reading the log back with validation")
    args = parser.parse_args(argv)

    from salesmetrics import read_log
    from salesmetrics.simulation.simulator import simulate

    t0 = time.perf_counter()
    sim = simulate(args.deals, args.owners, seed=args.seed, config=bench_config())
    t_sim = time.perf_counter() - t0
    rss_sim = peak_rss_mib()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        folder = sim.write(Path(tmp) / "log", format="parquet")
        t_write = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        t_read = None
        if not args.no_read:
            del sim
            t0 = time.perf_counter()
            log = read_log(folder)
            t_read = time.perf_counter() - t0
            rows = {name: len(t) for name, t in log.tables.items()}
        else:
            rows = {name: len(t) for name, t in sim.log.tables.items()}
    print(f"deals {args.deals:,}, owners {args.owners:,}, seed {args.seed}")
    print(f"simulate: {t_sim:6.1f} s   (peak RSS so far {rss_sim:,.0f} MiB)")
    print(f"write:    {t_write:6.1f} s   ({size / 2**20:,.0f} MiB of Parquet, log and truth)")
    if t_read is not None:
        print(f"read_log: {t_read:6.1f} s   (validation included)")
    print(f"peak RSS: {peak_rss_mib():,.0f} MiB")
    for name, n in rows.items():
        print(f"  {name:20s} {n:>12,} rows")


if __name__ == "__main__":
    main()
