"""Write a large synthetic log (Parquet) for the read and scoring benchmarks.

Default size: 100,000 deals, about 400,000 stage changes, 10,000,000 activities, 150,000 close-date changes.
It is shaped like a real log (ids as text, tz-aware timestamps, an open vocabulary of activity kinds) but its
numbers mean nothing; the simulator makes logs whose numbers do.

    python benchmarks/make_big_log.py --deals 100000 --activities 10000000 --out benchmarks/data/big
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

STAGES = ["Lead", "Qualified", "Discovery", "Proposal", "Negotiation", "Commit"]


def make(out: Path, n_deals: int, n_activities: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    start = np.datetime64("2023-01-01T00:00:00", "us")
    span_us = np.int64(540 * 86_400 * 1_000_000)
    ids = np.char.add("D", np.arange(n_deals).astype(str)).astype(object)
    created = start + rng.integers(0, span_us, n_deals).astype("timedelta64[us]")
    owners = np.char.add("owner_", rng.integers(0, 200, n_deals).astype(str)).astype(object)
    teams = np.char.add("team_", (rng.integers(0, 200, n_deals) // 20).astype(str)).astype(object)
    tz = pa.timestamp("us", tz="UTC")
    pq.write_table(
        pa.table(
            {
                "deal_id": pa.array(ids, pa.string()),
                "owner": pa.array(owners, pa.string()),
                "created_at": pa.array(created.astype("int64"), tz),
                "amount": rng.lognormal(9, 1, n_deals).round(2),
                "team": pa.array(teams, pa.string()),
            }
        ),
        out / "deals.parquet",
    )
    # stage changes: about 4 per deal, moving mostly forward, ending won/lost/open
    n_steps = rng.integers(1, 8, n_deals)
    deal_idx = np.repeat(np.arange(n_deals), n_steps)
    step = np.arange(len(deal_idx)) - np.repeat(np.cumsum(n_steps) - n_steps, n_steps)
    gaps = rng.exponential(12 * 86_400e6, len(deal_idx)).astype("int64")
    gaps[step == 0] = 0
    running = np.cumsum(gaps)
    first = np.cumsum(n_steps) - n_steps
    times = created[deal_idx] + (running - np.repeat(running[first], n_steps)).astype("timedelta64[us]")
    stage = np.array([*STAGES, "Won", "Lost"], dtype=object)[np.minimum(step, 5)]
    last = np.r_[step[1:] == 0, True]
    outcome = rng.choice(np.array(["Won", "Lost", None], dtype=object), n_deals, p=[0.25, 0.45, 0.30])
    stage[last] = np.where(outcome[deal_idx[last]] == None, stage[last], outcome[deal_idx[last]])  # noqa: E711
    pq.write_table(
        pa.table(
            {
                "deal_id": pa.array(ids[deal_idx], pa.string()),
                "changed_at": pa.array(times.astype("int64"), tz),
                "stage": pa.array(stage, pa.string()),
            }
        ),
        out / "stage_changes.parquet",
    )
    # activities: heavy-tailed counts per deal
    weights = rng.pareto(2.0, n_deals) + 0.2
    per_deal = rng.multinomial(n_activities, weights / weights.sum())
    a_deal = np.repeat(np.arange(n_deals), per_deal)
    a_time = created[a_deal] + rng.integers(0, 120 * 86_400 * 1_000_000, len(a_deal)).astype("timedelta64[us]")
    kinds = np.array(["call", "email", "meeting", "demo", "proposal"], dtype=object)
    outcomes = np.array(["advanced", "stayed", "regressed", None], dtype=object)
    directions = np.array(["inbound", "outbound"], dtype=object)
    pq.write_table(
        pa.table(
            {
                "deal_id": pa.array(ids[a_deal], pa.string()),
                "occurred_at": pa.array(a_time.astype("int64"), tz),
                "kind": pa.array(kinds[rng.integers(0, 5, len(a_deal))], pa.string()),
                "outcome": pa.array(outcomes[rng.choice(4, len(a_deal), p=[0.05, 0.2, 0.02, 0.73])], pa.string()),
                "direction": pa.array(directions[rng.integers(0, 2, len(a_deal))], pa.string()),
            }
        ),
        out / "activities.parquet",
        row_group_size=1_000_000,
    )
    c_deal = rng.integers(0, n_deals, int(n_deals * 1.5))
    c_time = created[c_deal] + rng.integers(0, 90 * 86_400 * 1_000_000, len(c_deal)).astype("timedelta64[us]")
    c_date = (c_time + rng.integers(10, 120, len(c_deal)).astype("timedelta64[D]")).astype("datetime64[D]")
    pq.write_table(
        pa.table(
            {
                "deal_id": pa.array(ids[c_deal], pa.string()),
                "changed_at": pa.array(c_time.astype("int64"), tz),
                "close_date": pa.array(c_date.astype("datetime64[us]").astype("int64"), tz),
            }
        ),
        out / "close_date_changes.parquet",
    )
    config = {"name": "benchmark", "stages": STAGES, "won": ["Won"], "lost": ["Lost"], "commit_stage": "Commit"}
    (out / "salesmetrics.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data/big"))
    args = parser.parse_args()
    make(args.out, args.deals, args.activities, args.seed)
    for f in sorted(args.out.glob("*.parquet")):
        print(f"{f.name}: {pq.ParquetFile(f).metadata.num_rows:,} rows, {f.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
