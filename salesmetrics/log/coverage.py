"""What a log can show: which optional tables and columns hold data, and, in words, what a report cannot show.

Real exports often lack whole tables: a snapshot has no close-date changes, a CRM export may have activities
without a ``direction``, a public dataset may have no dates at all. A report does not draw empty axes for
them; it says what is missing and why (:meth:`LogCoverage.missing`), and :func:`note_axes` puts that
sentence where the figure would have been.

Examples
--------
>>> import salesmetrics as sm
>>> cover = log_coverage(sm.read_log("datasets/demo"))
>>> cover.missing("activities", "direction", "close_dates", "amounts", "commit_stage")
[]
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from salesmetrics._util.text import escape_markdown
from salesmetrics.exceptions import UsageError
from salesmetrics.log.saleslog import SalesLog

NEEDS = ("dates", "stage_changes", "activities", "direction", "close_dates", "amounts", "commit_stage")


@dataclass(frozen=True)
class LogCoverage:
    """Row counts of what a log holds, for deciding what a report can show (see :func:`log_coverage`)."""

    deals: int
    stage_changes: int
    activities: int
    directions: int
    close_date_changes: int
    amounts: int
    created: int
    commit_stage: str | None
    history: str
    dated: bool

    def has(self, need: str) -> bool:
        """Whether the log holds what ``need`` (one of :data:`NEEDS`) asks for."""
        counts = {
            "dates": self.dated,
            "stage_changes": self.stage_changes,
            "activities": self.activities,
            "direction": self.directions,
            "close_dates": self.close_date_changes,
            "amounts": self.amounts,
            "commit_stage": self.commit_stage is not None,
        }
        if need not in counts:
            raise UsageError(f"Unknown need {need!r}; use one of {', '.join(NEEDS)}.")
        return bool(counts[need])

    def missing(self, *needs: str) -> list[str]:
        """One sentence per need the log cannot meet: what is missing, and what it means for the report."""
        sentences = {
            "dates": "The log has no dated events (no stage changes, activities, close-date changes or creation "
            "times), so nothing can be placed in time and every figure over time is left out.",
            "stage_changes": "The log has no stage changes, so no movement, stay in a stage or win can be dated.",
            "activities": "The log has no activities, so motion (calls, emails, meetings) cannot be counted.",
            "direction": "No activity says whether the buyer or the seller reached out (the 'direction' column of "
            "activities), so response times to buyers cannot be measured.",
            "close_dates": "The log has no close-date changes, so pushes, pulls and expected close dates cannot be "
            "shown.",
            "amounts": "No deal has an amount, so the average won amount and velocity (an amount per day) cannot "
            "be computed.",
            "commit_stage": "The stage model names no commit stage (the verbal yes), so commit to signature cannot "
            "be measured; set commit_stage in salesmetrics.yaml to show it.",
        }
        out = []
        for need in needs:
            if not self.has(need) and sentences[need] not in out:
                if need != "dates" and not self.dated and need in ("stage_changes", "activities", "close_dates"):
                    continue  # "no dated events" already says it
                out.append(sentences[need])
        return out

    def figure(self, title: str, draw, *needs: str, ax=None):
        """``draw()`` (a plot method) when the log meets every one of ``needs``; else a note titled ``title``
        saying what is missing, in place of the figure."""
        missing = self.missing(*needs)
        if missing:
            return note_axes(ax, title, " ".join(missing))
        return draw(ax=ax) if ax is not None else draw()

    def table(self, frame, *needs: str, empty: str = "Nothing to list."):
        """``frame`` when the log meets every one of ``needs`` and it has rows, else a :class:`Note` saying why."""
        missing = self.missing(*needs)
        return Note(" ".join(missing)) if missing else table_or_note(frame, empty)

    @property
    def partial_note(self) -> str | None:
        """A sentence for a log built from a snapshot (``history: partial``), else None."""
        if self.history != "partial":
            return None
        return (
            "This log was built from a one-row-per-deal snapshot (history: partial): only the stage entries a date "
            "was given for are known, so counts of movements and stays cover those alone (its notes are listed by "
            "salesmetrics validate)."
        )


def log_coverage(log: SalesLog) -> LogCoverage:
    """Count what ``log`` holds: rows per table, activities with a direction, deals with an amount, dates.

    Examples
    --------
    >>> import salesmetrics as sm
    >>> log_coverage(sm.read_log("datasets/demo")).close_date_changes
    4733
    """
    acts = log.activities
    directions = int(acts["direction"].isin(["inbound", "outbound"]).sum()) if "direction" in acts else 0
    deals = log.deals
    amounts = int(deals["amount"].notna().sum()) if "amount" in deals else 0
    created = int(deals["created_at"].notna().sum())
    dated = bool(
        len(log.stage_changes) or len(acts) or len(log.close_date_changes) or created
    )  # the tables' time columns are required, so a row is a dated event
    return LogCoverage(
        deals=len(deals),
        stage_changes=len(log.stage_changes),
        activities=len(acts),
        directions=directions,
        close_date_changes=len(log.close_date_changes),
        amounts=amounts,
        created=created,
        commit_stage=log.model.commit_stage,
        history=log.model.history,
        dated=dated,
    )


def coverage_of_parts(parts: list[LogCoverage]) -> LogCoverage:
    """The coverage of a log made of ``parts`` (a partitioned log's, each part's :func:`log_coverage`): the counts
    add up, the log is dated when a part is, and the stage model's settings are every part's (one config).

    >>> a = LogCoverage(3, 4, 5, 1, 0, 2, 3, None, "full", True)
    >>> b = LogCoverage(1, 0, 0, 0, 0, 1, 0, None, "full", False)
    >>> whole = coverage_of_parts([a, b])
    >>> whole.deals, whole.activities, whole.amounts, whole.dated
    (4, 5, 3, True)
    """
    counts = ("deals", "stage_changes", "activities", "directions", "close_date_changes", "amounts", "created")
    return LogCoverage(
        **{name: sum(getattr(part, name) for part in parts) for name in counts},
        commit_stage=parts[0].commit_stage,
        history=parts[0].history,
        dated=any(part.dated for part in parts),
    )


@dataclass(frozen=True)
class Note:
    """A sentence shown in a notebook in place of an empty table (``display(Note("No serial pushers."))``)."""

    text: str

    def __str__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return f"*{escape_markdown(self.text)}*"

    def _repr_html_(self) -> str:
        import html

        return f"<p><em>{html.escape(self.text)}</em></p>"


@dataclass(frozen=True)
class Opening:
    """The first lines of a report: its scope in bold (an owner, a team, the log's name), when it is as of, then
    the narrative. Every part is text, escaped for Markdown and HTML: names from a log never become markup.

    ``display(Opening(scope, when, report.narrative()))`` in a report notebook, never an f-string in
    ``Markdown(...)`` (``docs/decisions/0031-csv-and-html-escaping.md``).

    Examples
    --------
    >>> print(Opening("<b>Ann</b>", "as of 2024-06-30", "3 deals.")._repr_html_())
    <p><strong>&lt;b&gt;Ann&lt;/b&gt;</strong>, as of 2024-06-30</p>
    <p>3 deals.</p>
    """

    scope: str
    when: str
    text: str

    def __str__(self) -> str:
        return f"{self.scope}, {self.when}\n\n{self.text}"

    def _repr_markdown_(self) -> str:
        return f"**{escape_markdown(self.scope)}**, {escape_markdown(self.when)}\n\n{escape_markdown(self.text)}"

    def _repr_html_(self) -> str:
        import html

        head = f"<p><strong>{html.escape(str(self.scope))}</strong>, {html.escape(str(self.when))}</p>"
        return f"{head}\n<p>{html.escape(str(self.text))}</p>"


def table_or_note(frame, message: str, decimals: int = 2):
    """``frame`` (floats rounded to ``decimals``) when it has rows, else a :class:`Note` with ``message``: a
    report never shows a bare table header.

    Examples
    --------
    >>> import pandas as pd
    >>> str(table_or_note(pd.DataFrame({"a": []}), "Nothing to list."))
    'Nothing to list.'
    """
    if not len(frame):
        return Note(message)
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{c: frame[c].round(decimals) for c in floats}) if len(floats) else frame


def note_axes(ax, title: str, message: str, width: int = 60):
    """Turn ``ax`` into a titled note saying why the figure is not drawn (never leave empty axes unexplained).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = note_axes(None, "Pushes per month", "The log has no close-date changes.")
    >>> ax.get_title(), ax.texts[0].get_text()
    ('Pushes per month', 'The log has no close-date changes.')
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 1.8))[1]
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, textwrap.fill(message, width), ha="center", va="center", transform=ax.transAxes, wrap=True)
    return ax


__all__ = ["NEEDS", "LogCoverage", "Note", "Opening", "coverage_of_parts", "log_coverage", "note_axes", "table_or_note"]
