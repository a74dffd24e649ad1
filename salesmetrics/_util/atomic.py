"""Atomic writes: a temporary file or folder beside the target, moved into place only when it is complete.

A reader never sees half a file or half a log folder, and a failed write leaves the old file or folder (or
none) where it was. The finished file gets the permissions a newly created file would (``0o666`` less the
umask): ``mkstemp`` makes private files, and reports, scores and models are meant to be shared.

A system error while writing (a full disk, a read-only or locked folder) is raised as
:class:`~salesmetrics.exceptions.OutputError`, which names the output rather than the temporary file.

Examples
--------
>>> import pathlib, tempfile
>>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
>>> write_text_atomic(target, "hello")
>>> target.read_text()
'hello'
>>> with atomic_folder(target.parent / "log") as new:
...     new.mkdir()
...     _ = (new / "deals.csv").write_text("deal_id\\n")
>>> sorted(p.name for p in (target.parent / "log").iterdir())
['deals.csv']
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from salesmetrics.exceptions import OutputError


def _as_output_error(path: Path, exc: OSError) -> OutputError:
    return exc if isinstance(exc, OutputError) else OutputError(path, exc)


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Raise an ``OSError`` of the block (a write to ``path`` done by another library) as
    :class:`~salesmetrics.exceptions.OutputError` naming ``path``."""
    try:
        yield
    except OSError as exc:
        raise _as_output_error(Path(path), exc) from exc


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; when the block ends without error, move it to ``path``.

    On an error (or ``KeyboardInterrupt``) the temporary file is removed and ``path`` is left as it was; an
    ``OSError`` is raised as :class:`~salesmetrics.exceptions.OutputError` naming ``path``.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise _as_output_error(path, exc) from exc
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        raise _as_output_error(path, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            if os.path.lexists(tmp):
                os.unlink(tmp)


@contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Yield a path (not yet created) in a temporary folder beside ``path``; when the block ends without error,
    the folder made there replaces ``path``.

    The block creates the folder and fills it. Replacing takes two renames (the old folder aside, the new one
    in); if the second fails or is interrupted the old folder is renamed back, so ``path`` always holds a
    whole folder, the old one or the new one. Should even that fail, the old folder is kept where it was set
    aside and the :class:`~salesmetrics.exceptions.OutputError` says where. On any error the temporary folder
    is removed. Checking that replacing ``path`` is allowed is the caller's job (:mod:`salesmetrics._util.output`).
    """
    target = Path(path).absolute()  # "." has no parent to stage beside
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise _as_output_error(target, exc) from exc
    new, old = staging / "new", staging / "old"
    try:
        try:
            yield new
        except OSError as exc:  # an error naming a path inside the staging folder is restated for the target
            inner = isinstance(exc, OutputError) and exc.kept is None and staging in Path(exc.filename or "/").parents
            raise (OutputError(target, exc) if inner else _as_output_error(target, exc)) from exc
        _swap(new, target, old)
    finally:
        if os.path.lexists(old) and not os.path.lexists(target):
            pass  # the old folder could not be put back: it stays in the staging folder (the error says so)
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(staging)


def _swap(new: Path, target: Path, old: Path) -> None:
    """Move ``target`` (if any) to ``old`` and ``new`` to ``target``; on any failure put ``old`` back."""
    try:
        if os.path.lexists(target):
            os.rename(target, old)
        os.rename(new, target)
    except BaseException as exc:  # KeyboardInterrupt too: the old folder goes back before anything else
        if os.path.lexists(old) and not os.path.lexists(target):
            try:
                os.rename(old, target)
            except OSError:
                error = exc if isinstance(exc, OSError) else OSError(None, type(exc).__name__)
                raise OutputError(target, error, kept=str(old)) from exc
        if isinstance(exc, OSError):
            raise _as_output_error(target, exc) from exc
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its folder if needed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _as_output_error(path, exc) from exc
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
