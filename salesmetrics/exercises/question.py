"""A question of an exercise: the base class every kind builds on (see :mod:`salesmetrics.exercises.kinds`).

A question is checked with ``q.check(answer)``: the answer is passed in (never read from the notebook's
globals), compared with the expected answer, and the result is one of three states, shown with a message:

- ``NOT_ATTEMPTED``: the answer is still the placeholder ``____`` (or None, or empty text);
- ``INCORRECT``: with a message that says what is wrong without giving the answer away (a known mistake
  gets its own message);
- ``CORRECT``.

``q.hint()``, ``q.hint(2)`` and ``q.solution()`` show help; ``q.assert_passes(answer)``,
``q.assert_fails(answer)`` and ``q.assert_not_attempted(answer)`` let tests drive a question without showing
or recording anything. Expected answers, hints and solutions may be callables of the exercise, computed on
first use (a :data:`Spec`).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from salesmetrics._util.text import agree, plural
from salesmetrics.exceptions import UsageError
from salesmetrics.exercises.blank import BLANK, is_blank, partly_blank
from salesmetrics.exercises.compare import Comparison, compare_value, short_repr
from salesmetrics.exercises.feedback import Feedback, State, message_box, show_message

Spec = Any  # a value, or a callable taking the Exercise (or None) and returning the value


def resolve_spec(spec: Spec, exercise: Any) -> Any:
    """The value of ``spec`` for ``exercise``: ``spec(exercise)`` when it is callable, else ``spec`` itself."""
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
        self.exercise: Any = None  # the Exercise it belongs to, set by Exercise.add
        self._cache: dict[str, Any] = {}

    # -- lazy values -------------------------------------------------------------------------------------------
    def _lazy(self, name: str, spec: Spec) -> Any:
        if name not in self._cache:
            self._cache[name] = resolve_spec(spec, self.exercise)
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
        """The hints, gentlest first, as text for this variant."""
        return [str(resolve_spec(h, self.exercise)) for h in self._hints]

    @property
    def solution_code(self) -> str:
        """The code that answers the question (what ``solution()`` shows and the harness runs)."""
        return textwrap.dedent(str(resolve_spec(self._solution, self.exercise) or "")).strip()

    @property
    def wrong_code(self) -> str | None:
        """The code of a typical wrong answer (for the test harness), or None."""
        code = resolve_spec(self._wrong, self.exercise)
        return textwrap.dedent(code).strip() if code else None

    # -- checking ----------------------------------------------------------------------------------------------
    def _compare(self, answer: Any, expected: Any) -> Comparison:
        return compare_value(answer, expected)

    def _blank_message(self) -> str:
        return "Replace `____` with your answer, then run the cell again."

    def _judge(self, answer: Any) -> Feedback:
        result = self._compare(answer, self._expected)
        if result.ok:
            return self._feedback(State.CORRECT, str(resolve_spec(self._success, self.exercise) or ""))
        mistake = self._match_mistake(answer)
        if mistake is not None:
            return self._feedback(State.INCORRECT, mistake.message, mistake.name)
        return self._feedback(State.INCORRECT, result.message or "That is not right yet.", result.slip or None)

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

    def progress_extras(self, answer: Any, feedback: Feedback) -> dict[str, Any]:
        """What the progress file keeps of a checked answer besides its state and message (nothing, for most
        kinds; a prediction's letter, a reflection's text)."""
        return {}

    # -- help --------------------------------------------------------------------------------------------------
    def hint(self, n: int | str = 1) -> None:
        """Show hint ``n`` (1 is the gentlest)."""
        hints = self.hints
        if isinstance(n, str) and n.strip().isdigit():
            n = int(n)
        if not isinstance(n, int) or isinstance(n, bool):
            count = max(len(hints), 1)
            text = f"Give the hint's number, e.g. `hint(1)` to `hint({count})`, not {short_repr(n)}."
            show_message(f"Hint: {text}", message_box("Hint", text, "help"))
            return
        if not hints:
            text = "No hint for this one: re-read the explanation above the question."
        elif not 1 <= n <= len(hints):
            text = f"There {agree(len(hints), 'is', 'are')} {plural(len(hints), 'hint')}: "
            text += f"use hint(1) to hint({len(hints)})."
        else:
            text = hints[n - 1]
            if self.exercise is not None:
                self.exercise._record("hint", self, n=n)
        title = f"Hint {n} of {len(hints)}" if hints and 1 <= n <= len(hints) else "Hint"
        more = f" (more: hint({n + 1}))" if hints and n < len(hints) else ""
        show_message(f"{title}: {text}", message_box(title + more, text, "help"))

    def solution(self) -> None:
        """Show the solution: the code, and why."""
        code = self.solution_code
        explanation = str(resolve_spec(self._explanation, self.exercise) or "")
        text = f"```python\n{code}\n```" + (f"\n\n{explanation}" if explanation else "")
        if self.exercise is not None:
            self.exercise._record("solution", self)
        show_message(
            f"Solution ({self.id}):\n{code}" + (f"\n\n{explanation}" if explanation else ""),
            message_box("Solution", text, "help"),
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
        return message_box(
            f"{self.id}: {self.title}",
            "Check your answer with `.check(answer)`; help: `.hint()`, `.solution()`.",
            "help",
        )


__all__ = ["Mistake", "Question", "Spec", "resolve_spec"]
