"""Benchmark: `salesmetrics score` as whole processes against one DuckDB SQL query (2 threads) on the same files.

Each case runs in a fresh process (start-up and imports included), the cases alternating round by round;
peak memory is the child's own (a launcher process per run). Outputs go to a temporary folder.

    python benchmarks/make_big_log.py            # once
    python benchmarks/bench_score.py [--log benchmarks/data/big] [--repeat 5] [--check-groups]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# The per-deal columns of section 1 in one query, written independently of salesmetrics' own SQL.
REFERENCE = r"""
import sys, time, duckdb, yaml
log, out = sys.argv[1], sys.argv[2]
m = yaml.safe_load(open(f"{log}/salesmetrics.yaml"))
q = lambda xs: "(" + ",".join("'" + x + "'" for x in xs) + ")"
ranks = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(m["stages"]))
con = duckdb.connect(); con.execute("SET threads=2"); con.execute("SET TimeZone='UTC'")
P = lambda t: f"read_parquet('{log}/{t}.parquet', file_row_number=true)"
tz = m.get("timezone", "UTC")
con.execute(f'''COPY (
WITH now_ AS (SELECT greatest((SELECT max(epoch_us(changed_at)) FROM {P("stage_changes")}),
   (SELECT epoch_us(max(occurred_at)) FROM read_parquet('{log}/activities.parquet')),
   (SELECT max(epoch_us(changed_at)) FROM {P("close_date_changes")}),
   (SELECT max(epoch_us(created_at)) FROM {P("deals")})) AS t),
e AS (SELECT deal_id, epoch_us(changed_at) t, file_row_number r, stage,
   CASE WHEN stage IN {q(m["won"])} THEN {len(m["stages"])} WHEN stage IN {q(m["lost"])} THEN -1
        ELSE CASE stage {ranks} END END rk FROM {P("stage_changes")}),
k AS (SELECT *, CASE WHEN lag(stage) OVER w IS NULL THEN 'add'
   WHEN stage = lag(stage) OVER w OR (stage IN {q(m["won"])} AND lag(stage) OVER w IN {q(m["won"])})
     OR (stage IN {q(m["lost"])} AND lag(stage) OVER w IN {q(m["lost"])}) THEN 'repeat'
   WHEN stage IN {q(m["lost"])} THEN 'loss' WHEN rk > lag(rk) OVER w THEN 'advance'
   WHEN rk < lag(rk) OVER w THEN 'regression' ELSE 'repeat' END kind
   FROM e WINDOW w AS (PARTITION BY deal_id ORDER BY t, r)),
ks AS (SELECT deal_id, count(*) FILTER (kind='add') adds, count(*) FILTER (kind='advance') adv,
   count(*) FILTER (kind='regression') reg, count(*) FILTER (kind='advance' AND stage IN {q(m["won"])}) wins,
   count(*) FILTER (kind='loss') los, max(t) FILTER (kind<>'repeat') lm, last(stage ORDER BY t, r) cur
   FROM k GROUP BY deal_id),
a AS (SELECT deal_id, count(*) n FROM read_parquet('{log}/activities.parquet') GROUP BY deal_id),
c AS (SELECT deal_id, d - lag(d) OVER (PARTITION BY deal_id ORDER BY t, r) st FROM
   (SELECT deal_id, epoch_us(changed_at) t, file_row_number r,
      date_diff('day', DATE '1970-01-01', (close_date AT TIME ZONE '{tz}')::DATE) d FROM {P("close_date_changes")})),
cs AS (SELECT deal_id, count(*) FILTER (st>0) pu, coalesce(sum(st) FILTER (st>0),0) dp, count(*) FILTER (st<0) pl
   FROM c GROUP BY deal_id)
SELECT d.deal_id, d.owner, cur AS current_stage, coalesce(cur IN {q(m["stages"])}, false) AS is_open,
  ((SELECT t FROM now_) - epoch_us(d.created_at))::DOUBLE / 86400000000.0::DOUBLE AS age_days,
  (coalesce(adds,0)+coalesce(adv,0)+coalesce(reg,0)+coalesce(los,0))::BIGINT movements,
  coalesce(adds,0)::BIGINT adds, coalesce(adv,0)::BIGINT advances, coalesce(reg,0)::BIGINT regressions,
  coalesce(wins,0)::BIGINT wins, coalesce(los,0)::BIGINT losses, coalesce(n,0)::BIGINT motions,
  CASE WHEN adds+adv+reg+los > 0 THEN coalesce(n,0)::DOUBLE / (adds+adv+reg+los)::DOUBLE END motion_per_movement,
  ((SELECT t FROM now_) - lm)::DOUBLE / 86400000000.0::DOUBLE AS days_since_movement,
  coalesce(pu,0)::BIGINT close_date_pushes, coalesce(dp,0)::BIGINT days_pushed, coalesce(pl,0)::BIGINT close_date_pulls
FROM {P("deals")} d LEFT JOIN ks USING (deal_id) LEFT JOIN a USING (deal_id) LEFT JOIN cs USING (deal_id)
ORDER BY d.file_row_number) TO '{out}' (FORMAT parquet)''')
"""


# Runs one command and reports its time and peak memory: this launcher's only child is the command, so the
# largest resident size among its children is the command's own (the cases can then alternate freely).
LAUNCHER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, capture_output=True)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def run(cmd: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *cmd], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import os
    import statistics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, default=Path("benchmarks/data/big"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--check-groups",
        action="store_true",
        help="also compare the owner-month scores with the pandas path on read_log (slow: tens of seconds)",
    )
    args = parser.parse_args()
    if not (args.log / "salesmetrics.yaml").exists():
        sys.exit(f"No log at {args.log}; run: python benchmarks/make_big_log.py --out {args.log}")
    exe = str(Path(sys.executable).with_name("salesmetrics"))
    reference = "duckdb one query (2 threads), per deal"
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            reference: [sys.executable, "-c", REFERENCE, str(args.log), f"{tmp}/ref.parquet"],
            "salesmetrics score --by deal": [
                exe, "score", str(args.log), "--by", "deal", "--quiet", "--overwrite", "--out", f"{tmp}/deal.parquet",
            ],
            "salesmetrics score --by owner --period M": [
                exe, "score", str(args.log), "--by", "owner", "--period", "M", "--quiet", "--overwrite",
                "--out", f"{tmp}/owner.parquet",
            ],
        }  # fmt: skip
        # the cases alternate within each round, so a busy machine slows them alike; ratios are taken per round
        runs: dict[str, list[dict]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, cmd in cases.items():
                runs[name].append(run(cmd))
        import pandas as pd

        ref, mine = pd.read_parquet(f"{tmp}/ref.parquet"), pd.read_parquet(f"{tmp}/deal.parquet")
        pd.testing.assert_frame_equal(ref, mine, check_dtype=False, check_exact=True)
        if args.check_groups:
            import salesmetrics as sm
            from salesmetrics.metrics.scoring import score

            expected = score(sm.read_log(args.log), by="owner", period="M")
            owners = pd.read_parquet(f"{tmp}/owner.parquet")
            pd.testing.assert_frame_equal(owners, expected, check_dtype=False, check_exact=True)
    load = os.getloadavg()
    print(f"log: {args.log}, median of {args.repeat} alternating rounds; identical per-deal numbers: yes")
    if args.check_groups:
        print("owner-month scores identical to the pandas path on read_log: yes")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
    print(f"{'case':45s} {'seconds':>8s} {'peak MiB':>9s} {'ratio':>6s}  per-round ratios")
    for name, r in runs.items():
        ratios = [x["seconds"] / y["seconds"] for x, y in zip(r, runs[reference], strict=True)]
        seconds = statistics.median(x["seconds"] for x in r)
        peak = max(x["peak_mib"] for x in r)
        each = " ".join(f"{x:.2f}" for x in ratios)
        print(f"{name:45s} {seconds:8.2f} {peak:9.0f} {statistics.median(ratios):6.2f}  {each}")
    print("goal: salesmetrics score --by deal at most 1.5x the DuckDB query; peak memory under 2048 MiB")


if __name__ == "__main__":
    main()
