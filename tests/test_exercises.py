"""The exercise harness: every exercise notebook run with its solutions, left blank, and with typical wrong answers.

For each exercise module (found by name, so new exercises are tested without touching this file):

- the notebook's form (no outputs, one parameters cell, one answer cell per question, no solutions in it);
- three kernel runs with papermill: solutions -> every question correct; blank -> every question not
  attempted and no cell fails; typical wrong answers -> every question incorrect with its specific message;
- the solution and wrong runs again in process for another seed and scenario (robustness);
- two trainees get different expected answers.

States are read back from the progress file, pointed at a temporary file.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from salesmetrics.exercises import exercise_modules, seed_for
from salesmetrics.exercises.notebook import (
    check_notebook,
    fill_answers,
    make_variants,
    notebook_path,
    read_notebook,
    run_in_process,
)

MODULES = exercise_modules()
IDS = list(MODULES)
SEED = 11
TRAINEE = "ci"


@pytest.fixture(autouse=True)
def progress_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "progress.json"
    monkeypatch.setenv("SALESMETRICS_PROGRESS", str(path))
    return path


def states(progress: Path, exercise_id: str, trainee: str = TRAINEE) -> dict[str, dict]:
    data = json.loads(progress.read_text(encoding="utf-8"))
    return data["trainees"][trainee]["exercises"][exercise_id]["questions"]


def assert_states(module, found: dict[str, dict], mode: str) -> None:
    ids = [q.id for q in module.setup(progress=False)]
    assert sorted(found) == sorted(ids), f"questions checked in the notebook: {sorted(found)}, defined: {ids}"
    want = {"solution": "correct", "blank": "not_attempted", "wrong": "incorrect"}[mode]
    # predictions and reflections are the trainee's own: a wrong one is recorded, never marked incorrect
    own = {q.id for q in module.setup(progress=False) if q.kind == "reflection" or getattr(q, "predict", False)}
    bad = {
        q: (r["state"], r.get("message"))
        for q, r in found.items()
        if r["state"] != ("recorded" if mode == "wrong" and q in own else want)
    }
    assert not bad, f"{module.ID} {mode}: expected every question {want}, got {bad}"
    if mode == "wrong":
        for q, r in found.items():
            assert r.get("message"), f"{q}: an incorrect answer needs a message"
            assert r.get("mistake"), f"{q}: the typical wrong answer matched no Mistake; message was {r['message']!r}"
    if mode == "solution":
        assert all(r["attempts"] == 1 for r in found.values())


def test_exercises_are_found():
    assert IDS[:2] == ["01-motion-vs-movement", "02-decision-increments"]
    for module in MODULES.values():
        assert notebook_path(module).is_file(), f"{module.ID}: no notebook at {notebook_path(module)}"
        assert module.TITLE and module.DEFAULT_DATA


@pytest.mark.parametrize("exercise_id", IDS)
def test_notebook_form(exercise_id):
    module = MODULES[exercise_id]
    nb = read_notebook(notebook_path(module))
    assert check_notebook(nb, module) == []
    questions = module.setup(progress=False).questions
    assert 4 <= len(questions) <= 9
    assert any(getattr(q, "predict", False) for q in questions), "at least one 'predict before you compute' question"
    assert questions[-1].kind == "reflection", "the exercise closes with a reflection"
    for q in questions:
        assert q.hints, f"{q.id} has no hint"
        if q.kind != "reflection":
            assert q.wrong_code, f"{q.id} has no typical wrong answer"


@pytest.mark.notebook
@pytest.mark.parametrize("mode", ["solution", "blank", "wrong"])
@pytest.mark.parametrize("exercise_id", IDS)
def test_notebook_runs_three_ways(exercise_id, mode, tmp_path, progress_file):
    import papermill

    module = MODULES[exercise_id]
    exercise = module.setup(seed=SEED, trainee=TRAINEE, progress=False)
    source = tmp_path / f"{exercise_id}-{mode}.ipynb"
    nbformat.write(fill_answers(read_notebook(notebook_path(module)), exercise, mode), source)
    papermill.execute_notebook(
        str(source),
        str(tmp_path / f"{exercise_id}-{mode}-out.ipynb"),
        parameters={"seed": SEED, "trainee": TRAINEE},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(notebook_path(module).parent),
    )
    assert_states(module, states(progress_file, exercise_id), mode)


@pytest.mark.parametrize("mode", ["solution", "wrong"])
@pytest.mark.parametrize("exercise_id", IDS)
def test_another_variant_in_process(exercise_id, mode, progress_file, capsys):
    """Another seed and scenario (baseline, or motion_heavy for a baseline exercise): answers must fit any variant."""
    module = MODULES[exercise_id]
    params = {
        "trainee": TRAINEE,
        "seed": 5,
        "data": "motion_heavy" if module.DEFAULT_DATA == "baseline" else "baseline",
    }
    exercise = module.setup(**params, progress=False)
    run_in_process(fill_answers(read_notebook(notebook_path(module)), exercise, mode), params)
    assert_states(module, states(progress_file, exercise_id), mode)


@pytest.mark.parametrize("exercise_id", IDS)
def test_two_trainees_get_different_answers(exercise_id, tmp_path):
    module = MODULES[exercise_id]
    names = ["Ana Silva", "Ben Okafor"]
    written = make_variants(names, tmp_path, exercises=[exercise_id])
    injected = []
    for path in written:
        nb = read_notebook(path)
        cell = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
        injected.append(cell.source)
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "handed out unexecuted"
        assert check_notebook(nb, module) == []
    assert f"seed = {seed_for(names[0])}" in injected[0] and f"seed = {seed_for(names[1])}" in injected[1]
    a, b = (module.setup(seed=seed_for(n), trainee=n, progress=False) for n in names)
    differs = []
    for qa, qb in zip(a, b, strict=True):
        if qa.kind in ("frame", "value"):
            ea, eb = qa.expected_answer(), qb.expected_answer()
            same = ea.equals(eb) if isinstance(ea, pd.DataFrame | pd.Series) else ea == eb
            differs.append(not same)
            if not same:  # one trainee's answer does not pass the other's check
                assert not qb.evaluate(ea).correct
    assert differs and any(differs), "the variants of two trainees should not share their answers"
