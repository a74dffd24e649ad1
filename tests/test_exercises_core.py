"""The exercise library: states, comparisons and their messages, function checks, progress file, command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmetrics.cli.main import main
from salesmetrics.exceptions import UsageError
from salesmetrics.exercises import (
    BLANK,
    Case,
    ChoiceQuestion,
    Exercise,
    FrameQuestion,
    FunctionQuestion,
    Mistake,
    ReflectionQuestion,
    State,
    ValueQuestion,
    ____,
    exercise_modules,
    find_exercise,
    is_blank,
    load_exercise,
    seed_for,
)
from salesmetrics.exercises.compare import compare_frame, compare_value
from salesmetrics.exercises.notebook import make_variants, read_notebook, read_trainees, trainee_folder
from salesmetrics.exercises.progress import ProgressStore

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def progress_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "progress.json"
    monkeypatch.setenv("SALESMETRICS_PROGRESS", str(path))
    return path


# -- blanks and states -----------------------------------------------------------------------------------------


def test_blank_placeholder_and_not_attempted():
    assert ____ is BLANK and repr(____) == "____"
    assert (____ + 1) is BLANK and ____.sum() is BLANK and ____["x"] is BLANK  # a half-edited cell does not crash
    for blank in (____, None, ..., "", "   ", "____", [____, ____], {"a": ____}):
        assert is_blank(blank)
    for answer in (0, False, [], {}, "x", [1, ____], pd.Series(dtype=float)):
        assert not is_blank(answer)
    q = ValueQuestion("q1", "t", expected=3)
    q.assert_not_attempted(____)
    q.assert_not_attempted(None)
    fb = q.evaluate([1, ____])
    assert fb.state is State.INCORRECT and "____" in fb.message


def test_value_question_tolerance_types_and_messages():
    q = ValueQuestion("q1", "t", expected=0.25, rtol=1e-3)
    q.assert_passes(0.2501)
    q.assert_passes(np.float64(0.25))
    fb = q.assert_fails(0.26)
    assert "0.25" not in fb.message  # never the expected value
    q.assert_fails("0.25", match="Expected a number, got text")
    assert "close" in q.assert_fails(0.2499 * 1.02).message
    ValueQuestion("q", "t", expected=12).assert_passes(12.0)
    ValueQuestion("q", "t", expected="Team A").assert_passes("  team a ")
    ValueQuestion("q", "t", expected="Team A", case_sensitive=True).assert_fails("team a")
    ValueQuestion("q", "t", expected=True).assert_fails(1, match="True or False")
    ValueQuestion("q", "t", expected=["a", "b"]).assert_fails(["b", "a"], match="Item 1 of the list")
    ValueQuestion("q", "t", expected=["a", "b"], ordered=False).assert_passes(("b", "a"))
    sets = ValueQuestion("q", "t", expected={"ann", "bob"})
    sets.assert_passes(["bob", "ann"])
    fb = sets.assert_fails({"ann", "cat"})
    assert "'cat'" in fb.message and "1 item is missing" in fb.message and "bob" not in fb.message
    dicts = ValueQuestion("q", "t", expected={"D1": "Proposal", "D2": "Won"})
    dicts.assert_passes({"D1": "proposal", "D2": "won"})
    dicts.assert_fails({"D1": "Proposal"}, match="no entry for 'D2'")
    assert "Proposal" not in dicts.assert_fails({"D1": "Lead", "D2": "Won"}).message


def test_answer_that_breaks_the_comparison_is_incorrect_not_an_error():
    class Weird:
        def __eq__(self, other):
            raise RuntimeError("boom")

    q = ValueQuestion("q", "t", expected=object())
    assert q.evaluate(Weird()).state is State.INCORRECT


def test_expected_is_lazy_and_kept():
    calls = []

    def expected(ex):
        calls.append(ex)
        return 5

    q = ValueQuestion("q", "t", expected=expected)
    assert calls == []
    q.assert_passes(5)
    q.assert_fails(4)
    assert len(calls) == 1


def test_known_mistake_gets_its_own_message():
    q = ValueQuestion("q", "t", expected=10, mistakes=[Mistake("steps", "You added steps.", lambda ex: 14)])
    assert q.assert_fails(14, mistake="steps").message == "You added steps."
    assert q.assert_fails(13).mistake is None


# -- frames ----------------------------------------------------------------------------------------------------

OWNERS = pd.DataFrame(
    {"movements": [3, 2, 5], "motions": [10, 4, 30]}, index=pd.Index(["ann", "bob", "cy"], name="owner")
)


def test_frame_question_ignores_column_and_row_order_by_default():
    q = FrameQuestion("q", "t", expected=OWNERS)
    q.assert_passes(OWNERS[["motions", "movements"]].iloc[::-1])
    q.assert_passes(OWNERS.astype(float))
    strict = FrameQuestion("q", "t", expected=OWNERS, check_column_order=True, check_row_order=True)
    strict.assert_fails(OWNERS[["motions", "movements"]], match="wrong order")
    strict.assert_fails(OWNERS.iloc[::-1], match="rows are in the wrong order")


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (OWNERS.drop(columns="motions"), "Missing column 'motions'"),
        (OWNERS.reset_index(), "Unexpected column 'owner'"),
        (OWNERS.reset_index(drop=True), r"index should hold the owner labels .* groupby\('owner'\)"),
        (OWNERS.iloc[:2], "2 rows; that is too few"),
        (OWNERS.rename(index={"cy": "dee"}), r"rows that do not belong \('dee'\) and no row for 'cy'"),
        (OWNERS.assign(motions=[10, 4, 31]), r"Column 'motions' differs in 1 of 3 rows \(first: 'cy'\)"),
        (OWNERS.astype(str), "should be numbers"),
        (OWNERS["movements"], "got a Series"),
        ([1, 2], "Expected a DataFrame, got a list"),
    ],
)
def test_frame_messages_say_what_differs(answer, match):
    fb = FrameQuestion("q", "t", expected=OWNERS).assert_fails(answer, match=match)
    assert "31" not in fb.message and "30" not in fb.message


def test_frame_records_and_series():
    rows = pd.DataFrame({"owner": ["ann", "bob", "bob"], "period": ["W1", "W1", "W2"], "motions": [3, 1, 2]})
    q = FrameQuestion("q", "t", expected=rows, check_index=False)
    q.assert_passes(rows.iloc[[2, 0, 1]].set_index(pd.Index([7, 8, 9])))
    fb = q.assert_fails(rows.assign(motions=[3, 1, 9]))
    assert "1 of your 3 rows does not belong" in fb.message and "'motions': 9" in fb.message
    series = pd.Series([0.5, 0.25], index=pd.Index(["A", "B"], name="team"))
    s = FrameQuestion("q", "t", expected=series, rtol=1e-3)
    s.assert_passes(series.to_frame("rate"))  # a one-column DataFrame is accepted
    s.assert_passes(series + 1e-5)
    s.assert_fails(series.to_frame().assign(x=1), match="Expected a Series")
    s.assert_fails(series * 2, match="values differ in 2 of 2 rows")
    assert compare_frame(pd.Series([np.nan, 1.0]), pd.Series([np.nan, 1.0])).ok


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_any_row_and_column_shuffle_of_the_expected_frame_passes(values, rnd):
    frame = pd.DataFrame({"a": values, "b": [str(v) for v in values]}, index=[f"r{i}" for i in range(len(values))])
    rows = list(frame.index)
    rnd.shuffle(rows)
    assert compare_frame(frame.loc[rows, ["b", "a"]], frame).ok
    assert compare_frame(frame.loc[rows, ["b", "a"]].reset_index(drop=True), frame, check_index=False).ok
    assert compare_value(values[0], values[0] * (1 + 1e-9)).ok


# -- functions -------------------------------------------------------------------------------------------------


def _count(entries):
    return int((entries["kind"] != "repeat").sum())


def _cases(ex):
    return [
        Case((pd.DataFrame({"kind": ["add", "advance"], "steps": [0, 3]}),), label="a jump"),
        Case((pd.DataFrame({"kind": ["add", "repeat", "loss"], "steps": [0, 0, 0]}),), label="a repeat"),
    ]


def test_function_question_runs_copies_and_diagnoses():
    q = FunctionQuestion(
        "q",
        "t",
        reference=_count,
        cases=_cases,
        mistakes=[
            Mistake("steps", "You summed steps.", lambda e: int(e["steps"].sum())),
            Mistake("rows", "You counted rows.", lambda e: len(e)),
        ],
    )
    q.assert_passes(_count)

    def destructive(entries):
        entries["kind"] = "repeat"  # spoils only its own copy
        return 0

    q.assert_fails(destructive)
    q.assert_passes(_count)  # the cases were not spoiled

    def mutating_but_right(entries):
        n = _count(entries)
        entries["kind"] = "x"
        return n

    assert "changes its input" in q.evaluate(mutating_but_right).message
    fb = q.assert_fails(lambda e: int(e["steps"].sum()), mistake="steps")
    assert fb.message.startswith("On a jump your function returned 3.")
    q.assert_fails(len, mistake="rows")  # right on the first case, wrong on the second: matched on every case
    q.assert_fails(lambda e: 1 / 0, match="raised ZeroDivisionError")
    q.assert_fails(3, match="Pass the function itself")
    q.assert_not_attempted(lambda e: ____)

    def not_done(entries):
        raise NotImplementedError

    q.assert_not_attempted(not_done)


# -- choices and reflections -----------------------------------------------------------------------------------


def test_choice_question_letters_text_and_computed_answer():
    q = ChoiceQuestion("q", "t", options={"A": "Up", "B": "Down"}, expected=lambda ex: "b", variable="reading")
    q.assert_passes("B")
    q.assert_passes(" b) ")
    q.assert_passes("down")
    q.assert_fails("Z", match="one of the letters 'A', 'B'")
    assert q.assert_fails("A").mistake == "wrong choice"
    assert q.solution_code == "reading = 'B'" and q.wrong_code == "reading = 'A'"
    p = ChoiceQuestion("p", "t", options={"A": "x", "B": "y"}, expected="A", predict=True)
    fb = p.evaluate("B")  # a prediction is the trainee's own: recorded, never "Incorrect"
    assert fb.state is State.RECORDED and "prediction is recorded" in fb.message and fb.mistake == "wrong prediction"
    assert str(fb).startswith("Recorded:") and "Incorrect" not in fb._repr_html_()


def test_choice_options_are_shuffled_per_trainee_and_checked_in_their_letters():
    texts = {"A": "one", "B": "two", "C": "three", "D": "four"}

    def question(seed):
        ex = Exercise("00-test", "Test", data="baseline", seed=seed, progress=False)
        ex.add(ChoiceQuestion("q1", "t", options=texts, expected="C", variable="pick"))
        return ex.q1

    orders = {tuple(question(seed).options.values()) for seed in range(12)}
    assert len(orders) > 3, "letters differ across a class"
    for seed in range(12):
        q = question(seed)
        assert sorted(q.options.values()) == sorted(texts.values()) and list(q.options) == list(texts)
        assert q.options == question(seed).options  # the same trainee always sees the same order
        right = next(k for k, v in q.options.items() if v == "three")
        assert q.expected_answer() == right and q.solution_code == f"pick = {right!r}"
        q.assert_passes(right)
        q.assert_passes("three")
        assert q.typical_wrong != right
        q.assert_fails(q.typical_wrong, mistake="wrong choice")
    fixed = ChoiceQuestion("q2", "t", options=texts, expected="C", shuffle=False)
    Exercise("00-test", "Test", data="baseline", seed=3, progress=False).add(fixed)
    assert list(fixed.options.values()) == list(texts.values())


def test_reflection_is_recorded_not_judged(progress_file):
    ex = Exercise("00-test", "Test", data="baseline", seed=1, trainee="Ana")
    ex.add(
        ReflectionQuestion("q1", "Reflect", solution="Our thoughts."),
        ChoiceQuestion("q2", "Guess", options={"A": "a", "B": "b"}, expected="A", predict=True),
    )
    short = ex.q1.evaluate("too short")  # recorded with a nudge, never "Incorrect"
    assert short.state is State.RECORDED and short.mistake == "too short" and "at least 8 words" in short.message
    text = "I would plan the next meeting around the decision to bring in the budget holder."
    assert ex.q1.check(text).correct
    assert ex.q1.solution_code.startswith("reflection = 'Our thoughts.")
    wrong = next(k for k, v in ex.q2.options.items() if v == "b")
    assert ex.q2.check(wrong).state is State.RECORDED
    ex.q2.check("a")  # the option's text works in any order of letters
    recs = json.loads(progress_file.read_text())["trainees"]["Ana"]["exercises"]["00-test"]["questions"]
    assert recs["q1"]["reflection"] == text and recs["q1"]["state"] == "correct"
    assert recs["q2"]["prediction"] == wrong and recs["q2"]["attempts"] == 2 and recs["q2"]["state"] == "correct"


# -- exercise, display, progress -------------------------------------------------------------------------------


def test_check_hint_solution_show_and_record(progress_file, capsys):
    ex = Exercise("00-test", "Test", data="baseline", seed=1, trainee="Ana")
    ex.add(
        ValueQuestion(
            "q1", "Deals", expected=lambda ex: len(ex.log.deals), hints=["one", "two"], solution="n = len(log.deals)"
        )
    )
    assert "_data" not in ex._cache  # lazy: nothing simulated yet
    assert ex.q1.check(____).state is State.NOT_ATTEMPTED
    assert "_data" not in ex._cache  # a blank check computes nothing
    ex.q1.check(3)
    ex.q1.hint()
    ex.q1.hint(2)
    ex.q1.hint(5)
    ex.q1.solution()
    fb = ex.q1.check(200)
    out = capsys.readouterr().out
    assert "Not attempted: Replace `____`" in out and "Incorrect: Your answer, 3, is not right." in out
    assert "Hint 1 of 2: one" in out and "Hint 2 of 2: two" in out and "There are 2 hints" in out
    assert "n = len(log.deals)" in out and "Correct" in out
    assert fb.correct and str(fb) == "Correct"
    rec = ProgressStore(progress_file).question("Ana", "00-test", "q1")
    assert rec["attempts"] == 2 and rec["hints"] == 2 and rec["solution_seen"] and rec["state"] == "correct"
    assert rec["solved_at"] and rec["first_checked"] <= rec["last_checked"]
    ex.q1.check(____)  # a blank check after the answer does not erase it
    assert ProgressStore(progress_file).question("Ana", "00-test", "q1")["state"] == "correct"
    assert "00-test  Test: 1 of 1 solved" in ProgressStore(progress_file).format_text()


def test_feedback_shows_once_in_a_notebook():
    from salesmetrics.exercises import Feedback

    fb = Feedback("q1", State.CORRECT, "Well done.", title="T")
    assert "Well done." in fb._repr_html_() and "Correct" in fb._repr_html_()
    fb._shown.append(True)  # as after check(): the displayhook then shows nothing
    fb._ipython_display_()
    assert fb._shown == []


def test_progress_off_unreadable_and_reset(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESMETRICS_PROGRESS", "off")
    ex = Exercise("00-test", "Test", data="baseline", seed=1)
    ex.add(ValueQuestion("q1", "t", expected=1))
    assert ex.q1.check(1).correct and ex.store.path is None
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.warns(UserWarning, match="cannot read the progress file"):
        assert ProgressStore(broken).load()["trainees"] == {}
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.warns(UserWarning, match="cannot save progress"):
        ProgressStore(blocked / "progress.json").record_check("Ana", "e", "q1", "correct")
    store = ProgressStore(tmp_path / "p.json")
    for who, exercise in [("Ana", "e1"), ("Ana", "e2"), ("Ben", "e1")]:
        store.record_check(who, exercise, "q1", "correct")
    assert store.reset(trainee="Ana", exercise="e1") == 1
    assert store.reset(exercise="e1") == 1
    assert set(store.load()["trainees"]) == {"Ana"}
    assert (tmp_path / "p.json.bak").exists()
    assert store.reset() == 1 and store.load()["trainees"] == {}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".progress-")] == []  # atomic writes


def test_seed_is_stable_and_exercise_uses_it():
    assert seed_for("Ana Silva") == 875637  # pinned: re-running `make` next year must give the same variants
    assert seed_for("Ana Silva", cohort="2025-spring") != seed_for("Ana Silva")
    ex = Exercise("00", "t", data="baseline", trainee="  Ana   Silva ")
    assert ex.seed == seed_for("Ana Silva") and ex.trainee == "Ana Silva"
    assert Exercise("00", "t", data="baseline", seed=7).seed == 7


def test_data_can_be_a_log_folder_and_bad_data_is_a_usage_error():
    ex = Exercise("00", "t", data=str(REPO / "datasets" / "demo"), seed=1)
    other = Exercise("00", "t", data=str(REPO / "datasets" / "demo"), seed=2)
    assert 0.7 < len(ex.log.deals) / 2000 < 0.9 and ex.simulation is None
    assert set(ex.log.deals["deal_id"]) != set(other.log.deals["deal_id"])
    with pytest.raises(UsageError, match="neither a simulator scenario"):
        Exercise("00", "t", data="no_such_thing", seed=1).log  # noqa: B018


def test_importing_loads_no_data():
    code = (
        "import sys, salesmetrics.exercises as e; m = e.find_exercise(1); ex = m.setup(progress=False); "
        "print('salesmetrics.simulate' in sys.modules, 'salesmetrics.simulation.engine' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.split() == ["False", "False"]


def test_find_and_load_exercises():
    assert find_exercise(1) is find_exercise("01") is find_exercise("motion")
    assert load_exercise(2, progress=False).id == "02-decision-increments"
    with pytest.raises(UsageError, match="No exercise"):
        find_exercise("nope")
    assert all(m.setup(progress=False).id == key for key, m in exercise_modules().items())


# -- command line ----------------------------------------------------------------------------------------------


def test_cli_progress_and_reset(progress_file, capsys, monkeypatch):
    assert main(["exercises", "progress"]) == 0
    assert "No progress recorded yet." in capsys.readouterr().out
    store = ProgressStore(progress_file)
    store.record_check("Ana", "01-x", "q1", "correct", title="X", questions=["q1", "q2"])
    store.record_check("Ana", "01-x", "q2", "incorrect", title="X", questions=["q1", "q2"])
    store.record_hint("Ana", "01-x", "q2", 2)
    assert main(["exercises", "progress"]) == 0
    out = capsys.readouterr().out
    assert "01-x  X: 1 of 2 solved" in out and "q2   incorrect     1 attempt, 2 hints" in out
    assert main(["exercises", "progress", "--json", "--trainee", "Ana"]) == 0
    assert (
        json.loads(capsys.readouterr().out)["trainees"]["Ana"]["exercises"]["01-x"]["questions"]["q1"]["state"]
        == "correct"
    )
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["exercises", "reset"]) == 2
    assert "pass --yes" in capsys.readouterr().err
    assert main(["exercises", "reset", "--yes"]) == 0
    assert "Reset 1 exercise record" in capsys.readouterr().out
    assert ProgressStore(progress_file).load()["trainees"] == {}
    with pytest.raises(SystemExit) as exc:
        main(["exercises"])
    assert exc.value.code == 2


def test_cli_make_writes_unexecuted_personal_notebooks(tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("# cohort\nAna Silva\n\nBen Okafor\n", encoding="utf-8")
    out = tmp_path / "out"
    assert (
        main(
            [
                "exercises",
                "make",
                "--trainees",
                str(names),
                "--out",
                str(out),
                "--exercise",
                "1",
                "--scenario",
                "baseline",
            ]
        )
        == 0
    )
    assert "Wrote 2 notebooks for 2 trainees" in capsys.readouterr().out
    nb = read_notebook(out / "ana-silva" / "01-motion-vs-movement.ipynb")
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags.index(["injected-parameters"]) == tags.index(["parameters"]) + 1
    injected = nb.cells[tags.index(["injected-parameters"])].source
    assert (
        f"seed = {seed_for('Ana Silva')}" in injected
        and 'trainee = "Ana Silva"' in injected
        and 'data = "baseline"' in injected
    )
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert (out / "trainees.csv").read_text().splitlines()[1] == f"Ana Silva,ana-silva,{seed_for('Ana Silva')}"
    assert main(["exercises", "make", "--trainees", str(names), "--out", str(out), "--exercise", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (
        main(["exercises", "make", "--trainees", str(names), "--out", str(out), "--exercise", "1", "--overwrite"]) == 0
    )


def test_trainee_names_file_problems(tmp_path):
    f = tmp_path / "names.txt"
    f.write_text("Ana\nana\n")
    with pytest.raises(UsageError, match="line 2: 'ana' is listed twice"):
        read_trainees(f)
    f.write_text("# nobody\n")
    with pytest.raises(UsageError, match="no trainee names"):
        read_trainees(f)
    with pytest.raises(UsageError, match="cannot read"):
        read_trainees(tmp_path / "missing.txt")
    with pytest.raises(UsageError, match="would share the folder 'ana-b'"):
        make_variants(["Ana B", "Ana-B"], tmp_path / "o", exercises=["1"])
    assert trainee_folder("Zoë O'Brien") == "zoe-o-brien"
    with pytest.raises(UsageError, match="neither a simulator scenario"):
        make_variants(["Ana"], tmp_path / "o", exercises=["1"], data="nope")


def _record_many(path: str, trainee: str, n: int) -> None:
    store = ProgressStore(path)
    for i in range(n):
        store.record_check(trainee, "01-demo", f"q{i}", "correct", title="Demo")


def test_progress_updates_from_parallel_processes_are_all_kept(tmp_path):
    """Two kernels checking answers at the same moment must not overwrite each other's records."""
    import multiprocessing

    path = str(tmp_path / "progress.json")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_record_many, args=(path, name, 120)) for name in ("Ana", "Ben", "Cy")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    data = ProgressStore(path).load()
    for name in ("Ana", "Ben", "Cy"):
        assert len(data["trainees"][name]["exercises"]["01-demo"]["questions"]) == 120


def test_the_expected_answer_is_not_a_public_attribute():
    q = ValueQuestion("q1", "t", expected=4)
    with pytest.raises(AttributeError, match=r"not shown: check yours with `\.check\(answer\)`"):
        q.expected  # noqa: B018
    assert q.expected_answer() == 4 and not hasattr(q, "expected")


def test_the_priming_before_exercise_3s_prediction_does_not_give_the_size_away():
    text = read_notebook(
        Path(__file__).resolve().parents[1] / "salesmetrics" / "exercises" / "notebooks" / "03-random-walks.ipynb"
    )
    before = "\n".join(c.source for c in text.cells[: next(i for i, c in enumerate(text.cells) if "q4" in c.source)])
    assert "about a third" not in before and "shortened their cycles by" not in before
