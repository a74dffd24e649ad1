"""Reading one table file of a log (CSV or Parquet) as faithfully as its author meant it.

CSV files from spreadsheets and CRMs come with byte-order marks, semicolons or tabs, legacy encodings and
dates in local formats. This module finds the file, decodes it, and reports what it had to guess, so the
validation step can point at rows as a person sees them in the file.

A UTF-8 CSV file is never held in memory as a whole: its encoding and delimiter are decided from the first
MiB, then pandas reads the file by path (``docs/decisions/0033-hostile-input.md``). Only files in UTF-16 or a
legacy encoding are decoded in memory first.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.files import not_a_file
from salesmetrics._util.text import shorten
from salesmetrics.exceptions import Problem
from salesmetrics.log.files import DELIMITERS, PREFIX_BYTES, SNIFF_CHARS, SUFFIXES, table_files  # noqa: F401
from salesmetrics.log.files import sniff_delimiter as _sniff_delimiter
from salesmetrics.log.files import utf8_prefix as _utf8_prefix
from salesmetrics.log.format import TABLES

WESTERN = {"cp1250", "cp1252", "latin_1", "iso8859_15", "iso8859_2", "mac_roman"}
# Turkish code pages: they differ from cp1252 in six letters only, so when the detector names one it is trusted.
# (It also names Baltic pages for Western text, "à" read as "ą", so those are not.)
OTHER_LATIN = {"cp1254", "iso8859_9"}
CHUNK_BYTES = 1 << 24
CHUNK_ROWS = 250_000


@dataclass
class RawTable:
    """A table as read from its file, every CSV cell still text.

    ``row_offset`` turns a 0-based position into the row number a person sees: 2 for CSV (the header is
    line 1), 1 for Parquet.
    """

    name: str
    file: str
    frame: pd.DataFrame
    row_offset: int
    delimiter: str | None = None
    encoding: str | None = None


def find_table_file(folder: Path, name: str) -> tuple[Path | None, list[Problem]]:
    """The file holding table ``name`` in ``folder``, or problems saying why there is none."""
    candidates = table_files(folder, name)
    if len(candidates) == 1 and (kind := not_a_file(candidates[0])) is not None:
        return None, [
            Problem(
                "not_a_file",
                "error",
                f"It is {kind}, not a file. Put the table's CSV or Parquet file there.",
                file=candidates[0].name,
            )
        ]
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        return None, [
            Problem(
                "ambiguous_file",
                "error",
                f"Table '{name}' is in more than one file ({names}); keep one so it is clear which is meant.",
                file=candidates[0].name,
            )
        ]
    return (candidates[0] if candidates else None), []


def _western(raw: bytes, guess: str | None) -> bool:
    """Whether bytes that are not UTF-8 read best as cp1252, what Excel writes in Western locales.

    The detector is unreliable on short exports: a cp1252 "É" looks like UTF-16, curly quotes and a euro sign
    like the Baltic DOS page cp775. So cp1252 is preferred whenever it turns the bytes into Western-looking text:
    words with accented letters also hold plain ones ("Müller", "José"), while Cyrillic or Greek read as cp1252
    give words of accented letters only ("Ïåòðîâ"). A Turkish code page named by the detector is trusted.
    """
    if guess in OTHER_LATIN:
        return False
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        return False
    words = [w for w in re.findall(r"[^\W\d_]{3,}", text) if not w.isascii()]
    return 2 * sum(any(c.isascii() for c in w) for w in words) >= len(words)


def _decode(raw: bytes, file: str) -> tuple[str | None, str | None, list[Problem]]:
    """Decode CSV bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else a detected legacy encoding."""
    problems: list[Problem] = []
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig", problems
        except UnicodeDecodeError:
            pass
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16", problems
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8"), "utf-8", problems
    except UnicodeDecodeError as exc:
        exc_start = exc.start
        bad_line = raw[:exc_start].count(b"\n") + 1
        bad_bytes = raw[exc_start : exc_start + 4]
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:2_000_000]).best()
    guess = best.encoding if best is not None else None
    if _western(raw, guess):  # short texts do not tell cp1250 or cp775 from cp1252, which Excel writes
        guess = "cp1252"
    if guess and guess.replace("_", "-") not in ("utf-8", "ascii"):
        try:
            text = raw.decode(guess)
        except (UnicodeDecodeError, LookupError):
            text = None
        if text is not None:
            line_start = raw.rfind(b"\n", 0, exc_start) + 1
            line_end = raw.find(b"\n", exc_start)
            line_text = raw[line_start : line_end if line_end >= 0 else None].decode(guess, "replace").strip()
            problems.append(
                Problem(
                    "encoding_guessed",
                    "warning",
                    f"The file is not UTF-8; it was read as {guess}. Check names with accents, or "
                    "save it as UTF-8 to be sure.",
                    file=file,
                    rows=(bad_line,),
                    values=(line_text[:80],),
                    expected="UTF-8 text",
                )
            )
            return text, guess, problems
    problems.append(
        Problem(
            "encoding",
            "error",
            "The file is not UTF-8 text and its encoding could not be recognised. Save it as UTF-8 "
            "(in Excel: Save As > 'CSV UTF-8').",
            file=file,
            rows=(bad_line,),
            values=(repr(bad_bytes),),
            expected="UTF-8 text",
        )
    )
    return None, None, problems


def _newlines(source: Path | str) -> int:
    """The number of lines of a file (read in chunks) or text, counting a last line without a newline."""
    if isinstance(source, str):
        return source.count("\n") + (not source.endswith("\n"))
    # one reused buffer, counted by NumPy: a third of bytes.count's time on a 574 MB file (0.14 against 0.44 CPU s)
    count, last, buffer = 0, 10, bytearray(CHUNK_BYTES)
    with open(source, "rb", buffering=0) as f:
        while size := f.readinto(buffer):
            chunk = np.frombuffer(buffer, np.uint8, size)
            count += int(np.count_nonzero(chunk == 10))
            last = int(chunk[-1])
    return count + (last != 10)


def _record_lines(source: Path | str, encoding: str | None, delimiter: str) -> np.ndarray | None:
    """The line each CSV record starts on (1 is the header), for files where a cell spans lines or lines are
    blank; None when the csv module cannot read the file the way pandas did."""
    starts = array("q")
    limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)  # a 1 MB cell is hostile, not unreadable
    try:
        with io.StringIO(source) if isinstance(source, str) else open(source, encoding=encoding, newline="") as f:
            reader = csv.reader(f, delimiter=delimiter, skipinitialspace=True)
            previous = 0
            for record in reader:
                if record:  # pandas skips blank lines
                    starts.append(previous + 1)
                previous = reader.line_num
    except (csv.Error, UnicodeDecodeError):
        return None
    finally:
        csv.field_size_limit(limit)
    return np.frombuffer(starts, dtype=np.int64)


def _longer_than_header(prefix: str, delimiter: str) -> tuple[int, int, int] | None:
    """``(line, cells, header cells)`` when the first data row of ``prefix`` has more cells than the header."""
    limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        reader = csv.reader(io.StringIO(prefix), delimiter=delimiter, skipinitialspace=True)
        header = next(reader, [])
        line = reader.line_num + 1
        first = next(reader, [])
        while not first and reader.line_num < 1000:  # blank lines
            line = reader.line_num + 1
            first = next(reader, None)
            if first is None:
                return None
    except csv.Error:
        return None
    finally:
        csv.field_size_limit(limit)
    trailing = len(first) == len(header) + 1 and not first[-1].strip()  # a delimiter at the end of the line
    return (line, len(first), len(header)) if len(first) > len(header) and not trailing else None


def _duplicate_columns(names: list[str], file: str) -> tuple[list[int], list[Problem]]:
    """Positions of the columns to keep (the first of each name) and a problem per name that repeats."""
    counts = Counter(names)
    problems = []
    for name in [n for n, c in counts.items() if c > 1]:
        where = [i + 1 for i, n in enumerate(names) if n == name]
        problems.append(
            Problem(
                "duplicate_column",
                "error",
                f"Column '{shorten(name)}' appears {len(where)} times (columns {', '.join(map(str, where[:5]))}), "
                "so it is unclear which is meant. Keep one and rename or remove the others.",
                file=file,
                column=name,
                expected="each column name once",
            )
        )
    seen: set[str] = set()
    keep = [i for i, n in enumerate(names) if not (n in seen or seen.add(n))]
    return keep, problems


def _read_parquet(path: Path, name: str, file: str) -> tuple[RawTable | None, list[Problem]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # Text as large_string while reading (in parallel) spares pandas a cast of every string later.
        schema = pq.read_schema(path)
        keep, problems = _duplicate_columns([str(n) for n in schema.names], file)
        nested = _nested_columns(schema, name, file)
        if nested:
            return None, problems + nested
        if problems:  # pyarrow cannot select by a repeated name: read the first of each by position
            frame = pq.ParquetFile(path).read().select(keep).to_pandas()
            return RawTable(name, file, frame, row_offset=1), problems
        wide = [
            pa.field(f.name, pa.large_string())
            if pa.types.is_string(f.type) or (pa.types.is_dictionary(f.type) and pa.types.is_string(f.type.value_type))
            else f
            for f in schema
        ]
        table = pq.read_table(path, schema=pa.schema(wide))
        frame = table.to_pandas()
    except Exception as exc:  # pyarrow raises several types for corrupt files
        return None, [
            Problem("unreadable", "error", f"Cannot read it as Parquet: {_short(exc)}", file=file),
        ]
    return RawTable(name, file, frame, row_offset=1), []


def _nested_columns(schema, name: str, file: str) -> list[Problem]:
    """A problem per column of the log format that holds lists, structs, maps or raw bytes instead of values."""
    import pyarrow as pa

    known = {c for spec in TABLES if spec.name == name for c in spec.columns}
    problems = []
    for field in schema:
        kind = field.type
        if field.name in known and (
            pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
        ):
            problems.append(
                Problem(
                    "unreadable",
                    "error",
                    f"Column '{shorten(field.name)}' holds {_short(kind)} values, not text, numbers or times. "
                    "Write it as a plain column (text as UTF-8 strings).",
                    file=file,
                    column=field.name,
                    expected="text, a number or a timestamp in each cell",
                )
            )
    return problems


def _short(exc: BaseException) -> str:
    return shorten(str(exc).replace("\n", " "), 300)


def read_raw_table(path: Path, name: str) -> tuple[RawTable | None, list[Problem]]:
    """Read a table file. CSV cells are kept as text; empty cells become missing values.

    Rows are numbered as lines of the file even when a quoted cell spans lines or blank lines are skipped:
    the frame's index is the line number less ``row_offset``.
    """
    try:
        return _read_raw_table(path, name)
    except OSError as exc:  # no permission, a disk error, the file removed while it was read
        return None, [Problem("unreadable", "error", f"Cannot read the file: {exc.strerror or exc}.", file=path.name)]


def _read_raw_table(path: Path, name: str) -> tuple[RawTable | None, list[Problem]]:
    file = path.name
    if (kind := not_a_file(path)) is not None:
        return None, [Problem("not_a_file", "error", f"It is {kind}, not a file.", file=file)]
    if path.suffix == ".parquet":
        return _read_parquet(path, name, file)

    utf8 = _utf8_prefix(path)
    if utf8 is not None:  # the common case: pandas reads the file itself, nothing is held twice
        try:
            return _parse_csv(path, name, utf8[1], utf8[0], None, [])
        except UnicodeDecodeError:  # not UTF-8 after all, past the first MiB: decoded in memory below
            pass
    # UTF-16 or a legacy encoding: decoded in memory (such files come from spreadsheets, and are small)
    text, encoding, problems = _decode(path.read_bytes(), file)
    if text is None:
        return None, problems
    return _parse_csv(path, name, text[:PREFIX_BYTES], encoding, text, problems)


def _parse_csv(
    path: Path, name: str, prefix: str, encoding: str | None, text: str | None, problems: list[Problem]
) -> tuple[RawTable | None, list[Problem]]:
    """Parse a CSV file by path (``text`` None) or its decoded ``text``; ``prefix`` is its start, decoded."""
    file = path.name
    if not prefix.strip():
        return RawTable(name, file, pd.DataFrame(), row_offset=2, encoding=encoding), problems
    delimiter = "\t" if path.suffix == ".tsv" else _sniff_delimiter(prefix)
    longer = _longer_than_header(prefix, delimiter)
    if longer is not None:  # pandas would make the first cells a row index, or drop the extra cells
        line, n_cells, n_header = longer
        message = (
            f"Row {line} has {n_cells:,} cells but the header names {n_header:,} columns, with delimiter "
            f"{delimiter!r}. Check the delimiter, name every column, or quote cells that contain the delimiter."
        )
        problems.append(Problem("unreadable", "error", message, file=file, rows=(line,)))
        return None, problems
    try:
        with warnings.catch_warnings():  # a delimiter ending every data row but not the header: dropped
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = _read_csv(
                path if text is None else io.StringIO(text), delimiter, encoding if text is None else None
            )
    except UnicodeDecodeError:
        raise
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        message = f"Cannot read it as CSV with delimiter {delimiter!r}: {_short(exc)}"
        problems.append(Problem("unreadable", "error", message, file=file))
        return None, problems
    source = path if text is None else text
    return _finish_csv(frame, source, name, file, prefix, delimiter, encoding, problems)


def _read_csv(source, delimiter: str, encoding: str | None) -> pd.DataFrame:
    """Every cell as text; an empty cell is missing; ``source`` a path (read by pandas) or a text buffer.

    Read in chunks of :data:`CHUNK_ROWS` rows: pandas' parser holds a chunk's cells as Python strings before
    they become Arrow text, so one chunk at a time keeps the peak near the size of the result.
    """
    options = {
        "sep": delimiter,
        "dtype": str,
        "keep_default_na": False,
        "na_values": [""],
        "skipinitialspace": True,
        "index_col": False,  # a row longer than the header is an error, not a row index of its first cells
        "encoding": encoding,
    }
    import pyarrow as pa

    # Arrow's default pool (mimalloc) keeps what each chunk frees for reuse: the system allocator returns it,
    # which lowers the peak by about a third of the file's size. Only the text read here lives in that pool.
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        with pd.read_csv(source, chunksize=CHUNK_ROWS, **options) as reader:
            chunks = list(reader)
    finally:
        pa.set_memory_pool(previous)
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)  # a RangeIndex costs nothing


def _finish_csv(
    frame: pd.DataFrame,
    source: Path | str,
    name: str,
    file: str,
    prefix: str,
    delimiter: str,
    encoding: str | None,
    problems: list[Problem],
) -> tuple[RawTable, list[Problem]]:
    """Header checks (repeated names, trailing delimiters) and line numbers for the rows of a read CSV."""
    try:
        header = next(csv.reader(io.StringIO(prefix), delimiter=delimiter, skipinitialspace=True), [])
    except csv.Error:
        header = []
    if len(header) == frame.shape[1]:  # pandas renames a repeated 'owner' to 'owner.1': find it by position
        keep, found = _duplicate_columns([h.strip() for h in header], file)
        if found:
            problems.extend(found)
            frame = frame.iloc[:, keep]
    frame.columns = [str(c).strip() for c in frame.columns]
    unnamed = [c for c in frame.columns if c.startswith("Unnamed: ") and frame[c].isna().all()]
    if unnamed:
        frame = frame.drop(columns=unnamed)  # trailing delimiters at line ends
    if _newlines(source) != len(frame) + 1:  # a cell spans lines, or blank lines: number rows by their line
        starts = _record_lines(source, encoding, delimiter)
        if starts is not None and len(starts) == len(frame) + 1:
            frame.index = pd.Index(starts[1:] - 2)
    return RawTable(name, file, frame, row_offset=2, delimiter=delimiter, encoding=encoding), problems
