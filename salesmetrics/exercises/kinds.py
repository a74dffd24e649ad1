"""The kinds of question: :class:`ValueQuestion` (numbers with tolerance, text, lists, sets, dicts),
:class:`FrameQuestion` (DataFrame or Series, with tolerance, column and row order ignored unless asked),
:class:`FunctionQuestion` (the trainee's function run on copied test inputs, each a :class:`Case`, against a
reference), :class:`ChoiceQuestion` (multiple choice; ``predict=True`` for "predict before you compute") and
:class:`ReflectionQuestion` (free text: recorded, not judged).

Examples
--------
>>> from salesmetrics.exercises.blank import ____
>>> q = ValueQuestion("q1", "Movements of deal D1", expected=4, hints=["Count stage entries, not steps."])
>>> q.evaluate(____).state.name
'NOT_ATTEMPTED'
>>> print(q.evaluate(7))
Incorrect: Your answer, 7, is not right.
>>> q.evaluate(4).correct
True
>>> q.assert_passes(4.0)
>>> q.hint()  # in a notebook this shows a formatted box
Hint 1 of 1: Count stage entries, not steps.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from salesmetrics._util.text import plural
from salesmetrics.exercises.blank import BLANK
from salesmetrics.exercises.compare import Comparison, compare_frame, compare_value, short_repr
from salesmetrics.exercises.feedback import State, message_box, show_message
from salesmetrics.exercises.question import Mistake, Question, Spec, resolve_spec


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
        """How the trainee reads test input ``i`` (its label, or its arguments in short)."""
        if self.label:
            return self.label
        shown = ", ".join(
            [short_repr(a, 40) for a in self.args] + [f"{k}={short_repr(v, 40)}" for k, v in self.kwargs.items()]
        )
        return f"test {i + 1}: ({shown})"


GLOBAL_SLIP = "global instead of argument"
GLOBAL_MESSAGE = (
    "It gives that same result whatever input it gets: it seems to use a variable of the notebook (a global, such "
    "as `entries` or `log`) instead of its argument. Work only on the argument the function receives."
)


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
        """The test inputs of this variant (computed on first use)."""
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
            result = self._outputs_match(got, self._reference_output(i))
            if failed is None and not result.ok:
                failed = (i, result)
        if failed is not None:
            i, result = failed
            said = f"On {cases[i].describe(i)} your function returned {short_repr(outputs[i])}."
            mistake = self._function_mistake(outputs)
            if mistake is not None:
                return self._feedback(State.INCORRECT, f"{said} {mistake.message}", mistake.name)
            if self._ignores_its_input(outputs):
                return self._feedback(State.INCORRECT, f"{said} {GLOBAL_MESSAGE}", GLOBAL_SLIP)
            return self._feedback(State.INCORRECT, f"{said} {result.message}", result.slip or None)
        note = " (Note: your function changes its input; here it got a copy, but elsewhere that changes your data.)"
        success = str(resolve_spec(self._success, self.exercise) or "")
        message = f"It gives the right result on all {len(cases)} test inputs. {success}".strip()
        return self._feedback(State.CORRECT, message + (note if changed_input else ""))

    def _ignores_its_input(self, outputs: list) -> bool:
        """True when the trainee's function gives the same output on every test input while the reference's
        outputs differ: it reads a notebook variable (a global) instead of its argument."""
        if len(outputs) < 2 or not all(self._outputs_match(o, outputs[0]).ok for o in outputs[1:]):
            return False
        want = [self._reference_output(i) for i in range(len(outputs))]
        return not all(self._outputs_match(w, want[0]).ok for w in want[1:])

    def _reference_output(self, i: int):
        """The reference's output on test input ``i``, computed once per variant (the reference is a pure function
        of its input, and each check would otherwise compute it again)."""
        outputs = self._cache.setdefault("reference outputs", {})
        if i not in outputs:
            case = self.cases[i]
            outputs[i] = self.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        return outputs[i]

    def _mistake_outputs(self, index: int) -> list | None:
        """The outputs of mistake ``index``'s function on every test input, computed once per variant; None when
        it raises on one of them (then it is never matched)."""
        key = f"mistake outputs:{index}"
        if key not in self._cache:
            function = self.mistakes[index].answer
            try:
                self._cache[key] = [function(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs)) for c in self.cases]
            except Exception:
                self._cache[key] = None
        return self._cache[key]

    def _same_outputs(self, a: list, b: list | None) -> bool:
        try:
            return all(self._outputs_match(x, y).ok for x, y in zip(a, b, strict=True))
        except Exception:
            return False

    def _separation_problems(self) -> list[str]:
        functions = [i for i, m in enumerate(self.mistakes) if callable(m.answer)]
        if not functions:
            return []
        try:
            want = [self._reference_output(i) for i in range(len(self.cases))]
        except Exception:
            want = None
        problems, seen = [], []
        for index in functions:
            mistake, got = self.mistakes[index], self._mistake_outputs(index)
            if got is None:
                continue
            if self._same_outputs(got, want):
                problems.append(f"{self.id}: the mistake {mistake.name!r} gives the right output on every test input")
                continue
            for earlier, other in seen:
                if self._same_outputs(got, other):
                    problems.append(
                        f"{self.id}: the mistakes {earlier.name!r} and {mistake.name!r} give the same outputs"
                    )
                    break
            seen.append((mistake, got))
        return problems

    def _function_mistake(self, outputs: list) -> Mistake | None:
        """The first mistake whose function gives the trainee's outputs on every test input."""
        for index, mistake in enumerate(self.mistakes):
            if not callable(mistake.answer):
                continue
            made = self._mistake_outputs(index)
            if made is not None and self._same_outputs(outputs, made):
                return mistake
        return None


