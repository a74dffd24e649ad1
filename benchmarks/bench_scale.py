"""Benchmark: `salesmetrics score --by deal` on a partitioned log, with `--workers N` against one process.

Issue 21's case is 100 million activities (about 1 million deals):

    python benchmarks/bench_scale.py --deals 1000000 --activities 100000000 --partitions 64 --workers 2

Steps: the foreign log generator writes the log as Parquet (``make_foreign_log.py``, skipped when ``--out`` holds
it already); ``salesmetrics partition`` splits it; then, each as a fresh process,

1. the single-core rate: one part scored by the engine with one DuckDB thread (``--as-of`` given, so no first
   pass), activities per second of CPU and of wall time;
2. the single-process engine on the partitioned files (the parts one after another, the code a worker runs);
3. ``salesmetrics score PARTS --workers N``, with the peak memory of each worker process (sampled);
4. with ``--whole``, ``salesmetrics score LOG`` on the unpartitioned log in one process (its files touched first,
   so that no remembered validation serves it), its numbers compared with file 2's once both are sorted by deal.

Files 2 and 3 are compared byte for byte. Results go to stdout as JSON. On a shared machine the times are an upper
bound (rates a floor): say so beside any figure taken from here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from salesmetrics.log.remembered import RACY_SECONDS

BENCHMARKS = Path(__file__).resolve().parent

ONE_PART = r"""
import json, resource, sys, time
from pathlib import Path
from salesmetrics.log.config import load_config
from salesmetrics.metrics._engine import deal_scores_of_folder
from salesmetrics.metrics.scoring import as_of_microseconds
part, as_of = Path(sys.argv[1]), sys.argv[2]
model, _ = load_config(part)
start, cpu = time.perf_counter(), time.process_time()
table, _, _ = deal_scores_of_folder(part, model, as_of_microseconds(as_of, model.timezone), threads=1)
print(json.dumps({"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu, "deals": table.num_rows,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _salesmetrics(*args: str) -> list[str]:
    return [sys.executable, "-m", "salesmetrics.cli.main", *args]


def _timed(command: list[str], workers: bool = False) -> dict:
    """Run ``command``; wall time, the child's peak memory and (``workers``) each worker's peak, sampled."""
    start = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks: dict[int, int] = {}
    while process.poll() is None:
        try:
            family = [process, *process.children(recursive=True)]
            for child in family:
                peaks[child.pid] = max(peaks.get(child.pid, 0), child.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    out, err = process.communicate()
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{err}")
    result = {"wall_s": round(time.perf_counter() - start, 2), "stdout": out.strip().splitlines()[-2:]}
    own = peaks.pop(process.pid, 0)
    result["peak_rss_mb"] = round(own / 2**20)
    if workers:  # the largest children: the worker processes (the nannies are small)
        result["worker_peak_rss_mb"] = sorted((round(v / 2**20) for v in peaks.values()), reverse=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=100_000_000)
    parser.add_argument("--partitions", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--as-of", default="2026-01-01", help="the as_of of every run (no first pass)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data/scale"))
    parser.add_argument(
        "--whole", action="store_true", help="also score the unpartitioned log in one process and compare numbers"
    )
    args = parser.parse_args()
    log = args.out / "foreign-parquet"
    if not (log / "salesmetrics.yaml").exists():
        generate = [sys.executable, str(BENCHMARKS / "make_foreign_log.py"), "--deals", str(args.deals)]
        subprocess.run([*generate, "--activities", str(args.activities), "--out", str(args.out)], check=True)
    parts = args.out / f"parts-{args.partitions}"
    report: dict = {"log": str(log), "partitions": args.partitions, "workers": args.workers}
    if not (parts / "partitions.json").exists():
        report["partition"] = _timed(
            _salesmetrics("partition", str(log), "--out", str(parts), "--partitions", str(args.partitions))
        )
    manifest = json.loads((parts / "partitions.json").read_text())
    first = parts / "part-00000"
    one = json.loads(
        subprocess.run(
            [sys.executable, "-c", ONE_PART, str(first), args.as_of], check=True, capture_output=True, text=True
        ).stdout
    )
    activities = manifest["rows"]["activities"][0]
    one["activities"] = activities
    one["activities_per_cpu_s"] = round(activities / one["cpu_s"])
    one["activities_per_wall_s"] = round(activities / one["wall_s"])
    report["one_part_one_thread"] = one
    with tempfile.TemporaryDirectory() as tmp:
        here, there = Path(tmp) / "here.parquet", Path(tmp) / "there.parquet"
        options = ["--as-of", args.as_of, "--quiet"]
        report["single_process"] = _timed(_salesmetrics("score", str(parts), "--out", str(here), *options))
        cluster = ["--out", str(there), "--workers", str(args.workers), *options]
        report["cluster"] = _timed(_salesmetrics("score", str(parts), *cluster), workers=True)
        report["identical_files"] = here.read_bytes() == there.read_bytes()
        if args.whole:
            whole = Path(tmp) / "whole.parquet"
            # a first run, as on a fresh export: not served by the validation an earlier run remembered
            for path in log.iterdir():
                os.utime(path)
            time.sleep(RACY_SECONDS + 1)
            report["whole_log_one_process"] = _timed(_salesmetrics("score", str(log), "--out", str(whole), *options))
            report["same_numbers_as_whole_log"] = _same_rows_by_deal(here, whole)
    print(json.dumps(report, indent=2))


def _same_rows_by_deal(one: Path, other: Path) -> bool:
    """Whether two per-deal score files hold the same rows once sorted by deal (parts list deals part by part)."""
    import pyarrow.parquet as pq

    a, b = (pq.read_table(path).sort_by("deal_id") for path in (one, other))
    return a.equals(b)


if __name__ == "__main__":
    main()
