"""Benchmark: read and validate a large Parquet log, against a plain pyarrow read of the same files.

Each measurement runs in a fresh process (start-up and imports included), so time and peak memory are what
a user sees. Prints a table and the ratio; record the figures in benchmarks/RESULTS.md.

    python benchmarks/make_big_log.py            # once: 100k deals, ~400k stage changes, 10M activities
    python benchmarks/bench_read.py [--log benchmarks/data/big] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

PLAIN = """
import time, resource, glob, pyarrow.parquet as pq
t = time.perf_counter()
rows = {f: pq.read_table(f).num_rows for f in sorted(glob.glob(LOG + '/*.parquet'))}
"""
PLAIN_PANDAS = """
import time, resource, glob, pyarrow.parquet as pq
t = time.perf_counter()
rows = {f: len(pq.read_table(f).to_pandas()) for f in sorted(glob.glob(LOG + '/*.parquet'))}
"""
SALESMETRICS = """
import time, resource
t = time.perf_counter()
import salesmetrics as sm
log = sm.read_log(LOG)
rows = {k: len(v) for k, v in log.tables.items()}
"""
FOOTER = """
elapsed = time.perf_counter() - t
import json
print(json.dumps({"seconds": elapsed, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": sum(rows.values())}))
"""


def run(code: str, log: Path) -> dict:
    # the timer starts before the imports of the code under test; interpreter start-up is measured separately
    script = f"LOG = {str(log)!r}\n" + code + FOOTER
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, default=Path("benchmarks/data/big"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not (args.log / "salesmetrics.yaml").exists():
        sys.exit(f"No log at {args.log}; run: python benchmarks/make_big_log.py --out {args.log}")
    cases = {
        "pyarrow.parquet.read_table": PLAIN,
        "read_table + to_pandas": PLAIN_PANDAS,
        "salesmetrics.read_log (validated)": SALESMETRICS,
    }
    # the cases alternate within each round, so a busy machine slows them alike; the ratio is taken per round
    runs: dict[str, list[dict]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, code in cases.items():
            runs[name].append(run(code, args.log))
    plain, ours = runs["pyarrow.parquet.read_table"], runs["salesmetrics.read_log (validated)"]
    ratios = [o["seconds"] / p["seconds"] for o, p in zip(ours, plain, strict=True)]
    load = os.getloadavg()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}")
    print(f"log: {args.log} ({plain[0]['rows']:,} rows in all), median of {args.repeat} alternating rounds")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
    print(f"{'case':40s} {'seconds':>8s} {'peak MiB':>9s}")
    for name, r in runs.items():
        print(f"{name:40s} {_median([x['seconds'] for x in r]):8.2f} {max(x['peak_mib'] for x in r):9.0f}")
    print(f"ratio read_log / pyarrow read_table per round: {' '.join(f'{x:.2f}' for x in ratios)}")
    print(f"median ratio: {_median(ratios):.2f}x (goal: at most 3x; peak memory goal: under 2048 MiB)")


if __name__ == "__main__":
    main()
