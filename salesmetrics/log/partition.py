"""``salesmetrics partition``: split a log folder by deal into a partitioned log (:mod:`salesmetrics.log.partitioned`).

Each table file is read once by DuckDB as the relational core reads it (:func:`salesmetrics.log.files.table_file`:
Parquet as stored, CSV as text), every row gets its deal's part (:func:`~salesmetrics.log.partitioned.part_sql`;
CSV ids trimmed, as validation reads them), and each part's rows are written in their file order, in the table's
own format: a Parquet table stays Parquet with its column types, a CSV table stays CSV with its cells as they
were. Nothing is typed or dropped, so each part is validated and read exactly as its rows were in the whole log.
The folder is written beside its target and moved into place when complete (:func:`~salesmetrics._util.atomic.
atomic_folder`).

Memory: DuckDB holds a table while it splits it, so the connection gets a memory limit (:func:`memory_limit_text`:
the ``memory_limit`` given, else :data:`MEMORY_FRACTION` of the machine's memory) and a spill folder inside the
output's temporary folder: a table larger than the limit is split by spilling to disk there instead of failing.
The spill folder goes with the temporary folder, after success or error; nothing is written in the working
directory (where DuckDB would spill by default).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from salesmetrics._util.atomic import atomic_folder
from salesmetrics._util.output import check_output_folder
from salesmetrics.exceptions import UsageError
from salesmetrics.log.config import CONFIG_FILE
from salesmetrics.log.files import find_files, table_file, table_files
from salesmetrics.log.format import TABLES
from salesmetrics.log.partitioned import MANIFEST, is_partitioned, manifest_text, part_name, part_sql
from salesmetrics.log.sql import connect, ident, lit, strip_sql

MAX_PARTITIONS = 100_000
MEMORY_FRACTION = 0.5  # of the machine's memory: DuckDB's limit while partitioning when none is given
SPILL_FOLDER = "spill"  # in the output's temporary folder (beside the new folder, removed with it)


@dataclass(frozen=True)
class PartitionResult:
    """What :func:`partition_log` wrote: the folder, the number of parts and each table's rows per part."""

    folder: Path
    partitions: int
    rows: dict[str, list[int]]


def partition_log(
    log, out, partitions: int, *, overwrite: bool = False, memory_limit: str | None = None
) -> PartitionResult:
    """Split the log folder ``log`` by deal into ``partitions`` part folders under ``out`` (see
    :mod:`salesmetrics.log.partitioned` for the layout).

    ``out`` must be missing or empty unless ``overwrite``; it may not be or hold the log itself. ``memory_limit``:
    DuckDB's memory while splitting, as text such as ``"4GB"`` or ``"500MB"`` (default: :data:`MEMORY_FRACTION` of
    the machine's memory); beyond it DuckDB spills to a folder inside the output's temporary folder.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "parts"
    >>> result = partition_log("datasets/demo", out, 4)
    >>> sum(result.rows["deals"]), sorted(p.name for p in out.iterdir())[:2]
    (2000, ['part-00000', 'part-00001'])
    """
    log, out = Path(log), Path(out)
    if not isinstance(partitions, int) or isinstance(partitions, bool) or not 1 <= partitions <= MAX_PARTITIONS:
        raise UsageError(f"partitions must be a whole number from 1 to {MAX_PARTITIONS:,}, not {partitions!r}.")
    if is_partitioned(log):
        raise UsageError(f"{log} is a partitioned log already; partition the log folder it was made from.")
    files = find_files(log) if log.is_dir() else None
    if not files or not (log / CONFIG_FILE).is_file():
        raise UsageError(
            f"{log} is not a log folder with one file per table and {CONFIG_FILE}; "
            f"run salesmetrics validate {log} to see what is missing."
        )
    check_output_folder(out, logs=[log], what="the partitioned log")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UsageError(f"{out} is not empty; choose a new folder, or pass --overwrite to replace it.")
    con = connect()
    _limit_memory(con, memory_limit)
    readers = {}
    for name, path in files.items():
        reader = table_file(con, name, path)
        if reader is None or "deal_id" not in reader.types:
            raise UsageError(f"{path} cannot be split by deal; run salesmetrics validate {log} to see why.")
        readers[name] = reader
    rows = {}
    with atomic_folder(out) as new:
        con.execute(f"SET temp_directory = {lit(str(new.parent / SPILL_FOLDER))}")  # removed with new.parent
        try:
            for index in range(partitions):
                (new / part_name(index)).mkdir(parents=True)
                shutil.copyfile(log / CONFIG_FILE, new / part_name(index) / CONFIG_FILE)
            for name, reader in readers.items():
                rows[name] = _split_table_within(con, reader, new, partitions)
        finally:
            con.close()  # its spill files closed before the temporary folder is removed
        _check_parts(rows, partitions)
        shutil.copyfile(log / CONFIG_FILE, new / CONFIG_FILE)
        for quotas in table_files(log, "quotas"):  # per owner, not per deal: kept whole beside the parts
            shutil.copyfile(quotas, new / quotas.name)
        (new / MANIFEST).write_text(manifest_text(partitions, rows, str(log)), encoding="utf-8")
    return PartitionResult(out, partitions, rows)


