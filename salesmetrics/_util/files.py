"""What kind of thing a path in a log folder is, before anything reads from it.

A named pipe blocks a reader forever, ``/dev/zero`` never ends and a folder cannot be read at all, so every
file of a log is checked to be a regular file (symbolic links followed) before it is opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def not_a_file(path: Path) -> str | None:
    """None when ``path`` is a regular file; otherwise what it is instead, in words (``"a folder"``).

    >>> not_a_file(Path("/dev/null")), not_a_file(Path("/"))
    ('a device', 'a folder')
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"not readable ({exc.strerror})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
