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
Importing this package loads nothing heavy: the library (:mod:`.core`) and the data load on first use.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from salesmetrics.exercises.core import Exercise

#: The exercise notebooks, shipped in the package: the one source that ``make lab`` copies to a trainee's folder and
#: ``salesmetrics exercises make`` hands out.
NOTEBOOKS = Path(str(files(__name__) / "notebooks"))
_MODULE = re.compile(r"ex(\d+)_\w+")

_CORE_NAMES = {
    "____",
    "BLANK",
    "Case",
    "ChoiceQuestion",
    "Exercise",
    "Feedback",
    "FrameQuestion",
    "FunctionQuestion",
    "Mistake",
    "Question",
    "ReflectionQuestion",
    "State",
    "ValueQuestion",
    "is_blank",
    "seed_for",
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
        modules[module.ID] = module
    return modules


def find_exercise(key: str | int) -> ModuleType:
    """The exercise module for an id (``"01-motion-vs-movement"``), a number (``1``, ``"01"``) or a prefix."""
    from salesmetrics.exceptions import UsageError

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


def __getattr__(name: str):
    if name in _CORE_NAMES:
        from salesmetrics.exercises import core

        value = getattr(core, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["NOTEBOOKS", "exercise_modules", "find_exercise", "load_exercise", *sorted(_CORE_NAMES)]
