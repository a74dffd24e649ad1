"""Every error salesmetrics raises derives from :class:`SalesmetricsError`.

Problems found in a user's data are collected as :class:`Problem` values first, so a user sees every
problem at once instead of fixing them one run at a time; :class:`LogValidationError` carries them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from salesmetrics._util.text import agree, plural, shorten

Severity = Literal["error", "warning"]


class SalesmetricsError(Exception):
    """Base class of every error raised by salesmetrics."""


class UsageError(SalesmetricsError):
    """A function or command was called with arguments it cannot use."""


class ClusterError(SalesmetricsError):
    """A Dask cluster could not be reached or started (its address is in the message)."""


class CurrencyError(SalesmetricsError):
    """Amounts in several currencies were to be added up without a conversion (exit code 1 on the CLI)."""


class OutputError(SalesmetricsError, OSError):
    """An output could not be written: a full disk, a read-only or locked folder, no permission.

    Nothing half-written is left and a file or folder that was there before is unchanged. It is an
    :class:`OSError` too, with the system's ``errno`` and ``strerror`` and the output as ``filename``, so code
    that catches ``OSError`` keeps working. The message is one line: the path, the system's reason, the fix.
    """

    def __init__(self, path, error: BaseException, *, kept: str | None = None):
        number = getattr(error, "errno", None)
        text = str(error).strip()
        reason = getattr(error, "strerror", None) or (text.splitlines()[-1] if text else type(error).__name__)
        super().__init__(number, reason, str(path))
        self.kept = kept
        self.message = _output_message(str(path), number, reason, kept)

    def __str__(self) -> str:
        return self.message


#: How many rows and values a problem shows; ``count`` says how many there are in all.
MAX_SHOWN = 5

_OUTPUT_FIXES = {  # errno name: (what it means, how to fix it)
    "ENOSPC": ("the disk is full", "free some space or write to another disk"),
    "EDQUOT": ("the disk quota is used up", "free some space or write to another disk"),
    "EROFS": ("the file system is read-only", "choose a folder on a writable disk"),
    "EACCES": ("permission denied", "choose a folder you can write to, or change its permissions"),
    "EPERM": ("operation not permitted", "choose a folder you can write to, or change its permissions"),
    "EBUSY": ("the file is in use", "close the program holding it and try again"),
    "ETXTBSY": ("the file is in use", "close the program holding it and try again"),
    "ENOENT": ("a folder on the way does not exist", "create the folder first or choose another path"),
    "ENOTDIR": ("a part of the path is a file, not a folder", "choose another path"),
    "EISDIR": ("it is a folder", "give a file name"),
    "ENAMETOOLONG": ("the name is too long", "choose a shorter path"),
}


def _output_message(path: str, number: int | None, reason: str, kept: str | None) -> str:
    import errno as errno_names

    name = errno_names.errorcode.get(number, "") if number is not None else ""
    meaning, fix = _OUTPUT_FIXES.get(name, (reason, "check the path and try again"))
    system = f" ({name}: {reason})" if name and reason.lower() != meaning else (f" ({name})" if name else "")
    if kept:
        return (
            f"cannot write {path}: {meaning}{system}; the old folder could not be put back and is kept at {kept}: "
            f"move it back to {path}, then {fix}."
        )
    return f"cannot write {path}: {meaning}{system}. Nothing was written and what was there is unchanged; {fix}."


class DataNote(UserWarning):
    """A warning that the data cannot show part of a result; the result is still correct for what it holds.

    The command line prints these as ``note:`` lines; in Python they are ordinary warnings.
    """


@dataclass(frozen=True)
class Problem:
    """One problem found in a sales log.

    Attributes
    ----------
    code : str
        A stable, machine-readable reason code such as ``"unknown_stage"``.
    severity : {"error", "warning"}
        Errors stop the log from loading; warnings are reported and the log still loads.
    message : str
        What is wrong and how to fix it, for a person.
    file : str or None
        The file (relative to the log folder) the problem is in.
    rows : tuple of int
        Row numbers as a person sees them: the line number in a CSV file (the header is line 1),
        the 1-based row in a Parquet file. Only the first few are kept; ``count`` says how many.
    column : str or None
        The column the problem is in.
    values : tuple of str
        The first few offending values, as text.
    expected : str or None
        What was expected instead.
    count : int
        How many rows (or values) have this problem.
    """

    code: str
    severity: Severity
    message: str
    file: str | None = None
    rows: tuple[int, ...] = ()
    column: str | None = None
    values: tuple[str, ...] = ()
    expected: str | None = None
    count: int = 1

    def __post_init__(self) -> None:
        # a value or column may be a whole 1 MB cell of a hostile file: messages show its start and its length
        object.__setattr__(self, "values", tuple(shorten(v) for v in self.values))
        if self.column is not None:
            object.__setattr__(self, "column", shorten(self.column))
        if self.file is not None:
            object.__setattr__(self, "file", shorten(self.file, 200))

    def location(self) -> str:
        """``file, rows 2, 5, column 'x'`` style location text."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.rows:
            label = agree(len(self.rows), "row", "rows")
            shown = ", ".join(str(r) for r in self.rows)
            more = f" (and {self.count - len(self.rows)} more)" if self.count > len(self.rows) else ""
            parts.append(f"{label} {shown}{more}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.values:
            text += f" Found: {', '.join(repr(v) for v in self.values)}."
        if self.expected:
            text += f" Expected: {self.expected}."
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        out = asdict(self)
        out["rows"] = list(self.rows)
        out["values"] = list(self.values)
        return out


@dataclass
class ProblemList:
    """An ordered collection of problems, with helpers to add and report them."""

    items: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.items.append(problem)

    def extend(self, problems: list[Problem] | ProblemList) -> None:
        self.items.extend(problems.items if isinstance(problems, ProblemList) else problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def numbered(self) -> str:
        """The problems as a numbered list, errors first."""
        ordered = self.errors + self.warnings
        return "\n".join(f"{i}. [{p.severity}] {p}" for i, p in enumerate(ordered, start=1))

    def to_json(self) -> str:
        return json.dumps([p.to_dict() for p in self.items], indent=2)


class LogValidationError(SalesmetricsError):
    """A sales log has problems that stop it from loading.

    ``problems`` holds every problem found (errors and warnings), so they can all be fixed at once.
    """

    def __init__(self, path: str, problems: ProblemList):
        self.path = path
        self.problems = problems
        n = len(problems.errors)
        what = plural(n, "problem", verb=("that stops", "that stop"))
        super().__init__(f"The sales log at {path} has {what} it from loading:\n{problems.numbered()}")
