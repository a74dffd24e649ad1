"""The tables of a sales log: their columns, and pandera schemas for their values.

The column names here are the public contract of the log format (``docs/log-format.md``).
Schemas run after text cells were parsed into types (``parsing.py``); they check what a value may be
(not missing, one of a vocabulary, not negative, unique) and report every failure at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesmetrics._util.fast import all_in, is_in
from salesmetrics._util.suggest import close_matches
from salesmetrics._util.text import agree, plural, shorten
from salesmetrics.exceptions import MAX_SHOWN, Problem
from salesmetrics.log.config import StageModel

if TYPE_CHECKING:  # pragma: no cover
    import pandera.pandas as pa

from salesmetrics.log.format import (  # noqa: F401 (the format is defined there; these names stay importable here)
    ACTIVITIES,
    AMOUNT_CHANGES,
    CLOSE_DATE_CHANGES,
    DEALS,
    DIRECTIONS,
    EVENT_TIME,
    OUTCOMES,
    RULES,
    STAGE_CHANGES,
    TABLES,
    UNKNOWN_OWNER,
    Rule,
    TableSpec,
)
from salesmetrics.log.format import vocabulary as _vocabulary


def one_of(values: tuple[str, ...] | list[str]) -> pa.Check:
    """Values must be one of ``values`` (missing values pass; nullability is checked separately).

    The same as ``pa.Check.isin`` but vectorised with Arrow, which matters at ten million rows.
    """
    import pandera.pandas as pa

    allowed = list(values)
    return pa.Check(lambda s: is_in(s, allowed), name="isin", error=f"isin({allowed})")


def table_schema(spec: TableSpec, model: StageModel) -> pa.DataFrameSchema:
    """The pandera schema for one table's parsed values under a stage model."""
    import pandera.pandas as pa

    columns: dict[str, pa.Column] = {}
    for column, rule in RULES.get(spec.name, {}).items():
        optional = {} if rule.required else {"required": False}
        if rule.kind == "text":
            checks = one_of(_vocabulary(rule.allowed, model)) if rule.allowed else None
            extra = {"unique": True} if rule.unique else {}
            if checks is not None:
                extra["checks"] = checks
            columns[column] = pa.Column(nullable=rule.nullable, coerce=False, **optional, **extra)
        elif rule.kind == "number":
            checks = [pa.Check.ge(0)] if rule.non_negative else []
            columns[column] = pa.Column(float, checks, nullable=rule.nullable, **optional)
        else:
            columns[column] = pa.Column(nullable=rule.nullable, **optional)
    return pa.DataFrameSchema(columns, strict=False, name=spec.name)


def surely_valid(frame: pd.DataFrame, spec: TableSpec, model: StageModel) -> bool:
    """True when the table's pandera schema would certainly find nothing wrong.

    The same checks as :func:`table_schema`, from the same :data:`RULES`, done directly on the columns (with
    Arrow for text) and only for the column types parsing produces; anything else answers False, and the
    caller runs pandera itself. This spares importing pandera and its overhead on logs that are valid.
    """
    if not frame.columns.is_unique:
        return False
    for column, rule in RULES.get(spec.name, {}).items():
        if column not in frame.columns:
            if rule.required:
                return False
            continue
        values = frame[column]
        dtype = values.dtype
        if rule.kind == "text" and not isinstance(dtype, pd.StringDtype):
            return False
        if rule.kind == "time" and not isinstance(dtype, pd.DatetimeTZDtype):
            return False
        if rule.kind == "number" and dtype != np.float64:
            return False
        if (not rule.nullable or rule.unique) and values.isna().any():
            return False
        if rule.unique and values.duplicated().any():
            return False
        if rule.non_negative and bool((values < 0).any()):
            return False
        if rule.allowed and not all_in(values, _vocabulary(rule.allowed, model)):
            return False
    return True


def _expected(check: str, column: str, model: StageModel) -> tuple[str, str]:
    """(code, expected text) for a pandera check name."""
    if check == "not_nullable":
        return "missing_value", "a value in every row"
    if check == "field_uniqueness" or check.startswith("unique"):
        return "duplicate_id", "each deal_id once"
    if check.startswith("greater_than_or_equal_to"):
        return "negative_amount", "an amount of 0 or more"
    if check.startswith("isin"):
        stages = model.all_stages
        vocab = {  # a model may have thousands of stages: the message names the first few
            "stage": ", ".join(stages[:20]) + (f" and {len(stages) - 20:,} more" if len(stages) > 20 else ""),
            "outcome": ", ".join(OUTCOMES),
            "direction": ", ".join(DIRECTIONS),
        }.get(column, "a known value")
        code = "unknown_stage" if column == "stage" else "unknown_value"
        return code, f"one of: {vocab}"
    return "invalid_value", check


def schema_problems(
    frame: pd.DataFrame,
    spec: TableSpec,
    model: StageModel,
    file: str,
    offset: int,
    unparsed: dict[str, pd.Index] | None = None,
) -> list[Problem]:
    """Run the table's schema lazily and turn every failure into a problem with rows and values.

    ``unparsed`` names, per column, the rows already reported as unparseable, so they are not reported
    a second time as missing.
    """
    unparsed = unparsed or {}
    if surely_valid(frame, spec, model):
        return []
    import pandera.pandas as pa

    try:
        table_schema(spec, model).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    problems: list[Problem] = []
    cases = cases[cases["index"].notna()] if "index" in cases else cases
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        column = str(column)
        code, expected = _expected(str(check), column, model)
        if code == "missing_value" and column in unparsed:
            group = group[~group["index"].isin(unparsed[column])]
            if group.empty:
                continue
        rows = group["index"].astype("int64") + offset
        values = group["failure_case"].astype("str")
        if code == "unknown_stage":
            counts = values.value_counts()
            listed = "; ".join(f"{shorten(s)!r} ({plural(n, 'row')})" for s, n in counts.iloc[:MAX_SHOWN].items())
            more = f" and {len(counts) - MAX_SHOWN:,} more" if len(counts) > MAX_SHOWN else ""
            message = f"{plural(len(counts), 'stage', verb=('is', 'are'))} not in salesmetrics.yaml: {listed}{more}."
            hints = []
            for stage in counts.index[:MAX_SHOWN]:
                close = close_matches(str(stage), model.all_stages, n=1)
                if close:
                    hints.append(f"{shorten(stage)!r} may be {shorten(close[0])!r}")
            if hints:
                message += " " + "; ".join(hints) + "."
            them = agree(len(counts), "it", "them")
            message += f" Add {them} to 'stages', 'won' or 'lost', or rename {them} in the file."
            shown_values = tuple(str(v) for v in counts.index[:MAX_SHOWN])
        elif code == "missing_value":
            message = f"{len(rows)} rows have no {column}."
            shown_values = ()
        elif code == "duplicate_id":
            message = f"{values.nunique()} deal ids appear more than once in the deals table."
            shown_values = tuple(values.drop_duplicates().iloc[:MAX_SHOWN])
        elif code == "negative_amount":
            message = f"{len(rows)} amounts are negative."
            shown_values = tuple(values.iloc[:MAX_SHOWN])
        else:
            message = f"{len(rows)} values are not allowed in {column}."
            shown_values = tuple(values.drop_duplicates().iloc[:MAX_SHOWN])
        problems.append(
            Problem(
                code,
                "error",
                message,
                file=file,
                rows=tuple(int(r) for r in rows.iloc[:MAX_SHOWN]),
                column=column,
                values=shown_values,
                expected=expected,
                count=len(rows),
            )
        )
    return problems
