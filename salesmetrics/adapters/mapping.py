"""A generic adapter driven by a small YAML file that maps export columns to log columns.

The format is documented, with an example, in ``docs/adapters.md``::

    name: Acme CRM
    timezone: Europe/Berlin
    stages: [Lead, Demo, Proposal]
    won: [Won]
    lost: [Lost]
    deals:
      file: opportunities.csv
      columns: {deal_id: "Opp #", owner: Rep, created_at: Opened, amount: Value}
    stage_changes:
      file: stage_log.csv
      columns: {deal_id: "Opp #", changed_at: When, stage: Stage}
      values: {stage: {"Closed - Won": Won, "Closed - Lost": Lost}}
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from salesmetrics.adapters._build import Provenance, empty_stage_changes, finish
from salesmetrics.adapters._columns import find_column, parse_amounts, parse_times, unknown_stage_problem
from salesmetrics.adapters._settings import as_names, check_output
from salesmetrics.adapters._source import Collector, SourceTable, read_source
from salesmetrics.exceptions import ProblemList, UsageError
from salesmetrics.log.config import STAGE_MODEL_KEYS, StageModel, parse_stage_model
from salesmetrics.log.saleslog import SalesLog
from salesmetrics.log.schemas import ACTIVITIES, CLOSE_DATE_CHANGES, DEALS, STAGE_CHANGES, TableSpec

TOP_KEYS = (*STAGE_MODEL_KEYS, "deals", "stage_changes", "activities", "close_date_changes")
TABLE_KEYS = ("file", "columns", "values", "keep", "deal_id", "entered")
SPECS = {
    "deals": DEALS,
    "stage_changes": STAGE_CHANGES,
    "activities": ACTIVITIES,
    "close_date_changes": CLOSE_DATE_CHANGES,
}


def _unknown_keys(found, allowed, where: str) -> None:
    extra = [k for k in found if k not in allowed]
    if extra:
        hints = []
        for key in extra:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise UsageError(f"{where}: unknown keys {', '.join(hints)}. Allowed: {', '.join(allowed)}.")


def _resolve_file(name: str, sources: Sequence[Path], base: Path, table: str) -> Path:
    """A table's file: one of ``sources`` with that name (or path), else a path relative to the mapping file."""
    for src in sources:
        if src.name == name or str(src) == name or src.resolve() == (base / name).resolve():
            return src
    candidate = base / name
    if candidate.exists():
        return candidate
    given = ", ".join(str(s) for s in sources) or "none"
    raise UsageError(
        f"The mapping's {table} file {name!r} was not found: it is neither one of the files given ({given}) nor "
        f"a file beside the mapping ({candidate})."
    )


def _read_mapping(path: Path) -> dict:
    if not path.exists():
        raise UsageError(f"The mapping file {path} does not exist.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        raise UsageError(f"{path.name} is not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path.name} must be a mapping with keys such as stages, deals and stage_changes.")
    _unknown_keys(raw, TOP_KEYS, path.name)
    for table in ("deals", "stage_changes"):
        if table not in raw and not (table == "stage_changes" and raw.get("history") == "partial"):
            raise UsageError(f"{path.name} has no '{table}' section; see docs/adapters.md for the format.")
    return raw


def _stage_model(raw: dict, file: str) -> StageModel:
    """The mapping's stage model (read as ``salesmetrics.yaml`` reads its own); a usage error names each mistake.

    As in ``--option`` text, a stage list may also be written ``"A, B, C"`` (``|`` separates instead when present).
    """
    lists = {key: as_names(raw[key]) for key in ("stages", "won", "lost") if isinstance(raw.get(key), str)}
    model, problems = parse_stage_model({**raw, **{key: list(names or ()) for key, names in lists.items()}}, file)
    if model is None:
        errors = ProblemList([p for p in problems if p.severity == "error"])
        raise UsageError(str(errors.items[0]) if len(errors) == 1 else f"{file}:\n{errors.numbered()}")
    return model


def _column_value(src: SourceTable, spec: object, log_column: str, c: Collector, where: str) -> tuple[pd.Series, str]:
    """One log column from a mapping entry: an export column name, or ``{value: X}`` for a constant."""
    if isinstance(spec, dict):
        if set(spec) != {"value"}:
            raise UsageError(f"{where}: column {log_column!r} must be an export column name or {{value: CONSTANT}}.")
        return pd.Series(str(spec["value"]), index=src.frame.index, dtype=object), f"(constant {spec['value']!r})"
    name = str(spec)
    found = find_column(src, name, collector=c, why=f" (mapped to {log_column})")
    if found is None:
        return pd.Series(None, index=src.frame.index, dtype=object), name
    return src.text(found), found


