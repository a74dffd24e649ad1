"""Loading a log folder into typed tables while collecting every problem it has.

The steps, each adding problems rather than stopping: read the config; find and read each table file;
check its columns; parse timestamps and numbers; drop exact duplicate rows; run the pandera schema;
then the checks across tables (unknown deal ids, events before the deal was created, deals with no
stage history). Which problems are errors and which warnings is listed in ``docs/validation.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.fast import duplicated_rows, epoch, index_in
from salesmetrics._util.suggest import close_matches
from salesmetrics._util.text import agree, listed, plural, shorten
from salesmetrics.exceptions import MAX_SHOWN, Problem, ProblemList
from salesmetrics.log.config import StageModel, load_config
from salesmetrics.log.parsing import parse_numbers, parse_timestamps
from salesmetrics.log.readers import RawTable, find_table_file, read_raw_table
from salesmetrics.log.schemas import EVENT_TIME, TABLES, TableSpec, schema_problems


@dataclass
class LoadedTables:
    """The outcome of loading a folder: the model, typed tables, and everything found on the way."""

    model: StageModel | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    row_offsets: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: dict[str, int] = field(default_factory=dict)
    deal_codes: dict[str, np.ndarray] = field(default_factory=dict)
    unparsed: dict[str, dict[str, pd.Index]] = field(default_factory=dict)
    problems: ProblemList = field(default_factory=ProblemList)


def _column_problems(raw: RawTable, spec: TableSpec) -> list[Problem]:
    """Missing required columns, listing the columns found and the closest matches."""
    found = [str(c) for c in raw.frame.columns]
    problems = []
    for column in spec.required:
        if column in found:
            continue
        close = close_matches(column, found[:1000])
        hint = (
            f" Did you mean {' or '.join(repr(shorten(c)) for c in close)}? Rename it to '{column}'." if close else ""
        )
        delim = ""
        if raw.delimiter is not None and len(found) == 1:
            delim = " The whole header was read as one column: check the delimiter."
        problems.append(
            Problem(
                "missing_column",
                "error",
                f"Required column '{column}' is missing. Columns found: {listed(found)}.{hint}{delim}",
                file=raw.file,
                column=column,
                expected=f"columns {', '.join(spec.required)}",
            )
        )
    return problems


def _ids(series: pd.Series) -> pd.Series:
    """Deal ids as text, so 12, 12.0 and '12' are one deal."""
    if pd.api.types.is_string_dtype(series.dtype):
        return series
    if pd.api.types.is_float_dtype(series.dtype):
        whole = series.dropna()
        if (whole == np.floor(whole)).all():
            series = series.astype("Int64")
    return series.astype("str").where(series.notna())


def _typed(raw: RawTable, spec: TableSpec, model: StageModel) -> tuple[pd.DataFrame, list[Problem]]:
    frame = raw.frame
    problems: list[Problem] = []
    out = {}
    for column in frame.columns:
        values = frame[column]
        if column in spec.timestamps:
            values, found = parse_timestamps(
                values,
                tz=model.timezone,
                file=raw.file,
                column=column,
                offset=raw.row_offset,
                date_order=model.date_order,
            )
            problems.extend(found)
        elif column in spec.numbers:
            values, found = parse_numbers(
                values,
                file=raw.file,
                column=column,
                offset=raw.row_offset,
                decimal_comma=raw.delimiter == ";",
            )
            problems.extend(found)
        elif column in spec.columns:
            values = _ids(values)
            if pd.api.types.is_string_dtype(values.dtype):
                stripped = values.str.strip()
                # CSV cells: trim the spaces spreadsheets leave around text; in every format, text that is
                # empty or only spaces is missing (a CSV reader says so of an empty cell; Parquet keeps '')
                blank = stripped.eq("") & values.notna()
                if raw.delimiter is not None:
                    values = stripped.where(values.notna())
                if blank.any():
                    values = values.where(~blank)
        out[column] = values
    typed = pd.DataFrame(out, index=frame.index)
    if "close_date" in typed:
        typed["close_date"] = typed["close_date"].dt.normalize()
    return typed, problems


def _drop_duplicates(
    frame: pd.DataFrame, file: str, offset: int, codes: np.ndarray | None, time_column: str | None
) -> tuple[pd.DataFrame, np.ndarray | None, list[Problem], int]:
    if frame.empty:
        return frame, codes, [], 0
    dup = duplicated_rows(frame, codes, time_column)
    n = int(dup.sum())
    if not n:
        return frame, codes, [], 0
    rows = tuple(int(i) + offset for i in frame.index[dup][:MAX_SHOWN])
    return frame[~dup], (None if codes is None else codes[~dup]), [duplicate_rows_problem(n, rows, file)], n


def duplicate_rows_problem(n: int, rows: tuple[int, ...], file: str) -> Problem:
    """The warning for ``n`` exact duplicate rows of a table (``rows``: the first few, as a person numbers them)."""
    return Problem(
        "duplicate_rows",
        "warning",
        f"{plural(n, 'row', verb=('repeats', 'repeat'))} an earlier row exactly; the repeats were dropped.",
        file=file,
        rows=rows,
        count=n,
    )


def load_tables(path: str | Path, skip: tuple[str, ...] = ()) -> LoadedTables:
    """Read and check every file of a log folder. Never raises for problems in the data.

    The optional tables named in ``skip`` are left out, as if their files were absent.
    """
    folder = Path(path)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        result = LoadedTables(model=None)
        result.problems.add(
            Problem(
                "missing_folder",
                "error",
                f"The log folder {folder} {what}. A log is a folder with salesmetrics.yaml, deals and "
                "stage_changes files (docs/log-format.md); `salesmetrics import` makes one from a CRM export.",
            )
        )
        return result
    model, config_problems = load_config(folder)
    result = LoadedTables(model=model)
    result.problems.extend(config_problems)

    raws: dict[str, RawTable] = {}
    for spec in TABLES:
        if spec.name in skip and not spec.required_table:
            continue
        file_path, found = find_table_file(folder, spec.name)
        result.problems.extend(found)
        if found:
            continue
        if file_path is None:
            if spec.required_table:
                files = sorted(p.name for p in folder.iterdir())
                result.problems.add(
                    Problem(
                        "missing_file",
                        "error",
                        f"Required table '{spec.name}' is missing: expected {spec.name}.csv or "
                        f"{spec.name}.parquet. Files found: {listed(files)}.",
                        file=f"{spec.name}.csv",
                    )
                )
            continue
        raw, found = read_raw_table(file_path, spec.name)
        result.problems.extend(found)
        if raw is None:
            continue
        if raw.frame.empty:
            # A snapshot export (history: partial) may know no dated stage entries at all.
            partial = model is not None and model.history == "partial"
            severity = "error" if spec.required_table and not (partial and spec.name == "stage_changes") else "warning"
            result.problems.add(empty_table_problem(severity, bool(raw.frame.columns.size), raw.file))
            if severity == "error" or not raw.frame.columns.size:
                continue
        missing = _column_problems(raw, spec)
        result.problems.extend(missing)
        if not missing:
            raws[spec.name] = raw

    if model is None:
        return result

    for spec in TABLES:
        raw = raws.get(spec.name)
        if raw is None:
            continue
        typed, found = _typed(raw, spec, model)
        result.problems.extend(found)
        codes = None
        deals = result.tables.get("deals")
        if spec.name in EVENT_TIME and deals is not None:
            codes = index_in(typed["deal_id"], deals["deal_id"])
        time_column = EVENT_TIME.get(spec.name)
        typed, codes, found, n_dup = _drop_duplicates(typed, raw.file, raw.row_offset, codes, time_column)
        if codes is not None:
            result.deal_codes[spec.name] = codes
        result.problems.extend(found)
        result.duplicates_dropped[spec.name] = n_dup
        unparsed = {  # cells that failed to parse (or lie out of range) were reported already: not again as missing
            c: typed.index[typed[c].isna() & raw.frame.loc[typed.index, c].notna()]
            for c in spec.timestamps + spec.numbers
            if c in typed
        }
        result.unparsed[spec.name] = unparsed
        result.problems.extend(schema_problems(typed, spec, model, raw.file, raw.row_offset, unparsed))
        result.tables[spec.name] = typed
        result.files[spec.name] = raw.file
        result.row_offsets[spec.name] = raw.row_offset

    _cross_table_checks(result, model)
    return result


def empty_table_problem(severity: str, header: bool, file: str) -> Problem:
    """The problem of a table file with no rows (``header``: it names its columns)."""
    return Problem("empty_table", severity, f"The table has no rows{'' if header else ' and no header'}.", file=file)


def _cross_table_checks(result: LoadedTables, model: StageModel) -> None:
    deals = result.tables.get("deals")
    if deals is None:
        return
    ids = deals["deal_id"]
    created = epoch(deals["created_at"])
    no_time = np.iinfo(np.int64).min
    for name, time_column in EVENT_TIME.items():
        events = result.tables.get(name)
        if events is None or events.empty or name not in result.deal_codes:
            continue
        file, offset = result.files[name], result.row_offsets[name]
        codes = result.deal_codes[name]
        unknown = (codes < 0) & events["deal_id"].notna().to_numpy()
        if unknown.any():
            bad = events.loc[unknown, "deal_id"]
            distinct = bad.drop_duplicates()
            result.problems.add(
                Problem(
                    "unknown_deal",
                    "error",
                    f"{plural(len(bad), 'row', verb=('refers', 'refer'))} to "
                    f"{plural(len(distinct), 'deal id')} that {agree(len(distinct), 'is', 'are')} not in the "
                    "deals table.",
                    file=file,
                    column="deal_id",
                    rows=tuple(int(i) + offset for i in bad.index[:MAX_SHOWN]),
                    values=tuple(distinct.iloc[:MAX_SHOWN]),
                    count=len(bad),
                    expected="a deal_id listed in the deals table",
                )
            )
        if not len(created):
            continue
        created_at = created[np.where(codes >= 0, codes, 0)]
        event_time = epoch(events[time_column])
        early = (codes >= 0) & (created_at != no_time) & (event_time != no_time) & (event_time < created_at)
        if early.any():
            rows = events.index[early]
            result.problems.add(
                event_before_creation_problem(
                    int(early.sum()),
                    tuple(int(i) + offset for i in rows[:MAX_SHOWN]),
                    tuple(str(v) for v in events.loc[rows[:MAX_SHOWN], "deal_id"]),
                    file,
                    time_column,
                )
            )
    changes = result.tables.get("stage_changes")
    if changes is not None:
        codes = result.deal_codes.get("stage_changes", np.array([], dtype=np.int64))
        has_stage = np.zeros(len(ids), dtype=bool)
        has_stage[codes[codes >= 0]] = True
        without = ids[~has_stage & ids.notna().to_numpy()]
        if len(without):
            result.problems.add(
                deal_without_stages_problem(len(without), tuple(without.iloc[:MAX_SHOWN]), result.files["deals"])
            )
    reported = result.unparsed.get("deals", {}).get("created_at", pd.Index([]))
    missing = deals["created_at"].isna() & ~deals.index.isin(reported)
    missing_created = int(missing.sum())
    if missing_created:
        rows = deals.index[missing]
        shown = tuple(int(i) + result.row_offsets["deals"] for i in rows[:MAX_SHOWN])
        result.problems.add(missing_created_at_problem(missing_created, shown, result.files["deals"]))


def event_before_creation_problem(
    n: int, rows: tuple[int, ...], deal_ids: tuple[str, ...], file: str, column: str
) -> Problem:
    """The warning for ``n`` events dated before their deal's created_at (the first few rows and their deal ids)."""
    return Problem(
        "event_before_creation",
        "warning",
        f"{plural(n, 'row', verb=('is', 'are'))} dated before "
        "their deal's created_at; they are kept. "
        "Check the deal's created_at, or the time zone of one of the two files.",
        file=file,
        column=column,
        rows=rows,
        values=deal_ids,
        count=n,
        expected="a time at or after the deal's created_at",
    )


def deal_without_stages_problem(n: int, deal_ids: tuple[str, ...], file: str) -> Problem:
    """The warning for ``n`` deals with no row in stage_changes (the first few deal ids)."""
    return Problem(
        "deal_without_stages",
        "warning",
        f"{plural(n, 'deal', verb=('has', 'have'))} no row in stage_changes, so "
        f"{agree(n, 'its stage is', 'their stage is')} unknown; metrics treat {agree(n, 'it', 'them')} as never added.",
        file=file,
        column="deal_id",
        values=deal_ids,
        count=n,
    )


def missing_created_at_problem(n: int, rows: tuple[int, ...], file: str) -> Problem:
    """The warning for ``n`` deals without a created_at (the first few rows)."""
    return Problem(
        "missing_created_at",
        "warning",
        f"{plural(n, 'deal', verb=('has', 'have'))} no created_at; {agree(n, 'its', 'their')} age is unknown.",
        file=file,
        column="created_at",
        rows=rows,
        count=n,
    )
