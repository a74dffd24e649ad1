"""The sales log: a stage model and its tables, read from and written to a folder."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import pandas as pd

from salesmetrics._util.atomic import atomic_folder, writing
from salesmetrics._util.output import check_output_folder as check_folder
from salesmetrics.exceptions import LogValidationError, Problem, ProblemList, UsageError
from salesmetrics.log.config import CONFIG_FILE, StageModel
from salesmetrics.log.quotas import check_quotas
from salesmetrics.log.schemas import ACTIVITIES, CLOSE_DATE_CHANGES, DEALS, STAGE_CHANGES, TABLES, TableSpec
from salesmetrics.log.validation import load_tables


def _empty(spec: TableSpec, tz: str) -> pd.DataFrame:
    columns = {}
    for column in spec.columns:
        if column in spec.timestamps:
            columns[column] = pd.Series([], dtype=f"datetime64[us, {tz}]")
        elif column in spec.numbers:
            columns[column] = pd.Series([], dtype="float64")
        else:
            columns[column] = pd.Series([], dtype="str")
    return pd.DataFrame(columns)


def _with_optional_columns(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    missing = [c for c in spec.optional if c not in frame.columns]
    if not missing:
        return frame
    frame = frame.copy()
    for column in missing:
        frame[column] = pd.Series(float("nan") if column in spec.numbers else None, index=frame.index).astype(
            "float64" if column in spec.numbers else "str"
        )
    return frame


@dataclass(frozen=True)
class LogSummary:
    """What a log holds, for a person to check at a glance (``SalesLog.summary()``)."""

    name: str | None
    deals: int
    rows: dict[str, int]
    first_event: pd.Timestamp | None
    last_event: pd.Timestamp | None
    owners: int
    teams: int
    open_deals: int
    won_deals: int
    lost_deals: int
    current_stages: dict[str, int]
    stages: tuple[str, ...]
    won: tuple[str, ...]
    lost: tuple[str, ...]
    timezone: str
    history: str
    notes: tuple[str, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # the owners and teams counted, so that the summaries of a partitioned log's parts add up (not shown)
    owner_names: tuple[str, ...] = field(default=(), repr=False, compare=False)
    team_names: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __str__(self) -> str:
        fmt = "%Y-%m-%d"
        span = (
            f"{self.first_event.strftime(fmt)} to {self.last_event.strftime(fmt)}"
            if self.first_event is not None and self.last_event is not None
            else "no dated events"
        )
        lines = [
            f"Log: {self.name or '(unnamed)'}  (times in {self.timezone})",
            f"Deals: {self.deals:,}  (open {self.open_deals:,}, won {self.won_deals:,}, lost {self.lost_deals:,})",
            "Rows: " + ", ".join(f"{k} {v:,}" for k, v in self.rows.items()),
            f"Dates: {span}",
            f"Owners: {self.owners:,}  Teams: {self.teams:,}",
            "Stages: " + " > ".join(self.stages) + f"  | won: {', '.join(self.won)} | lost: {', '.join(self.lost)}",
            "Deals by current stage: " + ", ".join(f"{k} {v:,}" for k, v in self.current_stages.items()),
            f"History: {self.history}",
        ]
        lines += [f"  - {note}" for note in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(str(self)) + "</pre>"


#: The key of :attr:`LogSummary.current_stages` that counts the deals without a known current stage.
UNKNOWN_STAGE = "(stage unknown)"


def stage_counts_in_order(counts, stages) -> dict[str, int]:
    """Deals per current stage as :attr:`LogSummary.current_stages` shows them: in the order of ``stages`` (the
    model's ``all_stages``), stages without deals left out, :data:`UNKNOWN_STAGE` last. Counts of logs of
    different deals added up give those of the log they make together.

    >>> stage_counts_in_order({"Won": 2, "Lead": 1, UNKNOWN_STAGE: 0, "Demo": 0}, ["Lead", "Demo", "Won"])
    {'Lead': 1, 'Won': 2}
    """
    ordered = {stage: int(counts.get(stage, 0)) for stage in stages if counts.get(stage, 0)}
    if counts.get(UNKNOWN_STAGE, 0):
        ordered[UNKNOWN_STAGE] = int(counts[UNKNOWN_STAGE])
    return ordered


def summary_of_parts(parts: list[LogSummary], problems) -> LogSummary:
    """The summary of a log made of logs of different deals (a partitioned log's parts) from theirs: counts added,
    owners and teams united, the earliest first and the latest last event; ``problems`` are the whole log's (its
    warnings are shown). Equal to the summary of the parts read end to end."""
    rows: dict[str, int] = {}
    stages: dict[str, int] = {}
    for part in parts:
        for name, count in part.rows.items():
            rows[name] = rows.get(name, 0) + count
        for stage, count in part.current_stages.items():
            stages[stage] = stages.get(stage, 0) + count
    firsts = [p.first_event for p in parts if p.first_event is not None]
    lasts = [p.last_event for p in parts if p.last_event is not None]
    owners = tuple(sorted(set().union(*(p.owner_names for p in parts))))
    teams = tuple(sorted(set().union(*(p.team_names for p in parts))))
    one = parts[0]
    return replace(
        one,
        deals=sum(p.deals for p in parts),
        rows=rows,
        first_event=min(firsts) if firsts else None,
        last_event=max(lasts) if lasts else None,
        owners=len(owners),
        teams=len(teams),
        open_deals=sum(p.open_deals for p in parts),
        won_deals=sum(p.won_deals for p in parts),
        lost_deals=sum(p.lost_deals for p in parts),
        current_stages=stage_counts_in_order(stages, one.stages + one.won + one.lost),
        warnings=tuple(str(p) for p in problems if p.severity == "warning"),
        owner_names=owners,
        team_names=teams,
    )


@dataclass(frozen=True)
class SalesLog:
    """A validated sales log: the stage model and the four tables.

    Treat it as a value: functions take a log and return new tables or logs; none changes it. Build one with
    :func:`~salesmetrics.log.reading.read_log` (which validates) or from DataFrames with :meth:`from_frames`.

    Timestamps are tz-aware in the model's time zone; ``close_date`` is midnight of the expected day.
    Each table keeps its file order, and its index is the row's position in the file (0-based).

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.read_log("datasets/demo")
    >>> log.summary().deals, log.model.commit_stage
    (2000, 'Commit')
    """

    model: StageModel
    deals: pd.DataFrame
    stage_changes: pd.DataFrame
    activities: pd.DataFrame
    close_date_changes: pd.DataFrame
    source: str | None = None
    problems: tuple[Problem, ...] = ()
    amount_changes: pd.DataFrame | None = None  # optional table: None or empty when the log has none

    @classmethod
    def from_frames(
        cls,
        model: StageModel,
        deals: pd.DataFrame,
        stage_changes: pd.DataFrame,
        activities: pd.DataFrame | None = None,
        close_date_changes: pd.DataFrame | None = None,
        amount_changes: pd.DataFrame | None = None,
    ) -> SalesLog:
        """A log from in-memory tables; it is written and read back so it gets the same checks as a file."""
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "log"
            with writing(target):  # a full temporary disk names the folder, not a traceback
                _write_folder(
                    model,
                    {
                        "deals": deals,
                        "stage_changes": stage_changes,
                        "activities": activities,
                        "close_date_changes": close_date_changes,
                        "amount_changes": amount_changes,
                    },
                    target,
                    "parquet",
                )
            log, problems = check_log(target)  # pandas validates frames made in memory
            if log is None:
                raise LogValidationError(str(target), problems)
        return cls(
            log.model,
            log.deals,
            log.stage_changes,
            log.activities,
            log.close_date_changes,
            None,
            log.problems,
            log.amount_changes,
        )

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "deals": self.deals,
            "stage_changes": self.stage_changes,
            "activities": self.activities,
            "close_date_changes": self.close_date_changes,
        } | ({"amount_changes": self.amount_changes} if self.has_amount_changes else {})

    @property
    def has_amount_changes(self) -> bool:
        """Whether the log has an amount history (the optional ``amount_changes`` table, with rows)."""
        return self.amount_changes is not None and len(self.amount_changes) > 0

    def current_stage(self) -> pd.Series:
        """Each deal's latest stage (time order; ties keep file order), indexed by deal_id."""
        changes = self.stage_changes.sort_values("changed_at", kind="stable")
        return changes.groupby("deal_id", sort=False)["stage"].last()

    def summary(self) -> LogSummary:
        """Deals, rows per table, date range, owners, stages, and what the log does not know."""
        times = [
            t[c].dropna()
            for t, c in (
                (self.deals, "created_at"),
                (self.stage_changes, "changed_at"),
                (self.activities, "occurred_at"),
                (self.close_date_changes, "changed_at"),
            )
            if len(t)
        ]
        times = [t for t in times if len(t)]
        first = min(t.min() for t in times) if times else None
        last = max(t.max() for t in times) if times else None
        current = self.current_stage()
        if "snapshot_stage" in self.deals:  # snapshot logs: the export's stage where no dated entry exists
            snapshot = self.deals.set_index("deal_id")["snapshot_stage"].dropna()
            snapshot = snapshot[snapshot.isin(self.model.all_stages) & ~snapshot.index.isin(current.index)]
            current = pd.concat([current, snapshot])
        counts = {**current.value_counts().to_dict(), UNKNOWN_STAGE: len(self.deals) - len(current)}
        ordered = stage_counts_in_order(counts, self.model.all_stages)
        won = int(current.isin(self.model.won).sum())
        lost = int(current.isin(self.model.lost).sum())
        return LogSummary(
            name=self.model.name,
            deals=len(self.deals),
            rows={name: len(t) for name, t in self.tables.items()},
            first_event=first,
            last_event=last,
            owners=int(self.deals["owner"].nunique()),
            teams=int(self.deals["team"].nunique()),
            open_deals=int(current.isin(self.model.stages).sum()),
            won_deals=won,
            lost_deals=lost,
            current_stages=ordered,
            stages=self.model.stages,
            won=self.model.won,
            lost=self.model.lost,
            timezone=self.model.timezone,
            history=self.model.history,
            notes=self.model.notes,
            warnings=tuple(str(p) for p in self.problems if p.severity == "warning"),
            owner_names=tuple(sorted(self.deals["owner"].dropna().unique())),
            team_names=tuple(sorted(self.deals["team"].dropna().unique())),
        )

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __repr__(self) -> str:
        s = self.summary()
        return f"<SalesLog {s.name or ''} deals={s.deals} stage_changes={s.rows['stage_changes']} " + (
            f"activities={s.rows['activities']}>"
        )


def check_log(path: str | os.PathLike) -> tuple[SalesLog | None, ProblemList]:
    """Read a log folder and return it with every problem found; the log is None when any is an error.

    This is what ``salesmetrics validate`` runs. Use :func:`~salesmetrics.log.reading.read_log` to get an exception
    instead.
    """
    return _check_log(path, ())


def _check_log(path: str | os.PathLike, skip: tuple[str, ...]) -> tuple[SalesLog | None, ProblemList]:
    """:func:`check_log` leaving out the optional tables in ``skip`` (they come back empty)."""
    loaded = load_tables(path, skip)
    if loaded.problems.errors or loaded.model is None:
        return None, loaded.problems
    if "quotas" not in skip and Path(path).is_dir():  # the optional quotas table, checked like the others
        deals = loaded.tables.get("deals")
        deals = _empty(DEALS, loaded.model.timezone) if deals is None else _with_optional_columns(deals, DEALS)
        loaded.problems.extend(check_quotas(path, deals)[1])
        if loaded.problems.errors:
            return None, loaded.problems
    return log_from_tables(loaded.model, loaded.tables, str(path), tuple(loaded.problems)), loaded.problems


def log_from_tables(
    model: StageModel, tables: dict[str, pd.DataFrame], source: str | None, problems: tuple[Problem, ...] = ()
) -> SalesLog:
    """A :class:`SalesLog` of tables already typed and checked (by validation, or by the relational core): optional
    columns added where missing, tables without a file empty."""
    full = {}
    for spec in TABLES:
        frame = tables.get(spec.name)
        full[spec.name] = _empty(spec, model.timezone) if frame is None else _with_optional_columns(frame, spec)
    return SalesLog(
        model=model,
        deals=full["deals"],
        stage_changes=full["stage_changes"],
        activities=full["activities"],
        close_date_changes=full["close_date_changes"],
        source=source,
        problems=problems,
        amount_changes=full["amount_changes"],
    )


#: The file formats a log's tables are written in.
LOG_FORMATS = ("parquet", "csv")


def _write_table(frame: pd.DataFrame, target: Path, fmt: str) -> None:
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target, compression="zstd")
    else:
        out = frame.copy()
        if "close_date" in out:
            out["close_date"] = out["close_date"].dt.strftime("%Y-%m-%d")
        out.to_csv(target, index=False, lineterminator="\n")


