"""Each trainee's progress through the exercises, kept in a small local JSON file.

Where: ``$SALESMETRICS_PROGRESS`` if set (``off`` turns recording off), else ``~/.salesmetrics/progress.json``.
What: per trainee, exercise and question the state of the latest check, the number of attempts, when it was
first checked, last checked and solved, how many hints and whether the solution were shown, the first
prediction (prediction questions) and the reflection text (reflection questions). Answers themselves are not
kept. Every write goes to a temporary file in the same folder that then replaces the old one, so an
interrupted write never leaves a broken file; each update holds an exclusive lock on ``progress.json.lock`` from
reading to replacing, so two notebooks checking at the same moment cannot lose each other's update; a file
that cannot be read or written gives one warning and the exercise carries on (progress is a convenience,
never a reason for a check to fail).

A file that is not valid JSON or not shaped like a progress file is never written over: the next update moves
it aside to ``progress.json.corrupt-<UTC time>``, says so, and starts a fresh record. Entries of the wrong type
(a question record that is a string, attempts given as text...) are left out when the file is read, so they
never break a check or ``salesmetrics exercises progress``; the next update keeps a copy of the original file
aside in the same way before writing the rest back.

Examples
--------
>>> import tempfile, pathlib
>>> store = ProgressStore(pathlib.Path(tempfile.mkdtemp()) / "progress.json")
>>> store.record_check("Ana", "01-demo", "q1", "incorrect", message="Not quite.", title="Demo", questions=["q1", "q2"])
>>> store.record_check("Ana", "01-demo", "q1", "correct", title="Demo", questions=["q1", "q2"])
>>> store.question("Ana", "01-demo", "q1")["attempts"]
2
>>> print(store.format_text().splitlines()[1])
Ana
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from salesmetrics._util.atomic import write_text_atomic
from salesmetrics._util.text import plural

ENV = "SALESMETRICS_PROGRESS"
OFF = {"off", "none", "0", "false", "no"}
VERSION = 1
STATES = ("not_attempted", "incorrect", "correct", "recorded")


def default_path() -> Path | None:
    """The progress file: ``$SALESMETRICS_PROGRESS`` (``off`` or empty: none), or ``~/.salesmetrics/progress.json``."""
    value = os.environ.get(ENV)
    if value is not None:
        if value.strip().lower() in OFF or not value.strip():
            return None
        return Path(value).expanduser()
    return Path.home() / ".salesmetrics" / "progress.json"


@contextlib.contextmanager
def _exclusive(path: Path):
    """Hold an exclusive lock on ``path.lock`` (POSIX ``flock``; Windows ``msvcrt``) for a read-modify-write.

    Where no lock can be taken (a read-only folder, a file system without locks) the update goes ahead
    unlocked: progress is a convenience, and the atomic replace still protects the file itself.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".lock"), "a+b")  # noqa: SIM115 - closed below
    except OSError:
        yield
        return
    try:
        try:
            if os.name == "nt":  # pragma: no cover - exercised on Windows only
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except OSError:
            pass
        yield  # the lock goes with the handle when it is closed
    finally:
        handle.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _empty() -> dict[str, Any]:
    return {"version": VERSION, "trainees": {}}


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# what each field of a question record may hold; a field that does not is left out (the default is used)
_QUESTION_FIELDS = {
    "state": lambda v: v in STATES,
    "attempts": _is_count,
    "hints": _is_count,
    "solution_seen": lambda v: isinstance(v, bool),
    "first_checked": lambda v: isinstance(v, str),
    "last_checked": lambda v: isinstance(v, str),
    "solved_at": lambda v: isinstance(v, str),
    "message": lambda v: isinstance(v, str),
    "mistake": lambda v: v is None or isinstance(v, str),
    "reflection": lambda v: isinstance(v, str),
}
_EXERCISE_FIELDS = {
    "title": lambda v: isinstance(v, str),
    "parameters": lambda v: isinstance(v, dict),
    "question_ids": lambda v: isinstance(v, list) and all(isinstance(q, str) for q in v),
    "updated_at": lambda v: isinstance(v, str),
}


