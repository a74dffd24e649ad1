"""Questions that check a trainee's answer, give hints and show the solution; the exercise that holds them.

A question is checked with ``q.check(answer)``: the answer is passed in (never read from the notebook's
globals), compared with the expected answer, and the result is one of three states, shown with a message:

- ``NOT_ATTEMPTED``: the answer is still the placeholder ``____`` (or None, or empty text);
- ``INCORRECT``: with a message that says what is wrong without giving the answer away (a known mistake
  gets its own message);
- ``CORRECT``.

``q.hint()``, ``q.hint(2)`` and ``q.solution()`` show help; ``q.assert_passes(answer)``,
``q.assert_fails(answer)`` and ``q.assert_not_attempted(answer)`` let tests drive a question without showing
or recording anything.

An :class:`Exercise` holds the questions of one notebook and its parameters (the data: a simulator scenario
or a log folder; the seed; the trainee). Expected answers are computed by reference functions from those
parameters, and only when first needed: creating an exercise loads nothing, the data is simulated or read on
first use, and each trainee's variant checks against its own numbers. Checks, hints and solutions are
recorded in the trainee's progress file (:mod:`salesmetrics.exercises.progress`).

Question kinds: :class:`ValueQuestion` (numbers with tolerance, text, lists, sets, dicts),
:class:`FrameQuestion` (DataFrame or Series, with tolerance, column and row order ignored unless asked),
:class:`FunctionQuestion` (the trainee's function run on copied test inputs against a reference),
:class:`ChoiceQuestion` (multiple choice; ``predict=True`` for "predict before you compute") and
:class:`ReflectionQuestion` (free text: recorded, not judged).

Examples
--------
>>> q = ValueQuestion("q1", "Movements of deal D1", expected=4, hints=["Count stage entries, not steps."])
>>> q.evaluate(____).state.name
'NOT_ATTEMPTED'
>>> print(q.evaluate(5))
Incorrect: Your answer, 5, is not right.
>>> q.evaluate(4).correct
True
>>> q.assert_passes(4.0)
>>> q.hint()  # in a notebook this shows a formatted box
Hint 1 of 1: Count stage entries, not steps.
"""

from __future__ import annotations

import copy
import hashlib
import html
import re
import textwrap
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from salesmetrics.exercises.compare import Comparison, compare_frame, compare_value, short_repr

# ------------------------------------------------------------------------------------------------------------
# States, the blank placeholder, feedback


class State(StrEnum):
    """The state of a checked answer."""

    NOT_ATTEMPTED = "not_attempted"
    INCORRECT = "incorrect"
    CORRECT = "correct"
    RECORDED = "recorded"  # a prediction or a reflection: kept as the trainee's own, never marked wrong


class _Blank:
    """The placeholder ``____`` in answer cells: the trainee has not answered yet.

    Arithmetic on it gives it back (``____ + 1`` is still blank), so a half-edited cell does not crash.
    """

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "____"

    def __bool__(self) -> bool:
        return False

    def __call__(self, *args, **kwargs):
        return self

    def __getattr__(self, name: str):  # ``____.sum()`` stays blank; private and special names are not faked
        if name.startswith("_"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key):
        return self

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def _same(self, *args):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __pow__ = _same
    __neg__ = __pos__ = __abs__ = _same


____ = BLANK = _Blank()


