"""The partitioned log: a log folder split by deal into part folders, each a whole log (``docs/log-format.md``).

Layout of a partitioned log ``DIR`` (written by :func:`salesmetrics.log.partition.partition_log`)::

    DIR/partitions.json      the manifest (:data:`MANIFEST`): number of parts, the hash rule, rows per part
    DIR/salesmetrics.yaml    the log's config, also copied into every part
    DIR/part-00000/          deals, stage_changes, activities, ... of the deals whose hash falls in part 0
    DIR/part-00001/          ...

A deal goes to part ``md5_first64(deal_id) mod N``: the first 8 bytes of the MD5 digest of the deal id's UTF-8
text read as a little-endian unsigned integer (DuckDB's ``md5_number_upper``; :func:`part_of` is the same in
Python). Every row of a deal, in every table, lands in the same part, in its file order, so each part is a log on
its own that the engine scores without the others (decision 0066). Reading the whole log reads the parts in
order and puts them end to end.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from salesmetrics.exceptions import UsageError

MANIFEST = "partitions.json"
FORMAT = "salesmetrics partitioned log"
VERSION = 1
HASH_RULE = "md5_number_upper(deal_id) % partitions"


def part_of(deal_id: str, partitions: int) -> int:
    """The part a deal id goes to: the first 8 bytes of MD5(UTF-8 text), little-endian, modulo ``partitions``.

    >>> part_of("D000001", 4), part_of("D000001", 4) == part_of("D000001", 4)
    (3, True)
    """
    digest = hashlib.md5(deal_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") % partitions


def part_sql(column: str, partitions: int) -> str:
    """DuckDB SQL for :func:`part_of` of a text column; a missing id goes to part 0 (validation reports it)."""
    return f"coalesce(md5_number_upper({column}) % {int(partitions)}, 0)::INTEGER"


def part_name(index: int) -> str:
    """The folder of part ``index``: ``part-00003``."""
    return f"part-{index:05d}"


@dataclass(frozen=True)
class Partitioned:
    """A partitioned log's manifest: the parts in order, and the rows of each table in each part."""

    folder: Path
    partitions: int
    rows: dict[str, list[int]]  # table -> rows per part, duplicates included, as written

    @property
    def parts(self) -> list[Path]:
        """The part folders that hold rows, in order (a part no deal id hashed to is empty and skipped); the first
        part when none holds any (so that validation says what is missing, as of an empty log folder)."""
        held = [sum(counts[i] for counts in self.rows.values()) for i in range(self.partitions)]
        return [self.folder / part_name(i) for i in range(self.partitions) if held[i]] or [self.folder / part_name(0)]


def is_partitioned(folder) -> bool:
    """Whether ``folder`` is a partitioned log (it has a :data:`MANIFEST`)."""
    return (Path(folder) / MANIFEST).is_file()


def read_manifest(folder) -> Partitioned:
    """The manifest of the partitioned log ``folder``; a UsageError naming the file when it is not one."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ok = data.get("format") == FORMAT and data.get("hash") == HASH_RULE
        partitions = int(data["partitions"])
        rows = {str(k): [int(n) for n in v] for k, v in data["rows"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        what = f"{path} is not a partitioned log's manifest ({exc}); write it with salesmetrics partition."
        raise UsageError(what) from exc
    if not ok or data.get("version") != VERSION or any(len(v) != partitions for v in rows.values()):
        raise UsageError(
            f"{path} is not a manifest this salesmetrics reads (format {FORMAT!r} version {VERSION}, hash "
            f"{HASH_RULE!r}, one row count per part); write the log again with salesmetrics partition."
        )
    missing = [part_name(i) for i in range(partitions) if not (Path(folder) / part_name(i)).is_dir()]
    if missing:
        raise UsageError(f"{folder} lacks the part folders {', '.join(missing[:5])} that {MANIFEST} lists.")
    return Partitioned(Path(folder), partitions, rows)


def manifest_text(partitions: int, rows: dict[str, list[int]], source: str) -> str:
    """The text of a manifest (see :func:`read_manifest`)."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "partitions": partitions,
        "hash": HASH_RULE,
        "source": source,
        "rows": rows,
    }
    return json.dumps(data, indent=2) + "\n"
