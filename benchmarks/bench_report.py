"""Benchmark `salesmetrics report` end to end, each case a whole command-line process.

(a) ``pipeline_health`` on a 100,000-deal simulated log (goal: under 90 s);
(b) ``pipeline_health --for-each owner`` on the demo log: 20 owner reports and the index (goal: under 180 s).

The times include everything a user waits for: start-up, checking the parameters and the log, the kernel,
the notebook, rendering HTML. Peak memory is the largest total resident memory of the process tree
(the command and its kernel), sampled every 0.1 s. Reports go to a temporary folder. The 100,000-deal log is
simulated once into ``benchmarks/data/`` (gitignored) and reused; its simulation is not timed.

    python benchmarks/bench_report.py [--deals 100000] [--owners 200] [--high-motion] [--skip-big] [--skip-batch]

``--high-motion`` simulates about 100 activities per deal (10 million in all; benchmarks/bench_simulate.py's
configuration) instead of the simulator's defaults (about 15 per deal).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "datasets" / "demo"
DATA = REPO / "benchmarks" / "data"


def command() -> list[str]:
    script = Path(sys.executable).with_name("salesmetrics")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from salesmetrics.cli.main import main; sys.exit(main())"]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (the command and its kernel), peak MiB of the process tree, and the output."""
    cpu = cpu_seconds()
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True)
        root, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)
        seconds = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(args)}\n{text}")
    return seconds, cpu_seconds() - cpu, peak / 2**20, text


def big_log(deals: int, owners: int, high_motion: bool) -> Path:
    folder = DATA / f"report-{deals // 1000}k-{owners}owners{'-high-motion' if high_motion else ''}"
    if (folder / "salesmetrics.yaml").exists():
        return folder
    sys.path.insert(0, str(REPO / "benchmarks"))
    from salesmetrics.simulation.simulator import simulate

    config = None
    if high_motion:
        from bench_simulate import bench_config

        config = bench_config()
    print(f"simulating {deals:,} deals into {folder} (once) ...", flush=True)
    start = time.perf_counter()
    sim = simulate(deals, owners, seed=0, config=config, progress=False)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    sim.write(tmp, format="parquet")
    tmp.rename(folder)
    print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=200)
    parser.add_argument("--high-motion", action="store_true", help="about 100 activities per deal")
    parser.add_argument("--skip-big", action="store_true", help="skip case (a)")
    parser.add_argument("--skip-batch", action="store_true", help="skip case (b)")
    args = parser.parse_args(argv)
    salesmetrics = command()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        if not args.skip_big:
            log = big_log(args.deals, args.owners, args.high_motion)
            seconds, cpu, mib, _ = run([*salesmetrics, "report", "pipeline_health", str(log), "--out", f"{tmp}/a"])
            size = (Path(tmp) / "a" / "pipeline_health.html").stat().st_size
            note = f"{size / 2**10:,.0f} KiB of HTML"
            results.append(("(a) pipeline_health, " + log.name, seconds, cpu, mib, 90, note))
        if not args.skip_batch:
            out = Path(tmp) / "b"
            batch = [*salesmetrics, "report", "pipeline_health", str(DEMO), "--out", str(out)]
            seconds, cpu, mib, _ = run([*batch, "--for-each", "owner"])
            n = len(list(out.glob("pipeline_health-*.html")))
            results.append((f"(b) {n} owner reports on the demo log", seconds, cpu, mib, 180, "and index.html"))
            seconds, cpu, mib, _ = run([*batch, "--for-each", "owner"])
            results.append(("(b') the same again: every report kept (resume)", seconds, cpu, mib, None, ""))
    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in psutil.getloadavg())}")
    for name, seconds, cpu, mib, goal, note in results:
        verdict = "" if goal is None else f"  goal < {goal} s: {'met' if seconds < goal else 'NOT met'}"
        print(f"{name}: {seconds:6.1f} s ({cpu:.1f} s CPU), peak {mib:,.0f} MiB, {note}{verdict}")


if __name__ == "__main__":
    main()