def _table(
    table: str,
    section: dict,
    sources: Sequence[Path],
    base: Path,
    c: Collector,
    *,
    tz: str,
    date_order: str,
    mapping_name: str,
) -> tuple[pd.DataFrame, Provenance, SourceTable] | None:
    where = f"{mapping_name}, section {table}"
    if not isinstance(section, dict):
        raise UsageError(f"{where} must be a mapping with 'file' and 'columns'.")
    _unknown_keys(section, TABLE_KEYS, where)
    if "file" not in section:
        raise UsageError(f"{where} has no 'file'.")
    spec: TableSpec = SPECS[table]
    src = read_source(_resolve_file(str(section["file"]), sources, base, table), c, table)
    if src is None:
        return None
    if table == "stage_changes" and "entered" in section:
        return _wide_stage_changes(section, src, c, tz=tz, date_order=date_order, where=where)
    columns = section.get("columns") or {}
    if not isinstance(columns, dict):
        raise UsageError(f"{where}: 'columns' must map log columns to export columns.")
    _unknown_keys(columns, spec.columns, f"{where}, columns")
    missing = [k for k in spec.required if k not in columns]
    if missing:
        raise UsageError(f"{where}: 'columns' must name {', '.join(missing)} (log column: export column).")
    out: dict[str, pd.Series] = {}
    origin: dict[str, str] = {}
    for log_column, entry in columns.items():
        values, origin[log_column] = _column_value(src, entry, log_column, c, where)
        out[log_column] = values
    renames = section.get("values") or {}
    if not isinstance(renames, dict) or not all(isinstance(v, dict) for v in renames.values()):
        raise UsageError(f"{where}: 'values' must map a log column to {{export value: log value}}.")
    for log_column, table_ in renames.items():
        if log_column in out:
            out[log_column] = out[log_column].replace({str(k): str(v) for k, v in table_.items()})
    if c.has_errors:
        return None
    frame = pd.DataFrame(out, index=src.frame.index)
    for log_column in spec.timestamps:
        if log_column in frame and not origin[log_column].startswith("(constant"):
            frame[log_column] = parse_times(src, origin[log_column], c, tz=tz, date_order=date_order)
    for log_column in spec.numbers:
        if log_column in frame and not origin[log_column].startswith("(constant"):
            frame[log_column] = parse_amounts(src, origin[log_column], c)
    if "close_date" in frame:
        frame["close_date"] = frame["close_date"].dt.normalize()
    if table == "deals":
        keep = section.get("keep", "all")
        used = {v for v in origin.values()}
        if keep == "all":
            extra = [col for col in src.columns if col not in used]
        elif keep in (None, "none", False):
            extra = []
        elif isinstance(keep, list):
            extra = []
            for name in keep:
                found = find_column(src, str(name), collector=c, why=" (listed in keep)")
                if found:
                    extra.append(found)
        else:
            raise UsageError(f"{where}: 'keep' must be 'all', 'none' or a list of export columns.")
        for column in extra:
            target = column if column not in spec.columns else f"source_{column}"
            frame[target] = src.frame[column]
    return frame, Provenance.rows_of(src, src.frame.index, origin), src


