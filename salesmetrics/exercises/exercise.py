"""The :class:`Exercise`: the questions of one notebook, its parameters, its data (loaded on first use and
re-drawn when it would not teach) and the trainee's progress file.

Expected answers are computed by reference functions from the exercise's parameters, and only when first needed:
creating an exercise loads nothing, the data is simulated or read on first use, and each trainee's variant checks
against its own numbers. Checks, hints and solutions are recorded in the trainee's progress file
(:mod:`salesmetrics.exercises.progress`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from salesmetrics.exercises.feedback import Feedback, message_box, show_message
from salesmetrics.exercises.progress import ENV, ProgressStore, default_path, question_line, summary_line
from salesmetrics.exercises.question import Question
from salesmetrics.exercises.variants import REDRAWS, SIZE, check_needs, load_data, redraw_seed, seed_for


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
    >>> from salesmetrics.exercises.blank import ____
    >>> from salesmetrics.exercises.kinds import ValueQuestion
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
        """The notebook's parameters: data, seed and trainee."""
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

    def what_if(self, name: str, config: Mapping | None = None, *, size: Mapping[str, int], scenario: str = "baseline"):
        """A what-if: the simulator run with the variant's seed and ``config`` (kept under ``name``). The owners and
        deals are drawn from their own random streams, so what-ifs of one seed differ only by their configs."""
        from salesmetrics.simulation.simulator import simulate  # here: importing an exercise simulates nothing

        return self.cached(name, lambda: simulate(**size, seed=self.seed, scenario=scenario, config=config))

    @property
    def simulation(self):
        """The :class:`~salesmetrics.simulation.simulator.Simulation` (with ``.truth``), or None for a log folder."""
        return self._loaded()[1]

    # -- questions ---------------------------------------------------------------------------------------------
    def add(self, *questions: Question) -> None:
        """Add questions (each id once); they are then ``ex.<id>`` and ``ex["<id>"]``."""
        for q in questions:
            if q.id in self._questions:
                raise ValueError(f"{self.id}: question id {q.id!r} is used twice")
            q.exercise = self
            self._questions[q.id] = q

    @property
    def questions(self) -> list[Question]:
        """The questions, in the order they were added."""
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
        return message_box(self.title, body, "help")

    # -- progress ----------------------------------------------------------------------------------------------
    @property
    def store(self):
        """The :class:`~salesmetrics.exercises.progress.ProgressStore` checks are recorded in."""
        if self._store is None:
            setting = self._progress_setting
            path = None if setting is False else (default_path() if setting in (None, True) else Path(setting))
            self._store = ProgressStore(path)
        return self._store

    def _context(self) -> dict[str, Any]:
        return {"title": self.title, "parameters": self.parameters, "questions": list(self._questions)}

    def _record_check(self, question: Question, feedback: Feedback, answer: Any) -> None:
        extra = question.progress_extras(answer, feedback)
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
        if self.store.path is None:
            text = (
                "Progress is not being recorded (recording is off for this exercise, or "
                f"${ENV} is 'off'), so there is nothing to show; the checks above still say correct or not."
            )
            show_message(text, message_box("Progress", text, "help"))
            return
        record = self.store.load()["trainees"].get(self.trainee, {}).get("exercises", {}).get(self.id)
        if not record:
            show_message("Nothing checked yet.", message_box("Progress", "Nothing checked yet.", "help"))
            return
        record = {**record, "question_ids": list(self._questions)}
        lines = [summary_line(self.id, record)] + [
            question_line(q, record.get("questions", {}).get(q)) for q in self._questions
        ]
        show_message("\n".join(lines), message_box("Progress", "```\n" + "\n".join(lines) + "\n```", "help"))


__all__ = ["Exercise"]