def memory_limit_text(memory_limit: str | None = None) -> str | None:
    """DuckDB's memory limit for partitioning: ``memory_limit`` as given, else :data:`MEMORY_FRACTION` of the
    machine's memory in MB; None where the machine's memory cannot be read (DuckDB's own default then holds).

    >>> memory_limit_text("2GB")
    '2GB'
    """
    if memory_limit is not None:
        return str(memory_limit)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return None
    return f"{int(total * MEMORY_FRACTION) // 1_000_000}MB" if total > 0 else None


def _limit_memory(con, memory_limit: str | None) -> None:
    import duckdb

    limit = memory_limit_text(memory_limit)
    if limit is None:
        return
    try:
        con.execute(f"SET memory_limit = {lit(limit)}")
    except duckdb.Error as exc:
        raise UsageError(
            f"memory limit {limit!r} is not a size DuckDB reads; give a number and a unit, e.g. 4GB or 500MB."
        ) from exc


def _check_parts(rows: dict[str, list[int]], partitions: int) -> None:
    """Refuse parts that validation would refuse although the whole log is fine: a part with rows must hold a row
    of each required table (a table with no rows is an error), which only happens with about as many parts as
    deals."""
    required = [spec.name for spec in TABLES if spec.required_table and sum(rows.get(spec.name, [0]))]
    for index in range(partitions):
        held = sum(counts[index] for counts in rows.values())
        lacking = [name for name in required if held and not rows[name][index]]
        if lacking:
            raise UsageError(
                f"with {partitions} parts, {part_name(index)} would hold no {lacking[0]} rows, which validation "
                f"refuses; use fewer parts (docs/scale.md: each part should hold many deals)."
            )


def _split_table_within(con, reader, folder: Path, partitions: int) -> list[int]:
    """:func:`_split_table`; running out of memory (the limit reached, and the spill folder's disk full) is a
    UsageError saying which table and what to change."""
    import duckdb

    try:
        return _split_table(con, reader, folder, partitions)
    except duckdb.OutOfMemoryException as exc:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        reason = str(exc).splitlines()[0]
        raise UsageError(
            f"DuckDB ran out of memory splitting {reader.name} within its limit of {limit}, spilling to the "
            f"output's temporary folder ({reason}). Raise the limit (--memory-limit, e.g. 4GB) or free disk space "
            f"beside the output folder; nothing was written."
        ) from exc


def _split_table(con, reader, folder: Path, partitions: int) -> list[int]:
    """Write table ``reader`` (a :class:`~salesmetrics.log.files.TableFile`) into each part folder under ``folder``
    in its file order and format; returns the rows written per part."""
    columns = [c for c in reader.types if c != "file_row_number"]
    select = ", ".join(ident(c) for c in columns)
    deal_id = strip_sql(ident("deal_id")) if reader.text else ident("deal_id")
    # the file order: Parquet's row numbers; a CSV table keeps the order it was read in, which rowid numbers
    source, order = reader.source, "file_row_number"
    if reader.text:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _read AS SELECT * FROM {reader.source}")
        source, order = "_read", "rowid"
    # sorted by part once, so that each part's query below reads only its own row groups (DuckDB's zone maps)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _rows AS SELECT {select}, {part_sql(deal_id, partitions)} AS _part, "
        f"{order} AS _order FROM {source} ORDER BY _part, _order"
    )
    con.execute("DROP TABLE IF EXISTS _read")
    options = "FORMAT parquet, COMPRESSION zstd" if not reader.text else "FORMAT csv, HEADER true"
    counts = dict(con.execute("SELECT _part, count(*) FROM _rows GROUP BY _part").fetchall())
    for index in range(partitions):
        target = folder / part_name(index) / f"{reader.name}{'.csv' if reader.text else '.parquet'}"
        con.execute(
            f"COPY (SELECT {select} FROM _rows WHERE _part = {index} ORDER BY _order) TO {lit(target)} ({options})"
        )
    return [int(counts.get(index, 0)) for index in range(partitions)]