def _clean(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A copy of a progress record without entries of the wrong type, and how many were left out.

    A trainee, exercise or question that is not a mapping is left out whole; a field of the wrong type (see
    ``_QUESTION_FIELDS`` and ``_EXERCISE_FIELDS``) is left out and its default used. Unknown fields are kept.
    """
    dropped = 0

    def fields(record: dict, checks: dict) -> dict:
        nonlocal dropped
        kept = {}
        for key, value in record.items():
            if key in checks and not checks[key](value):
                dropped += 1
            else:
                kept[key] = value
        return kept

    def mapping(value: Any) -> dict:
        nonlocal dropped
        if isinstance(value, dict):
            return value
        dropped += 1
        return {}

    trainees = {}
    for name, person in data["trainees"].items():
        if not isinstance(person, dict):
            dropped += 1
            continue
        exercises = {}
        for ex_id, ex in mapping(person.get("exercises", {})).items():
            if not isinstance(ex, dict):
                dropped += 1
                continue
            questions = {}
            for q_id, rec in mapping(ex.get("questions", {})).items():
                if isinstance(rec, dict):
                    questions[q_id] = fields(rec, _QUESTION_FIELDS)
                else:
                    dropped += 1
            exercises[ex_id] = {**fields(ex, _EXERCISE_FIELDS), "questions": questions}
        trainees[name] = {**person, "exercises": exercises}
    return {**data, "trainees": trainees}, dropped


class ProgressStore:
    """Read and update the progress file at ``path`` (see the module docstring for what it holds)."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path is not None else None
        self._warned = False

    # -- reading ---------------------------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        """The whole file as a dict (an empty record when the file is missing, unreadable or corrupt; entries
        of the wrong type left out). Reading never changes the file."""
        data, status, detail = self._read()
        if status == "unreadable":
            self._warn(f"cannot read the progress file {self.path} ({detail}); starting from an empty record")
        elif status in ("corrupt", "shape"):
            self._warn(
                f"cannot read the progress file {self.path}: it {detail}; starting from an empty record (the file "
                "is left as it is, and the next check keeps it aside under another name)"
            )
        elif status == "repaired":
            self._warn(f"the progress file {self.path} has {detail}; they are left out (the file is unchanged)")
        return data

    def _read(self) -> tuple[dict[str, Any], str, str]:
        """(record, status, detail): status is ok, missing, unreadable (OSError), corrupt (not JSON), shape
        (JSON but not a progress file) or repaired (wrongly typed entries left out; detail says how many)."""
        if self.path is None or not self.path.exists():
            return _empty(), "missing", ""
        try:
            text = self.path.read_bytes()
        except OSError as exc:
            return _empty(), "unreadable", str(exc)
        try:
            data = json.loads(text.decode("utf-8"))
        except ValueError as exc:  # UnicodeDecodeError too
            return _empty(), "corrupt", f"is not valid JSON ({exc})"
        if not isinstance(data, dict) or not isinstance(data.get("trainees"), dict):
            return _empty(), "shape", "is not a salesmetrics progress file (no 'trainees' mapping)"
        clean, dropped = _clean(data)
        if dropped:
            return clean, "repaired", f"{plural(dropped, 'entry')} of the wrong type"
        return clean, "ok", ""

    def _read_for_update(self) -> dict[str, Any] | None:
        """The record to change and write back, or None when nothing may be written: a corrupt or wrongly shaped
        file is first moved aside, a file with wrongly typed entries copied aside (``progress.json.corrupt-<time>``);
        when that fails, or the file cannot be read, nothing is written over it."""
        data, status, detail = self._read()
        if status == "unreadable":
            self._warn(f"cannot read the progress file {self.path} ({detail}); this check was not recorded")
            return None
        if status in ("corrupt", "shape", "repaired"):
            aside = self._aside_path()
            try:
                if status == "repaired":
                    shutil.copy2(self.path, aside)
                else:
                    os.replace(self.path, aside)
            except OSError as exc:
                if status == "repaired":  # a partial copy is no copy
                    with contextlib.suppress(OSError):
                        aside.unlink()
                what = f"has {detail}" if status == "repaired" else detail
                self._warn(
                    f"the progress file {self.path} {what} and could not be kept aside as {aside} ({exc}); it is "
                    "left untouched and this check was not recorded"
                )
                return None
            if status == "repaired":
                warnings.warn(
                    f"the progress file {self.path} had {detail}; they were left out and the original file was "
                    f"kept as {aside}",
                    stacklevel=4,
                )
            else:
                warnings.warn(
                    f"the progress file {self.path} {detail}: it was kept as {aside} and a fresh record was started",
                    stacklevel=4,
                )
        return data

    def _aside_path(self) -> Path:
        """``progress.json.corrupt-20261203T215000Z`` (``-2``, ``-3``... when that name is taken)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        base = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        candidate, n = base, 2
        while os.path.lexists(candidate):
            candidate, n = base.with_name(f"{base.name}-{n}"), n + 1
        return candidate

    def question(self, trainee: str, exercise: str, question: str) -> dict[str, Any] | None:
        """The record of one question, or None."""
        ex = self.load()["trainees"].get(trainee, {}).get("exercises", {}).get(exercise, {})
        return ex.get("questions", {}).get(question)

    # -- writing ---------------------------------------------------------------------------------------------
    def _save(self, data: dict[str, Any]) -> None:
        if self.path is None:
            return
        try:
            write_text_atomic(self.path, json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n")
        except OSError as exc:  # OutputError included: progress never stops a check
            self._warn(f"cannot save progress to {self.path} ({exc}); set {ENV} to a writable file")

    def _warn(self, message: str) -> None:
        if not self._warned:
            warnings.warn(message, stacklevel=3)
            self._warned = True

    def _update(
        self, trainee: str, exercise: str, question: str, change, *, title=None, parameters=None, questions=None
    ):
        if self.path is None:
            return
        with _exclusive(self.path):
            self._change(trainee, exercise, question, change, title=title, parameters=parameters, questions=questions)

    def _change(self, trainee, exercise, question, change, *, title, parameters, questions) -> None:
        data = self._read_for_update()
        if data is None:
            return
        person = data["trainees"].setdefault(trainee, {"exercises": {}})
        ex = person.setdefault("exercises", {}).setdefault(exercise, {"questions": {}})
        if title is not None:
            ex["title"] = title
        if parameters is not None:
            ex["parameters"] = parameters
        if questions is not None:
            ex["question_ids"] = list(questions)
        rec = ex.setdefault("questions", {}).setdefault(
            question,
            {"state": "not_attempted", "attempts": 0, "hints": 0, "solution_seen": False},
        )
        change(rec)
        ex["updated_at"] = _now()
        self._save(data)

    def record_check(
        self,
        trainee: str,
        exercise: str,
        question: str,
        state: str,
        *,
        message: str = "",
        mistake: str | None = None,
        prediction: Any = None,
        reflection: str | None = None,
        title: str | None = None,
        parameters: dict | None = None,
        questions: list[str] | None = None,
    ) -> None:
        """Record a check: its state; an attempt unless the answer was blank; first prediction; reflection."""
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, not {state!r}")
        now = _now()

        def change(rec):
            if state != "not_attempted" or rec.get("state") == "not_attempted":
                rec["state"] = state  # a blank check after an answer does not erase the answer's state
            if state != "not_attempted":
                rec["attempts"] = rec.get("attempts", 0) + 1
                rec.setdefault("first_checked", now)
                rec["last_checked"] = now
                rec["message"] = message
                rec["mistake"] = mistake
            if state == "correct":
                rec.setdefault("solved_at", now)
            if prediction is not None:
                rec.setdefault("prediction", prediction)
            if reflection is not None:
                rec["reflection"] = reflection

        self._update(trainee, exercise, question, change, title=title, parameters=parameters, questions=questions)

    def record_hint(self, trainee: str, exercise: str, question: str, n: int, **context) -> None:
        """Record that hint ``n`` was shown (the count kept is the highest hint seen)."""

        def change(rec):
            rec["hints"] = max(rec.get("hints", 0), n)

        self._update(trainee, exercise, question, change, **context)

    def record_solution(self, trainee: str, exercise: str, question: str, **context) -> None:
        """Record that the solution was shown."""

        def change(rec):
            rec["solution_seen"] = True

        self._update(trainee, exercise, question, change, **context)

    def reset(self, trainee: str | None = None, exercise: str | None = None) -> int:
        """Forget progress: everything, one trainee, one exercise (of every trainee or of one). Returns how
        many exercise records were removed. The old file is kept beside it as ``progress.json.bak``."""
        if self.path is None or not self.path.exists():
            return 0
        with _exclusive(self.path):
            return self._reset(trainee, exercise)

    def _reset(self, trainee: str | None, exercise: str | None) -> int:
        data = self._read_for_update()
        if data is None:
            return 0
        removed = 0
        for name in list(data["trainees"]):
            if trainee is not None and name_key(name) != name_key(trainee):
                continue
            exercises = data["trainees"][name].get("exercises", {})
            for ex_id in list(exercises):
                if exercise is None or ex_id == exercise:
                    del exercises[ex_id]
                    removed += 1
            if not exercises:
                del data["trainees"][name]
        if removed:
            backup = self.path.with_name(self.path.name + ".bak")
            with contextlib.suppress(OSError):
                backup.write_bytes(self.path.read_bytes())
            self._save(data)
        return removed

    # -- showing ---------------------------------------------------------------------------------------------
    def format_text(self, trainee: str | None = None) -> str:
        """Progress as text: one block per trainee, one line per exercise and per question."""
        data = self.load()
        lines = [f"Progress file: {self.path}"]
        people = {
            k: v for k, v in sorted(data["trainees"].items()) if trainee is None or name_key(k) == name_key(trainee)
        }
        if not people:
            lines.append("No progress recorded yet." if trainee is None else f"No progress recorded for {trainee!r}.")
            return "\n".join(lines)
        for name, person in people.items():
            lines.append(name)
            for ex_id, ex in sorted(person.get("exercises", {}).items()):
                lines.append("  " + summary_line(ex_id, ex))
                for q_id in ex.get("question_ids") or sorted(ex.get("questions", {})):
                    rec = ex.get("questions", {}).get(q_id)
                    lines.append("    " + question_line(q_id, rec))
        return "\n".join(lines)


def name_key(name: str) -> str:
    """A trainee's name as seeds see it: case and spacing ignored (``'  ana   SILVA'`` -> ``'ana silva'``)."""
    return " ".join(str(name).split()).casefold()


def summary_line(ex_id: str, ex: dict[str, Any]) -> str:
    """``01-motion-vs-movement  Motion vs movement: 5 of 7 solved (seed 123)``: a question counts as solved once
    it has been answered correctly, whatever was checked after."""
    ids = ex.get("question_ids") or list(ex.get("questions", {}))
    recs = ex.get("questions", {})
    correct = sum(1 for q in ids if solved(recs.get(q)))
    seed = (ex.get("parameters") or {}).get("seed")
    extra = f", seed {seed}" if seed is not None else ""
    updated = ex.get("updated_at", "")[:16].replace("T", " ")
    return f"{ex_id}  {ex.get('title', '')}: {correct} of {len(ids)} solved (last activity {updated} UTC{extra})"


def solved(rec: dict[str, Any] | None) -> bool:
    """Whether a question's record says it was ever answered correctly (``solved_at`` is set, or the latest check
    was correct)."""
    return bool(rec) and (bool(rec.get("solved_at")) or rec.get("state") == "correct")


def question_line(q_id: str, rec: dict[str, Any] | None) -> str:
    """``q2  incorrect  3 attempts, 1 hint``; a question answered correctly once is ``solved`` (with the last
    check, when that was not correct)."""
    if not rec:
        return f"{q_id:<4} not checked yet"
    last = rec.get("state", "not_attempted").replace("_", " ")
    state = "solved" if solved(rec) else last
    bits = []
    n = rec.get("attempts", 0)
    bits.append(plural(n, "attempt"))
    if rec.get("hints"):
        bits.append(plural(rec["hints"], "hint"))
    if rec.get("solution_seen"):
        bits.append("solution shown")
    if state == "solved" and last != "correct":
        bits.append(f"last check {last}")
    if rec.get("prediction") is not None:
        bits.append(f"predicted {rec['prediction']!r}")
    text = f"{q_id:<4} {state:<13} {', '.join(bits)}"
    if rec.get("reflection"):
        reflection = " ".join(str(rec["reflection"]).split())
        text += f"\n         reflection: {reflection[:200]}{'...' if len(reflection) > 200 else ''}"
    return text


__all__ = ["ENV", "STATES", "ProgressStore", "default_path", "name_key"]