def _unchanged(after, before) -> bool:
    """True when the input ``after`` a call equals the input ``before`` it (tables compared with ``equals``)."""
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
        show_message(text, message_box(f"{self.id}: your options", body, "help"))

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

    def progress_extras(self, answer, feedback) -> dict:
        """A prediction's answer is kept as the trainee's prediction (its letter, or the answer as given)."""
        if self.predict and feedback.state is not State.NOT_ATTEMPTED:
            return {"prediction": self._letter(answer) or short_repr(answer)}
        return {}

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
            return self._feedback(State.CORRECT, str(resolve_spec(self._success, self.exercise) or ""))
        author = self._order[letter]
        # a prediction is the trainee's own: recorded, never marked wrong
        state = State.RECORDED if self.predict else State.INCORRECT
        for m in self.mistakes:
            if isinstance(m.answer, str) and m.answer.upper() == author:
                return self._feedback(state, m.message, m.name)
        message = resolve_spec(self._wrong_message, self.exercise)
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

    def progress_extras(self, answer, feedback) -> dict:
        """A reflection's text is kept in the progress file, for the trainee and the trainer."""
        if isinstance(answer, str) and answer.strip():
            return {"reflection": answer.strip()}
        return {}

    @property
    def solution_code(self) -> str:
        thoughts = " ".join(str(resolve_spec(self._solution, self.exercise) or "").split())
        text = thoughts or "I would plan each meeting around the one decision the client has to take next."
        return f"{self.variable} = {text!r}"

    def _judge(self, answer):
        if not isinstance(answer, str):
            return self._feedback(State.INCORRECT, "Write your reflection as text, in quotes.")
        words = len(answer.split())
        if words < self.min_words:
            return self._feedback(
                State.RECORDED,
                f"Recorded, {plural(words, 'word')}: write two or three sentences (at least "
                f"{self.min_words} words), in your own words. It is kept for you and your trainer, not marked.",
                "too short",
            )
        return self._feedback(
            State.CORRECT, "Recorded. Compare with our own thoughts: `.solution()`. There is no single right answer."
        )

    def solution(self) -> None:
        thoughts = str(resolve_spec(self._solution, self.exercise) or "")
        if self.exercise is not None:
            self.exercise._record("solution", self)
        show_message(f"Our thoughts: {thoughts}", message_box("Our thoughts", thoughts, "help"))


__all__ = ["Case", "ChoiceQuestion", "FrameQuestion", "FunctionQuestion", "ReflectionQuestion", "ValueQuestion"]
