"""``make lab``: JupyterLab on the trainee's exercises folder, also where the user is root (containers, shared servers).

The exercise notebooks live in the package (``salesmetrics/exercises/notebooks/``, shipped in the wheel); a trainee
writes answers into copies. Before JupyterLab opens, the notebooks the folder does not have yet are copied into it;
one already there holds the trainee's answers and is never replaced (decision 0041).

JupyterLab refuses to start as root ("Running as root is not recommended. Use --allow-root to bypass.") and
exits, so the trainee saw nothing open. As root, ``--allow-root`` is passed (with a note saying so); otherwise
the command is unchanged. Run as ``python -m salesmetrics.exercises.lab [FOLDER] [JUPYTER-LAB OPTIONS...]``.

>>> lab_command("exercises", euid=0, jupyter="jupyter")
['jupyter', 'lab', 'exercises', '--allow-root']
>>> lab_command("exercises", euid=1000, jupyter="jupyter")
['jupyter', 'lab', 'exercises']
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from salesmetrics._util.atomic import atomic_path
from salesmetrics._util.text import plural
from salesmetrics.exercises import NOTEBOOKS

#: What a trainee's folder gets from the package: the notebooks and the README that says how to use them.
HANDED = ("*.ipynb", "README.md")


def _jupyter() -> str:
    """The ``jupyter`` beside this Python (the venv's), else the one on PATH."""
    here = Path(sys.executable).with_name("jupyter")
    return str(here) if here.exists() else "jupyter"


def is_root(euid: int | None = None) -> bool:
    """True when the effective user is root (uid 0); False where there are no uids (Windows)."""
    if euid is None:
        euid = os.geteuid() if hasattr(os, "geteuid") else -1
    return euid == 0


def lab_command(
    folder: str = "exercises", extra: Sequence[str] = (), *, euid: int | None = None, jupyter: str | None = None
) -> list[str]:
    """The command that opens JupyterLab on ``folder``: with ``--allow-root`` when run as root."""
    command = [jupyter or _jupyter(), "lab", str(folder), *extra]
    if is_root(euid) and "--allow-root" not in command:
        command.append("--allow-root")
    return command


def copy_notebooks(folder: str | Path) -> list[Path]:
    """Copy into ``folder`` the exercise notebooks (and README) it does not have yet; returns the copies made.

    A file already there is left alone: it holds the trainee's answers.
    """
    folder = Path(folder)
    copied = []
    for pattern in HANDED:
        for source in sorted(NOTEBOOKS.glob(pattern)):
            target = folder / source.name
            if not target.exists():
                with atomic_path(target) as partial:
                    shutil.copyfile(source, partial)
                copied.append(target)
    return copied


def main(argv: Sequence[str] | None = None, *, euid: int | None = None, jupyter: str | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    folder = args.pop(0) if args and not args[0].startswith("-") else "exercises"
    if not Path(folder).is_dir():
        print(f"make lab: no folder {folder!r}; create it first (make lab creates exercises/).", file=sys.stderr)
        return 2
    copied = copy_notebooks(folder)
    if copied:
        print(
            f"make lab: copied {plural(len(copied), 'file')} from the package into {folder}/ "
            "(write your answers there; a notebook already there is never replaced).",
            file=sys.stderr,
        )
    command = lab_command(folder, args, euid=euid, jupyter=jupyter)
    if is_root(euid):
        print(
            "make lab: running as root (a container or a shared server), so JupyterLab is started with "
            "--allow-root. Open the link it prints below if no browser opens.",
            file=sys.stderr,
        )
    try:
        return subprocess.call(command)
    except FileNotFoundError:
        print(f"make lab: {command[0]} was not found; run `make install` first.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C stops the server: not an error
        return 0


if __name__ == "__main__":  # pragma: no cover - exercised through `make lab` and tests calling main()
    raise SystemExit(main())
