"""What checking an answer gives (:class:`State` and :class:`Feedback`), and how a message is shown: a coloured
box in a notebook, a line of text elsewhere (:func:`show_message`).

>>> print(Feedback("q1", State.INCORRECT, "Count stage entries, not steps."))
Incorrect: Count stage entries, not steps.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from enum import StrEnum


class State(StrEnum):
    """The state of a checked answer."""

    NOT_ATTEMPTED = "not_attempted"
    INCORRECT = "incorrect"
    CORRECT = "correct"
    RECORDED = "recorded"  # a prediction or a reflection: kept as the trainee's own, never marked wrong


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where messages are shown as HTML boxes)."""
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


def message_box(title: str, body: str, colour_key: State | str) -> str:
    """HTML of a coloured box: ``title`` in bold, ``body`` as text with `code` and **bold** (colour by a
    :class:`State`, or ``"help"`` for hints, solutions and progress)."""
    fg, bg = _COLOURS[colour_key]
    return (
        f"<div style='border-left:4px solid {fg};background:{bg};padding:.4em .8em;margin:.3em 0'>"
        f"<b style='color:{fg}'>{html.escape(title)}</b>{_markup(body)}</div>"
    )


def show_message(text: str, html_text: str) -> None:
    """Display ``html_text`` in a notebook, print ``text`` elsewhere."""
    if in_notebook():
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
        """True when the answer is CORRECT."""
        return self.state is State.CORRECT

    def __str__(self) -> str:
        return f"{_LABELS[self.state]}: {self.message}" if self.message else _LABELS[self.state]

    def _repr_html_(self) -> str:
        title = f"{_LABELS[self.state]}" + (f" ({self.question}: {self.title})" if self.title else "")
        return message_box(title, self.message, self.state)

    def show(self) -> None:
        """Display the feedback: a coloured box in a notebook, a line of text elsewhere."""
        show_message(str(self), self._repr_html_())
        self._shown.append(True)

    def _ipython_display_(self) -> None:
        # check() already showed it; when check(...) is the last line of a cell, do not show it twice
        if self._shown:
            self._shown.clear()
            return
        self.show()
        self._shown.clear()


__all__ = ["Feedback", "State", "in_notebook", "message_box", "show_message"]