def _write_folder(model: StageModel, tables: dict[str, pd.DataFrame | None], target: Path, fmt: str) -> None:
    target.mkdir(parents=True)
    model.write(target / CONFIG_FILE)
    for name, frame in tables.items():
        if frame is None:
            continue
        _write_table(frame, target / f"{name}.{fmt}", fmt)


# Entries a folder written by salesmetrics may hold: only such a folder is ever replaced (with overwrite).
_LOG_ENTRIES = {CONFIG_FILE} | {f"{spec.name}.{ext}" for spec in TABLES for ext in LOG_FORMATS}
_TOOL_ENTRIES = {".DS_Store", ".ipynb_checkpoints"}  # left by file browsers and Jupyter
TRUTH_FOLDER = "truth"  # a simulated log's ground truth
_TRUTH_SUFFIXES = (".parquet", ".csv", ".yaml")


def _foreign_entries(folder: Path) -> list[str]:
    """Entries of ``folder`` that no salesmetrics log writer made (sorted names)."""
    foreign = []
    for entry in folder.iterdir():
        if entry.name in _TOOL_ENTRIES:
            continue
        if entry.name == TRUTH_FOLDER and entry.is_dir() and not entry.is_symlink():
            foreign += [
                f"{TRUTH_FOLDER}/{x.name}"
                for x in entry.iterdir()
                if x.is_dir() or x.is_symlink() or not x.name.endswith(_TRUTH_SUFFIXES)
            ]
        elif entry.name not in _LOG_ENTRIES or entry.is_dir() or entry.is_symlink():
            foreign.append(entry.name)
    return sorted(foreign)