def is_blank(value: Any) -> bool:
    """True when ``value`` is the placeholder: ``____``, None, ``...``, empty text, or a list/dict of blanks.

    >>> is_blank(____), is_blank(None), is_blank("  "), is_blank({"a": ____}), is_blank([1, ____])
    (True, True, True, True, False)
    """
    if value is BLANK or value is None or value is Ellipsis:
        return True
    if isinstance(value, str):
        return not value.strip() or value.strip() == "____"
    if isinstance(value, Mapping):
        return bool(value) and all(is_blank(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return bool(value) and all(is_blank(v) for v in value)
    return False


def partly_blank(value: Any) -> bool:
    """True when a list or dict answer still holds a ``____`` somewhere (but not only blanks)."""
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        return False
    return any(v is BLANK or partly_blank(v) for v in items)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _markup(text: str) -> str:
    """Plain message text to HTML: escaped, `code` in backticks, **bold**, fenced code blocks, paragraphs."""
    parts = re.split(r"```(?:python)?\n(.*?)```", text, flags=re.S)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<pre style='margin:.4em 0'>{html.escape(part.rstrip())}</pre>")
            continue
        esc = html.escape(part)
        esc = re.sub(r"`([^`]+)`", r"<code>\1</code>", esc)
        esc = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", esc)
        paragraphs = [p.strip().replace("\n", "<br>") for p in esc.split("\n\n") if p.strip()]
        out.extend(f"<p style='margin:.3em 0'>{p}</p>" for p in paragraphs)
    return "".join(out)


_COLOURS = {
    State.CORRECT: ("#1a7f37", "#e8f5ec"),
    State.INCORRECT: ("#b3261e", "#fdecea"),
    State.NOT_ATTEMPTED: ("#57606a", "#f3f4f6"),
    State.RECORDED: ("#0b5cad", "#eaf2fb"),
    "help": ("#0b5cad", "#eaf2fb"),
}


def _box(title: str, body: str, colour_key) -> str:
    fg, bg = _COLOURS[colour_key]
    return (
        f"<div style='border-left:4px solid {fg};background:{bg};padding:.4em .8em;margin:.3em 0'>"
        f"<b style='color:{fg}'>{html.escape(title)}</b>{_markup(body)}</div>"
    )


def _show(text: str, html_text: str) -> None:
    if _in_notebook():
        from IPython.display import HTML, display

        display(HTML(html_text))
    else:
        print(text)


_LABELS = {
    State.CORRECT: "Correct",
    State.INCORRECT: "Incorrect",
    State.NOT_ATTEMPTED: "Not attempted",
    State.RECORDED: "Recorded",
}


@dataclass(frozen=True)
class Feedback:
    """The result of checking one answer.

    Attributes
    ----------
    question : str
        The question's id (``"q2"``).
    state : State
    message : str
        What is right or wrong, for the trainee (never the expected answer, unless the state is CORRECT).
    mistake : str or None
        The name of the known mistake the answer matched, if any.
    """

    question: str
    state: State
    message: str
    mistake: str | None = None
    title: str = ""
    _shown: list = field(default_factory=list, repr=False, compare=False)

    @property
    def correct(self) -> bool:
        return self.state is State.CORRECT

    def __str__(self) -> str:
        return f"{_LABELS[self.state]}: {self.message}" if self.message else _LABELS[self.state]

    def _repr_html_(self) -> str:
        title = f"{_LABELS[self.state]}" + (f" ({self.question}: {self.title})" if self.title else "")
        return _box(title, self.message, self.state)

    def show(self) -> None:
        """Display the feedback: a coloured box in a notebook, a line of text elsewhere."""
        _show(str(self), self._repr_html_())
        self._shown.append(True)

    def _ipython_display_(self) -> None:
        # check() already showed it; when check(...) is the last line of a cell, do not show it twice
        if self._shown:
            self._shown.clear()
            return
        self.show()
        self._shown.clear()


# ------------------------------------------------------------------------------------------------------------
# Questions

Spec = Any  # a value, or a callable taking the Exercise (or None) and returning the value


def _resolve(spec: Spec, exercise: Exercise | None) -> Any:
    return spec(exercise) if callable(spec) else spec


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer and the message that explains it.

    ``answer`` is the mistaken value (or a callable taking the exercise and returning it); for a
    :class:`FunctionQuestion` it is a function that makes the mistake. When a trainee's answer equals it, the
    trainee sees ``message`` instead of the generic one.
    """

    name: str
    message: str
    answer: Spec = None


class Question:
    """Base class: one question of an exercise.

    Parameters
    ----------
    id : str
        Short id used in the notebook (``ex.q2``) and the progress file.
    title : str
        A few words shown with the feedback.
    expected : value or callable(exercise) -> value
        The expected answer, computed on first use.
    hints : sequence of str or callable(exercise) -> str
        Shown one at a time with ``hint()``, ``hint(2)``...
    solution : str or callable(exercise) -> str
        Code that answers the question, exactly as it would stand in the answer cell; ``solution()`` shows it and
        the test harness runs it in place of the answer cell.
    explanation : str or callable(exercise) -> str
        Shown below the solution (why it is so).
    wrong : str or callable(exercise) -> str
        Code of a typical wrong answer, for the test harness (it must be INCORRECT and match a ``mistake``).
    mistakes : sequence of Mistake
        Known wrong answers with their own messages.
    success : str or callable(exercise) -> str
        Shown with a correct answer (an insight, not just "correct").
    """

    kind = "question"

    def __init__(
        self,
        id: str,
        title: str,
        *,
        expected: Spec = None,
        hints: Sequence[Spec] = (),
        solution: Spec = "",
        explanation: Spec = "",
        wrong: Spec = None,
        mistakes: Iterable[Mistake] = (),
        success: Spec = "",
    ):
        if not re.fullmatch(r"[A-Za-z_]\w*", id):
            from salesmetrics.exceptions import UsageError

            raise UsageError(f"Question id {id!r} must be a Python name such as 'q1'.")
        self.id = id
        self.title = title
        self._expected_spec = expected
        self._hints = list(hints)
        self._solution = solution
        self._explanation = explanation
        self._wrong = wrong
        self.mistakes = tuple(mistakes)
        self._success = success
        self.exercise: Exercise | None = None
        self._cache: dict[str, Any] = {}

    # -- lazy values -------------------------------------------------------------------------------------------
    def _lazy(self, name: str, spec: Spec) -> Any:
        if name not in self._cache:
            self._cache[name] = _resolve(spec, self.exercise)
        return self._cache[name]

    @property
    def _expected(self) -> Any:
        """The expected answer (computed on first use, then kept). Private: a trainee reads hints and the
        solution, never the answer itself (tests use :meth:`expected_answer`)."""
        return self._lazy("expected", self._expected_spec)

    @property
    def expected(self):
        raise AttributeError(
            "The expected answer is not shown: check yours with `.check(answer)`, or ask for `.hint()` or "
            "`.solution()`."
        )

    def expected_answer(self) -> Any:
        """The expected answer, for tests and authors (not shown in a notebook)."""
        return self._expected

    @property
    def hints(self) -> list[str]:
        return [str(_resolve(h, self.exercise)) for h in self._hints]

    @property
    def solution_code(self) -> str:
        """The code that answers the question (what ``solution()`` shows and the harness runs)."""
        return textwrap.dedent(str(_resolve(self._solution, self.exercise) or "")).strip()

    @property
    def wrong_code(self) -> str | None:
        """The code of a typical wrong answer (for the test harness), or None."""
        code = _resolve(self._wrong, self.exercise)
        return textwrap.dedent(code).strip() if code else None

    # -- checking ----------------------------------------------------------------------------------------------
    def _compare(self, answer: Any, expected: Any) -> Comparison:
        return compare_value(answer, expected)

    def _blank_message(self) -> str:
        return "Replace `____` with your answer, then run the cell again."

    def _judge(self, answer: Any) -> Feedback:
        result = self._compare(answer, self._expected)
        if result.ok:
            return self._feedback(State.CORRECT, str(_resolve(self._success, self.exercise) or ""))
        mistake = self._match_mistake(answer)
        if mistake is not None:
            return self._feedback(State.INCORRECT, mistake.message, mistake.name)
        return self._feedback(State.INCORRECT, result.message or "That is not right yet.")

    def _match_mistake(self, answer: Any) -> Mistake | None:
        for mistake in self.mistakes:
            key = f"mistake:{mistake.name}"
            try:
                value = self._lazy(key, mistake.answer)
                if self._compare(answer, value).ok:
                    return mistake
            except Exception:  # a mistake that cannot be computed for this data is simply not matched
                continue
        return None

    def _prepare(self) -> None:
        self._expected  # noqa: B018 - computed (and kept) before the answer is judged

    def _mistake_values(self) -> list[tuple[Mistake, Any]]:
        """Each mistake with its value on this variant (mistakes that cannot be computed here are left out)."""
        out = []
        for mistake in self.mistakes:
            try:
                out.append((mistake, self._lazy(f"mistake:{mistake.name}", mistake.answer)))
            except Exception:  # not computable on this data: it is simply never matched
                continue
        return out

    def _same(self, a: Any, b: Any) -> bool:
        try:
            return bool(self._compare(a, b).ok)
        except Exception:
            return False

    def _separation_problems(self) -> list[str]:
        """Mistakes this variant's data does not tell apart: one that gives the right answer, or two that give
        the same answer (the trainee would read the other one's message)."""
        values = self._mistake_values()
        if not values:
            return []
        problems = []
        expected = self._expected
        for i, (mistake, value) in enumerate(values):
            if self._same(value, expected):
                problems.append(f"{self.id}: the mistake {mistake.name!r} gives the right answer")
                continue
            for earlier, other in values[:i]:
                if self._same(value, other):
                    problems.append(
                        f"{self.id}: the mistakes {earlier.name!r} and {mistake.name!r} give the same answer"
                    )
                    break
        return problems

    def _feedback(self, state: State, message: str, mistake: str | None = None) -> Feedback:
        return Feedback(self.id, state, message, mistake, self.title)

    def evaluate(self, answer: Any) -> Feedback:
        """Check ``answer`` and return the :class:`Feedback`, without showing or recording anything."""
        if is_blank(answer):
            return self._feedback(State.NOT_ATTEMPTED, self._blank_message())
        if partly_blank(answer):
            return self._feedback(State.INCORRECT, "Part of your answer is still `____`: fill in every part.")
        self._prepare()  # the expected answer: an error here is a bug in the exercise, so it is not hidden
        try:
            return self._judge(answer)
        except Exception as exc:  # the answer broke the comparison: say so instead of raising at the trainee
            return self._feedback(
                State.INCORRECT,
                f"Your answer could not be checked ({type(exc).__name__}: {exc}); {short_repr(answer)}.",
            )

    def check(self, answer: Any = BLANK) -> Feedback:
        """Check ``answer``, show the result (a coloured box in a notebook) and record it in the progress file."""
        feedback = self.evaluate(answer)
        if self.exercise is not None:
            self.exercise._record_check(self, feedback, answer)
        feedback.show()
        return feedback

    # -- help --------------------------------------------------------------------------------------------------
    def hint(self, n: int | str = 1) -> None:
        """Show hint ``n`` (1 is the gentlest)."""
        hints = self.hints
        if isinstance(n, str) and n.strip().isdigit():
            n = int(n)
        if not isinstance(n, int) or isinstance(n, bool):
            count = max(len(hints), 1)
            text = f"Give the hint's number, e.g. `hint(1)` to `hint({count})`, not {short_repr(n)}."
            _show(f"Hint: {text}", _box("Hint", text, "help"))
            return
        if not hints:
            text = "No hint for this one: re-read the explanation above the question."
        elif not 1 <= n <= len(hints):
            many = len(hints) != 1
            text = f"There {'are' if many else 'is'} {len(hints)} hint{'s' if many else ''}: "
            text += f"use hint(1) to hint({len(hints)})."
        else:
            text = hints[n - 1]
            if self.exercise is not None:
                self.exercise._record("hint", self, n=n)
        title = f"Hint {n} of {len(hints)}" if hints and 1 <= n <= len(hints) else "Hint"
        more = f" (more: hint({n + 1}))" if hints and n < len(hints) else ""
        _show(f"{title}: {text}", _box(title + more, text, "help"))

    def solution(self) -> None:
        """Show the solution: the code, and why."""
        code = self.solution_code
        explanation = str(_resolve(self._explanation, self.exercise) or "")
        text = f"```python\n{code}\n```" + (f"\n\n{explanation}" if explanation else "")
        if self.exercise is not None:
            self.exercise._record("solution", self)
        _show(
            f"Solution ({self.id}):\n{code}" + (f"\n\n{explanation}" if explanation else ""),
            _box("Solution", text, "help"),
        )

    # -- for tests ---------------------------------------------------------------------------------------------
    def assert_passes(self, answer: Any) -> None:
        """Raise AssertionError unless ``answer`` is CORRECT."""
        fb = self.evaluate(answer)
        if not fb.correct:
            raise AssertionError(f"{self.id}: expected CORRECT, got {fb}")

    def assert_fails(self, answer: Any, match: str | None = None, mistake: str | None = None) -> Feedback:
        """Raise AssertionError unless ``answer`` is INCORRECT (with a message matching ``match``, a regex, and
        the known ``mistake`` if given). Returns the feedback."""
        fb = self.evaluate(answer)
        if fb.state is not State.INCORRECT:
            raise AssertionError(f"{self.id}: expected INCORRECT, got {fb}")
        if not fb.message.strip():
            raise AssertionError(f"{self.id}: an INCORRECT answer must come with a message")
        if match is not None and not re.search(match, fb.message):
            raise AssertionError(f"{self.id}: message {fb.message!r} does not match {match!r}")
        if mistake is not None and fb.mistake != mistake:
            raise AssertionError(f"{self.id}: expected mistake {mistake!r}, got {fb.mistake!r} ({fb.message})")
        return fb

    def assert_not_attempted(self, answer: Any = BLANK) -> None:
        """Raise AssertionError unless ``answer`` counts as not attempted."""
        fb = self.evaluate(answer)
        if fb.state is not State.NOT_ATTEMPTED:
            raise AssertionError(f"{self.id}: expected NOT_ATTEMPTED, got {fb}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}: {self.title}>"

    def _repr_html_(self) -> str:
        return _box(
            f"{self.id}: {self.title}",
            "Check your answer with `.check(answer)`; help: `.hint()`, `.solution()`.",
            "help",
        )


class ValueQuestion(Question):
    """A number (with tolerance), text, True/False, list, set or dict.

    ``rtol``/``atol``: tolerance for numbers; ``ordered``: whether a list's order matters; ``case_sensitive``
    for text.
    """

    kind = "value"

    def __init__(self, id, title, *, rtol=1e-6, atol=1e-9, ordered=True, case_sensitive=False, **kwargs):
        super().__init__(id, title, **kwargs)
        self.options = {"rtol": rtol, "atol": atol, "ordered": ordered, "case_sensitive": case_sensitive}

    def _compare(self, answer, expected):
        return compare_value(answer, expected, **self.options)


class FrameQuestion(Question):
    """A DataFrame or Series. Column order is ignored unless ``check_column_order``; row order unless
    ``check_row_order``; the index is part of the answer unless ``check_index=False`` (then rows are compared as
    records, e.g. a filtered table). Numbers compare within ``rtol``/``atol``."""

    kind = "frame"

    def __init__(
        self,
        id,
        title,
        *,
        rtol=1e-6,
        atol=1e-9,
        check_column_order=False,
        check_row_order=False,
        check_index=True,
        **kwargs,
    ):
        super().__init__(id, title, **kwargs)
        self.options = {
            "rtol": rtol,
            "atol": atol,
            "check_column_order": check_column_order,
            "check_row_order": check_row_order,
            "check_index": check_index,
        }

    def _compare(self, answer, expected):
        return compare_frame(answer, expected, **self.options)


@dataclass(frozen=True)
class Case:
    """One test input of a :class:`FunctionQuestion`: positional ``args``, keyword ``kwargs``, and a ``label``
    that describes the input to the trainee (never the expected output)."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: str = ""

    def describe(self, i: int) -> str:
        if self.label:
            return self.label
        shown = ", ".join(
            [short_repr(a, 40) for a in self.args] + [f"{k}={short_repr(v, 40)}" for k, v in self.kwargs.items()]
        )
        return f"test {i + 1}: ({shown})"


class FunctionQuestion(Question):
    """The trainee writes a function; it is run on copies of test inputs and compared with ``reference``.

    Parameters
    ----------
    reference : callable
        The reference implementation (from the package).
    cases : sequence of Case (or tuples of args), or callable(exercise) -> that
        Test inputs; each is deep-copied before each call, so neither function can change them.
    compare : dict
        Options for the comparison of outputs (``rtol``, ``ordered``, ... for values; frames are compared with
        :func:`~salesmetrics.exercises.compare.compare_frame` defaults).
    mistakes : Mistake with ``answer`` a function that makes the mistake.

    A function that returns ``____`` (the placeholder body) counts as not attempted.
    """

    kind = "function"

    def __init__(self, id, title, *, reference: Callable, cases: Spec, compare: dict | None = None, **kwargs):
        super().__init__(id, title, expected=reference, **kwargs)
        self.reference = reference
        self._cases = cases
        self.compare_options = dict(compare or {})

    @property
    def _expected(self):
        return self.reference

    @property
    def cases(self) -> list[Case]:
        raw = self._lazy("cases", self._cases)
        return [c if isinstance(c, Case) else Case(args=tuple(c)) for c in raw]

    def _prepare(self) -> None:
        self.cases  # noqa: B018

    def _outputs_match(self, got, want) -> Comparison:
        return compare_value(got, want, **self.compare_options)

    def _blank_message(self) -> str:
        return "Write the function's body (replace `____`), run the cell, then check it again."

    def _judge(self, answer):
        if not callable(answer):
            return self._feedback(
                State.INCORRECT, f"Pass the function itself (its name, without brackets), not {short_repr(answer)}."
            )
        cases = self.cases
        outputs, changed_input, failed = [], False, None
        for i, case in enumerate(cases):
            args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
            try:
                got = answer(*args, **kwargs)
            except NotImplementedError:
                return self._feedback(State.NOT_ATTEMPTED, self._blank_message())
            except Exception as exc:
                return self._feedback(
                    State.INCORRECT, f"On {case.describe(i)}, your function raised {type(exc).__name__}: {exc}"
                )
            if got is BLANK:
                return self._feedback(State.NOT_ATTEMPTED, self._blank_message())
            changed_input |= not (_unchanged(args, case.args) and _unchanged(kwargs, case.kwargs))
            outputs.append(got)
            want = self.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
            result = self._outputs_match(got, want)
            if failed is None and not result.ok:
                failed = (i, result)
        if failed is not None:
            i, result = failed
            said = f"On {cases[i].describe(i)} your function returned {short_repr(outputs[i])}."
            mistake = self._function_mistake(outputs, cases)
            if mistake is not None:
                return self._feedback(State.INCORRECT, f"{said} {mistake.message}", mistake.name)
            return self._feedback(State.INCORRECT, f"{said} {result.message}")
        note = " (Note: your function changes its input; here it got a copy, but elsewhere that changes your data.)"
        success = str(_resolve(self._success, self.exercise) or "")
        message = f"It gives the right result on all {len(cases)} test inputs. {success}".strip()
        return self._feedback(State.CORRECT, message + (note if changed_input else ""))

    def _separation_problems(self) -> list[str]:
        functions = [m for m in self.mistakes if callable(m.answer)]
        if not functions:
            return []
        cases = self.cases

        def outputs(function):
            try:
                return [function(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs)) for c in cases]
            except Exception:
                return None

        def same(a, b):
            try:
                return all(self._outputs_match(x, y).ok for x, y in zip(a, b, strict=True))
            except Exception:
                return False

        want = outputs(self.reference)
        problems, seen = [], []
        for mistake in functions:
            got = outputs(mistake.answer)
            if got is None:
                continue
            if same(got, want):
                problems.append(f"{self.id}: the mistake {mistake.name!r} gives the right output on every test input")
                continue
            for earlier, other in seen:
                if same(got, other):
                    problems.append(
                        f"{self.id}: the mistakes {earlier.name!r} and {mistake.name!r} give the same outputs"
                    )
                    break
            seen.append((mistake, got))
        return problems

    def _function_mistake(self, outputs: list, cases: list[Case]) -> Mistake | None:
        """The first mistake whose function gives the trainee's outputs on every test input."""
        for mistake in self.mistakes:
            if not callable(mistake.answer):
                continue
            try:
                if all(
                    self._outputs_match(got, mistake.answer(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs))).ok
                    for got, c in zip(outputs, cases, strict=True)
                ):
                    return mistake
            except Exception:
                continue
        return None


def _unchanged(after, before) -> bool:
    import pandas as pd

    if isinstance(before, pd.DataFrame | pd.Series):
        return isinstance(after, type(before)) and after.equals(before)
    if isinstance(before, tuple | list):
        return len(after) == len(before) and all(_unchanged(a, b) for a, b in zip(after, before, strict=True))
    if isinstance(before, dict):
        return after.keys() == before.keys() and all(_unchanged(after[k], before[k]) for k in before)
    try:
        return bool(after == before)
    except Exception:
        return True


class ChoiceQuestion(Question):
    """Multiple choice: ``options`` maps a letter to its text; the answer is the letter (any case) or the text.

    ``expected`` is the correct letter (or a callable computing it from the data, so the right choice can differ
    between variants). ``predict=True`` marks a "predict before you compute" question: the trainee's first
    answer is recorded as the prediction, and a wrong pick is told to keep the prediction in mind rather than
    why it is wrong. ``wrong_message`` is shown for any wrong pick (a per-letter message can be given as a
    :class:`Mistake` whose ``answer`` is the letter). ``variable`` is the name the answer cell assigns, used for
    the solution and typical wrong code.
    """

    kind = "choice"

    def __init__(
        self,
        id,
        title,
        *,
        options: Mapping[str, str],
        variable: str = "answer",
        predict: bool = False,
        wrong_message: Spec = None,
        shuffle: bool = True,
        **kwargs,
    ):
        self.choices = {str(k).upper(): v for k, v in options.items()}  # as written, in the author's letters
        self.variable = variable
        self.predict = predict
        self.shuffle = shuffle
        self._wrong_message = wrong_message
        kwargs.setdefault("solution", lambda ex: f"{variable} = {self._expected!r}")
        kwargs.setdefault("wrong", lambda ex: f"{variable} = {self.typical_wrong!r}")
        super().__init__(id, title, **kwargs)

    # -- the trainee's letters ---------------------------------------------------------------------------------
    @property
    def _order(self) -> dict[str, str]:
        """The trainee's letter -> the author's letter. In an exercise the options are shuffled by the variant's
        seed (so letters differ across a class, and the same trainee always sees the same order)."""
        keys = list(self.choices)
        if not self.shuffle or self.exercise is None:
            return dict(zip(keys, keys, strict=True))
        import random

        shuffled = keys[:]
        random.Random(f"{self.exercise.seed}\n{self.exercise.id}\n{self.id}").shuffle(shuffled)
        return dict(zip(keys, shuffled, strict=True))

    def _shown(self, author_letter: str) -> str:
        return next(k for k, v in self._order.items() if v == author_letter)

    @property
    def options(self) -> dict[str, str]:
        """The options as this trainee sees them: letter -> text, in the trainee's order."""
        return {letter: self.choices[key] for letter, key in self._order.items()}

    def show_options(self) -> None:
        """Show the options with this trainee's letters (the notebook's cell above each choice answer)."""
        text = "\n".join(f"{letter}: {option}" for letter, option in self.options.items())
        body = "\n\n".join(f"**{letter}**: {option}" for letter, option in self.options.items())
        _show(text, _box(f"{self.id}: your options", body, "help"))

    def _author_expected(self) -> str:
        letter = str(self._lazy("expected", self._expected_spec)).upper()
        if letter not in self.choices:
            raise ValueError(f"{self.id}: expected {letter!r} is not one of the options {list(self.choices)}")
        return letter

    @property
    def _expected(self) -> str:
        return self._shown(self._author_expected())

    @property
    def typical_wrong(self) -> str:
        """A wrong letter for the test harness: the first letter with its own Mistake, else the first wrong one."""
        right = self._author_expected()
        for m in self.mistakes:
            if isinstance(m.answer, str) and m.answer.upper() != right:
                return self._shown(m.answer.upper())
        return self._shown(next(k for k in self.choices if k != right))

    def _separation_problems(self) -> list[str]:
        return []  # a wrong letter is never the right one

    def _letter(self, answer) -> str | None:
        """The trainee's letter for an answer given as a letter (``"b"``, ``"B)"``) or an option's text."""
        if not isinstance(answer, str):
            return None
        options = self.options
        text = answer.strip()
        if text.upper() in options:
            return text.upper()
        text = text.rstrip(")").strip()
        if text.upper() in options:
            return text.upper()
        for k, v in options.items():
            if text.casefold() == v.strip().casefold():
                return k
        return None

    def _judge(self, answer):
        letter = self._letter(answer)
        if letter is None:
            allowed = ", ".join(f"'{k}'" for k in self.options)
            return self._feedback(
                State.INCORRECT,
                f"Answer with one of the letters {allowed} (as text, in quotes), not {short_repr(answer)}.",
            )
        if letter == self._expected:
            return self._feedback(State.CORRECT, str(_resolve(self._success, self.exercise) or ""))
        author = self._order[letter]
        # a prediction is the trainee's own: recorded, never marked wrong
        state = State.RECORDED if self.predict else State.INCORRECT
        for m in self.mistakes:
            if isinstance(m.answer, str) and m.answer.upper() == author:
                return self._feedback(state, m.message, m.name)
        message = _resolve(self._wrong_message, self.exercise)
        if not message:
            message = (
                "Your prediction is recorded. Keep it in mind: you will compute the answer in the next questions, "
                "then see how your data compares (you may come back and check another letter)."
                if self.predict
                else "Not quite: look at the data (or the plot) again."
            )
        return self._feedback(state, str(message), "wrong prediction" if self.predict else "wrong choice")


class ReflectionQuestion(Question):
    """Free text that is recorded, not judged: any answer of at least ``min_words`` words counts as done
    (CORRECT); shorter text is INCORRECT with a nudge to write more. ``solution`` holds our own thoughts."""

    kind = "reflection"

    def _separation_problems(self) -> list[str]:
        return []

    def __init__(self, id, title, *, min_words: int = 8, variable: str = "reflection", **kwargs):
        self.min_words = min_words
        self.variable = variable
        kwargs.setdefault("wrong", f'{variable} = "ok"')
        super().__init__(id, title, **kwargs)

    @property
    def solution_code(self) -> str:
        thoughts = " ".join(str(_resolve(self._solution, self.exercise) or "").split())
        text = thoughts or "I would plan each meeting around the one decision the client has to take next."
        return f"{self.variable} = {text!r}"

    def _judge(self, answer):
        if not isinstance(answer, str):
            return self._feedback(State.INCORRECT, "Write your reflection as text, in quotes.")
        words = len(answer.split())
        if words < self.min_words:
            return self._feedback(
                State.RECORDED,
                f"Recorded, {words} word{'s' if words != 1 else ''}: write two or three sentences (at least "
                f"{self.min_words} words), in your own words. It is kept for you and your trainer, not marked.",
                "too short",
            )
        return self._feedback(
            State.CORRECT, "Recorded. Compare with our own thoughts: `.solution()`. There is no single right answer."
        )

    def solution(self) -> None:
        thoughts = str(_resolve(self._solution, self.exercise) or "")
        if self.exercise is not None:
            self.exercise._record("solution", self)
        _show(f"Our thoughts: {thoughts}", _box("Our thoughts", thoughts, "help"))


# ------------------------------------------------------------------------------------------------------------
# Exercises: parameters, lazy data, progress

SIZE = {"n_deals": 200, "n_owners": 10, "months": 4}  # small: a notebook runs in seconds
REAL_DATA_SHARE = 0.8  # with a log folder, each variant keeps this share of the deals, drawn by its seed


REDRAWS = 12  # at most this many re-draws of a variant in which a typical mistake gives the right answer


def redraw_seed(seed: int, attempt: int) -> int:
    """The seed of re-draw ``attempt`` (1, 2, ...) of the variant ``seed``: stable, so a variant is reproducible.

    >>> redraw_seed(5, 1) == redraw_seed(5, 1), redraw_seed(5, 1) != redraw_seed(5, 2)
    (True, True)
    """
    digest = hashlib.sha256(f"redraw\n{int(seed)}\n{int(attempt)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 1_000_000


_MEMO: dict[int, dict[str, Any]] = {}


def memo(owner: Any, key: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per ``owner`` object (e.g. a log) and ``key``, kept while the owner lives.

    Reference functions are plain functions of a log; several questions and plots need the same derived
    table, so they share it through this. Do not modify what it returns.

    >>> class Log: ...
    >>> log, calls = Log(), []
    >>> [memo(log, "n", lambda: calls.append(1) or 42) for _ in range(2)], len(calls)
    ([42, 42], 1)
    """
    slot = _MEMO.get(id(owner))
    if slot is None:
        slot = _MEMO[id(owner)] = {}
        weakref.finalize(owner, _MEMO.pop, id(owner), None)
    if key not in slot:
        slot[key] = compute()
    return slot[key]


def seed_for(trainee: str, cohort: str = "") -> int:
    """A stable seed for a trainee's variant, from the name (case and spacing ignored) and an optional cohort.

    >>> seed_for("Ana Silva") == seed_for("  ana   silva "), seed_for("Ana Silva") != seed_for("Ben Okafor")
    (True, True)
    >>> 0 <= seed_for("Ana Silva") < 1_000_000
    True
    """
    name = " ".join(str(trainee).split()).casefold()
    digest = hashlib.sha256(f"{cohort.strip()}\n{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 1_000_000


def load_data(data: str, seed: int, *, n_deals: int, n_owners: int, months: int, start: str = "2024-01-01"):
    """The log of a variant: a simulator scenario (simulated with ``seed``) or a log folder (a share of its
    deals drawn with ``seed``, so variants differ). Returns ``(log, simulation_or_None)``."""
    from salesmetrics.exceptions import UsageError
    from salesmetrics.simulation.simulator import SCENARIOS

    if data in SCENARIOS:
        from salesmetrics.simulation.simulator import simulate

        sim = simulate(n_deals, n_owners, seed=int(seed), scenario=data, months=months, start=start)
        return sim.log, sim
    path = Path(data).expanduser()
    if not path.is_dir():
        raise UsageError(
            f"data {data!r} is neither a simulator scenario ({', '.join(SCENARIOS)}) nor a log folder; "
            "give a scenario name or the path of a log folder."
        )
    import numpy as np

    from salesmetrics.log.prepare import subset_deals
    from salesmetrics.log.saleslog import read_log

    log = read_log(path)
    rng = np.random.default_rng(int(seed))
    keep = rng.random(len(log.deals)) < REAL_DATA_SHARE
    return subset_deals(log, log.deals[keep]), None


NEEDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "activities": ("activities", lambda log: len(log.activities) > 0),
    "activity_direction": (
        "activities with a direction (inbound/outbound)",
        lambda log: "direction" in log.activities and bool(log.activities["direction"].notna().any()),
    ),
    "close_date_changes": ("close-date changes", lambda log: len(log.close_date_changes) > 0),
    "commit_stage": ("a commit stage in its stage model", lambda log: log.model.commit_stage is not None),
    "teams": ("deals in at least two teams", lambda log: log.deals["team"].dropna().nunique() >= 2),
}
"""What an exercise may need from its log (an exercise module's ``NEEDS``): key -> (what is needed, test)."""


def missing_needs(log, needs: Iterable[str]) -> list[str]:
    """The descriptions of what ``log`` lacks among ``needs`` (keys of :data:`NEEDS`); empty when it has all.

    >>> import salesmetrics as sm
    >>> missing_needs(sm.simulate(20, 2, seed=1).log, ["activities", "close_date_changes"])
    []
    """
    unknown = [n for n in needs if n not in NEEDS]
    if unknown:
        raise ValueError(f"unknown needs {unknown}; known: {sorted(NEEDS)}")
    return [NEEDS[n][0] for n in needs if not NEEDS[n][1](log)]


def check_needs(log, needs: Iterable[str], exercise: str, data: str = "") -> None:
    """Raise :class:`~salesmetrics.exceptions.UsageError` when ``log`` lacks what exercise ``exercise`` needs."""
    lacks = missing_needs(log, needs)
    if lacks:
        from salesmetrics.exceptions import UsageError

        where = f"The log {data}" if data else "This log"
        raise UsageError(
            f"{where} lacks {' and '.join(lacks)}, which exercise {exercise} needs; run it with a simulator scenario "
            "(leave `data` at its default) or a log folder that records them."
        )


class Exercise:
    """The questions of one exercise notebook, its parameters and its data (loaded on first use).

    Parameters
    ----------
    id, title : str
        ``id`` is the notebook's name without ``.ipynb`` (``"01-motion-vs-movement"``).
    data : str
        A simulator scenario (``"motion_heavy"``) or a log folder.
    seed : int or None
        The variant; None derives it from the trainee's name (:func:`seed_for`).
    trainee : str
        Whose progress is recorded.
    size : dict
        ``n_deals``, ``n_owners``, ``months`` for simulated data (default :data:`SIZE`).
    progress : path, False or None
        The progress file; None: :func:`~salesmetrics.exercises.progress.default_path`; False: do not record.
    prepare : callable(log, seed) -> log, optional
        Applied to the loaded log (before any question sees it): an exercise may add a few teaching cases to its
        data, e.g. a repeated stage entry, so that a typical mistake gives a different answer. ``simulation``
        keeps the log as simulated.
    redraws : int
        How many times the data may be re-drawn (with seeds derived from ``seed``) when a typical mistake gives
        the right answer in it or the ``lesson`` does not hold (:meth:`variant_problems`); 0 never re-draws.
        :attr:`data_seed` is the seed the data was drawn with.
    lesson : callable(exercise) -> list of str, optional
        The lesson's claims that must hold in a variant ("one team logged clearly more activity"): returns what
        does not hold (an empty list when all do).
    needs : sequence of str
        What the exercise needs from its log (keys of :data:`NEEDS`); a log that lacks any of them is refused
        with a :class:`~salesmetrics.exceptions.UsageError` when it loads (see :func:`check_needs`).

    Examples
    --------
    >>> ex = Exercise("00-demo", "Demo", data="baseline", trainee="Ana Silva", progress=False)
    >>> ex.add(ValueQuestion("q1", "How many deals?", expected=lambda ex: len(ex.log.deals)))
    >>> ex.seed == seed_for("Ana Silva"), "_data" in ex._cache  # nothing is simulated until a check needs it
    (True, False)
    >>> ex.q1.evaluate(____).state.name  # a blank answer computes nothing either
    'NOT_ATTEMPTED'
    """

    def __init__(
        self,
        id: str,
        title: str,
        *,
        data: str,
        seed: int | None = None,
        trainee: str = "",
        size: Mapping[str, int] | None = None,
        progress: str | Path | bool | None = None,
        prepare: Callable[[Any, int], Any] | None = None,
        needs: Iterable[str] = (),
        redraws: int = REDRAWS,
        lesson: Callable[[Any], list[str]] | None = None,
    ):
        self.id = id
        self.title = title
        self.data = str(data)
        self.trainee = " ".join(str(trainee or "").split()) or "trainee"
        self.seed = seed_for(self.trainee) if seed is None else int(seed)
        self.size = dict(SIZE if size is None else size)
        self._questions: dict[str, Question] = {}
        self._cache: dict[str, Any] = {}
        self._progress_setting = progress
        self._store = None
        self._prepare_data = prepare
        self.needs = tuple(needs)
        self.redraws = int(redraws)
        self._lesson = lesson
        self._data_seed = self.seed
        self._variant_problems: list[str] = []

    # -- data --------------------------------------------------------------------------------------------------
    @property
    def parameters(self) -> dict[str, Any]:
        return {"data": self.data, "seed": self.seed, "trainee": self.trainee}

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` on first use, then the kept value: for data shared by several questions."""
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def _loaded(self):
        if "_data" not in self._cache:
            self._draw()
        return self._cache["_data"]

    def _load(self, seed: int):
        log, sim = load_data(self.data, seed, **self.size)
        check_needs(log, self.needs, self.id, self.data)
        if self._prepare_data is not None:
            log = self._prepare_data(log, seed)
        return log, sim

    def _forget(self) -> None:
        self._cache.clear()
        for q in self._questions.values():
            q._cache.clear()

    def _draw(self) -> None:
        """Load the variant's data; re-draw it (another seed derived from :attr:`seed`) while a typical mistake
        gives the right answer or the lesson's claim does not hold in it (:meth:`variant_problems`), at most
        ``redraws`` times. If no draw separates them, the first draw is kept and its problems are kept in
        :attr:`variant_problems_` (the harness fails on them)."""
        first = None
        for attempt in range(self.redraws + 1):
            seed = self.seed if attempt == 0 else redraw_seed(self.seed, attempt)
            loaded = self._load(seed)
            self._forget()
            self._cache["_data"] = loaded
            self._data_seed = seed
            problems = self.variant_problems() if self.redraws else []
            if not problems:
                self._variant_problems = []
                return
            if first is None:
                first = (loaded, seed, problems)
        loaded, seed, problems = first
        self._forget()
        self._cache["_data"] = loaded
        self._data_seed = seed
        self._variant_problems = problems

    @property
    def data_seed(self) -> int:
        """The seed the variant's data was drawn with: :attr:`seed`, or a re-draw's (see :meth:`_draw`)."""
        self._loaded()
        return self._data_seed

    @property
    def variant_problems_(self) -> list[str]:
        """The problems of the variant kept when no re-draw was free of them (empty for a good variant)."""
        self._loaded()
        return list(self._variant_problems)

    def variant_problems(self) -> list[str]:
        """What makes this variant a bad one to teach with (empty when it is a good one): a typical mistake
        (a :class:`Mistake` of a value, table or function question) that gives the right answer on this data, or
        a claim of the lesson (the exercise's ``lesson`` check) that does not hold in it."""
        problems = []
        for q in self._questions.values():
            problems.extend(q._separation_problems())
        if self._lesson is not None:
            problems.extend(self._lesson(self))
        return problems

    @property
    def log(self):
        """The variant's :class:`~salesmetrics.log.SalesLog` (simulated or read on first use)."""
        return self._loaded()[0]

    @property
    def simulation(self):
        """The :class:`~salesmetrics.simulation.simulator.Simulation` (with ``.truth``), or None for a log folder."""
        return self._loaded()[1]

    # -- questions ---------------------------------------------------------------------------------------------
    def add(self, *questions: Question) -> None:
        for q in questions:
            if q.id in self._questions:
                raise ValueError(f"{self.id}: question id {q.id!r} is used twice")
            q.exercise = self
            self._questions[q.id] = q

    @property
    def questions(self) -> list[Question]:
        return list(self._questions.values())

    def __getattr__(self, name: str) -> Question:
        questions = self.__dict__.get("_questions", {})
        if name in questions:
            return questions[name]
        raise AttributeError(f"Exercise {self.__dict__.get('id', '?')!r} has no question or attribute {name!r}")

    def __getitem__(self, name: str) -> Question:
        return self._questions[name]

    def __iter__(self):
        return iter(self.questions)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._questions))

    def __repr__(self) -> str:
        return f"<Exercise {self.id}: {self.title} (data={self.data}, seed={self.seed}, trainee={self.trainee!r})>"

    def _repr_html_(self) -> str:
        body = (
            f"Data: `{self.data}`, seed {self.seed}, trainee {self.trainee}. Questions: "
            + ", ".join(f"`{q.id}`" for q in self.questions)
            + ". Check an answer with `ex.q1.check(answer)`; help with `ex.q1.hint()` and `ex.q1.solution()`."
        )
        return _box(self.title, body, "help")

    # -- progress ----------------------------------------------------------------------------------------------
    @property
    def store(self):
        """The :class:`~salesmetrics.exercises.progress.ProgressStore` checks are recorded in."""
        if self._store is None:
            from salesmetrics.exercises.progress import ProgressStore, default_path

            setting = self._progress_setting
            path = None if setting is False else (default_path() if setting in (None, True) else Path(setting))
            self._store = ProgressStore(path)
        return self._store

    def _context(self) -> dict[str, Any]:
        return {"title": self.title, "parameters": self.parameters, "questions": list(self._questions)}

    def _record_check(self, question: Question, feedback: Feedback, answer: Any) -> None:
        extra: dict[str, Any] = {}
        if isinstance(question, ChoiceQuestion) and question.predict and feedback.state is not State.NOT_ATTEMPTED:
            extra["prediction"] = question._letter(answer) or short_repr(answer)
        if isinstance(question, ReflectionQuestion) and isinstance(answer, str) and answer.strip():
            extra["reflection"] = answer.strip()
        self.store.record_check(
            self.trainee,
            self.id,
            question.id,
            feedback.state.value,
            message=feedback.message,
            mistake=feedback.mistake,
            **extra,
            **self._context(),
        )

    def _record(self, what: str, question: Question, n: int = 0) -> None:
        if what == "hint":
            self.store.record_hint(self.trainee, self.id, question.id, n, **self._context())
        else:
            self.store.record_solution(self.trainee, self.id, question.id, **self._context())

    def progress(self) -> None:
        """Show this trainee's progress on this exercise."""
        from salesmetrics.exercises.progress import ENV, question_line, summary_line

        if self.store.path is None:
            text = (
                "Progress is not being recorded (recording is off for this exercise, or "
                f"${ENV} is 'off'), so there is nothing to show; the checks above still say correct or not."
            )
            _show(text, _box("Progress", text, "help"))
            return
        record = self.store.load()["trainees"].get(self.trainee, {}).get("exercises", {}).get(self.id)
        if not record:
            _show("Nothing checked yet.", _box("Progress", "Nothing checked yet.", "help"))
            return
        record = {**record, "question_ids": list(self._questions)}
        lines = [summary_line(self.id, record)] + [
            question_line(q, record.get("questions", {}).get(q)) for q in self._questions
        ]
        _show("\n".join(lines), _box("Progress", "```\n" + "\n".join(lines) + "\n```", "help"))


__all__ = [
    "BLANK",
    "NEEDS",
    "REAL_DATA_SHARE",
    "REDRAWS",
    "SIZE",
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
    "____",
    "check_needs",
    "is_blank",
    "load_data",
    "memo",
    "missing_needs",
    "redraw_seed",
    "seed_for",
]
