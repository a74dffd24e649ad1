"""The class view: every trainee's progress file of a handout on one offline HTML page, for the trainer.

``salesmetrics exercises class DIR`` reads every progress file under ``DIR`` (any ``*.json`` shaped like a
progress file: what ``salesmetrics exercises progress --json`` prints, or a trainee's
``progress.json``) and ``DIR/trainees.csv`` (written by ``exercises make``, so trainees who have not started
are listed too), and writes one self-contained page (no script, nothing fetched): who has done what; per
question the share of the class that solved it, the most common named mistakes, and how many used hints or
saw the solution. Reading never changes a progress file; every name and message from the files is escaped.

Examples
--------
>>> import pathlib, tempfile
>>> from salesmetrics.exercises.progress import ProgressStore
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> store = ProgressStore(folder / "ana" / "progress.json")
>>> store.record_check("Ana", "01-demo", "q1", "incorrect", mistake="mean", title="Demo", questions=["q1", "q2"])
>>> store.record_check("Ana", "01-demo", "q2", "correct", title="Demo", questions=["q1", "q2"])
>>> view = class_view(folder)
>>> view.trainees, view.questions[["exercise", "question", "solved", "mistakes"]].values.tolist()
(['Ana'], [['01-demo', 'q1', 0, 'mean (1)'], ['01-demo', 'q2', 1, '']])
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from salesmetrics._util.atomic import write_text_atomic
from salesmetrics._util.output import check_output_file
from salesmetrics._util.text import plural
from salesmetrics.exceptions import UsageError
from salesmetrics.exercises import exercise_modules
from salesmetrics.exercises.notebook import _read_trainees_csv
from salesmetrics.exercises.progress import ProgressStore, name_key, solved

SKIP_FOLDERS = {".ipynb_checkpoints", ".git", "__pycache__"}


@dataclass(frozen=True)
class ClassView:
    """A class's progress: ``trainees`` (names, in order), ``exercises`` (id -> title), ``done`` (one row per
    trainee and exercise: solved, questions, attempts, hints, solutions, last activity), ``questions`` (one row
    per question: trainees who solved it, the share, attempts, the named mistakes of the latest checks, hints and
    solutions seen), the ``files`` read and ``notes`` about files left out."""

    folder: Path
    trainees: list[str]
    exercises: dict[str, str]
    done: pd.DataFrame
    questions: pd.DataFrame
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _progress_files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*.json")):
        if SKIP_FOLDERS.intersection(path.relative_to(folder).parts[:-1]) or not path.is_file():
            continue
        found.append(path)
    return found


def read_class(folder: str | Path) -> tuple[dict[str, dict[str, Any]], list[Path], list[str]]:
    """Trainee -> exercise id -> record, merged from every progress file under ``folder`` (the most recently
    updated record wins when a trainee's exercise is in two files), the files read, and notes on files left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; give the handout folder (the --out of `exercises make`).")
    merged: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    read, notes = [], []
    for path in _progress_files(folder):
        data, status, detail = ProgressStore(path)._read()  # reading only: a trainee's file is never changed
        if status in ("unreadable", "corrupt", "shape"):
            if status != "shape":  # other JSON files (a notebook's settings...) are simply not progress files
                notes.append(f"{path.relative_to(folder)}: left out, it {detail or 'cannot be read'}")
            continue
        if status == "repaired":
            notes.append(f"{path.relative_to(folder)}: {detail} left out")
        read.append(path)
        for trainee, person in data["trainees"].items():
            key = name_key(trainee)
            names.setdefault(key, trainee)
            slot = merged.setdefault(names[key], {})
            for ex_id, record in person.get("exercises", {}).items():
                before = slot.get(ex_id)
                if before is None or str(record.get("updated_at", "")) >= str(before.get("updated_at", "")):
                    slot[ex_id] = record
    return merged, read, notes


def _listed_trainees(folder: Path) -> list[str]:
    return list(_read_trainees_csv(folder / "trainees.csv"))


def class_view(folder: str | Path) -> ClassView:
    """The :class:`ClassView` of the handout ``folder`` (see the module docstring)."""
    folder = Path(folder)
    records, files, notes = read_class(folder)
    listed = _listed_trainees(folder)
    if not files and not listed:
        raise UsageError(
            f"No progress file and no trainees.csv under {folder}. Collect each trainee's progress with "
            "`salesmetrics exercises progress --json > FILE.json` into that folder, then run this again."
        )
    trainees = list(dict.fromkeys([*listed, *records]))
    by_key = {name_key(n): n for n in records}
    known = {ex_id: module.TITLE for ex_id, module in exercise_modules().items()}
    seen = sorted({ex_id for person in records.values() for ex_id in person})
    exercises = {ex_id: title for ex_id, title in known.items() if ex_id in seen}
    for ex_id in seen:
        if ex_id not in exercises:
            titles = [p[ex_id].get("title", "") for p in records.values() if ex_id in p]
            exercises[ex_id] = next((t for t in titles if t), ex_id)
    question_ids: dict[str, list[str]] = {}
    for ex_id in exercises:
        ids: list[str] = []
        for person in records.values():
            record = person.get(ex_id, {})
            for q in [*record.get("question_ids", []), *record.get("questions", {})]:
                if q not in ids:
                    ids.append(q)
        question_ids[ex_id] = ids
    done_rows, question_rows = [], []
    n_class = len(trainees)
    for ex_id, ids in question_ids.items():
        for q in ids:
            recs = [
                records.get(by_key.get(name_key(t), t), {}).get(ex_id, {}).get("questions", {}).get(q) for t in trainees
            ]
            recs = [r for r in recs if r]
            mistakes = Counter(
                r["mistake"] for r in recs if r.get("mistake") and not solved(r) and r.get("state") != "recorded"
            )
            question_rows.append(
                {
                    "exercise": ex_id,
                    "question": q,
                    "solved": sum(1 for r in recs if solved(r)),
                    "share solved": sum(1 for r in recs if solved(r)) / n_class if n_class else 0.0,
                    "tried": sum(1 for r in recs if r.get("attempts", 0) > 0),
                    "attempts": sum(int(r.get("attempts", 0)) for r in recs),
                    "mistakes": ", ".join(f"{name} ({count})" for name, count in mistakes.most_common(3)),
                    "used hints": sum(1 for r in recs if r.get("hints", 0) > 0),
                    "saw solution": sum(1 for r in recs if r.get("solution_seen")),
                }
            )
        for trainee in trainees:
            record = records.get(by_key.get(name_key(trainee), trainee), {}).get(ex_id)
            qs = (record or {}).get("questions", {})
            done_rows.append(
                {
                    "trainee": trainee,
                    "exercise": ex_id,
                    "solved": sum(1 for q in ids if solved(qs.get(q))),
                    "questions": len(ids),
                    "attempts": sum(int(r.get("attempts", 0)) for r in qs.values()),
                    "hints": sum(int(r.get("hints", 0)) for r in qs.values()),
                    "solutions": sum(1 for r in qs.values() if r.get("solution_seen")),
                    "last activity": (record or {}).get("updated_at", ""),
                }
            )
    done = pd.DataFrame(
        done_rows,
        columns=["trainee", "exercise", "solved", "questions", "attempts", "hints", "solutions", "last activity"],
    )
    questions = pd.DataFrame(
        question_rows,
        columns=[
            "exercise",
            "question",
            "solved",
            "share solved",
            "tried",
            "attempts",
            "mistakes",
            "used hints",
            "saw solution",
        ],
    )
    return ClassView(folder, trainees, exercises, done, questions, files, notes)


# ------------------------------------------------------------------------------------------------------------
# The page

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:72em;color:#1f2328}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em}table{border-collapse:collapse;margin:.6em 0}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f6f8fa}
td.num{text-align:right}.bar{display:inline-block;height:.7em;background:#1a7f37;vertical-align:middle}
.none{color:#8c959f}.all{background:#e8f5ec}.some{background:#fff8c5}p.note{color:#57606a}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _cell(solved_n: int, total: int) -> str:
    css = "all" if total and solved_n == total else "some" if solved_n else "none"
    return f"<td class='num {css}'>{solved_n} / {total}</td>"


def render_class_view(view: ClassView) -> str:
    """The page of a :class:`ClassView`: one HTML document, no script, nothing fetched, every text escaped."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Class progress: {_e(view.folder.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Class progress: {_e(view.folder.name)}</h1>",
        f"<p>{plural(len(view.trainees), 'trainee')}, "
        f"{plural(len(view.exercises), 'exercise')}, read from "
        f"{plural(len(view.files), 'progress file')}. Questions solved per trainee "
        "and exercise; a trainee listed in trainees.csv without a progress file has done nothing yet.</p>",
        "<h2 id='who'>Who has done what</h2>",
        "<table id='who-table'><thead><tr><th>trainee</th>",
    ]
    parts += [f"<th title='{_e(title)}'>{_e(ex_id)}</th>" for ex_id, title in view.exercises.items()]
    parts.append("<th>hints</th><th>solutions seen</th></tr></thead><tbody>")
    for trainee in view.trainees:
        rows = view.done[view.done["trainee"] == trainee].set_index("exercise")
        parts.append(f"<tr><th scope='row'>{_e(trainee)}</th>")
        for ex_id in view.exercises:
            row = rows.loc[ex_id] if ex_id in rows.index else None
            parts.append(_cell(int(row["solved"]), int(row["questions"])) if row is not None else "<td></td>")
        parts.append(
            f"<td class='num'>{int(rows['hints'].sum())}</td><td class='num'>{int(rows['solutions'].sum())}</td>"
        )
        parts.append("</tr>")
    parts.append("</tbody></table>")
    parts.append("<h2 id='questions'>Per question</h2>")
    parts.append(
        "<p>Share solved is out of the whole class. Mistakes are the named typical mistakes of the latest checks "
        "of those who have not solved it yet (a prediction or reflection is recorded, not a mistake).</p>"
    )
    parts.append(
        "<table id='question-table'><thead><tr><th>exercise</th><th>question</th><th>solved</th><th>share solved</th>"
        "<th>tried</th><th>attempts</th><th>most common mistakes</th><th>used hints</th><th>saw solution</th>"
        "</tr></thead><tbody>"
    )
    for row in view.questions.itertuples(index=False):
        share = float(row[3])
        parts.append(
            f"<tr><td>{_e(row.exercise)}</td><td>{_e(row.question)}</td><td class='num'>{row.solved}</td>"
            f"<td class='num'>{share:.0%} <span class='bar' style='width:{share * 4:.2f}em'></span></td>"
            f"<td class='num'>{row.tried}</td><td class='num'>{row.attempts}</td><td>{_e(row.mistakes)}</td>"
            f"<td class='num'>{row[7]}</td><td class='num'>{row[8]}</td></tr>"
        )
    parts.append("</tbody></table>")
    if view.notes:
        parts.append("<h2 id='notes'>Files left out</h2><ul>")
        parts += [f"<li>{_e(note)}</li>" for note in view.notes]
        parts.append("</ul>")
    parts.append("<p class='note'>Written by salesmetrics exercises class; it opens offline.</p></body></html>")
    return "\n".join(parts)


def write_class_view(folder: str | Path, out: str | Path | None = None, *, overwrite: bool = False) -> Path:
    """Write the class page of the handout ``folder`` to ``out`` (default ``folder/class.html``), atomically;
    an existing page is replaced only with ``overwrite``; a progress file is never written over."""
    view = class_view(folder)
    target = Path(out) if out is not None else Path(folder) / "class.html"
    check_output_file(target, overwrite=overwrite, flag="--overwrite", inputs=view.files)
    write_text_atomic(target, render_class_view(view))
    return target


__all__ = ["ClassView", "class_view", "read_class", "render_class_view", "write_class_view"]
