"""Benchmark: local periods (month, week) of 10M instants, DuckDB's ICU time zones against the engine's offsets.

The engine turns instants into local periods with integer arithmetic over the zone's UTC offsets in the log's
range (:func:`salesmetrics._util.timezones.utc_offsets`, looked up once in Python); the alternative is DuckDB's own
``AT TIME ZONE`` (ICU) per row. Both must give the same periods; this prints the seconds of each, alternating.

    python benchmarks/bench_local_periods.py [--rows 10000000] [--repeat 3] [--timezone Europe/Berlin]
"""

from __future__ import annotations

import argparse
import statistics
import time

import duckdb

from salesmetrics._util.timezones import utc_offsets
from salesmetrics.metrics._engine import _period_sql


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timezone", default="Europe/Berlin")
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET TimeZone = 'UTC'")
    # instants spread over two years, microseconds since the epoch
    step = 63_072_000_000_000 // args.rows
    con.execute(f"CREATE TABLE x AS SELECT 1672531200000000 + i * {step} AS t FROM range({args.rows}) r(i)")
    low, high = con.execute("SELECT min(t), max(t) FROM x").fetchall()[0]
    offsets = utc_offsets(args.timezone, low, high)
    local = f"(make_timestamp(t)::TIMESTAMPTZ AT TIME ZONE '{args.timezone}')"
    cases = {
        "month, offsets": f"SELECT sum({_period_sql('t', offsets, 'M')}) FROM x",
        "month, ICU": f"SELECT sum(year({local}) * 12 + month({local}) - 1) FROM x",
        "week, offsets": f"SELECT sum({_period_sql('t', offsets, 'W')}) FROM x",
        "week, ICU": f"SELECT sum(CAST(floor((date_diff('day', DATE '1970-01-01', {local}::DATE) - 4) / 7.0) "
        "AS BIGINT)) FROM x",
    }
    seconds, values = {name: [] for name in cases}, {}
    for _ in range(args.repeat):
        for name, query in cases.items():
            start = time.perf_counter()
            values[name] = con.execute(query).fetchall()[0][0]
            seconds[name].append(time.perf_counter() - start)
    assert values["month, offsets"] == values["month, ICU"] and values["week, offsets"] == values["week, ICU"]
    print(f"{args.rows:,} instants, {args.timezone}, median of {args.repeat} (same periods from both)")
    print("| case | seconds |\n|---|---|")
    for name, times in seconds.items():
        print(f"| {name} | {statistics.median(times):.3f} |")


if __name__ == "__main__":
    main()
