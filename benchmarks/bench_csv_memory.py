"""Benchmark: peak memory of reading one large activities CSV, against its size on disk.

The CSV is written by DuckDB (not by salesmetrics), once. Each reading runs in a fresh process; a thread samples
the whole process's resident set size with psutil every 5 ms (``ru_maxrss`` is printed beside it as a check).
``--way old`` reads as salesmetrics did before streaming (bytes, then str, then StringIO, then pandas), for the
before figure; ``--way new`` calls :func:`salesmetrics.log.readers.read_raw_table`, which decides the encoding and
delimiter from the first MiB and lets pandas read the file by path. Record the figures in benchmarks/RESULTS.md.

    python benchmarks/bench_csv_memory.py [--mb 450] [--file benchmarks/data/activities_450mb.csv] [--way both]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

MEASURE = """
import json, resource, sys, threading, time
from pathlib import Path
import psutil, pandas as pd
import salesmetrics.log.readers as readers

path, way = Path(sys.argv[1]), sys.argv[2]
process = psutil.Process()
baseline = process.memory_info().rss
peak = [baseline]
done = threading.Event()

def sample():
    while not done.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        time.sleep(0.005)

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
started = time.perf_counter()
if way == "old":  # salesmetrics before streaming: the whole file as bytes, then as str, then in a StringIO
    import io
    text = path.read_bytes().decode("utf-8")
    frame = pd.read_csv(io.StringIO(text), sep=",", dtype=str, keep_default_na=False, na_values=[""],
                        skipinitialspace=True)
    rows = len(frame)
else:
    raw, problems = readers.read_raw_table(path, "activities")
    rows = len(raw.frame)
seconds = time.perf_counter() - started
done.set()
sampler.join()
peak[0] = max(peak[0], process.memory_info().rss)
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"way": way, "rows": rows, "seconds": round(seconds, 1), "baseline_mib": baseline / 2**20,
                  "peak_mib": peak[0] / 2**20, "ru_maxrss_mib": maxrss}))
"""

GENERATE = """
COPY (
  SELECT 'D' || lpad(CAST(i % 100000 AS VARCHAR), 6, '0') AS deal_id,
         strftime(TIMESTAMP '2024-01-01' + to_seconds(CAST((i * 7919) % 31536000 AS BIGINT)), '%Y-%m-%d %H:%M:%S')
           AS occurred_at,
         ['call', 'email', 'meeting'][1 + i % 3] AS kind,
         CASE i % 4 WHEN 0 THEN 'advanced' WHEN 1 THEN 'stayed' WHEN 2 THEN 'regressed' END AS outcome,
         CASE WHEN i % 2 = 0 THEN 'inbound' ELSE 'outbound' END AS direction
  FROM range({rows}) AS t(i)
) TO '{path}' (HEADER, DELIMITER ',')
"""
BYTES_PER_ROW = 49.6  # 'D012345,2024-05-06 12:34:56,meeting,regressed,outbound' and a newline, on average


def generate(path: Path, megabytes: float) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    rows = int(megabytes * 1e6 / BYTES_PER_ROW)
    duckdb.connect().execute(GENERATE.format(rows=rows, path=str(path).replace("'", "''")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=450, help="size of the CSV to generate (default 450 MB)")
    parser.add_argument("--file", type=Path, help="CSV to read (default benchmarks/data/activities_<mb>mb.csv)")
    parser.add_argument("--way", choices=("new", "old", "both"), default="both")
    args = parser.parse_args()
    path = args.file or Path(__file__).parent / "data" / f"activities_{int(args.mb)}mb.csv"
    if not path.exists():
        generate(path, args.mb)
    size_mib = path.stat().st_size / 2**20
    print(f"file: {path} ({size_mib:,.0f} MiB)")
    for way in ("old", "new") if args.way == "both" else (args.way,):
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(path), way], capture_output=True, text=True, check=True
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["file_mib"] = round(size_mib, 1)
        result["peak_over_file"] = round(result["peak_mib"] / size_mib, 2)
        result["added_over_file"] = round((result["peak_mib"] - result["baseline_mib"]) / size_mib, 2)
        print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
