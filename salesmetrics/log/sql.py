"""SQL text and DuckDB plumbing shared by the relational core and the engine: literals, identifiers, the
text validation reads as missing, a connection in UTC, and work on a cursor of its own in a thread."""

from __future__ import annotations

import contextlib

# text that validation reads as missing: empty, or only what Python's str.strip() removes (RE2 syntax)


WHITESPACE = r"[\t\n\x{0b}\f\r\x{1c}-\x{1f}\x{85}\p{Z}]"


BLANK = WHITESPACE + "*"


def lit(value) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def values_list(values) -> str:
    """A SQL list for ``IN``: ``('a', 'b')``; ``(NULL)`` when empty."""
    return "(" + ", ".join(lit(v) for v in values) + ")" if values else "(NULL)"


def blank_sql(column: str) -> str:
    """SQL true where ``column`` is text validation reads as missing: empty, or only what ``str.strip()`` removes.

    Every such text sorts before '!' or from U+0085 on, so most values skip the regex (and Parquet statistics
    skip it for whole row groups).
    """
    return f"(({column} < '!' OR {column} >= '\x85') AND regexp_full_match({column}, '{BLANK}'))"


def strip_sql(column: str) -> str:
    """SQL for ``column`` with what ``str.strip()`` removes taken off both ends (as validation trims CSV text);
    NULL when nothing is left. Only values starting or ending with a space-like character pay for the regex."""
    ends_clean = f"({column}[1] > ' ' AND {column}[1] < '\x85' AND {column}[-1] > ' ' AND {column}[-1] < '\x85')"
    trimmed = f"regexp_replace({column}, '^{WHITESPACE}+|{WHITESPACE}+$', '', 'g')"
    return f"CASE WHEN {ends_clean} THEN {column} ELSE nullif({trimmed}, '') END"


def connect(threads: int | None = None):
    """A DuckDB connection in UTC (times are compared as instants; local days come from explicit zones)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # the command line shows its own progress (and --quiet none); in Jupyter DuckDB wants ipywidgets even to
    # switch its bar off, and shows none there anyway
    with contextlib.suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")
    # no automatic checkpoint: in memory it only compresses the tables just made (1.4 s for 10M activities read
    # from CSV, charged to whichever statement comes next), and they live for one command
    con.execute("SET checkpoint_threshold = '1TB'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def in_thread(con, work):
    """Run ``work(cursor)`` in a thread on a cursor of its own; returns a function waiting for its result.

    DuckDB runs statements of different cursors at the same time, and NumPy releases the GIL while sorting,
    so checks overlap the main work (small statements leave cores idle that they fill).
    """
    from concurrent.futures import ThreadPoolExecutor

    cursor = con.cursor()

    def run():
        try:
            cursor.execute("SET TimeZone = 'UTC'")
            return work(cursor)
        finally:
            cursor.close()

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(run)
    pool.shutdown(wait=False)
    return future.result
