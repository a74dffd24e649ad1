"""Report parameters checked before a notebook runs: names, types and allowed values, then against the log.

Values from the command line arrive as text and are converted to each parameter's declared type
(:func:`coerce_parameters`). Parameters named ``owner`` and ``team`` filter the log's deals (a value must match at
least one deal), and ``as_of`` must be a date or time not before the log's first event (:func:`check_against_log`).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from typing import Any

from salesmetrics._util.suggest import close_matches, normalise
from salesmetrics.exceptions import UsageError
from salesmetrics.reports.catalog import Report, number_text

LOG_FILTERS = ("owner", "team")  # parameters that keep only the deals with this value in the deals table

#: Report parameters renamed in 0.2.0, so that one concept has one name in every report and function: old name ->
#: new name. The old names still work, with a warning, until 0.4.0.
RENAMED = {"group_by": "by", "top": "top_n"}

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _split_optional(kind: str) -> tuple[str, bool]:
    kind = kind.replace(" ", "")
    match = re.fullmatch(r"(?:typing\.)?Optional\[(.+)\]", kind)
    if match:
        return match[1], True
    parts = kind.split("|")
    if "None" in parts and len(parts) > 1:
        return "|".join(p for p in parts if p != "None"), True
    return kind, kind in ("None", "")


def _convert(value: Any, base: str, optional: bool) -> Any:
    """``value`` as type ``base``; raises ValueError when it is not one."""
    if value is None:
        if optional or base in ("None", ""):
            return None
        raise ValueError(value)
    if isinstance(value, str) and optional and value.strip().lower() in ("none", "null"):
        return None
    if base == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, dt.date):  # YAML reads 2024-03-31 as a date
            return value.isoformat()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ValueError(value)
    if base == "int":
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) else int(str(value).strip())
    if base == "float":
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value) if isinstance(value, int | float) else float(str(value).strip())
    if base == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in _TRUE | _FALSE:
            raise ValueError(value)
        return text in _TRUE
    if base.startswith(("list", "dict")):
        if isinstance(value, str):
            import yaml

            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise ValueError(value) from None
        if not isinstance(value, list if base.startswith("list") else dict):
            raise ValueError(value)
        return value
    return value  # a type this runner does not know: the notebook gets the value as given


def _new_name(report: Report, key: str, given: dict[str, Any]) -> str:
    """The parameter's name now: ``key``, or the new name of a renamed parameter (:data:`RENAMED`), with a warning."""
    new = RENAMED.get(key)
    if key in report.parameters or new not in report.parameters:
        return key
    if new in given:
        raise UsageError(f"Give the parameter '{new}' of report '{report.name}' once: '{key}' is its old name.")
    warnings.warn(
        f"The parameter '{key}' of report '{report.name}' is called '{new}' now; '{key}' stops working in 0.4.0.",
        FutureWarning,
        stacklevel=4,
    )
    return new


