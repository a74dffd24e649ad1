"""Benchmark: what the exact-duplicate check on activities costs `salesmetrics score --by deal` (issue 3).

Validation drops exact duplicate activity rows, so the per-deal fast path must know there are none. This
script measures, each in a fresh process and alternating round by round:

* the DuckDB reference query of ``bench_score.py`` (2 threads);
* ``salesmetrics score --by deal`` as shipped;
* the same process with the activity duplicate check replaced by "no duplicates" (not a product option: it
  shows what every other part of the fast path costs);
* the duplicate check alone by several strategies, with wall and CPU seconds (a 2-core machine is bound
  by CPU seconds once both cores are busy).

    python benchmarks/make_big_log.py            # once
    python benchmarks/bench_duplicates.py [--log benchmarks/data/big] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_score import REFERENCE

# runs `salesmetrics score --by deal`; with "unchecked" the activity duplicate check answers "none" at once
SCORE = """
import sys
import salesmetrics.log.core as core
if sys.argv[1] == "unchecked":
    core.repeated_rows_check = lambda *args, **kwargs: (lambda: [])
from salesmetrics.cli.main import main
sys.argv = ["salesmetrics", "score", sys.argv[2], "--by", "deal", "--quiet", "--overwrite", "--out", sys.argv[3]]
main()
"""

# one strategy for "does any (deal_id, occurred_at) pair repeat?" over the activities file
STRATEGY = """
import json, resource, sys, time
import duckdb
import numpy as np
strategy, path = sys.argv[1], sys.argv[2]
con = duckdb.connect(); con.execute("SET threads = 2")
hashes = f"SELECT hash(deal_id, occurred_at) AS h FROM read_parquet('{path}')"
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
wall, used = time.perf_counter(), cpu()
if strategy == "NumPy sort of DuckDB hashes (shipped)":
    h = con.sql(hashes).fetchnumpy()["h"]; h.sort(); repeated = bool(np.any(h[1:] == h[:-1]))
elif strategy == "DuckDB count(DISTINCT hash)":
    repeated = con.execute(f"SELECT count(*) > count(DISTINCT h) FROM ({hashes})").fetchone()[0]
elif strategy == "DuckDB lag over ORDER BY hash":
    repeated = con.execute(
        f"SELECT count(*) > 0 FROM (SELECT h, lag(h) OVER (ORDER BY h) AS p FROM ({hashes})) WHERE h = p"
    ).fetchone()[0]
elif strategy == "DuckDB ORDER BY, NumPy neighbours":
    h = con.sql(hashes + " ORDER BY h").fetchnumpy()["h"]; repeated = bool(np.any(h[1:] == h[:-1]))
elif strategy == "hashes only (no duplicate test)":
    h = con.sql(hashes).fetchnumpy()["h"]; repeated = None
print(json.dumps({"seconds": time.perf_counter() - wall, "cpu": cpu() - used, "repeated": repeated}))
"""

STRATEGIES = [
    "hashes only (no duplicate test)",
    "NumPy sort of DuckDB hashes (shipped)",
    "DuckDB ORDER BY, NumPy neighbours",
    "DuckDB lag over ORDER BY hash",
    "DuckDB count(DISTINCT hash)",
]

# time and peak memory of one command, run by a launcher whose only child it is (as in bench_score.py)
LAUNCHER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, capture_output=True)
used = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": used.ru_utime + used.ru_stime}))
"""


def timed(cmd: list[str], launcher: bool = True) -> dict:
    full = [sys.executable, "-c", LAUNCHER, *cmd] if launcher else cmd
    out = subprocess.run(full, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, default=Path("benchmarks/data/big"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not (args.log / "salesmetrics.yaml").exists():
        sys.exit(f"No log at {args.log}; run: python benchmarks/make_big_log.py --out {args.log}")
    reference = "duckdb one query (2 threads), per deal"
    with tempfile.TemporaryDirectory() as tmp:
        processes = {
            reference: [sys.executable, "-c", REFERENCE, str(args.log), f"{tmp}/ref.parquet"],
            "salesmetrics score --by deal": [sys.executable, "-c", SCORE, "checked", str(args.log), f"{tmp}/a.parquet"],
            "  same, duplicate check skipped": [
                sys.executable, "-c", SCORE, "unchecked", str(args.log), f"{tmp}/b.parquet",
            ],
        }  # fmt: skip
        runs: dict[str, list[dict]] = {name: [] for name in [*processes, *STRATEGIES]}
        activities = str(args.log / "activities.parquet")
        for _ in range(args.repeat):
            for name, cmd in processes.items():
                runs[name].append(timed(cmd))
            for name in STRATEGIES:
                runs[name].append(timed([sys.executable, "-c", STRATEGY, name, activities], launcher=False))
    load = os.getloadavg()
    print(f"log: {args.log}, median of {args.repeat} alternating rounds, fresh process each")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print(f"{'whole process':45s} {'seconds':>8s} {'CPU s':>6s} {'ratio':>6s}")
    for name in processes:
        ratios = [x["seconds"] / y["seconds"] for x, y in zip(runs[name], runs[reference], strict=True)]
        seconds = statistics.median(x["seconds"] for x in runs[name])
        used = statistics.median(x["cpu"] for x in runs[name])
        print(f"{name:45s} {seconds:8.2f} {used:6.2f} {statistics.median(ratios):6.2f}")
    print(f"\n{'duplicate check alone (after start-up)':45s} {'seconds':>8s} {'CPU s':>6s}  answer")
    for name in STRATEGIES:
        seconds = statistics.median(x["seconds"] for x in runs[name])
        used = statistics.median(x["cpu"] for x in runs[name])
        answers = {x["repeated"] for x in runs[name]}
        print(f"{name:45s} {seconds:8.2f} {used:6.2f}  {answers.pop() if len(answers) == 1 else answers}")


if __name__ == "__main__":
    main()
