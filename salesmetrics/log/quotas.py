"""The optional ``quotas`` table of a sales log: a target amount per owner or team and period.

``quotas.csv`` (or ``.parquet``, ``.tsv``...) beside the other tables, one row per owner or team and period::

    owner,team,period,amount
    Ava M.,,2025-Q2,120000
    ,Team A,2025-06,300000

- ``owner`` or ``team``: exactly one of them per row (the column of the other may be left out);
- ``period``: a month ``2025-06``, a quarter ``2025-Q2`` (or ``2025Q2``) or a year ``2025``;
- ``amount``: the target in the log's currency, a number not below 0.

It is checked like the other tables (``salesmetrics validate`` lists its problems with file, row, column and
value): a missing column, a row with neither or both of owner and team, a period or amount that cannot be read,
two quotas for the same owner or team and period are errors; an owner or team no deal has is a warning.
:func:`quota_coverage` sets the quotas against what was won and what is open (``docs/metrics.md``).

Examples
--------
>>> parse_period("2025-Q2"), parse_period("2025-06"), parse_period("2025")
(Period('2025Q2', 'Q-DEC'), Period('2025-06', 'M'), Period('2025', 'Y-DEC'))
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from salesmetrics._util.text import plural
from salesmetrics.exceptions import LogValidationError, Problem, ProblemList
from salesmetrics.log.parsing import parse_numbers
from salesmetrics.log.readers import find_table_file, read_raw_table

NAME = "quotas"
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})\s*-?\s*[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
PERIOD_HELP = "a month (2025-06), a quarter (2025-Q2) or a year (2025)"


def parse_period(text) -> pd.Period | None:
    """A quota period as a pandas Period (month, quarter or year), or None when ``text`` is none of them."""
    text = str(text).strip()
    if m := _MONTH.match(text):
        return pd.Period(year=int(m[1]), month=int(m[2]), freq="M") if 1 <= int(m[2]) <= 12 else None
    if m := _QUARTER.match(text):
        return pd.Period(year=int(m[1]), quarter=int(m[2]), freq="Q")
    if m := _YEAR.match(text):
        return pd.Period(year=int(m[1]), freq="Y")
    return None


def check_quotas(folder, deals: pd.DataFrame | None = None) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read and check the quotas table of the log in ``folder``.

    Returns ``(None, [])`` when the log has no quotas table, else the table (columns ``owner, team, period,
    amount, start, end``: ``period`` as written, ``start``/``end`` its first and last day) and the problems
    found; the table is None when any problem is an error. ``deals`` (the log's deals table) lets unknown
    owners and teams be named.
    """
    path, problems = find_table_file(Path(folder), NAME)
    if path is None:
        return None, problems
    raw, found = read_raw_table(path, NAME)
    problems += found
    if raw is None:
        return None, problems
    frame, file, offset = raw.frame, raw.file, raw.row_offset
    missing = [c for c in ("period", "amount") if c not in frame]
    if not {"owner", "team"} & set(frame.columns):
        missing.insert(0, "owner or team")
    if missing:
        problems.append(
            Problem(
                "missing_column",
                "error",
                f"The quotas table has no {' and no '.join(repr(m) for m in missing)} column. Its columns: "
                f"{', '.join(map(str, frame.columns)) or 'none'}. Add them (owner or team, period, amount).",
                file=file,
                expected="columns owner (or team), period and amount",
            )
        )
        return None, problems
    text = {
        c: frame[c].astype("string").str.strip().replace("", pd.NA) if c in frame else None for c in ("owner", "team")
    }
    owner = text["owner"] if text["owner"] is not None else pd.Series(pd.NA, index=frame.index, dtype="string")
    team = text["team"] if text["team"] is not None else pd.Series(pd.NA, index=frame.index, dtype="string")

    def flag(mask: pd.Series, code: str, message: str, column: str, *, values=(), expected=None, severity="error"):
        """One problem for the rows in ``mask`` (nothing when it is empty): the first rows, values and count."""
        if not mask.any():
            return
        n = int(mask.sum())
        shown = tuple(int(i) + offset for i in np.flatnonzero(np.asarray(mask))[:5])
        problems.append(
            Problem(
                code,
                severity,
                message.format(n=n),
                file=file,
                rows=shown,
                column=column,
                values=tuple(values)[:5],
                count=n,
                expected=expected,
            )
        )

    def cells(mask: pd.Series, column: str) -> tuple[str, ...]:
        return tuple(str(v) for v in frame.loc[mask, column].head(5))

    neither, both = owner.isna() & team.isna(), owner.notna() & team.notna()
    one = "; give each row exactly one of them (a quota is for one owner or for one team)."
    for mask, code, what in (
        (neither, "quota_without_owner", "without an owner or a team"),
        (both, "quota_with_owner_and_team", "with both an owner and a team"),
    ):
        rows_text = plural(int(mask.sum()), "quota row")
        flag(mask, code, f"{rows_text} {what}{one}", "owner", expected="an owner or a team, not both")
    periods = frame["period"].map(lambda v: parse_period(v) if pd.notna(v) else None)
    bad = periods.isna()
    flag(bad, "bad_period", f"{plural(int(bad.sum()), 'quota period')} cannot be read.", "period",
         values=cells(bad, "period"), expected=PERIOD_HELP)  # fmt: skip
    amount, found = parse_numbers(frame["amount"], file=file, column="amount", offset=offset)
    problems += found
    negative, absent = amount < 0, frame["amount"].isna()
    for mask, code, what in ((negative, "negative_quota", "below 0"), (absent, "missing_quota", "left empty")):
        flag(mask, code, f"{plural(int(mask.sum()), 'quota amount')} {what}.", "amount",
             values=cells(mask, "amount"), expected="a target amount of 0 or more")  # fmt: skip
    out = pd.DataFrame({"owner": owner, "team": team, "period": frame["period"].astype("string"), "amount": amount})
    key = out["owner"].fillna("") + "\x00" + out["team"].fillna("") + "\x00" + periods.astype(str)
    dup = key.duplicated(keep=False) & ~neither & ~bad
    twice = "give the same owner or team a quota twice for one period; keep one."
    flag(
        dup, "duplicate_quota", f"{plural(int(dup.sum()), 'quota row')} {twice}", "period", values=cells(dup, "period")
    )
    if deals is not None:
        for column, values in (("owner", owner), ("team", team)):
            known = set(deals[column].dropna().astype(str)) if column in deals else set()
            unknown = values.notna() & ~values.isin(known)
            article = "an" if column == "owner" else "a"
            message = (
                f"{plural(int(unknown.sum()), 'quota')} for {article} {column} no deal has; they are shown with no "
                f"pipeline. Check the spelling against the deals table's {column} column."
            )
            flag(unknown, f"unknown_quota_{column}", message, column, severity="warning",
                 values=dict.fromkeys(values[unknown].astype(str)))  # fmt: skip
    if any(p.severity == "error" for p in problems):
        return None, problems
    out["start"] = pd.to_datetime([p.start_time for p in periods]).normalize()  # first day, no time zone
    out["end"] = pd.to_datetime([p.end_time for p in periods]).normalize()  # last day
    return out, problems


