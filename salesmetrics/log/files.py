"""Finding a log's table files, reading the first bytes of a CSV file, and how DuckDB reads each file; no pandas.

Shared by the pandas readers (:mod:`salesmetrics.log.readers`) and the relational core, so both find the same file
and read it with the same delimiter and encoding (:func:`table_file`: the core's reading of one file).
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

from salesmetrics._util.files import not_a_file
from salesmetrics.log.format import TABLES
from salesmetrics.log.sql import lit

SUFFIXES = (".parquet", ".csv", ".tsv", ".txt")
DELIMITERS = ",;\t|"
PREFIX_BYTES = 1 << 20  # the encoding and the header are read from the first MiB
SNIFF_CHARS = 8192  # csv.Sniffer is quadratic in quotes and delimiters (16 KB of ',"' took 1 s): it sees this much


def table_files(folder: Path, name: str) -> list[Path]:
    """The files in ``folder`` that could hold table ``name`` (``deals.parquet``, ``deals.csv``...): one is expected."""
    return [folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").exists()]


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text: the candidate that splits the header and first lines consistently.

    Only the first :data:`SNIFF_CHARS` characters are looked at (whole lines where possible): ``csv.Sniffer``
    takes quadratic time on a long quoted cell.
    """
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] > 0 else ","


def utf8_prefix(path: Path) -> tuple[str, str] | None:
    """``(encoding, text)`` of the file's first MiB when it is UTF-8 (a BOM allowed); None when it is not."""
    with open(path, "rb") as f:
        prefix = f.read(PREFIX_BYTES)
        complete = not f.read(1)
    if prefix.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    bom = prefix.startswith(codecs.BOM_UTF8)
    try:  # an incremental decoder accepts a character cut in two at the end of the prefix
        text = codecs.getincrementaldecoder("utf-8")().decode(prefix[3:] if bom else prefix, final=complete)
    except UnicodeDecodeError:
        return None
    return ("utf-8-sig" if bom else "utf-8"), text


@dataclass
class TableFile:
    """One table's file and how DuckDB reads it."""

    name: str
    path: Path
    source: str  # SQL: read_parquet(...) or read_csv(...)
    types: dict[str, str]  # column -> DuckDB type, as read
    text: bool  # CSV: validation trims its text cells


def _csv_header(path: Path) -> tuple[str, list[str]] | None:
    """``(delimiter, column names)`` of a UTF-8 CSV file, as validation reads its first lines; None otherwise."""
    import csv
    import io

    prefix = utf8_prefix(path)
    if prefix is None:
        return None
    _, text = prefix
    delimiter = sniff_delimiter(text)
    first = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
    if not first:
        return None
    return delimiter, [cell.strip() for cell in first]


def table_file(con, name: str, path: Path) -> TableFile | None:
    """How DuckDB reads the table file ``path``; None when the engine leaves it to validation."""
    if path.suffix == ".parquet":
        names = [r[0] for r in con.execute(f"SELECT name FROM parquet_schema({lit(path)})").fetchall()[1:]]
        if len(set(names)) < len(names):
            return None  # a repeated column name (DuckDB would rename one): validation reports it
        source = f"read_parquet({lit(path)}, file_row_number = true)"
        text = False
    elif path.suffix == ".csv":
        header = _csv_header(path)
        if header is None:
            return None
        delimiter, names = header
        if len(set(names)) < len(names) or "" in names:
            return None  # repeated or empty column names: validation reports them
        columns = ", ".join(f"{lit(n)}: 'VARCHAR'" for n in names)
        source = (
            f"read_csv({lit(path)}, delim = {lit(delimiter)}, header = true, quote = '\"', escape = '\"', "
            f"auto_detect = false, columns = {{{columns}}}, strict_mode = true, null_padding = false)"
        )
        text = True
    else:
        return None
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    types = {row[0]: row[1] for row in described}
    if len(types) < len(described):
        return None  # a repeated column name: validation reports it
    return TableFile(name, path, source, types, text)


def find_files(folder: Path) -> dict[str, Path] | None:
    """The file of each table of a log folder; None when a required table is missing, a table has two files, or
    one is not a plain file (validation explains each)."""
    files = {}
    for spec in TABLES:
        found = table_files(folder, spec.name)
        if len(found) > 1:
            return None
        if not found:
            if spec.required_table:
                return None
            continue
        if not_a_file(found[0]) is not None:  # a FIFO would block DuckDB
            return None
        files[spec.name] = found[0]
    return files