def _wide_stage_changes(section, src, c, *, tz, date_order, where):
    """``entered: {Stage: column}``: one stage change per non-empty cell, like HubSpot's 'Date entered' columns.

    A stage may list several columns (``{Demo: [demo_on, old_demo_on]}``, a stage renamed in the source); a
    deal's entries into one stage with no other stage between them are one entry, the earlier.
    """
    entered = section["entered"]
    if not isinstance(entered, dict) or not entered:
        raise UsageError(f"{where}: 'entered' must map each stage to the column holding when deals entered it.")
    id_name = section.get("deal_id")
    if not id_name:
        raise UsageError(f"{where}: with 'entered', name the deal id column with 'deal_id: COLUMN'.")
    id_col = find_column(src, str(id_name), collector=c, why=" (the deal_id)")
    # A stage renamed in the source system may have a column under each name: ``Demo: [demo_on, demo_old_on]``.
    found = [
        (stage, find_column(src, str(col), collector=c, why=f" (entry into {stage})"))
        for stage, cols in entered.items()
        for col in (cols if isinstance(cols, list) else [cols])
    ]
    if c.has_errors:
        return None
    parts = []
    for order, (stage, column) in enumerate(found):
        times = parse_times(src, column, c, tz=tz, date_order=date_order)
        present = times.notna()
        parts.append(
            pd.DataFrame(
                {
                    "deal_id": src.text(id_col)[present],
                    "changed_at": times[present],
                    "stage": str(stage),
                    "_order": order,
                    "_row": present[present].index,
                    "_column": column,
                }
            )
        )
    events = pd.concat(parts, ignore_index=True).sort_values(["_row", "changed_at", "_order"], kind="stable")
    # one stage dated in two of its columns with no other stage between: one entry, the earlier
    events = events[~events.groupby("_row", sort=False)["stage"].shift().eq(events["stage"])]
    prov = Provenance(
        np.full(len(events), src.file, dtype=object),
        src.lines[events["_row"].to_numpy(dtype="int64")],
        {
            "deal_id": id_col,
            "changed_at": events["_column"].to_numpy(dtype=object),
            "stage": events["_column"].to_numpy(dtype=object),
        },
        src.file,
    )
    frame = events[["deal_id", "changed_at", "stage"]].reset_index(drop=True)
    frame["deal_id"] = frame["deal_id"].astype("str")
    frame["stage"] = frame["stage"].astype("str")
    return frame, prov, src


def import_mapped(
    sources: Sequence[str | Path] | str | Path,
    mapping_yaml: str | Path,
    *,
    out: str | Path | None = None,
    format: str = "parquet",
    overwrite: bool = False,
) -> SalesLog:
    """Build a sales log from any export, with a YAML file mapping its columns to the log's columns.

    Each table section names a ``file`` (one of ``sources`` by name, or a path relative to the mapping file)
    and ``columns`` as ``log column: export column`` (or ``{value: CONSTANT}``); ``values`` renames cells
    (for example stage labels), ``keep`` chooses which other deal columns become attributes. A stage_changes
    section may instead give ``deal_id`` and ``entered: {Stage: column}`` for one column per stage. The stage
    model (``stages``, ``won``, ``lost``, ``timezone``, ``history``, ``notes``, ...) sits at the top level.
    The format, with an example, is in ``docs/adapters.md``.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log = sm.import_mapped(["deals.csv", "history.csv"], "mapping.yaml", out="crm-log")  # doctest: +SKIP
    """
    read = [sources] if isinstance(sources, (str, Path)) else list(sources)
    check_output(out, format, overwrite, inputs=[*read, mapping_yaml])
    mapping_path = Path(mapping_yaml)
    raw = _read_mapping(mapping_path)
    base = mapping_path.parent
    paths = [Path(sources)] if isinstance(sources, (str, Path)) else [Path(s) for s in sources]
    for p in paths:
        if not p.exists():
            raise UsageError(f"The file {p} does not exist.")
    model = _stage_model(raw, mapping_path.name)
    tz, date_order = model.timezone, model.date_order
    c = Collector("mapped")
    built: dict[str, pd.DataFrame] = {}
    provenance: dict[str, Provenance] = {}
    for table in ("deals", "stage_changes", "activities", "close_date_changes"):
        if table not in raw:
            continue
        result = _table(table, raw[table], paths, base, c, tz=tz, date_order=date_order, mapping_name=mapping_path.name)
        if result is None:
            continue
        frame, prov, src = result
        if table == "stage_changes":
            stage_col = prov.columns.get("stage")
            problem = (
                unknown_stage_problem(
                    src,
                    frame["stage"].set_axis(frame.index),
                    model,
                    stage_col if isinstance(stage_col, str) else "stage",
                    f"List it in stages, won or lost of {mapping_path.name}, or rename it under values: stage:.",
                )
                if isinstance(stage_col, str)
                else None
            )
            if problem is not None:
                c.add(problem)
        built[table] = frame
        provenance[table] = prov
    c.raise_if_errors()
    stage_changes = built.get("stage_changes", empty_stage_changes(tz))
    return finish(
        c,
        model,
        built["deals"],
        stage_changes,
        provenance,
        activities=built.get("activities"),
        close_date_changes=built.get("close_date_changes"),
        out=out,
        format=format,
        overwrite=overwrite,
    )