def read_quotas(folder: str | os.PathLike, deals: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """The quotas of the log in ``folder`` (see :func:`check_quotas`), None when it has none; raises
    :class:`~salesmetrics.exceptions.LogValidationError` listing every error."""
    table, problems = check_quotas(folder, deals)
    if any(p.severity == "error" for p in problems):
        raise LogValidationError(str(folder), ProblemList(list(problems)))
    return table


def _local_day(times: pd.Series) -> pd.Series:
    """The day of each time in its own (the log's) time zone, as a naive midnight."""
    times = pd.to_datetime(times)
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_localize(None)
    return times.dt.normalize()


def quota_coverage(quotas: pd.DataFrame, deals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each quota whose period holds ``as_of`` set against the deals: won so far, the gap, the open pipeline due.

    ``deals`` has one row per deal with ``owner``, ``team``, ``status`` (open, won, lost), ``amount`` (at
    ``as_of``), ``won_at`` (the win's time, or NaT), optionally ``won_amount`` (the amount at the win: a booking
    counts at the amount it was booked at, decision 0054; without the column, ``amount``) and ``close_date``
    (the expected close date, or NaT). Columns:
    ``for`` (the owner or team), ``period``, ``quota``, ``won_amount`` (won in the period up to ``as_of``),
    ``attainment`` (won / quota), ``gap`` (quota − won, not below 0), ``pipeline_due`` (open deals expected
    to close by the period's end, overdue ones included), ``coverage`` (pipeline due / gap; empty when the gap
    is 0).
    """
    day = (as_of.tz_localize(None) if as_of.tzinfo is not None else as_of).normalize()
    current = quotas[(quotas["start"] <= day) & (quotas["end"] >= day)]
    rows = []
    for q in current.itertuples():
        column, who = ("owner", q.owner) if pd.notna(q.owner) else ("team", q.team)
        mine = deals[deals[column].astype("string") == who] if column in deals else deals.iloc[:0]
        won_at = _local_day(mine["won_at"])
        booked = "won_amount" if "won_amount" in mine else "amount"
        won = mine.loc[(mine["status"] == "won") & (won_at >= q.start) & (won_at <= day), booked].fillna(0.0).sum()
        close = _local_day(mine["close_date"])
        due = mine.loc[(mine["status"] == "open") & close.notna() & (close <= q.end), "amount"].sum()
        gap = max(float(q.amount) - float(won), 0.0)
        rows.append(
            {
                "for": f"{who} ({column})",
                "period": q.period,
                "quota": float(q.amount),
                "won_amount": float(won),
                "attainment": float(won) / float(q.amount) if q.amount else np.nan,
                "gap": gap,
                "pipeline_due": float(due),
                "coverage": float(due) / gap if gap else np.nan,
            }
        )
    columns = ["for", "period", "quota", "won_amount", "attainment", "gap", "pipeline_due", "coverage"]
    return pd.DataFrame(rows, columns=columns)


__all__ = ["check_quotas", "parse_period", "quota_coverage", "read_quotas"]