def check_log_format(format: str) -> None:
    """A usage error unless ``format`` is one a log is written in (``parquet`` or ``csv``)."""
    if format not in LOG_FORMATS:
        raise UsageError(f"format must be 'parquet' or 'csv', not {format!r}.")


def check_output_folder(
    target: Path,
    *,
    format: str = "parquet",
    overwrite: bool = False,
    source: str | None = None,
    inputs: Iterable[str | os.PathLike] = (),
    verb: str = "imported",
) -> None:
    """Fail before any work is done when a log folder cannot be written to ``target``.

    Refuses a file in the way and an existing non-empty folder unless ``overwrite``. Even with ``overwrite``
    it refuses a folder holding anything but a salesmetrics log (a replaced folder is deleted whole), the
    folder ``source`` (the log's own input), a folder inside it or holding it, and a folder that is or holds
    any of ``inputs`` (the files being read). A folder that cannot be written to raises
    :class:`~salesmetrics.exceptions.OutputError`. The shared rules are :mod:`salesmetrics._util.output`'s.
    """
    check_log_format(format)
    target = Path(target)
    check_folder(target, logs=[source] if source is not None else (), inputs=inputs, what="the log", verb=verb)
    if not target.exists() or not any(target.iterdir()):
        return
    if not overwrite:
        raise UsageError(
            f"{target} already exists and is not empty; choose a new folder or replace it "
            "(--overwrite on the command line, overwrite=True in Python)."
        )
    foreign = _foreign_entries(target)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise UsageError(
            f"Refusing to replace {target}: it holds {shown}, which no salesmetrics log contains, and a replaced "
            "folder is deleted whole. Choose a new folder, or move those files out first."
        )


