"""One table helper for every report: tables a sales leader can read, and the plausibility of their figures in words.

A report's methods return plain DataFrames (tested on their values); a notebook shows them through
:func:`readable`, which turns one into a :class:`ReportTable`:

- human headers with their unit ("Motion per movement", "Average won amount (EUR)", "Days in stage"), never
  ``motion_per_movement``;
- thousands separators, money without cents, rates in percent, dates without ``+00:00`` (and without a time
  when every time is midnight), empty cells instead of ``NaN``, ``None`` or ``NaT``, no pandas index;
- wide tables scroll sideways inside their own box, long text wraps, so nothing is cut at the page edge;
- a table cut to its first rows says so: "20 of 66 deals" (:func:`first` keeps the count);
- plausibility in words under the figures (marked ``†`` in the cells): a partial period is marked partial, a
  rate on fewer than :data:`MIN_DENOMINATOR` closed deals is flagged, a 100% win rate where no loss is
  recorded says losses are not in the data, a velocity driven by a very short average cycle is flagged, a
  ratio over no activities is empty (not 0.0), and deals without an owner are listed last, not ranked as a rep.

Every value is HTML-escaped: names from a log never become markup (ADR 0031). Decisions: ADR 0037.

Examples
--------
>>> import pandas as pd
>>> t = readable(pd.DataFrame({"days_in_stage": [3.25, None], "avg_won_amount": [12500.0, 900.0]}), currency="EUR")
>>> t.headers
['Days in stage', 'Average won amount (EUR)']
>>> t.cells
[['3.2', '12,500'], ['', '900']]
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesmetrics._util.text import plural
from salesmetrics.log.coverage import Note
from salesmetrics.log.schemas import UNKNOWN_OWNER

MIN_DENOMINATOR = 5  # closed deals under which a win rate is flagged as too few to compare
SHORT_CYCLE_DAYS = 7  # an average cycle under this many days makes velocity (amount per day) spike
#: Owner names that mean nobody, in lower case: the spellings CRMs use, and the one the adapters write for a deal
#: without an owner (:data:`salesmetrics.log.schemas.UNKNOWN_OWNER`, defined once there).
UNASSIGNED = {
    "",
    "unassigned",
    "none",
    "(none)",
    "no owner",
    "nobody",
    "n/a",
    "na",
    "-",
    "nan",
    "unknown",
    UNKNOWN_OWNER.lower(),
}

# headers that the generic rule (underscores to spaces, units from the suffix) would not get right
LABELS = {
    "deal_id": "Deal",
    "n_flags": "Flags",
    "n_requests": "Requests",
    "n_answered": "Answered",
    "n_unanswered": "Unanswered",
    "n_committed": "Committed",
    "n_stays": "Stays",
    "n_deals": "Deals",
    "km_median_hours": "Median hours, unanswered counted (Kaplan–Meier)",
    "km_median_days": "Median days, running stays counted (Kaplan–Meier)",
    "median_hours": "Median hours (answered)",
    "p90_hours": "90th percentile hours (answered)",
    "stall_risk_pct": "Stall risk (%)",
    "top_reasons": "Top reasons",
    "avg_cycle_days": "Average cycle (days)",
    "avg_won_amount": "Average won amount",
    "velocity": "Velocity",
    "motions": "Activities",
    "motion_per_movement": "Motion per movement",
    "movement_per_motion": "Movement per motion",
    "activities_since_movement": "Activities since last movement",
    "last_movement_at": "Last movement",
    "last_activity_at": "Last activity",
    "entered_stage_at": "Entered stage",
    "expected_close_date": "Close date",
    "close_date": "Close date",
    "created_at": "Created",
    "changed_at": "Changed",
    "close_date_pushes": "Pushes",
    "close_date_pulls": "Pulls",
    "days_pushed": "Days pushed",
    "longest_push": "Longest push (days)",
    "pulled_in": "Pulled in",
    "back_and_forth": "Back and forth",
    "regression_share": "Share of moves back",
    "for": "Quota of",
    "gap": "Gap to quota",
    "coverage": "Coverage (pipeline due ÷ gap)",
    "days_overdue": "Days past close date",
    "deals_unpriced": "Deals without an amount",
}
_WORDS = {
    "id": "ID",
    "avg": "average",
    "pct": "%",
    "km": "Kaplan–Meier",
    "p75": "75th percentile",
    "p90": "90th percentile",
}
_UNIT_SUFFIX = {"days": "days", "hours": "hours", "pct": "%"}
_MONEY = re.compile(r"(^|_)(amount|velocity|pipeline|revenue|value|quota|gap)(_|$)")
_RATE = re.compile(r"(^|_)(rate|share|attainment)(_|$)")
_RATIO_OF_MOTION = re.compile(r"(motion_per|per_motion)")


def header(column: str, currency: str | None = None) -> str:
    """A column name as a header a person reads, with its unit.

    Examples
    --------
    >>> header("motion_per_movement"), header("days_in_stage"), header("win_rate"), header("won_amount", "EUR")
    ('Motion per movement', 'Days in stage', 'Win rate (%)', 'Won amount (EUR)')
    >>> header("velocity", "USD"), header("median_hours"), header("opening_count")
    ('Velocity (USD per day)', 'Median hours (answered)', 'Opening count')
    """
    name = str(column)
    text = LABELS.get(name)
    unit = None
    if text is None:
        words = name.split("_")
        if len(words) > 1 and words[-1] in _UNIT_SUFFIX and words[0] not in ("days", "hours"):
            unit = _UNIT_SUFFIX[words.pop()]
        if len(words) > 1 and words[0] == "n":
            words = words[1:]  # n_closed: "Closed"
        text = " ".join(_WORDS.get(w, w) for w in words).strip() or name
        text = text[:1].upper() + text[1:]
    if _RATE.search(name) and "(%)" not in text:
        unit = "%"
    if _MONEY.search(name):
        unit = f"{currency} per day" if name == "velocity" else currency
        if name == "velocity" and not currency:
            unit = "per day"
    return f"{text} ({unit})" if unit else text


def first(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first ``n`` rows of ``frame``, remembering how many there were (the table then says "20 of 66").

    >>> first(pd.DataFrame({"a": range(66)}), 20).attrs["rows_total"]
    66
    """
    out = frame.head(n).copy()
    out.attrs["rows_total"] = len(frame)
    return out


