"""Training exercises: questions that check answers, give hints and show solutions, and one module per exercise.

In a notebook::

    from salesmetrics.exercises import ____, load_exercise
    ex = load_exercise("01-motion-vs-movement", data=data, seed=seed, trainee=trainee)
    log = ex.log            # the trainee's own variant, simulated on first use
    ex.q1.check(answer)     # NOT_ATTEMPTED / INCORRECT (with a message) / CORRECT
    ex.q1.hint(); ex.q1.hint(2); ex.q1.solution()

An exercise module is named ``ex<N>_<topic>.py`` and defines ``ID`` (the notebook's name without ``.ipynb``),
``TITLE``, ``DEFAULT_DATA`` and ``setup(data=..., seed=None, trainee="", progress=None) -> Exercise``; it is
found by name, so adding one needs no registration (see ``notebooks/AUTHORING.md`` here, beside the notebooks).
A big exercise keeps a part in a module of the same number (``ex5_what_if.py``): one without ``setup`` is not an
exercise. Importing this package loads nothing heavy: the library and the data load on first use.

The library, one module per part: :mod:`.blank` (the placeholder ``____``), :mod:`.feedback` (states, messages),
:mod:`.question` (the base class) and :mod:`.kinds` (value, table, function, choice, reflection),
:mod:`.exercise` (the container), :mod:`.variants` (seeds, data, re-draws), :mod:`.compare` (the comparisons),
:mod:`.teaching_cases` (rows added to a variant's data), :mod:`.progress`, :mod:`.classview`, :mod:`.notebook`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from salesmetrics._util.lazy import lazy_exports
from salesmetrics.exceptions import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from salesmetrics.exercises.exercise import Exercise

#: The exercise notebooks, shipped in the package: the one source that ``make lab`` copies to a trainee's folder and
#: ``salesmetrics exercises make`` hands out.
NOTEBOOKS = Path(str(files(__name__) / "notebooks"))
_MODULE = re.compile(r"ex(\d+)_\w+")

#: The exercise library's public names, by the module that defines them (loaded on first use).
_LIBRARY = {
    "____": "blank",
    "BLANK": "blank",
    "is_blank": "blank",
    "Feedback": "feedback",
    "State": "feedback",
    "Mistake": "question",
    "Question": "question",
    "Case": "kinds",
    "ChoiceQuestion": "kinds",
    "FrameQuestion": "kinds",
    "FunctionQuestion": "kinds",
    "ReflectionQuestion": "kinds",
    "ValueQuestion": "kinds",
    "Exercise": "exercise",
    "seed_for": "variants",
}


def exercise_modules() -> dict[str, ModuleType]:
    """Every exercise module (``ex<N>_<topic>``), by its ``ID``, in exercise-number order.

    >>> list(exercise_modules())[:2]
    ['01-motion-vs-movement', '02-decision-increments']
    """
    found = []
    for info in pkgutil.iter_modules(__path__):
        match = _MODULE.fullmatch(info.name)
        if match:
            found.append((int(match.group(1)), info.name))
    modules = {}
    for _, name in sorted(found):
        module = importlib.import_module(f".{name}", __name__)
        if hasattr(module, "setup"):  # else a part of an exercise (ex5_what_if), not an exercise
            modules[module.ID] = module
    return modules


def find_exercise(key: str | int) -> ModuleType:
    """The exercise module for an id (``"01-motion-vs-movement"``), a number (``1``, ``"01"``) or a prefix."""

    modules = exercise_modules()
    text = str(key).strip()
    if text in modules:
        return modules[text]
    if text.isdigit():
        for ex_id in modules:
            if int(ex_id.split("-", 1)[0]) == int(text):
                return modules[ex_id]
    matches = [ex_id for ex_id in modules if ex_id.startswith(text) or text in ex_id]
    if len(matches) == 1:
        return modules[matches[0]]
    raise UsageError(f"No exercise {key!r}; exercises: {', '.join(modules)}.")


def load_exercise(key: str | int, **parameters: Any) -> Exercise:
    """``setup(**parameters)`` of the exercise ``key`` (see :func:`find_exercise`)."""
    return find_exercise(key).setup(**parameters)


__getattr__, _, _library_names = lazy_exports(__name__, _LIBRARY)

__all__ = ["NOTEBOOKS", "exercise_modules", "find_exercise", "load_exercise", *_library_names]