def coerce_parameters(report: Report, given: dict[str, Any]) -> dict[str, Any]:
    """Check parameter names, types and allowed values; convert text (from the command line) to each type.

    Examples
    --------
    >>> from pathlib import Path
    >>> from salesmetrics.reports.catalog import ReportParameter
    >>> period = ReportParameter("period", "str", '"M"', "the period length", ("W", "M", "Q"))
    >>> report = Report("demo", Path("demo.ipynb"), "Demo", {"period": period})
    >>> coerce_parameters(report, {"period": "Q"})
    {'period': 'Q'}
    >>> coerce_parameters(report, {"period": "Y"})
    Traceback (most recent call last):
    ...
    salesmetrics.exceptions.UsageError: Parameter 'period' of report 'demo' must be one of W, M, Q, not 'Y'.
    """
    out = {}
    for key, value in given.items():
        key = _new_name(report, key, given)
        if key not in report.parameters:
            hint = close_matches(key, list(report.parameters), n=1)
            did = f" Did you mean '{hint[0]}'?" if hint else ""
            known = ", ".join(report.parameters)
            raise UsageError(f"Report '{report.name}' has no parameter '{key}'.{did} Its parameters: {known}.")
        param = report.parameters[key]
        base, optional = _split_optional(param.type)
        try:
            converted = _convert(value, base, optional)
        except (ValueError, TypeError):
            raise UsageError(
                f"Parameter '{key}' of report '{report.name}' must be {param.type.replace(' ', '')}, "
                f"not {value!r} ({param.help})."
            ) from None
        if converted is not None and param.choices and str(converted) not in param.choices:
            hint = close_matches(str(converted), list(param.choices), n=1)
            did = f" Did you mean '{hint[0]}'?" if hint else ""
            raise UsageError(
                f"Parameter '{key}' of report '{report.name}' must be one of {', '.join(param.choices)}, "
                f"not {value!r}.{did}"
            )
        number = converted is not None and isinstance(converted, int | float)
        below = number and param.minimum is not None and converted < param.minimum
        if below or (number and param.maximum is not None and converted > param.maximum):
            allowed = f"at least {number_text(param.minimum)}"
            if param.maximum is not None:
                allowed = f"between {number_text(param.minimum)} and {number_text(param.maximum)}"
            raise UsageError(
                f"Parameter '{key}' of report '{report.name}' must be {allowed}, not {value!r} ({param.help})."
            )
        out[key] = converted
    return out


def check_against_log(report: Report, values: dict[str, Any], log, where: str = "the log", latest=None):
    """Check the parameters whose valid values depend on the log; returns the deals the filters keep.

    ``owner`` and ``team`` must match at least one deal (together, when both are given); ``as_of`` must
    be a date or time not before the log's first event. ``where`` names the log in messages; ``latest`` is the
    log's latest event when the caller knows it (the log may then come without its activities).
    """
    deals = log.deals
    for column in LOG_FILTERS:
        value = values.get(column)
        if column not in report.parameters or value in (None, ""):
            continue
        everyone = sorted(map(str, log.deals[column].dropna().unique())) if column in log.deals else []
        kept = deals[deals[column].astype("string") == str(value)] if column in deals else deals.iloc[:0]
        if kept.empty:
            start = f"Parameter '{column}' of report '{report.name}':"
            if str(value) in everyone:
                others = ", ".join(f"{c} {values[c]!r}" for c in LOG_FILTERS if c != column and values.get(c))
                raise UsageError(f"{start} no deal in {where} has {column} {value!r} and {others}.")
            hint = close_matches(str(value), everyone, n=3)
            if hint and normalise(hint[0]) == normalise(str(value)):  # the same name but for case or punctuation
                hint = hint[:1]
            close = f" Close matches: {', '.join(map(repr, hint))}." if hint else ""
            shown = ", ".join(everyone[:12]) + (f" and {len(everyone) - 12} more" if len(everyone) > 12 else "")
            raise UsageError(
                f"{start} no deal in {where} has {column} {value!r}.{close} "
                f"{column.capitalize()}s ({len(everyone)}): {shown or 'none'}."
            )
        deals = kept
    as_of = values.get("as_of")
    if "as_of" in report.parameters and as_of not in (None, ""):
        import pandas as pd

        from salesmetrics.log.prepare import resolve_as_of

        try:
            stamp = resolve_as_of(log, as_of)
            last = resolve_as_of(log, None) if latest is None else latest
        except UsageError as exc:
            raise UsageError(f"Parameter 'as_of' of report '{report.name}': {exc}") from None
        first = log.deals["created_at"].min() if len(log.deals) else None
        if first is not None and not pd.isna(first) and stamp < first:
            raise UsageError(
                f"Parameter 'as_of' of report '{report.name}': {as_of} is before the first deal in {where} "
                f"({first:%Y-%m-%d}); choose a date from {first:%Y-%m-%d} to {last:%Y-%m-%d}."
            )
    return deals