@dataclass(frozen=True)
class ReportTable:
    """A table as a report shows it: ``headers``, ``cells`` (text), ``notes`` (plausibility, in words) and the
    ``total`` number of rows when only the first ones are shown. Displayed as HTML in a notebook."""

    headers: list[str]
    cells: list[list[str]]
    numeric: list[bool]
    notes: tuple[str, ...] = ()
    total: int | None = None
    noun: str = "rows"
    wrap: list[bool] = field(default_factory=list)

    @property
    def shown(self) -> str | None:
        """``"20 of 66 deals"`` when the table is cut, else None."""
        if self.total is None or self.total <= len(self.cells):
            return None
        return f"{len(self.cells):,} of {self.total:,} {self.noun}"

    def to_frame(self) -> pd.DataFrame:
        """The cells as text, under the human headers (what the page shows)."""
        return pd.DataFrame(self.cells, columns=self.headers)

    def __str__(self) -> str:
        body = self.to_frame().to_string(index=False) if self.cells else ""
        extra = [f"Showing {self.shown}." if self.shown else "", *self.notes]
        return "\n".join([body, *[e for e in extra if e]])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        def cell(tag: str, text: str, i: int) -> str:
            classes = [c for c, on in (("text", not self.numeric[i]), ("wrap", self.wrap and self.wrap[i])) if on]
            cls = f' class="{" ".join(classes)}"' if classes else ""
            return f"<{tag}{cls}>{html.escape(text)}</{tag}>"

        head = "".join(cell("th", h, i) for i, h in enumerate(self.headers))
        rows = "".join("<tr>" + "".join(cell("td", v, i) for i, v in enumerate(r)) + "</tr>" for r in self.cells)
        parts = [
            '<div class="sm-table" style="overflow-x:auto;max-width:100%">',
            f'<table class="dataframe sm-readable"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>',
            "</div>",
        ]
        if self.shown:
            parts.append(f'<p class="report-meta">Showing the first {html.escape(self.shown)}.</p>')
        parts += [f'<p class="report-meta">{html.escape(n)}</p>' for n in self.notes]
        return "".join(parts)


