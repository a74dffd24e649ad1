"""Benchmark: read and validate a large Parquet log, against a plain pyarrow read of the same files.

Each measurement runs in a fresh process (start-up and imports included), so time and peak memory are what
a user sees. Prints a table and the ratio; record the figures in benchmarks/RESULTS.md.

    python benchmarks/make_big_log.py            # once: 100k deals, ~400k stage changes, 10M activities
    python benchmarks/bench_read.py [--log benchmarks/data/big] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, default=Path("benchmarks/data/big"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (args.log / "salesmetrics.yaml").exists():
        sys.exit(f"No log at {args.log}; run: python benchmarks/make_big_log.py --out {args.log}")
    cases = {
        "pyarrow.parquet.read_table": PLAIN,
        "read_table + to_pandas": PLAIN_PANDAS,
        "salesmetrics.read_log (validated)": SALESMETRICS,
    }
    best = {}
    for name, code in cases.items():
        runs = [run(code, args.log) for _ in range(args.repeat)]
        best[name] = min(runs, key=lambda r: r["seconds"])
        best[name]["peak_mib"] = max(r["peak_mib"] for r in runs)
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}")
    print(f"log: {args.log} ({best['pyarrow.parquet.read_table']['rows']:,} rows in all), best of {args.repeat}")
    print(f"{'case':40s} {'seconds':>8s} {'peak MiB':>9s}")
    for name, r in best.items():
        print(f"{name:40s} {r['seconds']:8.2f} {r['peak_mib']:9.0f}")
    ratio = best["salesmetrics.read_log (validated)"]["seconds"] / best["pyarrow.parquet.read_table"]["seconds"]
    print(f"ratio read_log / pyarrow read_table: {ratio:.2f}x (goal: at most 3x; peak memory goal: under 4096 MiB)")


if __name__ == "__main__":
    main()
