"""A remembered validation: what the relational core learnt about a log folder, kept for the next command.

Scoring a log checks every rule and looks for exact duplicate activities; on ten million activities that is
most of the work. When the same files are scored again (another ``as_of``, another grouping, the same command
run twice), nothing of that needs doing again. After a log passes, the engine keeps its small tables (typed,
checked, deduplicated), the list of duplicate activities and how to read the activities file, in one DuckDB
file in the user's cache folder (:func:`cache_folder`), under a key made from the files' fingerprints
(:func:`fingerprint`). The next command on the same files reads them from there and only counts the
activities. Decision: ``docs/decisions/0051-remembered-validation.md``.

The fingerprint of a file is its path, size, inode, modification and status-change times (nanoseconds): any
write changes it, and ``touch`` or ``rsync -t`` cannot set the status-change time back. A file changed less
than :data:`RACY_SECONDS` before it was read is not remembered (file systems stamp times coarsely, so a
second write in the same tick could keep the stamp: the "racy clean" case git also guards against), nor is
one whose fingerprint changed while it was read.

The cache is off with ``SALESMETRICS_CACHE_DIR=off`` (or ``--no-cache`` on the command line); it keeps the
:data:`KEEP` most recently used logs. A cache file that cannot be read is ignored and removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from salesmetrics.log.sql import lit

KEEP = 8  # logs remembered at most; the least recently used is forgotten first
RACY_SECONDS = 2.0  # a file changed this recently is not remembered
FORMAT = 1  # the layout of a cache file; a change makes every older file unused
TABLES = ("deals", "stage_changes", "close_date_changes", "amount_changes", "_duplicate_activities")
_ENV = "SALESMETRICS_CACHE_DIR"


def cache_folder() -> Path | None:
    """The folder of remembered validations: ``$SALESMETRICS_CACHE_DIR``, else ``$XDG_CACHE_HOME/salesmetrics``,
    else ``~/.cache/salesmetrics``; None when the cache is off (``SALESMETRICS_CACHE_DIR=off``)."""
    chosen = os.environ.get(_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no", "false") else Path(chosen) / "logs"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "salesmetrics" / "logs"


def _stat(path: Path) -> list:
    s = path.stat()
    return [str(path.resolve()), s.st_size, s.st_ino, s.st_dev, s.st_mtime_ns, s.st_ctime_ns]


def _code_files() -> list[Path]:
    """The modules whose reading of a log the cache stands for: a changed module (a new release, or a
    developer's edit) makes every remembered validation unused."""
    here = Path(__file__).parent
    # the modules that read a log, then those whose words make ``validate``'s remembered answer
    names = ("core", "column_types", "format", "sql", "config", "remembered", "quick_check", "validation", "quotas")
    return [here / f"{name}.py" for name in names] + [here.parent / "exceptions.py"]


@dataclass(frozen=True)
class Fingerprint:
    """The key of a log's remembered validation and the file stamps it was made from."""

    key: str
    stamps: tuple  # (path, size, inode, device, mtime_ns, ctime_ns) of each file
    read_at: float  # time.time() when the stamps were taken, before any file was read

    def still_valid(self, folder: Path, paths: dict[str, Path]) -> bool:
        """Whether the files are unchanged since the stamps were taken and none was changed racily close to
        that moment (see the module docstring)."""
        try:
            now = fingerprint(folder, paths, None)
        except OSError:
            return False
        if now is None or now.stamps != self.stamps:
            return False
        newest = max(max(s[4], s[5]) for s in self.stamps) / 1e9
        return newest < self.read_at - RACY_SECONDS


def fingerprint(folder: Path, paths: dict[str, Path], model) -> Fingerprint | None:
    """The fingerprint of a log folder's files (``paths``: the table files), its configuration and quotas, and
    the stage model; None when a file cannot be stated."""
    read_at = time.time()
    files = sorted({*paths.values(), *(p for p in Path(folder).iterdir() if _describes_log(p))})
    try:
        stamps = tuple(tuple(_stat(p)) for p in files)
        code = [_stat(p)[1:] for p in _code_files()]
    except OSError:
        return None
    material = json.dumps([FORMAT, stamps, code, repr(model)], default=str)
    return Fingerprint(hashlib.sha256(material.encode()).hexdigest()[:32], stamps, read_at)


def _describes_log(path: Path) -> bool:
    """Files besides the tables that change what the log means: its configuration and quotas."""
    name = path.name.lower()
    return path.is_file() and (name.startswith("salesmetrics.") or name.startswith("quotas."))


def _kept_file(print_: Fingerprint | None) -> Path | None:
    """The cache file of ``print_``'s remembered validation, None when the cache is off or there is none."""
    folder = cache_folder()
    if folder is None or print_ is None:
        return None
    path = folder / f"{print_.key}.duckdb"
    return path if path.is_file() else None


def recall(con, print_: Fingerprint | None) -> dict | None:
    """Attach the remembered validation of ``print_`` to ``con`` (schema ``remembered``) and give what was kept
    beside its tables (see :meth:`~salesmetrics.log.core.Core.keep`); None when there is none (or it cannot be
    read: then it is removed)."""
    path = _kept_file(print_)
    if path is None:
        return None
    import duckdb

    try:
        con.execute(f"ATTACH {lit(path)} AS remembered (READ_ONLY)")
        rows = con.execute("SELECT key, value FROM remembered.meta").fetchall()
        meta = {key: json.loads(value) for key, value in rows}
        if meta.get("format") != FORMAT:
            raise ValueError("another format")
    except (duckdb.Error, ValueError, OSError):
        with contextlib.suppress(duckdb.Error):
            con.execute("DETACH remembered")
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept longest
    return meta


def recall_answer(print_: Fingerprint | None, key: str):
    """The value kept under ``key`` beside a remembered validation of ``print_`` (``validate``'s answer), without
    attaching its tables; None when there is none or it cannot be read."""
    path = _kept_file(print_)
    if path is None:
        return None
    import duckdb

    try:
        with duckdb.connect(str(path), read_only=True) as con:
            rows = dict(con.execute("SELECT key, value FROM meta WHERE key IN ('format', ?)", [key]).fetchall())
    except duckdb.Error:
        return None
    if key not in rows or json.loads(rows.get("format", "null")) != FORMAT:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept longest
    return json.loads(rows[key])


def remember(con, print_: Fingerprint, folder: Path, paths: dict[str, Path], meta: dict) -> bool:
    """Keep the core's small tables, its duplicate activities and ``meta`` for the next command on the same
    files; False (nothing kept) when the cache is off, the files changed, or the cache folder cannot be written.
    Never raises: a cache that cannot be written only costs time."""
    target = cache_folder()
    if target is None or not print_.still_valid(folder, paths):
        return False
    import duckdb

    tmp = None
    try:
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target / f".{print_.key}.{os.getpid()}.tmp"
        con.execute(f"ATTACH {lit(tmp)} AS _keeping")
        for name in TABLES:
            if con.execute(f"SELECT count(*) FROM duckdb_tables() WHERE table_name = {lit(name)}").fetchall()[0][0]:
                con.execute(f"CREATE TABLE _keeping.{name} AS SELECT * FROM {name}")
        con.execute("CREATE TABLE _keeping.meta (key VARCHAR, value VARCHAR)")
        values = [(key, json.dumps(value)) for key, value in {**meta, "format": FORMAT}.items()]
        con.executemany("INSERT INTO _keeping.meta VALUES (?, ?)", values)
        con.execute("DETACH _keeping")
        os.replace(tmp, target / f"{print_.key}.duckdb")
    except (duckdb.Error, OSError):
        with contextlib.suppress(duckdb.Error):
            con.execute("DETACH _keeping")
        if tmp is not None:
            for leftover in (tmp, Path(f"{tmp}.wal")):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        return False
    _forget_oldest(target)
    return True


def _forget_oldest(folder: Path) -> None:
    """Keep the :data:`KEEP` most recently used remembered validations."""
    with contextlib.suppress(OSError):
        kept = sorted(folder.glob("*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP:]:
            old.unlink()
