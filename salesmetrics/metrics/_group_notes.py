"""What group scores say besides their numbers: the UsageError when no deal has the group, and the DataNotes for a
log without close-date changes and for an empty result.

One text for both paths, the pandas oracle's (``tests/oracle_movement.py``) and DuckDB's
(:mod:`salesmetrics.metrics._engine_groups`); pandas-free, so the command line does not load pandas for them.
"""

from __future__ import annotations

import warnings

from salesmetrics.exceptions import DataNote, UsageError


def no_group_error(by: str) -> UsageError:
    """The error for ``by="team"`` (or owner) on a log whose deals have no such column, or only missing values."""
    return UsageError(
        f"No deal in this log has a {by} (deals column '{by}' is missing or empty), so there is nothing to "
        f"group by; score by owner instead, or give the deals a {by} (an adapter's team option, or a "
        f"'{by}' column in deals)."
    )


def note_no_close_date_changes(stacklevel: int) -> None:
    """Say that the waterfall columns count nothing: the log has no close-date changes."""
    warnings.warn(
        "The log has no close-date changes, so no deal has an expected close date and the pipeline "
        "waterfall columns (opening, created, won, lost, pushed_out, pulled_in, reopened, closing) count "
        "nothing; the movement and motion columns are unaffected.",
        DataNote,
        stacklevel=stacklevel + 1,
    )


def note_empty(when: str, stacklevel: int) -> None:
    """Say that no dated event falls at or before as_of (``when``: as_of's local ``%Y-%m-%d %H:%M``)."""
    warnings.warn(
        f"No dated event of the log falls at or before as_of ({when}), so there is no "
        "period to score and the result is empty.",
        DataNote,
        stacklevel=stacklevel + 1,
    )
