"""The 50-trainee harness: every exercise for a class of 50 generated trainees, in process, no kernel.

For each trainee (a generated name; the seed derived from it as ``salesmetrics exercises make`` does) and each
exercise: the variant is drawn as the notebook draws it; no typical mistake of a value, table or function question
gives the right answer (or another mistake's answer) in it; a blank answer is NOT_ATTEMPTED; the expected answer
is CORRECT; and every typical mistake is INCORRECT with its own message. Choice questions cannot be failed by their
typical wrong letter (it is chosen among the wrong ones) and are not recomputed here. The notebooks' solution and
wrong *code* runs in ``tests/test_exercises.py`` (kernels and in process); this file checks every variant.

The known cases that passed in some variants before (issue 20): exercise 05 Q4 with unanswered requests included,
05 Q3 from the last commit entry, 03 Q2 with ``> 3``, 04 Q4 with every positive rho, 01 Q5 with idle weeks.
"""

from __future__ import annotations

import warnings

import pytest

from salesmetrics.exercises import BLANK, State, exercise_modules, seed_for

pytestmark = pytest.mark.slow  # the 50-trainee harness: minutes

MODULES = exercise_modules()
CLASS = [f"Trainee {i:02d}" for i in range(1, 51)]


def mistake_value(q, name: str):
    """The value of ``q``'s mistake ``name`` on its exercise's variant (a function for a function question)."""
    mistake = next(m for m in q.mistakes if m.name == name)
    return mistake.answer if q.kind == "function" else q._lazy(f"mistake:{name}", mistake.answer)


def _check_variant(module, name: str) -> list[str]:
    """What goes wrong for one trainee's variant of one exercise (an empty list when nothing does)."""
    ex = module.setup(seed=seed_for(name), trainee=name, progress=False)
    ex.log  # noqa: B018 - draws the variant (and re-draws it while a mistake gives the right answer)
    found = [f"{name}: {problem}" for problem in ex.variant_problems_]
    for q in ex:
        if q.evaluate(BLANK).state is not State.NOT_ATTEMPTED:
            found.append(f"{name} {q.id}: a blank answer is not 'not attempted'")
        if q.kind not in ("value", "frame", "function"):
            continue
        if not q.evaluate(q.expected_answer()).correct:
            found.append(f"{name} {q.id}: the expected answer is not marked correct")
        for mistake in q.mistakes:
            feedback = q.evaluate(mistake_value(q, mistake.name))
            if feedback.state is not State.INCORRECT or feedback.mistake != mistake.name:
                found.append(
                    f"{name} {q.id}: the mistake {mistake.name!r} came out {feedback.state.value} "
                    f"(matched {feedback.mistake!r}), seed {ex.seed}, data seed {ex.data_seed}"
                )
    return found


@pytest.mark.parametrize(
    "exercise_id",
    [pytest.param(i, marks=pytest.mark.slow) if i.startswith("06") else i for i in MODULES],
)
def test_every_typical_mistake_is_caught_for_every_trainee_of_a_class(exercise_id):
    module = MODULES[exercise_id]
    problems = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in CLASS:
            problems.extend(_check_variant(module, name))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("exercise_id", "question", "mistake", "trainee"),
    [
        ("05-velocity-and-momentum", "q4", "unanswered included", "Trainee 12"),
        ("05-velocity-and-momentum", "q3", "losses included", "Trainee 10"),
        ("03-random-walks", "q2", "more than three", "Trainee 46"),
        ("04-quality-over-volume", "q4", "positive rho", "Trainee 02"),
        ("01-motion-vs-movement", "q5", "idle weeks included", "Trainee 37"),
    ],
)
def test_a_variant_where_a_mistake_gave_the_right_answer_is_redrawn(exercise_id, question, mistake, trainee):
    """These trainees' first draws accepted the mistake (found by the harness above); their data is re-drawn."""
    module = MODULES[exercise_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = module.setup(seed=seed_for(trainee), trainee=trainee, progress=False)
        first.redraws = 0  # the first draw, as before issue 20
        q = first[question]
        if q.kind == "function":
            outputs = [(mistake_value(q, mistake)(*c.args), q.reference(*c.args)) for c in q.cases]
            assert all(q._outputs_match(a, b).ok for a, b in outputs), "the first draw accepted the mistake"
        else:
            assert q.evaluate(mistake_value(q, mistake)).correct, "the first draw accepted the mistake"
        assert any(mistake in p for p in first.variant_problems())
        ex = module.setup(seed=seed_for(trainee), trainee=trainee, progress=False)
        assert ex.data_seed != ex.seed and ex.variant_problems_ == []
        ex[question].assert_fails(mistake_value(ex[question], mistake), mistake=mistake)


def test_teaching_cases_separate_every_row_from_the_right_rows():
    """03 Q1 and Q5: restated close dates and repeated stage entries are seeded, so counting every row (or every
    change) is caught; 05 Q3: a deal committed twice per team, so `.last()` is caught."""
    import pandas as pd

    from salesmetrics.exercises import ex3_random_walks as ex3
    from salesmetrics.exercises import ex5_velocity_and_momentum as ex5
    from salesmetrics.log.prepare import stage_entries

    ex = ex3.setup(seed=seed_for("Trainee 01"), trainee="Trainee 01", progress=False)
    changes = ex3.close_date_table(ex.log)
    same = changes.groupby("deal_id")["close_date"].diff() == pd.Timedelta(0)
    assert int(same.sum()) >= ex3.N_RESTATED
    assert int((stage_entries(ex.log)["kind"] == "repeat").sum()) == ex3.N_REPEATS
    ex.q1.assert_fails(changes.groupby("deal_id").size() - 1, mistake="every change counted")
    entries = ex3.entries_table(ex.log)
    ex.q5.assert_fails(entries.groupby("team")["steps"].mean(), mistake="every row")
    assert ex.simulation.log is not ex.log  # the simulated log itself is left as it was

    ex = ex5.setup(seed=seed_for("Trainee 01"), trainee="Trainee 01", progress=False)
    entries = stage_entries(ex.log)
    commits = entries[entries["stage"] == ex.log.model.commit_stage].groupby("deal_id").size()
    teams = ex.log.deals.set_index("deal_id")["team"]
    assert set(teams[commits[commits >= 2].index]) == set(teams.dropna())
    ex.q3.assert_fails(ex5._commit_days_last_entry(ex.log), mistake="last commit entry")
