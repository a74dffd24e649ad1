"""Where a command may write: the one check every output goes through, before any work is done.

The policy, for every command (``score``, ``report``, ``simulate``, ``import``, ``model ...``) and the Python
functions under them:

- **Inputs are never written.** An output is refused when it is an input log folder or inside one, when it is
  an input file (a model file, an export, a mapping), and, for a folder that would be replaced whole, when it
  holds an input. ``--overwrite`` / ``--force`` never allow this.
- **An existing file is replaced only when asked** (``overwrite=True``; the message names the command-line
  flag). Report folders keep their own rule (an identical report is kept, another one needs ``--force``) and
  log folders theirs (only a folder holding nothing but a salesmetrics log is replaced).
- **Folders**: a file output's folder must exist (a mistyped folder name should not quietly grow a tree); a
  folder output (a log, a folder of reports) is created with its parents.
- **Writable first**: the nearest existing folder is probed with a temporary file, so a read-only folder or a
  full disk is reported before minutes of work, as :class:`~salesmetrics.exceptions.OutputError` (exit 1).

Writing itself goes through :mod:`salesmetrics._util.atomic`, which leaves no partial file and turns system errors
into the same :class:`~salesmetrics.exceptions.OutputError`.

Examples
--------
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> check_output_file(folder / "scores.csv", logs=[folder / "log"]).name
'scores.csv'
>>> check_output_file(folder / "log" / "scores.csv", logs=[folder / "log"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
salesmetrics.exceptions.UsageError: Refusing to write .../log/scores.csv: it is inside the log folder .../log, \
which this command only reads. Write it somewhere else (--overwrite or --force never allows this).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from salesmetrics.exceptions import OutputError, UsageError

_NEVER = "(--overwrite or --force never allows this)"


def _resolved(path: str | os.PathLike) -> Path:
    return Path(path).expanduser().resolve()


def refuse_inputs(
    path: str | os.PathLike,
    *,
    logs: Iterable[str | os.PathLike] = (),
    inputs: Iterable[str | os.PathLike] = (),
    replaces: bool = False,
    verb: str = "read",
) -> None:
    """Raise :class:`UsageError` when writing ``path`` could touch an input, whatever ``overwrite`` says.

    ``logs`` are input log folders (``path`` may be neither one nor inside one); ``inputs`` are input files or
    folders (``path`` may not be one). With ``replaces`` (a folder replaced whole) ``path`` may not hold any of
    them either. ``verb`` says what the command does with its inputs (``read``, ``imported``).
    """
    here = _resolved(path)
    for log in logs:
        if log is None:
            continue
        folder = _resolved(log)
        if here == folder:
            raise UsageError(f"Refusing to write over {path}: it is the folder the log is read from. {_NEVER}")
        if folder in here.parents:
            raise UsageError(
                f"Refusing to write {path}: it is inside the log folder {log}, which this command only reads. "
                f"Write it somewhere else {_NEVER}."
            )
        if replaces and here in folder.parents:
            raise UsageError(f"Refusing to write over {path}: it holds the log folder {log} being {verb}. {_NEVER}")
    for item in inputs:
        if item is None:
            continue
        read = _resolved(item)
        if here == read:
            kind = "folder" if read.is_dir() else "file"
            raise UsageError(
                f"Refusing to write over {path}: it is the {kind} being {verb}; choose another path {_NEVER}."
            )
        if replaces and here in read.parents:
            raise UsageError(f"Refusing to write over {path}: it holds {item}, a file being {verb}. {_NEVER}")


def check_writable(folder: str | os.PathLike, output: str | os.PathLike | None = None) -> None:
    """Raise :class:`OutputError` unless a file can be created in ``folder`` (or, when it does not exist yet,
    in the nearest folder above it that does); ``output`` is the path named in the message."""
    probe = Path(folder).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        fd, name = tempfile.mkstemp(prefix=".salesmetrics-write-check-", dir=probe)
    except OSError as exc:
        raise OutputError(output if output is not None else folder, exc) from exc
    os.close(fd)
    os.unlink(name)


def check_output_file(
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    flag: str = "--overwrite",
    logs: Iterable[str | os.PathLike] = (),
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Check that the file ``path`` may be written; returns it as a :class:`~pathlib.Path`.

    Refuses (:class:`UsageError`) an input or a path inside an input log folder (:func:`refuse_inputs`), a
    folder, an existing file unless ``overwrite`` (naming ``flag``), and a folder that does not exist; raises
    :class:`OutputError` when the folder is not writable.
    """
    path = Path(path)
    refuse_inputs(path, logs=logs, inputs=inputs)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name.")
    if path.exists() and not overwrite:
        raise UsageError(f"{path} already exists; choose another file or pass overwrite=True ({flag}) to replace it.")
    if not path.parent.is_dir():
        raise UsageError(f"The folder {path.parent} does not exist; create it first, or choose another path.")
    check_writable(path.parent, path)
    return path


def check_output_folder(
    path: str | os.PathLike,
    *,
    logs: Iterable[str | os.PathLike] = (),
    inputs: Iterable[str | os.PathLike] = (),
    what: str = "",
    verb: str = "read",
    replaces: bool = True,
) -> Path:
    """Check that files may be written into the folder ``path`` (created if missing); returns it.

    Refuses a file in the way (``what`` is what goes into the folder, for the message) and any input
    (:func:`refuse_inputs`; with ``replaces``, for a folder replaced whole, one holding an input too); raises
    :class:`OutputError` when the folder, or the nearest one above it, is not writable. What may be replaced
    inside it is the caller's rule.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is a file; give the folder to write {what or 'the output'} into.")
    refuse_inputs(path, logs=logs, inputs=inputs, replaces=replaces, verb=verb)
    check_writable(path, path)
    return path


__all__ = ["check_output_file", "check_output_folder", "check_writable", "refuse_inputs"]
