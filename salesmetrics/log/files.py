"""Finding a log's table files and reading the first bytes of a CSV file, without pandas.

Shared by the pandas readers (:mod:`salesmetrics.log.readers`) and the relational core, so both find the same file
and read it with the same delimiter and encoding.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

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
