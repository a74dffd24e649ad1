"""Building the log from what an adapter read: event frames, validation, and problems restated in export terms.

Problems the log validator finds in the tables an adapter built are translated back to the export rows they
came from (:class:`Provenance`), so a user never has to look inside a temporary file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics.adapters._source import Collector, SourceTable
from salesmetrics.exceptions import LogValidationError, Problem
from salesmetrics.log.config import StageModel
from salesmetrics.log.saleslog import SalesLog, write_log


@dataclass
class Provenance:
    """Where each row of a built table came from: the export file and line, and the export column of each column.

    ``columns`` maps a log column to an export column, or to an array giving the export column row by row.
    """

    files: np.ndarray
    lines: np.ndarray
    columns: dict[str, object] = field(default_factory=dict)
    default_file: str | None = None

    @classmethod
    def rows_of(cls, src: SourceTable, index: pd.Index, columns: dict[str, object] | None = None) -> Provenance:
        lines = src.lines[np.asarray(index, dtype="int64")]
        return cls(np.full(len(lines), src.file, dtype=object), lines, dict(columns or {}), src.file)

    @classmethod
    def concat(cls, parts: Sequence[Provenance], default_file: str | None = None) -> Provenance:
        if not parts:
            return cls(np.array([], dtype=object), np.array([], dtype="int64"), {}, default_file)
        keys = {k for p in parts for k in p.columns}
        columns: dict[str, object] = {}
        for key in keys:
            pieces = []
            for p in parts:
                value = p.columns.get(key, key)
                pieces.append(
                    np.asarray(value, dtype=object)
                    if not isinstance(value, str)
                    else np.full(len(p.lines), value, dtype=object)
                )
            columns[key] = np.concatenate(pieces)
        return cls(
            np.concatenate([p.files for p in parts]),
            np.concatenate([p.lines for p in parts]),
            columns,
            default_file or parts[0].default_file,
        )

    def take(self, positions: np.ndarray) -> Provenance:
        positions = np.asarray(positions, dtype="int64")
        columns = {
            k: (v if isinstance(v, str) else np.asarray(v, dtype=object)[positions]) for k, v in self.columns.items()
        }
        return Provenance(self.files[positions], self.lines[positions], columns, self.default_file)


def _translate(problem: Problem, provenance: dict[str, Provenance]) -> Problem:
    """A problem about a built table, restated in terms of the export rows and columns it came from."""
    table = Path(problem.file).stem if problem.file else None
    prov = provenance.get(table) if table else None
    if prov is None:
        return problem
    positions = [r - 1 for r in problem.rows if 0 <= r - 1 < len(prov.lines)]
    files = list(dict.fromkeys(str(prov.files[i]) for i in positions))
    file = " / ".join(files) if files else (prov.default_file or problem.file)
    rows = tuple(int(prov.lines[i]) for i in positions)
    column = problem.column
    if column is not None and column in prov.columns:
        mapped = prov.columns[column]
        if isinstance(mapped, str):
            column = mapped
        elif positions:
            column = str(np.asarray(mapped, dtype=object)[positions[0]])
    message = problem.message
    if problem.code == "empty_table":
        message = f"No dated rows could be built for the {table} table from this export."
    elif table != "deals" or problem.code not in ("missing_created_at", "duplicate_id", "negative_amount"):
        message = f"[{table}] {message}"
    return dataclasses.replace(problem, file=file, rows=rows, column=column, message=message)


def finish(
    collector: Collector,
    model: StageModel,
    deals: pd.DataFrame,
    stage_changes: pd.DataFrame,
    provenance: dict[str, Provenance],
    *,
    close_date_changes: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
    amount_changes: pd.DataFrame | None = None,
    out: str | Path | None = None,
    format: str = "parquet",
    overwrite: bool = False,
) -> SalesLog:
    """Validate the built tables as a log, restate problems in export terms, and write the log when asked."""
    collector.raise_if_errors()
    if collector.notes:
        model = dataclasses.replace(model, notes=(*model.notes, *collector.notes))
    deals = deals.reset_index(drop=True)
    stage_changes = stage_changes.reset_index(drop=True)
    try:
        log = SalesLog.from_frames(model, deals, stage_changes, activities, close_date_changes, amount_changes)
    except LogValidationError as exc:
        raise collector.failure(_translate(p, provenance) for p in exc.problems) from None
    problems = tuple(collector.items) + tuple(_translate(p, provenance) for p in log.problems)
    log = dataclasses.replace(log, problems=problems)
    if out is not None:
        write_log(log, out, format=format, overwrite=overwrite)
    return log


def empty_stage_changes(tz: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": pd.Series([], dtype="str"),
            "changed_at": pd.Series([], dtype=f"datetime64[us, {tz}]"),
            "stage": pd.Series([], dtype="str"),
        }
    )


def events_frame(deal_ids, times, stages) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": pd.Series(np.asarray(deal_ids, dtype=object), dtype="str"),
            "changed_at": pd.Series(times).reset_index(drop=True),
            "stage": pd.Series(np.asarray(stages, dtype=object), dtype="str"),
        }
    )