def write_log(
    log: SalesLog,
    path: str | os.PathLike,
    format: Literal["parquet", "csv"] = "parquet",
    *,
    overwrite: bool = False,
) -> Path:
    """Write a log folder atomically: into a temporary folder beside ``path``, then renamed into place.

    An existing folder is never replaced unless ``overwrite=True``, and never when it is the folder the log
    was read from. If the final rename fails or is interrupted, the old folder is put back
    (:func:`salesmetrics._util.atomic.atomic_folder`); a full disk or a read-only folder raises
    :class:`~salesmetrics.exceptions.OutputError`. Returns the folder written.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> import tempfile, pathlib
    >>> out = sm.write_log(sm.read_log("datasets/demo"), pathlib.Path(tempfile.mkdtemp()) / "copy", format="csv")
    >>> sorted(p.name for p in out.iterdir())[:2]
    ['activities.csv', 'amount_changes.csv']
    """
    target = Path(path).absolute()  # "." has no parent to stage beside
    check_output_folder(target, format=format, overwrite=overwrite, source=log.source)
    tables = dict(log.tables)
    for name in ("activities", "close_date_changes"):
        if tables[name].empty:
            tables[name] = None
    with atomic_folder(target) as staged:
        _write_folder(log.model, tables, staged, format)
    return target


__all__ = [
    "ACTIVITIES",
    "CLOSE_DATE_CHANGES",
    "DEALS",
    "STAGE_CHANGES",
    "UNKNOWN_STAGE",
    "LogSummary",
    "SalesLog",
    "check_log",
    "stage_counts_in_order",
    "write_log",
]