def _is_unassigned(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip().lower() in UNASSIGNED


def _dates(s: pd.Series) -> list[str]:
    s = pd.to_datetime(s, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)  # shown in the log's own time zone, without "+00:00"
    known = s.dropna()
    fmt = "%Y-%m-%d" if (known == known.dt.normalize()).all() else "%Y-%m-%d %H:%M"
    return ["" if pd.isna(v) else v.strftime(fmt) for v in s]


def _number(v, decimals: int) -> str:
    if v is None or pd.isna(v):
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    v = float(v)
    if np.isinf(v):
        return ""
    return f"{v:,.{decimals}f}".replace("-", "\u2212") if v < 0 else f"{v:,.{decimals}f}"


def _format(name: str, s: pd.Series, is_percent: bool) -> tuple[list[str], bool]:
    """The cells of one column as text, and whether it is numeric (right-aligned)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return _dates(s), True
    if pd.api.types.is_bool_dtype(s):
        return ["yes" if v else "no" for v in s], False
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        if is_percent:
            return [_number(v * 100, 0) + "%" if pd.notna(v) else "" for v in s], True
        known = pd.to_numeric(s, errors="coerce").dropna()
        integral = bool(len(known)) and bool(np.all(np.mod(known[np.isfinite(known)], 1) == 0))
        decimals = 0 if integral or _MONEY.search(name) else (1 if re.search(r"(days|hours|pct)", name) else 2)
        return [_number(v, decimals) for v in s], True
    return ["" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in s], False


def readable(
    table,
    *,
    currency: str | None = None,
    total: int | None = None,
    noun: str = "rows",
    notes: tuple[str, ...] | list[str] = (),
    labels: dict[str, str] | None = None,
):
    """``table`` (a DataFrame) as a :class:`ReportTable`; a :class:`~salesmetrics.log.coverage.Note` (an empty
    table's sentence) is returned as it is.

    ``currency`` labels money columns, ``total`` is the number of rows before the table was cut (default:
    the count :func:`first` kept), ``noun`` what a row is ("deals"), ``notes`` sentences shown under the
    table, ``labels`` headers for columns the helper does not know.

    Examples
    --------
    >>> v = pd.DataFrame({"period": ["2024-05", "2024-06"], "wins": [9, 1], "losses": [3, 0],
    ...                   "win_rate": [0.75, 1.0], "full_period": [True, False]})
    >>> t = readable(v)
    >>> t.cells
    [['2024-05', '9', '3', '75%'], ['2024-06 (partial)', '1', '0', '100% †']]
    >>> print(t.notes[0])
    † 2024-06 (partial): a rate on 1 closed deal, too few to compare.
    """
    if isinstance(table, Note) or table is None:
        return table
    frame = table
    total = total if total is not None else frame.attrs.get("rows_total")
    named = any(n is not None for n in frame.index.names)
    frame = frame.reset_index(drop=not named)  # a named index (owner, deal) is a column; a row number is dropped
    frame = frame.loc[:, ~frame.columns.duplicated()].copy()
    notes = list(notes)
    flags: dict[tuple[int, str], str] = {}
    key = frame.columns[0] if len(frame.columns) else None

    def label(i: int) -> str:
        return str(frame.iloc[i][key]) if key is not None else str(i + 1)

    # a partial period (cut short by the as-of date) is marked as partial
    if "full_period" in frame:
        full = frame.pop("full_period").fillna(False).astype(bool).to_numpy()
        if "period" in frame and (~full).any():
            frame["period"] = [
                p if f else f"{p} (partial)" for p, f in zip(frame["period"].astype(str), full, strict=True)
            ]
    # no owner: listed last, not ranked as a rep
    for who in ("owner",):
        if who in frame and len(frame):
            none = frame[who].map(_is_unassigned).to_numpy()
            if none.any() and not none.all():
                frame = pd.concat([frame[~none], frame[none]], ignore_index=True)
                frame.loc[frame.index[-int(none.sum()) :], who] = "(no owner)"
                notes.append("Deals without an owner are listed last: they are not a rep, so they are not ranked.")
            elif none.any():
                frame[who] = "(no owner)"
    # a ratio over no activities is empty, not 0.0
    count = next((c for c in ("motions", "activities") if c in frame), None)
    if count is not None:
        none = pd.to_numeric(frame[count], errors="coerce").fillna(0).to_numpy() == 0
        for c in [c for c in frame.columns if _RATIO_OF_MOTION.search(str(c))]:
            frame[c] = frame[c].astype("float").where(~none)
    # rates: percent when stored as a share; tiny denominators and missing losses said in words
    percent = {
        c
        for c in frame.columns
        if _RATE.search(str(c))
        and pd.api.types.is_numeric_dtype(frame[c])
        and (
            pd.to_numeric(frame[c], errors="coerce").dropna().between(0, 1).all()
            or str(c).endswith("attainment")  # 130% of a quota is still a share of it
        )
    }
    if "win_rate" in frame and {"wins", "losses"} <= set(frame.columns):
        wins = pd.to_numeric(frame["wins"], errors="coerce").fillna(0)
        losses = pd.to_numeric(frame["losses"], errors="coerce").fillna(0)
        closed = (wins + losses).to_numpy()
        rate = pd.to_numeric(frame["win_rate"], errors="coerce")
        if losses.sum() == 0 and wins.sum() > 0:
            notes.append(
                "No loss is recorded here: a 100% win rate means lost deals are not in the data, "
                "not that every deal was won."
            )
        else:
            for i in np.flatnonzero((closed > 0) & (closed < MIN_DENOMINATOR) & rate.notna().to_numpy()):
                n = int(closed[i])
                flags[(i, "win_rate")] = f"{label(i)}: a rate on {plural(n, 'closed deal')}, too few to compare."
    # a velocity spike from a very short average cycle
    if "velocity" in frame and "avg_cycle_days" in frame:
        cycle = pd.to_numeric(frame["avg_cycle_days"], errors="coerce")
        median = cycle.median()
        short = cycle.notna() & ((cycle < SHORT_CYCLE_DAYS) | (cycle < median / 4))
        for i in np.flatnonzero(short.to_numpy() & frame["velocity"].notna().to_numpy()):
            flags[(i, "velocity")] = (
                f"{label(i)}: an average cycle of {cycle.iloc[i]:.0f} days makes velocity (an amount per day) "
                "jump; read the factors, not the product."
            )

    columns = list(frame.columns)
    headers = [(labels or {}).get(c) or header(c, currency) for c in columns]
    formatted, numeric = (
        zip(*[_format(str(c), frame[c], c in percent) for c in columns], strict=True) if columns else ((), ())
    )
    cells = [list(row) for row in zip(*formatted, strict=True)] if columns else []
    for (i, c), text in sorted(flags.items()):
        j = columns.index(c)
        cells[i][j] = f"{cells[i][j]} †"
        notes.append(f"† {text}")
    wrap = [not num and any(len(v) > 40 for v in col) for col, num in zip(formatted, numeric, strict=True)]
    return ReportTable(
        headers=headers,
        cells=cells,
        numeric=list(numeric),
        notes=tuple(notes),
        total=total,
        noun=noun,
        wrap=wrap,
    )


def beside_peers(
    groups: pd.DataFrame,
    key: str,
    name,
    ratios: dict[str, tuple[str, str]] | None = None,
    total: pd.Series | dict | None = None,
):
    """The row of ``name`` (a rep) beside its peers: the median of the other ``key`` values and the total of all.

    A page about one owner compares the owner with the team, never with itself. Owners without a name
    (``unassigned``) are not peers. ``ratios`` recomputes ratio columns for the total row from their parts
    (``{"motion_per_movement": ("motions", "movements")}``); numeric columns are otherwise summed (total) and
    their median taken (peers). ``total`` gives the whole team's row instead, computed by the metric itself (a
    win rate or an average cycle over all deals is neither a sum nor a ratio of two sums of the rows).

    Examples
    --------
    >>> g = pd.DataFrame({"owner": ["ann", "bob", "cy"], "deals": [4, 10, 20]})
    >>> beside_peers(g, "owner", "ann")["deals"].tolist()
    [4.0, 15.0, 34.0]
    >>> beside_peers(g, "owner", "ann")["owner"].tolist()
    ['ann', 'median of the 2 other owners', 'all 3 owners']
    """
    numeric = [c for c in groups.columns if c != key and pd.api.types.is_numeric_dtype(groups[c])]
    named = groups[~groups[key].map(_is_unassigned)]
    rep = groups[groups[key].astype(str) == str(name)]
    others = named[named[key].astype(str) != str(name)]
    rows = [rep[[key, *numeric]].astype({c: "float" for c in numeric})]
    if len(others):
        median = others[numeric].median().to_frame().T
        median.insert(
            0, key, f"median of the {len(others)} other {key}s" if len(others) > 1 else f"median of the other {key}"
        )
        rows.append(median)
    if total is not None:
        whole = pd.DataFrame([{c: float(pd.Series(total).get(c, np.nan)) for c in numeric}], columns=numeric)
    else:
        whole = groups[numeric].sum().to_frame().T
        for column, (top, bottom) in (ratios or {}).items():
            if column in whole and top in whole and bottom in whole:
                whole[column] = whole[top] / whole[bottom] if float(whole[bottom].iloc[0]) else np.nan
    whole.insert(0, key, f"all {len(groups)} {key}s" if len(groups) > 1 else f"the whole team (1 {key})")
    rows.append(whole)
    return pd.concat(rows, ignore_index=True)


__all__ = [
    "LABELS",
    "MIN_DENOMINATOR",
    "SHORT_CYCLE_DAYS",
    "ReportTable",
    "beside_peers",
    "first",
    "header",
    "readable",
]
