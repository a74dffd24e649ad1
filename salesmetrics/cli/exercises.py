"""``salesmetrics exercises``: show or reset trainees' progress, and hand each trainee their own variant.

Registered on the main parser by :func:`register`; heavy imports happen inside each command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from salesmetrics._util.text import plural
from salesmetrics.cli.flags import add_json, add_overwrite, add_quiet, say
from salesmetrics.exceptions import UsageError

EXIT_OK, EXIT_USAGE = 0, 2


def _store(args):
    from salesmetrics.exercises.progress import ENV, ProgressStore, default_path

    path = Path(args.file) if args.file else default_path()
    if path is None:
        raise UsageError(f"progress recording is off (${ENV} is 'off'); pass --file PATH to read a progress file.")
    return ProgressStore(path)


def _cmd_progress(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.json:
        data = store.load()
        if args.trainee:
            from salesmetrics.exercises.progress import name_key

            wanted = name_key(args.trainee)
            data = {**data, "trainees": {k: v for k, v in data["trainees"].items() if name_key(k) == wanted}}
        print(json.dumps(data, indent=1, ensure_ascii=False))
    else:
        print(store.format_text(trainee=args.trainee))
    return EXIT_OK


def _resolve_reset_scope(store, exercise: str | None, trainee: str | None) -> tuple[str | None, str | None]:
    """The exercise id and the recorded trainee name that ``reset`` means, spelled as ``make`` accepts them
    (``1``, ``01``, ``motion``; a name in any case and spacing); an unknown one is a usage error."""
    from salesmetrics.exercises import find_exercise
    from salesmetrics.exercises.progress import name_key

    data = store.load()["trainees"]
    recorded_ids = {ex_id for person in data.values() for ex_id in person.get("exercises", {})}
    if exercise is not None and exercise not in recorded_ids:
        exercise = find_exercise(exercise).ID  # raises "No exercise ...; exercises: ..." for an unknown one
    if trainee is not None:
        names = [name for name in data if name_key(name) == name_key(trainee)]
        if not names:
            known = ", ".join(repr(n) for n in sorted(data)) or "none"
            raise UsageError(f"No progress is recorded for trainee {trainee!r} in {store.path}; recorded: {known}.")
        trainee = names[0]
    return exercise, trainee


def _cmd_reset(args: argparse.Namespace) -> int:

    store = _store(args)
    if store.path.exists():
        args.exercise, args.trainee = _resolve_reset_scope(store, args.exercise, args.trainee)
    scope = (
        " and ".join(
            part
            for part in (
                f"trainee {args.trainee!r}" if args.trainee else "",
                f"exercise {args.exercise!r}" if args.exercise else "",
            )
            if part
        )
        or "every trainee and exercise"
    )
    if not store.path.exists():
        say(args, f"No progress file at {store.path}: nothing to reset.")
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("reset asks for confirmation; pass --yes to reset without asking.")
        reply = input(f"Forget the progress of {scope} in {store.path}? [y/N] ")
        if reply.strip().lower() not in ("y", "yes"):
            print("Nothing was changed.")
            return EXIT_OK
    removed = store.reset(trainee=args.trainee, exercise=args.exercise)
    if removed:
        say(
            args,
            f"Reset {plural(removed, 'exercise record')} ({scope}); the old file is kept as {store.path.name}.bak.",
        )
    else:
        say(args, f"Nothing recorded for {scope}: nothing was changed.")
    return EXIT_OK


def _cmd_make(args: argparse.Namespace) -> int:
    from salesmetrics.exercises.notebook import make_variants, read_trainees

    names = read_trainees(args.trainees)
    written = make_variants(
        names,
        args.out,
        exercises=args.exercise,
        data=args.data,
        cohort=args.cohort,
        overwrite=args.overwrite,
        folder=args.notebooks,
        add=args.add,
    )
    people = len({path.parent for path in written})
    csv_path = Path(args.out) / "trainees.csv"
    if not written:
        say(
            args,
            f"Every trainee already has these notebooks in {args.out}: nothing was written (seeds in {csv_path}).",
        )
        return EXIT_OK
    notebooks, trainees = plural(len(written), "notebook"), plural(people, "trainee")
    say(args, f"Wrote {notebooks} for {trainees} in {args.out} (seeds in {csv_path}).")
    return EXIT_OK


def _cmd_class(args: argparse.Namespace) -> int:
    from salesmetrics.exercises.classview import write_class_view

    page = write_class_view(args.folder, args.out, overwrite=args.overwrite)
    say(args, f"Wrote the class view to {page}.")
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    from salesmetrics.exercises import exercise_modules

    for ex_id, module in exercise_modules().items():
        print(f"{ex_id}: {module.TITLE} (default data: {module.DEFAULT_DATA})")
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``salesmetrics exercises {progress,reset,make,class,list}`` to the main command line."""
    p = subparsers.add_parser("exercises", help="training exercises: progress, reset, per-trainee variants")
    sub = p.add_subparsers(dest="exercises_command", metavar="ACTION", parser_class=type(p), required=True)

    q = sub.add_parser("progress", help="print each trainee's progress (from the local progress file)")
    q.add_argument("--trainee", help="only this trainee")
    add_json(q)
    q.add_argument("--file", help="progress file (default $SALESMETRICS_PROGRESS or ~/.salesmetrics/progress.json)")
    add_quiet(q)
    q.set_defaults(func=_cmd_progress)

    q = sub.add_parser("reset", help="start over: forget recorded progress (a .bak copy is kept)")
    q.add_argument("--trainee", help="only this trainee")
    q.add_argument("--exercise", help="only this exercise (id, number or part of the id, as for make)")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    q.add_argument("--file", help="progress file (default $SALESMETRICS_PROGRESS or ~/.salesmetrics/progress.json)")
    add_quiet(q)
    q.set_defaults(func=_cmd_reset)

    q = sub.add_parser("make", help="write each trainee's own (unexecuted) exercise notebooks")
    q.add_argument("--trainees", required=True, type=Path, help="text file, one trainee name per line")
    q.add_argument("--out", required=True, type=Path, help="output folder (one subfolder per trainee)")
    q.add_argument("--exercise", action="append", help="only this exercise (id or number), repeatable")
    q.add_argument(
        "--data", "--scenario", dest="data", help="simulator scenario or log folder (default: each exercise's)"
    )
    q.add_argument("--cohort", default="", help="text mixed into the seeds, so another cohort gets other numbers")
    q.add_argument(
        "--notebooks", type=Path, help="folder of the exercise notebooks (default: the repository's exercises/)"
    )
    add_overwrite(q, "replace notebooks that already exist (trainees' work is lost)")
    q.add_argument(
        "--add",
        action="store_true",
        help="add missing trainees or exercises: write only notebooks that do not exist yet, leave the others alone",
    )
    add_quiet(q)
    q.set_defaults(func=_cmd_make)

    q = sub.add_parser("class", help="one offline HTML page of a class's progress, from its progress files")
    q.add_argument("folder", type=Path, help="the handout folder (the --out of make) holding the progress files")
    q.add_argument("--out", type=Path, help="the page to write (default FOLDER/class.html)")
    add_overwrite(q, "replace an existing page")
    add_quiet(q)
    q.set_defaults(func=_cmd_class)

    q = sub.add_parser("list", help="list the exercises")
    add_quiet(q)
    q.set_defaults(func=_cmd_list)
