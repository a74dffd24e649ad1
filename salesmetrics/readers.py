"""Reading one table file of a log (CSV or Parquet) as faithfully as its author meant it.

CSV files from spreadsheets and CRMs come with byte-order marks, semicolons or tabs, legacy encodings and
dates in local formats. This module finds the file, decodes it, and reports what it had to guess, so the
validation step can point at rows as a person sees them in the file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .exceptions import Problem

SUFFIXES = (".parquet", ".csv", ".tsv", ".txt")
DELIMITERS = ",;\t|"
WESTERN = {"cp1250", "cp1252", "latin_1", "iso8859_15", "iso8859_2", "mac_roman"}
# Turkish code pages: they differ from cp1252 in six letters only, so when the detector names one it is trusted.
# (It also names Baltic pages for Western text, "à" read as "ą", so those are not.)
OTHER_LATIN = {"cp1254", "iso8859_9"}


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
    candidates = [folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").exists()]
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


def _sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text: the candidate that splits the header and first lines consistently."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] > 0 else ","


def read_raw_table(path: Path, name: str) -> tuple[RawTable | None, list[Problem]]:
    """Read a table file. CSV cells are kept as text; empty cells become missing values."""
    file = path.name
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            # Text as large_string while reading (in parallel) spares pandas a cast of every string later.
            schema = pq.read_schema(path)
            wide = [
                pa.field(f.name, pa.large_string())
                if pa.types.is_string(f.type)
                or (pa.types.is_dictionary(f.type) and pa.types.is_string(f.type.value_type))
                else f
                for f in schema
            ]
            table = pq.read_table(path, schema=pa.schema(wide))
        except Exception as exc:  # pyarrow raises several types for corrupt files
            return None, [
                Problem("unreadable", "error", f"Cannot read it as Parquet: {exc}", file=file),
            ]
        return RawTable(name, file, table.to_pandas(), row_offset=1), []

    raw = path.read_bytes()
    text, encoding, problems = _decode(raw, file)
    if text is None:
        return None, problems
    if not text.strip():
        return RawTable(name, file, pd.DataFrame(), row_offset=2, encoding=encoding), problems
    delimiter = "\t" if path.suffix == ".tsv" else _sniff_delimiter(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        problems.append(
            Problem(
                "unreadable",
                "error",
                f"Cannot read it as CSV with delimiter {delimiter!r}: {exc}".replace("\n", " "),
                file=file,
            )
        )
        return None, problems
    frame.columns = [str(c).strip() for c in frame.columns]
    unnamed = [c for c in frame.columns if c.startswith("Unnamed: ") and frame[c].isna().all()]
    if unnamed:
        frame = frame.drop(columns=unnamed)  # trailing delimiters at line ends
    return RawTable(name, file, frame, row_offset=2, delimiter=delimiter, encoding=encoding), problems
